//! The `pagerlens` command line: the commands and their flags here, each
//! command group's work in a file of its own.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::Config;
use crate::telemetry;

mod accounts;
mod migrate;
pub mod progress;
mod report;
mod serve;
mod simulate;
mod sla;
mod sync;

#[derive(Parser)]
#[command(name = "pagerlens", version, about = "A faithful copy of your PagerDuty data, with SLAs, analytics and reports, served over GraphQL.", long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Run the server (GraphQL at /graphql, playground at /playground).
    Serve(serve::ServeArgs),
    /// Sync from PagerDuty: incremental by default (a full sync of
    /// PAGERLENS_SYNC_DAYS the first time), or as the flags say.
    Sync(sync::SyncArgs),
    /// Delete resolved incidents older than a cut-off, with their log entries
    /// and custom field values.
    Cleanup(sync::CleanupArgs),
    /// Run the SLA breach check once (the `sla_check` job does it every 5
    /// minutes): mark overdue targets breached and crossed warning shares
    /// warned, queueing their notifications.
    SlaCheck,
    /// Re-measure the SLAs of the incidents created in a range by today's
    /// policies (also closed ones; an admin's deliberate recompute), or with
    /// `--open` every open SLA, as a policy change does.
    SlaRecompute(sla::SlaRecomputeArgs),
    /// Compare PagerDuty's own raw incident analytics with pagerlens's
    /// (incidents created in the last N days); store and print the report.
    /// Exits 0 when nothing differs beyond PagerDuty's refresh lag, 1
    /// otherwise.
    VerifyAnalytics(sync::VerifyAnalyticsArgs),
    /// Run a fake PagerDuty API with generated data (for tests, benchmarks, demos).
    SimulatePagerduty(simulate::SimulatePagerdutyArgs),
    /// Apply, roll back or inspect database migrations.
    Migrate {
        #[command(subcommand)]
        action: migrate::MigrateAction,
    },
    /// Print the GraphQL schema (SDL).
    Schema,
    /// Write a report to a file (the same code as `requestReport`), with a
    /// progress bar.
    Report(report::ReportArgs),
    /// Manage the accounts that may log in.
    User {
        #[command(subcommand)]
        action: accounts::UserAction,
    },
    /// Manage API tokens.
    Token {
        #[command(subcommand)]
        action: accounts::TokenAction,
    },
}

/// Parses the command line, reads the configuration, sets up logging and
/// runs the command. The binary calls this after its allocator set-up.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Command::Schema = cli.command {
        print!("{}", crate::graphql::sdl());
        return ExitCode::SUCCESS;
    }
    let config = match Config::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("pagerlens: configuration error: {e}");
            return ExitCode::from(2);
        }
    };
    let ansi = telemetry::use_color(
        std::io::IsTerminal::is_terminal(&std::io::stderr()),
        std::env::var_os("NO_COLOR").as_deref(),
    );
    let _traces = telemetry::init_with_otlp(
        &config.log_filter,
        config.log_format,
        std::io::stderr,
        ansi,
        config.http.otlp_endpoint.is_some(),
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    match runtime.block_on(run(cli.command, config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("pagerlens: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command, config: Config) -> anyhow::Result<()> {
    match command {
        Command::Schema => unreachable!("handled before start-up"),
        Command::Serve(args) => serve::run(args, config).await,
        Command::Sync(args) => sync::run(args, config).await,
        Command::Cleanup(args) => sync::cleanup(args, config).await,
        Command::VerifyAnalytics(args) => sync::verify_analytics(args, config).await,
        Command::SlaCheck => sla::check(config).await,
        Command::SlaRecompute(args) => sla::recompute(args, config).await,
        Command::SimulatePagerduty(args) => simulate::run(args).await,
        Command::Report(args) => report::run(args, config).await,
        Command::User { action } => accounts::user(action, config).await,
        Command::Token { action } => accounts::token(action, config).await,
        Command::Migrate { action } => migrate::run(action, config).await,
    }
}

/// Reads `YYYY-MM-DD` (midnight UTC) or an RFC 3339 instant.
pub(crate) fn parse_date(s: &str) -> anyhow::Result<chrono::DateTime<chrono::Utc>> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&chrono::Utc));
    }
    let d = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map_err(|_| anyhow::anyhow!("{s:?} is not a date (YYYY-MM-DD) or an RFC 3339 instant"))?;
    Ok(d.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc())
}

/// Completes on Ctrl-C or SIGTERM.
pub(crate) async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("signal received");
}
