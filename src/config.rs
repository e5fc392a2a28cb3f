//! One typed configuration, read once at start from environment variables (and
//! a `.env` file when present). Every bad value fails start-up with a message
//! that names the variable and the expected form. Tests build a [`Config`] in
//! code ([`Config::for_database`]) instead of touching process variables.

use std::net::SocketAddr;
use std::str::FromStr;

use secrecy::{ExposeSecret, SecretString};

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
    /// `PAGERDUTY_API_URL`: the REST API (default the public API).
    pub pagerduty_api_url: String,
    /// `PAGERDUTY_TOKEN`: a REST API token (account or user level).
    pub pagerduty_token: Option<SecretString>,
    /// `PAGERDUTY_REQUESTS_PER_MINUTE`: this server's request budget (default
    /// 600 of PagerDuty's ~960 a minute per account, leaving room for other tools).
    pub pagerduty_requests_per_minute: u32,
    /// `PAGERDUTY_MAX_CONCURRENCY`: requests in flight at once (default 4).
    pub pagerduty_max_concurrency: usize,
    /// `PAGERDUTY_MAX_RETRIES`: retries of a failing request (default 6).
    pub pagerduty_max_retries: u32,
    /// `PAGERDUTY_FROM_EMAIL`: the `From` header of write calls.
    pub pagerduty_from_email: Option<String>,
    /// `PAGERDUTY_WEBHOOK_SECRETS`: comma-separated webhook signing secrets
    /// (several during a rotation). Without one, webhooks are refused.
    pub pagerduty_webhook_secrets: Vec<SecretString>,
    /// `PAGERLENS_SYNC_DAYS`: days of incidents a first sync fetches (default 30).
    pub sync_days: u32,
    /// `PAGERLENS_SYNC_OVERLAP_MINUTES`: how far before the watermark an
    /// incremental sync starts again (default 5).
    pub sync_overlap_minutes: u32,
    /// `PAGERLENS_SLA_WARNING_SHARES`: comma-separated shares of a target at
    /// which an at-risk warning goes out (default `0.5,0.75`).
    pub sla: crate::sla::SlaSettings,
    /// `PAGERLENS_CUSTOM_FIELD_FLAGS`: named rules over custom field values
    /// (see `incidents::flags`).
    pub custom_field_flags: Vec<crate::incidents::flags::FlagRule>,
    /// `PAGERLENS_PUBLIC_URL`: how browsers reach this server (default
    /// `http://` + the bind address); the OAuth redirect URL and the cookie's
    /// `Secure` flag follow from it.
    pub public_url: url::Url,
    /// `PAGERLENS_OAUTH_*`: the login provider. Without one, only API tokens
    /// authenticate (and the demo provider under `serve --demo`).
    pub oauth: Option<crate::auth::oauth::ProviderSettings>,
    /// `PAGERLENS_ADMIN_EMAILS` and `PAGERLENS_AUTO_PROVISION_DOMAINS`.
    pub login_policy: crate::auth::accounts::LoginPolicy,
    /// `PAGERLENS_SESSION_IDLE` and `PAGERLENS_SESSION_MAX` (ages such as 12h, 7d).
    pub session_lifetime: crate::auth::sessions::SessionLifetime,
    /// The in-process demo identity provider: only `serve --demo` and tests
    /// turn it on, never the environment.
    pub demo_identity_provider: bool,
    /// `PAGERLENS_WORKERS`, `PAGERLENS_JOB_*`, `PAGERLENS_CRON_*`.
    pub jobs: JobSettings,
    /// `PAGERLENS_REPORT_*`.
    pub reports: ReportSettings,
    /// `PAGERLENS_ATTACHMENT_*`.
    pub attachments: AttachmentSettings,
    /// `PAGERLENS_NOTIFY_SLACK_URL`, `PAGERLENS_NOTIFY_WEBHOOK_URL`: where the
    /// notification outbox is sent.
    pub notify: crate::notify::Endpoints,
    /// `PAGERLENS_SMTP_URL` and `PAGERLENS_SMTP_FROM`: email, when set.
    pub mail: Option<crate::mail::MailSettings>,
    /// `PAGERLENS_CACHE_*`, `PAGERLENS_LIVE_*`, `PAGERLENS_STATUS_FIELD`,
    /// `PAGERLENS_BI_*`.
    pub analytics: AnalyticsSettings,
    /// `PAGERLENS_METRICS_*`, `PAGERLENS_CORS_ORIGINS`, `PAGERLENS_RATE_LIMIT_*`,
    /// `PAGERLENS_TRUST_FORWARDED_FOR`, `PAGERLENS_SHUTDOWN_GRACE`,
    /// `OTEL_EXPORTER_OTLP_ENDPOINT`.
    pub http: HttpSettings,
}

/// How the HTTP server protects and reports itself.
#[derive(Clone, Debug)]
pub struct HttpSettings {
    /// `PAGERLENS_METRICS_TOKEN`: `/metrics` on the main address answers a
    /// request bearing this token (16 characters or more).
    pub metrics_token: Option<SecretString>,
    /// `PAGERLENS_METRICS_BIND`: a separate address serving `/metrics`
    /// without a token (keep it on a private network).
    pub metrics_bind: Option<SocketAddr>,
    /// `PAGERLENS_CORS_ORIGINS`: comma-separated origins allowed to call the
    /// API from a browser; none by default (CORS off).
    pub cors_origins: Vec<String>,
    /// `PAGERLENS_RATE_LIMIT_AUTH`: requests a minute one client may make to
    /// `/auth/*` (default 60; 0 turns the limit off).
    pub rate_limit_auth: u32,
    /// `PAGERLENS_RATE_LIMIT_GRAPHQL`: requests a minute one client (a
    /// credential, else an address) may make to `/graphql` (default 1200; 0
    /// turns the limit off).
    pub rate_limit_graphql: u32,
    /// `PAGERLENS_TRUST_FORWARDED_FOR`: take the client address from the
    /// last `X-Forwarded-For` entry (only behind a proxy that sets it).
    pub trust_forwarded_for: bool,
    /// `PAGERLENS_SHUTDOWN_GRACE`: how long requests in flight may finish
    /// after SIGTERM or SIGINT (default 30s).
    pub shutdown_grace: chrono::Duration,
    /// `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`):
    /// where traces are exported over OTLP/HTTP; none are without it.
    pub otlp_endpoint: Option<String>,
}

