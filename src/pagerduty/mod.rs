//! PagerDuty: the REST client, wire models, the sync into our database,
//! webhooks, and a faithful simulator for tests, benchmarks and the demo.

pub mod client;
pub mod custom_fields;
pub mod retry;
pub mod simulator;
pub mod store;
pub mod sync;
pub mod webhook;
pub mod wire;

pub use client::{Client, ClientConfig};

/// Everything that can go wrong talking to PagerDuty or syncing from it.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("PagerDuty refused {path} (HTTP {status}): {message}")]
    Api {
        status: u16,
        message: String,
        path: String,
    },
    #[error("PagerDuty did not answer {path} after {attempts} attempts; last error: {last}")]
    Exhausted {
        attempts: u32,
        path: String,
        last: String,
        /// The last HTTP status (0: no response, such as a timeout).
        status: u16,
    },
    #[error("unreadable PagerDuty response for {path}: {message}")]
    Decode { path: String, message: String },
    #[error("PagerDuty configuration: {0}")]
    Config(String),
    #[error("database error during sync: {0}")]
    Db(#[from] sea_orm::DbErr),
    #[error("the sync was cancelled")]
    Cancelled,
    /// A task fetching ahead ended without saying it was done (it panicked).
    #[error("the sync's {0} fetcher stopped before it finished")]
    FetcherStopped(&'static str),
}

impl Error {
    /// PagerDuty is down or unreachable (5xx, timeouts, dropped
    /// connections, rate limits that outlasted the retries): a cached value
    /// may stand in.
    pub fn upstream_unavailable(&self) -> bool {
        matches!(self, Error::Exhausted { .. })
    }

    /// The last answer was 503 Service Unavailable: callers wait a cooldown
    /// before asking again.
    pub fn is_service_unavailable(&self) -> bool {
        matches!(self, Error::Exhausted { status: 503, .. })
    }
}
