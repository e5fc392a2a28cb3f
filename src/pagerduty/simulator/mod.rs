//! A faithful fake PagerDuty for tests, benchmarks and the demo: serves a
//! generated organisation ([`data`]) with the real response shapes, offset
//! pagination (limit ≤ 100, `offset + limit` ≤ 10,000), the 6-month window of
//! the incident list, token authentication, a per-minute rate limit answered
//! with 429 and `ratelimit-*` headers, and injected faults: 5xx answers, 503
//! outages, slow responses, dropped connections, truncated or malformed JSON,
//! unknown fields and enum values.

// Route helpers return a ready error `Response` as their `Err`; boxing it
// would only add noise to a test fixture.
#![allow(clippy::result_large_err)]

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
}

impl Sim {
    pub fn new(config: SimConfig) -> Arc<Self> {
        let mut org = data::generate(config.seed, &config.sizes, config.now);
        org.field_setup = config.custom_fields;
        Arc::new(Self {
            org: RwLock::new(org),
            rng: Mutex::new(StdRng::seed_from_u64(config.seed ^ 0x5eed)),
            config: RwLock::new(config),
            requests: AtomicU64::new(0),
            faults_injected: AtomicU64::new(0),
            outage: AtomicBool::new(false),
            window: Mutex::new((0, 0)),
            paths: Mutex::new(HashMap::new()),
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
        .route("/priorities", get(priorities))
        .route("/teams", get(teams))
        .route("/teams/{id}/members", get(team_members))
        .route("/users", get(users))
        .route("/services", get(services))
        .route("/escalation_policies", get(escalation_policies))
        .route("/schedules", get(schedules))
        .route("/oncalls", get(oncalls))
        .route("/incidents", get(incidents))
        .route(
            "/incidents/{id}",
            get(incident).put(writes::update_incident),
        )
        .route(
            "/incidents/{id}/notes",
            axum::routing::post(writes::create_note),
        )
        .route("/incidents/{id}/log_entries", get(incident_log_entries))
        .route("/incidents/{id}/custom_fields/values", get(fields::values))
        .route("/incidents/custom_fields", get(fields::account_fields))
        .route("/incidents/types", get(fields::incident_types))
        .route(
            "/incidents/types/{type_id_or_name}/custom_fields",
            get(fields::type_fields),
        )
        .route("/log_entries", get(log_entries))
        .route("/_simulator/outage", get(outage_state).post(set_outage))
        .with_state(sim)
}

/// `POST /_simulator/outage {"down": true|false}` (with the API token): the
/// simulator's own control, not part of PagerDuty's API, so a script in
/// another process can start and end an outage (every API call then answers
/// 503, as PagerDuty does when it is down).
async fn set_outage(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    axum::Json(body): axum::Json<serde_json::Value>,
) -> Response {
    if let Err(resp) = control_auth(&sim, &headers).await {
        return resp;
    }
    let Some(down) = body.get("down").and_then(serde_json::Value::as_bool) else {
        return error(
            StatusCode::BAD_REQUEST,
            2001,
            "expected {\"down\": true|false}",
        );
    };
    sim.outage.store(down, Ordering::Relaxed);
    axum::Json(json!({"down": down})).into_response()
}

/// `GET /_simulator/outage`: whether an outage is on.
async fn outage_state(State(sim): State<Arc<Sim>>, headers: HeaderMap) -> Response {
    if let Err(resp) = control_auth(&sim, &headers).await {
        return resp;
    }
    axum::Json(json!({"down": sim.outage.load(Ordering::Relaxed)})).into_response()
}

async fn control_auth(sim: &Sim, headers: &HeaderMap) -> Result<(), Response> {
    let expected = format!("Token token={}", sim.config.read().await.token);
    if headers.get("authorization").and_then(|v| v.to_str().ok()) == Some(expected.as_str()) {
        Ok(())
    } else {
        Err(error(
            StatusCode::UNAUTHORIZED,
            2006,
            "Authentication failed",
        ))
    }
}

fn error(status: StatusCode, code: i64, message: &str) -> Response {
    (
        status,
        axum::Json(json!({"error": {"message": message, "code": code, "errors": []}})),
    )
        .into_response()
}

/// Query parameters, keeping repeated `name[]` values.
struct Params(Vec<(String, String)>);

impl Params {
    fn parse(raw: Option<String>) -> Self {
        Self(
            url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
                .into_owned()
                .collect(),
        )
    }
    fn get(&self, k: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
    }
    fn all(&self, k: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
            .collect()
    }
    fn time(&self, k: &str) -> Result<Option<DateTime<Utc>>, Response> {
        match self.get(k) {
            None => Ok(None),
            Some(v) => DateTime::parse_from_rfc3339(v)
                .map(|t| Some(t.with_timezone(&Utc)))
                .map_err(|_| error(StatusCode::BAD_REQUEST, 2004, &format!("Invalid {k}"))),
        }
    }
}

/// Authentication, rate limit, outage and fault injection before a route
/// answers; and the fault applied to its answer.
async fn gate(sim: &Sim, headers: &HeaderMap, route: &str) -> Result<Option<Fault>, Response> {
    sim.requests.fetch_add(1, Ordering::Relaxed);
    *sim.paths.lock().await.entry(route.to_owned()).or_default() += 1;
    let config = sim.config.read().await.clone();
    if !config.latency.is_zero() {
        tokio::time::sleep(config.latency).await;
    }
    let expected = format!("Token token={}", config.token);
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(expected.as_str()) {
        return Err(error(
            StatusCode::UNAUTHORIZED,
            2006,
            "Authentication failed",
        ));
    }
    if sim.outage.load(Ordering::Relaxed) {
        return Err(error(
            StatusCode::SERVICE_UNAVAILABLE,
            2016,
            "Service Unavailable",
        ));
    }
    if config.rate_limit_per_minute > 0 {
        let now = Utc::now().timestamp();
        let mut w = sim.window.lock().await;
        let minute = now / 60;
        if w.0 != minute {
            *w = (minute, 0);
        }
        w.1 += 1;
        if w.1 > config.rate_limit_per_minute {
            let reset = 60 - now % 60;
            let mut resp = error(StatusCode::TOO_MANY_REQUESTS, 2020, "Rate Limit Exceeded");
            let h = resp.headers_mut();
            h.insert(
                "ratelimit-limit",
                HeaderValue::from(config.rate_limit_per_minute),
            );
            h.insert("ratelimit-remaining", HeaderValue::from(0));
            h.insert("ratelimit-reset", HeaderValue::from(reset));
            return Err(resp);
        }
    }
    let f = &config.faults;
    let roll: f64 = sim.rng.lock().await.random();
    let mut edge = 0.0;
    let mut pick = |p: f64| {
        edge += p;
        roll < edge
    };
    let fault = if pick(f.server_error) {
        Some(Fault::ServerError)
    } else if pick(f.rate_limited) {
        Some(Fault::RateLimited)
    } else if pick(f.slow) {
        Some(Fault::Slow(f.slow_delay))
    } else if pick(f.dropped) {
        Some(Fault::Dropped)
    } else if pick(f.truncated) {
        Some(Fault::Truncated)
    } else if pick(f.malformed) {
        Some(Fault::Malformed)
    } else {
        None
    };
    if fault.is_some() {
        sim.faults_injected.fetch_add(1, Ordering::Relaxed);
    }
    match fault {
        Some(Fault::ServerError) => Err(error(
            StatusCode::INTERNAL_SERVER_ERROR,
            0,
            "Internal Server Error",
        )),
        Some(Fault::RateLimited) => {
            let mut resp = error(StatusCode::TOO_MANY_REQUESTS, 2020, "Rate Limit Exceeded");
            resp.headers_mut()
                .insert("ratelimit-reset", HeaderValue::from(0));
            Err(resp)
        }
        Some(Fault::Slow(d)) => {
            tokio::time::sleep(d).await;
            Ok(None)
        }
        other => Ok(other),
    }
}

#[derive(Clone, Copy, Debug)]
enum Fault {
    ServerError,
    RateLimited,
    Slow(StdDuration),
    Dropped,
    Truncated,
    Malformed,
}

/// Serialises `body`, adding unknown fields when configured, and applies a
/// body fault.
async fn respond(sim: &Sim, body: impl serde::Serialize, fault: Option<Fault>) -> Response {
    let text = if sim.config.read().await.faults.unknown_fields {
        let mut body = serde_json::to_value(body).expect("a response serialises");
        add_unknown_fields(&mut body, 0);
        body.to_string()
    } else {
        serde_json::to_string(&body).expect("a response serialises")
    };
    match fault {
        Some(Fault::Truncated) => json_response(text[..text.len() / 2].to_owned()),
        Some(Fault::Malformed) => {
            json_response(format!("{{\"oops\": [{}", &text[..text.len().min(20)]))
        }
        Some(Fault::Dropped) => {
            // Send part of the body, then break the connection.
            let half = text[..text.len() / 2].to_owned();
            let stream = futures_util::stream::iter(vec![
                Ok::<_, std::io::Error>(axum::body::Bytes::from(half)),
                Err(std::io::Error::new(
                    std::io::ErrorKind::ConnectionReset,
                    "dropped by the simulator",
                )),
            ]);
            let mut resp = Response::new(Body::from_stream(stream));
            resp.headers_mut()
                .insert("content-type", HeaderValue::from_static("application/json"));
            resp
        }
        _ => json_response(text),
    }
}

/// A response body serialised while the organisation is locked, to be sent
/// after (as it is: [`respond`] writes it out unchanged).
fn serialised(body: &impl serde::Serialize) -> Box<serde_json::value::RawValue> {
    serde_json::value::to_raw_value(body).expect("a response serialises")
}

fn json_response(text: String) -> Response {
    ([("content-type", "application/json")], text).into_response()
}

fn add_unknown_fields(v: &mut Value, depth: usize) {
    match v {
        Value::Object(map) => {
            if map.contains_key("id") && depth > 0 {
                map.insert(
                    "x_simulator_field".into(),
                    json!({"nested": [1, 2, 3], "flag": true}),
                );
                if let Some(Value::String(s)) = map.get_mut("status")
                    && s == "active"
                {
                    *s = "frobnicated".into();
                }
            }
            for child in map.values_mut() {
                add_unknown_fields(child, depth + 1);
            }
        }
        Value::Array(items) => items
            .iter_mut()
            .for_each(|i| add_unknown_fields(i, depth + 1)),
        _ => {}
    }
}

/// Applies PagerDuty's offset pagination to a full list.
fn paginate<'w>(
    params: &Params,
    wrapper: &'w str,
    items: Vec<Value>,
) -> Result<Page<'w, Value>, Response> {
    paginate_with(params, wrapper, items, |v| v)
}

/// One page of an offset-paginated list, serialised as PagerDuty sends it:
/// the items under their wrapper key, `limit`, `offset`, `more` and `total`
/// (null unless asked for with `total=true`).
struct Page<'w, R> {
    wrapper: &'w str,
    items: Vec<R>,
    limit: u64,
    offset: u64,
    more: bool,
    total: Option<u64>,
}

