//! Reports: each kind is a query and its columns; rows stream from the
//! database in pages into a CSV or constant-memory XLSX writer. The same
//! [`generate`] runs in a job (`requestReport`) and on the command line
//! (`pagerlens report`).

pub mod cells;
pub mod schedules;
mod sources;
pub mod writer;

pub use sources::columns;

use std::path::Path;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use sea_orm::{ColumnTrait, DatabaseConnection, DbErr, EntityTrait, PaginatorTrait, QueryFilter};
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use crate::entities::{service, team};
use crate::scope::Scope;

/// Which report.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportKind {
    Incidents,
    Services,
    Teams,
    ServiceTeams,
    EscalationPolicies,
    EscalationPolicyTeams,
    EscalationPolicyServices,
    IncidentsPerService,
    IncidentStatusPerService,
    ServiceSummary,
    SlaCompliance,
}

impl ReportKind {
    pub const ALL: [ReportKind; 11] = [
        ReportKind::Incidents,
        ReportKind::Services,
        ReportKind::Teams,
        ReportKind::ServiceTeams,
        ReportKind::EscalationPolicies,
        ReportKind::EscalationPolicyTeams,
        ReportKind::EscalationPolicyServices,
        ReportKind::IncidentsPerService,
        ReportKind::IncidentStatusPerService,
        ReportKind::ServiceSummary,
        ReportKind::SlaCompliance,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ReportKind::Incidents => "incidents",
            ReportKind::Services => "services",
            ReportKind::Teams => "teams",
            ReportKind::ServiceTeams => "service_teams",
            ReportKind::EscalationPolicies => "escalation_policies",
            ReportKind::EscalationPolicyTeams => "escalation_policy_teams",
            ReportKind::EscalationPolicyServices => "escalation_policy_services",
            ReportKind::IncidentsPerService => "incidents_per_service",
            ReportKind::IncidentStatusPerService => "incident_status_per_service",
            ReportKind::ServiceSummary => "service_summary",
            ReportKind::SlaCompliance => "sla_compliance",
        }
    }

    /// Reads a kind name (`incidents`, `service-summary`, `SERVICE_SUMMARY` …).
    ///
    /// # Errors
    /// An unknown name, with the list of known ones.
    pub fn parse(s: &str) -> Result<Self, ReportError> {
        let norm = s.trim().to_ascii_lowercase().replace('-', "_");
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == norm)
            .ok_or_else(|| {
                ReportError::BadInput(format!(
                    "unknown report kind {s:?}: expected one of {}",
                    Self::ALL.map(ReportKind::as_str).join(", ")
                ))
            })
    }

    /// The data sheet's name and the file name's stem.
    pub fn title(self) -> &'static str {
        match self {
            ReportKind::Incidents => "Incidents",
            ReportKind::Services => "Services",
            ReportKind::Teams => "Teams",
            ReportKind::ServiceTeams => "Services and teams",
            ReportKind::EscalationPolicies => "Escalation policies",
            ReportKind::EscalationPolicyTeams => "Escalation policies and teams",
            ReportKind::EscalationPolicyServices => "Escalation policies and services",
            ReportKind::IncidentsPerService => "Incidents per service",
            ReportKind::IncidentStatusPerService => "Incident status per service",
            ReportKind::ServiceSummary => "Service summary",
            ReportKind::SlaCompliance => "SLA compliance",
        }
    }
}

/// A report file written for a job: where it is (relative to the report
/// directory), its name and type, its size and when it expires.
#[derive(Clone, Debug)]
pub struct FileInfo {
    /// Relative to the report directory.
    pub path: String,
    pub name: String,
    pub content_type: String,
    pub bytes: i64,
    pub expires_at: DateTime<Utc>,
}

/// The file format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    Xlsx,
    Csv,
}

impl Format {
    /// # Errors
    /// Anything but `xlsx` or `csv`.
    pub fn parse(s: &str) -> Result<Self, ReportError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "xlsx" => Ok(Format::Xlsx),
            "csv" => Ok(Format::Csv),
            other => Err(ReportError::BadInput(format!(
                "unknown report format {other:?}: expected xlsx or csv"
            ))),
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Format::Xlsx => "xlsx",
            Format::Csv => "csv",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            Format::Csv => "text/csv; charset=utf-8",
        }
    }
}

pub const STATUSES: [&str; 3] = ["triggered", "acknowledged", "resolved"];
pub const URGENCIES: [&str; 2] = ["high", "low"];

/// Which incidents (and services) a report covers. Empty lists mean "all".
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Filter {
    pub service_ids: Vec<String>,
    pub team_ids: Vec<String>,
    pub statuses: Vec<String>,
    pub urgencies: Vec<String>,
    /// Incidents created at or after.
    pub from: Option<DateTime<Utc>>,
    /// Incidents created before.
    pub to: Option<DateTime<Utc>>,
}

