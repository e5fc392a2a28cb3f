//! Custom field values: one call per incident that can have them (see
//! `pagerduty::custom_fields`), fetched by a task of their own while the
//! incidents and log entries are written, and written in batches; and the
//! backfill of incidents whose type gained fields.

use chrono::{DateTime, Utc};

use std::collections::HashSet;

use sea_orm::{ColumnTrait, IntoActiveModel, QueryFilter, QueryOrder, QuerySelect};

use super::*;

/// One incident's custom field values, read, and the ids of those that
/// could not be read.
pub(super) type FieldAnswer = (String, Vec<wire::FieldValue>, Vec<String>);

/// Custom field answers on their way: the receiving end of the task that
/// fetches them.
pub(super) struct FieldAnswers {
    pub(super) rx: tokio::sync::mpsc::Receiver<Result<FieldAnswer, Error>>,
    /// Where more incidents to fetch go (`None` once all have).
    pub(super) more: Option<tokio::sync::mpsc::UnboundedSender<String>>,
    pub(super) total: u64,
    pub(super) written: u64,
}

impl FieldAnswers {
    /// Has the custom field values of these incidents fetched too.
    pub(super) fn add(&mut self, ids: impl IntoIterator<Item = String>) {
        if let Some(more) = &self.more {
            for id in ids {
                if more.send(id).is_err() {
                    // The fetcher stopped; its last answer says why.
                    break;
                }
                self.total += 1;
            }
        }
    }

    /// No more incidents: the fetcher ends after the last answer.
    pub(super) fn close(&mut self) {
        self.more = None;
    }
}

/// Custom field answers written per transaction.
pub(super) const CUSTOM_FIELD_BATCH: usize = 500;

/// Incidents whose custom fields a run fetches at most after the account
/// defined fields on their type (see `backfill_custom_fields`): the rest
/// wait for the next runs, so that one run stays short.
pub(super) const BACKFILL_PER_RUN: u64 = 2_000;

