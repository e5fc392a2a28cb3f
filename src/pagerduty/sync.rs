//! The sync: PagerDuty → our database.
//!
//! - **Full** (`--days N`): reference data, then incidents and the global log
//!   entries over N days in windows of at most 180 days, each window split in
//!   halves while it holds more than PagerDuty's 10,000-offset cap; then the
//!   custom field values of those incidents (one call each: the API has no
//!   list form) and the on-call entries.
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

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use futures_util::StreamExt;
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, IntoActiveModel, QueryFilter,
    QueryOrder, Set,
};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use super::client::{Client, Envelope, MAX_LIMIT, MAX_OFFSET_PLUS_LIMIT, decode_items};
use super::custom_fields::{self, FieldPlan};
use super::store::{self, Counts, Links};
use super::{Error, wire};
use crate::entities::*;
use crate::events::{Event, EventBus};

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

/// Records a run as started (status `running`) and returns it.
///
/// # Errors
/// Database errors.
pub async fn start(db: &DatabaseConnection, opts: &SyncOptions) -> Result<sync_run::Model, Error> {
    Ok(new_run(&opts.kind, &opts.trigger, "running", opts.job_id)
        .insert(db)
        .await?)
}

/// A run record, started now. Whole seconds: PagerDuty's timestamps have
/// none finer, and the window bounds sent in queries must equal the
/// watermark stored.
fn new_run(
    kind: &SyncKind,
    trigger: &str,
    status: &str,
    job_id: Option<i32>,
) -> sync_run::ActiveModel {
    let started = DateTime::from_timestamp(Utc::now().timestamp(), 0).unwrap_or_else(Utc::now);
    sync_run::ActiveModel {
        kind: Set(kind.name().to_owned()),
        trigger: Set(trigger.to_owned()),
        status: Set(status.to_owned()),
        parameters: Set(Some(format!("{kind:?}"))),
        started_at: Set(started),
        api_calls: Set(0),
        retries: Set(0),
        rate_limited: Set(0),
        rate_limit_wait_ms: Set(0),
        skipped: Set(0),
        job_id: Set(job_id),
        created_at: Set(started),
        updated_at: Set(started),
        ..Default::default()
    }
}

/// Records a sync asked for through the job queue (`startSync`) as
/// `queued`, to be taken over by its job when it starts ([`adopt`]).
///
/// # Errors
/// Database errors.
pub async fn record_queued<C: sea_orm::ConnectionTrait>(
    db: &C,
    kind: &SyncKind,
    trigger: &str,
    job_id: i32,
) -> Result<sync_run::Model, sea_orm::DbErr> {
    new_run(kind, trigger, "queued", Some(job_id))
        .insert(db)
        .await
}

/// The run of `opts.job_id`, now started: status `running`, started now,
/// with the kind the job resolved. That is the run `startSync` recorded as
/// `queued`, or else the one an earlier attempt of the job started before
/// its server died (so the run the client was given goes on). Any other run
/// still open for the job is closed as abandoned. `None` when the job has
/// none (a scheduled sync), and [`start`] records one.
///
/// # Errors
/// Database errors.
pub async fn adopt(
    db: &DatabaseConnection,
    opts: &SyncOptions,
) -> Result<Option<sync_run::Model>, sea_orm::DbErr> {
    let Some(job) = opts.job_id else {
        return Ok(None);
    };
    let open = sync_run::Entity::find()
        .filter(sync_run::Column::JobId.eq(job))
        .filter(sync_run::Column::Status.is_in(["queued", "running"]))
        .order_by_asc(sync_run::Column::Id)
        .all(db)
        .await?;
    let Some(chosen) = open
        .iter()
        .find(|r| r.status == "queued")
        .or_else(|| open.first())
        .cloned()
    else {
        return Ok(None);
    };
    let others: Vec<i32> = open
        .iter()
        .map(|r| r.id)
        .filter(|id| *id != chosen.id)
        .collect();
    if !others.is_empty() {
        close_runs(db, sync_run::Column::Id.is_in(others), ABANDONED).await?;
    }
    let started = DateTime::from_timestamp(Utc::now().timestamp(), 0).unwrap_or_else(Utc::now);
    let mut am: sync_run::ActiveModel = chosen.into();
    am.status = Set("running".into());
    am.kind = Set(opts.kind.name().to_owned());
    am.parameters = Set(Some(format!("{:?}", opts.kind)));
    am.started_at = Set(started);
    am.updated_at = Set(started);
    Ok(Some(am.update(db).await?))
}

const ABANDONED: &str = "abandoned: its job ended, or started again, before this run finished";

