//! Reports: XLSX read back with calamine and CSV parsed back, both compared
//! cell by cell with the database; formula injection comes back inert;
//! excluded columns are left out; the whole flow over GraphQL and the
//! download endpoint, with every refusal (unknown, someone else's, still
//! running, expired) and bad input that queues nothing.

use calamine::{Data, Reader, Xlsx};
use chrono::{DateTime, Utc};
use pagerlens::auth::Role;
use pagerlens::entities::{incident, job, service};
use pagerlens::reports::{self, Filter, Format, NoProgress, ReportKind, Request};
use sea_orm::{ActiveModelTrait, EntityTrait, PaginatorTrait, QueryOrder, Set};
use serde_json::{Value, json};

use crate::common::fixtures::{seed_catalog, seed_incidents};
use crate::common::{TestApp, assert_error};
use crate::on_both_databases;

const INJECTIONS: [&str; 5] = [
    "=HYPERLINK(\"http://evil.example\",\"click\")",
    "+1+2",
    "-2+3",
    "@SUM(A1:A9)",
    "\t=1+1",
];

/// Titles that a spreadsheet would run as formulas, on PI0000…PI0004.
async fn plant_injections(app: &TestApp) {
    for (i, title) in INJECTIONS.iter().enumerate() {
        let mut m: incident::ActiveModel = incident::Entity::find_by_id(format!("PI{i:04}"))
            .one(&app.db)
            .await
            .unwrap()
            .unwrap()
            .into();
        m.title = Set((*title).to_owned());
        m.update(&app.db).await.unwrap();
    }
}

pub(crate) fn request(kind: ReportKind, format: Format) -> Request {
    Request {
        kind,
        format,
        filter: Filter::default(),
        time_zone: None,
        scope: None,
        schedule_id: None,
    }
}

async fn write(app: &TestApp, req: &Request, name: &str) -> std::path::PathBuf {
    let path = app.reports_dir.path().join(name);
    reports::generate(
        &app.db,
        req,
        &Default::default(),
        chrono::Utc::now(),
        &path,
        &NoProgress,
        &Default::default(),
    )
    .await
    .expect("report");
    path
}

fn excel_time(t: DateTime<Utc>, tz: chrono_tz::Tz) -> f64 {
    let local = t.with_timezone(&tz).naive_local();
    let epoch = chrono::NaiveDate::from_ymd_opt(1899, 12, 30)
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap();
    (local - epoch).num_milliseconds() as f64 / 86_400_000.0
}

fn cell_f64(c: &Data) -> Option<f64> {
    match c {
        Data::Float(f) => Some(*f),
        Data::Int(i) => Some(*i as f64),
        Data::DateTime(d) => Some(d.as_f64()),
        _ => None,
    }
}

fn cell_str(c: &Data) -> String {
    match c {
        Data::String(s) => s.clone(),
        Data::Empty => String::new(),
        other => other.to_string(),
    }
}

