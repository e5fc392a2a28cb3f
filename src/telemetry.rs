//! Logging: human or JSON lines, filtered by `PAGERLENS_LOG`; traces
//! exported over OTLP/HTTP when `OTEL_EXPORTER_OTLP_ENDPOINT` is set.

use tracing_subscriber::EnvFilter;
use tracing_subscriber::Layer;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::config::LogFormat;

/// An error and its causes on one line (`error: cause: cause`), for a log
/// line or a stored message.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// Installs the global subscriber once; later calls are ignored, so tests may
/// call it freely.
pub fn init<W>(filter: &str, format: LogFormat, writer: W)
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let _ = init_with_otlp(filter, format, writer, false, false);
}

/// Whether human-format log lines are coloured: only on a terminal, and
/// never with `NO_COLOR` set to anything but the empty string
/// (<https://no-color.org>).
pub fn use_color(is_terminal: bool, no_color: Option<&std::ffi::OsStr>) -> bool {
    is_terminal && no_color.is_none_or(std::ffi::OsStr::is_empty)
}

/// Flushes and stops the trace exporter when dropped (at the end of `main`).
pub struct TraceExport(opentelemetry_sdk::trace::SdkTracerProvider);

impl Drop for TraceExport {
    fn drop(&mut self) {
        if let Err(e) = self.0.shutdown() {
            eprintln!("pagerlens: flushing traces failed: {e}");
        }
    }
}

/// Like [`init`], colouring human-format lines with `ansi` (see
/// [`use_color`]), and with `otlp` also exports every span (requests, jobs,
/// syncs) over OTLP/HTTP in protobuf to the collector named by the standard
/// `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`)
/// variables, batched on a thread of its own. Call it before starting a
/// Tokio runtime, and keep the returned guard until the end of `main`.
pub fn init_with_otlp<W>(
    filter: &str,
    format: LogFormat,
    writer: W,
    ansi: bool,
    otlp: bool,
) -> Option<TraceExport>
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let env_filter = || EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let fmt = match format {
        LogFormat::Human => tracing_subscriber::fmt::layer()
            .with_ansi(ansi)
            .with_writer(writer)
            .boxed(),
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .with_ansi(false)
            .json()
            .flatten_event(true)
            .with_writer(writer)
            .boxed(),
    };
    let (otel, guard) = match otlp.then(otlp_provider) {
        Some(Ok(provider)) => {
            use opentelemetry::trace::TracerProvider as _;
            let layer = tracing_opentelemetry::layer()
                .with_tracer(provider.tracer("pagerlens"))
                .with_filter(env_filter());
            (Some(layer), Some(TraceExport(provider)))
        }
        Some(Err(e)) => {
            eprintln!("pagerlens: traces are not exported: {e}");
            (None, None)
        }
        None => (None, None),
    };
    tracing_subscriber::registry()
        .with(fmt.with_filter(env_filter()))
        .with(otel)
        .try_init()
        .ok()
        .and(guard)
}

fn otlp_provider() -> Result<opentelemetry_sdk::trace::SdkTracerProvider, String> {
    // Endpoint, headers and timeout come from the standard OTEL_* variables.
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .build()
        .map_err(|e| e.to_string())?;
    let mut resource = opentelemetry_sdk::Resource::builder();
    if std::env::var_os("OTEL_SERVICE_NAME").is_none() {
        resource = resource.with_service_name("pagerlens");
    }
    Ok(opentelemetry_sdk::trace::SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(resource.build())
        .build())
}

/// Prometheus metrics: the recorder is installed once per process, and every
/// module records with the `metrics` macros under the names below.
pub mod metrics {
    use std::collections::HashSet;
    use std::sync::{Mutex, OnceLock};

    use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

    /// Seconds: from a millisecond to half an hour (jobs are long).
    const BUCKETS: &[f64] = &[
        0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
        300.0, 1800.0,
    ];

    pub const HTTP_REQUESTS: &str = "pagerlens_http_requests_total";
    pub const HTTP_DURATION: &str = "pagerlens_http_request_duration_seconds";
    pub const HTTP_RATE_LIMITED: &str = "pagerlens_http_rate_limited_total";
    pub const GRAPHQL_DURATION: &str = "pagerlens_graphql_request_duration_seconds";
    pub const PAGERDUTY_REQUESTS: &str = "pagerlens_pagerduty_requests_total";
    pub const PAGERDUTY_RETRIES: &str = "pagerlens_pagerduty_retries_total";
    pub const PAGERDUTY_RATE_LIMITED: &str = "pagerlens_pagerduty_rate_limited_total";
    pub const PAGERDUTY_RATE_LIMIT_WAIT: &str = "pagerlens_pagerduty_rate_limit_wait_seconds_total";
    pub const JOBS_FINISHED: &str = "pagerlens_jobs_finished_total";
    pub const JOB_DURATION: &str = "pagerlens_job_duration_seconds";
    pub const SLA_BREACHES: &str = "pagerlens_sla_breaches_total";
    pub const SLA_WARNINGS: &str = "pagerlens_sla_warnings_total";
    pub const CACHE_LOOKUPS: &str = "pagerlens_cache_lookups_total";
    pub const DB_POOL_CONNECTIONS: &str = "pagerlens_db_pool_connections";
    pub const DB_POOL_MAX: &str = "pagerlens_db_pool_max_connections";

