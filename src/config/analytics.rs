//! Analytics, its cache and the BI role.

use secrecy::SecretString;

use super::ConfigError;
use super::read::age_var;

/// What an incident's analytics facts depend on besides its log (see
/// `incidents::facts`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FactsSettings {
    /// Priority names that make an incident major; empty for PagerDuty's
    /// rule, the two most severe priorities.
    pub major_priorities: Vec<String>,
    /// `PAGERLENS_INTERRUPTION_WINDOWS`: the global interruption windows
    /// (empty for PagerDuty's); an admin's sets take precedence.
    pub windows: Vec<crate::windows::WindowRule>,
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
    /// is an incident's workflow status (see `incidents::status`).
    pub status_field: Option<String>,
    /// `PAGERLENS_BI_ROLE` and `PAGERLENS_BI_PASSWORD`: on PostgreSQL, a
    /// login role that can read the `bi_*` views and nothing else, created
    /// or updated at start-up.
    pub bi_role: Option<(String, SecretString)>,
    /// `PAGERLENS_MAJOR_PRIORITIES`: priority names (comma-separated, as
    /// PagerDuty spells them) that make an incident major; by default
    /// PagerDuty's rule, its two most severe priorities.
    pub facts: FactsSettings,
}

pub(super) fn read(
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
        facts: FactsSettings {
            major_priorities: get("PAGERLENS_MAJOR_PRIORITIES")
                .map(|v| {
                    v.split(',')
                        .map(|s| s.trim().to_owned())
                        .filter(|s| !s.is_empty())
                        .collect()
                })
                .unwrap_or_default(),
            windows: match get("PAGERLENS_INTERRUPTION_WINDOWS") {
                None => Vec::new(),
                Some(v) if v.trim().is_empty() => Vec::new(),
                Some(v) => crate::windows::parse_setting(&v).map_err(|message| ConfigError::Invalid {
                    var: "PAGERLENS_INTERRUPTION_WINDOWS",
                    value: v.clone(),
                    expected: "WINDOW=DAYS HH:MM-HH:MM[, …]; … covering the week once, e.g. business=mon-fri 08:00-18:00; off=mon-fri 18:00-22:00, sat-sun 08:00-22:00; sleep=mon-sun 22:00-08:00",
                    message,
                })?,
            },
        },
    })
}
