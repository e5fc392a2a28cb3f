//! `pagerlens report`: a report written to a file, with a progress bar.

use clap::Args;

use super::parse_date;
use crate::App;
use crate::config::Config;

#[derive(Args)]
pub struct ReportArgs {
    /// incidents, services, teams, service-teams, escalation-policies,
    /// escalation-policy-teams, escalation-policy-services,
    /// incidents-per-service, incident-status-per-service,
    /// service-summary or sla-compliance.
    pub kind: String,
    /// xlsx or csv [default: from the file name, else xlsx].
    #[arg(long)]
    pub format: Option<String>,
    /// Where to write it.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: std::path::PathBuf,
    /// Only this service (repeatable).
    #[arg(long = "service", value_name = "ID")]
    pub services: Vec<String>,
    /// Only this team's services (repeatable).
    #[arg(long = "team", value_name = "ID")]
    pub teams: Vec<String>,
    /// Only incidents in this status (repeatable): triggered, acknowledged, resolved.
    #[arg(long = "status")]
    pub statuses: Vec<String>,
    /// Only incidents of this urgency (repeatable): high, low.
    #[arg(long = "urgency")]
    pub urgencies: Vec<String>,
    /// Incidents created at or after (YYYY-MM-DD or RFC 3339).
    #[arg(long, value_name = "DATE")]
    pub from: Option<String>,
    /// Incidents created before (YYYY-MM-DD or RFC 3339).
    #[arg(long, value_name = "DATE")]
    pub to: Option<String>,
    /// Time zone of the dates [default: PAGERLENS_REPORT_TZ].
    #[arg(long, value_name = "IANA_ZONE")]
    pub tz: Option<String>,
}

pub(super) async fn run(args: ReportArgs, config: Config) -> anyhow::Result<()> {
    let ReportArgs {
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
    } = args;
    use crate::reports::{self, Filter, Format, ReportKind, Request};
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
                anyhow::anyhow!("--{flag}: {v:?} is not a date (YYYY-MM-DD) or an RFC 3339 instant")
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
    let progress = super::progress::for_cli_report();
    let started = std::time::Instant::now();
    let generated = reports::generate(
        &app.db,
        &request,
        &reports::Options::from_settings(&app.config.reports, &app.config.analytics),
        chrono::Utc::now(),
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