impl Run<'_> {
    /// Incidents stored without their custom field values whose type has
    /// fields now (the account defined them after they were synced), newest
    /// first, at most [`BACKFILL_PER_RUN`] a run: their values are fetched
    /// once.
    pub(super) async fn backfill_custom_fields(&mut self) -> Result<(), Error> {
        use incident::Column as I;
        use sea_orm::sea_query::{Condition, Expr, ExprTrait};
        let (with, without, untyped) = self.fields.by_type();
        let by_type = match (with, without) {
            (Some(with), Some(without)) => {
                let known: Vec<String> = with.iter().chain(&without).cloned().collect();
                let mut any = Condition::any()
                    .add(I::IncidentType.is_in(with))
                    // A type the definitions did not list: to be safe.
                    .add(
                        Condition::all()
                            .add(I::IncidentType.is_not_null())
                            .add(I::IncidentType.is_not_in(known)),
                    );
                if untyped {
                    any = any.add(I::IncidentType.is_null());
                }
                any
            }
            _ if untyped => Condition::all(),
            _ => return Ok(()),
        };
        let ids: Vec<String> = incident::Entity::find()
            .select_only()
            .column(I::Id)
            .filter(Expr::col(I::CustomFieldsFetched).not())
            .filter(I::Source.eq("pagerduty"))
            .filter(I::DeletedAt.is_null())
            .filter(by_type)
            .order_by_desc(I::CreatedAt)
            .limit(BACKFILL_PER_RUN)
            .into_tuple()
            .all(self.db)
            .await?;
        if ids.is_empty() {
            return Ok(());
        }
        tracing::info!(
            incidents = ids.len(),
            "fetching the custom fields of incidents whose type has fields now"
        );
        self.custom_fields(ids).await
    }

    /// Custom field values of the given incidents: one call each, as many in
    /// flight as the client allows, fetched by a task of their own while the
    /// answers that arrived are written in batches (one transaction each).
    pub(super) async fn custom_fields(&mut self, ids: Vec<String>) -> Result<(), Error> {
        let mut answers = self.fetch_custom_fields(ids, false);
        self.finish_custom_fields(&mut answers).await
    }

    /// Starts fetching the custom field values of these incidents, and of
    /// those [`FieldAnswers::add`]ed later while `open`.
    pub(super) fn fetch_custom_fields(&self, ids: Vec<String>, open: bool) -> FieldAnswers {
        let client = self.client.clone();
        let concurrency = client.config().max_concurrency.max(1);
        let (tx, rx) = tokio::sync::mpsc::channel(CUSTOM_FIELD_BATCH * 2);
        let (more, wanted) = tokio::sync::mpsc::unbounded_channel();
        let cancel = self.opts.cancel.clone();
        let mut answers = FieldAnswers {
            rx,
            more: Some(more),
            total: 0,
            written: 0,
        };
        answers.add(ids);
        if !open {
            answers.close();
        }
        tokio::spawn(async move {
            let mut wanted = wanted;
            let ids = futures_util::stream::poll_fn(move |cx| wanted.poll_recv(cx));
            let mut answers = ids
                .map(|id| {
                    let client = client.clone();
                    async move {
                        let body = client
                            .get_as::<Envelope>(
                                &format!("/incidents/{id}/custom_fields/values"),
                                &[],
                            )
                            .await;
                        match body {
                            Ok(v) => {
                                let items: Vec<Box<serde_json::value::RawValue>> = v
                                    .as_ref()
                                    .and_then(|v| v.get("custom_fields"))
                                    .and_then(|raw| serde_json::from_str(raw.get()).ok())
                                    .unwrap_or_default();
                                let (values, skipped) = decode_items("custom_field_value", items);
                                Ok((id, values, skipped))
                            }
                            // The incident is gone upstream: nothing to store.
                            Err(Error::Api { status: 404, .. }) => Ok((id, Vec::new(), Vec::new())),
                            Err(e) => Err(e),
                        }
                    }
                })
                .buffer_unordered(concurrency);
            while let Some(answer) = tokio::select! {
                a = answers.next() => a,
                () = cancel.cancelled() => None,
            } {
                let failed = answer.is_err();
                if tx.send(answer).await.is_err() || failed {
                    break;
                }
            }
        });
        answers
    }

    /// Writes every remaining answer, as its own progress phase.
    pub(super) async fn finish_custom_fields(
        &mut self,
        answers: &mut FieldAnswers,
    ) -> Result<(), Error> {
        if answers.total == 0 {
            return Ok(());
        }
        self.opts
            .progress
            .phase("custom fields", Some(answers.total));
        self.opts.progress.advance(answers.written);
        while self.write_field_answers(answers, true).await? {}
        self.check_cancel()?;
        if answers.written < answers.total {
            return Err(Error::FetcherStopped("custom field"));
        }
        Ok(())
    }

    /// Writes one batch of answers (waiting for them when `wait`) in a
    /// transaction. Returns false once every answer is written.
    pub(super) async fn write_field_answers(
        &mut self,
        answers: &mut FieldAnswers,
        wait: bool,
    ) -> Result<bool, Error> {
        let mut batch = Vec::with_capacity(CUSTOM_FIELD_BATCH);
        while batch.len() < CUSTOM_FIELD_BATCH {
            if !wait && answers.rx.is_empty() {
                break;
            }
            let room = CUSTOM_FIELD_BATCH - batch.len();
            if answers.rx.recv_many(&mut batch, room).await == 0 {
                break;
            }
        }
        if batch.is_empty() {
            return Ok(false);
        }
        self.check_cancel()?;
        let mut per_incident = Vec::with_capacity(batch.len());
        for r in batch {
            let (id, values, skipped) = r?;
            self.skipped.extend(skipped);
            per_incident.push((id, values));
        }
        let n = per_incident.len() as u64;
        let now = self.now;
        let txn = crate::db::begin_write(self.writer).await?;
        let fetched: Vec<String> = per_incident.iter().map(|(id, _)| id.clone()).collect();
        let (counts, changed) = replace_custom_fields(&txn, per_incident, now).await?;
        mark_custom_fields_fetched(&txn, &fetched).await?;
        if self.opts.sla.status_field.is_some() {
            // The status field may pause or resume their clocks (of those
            // measured already; the deferred are measured later).
            let measure = self.not_deferred(&changed);
            crate::sla::refresh_with(&txn, &self.opts.sla, &mut self.sla, &measure, false, now)
                .await?;
        }
        self.changed(&txn, &changed).await?;
        txn.commit().await?;
        self.count("custom_field_values", counts);
        self.keep_statistics().await?;
        answers.written += n;
        if wait {
            self.opts.progress.advance(n);
        }
        Ok(true)
    }
}

