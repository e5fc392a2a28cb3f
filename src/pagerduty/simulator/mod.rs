//! A faithful fake PagerDuty for tests, benchmarks and the demo: serves a
//! generated organisation ([`data`]) with the real response shapes, offset
//! pagination (limit ≤ 100, `offset + limit` ≤ 10,000), the 6-month window of
//! the incident list, token authentication, a per-minute rate limit answered
//! with 429 and `ratelimit-*` headers, and injected faults: 5xx answers, 503
//! outages, slow responses, dropped connections, truncated or malformed JSON,
//! unknown fields and enum values.
//!
//! One file per job: `gate` (what every answer passes through), `paging`,
//! `catalog` (the reference lists), `incidents` (incidents and log
//! entries), `fields` (custom fields), `writes` (what pagerlens writes),
//! `analytics`, `metrics` and `request` (PagerDuty's analytics, computed
//! from the simulated timeline) and `data` (the generated organisation).

// Route helpers return a ready error `Response` as their `Err`; boxing it
// would only add noise to a test fixture.
#![allow(clippy::result_large_err)]

mod analytics;
mod catalog;
mod gate;
mod incidents;
mod metrics;
mod paging;
mod request;

pub mod data;
pub mod fields;
mod writes;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration as StdDuration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Duration, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use tokio::sync::{Mutex, RwLock};

pub use data::{Org, Sizes};
pub use fields::FieldSetup;

use crate::pagerduty::wire::{Incident, LogEntry, Reference};

/// Fault injection, as probabilities per request (0.0–1.0).
#[derive(Clone, Debug, Default)]
pub struct Faults {
    pub server_error: f64,
    pub rate_limited: f64,
    pub slow: f64,
    pub slow_delay: StdDuration,
    pub dropped: f64,
    pub truncated: f64,
    pub malformed: f64,
    /// Add unknown fields and unknown enum values to every object.
    pub unknown_fields: bool,
}

impl Faults {
    /// Every kind of fault, `rate` in all.
    pub fn mixed(rate: f64) -> Self {
        let each = rate / 6.0;
        Self {
            server_error: each,
            rate_limited: each,
            slow: each,
            slow_delay: StdDuration::from_millis(30),
            dropped: each,
            truncated: each,
            malformed: each,
            unknown_fields: true,
        }
    }
}

#[derive(Clone, Debug)]
pub struct SimConfig {
    pub seed: u64,
    pub sizes: Sizes,
    /// The simulator's "now": incidents are generated before it.
    pub now: DateTime<Utc>,
    pub token: String,
    /// Requests allowed per minute (0: no limit).
    pub rate_limit_per_minute: u32,
    pub faults: Faults,
    /// Added to every response.
    pub latency: StdDuration,
    /// Which custom fields the organisation defines.
    pub custom_fields: FieldSetup,
    /// Share (0–1) of the incidents whose raw analytics are altered (one
    /// field each; `GET /_simulator/perturbed` lists them). Chosen from the
    /// seed when the simulator starts.
    pub perturb_analytics: f64,
}

impl SimConfig {
    pub fn new(seed: u64, sizes: Sizes) -> Self {
        Self {
            seed,
            sizes,
            now: Utc::now(),
            token: "simulator-token".into(),
            rate_limit_per_minute: 0,
            faults: Faults::default(),
            latency: StdDuration::ZERO,
            custom_fields: FieldSetup::All,
            perturb_analytics: 0.0,
        }
    }
}

/// Shared state behind the simulator's routes.
pub struct Sim {
    pub org: RwLock<Org>,
    pub config: RwLock<SimConfig>,
    pub requests: AtomicU64,
    pub faults_injected: AtomicU64,
    pub outage: AtomicBool,
    rng: Mutex<StdRng>,
    window: Mutex<(i64, u32)>,
    pub paths: Mutex<HashMap<String, u64>>,
    /// The incidents whose raw analytics are altered, sorted by id.
    perturbed: Vec<analytics::Perturbation>,
}

