//! `pagerlens simulate-pagerduty`: the PagerDuty simulator as a server.

use std::net::SocketAddr;

use anyhow::Context;
use clap::Args;

use super::shutdown_signal;
use crate::pagerduty::simulator::{self, Faults, SimConfig, Sizes};

#[derive(Args)]
pub struct SimulatePagerdutyArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:9191")]
    pub bind: SocketAddr,
    /// Seed of the generated organisation.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Number of incidents.
    #[arg(long, default_value_t = 1000)]
    pub incidents: usize,
    /// Days the incidents span, ending now.
    #[arg(long, default_value_t = 30)]
    pub days: u32,
    /// Number of services.
    #[arg(long, default_value_t = 10)]
    pub services: usize,
    /// API token clients must send.
    #[arg(long, default_value = "simulator-token")]
    pub token: String,
    /// Requests allowed per minute before 429s (0: unlimited).
    #[arg(long, default_value_t = 0)]
    pub rate_limit: u32,
    /// Share of requests (0–1) that fail: 5xx, 429, slow, dropped, truncated or malformed.
    #[arg(long, default_value_t = 0.0)]
    pub fault_rate: f64,
    /// Latency added to every response, in milliseconds.
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,
    /// Custom fields the organisation defines: `all` (on every incident
    /// type), `none`, or `some-types` (on the `security` type only).
    #[arg(long, default_value = "all")]
    pub custom_fields: crate::pagerduty::simulator::FieldSetup,
    /// Share (0–1) of the incidents whose raw analytics
    /// (`/analytics/raw/incidents`) get one field altered, for checking a
    /// comparison; `GET /_simulator/perturbed` lists them.
    #[arg(long, value_name = "SHARE", default_value_t = 0.0)]
    pub perturb_analytics: f64,
}

pub(super) async fn run(args: SimulatePagerdutyArgs) -> anyhow::Result<()> {
    let SimulatePagerdutyArgs {
        bind,
        seed,
        incidents,
        days,
        services,
        token,
        rate_limit,
        fault_rate,
        latency_ms,
        custom_fields,
        perturb_analytics,
    } = args;
    anyhow::ensure!(
        (0.0..=1.0).contains(&fault_rate),
        "--fault-rate must be between 0 and 1"
    );
    anyhow::ensure!(
        (0.0..=1.0).contains(&perturb_analytics),
        "--perturb-analytics must be between 0 and 1 (a share of the incidents), not {perturb_analytics}"
    );
    let mut sim = SimConfig::new(
        seed,
        Sizes {
            incidents,
            days,
            services,
            ..Sizes::default()
        },
    );
    sim.token = token;
    sim.rate_limit_per_minute = rate_limit;
    sim.latency = std::time::Duration::from_millis(latency_ms);
    sim.custom_fields = custom_fields;
    sim.perturb_analytics = perturb_analytics;
    if fault_rate > 0.0 {
        sim.faults = Faults::mixed(fault_rate);
    }
    let listener = tokio::net::TcpListener::bind(bind)
        .await
        .with_context(|| format!("cannot listen on {bind}"))?;
    let handle = simulator::spawn(sim, listener).await?;
    println!(
        "PagerDuty simulator on {} ({incidents} incidents over {days} days)",
        handle.base_url()
    );
    shutdown_signal().await;
    Ok(())
}