    /// The process's recorder, installed at the first call. `None` when
    /// another recorder was installed first (an embedding program's).
    pub fn handle() -> Option<&'static PrometheusHandle> {
        static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
        HANDLE
            .get_or_init(|| {
                let built = PrometheusBuilder::new()
                    .set_buckets(BUCKETS)
                    .and_then(PrometheusBuilder::install_recorder);
                match built {
                    Ok(h) => {
                        describe();
                        ::metrics::gauge!("pagerlens_build_info", "version" => env!("CARGO_PKG_VERSION")).set(1.0);
                        Some(h)
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "metrics recorder not installed");
                        None
                    }
                }
            })
            .as_ref()
    }

    fn describe() {
        use ::metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
        describe_counter!(HTTP_REQUESTS, "HTTP requests by method, route and status");
        describe_histogram!(
            HTTP_DURATION,
            Unit::Seconds,
            "HTTP request latency by method and route"
        );
        describe_counter!(
            HTTP_RATE_LIMITED,
            "requests refused with 429 by the per-client rate limits"
        );
        describe_histogram!(
            GRAPHQL_DURATION,
            Unit::Seconds,
            "GraphQL request latency by operation name and result"
        );
        describe_counter!(PAGERDUTY_REQUESTS, "PagerDuty API requests sent");
        describe_counter!(
            PAGERDUTY_RETRIES,
            "PagerDuty requests retried after a 5xx, timeout or dropped connection"
        );
        describe_counter!(PAGERDUTY_RATE_LIMITED, "PagerDuty 429 answers");
        describe_counter!(
            PAGERDUTY_RATE_LIMIT_WAIT,
            Unit::Seconds,
            "time spent waiting on PagerDuty rate limits"
        );
        describe_counter!(JOBS_FINISHED, "jobs finished, by kind and outcome");
        describe_histogram!(
            JOB_DURATION,
            Unit::Seconds,
            "job run time, by kind and outcome"
        );
        describe_counter!(SLA_BREACHES, "SLA targets marked breached");
        describe_counter!(SLA_WARNINGS, "SLA at-risk warnings raised");
        describe_counter!(
            CACHE_LOOKUPS,
            "analytics and live cache look-ups by result (hit, miss, stale)"
        );
        describe_gauge!(
            DB_POOL_CONNECTIONS,
            "database pool connections by state (idle, in_use)"
        );
        describe_gauge!(DB_POOL_MAX, "database pool size");
    }

    /// A bounded label for a client-chosen GraphQL operation name: names are
    /// cut to 64 characters of `[A-Za-z0-9_]`, and after 200 distinct names
    /// further ones count as `other`, so clients cannot grow the metrics
    /// without bound.
    pub fn operation_label(name: Option<&str>) -> String {
        static SEEN: OnceLock<Mutex<HashSet<String>>> = OnceLock::new();
        let Some(name) = name.filter(|n| !n.is_empty()) else {
            return "anonymous".to_owned();
        };
        let clean: String = name
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
            .take(64)
            .collect();
        if clean.is_empty() {
            return "other".to_owned();
        }
        let mut seen = SEEN
            .get_or_init(Default::default)
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if seen.contains(&clean) || seen.len() < 200 {
            seen.insert(clean.clone());
            clean
        } else {
            "other".to_owned()
        }
    }

    /// Samples the database pool into its gauges (called at each scrape).
    pub fn record_pool(db: &sea_orm::DatabaseConnection) {
        let (size, idle, max) = match &db.inner {
            sea_orm::DatabaseConnectionType::SqlxPostgresPoolConnection(_) => {
                let p = db.get_postgres_connection_pool();
                (
                    p.size(),
                    p.num_idle() as u32,
                    p.options().get_max_connections(),
                )
            }
            sea_orm::DatabaseConnectionType::SqlxSqlitePoolConnection(_) => {
                let p = db.get_sqlite_connection_pool();
                (
                    p.size(),
                    p.num_idle() as u32,
                    p.options().get_max_connections(),
                )
            }
            _ => return,
        };
        ::metrics::gauge!(DB_POOL_CONNECTIONS, "state" => "idle").set(f64::from(idle));
        ::metrics::gauge!(DB_POOL_CONNECTIONS, "state" => "in_use")
            .set(f64::from(size.saturating_sub(idle)));
        ::metrics::gauge!(DB_POOL_MAX).set(f64::from(max));
    }
}

#[cfg(test)]
mod tests {
    use super::metrics::operation_label;
    use super::use_color;
    use std::ffi::OsStr;

    #[test]
    fn colour_only_on_a_terminal_without_no_color() {
        assert!(use_color(true, None));
        assert!(
            use_color(true, Some(OsStr::new(""))),
            "an empty NO_COLOR is unset"
        );
        assert!(!use_color(true, Some(OsStr::new("1"))));
        assert!(!use_color(false, None));
        assert!(!use_color(false, Some(OsStr::new("1"))));
    }

    #[test]
    fn operation_labels_are_bounded() {
        assert_eq!(operation_label(None), "anonymous");
        assert_eq!(operation_label(Some("")), "anonymous");
        assert_eq!(operation_label(Some("Bad Name\n{}")), "BadName");
        assert_eq!(operation_label(Some(&"a".repeat(300))).len(), 64);
        // Past 200 distinct names, new ones share one label; known ones keep theirs.
        for i in 0..250 {
            operation_label(Some(&format!("Flood{i}")));
        }
        assert_eq!(operation_label(Some("NeverSeenBefore")), "other");
        assert_eq!(operation_label(Some("BadName")), "BadName");
    }
}