impl<R: serde::Serialize> serde::Serialize for Page<'_, R> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(Some(5))?;
        map.serialize_entry(self.wrapper, &self.items)?;
        map.serialize_entry("limit", &self.limit)?;
        map.serialize_entry("offset", &self.offset)?;
        map.serialize_entry("more", &self.more)?;
        map.serialize_entry("total", &self.total)?;
        map.end()
    }
}

/// Offset pagination that renders only the requested page: the filtered list
/// holds references, so a page of a 50,000-incident account costs a page.
fn paginate_with<'w, T, R>(
    params: &Params,
    wrapper: &'w str,
    items: Vec<T>,
    render: impl Fn(T) -> R,
) -> Result<Page<'w, R>, Response> {
    let limit = params
        .get("limit")
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(25)
        .clamp(1, 100);
    let offset = params
        .get("offset")
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0);
    if offset + limit > 10_000 {
        return Err(error(
            StatusCode::BAD_REQUEST,
            2001,
            "Offset must be less than 10000; narrow the query (since/until)",
        ));
    }
    let total = items.len() as u64;
    let page: Vec<R> = items
        .into_iter()
        .skip(offset as usize)
        .take(limit as usize)
        .map(render)
        .collect();
    let want_total = params.get("total") == Some("true");
    Ok(Page {
        wrapper,
        items: page,
        limit,
        offset,
        more: offset + limit < total,
        total: want_total.then_some(total),
    })
}

