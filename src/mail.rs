//! Email over SMTP (lettre), when `PAGERLENS_SMTP_URL` is configured: SLA
//! notifications to `PAGERLENS_NOTIFY_EMAIL_TO`, and scheduled reports to
//! their `emailTo`.
//!
//! The URL follows lettre: `smtp://host:25` (plain, for a local relay),
//! `smtp://user:password@host:587?tls=required` (STARTTLS) or
//! `smtps://user:password@host:465` (TLS from the start); TLS is rustls.

use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::{ExposeSecret, SecretString};

/// SMTP settings from configuration.
#[derive(Clone, Debug)]
pub struct MailSettings {
    /// `PAGERLENS_SMTP_URL` (holds credentials; never logged).
    pub url: SecretString,
    /// `PAGERLENS_SMTP_FROM`: the sender, `Name <address>` or an address.
    pub from: Mailbox,
}

/// A file sent along.
pub struct File {
    pub name: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// Largest file attached to a message; larger ones go as a link only.
pub const MAX_ATTACHMENT_BYTES: u64 = 10 * 1024 * 1024;

/// Checks a sender or recipient address.
///
/// # Errors
/// A message saying what is wrong.
pub fn mailbox(s: &str) -> Result<Mailbox, String> {
    s.trim()
        .parse::<Mailbox>()
        .map_err(|e| format!("{s:?} is not an email address ({e})"))
}

/// Checks an SMTP URL (without sending anything).
///
/// # Errors
/// A message without the URL's credentials.
pub fn check_url(url: &str) -> Result<(), String> {
    AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
        .map(|_| ())
        .map_err(|e| format!("not an SMTP URL lettre can use ({e})"))
}

/// Sends one message to `to`, with `file` attached when given.
///
/// # Errors
/// The message cannot be built or the server refuses it; the text never
/// contains the URL's credentials.
pub async fn send(
    settings: &MailSettings,
    to: &[Mailbox],
    subject: &str,
    text: &str,
    file: Option<File>,
) -> Result<(), String> {
    if to.is_empty() {
        return Ok(());
    }
    let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(settings.url.expose_secret())
        .map_err(|e| format!("SMTP URL: {e}"))?
        .timeout(Some(Duration::from_secs(20)))
        .build();
    let mut builder = Message::builder()
        .from(settings.from.clone())
        .subject(subject);
    for r in to {
        builder = builder.to(r.clone());
    }
    let body = SinglePart::builder()
        .header(ContentType::TEXT_PLAIN)
        .body(text.to_owned());
    let message = match file {
        None => builder.singlepart(body),
        Some(f) => {
            let kind = ContentType::parse(&f.content_type)
                .unwrap_or(ContentType::parse("application/octet-stream").expect("valid"));
            builder.multipart(
                MultiPart::mixed()
                    .singlepart(body)
                    .singlepart(Attachment::new(f.name).body(f.bytes, kind)),
            )
        }
    }
    .map_err(|e| format!("cannot build the message: {e}"))?;
    transport
        .send(message)
        .await
        .map(|_| ())
        .map_err(|e| format!("SMTP: {e}"))
}
