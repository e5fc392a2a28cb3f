//! Reports (where and how they are written) and incident attachments.

use super::ConfigError;
use super::read::{age_var, parse};

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

pub(super) fn read(get: &impl Fn(&str) -> Option<String>) -> Result<ReportSettings, ConfigError> {
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

/// `PAGERLENS_ATTACHMENT_*`.
pub(super) fn read_attachments(
    get: &impl Fn(&str) -> Option<String>,
) -> Result<AttachmentSettings, ConfigError> {
    Ok(AttachmentSettings {
        dir: get("PAGERLENS_ATTACHMENT_DIR")
            .unwrap_or_else(|| "data/attachments".to_owned())
            .into(),
        max_bytes: parse(
            get,
            "PAGERLENS_ATTACHMENT_MAX_BYTES",
            10 * 1024 * 1024,
            "a number of bytes from 1 to 1073741824",
            |v: &u64| (1..=1 << 30).contains(v),
        )?,
    })
}