/// Adds the fields every PagerDuty resource carries (`type`, `summary`,
/// `self`, `html_url`) to an object the wire model does not spell out.
///
/// Absent optional fields are left out, as PagerDuty does for most of them,
/// rather than sent as `null` where the document says a string.
fn decorate(mut v: Value, kind: &str) -> Value {
    fn drop_nulls(v: &mut Value) {
        match v {
            Value::Object(map) => {
                map.retain(|_, x| !x.is_null());
                map.values_mut().for_each(drop_nulls);
            }
            Value::Array(items) => items.iter_mut().for_each(drop_nulls),
            _ => {}
        }
    }
    drop_nulls(&mut v);
    if kind == "schedule"
        && let Some(Value::Array(layers)) = v.get_mut("schedule_layers")
    {
        // The simulated rotation (see `oncalls`): daily hand-offs at UTC midnight.
        for layer in layers {
            layer["start"] = json!("2020-01-01T00:00:00Z");
            layer["rotation_virtual_start"] = json!("2020-01-01T00:00:00Z");
            layer["rotation_turn_length_seconds"] = json!(86_400);
        }
    }
    if let Value::Object(map) = &mut v {
        let id = map
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let summary = map
            .get("name")
            .or_else(|| map.get("title"))
            .cloned()
            .unwrap_or_else(|| json!(id));
        let plural = match kind.strip_suffix('y') {
            Some(stem) => format!("{stem}ies"),
            None => format!("{kind}s"),
        };
        map.entry("type").or_insert_with(|| json!(kind));
        map.entry("summary").or_insert(summary);
        map.entry("self")
            .or_insert_with(|| json!(format!("https://api.pagerduty.com/{plural}/{id}")));
        map.entry("html_url")
            .or_insert_with(|| json!(format!("https://simulated.pagerduty.com/{plural}/{id}")));
    }
    v
}

