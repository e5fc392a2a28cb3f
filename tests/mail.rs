//! Email over SMTP (a local SMTP server stands in for the relay): SLA
//! notifications are mailed, retried while the relay is down and never
//! lost; scheduled reports are mailed with their file; configuration
//! mistakes stop start-up naming the variable.

use chrono::{Duration, Utc};
use pagerlens::auth::Role;
use pagerlens::config::{EmailEndpoint, NotifyEndpoints as Endpoints};
use pagerlens::entities::{job, notification};
use pagerlens::jobs::JobKind;
use pagerlens::jobs::queue::{self, NewJob};
use pagerlens::notify::Notifier;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use secrecy::SecretString;
use serde_json::json;

use crate::common::fixtures::{seed_catalog, seed_incidents};
use crate::common::smtp::smtp_sink;
use crate::common::{TestApp, respawn_with};
use crate::on_both_databases;

fn smtp(url: &str) -> pagerlens::config::MailSettings {
    pagerlens::config::MailSettings {
        url: SecretString::from(url.to_owned()),
        from: pagerlens::mail::mailbox("pagerlens <alerts@example.com>").unwrap(),
    }
}

async fn sla_notifications_are_mailed_and_retried_while_the_relay_is_down(app: TestApp) {
    let row = crate::common::fixtures::pending_breach_notification(&app.db, "PI0001").await;
    let now = Utc::now();
    // The relay is down: a closed port.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let dead = format!("smtp://{}", closed.local_addr().unwrap());
    drop(closed);
    let to = vec![pagerlens::mail::mailbox("oncall-leads@example.com").unwrap()];
    let down = Endpoints {
        email: Some(EmailEndpoint {
            smtp: smtp(&dead),
            to: to.clone(),
        }),
        ..Default::default()
    };
    let d = pagerlens::notify::deliver_due(&app.db, &Notifier::new(&down).unwrap(), now)
        .await
        .unwrap();
    assert_eq!(d.retrying, 1);
    let n = notification::Entity::find_by_id(row.id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(n.status, "pending", "kept for a retry");
    assert!(
        n.last_error.as_deref().unwrap().starts_with("email:"),
        "{n:?}"
    );

    let sink = smtp_sink().await;
    let up = Endpoints {
        email: Some(EmailEndpoint {
            smtp: smtp(&sink.url()),
            to,
        }),
        ..Default::default()
    };
    let d = pagerlens::notify::deliver_due(
        &app.db,
        &Notifier::new(&up).unwrap(),
        now + Duration::minutes(5),
    )
    .await
    .unwrap();
    assert_eq!(d.sent, 1);
    let mails = sink.mails();
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].to, ["<oncall-leads@example.com>"]);
    assert_eq!(mails[0].from, "<alerts@example.com>");
    assert!(
        mails[0].data.contains("Subject: pagerlens: SLA breached"),
        "{}",
        mails[0].data
    );
    assert!(mails[0].data.contains("PI0001"));
    // Sent once.
    let d = pagerlens::notify::deliver_due(
        &app.db,
        &Notifier::new(&up).unwrap(),
        now + Duration::hours(2),
    )
    .await
    .unwrap();
    assert_eq!(d.sent, 0);
    assert_eq!(sink.mails().len(), 1);
}

async fn scheduled_reports_are_mailed_with_their_file(app: TestApp) {
    let sink = smtp_sink().await;
    let url = sink.url();
    let app = respawn_with(app, move |c| c.mail = Some(smtp(&url))).await;
    seed_catalog(&app.db).await;
    seed_incidents(&app.db, 4).await;
    let (_, user) = app
        .account_with_token("auditor@example.com", Role::User)
        .await;
    let (_, body) = app
        .gql_as(
            &user,
            "mutation($i: ReportScheduleInput!) { createReportSchedule(input: $i) { id } }",
            json!({"i": {"name": "hourly incidents", "kind": "INCIDENTS", "format": "CSV",
                "cron": "0 * * * *", "timeZone": "UTC", "emailTo": "auditor@example.com"}}),
        )
        .await;
    let sid: i32 = body["data"]["createReportSchedule"]["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    crate::common::fixtures::age_report_schedule(&app.db, sid, Duration::hours(2)).await;
    queue::enqueue(
        &app.db,
        NewJob {
            kind: JobKind::ScheduledReports,
            params: json!({}),
            trigger: "api".into(),
            requested_by: None,
            dedupe_key: None,
            max_attempts: 1,
        },
        Utc::now(),
    )
    .await
    .unwrap();
    app.app.jobs.run_pending().await.unwrap();
    let report = job::Entity::find()
        .filter(job::Column::Kind.eq("report"))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(report.status, "SUCCEEDED");
    let mails = sink.mails();
    assert_eq!(mails.len(), 1, "{mails:?}");
    let data = &mails[0].data;
    assert_eq!(mails[0].to, ["<auditor@example.com>"]);
    assert!(
        data.contains("Subject: pagerlens report: hourly incidents"),
        "{data}"
    );
    let file = report.file_name.unwrap();
    assert!(data.contains(&format!("filename=\"{file}\"")), "{data}");
    // The text part is quoted-printable: undo its soft line breaks.
    assert!(
        data.replace("=\n", "")
            .contains(&format!("/reports/{}/download", report.id)),
        "{data}"
    );
}

on_both_databases!(
    sla_notifications_are_mailed_and_retried_while_the_relay_is_down,
    scheduled_reports_are_mailed_with_their_file,
);

#[test]
fn mail_configuration_mistakes_name_their_variable() {
    let with = |vars: &'static [(&'static str, &'static str)]| {
        pagerlens::config::Config::from_lookup(|k| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| (*v).to_owned())
        })
        .map(|_| ())
        .unwrap_err()
        .to_string()
    };
    let e = with(&[("PAGERLENS_NOTIFY_EMAIL_TO", "leads@example.com")]);
    assert!(
        e.contains("PAGERLENS_NOTIFY_EMAIL_TO") && e.contains("PAGERLENS_SMTP_URL"),
        "{e}"
    );
    let e = with(&[("PAGERLENS_SMTP_URL", "http://mail.example.com")]);
    assert!(e.contains("PAGERLENS_SMTP_URL"), "{e}");
    let e = with(&[
        (
            "PAGERLENS_SMTP_URL",
            "smtp://user:hunter2@mail.example.com:587",
        ),
        ("PAGERLENS_SMTP_FROM", "not an address"),
    ]);
    assert!(
        e.contains("PAGERLENS_SMTP_FROM") && !e.contains("hunter2"),
        "{e}"
    );
    let ok = pagerlens::config::Config::from_lookup(|k| match k {
        "PAGERLENS_SMTP_URL" => Some("smtp://127.0.0.1:2525".into()),
        "PAGERLENS_NOTIFY_EMAIL_TO" => Some("a@example.com, b@example.com".into()),
        _ => None,
    })
    .unwrap();
    assert_eq!(ok.notify.email.unwrap().to.len(), 2);
}
