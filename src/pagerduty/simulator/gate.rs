//! What every answer passes through: authentication, the rate limit, the
//! outage switch and injected faults before a route answers, the faults
//! applied to its body, PagerDuty's error shape, and the simulator's own
//! control route (`/_simulator/outage`).

use super::*;

/// `POST /_simulator/outage {"down": true|false}` (with the API token): the
/// simulator's own control, not part of PagerDuty's API, so a script in
/// another process can start and end an outage (every API call then answers
/// 503, as PagerDuty does when it is down).
pub(super) async fn set_outage(
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
pub(super) async fn outage_state(State(sim): State<Arc<Sim>>, headers: HeaderMap) -> Response {
    if let Err(resp) = control_auth(&sim, &headers).await {
        return resp;
    }
    axum::Json(json!({"down": sim.outage.load(Ordering::Relaxed)})).into_response()
}

pub(super) async fn control_auth(sim: &Sim, headers: &HeaderMap) -> Result<(), Response> {
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

pub(super) fn error(status: StatusCode, code: i64, message: &str) -> Response {
    (
        status,
        axum::Json(json!({"error": {"message": message, "code": code, "errors": []}})),
    )
        .into_response()
}

/// Query parameters, keeping repeated `name[]` values.
pub(super) struct Params(Vec<(String, String)>);

impl Params {
    pub(super) fn parse(raw: Option<String>) -> Self {
        Self(
            url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
                .into_owned()
                .collect(),
        )
    }
    pub(super) fn get(&self, k: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
    }
    pub(super) fn all(&self, k: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
            .collect()
    }
    pub(super) fn time(&self, k: &str) -> Result<Option<DateTime<Utc>>, Response> {
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
pub(super) async fn gate(
    sim: &Sim,
    headers: &HeaderMap,
    route: &str,
) -> Result<Option<Fault>, Response> {
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
pub(super) enum Fault {
    ServerError,
    RateLimited,
    Slow(StdDuration),
    Dropped,
    Truncated,
    Malformed,
}

/// Serialises `body`, adding unknown fields when configured, and applies a
/// body fault.
pub(super) async fn respond(
    sim: &Sim,
    body: impl serde::Serialize,
    fault: Option<Fault>,
) -> Response {
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
pub(super) fn serialised(body: &impl serde::Serialize) -> Box<serde_json::value::RawValue> {
    serde_json::value::to_raw_value(body).expect("a response serialises")
}

pub(super) fn json_response(text: String) -> Response {
    ([("content-type", "application/json")], text).into_response()
}

pub(super) fn add_unknown_fields(v: &mut Value, depth: usize) {
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
