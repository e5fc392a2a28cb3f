//! The `pagerlens` command line.

use std::net::SocketAddr;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use migration::{Migrator, MigratorTrait};
use pagerlens::config::{Config, redact_url};
use pagerlens::pagerduty::simulator::{self, Faults, SimConfig, Sizes};
use pagerlens::pagerduty::sync::{SyncKind, SyncOptions};
use pagerlens::{App, db, pagerduty, telemetry};

/// mimalloc: the system allocator spent a fifth of a sync's CPU time in
/// malloc and free across threads (see BENCHMARKS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// SQLite's own allocations (the values it copies out for every column of
/// every row, its page cache) go to mimalloc as well, and it stops keeping
/// memory statistics (a process-wide mutex taken on every allocation).
/// Through the system allocator a large report spent a quarter of its
/// reading thread's time in glibc's `malloc_consolidate` and that mutex:
/// the values are freed on another thread than the one that allocated
/// them (see BENCHMARKS.md). Must run before the first SQLite connection
/// opens; later, SQLite refuses the change and keeps its defaults.
mod sqlite_memory {
    use std::ffi::{c_int, c_void};

    use libmimalloc_sys::{mi_free, mi_malloc, mi_realloc, mi_usable_size};
    use libsqlite3_sys as ffi;

    unsafe extern "C" fn malloc(n: c_int) -> *mut c_void {
        // SAFETY: mi_malloc takes any size; SQLite asks for positive ones.
        unsafe { mi_malloc(usize::try_from(n).unwrap_or(0)) }
    }

    unsafe extern "C" fn free(p: *mut c_void) {
        // SAFETY: SQLite frees only what `malloc`/`realloc` returned.
        unsafe { mi_free(p) }
    }

    unsafe extern "C" fn realloc(p: *mut c_void, n: c_int) -> *mut c_void {
        // SAFETY: as above; mi_realloc keeps the contents.
        unsafe { mi_realloc(p, usize::try_from(n).unwrap_or(0)) }
    }

    unsafe extern "C" fn size(p: *mut c_void) -> c_int {
        // SAFETY: `p` came from `malloc`/`realloc`; SQLite may use all of
        // the usable size, which mimalloc allows.
        c_int::try_from(unsafe { mi_usable_size(p) }).unwrap_or(c_int::MAX)
    }

    unsafe extern "C" fn roundup(n: c_int) -> c_int {
        (n + 7) & !7
    }

    unsafe extern "C" fn init(_: *mut c_void) -> c_int {
        ffi::SQLITE_OK
    }

    unsafe extern "C" fn shutdown(_: *mut c_void) {}

