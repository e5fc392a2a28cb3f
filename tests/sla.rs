//! The SLA engine: seeded policies, targets and their states, warnings and
//! breaches notified exactly once (also with two checks at the same moment),
//! pause and resume, policy changes, and bad input that changes nothing.

use chrono::{DateTime, Duration, Utc};
use pagerlens::auth::Role;
use pagerlens::config::SlaSettings;
use pagerlens::entities::{incident, notification, sla_policy};
use pagerlens::sla;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, Set};
use serde_json::{Value, json};

use crate::common::fixtures::{seed_catalog, seed_incidents};
use crate::common::{TestApp, assert_error};
use crate::on_both_databases;

const SLA: &str = "query($id: ID!) { incident(id: $id) { sla { paused
    response { state policyName targetSeconds deadline breachedAt warnedShare }
    resolution { state targetSeconds deadline pausedAt }
    timeline { kind target reason } } } }";

async fn sla_of(app: &TestApp, id: &str) -> Value {
    app.data(SLA, json!({"id": id})).await["incident"]["sla"].clone()
}

fn at(v: &Value) -> DateTime<Utc> {
    v.as_str()
        .unwrap_or_else(|| panic!("not a time: {v}"))
        .parse()
        .unwrap()
}

/// Makes PI0000 (PS_API, priority P1, high urgency) a fresh triggered
/// incident created `age` ago, and computes its SLA as a sync would.
async fn fresh_incident(app: &TestApp, age: Duration) -> DateTime<Utc> {
    triggered_with_sla(app, "PI0000", age).await
}

/// Makes incident `id` a triggered one created `age` ago (whole seconds),
/// and computes its SLA as a sync would.
async fn triggered_with_sla(app: &TestApp, id: &str, age: Duration) -> DateTime<Utc> {
    let created = DateTime::from_timestamp(Utc::now().timestamp(), 0).unwrap() - age;
    make_triggered(app, id, created).await;
    sla::refresh(
        &app.db,
        &SlaSettings::default(),
        &[id.into()],
        false,
        Utc::now(),
    )
    .await
    .unwrap();
    created
}

/// Makes incident `id` a triggered one, never acknowledged, created at
/// `created`.
async fn make_triggered(app: &TestApp, id: &str, created: DateTime<Utc>) {
    edit_incident(app, id, |m| {
        m.created_at = Set(created);
        m.status = Set("triggered".into());
        m.acknowledged_at = Set(None);
        m.resolved_at = Set(None);
    })
    .await;
}

/// Changes incident `id` in the database.
async fn edit_incident(app: &TestApp, id: &str, change: impl FnOnce(&mut incident::ActiveModel)) {
    let mut m: incident::ActiveModel = incident::Entity::find_by_id(id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
        .into();
    change(&mut m);
    m.update(&app.db).await.unwrap();
}

/// The kinds of the notifications queued so far.
pub async fn outbox(app: &TestApp) -> Vec<String> {
    notification::Entity::find()
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|n| n.kind)
        .collect()
}

