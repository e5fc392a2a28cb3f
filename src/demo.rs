//! `serve --demo`: the simulator runs in-process on a loopback port and the
//! server syncs from it through the real client, so a newcomer gets a
//! populated server with one command, through the production code paths.

use std::time::Duration;

use chrono::Utc;
use secrecy::SecretString;

use crate::App;
use crate::config::Config;
use crate::pagerduty::simulator::{self, SimConfig, SimHandle, Sizes};
use crate::pagerduty::sync::{self, SyncKind, SyncOptions};

/// How often the demo organisation changes and is synced again.
pub const TICK: Duration = Duration::from_secs(60);

/// Points `config` at a freshly started simulator and returns it.
///
/// # Errors
/// The simulator cannot listen on a loopback port.
pub async fn start_simulator(config: &mut Config) -> std::io::Result<SimHandle> {
    let mut sim_config = SimConfig::new(
        2026,
        Sizes {
            incidents: 1500,
            days: 60,
            ..Sizes::default()
        },
    );
    sim_config.token = format!("demo-{}", rand::random::<u64>());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let token = sim_config.token.clone();
    let handle = simulator::spawn(sim_config, listener).await?;
    config.pagerduty.api_url = handle.base_url();
    config.pagerduty.token = Some(SecretString::from(token));
    config.pagerduty.requests_per_minute = 0;
    Ok(handle)
}

/// Syncs 60 days at once, then every [`TICK`] changes a few incidents in
/// the simulator and runs an incremental sync.
pub fn spawn_sync_loop(app: &App, sim: &SimHandle) -> tokio::task::JoinHandle<()> {
    let app = app.clone();
    let sim = sim.sim.clone();
    tokio::spawn(async move {
        let Some(client) = app.pagerduty.clone() else {
            return;
        };
        let mut opts = SyncOptions::new(SyncKind::Full { days: 61 }, "demo");
        opts.events = Some(app.events.clone());
        opts.sla = app.config.sla.clone();
        opts.facts = app.config.analytics.facts.clone();
        match sync::run(&app.db, &client, &opts).await {
            Ok(r) => tracing::info!(api_calls = r.api.api_calls, "demo data synced"),
            Err(e) => {
                tracing::error!(error = %crate::telemetry::error_chain(&e), "demo sync failed")
            }
        }
        loop {
            tokio::time::sleep(TICK).await;
            sim.mutate(2, 1, Utc::now() - chrono::Duration::seconds(1))
                .await;
            let mut opts = SyncOptions::new(SyncKind::Incremental, "demo");
            opts.events = Some(app.events.clone());
            opts.sla = app.config.sla.clone();
            opts.facts = app.config.analytics.facts.clone();
            if let Err(e) = sync::run(&app.db, &client, &opts).await {
                tracing::warn!(error = %crate::telemetry::error_chain(&e), "demo incremental sync failed");
            }
        }
    })
}