async fn incidents_report_matches_the_database_cell_by_cell(app: TestApp) {
    seed_catalog(&app.db).await;
    seed_incidents(&app.db, 60).await;
    plant_injections(&app).await;
    let incidents = incident::Entity::find()
        .order_by_asc(incident::Column::CreatedAt)
        .order_by_asc(incident::Column::Id)
        .all(&app.db)
        .await
        .unwrap();
    let tz: chrono_tz::Tz = "America/New_York".parse().unwrap();

    // XLSX, in New York time.
    let mut req = request(ReportKind::Incidents, Format::Xlsx);
    req.time_zone = Some("America/New_York".into());
    let path = write(&app, &req, "incidents.xlsx").await;
    let mut book: Xlsx<_> = calamine::open_workbook(&path).unwrap();
    assert_eq!(book.sheet_names(), vec!["Summary", "Incidents"]);
    let sheet = book.worksheet_range("Incidents").unwrap();
    let rows: Vec<&[Data]> = sheet.rows().collect();
    let header: Vec<String> = rows[0].iter().map(cell_str).collect();
    let col = |name: &str| {
        header
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("no column {name}"))
    };
    assert_eq!(
        rows.len(),
        incidents.len() + 1,
        "a header and one row per incident"
    );
    for (row, inc) in rows[1..].iter().zip(&incidents) {
        assert_eq!(cell_str(&row[col("Incident ID")]), inc.id);
        let title = cell_str(&row[col("Title")]);
        if INJECTIONS.contains(&inc.title.as_str()) {
            assert_eq!(title, format!("'{}", inc.title), "formula neutralised");
        } else {
            assert_eq!(title, inc.title);
        }
        assert_eq!(cell_str(&row[col("Status")]), inc.status);
        assert_eq!(cell_str(&row[col("Urgency")]), inc.urgency);
        assert_eq!(
            cell_f64(&row[col("Number")]),
            inc.incident_number.map(|n| n as f64)
        );
        assert_eq!(
            cell_f64(&row[col("Escalations")]),
            Some(f64::from(inc.escalation_count))
        );
        assert_eq!(row[col("Escalated")], Data::Bool(inc.escalation_count > 0));
        let created = cell_f64(&row[col("Created")]).expect("a real date-time cell");
        assert!(
            (created - excel_time(inc.created_at, tz)).abs() < 1e-6,
            "{} created",
            inc.id
        );
        match inc.acknowledged_at {
            Some(a) => {
                let got = cell_f64(&row[col("First acknowledged")]).unwrap();
                assert!((got - excel_time(a, tz)).abs() < 1e-6);
                let minutes = cell_f64(&row[col("Minutes to acknowledge")]).unwrap();
                assert!((minutes - (a - inc.created_at).num_seconds() as f64 / 60.0).abs() < 1e-6);
            }
            None => assert_eq!(row[col("First acknowledged")], Data::Empty),
        }
        assert_eq!(
            cell_str(&row[col("Service ID")]),
            inc.service_id.clone().unwrap()
        );
    }
    // The summary sheet counts incidents per service and carries a chart.
    let summary = book.worksheet_range("Summary").unwrap();
    let text: Vec<String> = summary
        .rows()
        .flat_map(|r| r.iter().map(cell_str))
        .collect();
    assert!(text.contains(&"America/New_York".to_owned()), "{text:?}");
    // Below the `Service | Incidents` header: each service's count, most
    // first, as the database has them.
    let mut expected: std::collections::BTreeMap<String, i64> = Default::default();
    let names: std::collections::HashMap<String, String> = service::Entity::find()
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|s| (s.id, s.name))
        .collect();
    for inc in &incidents {
        let id = inc.service_id.clone().unwrap();
        *expected
            .entry(names.get(&id).cloned().unwrap_or(id))
            .or_default() += 1;
    }
    let summary_rows: Vec<&[Data]> = summary.rows().collect();
    let header_at = summary_rows
        .iter()
        .position(|r| r.first().map(cell_str).as_deref() == Some("Service"))
        .expect("a Service | Incidents table");
    let counted: Vec<(String, i64)> = summary_rows[header_at + 1..]
        .iter()
        .map(|r| {
            (
                cell_str(&r[0]),
                cell_str(&r[1]).parse::<f64>().unwrap() as i64,
            )
        })
        .collect();
    let mut wanted: Vec<(String, i64)> = expected.into_iter().collect();
    wanted.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    assert_eq!(counted, wanted);
    assert!(counted.iter().any(|(name, _)| name == "API gateway"));
    let bytes = std::fs::read(&path).unwrap();
    assert!(
        bytes.windows(20).any(|w| w == b"xl/charts/chart1.xml"),
        "a native chart part"
    );

    // CSV parses back to the same rows.
    let path = write(
        &app,
        &request(ReportKind::Incidents, Format::Csv),
        "incidents.csv",
    )
    .await;
    let mut reader = csv::Reader::from_path(&path).unwrap();
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(records.len(), incidents.len());
    for (rec, inc) in records.iter().zip(&incidents) {
        assert_eq!(&rec[col("Incident ID")], inc.id);
        let title = &rec[col("Title")];
        if INJECTIONS.contains(&inc.title.as_str()) {
            assert_eq!(title, format!("'{}", inc.title));
            assert!(!matches!(
                title.chars().next(),
                Some('=' | '+' | '-' | '@' | '\t' | '\r')
            ));
        } else {
            assert_eq!(title, inc.title);
        }
        let created: DateTime<Utc> = rec[col("Created")].parse().unwrap();
        assert_eq!(created, inc.created_at);
        assert_eq!(&rec[col("Escalations")], inc.escalation_count.to_string());
        assert_eq!(
            &rec[col("Acknowledged by")],
            if inc.acknowledged_by_user_id.is_some() {
                "Alice"
            } else {
                ""
            }
        );
    }
}