async fn seeded_policies_and_targets(app: TestApp) {
    let d = app
        .data("{ slaPolicies { name priorityNames urgency responseTargetSeconds resolutionTargetSeconds } }", json!({}))
        .await;
    let critical = d["slaPolicies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "critical")
        .unwrap()
        .clone();
    assert_eq!(critical["priorityNames"], json!(["P1"]));
    assert_eq!(critical["responseTargetSeconds"], 3600);
    assert_eq!(critical["resolutionTargetSeconds"], 4 * 3600);
    assert_eq!(d["slaPolicies"].as_array().unwrap().len(), 6);

    seed_catalog(&app.db).await;
    seed_incidents(&app.db, 4).await;
    let created = fresh_incident(&app, Duration::minutes(40)).await;
    let s = sla_of(&app, "PI0000").await;
    assert_eq!(s["response"]["state"], "ACTIVE", "{s}");
    assert_eq!(s["response"]["policyName"], "critical");
    assert_eq!(at(&s["response"]["deadline"]), created + Duration::hours(1));
    assert_eq!(
        at(&s["resolution"]["deadline"]),
        created + Duration::hours(4)
    );
    assert_eq!(s["timeline"][0]["kind"], "started");

    // A resolve without an acknowledgement never meets the response target.
    let ids: Vec<String> = (1..4).map(|k| format!("PI{k:04}")).collect();
    sla::refresh(&app.db, &SlaSettings::default(), &ids, false, Utc::now())
        .await
        .unwrap();
    let mut m: incident::ActiveModel = incident::Entity::find_by_id("PI0002")
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
        .into();
    m.acknowledged_at = Set(None);
    m.update(&app.db).await.unwrap();
    sla::refresh(
        &app.db,
        &SlaSettings::default(),
        &["PI0002".into()],
        true,
        Utc::now(),
    )
    .await
    .unwrap();
    let s = sla_of(&app, "PI0002").await;
    assert_eq!(s["response"]["state"], "BREACHED", "{s}");
    assert_eq!(
        s["resolution"]["state"], "MET",
        "resolved after 60 min: {s}"
    );
    assert!(
        s["timeline"]
            .to_string()
            .contains("resolved without an acknowledgement"),
        "{s}"
    );
}

async fn warnings_and_breaches_are_notified_once(app: TestApp) {
    seed_catalog(&app.db).await;
    seed_incidents(&app.db, 1).await;
    let created = fresh_incident(&app, Duration::minutes(40)).await;
    let settings = SlaSettings::default();
    // 40 of 60 minutes: the 50% warning, from two checks at the same moment.
    let now = Utc::now();
    let (a, b) = tokio::join!(
        sla::check(&app.db, &settings, now),
        sla::check(&app.db, &settings, now)
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.warned + b.warned, 1, "{a:?} {b:?}");
    assert_eq!(a.breached + b.breached, 0);
    assert_eq!(outbox(&app).await, ["sla_at_risk"]);
    let s = sla_of(&app, "PI0000").await;
    assert_eq!(s["response"]["warnedShare"], 0.5, "{s}");

    // Past the response deadline: one breach, however many checks run.
    let later = created + Duration::minutes(61);
    let (a, b) = tokio::join!(
        sla::check(&app.db, &settings, later),
        sla::check(&app.db, &settings, later)
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.breached + b.breached, 1, "{a:?} {b:?}");
    let again = sla::check(&app.db, &settings, later).await.unwrap();
    assert_eq!((again.breached, again.warned), (0, 0));
    let mut kinds = outbox(&app).await;
    kinds.sort();
    assert_eq!(kinds, ["sla_at_risk", "sla_breached"]);
    let s = sla_of(&app, "PI0000").await;
    assert_eq!(s["response"]["state"], "BREACHED");
    assert_eq!(
        at(&s["response"]["breachedAt"]),
        created + Duration::hours(1)
    );
    let kinds: Vec<&str> = s["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"warned") && kinds.contains(&"breached"),
        "{kinds:?}"
    );

    // A late acknowledgement does not turn a breach into a success.
    let mut m: incident::ActiveModel = incident::Entity::find_by_id("PI0000")
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
        .into();
    m.acknowledged_at = Set(Some(created + Duration::minutes(70)));
    m.status = Set("acknowledged".into());
    m.update(&app.db).await.unwrap();
    sla::refresh(&app.db, &settings, &["PI0000".into()], false, Utc::now())
        .await
        .unwrap();
    assert_eq!(
        sla_of(&app, "PI0000").await["response"]["state"],
        "BREACHED"
    );
}

async fn pause_and_resume(app: TestApp) {
    seed_catalog(&app.db).await;
    seed_incidents(&app.db, 1).await;
    fresh_incident(&app, Duration::minutes(10)).await;
    let (_, user) = app.account_with_token("user@example.com", Role::User).await;
    let (_, viewer) = app
        .account_with_token("viewer@example.com", Role::Viewer)
        .await;
    let before = at(&sla_of(&app, "PI0000").await["resolution"]["deadline"]);

    let pause = "mutation($id: ID!, $r: String!) { pauseSla(incidentId: $id, reason: $r) { sla { paused resolution { state deadline pausedAt } } } }";
    let resume = "mutation($id: ID!) { resumeSla(incidentId: $id) { sla { paused resolution { state deadline } } } }";
    let (_, body) = app
        .gql_as(
            &viewer,
            pause,
            json!({"id": "PI0000", "r": "waiting on the customer"}),
        )
        .await;
    assert_error(&body, "FORBIDDEN");
    let (_, body) = app.gql_as(&user, resume, json!({"id": "PI0000"})).await;
    assert_error(&body, "BAD_USER_INPUT");
    let (_, body) = app
        .gql_as(&user, pause, json!({"id": "PI0000", "r": "  "}))
        .await;
    assert_error(&body, "BAD_USER_INPUT");
    let (_, body) = app
        .gql_as(&user, pause, json!({"id": "NOPE", "r": "x"}))
        .await;
    assert_error(&body, "NOT_FOUND");
    assert_eq!(
        sla_of(&app, "PI0000").await["paused"],
        false,
        "refusals changed nothing"
    );

    let (_, body) = app
        .gql_as(
            &user,
            pause,
            json!({"id": "PI0000", "r": "waiting on the customer"}),
        )
        .await;
    let s = &body["data"]["pauseSla"]["sla"];
    assert_eq!(s["paused"], true, "{body}");
    assert_eq!(s["resolution"]["state"], "PAUSED");
    assert!(s["resolution"]["deadline"].is_null());
    let (_, body) = app
        .gql_as(&user, pause, json!({"id": "PI0000", "r": "again"}))
        .await;
    assert_error(&body, "BAD_USER_INPUT");

    // As if the pause began five minutes ago (the incident is ten minutes
    // old): the resume then gives the deadline those minutes back.
    let open = pagerlens::entities::sla_pause::Entity::find()
        .filter(pagerlens::entities::sla_pause::Column::IncidentId.eq("PI0000"))
        .one(&app.db)
        .await
        .unwrap()
        .expect("the pause is kept");
    assert!(!open.automatic, "a person's pause is not automatic");
    let began = open.started_at - Duration::minutes(5);
    let mut m: pagerlens::entities::sla_pause::ActiveModel = open.into();
    m.started_at = Set(began);
    m.update(&app.db).await.unwrap();
    let (_, body) = app.gql_as(&user, resume, json!({"id": "PI0000"})).await;
    let s = &body["data"]["resumeSla"]["sla"];
    assert_eq!(s["resolution"]["state"], "ACTIVE", "{body}");
    let after = at(&s["resolution"]["deadline"]);
    assert!(
        after >= before + Duration::minutes(5),
        "a five-minute pause moves the deadline five minutes later: {before} -> {after}"
    );
    let timeline = sla_of(&app, "PI0000").await["timeline"].to_string();
    assert!(
        timeline.contains("waiting on the customer") && timeline.contains("resumed"),
        "{timeline}"
    );
}

async fn policy_changes_reevaluate_open_slas(app: TestApp) {
    seed_catalog(&app.db).await;
    seed_incidents(&app.db, 1).await;
    fresh_incident(&app, Duration::minutes(10)).await;
    let critical = sla_policy::Entity::find()
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .find(|p| p.name == "critical")
        .unwrap();
    let update = "mutation($id: ID!, $in: SlaPolicyInput!) { updateSlaPolicy(id: $id, input: $in) { name resolutionTargetSeconds } }";
    let input = |resolution: i64| json!({"name": "critical", "priorityNames": ["P1"], "responseTargetSeconds": 3600, "resolutionTargetSeconds": resolution});
    // Bad input: refused, nothing changed.
    for bad in [-5, 0] {
        let body = app
            .gql(
                update,
                json!({"id": critical.id.to_string(), "in": input(bad)}),
            )
            .await;
        assert_error(&body, "BAD_USER_INPUT");
    }
    let body = app
        .gql(update, json!({"id": "999999", "in": input(100)}))
        .await;
    assert_error(&body, "NOT_FOUND");
    let (_, viewer) = app.account_with_token("v@example.com", Role::Viewer).await;
    let (_, body) = app
        .gql_as(
            &viewer,
            update,
            json!({"id": critical.id.to_string(), "in": input(100)}),
        )
        .await;
    assert_error(&body, "FORBIDDEN");
    assert_eq!(
        sla_of(&app, "PI0000").await["resolution"]["targetSeconds"],
        4 * 3600
    );

    let d = app
        .data(
            update,
            json!({"id": critical.id.to_string(), "in": input(8 * 3600)}),
        )
        .await;
    assert_eq!(d["updateSlaPolicy"]["resolutionTargetSeconds"], 8 * 3600);
    let s = sla_of(&app, "PI0000").await;
    assert_eq!(
        s["resolution"]["targetSeconds"],
        8 * 3600,
        "open SLAs follow the policy: {s}"
    );
    assert!(s["timeline"].to_string().contains("policy_changed"), "{s}");
    assert_eq!(
        sla_policy::Entity::find().count(&app.db).await.unwrap(),
        6,
        "no policy was added by the refused attempts"
    );
}

/// One sync page's refresh of incident `id` with a kept context.
async fn page(app: &TestApp, settings: &SlaSettings, cache: &mut sla::ContextCache, id: &str) {
    sla::refresh_with(
        &app.db,
        settings,
        cache,
        &[id.to_owned()],
        false,
        Utc::now(),
    )
    .await
    .unwrap();
}

/// A sync keeps the policies between pages (`refresh_with` and a
/// `ContextCache`); a policy saved meanwhile counts from the next page on.
async fn a_kept_sla_context_sees_a_policy_saved_meanwhile(app: TestApp) {
    seed_catalog(&app.db).await;
    seed_incidents(&app.db, 2).await;
    let created =
        DateTime::from_timestamp(Utc::now().timestamp(), 0).unwrap() - Duration::minutes(10);
    let p1 = incident::Entity::find_by_id("PI0000")
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
        .priority_id;
    for id in ["PI0000", "PI0001"] {
        make_triggered(&app, id, created).await;
        let p1 = p1.clone();
        edit_incident(&app, id, move |m| m.priority_id = Set(p1)).await;
    }
    let settings = SlaSettings::default();
    let mut cache = sla::ContextCache::default();
    page(&app, &settings, &mut cache, "PI0000").await;
    let s = sla_of(&app, "PI0000").await;
    assert_eq!(s["resolution"]["targetSeconds"], 4 * 3600, "{s}");
    // The kept context answers while nothing changed.
    page(&app, &settings, &mut cache, "PI0000").await;

    let critical = sla_policy::Entity::find()
        .filter(sla_policy::Column::Name.eq("critical"))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    app.data(
        "mutation($id: ID!, $in: SlaPolicyInput!) { updateSlaPolicy(id: $id, input: $in) { id } }",
        json!({"id": critical.id.to_string(), "in": {"name": "critical", "priorityNames": ["P1"],
            "responseTargetSeconds": 3600, "resolutionTargetSeconds": 8 * 3600}}),
    )
    .await;
    // The save measured the open incidents by the new policy; the next page
    // measures PI0001 again and must not put the kept, older policy back.
    assert_eq!(
        sla_of(&app, "PI0001").await["resolution"]["targetSeconds"],
        8 * 3600
    );
    page(&app, &settings, &mut cache, "PI0001").await;
    let s = sla_of(&app, "PI0001").await;
    assert_eq!(s["resolution"]["targetSeconds"], 8 * 3600, "{s}");
    assert_eq!(
        at(&s["resolution"]["deadline"]),
        created + Duration::hours(8)
    );
}

/// Admins manage business-hours calendars; bad input changes nothing; a
/// calendar in use cannot be deleted.
async fn business_calendars_are_managed_in_graphql(app: TestApp) {
    let create = "mutation($in: BusinessCalendarInput!) { createBusinessCalendar(input: $in) {
        id name timeZone weeklyHours { day windows } holidays } }";
    let good = json!({"name": "Paris office", "timeZone": "Europe/Paris",
        "weeklyHours": [{"day": "fri", "windows": ["09:00-12:00", "13:00-17:00"]},
                        {"day": "mon", "windows": ["09:00-17:00"]}],
        "holidays": ["2026-12-25"]});
    let d = app.data(create, json!({"in": good})).await;
    let cal = &d["createBusinessCalendar"];
    assert_eq!(cal["timeZone"], "Europe/Paris");
    assert_eq!(
        cal["weeklyHours"][0],
        json!({"day": "mon", "windows": ["09:00-17:00"]})
    );
    assert_eq!(cal["holidays"], json!(["2026-12-25"]));
    let id = cal["id"].as_str().unwrap().to_owned();

    for (bad, needle) in [
        (
            json!({"name": "x", "timeZone": "Mars/Base", "weeklyHours": []}),
            "",
        ),
        (
            json!({"name": "x", "timeZone": "UTC", "weeklyHours": [{"day": "funday", "windows": ["09:00-17:00"]}]}),
            "funday",
        ),
        (
            json!({"name": "x", "timeZone": "UTC", "weeklyHours": [{"day": "mon", "windows": ["9 to 5"]}]}),
            "",
        ),
        (
            json!({"name": " ", "timeZone": "UTC", "weeklyHours": []}),
            "name",
        ),
        (
            json!({"name": "Paris office", "timeZone": "UTC", "weeklyHours": []}),
            "exists",
        ),
    ] {
        let message = assert_error(
            &app.gql(create, json!({"in": bad.clone()})).await,
            "BAD_USER_INPUT",
        );
        assert!(message.contains(needle), "{bad}: {message}");
    }
    let d = app.data("{ businessCalendars { id } }", json!({})).await;
    assert_eq!(d["businessCalendars"].as_array().unwrap().len(), 1);

    let (_, viewer) = app
        .account_with_token("viewer@example.com", Role::Viewer)
        .await;
    let (_, body) = app.gql_as(&viewer, create, json!({"in": good})).await;
    assert_error(&body, "FORBIDDEN");

    // In use by a policy: kept until the policy lets go.
    let d = app
        .data(
            "mutation($in: SlaPolicyInput!) { createSlaPolicy(input: $in) { id } }",
            json!({"in": {"name": "office hours", "responseTargetSeconds": 3600,
                "resolutionTargetSeconds": 7200, "calendarId": id}}),
        )
        .await;
    let policy = d["createSlaPolicy"]["id"].as_str().unwrap().to_owned();
    let delete = "mutation($id: ID!) { deleteBusinessCalendar(id: $id) }";
    let message = assert_error(&app.gql(delete, json!({"id": id})).await, "BAD_USER_INPUT");
    assert!(message.contains("office hours"), "{message}");
    let d = app
        .data(
            "mutation($id: ID!, $in: BusinessCalendarInput!) { updateBusinessCalendar(id: $id, input: $in) { name weeklyHours { day } } }",
            json!({"id": id, "in": {"name": "Paris office", "timeZone": "Europe/Paris",
                "weeklyHours": [{"day": "tue", "windows": ["08:00-16:00"]}]}}),
        )
        .await;
    assert_eq!(
        d["updateBusinessCalendar"]["weeklyHours"],
        json!([{"day": "tue"}])
    );
    app.data(
        "mutation($id: ID!) { deleteSlaPolicy(id: $id) }",
        json!({"id": policy}),
    )
    .await;
    let d = app.data(delete, json!({"id": id})).await;
    assert_eq!(d["deleteBusinessCalendar"], true);
    assert_error(&app.gql(delete, json!({"id": id})).await, "NOT_FOUND");
}

