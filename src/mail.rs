//! Email over SMTP (lettre), when `PAGERLENS_SMTP_URL` is configured: SLA
//! notifications to `PAGERLENS_NOTIFY_EMAIL_TO`, and scheduled reports to
//! their `emailTo`.
//!
//! The URL follows lettre: `smtp://host:25` (plain, for a local relay),
//! `smtp://user:password@host:587?tls=required` (STARTTLS) or
//! `smtps://user:password@host:465` (TLS from the start); TLS is rustls.
//! The transport (and its connection pool) is built once, when the
//! application is assembled, and shared by every message.

use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::ExposeSecret;

use crate::config::MailSettings;

/// A file sent along.
pub struct File {
    pub name: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// Largest file attached to a message; larger ones go as a link only.
pub const MAX_ATTACHMENT_BYTES: u64 = 10 * 1024 * 1024;

/// Why a message was not sent. The messages never hold the URL's
/// credentials; the sources say what lettre saw.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("the SMTP URL cannot be used")]
    Url(#[source] lettre::transport::smtp::Error),
    #[error("{0:?} is not an email address")]
    Address(String, #[source] lettre::address::AddressError),
    #[error("the message cannot be built")]
    Build(#[source] lettre::error::Error),
    #[error("the SMTP server did not take the message")]
    Send(#[source] lettre::transport::smtp::Error),
}

/// The SMTP transport and the sender, built once.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer")
            .field("from", &self.from.to_string())
            .finish_non_exhaustive()
    }
}

/// Reads a sender or recipient address.
///
/// # Errors
/// [`MailError::Address`].
pub fn mailbox(s: &str) -> Result<Mailbox, MailError> {
    s.trim()
        .parse::<Mailbox>()
        .map_err(|e| MailError::Address(s.trim().to_owned(), e))
}

impl Mailer {
    /// # Errors
    /// [`MailError::Url`] for a URL lettre cannot use (configuration reading
    /// checks it first).
    pub fn new(settings: &MailSettings) -> Result<Self, MailError> {
        let transport =
            AsyncSmtpTransport::<Tokio1Executor>::from_url(settings.url.expose_secret())
                .map_err(MailError::Url)?
                .timeout(Some(Duration::from_secs(20)))
                .build();
        Ok(Self {
            transport,
            from: settings.from.clone(),
        })
    }

    /// Sends one message to `to`, with `file` attached when given; nothing
    /// without a recipient.
    ///
    /// # Errors
    /// The message cannot be built or the server refuses it.
    pub async fn send(
        &self,
        to: &[Mailbox],
        subject: &str,
        text: &str,
        file: Option<File>,
    ) -> Result<(), MailError> {
        if to.is_empty() {
            return Ok(());
        }
        let mut builder = Message::builder().from(self.from.clone()).subject(subject);
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
        .map_err(MailError::Build)?;
        self.transport
            .send(message)
            .await
            .map(|_| ())
            .map_err(MailError::Send)
    }
}
