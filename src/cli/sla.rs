//! `pagerlens sla-check` and `pagerlens sla-recompute`.

use clap::Args;

use super::parse_date;
use crate::App;
use crate::config::Config;

#[derive(Args)]
pub struct SlaRecomputeArgs {
    /// Start (YYYY-MM-DD or RFC 3339), inclusive.
    #[arg(long, required_unless_present = "open")]
    pub from: Option<String>,
    /// End (YYYY-MM-DD or RFC 3339), exclusive.
    #[arg(long, required_unless_present = "open")]
    pub to: Option<String>,
    /// Re-evaluate the SLAs of every open incident by today's policies in
    /// one transaction, as saving or deleting a policy does; closed
    /// targets keep the policy they were measured by.
    #[arg(long, conflicts_with_all = ["from", "to"])]
    pub open: bool,
}

pub(super) async fn check(config: Config) -> anyhow::Result<()> {
    let app = App::build(config).await?;
    let started = std::time::Instant::now();
    let r = crate::sla::check(&app.db, &app.config.sla, chrono::Utc::now()).await?;
    println!(
        "sla check: {} breached, {} warned in {:.3} s",
        r.breached,
        r.warned,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

pub(super) async fn recompute(args: SlaRecomputeArgs, config: Config) -> anyhow::Result<()> {
    if args.open {
        return recompute_open(config).await;
    }
    let SlaRecomputeArgs { from, to, .. } = args;
    let (Some(from), Some(to)) = (from, to) else {
        anyhow::bail!("sla-recompute needs --from and --to, or --open");
    };
    let from = parse_date(&from).map_err(|e| anyhow::anyhow!("--from: {e}"))?;
    let to = parse_date(&to).map_err(|e| anyhow::anyhow!("--to: {e}"))?;
    let app = App::build(config).await?;
    let started = std::time::Instant::now();
    let n = crate::sla::recompute_range(&app.db, &app.config.sla, from, to, |_, _| {
        std::ops::ControlFlow::Continue(())
    })
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    println!(
        "sla recompute: {n} target(s) written in {:.3} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

async fn recompute_open(config: Config) -> anyhow::Result<()> {
    let app = App::build(config).await?;
    let started = std::time::Instant::now();
    let n = crate::sla::reevaluate_open_slas(&app.db, &app.config.sla)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    println!(
        "sla re-evaluation of open incidents: {n} target(s) written in {:.3} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