const COMPLIANCE: &str = "query($g: SlaGroupBy!, $r: AnalyticsInput) {
    slaCompliance(groupBy: $g, range: $r) { timeZone
      groups { key name
        response { total met breached open metPercent breachedPercent meanSecondsUsed meanShareUsed }
        resolution { total met breached open metPercent meanSecondsUsed meanShareUsed } }
      overall { response { total met breached } resolution { total met breached } } } }";

/// (key, response met, response breached, resolution met, resolution breached).
fn outcomes(d: &Value) -> Vec<(String, i64, i64, i64, i64)> {
    d["slaCompliance"]["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            let n = |t: &str, k: &str| g[t][k].as_i64().unwrap();
            (
                g["name"].as_str().unwrap().to_owned(),
                n("response", "met"),
                n("response", "breached"),
                n("resolution", "met"),
                n("resolution", "breached"),
            )
        })
        .collect()
}

/// The SLA report and `slaCompliance` count by one definition: over the
/// same incidents they give the same totals, met, breached and open, for
/// each target, including an overdue target the breach check has not yet
/// marked breached (it counts as breached in both).
async fn the_sla_report_and_sla_compliance_agree(app: TestApp) {
    use pagerlens::entities::incident_sla_target as t;
    use pagerlens::reports::{self, Filter, Format, NoProgress, ReportKind, Request};
    seed_twelve_with_slas(&app.db).await;
    // One open target overdue but still ACTIVE, as between breach checks.
    let open = t::Entity::find()
        .filter(t::Column::ClosedAt.is_null())
        .one(&app.db)
        .await
        .unwrap()
        .expect("an open target");
    let mut m: t::ActiveModel = open.into();
    m.state = Set("ACTIVE".into());
    m.deadline = Set(Some(Utc::now() - Duration::hours(1)));
    m.update(&app.db).await.unwrap();

    let range = ("2026-01-01T00:00:00Z", "2026-03-01T00:00:00Z");
    let d = app
        .data(
            COMPLIANCE,
            json!({"g": "SERVICE", "r": {"from": range.0, "to": range.1, "timeZone": "UTC"}}),
        )
        .await;
    let path = app.reports_dir.path().join("sla.csv");
    let request = Request {
        kind: ReportKind::SlaCompliance,
        format: Format::Csv,
        filter: Filter {
            from: Some(range.0.parse().unwrap()),
            to: Some(range.1.parse().unwrap()),
            ..Default::default()
        },
        time_zone: None,
        scope: None,
        schedule_id: None,
    };
    reports::generate(
        &app.db,
        &request,
        &Default::default(),
        Utc::now(),
        &path,
        &NoProgress,
        &Default::default(),
    )
    .await
    .unwrap();
    let mut report: std::collections::BTreeMap<String, [i64; 4]> = Default::default();
    for r in csv::Reader::from_path(&path).unwrap().records() {
        let r = r.unwrap();
        let n = |k: usize| r[k].parse::<i64>().unwrap();
        let sum = report.entry(r[1].to_owned()).or_default();
        for (k, v) in sum.iter_mut().enumerate() {
            *v += n(k + 2);
        }
    }
    for target in ["response", "resolution"] {
        let overall = &d["slaCompliance"]["overall"][target];
        let (total, met, breached) = (
            overall["total"].as_i64().unwrap(),
            overall["met"].as_i64().unwrap(),
            overall["breached"].as_i64().unwrap(),
        );
        assert_eq!(
            report[target],
            [total, met, breached, total - met - breached],
            "{target}: report (total, met, breached, open) against slaCompliance {overall}"
        );
    }
    // Targets past their deadline that the breach check has not marked:
    // counted as breached by both.
    let marked = t::Entity::find()
        .filter(t::Column::State.eq("BREACHED"))
        .count(&app.db)
        .await
        .unwrap() as i64;
    let overdue = t::Entity::find()
        .filter(t::Column::State.eq("ACTIVE"))
        .filter(t::Column::Deadline.lte(Utc::now()))
        .count(&app.db)
        .await
        .unwrap() as i64;
    assert!(
        overdue >= 1,
        "the fixture holds an overdue, unmarked target"
    );
    let breached: i64 = report.values().map(|v| v[2]).sum();
    assert_eq!(
        breached,
        marked + overdue,
        "overdue ACTIVE targets count as breached"
    );
}