async fn aggregate_reports_agree_with_the_incidents(app: TestApp) {
    seed_catalog(&app.db).await;
    seed_incidents(&app.db, 48).await;
    // Acknowledged incidents count as waiting once mapped so.
    let body = app
        .gql(
            r#"mutation { upsertStatusMapping(input: {source: "PAGERDUTY", rawValue: "acknowledged", displayName: "Waiting on vendor", category: "WAITING"}) { id } }"#,
            serde_json::json!({}),
        )
        .await;
    assert!(body.get("errors").is_none(), "{body}");
    // Status counts per service, CSV.
    let path = write(
        &app,
        &request(ReportKind::IncidentStatusPerService, Format::Csv),
        "status.csv",
    )
    .await;
    let mut reader = csv::Reader::from_path(&path).unwrap();
    let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let all = incident::Entity::find().all(&app.db).await.unwrap();
    for rec in &records {
        let service = &rec[0];
        let of = |status: &str| {
            all.iter()
                .filter(|i| i.service_id.as_deref() == Some(service) && i.status == status)
                .count()
                .to_string()
        };
        assert_eq!(&rec[2], of("triggered"), "{service}");
        assert_eq!(&rec[3], of("acknowledged"));
        assert_eq!(&rec[4], of("resolved"));
        // Open, in progress, waiting, resolved by mapped category.
        assert_eq!(&rec[6], of("triggered"));
        assert_eq!(&rec[7], "0");
        assert_eq!(&rec[8], of("acknowledged"));
        assert_eq!(&rec[9], of("resolved"));
    }
    assert_eq!(
        reader.headers().unwrap().iter().skip(6).collect::<Vec<_>>(),
        [
            "Open (mapped)",
            "In progress (mapped)",
            "Waiting (mapped)",
            "Resolved (mapped)"
        ]
    );
    // Service summary: MTTA is five minutes, MTTR an hour, by construction.
    let path = write(
        &app,
        &request(ReportKind::ServiceSummary, Format::Xlsx),
        "summary.xlsx",
    )
    .await;
    let mut book: Xlsx<_> = calamine::open_workbook(&path).unwrap();
    let sheet = book.worksheet_range("Service summary").unwrap();
    let rows: Vec<&[Data]> = sheet.rows().collect();
    let api = rows
        .iter()
        .find(|r| cell_str(&r[0]) == "PS_API")
        .expect("PS_API row");
    assert_eq!(
        cell_f64(&api[2]),
        Some(16.0),
        "16 of 48 incidents are PS_API's"
    );
    assert_eq!(cell_f64(&api[7]), Some(5.0), "MTTA minutes");
    assert_eq!(cell_f64(&api[8]), Some(60.0), "MTTR minutes");
    // A filter narrows: only PS_CHK's high-urgency incidents.
    let mut req = request(ReportKind::IncidentsPerService, Format::Csv);
    req.filter.service_ids = vec!["PS_CHK".into()];
    req.filter.urgencies = vec!["high".into()];
    let path = write(&app, &req, "per-service.csv").await;
    let text = std::fs::read_to_string(path).unwrap();
    let expected = all
        .iter()
        .filter(|i| i.service_id.as_deref() == Some("PS_CHK") && i.urgency == "high")
        .count();
    assert_eq!(
        text.lines().collect::<Vec<_>>(),
        vec![
            "Service ID,Service,Incidents".to_owned(),
            format!("PS_CHK,Checkout,{expected}")
        ]
    );
    // A scoped requester only gets their teams' services.
    let mut req = request(ReportKind::Services, Format::Csv);
    req.scope = Some(vec!["PT1".into()]);
    let text = std::fs::read_to_string(write(&app, &req, "scoped.csv").await).unwrap();
    assert!(
        text.contains("PS_API") && !text.contains("PS_CHK"),
        "{text}"
    );
}