/// A report to produce: what a job stores as its parameters.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    pub kind: ReportKind,
    pub format: Format,
    #[serde(default)]
    pub filter: Filter,
    /// IANA time zone for dates [default: `PAGERLENS_REPORT_TZ`].
    #[serde(default)]
    pub time_zone: Option<String>,
    /// The requester's teams when the request was made (`None`: all).
    #[serde(default)]
    pub scope: Option<Vec<String>>,
    /// The report schedule that queued this run, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule_id: Option<i32>,
}

impl Request {
    pub fn scope(&self) -> Scope {
        match &self.scope {
            None => Scope::All,
            Some(t) => Scope::teams(t.clone()),
        }
    }

    /// The time zone the report is written in.
    pub fn tz(&self, default: Tz) -> Result<Tz, ReportError> {
        match &self.time_zone {
            None => Ok(default),
            Some(name) => parse_tz(name),
        }
    }

    /// A file name such as `incidents-2026-11-23-1005.xlsx`.
    pub fn file_name(&self, now: DateTime<Utc>, tz: Tz) -> String {
        format!(
            "{}-{}.{}",
            self.kind.as_str().replace('_', "-"),
            now.with_timezone(&tz).format("%Y-%m-%d-%H%M%S"),
            self.format.extension()
        )
    }
}

/// # Errors
/// Not an IANA zone name.
pub fn parse_tz(name: &str) -> Result<Tz, ReportError> {
    name.trim().parse().map_err(|_| {
        ReportError::BadInput(format!(
            "unknown time zone {name:?}: expected an IANA name such as Europe/Paris or UTC"
        ))
    })
}

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("{0}")]
    BadInput(String),
    #[error("database error")]
    Db(#[from] DbErr),
    #[error(transparent)]
    Write(#[from] writer::WriteError),
    #[error("cancelled")]
    Cancelled,
}

/// Checks the columns to leave out (`PAGERLENS_REPORT_EXCLUDE_COLUMNS`):
/// each is the key of some report's column, or `kind.key` naming a report
/// kind and one of its columns. A misspelt entry would leave the column in
/// every report, so it stops start-up instead.
///
/// # Errors
/// The first entry that names no column, with the keys it could have meant.
pub fn check_exclusions(exclude: &[String]) -> Result<(), String> {
    for entry in exclude {
        let known = match entry.split_once('.') {
            Some((kind, key)) => {
                let kind = ReportKind::ALL
                    .into_iter()
                    .find(|k| k.as_str() == kind)
                    .ok_or_else(|| {
                        format!(
                            "PAGERLENS_REPORT_EXCLUDE_COLUMNS: {entry:?} names no report kind: expected one of {}",
                            ReportKind::ALL.map(ReportKind::as_str).join(", ")
                        )
                    })?;
                columns(kind).iter().any(|c| c.key == key).then_some(()).ok_or_else(|| {
                    format!(
                        "PAGERLENS_REPORT_EXCLUDE_COLUMNS: the {} report has no column {key:?}: its columns are {}",
                        kind.as_str(),
                        columns(kind).iter().map(|c| c.key).collect::<Vec<_>>().join(", ")
                    )
                })
            }
            None => ReportKind::ALL
                .into_iter()
                .any(|k| columns(k).iter().any(|c| c.key == entry))
                .then_some(())
                .ok_or_else(|| {
                    format!(
                        "PAGERLENS_REPORT_EXCLUDE_COLUMNS: no report has a column {entry:?} (write a column key such as html_url, or kind.key such as incidents.html_url)"
                    )
                }),
        };
        known?;
    }
    for kind in ReportKind::ALL {
        if columns(kind).iter().all(|c| excluded(exclude, kind, c)) {
            return Err(format!(
                "PAGERLENS_REPORT_EXCLUDE_COLUMNS leaves the {} report without a column",
                kind.as_str()
            ));
        }
    }
    Ok(())
}

/// Whether `exclude` leaves `column` out of reports of `kind`.
fn excluded(exclude: &[String], kind: ReportKind, column: &cells::Column) -> bool {
    exclude.iter().any(|e| {
        e == column.key
            || e.split_once('.')
                .is_some_and(|(k, key)| k == kind.as_str() && key == column.key)
    })
}

/// Checks a request before it is queued: known statuses and urgencies, a
/// sensible range, a real time zone, and services and teams that exist
/// (and that the requester may see).
///
/// # Errors
/// [`ReportError::BadInput`] saying what is wrong.
pub async fn validate(db: &DatabaseConnection, req: &Request) -> Result<(), ReportError> {
    let f = &req.filter;
    for s in &f.statuses {
        if !STATUSES.contains(&s.as_str()) {
            return Err(ReportError::BadInput(format!(
                "unknown status {s:?}: expected triggered, acknowledged or resolved"
            )));
        }
    }
    for u in &f.urgencies {
        if !URGENCIES.contains(&u.as_str()) {
            return Err(ReportError::BadInput(format!(
                "unknown urgency {u:?}: expected high or low"
            )));
        }
    }
    if let (Some(from), Some(to)) = (f.from, f.to)
        && from >= to
    {
        return Err(ReportError::BadInput(
            "`from` must be before `to`".to_owned(),
        ));
    }
    if let Some(name) = &req.time_zone {
        parse_tz(name)?;
    }
    let scope = req.scope();
    if !f.service_ids.is_empty() {
        let mut select =
            service::Entity::find().filter(service::Column::Id.is_in(f.service_ids.clone()));
        if let Some(c) = scope.services_condition(service::Column::Id) {
            select = select.filter(c);
        }
        let found = select.count(db).await?;
        let wanted: std::collections::BTreeSet<&String> = f.service_ids.iter().collect();
        if found != wanted.len() as u64 {
            return Err(ReportError::BadInput(format!(
                "unknown service id among {:?}",
                f.service_ids
            )));
        }
    }
    if !f.team_ids.is_empty() {
        let wanted: std::collections::BTreeSet<&String> = f.team_ids.iter().collect();
        let found = team::Entity::find()
            .filter(team::Column::Id.is_in(f.team_ids.clone()))
            .count(db)
            .await?;
        if found != wanted.len() as u64 || f.team_ids.iter().any(|t| !scope.allows_team(t)) {
            return Err(ReportError::BadInput(format!(
                "unknown team id among {:?}",
                f.team_ids
            )));
        }
    }
    Ok(())
}

/// Told how far a report is.
pub trait Progress: Send + Sync {
    fn rows(&self, done: u64, total: u64);
}

/// Progress that goes nowhere.
pub struct NoProgress;

impl Progress for NoProgress {
    fn rows(&self, _: u64, _: u64) {}
}

/// What [`generate`] wrote.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Generated {
    pub rows: u64,
    pub bytes: u64,
}

