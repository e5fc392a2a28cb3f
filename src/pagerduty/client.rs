//! The PagerDuty REST v2 client: token auth and the versioned Accept header,
//! offset pagination, connect/read timeouts, retries with exponential backoff
//! and jitter on 5xx, timeouts, dropped connections and unreadable bodies;
//! on 429 it waits as long as the response says and pauses every other
//! request too, so it never hammers; and a requests-per-minute budget with
//! bounded concurrency.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use serde_json::value::RawValue;
use tokio::sync::{Mutex, Semaphore};
use tokio::time::Instant;

use super::retry::{Verdict, backoff, classify_status, rate_limit_wait};
use super::{DecodeError, Error, Failure};

/// The public API.
pub const DEFAULT_API_URL: &str = "https://api.pagerduty.com";
/// PagerDuty's largest page.
pub const MAX_LIMIT: u64 = 100;
/// PagerDuty refuses `offset + limit` above this.
pub const MAX_OFFSET_PLUS_LIMIT: u64 = 10_000;
pub const ACCEPT: &str = "application/vnd.pagerduty+json;version=2";

#[derive(Clone, Debug)]
pub struct ClientConfig {
    pub base_url: String,
    pub token: SecretString,
    /// Requests per minute for this process (0: no budget). PagerDuty allows
    /// about 960 a minute per account, shared with other tools.
    pub requests_per_minute: u32,
    /// Requests in flight at once.
    pub max_concurrency: usize,
    /// Retries after the first attempt before a request fails.
    pub max_retries: u32,
    pub backoff_base: Duration,
    pub backoff_max: Duration,
    pub connect_timeout: Duration,
    pub read_timeout: Duration,
    /// Email for the `From` header of write calls.
    pub from_email: Option<String>,
}

impl ClientConfig {
    /// From the configuration, when a token is set.
    pub fn from_settings(settings: &crate::config::PagerDutySettings) -> Option<Self> {
        use secrecy::ExposeSecret;
        let token = settings.token.as_ref()?;
        let mut c = Self::new(&settings.api_url, token.expose_secret());
        c.requests_per_minute = settings.requests_per_minute;
        c.max_concurrency = settings.max_concurrency;
        c.max_retries = settings.max_retries;
        c.from_email = settings.from_email.clone();
        Some(c)
    }

    pub fn new(base_url: &str, token: &str) -> Self {
        Self {
            base_url: base_url.trim_end_matches('/').to_owned(),
            token: SecretString::from(token.to_owned()),
            requests_per_minute: 600,
            max_concurrency: 4,
            max_retries: 6,
            backoff_base: Duration::from_millis(500),
            backoff_max: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(30),
            from_email: None,
        }
    }
}

/// What the client has done, for the sync run record and metrics.
#[derive(Debug, Default)]
pub struct Stats {
    pub api_calls: AtomicU64,
    pub retries: AtomicU64,
    pub rate_limited: AtomicU64,
    pub rate_limit_wait_ms: AtomicU64,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct StatsSnapshot {
    pub api_calls: u64,
    pub retries: u64,
    pub rate_limited: u64,
    pub rate_limit_wait_ms: u64,
}

impl Stats {
    pub fn snapshot(&self) -> StatsSnapshot {
        StatsSnapshot {
            api_calls: self.api_calls.load(Ordering::Relaxed),
            retries: self.retries.load(Ordering::Relaxed),
            rate_limited: self.rate_limited.load(Ordering::Relaxed),
            rate_limit_wait_ms: self.rate_limit_wait_ms.load(Ordering::Relaxed),
        }
    }
}

/// The outbound request budget: `governor`'s even spacing (no burst, as
/// PagerDuty's per-minute budget is spent evenly), plus a pause that a
/// rate-limited answer sets for everyone.
struct Limiter {
    budget: Option<governor::DefaultDirectRateLimiter>,
    paused_until: Mutex<Instant>,
}

impl Limiter {
    fn new(requests_per_minute: u32) -> Self {
        let budget = std::num::NonZeroU32::new(requests_per_minute).map(|n| {
            governor::RateLimiter::direct(
                governor::Quota::per_minute(n).allow_burst(std::num::NonZeroU32::MIN),
            )
        });
        Self {
            budget,
            paused_until: Mutex::new(Instant::now()),
        }
    }

