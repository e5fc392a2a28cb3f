//! The sync: PagerDuty → our database.
//!
//! - **Full** (`--days N`): reference data, then incidents and the global log
//!   entries over N days in windows of at most 180 days, each window split in
//!   halves while it holds more than PagerDuty's 10,000-offset cap; then the
//!   custom field values of those incidents whose type has fields (one call
//!   each: the API has no list form) and the on-call entries.
//! - **Incremental**: the global log entries since the stored watermark
//!   (minus an overlap), with their incidents embedded (`include[]=incidents`):
//!   changes to old incidents surface there, and only what changed is
//!   fetched. Custom fields only for new incidents and those whose fields
//!   changed.
//! - **Service** (`--service ID [--since DATE]`): one service's incidents
//!   with their log entries and custom fields.
//!
//! Each page commits in its own transaction; the watermark advances only in
//! the transaction that commits the last page of the window it covers, so a
//! crash can lose work, never data. Upserts are idempotent.
//!
//! One file per step: `reference` (the lists), `pager` (windows and pages
//! fetched ahead), `incidents`, `log_entries`, `field_values`, `oncalls`;
//! `runs` keeps the run records and `single` re-reads one incident for a
//! webhook.

mod field_values;
mod incidents;
mod log_entries;
mod oncalls;
mod pager;
mod reference;
mod runs;
mod single;

pub use field_values::replace_custom_fields;
pub use pager::windows;
pub use runs::{
    adopt, close_abandoned, close_runs_of_job, incremental_ready, last_run, list_runs,
    record_queued, start,
};
pub use single::{refresh_incident, write_incident};

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use futures_util::StreamExt;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveModelTrait, DatabaseConnection, EntityTrait, Set};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use super::client::{Client, Envelope, MAX_LIMIT, MAX_OFFSET_PLUS_LIMIT, decode_items};
use super::custom_fields::{self, FieldPlan};
use super::store::{self, Counts, Links};
use super::{Error, wire};
use crate::entities::*;
use crate::events::{Event, EventBus};
use field_values::FieldAnswers;
use pager::{WindowPager, q, ts};

/// The longest window PagerDuty's incident list accepts.
pub const MAX_WINDOW_DAYS: i64 = 180;
const WATERMARK_KEY: &str = "log_entries";
const REFERENCE_KEY: &str = "reference_data";

/// What to sync.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SyncKind {
    Full {
        days: u32,
    },
    Incremental,
    Service {
        id: String,
        since: Option<DateTime<Utc>>,
    },
}

impl SyncKind {
    fn name(&self) -> &'static str {
        match self {
            SyncKind::Full { .. } => "full",
            SyncKind::Incremental => "incremental",
            SyncKind::Service { .. } => "service",
        }
    }
}

/// Receives progress: a phase with an optional total, then advances.
pub trait Progress: Send + Sync {
    fn phase(&self, name: &str, total: Option<u64>);
    fn advance(&self, n: u64);
}

/// Progress that goes nowhere.
pub struct NoProgress;

impl Progress for NoProgress {
    fn phase(&self, _: &str, _: Option<u64>) {}
    fn advance(&self, _: u64) {}
}

#[derive(Clone)]
pub struct SyncOptions {
    pub kind: SyncKind,
    /// `cli`, `api`, `schedule`, `demo`, `webhook`.
    pub trigger: String,
    /// How far before the watermark an incremental sync starts again.
    pub overlap: Duration,
    /// Refresh reference data in an incremental sync when older than this.
    pub reference_max_age: Duration,
    pub fetch_custom_fields: bool,
    pub fetch_oncalls: bool,
    pub progress: Arc<dyn Progress>,
    pub cancel: CancellationToken,
    /// Where incident changes are announced (GraphQL subscriptions).
    pub events: Option<EventBus>,
    /// SLA settings for the incidents the sync changes.
    pub sla: crate::config::SlaSettings,
    /// What the incidents' analytics facts depend on (major priorities).
    pub facts: crate::incidents::facts::FactsSettings,
    /// The job running this sync, recorded on its run.
    pub job_id: Option<i32>,
}

impl SyncOptions {
    pub fn new(kind: SyncKind, trigger: &str) -> Self {
        Self {
            kind,
            trigger: trigger.to_owned(),
            overlap: Duration::minutes(5),
            reference_max_age: Duration::hours(1),
            fetch_custom_fields: true,
            fetch_oncalls: true,
            progress: Arc::new(NoProgress),
            sla: crate::config::SlaSettings::default(),
            facts: crate::incidents::facts::FactsSettings::default(),
            cancel: CancellationToken::new(),
            events: None,
            job_id: None,
        }
    }
}