/// How reports are written, from the configuration.
#[derive(Clone, Debug)]
pub struct Options {
    /// The time zone of a request that names none (`PAGERLENS_REPORT_TZ`).
    pub time_zone: Tz,
    /// Columns left out, as `key` or `kind.key`.
    pub exclude: Vec<String>,
    /// The custom field whose mapped value is an incident's workflow status
    /// (`PAGERLENS_STATUS_FIELD`): mapped statuses follow it, as in analytics.
    pub status_field: Option<String>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            time_zone: chrono_tz::UTC,
            exclude: Vec::new(),
            status_field: None,
        }
    }
}

impl Options {
    /// From the report settings and the analytics' status field.
    pub fn from_settings(
        reports: &crate::config::ReportSettings,
        analytics: &crate::config::AnalyticsSettings,
    ) -> Self {
        Self {
            time_zone: reports.time_zone,
            exclude: reports.exclude_columns.clone(),
            status_field: analytics.status_field.clone(),
        }
    }
}

/// Writes the report as of `now` to `path`, page by page, telling `progress` as it
/// goes and stopping (with [`ReportError::Cancelled`]) when `cancel` fires.
/// Columns listed in `options.exclude` (`key` or `kind.key`) are left out.
///
/// # Errors
/// Bad input, database or write errors, or cancellation. A partial file
/// is removed.
#[tracing::instrument(skip_all, fields(kind = req.kind.as_str(), format = ?req.format))]
pub async fn generate(
    db: &DatabaseConnection,
    req: &Request,
    options: &Options,
    now: DateTime<Utc>,
    path: &Path,
    progress: &dyn Progress,
    cancel: &CancellationToken,
) -> Result<Generated, ReportError> {
    let result = write(db, req, options, now, path, progress, cancel).await;
    if result.is_err() {
        let _ = tokio::fs::remove_file(path).await;
    }
    result
}