/// Analytics, its cache and the BI role.
#[derive(Clone, Debug)]
pub struct AnalyticsSettings {
    /// `PAGERLENS_CACHE_TTL`: how long a cached analytics answer is served
    /// (default 15m; the prewarm job and syncs refresh it sooner).
    pub cache_ttl: chrono::Duration,
    /// `PAGERLENS_LIVE_TTL`: how long a live PagerDuty look-up is served
    /// from the cache before PagerDuty is asked again (default 60s).
    pub live_ttl: chrono::Duration,
    /// `PAGERLENS_LIVE_COOLDOWN`: after PagerDuty answers 503, how long live
    /// look-ups answer from the cache without asking (default 60s).
    pub live_cooldown: chrono::Duration,
    /// `PAGERLENS_STATUS_FIELD`: a custom field whose value, when mapped,
    /// is an incident's workflow status (see `analytics::status`).
    pub status_field: Option<String>,
    /// `PAGERLENS_BI_ROLE` and `PAGERLENS_BI_PASSWORD`: on PostgreSQL, a
    /// login role that can read the `bi_*` views and nothing else, created
    /// or updated at start-up.
    pub bi_role: Option<(String, SecretString)>,
}

/// The job queue and its cron triggers.
#[derive(Clone, Debug)]
pub struct JobSettings {
    /// `PAGERLENS_WORKERS`: jobs this process runs at once (default 2; 0
    /// runs none, for a replica that only serves the API).
    pub workers: usize,
    /// `PAGERLENS_JOB_STALL_TIMEOUT`: a running job whose heartbeat is older
    /// is re-queued (default 30s).
    pub stall_timeout: chrono::Duration,
    /// `PAGERLENS_JOB_MAX_ATTEMPTS`: runs before a job fails for good (default 3).
    pub max_attempts: i32,
    /// `PAGERLENS_JOB_TIMEOUT`: longest run of one attempt (default 2h).
    pub timeout: chrono::Duration,
    /// `PAGERLENS_JOB_RETENTION`: how long finished jobs are kept (default 30d).
    pub retention: chrono::Duration,
    /// `PAGERLENS_INCIDENT_RETENTION`: when set, the retention job deletes
    /// resolved incidents older than this.
    pub incident_retention: Option<chrono::Duration>,
    /// `PAGERLENS_CRON_*`: one cron expression per kind (`off` disables).
    pub cron: Vec<crate::jobs::scheduler::CronSetting>,
}

/// Where and how reports are written.
#[derive(Clone, Debug)]
pub struct ReportSettings {
    /// `PAGERLENS_REPORT_DIR`: where report files are kept (default `data/reports`).
    pub dir: std::path::PathBuf,
    /// `PAGERLENS_REPORT_RETENTION`: how long a report file is kept (default 7d).
    pub retention: chrono::Duration,
    /// `PAGERLENS_REPORT_TZ`: the reporting time zone, an IANA name (default UTC).
    pub time_zone: chrono_tz::Tz,
    /// `PAGERLENS_REPORT_EXCLUDE_COLUMNS`: comma-separated sensitive columns
    /// left out of every report (`column`, or `kind.column` for one kind).
    pub exclude_columns: Vec<String>,
}

