//! The `pagerlens` command line.

use std::net::SocketAddr;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use migration::{Migrator, MigratorTrait};
use pagerlens::config::{Config, redact_url};
use pagerlens::{App, db, telemetry};

#[derive(Parser)]
#[command(name = "pagerlens", version, about = "A faithful copy of your PagerDuty data, with SLAs, analytics and reports, served over GraphQL.", long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (GraphQL at /graphql, playground at /playground).
    Serve {
        /// Address to listen on [env: PAGERLENS_BIND] [default: 127.0.0.1:8080]
        #[arg(long, value_name = "ADDR")]
        bind: Option<SocketAddr>,
    },
    /// Apply, roll back or inspect database migrations.
    Migrate {
        #[command(subcommand)]
        action: MigrateAction,
    },
    /// Print the GraphQL schema (SDL).
    Schema,
}

#[derive(Subcommand)]
enum MigrateAction {
    /// Apply every pending migration.
    Up,
    /// Roll back the last migration (or the last N).
    Down {
        /// How many migrations to roll back.
        #[arg(long, default_value_t = 1)]
        steps: u32,
    },
    /// List migrations and whether each is applied.
    Status,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Command::Schema = cli.command {
        print!("{}", pagerlens::graphql::sdl());
        return ExitCode::SUCCESS;
    }
    let config = match Config::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("pagerlens: configuration error: {e}");
            return ExitCode::from(2);
        }
    };
    telemetry::init(&config.log_filter, config.log_format, std::io::stderr);
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
        Command::Serve { bind } => {
            let bind = bind.unwrap_or(config.bind);
            tracing::info!(database = %redact_url(config.database_url()), "starting pagerlens");
            let app = App::build(config).await?;
            let listener = tokio::net::TcpListener::bind(bind)
                .await
                .with_context(|| format!("cannot listen on {bind}"))?;
            tracing::info!(
                "listening on http://{}/ (playground at /playground)",
                listener.local_addr()?
            );
            app.serve(listener, shutdown_signal()).await?;
            tracing::info!("stopped");
            Ok(())
        }
        Command::Migrate { action } => {
            let conn = db::connect(&config).await?;
            match action {
                MigrateAction::Up => {
                    Migrator::up(&conn, None).await?;
                    println!("all migrations applied");
                }
                MigrateAction::Down { steps } => {
                    Migrator::down(&conn, Some(steps)).await?;
                    println!("rolled back {steps} migration(s)");
                }
                MigrateAction::Status => {
                    for m in Migrator::get_migration_with_status(&conn).await? {
                        println!(
                            "{:<10} {}",
                            format!("{:?}", m.status()).to_lowercase(),
                            m.name()
                        );
                    }
                }
            }
            Ok(())
        }
    }
}

/// Completes on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
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
    tracing::info!("shutting down: finishing requests in flight");
}