async fn write(
    db: &DatabaseConnection,
    req: &Request,
    options: &Options,
    now: DateTime<Utc>,
    path: &Path,
    progress: &dyn Progress,
    cancel: &CancellationToken,
) -> Result<Generated, ReportError> {
    let tz = req.tz(options.time_zone)?;
    let scope = req.scope();
    let status_field = options.status_field.as_deref();
    let exclude = &options.exclude;
    let mut source =
        sources::Source::open(db, req.kind, &req.filter, &scope, status_field, now).await?;
    let keep: Vec<usize> = source
        .columns
        .iter()
        .enumerate()
        .filter(|(_, c)| !excluded(exclude, req.kind, c))
        .map(|(i, _)| i)
        .collect();
    let columns: Vec<cells::Column> = keep.iter().map(|&i| source.columns[i]).collect();
    let label = sources::ServiceLabel::of(req.kind, &columns);
    let mut sink: Box<dyn writer::Sink> = match req.format {
        Format::Csv => Box::new(writer::CsvSink::create(path, &columns, tz)?),
        Format::Xlsx => Box::new(writer::XlsxSink::create(
            path,
            &report_title(req.kind),
            req.kind.title(),
            &columns,
            tz,
        )?),
    };
    let total = source.total;
    let mut done = 0u64;
    progress.rows(0, total);
    // Every column kept: rows go as they are; otherwise each row is cut down.
    let keep = (keep.len() < source.columns.len()).then(|| std::sync::Arc::new(keep));
    // The next page is read while this one is written (on a blocking thread:
    // writing is CPU work), so a report takes about the longer of the two.
    let mut next = source.next_page(db).await?;
    while let Some(page) = next.take() {
        if cancel.is_cancelled() {
            return Err(ReportError::Cancelled);
        }
        let n = page.len() as u64;
        let keep = keep.clone();
        let writing = tokio::task::spawn_blocking(move || {
            let result = write_page(sink.as_mut(), page, keep.as_deref().map(Vec::as_slice));
            (sink, result)
        });
        let (written, fetched) = tokio::join!(writing, source.next_page(db));
        let (back, result) =
            written.map_err(|e| writer::WriteError::Io(std::io::Error::other(e.to_string())))?;
        sink = back;
        result?;
        next = fetched?;
        done += n;
        progress.rows(done, total.max(done));
    }
    let text = |s: &str| cells::Cell::Text(s.to_owned());
    let mut facts = vec![
        ("Report".to_owned(), text(req.kind.title())),
        (
            "Generated".to_owned(),
            text(
                &now.with_timezone(&tz)
                    .format("%Y-%m-%d %H:%M:%S %Z")
                    .to_string(),
            ),
        ),
        ("Time zone".to_owned(), text(tz.name())),
        (
            "Rows".to_owned(),
            cells::Cell::Int(i64::try_from(done).unwrap_or(i64::MAX)),
        ),
    ];
    facts.extend(
        describe_filter(&req.filter, tz)
            .into_iter()
            .map(|(label, value)| (label, cells::Cell::Text(value))),
    );
    let summary = writer::Summary {
        title: report_title(req.kind),
        facts,
        incidents_per_service: match req.format {
            // A CSV file has no summary sheet.
            Format::Csv => Vec::new(),
            Format::Xlsx => match source.incidents_per_service(label) {
                Some(counted) => counted,
                None => {
                    sources::incidents_per_service(db, &req.filter, &scope, status_field, label)
                        .await?
                }
            },
        },
    };
    tokio::task::spawn_blocking(move || sink.finish(&summary))
        .await
        .map_err(|e| writer::WriteError::Io(std::io::Error::other(e.to_string())))??;
    let bytes = tokio::fs::metadata(path)
        .await
        .map(|m| m.len())
        .unwrap_or(0);
    Ok(Generated { rows: done, bytes })
}

/// Writes one page: whole rows, or with `keep` only the columns at those
/// positions (moved, not copied).
fn write_page(
    sink: &mut dyn writer::Sink,
    page: Vec<Vec<cells::Cell>>,
    keep: Option<&[usize]>,
) -> Result<(), writer::WriteError> {
    let Some(keep) = keep else {
        return page.iter().try_for_each(|row| sink.write_row(row));
    };
    let mut row = Vec::with_capacity(keep.len());
    for mut full in page {
        row.clear();
        row.extend(
            keep.iter()
                .map(|&i| std::mem::replace(&mut full[i], cells::Cell::Empty)),
        );
        sink.write_row(&row)?;
    }
    Ok(())
}

/// The title a report's file shows (summary sheet and printed pages).
fn report_title(kind: ReportKind) -> String {
    format!("pagerlens — {}", kind.title())
}

fn describe_filter(f: &Filter, tz: Tz) -> Vec<(String, String)> {
    let list = |v: &[String]| {
        if v.is_empty() {
            "all".to_owned()
        } else {
            v.join(", ")
        }
    };
    let time = |t: Option<DateTime<Utc>>| {
        t.map_or("—".to_owned(), |t| {
            t.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string()
        })
    };
    vec![
        ("Services".into(), list(&f.service_ids)),
        ("Teams".into(), list(&f.team_ids)),
        ("Statuses".into(), list(&f.statuses)),
        ("Urgencies".into(), list(&f.urgencies)),
        ("Created from".into(), time(f.from)),
        ("Created before".into(), time(f.to)),
    ]
}