impl Sim {
    pub fn new(config: SimConfig) -> Arc<Self> {
        let mut org = data::generate(config.seed, &config.sizes, config.now);
        org.field_setup = config.custom_fields;
        let perturbed = analytics::choose_perturbed(config.seed, &org, config.perturb_analytics);
        Arc::new(Self {
            org: RwLock::new(org),
            rng: Mutex::new(StdRng::seed_from_u64(config.seed ^ 0x5eed)),
            config: RwLock::new(config),
            requests: AtomicU64::new(0),
            faults_injected: AtomicU64::new(0),
            outage: AtomicBool::new(false),
            window: Mutex::new((0, 0)),
            paths: Mutex::new(HashMap::new()),
            perturbed,
        })
    }

    /// Defines other custom fields from now on (an admin adding or removing
    /// fields): incidents of a type that gains fields show theirs.
    pub async fn set_field_setup(&self, setup: FieldSetup) {
        self.org.write().await.field_setup = setup;
        self.config.write().await.custom_fields = setup;
    }

    /// Requests served so far per route (`/incidents`, `/log_entries`, …).
    pub async fn calls(&self, route: &str) -> u64 {
        self.paths.lock().await.get(route).copied().unwrap_or(0)
    }

    /// Changes `count` open or recent incidents at `at` (acknowledge the
    /// triggered, resolve the acknowledged, reopen… ) and creates `new`
    /// incidents; returns the ids touched.
    pub async fn mutate(&self, count: usize, new: usize, at: DateTime<Utc>) -> Vec<String> {
        let mut org = self.org.write().await;
        let mut touched = Vec::new();
        let ids: Vec<String> = org
            .incidents
            .iter()
            .rev()
            .take(count)
            .map(|i| i.id.clone())
            .collect();
        for id in ids {
            let inc = org.incident(&id).unwrap().clone();
            let who = inc
                .assignments
                .first()
                .map(|a| a.assignee.id.clone())
                .unwrap_or_else(|| org.users[0].id.clone());
            let kind = match inc.status.as_str() {
                "triggered" => "acknowledge_log_entry",
                "acknowledged" => "resolve_log_entry",
                _ => "escalate_log_entry",
            };
            data::apply_event(&mut org, &id, kind, at, Some(&who));
            // A field value changes where the incident has fields.
            if !org.field_values(&id).is_empty() {
                if let Some(first) = org.custom_fields.get_mut(&id).and_then(|f| f.first_mut()) {
                    first.value = json!("ccoe");
                }
                let inc = org.incident(&id).unwrap().clone();
                org.push_log(
                    &inc,
                    "custom_field_value_change_log_entry",
                    at,
                    None,
                    "website",
                    None,
                );
            }
            touched.push(id);
        }
        for _ in 0..new {
            let n = org.next_incident_number;
            org.next_incident_number += 1;
            let service = org.services[(n as usize) % org.services.len()].clone();
            let incident = crate::pagerduty::wire::Incident {
                id: data::id('N', n as usize),
                incident_number: Some(n),
                title: format!("New problem on {}", service.name),
                description: None,
                created_at: at,
                updated_at: Some(at),
                status: "triggered".into(),
                urgency: Some("high".into()),
                incident_key: Some(format!("key-new-{n}")),
                html_url: None,
                service: Some(crate::pagerduty::wire::Reference::new(
                    &service.id,
                    "service_reference",
                    &service.name,
                )),
                escalation_policy: service.escalation_policy.clone(),
                priority: None,
                assignments: vec![],
                last_status_change_at: Some(at),
                resolved_at: None,
                incident_type: Some(fields::type_for(n)),
            };
            org.incidents.push(incident.clone());
            org.reindex();
            org.custom_fields.insert(incident.id.clone(), vec![]);
            data::apply_event(&mut org, &incident.id, "trigger_log_entry", at, None);
            touched.push(incident.id);
        }
        touched
    }
}

