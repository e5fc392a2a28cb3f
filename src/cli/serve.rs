//! `pagerlens serve`: the server, optionally in demo mode.

use std::net::SocketAddr;

use anyhow::Context;
use clap::Args;

use super::shutdown_signal;
use crate::App;
use crate::config::{Config, redact_url};

#[derive(Args)]
pub struct ServeArgs {
    /// Address to listen on [env: PAGERLENS_BIND] [default: 127.0.0.1:8080]
    #[arg(long, value_name = "ADDR")]
    pub bind: Option<SocketAddr>,
    /// Demo mode: run the PagerDuty simulator in-process (loopback only)
    /// and sync from it, so the server is populated at once.
    #[arg(long)]
    pub demo: bool,
}

pub(super) async fn run(args: ServeArgs, config: Config) -> anyhow::Result<()> {
    let ServeArgs { bind, demo } = args;
    let mut config = config;
    let bind = bind.unwrap_or(config.bind);
    if demo {
        anyhow::ensure!(
            bind.ip().is_loopback(),
            "--demo only serves on a loopback address (got {bind})"
        );
    }
    let listener = tokio::net::TcpListener::bind(bind)
        .await
        .with_context(|| format!("cannot listen on {bind}"))?;
    if std::env::var_os("PAGERLENS_PUBLIC_URL").is_none() {
        config.public_url = url::Url::parse(&format!("http://{}/", listener.local_addr()?))?;
    }
    let sim = if demo {
        config.enable_demo_identity_provider();
        // The demo loop syncs every minute itself.
        for c in &mut config.jobs.cron {
            if crate::jobs::scheduler::kind_of(c) == Some(crate::jobs::JobKind::Sync) {
                c.expression = None;
            }
        }
        Some(crate::demo::start_simulator(&mut config).await?)
    } else {
        None
    };
    tracing::info!(database = %redact_url(config.database_url()), demo, "starting pagerlens");
    let app = App::build(config).await?;
    let _demo = sim.as_ref().map(|s| {
        tracing::info!(simulator = %s.base_url(), "demo mode: syncing from the built-in PagerDuty simulator");
        crate::demo::spawn_sync_loop(&app, s)
    });
    if demo {
        tracing::info!(
            "demo mode: log in at {}auth/login with the demo identity provider (admin, user or viewer)",
            app.config.public_url
        );
    }
    tracing::info!(
        "listening on http://{}/ (playground at /playground)",
        listener.local_addr()?
    );
    let stop = tokio_util::sync::CancellationToken::new();
    if let Some(addr) = app.config.http.metrics_bind {
        let metrics = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot listen on {addr} (PAGERLENS_METRICS_BIND)"))?;
        tracing::info!("metrics on http://{}/metrics", metrics.local_addr()?);
        let app = app.clone();
        let stopping = stop.clone();
        tokio::spawn(async move {
            if let Err(e) = app
                .serve_metrics(metrics, async move { stopping.cancelled().await })
                .await
            {
                tracing::error!(error = %e, "the metrics listener failed");
            }
        });
    }
    let background = app.start_background(stop.clone()).await?;
    let stopping = stop.clone();
    app.serve(listener, async move {
        tokio::select! {
            () = shutdown_signal() => {}
            () = stopping.cancelled() => {}
        }
        // Workers hand their jobs back while requests finish.
        stopping.cancel();
    })
    .await?;
    stop.cancel();
    background.stop().await;
    tracing::info!("stopped");
    Ok(())
}
