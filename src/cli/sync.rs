//! `pagerlens sync` and `pagerlens cleanup`: fill the copy, trim it.

use anyhow::Context;
use clap::Args;

use super::parse_date;
use crate::App;
use crate::config::Config;
use crate::pagerduty::{
    self,
    sync::{SyncKind, SyncOptions},
};

#[derive(Args)]
pub struct SyncArgs {
    /// Full sync of this many days of incidents (any length).
    #[arg(long, value_name = "N", conflicts_with = "service")]
    pub days: Option<u32>,
    /// Only this service's incidents.
    #[arg(long, value_name = "ID")]
    pub service: Option<String>,
    /// With --service: from this date (YYYY-MM-DD or RFC 3339) [default: 30 days ago].
    #[arg(long, value_name = "DATE", requires = "service")]
    pub since: Option<String>,
}

#[derive(Args)]
pub struct VerifyAnalyticsArgs {
    /// Compare the incidents created in this many days (1-365).
    #[arg(long, value_name = "N", default_value_t = 30)]
    pub days: i64,
}

#[derive(Args)]
pub struct CleanupArgs {
    /// Age such as 60d, 12w or 48h.
    #[arg(long, value_name = "AGE")]
    pub older_than: String,
}

pub(super) async fn run(args: SyncArgs, config: Config) -> anyhow::Result<()> {
    let SyncArgs {
        days,
        service,
        since,
    } = args;
    let app = App::build(config).await?;
    let client = app
        .pagerduty
        .clone()
        .context("PAGERDUTY_TOKEN is not set: there is no PagerDuty to sync from")?;
    let kind = match (days, service) {
        (Some(days), _) => SyncKind::Full { days },
        (None, Some(id)) => SyncKind::Service {
            id,
            since: since
                .as_deref()
                .map(parse_date)
                .transpose()
                .map_err(|e| anyhow::anyhow!("--since: {e}"))?,
        },
        (None, None) => {
            if pagerduty::sync::incremental_ready(&app.db).await? {
                SyncKind::Incremental
            } else {
                SyncKind::Full {
                    days: app.config.pagerduty.sync_days,
                }
            }
        }
    };
    let mut opts = SyncOptions::new(kind, "cli");
    opts.overlap = chrono::Duration::minutes(i64::from(app.config.pagerduty.sync_overlap_minutes));
    opts.sla = app.config.sla.clone();
    opts.facts = app.config.analytics.facts.clone();
    // The analytics cache learns of the changes through the bus.
    opts.events = Some(app.events.clone());
    opts.progress = super::progress::for_cli();
    let report = pagerduty::sync::run(&app.db, &client, &opts).await?;
    drop(opts);
    for (kind, c) in &report.counts {
        println!(
            "{kind:<22} inserted {:>7}  updated {:>7}  unchanged {:>7}",
            c.inserted, c.updated, c.unchanged
        );
    }
    println!(
        "run {}: {} API calls, {} retries, {} rate-limit waits, {} skipped",
        report.run_id,
        report.api.api_calls,
        report.api.retries,
        report.api.rate_limited,
        report.skipped_ids.len()
    );
    Ok(())
}

pub(super) async fn cleanup(args: CleanupArgs, config: Config) -> anyhow::Result<()> {
    let CleanupArgs { older_than } = args;
    let age =
        crate::config::parse_age(&older_than).map_err(|e| anyhow::anyhow!("--older-than: {e}"))?;
    let app = App::build(config).await?;
    let cutoff = chrono::Utc::now() - age;
    let n = crate::incidents::delete_resolved_before(&app.db, cutoff).await?;
    println!(
        "deleted {n} resolved incident(s) older than {older_than} (before {})",
        cutoff.to_rfc3339()
    );
    Ok(())
}

pub(super) async fn verify_analytics(
    args: VerifyAnalyticsArgs,
    config: Config,
) -> anyhow::Result<()> {
    let app = App::build(config).await?;
    let client = app
        .pagerduty
        .clone()
        .context("PAGERDUTY_TOKEN is not set: there is no PagerDuty to compare with")?;
    let report = crate::analytics::drift::run(
        &app.db,
        &client,
        &app.config.analytics.facts,
        args.days,
        "cli",
        chrono::Utc::now(),
    )
    .await?;
    print!("{}", crate::analytics::drift::table(&report));
    let failing = report.mismatches.iter().filter(|m| !m.lag).count();
    if failing > 0 {
        anyhow::bail!("{failing} mismatch(es) beyond PagerDuty's refresh lag");
    }
    Ok(())
}
