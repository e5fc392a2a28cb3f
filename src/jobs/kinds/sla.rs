//! The SLA jobs: the periodic breach and warning check, and the recompute
//! of a range of incidents (`startSlaRecompute`).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::super::{BackgroundJob, JobCtx, JobKind, JobOutput, Permanent};

/// Marks overdue targets breached and warns at the configured shares.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlaCheckJob {}

impl BackgroundJob for SlaCheckJob {
    const KIND: JobKind = JobKind::SlaCheck;

    async fn run(self, ctx: &JobCtx) -> anyhow::Result<JobOutput> {
        let report = crate::sla::check(&ctx.db, &ctx.config.sla, Utc::now()).await?;
        Ok(JobOutput {
            result: serde_json::json!({"breached": report.breached, "warned": report.warned}),
            message: Some(format!(
                "{} breached, {} warned",
                report.breached, report.warned
            )),
            file: None,
        })
    }
}

/// Recomputes the SLAs of the incidents created in `[from, to)` with
/// today's policies, in batches that commit as they go: a cancelled or
/// failed recompute keeps the batches done (its log says how far it got),
/// and running it again redoes the range.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlaRecomputeJob {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

impl BackgroundJob for SlaRecomputeJob {
    const KIND: JobKind = JobKind::SlaRecompute;

    async fn run(self, ctx: &JobCtx) -> anyhow::Result<JobOutput> {
        if self.to <= self.from {
            return Err(Permanent("the range must end after it starts".into()).into());
        }
        let mut incidents = 0;
        let recomputed = crate::sla::recompute_range(
            &ctx.db,
            &ctx.config.sla,
            self.from,
            self.to,
            |done, total| {
                incidents = total;
                ctx.set_progress(
                    i32::try_from(done * 100 / total.max(1)).unwrap_or(100),
                    format!("{done} of {total} incidents"),
                );
                if ctx.is_cancelled() {
                    std::ops::ControlFlow::Break(())
                } else {
                    std::ops::ControlFlow::Continue(())
                }
            },
        )
        .await;
        let written = match recomputed {
            Ok(written) => written,
            Err(e) => {
                if matches!(e, crate::sla::SlaError::Stopped { .. }) {
                    ctx.log("info", &e.to_string()).await;
                }
                return Err(e.into());
            }
        };
        Ok(JobOutput {
            result: serde_json::json!({"incidents": incidents, "targets_written": written}),
            message: Some(format!(
                "{incidents} incident(s) recomputed, {written} target(s) written"
            )),
            file: None,
        })
    }
}