/// Where incident attachments are kept and how large one may be.
#[derive(Clone, Debug)]
pub struct AttachmentSettings {
    /// `PAGERLENS_ATTACHMENT_DIR`: where files are stored by content hash
    /// (default `data/attachments`).
    pub dir: std::path::PathBuf,
    /// `PAGERLENS_ATTACHMENT_MAX_BYTES`: the largest file accepted (default
    /// 10 MiB, at most 1 GiB).
    pub max_bytes: u64,
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
        Self {
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
            bind: parse(
                &get,
                "PAGERLENS_BIND",
                SocketAddr::from(([127, 0, 0, 1], 8080)),
                "an address and port such as 127.0.0.1:8080",
                |_| true,
            )?,
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
            pagerduty_api_url: {
                let url = get("PAGERDUTY_API_URL")
                    .unwrap_or_else(|| crate::pagerduty::client::DEFAULT_API_URL.to_owned());
                if !(url.starts_with("https://") || url.starts_with("http://"))
                    || url::Url::parse(&url).is_err()
                {
                    return Err(ConfigError::Invalid {
                        var: "PAGERDUTY_API_URL",
                        value: url,
                        expected: "an http(s) URL such as https://api.pagerduty.com",
                        message: "not a URL".into(),
                    });
                }
                url.trim_end_matches('/').to_owned()
            },
            pagerduty_token: get("PAGERDUTY_TOKEN").map(SecretString::from),
            pagerduty_requests_per_minute: parse(
                &get,
                "PAGERDUTY_REQUESTS_PER_MINUTE",
                600,
                "a whole number from 0 (no budget) to 100000",
                |v: &u32| *v <= 100_000,
            )?,
            pagerduty_max_concurrency: parse(
                &get,
                "PAGERDUTY_MAX_CONCURRENCY",
                4,
                "a whole number from 1 to 64",
                |v: &usize| (1..=64).contains(v),
            )?,
            pagerduty_max_retries: parse(
                &get,
                "PAGERDUTY_MAX_RETRIES",
                6,
                "a whole number from 0 to 50",
                |v: &u32| *v <= 50,
            )?,
            pagerduty_from_email: get("PAGERDUTY_FROM_EMAIL"),
            pagerduty_webhook_secrets: get("PAGERDUTY_WEBHOOK_SECRETS")
                .map(|v| {
                    v.split(',')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(|s| SecretString::from(s.to_owned()))
                        .collect()
                })
                .unwrap_or_default(),
            sync_days: parse(
                &get,
                "PAGERLENS_SYNC_DAYS",
                30,
                "a whole number of days from 1 to 3650",
                |v: &u32| (1..=3650).contains(v),
            )?,
            custom_field_flags: match get("PAGERLENS_CUSTOM_FIELD_FLAGS") {
                None => Vec::new(),
                Some(text) => crate::incidents::flags::parse_rules(&text).map_err(|message| ConfigError::Invalid {
                    var: "PAGERLENS_CUSTOM_FIELD_FLAGS",
                    value: text.clone(),
                    expected: "rules like `resolved_by_us = resolution equals ccoe; infra = prelim_root_cause is_set`",
                    message,
                })?,
            },
            sla: match get("PAGERLENS_SLA_WARNING_SHARES") {
                None => crate::sla::SlaSettings::default(),
                Some(text) => {
                    let mut shares = Vec::new();
                    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                        match part.parse::<f64>() {
                            Ok(v) if v > 0.0 && v < 1.0 => shares.push(v),
                            _ => {
                                return Err(ConfigError::Invalid {
                                    var: "PAGERLENS_SLA_WARNING_SHARES",
                                    value: text.clone(),
                                    expected: "comma-separated shares between 0 and 1, like 0.5,0.75",
                                    message: format!("{part:?} is not a share between 0 and 1"),
                                });
                            }
                        }
                    }
                    shares.sort_by(f64::total_cmp);
                    shares.dedup();
                    crate::sla::SlaSettings {
                        warning_shares: shares,
                        status_field: None,
                    }
                }
            },
            sync_overlap_minutes: parse(
                &get,
                "PAGERLENS_SYNC_OVERLAP_MINUTES",
                5,
                "a whole number of minutes from 0 to 1440",
                |v: &u32| *v <= 1440,
            )?,
            public_url: url::Url::parse("http://127.0.0.1:8080/").expect("valid"),
            oauth: None,
            login_policy: Default::default(),
            session_lifetime: Default::default(),
            demo_identity_provider: false,
            jobs: job_settings(&get)?,
            reports: report_settings(&get)?,
            attachments: AttachmentSettings {
                dir: get("PAGERLENS_ATTACHMENT_DIR")
                    .unwrap_or_else(|| "data/attachments".to_owned())
                    .into(),
                max_bytes: parse(
                    &get,
                    "PAGERLENS_ATTACHMENT_MAX_BYTES",
                    10 * 1024 * 1024,
                    "a number of bytes from 1 to 1073741824",
                    |v: &u64| (1..=1 << 30).contains(v),
                )?,
            },
            notify: crate::notify::Endpoints {
                slack: http_url_var(&get, "PAGERLENS_NOTIFY_SLACK_URL")?,
                webhook: http_url_var(&get, "PAGERLENS_NOTIFY_WEBHOOK_URL")?,
                email: None,
            },
            mail: mail_settings(&get)?,
            analytics: analytics_settings(&get)?,
            http: http_settings(&get)?,
        }
        .with_status_field()
        .with_notify_email(&get)?
        .with_auth_settings(&get)
    }

    /// `PAGERLENS_NOTIFY_EMAIL_TO`: SLA notifications by email (needs
    /// `PAGERLENS_SMTP_URL`).
    fn with_notify_email(
        mut self,
        get: &impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let Some(list) = get("PAGERLENS_NOTIFY_EMAIL_TO") else {
            return Ok(self);
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
            .map(crate::mail::mailbox)
            .collect::<Result<Vec<_>, _>>()
            .map_err(bad)?;
        let smtp = self
            .mail
            .clone()
            .ok_or_else(|| bad("PAGERLENS_SMTP_URL is not set".into()))?;
        if !to.is_empty() {
            self.notify.email = Some(crate::notify::EmailEndpoint { smtp, to });
        }
        Ok(self)
    }

    /// The SLA engine pauses on the status field's `WAITING` values.
    fn with_status_field(mut self) -> Self {
        self.sla.status_field = self.analytics.status_field.clone();
        self
    }

    fn with_auth_settings(
        mut self,
        get: &impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        use crate::auth::oauth::{ProviderKind, ProviderSettings};
        self.public_url = match get("PAGERLENS_PUBLIC_URL") {
            None => {
                url::Url::parse(&format!("http://{}/", self.bind)).expect("an address is a URL")
            }
            Some(v) => match url::Url::parse(&v) {
                Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => u,
                _ => {
                    return Err(ConfigError::Invalid {
                        var: "PAGERLENS_PUBLIC_URL",
                        value: v,
                        expected: "an http or https URL such as https://pagerlens.example.com",
                        message: "not a URL this server can be reached at".into(),
                    });
                }
            },
        };
        let list = |var: &str| -> Vec<String> {
            get(var)
                .map(|v| {
                    v.split(',')
                        .map(|s| s.trim().to_lowercase())
                        .filter(|s| !s.is_empty())
                        .collect()
                })
                .unwrap_or_default()
        };
        self.login_policy.admin_emails = list("PAGERLENS_ADMIN_EMAILS");
        self.login_policy.auto_provision_domains = list("PAGERLENS_AUTO_PROVISION_DOMAINS")
            .into_iter()
            .map(|d| d.trim_start_matches('@').to_owned())
            .collect();
        for e in &self.login_policy.admin_emails {
            if crate::auth::normalize_email(e).is_err() {
                return Err(ConfigError::Invalid {
                    var: "PAGERLENS_ADMIN_EMAILS",
                    value: e.clone(),
                    expected: "comma-separated email addresses",
                    message: "not an email address".into(),
                });
            }
        }
        let age = |var: &'static str,
                   default: chrono::Duration|
         -> Result<chrono::Duration, ConfigError> {
            match get(var) {
                None => Ok(default),
                Some(v) => parse_age(&v).map_err(|message| ConfigError::Invalid {
                    var,
                    value: v,
                    expected: "an age such as 30m, 12h or 7d",
                    message,
                }),
            }
        };
        self.session_lifetime.idle = age("PAGERLENS_SESSION_IDLE", self.session_lifetime.idle)?;
        self.session_lifetime.absolute =
            age("PAGERLENS_SESSION_MAX", self.session_lifetime.absolute)?;
        let issuer = get("PAGERLENS_OAUTH_ISSUER");
        if let Some(v) = &issuer {
            match url::Url::parse(v) {
                Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {}
                _ => {
                    return Err(ConfigError::Invalid {
                        var: "PAGERLENS_OAUTH_ISSUER",
                        value: v.clone(),
                        expected: "the issuer's URL, such as https://accounts.example.com",
                        message: "not an http or https URL".into(),
                    });
                }
            }
            // The endpoints come from the issuer's discovery document.
            for var in [
                "PAGERLENS_OAUTH_AUTHORIZE_URL",
                "PAGERLENS_OAUTH_TOKEN_URL",
                "PAGERLENS_OAUTH_USERINFO_URL",
            ] {
                if let Some(value) = get(var) {
                    return Err(ConfigError::Invalid {
                        var,
                        value,
                        expected: "unset when PAGERLENS_OAUTH_ISSUER is set",
                        message:
                            "an OpenID Connect issuer's endpoints come from its discovery document"
                                .into(),
                    });
                }
            }
        }
        let provider = match (get("PAGERLENS_OAUTH_PROVIDER"), &issuer) {
            (Some(p), _) => p,
            (None, Some(_)) => "generic".to_owned(),
            (None, None) => return Ok(self),
        };
        let kind = match provider.to_ascii_lowercase().as_str() {
            "google" => ProviderKind::Google,
            "github" if issuer.is_some() => {
                return Err(ConfigError::Invalid {
                    var: "PAGERLENS_OAUTH_PROVIDER",
                    value: provider,
                    expected: "google or generic with PAGERLENS_OAUTH_ISSUER",
                    message: "GitHub logins are OAuth 2.0, not OpenID Connect".into(),
                });
            }
            "github" => ProviderKind::GitHub,
            "generic" | "oidc" => ProviderKind::Generic,
            _ => {
                return Err(ConfigError::Invalid {
                    var: "PAGERLENS_OAUTH_PROVIDER",
                    value: provider,
                    expected: "google, github or generic",
                    message: "unknown provider".into(),
                });
            }
        };
        // With an issuer, the endpoints are discovered: none are required.
        let defaults = if issuer.is_some() {
            Some(("", "", "", "openid email profile"))
        } else {
            ProviderSettings::defaults(kind)
        };
        let required = |var: &'static str, default: Option<&str>| -> Result<String, ConfigError> {
            get(var)
                .or_else(|| default.map(str::to_owned))
                .ok_or(ConfigError::Invalid {
                    var,
                    value: String::new(),
                    expected: "a value (required by PAGERLENS_OAUTH_PROVIDER)",
                    message: "missing".into(),
                })
        };
        let scopes = required(
            "PAGERLENS_OAUTH_SCOPES",
            defaults.map(|d| d.3).or(Some("openid email profile")),
        )?;
        self.oauth = Some(ProviderSettings {
            kind,
            client_id: required("PAGERLENS_OAUTH_CLIENT_ID", None)?,
            client_secret: SecretString::from(required("PAGERLENS_OAUTH_CLIENT_SECRET", None)?),
            authorize_url: required("PAGERLENS_OAUTH_AUTHORIZE_URL", defaults.map(|d| d.0))?,
            token_url: required("PAGERLENS_OAUTH_TOKEN_URL", defaults.map(|d| d.1))?,
            userinfo_url: required("PAGERLENS_OAUTH_USERINFO_URL", defaults.map(|d| d.2))?,
            scopes: scopes
                .split([' ', ','])
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
            redirect_url: get("PAGERLENS_OAUTH_REDIRECT_URL"),
            issuer,
        });
        Ok(self)
    }

    /// Turns on the in-process demo identity provider as the login provider
    /// (`serve --demo`, tests).
    pub fn enable_demo_identity_provider(&mut self) {
        use crate::auth::oauth::{ProviderKind, ProviderSettings};
        self.demo_identity_provider = true;
        self.oauth = Some(ProviderSettings {
            kind: ProviderKind::Demo,
            client_id: crate::auth::demo_idp::CLIENT_ID.into(),
            client_secret: SecretString::from(crate::auth::demo_idp::CLIENT_SECRET),
            authorize_url: String::new(),
            token_url: String::new(),
            userinfo_url: String::new(),
            scopes: vec!["openid".into(), "email".into(), "profile".into()],
            redirect_url: None,
            issuer: None,
        });
    }

    /// The OAuth redirect URL: `PAGERLENS_OAUTH_REDIRECT_URL`, or
    /// `/auth/callback` under the public URL.
    pub fn oauth_redirect_url(&self) -> String {
        self.oauth
            .as_ref()
            .and_then(|o| o.redirect_url.clone())
            .unwrap_or_else(|| {
                self.public_url
                    .join("/auth/callback")
                    .expect("a path")
                    .to_string()
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

    /// The PagerDuty client configuration, when a token is set.
    pub fn pagerduty_client_config(&self) -> Option<crate::pagerduty::ClientConfig> {
        let token = self.pagerduty_token.as_ref()?;
        let mut c =
            crate::pagerduty::ClientConfig::new(&self.pagerduty_api_url, token.expose_secret());
        c.requests_per_minute = self.pagerduty_requests_per_minute;
        c.max_concurrency = self.pagerduty_max_concurrency;
        c.max_retries = self.pagerduty_max_retries;
        c.from_email = self.pagerduty_from_email.clone();
        Some(c)
    }

    /// The webhook secrets as plain strings (for verification only).
    pub fn webhook_secrets(&self) -> Vec<String> {
        self.pagerduty_webhook_secrets
            .iter()
            .map(|s| s.expose_secret().to_owned())
            .collect()
    }

    /// True when the database is SQLite.
    pub fn is_sqlite(&self) -> bool {
        self.database_url().starts_with("sqlite:")
    }
}

fn age_var(
    get: &impl Fn(&str) -> Option<String>,
    var: &'static str,
    default: chrono::Duration,
) -> Result<chrono::Duration, ConfigError> {
    match get(var) {
        None => Ok(default),
        Some(v) => parse_age(&v).map_err(|message| ConfigError::Invalid {
            var,
            value: v,
            expected: "an age such as 30s, 15m, 12h or 7d",
            message,
        }),
    }
}

fn http_url_var(
    get: &impl Fn(&str) -> Option<String>,
    var: &'static str,
) -> Result<Option<String>, ConfigError> {
    let Some(v) = get(var) else {
        return Ok(None);
    };
    match url::Url::parse(&v) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => Ok(Some(v)),
        _ => Err(ConfigError::Invalid {
            var,
            value: v,
            expected: "an http(s) URL",
            message: "not a URL".into(),
        }),
    }
}

fn http_settings(get: &impl Fn(&str) -> Option<String>) -> Result<HttpSettings, ConfigError> {
    let metrics_token = match get("PAGERLENS_METRICS_TOKEN") {
        None => None,
        Some(t) if t.len() >= 16 && t.chars().all(|c| c.is_ascii_graphic()) => {
            Some(SecretString::from(t))
        }
        Some(_) => {
            return Err(ConfigError::Invalid {
                var: "PAGERLENS_METRICS_TOKEN",
                value: "(hidden)".into(),
                expected: "16 or more printable characters without spaces",
                message: "too short or has spaces".into(),
            });
        }
    };
    let metrics_bind = match get("PAGERLENS_METRICS_BIND") {
        None => None,
        Some(v) => Some(v.parse::<SocketAddr>().map_err(|e| ConfigError::Invalid {
            var: "PAGERLENS_METRICS_BIND",
            value: v.clone(),
            expected: "an address and port such as 127.0.0.1:9090",
            message: e.to_string(),
        })?),
    };
    let mut cors_origins = Vec::new();
    if let Some(list) = get("PAGERLENS_CORS_ORIGINS") {
        for part in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            match url::Url::parse(part) {
                Ok(u)
                    if matches!(u.scheme(), "http" | "https")
                        && u.host().is_some()
                        && u.path() == "/"
                        && !part.ends_with('/')
                        && u.query().is_none() =>
                {
                    cors_origins.push(part.to_owned());
                }
                _ => {
                    return Err(ConfigError::Invalid {
                        var: "PAGERLENS_CORS_ORIGINS",
                        value: list.clone(),
                        expected: "comma-separated origins such as https://dashboards.example.com (scheme, host and port; no path)",
                        message: format!("{part:?} is not an origin"),
                    });
                }
            }
        }
    }
    let limit = |var: &'static str, default: u32| {
        parse(
            get,
            var,
            default,
            "requests a minute, a whole number from 0 (off) to 1000000",
            |v: &u32| *v <= 1_000_000,
        )
    };
    let trust_forwarded_for = match get("PAGERLENS_TRUST_FORWARDED_FOR").as_deref() {
        None | Some("false" | "0" | "no") => false,
        Some("true" | "1" | "yes") => true,
        Some(other) => {
            return Err(ConfigError::Invalid {
                var: "PAGERLENS_TRUST_FORWARDED_FOR",
                value: other.to_owned(),
                expected: "true or false",
                message: "not a boolean".into(),
            });
        }
    };
    Ok(HttpSettings {
        metrics_token,
        metrics_bind,
        cors_origins,
        rate_limit_auth: limit("PAGERLENS_RATE_LIMIT_AUTH", 60)?,
        rate_limit_graphql: limit("PAGERLENS_RATE_LIMIT_GRAPHQL", 1200)?,
        trust_forwarded_for,
        shutdown_grace: age_var(
            get,
            "PAGERLENS_SHUTDOWN_GRACE",
            chrono::Duration::seconds(30),
        )?,
        otlp_endpoint: match http_url_var(get, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")? {
            Some(url) => Some(url),
            None => http_url_var(get, "OTEL_EXPORTER_OTLP_ENDPOINT")?,
        },
    })
}

