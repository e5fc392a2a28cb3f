//! Log entries: the account-wide log (with the incidents embedded in
//! incremental mode) and one incident's log (service syncs, webhooks).

use std::collections::{BTreeSet, HashMap, HashSet};

use chrono::{DateTime, Utc};

use sea_orm::{ColumnTrait, QueryFilter, QuerySelect};

use super::field_values::CUSTOM_FIELD_BATCH;
use super::incidents::{TIMING_BATCH, type_name};
use super::*;

/// The service of each incident the entries belong to, as embedded in them.
pub(super) fn services_of(entries: &[wire::LogEntry]) -> HashMap<String, Option<String>> {
    entries
        .iter()
        .filter_map(|e| Some((e.incident_id()?.to_owned(), e.incident.service_id.clone())))
        .collect()
}

impl Run<'_> {
    /// Writes one page of log entries: the incidents they belong to (from
    /// the embedded object: inserted when missing, or updated when `update`)
    /// and the entries. The incidents whose row changed or whose
    /// acknowledgements, escalations or resolves arrived become pending:
    /// the caller has their timing derived and their SLAs refreshed
    /// ([`Run::derive_pending`]; an acknowledgement in a reopened incident's
    /// later cycle meets its response target without changing the first
    /// one). Returns the incidents that changed and those whose custom
    /// fields should be fetched (new, or with a field change logged).
    pub(super) async fn write_log_entries<C: sea_orm::ConnectionTrait>(
        &mut self,
        db: &C,
        entries: Vec<wire::LogEntry>,
        services: &HashMap<String, Option<String>>,
        update: bool,
    ) -> Result<(Vec<String>, Vec<String>), Error> {
        let now = self.now;
        let referenced: Vec<String> = {
            let set: HashSet<&str> = entries
                .iter()
                .filter_map(wire::LogEntry::incident_id)
                .collect();
            set.into_iter().map(str::to_owned).collect()
        };
        let mut known: HashSet<String> = incident::Entity::find()
            .select_only()
            .column(incident::Column::Id)
            .filter(incident::Column::Id.is_in(referenced))
            .into_tuple::<String>()
            .all(db)
            .await?
            .into_iter()
            .collect();
        // The latest embedded state of each incident to write: every one
        // when updating, else those we do not have.
        let mut embedded: HashMap<String, (DateTime<Utc>, wire::Incident)> = HashMap::new();
        for e in &entries {
            let Some(id) = e.incident_id() else { continue };
            if !update && known.contains(id) {
                continue;
            }
            if embedded.get(id).is_some_and(|(at, _)| *at > e.created_at) {
                continue;
            }
            if let Some(i) = e.full_incident() {
                embedded.insert(i.id.clone(), (e.created_at, i));
            }
        }
        // New incidents whose type can have custom fields.
        let new_ids: Vec<String> = embedded
            .iter()
            .filter(|(id, (_, i))| !known.contains(*id) && self.fields.wants(type_name(i)))
            .map(|(id, _)| id.clone())
            .collect();
        let to_write: Vec<wire::Incident> = embedded.into_values().map(|(_, i)| i).collect();
        let mut changed = if to_write.is_empty() {
            Vec::new()
        } else {
            self.write_incidents(db, to_write, false).await?
        };
        // A new incident that was written is among the changed (one with an
        // unknown status is skipped and stays unknown).
        known.extend(changed.iter().cloned());
        let mut fields_changed = Vec::new();
        let mut timing = BTreeSet::new();
        let mut rows = Vec::with_capacity(entries.len());
        for e in entries {
            let Some(incident_id) = e.incident_id().map(str::to_owned) else {
                self.skipped.push(e.id.clone());
                continue;
            };
            // Entries whose incident we still do not have cannot be stored.
            if !known.contains(&incident_id) {
                tracing::warn!(id = %e.id, incident = %incident_id, "skipping a log entry of an unknown incident");
                self.skipped.push(e.id.clone());
                continue;
            }
            match e.kind.as_str() {
                "acknowledge_log_entry" | "escalate_log_entry" | "resolve_log_entry" => {
                    timing.insert(incident_id.clone());
                }
                k if k.contains("field_value_change") => fields_changed.push(incident_id.clone()),
                _ => {}
            }
            rows.push(incident_log_entry::Model {
                id: e.id.clone(),
                incident_id,
                kind: e.kind.clone(),
                summary: e.summary.clone(),
                agent_type: e.agent.as_ref().map(|a| a.kind.clone()),
                agent_id: e.agent.as_ref().map(|a| a.id.clone()),
                channel_type: e.channel.as_ref().and_then(|c| c.kind.clone()),
                user_id: e.user.as_ref().map(|u| u.id.clone()),
                note: e.note_text(),
                created_at: e.created_at,
                updated_at: now,
            });
        }
        let touched: Vec<String> = {
            let set: BTreeSet<&str> = rows.iter().map(|r| r.incident_id.as_str()).collect();
            set.into_iter().map(str::to_owned).collect()
        };
        let (c, _) = store::upsert_changed(db, rows, now).await?;
        self.count("log_entries", c);
        // Timing changes only with these kinds, or for an incident just
        // written from its embedded copy; so do SLAs. They are derived a
        // batch at a time (`derive_pending`), which also drops the cached
        // answers about them.
        timing.extend(changed.iter().cloned());
        for id in timing {
            let service = services.get(&id).cloned().flatten();
            self.pending.insert(id, service);
        }
        changed.extend(touched);
        changed.sort();
        changed.dedup();
        let settled: Vec<String> = changed
            .iter()
            .filter(|id| !self.pending.contains_key(*id))
            .cloned()
            .collect();
        self.changed(db, &settled).await?;
        // A logged change of a field's value proves the incident has fields,
        // whatever its type's definitions said.
        let mut wanted = new_ids;
        wanted.extend(fields_changed);
        Ok((changed, wanted))
    }

    /// The global log entries in `[since, until)`. In incremental mode the
    /// embedded incidents update ours. Returns the incidents whose custom
    /// fields should be fetched. Custom field answers already fetched by
    /// `fields` (a full sync fetches them meanwhile) are written between
    /// pages, a batch at a time.
    pub(super) async fn log_entries(
        &mut self,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
        incremental: bool,
        mut fields: Option<&mut FieldAnswers>,
    ) -> Result<Vec<String>, Error> {
        self.opts.progress.phase("log entries", None);
        let query = q(&[
            ("time_zone", "UTC".into()),
            ("include[]", "incidents".into()),
        ]);
        let pager = WindowPager::new("/log_entries", "log_entries", query, since, until);
        let mut pages = pager.prefetch::<wire::LogEntry>(self.client, "log_entry");
        let mut wanted = Vec::new();
        while let Some(page) = pages.next().await? {
            self.check_cancel()?;
            let entries = page.items;
            self.skipped.extend(page.skipped);
            let n = entries.len() as u64;
            let services = services_of(&entries);
            let txn = crate::db::begin_write(self.writer).await?;
            let (changed, fields_wanted) = self
                .write_log_entries(&txn, entries, &services, incremental)
                .await?;
            // The pending incidents are derived when enough have gathered,
            // and always before a watermark that covers their entries.
            let derived = if page.completes.is_some() || self.pending.len() >= TIMING_BATCH {
                self.derive_pending(&txn).await?
            } else {
                HashMap::new()
            };
            if let Some(end) = page.completes {
                Self::set_state(&txn, WATERMARK_KEY, end, self.now).await?;
            }
            txn.commit().await?;
            self.keep_statistics().await?;
            let settled: Vec<String> = changed
                .into_iter()
                .filter(|id| !self.pending.contains_key(id) && !derived.contains_key(id))
                .collect();
            self.announce(&settled, &services);
            self.announce(&derived.keys().cloned().collect::<Vec<_>>(), &derived);
            wanted.extend(fields_wanted);
            self.opts.progress.advance(n);
            if let Some(answers) = fields.as_deref_mut()
                && answers.rx.len() >= CUSTOM_FIELD_BATCH
            {
                self.write_field_answers(answers, false).await?;
            }
        }
        // Every window's last page derives what is pending; this is a
        // safeguard should a window ever end without one.
        self.derive_leftover().await?;
        wanted.sort();
        wanted.dedup();
        Ok(wanted)
    }

    /// Log entries of given incidents, one incident at a time (service sync).
    pub(super) async fn incident_log_entries(&mut self, ids: &[String]) -> Result<(), Error> {
        self.opts
            .progress
            .phase("log entries", Some(ids.len() as u64));
        for id in ids {
            self.check_cancel()?;
            let path = format!("/incidents/{id}/log_entries");
            let items = self
                .client
                .list_all(&path, "log_entries", &q(&[("time_zone", "UTC".into())]))
                .await?;
            let (mut entries, skipped): (Vec<wire::LogEntry>, _) = decode_items("log_entry", items);
            self.skipped.extend(skipped);
            for e in &mut entries {
                if e.incident_id().is_none() {
                    e.incident = wire::EmbeddedIncident::from_value(
                        &serde_json::json!({"id": id, "type": "incident_reference"}),
                    );
                }
            }
            let services = services_of(&entries);
            let txn = crate::db::begin_write(self.writer).await?;
            self.write_log_entries(&txn, entries, &services, false)
                .await?;
            self.derive_pending(&txn).await?;
            txn.commit().await?;
            self.opts.progress.advance(1);
        }
        Ok(())
    }
}