/// The service summary report and GraphQL's per-service `summary` count
/// and average by one definition: with acknowledgements and resolves at
/// uneven times, every service's figures are the same in both.
async fn the_service_summary_and_graphql_analytics_agree(app: TestApp) {
    seed_catalog(&app.db).await;
    seed_incidents(&app.db, 48).await;
    // Uneven times to acknowledge and resolve, to the millisecond.
    let all = incident::Entity::find()
        .order_by_asc(incident::Column::Id)
        .all(&app.db)
        .await
        .unwrap();
    for (k, i) in all.into_iter().enumerate() {
        let created = i.created_at;
        let (ack, resolved) = (i.acknowledged_at, i.resolved_at);
        let mut m: incident::ActiveModel = i.into();
        let k = i64::try_from(k).unwrap();
        if ack.is_some() {
            m.acknowledged_at = Set(Some(
                created + chrono::Duration::milliseconds(61_237 * (k + 1)),
            ));
        }
        if resolved.is_some() {
            m.resolved_at = Set(Some(
                created + chrono::Duration::milliseconds(977_001 * (k + 2)),
            ));
        }
        m.update(&app.db).await.unwrap();
    }
    // The fixture's incidents are created an hour apart from 2026-01-01.
    let (from, to) = ("2025-12-01T00:00:00Z", "2026-03-01T00:00:00Z");
    let mut req = request(ReportKind::ServiceSummary, Format::Xlsx);
    req.filter = Filter {
        from: Some(from.parse().unwrap()),
        to: Some(to.parse().unwrap()),
        ..Default::default()
    };
    let path = write(&app, &req, "agree.xlsx").await;
    let mut book: Xlsx<_> = calamine::open_workbook(&path).unwrap();
    let sheet = book.worksheet_range("Service summary").unwrap();
    let rows: Vec<Vec<Data>> = sheet.rows().skip(1).map(<[Data]>::to_vec).collect();
    assert!(rows.len() >= 3, "{rows:?}");
    let close = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) => (a - b).abs() <= 1e-6 * a.abs().max(1.0),
        (a, b) => a == b,
    };
    for r in rows {
        let service = cell_str(&r[0]);
        let d = app
            .data(
                "query($s: ID, $f: DateTime, $t: DateTime) { analytics(input: {serviceId: $s, from: $f, to: $t, timeZone: \"UTC\"}) {
                   summary { total acknowledged escalated resolved
                     timeToAcknowledge { meanSeconds } timeToResolve { meanSeconds } } } }",
                json!({"s": service, "f": from, "t": to}),
            )
            .await;
        let g = &d["analytics"]["summary"];
        let n = |c: &Data| cell_f64(c).unwrap_or(0.0);
        assert_eq!(n(&r[2]), g["total"].as_f64().unwrap(), "{service} total");
        assert_eq!(
            n(&r[3]),
            g["acknowledged"].as_f64().unwrap(),
            "{service} acknowledged"
        );
        assert_eq!(
            n(&r[4]),
            g["escalated"].as_f64().unwrap(),
            "{service} escalated"
        );
        assert_eq!(
            n(&r[6]),
            g["resolved"].as_f64().unwrap(),
            "{service} resolved"
        );
        let minutes = |v: &Value| v.as_f64().map(|s| s / 60.0);
        assert!(
            close(
                cell_f64(&r[7]),
                minutes(&g["timeToAcknowledge"]["meanSeconds"])
            ),
            "{service} MTTA: report {:?} against {}",
            r[7],
            g["timeToAcknowledge"]
        );
        assert!(
            close(cell_f64(&r[8]), minutes(&g["timeToResolve"]["meanSeconds"])),
            "{service} MTTR: report {:?} against {}",
            r[8],
            g["timeToResolve"]
        );
    }

    // Incidents per service by mapped category: the status report and
    // GraphQL's serviceStatusCounts.
    let mut req = request(ReportKind::IncidentStatusPerService, Format::Csv);
    req.filter.from = Some(from.parse().unwrap());
    req.filter.to = Some(to.parse().unwrap());
    let path = write(&app, &req, "agree-status.csv").await;
    let d = app
        .data(
            "query($f: DateTime, $t: DateTime) { analytics(input: {from: $f, to: $t, timeZone: \"UTC\"}) {
               serviceStatusCounts { services { serviceId total statuses { category incidents } } } } }",
            json!({"f": from, "t": to}),
        )
        .await;
    let services = d["analytics"]["serviceStatusCounts"]["services"]
        .as_array()
        .unwrap();
    let mut reader = csv::Reader::from_path(&path).unwrap();
    let mut compared = 0;
    for rec in reader.records() {
        let rec = rec.unwrap();
        let g = services
            .iter()
            .find(|s| s["serviceId"] == rec[0])
            .unwrap_or_else(|| panic!("{} in serviceStatusCounts", &rec[0]));
        assert_eq!(
            rec[5].parse::<i64>().unwrap(),
            g["total"].as_i64().unwrap(),
            "{}",
            &rec[0]
        );
        for (k, category) in ["OPEN", "IN_PROGRESS", "WAITING", "RESOLVED"]
            .iter()
            .enumerate()
        {
            let graphql: i64 = g["statuses"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|s| s["category"] == *category)
                .map(|s| s["incidents"].as_i64().unwrap())
                .sum();
            assert_eq!(
                rec[6 + k].parse::<i64>().unwrap(),
                graphql,
                "{} {category}",
                &rec[0]
            );
        }
        compared += 1;
    }
    assert!(compared >= 3, "{compared} services compared");
}