macro_rules! list_route {
    ($name:ident, $route:expr, $wrapper:expr, $kind:expr, |$org:ident| $items:expr) => {
        async fn $name(
            State(sim): State<Arc<Sim>>,
            headers: HeaderMap,
            RawQuery(raw): RawQuery,
        ) -> Response {
            let fault = match gate(&sim, &headers, $route).await {
                Ok(f) => f,
                Err(r) => return r,
            };
            let params = Params::parse(raw);
            let items: Vec<Value> = {
                let $org = sim.org.read().await;
                $items
                    .into_iter()
                    .map(|x| decorate(serde_json::to_value(x).unwrap(), $kind))
                    .collect()
            };
            match paginate(&params, $wrapper, items) {
                Ok(body) => respond(&sim, body, fault).await,
                Err(r) => r,
            }
        }
    };
}

list_route!(priorities, "/priorities", "priorities", "priority", |org| {
    org.priorities.clone()
});
list_route!(teams, "/teams", "teams", "team", |org| org.teams.clone());
list_route!(users, "/users", "users", "user", |org| org.users.clone());
list_route!(services, "/services", "services", "service", |org| org
    .services
    .clone());
list_route!(
    escalation_policies,
    "/escalation_policies",
    "escalation_policies",
    "escalation_policy",
    |org| org.escalation_policies.clone()
);
list_route!(schedules, "/schedules", "schedules", "schedule", |org| org
    .schedules
    .clone());

async fn team_members(
    State(sim): State<Arc<Sim>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let fault = match gate(&sim, &headers, "/teams/{id}/members").await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let items: Vec<Value> = {
        let org = sim.org.read().await;
        if !org.teams.iter().any(|t| t.id == id) {
            return error(StatusCode::NOT_FOUND, 6001, "Team Not Found");
        }
        org.members
            .get(&id)
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .map(|m| serde_json::to_value(m).unwrap())
            .collect()
    };
    match paginate(&Params::parse(raw), "members", items) {
        Ok(body) => respond(&sim, body, fault).await,
        Err(r) => r,
    }
}

