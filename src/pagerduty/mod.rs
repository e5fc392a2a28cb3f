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
    #[error("PagerDuty did not answer {path} after {attempts} attempts")]
    Exhausted {
        attempts: u32,
        path: String,
        /// The last HTTP status (0: no response, such as a timeout).
        status: u16,
        /// What went wrong the last time.
        #[source]
        last: Failure,
    },
    #[error("unreadable PagerDuty response for {path}")]
    Decode {
        path: String,
        #[source]
        source: DecodeError,
    },
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

/// Why one attempt at a request failed.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// PagerDuty answered with an error status.
    #[error("HTTP {status}: {message}")]
    Status { status: u16, message: String },
    /// No answer: a timeout, a refused or dropped connection. `what` says
    /// which; the error's own text names the URL, never the token.
    #[error("{what}")]
    Transport {
        what: &'static str,
        #[source]
        source: reqwest::Error,
    },
    /// An answer whose body was not the JSON expected (truncated, garbled).
    #[error("unreadable JSON body")]
    Body(#[source] serde_json::Error),
}

/// Why a response PagerDuty gave could not be read.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// The body is JSON, but not of the shape the API documents.
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    /// The envelope lacks what it should hold.
    #[error("{0}")]
    Envelope(String),
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
