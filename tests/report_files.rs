//! What a report file holds, read back as a person's tools read it.
//!
//! - Columns left out (`PAGERLENS_REPORT_EXCLUDE_COLUMNS`) are gone from
//!   every part of the file: for every report kind, in both formats, the
//!   first, a middle, the last and several columns, written by the library,
//!   by a `requestReport` job downloaded over HTTP and by `pagerlens report`.
//! - A spreadsheet prints as a manager expects: LibreOffice renders it to a
//!   PDF whose first page holds the title, the table and the chart.

use std::collections::BTreeSet;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use calamine::{Data, Reader, Xlsx};
use chrono::Utc;
use pagerlens::config::SlaSettings;
use pagerlens::reports::{self, Format, NoProgress, ReportKind};
use pagerlens::sla;
use sea_orm::{ConnectionTrait, EntityTrait, QuerySelect};
use secrecy::ExposeSecret;
use serde_json::json;

use crate::common::fixtures::{seed_catalog, seed_incidents};
use crate::common::{TestApp, outside_tool, respawn_with};
use crate::on_both_databases;
use crate::reports::request;

const BIN: &str = env!("CARGO_BIN_EXE_pagerlens");

/// A report file read back: its data sheet, and every value and text it holds.
#[derive(Debug)]
struct ReadBack {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
    /// Every cell of every sheet.
    cells: BTreeSet<String>,
    /// The summary sheet's facts (title, time zone, row count, filters):
    /// every cell above its incidents-per-service table.
    facts: BTreeSet<String>,
    /// The CSV text, or the XML of every part of the XLSX package.
    raw: String,
}

fn data_text(d: &Data) -> String {
    match d {
        Data::Empty => String::new(),
        Data::String(s) => s.clone(),
        Data::Bool(b) => b.to_string(),
        other => other.to_string(),
    }
}

fn read_back(path: &Path, kind: ReportKind, format: Format) -> ReadBack {
    match format {
        Format::Csv => {
            let raw = std::fs::read_to_string(path).unwrap();
            let mut reader = csv::ReaderBuilder::new()
                .has_headers(false)
                .flexible(true)
                .from_reader(raw.as_bytes());
            let mut records: Vec<Vec<String>> = reader
                .records()
                .map(|r| r.unwrap().iter().map(str::to_owned).collect())
                .collect();
            let header = records.remove(0);
            let cells = header
                .iter()
                .chain(records.iter().flatten())
                .cloned()
                .collect();
            ReadBack {
                header,
                rows: records,
                cells,
                facts: BTreeSet::new(),
                raw,
            }
        }
        Format::Xlsx => {
            let mut book: Xlsx<_> = calamine::open_workbook(path).unwrap();
            let sheet: String = kind.title().chars().take(25).collect();
            let mut cells = BTreeSet::new();
            for name in book.sheet_names() {
                let range = book.worksheet_range(&name).unwrap();
                cells.extend(range.rows().flat_map(|r| r.iter().map(data_text)));
            }
            let facts = book
                .worksheet_range("Summary")
                .unwrap()
                .rows()
                .take_while(|r| r.first().map(data_text).as_deref() != Some("Service"))
                .flat_map(|r| r.iter().map(data_text))
                .collect();
            let range = book.worksheet_range(&sheet).unwrap();
            let mut rows: Vec<Vec<String>> = range
                .rows()
                .map(|r| r.iter().map(data_text).collect())
                .collect();
            let header = rows.remove(0);
            ReadBack {
                header,
                rows,
                cells,
                facts,
                raw: xlsx_parts(path).into_iter().map(|(_, text)| text).collect(),
            }
        }
    }
}