    async fn acquire(&self) {
        let until = *self.paused_until.lock().await;
        tokio::time::sleep_until(until).await;
        if let Some(budget) = &self.budget {
            budget.until_ready().await;
        }
    }

    async fn pause(&self, wait: Duration) {
        let mut until = self.paused_until.lock().await;
        *until = (*until).max(Instant::now() + wait);
    }
}

/// A JSON object's members, each kept as the text it came as: an answer's
/// envelope, read without building its items (`None` for a `null` body).
pub type Envelope = Option<HashMap<String, Box<RawValue>>>;

/// One page of an offset-paginated list.
#[derive(Debug)]
pub struct OffsetPage {
    /// The items as they came, each read on its own (see [`decode_items`]).
    pub items: Vec<Box<RawValue>>,
    pub more: bool,
    pub total: Option<u64>,
}

#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    config: Arc<ClientConfig>,
    limiter: Arc<Limiter>,
    slots: Arc<Semaphore>,
    pub stats: Arc<Stats>,
}

enum Attempt<T> {
    Done(T),
    Fail(Verdict, Failure, Option<Duration>, u16),
}

impl Client {
    /// # Errors
    /// The base URL is not http(s) or the HTTP client cannot be built.
    pub fn new(config: ClientConfig) -> Result<Self, Error> {
        if !(config.base_url.starts_with("https://") || config.base_url.starts_with("http://")) {
            return Err(Error::Config(format!(
                "PAGERDUTY_API_URL must be an http(s) URL, got {:?}",
                config.base_url
            )));
        }
        let http = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .read_timeout(config.read_timeout)
            .timeout(config.read_timeout * 2)
            .user_agent(concat!("pagerlens/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::Config(e.to_string()))?;
        Ok(Self {
            http,
            limiter: Arc::new(Limiter::new(config.requests_per_minute)),
            slots: Arc::new(Semaphore::new(config.max_concurrency.max(1))),
            config: Arc::new(config),
            stats: Arc::new(Stats::default()),
        })
    }

    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// The same client (budget, connections and counters shared) retrying
    /// at most `retries` times: live look-ups answer a person waiting on a
    /// page, and fall back to the cache rather than back off for minutes.
    #[must_use]
    pub fn with_max_retries(&self, retries: u32) -> Self {
        let mut config = (*self.config).clone();
        config.max_retries = retries;
        Self {
            http: self.http.clone(),
            limiter: self.limiter.clone(),
            slots: self.slots.clone(),
            config: Arc::new(config),
            stats: self.stats.clone(),
        }
    }

    async fn attempt<T: DeserializeOwned>(&self, req: reqwest::RequestBuilder) -> Attempt<T> {
        let _slot = self.slots.acquire().await.expect("semaphore open");
        self.limiter.acquire().await;
        self.stats.api_calls.fetch_add(1, Ordering::Relaxed);
        metrics::counter!(crate::telemetry::metrics::PAGERDUTY_REQUESTS).increment(1);
        let resp = match req.send().await {
            Ok(r) => r,
            // Timeouts, refused and dropped connections: all worth a retry.
            Err(e) => return Attempt::Fail(Verdict::Retry, transport(e), None, 0),
        };
        let status = resp.status().as_u16();
        let header = |name: &str| {
            resp.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let wait = rate_limit_wait(
            header("retry-after").as_deref(),
            header("ratelimit-reset").as_deref(),
        );
        let body = match resp.bytes().await {
            Ok(b) => b,
            Err(e) => return Attempt::Fail(Verdict::Retry, transport(e), None, status),
        };
        if (200..300).contains(&status) {
            let body: &[u8] = if body.is_empty() { b"null" } else { &body };
            return match serde_json::from_slice::<T>(body) {
                Ok(v) => Attempt::Done(v),
                // A truncated or garbled body: the transfer failed, try again.
                Err(e) => Attempt::Fail(Verdict::Retry, Failure::Body(e), None, status),
            };
        }
        let message = serde_json::from_slice::<super::wire::ErrorBody>(&body)
            .map(|b| {
                let mut m = b.error.message;
                if !b.error.errors.is_empty() {
                    m = format!("{m}: {}", b.error.errors.join("; "));
                }
                m
            })
            .unwrap_or_else(|_| format!("HTTP {status}"));
        Attempt::Fail(
            classify_status(status),
            Failure::Status { status, message },
            wait,
            status,
        )
    }

    /// Sends a request built by `build`, retrying as the policy says.
    ///
    /// # Errors
    /// [`Error::Api`] for a refusal that retrying cannot fix (4xx), and
    /// [`Error::Exhausted`] once the retry budget is spent.
    pub async fn send(
        &self,
        path: &str,
        build: impl Fn(&reqwest::Client, String) -> reqwest::RequestBuilder,
    ) -> Result<Value, Error> {
        self.send_as(path, build).await
    }

    /// As [`Client::send`], the body read as `T` (a body that is not a `T`
    /// is retried like a garbled one).
    ///
    /// # Errors
    /// As [`Client::send`].
    #[tracing::instrument(skip_all, fields(path = %path))]
    pub async fn send_as<T: DeserializeOwned>(
        &self,
        path: &str,
        build: impl Fn(&reqwest::Client, String) -> reqwest::RequestBuilder,
    ) -> Result<T, Error> {
        let url = format!("{}{}", self.config.base_url, path);
        let mut attempt = 0u32;
        loop {
            let req = build(&self.http, url.clone())
                .header(
                    "Authorization",
                    format!("Token token={}", self.config.token.expose_secret()),
                )
                .header("Accept", ACCEPT)
                .header("Content-Type", "application/json");
            let (verdict, failure, wait, status) = match self.attempt(req).await {
                Attempt::Done(v) => return Ok(v),
                Attempt::Fail(v, f, w, s) => (v, f, w, s),
            };
            if verdict == Verdict::Permanent {
                let message = match failure {
                    Failure::Status { message, .. } => message,
                    other => crate::telemetry::error_chain(&other),
                };
                return Err(Error::Api {
                    status,
                    message,
                    path: path.to_owned(),
                });
            }
            if attempt >= self.config.max_retries {
                return Err(Error::Exhausted {
                    attempts: attempt + 1,
                    path: path.to_owned(),
                    status,
                    last: failure,
                });
            }
            let jitter: f64 = rand::random();
            let delay = backoff(
                attempt,
                self.config.backoff_base,
                self.config.backoff_max,
                jitter,
            );
            if verdict == Verdict::RateLimited {
                let wait = wait.unwrap_or(delay);
                self.stats.rate_limited.fetch_add(1, Ordering::Relaxed);
                metrics::counter!(crate::telemetry::metrics::PAGERDUTY_RATE_LIMITED).increment(1);
                metrics::counter!(crate::telemetry::metrics::PAGERDUTY_RATE_LIMIT_WAIT)
                    .increment(wait.as_secs());
                self.stats
                    .rate_limit_wait_ms
                    .fetch_add(wait.as_millis() as u64, Ordering::Relaxed);
                tracing::warn!(
                    path,
                    wait_ms = wait.as_millis() as u64,
                    "PagerDuty rate limit: waiting"
                );
                self.limiter.pause(wait).await;
            } else {
                self.stats.retries.fetch_add(1, Ordering::Relaxed);
                metrics::counter!(crate::telemetry::metrics::PAGERDUTY_RETRIES).increment(1);
                let message = crate::telemetry::error_chain(&failure);
                tracing::debug!(path, attempt, %message, delay_ms = delay.as_millis() as u64, "retrying PagerDuty request");
                tokio::time::sleep(delay).await;
            }
            attempt += 1;
        }
    }

    /// `GET path?query`.
    ///
    /// # Errors
    /// As [`Client::send`].
    pub async fn get(&self, path: &str, query: &[(String, String)]) -> Result<Value, Error> {
        self.send(path, |http, url| http.get(url).query(query))
            .await
    }

    /// `GET path?query`, the body read as `T`.
    ///
    /// # Errors
    /// As [`Client::send`].
    pub async fn get_as<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(String, String)],
    ) -> Result<T, Error> {
        self.send_as(path, |http, url| http.get(url).query(query))
            .await
    }

    /// One page of a classic (offset) list. `wrapper` is the plural key.
    ///
    /// # Errors
    /// As [`Client::send`], or [`Error::Decode`] when the envelope is wrong.
    pub async fn page(
        &self,
        path: &str,
        wrapper: &str,
        query: &[(String, String)],
        offset: u64,
        limit: u64,
        total: bool,
    ) -> Result<OffsetPage, Error> {
        let mut q = query.to_vec();
        q.push(("offset".into(), offset.to_string()));
        q.push(("limit".into(), limit.min(MAX_LIMIT).to_string()));
        if total {
            q.push(("total".into(), "true".into()));
        }
        // The envelope is read; each item stays as it came, to be read on
        // its own (no tree of the whole page is built).
        let body: Envelope = self.get_as(path, &q).await?;
        let mut body = body.unwrap_or_default();
        let items = body
            .remove(wrapper)
            .and_then(|raw| serde_json::from_str::<Vec<Box<RawValue>>>(raw.get()).ok())
            .ok_or_else(|| Error::Decode {
                path: path.to_owned(),
                source: DecodeError::Envelope(format!("no `{wrapper}` list in the response")),
            })?;
        let field = |name: &str| {
            body.get(name)
                .and_then(|raw| serde_json::from_str::<Value>(raw.get()).ok())
        };
        Ok(OffsetPage {
            more: field("more").and_then(|v| v.as_bool()).unwrap_or(false),
            total: field("total").and_then(|v| v.as_u64()),
            items,
        })
    }

    /// Every item of a small list (teams, users, services, …), page by page.
    ///
    /// # Errors
    /// As [`Client::page`]; lists longer than PagerDuty's offset cap are
    /// refused with a clear error.
    pub async fn list_all(
        &self,
        path: &str,
        wrapper: &str,
        query: &[(String, String)],
    ) -> Result<Vec<Box<RawValue>>, Error> {
        let mut out = Vec::new();
        let mut offset = 0;
        loop {
            if offset + MAX_LIMIT > MAX_OFFSET_PLUS_LIMIT {
                return Err(Error::Decode {
                    path: path.to_owned(),
                    source: DecodeError::Envelope("more than 10,000 objects in one list".into()),
                });
            }
            let page = self
                .page(path, wrapper, query, offset, MAX_LIMIT, false)
                .await?;
            let n = page.items.len() as u64;
            out.extend(page.items);
            if !page.more || n == 0 {
                return Ok(out);
            }
            offset += n;
        }
    }
}

/// Reads each item as `T`; an item that cannot be read is logged with its id
/// and counted, and the rest go on.
pub fn decode_items<T: DeserializeOwned, I: AsRef<RawValue>>(
    kind: &str,
    items: Vec<I>,
) -> (Vec<T>, Vec<String>) {
    /// What is left to name an item that cannot be read.
    #[derive(Deserialize)]
    struct Id {
        id: String,
    }
    let mut ok = Vec::with_capacity(items.len());
    let mut skipped = Vec::new();
    for item in items {
        let raw = item.as_ref().get();
        match serde_json::from_str::<T>(raw) {
            Ok(v) => ok.push(v),
            Err(e) => {
                let id =
                    serde_json::from_str::<Id>(raw).map_or_else(|_| "<no id>".to_owned(), |i| i.id);
                tracing::warn!(kind, id = %id, error = %e, "skipping a PagerDuty object that cannot be read");
                skipped.push(id);
            }
        }
    }
    (ok, skipped)
}

fn transport(source: reqwest::Error) -> Failure {
    let what = if source.is_timeout() {
        "timed out"
    } else if source.is_connect() {
        "connection failed"
    } else if source.is_body() || source.is_decode() {
        "connection dropped while reading the body"
    } else {
        "request failed"
    };
    Failure::Transport { what, source }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_client_is_configured_only_with_a_token() {
        let mut settings = crate::config::Config::from_lookup(|_| None)
            .unwrap()
            .pagerduty;
        assert!(ClientConfig::from_settings(&settings).is_none());
        settings.token = Some(SecretString::from("abc"));
        settings.requests_per_minute = 120;
        let c = ClientConfig::from_settings(&settings).unwrap();
        assert_eq!(c.requests_per_minute, 120);
        assert_eq!(c.base_url, "https://api.pagerduty.com");
    }

    #[test]
    fn an_item_that_cannot_be_read_is_skipped_by_its_id_and_the_others_are_read() {
        let page = r#"[{"id":"PT1","name":"one"},{"id":"PT2","name":7},{"name":"no id"},{"id":"PT4","name":"four","new":1}]"#;
        let items: Vec<Box<RawValue>> = serde_json::from_str(page).unwrap();
        let (teams, skipped): (Vec<super::super::wire::Team>, _) = decode_items("team", items);
        let ids: Vec<&str> = teams.iter().map(|t| t.id.as_str()).collect();
        assert_eq!(ids, ["PT1", "PT4"]);
        assert_eq!(skipped, ["PT2", "<no id>"]);
    }
}