/// What a run did.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct SyncReport {
    pub run_id: i32,
    pub counts: BTreeMap<String, Counts>,
    pub skipped_ids: Vec<String>,
    pub api: super::client::StatsSnapshot,
}

struct Run<'a> {
    db: &'a DatabaseConnection,
    /// Where the page transactions go: on SQLite a connection of the sync's
    /// own, so its page cache stays warm (see `db::dedicated_writer`).
    writer: &'a DatabaseConnection,
    /// What the run had inserted, by count, when it last refreshed the
    /// statistics of the tables (see `keep_statistics`).
    analyzed: HashMap<&'static str, u64>,
    client: &'a Client,
    opts: &'a SyncOptions,
    now: DateTime<Utc>,
    counts: BTreeMap<String, Counts>,
    skipped: Vec<String>,
    /// SLA policies and what else a refresh reads, kept across pages.
    sla: crate::sla::ContextCache,
    /// Incidents whose SLA waits for their log (`None`: measured at once).
    /// An incident copied before its log entries (the incident pages come
    /// first; an incident embedded in its first log entry carries its
    /// latest state) already says `resolved` or `acknowledged` while the
    /// entries that say when and by whom are still on their way: measured
    /// then, an acknowledged incident would first breach its response
    /// target ("resolved without an acknowledgement") and meet it a page
    /// later, and its timeline would keep both. It is measured once its log
    /// shows its status, or when the run has read all it will read.
    deferred: Option<BTreeSet<String>>,
    /// Incidents whose acknowledgements, escalations or resolves were
    /// written but whose derived timing and SLA are not yet (with their
    /// service, to announce them). Log pages gather them and derive them a
    /// batch at a time ([`Run::derive_pending`]), always before the
    /// watermark that covers their entries is stored.
    pending: BTreeMap<String, Option<String>>,
    /// Whose custom field values to fetch (read at the start of the run).
    fields: FieldPlan,
}

/// Runs one sync and records it in `sync_runs` (also when it fails).
///
/// # Errors
/// The run failed: PagerDuty refused or stayed unavailable past the retry
/// budget, the database failed, or it was cancelled. Everything committed
/// before the failure stays.
pub async fn run(
    db: &DatabaseConnection,
    client: &Client,
    opts: &SyncOptions,
) -> Result<SyncReport, Error> {
    let record = start(db, opts).await?;
    run_started(db, client, opts, record).await
}

/// Runs a sync recorded by [`start`] and records how it ended.
///
/// # Errors
/// As [`run`].
#[tracing::instrument(skip_all, fields(run = record.id, kind = opts.kind.name(), trigger = %opts.trigger))]
pub async fn run_started(
    db: &DatabaseConnection,
    client: &Client,
    opts: &SyncOptions,
    record: sync_run::Model,
) -> Result<SyncReport, Error> {
    let started = record.started_at;
    let before = client.stats.snapshot();
    let own = crate::db::dedicated_writer(db).await.unwrap_or_else(|e| {
        tracing::warn!(error = %e, "syncing through the shared pool");
        None
    });
    let mut run = Run::new(db, own.as_ref().unwrap_or(db), client, opts, started);
    let result = run.execute().await;
    if result.is_err() {
        // What a failed run stored keeps its derived timing and SLAs.
        if let Err(e) = run.derive_leftover().await {
            tracing::warn!(error = %e, "could not derive the timing of the incidents written last");
        }
    }
    let (counts, skipped) = (run.counts, run.skipped);
    crate::db::close_writer(own).await;
    let after = client.stats.snapshot();
    let api = super::client::StatsSnapshot {
        api_calls: after.api_calls - before.api_calls,
        retries: after.retries - before.retries,
        rate_limited: after.rate_limited - before.rate_limited,
        rate_limit_wait_ms: after.rate_limit_wait_ms - before.rate_limit_wait_ms,
    };
    let finished = Utc::now();
    let mut am: sync_run::ActiveModel = record.clone().into();
    am.status = Set(if result.is_ok() {
        "succeeded"
    } else {
        "failed"
    }
    .into());
    am.finished_at = Set(Some(finished));
    am.counts = Set(Some(serde_json::to_string(&counts).unwrap_or_default()));
    am.api_calls = Set(api.api_calls as i64);
    am.retries = Set(api.retries as i64);
    am.rate_limited = Set(api.rate_limited as i64);
    am.rate_limit_wait_ms = Set(api.rate_limit_wait_ms as i64);
    am.skipped = Set(skipped.len() as i64);
    am.skipped_ids = Set((!skipped.is_empty()).then(|| {
        skipped
            .iter()
            .take(1000)
            .cloned()
            .collect::<Vec<_>>()
            .join(",")
    }));
    am.error = Set(result
        .as_ref()
        .err()
        .map(|e| crate::telemetry::error_chain(e)));
    am.updated_at = Set(finished);
    am.update(db).await?;
    match &result {
        Ok(()) => tracing::info!(
            run = record.id,
            kind = opts.kind.name(),
            api_calls = api.api_calls,
            retries = api.retries,
            "sync finished"
        ),
        Err(e) => {
            tracing::error!(run = record.id, kind = opts.kind.name(), error = %crate::telemetry::error_chain(e), "sync failed")
        }
    }
    result.map(|()| SyncReport {
        run_id: record.id,
        counts,
        skipped_ids: skipped,
        api,
    })
}