    pub fn configure() {
        let methods = ffi::sqlite3_mem_methods {
            xMalloc: Some(malloc),
            xFree: Some(free),
            xRealloc: Some(realloc),
            xSize: Some(size),
            xRoundup: Some(roundup),
            xInit: Some(init),
            xShutdown: Some(shutdown),
            pAppData: std::ptr::null_mut(),
        };
        // SAFETY: called once, before any connection opens (SQLite copies
        // `methods`); SQLite answers SQLITE_MISUSE, changing nothing, if
        // it is already initialised.
        let (memstatus, malloc) = unsafe {
            (
                ffi::sqlite3_config(ffi::SQLITE_CONFIG_MEMSTATUS, 0 as c_int),
                ffi::sqlite3_config(ffi::SQLITE_CONFIG_MALLOC, &raw const methods),
            )
        };
        if memstatus != ffi::SQLITE_OK || malloc != ffi::SQLITE_OK {
            tracing::debug!(memstatus, malloc, "SQLite kept its default allocator");
        }
    }
}

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
        /// Demo mode: run the PagerDuty simulator in-process (loopback only)
        /// and sync from it, so the server is populated at once.
        #[arg(long)]
        demo: bool,
    },
    /// Sync from PagerDuty: incremental by default (a full sync of
    /// PAGERLENS_SYNC_DAYS the first time), or as the flags say.
    Sync {
        /// Full sync of this many days of incidents (any length).
        #[arg(long, value_name = "N", conflicts_with = "service")]
        days: Option<u32>,
        /// Only this service's incidents.
        #[arg(long, value_name = "ID")]
        service: Option<String>,
        /// With --service: from this date (YYYY-MM-DD or RFC 3339) [default: 30 days ago].
        #[arg(long, value_name = "DATE", requires = "service")]
        since: Option<String>,
    },
    /// Delete resolved incidents older than a cut-off, with their log entries
    /// and custom field values.
    Cleanup {
        /// Age such as 60d, 12w or 48h.
        #[arg(long, value_name = "AGE")]
        older_than: String,
    },
    /// Run the SLA breach check once (the `sla_check` job does it every 5
    /// minutes): mark overdue targets breached and crossed warning shares
    /// warned, queueing their notifications.
    SlaCheck,
    /// Re-measure the SLAs of the incidents created in a range by today's
    /// policies (also closed ones; an admin's deliberate recompute), or with
    /// `--open` every open SLA, as a policy change does.
    SlaRecompute {
        /// Start (YYYY-MM-DD or RFC 3339), inclusive.
        #[arg(long, required_unless_present = "open")]
        from: Option<String>,
        /// End (YYYY-MM-DD or RFC 3339), exclusive.
        #[arg(long, required_unless_present = "open")]
        to: Option<String>,
        /// Re-evaluate the SLAs of every open incident by today's policies in
        /// one transaction, as saving or deleting a policy does; closed
        /// targets keep the policy they were measured by.
        #[arg(long, conflicts_with_all = ["from", "to"])]
        open: bool,
    },
    /// Run a fake PagerDuty API with generated data (for tests, benchmarks, demos).
    SimulatePagerduty {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:9191")]
        bind: SocketAddr,
        /// Seed of the generated organisation.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Number of incidents.
        #[arg(long, default_value_t = 1000)]
        incidents: usize,
        /// Days the incidents span, ending now.
        #[arg(long, default_value_t = 30)]
        days: u32,
        /// Number of services.
        #[arg(long, default_value_t = 10)]
        services: usize,
        /// API token clients must send.
        #[arg(long, default_value = "simulator-token")]
        token: String,
        /// Requests allowed per minute before 429s (0: unlimited).
        #[arg(long, default_value_t = 0)]
        rate_limit: u32,
        /// Share of requests (0–1) that fail: 5xx, 429, slow, dropped, truncated or malformed.
        #[arg(long, default_value_t = 0.0)]
        fault_rate: f64,
        /// Latency added to every response, in milliseconds.
        #[arg(long, default_value_t = 0)]
        latency_ms: u64,
        /// Custom fields the organisation defines: `all` (on every incident
        /// type), `none`, or `some-types` (on the `security` type only).
        #[arg(long, default_value = "all")]
        custom_fields: pagerlens::pagerduty::simulator::FieldSetup,
    },
    /// Apply, roll back or inspect database migrations.
    Migrate {
        #[command(subcommand)]
        action: MigrateAction,
    },
    /// Print the GraphQL schema (SDL).
    Schema,
    /// Write a report to a file (the same code as `requestReport`), with a
    /// progress bar.
    Report {
        /// incidents, services, teams, service-teams, escalation-policies,
        /// escalation-policy-teams, escalation-policy-services,
        /// incidents-per-service, incident-status-per-service,
        /// service-summary or sla-compliance.
        kind: String,
        /// xlsx or csv [default: from the file name, else xlsx].
        #[arg(long)]
        format: Option<String>,
        /// Where to write it.
        #[arg(short = 'o', long = "output", value_name = "FILE")]
        output: std::path::PathBuf,
        /// Only this service (repeatable).
        #[arg(long = "service", value_name = "ID")]
        services: Vec<String>,
        /// Only this team's services (repeatable).
        #[arg(long = "team", value_name = "ID")]
        teams: Vec<String>,
        /// Only incidents in this status (repeatable): triggered, acknowledged, resolved.
        #[arg(long = "status")]
        statuses: Vec<String>,
        /// Only incidents of this urgency (repeatable): high, low.
        #[arg(long = "urgency")]
        urgencies: Vec<String>,
        /// Incidents created at or after (YYYY-MM-DD or RFC 3339).
        #[arg(long, value_name = "DATE")]
        from: Option<String>,
        /// Incidents created before (YYYY-MM-DD or RFC 3339).
        #[arg(long, value_name = "DATE")]
        to: Option<String>,
        /// Time zone of the dates [default: PAGERLENS_REPORT_TZ].
        #[arg(long, value_name = "IANA_ZONE")]
        tz: Option<String>,
    },
    /// Manage the accounts that may log in.
    User {
        #[command(subcommand)]
        action: UserAction,
    },
    /// Manage API tokens.
    Token {
        #[command(subcommand)]
        action: TokenAction,
    },
}