/// An incident as the API sends it: the wire model without its absent
/// fields, with the `type`, `summary`, `self` and `html_url` every resource
/// carries and no acknowledgements. Serialised straight from the model
/// (pages of log entries embed one per entry, so this is the simulator's
/// hottest path); a test checks it against the generic [`decorate`].
fn incident_json(i: &Incident) -> IncidentOut<'_> {
    IncidentOut {
        id: &i.id,
        kind: "incident",
        summary: format!("[#{}] {}", i.incident_number.unwrap_or(0), i.title),
        self_url: format!("https://api.pagerduty.com/incidents/{}", i.id),
        html_url: i
            .html_url
            .clone()
            .unwrap_or_else(|| format!("https://simulated.pagerduty.com/incidents/{}", i.id)),
        incident_number: i.incident_number,
        title: &i.title,
        description: i.description.as_deref(),
        created_at: i.created_at,
        updated_at: i.updated_at,
        status: &i.status,
        urgency: i.urgency.as_deref(),
        incident_key: i.incident_key.as_deref(),
        service: i.service.as_ref(),
        escalation_policy: i.escalation_policy.as_ref(),
        priority: i.priority.as_ref(),
        assignments: i
            .assignments
            .iter()
            .map(|a| AssignmentOut {
                at: a.at,
                assignee: &a.assignee,
            })
            .collect(),
        acknowledgements: [],
        last_status_change_at: i.last_status_change_at,
        resolved_at: i.resolved_at,
        incident_type: i.incident_type.as_ref(),
    }
}

#[derive(serde::Serialize)]
struct IncidentOut<'a> {
    id: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
    summary: String,
    #[serde(rename = "self")]
    self_url: String,
    html_url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    incident_number: Option<i64>,
    title: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<&'a str>,
    created_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    updated_at: Option<DateTime<Utc>>,
    status: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    urgency: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    incident_key: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    service: Option<&'a Reference>,
    #[serde(skip_serializing_if = "Option::is_none")]
    escalation_policy: Option<&'a Reference>,
    #[serde(skip_serializing_if = "Option::is_none")]
    priority: Option<&'a Reference>,
    assignments: Vec<AssignmentOut<'a>>,
    acknowledgements: [(); 0],
    #[serde(skip_serializing_if = "Option::is_none")]
    last_status_change_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    resolved_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    incident_type: Option<&'a crate::pagerduty::wire::IncidentTypeName>,
}

#[derive(serde::Serialize)]
struct AssignmentOut<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    at: Option<DateTime<Utc>>,
    assignee: &'a Reference,
}

/// Incidents in a creation-time range: `since`/`until` (at most 6 months
/// apart, default the last month) or `date_range=all`.
async fn incidents(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let fault = match gate(&sim, &headers, "/incidents").await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let params = Params::parse(raw);
    let now = Utc::now();
    let (since, until) = match (params.time("since"), params.time("until")) {
        (Ok(s), Ok(u)) => (s, u),
        (Err(r), _) | (_, Err(r)) => return r,
    };
    let all = params.get("date_range") == Some("all");
    let until = until.unwrap_or(now);
    let since = since.unwrap_or(until - Duration::days(30));
    if !all && (until - since > Duration::days(183) || since > until) {
        return error(
            StatusCode::BAD_REQUEST,
            2005,
            "Invalid Query Date Range: at most 6 months",
        );
    }
    let statuses = params.all("statuses[]");
    let urgencies = params.all("urgencies[]");
    let services = params.all("service_ids[]");
    let page = {
        let org = sim.org.read().await;
        // The incidents are kept in creation order (`Org::reindex`).
        let range = if all {
            &org.incidents[..]
        } else {
            let start = org.incidents.partition_point(|i| i.created_at < since);
            let end = org.incidents.partition_point(|i| i.created_at < until);
            &org.incidents[start..end.max(start)]
        };
        let items = range
            .iter()
            .filter(|i| statuses.is_empty() || statuses.contains(&i.status.as_str()))
            .filter(|i| {
                urgencies.is_empty() || i.urgency.as_deref().is_some_and(|u| urgencies.contains(&u))
            })
            .filter(|i| {
                services.is_empty()
                    || i.service
                        .as_ref()
                        .is_some_and(|s| services.contains(&s.id.as_str()))
            })
            .collect::<Vec<_>>();
        paginate_with(&params, "incidents", items, |i| incident_json(i)).map(|p| serialised(&p))
    };
    match page {
        Ok(body) => respond(&sim, body, fault).await,
        Err(r) => r,
    }
}

