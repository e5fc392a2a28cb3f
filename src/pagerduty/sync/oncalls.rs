//! On-call entries of the last 90 days.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::*;

impl Run<'_> {
    /// Who was on call, over `[since, until)`.
    pub(super) async fn oncalls(
        &mut self,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<(), Error> {
        self.opts.progress.phase("on-call entries", None);
        let now = self.now;
        let mut offset = 0;
        loop {
            self.check_cancel()?;
            let query = q(&[
                ("since", ts(since)),
                ("until", ts(until)),
                ("time_zone", "UTC".into()),
            ]);
            let page = self
                .client
                .page("/oncalls", "oncalls", &query, offset, MAX_LIMIT, false)
                .await?;
            let n = page.items.len() as u64;
            let (entries, skipped): (Vec<wire::Oncall>, _) = decode_items("oncall", page.items);
            self.skipped.extend(skipped);
            let mut users = HashMap::new();
            let rows: Vec<oncall_entry::Model> = entries
                .into_iter()
                .filter_map(|o| {
                    let user = o.user?;
                    users.insert(user.id.clone(), user.summary.clone().unwrap_or_default());
                    let ep = o.escalation_policy.map(|e| e.id);
                    let schedule = o.schedule.map(|s| s.id);
                    let id = format!(
                        "{}|{}|{}|{}|{}",
                        ep.as_deref().unwrap_or("-"),
                        o.escalation_level,
                        schedule.as_deref().unwrap_or("-"),
                        user.id,
                        o.start.map(|s| s.timestamp()).unwrap_or(0)
                    );
                    Some(oncall_entry::Model {
                        id,
                        escalation_policy_id: ep,
                        escalation_level: o.escalation_level,
                        schedule_id: schedule,
                        user_id: user.id,
                        start_at: o.start,
                        end_at: o.end,
                        created_at: now,
                        updated_at: now,
                    })
                })
                .collect();
            let txn = crate::db::begin_write(self.writer).await?;
            store::ensure_users(&txn, &users, now).await?;
            let c = store::upsert(&txn, rows, now).await?;
            txn.commit().await?;
            self.count("oncalls", c);
            if !page.more || n == 0 || offset + n + MAX_LIMIT > MAX_OFFSET_PLUS_LIMIT {
                return Ok(());
            }
            offset += n;
        }
    }
}
