//! Workers: claim, run with a heartbeat, a timeout and panic isolation, and
//! record the outcome. Progress is set in memory by the running code and
//! written by the heartbeat once a second, so a slow or failing database
//! write never slows or fails the job.

use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use futures_util::FutureExt;
use sea_orm::{DatabaseConnection, DbErr};
use tokio::sync::{Notify, Semaphore};
use tokio_util::sync::CancellationToken;

use super::Permanent;
use super::queue::{self, Beat, Outcome};
use crate::config::Config;
use crate::entities::job;
use crate::events::{Event, EventBus};
use crate::reports::FileInfo;

/// How often a running job's heartbeat (and progress) is written.
pub const HEARTBEAT: Duration = Duration::from_secs(1);

/// What a job hands back when it succeeds.
#[derive(Clone, Debug, Default)]
pub struct JobOutput {
    pub result: serde_json::Value,
    pub message: Option<String>,
    pub file: Option<FileInfo>,
}

#[derive(Default)]
struct ProgressState {
    pct: AtomicI32,
    message: Mutex<Option<String>>,
    version: AtomicU64,
}

/// What a running job can reach: its row, the database, the configuration,
/// its cancellation, and a progress setter.
#[derive(Clone)]
pub struct JobCtx {
    pub job: job::Model,
    pub db: DatabaseConnection,
    pub config: Arc<Config>,
    pub events: EventBus,
    pub pagerduty: Option<crate::pagerduty::Client>,
    /// Where notifications go, and the SMTP transport, built once.
    pub notifier: crate::notify::Notifier,
    pub mailer: Option<crate::mail::Mailer>,
    pub cancel: CancellationToken,
    progress: Arc<ProgressState>,
}

impl JobCtx {
    /// Sets the progress (0–100) and the current message; written to the
    /// database by the next heartbeat.
    pub fn set_progress(&self, pct: i32, message: impl Into<String>) {
        self.progress
            .pct
            .store(pct.clamp(0, 100), Ordering::Relaxed);
        *self
            .progress
            .message
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = Some(message.into());
        self.progress.version.fetch_add(1, Ordering::Release);
    }

    /// Appends a log line to the job (a failure is only logged).
    pub async fn log(&self, level: &str, line: &str) {
        if let Err(e) = queue::log(&self.db, self.job.id, level, line, Utc::now()).await {
            tracing::warn!(job = self.job.id, error = %e, "could not write a job log line");
        }
    }

    /// The job's parameters.
    pub fn params(&self) -> serde_json::Value {
        serde_json::from_str(&self.job.params).unwrap_or(serde_json::Value::Null)
    }

    pub fn is_cancelled(&self) -> bool {
        self.cancel.is_cancelled()
    }
}

struct Inner {
    db: DatabaseConnection,
    config: Arc<Config>,
    events: EventBus,
    pagerduty: Option<crate::pagerduty::Client>,
    notifier: crate::notify::Notifier,
    mailer: Option<crate::mail::Mailer>,
    worker_id: String,
    /// Jobs running in this process, with their cancellation and whether
    /// they are being handed back at shutdown.
    running: Mutex<HashMap<i32, (CancellationToken, Arc<AtomicBool>)>>,
    wake: Notify,
}

/// Runs jobs from the queue. Cheap to clone.
#[derive(Clone)]
pub struct Runner {
    inner: Arc<Inner>,
}

impl Runner {
    pub fn new(
        db: DatabaseConnection,
        config: Arc<Config>,
        events: EventBus,
        pagerduty: Option<crate::pagerduty::Client>,
    ) -> Self {
        let worker_id = format!(
            "{}-{}-{:08x}",
            std::env::var("HOSTNAME").unwrap_or_else(|_| "pagerlens".into()),
            std::process::id(),
            rand::random::<u32>()
        );
        // The configuration's SMTP URL was checked when it was read.
        let mailer = config
            .mail
            .as_ref()
            .map(|m| crate::mail::Mailer::new(m).expect("a checked SMTP URL"));
        let notifier = crate::notify::Notifier::new(&config.notify).expect("a checked SMTP URL");
        Self {
            inner: Arc::new(Inner {
                db,
                config,
                events,
                pagerduty,
                notifier,
                mailer,
                worker_id,
                running: Mutex::new(HashMap::new()),
                wake: Notify::new(),
            }),
        }
    }