async fn incident(
    State(sim): State<Arc<Sim>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let fault = match gate(&sim, &headers, "/incidents/{id}").await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let body = {
        let org = sim.org.read().await;
        let found = org.incident(&id).or_else(|| {
            org.incidents
                .iter()
                .find(|i| i.incident_number.map(|n| n.to_string()) == Some(id.clone()))
        });
        match found {
            Some(i) => json!({"incident": incident_json(i)}),
            None => return error(StatusCode::NOT_FOUND, 5001, "Incident Not Found"),
        }
    };
    respond(&sim, body, fault).await
}

/// A log entry as the API sends it, with its incident as a reference or,
/// when `embed`, the whole incident. Serialised straight from the model;
/// a test checks it against the wire model's own serialisation.
fn entry_json<'a>(org: &'a Org, e: &'a LogEntry, embed: bool) -> EntryOut<'a> {
    let full = if embed {
        e.incident_id()
            .and_then(|id| org.incident(id))
            .map(|i| incident_json(i))
    } else {
        None
    };
    EntryOut {
        id: &e.id,
        kind: &e.kind,
        created_at: e.created_at,
        summary: e.summary.as_deref(),
        agent: e.agent.as_ref(),
        channel: e.channel.as_ref(),
        note: e.note.as_deref(),
        user: e.user.as_ref(),
        incident: match full {
            Some(i) => EmbeddedOut::Full(i),
            None => EmbeddedOut::AsStored(&e.incident),
        },
        service: e.service.as_ref(),
    }
}

#[derive(serde::Serialize)]
struct EntryOut<'a> {
    id: &'a str,
    #[serde(rename = "type")]
    kind: &'a str,
    created_at: DateTime<Utc>,
    summary: Option<&'a str>,
    agent: Option<&'a Reference>,
    channel: Option<&'a crate::pagerduty::wire::Channel>,
    note: Option<&'a str>,
    user: Option<&'a Reference>,
    incident: EmbeddedOut<'a>,
    service: Option<&'a Reference>,
}

