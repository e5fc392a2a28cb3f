//! The `analytics_drift` job: compares PagerDuty's raw incident analytics
//! with pagerlens's and stores the report (`analyticsDrift`).

use chrono::Utc;
use serde::{Deserialize, Serialize};

use super::super::{BackgroundJob, JobCtx, JobKind, JobOutput, Permanent};

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnalyticsDriftJob {
    /// The incidents created in this many days (default 30).
    #[serde(default)]
    pub days: Option<i64>,
}

impl BackgroundJob for AnalyticsDriftJob {
    const KIND: JobKind = JobKind::AnalyticsDrift;

    async fn run(self, ctx: &JobCtx) -> anyhow::Result<JobOutput> {
        let Some(client) = ctx.pagerduty.clone() else {
            return Err(
                Permanent("PagerDuty is not configured: set PAGERDUTY_TOKEN".into()).into(),
            );
        };
        ctx.set_progress(0, "fetching PagerDuty's raw incident analytics");
        let report = crate::analytics::drift::run(
            &ctx.db,
            &client,
            &ctx.config.analytics.facts,
            self.days.unwrap_or(30),
            &ctx.job.trigger,
            Utc::now(),
        )
        .await
        .map_err(|e| match e {
            crate::analytics::drift::DriftError::Invalid(m) => anyhow::Error::from(Permanent(m)),
            other => other.into(),
        })?;
        let failing = report.mismatches.iter().filter(|m| !m.lag).count();
        Ok(JobOutput {
            result: serde_json::json!({
                "report_id": report.id,
                "incidents_compared": report.incidents_compared,
                "mismatches": report.mismatches.len(),
                "ok": report.ok,
                "api_calls": report.api_calls,
            }),
            message: Some(format!(
                "compared {} incidents: {} mismatch(es), {failing} beyond PagerDuty's refresh lag",
                report.incidents_compared,
                report.mismatches.len()
            )),
            file: None,
        })
    }
}
