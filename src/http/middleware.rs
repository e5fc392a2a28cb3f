//! The layers every request passes through: request ids, per-client rate
//! limits, security headers, CORS, and HTTP metrics.

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use sha2::Digest;

use crate::config::HttpSettings;
use crate::telemetry::metrics as m;

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Drops an incoming `X-Request-Id` that is not a short token of safe
/// characters (so a client cannot inject text into logs); the id layer then
/// makes a fresh one.
pub async fn sanitize_request_id(mut req: Request, next: Next) -> Response {
    let ok = req.headers().get(&REQUEST_ID).is_some_and(|v| {
        let b = v.as_bytes();
        !b.is_empty()
            && b.len() <= 128
            && b.iter()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.' | b':'))
    });
    if !ok {
        req.headers_mut().remove(&REQUEST_ID);
    }
    next.run(req).await
}

/// The tracing span of a request: method, path (never the query string, which
/// can hold an OAuth code) and request id, so every log line inside carries it.
pub fn request_span(req: &axum::http::Request<axum::body::Body>) -> tracing::Span {
    let id = req
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    tracing::info_span!(
        "request",
        method = %req.method(),
        path = %req.uri().path(),
        request_id = %id,
    )
}

/// Counts every request and records its latency by route (the matched
/// pattern, so ids in paths do not multiply the series).
pub async fn record_metrics(req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = req.method().as_str().to_owned();
    let started = Instant::now();
    let resp = next.run(req).await;
    let status = resp.status().as_u16().to_string();
    metrics::histogram!(m::HTTP_DURATION, "method" => method.clone(), "route" => route.clone())
        .record(started.elapsed().as_secs_f64());
    metrics::counter!(m::HTTP_REQUESTS, "method" => method, "route" => route, "status" => status)
        .increment(1);
    resp
}

/// The headers every response carries unless the handler set its own.
pub fn security_headers(https: bool) -> Vec<(HeaderName, HeaderValue)> {
    let mut h = vec![
        (
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
        (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
        (
            header::REFERRER_POLICY,
            // `same-origin`, not `no-referrer`: with the latter browsers send
            // `Origin: null` on same-site form posts, which the CSRF check refuses.
            HeaderValue::from_static("same-origin"),
        ),
        (
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("frame-ancestors 'none'; base-uri 'none'; object-src 'none'"),
        ),
        (
            HeaderName::from_static("cross-origin-opener-policy"),
            HeaderValue::from_static("same-origin"),
        ),
    ];
    if https {
        h.push((
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        ));
    }
    h
}

/// CORS for the configured origins; `None` (no CORS headers at all, so
/// browsers refuse cross-origin calls) when there are none.
pub fn cors(origins: &[String]) -> Option<tower_http::cors::CorsLayer> {
    if origins.is_empty() {
        return None;
    }
    let origins: Vec<HeaderValue> = origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    Some(
        tower_http::cors::CorsLayer::new()
            .allow_origin(origins)
            .allow_methods([Method::GET, Method::POST])
            .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE, REQUEST_ID])
            .expose_headers([REQUEST_ID, header::RETRY_AFTER])
            .allow_credentials(true)
            .max_age(std::time::Duration::from_secs(600)),
    )
}

/// Which limit a request falls under.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Bucket {
    Auth,
    Graphql,
}

/// Per-client request budgets on `/auth/*` (by address: logins are what an
/// attacker repeats) and `/graphql` (by credential, else by address, so many
/// people behind one NAT do not share a budget).
pub struct RateLimits {
    auth: Option<DefaultKeyedRateLimiter<String>>,
    graphql: Option<DefaultKeyedRateLimiter<String>>,
    trust_forwarded_for: bool,
    seen: AtomicU64,
}

impl RateLimits {
    pub fn new(settings: &HttpSettings) -> Arc<Self> {
        let limiter = |per_minute: u32| {
            NonZeroU32::new(per_minute).map(|n| RateLimiter::keyed(Quota::per_minute(n)))
        };
        Arc::new(Self {
            auth: limiter(settings.rate_limit_auth),
            graphql: limiter(settings.rate_limit_graphql),
            trust_forwarded_for: settings.trust_forwarded_for,
            seen: AtomicU64::new(0),
        })
    }