// Built for one entry at a time and serialised at once: boxing the large
// variant would only add an allocation per entry.
#[allow(clippy::large_enum_variant)]
#[derive(serde::Serialize)]
#[serde(untagged)]
enum EmbeddedOut<'a> {
    AsStored(&'a crate::pagerduty::wire::EmbeddedIncident),
    Full(IncidentOut<'a>),
}

async fn log_entries(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let fault = match gate(&sim, &headers, "/log_entries").await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let params = Params::parse(raw);
    let (since, until) = match (params.time("since"), params.time("until")) {
        (Ok(s), Ok(u)) => (s, u),
        (Err(r), _) | (_, Err(r)) => return r,
    };
    let embed = params.all("include[]").contains(&"incidents");
    let page = {
        let org = sim.org.read().await;
        let start = since
            .map(|s| org.log_entries.partition_point(|e| e.created_at < s))
            .unwrap_or(0);
        let items: Vec<_> = org.log_entries[start..]
            .iter()
            .take_while(|e| until.is_none_or(|u| e.created_at < u))
            .collect();
        paginate_with(&params, "log_entries", items, |e| {
            entry_json(&org, e, embed)
        })
        .map(|p| serialised(&p))
    };
    match page {
        Ok(body) => respond(&sim, body, fault).await,
        Err(r) => r,
    }
}

async fn incident_log_entries(
    State(sim): State<Arc<Sim>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let fault = match gate(&sim, &headers, "/incidents/{id}/log_entries").await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let params = Params::parse(raw);
    let page = {
        let org = sim.org.read().await;
        if org.incident(&id).is_none() {
            return error(StatusCode::NOT_FOUND, 5001, "Incident Not Found");
        }
        let items: Vec<_> = org
            .log_entries
            .iter()
            .filter(|e| e.incident_id() == Some(id.as_str()))
            .collect();
        paginate_with(&params, "log_entries", items, |e| {
            entry_json(&org, e, false)
        })
        .map(|p| serialised(&p))
    };
    match page {
        Ok(body) => respond(&sim, body, fault).await,
        Err(r) => r,
    }
}

/// On-call entries: each schedule rotates daily (UTC midnight) through its
/// members, at the level of the rule that targets it; users targeted directly
/// are on call permanently (no start or end).
async fn oncalls(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let fault = match gate(&sim, &headers, "/oncalls").await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let params = Params::parse(raw);
    let now = Utc::now();
    let (since, until) = match (params.time("since"), params.time("until")) {
        (Ok(s), Ok(u)) => (s.unwrap_or(now), u.unwrap_or(now)),
        (Err(r), _) | (_, Err(r)) => return r,
    };
    let items: Vec<Value> = {
        let org = sim.org.read().await;
        let mut out = Vec::new();
        for ep in &org.escalation_policies {
            let ep_ref =
                json!({"id": ep.id, "type": "escalation_policy_reference", "summary": ep.name});
            for (level, rule) in ep.escalation_rules.iter().enumerate() {
                for t in &rule.targets {
                    if t.kind.starts_with("user") {
                        out.push(json!({"escalation_policy": ep_ref, "escalation_level": level + 1, "user": t, "schedule": null, "start": null, "end": null}));
                        continue;
                    }
                    let Some(s) = org.schedules.iter().find(|s| s.id == t.id) else {
                        continue;
                    };
                    let day0 = since.date_naive().and_hms_opt(0, 0, 0).unwrap().and_utc();
                    let mut day = day0;
                    while day < until {
                        let n = (day.timestamp() / 86_400) as usize % s.users.len().max(1);
                        out.push(json!({
                            "escalation_policy": ep_ref,
                            "escalation_level": level + 1,
                            "user": s.users[n],
                            "schedule": {"id": s.id, "type": "schedule_reference", "summary": s.name},
                            "start": day,
                            "end": day + Duration::days(1),
                        }));
                        day += Duration::days(1);
                    }
                }
            }
        }
        out
    };
    match paginate(&params, "oncalls", items) {
        Ok(body) => respond(&sim, body, fault).await,
        Err(r) => r,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The generic rendering the typed one replaced: the wire model as a
    /// JSON value, with the summary and acknowledgements the incident list
    /// adds, decorated like every other resource.
    fn incident_as_value(i: &Incident) -> Value {
        let mut v = serde_json::to_value(i).unwrap();
        v["summary"] = json!(format!("[#{}] {}", i.incident_number.unwrap_or(0), i.title));
        v["acknowledgements"] = json!([]);
        decorate(v, "incident")
    }

    fn org() -> Org {
        data::generate(7, &Sizes::default(), Utc::now())
    }

    #[test]
    fn incidents_render_as_the_decorated_wire_model() {
        let org = org();
        let mut with_priority = 0;
        for i in &org.incidents {
            with_priority += usize::from(i.priority.is_some());
            assert_eq!(
                serde_json::to_value(incident_json(i)).unwrap(),
                incident_as_value(i),
                "incident {}",
                i.id
            );
        }
        // Both shapes of the optional fields were compared.
        assert!(with_priority > 0 && with_priority < org.incidents.len());
    }

    #[test]
    fn log_entries_render_as_the_wire_model_with_or_without_their_incident() {
        let org = org();
        assert!(!org.log_entries.is_empty());
        for e in &org.log_entries {
            let plain = serde_json::to_value(e).unwrap();
            assert_eq!(
                serde_json::to_value(entry_json(&org, e, false)).unwrap(),
                plain,
                "entry {}",
                e.id
            );
            let mut embedded = plain;
            embedded["incident"] =
                incident_as_value(org.incident(e.incident_id().unwrap()).unwrap());
            assert_eq!(
                serde_json::to_value(entry_json(&org, e, true)).unwrap(),
                embedded,
                "entry {}",
                e.id
            );
        }
    }

    #[test]
    fn pages_carry_their_items_and_paging_fields() {
        let params = Params::parse(Some("limit=2&offset=1&total=true".into()));
        let page = paginate_with(&params, "things", vec![1, 2, 3, 4], |n| n * 10)
            .unwrap_or_else(|_| panic!("a valid page"));
        assert_eq!(
            serde_json::to_value(&page).unwrap(),
            json!({"things": [20, 30], "limit": 2, "offset": 1, "more": true, "total": 4})
        );
        let page = paginate_with(&Params::parse(None), "things", vec![1], |n| n)
            .unwrap_or_else(|_| panic!("a valid page"));
        assert_eq!(
            serde_json::to_value(&page).unwrap(),
            json!({"things": [1], "limit": 25, "offset": 0, "more": false, "total": null})
        );
    }
}