#[derive(Subcommand)]
enum UserAction {
    /// Add an account (or, with --update, change an existing one's role and reactivate it).
    Add {
        email: String,
        /// admin, user or viewer.
        #[arg(long, default_value = "viewer")]
        role: String,
        /// Display name [default: the part of the email before @].
        #[arg(long)]
        name: Option<String>,
        /// Change the role of an existing account instead of failing.
        #[arg(long)]
        update: bool,
        /// Limit the account to this PagerDuty team id (repeatable) [default: every team].
        #[arg(long = "team", value_name = "TEAM_ID")]
        teams: Vec<String>,
    },
    /// List accounts.
    List,
    /// Deactivate an account: ends its sessions and revokes its tokens.
    Deactivate { email: String },
}

#[derive(Subcommand)]
enum TokenAction {
    /// Create an API token and print it on stdout (shown once).
    Create {
        /// Whose token.
        #[arg(long)]
        user: String,
        /// What the token is for.
        #[arg(long)]
        name: String,
        /// Lifetime such as 90d or 12w [default: no expiry].
        #[arg(long, value_name = "AGE")]
        expires: Option<String>,
        /// At most the account's role [default: the account's role].
        #[arg(long)]
        role: Option<String>,
        /// Limit the token to this PagerDuty team id (repeatable) [default: the account's teams].
        #[arg(long = "team", value_name = "TEAM_ID")]
        teams: Vec<String>,
    },
    /// List tokens (never their secrets).
    List,
    /// Revoke a token by id.
    Revoke { id: i32 },
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

/// mimalloc commits the arena it reserves eagerly by default, and memory
/// freed there is only reset (`MADV_FREE`), so it stays in the process's
/// resident set until the kernel needs it: a sync that writes its derived
/// rows in batches showed 160-200 MB resident for about 120 MB in use.
/// Committed on demand, freed memory is decommitted and the resident set
/// follows the use (see BENCHMARKS.md). mimalloc reads the option when it
/// reserves its first arena, at the first allocation, which the Rust
/// runtime makes before `main`: so this runs as an ELF constructor, before
/// the runtime starts. `MIMALLOC_ARENA_EAGER_COMMIT` still overrides it.
#[cfg(target_os = "linux")]
#[used]
#[unsafe(link_section = ".init_array")]
static CONFIGURE_ALLOCATOR: extern "C" fn() = {
    extern "C" fn configure() {
        // `mi_option_arena_eager_commit` in the option list of mimalloc 3,
        // which the crate builds; it has no constant for it.
        const ARENA_EAGER_COMMIT: libmimalloc_sys::mi_option_t = 4;
        if std::env::var_os("MIMALLOC_ARENA_EAGER_COMMIT").is_none() {
            // SAFETY: options are plain integers, read by mimalloc on use;
            // this runs before any thread exists.
            unsafe { libmimalloc_sys::mi_option_set(ARENA_EAGER_COMMIT, 0) };
        }
    }
    configure
};

fn main() -> ExitCode {
    sqlite_memory::configure();
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
        Command::Serve { bind, demo } => {
            let mut config = config;
            let bind = bind.unwrap_or(config.bind);
            if demo {
                anyhow::ensure!(
                    bind.ip().is_loopback(),
                    "--demo only serves on a loopback address (got {bind})"
                );
            }
            let listener = tokio::net::TcpListener::bind(bind)
                .await
                .with_context(|| format!("cannot listen on {bind}"))?;
            if std::env::var_os("PAGERLENS_PUBLIC_URL").is_none() {
                config.public_url =
                    url::Url::parse(&format!("http://{}/", listener.local_addr()?))?;
            }
            let sim = if demo {
                config.enable_demo_identity_provider();
                // The demo loop syncs every minute itself.
                for c in &mut config.jobs.cron {
                    if pagerlens::jobs::scheduler::kind_of(c)
                        == Some(pagerlens::jobs::JobKind::Sync)
                    {
                        c.expression = None;
                    }
                }
                Some(pagerlens::demo::start_simulator(&mut config).await?)
            } else {
                None
            };
            tracing::info!(database = %redact_url(config.database_url()), demo, "starting pagerlens");
            let app = App::build(config).await?;
            let _demo = sim.as_ref().map(|s| {
                tracing::info!(simulator = %s.base_url(), "demo mode: syncing from the built-in PagerDuty simulator");
                pagerlens::demo::spawn_sync_loop(&app, s)
            });
            if demo {
                tracing::info!(
                    "demo mode: log in at {}auth/login with the demo identity provider (admin, user or viewer)",
                    app.config.public_url
                );
            }
            tracing::info!(
                "listening on http://{}/ (playground at /playground)",
                listener.local_addr()?
            );
            let stop = tokio_util::sync::CancellationToken::new();
            if let Some(addr) = app.config.http.metrics_bind {
                let metrics = tokio::net::TcpListener::bind(addr)
                    .await
                    .with_context(|| format!("cannot listen on {addr} (PAGERLENS_METRICS_BIND)"))?;
                tracing::info!("metrics on http://{}/metrics", metrics.local_addr()?);
                let app = app.clone();
                let stopping = stop.clone();
                tokio::spawn(async move {
                    if let Err(e) = app
                        .serve_metrics(metrics, async move { stopping.cancelled().await })
                        .await
                    {
                        tracing::error!(error = %e, "the metrics listener failed");
                    }
                });
            }
            let background = app.start_background(stop.clone()).await?;
            let stopping = stop.clone();
            app.serve(listener, async move {
                tokio::select! {
                    () = shutdown_signal() => {}
                    () = stopping.cancelled() => {}
                }
                // Workers hand their jobs back while requests finish.
                stopping.cancel();
            })
            .await?;
            stop.cancel();
            background.stop().await;
            tracing::info!("stopped");
            Ok(())
        }
        Command::Sync {
            days,
            service,
            since,
        } => {
            let app = App::build(config).await?;
            let client = app
                .pagerduty
                .clone()
                .context("PAGERDUTY_TOKEN is not set: there is no PagerDuty to sync from")?;
            let kind = match (days, service) {
                (Some(days), _) => SyncKind::Full { days },
                (None, Some(id)) => SyncKind::Service {
                    id,
                    since: since
                        .as_deref()
                        .map(parse_date)
                        .transpose()
                        .map_err(|e| anyhow::anyhow!("--since: {e}"))?,
                },
                (None, None) => {
                    if pagerduty::sync::incremental_ready(&app.db).await? {
                        SyncKind::Incremental
                    } else {
                        SyncKind::Full {
                            days: app.config.pagerduty.sync_days,
                        }
                    }
                }
            };
            let mut opts = SyncOptions::new(kind, "cli");
            opts.overlap =
                chrono::Duration::minutes(i64::from(app.config.pagerduty.sync_overlap_minutes));
            opts.sla = app.config.sla.clone();
            // The analytics cache learns of the changes through the bus.
            opts.events = Some(app.events.clone());
            opts.progress = pagerlens::progress::for_cli();
            let report = pagerduty::sync::run(&app.db, &client, &opts).await?;
            drop(opts);
            for (kind, c) in &report.counts {
                println!(
                    "{kind:<22} inserted {:>7}  updated {:>7}  unchanged {:>7}",
                    c.inserted, c.updated, c.unchanged
                );
            }
            println!(
                "run {}: {} API calls, {} retries, {} rate-limit waits, {} skipped",
                report.run_id,
                report.api.api_calls,
                report.api.retries,
                report.api.rate_limited,
                report.skipped_ids.len()
            );
            Ok(())
        }
        Command::Report {
            kind,
            format,
            output,
            services,
            teams,
            statuses,
            urgencies,
            from,
            to,
            tz,
        } => {
            use pagerlens::reports::{self, Filter, Format, ReportKind, Request};
            let kind = ReportKind::parse(&kind)?;
            let format = match format {
                Some(f) => Format::parse(&f)?,
                None => match output.extension().and_then(|e| e.to_str()) {
                    Some(e) if e.eq_ignore_ascii_case("csv") => Format::Csv,
                    _ => Format::Xlsx,
                },
            };
            let date = |flag: &str, v: Option<String>| {
                v.map(|v| {
                    parse_date(&v).map_err(|_| {
                        anyhow::anyhow!(
                            "--{flag}: {v:?} is not a date (YYYY-MM-DD) or an RFC 3339 instant"
                        )
                    })
                })
                .transpose()
            };
            let request = Request {
                kind,
                format,
                filter: Filter {
                    service_ids: services,
                    team_ids: teams,
                    statuses: statuses.iter().map(|s| s.to_ascii_lowercase()).collect(),
                    urgencies: urgencies.iter().map(|s| s.to_ascii_lowercase()).collect(),
                    from: date("from", from)?,
                    to: date("to", to)?,
                },
                time_zone: tz,
                scope: None,
                schedule_id: None,
            };
            let app = App::build(config).await?;
            reports::validate(&app.db, &request).await?;
            let progress = pagerlens::progress::for_cli_report();
            let started = std::time::Instant::now();
            let generated = reports::generate(
                &app.db,
                &request,
                &reports::Options::from_settings(&app.config.reports, &app.config.analytics),
                &output,
                &progress,
                &tokio_util::sync::CancellationToken::new(),
            )
            .await?;
            drop(progress);
            println!(
                "wrote {} ({} rows, {} bytes) in {:.1} s",
                output.display(),
                generated.rows,
                generated.bytes,
                started.elapsed().as_secs_f64()
            );
            Ok(())
        }
        Command::Cleanup { older_than } => {
            let age = pagerlens::config::parse_age(&older_than)
                .map_err(|e| anyhow::anyhow!("--older-than: {e}"))?;
            let app = App::build(config).await?;
            let cutoff = chrono::Utc::now() - age;
            let n = pagerlens::incidents::delete_resolved_before(&app.db, cutoff).await?;
            println!(
                "deleted {n} resolved incident(s) older than {older_than} (before {})",
                cutoff.to_rfc3339()
            );
            Ok(())
        }
        Command::SlaCheck => {
            let app = App::build(config).await?;
            let started = std::time::Instant::now();
            let r = pagerlens::sla::check(&app.db, &app.config.sla, chrono::Utc::now()).await?;
            println!(
                "sla check: {} breached, {} warned in {:.3} s",
                r.breached,
                r.warned,
                started.elapsed().as_secs_f64()
            );
            Ok(())
        }
        Command::SlaRecompute { open: true, .. } => {
            let app = App::build(config).await?;
            let started = std::time::Instant::now();
            let n = pagerlens::sla::reevaluate_open_slas(&app.db, &app.config.sla)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!(
                "sla re-evaluation of open incidents: {n} target(s) written in {:.3} s",
                started.elapsed().as_secs_f64()
            );
            Ok(())
        }
        Command::SlaRecompute { from, to, .. } => {
            let (Some(from), Some(to)) = (from, to) else {
                anyhow::bail!("sla-recompute needs --from and --to, or --open");
            };
            let from = parse_date(&from).map_err(|e| anyhow::anyhow!("--from: {e}"))?;
            let to = parse_date(&to).map_err(|e| anyhow::anyhow!("--to: {e}"))?;
            let app = App::build(config).await?;
            let started = std::time::Instant::now();
            let n = pagerlens::sla::recompute_range(&app.db, &app.config.sla, from, to, |_, _| {
                std::ops::ControlFlow::Continue(())
            })
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!(
                "sla recompute: {n} target(s) written in {:.3} s",
                started.elapsed().as_secs_f64()
            );
            Ok(())
        }
        Command::SimulatePagerduty {
            bind,
            seed,
            incidents,
            days,
            services,
            token,
            rate_limit,
            fault_rate,
            latency_ms,
            custom_fields,
        } => {
            anyhow::ensure!(
                (0.0..=1.0).contains(&fault_rate),
                "--fault-rate must be between 0 and 1"
            );
            let mut sim = SimConfig::new(
                seed,
                Sizes {
                    incidents,
                    days,
                    services,
                    ..Sizes::default()
                },
            );
            sim.token = token;
            sim.rate_limit_per_minute = rate_limit;
            sim.latency = std::time::Duration::from_millis(latency_ms);
            sim.custom_fields = custom_fields;
            if fault_rate > 0.0 {
                sim.faults = Faults::mixed(fault_rate);
            }
            let listener = tokio::net::TcpListener::bind(bind)
                .await
                .with_context(|| format!("cannot listen on {bind}"))?;
            let handle = simulator::spawn(sim, listener).await?;
            println!(
                "PagerDuty simulator on {} ({incidents} incidents over {days} days)",
                handle.base_url()
            );
            shutdown_signal().await;
            Ok(())
        }
        Command::User { action } => {
            use pagerlens::auth::{Role, accounts, scopes};
            let app = App::build(config).await?;
            match action {
                UserAction::Add {
                    email,
                    role,
                    name,
                    update,
                    teams,
                } => {
                    let role = Role::parse(&role)?;
                    // Checked first, so a typo in a team id creates nothing.
                    scopes::validate_teams(&app.db, &teams).await?;
                    let account = match accounts::find_by_email(&app.db, &email).await? {
                        Some(existing) if update => {
                            accounts::set_role(&app.db, existing.id, role).await?;
                            accounts::set_active(&app.db, existing.id, true).await?
                        }
                        _ => accounts::create(&app.db, &email, name.as_deref(), role).await?,
                    };
                    if !teams.is_empty() {
                        scopes::set_account_teams(&app.db, None, account.id, Some(&teams)).await?;
                    }
                    println!("{} {} ({})", account.id, account.email, account.role);
                }
                UserAction::List => {
                    println!(
                        "{:<5} {:<36} {:<7} {:<8} {:<25} teams",
                        "id", "email", "role", "active", "last login"
                    );
                    let all = accounts::list(&app.db).await?;
                    let ids: Vec<i32> = all.iter().map(|a| a.id).collect();
                    let teams = scopes::teams_of_accounts(&app.db, &ids).await?;
                    for a in all {
                        println!(
                            "{:<5} {:<36} {:<7} {:<8} {:<25} {}",
                            a.id,
                            a.email,
                            a.role,
                            if a.active { "yes" } else { "no" },
                            a.last_login_at.map_or("never".into(), |t| t.to_rfc3339()),
                            teams.get(&a.id).map_or("all".into(), |t| t.join(","))
                        );
                    }
                }
                UserAction::Deactivate { email } => {
                    let account = accounts::find_by_email(&app.db, &email)
                        .await?
                        .with_context(|| format!("no account for {email}"))?;
                    accounts::set_active(&app.db, account.id, false).await?;
                    println!("deactivated {email}: its sessions ended and its tokens are revoked");
                }
            }
            Ok(())
        }
        Command::Token { action } => {
            use pagerlens::auth::{Role, accounts, tokens};
            let app = App::build(config).await?;
            match action {
                TokenAction::Create {
                    user,
                    name,
                    expires,
                    role,
                    teams,
                } => {
                    let account = accounts::find_by_email(&app.db, &user)
                        .await?
                        .with_context(|| {
                            format!("no account for {user}: add it with `pagerlens user add`")
                        })?;
                    let expires_at = expires
                        .as_deref()
                        .map(pagerlens::config::parse_age)
                        .transpose()
                        .map_err(|e| anyhow::anyhow!("--expires: {e}"))?
                        .map(|age| chrono::Utc::now() + age);
                    let role = role.as_deref().map(Role::parse).transpose()?;
                    let (secret, token) = tokens::create(
                        &app.db,
                        None,
                        tokens::NewToken {
                            account_id: account.id,
                            name,
                            role,
                            expires_at,
                            team_ids: teams,
                        },
                    )
                    .await?;
                    eprintln!(
                        "token {} ({}) for {} with role {}{}; it is shown only now:",
                        token.id,
                        token.prefix,
                        account.email,
                        token.role,
                        token
                            .expires_at
                            .map_or(String::new(), |e| format!(", expires {}", e.to_rfc3339()))
                    );
                    println!("{secret}");
                }
                TokenAction::List => {
                    println!(
                        "{:<5} {:<14} {:<24} {:<7} {:<8} account",
                        "id", "prefix", "name", "role", "usable"
                    );
                    let accounts: std::collections::HashMap<i32, String> = accounts::list(&app.db)
                        .await?
                        .into_iter()
                        .map(|a| (a.id, a.email))
                        .collect();
                    for t in tokens::list(&app.db, None).await? {
                        let usable = t.revoked_at.is_none()
                            && t.expires_at.is_none_or(|e| e > chrono::Utc::now());
                        println!(
                            "{:<5} {:<14} {:<24} {:<7} {:<8} {}",
                            t.id,
                            t.prefix,
                            t.name,
                            t.role,
                            if usable { "yes" } else { "no" },
                            accounts.get(&t.account_id).map_or("?", String::as_str)
                        );
                    }
                }
                TokenAction::Revoke { id } => {
                    tokens::revoke(&app.db, None, id).await?;
                    println!("revoked token {id}");
                }
            }
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

/// Reads `YYYY-MM-DD` (midnight UTC) or an RFC 3339 instant.
fn parse_date(s: &str) -> anyhow::Result<chrono::DateTime<chrono::Utc>> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&chrono::Utc));
    }
    let d = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map_err(|_| anyhow::anyhow!("{s:?} is not a date (YYYY-MM-DD) or an RFC 3339 instant"))?;
    Ok(d.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc())
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
    tracing::info!("signal received");
}