impl Sim {
    /// The v3 webhook event PagerDuty would send for an incident now.
    pub async fn incident_event(&self, event_type: &str, incident_id: &str) -> Option<Value> {
        let org = self.org.read().await;
        let i = org.incident(incident_id)?;
        let n = self.requests.load(Ordering::Relaxed);
        Some(json!({"event": {
            "id": format!("{:08x}-{:04x}-4000-8000-{:012x}", n, incident_id.len(), rand::random::<u64>() & 0xffff_ffff_ffff),
            "event_type": event_type,
            "resource_type": "incident",
            "occurred_at": i.updated_at.unwrap_or(i.created_at),
            "agent": null,
            "client": null,
            "data": {
                "id": i.id, "type": "incident", "self": null, "html_url": i.html_url,
                "number": i.incident_number, "status": i.status, "incident_key": i.incident_key,
                "created_at": i.created_at, "title": i.title, "service": i.service,
                "assignees": i.assignments.iter().map(|a| &a.assignee).collect::<Vec<_>>(),
                "escalation_policy": i.escalation_policy, "teams": [], "priority": i.priority,
                "urgency": i.urgency, "conference_bridge": null, "resolve_reason": null,
            },
        }}))
    }

    /// Posts a correctly signed webhook for an incident to `url`, as
    /// PagerDuty does; returns the HTTP status.
    ///
    /// # Errors
    /// The incident does not exist or the request failed.
    pub async fn post_webhook(
        &self,
        url: &str,
        secret: &str,
        event_type: &str,
        incident_id: &str,
    ) -> Result<u16, String> {
        let event = self
            .incident_event(event_type, incident_id)
            .await
            .ok_or("no such incident")?;
        let body = event.to_string();
        let signature = crate::pagerduty::webhook::sign(body.as_bytes(), secret);
        let resp = reqwest::Client::new()
            .post(url)
            .header("content-type", "application/json")
            .header("user-agent", "PagerDuty-Webhook/V3.0")
            .header("x-pagerduty-signature", signature)
            .header(
                "x-webhook-id",
                event["event"]["id"].as_str().unwrap_or_default(),
            )
            .body(body)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        Ok(resp.status().as_u16())
    }
}

/// A running simulator.
pub struct SimHandle {
    pub addr: SocketAddr,
    pub sim: Arc<Sim>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl SimHandle {
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Starts the simulator on `listener`.
pub async fn spawn(
    config: SimConfig,
    listener: tokio::net::TcpListener,
) -> std::io::Result<SimHandle> {
    let sim = Sim::new(config);
    let addr = listener.local_addr()?;
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let app = router(sim.clone());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = rx.await;
            })
            .await;
    });
    Ok(SimHandle {
        addr,
        sim,
        shutdown: Some(tx),
    })
}

pub fn router(sim: Arc<Sim>) -> Router {
    Router::new()
        .route("/priorities", get(catalog::priorities))
        .route("/teams", get(catalog::teams))
        .route("/teams/{id}/members", get(catalog::team_members))
        .route("/users", get(catalog::users))
        .route("/services", get(catalog::services))
        .route("/escalation_policies", get(catalog::escalation_policies))
        .route("/schedules", get(catalog::schedules))
        .route("/oncalls", get(catalog::oncalls))
        .route("/incidents", get(incidents::incidents))
        .route(
            "/incidents/{id}",
            get(incidents::incident).put(writes::update_incident),
        )
        .route(
            "/incidents/{id}/notes",
            axum::routing::post(writes::create_note),
        )
        .route(
            "/incidents/{id}/log_entries",
            get(incidents::incident_log_entries),
        )
        .route("/incidents/{id}/custom_fields/values", get(fields::values))
        .route("/incidents/custom_fields", get(fields::account_fields))
        .route("/incidents/types", get(fields::incident_types))
        .route(
            "/incidents/types/{type_id_or_name}/custom_fields",
            get(fields::type_fields),
        )
        .route("/log_entries", get(incidents::log_entries))
        .route(
            "/analytics/raw/incidents",
            axum::routing::post(analytics::raw_incidents),
        )
        .route(
            "/analytics/raw/incidents/{id}",
            get(analytics::raw_incident_by_id),
        )
        .route(
            "/analytics/metrics/incidents/{group}",
            axum::routing::post(metrics::incident_metrics),
        )
        .route("/_simulator/perturbed", get(analytics::perturbed))
        .route(
            "/_simulator/outage",
            get(gate::outage_state).post(gate::set_outage),
        )
        .with_state(sim)
}