/// Fixture (by hand): 12 incidents an hour apart from 2026-01-01 00:00 UTC,
/// rotating over PS_API/P1 (critical), PS_CHK/P2 (high), PS_LDG/P3
/// (medium); statuses triggered, acknowledged, resolved, resolved. An
/// acknowledgement comes after 5 minutes (response met, 300 s used), a
/// resolve after 60 minutes (resolution met, 3,600 s used); everything still
/// open is long past its deadline (breached). So each service has response
/// 3 met / 1 breached and resolution 2 met / 2 breached.
async fn compliance_by_service_team_priority_and_month(app: TestApp) {
    seed_twelve_with_slas(&app.db).await;
    let january =
        json!({"from": "2026-01-01T00:00:00Z", "to": "2026-03-01T00:00:00Z", "timeZone": "UTC"});

    let d = app
        .data(COMPLIANCE, json!({"g": "SERVICE", "r": january}))
        .await;
    assert_eq!(
        outcomes(&d),
        vec![
            ("API gateway".into(), 3, 1, 2, 2),
            ("Checkout".into(), 3, 1, 2, 2),
            ("Ledger".into(), 3, 1, 2, 2),
        ]
    );
    let api = &d["slaCompliance"]["groups"][0];
    assert_eq!(api["key"], "PS_API");
    assert_eq!(api["response"]["total"], 4);
    assert_eq!(api["response"]["metPercent"], 75.0);
    assert_eq!(api["response"]["breachedPercent"], 25.0);
    // Means over closed targets only: three acknowledgements at 300 s of a
    // 3,600 s target; two resolves at 3,600 s of 14,400 s.
    assert_eq!(api["response"]["meanSecondsUsed"], 300.0);
    let share = api["response"]["meanShareUsed"].as_f64().unwrap();
    assert!((share - 300.0 / 3600.0).abs() < 1e-9, "{share}");
    assert_eq!(api["resolution"]["meanSecondsUsed"], 3600.0);
    assert_eq!(api["resolution"]["meanShareUsed"], 0.25);
    assert_eq!(
        d["slaCompliance"]["overall"],
        json!({"response": {"total": 12, "met": 9, "breached": 3},
               "resolution": {"total": 12, "met": 6, "breached": 6}})
    );

    let d = app
        .data(COMPLIANCE, json!({"g": "PRIORITY", "r": january}))
        .await;
    assert_eq!(
        outcomes(&d),
        vec![
            ("P1".into(), 3, 1, 2, 2),
            ("P2".into(), 3, 1, 2, 2),
            ("P3".into(), 3, 1, 2, 2),
        ]
    );

    // Ledger belongs to Payments and Data: its incidents count for both;
    // overall still counts each incident once.
    let d = app
        .data(COMPLIANCE, json!({"g": "TEAM", "r": january}))
        .await;
    assert_eq!(
        outcomes(&d),
        vec![
            ("Data".into(), 3, 1, 2, 2),
            ("Payments".into(), 6, 2, 4, 4),
            ("Platform".into(), 3, 1, 2, 2),
        ]
    );
    assert_eq!(d["slaCompliance"]["overall"]["response"]["total"], 12);

    // One service, by month: every month of the period, empty ones too.
    let d = app
        .data(
            COMPLIANCE,
            json!({"g": "MONTH", "r": {"serviceId": "PS_CHK", "from": "2026-01-01T00:00:00Z",
                   "to": "2026-03-01T00:00:00Z", "timeZone": "UTC"}}),
        )
        .await;
    assert_eq!(
        outcomes(&d),
        vec![
            ("2026-01".into(), 3, 1, 2, 2),
            ("2026-02".into(), 0, 0, 0, 0)
        ]
    );
    assert_eq!(d["slaCompliance"]["groups"][0]["key"], "2026-01-01");
    assert_eq!(
        d["slaCompliance"]["groups"][1]["response"]["metPercent"],
        Value::Null
    );

    // Months are local: in New York the first five incidents (00:00–04:00
    // UTC on 1 January) are on New Year's Eve: triggered, acknowledged,
    // resolved, resolved, triggered.
    let d = app
        .data(
            COMPLIANCE,
            json!({"g": "MONTH", "r": {"from": "2025-12-01T05:00:00Z",
                   "to": "2026-02-01T05:00:00Z", "timeZone": "America/New_York"}}),
        )
        .await;
    assert_eq!(
        outcomes(&d),
        vec![
            ("2025-12".into(), 3, 2, 2, 3),
            ("2026-01".into(), 6, 1, 4, 3)
        ]
    );

    // A team-scoped caller sees only its own teams.
    let (account, token) = app
        .account_with_token("payments@example.com", Role::User)
        .await;
    app.limit_account_to_teams(account, &["PT2"]).await;
    let (status, body) = app
        .gql_as(&token, COMPLIANCE, json!({"g": "TEAM", "r": january}))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        outcomes(&body["data"]),
        vec![("Payments".into(), 6, 2, 4, 4)]
    );

    // A running target within its deadline is open, not decided.
    fresh_incident(&app, Duration::minutes(10)).await;
    let d = app
        .data(COMPLIANCE, json!({"g": "SERVICE", "r": {"lastDays": 2}}))
        .await;
    let g = &d["slaCompliance"]["groups"][0];
    assert_eq!(g["key"], "PS_API");
    assert_eq!(g["response"]["open"], 1);
    assert_eq!(g["response"]["metPercent"], Value::Null);
    assert_eq!(g["response"]["meanSecondsUsed"], Value::Null);

    // Bad ranges are refused.
    for r in [
        json!({"from": "2026-02-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"}),
        json!({"lastDays": 0}),
        json!({"timeZone": "Mars/Olympus"}),
        json!({"serviceId": "PS_API", "teamId": "PT1"}),
    ] {
        assert_error(
            &app.gql(COMPLIANCE, json!({"g": "SERVICE", "r": r})).await,
            "BAD_USER_INPUT",
        );
    }
}

