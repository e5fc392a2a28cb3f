//! The SLA engine's settings.

use super::ConfigError;

#[derive(Clone, Debug)]
pub struct SlaSettings {
    /// Shares of a target at which an at-risk warning goes out, ascending
    /// (`PAGERLENS_SLA_WARNING_SHARES`, default 0.5 and 0.75).
    pub warning_shares: Vec<f64>,
    /// `PAGERLENS_STATUS_FIELD`: the custom field whose mapped value is an
    /// incident's workflow status; a status in the `WAITING` category pauses
    /// the clocks automatically.
    pub status_field: Option<String>,
}

impl Default for SlaSettings {
    fn default() -> Self {
        Self {
            warning_shares: vec![0.5, 0.75],
            status_field: None,
        }
    }
}

pub(super) fn read(
    get: &impl Fn(&str) -> Option<String>,
    status_field: Option<String>,
) -> Result<SlaSettings, ConfigError> {
    let Some(text) = get("PAGERLENS_SLA_WARNING_SHARES") else {
        return Ok(SlaSettings {
            status_field,
            ..SlaSettings::default()
        });
    };
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
    Ok(SlaSettings {
        warning_shares: shares,
        status_field,
    })
}