async fn excluded_columns_are_left_out(app: TestApp) {
    seed_catalog(&app.db).await;
    seed_incidents(&app.db, 5).await;
    let path = app.reports_dir.path().join("x.csv");
    reports::generate(
        &app.db,
        &request(ReportKind::Incidents, Format::Csv),
        &reports::Options {
            exclude: vec![
                "title".into(),
                "incidents.html_url".into(),
                "services.name".into(),
            ],
            ..Default::default()
        },
        chrono::Utc::now(),
        &path,
        &NoProgress,
        &Default::default(),
    )
    .await
    .unwrap();
    let text = std::fs::read_to_string(path).unwrap();
    let header = text.lines().next().unwrap();
    assert!(
        !header.contains("Title") && !header.contains("PagerDuty URL"),
        "{header}"
    );
    assert!(
        header.contains("Service"),
        "a rule for another kind does not apply"
    );
}

const REQUEST: &str =
    "mutation($input: ReportInput!) { requestReport(input: $input) { id status kind } }";
const JOB: &str = "query($id: ID!) { job(id: $id) { id status progress message error attempts
    result logs { level line } file { name contentType bytes expired downloadUrl } } }";

async fn report_job_flow_over_graphql_and_download(app: TestApp) {
    seed_catalog(&app.db).await;
    seed_incidents(&app.db, 30).await;
    let (_, user) = app.account_with_token("user@example.com", Role::User).await;
    let (_, other) = app
        .account_with_token("other@example.com", Role::User)
        .await;
    let (_, viewer) = app
        .account_with_token("viewer@example.com", Role::Viewer)
        .await;

    let input = json!({"input": {"kind": "INCIDENTS", "format": "XLSX",
        "filter": {"serviceIds": ["PS_API"]}, "timeZone": "Europe/Paris"}});
    let (_, body) = app.gql_as(&user, REQUEST, input.clone()).await;
    let job = &body["data"]["requestReport"];
    assert_eq!(job["status"], "QUEUED", "{body}");
    let id = job["id"].as_str().unwrap().to_owned();

    // Still queued: 409.
    let download = |token: &str| {
        app.anon
            .get(app.url(&format!("/reports/{id}/download")))
            .bearer_auth(token)
            .send()
    };
    assert_eq!(download(&user).await.unwrap().status(), 409);

    // A viewer may not request reports; nothing is queued.
    let (_, body) = app.gql_as(&viewer, REQUEST, input.clone()).await;
    assert_error(&body, "FORBIDDEN");

    assert_eq!(app.app.jobs.run_pending().await.unwrap(), 1);
    let (_, body) = app.gql_as(&user, JOB, json!({"id": id})).await;
    let j = &body["data"]["job"];
    assert_eq!(j["status"], "SUCCEEDED", "{body}");
    assert_eq!(j["progress"], 100);
    assert_eq!(j["result"]["rows"], 10, "PS_API has 10 of 30");
    assert_eq!(j["file"]["expired"], false);
    assert!(j["logs"].as_array().unwrap().len() >= 2);
    let name = j["file"]["name"].as_str().unwrap().to_owned();
    assert!(
        name.starts_with("incidents-") && name.ends_with(".xlsx"),
        "{name}"
    );

    let resp = download(&user).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.headers()["content-type"],
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    assert_eq!(
        resp.headers()["content-disposition"].to_str().unwrap(),
        format!("attachment; filename=\"{name}\"")
    );
    let bytes = resp.bytes().await.unwrap();
    let mut book = Xlsx::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
    assert_eq!(book.worksheet_range("Incidents").unwrap().height(), 11);

    // Someone else: 403 on the file and on the job; admins may; unknown: 404.
    let resp = download(&other).await.unwrap();
    assert_eq!(resp.status(), 403);
    let (_, body) = app.gql_as(&other, JOB, json!({"id": id})).await;
    assert_error(&body, "FORBIDDEN");
    assert_eq!(download(&app.admin_token).await.unwrap().status(), 200);
    let resp = app
        .anon
        .get(app.url("/reports/999999/download"))
        .bearer_auth(&user)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
    let resp = app
        .anon
        .get(app.url(&format!("/reports/{id}/download")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);

    // Expired: the expiry job deletes the file; the download answers 410.
    let mut m: job::ActiveModel = job::Entity::find_by_id(id.parse::<i32>().unwrap())
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
        .into();
    m.file_expires_at = Set(Some(Utc::now() - chrono::Duration::seconds(1)));
    m.update(&app.db).await.unwrap();
    let (_, body) = app
        .gql_as(
            &app.admin_token,
            "mutation { runJobNow(kind: REPORT_EXPIRY) { id } }",
            json!({}),
        )
        .await;
    assert!(body.get("errors").is_none(), "{body}");
    app.app.jobs.run_pending().await.unwrap();
    assert_eq!(download(&user).await.unwrap().status(), 410);
    assert_eq!(
        std::fs::read_dir(app.reports_dir.path()).unwrap().count(),
        0,
        "the file is gone from disk"
    );
}

async fn bad_report_requests_queue_nothing(app: TestApp) {
    seed_catalog(&app.db).await;
    let cases: [(Value, &str); 6] = [
        (
            json!({"kind": "INCIDENTS", "format": "CSV", "filter": {"statuses": ["open"]}}),
            "unknown status",
        ),
        (
            json!({"kind": "INCIDENTS", "format": "CSV", "filter": {"urgencies": ["urgent"]}}),
            "unknown urgency",
        ),
        (
            json!({"kind": "INCIDENTS", "format": "CSV", "filter": {"serviceIds": ["PNOPE"]}}),
            "unknown service",
        ),
        (
            json!({"kind": "INCIDENTS", "format": "CSV", "filter": {"teamIds": ["PTX"]}}),
            "unknown team",
        ),
        (
            json!({"kind": "INCIDENTS", "format": "CSV", "timeZone": "Mars/Olympus"}),
            "unknown time zone",
        ),
        (
            json!({"kind": "INCIDENTS", "format": "CSV",
            "filter": {"from": "2026-02-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"}}),
            "before",
        ),
    ];
    for (input, needle) in cases {
        let body = app.gql(REQUEST, json!({"input": input})).await;
        let message = assert_error(&body, "BAD_USER_INPUT");
        assert!(
            message.contains(needle),
            "{message} should mention {needle}"
        );
    }
    // An unknown kind is refused by the schema itself.
    let body = app
        .gql(
            REQUEST,
            json!({"input": {"kind": "PAYROLL", "format": "CSV"}}),
        )
        .await;
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("PAYROLL"),
        "{body}"
    );
    assert_eq!(job::Entity::find().count(&app.db).await.unwrap(), 0);
    // A job id that is not a number, or not there.
    let body = app.gql(JOB, json!({"id": "abc"})).await;
    assert_error(&body, "NOT_FOUND");
    let body = app
        .gql("mutation { cancelJob(id: \"424242\") { id } }", json!({}))
        .await;
    assert_error(&body, "NOT_FOUND");
}

on_both_databases!(
    incidents_report_matches_the_database_cell_by_cell,
    aggregate_reports_agree_with_the_incidents,
    the_service_summary_and_graphql_analytics_agree,
    excluded_columns_are_left_out,
    report_job_flow_over_graphql_and_download,
    bad_report_requests_queue_nothing,
);
