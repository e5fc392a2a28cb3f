//! Incident pages: incidents written as they arrive, their timing derived
//! from their log and their SLAs measured a batch at a time.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};

use super::field_values::CUSTOM_FIELD_BATCH;
use super::*;

/// Deferred SLAs measured per transaction at the end of a run.
pub(super) const DEFERRED_BATCH: usize = 500;

/// Incidents whose timing and SLA a log page leaves pending before they are
/// derived together. An incident's acknowledgement and resolve usually
/// arrive a few pages apart: derived together, it is read and measured
/// once, and the incidents' and SLAs' rows are written once per batch
/// rather than once per page.
pub(super) const TIMING_BATCH: usize = 500;

impl Run<'_> {
    /// Turns wire incidents into rows and writes them (with placeholders for
    /// unknown references and the assignees) in one transaction. Returns the
    /// ids that were new or changed. New incidents past `triggered` wait for
    /// their log (see `deferred`); when `refresh`, the SLAs of the others
    /// are refreshed and the cached answers about them dropped (else the
    /// caller does both, as `write_log_entries` does for a whole page).
    pub(super) async fn write_incidents<C: sea_orm::ConnectionTrait>(
        &mut self,
        db: &C,
        incidents: Vec<wire::Incident>,
        refresh: bool,
    ) -> Result<Vec<String>, Error> {
        let now = self.now;
        let mut services = HashMap::new();
        let mut eps = HashMap::new();
        let mut priorities = HashMap::new();
        let mut users = HashMap::new();
        let mut assignees: Links = HashMap::new();
        let mut rows = Vec::with_capacity(incidents.len());
        let mut past_triggered = HashSet::new();
        for i in incidents {
            let (Some(status), urgency) = (
                crate::incidents::Status::parse(&i.status),
                i.urgency
                    .as_deref()
                    .and_then(crate::incidents::Urgency::parse),
            ) else {
                tracing::warn!(id = %i.id, status = %i.status, "skipping an incident with an unknown status");
                self.skipped.push(i.id.clone());
                continue;
            };
            let r = |r: &Option<wire::Reference>, map: &mut HashMap<String, String>| {
                r.as_ref().map(|r| {
                    map.insert(
                        r.id.clone(),
                        r.summary.clone().unwrap_or_else(|| r.id.clone()),
                    );
                    r.id.clone()
                })
            };
            if status != crate::incidents::Status::Triggered {
                past_triggered.insert(i.id.clone());
            }
            let service_id = r(&i.service, &mut services);
            let ep_id = r(&i.escalation_policy, &mut eps);
            let priority_id = r(&i.priority, &mut priorities);
            let entry = assignees.entry(i.id.clone()).or_default();
            for a in &i.assignments {
                let (id, name) = user_ref(&a.assignee);
                users.insert(id.clone(), name);
                entry.insert(id, None);
            }
            rows.push(incident::Model {
                id: i.id.clone(),
                incident_number: i.incident_number,
                title: i.title.clone(),
                description: i.description.clone(),
                status: status.as_str().to_owned(),
                urgency: urgency
                    .unwrap_or(crate::incidents::Urgency::High)
                    .as_str()
                    .to_owned(),
                priority_id,
                service_id,
                escalation_policy_id: ep_id,
                incident_key: i.incident_key.clone(),
                html_url: i.html_url.clone(),
                source: "pagerduty".into(),
                pd_updated_at: i.updated_at,
                last_status_change_at: i.last_status_change_at,
                acknowledged_at: None,
                acknowledged_by_user_id: None,
                resolved_at: i.resolved_at,
                resolved_by_user_id: None,
                escalation_count: 0,
                incident_type: type_name(&i).map(str::to_owned),
                custom_fields_fetched: false,
                deleted_at: None,
                created_at: i.created_at,
                updated_at: now,
            });
        }
        store::ensure_services(db, &services, now).await?;
        store::ensure_escalation_policies(db, &eps, now).await?;
        store::ensure_priorities(db, &priorities, now).await?;
        store::ensure_users(db, &users, now).await?;
        let (c, written) = store::upsert_changed(db, rows, now).await?;
        store::replace_incident_assignees(db, &assignees, now).await?;
        self.count("incidents", c);
        let changed = written.all();
        if let Some(deferred) = &mut self.deferred {
            deferred.extend(
                written
                    .inserted
                    .iter()
                    .filter(|id| past_triggered.contains(*id))
                    .cloned(),
            );
        }
        if refresh {
            let measure = self.not_deferred(&changed);
            crate::sla::refresh_with(db, &self.opts.sla, &mut self.sla, &measure, false, self.now)
                .await?;
            self.changed(db, &changed).await?;
        }
        Ok(changed)
    }

    /// These incidents but the deferred.
    pub(super) fn not_deferred(&self, ids: &[String]) -> Vec<String> {
        ids.iter()
            .filter(|id| !self.deferred.as_ref().is_some_and(|d| d.contains(*id)))
            .cloned()
            .collect()
    }

    /// Of these incidents, those whose SLA can be measured now: all but the
    /// deferred whose log does not show their status yet (`unsettled`);
    /// the deferred among them are deferred no more.
    pub(super) fn measurable(
        &mut self,
        ids: Vec<String>,
        unsettled: &HashSet<String>,
    ) -> Vec<String> {
        let Some(deferred) = &mut self.deferred else {
            return ids;
        };
        ids.into_iter()
            .filter(|id| {
                if !deferred.contains(id) {
                    return true;
                }
                if unsettled.contains(id) {
                    return false;
                }
                deferred.remove(id);
                true
            })
            .collect()
    }

    /// Derives the timing and measures the SLAs of the pending incidents
    /// (see `pending`) in the caller's transaction, and drops the cached
    /// answers about them. Returns them with their services, to be
    /// announced once the transaction commits.
    pub(super) async fn derive_pending<C: sea_orm::ConnectionTrait>(
        &mut self,
        db: &C,
    ) -> Result<HashMap<String, Option<String>>, Error> {
        if self.pending.is_empty() {
            return Ok(HashMap::new());
        }
        // They stay pending until all is done: a failed transaction leaves
        // them to be derived again.
        let ids: Vec<String> = self.pending.keys().cloned().collect();
        let (_, unsettled) = store::derive_incident_timing(db, &ids, self.now).await?;
        crate::incidents::facts::refresh(db, &self.opts.facts, &ids, self.now).await?;
        let measure = self.measurable(ids.clone(), &unsettled);
        crate::sla::refresh_with(db, &self.opts.sla, &mut self.sla, &measure, false, self.now)
            .await?;
        self.changed(db, &ids).await?;
        Ok(std::mem::take(&mut self.pending).into_iter().collect())
    }

    /// Derives what is pending in a transaction of its own (after the last
    /// page, or when a run fails between pages).
    pub(super) async fn derive_leftover(&mut self) -> Result<(), Error> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let txn = crate::db::begin_write(self.writer).await?;
        let derived = self.derive_pending(&txn).await?;
        txn.commit().await?;
        self.announce(&derived.keys().cloned().collect::<Vec<_>>(), &derived);
        Ok(())
    }

    /// Measures the incidents still deferred when the run has read all the
    /// log it will read (their log never showed their status), a chunk per
    /// transaction.
    pub(super) async fn measure_deferred(&mut self) -> Result<(), Error> {
        let ids: Vec<String> = self
            .deferred
            .as_mut()
            .map(std::mem::take)
            .unwrap_or_default()
            .into_iter()
            .collect();
        for chunk in ids.chunks(DEFERRED_BATCH) {
            self.check_cancel()?;
            let txn = crate::db::begin_write(self.writer).await?;
            crate::sla::refresh_with(&txn, &self.opts.sla, &mut self.sla, chunk, false, self.now)
                .await?;
            self.changed(&txn, chunk).await?;
            txn.commit().await?;
        }
        Ok(())
    }

    pub(super) fn announce(&self, ids: &[String], services: &HashMap<String, Option<String>>) {
        if let Some(bus) = &self.opts.events {
            for id in ids {
                bus.publish(Event::IncidentChanged {
                    id: id.clone(),
                    service_id: services.get(id).cloned().flatten(),
                });
            }
        }
    }

    /// Incidents created in `[since, until)`, page by page. Returns every id
    /// seen, and those whose type can have custom fields.
    pub(super) async fn incidents(
        &mut self,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
        filter: &[(&str, String)],
        mut fields: Option<&mut FieldAnswers>,
    ) -> Result<(Vec<String>, Vec<String>), Error> {
        self.opts.progress.phase("incidents", None);
        let mut query = q(&[
            ("time_zone", "UTC".into()),
            ("sort_by", "created_at:asc".into()),
        ]);
        query.extend(q(filter));
        let pager = WindowPager::new("/incidents", "incidents", query, since, until);
        let mut pages = pager.prefetch::<wire::Incident>(self.client, "incident");
        let mut seen = Vec::new();
        let mut with_fields = Vec::new();
        while let Some(page) = pages.next().await? {
            self.check_cancel()?;
            let incidents = page.items;
            let wanted: Vec<String> = incidents
                .iter()
                .filter(|i| self.fields.wants(type_name(i)))
                .map(|i| i.id.clone())
                .collect();
            self.skipped.extend(page.skipped);
            let n = incidents.len() as u64;
            let services: HashMap<String, Option<String>> = incidents
                .iter()
                .map(|i| (i.id.clone(), i.service.as_ref().map(|s| s.id.clone())))
                .collect();
            let ids: Vec<String> = incidents.iter().map(|i| i.id.clone()).collect();
            let txn = crate::db::begin_write(self.writer).await?;
            let changed = self.write_incidents(&txn, incidents, true).await?;
            txn.commit().await?;
            self.keep_statistics().await?;
            self.announce(&changed, &services);
            self.opts.progress.advance(n);
            if let Some(answers) = fields.as_deref_mut() {
                answers.add(wanted.iter().cloned());
                if answers.rx.len() >= CUSTOM_FIELD_BATCH {
                    self.write_field_answers(answers, false).await?;
                }
            }
            seen.extend(ids);
            with_fields.extend(wanted);
        }
        Ok((seen, with_fields))
    }
}

/// An incident's PagerDuty incident type, by name.
pub(super) fn type_name(i: &wire::Incident) -> Option<&str> {
    i.incident_type.as_ref().and_then(|t| t.name.as_deref())
}