fn user_ref(r: &wire::Reference) -> (String, String) {
    (
        r.id.clone(),
        r.summary.clone().unwrap_or_else(|| r.id.clone()),
    )
}

/// The tables a sync fills, by the count of what it inserted into them
/// (the SLA and assignee rows grow with the incidents).
const STATISTICS: &[(&str, &[&str])] = &[
    (
        "incidents",
        &[
            "incidents",
            "incident_assignees",
            "incident_sla_targets",
            "sla_events",
        ],
    ),
    ("log_entries", &["incident_log_entries"]),
    ("custom_field_values", &["incident_custom_field_values"]),
];

/// Rows a sync inserts into a table before it first refreshes the table's
/// statistics (then again each time it has doubled them).
const ANALYZE_FIRST: u64 = 500;

impl<'a> Run<'a> {
    /// A run writing through `writer`, its clock stopped at `now`; new
    /// incidents past `triggered` wait for their log (see `deferred`).
    fn new(
        db: &'a DatabaseConnection,
        writer: &'a DatabaseConnection,
        client: &'a Client,
        opts: &'a SyncOptions,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            db,
            writer,
            client,
            opts,
            now,
            counts: BTreeMap::new(),
            skipped: Vec::new(),
            sla: crate::sla::ContextCache::default(),
            deferred: Some(BTreeSet::new()),
            pending: BTreeMap::new(),
            analyzed: HashMap::new(),
            fields: FieldPlan::everything(),
        }
    }
}

