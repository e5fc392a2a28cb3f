//! The `prewarm` job: computes the standard dashboard analytics into the
//! cache.

use chrono::Utc;
use serde::{Deserialize, Serialize};

use super::super::{BackgroundJob, JobCtx, JobKind, JobOutput};

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrewarmJob {}

impl BackgroundJob for PrewarmJob {
    const KIND: JobKind = JobKind::Prewarm;

    async fn run(self, ctx: &JobCtx) -> anyhow::Result<JobOutput> {
        let analytics = crate::analytics::metrics::Analytics::with_settings(
            ctx.db.clone(),
            &ctx.config.custom_field_flags,
            &ctx.config.analytics,
        );
        let cache = crate::cache::Cache::from_settings(ctx.db.clone(), &ctx.config.analytics);
        ctx.set_progress(0, "prewarming the analytics cache");
        let done = crate::analytics::prewarm::run(
            &analytics,
            &cache,
            ctx.config.reports.time_zone,
            Utc::now(),
            |i, n| {
                ctx.set_progress(
                    i32::try_from(i * 100 / n.max(1)).unwrap_or(100),
                    format!("{i} of {n} targets"),
                );
            },
            || ctx.is_cancelled(),
        )
        .await?;
        Ok(JobOutput {
            result: serde_json::to_value(&done)?,
            message: Some(format!(
                "cached {} answer(s) for {} target(s)",
                done.entries, done.targets
            )),
            file: None,
        })
    }
}
