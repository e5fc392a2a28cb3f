//! pagerlens: a faithful, queryable copy of an organisation's PagerDuty data,
//! served over GraphQL.
//!
//! Domain modules (`catalog`, `incidents`, …) never import the adapters
//! (`graphql`, `http`). [`App`] assembles everything; `main` and the tests use
//! it the same way, passing their own listener.

pub mod actions;
pub mod analytics;
pub mod auth;
pub mod cache;
pub mod catalog;
pub mod cli;
pub mod config;
pub mod cron;
pub mod db;
pub mod demo;
pub mod entities;
pub mod events;
pub mod graphql;
pub mod http;
pub mod incidents;
pub mod jobs;
pub mod mail;
pub mod notify;
pub mod pagerduty;
pub mod pages;
pub mod paging;

pub mod reports;
pub mod scope;
pub mod sla;
pub mod telemetry;
pub mod tz;
pub mod windows;

use std::future::Future;
use std::sync::Arc;

use sea_orm::DatabaseConnection;
use tokio::net::TcpListener;

use crate::config::Config;
use crate::events::EventBus;
use crate::graphql::AppSchema;

/// The assembled application: configuration, database, event bus, schema.
#[derive(Clone)]
pub struct App {
    pub config: Arc<Config>,
    pub db: DatabaseConnection,
    pub events: EventBus,
    pub schema: AppSchema,
    /// The PagerDuty client, when a token is configured.
    pub pagerduty: Option<pagerduty::Client>,
    /// The OAuth login provider, when one is configured.
    pub oauth: Option<auth::oauth::Provider>,
    /// Runs queued jobs (in the background after [`App::start_background`],
    /// or on demand with `run_pending`).
    pub jobs: jobs::Runner,
}

/// The workers and cron triggers of a running server.
pub struct Background {
    workers: Option<tokio::task::JoinHandle<()>>,
    scheduler: Option<tokio_cron_scheduler::JobScheduler>,
}

impl Background {
    /// Stops the cron triggers and waits for the workers to hand back their
    /// jobs (call after cancelling the token given to
    /// [`App::start_background`]).
    pub async fn stop(mut self) {
        if let Some(mut s) = self.scheduler.take() {
            let _ = s.shutdown().await;
        }
        if let Some(w) = self.workers.take() {
            let _ = w.await;
        }
    }
}