fn job_settings(get: &impl Fn(&str) -> Option<String>) -> Result<JobSettings, ConfigError> {
    let mut cron = Vec::new();
    for (kind, var, default) in crate::jobs::scheduler::DEFAULTS {
        let value = get(var).unwrap_or_else(|| default.to_owned());
        let expression = if value.trim().eq_ignore_ascii_case("off") {
            None
        } else {
            let (normalised, _) =
                crate::jobs::scheduler::parse(&value).map_err(|message| ConfigError::Invalid {
                    var,
                    value: value.clone(),
                    expected: "a cron expression with six fields, seconds first (`0 */5 * * * *`), or `off`",
                    message,
                })?;
            Some(normalised)
        };
        cron.push(crate::jobs::scheduler::CronSetting {
            kind,
            var,
            expression,
        });
    }
    let stall_timeout = age_var(
        get,
        "PAGERLENS_JOB_STALL_TIMEOUT",
        chrono::Duration::seconds(30),
    )?;
    if stall_timeout < chrono::Duration::seconds(3) {
        return Err(ConfigError::Invalid {
            var: "PAGERLENS_JOB_STALL_TIMEOUT",
            value: get("PAGERLENS_JOB_STALL_TIMEOUT").unwrap_or_default(),
            expected: "at least 3s (heartbeats are written every second)",
            message: "too short".into(),
        });
    }
    Ok(JobSettings {
        workers: parse(
            get,
            "PAGERLENS_WORKERS",
            2,
            "a whole number from 0 (run no jobs here) to 64",
            |v: &usize| *v <= 64,
        )?,
        stall_timeout,
        max_attempts: parse(
            get,
            "PAGERLENS_JOB_MAX_ATTEMPTS",
            3,
            "a whole number from 1 to 100",
            |v: &i32| (1..=100).contains(v),
        )?,
        timeout: age_var(get, "PAGERLENS_JOB_TIMEOUT", chrono::Duration::hours(2))?,
        retention: age_var(get, "PAGERLENS_JOB_RETENTION", chrono::Duration::days(30))?,
        incident_retention: match get("PAGERLENS_INCIDENT_RETENTION") {
            None => None,
            Some(_) => Some(age_var(
                get,
                "PAGERLENS_INCIDENT_RETENTION",
                chrono::Duration::days(365),
            )?),
        },
        cron,
    })
}