/// Records that these incidents' custom field values were fetched (their
/// rows are otherwise unchanged).
pub(super) async fn mark_custom_fields_fetched<C: sea_orm::ConnectionTrait>(
    db: &C,
    ids: &[String],
) -> Result<(), sea_orm::DbErr> {
    use sea_orm::sea_query::{Expr, ExprTrait};
    for chunk in ids.chunks(500) {
        incident::Entity::update_many()
            .col_expr(incident::Column::CustomFieldsFetched, Expr::value(true))
            .filter(incident::Column::Id.is_in(chunk.to_vec()))
            .filter(Expr::col(incident::Column::CustomFieldsFetched).not())
            .exec(db)
            .await?;
    }
    Ok(())
}

/// Sets each incident's custom field values to exactly the given ones, in a
/// few multi-row statements. Returns the counts and the incidents whose
/// values changed.
///
/// # Errors
/// Database errors only.
pub async fn replace_custom_fields<C: sea_orm::ConnectionTrait>(
    db: &C,
    per_incident: Vec<(String, Vec<wire::FieldValue>)>,
    now: DateTime<Utc>,
) -> Result<(Counts, Vec<String>), sea_orm::DbErr> {
    use incident_custom_field_value as cf;
    let mut counts = Counts::default();
    let ids: Vec<String> = per_incident.iter().map(|(id, _)| id.clone()).collect();
    let mut existing: HashMap<(String, String), cf::Model> = HashMap::new();
    for chunk in ids.chunks(500) {
        for m in cf::Entity::find()
            .filter(cf::Column::IncidentId.is_in(chunk.to_vec()))
            .all(db)
            .await?
        {
            existing.insert((m.incident_id.clone(), m.name.clone()), m);
        }
    }
    let mut inserts = Vec::new();
    let mut updates = Vec::new();
    let mut changed = BTreeSet::new();
    let mut wanted = HashSet::new();
    for (incident_id, values) in per_incident {
        for v in values {
            let key = (incident_id.clone(), v.name.clone());
            if !wanted.insert(key.clone()) {
                continue; // a repeated name: the first stands
            }
            let value_text = v.value_text();
            let value = (!v.value.is_null()).then(|| v.value.clone());
            let row = cf::Model {
                incident_id: incident_id.clone(),
                name: v.name,
                display_name: v.display_name,
                data_type: v.data_type,
                value,
                value_text,
                created_at: now,
                updated_at: now,
            };
            match existing.get(&key) {
                Some(old)
                    if old.value == row.value
                        && old.value_text == row.value_text
                        && old.display_name == row.display_name
                        && old.data_type == row.data_type =>
                {
                    counts.unchanged += 1;
                }
                Some(old) => {
                    changed.insert(incident_id.clone());
                    updates.push(cf::Model {
                        created_at: old.created_at,
                        ..row
                    });
                }
                None => {
                    changed.insert(incident_id.clone());
                    inserts.push(row);
                }
            }
        }
    }
    counts.inserted = inserts.len() as u64;
    counts.updated = updates.len() as u64;
    let key = || [cf::Column::IncidentId, cf::Column::Name];
    // A concurrent writer's copy of the same value stands.
    crate::db::bulk::insert(
        db,
        inserts
            .into_iter()
            .map(IntoActiveModel::into_active_model)
            .collect(),
        Some(OnConflict::columns(key()).do_nothing().to_owned()),
        200,
    )
    .await?;
    crate::db::bulk::insert(
        db,
        updates
            .into_iter()
            .map(IntoActiveModel::into_active_model)
            .collect(),
        Some(
            OnConflict::columns(key())
                .update_columns([
                    cf::Column::DisplayName,
                    cf::Column::DataType,
                    cf::Column::Value,
                    cf::Column::ValueText,
                    cf::Column::UpdatedAt,
                ])
                .to_owned(),
        ),
        200,
    )
    .await?;
    // Values no longer set upstream.
    let mut gone: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (incident_id, name) in existing.into_keys() {
        if !wanted.contains(&(incident_id.clone(), name.clone())) {
            changed.insert(incident_id.clone());
            gone.entry(incident_id).or_default().push(name);
        }
    }
    for (incident_id, names) in gone {
        cf::Entity::delete_many()
            .filter(cf::Column::IncidentId.eq(incident_id))
            .filter(cf::Column::Name.is_in(names))
            .exec(db)
            .await?;
    }
    Ok((counts, changed.into_iter().collect()))
}
