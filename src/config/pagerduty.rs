//! The PagerDuty API (address, token, request budget) and the sync.

use secrecy::{ExposeSecret, SecretString};

use super::ConfigError;
use super::read::parse;

/// PagerDuty's public REST API.
pub const DEFAULT_PAGERDUTY_API_URL: &str = "https://api.pagerduty.com";

#[derive(Clone, Debug)]
pub struct PagerDutySettings {
    /// `PAGERDUTY_API_URL`: the REST API (default the public API).
    pub api_url: String,
    /// `PAGERDUTY_TOKEN`: a REST API token (account or user level).
    pub token: Option<SecretString>,
    /// `PAGERDUTY_REQUESTS_PER_MINUTE`: this server's request budget (default
    /// 600 of PagerDuty's ~960 a minute per account, leaving room for other tools).
    pub requests_per_minute: u32,
    /// `PAGERDUTY_MAX_CONCURRENCY`: requests in flight at once (default 4).
    pub max_concurrency: usize,
    /// `PAGERDUTY_MAX_RETRIES`: retries of a failing request (default 6).
    pub max_retries: u32,
    /// `PAGERDUTY_FROM_EMAIL`: the `From` header of write calls.
    pub from_email: Option<String>,
    /// `PAGERDUTY_WEBHOOK_SECRETS`: comma-separated webhook signing secrets
    /// (several during a rotation). Without one, webhooks are refused.
    pub webhook_secrets: Vec<SecretString>,
    /// `PAGERLENS_SYNC_DAYS`: days of incidents a first sync fetches (default 30).
    pub sync_days: u32,
    /// `PAGERLENS_SYNC_OVERLAP_MINUTES`: how far before the watermark an
    /// incremental sync starts again (default 5).
    pub sync_overlap_minutes: u32,
}

impl PagerDutySettings {
    /// The webhook secrets as plain strings (for verification only).
    pub fn webhook_secrets(&self) -> Vec<String> {
        self.webhook_secrets
            .iter()
            .map(|s| s.expose_secret().to_owned())
            .collect()
    }
}

pub(super) fn read(
    get: &impl Fn(&str) -> Option<String>,
) -> Result<PagerDutySettings, ConfigError> {
    let api_url = get("PAGERDUTY_API_URL").unwrap_or_else(|| DEFAULT_PAGERDUTY_API_URL.to_owned());
    if !(api_url.starts_with("https://") || api_url.starts_with("http://"))
        || url::Url::parse(&api_url).is_err()
    {
        return Err(ConfigError::Invalid {
            var: "PAGERDUTY_API_URL",
            value: api_url,
            expected: "an http(s) URL such as https://api.pagerduty.com",
            message: "not a URL".into(),
        });
    }
    Ok(PagerDutySettings {
        api_url: api_url.trim_end_matches('/').to_owned(),
        token: get("PAGERDUTY_TOKEN").map(SecretString::from),
        requests_per_minute: parse(
            get,
            "PAGERDUTY_REQUESTS_PER_MINUTE",
            600,
            "a whole number from 0 (no budget) to 100000",
            |v: &u32| *v <= 100_000,
        )?,
        max_concurrency: parse(
            get,
            "PAGERDUTY_MAX_CONCURRENCY",
            4,
            "a whole number from 1 to 64",
            |v: &usize| (1..=64).contains(v),
        )?,
        max_retries: parse(
            get,
            "PAGERDUTY_MAX_RETRIES",
            6,
            "a whole number from 0 to 50",
            |v: &u32| *v <= 50,
        )?,
        from_email: get("PAGERDUTY_FROM_EMAIL"),
        webhook_secrets: get("PAGERDUTY_WEBHOOK_SECRETS")
            .map(|v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(|s| SecretString::from(s.to_owned()))
                    .collect()
            })
            .unwrap_or_default(),
        sync_days: parse(
            get,
            "PAGERLENS_SYNC_DAYS",
            30,
            "a whole number of days from 1 to 3650",
            |v: &u32| (1..=3650).contains(v),
        )?,
        sync_overlap_minutes: parse(
            get,
            "PAGERLENS_SYNC_OVERLAP_MINUTES",
            5,
            "a whole number of minutes from 0 to 1440",
            |v: &u32| *v <= 1440,
        )?,
    })
}
