//! The `notify` job: sends the due notifications of the outbox.

use chrono::Utc;
use serde::{Deserialize, Serialize};

use super::super::{BackgroundJob, JobCtx, JobKind, JobOutput};

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotifyJob {}

impl BackgroundJob for NotifyJob {
    const KIND: JobKind = JobKind::Notify;

    async fn run(self, ctx: &JobCtx) -> anyhow::Result<JobOutput> {
        let done = crate::notify::deliver_due(&ctx.db, &ctx.notifier, Utc::now()).await?;
        Ok(JobOutput {
            result: serde_json::to_value(&done)?,
            message: Some(format!(
                "{} sent, {} to retry, {} given up",
                done.sent, done.retrying, done.failed
            )),
            file: None,
        })
    }
}
