//! The SLA engine: business-hours calendars, SLA policies (seeded with four
//! levels), one row per incident and target (response, resolution) with its
//! deadline and state, pauses, a timeline of clock events and the
//! notification outbox.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use crate::helpers::{fk, index, table, ts, ts_null};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Seeded policies: name, priority names, urgency, response and resolution
/// targets in seconds. The most specific matching policy wins, so these
/// priority rules beat the urgency fallbacks.
/// (name, priority names, urgency, response secs, resolution secs)
type Seed = (
    &'static str,
    Option<&'static str>,
    Option<&'static str>,
    i64,
    i64,
);

const SEED: [Seed; 6] = [
    ("critical", Some("P1"), None, 3_600, 4 * 3_600),
    ("high", Some("P2"), None, 4 * 3_600, 24 * 3_600),
    ("medium", Some("P3"), None, 8 * 3_600, 72 * 3_600),
    ("low", Some("P4,P5"), None, 24 * 3_600, 7 * 24 * 3_600),
    (
        "high (urgency, no priority)",
        None,
        Some("high"),
        4 * 3_600,
        24 * 3_600,
    ),
    (
        "low (urgency, no priority)",
        None,
        Some("low"),
        24 * 3_600,
        7 * 24 * 3_600,
    ),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            table("business_calendars")
                .col(pk_auto("id"))
                .col(string("name").unique_key())
                .col(string("time_zone"))
                // {"mon": ["09:00-17:00"], …}
                .col(text("weekly_hours"))
                // ["2026-12-25", …]
                .col(text("holidays"))
                .to_owned(),
        )
        .await?;

        m.create_table(
            table("sla_policies")
                .col(pk_auto("id"))
                .col(string("name").unique_key())
                // Comma-separated PagerDuty priority names (P1,P2); null: any.
                .col(string_null("priority_names"))
                .col(string_null("urgency"))
                .col(string_null("service_id"))
                .col(string_null("team_id"))
                .col(big_integer("response_target_secs"))
                .col(big_integer("resolution_target_secs"))
                .col(integer_null("calendar_id"))
                .foreign_key(&mut fk(
                    "sla_policies",
                    "calendar_id",
                    "business_calendars",
                    ForeignKeyAction::Restrict,
                ))
                .to_owned(),
        )
        .await?;

        m.create_table(
            table("incident_sla_targets")
                .col(pk_auto("id"))
                .col(string("incident_id"))
                // `response` or `resolution`.
                .col(string("target"))
                .col(integer("cycle").default(1))
                .col(integer_null("policy_id"))
                .col(string("policy_name"))
                .col(big_integer("target_secs"))
                .col(integer_null("calendar_id"))
                .col(ts("started_at"))
                // ACTIVE, PAUSED, MET, BREACHED.
                .col(string("state"))
                .col(ts_null("deadline"))
                .col(ts_null("met_at"))
                .col(ts_null("breached_at"))
                .col(ts_null("breach_notified_at"))
                .col(ts_null("paused_at"))
                .col(big_integer("paused_secs").default(0))
                .col(big_integer("used_secs").default(0))
                .col(big_integer("wall_used_secs").default(0))
                // The highest warning share already announced (0 = none).
                .col(double("warned_share").default(0.0))
                .col(ts_null("next_warning_at"))
                .col(double_null("next_warning_share"))
                .col(ts("computed_at"))
                .foreign_key(&mut fk(
                    "incident_sla_targets",
                    "incident_id",
                    "incidents",
                    ForeignKeyAction::Cascade,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            index("incident_sla_targets", &["incident_id", "target", "cycle"])
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_index(index("incident_sla_targets", &["state", "deadline"]))
            .await?;
        m.create_index(index("incident_sla_targets", &["state", "next_warning_at"]))
            .await?;

        m.create_table(
            table("sla_pauses")
                .col(pk_auto("id"))
                .col(string("incident_id"))
                .col(ts("started_at"))
                .col(ts_null("ended_at"))
                .col(text("reason"))
                .col(integer_null("paused_by_account_id"))
                .col(integer_null("resumed_by_account_id"))
                .foreign_key(&mut fk(
                    "sla_pauses",
                    "incident_id",
                    "incidents",
                    ForeignKeyAction::Cascade,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(index("sla_pauses", &["incident_id"]))
            .await?;

        m.create_table(
            table("sla_events")
                .col(pk_auto("id"))
                .col(string("incident_id"))
                .col(string_null("target"))
                // started, paused, resumed, warned, breached, met, policy_changed.
                .col(string("kind"))
                .col(ts("at"))
                .col(text("reason"))
                .foreign_key(&mut fk(
                    "sla_events",
                    "incident_id",
                    "incidents",
                    ForeignKeyAction::Cascade,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(index("sla_events", &["incident_id", "at"]))
            .await?;

        m.create_table(
            table("notification_outbox")
                .col(pk_auto("id"))
                // sla_breached, sla_at_risk, incident_created, incident_resolved.
                .col(string("kind"))
                .col(string_null("incident_id"))
                .col(text("payload"))
                // pending, sent, failed.
                .col(string("status"))
                .col(integer("attempts").default(0))
                .col(ts("next_attempt_at"))
                .col(text_null("last_error"))
                .col(ts_null("sent_at"))
                .to_owned(),
        )
        .await?;
        m.create_index(index("notification_outbox", &["status", "next_attempt_at"]))
            .await?;

        let mut insert = Query::insert()
            .into_table("sla_policies")
            .columns([
                "name",
                "priority_names",
                "urgency",
                "response_target_secs",
                "resolution_target_secs",
            ])
            .to_owned();
        for (name, priorities, urgency, response, resolution) in SEED {
            insert.values_panic([
                name.into(),
                priorities.into(),
                urgency.into(),
                response.into(),
                resolution.into(),
            ]);
        }
        m.exec_stmt(insert).await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            "notification_outbox",
            "sla_events",
            "sla_pauses",
            "incident_sla_targets",
            "sla_policies",
            "business_calendars",
        ] {
            m.drop_table(Table::drop().table(t).if_exists().to_owned())
                .await?;
        }
        Ok(())
    }
}
