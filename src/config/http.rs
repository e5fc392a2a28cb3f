//! How the HTTP server protects and reports itself.

use std::net::SocketAddr;

use secrecy::SecretString;

use super::ConfigError;
use super::read::{age_var, http_url_var, parse};

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

pub(super) fn read(get: &impl Fn(&str) -> Option<String>) -> Result<HttpSettings, ConfigError> {
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
