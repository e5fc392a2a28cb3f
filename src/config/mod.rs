//! One typed configuration, read once at start from environment variables (and
//! a `.env` file when present). Every bad value fails start-up with a message
//! that names the variable and the expected form. Tests build a [`Config`] in
//! code ([`Config::for_database`]) instead of touching process variables.
//!
//! The lowest module of the crate: it imports no other. Each concern's
//! settings, and the rules that read them, live in a file of their own; the
//! domain modules take the section they use (`&JobSettings`,
//! `&ReportSettings`, …).

mod analytics;
mod auth;
mod flags;
mod http;
mod jobs;
mod notify;
mod pagerduty;
mod read;
mod reports;
mod sla;
#[cfg(test)]
mod tests;

use std::net::SocketAddr;

use secrecy::{ExposeSecret, SecretString};

pub use analytics::{AnalyticsSettings, FactsSettings};
pub use auth::{
    DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, LoginPolicy, ProviderKind, ProviderSettings,
    SessionLifetime,
};
pub use flags::{FlagOp, FlagRule, parse_rules};
pub use http::HttpSettings;
pub use jobs::{CronSetting, JobSettings};
pub use notify::{EmailEndpoint, MailSettings, NotifyEndpoints};
pub use pagerduty::{DEFAULT_PAGERDUTY_API_URL, PagerDutySettings};
pub use read::{parse_age, redact_url};
pub use reports::{AttachmentSettings, ReportSettings};
pub use sla::SlaSettings;

use read::{check_database_url, parse};

/// A configuration problem, always naming the variable at fault.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{var} is invalid: {message} (got {value:?}; expected {expected})")]
    Invalid {
        var: &'static str,
        value: String,
        expected: &'static str,
        message: String,
    },
}

/// How log lines are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Human,
    Json,
}

#[derive(Clone, Debug)]
pub struct Config {
    /// `DATABASE_URL`: `sqlite://path?mode=rwc` (default `sqlite://data/pagerlens.db?mode=rwc`)
    /// or `postgres://user:pass@host/db`.
    pub database_url: SecretString,
    /// `PAGERLENS_DB_MAX_CONNECTIONS`: pool size (default 10, at least 2).
    pub db_max_connections: u32,
    /// `PAGERLENS_BIND`: listen address for `serve` (default 127.0.0.1:8080).
    pub bind: SocketAddr,
    /// `PAGERLENS_LOG`: tracing filter (default `info`).
    pub log_filter: String,
    /// `PAGERLENS_LOG_FORMAT`: `human` or `json` (default `human`).
    pub log_format: LogFormat,
    /// `PAGERLENS_GRAPHQL_MAX_DEPTH`: deepest query accepted (default 15).
    pub graphql_max_depth: usize,
    /// `PAGERLENS_GRAPHQL_MAX_COMPLEXITY`: most complex query accepted (default 50000).
    pub graphql_max_complexity: usize,
    /// `PAGERLENS_GRAPHQL_BATCH_DELAY_MS`: how long a DataLoader waits to
    /// gather keys into one statement (default 2 ms).
    pub graphql_batch_delay: std::time::Duration,
    /// `PAGERLENS_MAX_BODY_BYTES`: largest request body accepted (default 1 MiB).
    pub max_body_bytes: usize,
    /// `PAGERDUTY_*`, `PAGERLENS_SYNC_*`: the PagerDuty API and the sync.
    pub pagerduty: PagerDutySettings,
    /// `PAGERLENS_SLA_WARNING_SHARES` (and the status field): the SLA engine.
    pub sla: SlaSettings,
    /// `PAGERLENS_CUSTOM_FIELD_FLAGS`: named rules over custom field values
    /// (see [`flags`]).
    pub custom_field_flags: Vec<FlagRule>,
    /// `PAGERLENS_PUBLIC_URL`: how browsers reach this server (default
    /// `http://` + the bind address); the OAuth redirect URL and the cookie's
    /// `Secure` flag follow from it.
    pub public_url: url::Url,
    /// `PAGERLENS_OAUTH_*`: the login provider. Without one, only API tokens
    /// authenticate (and the demo provider under `serve --demo`).
    pub oauth: Option<ProviderSettings>,
    /// `PAGERLENS_ADMIN_EMAILS` and `PAGERLENS_AUTO_PROVISION_DOMAINS`.
    pub login_policy: LoginPolicy,
    /// `PAGERLENS_SESSION_IDLE` and `PAGERLENS_SESSION_MAX` (ages such as 12h, 7d).
    pub session_lifetime: SessionLifetime,
    /// The in-process demo identity provider: only `serve --demo` and tests
    /// turn it on, never the environment.
    pub demo_identity_provider: bool,
    /// `PAGERLENS_WORKERS`, `PAGERLENS_JOB_*`, `PAGERLENS_CRON_*`.
    pub jobs: JobSettings,
    /// `PAGERLENS_REPORT_*`.
    pub reports: ReportSettings,
    /// `PAGERLENS_ATTACHMENT_*`.
    pub attachments: AttachmentSettings,
    /// `PAGERLENS_NOTIFY_SLACK_URL`, `PAGERLENS_NOTIFY_WEBHOOK_URL`,
    /// `PAGERLENS_NOTIFY_EMAIL_TO`: where the notification outbox is sent.
    pub notify: NotifyEndpoints,
    /// `PAGERLENS_SMTP_URL` and `PAGERLENS_SMTP_FROM`: email, when set.
    pub mail: Option<MailSettings>,
    /// `PAGERLENS_CACHE_*`, `PAGERLENS_LIVE_*`, `PAGERLENS_STATUS_FIELD`,
    /// `PAGERLENS_BI_*`.
    pub analytics: AnalyticsSettings,
    /// `PAGERLENS_METRICS_*`, `PAGERLENS_CORS_ORIGINS`, `PAGERLENS_RATE_LIMIT_*`,
    /// `PAGERLENS_TRUST_FORWARDED_FOR`, `PAGERLENS_SHUTDOWN_GRACE`,
    /// `OTEL_EXPORTER_OTLP_ENDPOINT`.
    pub http: HttpSettings,
}