/// Marks the runs matching `which` failed, saying `reason`; how many.
async fn close_runs(
    db: &DatabaseConnection,
    which: impl sea_orm::sea_query::IntoCondition,
    reason: &str,
) -> Result<u64, sea_orm::DbErr> {
    use sea_orm::sea_query::Expr;
    let now = Utc::now();
    Ok(sync_run::Entity::update_many()
        .col_expr(sync_run::Column::Status, Expr::value("failed"))
        .col_expr(sync_run::Column::Error, Expr::value(reason))
        .col_expr(sync_run::Column::FinishedAt, Expr::value(now))
        .col_expr(sync_run::Column::UpdatedAt, Expr::value(now))
        .filter(which)
        .exec(db)
        .await?
        .rows_affected)
}

/// Closes the runs still open for `job`, which will not run them (`reason`
/// says why: skipped, or failed before it started), as failed.
///
/// # Errors
/// Database errors.
pub async fn close_runs_of_job(
    db: &DatabaseConnection,
    job: i32,
    reason: &str,
) -> Result<u64, sea_orm::DbErr> {
    close_runs(
        db,
        sea_orm::Condition::all()
            .add(sync_run::Column::JobId.eq(job))
            .add(sync_run::Column::Status.is_in(["queued", "running"])),
        reason,
    )
    .await
}

/// Closes, as abandoned, the runs still `queued` or `running` whose job is
/// over (cancelled before it started, or failed) and so can no longer
/// finish them. Returns how many it closed.
///
/// # Errors
/// Database errors.
pub async fn close_abandoned(db: &DatabaseConnection) -> Result<u64, sea_orm::DbErr> {
    use crate::entities::job as jobs;
    use sea_orm::sea_query::Query;
    let over = Query::select()
        .column(jobs::Column::Id)
        .from(jobs::Entity)
        .and_where(jobs::Column::Status.is_in(["SUCCEEDED", "FAILED", "CANCELLED"]))
        .to_owned();
    close_runs(
        db,
        sea_orm::Condition::all()
            .add(sync_run::Column::Status.is_in(["queued", "running"]))
            .add(sync_run::Column::JobId.in_subquery(over)),
        ABANDONED,
    )
    .await
}

/// Runs a sync recorded by [`start`] and records how it ended.
///
/// # Errors
/// As [`run`].
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
    let mut run = Run {
        db,
        writer: own.as_ref().unwrap_or(db),
        client,
        opts,
        now: started,
        counts: BTreeMap::new(),
        skipped: Vec::new(),
        sla: crate::sla::ContextCache::default(),
        deferred: Some(BTreeSet::new()),
        pending: BTreeMap::new(),
        analyzed: HashMap::new(),
        fields: FieldPlan::everything(),
    };
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
    am.error = Set(result.as_ref().err().map(|e| e.to_string()));
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
            tracing::error!(run = record.id, kind = opts.kind.name(), error = %e, "sync failed")
        }
    }
    result.map(|()| SyncReport {
        run_id: record.id,
        counts,
        skipped_ids: skipped,
        api,
    })
}