fn mail_settings(
    get: &impl Fn(&str) -> Option<String>,
) -> Result<Option<crate::mail::MailSettings>, ConfigError> {
    let Some(url) = get("PAGERLENS_SMTP_URL") else {
        return Ok(None);
    };
    crate::mail::check_url(&url).map_err(|message| ConfigError::Invalid {
        var: "PAGERLENS_SMTP_URL",
        value: redact_url(&url),
        expected: "smtp://HOST:PORT, smtp://USER:PASSWORD@HOST:587?tls=required or smtps://USER:PASSWORD@HOST:465",
        message,
    })?;
    let from =
        get("PAGERLENS_SMTP_FROM").unwrap_or_else(|| "pagerlens <pagerlens@localhost>".into());
    let from = crate::mail::mailbox(&from).map_err(|message| ConfigError::Invalid {
        var: "PAGERLENS_SMTP_FROM",
        value: from.clone(),
        expected: "an address, or `Name <address>`",
        message,
    })?;
    Ok(Some(crate::mail::MailSettings {
        url: SecretString::from(url),
        from,
    }))
}

fn analytics_settings(
    get: &impl Fn(&str) -> Option<String>,
) -> Result<AnalyticsSettings, ConfigError> {
    let bi_role = match (get("PAGERLENS_BI_ROLE"), get("PAGERLENS_BI_PASSWORD")) {
        (None, None) => None,
        (Some(role), Some(password)) => {
            let ok = !role.is_empty()
                && role.len() <= 63
                && role.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
                && role
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
            if !ok {
                return Err(ConfigError::Invalid {
                    var: "PAGERLENS_BI_ROLE",
                    value: role,
                    expected: "a lower-case SQL name: letters, digits and underscores",
                    message: "not a plain role name".into(),
                });
            }
            if password.len() < 12 {
                return Err(ConfigError::Invalid {
                    var: "PAGERLENS_BI_PASSWORD",
                    value: "***".into(),
                    expected: "at least 12 characters",
                    message: "too short".into(),
                });
            }
            Some((role, SecretString::from(password)))
        }
        (Some(_), None) | (None, Some(_)) => {
            return Err(ConfigError::Invalid {
                var: "PAGERLENS_BI_ROLE",
                value: get("PAGERLENS_BI_ROLE").unwrap_or_default(),
                expected: "PAGERLENS_BI_ROLE and PAGERLENS_BI_PASSWORD set together",
                message: "only one of the two is set".into(),
            });
        }
    };
    Ok(AnalyticsSettings {
        cache_ttl: age_var(get, "PAGERLENS_CACHE_TTL", chrono::Duration::minutes(15))?,
        live_ttl: age_var(get, "PAGERLENS_LIVE_TTL", chrono::Duration::seconds(60))?,
        live_cooldown: age_var(
            get,
            "PAGERLENS_LIVE_COOLDOWN",
            chrono::Duration::seconds(60),
        )?,
        status_field: get("PAGERLENS_STATUS_FIELD")
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty()),
        bi_role,
    })
}

