//! PagerDuty: the REST client, wire models, the sync into our database,
//! webhooks, and a faithful simulator for tests, benchmarks and the demo.

pub mod client;
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
    },
    #[error("unreadable PagerDuty response for {path}: {message}")]
    Decode { path: String, message: String },
    #[error("PagerDuty configuration: {0}")]
    Config(String),
    #[error("database error during sync: {0}")]
    Db(#[from] sea_orm::DbErr),
    #[error("the sync was cancelled")]
    Cancelled,
}
