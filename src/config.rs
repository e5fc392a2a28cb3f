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
    /// `PAGERLENS_DB_MAX_CONNECTIONS`: pool size (default 10).
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
        Ok(Self {
            database_url: SecretString::from(database_url),
            db_max_connections: parse(
                &get,
                "PAGERLENS_DB_MAX_CONNECTIONS",
                10,
                "a whole number from 1 to 1000",
                |v: &u32| (1..=1000).contains(v),
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
        })
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
        let e = with(&[("PAGERLENS_DB_MAX_CONNECTIONS", "0")])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("PAGERLENS_DB_MAX_CONNECTIONS") && e.contains("out of range"),
            "{e}"
        );
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
    fn blank_values_mean_default() {
        let c = with(&[("PAGERLENS_BIND", "  ")]).unwrap();
        assert_eq!(c.bind.port(), 8080);
    }

    #[test]
    fn redacts_passwords() {
        assert_eq!(
            redact_url("postgres://u:secret@localhost:5432/db"),
            "postgres://u:***@localhost:5432/db"
        );
        assert_eq!(redact_url("sqlite://data/x.db"), "sqlite://data/x.db");
    }
}