/// A webhook racing the sync refreshes the same incident twice at the same
/// moment: both succeed (the targets are upserted), one target each.
async fn concurrent_refreshes_of_one_incident_both_succeed(app: TestApp) {
    seed_catalog(&app.db).await;
    seed_incidents(&app.db, 4).await;
    let ids: Vec<String> = (0..4).map(|k| format!("PI{k:04}")).collect();
    let settings = SlaSettings::default();
    let now = Utc::now();
    let (a, b, c) = tokio::join!(
        sla::refresh(&app.db, &settings, &ids, false, now),
        sla::refresh(&app.db, &settings, &ids, false, now),
        sla::refresh(&app.db, &settings, &ids, false, now),
    );
    for r in [a, b, c] {
        // The first to write inserts 8; a later one may find them as it
        // would write them.
        assert!(r.unwrap() <= 8);
    }
    let targets = pagerlens::entities::incident_sla_target::Entity::find()
        .count(&app.db)
        .await
        .unwrap();
    assert_eq!(targets, 8);
    // Nothing changed since: closed targets are not written again, open
    // ones are (their computation time dates the time used).
    let open = pagerlens::entities::incident_sla_target::Entity::find()
        .filter(pagerlens::entities::incident_sla_target::Column::ClosedAt.is_null())
        .count(&app.db)
        .await
        .unwrap();
    assert!(open < 8, "the fixture has closed targets");
    assert_eq!(
        sla::refresh(&app.db, &settings, &ids, false, now)
            .await
            .unwrap() as u64,
        open
    );
}

/// A target computed before its incident was acknowledged (a sync's clock
/// starts before the page that carries the acknowledgement is read) is
/// written again by the next refresh, which closes it.
async fn a_target_met_after_it_was_computed_is_closed_by_the_next_refresh(app: TestApp) {
    seed_catalog(&app.db).await;
    seed_incidents(&app.db, 1).await;
    let created = fresh_incident(&app, Duration::minutes(40)).await;
    let settings = SlaSettings::default();
    let ids = vec!["PI0000".to_owned()];
    edit_incident(&app, "PI0000", |m| {
        m.acknowledged_at = Set(Some(created + Duration::minutes(20)));
        m.status = Set("acknowledged".into());
    })
    .await;
    let response = || async {
        use pagerlens::entities::incident_sla_target as t;
        t::Entity::find()
            .filter(t::Column::IncidentId.eq("PI0000"))
            .filter(t::Column::Target.eq("response"))
            .one(&app.db)
            .await
            .unwrap()
            .unwrap()
    };
    sla::refresh(
        &app.db,
        &settings,
        &ids,
        false,
        created + Duration::minutes(15),
    )
    .await
    .unwrap();
    let r = response().await;
    assert_eq!(r.state, "MET");
    assert!(r.computed_at < r.met_at.unwrap());
    let later = created + Duration::minutes(30);
    sla::refresh(&app.db, &settings, &ids, false, later)
        .await
        .unwrap();
    assert_eq!(response().await.computed_at, later, "written again");
    // Closed now: a further refresh leaves it as it stands.
    sla::refresh(
        &app.db,
        &settings,
        &ids,
        false,
        later + Duration::minutes(5),
    )
    .await
    .unwrap();
    assert_eq!(response().await.computed_at, later);
}

/// A deleted incident's SLA is no longer watched: the check neither warns
/// nor breaches it (however small the batches, it does not keep them
/// going) and the lists leave it out, while a live incident beside it is
/// announced as usual.
async fn a_deleted_incident_is_neither_warned_nor_breached(app: TestApp) {
    seed_catalog(&app.db).await;
    seed_incidents(&app.db, 2).await;
    fresh_incident(&app, Duration::minutes(40)).await;
    triggered_with_sla(&app, "PI0001", Duration::hours(30)).await;
    let at_risk = "{ slaAtRisk { incidentId } slaBreaches { incidentId } }";
    let before = app.data(at_risk, json!({})).await;
    edit_incident(&app, "PI0000", |m| m.deleted_at = Set(Some(Utc::now()))).await;
    let settings = SlaSettings::default();
    let now = Utc::now();
    let first = sla::check_in_batches(&app.db, &settings, now, 1)
        .await
        .unwrap();
    let again = sla::check_in_batches(&app.db, &settings, now, 1)
        .await
        .unwrap();
    assert_eq!(again.warned + again.breached, 0, "{again:?}");
    let notes = outbox(&app).await;
    assert!(
        !notes.is_empty(),
        "the live incident is announced: {first:?}"
    );
    let live: Vec<String> = notification::Entity::find()
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|n| n.payload.to_string())
        .collect();
    assert!(
        live.iter()
            .all(|p| p.contains("PI0001") && !p.contains("PI0000")),
        "{live:?}"
    );
    let d = app.data(at_risk, json!({})).await;
    assert!(
        before.to_string().contains("PI0000"),
        "listed while live: {before}"
    );
    assert!(
        !d.to_string().contains("PI0000"),
        "not listed once deleted: {d}"
    );
    assert!(d.to_string().contains("PI0001"), "{d}");
}

/// An admin's recompute runs as a job: a closed SLA keeps the policy it was
/// measured by until a recompute measures it again by today's policies.
/// Bad input queues nothing.
async fn a_recompute_runs_as_a_job(app: TestApp) {
    use pagerlens::entities::job;
    seed_catalog(&app.db).await;
    seed_incidents(&app.db, 12).await;
    let ids: Vec<String> = (0..12).map(|k| format!("PI{k:04}")).collect();
    sla::refresh(&app.db, &SlaSettings::default(), &ids, false, Utc::now())
        .await
        .unwrap();
    let mut closed = None;
    for id in &ids {
        let s = sla_of(&app, id).await;
        if s["resolution"]["state"] == "MET" {
            closed = Some((id.clone(), s));
            break;
        }
    }
    let (id, before) = closed.expect("a resolved incident in the fixture");
    let old = before["resolution"]["targetSeconds"].as_i64().unwrap();
    let policy = sla_policy::Entity::find()
        .filter(sla_policy::Column::Name.eq(before["response"]["policyName"].as_str().unwrap()))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    // Changed behind the API's back: nothing re-evaluates on its own.
    let mut changed: sla_policy::ActiveModel = policy.into();
    changed.resolution_target_secs = Set(2 * old);
    changed.update(&app.db).await.unwrap();

    let start = "mutation($from: DateTime!, $to: DateTime!) {
        startSlaRecompute(from: $from, to: $to) { id kind status } }";
    let range = json!({"from": "2000-01-01T00:00:00Z", "to": "2100-01-01T00:00:00Z"});
    let body = app
        .gql(
            start,
            json!({"from": "2100-01-01T00:00:00Z", "to": "2000-01-01T00:00:00Z"}),
        )
        .await;
    assert_error(&body, "BAD_USER_INPUT");
    let (_, viewer) = app.account_with_token("v@example.com", Role::Viewer).await;
    let (_, body) = app.gql_as(&viewer, start, range.clone()).await;
    assert_error(&body, "FORBIDDEN");
    let body = app
        .gql(
            "mutation { runJobNow(kind: SLA_RECOMPUTE) { id } }",
            json!({}),
        )
        .await;
    assert_error(&body, "BAD_USER_INPUT");
    let queued = || {
        job::Entity::find()
            .filter(job::Column::Kind.eq("sla_recompute"))
            .count(&app.db)
    };
    assert_eq!(queued().await.unwrap(), 0, "refused requests queue nothing");
    assert_eq!(
        sla_of(&app, &id).await["resolution"]["targetSeconds"],
        old,
        "a closed SLA keeps the policy it was measured by"
    );

    let d = app.data(start, range.clone()).await;
    assert_eq!(d["startSlaRecompute"]["kind"], "sla_recompute");
    assert_eq!(d["startSlaRecompute"]["status"], "QUEUED");
    let job_id = d["startSlaRecompute"]["id"].clone();
    app.app.jobs.run_pending().await.unwrap();
    let d = app
        .data(
            "query($id: ID!) { job(id: $id) { status progress message result } }",
            json!({"id": job_id}),
        )
        .await;
    assert_eq!(d["job"]["status"], "SUCCEEDED", "{d}");
    assert_eq!(d["job"]["result"]["incidents"], 12, "{d}");
    assert!(
        d["job"]["result"]["targets_written"].as_i64().unwrap() >= 1,
        "{d}"
    );
    let after = sla_of(&app, &id).await;
    assert_eq!(after["resolution"]["targetSeconds"], 2 * old, "{after}");
    assert_eq!(after["resolution"]["state"], "MET", "{after}");
    assert!(
        after["timeline"].to_string().contains("policy_changed"),
        "{after}"
    );

    // Told to stop before its first batch, a recompute writes nothing.
    let stopped = sla::recompute_range(
        &app.db,
        &SlaSettings::default(),
        "2000-01-01T00:00:00Z".parse().unwrap(),
        "2100-01-01T00:00:00Z".parse().unwrap(),
        |_, _| std::ops::ControlFlow::Break(()),
    )
    .await;
    assert!(
        matches!(
            stopped,
            Err(sla::SlaError::Stopped {
                done: 0,
                written: 0
            })
        ),
        "{stopped:?}"
    );

    // The same work inside the request, for small ranges: with nothing
    // changed since, it rewrites exactly the open targets (their time used
    // moves on) and leaves the closed ones as they stand.
    let open = pagerlens::entities::incident_sla_target::Entity::find()
        .filter(pagerlens::entities::incident_sla_target::Column::State.is_in(["ACTIVE", "PAUSED"]))
        .count(&app.db)
        .await
        .unwrap();
    assert!(open > 0);
    let d = app
        .data(
            "mutation($from: DateTime!, $to: DateTime!) { recomputeSlas(from: $from, to: $to) }",
            range,
        )
        .await;
    assert_eq!(d["recomputeSlas"].as_u64().unwrap(), open, "{d}");
    assert_eq!(
        sla_of(&app, &id).await["resolution"]["targetSeconds"],
        2 * old
    );
}