fn q(pairs: &[(&str, String)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Splits `[since, until)` into consecutive windows of at most `max`.
pub fn windows(
    since: DateTime<Utc>,
    until: DateTime<Utc>,
    max: Duration,
) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    let mut out = Vec::new();
    let mut start = since;
    while start < until {
        let end = (start + max).min(until);
        out.push((start, end));
        start = end;
    }
    out
}

/// Pages through a time-windowed list, oldest window first, halving any
/// window that holds more than the offset cap allows.
struct WindowPager {
    path: String,
    wrapper: &'static str,
    query: Vec<(String, String)>,
    pending: Vec<(DateTime<Utc>, DateTime<Utc>)>,
}
/// Pages on their way from [`WindowPager::prefetch`], read as `T`.
struct Prefetched<T>(tokio::sync::mpsc::Receiver<Result<Option<Decoded<T>>, Error>>);

/// A page whose items were read as `T` (by the task that fetched it, off
/// the task that writes): what could not be read is in `skipped`.
struct Decoded<T> {
    items: Vec<T>,
    skipped: Vec<String>,
    completes: Option<DateTime<Utc>>,
}

impl<T> Prefetched<T> {
    /// The next page; `None` at the end.
    async fn next(&mut self) -> Result<Option<Decoded<T>>, Error> {
        self.0
            .recv()
            .await
            .unwrap_or(Err(Error::FetcherStopped("page")))
    }
}

/// One incident's custom field values, read, and the ids of those that
/// could not be read.
type FieldAnswer = (String, Vec<wire::FieldValue>, Vec<String>);

/// Custom field answers on their way: the receiving end of the task that
/// fetches them.
struct FieldAnswers {
    rx: tokio::sync::mpsc::Receiver<Result<FieldAnswer, Error>>,
    /// Where more incidents to fetch go (`None` once all have).
    more: Option<tokio::sync::mpsc::UnboundedSender<String>>,
    total: u64,
    written: u64,
}

impl FieldAnswers {
    /// Has the custom field values of these incidents fetched too.
    fn add(&mut self, ids: impl IntoIterator<Item = String>) {
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
    fn close(&mut self) {
        self.more = None;
    }
}

/// Custom field answers written per transaction.
const CUSTOM_FIELD_BATCH: usize = 500;

/// Incidents whose custom fields a run fetches at most after the account
/// defined fields on their type (see `backfill_custom_fields`): the rest
/// wait for the next runs, so that one run stays short.
const BACKFILL_PER_RUN: u64 = 2_000;

/// Deferred SLAs measured per transaction at the end of a run.
const DEFERRED_BATCH: usize = 500;

/// Incidents whose timing and SLA a log page leaves pending before they are
/// derived together. An incident's acknowledgement and resolve usually
/// arrive a few pages apart: derived together, it is read and measured
/// once, and the incidents' and SLAs' rows are written once per batch
/// rather than once per page.
const TIMING_BATCH: usize = 500;

/// Pages fetched ahead of the one being written.
const PREFETCH_PAGES: usize = 4;

/// Requests of one window in flight at once, beyond the pages waiting to be
/// written. PagerDuty answers a window's first page with its total, so the
/// offsets of the rest are known and fetched side by side (each read in a
/// task of its own) instead of one round trip after another; the client's
/// concurrency and rate budget still bound them.
const FETCH_AHEAD: usize = 4;

/// One page as fetched and read: its items, whether more follow, and the
/// window's total when asked for.
struct Fetched<T> {
    items: Vec<T>,
    skipped: Vec<String>,
    count: u64,
    more: bool,
    total: Option<u64>,
}

/// Fetches one page of a classic list and reads its items as `kind`s.
async fn fetch_page<T: serde::de::DeserializeOwned>(
    client: &Client,
    path: &str,
    wrapper: &str,
    query: &[(String, String)],
    offset: u64,
    total: bool,
    kind: &'static str,
) -> Result<Fetched<T>, Error> {
    let page = client
        .page(path, wrapper, query, offset, MAX_LIMIT, total)
        .await?;
    let count = page.items.len() as u64;
    let (items, skipped) = decode_items(kind, page.items);
    Ok(Fetched {
        items,
        skipped,
        count,
        more: page.more,
        total: page.total,
    })
}

impl WindowPager {
    fn new(
        path: &str,
        wrapper: &'static str,
        query: Vec<(String, String)>,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Self {
        let mut pending = windows(since, until, Duration::days(MAX_WINDOW_DAYS));
        pending.reverse();
        Self {
            path: path.to_owned(),
            wrapper,
            query,
            pending,
        }
    }

    /// Fetches the pages ahead in a task of their own, a few at most, and
    /// reads their items as `kind`s there, so the next pages are on their
    /// way while one is written. Dropping the receiver stops the task. The
    /// last item sent is an error or `None` (the end), so a task that dies
    /// is told apart from one that finished.
    fn prefetch<T: serde::de::DeserializeOwned + Send + 'static>(
        self,
        client: &Client,
        kind: &'static str,
    ) -> Prefetched<T> {
        let (tx, rx) = tokio::sync::mpsc::channel(PREFETCH_PAGES);
        let client = client.clone();
        tokio::spawn(async move {
            match self.feed(&client, kind, &tx).await {
                Ok(true) => {
                    let _ = tx.send(Ok(None)).await;
                }
                Ok(false) => {} // the receiver is gone
                Err(e) => {
                    let _ = tx.send(Err(e)).await;
                }
            }
        });
        Prefetched(rx)
    }

    /// Sends every page, in order, the window's last one marked with the
    /// window end it completes. Returns `false` when the receiver is gone.
    async fn feed<T: serde::de::DeserializeOwned + Send + 'static>(
        mut self,
        client: &Client,
        kind: &'static str,
        tx: &tokio::sync::mpsc::Sender<Result<Option<Decoded<T>>, Error>>,
    ) -> Result<bool, Error> {
        use tokio_util::task::AbortOnDropHandle;
        type Ahead<T> =
            std::collections::VecDeque<(u64, AbortOnDropHandle<Result<Fetched<T>, Error>>)>;
        let path: Arc<str> = Arc::from(self.path.as_str());
        let wrapper = self.wrapper;
        while let Some((since, until)) = self.pending.pop() {
            let mut query = self.query.clone();
            query.push(("since".into(), ts(since)));
            query.push(("until".into(), ts(until)));
            let query = Arc::new(query);
            let mut page = fetch_page::<T>(client, &path, wrapper, &query, 0, true, kind).await?;
            if page.total.unwrap_or(0) > MAX_OFFSET_PLUS_LIMIT
                && until - since > Duration::seconds(2)
            {
                let mid = since + (until - since) / 2;
                // Older half first.
                self.pending.push((mid, until));
                self.pending.push((since, mid));
                continue;
            }
            // Without a total, one page is asked for at a time.
            let total = page.total;
            let mut offset = 0;
            let mut planned = 0;
            let mut ahead: Ahead<T> = Ahead::new();
            loop {
                let next = offset + page.count;
                let done =
                    !page.more || page.count == 0 || next + MAX_LIMIT > MAX_OFFSET_PLUS_LIMIT;
                if done && page.more {
                    tracing::warn!(path = %path, "window still over the offset cap after splitting; some objects may be missed");
                }
                if !done {
                    planned = planned.max(next);
                    let end = total.map_or(next + 1, |t| t.max(next + 1));
                    while ahead.len() < FETCH_AHEAD
                        && planned < end
                        && planned + MAX_LIMIT <= MAX_OFFSET_PLUS_LIMIT
                    {
                        let (client, path, query) = (client.clone(), path.clone(), query.clone());
                        let at = planned;
                        ahead.push_back((
                            at,
                            AbortOnDropHandle::new(tokio::spawn(async move {
                                fetch_page::<T>(&client, &path, wrapper, &query, at, false, kind)
                                    .await
                            })),
                        ));
                        planned += MAX_LIMIT;
                    }
                }
                let decoded = Decoded {
                    items: std::mem::take(&mut page.items),
                    skipped: std::mem::take(&mut page.skipped),
                    completes: done.then_some(until),
                };
                if tx.send(Ok(Some(decoded))).await.is_err() {
                    return Ok(false);
                }
                if done {
                    break;
                }
                // The page at `next`; when a short page moved the offsets
                // (the list changed meanwhile), those planned are dropped
                // and the rest are asked for from there.
                page = match ahead.pop_front() {
                    Some((at, handle)) if at == next => {
                        handle.await.map_err(|_| Error::FetcherStopped("page"))??
                    }
                    _ => {
                        ahead.clear();
                        planned = next;
                        fetch_page::<T>(client, &path, wrapper, &query, next, false, kind).await?
                    }
                };
                offset = next;
            }
        }
        Ok(true)
    }
}

/// The service of each incident the entries belong to, as embedded in them.
fn services_of(entries: &[wire::LogEntry]) -> HashMap<String, Option<String>> {
    entries
        .iter()
        .filter_map(|e| Some((e.incident_id()?.to_owned(), e.incident.service_id.clone())))
        .collect()
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
    /// whole table, and kept for a first sync of 50,000 incidents it made it
    /// quadratic (over 150 s instead of 37.7 with a pool of two connections,
    /// 1,050 s through a single one). New statistics make PostgreSQL plan again;
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
        self.measure_deferred().await
    }

    /// Incidents stored without their custom field values whose type has
    /// fields now (the account defined them after they were synced), newest
    /// first, at most [`BACKFILL_PER_RUN`] a run: their values are fetched
    /// once.
    async fn backfill_custom_fields(&mut self) -> Result<(), Error> {
        use incident::Column as I;
        use sea_orm::QuerySelect;
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

    /// Priorities, teams (with members), users, schedules (with members),
    /// escalation policies (with rules, targets, teams, services), services.
    async fn reference_data(&mut self) -> Result<(), Error> {
        let now = self.now;
        self.opts.progress.phase("reference data", None);
        let tz = vec![("time_zone".to_owned(), "UTC".to_owned())];

        let priorities: Vec<wire::Priority> =
            self.list("/priorities", "priorities", &[], true).await?;
        let rows: Vec<priority::Model> = priorities
            .iter()
            .enumerate()
            .map(|(i, p)| priority::Model {
                id: p.id.clone(),
                name: p.name.clone(),
                description: p.description.clone(),
                position: i as i32,
                deleted_at: None,
                created_at: now,
                updated_at: now,
            })
            .collect();
        let seen: HashSet<String> = rows.iter().map(|r| r.id.clone()).collect();
        let txn = crate::db::begin_write(self.writer).await?;
        let c = store::upsert(&txn, rows, now).await?;
        store::mark_missing_deleted::<priority::Entity, _>(
            &txn,
            priority::Column::Id,
            priority::Column::DeletedAt,
            priority::Column::UpdatedAt,
            &seen,
            now,
        )
        .await?;
        txn.commit().await?;
        self.count("priorities", c);
        self.check_cancel()?;

        let teams: Vec<wire::Team> = self.list("/teams", "teams", &[], false).await?;
        let rows: Vec<team::Model> = teams
            .iter()
            .map(|t| team::Model {
                id: t.id.clone(),
                name: t.name.clone(),
                description: t.description.clone(),
                html_url: t.html_url.clone(),
                deleted_at: None,
                created_at: now,
                updated_at: now,
            })
            .collect();
        let seen: HashSet<String> = rows.iter().map(|r| r.id.clone()).collect();
        let txn = crate::db::begin_write(self.writer).await?;
        let c = store::upsert(&txn, rows, now).await?;
        store::mark_missing_deleted::<team::Entity, _>(
            &txn,
            team::Column::Id,
            team::Column::DeletedAt,
            team::Column::UpdatedAt,
            &seen,
            now,
        )
        .await?;
        txn.commit().await?;
        self.count("teams", c);
        self.check_cancel()?;

        let users: Vec<wire::User> = self.list("/users", "users", &[], false).await?;
        let rows: Vec<user::Model> = users
            .iter()
            .map(|u| user::Model {
                id: u.id.clone(),
                name: u.name.clone(),
                email: u.email.clone(),
                time_zone: u.time_zone.clone(),
                role: u.role.clone(),
                job_title: u.job_title.clone(),
                invitation_sent: u.invitation_sent,
                html_url: u.html_url.clone(),
                deleted_at: None,
                created_at: now,
                updated_at: now,
            })
            .collect();
        let seen: HashSet<String> = rows.iter().map(|r| r.id.clone()).collect();
        let txn = crate::db::begin_write(self.writer).await?;
        let c = store::upsert(&txn, rows, now).await?;
        store::mark_missing_deleted::<user::Entity, _>(
            &txn,
            user::Column::Id,
            user::Column::DeletedAt,
            user::Column::UpdatedAt,
            &seen,
            now,
        )
        .await?;
        txn.commit().await?;
        self.count("users", c);
        self.check_cancel()?;

        // Team members with their roles: one call per team.
        let mut members: Links = HashMap::new();
        let mut member_refs = HashMap::new();
        for t in &teams {
            let list: Vec<wire::TeamMember> = self
                .list(&format!("/teams/{}/members", t.id), "members", &[], false)
                .await?;
            let entry = members.entry(t.id.clone()).or_default();
            for m in list {
                let (id, name) = user_ref(&m.user);
                member_refs.insert(id.clone(), name);
                entry.insert(id, m.role);
            }
        }
        let txn = crate::db::begin_write(self.writer).await?;
        store::ensure_users(&txn, &member_refs, now).await?;
        store::replace_team_members(&txn, &members, now).await?;
        txn.commit().await?;
        self.check_cancel()?;

        let schedules: Vec<wire::Schedule> =
            self.list("/schedules", "schedules", &tz, false).await?;
        let mut links: Links = HashMap::new();
        let mut refs = HashMap::new();
        for s in &schedules {
            let entry = links.entry(s.id.clone()).or_default();
            let layer_users = s
                .schedule_layers
                .iter()
                .flat_map(|l| l.users.iter().filter_map(|u| u.user.as_ref()));
            for u in s.users.iter().chain(layer_users) {
                let (id, name) = user_ref(u);
                refs.insert(id.clone(), name);
                entry.insert(id, None);
            }
        }
        let rows: Vec<schedule::Model> = schedules
            .iter()
            .map(|s| schedule::Model {
                id: s.id.clone(),
                name: s.name.clone(),
                description: s.description.clone(),
                time_zone: s.time_zone.clone(),
                html_url: s.html_url.clone(),
                deleted_at: None,
                created_at: now,
                updated_at: now,
            })
            .collect();
        let seen: HashSet<String> = rows.iter().map(|r| r.id.clone()).collect();
        let txn = crate::db::begin_write(self.writer).await?;
        let c = store::upsert(&txn, rows, now).await?;
        store::mark_missing_deleted::<schedule::Entity, _>(
            &txn,
            schedule::Column::Id,
            schedule::Column::DeletedAt,
            schedule::Column::UpdatedAt,
            &seen,
            now,
        )
        .await?;
        store::ensure_users(&txn, &refs, now).await?;
        store::replace_schedule_users(&txn, &links, now).await?;
        txn.commit().await?;
        self.count("schedules", c);
        self.check_cancel()?;

        let eps: Vec<wire::EscalationPolicy> = self
            .list("/escalation_policies", "escalation_policies", &[], false)
            .await?;
        let ep_rows: Vec<escalation_policy::Model> = eps
            .iter()
            .map(|e| escalation_policy::Model {
                id: e.id.clone(),
                name: e.name.clone(),
                description: e.description.clone(),
                num_loops: e.num_loops,
                html_url: e.html_url.clone(),
                deleted_at: None,
                created_at: now,
                updated_at: now,
            })
            .collect();
        let mut rule_rows = Vec::new();
        let mut targets: HashMap<String, Vec<(String, String)>> = HashMap::new();
        let mut target_users = HashMap::new();
        let mut ep_teams: Links = HashMap::new();
        let mut ep_services: Links = HashMap::new();
        let mut team_refs = HashMap::new();
        for e in &eps {
            for (i, r) in e.escalation_rules.iter().enumerate() {
                let Some(rule_id) = r.id.clone() else {
                    continue;
                };
                rule_rows.push(escalation_rule::Model {
                    id: rule_id.clone(),
                    escalation_policy_id: e.id.clone(),
                    position: i as i32,
                    escalation_delay_in_minutes: r.escalation_delay_in_minutes,
                    created_at: now,
                    updated_at: now,
                });
                let list = targets.entry(rule_id).or_default();
                for t in &r.targets {
                    let kind = if t.kind.starts_with("schedule") {
                        "schedule"
                    } else if t.kind.starts_with("user") {
                        "user"
                    } else {
                        continue;
                    };
                    if kind == "user" {
                        target_users.insert(t.id.clone(), t.summary.clone().unwrap_or_default());
                    }
                    list.push((kind.to_owned(), t.id.clone()));
                }
            }
            let teams = ep_teams.entry(e.id.clone()).or_default();
            for t in &e.teams {
                team_refs.insert(t.id.clone(), t.summary.clone().unwrap_or_default());
                teams.insert(t.id.clone(), None);
            }
            let services = ep_services.entry(e.id.clone()).or_default();
            for s in &e.services {
                services.insert(s.id.clone(), None);
            }
        }
        let seen: HashSet<String> = ep_rows.iter().map(|r| r.id.clone()).collect();
        let txn = crate::db::begin_write(self.writer).await?;
        let c = store::upsert(&txn, ep_rows, now).await?;
        store::mark_missing_deleted::<escalation_policy::Entity, _>(
            &txn,
            escalation_policy::Column::Id,
            escalation_policy::Column::DeletedAt,
            escalation_policy::Column::UpdatedAt,
            &seen,
            now,
        )
        .await?;
        // Rules that vanished from a policy go with their targets.
        let rule_ids: HashSet<String> = rule_rows.iter().map(|r| r.id.clone()).collect();
        let old_rules = escalation_rule::Entity::find()
            .filter(
                escalation_rule::Column::EscalationPolicyId
                    .is_in(seen.iter().cloned().collect::<Vec<_>>()),
            )
            .all(&txn)
            .await?;
        for r in old_rules.into_iter().filter(|r| !rule_ids.contains(&r.id)) {
            escalation_rule::Entity::delete_by_id(r.id)
                .exec(&txn)
                .await?;
        }
        let rc = store::upsert(&txn, rule_rows, now).await?;
        store::ensure_users(&txn, &target_users, now).await?;
        store::replace_rule_targets(&txn, &targets, now).await?;
        store::ensure_teams(&txn, &team_refs, now).await?;
        store::replace_escalation_policy_teams(&txn, &ep_teams, now).await?;
        txn.commit().await?;
        self.count("escalation_policies", c);
        self.count("escalation_rules", rc);
        self.check_cancel()?;

        let services: Vec<wire::Service> = self.list("/services", "services", &tz, false).await?;
        let mut service_teams: Links = HashMap::new();
        let mut ep_refs = HashMap::new();
        let mut team_refs = HashMap::new();
        for s in &services {
            if let Some(ep) = &s.escalation_policy {
                ep_refs.insert(ep.id.clone(), ep.summary.clone().unwrap_or_default());
            }
            let teams = service_teams.entry(s.id.clone()).or_default();
            for t in &s.teams {
                team_refs.insert(t.id.clone(), t.summary.clone().unwrap_or_default());
                teams.insert(t.id.clone(), None);
            }
        }
        let rows: Vec<service::Model> = services
            .iter()
            .map(|s| service::Model {
                id: s.id.clone(),
                name: s.name.clone(),
                description: s.description.clone(),
                status: s.status.clone().unwrap_or_else(|| "active".into()),
                escalation_policy_id: s.escalation_policy.as_ref().map(|e| e.id.clone()),
                html_url: s.html_url.clone(),
                pd_created_at: s.created_at,
                deleted_at: None,
                created_at: now,
                updated_at: now,
            })
            .collect();
        let seen: HashSet<String> = rows.iter().map(|r| r.id.clone()).collect();
        let txn = crate::db::begin_write(self.writer).await?;
        store::ensure_escalation_policies(&txn, &ep_refs, now).await?;
        store::ensure_teams(&txn, &team_refs, now).await?;
        let c = store::upsert(&txn, rows, now).await?;
        store::mark_missing_deleted::<service::Entity, _>(
            &txn,
            service::Column::Id,
            service::Column::DeletedAt,
            service::Column::UpdatedAt,
            &seen,
            now,
        )
        .await?;
        store::replace_service_teams(&txn, &service_teams, now).await?;
        // The policy ↔ service links, now that both sides exist.
        let service_refs: HashMap<String, String> = ep_services
            .values()
            .flat_map(|m| m.keys())
            .map(|id| (id.clone(), id.clone()))
            .collect();
        store::ensure_services(&txn, &service_refs, now).await?;
        store::replace_escalation_policy_services(&txn, &ep_services, now).await?;
        Self::set_state(&txn, REFERENCE_KEY, now, now).await?;
        txn.commit().await?;
        self.count("services", c);
        Ok(())
    }

    /// Turns wire incidents into rows and writes them (with placeholders for
    /// unknown references and the assignees) in one transaction. Returns the
    /// ids that were new or changed. New incidents past `triggered` wait for
    /// their log (see `deferred`); when `refresh`, the SLAs of the others
    /// are refreshed and the cached answers about them dropped (else the
    /// caller does both, as `write_log_entries` does for a whole page).
    async fn write_incidents<C: sea_orm::ConnectionTrait>(
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
    fn not_deferred(&self, ids: &[String]) -> Vec<String> {
        ids.iter()
            .filter(|id| !self.deferred.as_ref().is_some_and(|d| d.contains(*id)))
            .cloned()
            .collect()
    }

    /// Of these incidents, those whose SLA can be measured now: all but the
    /// deferred whose log does not show their status yet (`unsettled`);
    /// the deferred among them are deferred no more.
    fn measurable(&mut self, ids: Vec<String>, unsettled: &HashSet<String>) -> Vec<String> {
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
    async fn derive_pending<C: sea_orm::ConnectionTrait>(
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
        let measure = self.measurable(ids.clone(), &unsettled);
        crate::sla::refresh_with(db, &self.opts.sla, &mut self.sla, &measure, false, self.now)
            .await?;
        self.changed(db, &ids).await?;
        Ok(std::mem::take(&mut self.pending).into_iter().collect())
    }

    /// Derives what is pending in a transaction of its own (after the last
    /// page, or when a run fails between pages).
    async fn derive_leftover(&mut self) -> Result<(), Error> {
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
    async fn measure_deferred(&mut self) -> Result<(), Error> {
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

    fn announce(&self, ids: &[String], services: &HashMap<String, Option<String>>) {
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
    async fn incidents(
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

    /// Writes one page of log entries: the incidents they belong to (from
    /// the embedded object: inserted when missing, or updated when `update`)
    /// and the entries. The incidents whose row changed or whose
    /// acknowledgements, escalations or resolves arrived become pending:
    /// the caller has their timing derived and their SLAs refreshed
    /// ([`Run::derive_pending`]; an acknowledgement in a reopened incident's
    /// later cycle meets its response target without changing the first
    /// one). Returns the incidents that changed and those whose custom
    /// fields should be fetched (new, or with a field change logged).
    async fn write_log_entries<C: sea_orm::ConnectionTrait>(
        &mut self,
        db: &C,
        entries: Vec<wire::LogEntry>,
        services: &HashMap<String, Option<String>>,
        update: bool,
    ) -> Result<(Vec<String>, Vec<String>), Error> {
        use sea_orm::QuerySelect;
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
    async fn log_entries(
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
    async fn incident_log_entries(&mut self, ids: &[String]) -> Result<(), Error> {
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

    /// Custom field values of the given incidents: one call each, as many in
    /// flight as the client allows, fetched by a task of their own while the
    /// answers that arrived are written in batches (one transaction each).
    async fn custom_fields(&mut self, ids: Vec<String>) -> Result<(), Error> {
        let mut answers = self.fetch_custom_fields(ids, false);
        self.finish_custom_fields(&mut answers).await
    }

    /// Starts fetching the custom field values of these incidents, and of
    /// those [`FieldAnswers::add`]ed later while `open`.
    fn fetch_custom_fields(&self, ids: Vec<String>, open: bool) -> FieldAnswers {
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
    async fn finish_custom_fields(&mut self, answers: &mut FieldAnswers) -> Result<(), Error> {
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
    async fn write_field_answers(
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

    /// Who was on call, over `[since, until)`.
    async fn oncalls(&mut self, since: DateTime<Utc>, until: DateTime<Utc>) -> Result<(), Error> {
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

/// An incident's PagerDuty incident type, by name.
fn type_name(i: &wire::Incident) -> Option<&str> {
    i.incident_type.as_ref().and_then(|t| t.name.as_deref())
}

/// Records that these incidents' custom field values were fetched (their
/// rows are otherwise unchanged).
async fn mark_custom_fields_fetched<C: sea_orm::ConnectionTrait>(
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

/// Sync runs, newest first.
///
/// # Errors
/// Database errors.
pub async fn list_runs(
    db: &DatabaseConnection,
    page: crate::paging::PageRequest,
) -> Result<crate::paging::Page<sync_run::Model>, sea_orm::DbErr> {
    crate::paging::fetch_page(
        db,
        sync_run::Entity::find().order_by_desc(sync_run::Column::Id),
        page,
    )
    .await
}

/// The most recent sync run.
///
/// # Errors
/// Database errors.
pub async fn last_run(db: &DatabaseConnection) -> Result<Option<sync_run::Model>, sea_orm::DbErr> {
    sync_run::Entity::find()
        .order_by_desc(sync_run::Column::Id)
        .one(db)
        .await
}

/// True when an incremental sync can run: a sync has succeeded and one has
/// stored a watermark. A first full sync that failed part-way has stored
/// one without fetching everything (custom fields and on-call entries come
/// last), so it is run again in full.
///
/// # Errors
/// Database errors.
pub async fn incremental_ready(db: &DatabaseConnection) -> Result<bool, sea_orm::DbErr> {
    let watermark = sync_state::Entity::find_by_id(WATERMARK_KEY)
        .one(db)
        .await?
        .is_some_and(|s| s.watermark.is_some());
    Ok(watermark
        && sync_run::Entity::find()
            .filter(sync_run::Column::Status.eq("succeeded"))
            .one(db)
            .await?
            .is_some())
}

/// Re-reads one incident from PagerDuty (the incident, its whole log, and
/// optionally its custom fields) and writes it, as a webhook asks.
///
/// # Errors
/// As [`run`], without a run record.
pub async fn refresh_incident(
    db: &DatabaseConnection,
    client: &Client,
    id: &str,
    custom_fields: bool,
    events: Option<EventBus>,
) -> Result<(), Error> {
    let mut opts = SyncOptions::new(SyncKind::Incremental, "webhook");
    opts.events = events;
    let now = DateTime::from_timestamp(Utc::now().timestamp(), 0).unwrap_or_else(Utc::now);
    let mut run = Run {
        db,
        writer: db,
        client,
        opts: &opts,
        now,
        counts: BTreeMap::new(),
        skipped: Vec::new(),
        sla: crate::sla::ContextCache::default(),
        deferred: Some(BTreeSet::new()),
        pending: BTreeMap::new(),
        analyzed: HashMap::new(),
        fields: FieldPlan::everything(),
    };
    let body = client.get(&format!("/incidents/{id}"), &[]).await?;
    let incident: wire::Incident = serde_json::from_value(
        body.get("incident").cloned().unwrap_or(Value::Null),
    )
    .map_err(|e| Error::Decode {
        path: format!("/incidents/{id}"),
        message: e.to_string(),
    })?;
    let service = incident.service.as_ref().map(|s| s.id.clone());
    let txn = crate::db::begin_write(db).await?;
    let changed = run.write_incidents(&txn, vec![incident], true).await?;
    txn.commit().await?;
    run.incident_log_entries(&[id.to_owned()]).await?;
    if custom_fields {
        run.custom_fields(vec![id.to_owned()]).await?;
    }
    run.measure_deferred().await?;
    let services: HashMap<String, Option<String>> =
        [(id.to_owned(), service)].into_iter().collect();
    run.announce(&changed, &services);
    Ok(())
}

/// Writes an incident as a webhook payload describes it (when no API token
/// is configured to re-read it).
///
/// # Errors
/// Database errors.
pub async fn write_incident(
    db: &DatabaseConnection,
    incident: wire::Incident,
    events: Option<EventBus>,
) -> Result<(), Error> {
    let mut opts = SyncOptions::new(SyncKind::Incremental, "webhook");
    opts.events = events;
    let now = DateTime::from_timestamp(Utc::now().timestamp(), 0).unwrap_or_else(Utc::now);
    let mut run = Run {
        db,
        writer: db,
        client: &Client::new(super::ClientConfig::new("http://127.0.0.1:9", "unused"))?,
        opts: &opts,
        now,
        counts: BTreeMap::new(),
        skipped: Vec::new(),
        sla: crate::sla::ContextCache::default(),
        deferred: None,
        pending: BTreeMap::new(),
        analyzed: HashMap::new(),
        fields: FieldPlan::everything(),
    };
    let id = incident.id.clone();
    let service = incident.service.as_ref().map(|s| s.id.clone());
    let txn = crate::db::begin_write(db).await?;
    let changed = run.write_incidents(&txn, vec![incident], true).await?;
    store::derive_incident_timing(&txn, std::slice::from_ref(&id), now).await?;
    crate::sla::refresh(&txn, &opts.sla, std::slice::from_ref(&id), false, now).await?;
    txn.commit().await?;
    let services: HashMap<String, Option<String>> = [(id, service)].into_iter().collect();
    run.announce(&changed, &services);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[tokio::test]
    async fn a_page_fetcher_that_dies_is_an_error_not_the_end() {
        let (tx, rx) = tokio::sync::mpsc::channel(1);
        let mut pages = Prefetched::<()>(rx);
        drop(tx); // as when the task panics: no end marker
        assert!(matches!(
            pages.next().await,
            Err(Error::FetcherStopped("page"))
        ));
        let (tx, rx) = tokio::sync::mpsc::channel(1);
        let mut pages = Prefetched::<()>(rx);
        tx.send(Ok(None)).await.unwrap();
        drop(tx);
        assert!(matches!(pages.next().await, Ok(None)));
    }

    #[test]
    fn windows_cover_the_range_without_gaps() {
        let a = Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap();
        let b = a + Duration::days(400);
        let w = windows(a, b, Duration::days(180));
        assert_eq!(w.len(), 3);
        assert_eq!(w[0].0, a);
        assert_eq!(w[2].1, b);
        for pair in w.windows(2) {
            assert_eq!(pair[0].1, pair[1].0);
        }
        assert!(windows(a, a, Duration::days(1)).is_empty());
    }
}