fn report_settings(get: &impl Fn(&str) -> Option<String>) -> Result<ReportSettings, ConfigError> {
    let tz = get("PAGERLENS_REPORT_TZ").unwrap_or_else(|| "UTC".to_owned());
    Ok(ReportSettings {
        dir: get("PAGERLENS_REPORT_DIR")
            .unwrap_or_else(|| "data/reports".to_owned())
            .into(),
        retention: age_var(get, "PAGERLENS_REPORT_RETENTION", chrono::Duration::days(7))?,
        time_zone: tz.parse().map_err(|_| ConfigError::Invalid {
            var: "PAGERLENS_REPORT_TZ",
            value: tz.clone(),
            expected: "an IANA time zone such as Europe/Paris or UTC",
            message: "unknown time zone".into(),
        })?,
        exclude_columns: get("PAGERLENS_REPORT_EXCLUDE_COLUMNS")
            .map(|v| {
                v.split(',')
                    .map(|s| s.trim().to_ascii_lowercase())
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .unwrap_or_default(),
    })
}

fn check_database_url(url: &str) -> Result<(), ConfigError> {
    let ok = url.starts_with("sqlite:")
        || url.starts_with("postgres://")
        || url.starts_with("postgresql://");
    if ok {
        Ok(())
    } else {
        Err(ConfigError::Invalid {
            var: "DATABASE_URL",
            value: redact_url(url),
            expected: "sqlite://PATH?mode=rwc or postgres://USER:PASSWORD@HOST:PORT/DB",
            message: "unsupported database".into(),
        })
    }
}

/// Hides the password of a URL such as `postgres://user:secret@host/db`.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        Ok(_) => url.to_owned(),
        Err(_) => "<unparseable url>".to_owned(),
    }
}

