//! Email over SMTP and where notifications go (Slack, a webhook, email).

use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, Tokio1Executor};
use secrecy::SecretString;

use super::ConfigError;
use super::read::{http_url_var, redact_url};

/// SMTP settings.
#[derive(Clone, Debug)]
pub struct MailSettings {
    /// `PAGERLENS_SMTP_URL` (holds credentials; never logged).
    pub url: SecretString,
    /// `PAGERLENS_SMTP_FROM`: the sender, `Name <address>` or an address.
    pub from: Mailbox,
}

/// Where notifications are sent; none configured means the outbox is kept.
#[derive(Clone, Debug, Default)]
pub struct NotifyEndpoints {
    pub slack: Option<String>,
    pub webhook: Option<String>,
    pub email: Option<EmailEndpoint>,
}

/// Email recipients and the SMTP server that reaches them.
#[derive(Clone, Debug)]
pub struct EmailEndpoint {
    pub smtp: MailSettings,
    pub to: Vec<Mailbox>,
}

impl NotifyEndpoints {
    pub fn is_empty(&self) -> bool {
        self.slack.is_none() && self.webhook.is_none() && self.email.is_none()
    }
}

/// An address, or `Name <address>`.
fn mailbox(s: &str) -> Result<Mailbox, String> {
    s.trim()
        .parse::<Mailbox>()
        .map_err(|e| format!("{s:?} is not an email address ({e})"))
}

/// `PAGERLENS_SMTP_URL` and `PAGERLENS_SMTP_FROM`.
pub(super) fn read_mail(
    get: &impl Fn(&str) -> Option<String>,
) -> Result<Option<MailSettings>, ConfigError> {
    let Some(url) = get("PAGERLENS_SMTP_URL") else {
        return Ok(None);
    };
    AsyncSmtpTransport::<Tokio1Executor>::from_url(&url).map_err(|e| ConfigError::Invalid {
        var: "PAGERLENS_SMTP_URL",
        value: redact_url(&url),
        expected: "smtp://HOST:PORT, smtp://USER:PASSWORD@HOST:587?tls=required or smtps://USER:PASSWORD@HOST:465",
        message: format!("not an SMTP URL lettre can use ({e})"),
    })?;
    let from =
        get("PAGERLENS_SMTP_FROM").unwrap_or_else(|| "pagerlens <pagerlens@localhost>".into());
    let from = mailbox(&from).map_err(|message| ConfigError::Invalid {
        var: "PAGERLENS_SMTP_FROM",
        value: from.clone(),
        expected: "an address, or `Name <address>`",
        message,
    })?;
    Ok(Some(MailSettings {
        url: SecretString::from(url),
        from,
    }))
}

/// `PAGERLENS_NOTIFY_SLACK_URL`, `PAGERLENS_NOTIFY_WEBHOOK_URL` and
/// `PAGERLENS_NOTIFY_EMAIL_TO` (which needs `PAGERLENS_SMTP_URL`).
pub(super) fn read_endpoints(
    get: &impl Fn(&str) -> Option<String>,
    mail: Option<&MailSettings>,
) -> Result<NotifyEndpoints, ConfigError> {
    let mut endpoints = NotifyEndpoints {
        slack: http_url_var(get, "PAGERLENS_NOTIFY_SLACK_URL")?,
        webhook: http_url_var(get, "PAGERLENS_NOTIFY_WEBHOOK_URL")?,
        email: None,
    };
    let Some(list) = get("PAGERLENS_NOTIFY_EMAIL_TO") else {
        return Ok(endpoints);
    };
    let bad = |message: String| ConfigError::Invalid {
        var: "PAGERLENS_NOTIFY_EMAIL_TO",
        value: list.clone(),
        expected: "comma-separated email addresses, with PAGERLENS_SMTP_URL set",
        message,
    };
    let to = list
        .split(',')
        .filter(|s| !s.trim().is_empty())
        .map(mailbox)
        .collect::<Result<Vec<_>, _>>()
        .map_err(bad)?;
    let smtp = mail
        .cloned()
        .ok_or_else(|| bad("PAGERLENS_SMTP_URL is not set".into()))?;
    if !to.is_empty() {
        endpoints.email = Some(EmailEndpoint { smtp, to });
    }
    Ok(endpoints)
}