impl App {
    /// Connects to the configured database, applies pending migrations and
    /// assembles the application.
    ///
    /// # Errors
    /// The database cannot be opened or a migration fails.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let db = db::connect(&config).await?;
        Self::with_db(config, db).await
    }

    /// Like [`App::build`] on an existing connection (tests attach a
    /// statement counter to theirs).
    ///
    /// # Errors
    /// A migration fails.
    pub async fn with_db(config: Config, db: DatabaseConnection) -> anyhow::Result<Self> {
        reports::check_exclusions(&config.reports.exclude_columns).map_err(anyhow::Error::msg)?;
        db::under_migration_lock(&db, || async {
            <migration::Migrator as migration::MigratorTrait>::up(&db, None).await?;
            if let Some((role, password)) = &config.analytics.bi_role {
                analytics::bi::ensure_role(&db, role, password)
                    .await
                    .map_err(|e| {
                        sea_orm::DbErr::Custom(format!(
                            "creating the BI role {role} (PAGERLENS_BI_ROLE): {e}"
                        ))
                    })?;
            }
            Ok(())
        })
        .await?;
        let events = EventBus::new().with_hook(Arc::new(cache::Invalidation));
        let pagerduty = pagerduty::ClientConfig::from_settings(&config.pagerduty)
            .map(pagerduty::Client::new)
            .transpose()?;
        let config = Arc::new(config);
        let jobs = jobs::Runner::new(
            db.clone(),
            config.clone(),
            events.clone(),
            pagerduty.clone(),
        );
        let cache = Arc::new(cache::Cache::from_settings(db.clone(), &config.analytics));
        let schema = graphql::build_schema(
            &config,
            db.clone(),
            events.clone(),
            pagerduty.clone(),
            jobs.clone(),
            cache,
        );
        let oauth = auth::oauth::Provider::from_config(&config)
            .await
            .map_err(anyhow::Error::msg)?;
        if config.demo_identity_provider {
            anyhow::ensure!(
                !config.secure_cookies(),
                "the demo identity provider only runs on a loopback address over http (PAGERLENS_PUBLIC_URL is {})",
                config.public_url
            );
            for (email, name, role) in auth::demo_idp::ACCOUNTS {
                auth::accounts::ensure(&db, email, name, role).await?;
            }
        }
        Ok(Self {
            config,
            db,
            events,
            schema,
            pagerduty,
            oauth,
            jobs,
        })
    }

    /// Starts the job workers (`PAGERLENS_WORKERS` of them; none when 0)
    /// and the cron triggers. Both stop when `shutdown` is cancelled.
    ///
    /// # Errors
    /// The cron scheduler cannot start.
    pub async fn start_background(
        &self,
        shutdown: tokio_util::sync::CancellationToken,
    ) -> anyhow::Result<Background> {
        let workers = (self.config.jobs.workers > 0)
            .then(|| self.jobs.spawn(self.config.jobs.workers, shutdown.clone()));
        let scheduler =
            jobs::scheduler::start(self.db.clone(), self.config.clone(), self.jobs.clone()).await?;
        Ok(Background {
            workers,
            scheduler: Some(scheduler),
        })
    }

    /// The HTTP router, with every layer: request ids and the request span,
    /// security headers, CORS when configured, body limit, per-client rate
    /// limits and metrics.
    pub fn router(&self) -> axum::Router {
        use http::middleware as mw;
        use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
        use tower_http::set_header::SetResponseHeaderLayer;
        let _ = telemetry::metrics::handle();
        let mut router = http::router(http::AppState {
            config: self.config.clone(),
            db: self.db.clone(),
            schema: self.schema.clone(),
            events: self.events.clone(),
            pagerduty: self.pagerduty.clone(),
            oauth: self.oauth.clone(),
            jobs: self.jobs.clone(),
        })
        .layer(axum::middleware::from_fn(mw::record_metrics))
        .layer(axum::middleware::from_fn_with_state(
            mw::RateLimits::new(&self.config.http),
            mw::rate_limit,
        ))
        .layer(axum::extract::DefaultBodyLimit::max(
            self.config.max_body_bytes,
        ));
        for (name, value) in mw::security_headers(self.config.public_url.scheme() == "https") {
            router = router.layer(SetResponseHeaderLayer::if_not_present(name, value));
        }
        if let Some(cors) = mw::cors(&self.config.http.cors_origins) {
            router = router.layer(cors);
        }
        router
            .layer(tower_http::trace::TraceLayer::new_for_http().make_span_with(mw::request_span))
            .layer(PropagateRequestIdLayer::new(mw::REQUEST_ID))
            .layer(SetRequestIdLayer::new(mw::REQUEST_ID, MakeRequestUuid))
            .layer(axum::middleware::from_fn(mw::sanitize_request_id))
    }

    /// Serves on `listener` until `shutdown` completes, then stops accepting
    /// and gives the requests in flight `PAGERLENS_SHUTDOWN_GRACE` to finish
    /// before it returns regardless.
    ///
    /// # Errors
    /// The listener fails.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let grace = self
            .config
            .http
            .shutdown_grace
            .to_std()
            .unwrap_or(std::time::Duration::from_secs(30));
        let router = self.router();
        let (stopping, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = axum::serve(
            listener,
            router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .with_graceful_shutdown(async move {
            shutdown.await;
            tracing::info!(
                grace_s = grace.as_secs(),
                "shutting down: no new connections; finishing requests in flight"
            );
            let _ = stopping.send(());
        })
        .into_future();
        tokio::pin!(server);
        tokio::select! {
            result = &mut server => result,
            () = async {
                if stopped.await.is_ok() {
                    tokio::time::sleep(grace).await;
                } else {
                    std::future::pending::<()>().await;
                }
            } => {
                tracing::warn!("requests still in flight after the shutdown grace period; closing them");
                Ok(())
            }
        }
    }

    /// Serves `/metrics` without a token on its own listener
    /// (`PAGERLENS_METRICS_BIND`) until `shutdown` completes.
    ///
    /// # Errors
    /// The listener fails.
    pub async fn serve_metrics(
        &self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let _ = telemetry::metrics::handle();
        axum::serve(listener, http::middleware::metrics_router(self.db.clone()))
            .with_graceful_shutdown(shutdown)
            .await
    }
}