/// Every part of an XLSX package: (name, text).
fn xlsx_parts(path: &Path) -> Vec<(String, String)> {
    let mut zip = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    (0..zip.len())
        .map(|i| {
            let mut part = zip.by_index(i).unwrap();
            let mut text = String::new();
            part.read_to_string(&mut text).unwrap();
            (part.name().unwrap().to_string(), text)
        })
        .collect()
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Checks that `got` is `full` without the columns `keys`, and that the
/// values only those columns held appear nowhere in `got`'s file.
fn assert_left_out(full: &ReadBack, got: &ReadBack, kind: ReportKind, keys: &[&str], how: &str) {
    let columns = reports::columns(kind);
    let gone: Vec<usize> = keys
        .iter()
        .map(|k| columns.iter().position(|c| c.key == *k).unwrap())
        .collect();
    let at = format!("{how}: {} without {keys:?}", kind.as_str());
    let cut = |row: &[String]| -> Vec<String> {
        row.iter()
            .enumerate()
            .filter(|(i, _)| !gone.contains(i))
            .map(|(_, v)| v.clone())
            .collect()
    };
    assert_eq!(full.header.len(), columns.len(), "{at}: the full file");
    assert_eq!(got.header, cut(&full.header), "{at}: headers");
    assert_eq!(got.rows.len(), full.rows.len(), "{at}: rows");
    for (g, f) in got.rows.iter().zip(&full.rows) {
        assert_eq!(
            g.len(),
            got.header.len(),
            "{at}: every row as wide as its header"
        );
        assert_eq!(*g, cut(f), "{at}: the rows of the full file, cut");
    }
    // What only the excluded columns showed (not also a kept cell or a
    // summary fact) must not appear anywhere, the summary's table and
    // chart of incidents per service included.
    let elsewhere: BTreeSet<&String> = full
        .rows
        .iter()
        .flat_map(|r| r.iter().enumerate().filter(|(i, _)| !gone.contains(i)))
        .map(|(_, v)| v)
        .chain(&full.facts)
        .collect();
    let hidden: BTreeSet<&String> = full
        .rows
        .iter()
        .flat_map(|r| gone.iter().map(move |&i| &r[i]))
        .filter(|v| !v.is_empty() && !elsewhere.contains(v))
        .collect();
    for value in hidden {
        assert!(
            !got.cells.contains(value),
            "{at}: {value:?} is still in a cell"
        );
        // A text (numbers are in the cells' check) is looked for in the
        // file's bytes too: in a CSV anywhere
        // (unless a kept value or a header contains it, as a kept URL holds
        // an id), in an XLSX package as the text of any XML element (shared
        // strings, inline strings, the chart's cached categories).
        let text = value.chars().any(|c| c.is_alphabetic());
        let in_bytes = if got.facts.is_empty() {
            text && !elsewhere
                .iter()
                .copied()
                .chain(&got.header)
                .any(|e| e.contains(value.as_str()))
                && got.raw.contains(value.as_str())
        } else {
            text && got.raw.contains(&format!(">{}<", xml_escape(value)))
        };
        assert!(!in_bytes, "{at}: {value:?} is still in the file");
    }
}

/// The four exclusions, each naming its columns for every kind at once (a
/// `kind.key` entry applies to that kind only): the first column, a middle
/// one, the last one, and those three together.
/// The columns one exclusion leaves out of each kind.
type Case = Vec<(ReportKind, Vec<&'static str>)>;

fn cases() -> Vec<(&'static str, Case)> {
    let pick = |f: fn(&[&'static str]) -> Vec<&'static str>| {
        ReportKind::ALL
            .into_iter()
            .map(|k| {
                let keys: Vec<&'static str> = reports::columns(k).iter().map(|c| c.key).collect();
                (k, f(&keys))
            })
            .collect::<Vec<_>>()
    };
    vec![
        ("first", pick(|k| vec![k[0]])),
        ("middle", pick(|k| vec![k[k.len() / 2]])),
        ("last", pick(|k| vec![k[k.len() - 1]])),
        // Several, yet never all: a report needs a column (see below).
        (
            "several",
            pick(|k| match k.len() {
                ..=3 => vec![k[0], k[k.len() - 1]],
                n => vec![k[0], k[n / 2], k[n - 1]],
            }),
        ),
    ]
}

fn exclusion_list(case: &[(ReportKind, Vec<&str>)]) -> Vec<String> {
    case.iter()
        .flat_map(|(kind, keys)| keys.iter().map(move |k| format!("{}.{k}", kind.as_str())))
        .collect()
}

async fn write(app: &TestApp, kind: ReportKind, format: Format, exclude: &[String]) -> PathBuf {
    let path = app.reports_dir.path().join(format!(
        "lib-{}-{}.{}",
        kind.as_str(),
        exclude.len(),
        format.extension()
    ));
    reports::generate(
        &app.db,
        &request(kind, format),
        &reports::Options {
            exclude: exclude.to_vec(),
            ..Default::default()
        },
        chrono::Utc::now(),
        &path,
        &NoProgress,
        &Default::default(),
    )
    .await
    .expect("report");
    path
}

/// Incidents with SLAs, and PagerDuty links on everything that has one, so
/// every kind has rows and the last column of most is a URL (the docs'
/// own example of a column to leave out).
async fn seed(app: &TestApp) {
    seed_catalog(&app.db).await;
    seed_incidents(&app.db, 24).await;
    for table in ["incidents", "services", "teams", "escalation_policies"] {
        app.db
            .execute_unprepared(&format!(
                "UPDATE {table} SET html_url = 'https://acme.pagerduty.com/{table}/' || id"
            ))
            .await
            .unwrap();
    }
    let ids: Vec<String> = pagerlens::entities::incident::Entity::find()
        .select_only()
        .column(pagerlens::entities::incident::Column::Id)
        .into_tuple()
        .all(&app.db)
        .await
        .unwrap();
    sla::refresh(&app.db, &SlaSettings::default(), &ids, false, Utc::now())
        .await
        .unwrap();
}

async fn full_reports(app: &TestApp) -> Vec<((ReportKind, Format), ReadBack)> {
    let mut out = Vec::new();
    for kind in ReportKind::ALL {
        for format in [Format::Csv, Format::Xlsx] {
            let path = write(app, kind, format, &[]).await;
            let full = read_back(&path, kind, format);
            assert!(
                !full.rows.is_empty(),
                "{kind:?} has rows to leave columns out of"
            );
            out.push(((kind, format), full));
        }
    }
    out
}

async fn excluded_columns_leave_no_trace_in_any_report(app: TestApp) {
    seed(&app).await;
    let full = full_reports(&app).await;
    let full_of = |kind, format| &full.iter().find(|(k, _)| *k == (kind, format)).unwrap().1;

    // Written by the library, as the job and the command line call it.
    for (name, case) in cases() {
        let exclude = exclusion_list(&case);
        for (kind, keys) in &case {
            for format in [Format::Csv, Format::Xlsx] {
                let path = write(&app, *kind, format, &exclude).await;
                let got = read_back(&path, *kind, format);
                assert_left_out(full_of(*kind, format), &got, *kind, keys, name);
            }
        }
    }

    // `pagerlens report`, configured by the environment variable.
    let url = app.app.config.database_url.expose_secret().to_owned();
    let dir = tempfile::tempdir().unwrap();
    for (name, case) in cases() {
        let exclude = exclusion_list(&case).join(",");
        for (kind, keys) in &case {
            for format in [Format::Csv, Format::Xlsx] {
                let file =
                    dir.path()
                        .join(format!("{name}-{}.{}", kind.as_str(), format.extension()));
                let out = tokio::process::Command::new(BIN)
                    .current_dir(dir.path())
                    .env_clear()
                    .env("DATABASE_URL", &url)
                    .env("PAGERLENS_REPORT_EXCLUDE_COLUMNS", &exclude)
                    .args(["report", kind.as_str(), "-o"])
                    .arg(&file)
                    .output()
                    .await
                    .unwrap();
                assert!(
                    out.status.success(),
                    "pagerlens report {}: {}",
                    kind.as_str(),
                    String::from_utf8_lossy(&out.stderr)
                );
                let got = read_back(&file, *kind, format);
                assert_left_out(
                    full_of(*kind, format),
                    &got,
                    *kind,
                    keys,
                    "pagerlens report",
                );
            }
        }
    }

    // `requestReport` on a server so configured, downloaded over HTTP.
    let mut app = app;
    for (name, case) in cases() {
        let exclude = exclusion_list(&case);
        app = respawn_with(app, |c| c.reports.exclude_columns = exclude.clone()).await;
        for (kind, keys) in &case {
            for format in [Format::Csv, Format::Xlsx] {
                let enum_name = |s: &str| s.to_ascii_uppercase();
                let data = app
                    .data(
                        "mutation($input: ReportInput!) { requestReport(input: $input) { id } }",
                        json!({"input": {"kind": enum_name(kind.as_str()),
                            "format": enum_name(format.extension())}}),
                    )
                    .await;
                let id = data["requestReport"]["id"].as_str().unwrap().to_owned();
                assert_eq!(app.app.jobs.run_pending().await.unwrap(), 1);
                let resp = app
                    .client
                    .get(app.url(&format!("/reports/{id}/download")))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(resp.status(), 200, "{name} {kind:?}");
                let file = dir.path().join(format!("job-{id}.{}", format.extension()));
                std::fs::write(&file, resp.bytes().await.unwrap()).unwrap();
                let got = read_back(&file, *kind, format);
                assert_left_out(full_of(*kind, format), &got, *kind, keys, "requestReport");
            }
        }
    }
}

async fn an_unknown_column_to_leave_out_stops_start_up(app: TestApp) {
    for (bad, needle) in [
        ("incidents.htmlurl", "no column \"htmlurl\""),
        ("incident.html_url", "names no report kind"),
        ("pager_url", "no report has a column"),
        (
            "incidents_per_service.incidents,service_id,service",
            "leaves the incidents_per_service report without a column",
        ),
    ] {
        let mut config = (*app.app.config).clone();
        config.reports.exclude_columns = ["title"]
            .into_iter()
            .chain(bad.split(','))
            .map(str::to_owned)
            .collect();
        let err = pagerlens::App::with_db(config, app.db.clone())
            .await
            .err()
            .unwrap_or_else(|| panic!("{bad} was accepted"));
        let message = err.to_string();
        assert!(
            message.contains("PAGERLENS_REPORT_EXCLUDE_COLUMNS") && message.contains(needle),
            "{message}"
        );
    }
}

on_both_databases!(
    excluded_columns_leave_no_trace_in_any_report,
    an_unknown_column_to_leave_out_stops_start_up,
);

/// LibreOffice (Debian's `libreoffice-calc-nogui`) and poppler's
/// `pdftotext`/`pdftoppm`, which render a spreadsheet as a person sees it.
fn office_tools() -> Result<(), String> {
    for (tool, package) in [
        ("soffice", "libreoffice-calc-nogui"),
        ("pdftotext", "poppler-utils"),
        ("pdftoppm", "poppler-utils"),
    ] {
        if Command::new(tool).arg("--version").output().is_err() {
            return Err(format!(
                "{tool} is not installed (apt-get install {package})"
            ));
        }
    }
    Ok(())
}

#[tokio::test]
async fn a_spreadsheet_report_prints_with_its_title_table_and_chart() {
    if !outside_tool("the LibreOffice rendering test", office_tools) {
        return;
    }
    let app = crate::common::spawn(crate::common::Backend::Sqlite)
        .await
        .unwrap();
    seed(&app).await;
    let path = write(&app, ReportKind::Incidents, Format::Xlsx, &[]).await;

    // In the package: the chart is drawn on the summary sheet, beside the
    // table, from zero; the data sheet prints landscape, one page wide, its
    // header row on every page and the title in the page header.
    let parts = xlsx_parts(&path);
    let part = |name: &str| {
        parts
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, t)| t.as_str())
            .unwrap_or_else(|| panic!("no part {name}"))
    };
    assert!(
        part("xl/worksheets/sheet1.xml").contains("<drawing "),
        "the chart is on Summary"
    );
    let drawing = part("xl/drawings/drawing1.xml");
    assert!(
        drawing.contains("<xdr:from><xdr:col>3</xdr:col>")
            && drawing.contains("<xdr:row>2</xdr:row>"),
        "the chart starts beside the facts: {drawing}"
    );
    let chart = part("xl/charts/chart1.xml");
    assert!(
        chart.contains("<c:min val=\"0\"/>"),
        "the value axis starts at zero"
    );
    let data = part("xl/worksheets/sheet2.xml");
    assert!(data.contains("orientation=\"landscape\""), "{data}");
    assert!(data.contains("<pageSetUpPr fitToPage=\"1\"/>") && data.contains("fitToHeight=\"0\""));
    assert!(data.contains("<oddHeader>") && data.contains("pagerlens — Incidents"));
    assert!(
        part("xl/workbook.xml").contains("_xlnm.Print_Titles"),
        "the header row repeats on every printed page"
    );
    // Numbers are numbers and booleans are booleans.
    let mut book: Xlsx<_> = calamine::open_workbook(&path).unwrap();
    let summary = book.worksheet_range("Summary").unwrap();
    let rows_fact = summary
        .rows()
        .find(|r| r.first().map(data_text).as_deref() == Some("Rows"))
        .expect("a Rows line");
    assert_eq!(
        rows_fact[1],
        Data::Float(24.0),
        "the row count is a number cell"
    );
    let incidents = book.worksheet_range("Incidents").unwrap();
    let escalated = incidents
        .rows()
        .next()
        .unwrap()
        .iter()
        .position(|h| data_text(h) == "Escalated")
        .unwrap();
    assert!(
        incidents
            .rows()
            .skip(1)
            .all(|r| matches!(r[escalated], Data::Bool(_)))
    );

    // Rendered: the PDF's first page holds the title, the table and the
    // chart (its title and its axis), and it renders to an image.
    let out_dir = tempfile::tempdir().unwrap();
    let profile = tempfile::tempdir().unwrap();
    let status = tokio::process::Command::new("soffice")
        .arg(format!(
            "-env:UserInstallation=file://{}",
            profile.path().display()
        ))
        .args(["--headless", "--convert-to", "pdf", "--outdir"])
        .arg(out_dir.path())
        .arg(&path)
        .output()
        .await
        .unwrap();
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    let pdf = out_dir
        .path()
        .join(path.with_extension("pdf").file_name().unwrap());
    let first_page = Command::new("pdftotext")
        .args(["-f", "1", "-l", "1", "-layout"])
        .arg(&pdf)
        .arg("-")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&first_page.stdout);
    for needle in [
        "pagerlens — Incidents",
        "Rows",
        "Service",
        "API gateway",
        "Checkout",
        "Incidents per service",
    ] {
        assert!(text.contains(needle), "page 1 lacks {needle:?}:\n{text}");
    }
    let png = out_dir.path().join("page");
    let status = Command::new("pdftoppm")
        .args(["-png", "-r", "60", "-f", "1", "-l", "1", "-singlefile"])
        .arg(&pdf)
        .arg(&png)
        .status()
        .unwrap();
    assert!(status.success());
    let image = std::fs::read(png.with_extension("png")).unwrap();
    assert!(image.starts_with(b"\x89PNG") && image.len() > 2_000);
    if let Ok(keep) = std::env::var("TEST_KEEP_RENDERING") {
        std::fs::copy(png.with_extension("png"), &keep).unwrap();
    }
}

#[test]
fn the_report_docs_list_every_report_column_key() {
    let readme = include_str!("../docs/reports.md");
    for kind in ReportKind::ALL {
        let keys: Vec<String> = reports::columns(kind)
            .iter()
            .map(|c| format!("`{}`", c.key))
            .collect();
        let line = format!(
            "| `{}` | {} |",
            kind.as_str().to_ascii_uppercase(),
            keys.join(", ")
        );
        assert!(
            readme.contains(&line),
            "docs/reports.md lacks the line\n{line}"
        );
    }
}