/// The default embedded database, relative to the working directory.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/pagerlens.db?mode=rwc";

impl Config {
    /// Reads `.env` (if present) and then the process environment.
    ///
    /// # Errors
    /// A [`ConfigError`] naming the first variable with a bad value.
    pub fn from_env() -> Result<Self, ConfigError> {
        let _ = dotenvy::dotenv();
        Self::from_lookup(|key| std::env::var(key).ok())
    }

    /// Builds the configuration from any key → value lookup (used by tests).
    ///
    /// # Errors
    /// A [`ConfigError`] naming the first variable with a bad value.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |key: &str| get(key).filter(|v| !v.trim().is_empty());
        let database_url = get("DATABASE_URL").unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned());
        check_database_url(&database_url)?;
        let analytics = analytics::read(&get)?;
        let mail = notify::read_mail(&get)?;
        let bind = parse(
            &get,
            "PAGERLENS_BIND",
            SocketAddr::from(([127, 0, 0, 1], 8080)),
            "an address and port such as 127.0.0.1:8080",
            |_| true,
        )?;
        let (public_url, oauth, login_policy, session_lifetime) = auth::read(&get, bind)?;
        Ok(Self {
            database_url: SecretString::from(database_url),
            db_max_connections: parse(
                &get,
                "PAGERLENS_DB_MAX_CONNECTIONS",
                10,
                // Two at least: an SLA re-evaluation reads the next batch on
                // a second connection while its transaction holds the first.
                "a whole number from 2 to 1000",
                |v: &u32| (2..=1000).contains(v),
            )?,
            bind,
            log_filter: get("PAGERLENS_LOG").unwrap_or_else(|| "info".to_owned()),
            log_format: match get("PAGERLENS_LOG_FORMAT").as_deref() {
                None | Some("human") => LogFormat::Human,
                Some("json") => LogFormat::Json,
                Some(other) => {
                    return Err(ConfigError::Invalid {
                        var: "PAGERLENS_LOG_FORMAT",
                        value: other.to_owned(),
                        expected: "`human` or `json`",
                        message: "unknown log format".into(),
                    });
                }
            },
            graphql_max_depth: parse(
                &get,
                "PAGERLENS_GRAPHQL_MAX_DEPTH",
                15,
                "a whole number from 2 to 100",
                |v: &usize| (2..=100).contains(v),
            )?,
            graphql_max_complexity: parse(
                &get,
                "PAGERLENS_GRAPHQL_MAX_COMPLEXITY",
                50_000,
                "a whole number from 10 to 10000000",
                |v: &usize| (10..=10_000_000).contains(v),
            )?,
            graphql_batch_delay: std::time::Duration::from_millis(parse(
                &get,
                "PAGERLENS_GRAPHQL_BATCH_DELAY_MS",
                2,
                "a number of milliseconds from 0 to 1000",
                |v: &u64| *v <= 1000,
            )?),
            max_body_bytes: parse(
                &get,
                "PAGERLENS_MAX_BODY_BYTES",
                1024 * 1024,
                "a number of bytes from 1024 to 1073741824",
                |v: &usize| (1024..=1 << 30).contains(v),
            )?,
            pagerduty: pagerduty::read(&get)?,
            custom_field_flags: flags::read(&get)?,
            // The SLA engine pauses on the status field's `WAITING` values.
            sla: sla::read(&get, analytics.status_field.clone())?,
            public_url,
            oauth,
            login_policy,
            session_lifetime,
            demo_identity_provider: false,
            jobs: jobs::read(&get)?,
            reports: reports::read(&get)?,
            attachments: reports::read_attachments(&get)?,
            notify: notify::read_endpoints(&get, mail.as_ref())?,
            mail,
            analytics,
            http: http::read(&get)?,
        })
    }

    /// Whether session cookies are marked `Secure`: always, except when the
    /// server is reached over plain HTTP on a loopback address.
    pub fn secure_cookies(&self) -> bool {
        let loopback = match self.public_url.host() {
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            Some(url::Host::Domain(d)) => d == "localhost",
            None => false,
        };
        !(self.public_url.scheme() == "http" && loopback)
    }

    /// The defaults, pointed at the given database (for tests and tools).
    pub fn for_database(url: &str) -> Self {
        let mut config = Self::from_lookup(|_| None).expect("defaults are valid");
        config.database_url = SecretString::from(url.to_owned());
        config
    }

    /// The database URL (a secret: it may hold a password).
    pub fn database_url(&self) -> &str {
        self.database_url.expose_secret()
    }

    /// True when the database is SQLite.
    pub fn is_sqlite(&self) -> bool {
        self.database_url().starts_with("sqlite:")
    }
}