fn parse<T: FromStr>(
    get: &impl Fn(&str) -> Option<String>,
    var: &'static str,
    default: T,
    expected: &'static str,
    valid: impl Fn(&T) -> bool,
) -> Result<T, ConfigError>
where
    T::Err: std::fmt::Display,
{
    let Some(raw) = get(var) else {
        return Ok(default);
    };
    let invalid = |message: String| ConfigError::Invalid {
        var,
        value: raw.clone(),
        expected,
        message,
    };
    let value = raw
        .trim()
        .parse::<T>()
        .map_err(|e| invalid(e.to_string()))?;
    if valid(&value) {
        Ok(value)
    } else {
        Err(invalid("out of range".into()))
    }
}

/// Parses an age such as `60d`, `12h`, `30m` or `2w`.
///
/// # Errors
/// A message saying what form is expected.
pub fn parse_age(s: &str) -> Result<chrono::Duration, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (n, unit) = s.split_at(split);
    let n: i64 = n
        .parse()
        .map_err(|_| format!("{s:?} is not an age such as 60d, 12h, 30m or 2w"))?;
    let d = match unit {
        "w" => chrono::Duration::try_weeks(n),
        "d" => chrono::Duration::try_days(n),
        "h" => chrono::Duration::try_hours(n),
        "m" => chrono::Duration::try_minutes(n),
        "s" => chrono::Duration::try_seconds(n),
        _ => None,
    };
    d.filter(|d| *d > chrono::Duration::zero())
        .ok_or_else(|| format!("{s:?} is not an age such as 60d, 12h, 30m or 2w"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn with(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn an_issuer_makes_an_openid_connect_provider() {
        let secret = [
            ("PAGERLENS_OAUTH_CLIENT_ID", "pl"),
            ("PAGERLENS_OAUTH_CLIENT_SECRET", "s"),
        ];
        let issuer = ("PAGERLENS_OAUTH_ISSUER", "https://login.example.com");
        let c = with(&[secret[0], secret[1], issuer]).unwrap();
        let o = c.oauth.unwrap();
        assert_eq!(o.kind, crate::auth::oauth::ProviderKind::Generic);
        assert_eq!(o.issuer.as_deref(), Some("https://login.example.com"));
        assert_eq!(o.scopes, ["openid", "email", "profile"]);
        for (extra, var) in [
            (
                ("PAGERLENS_OAUTH_TOKEN_URL", "https://x.example/token"),
                "PAGERLENS_OAUTH_TOKEN_URL",
            ),
            (
                ("PAGERLENS_OAUTH_PROVIDER", "github"),
                "PAGERLENS_OAUTH_PROVIDER",
            ),
        ] {
            let e = with(&[secret[0], secret[1], issuer, extra])
                .unwrap_err()
                .to_string();
            assert!(e.contains(var), "{e}");
        }
        let e = with(&[
            secret[0],
            secret[1],
            ("PAGERLENS_OAUTH_ISSUER", "login.example.com"),
        ])
        .unwrap_err()
        .to_string();
        assert!(e.contains("PAGERLENS_OAUTH_ISSUER"), "{e}");
    }

    #[test]
    fn defaults_need_no_configuration() {
        let c = with(&[]).unwrap();
        assert_eq!(c.database_url(), DEFAULT_DATABASE_URL);
        assert!(c.is_sqlite());
        assert_eq!(c.bind.to_string(), "127.0.0.1:8080");
        assert_eq!(c.log_format, LogFormat::Human);
    }

    #[test]
    fn bad_values_name_the_variable_and_the_expected_form() {
        let e = with(&[("PAGERLENS_BIND", "nowhere")])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("PAGERLENS_BIND") && e.contains("127.0.0.1:8080"),
            "{e}"
        );
        for bad in ["0", "1"] {
            let e = with(&[("PAGERLENS_DB_MAX_CONNECTIONS", bad)])
                .unwrap_err()
                .to_string();
            assert!(
                e.contains("PAGERLENS_DB_MAX_CONNECTIONS")
                    && e.contains("out of range")
                    && e.contains("from 2 to 1000"),
                "{e}"
            );
        }
        let e = with(&[("PAGERLENS_LOG_FORMAT", "xml")])
            .unwrap_err()
            .to_string();
        assert!(e.contains("PAGERLENS_LOG_FORMAT"), "{e}");
        let e = with(&[("DATABASE_URL", "mysql://root:hunter2@db/x")])
            .unwrap_err()
            .to_string();
        assert!(e.contains("DATABASE_URL") && !e.contains("hunter2"), "{e}");
    }

    #[test]
    fn http_settings_are_validated_and_keep_secrets_out_of_errors() {
        let c = with(&[]).unwrap();
        assert_eq!(
            (c.http.rate_limit_auth, c.http.rate_limit_graphql),
            (60, 1200)
        );
        assert!(c.http.cors_origins.is_empty() && c.http.metrics_token.is_none());
        let e = with(&[("PAGERLENS_METRICS_TOKEN", "short secret")])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("PAGERLENS_METRICS_TOKEN") && !e.contains("short secret"),
            "{e}"
        );
        for bad in ["https://a.example.com/path", "dash.example.com", "*"] {
            let e = with(&[("PAGERLENS_CORS_ORIGINS", bad)])
                .unwrap_err()
                .to_string();
            assert!(e.contains("PAGERLENS_CORS_ORIGINS"), "{e}");
        }
        let c = with(&[(
            "PAGERLENS_CORS_ORIGINS",
            "https://a.example.com, http://localhost:3000",
        )])
        .unwrap();
        assert_eq!(
            c.http.cors_origins,
            ["https://a.example.com", "http://localhost:3000"]
        );
        let e = with(&[("PAGERLENS_RATE_LIMIT_GRAPHQL", "lots")])
            .unwrap_err()
            .to_string();
        assert!(e.contains("PAGERLENS_RATE_LIMIT_GRAPHQL"), "{e}");
        let e = with(&[("PAGERLENS_METRICS_BIND", "9090")])
            .unwrap_err()
            .to_string();
        assert!(e.contains("PAGERLENS_METRICS_BIND"), "{e}");
        let e = with(&[("PAGERLENS_TRUST_FORWARDED_FOR", "maybe")])
            .unwrap_err()
            .to_string();
        assert!(e.contains("PAGERLENS_TRUST_FORWARDED_FOR"), "{e}");
    }

    #[test]
    fn blank_values_mean_default() {
        let c = with(&[("PAGERLENS_BIND", "  ")]).unwrap();
        assert_eq!(c.bind.port(), 8080);
    }

    #[test]
    fn ages() {
        assert_eq!(parse_age("60d").unwrap(), chrono::Duration::days(60));
        assert_eq!(parse_age("2w").unwrap(), chrono::Duration::weeks(2));
        assert_eq!(parse_age("12h").unwrap(), chrono::Duration::hours(12));
        assert!(parse_age("0d").is_err());
        assert!(parse_age("d").is_err());
        assert!(parse_age("10y").is_err());
        assert!(parse_age("-5d").is_err());
    }

    #[test]
    fn pagerduty_settings() {
        let c = with(&[
            ("PAGERDUTY_TOKEN", "abc"),
            ("PAGERDUTY_WEBHOOK_SECRETS", "one, two,,"),
        ])
        .unwrap();
        assert_eq!(c.pagerduty_api_url, "https://api.pagerduty.com");
        assert_eq!(c.webhook_secrets(), ["one", "two"]);
        assert_eq!(
            c.pagerduty_client_config().unwrap().requests_per_minute,
            600
        );
        assert!(with(&[]).unwrap().pagerduty_client_config().is_none());
        let e = with(&[("PAGERDUTY_API_URL", "ftp://x")])
            .unwrap_err()
            .to_string();
        assert!(e.contains("PAGERDUTY_API_URL"), "{e}");
        let e = with(&[("PAGERDUTY_REQUESTS_PER_MINUTE", "lots")])
            .unwrap_err()
            .to_string();
        assert!(e.contains("PAGERDUTY_REQUESTS_PER_MINUTE"), "{e}");
    }

    #[test]
    fn debug_output_hides_secrets() {
        let c = with(&[
            ("PAGERDUTY_TOKEN", "tok-secret"),
            ("DATABASE_URL", "postgres://u:pw-secret@h/db"),
        ])
        .unwrap();
        let shown = format!("{c:?}");
        assert!(
            !shown.contains("tok-secret") && !shown.contains("pw-secret"),
            "{shown}"
        );
    }

    #[test]
    fn redacts_passwords() {
        assert_eq!(
            redact_url("postgres://u:secret@localhost:5432/db"),
            "postgres://u:***@localhost:5432/db"
        );
        assert_eq!(redact_url("sqlite://data/x.db"), "sqlite://data/x.db");
    }

    #[test]
    fn cron_and_job_settings_are_checked_naming_the_variable() {
        let c = with(&[]).unwrap();
        assert_eq!(c.jobs.workers, 2);
        assert_eq!(c.jobs.stall_timeout, chrono::Duration::seconds(30));
        let sla = c
            .jobs
            .cron
            .iter()
            .find(|s| s.var == "PAGERLENS_CRON_SLA_CHECK")
            .unwrap();
        assert_eq!(sla.expression.as_deref(), Some("0 */5 * * * *"));
        let off = with(&[("PAGERLENS_CRON_SYNC", "off")]).unwrap();
        assert!(
            off.jobs
                .cron
                .iter()
                .any(|s| s.var == "PAGERLENS_CRON_SYNC" && s.expression.is_none())
        );
        let err = with(&[("PAGERLENS_CRON_RETENTION", "at noon")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("PAGERLENS_CRON_RETENTION"), "{err}");
        let err = with(&[("PAGERLENS_JOB_STALL_TIMEOUT", "1s")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("PAGERLENS_JOB_STALL_TIMEOUT"), "{err}");
        let err = with(&[("PAGERLENS_REPORT_TZ", "Moon/Base")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("PAGERLENS_REPORT_TZ"), "{err}");
        let c = with(&[(
            "PAGERLENS_REPORT_EXCLUDE_COLUMNS",
            " Title, incidents.html_url ",
        )])
        .unwrap();
        assert_eq!(
            c.reports.exclude_columns,
            vec!["title", "incidents.html_url"]
        );
    }
}
