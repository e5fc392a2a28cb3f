//! The job queue and its cron triggers.

use super::ConfigError;
use super::read::{age_var, parse};

/// The cron variables and their defaults; the scheduler knows which job
/// each queues.
pub const CRON_DEFAULTS: [(&str, &str); 8] = [
    ("PAGERLENS_CRON_SYNC", "0 */15 * * * *"),
    ("PAGERLENS_CRON_PREWARM", "0 5,20,35,50 * * * *"),
    ("PAGERLENS_CRON_SLA_CHECK", "0 */5 * * * *"),
    ("PAGERLENS_CRON_RETENTION", "0 30 3 * * *"),
    ("PAGERLENS_CRON_REPORT_EXPIRY", "0 5 * * * *"),
    ("PAGERLENS_CRON_SCHEDULED_REPORTS", "0 * * * * *"),
    ("PAGERLENS_CRON_NOTIFY", "*/30 * * * * *"),
    ("PAGERLENS_CRON_ANALYTICS_DRIFT", "0 40 2 * * *"),
];

/// One cron setting: the variable it came from and the expression
/// (`None`: off).
#[derive(Clone, Debug)]
pub struct CronSetting {
    pub var: &'static str,
    pub expression: Option<String>,
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
    pub cron: Vec<CronSetting>,
}

pub(super) fn read(get: &impl Fn(&str) -> Option<String>) -> Result<JobSettings, ConfigError> {
    let mut cron = Vec::new();
    for (var, default) in CRON_DEFAULTS {
        let value = get(var).unwrap_or_else(|| default.to_owned());
        let expression = if value.trim().eq_ignore_ascii_case("off") {
            None
        } else {
            let (normalised, _) =
                crate::cron::parse(&value).map_err(|message| ConfigError::Invalid {
                    var,
                    value: value.clone(),
                    expected: "a cron expression with six fields, seconds first (`0 */5 * * * *`), or `off`",
                    message,
                })?;
            Some(normalised)
        };
        cron.push(CronSetting { var, expression });
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