/// Fixture as for compliance: after a check, each service has 1 breached
/// response target and 2 breached resolution targets.
async fn breaches_are_filtered(app: TestApp) {
    seed_twelve_with_slas(&app.db).await;
    sla::check(&app.db, &SlaSettings::default(), Utc::now())
        .await
        .unwrap();
    let q = "query($f: SlaTargetFilter) { slaBreaches(filter: $f) { incidentId target } }";
    let count = |d: &Value| d["slaBreaches"].as_array().unwrap().len();
    assert_eq!(count(&app.data(q, json!({})).await), 9);
    let d = app.data(q, json!({"f": {"serviceIds": ["PS_API"]}})).await;
    assert_eq!(count(&d), 3);
    assert!(
        d["slaBreaches"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| ["PI0000", "PI0003", "PI0006", "PI0009"]
                .contains(&t["incidentId"].as_str().unwrap())),
        "{d}"
    );
    let d = app.data(q, json!({"f": {"target": "RESPONSE"}})).await;
    assert_eq!(count(&d), 3);
    assert!(
        d["slaBreaches"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["target"] == "response")
    );
    assert_eq!(
        count(&app.data(q, json!({"f": {"teamIds": ["PT2"]}})).await),
        6
    );
    assert_eq!(
        count(
            &app.data(
                q,
                json!({"f": {"priorityIds": ["PR2"], "target": "RESOLUTION"}})
            )
            .await
        ),
        2
    );
    assert_eq!(
        count(
            &app.data(q, json!({"f": {"breachedBefore": "2025-01-01T00:00:00Z"}}))
                .await
        ),
        0
    );
    assert_eq!(
        count(
            &app.data(q, json!({"f": {"breachedAfter": "2025-01-01T00:00:00Z"}}))
                .await
        ),
        9
    );
    assert_error(
        &app.gql(
            q,
            json!({"f": {"breachedAfter": "2026-02-01T00:00:00Z", "breachedBefore": "2026-01-01T00:00:00Z"}}),
        )
        .await,
        "BAD_USER_INPUT",
    );
    // A variable left out where an input object is required is the
    // client's error, said as such.
    let body = app
        .gql(
            "query($r: AnalyticsInput) { slaCompliance(groupBy: SERVICE, range: $r) { timeZone } }",
            json!({}),
        )
        .await;
    let msg = assert_error(&body, "BAD_USER_INPUT");
    assert!(msg.contains("AnalyticsInput"), "{msg}");
    let at_risk = "{ slaAtRisk(filter: {serviceIds: [\"PS_API\"]}) { incidentId } }";
    assert!(app.data(at_risk, json!({})).await["slaAtRisk"].is_array());
}

/// A resolved incident that is reopened starts a new SLA cycle from the
/// moment it was reopened; the first cycle stays as it was measured.
async fn a_reopened_incident_starts_a_new_cycle(app: TestApp) {
    use pagerlens::entities::{incident_log_entry, incident_sla_target};
    seed_catalog(&app.db).await;
    seed_incidents(&app.db, 4).await;
    // PI0002: P3 (medium, 8 h / 72 h), acknowledged after 5 minutes and
    // resolved after an hour on 2026-01-01.
    let ids = vec!["PI0002".to_owned()];
    let settings = SlaSettings::default();
    let refresh = || sla::refresh(&app.db, &settings, &ids, false, Utc::now());
    refresh().await.unwrap();
    let q = "{ incident(id: \"PI0002\") { sla {
        response { state cycle startedAt } resolution { state cycle startedAt }
        timeline { kind target reason } } } }";
    let d = app.data(q, json!({})).await;
    assert_eq!(d["incident"]["sla"]["response"]["state"], "MET");
    assert_eq!(d["incident"]["sla"]["resolution"]["cycle"], 1);

    let set = |status: &'static str, changed: DateTime<Utc>, resolved: Option<DateTime<Utc>>| {
        let db = app.db.clone();
        async move {
            let mut m: incident::ActiveModel = incident::Entity::find_by_id("PI0002")
                .one(&db)
                .await
                .unwrap()
                .unwrap()
                .into();
            m.status = Set(status.into());
            m.last_status_change_at = Set(Some(changed));
            m.resolved_at = Set(resolved);
            m.update(&db).await.unwrap();
        }
    };
    let reopened =
        DateTime::from_timestamp(Utc::now().timestamp(), 0).unwrap() - Duration::minutes(30);
    set("triggered", reopened, None).await;
    refresh().await.unwrap();
    let d = app.data(q, json!({})).await;
    let sla = &d["incident"]["sla"];
    assert_eq!(sla["response"]["cycle"], 2, "{sla}");
    assert_eq!(sla["response"]["state"], "ACTIVE");
    assert_eq!(sla["resolution"]["state"], "ACTIVE");
    assert_eq!(at(&sla["response"]["startedAt"]), reopened);
    assert!(
        sla["timeline"].to_string().contains("reopened: cycle 2"),
        "{sla}"
    );
    // The first acknowledgement (cycle 1) does not meet cycle 2's target.
    let rows = incident_sla_target::Entity::find()
        .all(&app.db)
        .await
        .unwrap();
    assert_eq!(rows.len(), 4);
    assert!(
        rows.iter()
            .filter(|r| r.cycle == 1)
            .all(|r| r.state == "MET" && r.closed_at.is_some())
    );

    // Acknowledged (logged) 10 minutes after the reopening, then resolved.
    let acked = reopened + Duration::minutes(10);
    incident_log_entry::ActiveModel {
        id: Set("RLE1".into()),
        incident_id: Set("PI0002".into()),
        kind: Set("acknowledge_log_entry".into()),
        summary: Set(None),
        agent_type: Set(None),
        agent_id: Set(None),
        channel_type: Set(None),
        user_id: Set(None),
        note: Set(None),
        created_at: Set(acked),
        updated_at: Set(acked),
    }
    .insert(&app.db)
    .await
    .unwrap();
    set("acknowledged", acked, None).await;
    refresh().await.unwrap();
    let resolved = reopened + Duration::minutes(20);
    set("resolved", resolved, Some(resolved)).await;
    refresh().await.unwrap();
    refresh().await.unwrap();
    let rows = incident_sla_target::Entity::find()
        .all(&app.db)
        .await
        .unwrap();
    assert_eq!(rows.len(), 4, "no third cycle");
    let cycle2: Vec<_> = rows.iter().filter(|r| r.cycle == 2).collect();
    let response = cycle2.iter().find(|r| r.target == "response").unwrap();
    assert_eq!(response.state, "MET");
    assert_eq!(response.met_at, Some(acked));
    assert_eq!(response.used_secs, 600);
    let resolution = cycle2.iter().find(|r| r.target == "resolution").unwrap();
    assert_eq!(resolution.state, "MET");
    assert_eq!(resolution.used_secs, 1200);
}

