//! Reading one variable: numbers in a range, durations, URLs; each failure
//! names the variable and the expected form.

use std::str::FromStr;

use super::ConfigError;

/// A value of type `T`, `default` when the variable is unset, checked by
/// `valid`.
pub(super) fn parse<T: FromStr>(
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

/// A duration variable (`30s`, `15m`, `12h`, `7d`, `2w`, `1h 30m`).
pub(super) fn age_var(
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

/// An optional `http(s)` URL variable.
pub(super) fn http_url_var(
    get: &impl Fn(&str) -> Option<String>,
    var: &'static str,
) -> Result<Option<String>, ConfigError> {
    let Some(v) = get(var) else {
        return Ok(None);
    };
    if is_http_url(&v) {
        Ok(Some(v))
    } else {
        Err(ConfigError::Invalid {
            var,
            value: v,
            expected: "an http(s) URL",
            message: "not a URL".into(),
        })
    }
}

/// Whether `v` is an `http` or `https` URL with a host.
pub(super) fn is_http_url(v: &str) -> bool {
    url::Url::parse(v).is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
}

/// A comma-separated list, trimmed and lower-cased, without empty items.
pub(super) fn list(get: &impl Fn(&str) -> Option<String>, var: &str) -> Vec<String> {
    get(var)
        .map(|v| {
            v.split(',')
                .map(|s| s.trim().to_lowercase())
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

pub(super) fn check_database_url(url: &str) -> Result<(), ConfigError> {
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

/// Parses a positive age such as `60d`, `12h`, `30m`, `2w` or `1h 30m`
/// (humantime's forms).
///
/// # Errors
/// A message saying what form is expected.
pub fn parse_age(s: &str) -> Result<chrono::Duration, String> {
    let bad = || format!("{:?} is not an age such as 60d, 12h, 30m or 2w", s.trim());
    humantime::parse_duration(s.trim())
        .ok()
        .and_then(|d| chrono::Duration::from_std(d).ok())
        .filter(|d| *d > chrono::Duration::zero())
        .ok_or_else(bad)
}