    fn client_address(&self, req: &Request) -> Option<IpAddr> {
        if self.trust_forwarded_for {
            let forwarded = req
                .headers()
                .get_all("x-forwarded-for")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .filter_map(|s| s.trim().parse::<IpAddr>().ok())
                .next_back();
            if forwarded.is_some() {
                return forwarded;
            }
        }
        req.extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip())
    }

    /// The key a request is counted under.
    fn key(&self, bucket: Bucket, req: &Request) -> String {
        if bucket == Bucket::Graphql {
            let credential = req
                .headers()
                .get(header::AUTHORIZATION)
                .map(|v| v.as_bytes().to_vec())
                .or_else(|| {
                    req.headers()
                        .get_all(header::COOKIE)
                        .iter()
                        .flat_map(|v| v.to_str().ok().into_iter().flat_map(|s| s.split(';')))
                        .find(|c| c.trim().starts_with(super::auth::SESSION_COOKIE))
                        .map(|c| c.trim().as_bytes().to_vec())
                });
            if let Some(c) = credential {
                // Hashed: the limiter's memory never holds a secret.
                return format!("c:{}", hex::encode(&sha2::Sha256::digest(&c)[..12]));
            }
        }
        match self.client_address(req) {
            Some(ip) => format!("a:{ip}"),
            None => "a:unknown".to_owned(),
        }
    }
}

/// Refuses a request over its client's budget with 429 and `Retry-After`.
pub async fn rate_limit(
    State(limits): State<Arc<RateLimits>>,
    req: Request,
    next: Next,
) -> Response {
    let path = req.uri().path();
    let bucket = if path.starts_with("/auth/") {
        Bucket::Auth
    } else if path == "/graphql" {
        Bucket::Graphql
    } else {
        return next.run(req).await;
    };
    let limiter = match bucket {
        Bucket::Auth => limits.auth.as_ref(),
        Bucket::Graphql => limits.graphql.as_ref(),
    };
    let Some(limiter) = limiter else {
        return next.run(req).await;
    };
    // Forget idle clients now and then, so the table stays small.
    if limits.seen.fetch_add(1, Ordering::Relaxed) % 4096 == 4095 {
        limiter.retain_recent();
        limiter.shrink_to_fit();
    }
    let key = limits.key(bucket, &req);
    match limiter.check_key(&key) {
        Ok(()) => next.run(req).await,
        Err(not_until) => {
            let wait = not_until
                .wait_time_from(DefaultClock::default().now())
                .as_secs()
                .max(1);
            let route = if bucket == Bucket::Auth {
                "/auth"
            } else {
                "/graphql"
            };
            metrics::counter!(m::HTTP_RATE_LIMITED, "route" => route).increment(1);
            tracing::warn!(route, retry_after_s = wait, "rate limit reached");
            let message = format!("too many requests; retry in {wait} s");
            let body = if bucket == Bucket::Graphql {
                serde_json::json!({"errors": [{"message": message, "extensions": {"code": "RATE_LIMITED"}}]})
            } else {
                serde_json::json!({"error": message})
            };
            (
                StatusCode::TOO_MANY_REQUESTS,
                [(header::RETRY_AFTER, wait.to_string())],
                axum::Json(body),
            )
                .into_response()
        }
    }
}

/// `GET /metrics` on the main address: only with the metrics token.
pub async fn metrics_with_token(
    State(state): State<super::AppState>,
    headers: axum::http::HeaderMap,
) -> Response {
    use secrecy::ExposeSecret;
    let Some(token) = state.config.http.metrics_token.as_ref() else {
        return (
            StatusCode::NOT_FOUND,
            axum::Json(serde_json::json!({"error": "not found"})),
        )
            .into_response();
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    let expected = sha2::Sha256::digest(token.expose_secret().as_bytes());
    let got = sha2::Sha256::digest(given.as_bytes());
    // Compared as digests, byte by byte without an early exit.
    let same = expected
        .iter()
        .zip(got.iter())
        .fold(0u8, |acc, (a, b)| acc | (a ^ b))
        == 0;
    if !same {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            axum::Json(serde_json::json!({"error": "the metrics token is missing or wrong"})),
        )
            .into_response();
    }
    render(&state.db)
}

/// The Prometheus text exposition of this process's metrics.
pub fn render(db: &sea_orm::DatabaseConnection) -> Response {
    let Some(handle) = m::handle() else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "metrics are not recorded in this process\n",
        )
            .into_response();
    };
    m::record_pool(db);
    handle.run_upkeep();
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        handle.render(),
    )
        .into_response()
}

/// The router of the separate metrics address (`PAGERLENS_METRICS_BIND`).
pub fn metrics_router(db: sea_orm::DatabaseConnection) -> axum::Router {
    axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let db = db.clone();
            async move { render(&db) }
        }),
    )
}