/// A backlog larger than one transaction of the breach check (a server that
/// was down for days) is worked through batch by batch, by two checks at
/// once, and each breach is announced exactly once.
async fn a_backlog_is_checked_in_batches_and_notified_once(app: TestApp) {
    seed_catalog(&app.db).await;
    seed_incidents(&app.db, 7).await;
    let created = DateTime::from_timestamp(Utc::now().timestamp(), 0).unwrap() - Duration::days(10);
    let ids: Vec<String> = (0..7).map(|k| format!("PI{k:04}")).collect();
    for id in &ids {
        make_triggered(&app, id, created).await;
    }
    let settings = SlaSettings::default();
    // Computed a minute after they were created; nothing checked since.
    let targets = sla::refresh(
        &app.db,
        &settings,
        &ids,
        false,
        created + Duration::minutes(1),
    )
    .await
    .unwrap();
    assert_eq!(targets, 14);
    let now = Utc::now();
    let (a, b) = tokio::join!(
        sla::check_in_batches(&app.db, &settings, now, 3),
        sla::check_in_batches(&app.db, &settings, now, 3)
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.breached + b.breached, 14, "{a:?} {b:?}");
    assert_eq!(a.warned + b.warned, 0, "a breach is not also a warning");
    let again = sla::check_in_batches(&app.db, &settings, now, 3)
        .await
        .unwrap();
    assert_eq!((again.breached, again.warned), (0, 0));
    let kinds = outbox(&app).await;
    assert_eq!(kinds.len(), 14, "{kinds:?}");
    assert!(kinds.iter().all(|k| k == "sla_breached"), "{kinds:?}");
    for id in &ids {
        let s = sla_of(&app, id).await;
        for target in ["response", "resolution"] {
            assert_eq!(s[target]["state"], "BREACHED", "{id}: {s}");
        }
        let breaches = s["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["kind"] == "breached")
            .count();
        assert_eq!(breaches, 2, "{id}: {s}");
    }
}

/// A recompute in several batches (each read while the one before is
/// written) writes what one batch writes, reports each batch, and a stop
/// between batches keeps exactly the batches done: the oldest incidents.
async fn a_recompute_in_batches_equals_one_batch(app: TestApp) {
    use pagerlens::entities::incident_sla_target as t;
    use std::ops::ControlFlow;
    seed_twelve_with_slas(&app.db).await;
    let (from, to): (DateTime<Utc>, DateTime<Utc>) = (
        "2000-01-01T00:00:00Z".parse().unwrap(),
        "2100-01-01T00:00:00Z".parse().unwrap(),
    );
    type Row = (
        String,
        String,
        i32,
        String,
        i64,
        String,
        Option<DateTime<Utc>>,
        Option<DateTime<Utc>>,
        Option<DateTime<Utc>>,
        Option<DateTime<Utc>>,
    );
    // What a target was measured as, without the times it was computed.
    async fn snapshot(db: &sea_orm::DatabaseConnection) -> Vec<Row> {
        let mut rows: Vec<Row> = t::Entity::find()
            .all(db)
            .await
            .unwrap()
            .into_iter()
            .map(|r| {
                (
                    r.incident_id,
                    r.target,
                    r.cycle,
                    r.policy_name,
                    r.target_secs,
                    r.state,
                    r.deadline,
                    r.met_at,
                    r.breached_at,
                    r.closed_at,
                )
            })
            .collect();
        rows.sort();
        rows
    }
    scale_policies(&app.db, 2).await;
    let mut heard = Vec::new();
    let written = sla::recompute_range_in_batches(
        &app.db,
        &SlaSettings::default(),
        from,
        to,
        5,
        |done, total| {
            heard.push((done, total));
            ControlFlow::Continue(())
        },
    )
    .await
    .unwrap();
    assert_eq!(heard, [(0, 12), (5, 12), (10, 12), (12, 12)]);
    assert_eq!(written, 24, "every target was measured by a doubled policy");
    let in_batches = snapshot(&app.db).await;
    assert!(in_batches.iter().all(|r| r.4 % 2 == 0), "{in_batches:?}");
    let written =
        sla::recompute_range_in_batches(&app.db, &SlaSettings::default(), from, to, 100, |_, _| {
            ControlFlow::Continue(())
        })
        .await
        .unwrap();
    assert_eq!(
        snapshot(&app.db).await,
        in_batches,
        "one batch measures the same"
    );
    assert!(
        written < 24,
        "closed targets that stand are not rewritten: {written}"
    );

    // Stopped once the first batch is done: its five incidents, the
    // oldest, are measured by the tripled policies, the rest are not.
    scale_policies(&app.db, 3).await;
    let stopped = sla::recompute_range_in_batches(
        &app.db,
        &SlaSettings::default(),
        from,
        to,
        5,
        |done, _| {
            if done >= 5 {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        },
    )
    .await;
    assert!(
        matches!(
            stopped,
            Err(sla::SlaError::Stopped {
                done: 5,
                written: 10
            })
        ),
        "{stopped:?}"
    );
    let mut oldest: Vec<(DateTime<Utc>, String)> = incident::Entity::find()
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|i| (i.created_at, i.id))
        .collect();
    oldest.sort();
    let first: Vec<&String> = oldest.iter().take(5).map(|(_, id)| id).collect();
    let tripled = snapshot(&app.db).await;
    for row in &tripled {
        let was = in_batches
            .iter()
            .find(|r| (&r.0, &r.1) == (&row.0, &row.1))
            .unwrap();
        if first.contains(&&row.0) {
            assert_eq!(row.4, was.4 * 3, "recomputed: {row:?}");
        } else {
            assert_eq!(row, was, "not reached before the stop");
        }
    }
    let bad =
        sla::recompute_range_in_batches(&app.db, &SlaSettings::default(), from, to, 0, |_, _| {
            ControlFlow::Continue(())
        })
        .await;
    assert!(matches!(bad, Err(sla::SlaError::BadInput(_))), "{bad:?}");
    assert_eq!(
        snapshot(&app.db).await,
        tripled,
        "a refused recompute changes nothing"
    );
}

on_both_databases!(
    a_backlog_is_checked_in_batches_and_notified_once,
    a_kept_sla_context_sees_a_policy_saved_meanwhile,
    a_recompute_in_batches_equals_one_batch,
    a_recompute_keeps_a_pause_made_while_it_reads_ahead,
    a_pause_between_a_batch_read_and_its_write_stands,
    a_recompute_runs_as_a_job,
    a_target_met_after_it_was_computed_is_closed_by_the_next_refresh,
    a_deleted_incident_is_neither_warned_nor_breached,
    a_reopened_incident_starts_a_new_cycle,
    breaches_are_filtered,
    concurrent_refreshes_of_one_incident_both_succeed,
    compliance_by_service_team_priority_and_month,
    the_sla_report_and_sla_compliance_agree,
    business_calendars_are_managed_in_graphql,
    seeded_policies_and_targets,
    warnings_and_breaches_are_notified_once,
    pause_and_resume,
    policy_changes_reevaluate_open_slas,
);

/// A recompute reads each batch ahead, on another connection, while it
/// writes the ones before. A pause made while it runs, before the paused
/// incident's batch is written, stands, and the incident is measured by the
/// new policies with its pause (whether the pause landed before that batch
/// was read or after; the step-by-step test below makes it after).
async fn a_recompute_keeps_a_pause_made_while_it_reads_ahead(app: TestApp) {
    use pagerlens::entities::incident_sla_target as t;
    use pagerlens::scope::Scope;
    use std::ops::ControlFlow;
    seed_twelve_with_slas(&app.db).await;
    scale_policies(&app.db, 2).await;
    let mut oldest: Vec<(DateTime<Utc>, String, String)> = incident::Entity::find()
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|i| (i.created_at, i.id, i.status))
        .collect();
    oldest.sort();
    // An acknowledged incident of the batch of four that has been read but
    // not yet let write when the first commits: the second on SQLite (one
    // writer), the third on PostgreSQL (the second is written alongside the
    // first). Its response target is closed (met), its resolution target
    // open.
    let ahead = match app.db.get_database_backend() {
        sea_orm::DbBackend::Postgres => 8..12,
        _ => 4..8,
    };
    let (_, victim, _) = oldest[ahead]
        .iter()
        .find(|(_, _, status)| status == "acknowledged")
        .cloned()
        .expect("an acknowledged incident in that batch");
    let before = t::Entity::find()
        .filter(t::Column::IncidentId.eq(&victim))
        .all(&app.db)
        .await
        .unwrap();
    let settings = SlaSettings::default();
    let (db, handle) = (app.db.clone(), tokio::runtime::Handle::current());
    sla::recompute_range_in_batches(
        &app.db,
        &settings,
        "2000-01-01T00:00:00Z".parse().unwrap(),
        "2100-01-01T00:00:00Z".parse().unwrap(),
        4,
        |done, _| {
            if done == 4 {
                // That batch is being read (or has been): pause one of its
                // incidents before the batch is written.
                tokio::task::block_in_place(|| {
                    handle.block_on(async {
                        sla::pause(
                            &db,
                            &settings,
                            &Scope::All,
                            None,
                            &victim,
                            "customer call",
                            Utc::now(),
                        )
                        .await
                        .unwrap();
                    })
                });
            }
            ControlFlow::Continue(())
        },
    )
    .await
    .unwrap();
    let after = t::Entity::find()
        .filter(t::Column::IncidentId.eq(&victim))
        .all(&app.db)
        .await
        .unwrap();
    assert_eq!(after.len(), 2, "{after:?}");
    for t in &after {
        if t.closed_at.is_none() {
            assert_eq!(t.state, "PAUSED", "the pause stands: {after:?}");
            assert!(t.paused_at.is_some(), "{t:?}");
        } else {
            assert_eq!(t.state, "MET", "{t:?}");
        }
        // The closed one too: the pause's own refresh keeps a closed
        // target's policy, so only the recompute, redone, doubles it.
        let was = before.iter().find(|b| b.target == t.target).unwrap();
        assert_eq!(
            t.target_secs,
            was.target_secs * 2,
            "measured by the doubled policy: {t:?}"
        );
    }
    assert!(after.iter().any(|t| t.closed_at.is_none()), "{after:?}");
}