    pub fn worker_id(&self) -> &str {
        &self.inner.worker_id
    }

    /// Tells idle workers that a job was queued, so they claim it at once.
    pub fn wake(&self) {
        self.inner.wake.notify_waiters();
    }

    /// Cancels a job at once if it runs in this process (other processes
    /// notice `cancel_requested` at their next heartbeat).
    pub fn cancel_local(&self, id: i32) {
        if let Some((token, _)) = self
            .inner
            .running
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&id)
        {
            token.cancel();
        }
    }

    /// Re-queues or fails jobs whose worker stopped heartbeating.
    ///
    /// # Errors
    /// Database errors.
    pub async fn recover_stalled(&self) -> Result<queue::Recovered, DbErr> {
        let r = queue::recover_stalled(
            &self.inner.db,
            self.inner.config.jobs.stall_timeout,
            Utc::now(),
        )
        .await?;
        for id in r.requeued.iter().chain(&r.failed).chain(&r.cancelled) {
            self.inner.events.publish(Event::JobChanged { id: *id });
        }
        if !r.requeued.is_empty() || !r.failed.is_empty() {
            tracing::warn!(requeued = ?r.requeued, failed = ?r.failed, "recovered stalled jobs");
            let secs = self.inner.config.jobs.stall_timeout.num_seconds();
            for id in &r.requeued {
                let _ = queue::log(
                    &self.inner.db,
                    *id,
                    "warn",
                    &format!(
                        "re-queued: its worker stopped responding (no heartbeat for {secs} s)"
                    ),
                    Utc::now(),
                )
                .await;
            }
            for id in &r.failed {
                let _ = queue::log(
                    &self.inner.db,
                    *id,
                    "error",
                    &format!("failed: its worker stopped responding (no heartbeat for {secs} s) and no attempts are left"),
                    Utc::now(),
                )
                .await;
            }
        }
        Ok(r)
    }

    /// Claims one due job and runs it to the end. `None` when nothing is due.
    ///
    /// # Errors
    /// Database errors while claiming.
    pub async fn run_next(&self) -> Result<Option<i32>, DbErr> {
        let Some(job) = queue::claim(&self.inner.db, &self.inner.worker_id, Utc::now()).await?
        else {
            return Ok(None);
        };
        let id = job.id;
        self.execute(job).await;
        Ok(Some(id))
    }

    /// Runs every due job in the foreground until none is left (tests and
    /// one-shot commands). Returns how many ran.
    ///
    /// # Errors
    /// Database errors while claiming.
    pub async fn run_pending(&self) -> Result<usize, DbErr> {
        let mut n = 0;
        while self.run_next().await?.is_some() {
            n += 1;
        }
        Ok(n)
    }

    /// Runs up to `concurrency` jobs at a time until `shutdown`; then hands
    /// the running jobs back to the queue (they resume elsewhere or after a
    /// restart) and waits for them to stop.
    pub fn spawn(
        &self,
        concurrency: usize,
        shutdown: CancellationToken,
    ) -> tokio::task::JoinHandle<()> {
        let me = self.clone();
        tokio::spawn(async move {
            let permits = Arc::new(Semaphore::new(concurrency.max(1)));
            let recovery_every = (me.inner.config.jobs.stall_timeout / 3)
                .to_std()
                .unwrap_or(Duration::from_secs(10))
                .max(Duration::from_secs(1));
            let mut last_recovery: Option<tokio::time::Instant> = None;
            tracing::info!(worker = %me.inner.worker_id, concurrency, "job workers started");
            loop {
                if last_recovery.is_none_or(|t| t.elapsed() >= recovery_every) {
                    if let Err(e) = me.recover_stalled().await {
                        tracing::warn!(error = %e, "stall recovery failed");
                    }
                    last_recovery = Some(tokio::time::Instant::now());
                }
                let permit = tokio::select! {
                    p = permits.clone().acquire_owned() => p.expect("never closed"),
                    () = shutdown.cancelled() => break,
                };
                let mut claimed = false;
                match queue::claim(&me.inner.db, &me.inner.worker_id, Utc::now()).await {
                    Ok(Some(job)) => {
                        claimed = true;
                        let runner = me.clone();
                        tokio::spawn(async move {
                            runner.execute(job).await;
                            drop(permit);
                        });
                    }
                    Ok(None) => drop(permit),
                    Err(e) => {
                        tracing::warn!(error = %e, "claiming a job failed");
                        drop(permit);
                    }
                }
                if claimed {
                    continue;
                }
                tokio::select! {
                    () = me.inner.wake.notified() => {}
                    () = tokio::time::sleep(Duration::from_secs(1)) => {}
                    () = shutdown.cancelled() => break,
                }
            }
            me.hand_back_all();
            // Wait (bounded) for the running jobs to hand themselves back.
            let all = u32::try_from(concurrency.max(1)).unwrap_or(u32::MAX);
            let _ = tokio::time::timeout(Duration::from_secs(10), permits.acquire_many(all)).await;
            tracing::info!(worker = %me.inner.worker_id, "job workers stopped");
        })
    }

    fn hand_back_all(&self) {
        for (token, hand_back) in self
            .inner
            .running
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
        {
            hand_back.store(true, Ordering::Release);
            token.cancel();
        }
    }

    #[tracing::instrument(skip_all, fields(job = job.id, kind = %job.kind, attempt = job.attempts))]
    async fn execute(&self, job: job::Model) {
        let inner = &self.inner;
        let token = CancellationToken::new();
        let hand_back = Arc::new(AtomicBool::new(false));
        inner
            .running
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(job.id, (token.clone(), hand_back.clone()));
        let started = std::time::Instant::now();
        let ctx = JobCtx {
            job: job.clone(),
            db: inner.db.clone(),
            config: inner.config.clone(),
            events: inner.events.clone(),
            pagerduty: inner.pagerduty.clone(),
            notifier: inner.notifier.clone(),
            mailer: inner.mailer.clone(),
            cancel: token.clone(),
            progress: Arc::new(ProgressState::default()),
        };
        inner.events.publish(Event::JobChanged { id: job.id });
        ctx.log(
            "info",
            &format!(
                "started on {} (attempt {} of {})",
                inner.worker_id, job.attempts, job.max_attempts
            ),
        )
        .await;
        let lost = Arc::new(AtomicBool::new(false));
        let heartbeat = tokio::spawn(heartbeat_loop(
            ctx.clone(),
            inner.worker_id.clone(),
            lost.clone(),
        ));
        let run = AssertUnwindSafe(super::kinds::run(&ctx)).catch_unwind();
        let timeout = inner
            .config
            .jobs
            .timeout
            .to_std()
            .unwrap_or(Duration::from_secs(7200));
        let result = tokio::time::timeout(timeout, run).await;
        heartbeat.abort();
        let now = Utc::now();
        let retry = |error: String, permanent: bool| Outcome::Failed {
            retry_at: (!permanent && job.attempts < job.max_attempts)
                .then(|| now + queue::backoff(job.attempts)),
            error,
        };
        let outcome = match result {
            Err(_) => retry(format!("timed out after {} s", timeout.as_secs()), false),
            Ok(Err(panic)) => {
                let what = panic
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "unknown panic".into());
                tracing::error!(panic = %what, "job panicked");
                retry(format!("the job panicked: {what}"), true)
            }
            Ok(Ok(Ok(out))) => Outcome::Succeeded {
                result: out.result,
                message: out.message,
                file: out.file,
            },
            Ok(Ok(Err(_))) if hand_back.load(Ordering::Acquire) => Outcome::HandedBack,
            Ok(Ok(Err(_))) if token.is_cancelled() && !lost.load(Ordering::Acquire) => {
                Outcome::Cancelled
            }
            Ok(Ok(Err(e))) => retry(format!("{e:#}"), e.is::<Permanent>()),
        };
        let line = match &outcome {
            Outcome::Succeeded { .. } => "succeeded".to_owned(),
            Outcome::Cancelled => "cancelled".to_owned(),
            Outcome::HandedBack => "handed back to the queue at shutdown".to_owned(),
            Outcome::Failed {
                error,
                retry_at: Some(at),
            } => {
                format!("failed: {error}; retrying at {}", at.to_rfc3339())
            }
            Outcome::Failed {
                error,
                retry_at: None,
            } => format!("failed: {error}"),
        };
        let outcome_label = match &outcome {
            Outcome::Succeeded { .. } => "succeeded",
            Outcome::Cancelled => "cancelled",
            Outcome::HandedBack => "handed_back",
            Outcome::Failed {
                retry_at: Some(_), ..
            } => "retrying",
            Outcome::Failed { retry_at: None, .. } => "failed",
        };
        metrics::counter!(crate::telemetry::metrics::JOBS_FINISHED, "kind" => job.kind.clone(), "outcome" => outcome_label).increment(1);
        metrics::histogram!(crate::telemetry::metrics::JOB_DURATION, "kind" => job.kind.clone(), "outcome" => outcome_label)
            .record(started.elapsed().as_secs_f64());
        let level = if matches!(outcome, Outcome::Failed { .. }) {
            "error"
        } else {
            "info"
        };
        if lost.load(Ordering::Acquire) {
            tracing::warn!("the job was re-queued while it ran here; its result is dropped");
        } else {
            match queue::finish(&inner.db, job.id, &inner.worker_id, outcome, now).await {
                Ok(true) => ctx.log(level, &line).await,
                Ok(false) => tracing::warn!("the job was no longer ours when it finished"),
                Err(e) => tracing::error!(error = %e, "recording a job's outcome failed"),
            }
        }
        tracing::info!(
            outcome = %line,
            duration_ms = started.elapsed().as_millis() as u64,
            "job finished"
        );
        inner
            .running
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&job.id);
        inner.events.publish(Event::JobChanged { id: job.id });
    }
}

/// Writes the heartbeat and any new progress once a second; stops the job
/// when a cancel is requested or the job stopped being ours.
async fn heartbeat_loop(ctx: JobCtx, worker: String, lost: Arc<AtomicBool>) {
    let mut seen = 0u64;
    let mut tick = tokio::time::interval(HEARTBEAT);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        tick.tick().await;
        let version = ctx.progress.version.load(Ordering::Acquire);
        let progress = (version != seen).then(|| {
            (
                ctx.progress.pct.load(Ordering::Relaxed),
                ctx.progress
                    .message
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .clone(),
            )
        });
        match queue::beat(&ctx.db, ctx.job.id, &worker, progress.clone(), Utc::now()).await {
            Ok(Beat::Continue) => {}
            Ok(Beat::CancelRequested) => ctx.cancel.cancel(),
            Ok(Beat::Lost) => {
                lost.store(true, Ordering::Release);
                ctx.cancel.cancel();
                return;
            }
            Err(e) => {
                tracing::warn!(job = ctx.job.id, error = %e, "heartbeat failed; the job goes on");
                continue;
            }
        }
        if progress.is_some() {
            seen = version;
            ctx.events.publish(Event::JobChanged { id: ctx.job.id });
        }
    }
}