impl Run<'_> {
    /// Tells the event bus's hooks (the analytics cache) that these
    /// incidents changed, in `db`, the transaction that changed them.
    async fn changed<C: sea_orm::ConnectionTrait>(
        &self,
        db: &C,
        ids: &[String],
    ) -> Result<(), sea_orm::DbErr> {
        match &self.opts.events {
            Some(bus) => bus.incidents_changed(db, ids).await,
            None => Ok(()),
        }
    }

    fn count(&mut self, kind: &str, c: Counts) {
        *self.counts.entry(kind.to_owned()).or_default() += c;
    }

    /// Refreshes the planner statistics of the tables this run has filled
    /// (PostgreSQL; see `db::analyze`), once it has inserted
    /// [`ANALYZE_FIRST`] rows into them and again each time it has doubled
    /// that. A sync executes each prepared statement thousands of times,
    /// and after five PostgreSQL keeps a generic plan, made for the table
    /// as it was then: one made while `incidents` held a few pages scans the
    /// whole table, and kept for a large first sync it made the sync
    /// quadratic. New statistics make PostgreSQL plan again;
    /// autovacuum would too, but a minute or more later, or never where it
    /// is off.
    async fn keep_statistics(&mut self) -> Result<(), Error> {
        for (kind, tables) in STATISTICS {
            let inserted = self.counts.get(*kind).map_or(0, |c| c.inserted);
            let last = self.analyzed.get(kind).copied().unwrap_or(0);
            if inserted >= (2 * last).max(ANALYZE_FIRST) {
                crate::db::analyze(self.writer, tables).await?;
                self.analyzed.insert(kind, inserted);
            }
        }
        Ok(())
    }

    fn check_cancel(&self) -> Result<(), Error> {
        if self.opts.cancel.is_cancelled() {
            Err(Error::Cancelled)
        } else {
            Ok(())
        }
    }

    async fn execute(&mut self) -> Result<(), Error> {
        if self.opts.fetch_custom_fields {
            self.fields = custom_fields::read_plan(self.client).await?;
        }
        let fetch_fields = self.opts.fetch_custom_fields && !self.fields.wants_nothing();
        match self.opts.kind.clone() {
            SyncKind::Full { days } => {
                self.reference_data().await?;
                let since = self.now - Duration::days(i64::from(days.max(1)));
                // Custom fields (one call per incident that can have them)
                // are fetched while the incidents and log entries are
                // written, from the first incident page on, and written
                // between pages.
                let mut fields = fetch_fields.then(|| self.fetch_custom_fields(Vec::new(), true));
                self.incidents(since, self.now, &[], fields.as_mut())
                    .await?;
                if let Some(answers) = fields.as_mut() {
                    answers.close();
                }
                self.log_entries(since, self.now, false, fields.as_mut())
                    .await?;
                if let Some(answers) = fields.as_mut() {
                    self.finish_custom_fields(answers).await?;
                }
                if self.opts.fetch_oncalls {
                    self.oncalls(since.max(self.now - Duration::days(90)), self.now)
                        .await?;
                }
            }
            SyncKind::Incremental => {
                let watermark = self.watermark().await?;
                let Some(watermark) = watermark else {
                    return Err(Error::Config(
                        "no watermark yet: run a full sync first (`pagerlens sync --days N`)"
                            .into(),
                    ));
                };
                if self.reference_is_stale().await? {
                    self.reference_data().await?;
                }
                let since = watermark - self.opts.overlap;
                let touched = self.log_entries(since, self.now, true, None).await?;
                if self.opts.fetch_custom_fields {
                    self.custom_fields(touched).await?;
                }
            }
            SyncKind::Service { id, since } => {
                self.reference_data().await?;
                let since = since.unwrap_or(self.now - Duration::days(30));
                let (ids, wanted) = self
                    .incidents(since, self.now, &[("service_ids[]", id.clone())], None)
                    .await?;
                self.incident_log_entries(&ids).await?;
                if fetch_fields {
                    self.custom_fields(wanted).await?;
                }
            }
        }
        if fetch_fields {
            self.backfill_custom_fields().await?;
        }
        self.measure_deferred().await?;
        // Incidents whose analytics facts were never derived, or were
        // derived under other settings (PAGERLENS_MAJOR_PRIORITIES, a newer
        // definition): idempotent, so no transaction is needed.
        crate::incidents::facts::refresh_stale(self.writer, &self.opts.facts, self.now).await?;
        Ok(())
    }

    async fn watermark(&self) -> Result<Option<DateTime<Utc>>, Error> {
        Ok(sync_state::Entity::find_by_id(WATERMARK_KEY)
            .one(self.db)
            .await?
            .and_then(|s| s.watermark))
    }

    async fn reference_is_stale(&self) -> Result<bool, Error> {
        let at = sync_state::Entity::find_by_id(REFERENCE_KEY)
            .one(self.db)
            .await?
            .and_then(|s| s.watermark);
        Ok(at.is_none_or(|at| self.now - at > self.opts.reference_max_age))
    }

    async fn set_state<C: sea_orm::ConnectionTrait>(
        db: &C,
        key: &str,
        at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<(), Error> {
        match sync_state::Entity::find_by_id(key).one(db).await? {
            Some(s) if s.watermark.is_some_and(|w| w >= at) => {}
            Some(s) => {
                let mut am: sync_state::ActiveModel = s.into();
                am.watermark = Set(Some(at));
                am.updated_at = Set(now);
                am.update(db).await?;
            }
            None => {
                sync_state::ActiveModel {
                    key: Set(key.to_owned()),
                    watermark: Set(Some(at)),
                    value: Set(None),
                    created_at: Set(now),
                    updated_at: Set(now),
                }
                .insert(db)
                .await?;
            }
        }
        Ok(())
    }

    async fn list<T: serde::de::DeserializeOwned>(
        &mut self,
        path: &str,
        wrapper: &str,
        query: &[(String, String)],
        optional: bool,
    ) -> Result<Vec<T>, Error> {
        let items = match self.client.list_all(path, wrapper, query).await {
            Ok(items) => items,
            // Priorities are a plan feature: an account without them answers 4xx.
            Err(Error::Api {
                status: 402..=404, ..
            }) if optional => Vec::new(),
            Err(e) => return Err(e),
        };
        let (ok, skipped) = decode_items(wrapper, items);
        self.skipped.extend(skipped);
        Ok(ok)
    }
}