/// The same race, step by step: a batch is read, one of its incidents is
/// paused, then the batch is written. The write finds the pause's refresh
/// and measures the incident again from inside its transaction, so the
/// pause stands and the new policies count.
async fn a_pause_between_a_batch_read_and_its_write_stands(app: TestApp) {
    use pagerlens::entities::incident_sla_target as t;
    use pagerlens::scope::Scope;
    seed_twelve_with_slas(&app.db).await;
    scale_policies(&app.db, 2).await;
    let all = incident::Entity::find().all(&app.db).await.unwrap();
    let victim = all
        .iter()
        .find(|i| i.status == "acknowledged")
        .expect("an acknowledged incident")
        .id
        .clone();
    let ids: Vec<String> = all.iter().map(|i| i.id.clone()).collect();
    let before = t::Entity::find()
        .filter(t::Column::IncidentId.eq(&victim))
        .all(&app.db)
        .await
        .unwrap();
    let settings = SlaSettings::default();

    let read = sla::read_batch(&app.db, &settings, &ids).await.unwrap();
    sla::pause(
        &app.db,
        &settings,
        &Scope::All,
        None,
        &victim,
        "customer call",
        Utc::now(),
    )
    .await
    .unwrap();
    let txn = pagerlens::db::begin_write(&app.db).await.unwrap();
    sla::write_batch(&txn, &settings, read).await.unwrap();
    txn.commit().await.unwrap();

    let after = t::Entity::find()
        .filter(t::Column::IncidentId.eq(&victim))
        .all(&app.db)
        .await
        .unwrap();
    assert_eq!(after.len(), 2, "{after:?}");
    assert!(after.iter().any(|t| t.closed_at.is_none()), "{after:?}");
    for t in &after {
        if t.closed_at.is_none() {
            assert_eq!(t.state, "PAUSED", "the pause stands: {after:?}");
        }
        let was = before.iter().find(|b| b.target == t.target).unwrap();
        assert_eq!(t.target_secs, was.target_secs * 2, "new policy: {t:?}");
    }
}

/// Multiplies every policy's targets by `factor`, as an admin's change
/// would, straight in the table (no re-evaluation).
async fn scale_policies(db: &sea_orm::DatabaseConnection, factor: i64) {
    for p in sla_policy::Entity::find().all(db).await.unwrap() {
        let (response, resolution) = (p.response_target_secs, p.resolution_target_secs);
        let mut m: sla_policy::ActiveModel = p.into();
        m.response_target_secs = Set(response * factor);
        m.resolution_target_secs = Set(resolution * factor);
        m.update(db).await.unwrap();
    }
}

/// The compliance fixture: the catalogue and twelve incidents, their SLAs
/// computed now.
async fn seed_twelve_with_slas(db: &sea_orm::DatabaseConnection) {
    seed_catalog(db).await;
    seed_incidents(db, 12).await;
    let ids: Vec<String> = (0..12).map(|k| format!("PI{k:04}")).collect();
    sla::refresh(db, &SlaSettings::default(), &ids, false, Utc::now())
        .await
        .unwrap();
}
