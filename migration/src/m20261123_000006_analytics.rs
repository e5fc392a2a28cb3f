//! Analytics: status mappings, the result cache, and the BI views.
//!
//! The `bi_*` views are the documented, stable face of the database for BI
//! tools (Metabase). Their column names are part of the interface: add
//! columns freely, never rename or drop one. On PostgreSQL a read-only role
//! that can read these views and nothing else is created at start-up from
//! configuration (it needs a password, which a migration must not hold).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

use crate::helpers::{index, table, ts};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The views, in creation order (dropped in reverse).
const VIEWS: [&str; 7] = [
    "bi_incidents",
    "bi_incident_log_entries",
    "bi_services",
    "bi_teams",
    "bi_escalation_policies",
    "bi_sla",
    "bi_daily_service_stats",
];

/// Seconds from `a` to `b` as a number, per backend.
fn secs(backend: DbBackend, a: &str, b: &str) -> String {
    match backend {
        DbBackend::Postgres => {
            format!("CAST(EXTRACT(EPOCH FROM ({b} - {a})) AS DOUBLE PRECISION)")
        }
        _ => format!("ROUND((julianday({b}) - julianday({a})) * 86400.0, 3)"),
    }
}

/// The UTC calendar date of a timestamp, per backend.
fn utc_date(backend: DbBackend, col: &str) -> String {
    match backend {
        DbBackend::Postgres => format!("CAST(({col} AT TIME ZONE 'UTC') AS DATE)"),
        _ => format!("date({col})"),
    }
}

pub(crate) fn view_sql(backend: DbBackend, name: &str) -> String {
    let ack = secs(backend, "i.created_at", "i.acknowledged_at");
    let resolve = secs(backend, "i.created_at", "i.resolved_at");
    let body = match name {
        "bi_incidents" => format!(
            "SELECT i.id AS incident_id, i.incident_number, i.title, i.status, \
             COALESCE(sm.display_name, i.status) AS status_name, \
             COALESCE(sm.category, CASE i.status WHEN 'resolved' THEN 'RESOLVED' \
               WHEN 'acknowledged' THEN 'IN_PROGRESS' ELSE 'OPEN' END) AS status_category, \
             i.urgency, p.name AS priority, \
             i.service_id, s.name AS service_name, \
             i.escalation_policy_id, ep.name AS escalation_policy_name, \
             i.source, i.created_at, \
             i.acknowledged_at, i.acknowledged_by_user_id, ua.name AS acknowledged_by, \
             i.resolved_at, i.resolved_by_user_id, ur.name AS resolved_by, \
             {ack} AS seconds_to_first_ack, {resolve} AS seconds_to_resolve, \
             i.escalation_count, CASE WHEN i.escalation_count > 0 THEN 1 ELSE 0 END AS escalated, \
             i.html_url, i.updated_at \
             FROM incidents i \
             LEFT JOIN services s ON s.id = i.service_id \
             LEFT JOIN escalation_policies ep ON ep.id = i.escalation_policy_id \
             LEFT JOIN priorities p ON p.id = i.priority_id \
             LEFT JOIN users ua ON ua.id = i.acknowledged_by_user_id \
             LEFT JOIN users ur ON ur.id = i.resolved_by_user_id \
             LEFT JOIN status_mappings sm ON sm.field = '' AND sm.raw_value = i.status \
               AND sm.source = CASE i.source WHEN 'manual' THEN 'LOCAL' ELSE 'PAGERDUTY' END \
             WHERE i.deleted_at IS NULL"
        ),
        "bi_incident_log_entries" => "SELECT l.id AS log_entry_id, l.incident_id, \
             l.type AS entry_type, l.created_at, l.summary, l.agent_type, l.agent_id, \
             l.channel_type, l.user_id, u.name AS user_name, l.note \
             FROM incident_log_entries l \
             JOIN incidents i ON i.id = l.incident_id AND i.deleted_at IS NULL \
             LEFT JOIN users u ON u.id = l.user_id"
            .to_owned(),
        "bi_services" => "SELECT s.id AS service_id, s.name, s.description, s.status, \
             s.escalation_policy_id, ep.name AS escalation_policy_name, s.html_url, \
             s.pd_created_at AS created_at, s.deleted_at, \
             CASE WHEN s.deleted_at IS NULL THEN 0 ELSE 1 END AS deleted \
             FROM services s LEFT JOIN escalation_policies ep ON ep.id = s.escalation_policy_id"
            .to_owned(),
        "bi_teams" => "SELECT t.id AS team_id, t.name, t.description, t.html_url, t.deleted_at, \
             CASE WHEN t.deleted_at IS NULL THEN 0 ELSE 1 END AS deleted, \
             (SELECT COUNT(*) FROM service_teams st WHERE st.team_id = t.id) AS service_count \
             FROM teams t"
            .to_owned(),
        "bi_escalation_policies" => "SELECT ep.id AS escalation_policy_id, ep.name, \
             ep.description, ep.num_loops, ep.html_url, ep.deleted_at, \
             CASE WHEN ep.deleted_at IS NULL THEN 0 ELSE 1 END AS deleted, \
             (SELECT COUNT(*) FROM escalation_policy_services eps \
                WHERE eps.escalation_policy_id = ep.id) AS service_count, \
             (SELECT COUNT(*) FROM escalation_policy_teams ept \
                WHERE ept.escalation_policy_id = ep.id) AS team_count \
             FROM escalation_policies ep"
            .to_owned(),
        "bi_sla" => "SELECT t.incident_id, i.service_id, t.target, t.cycle, t.policy_name, \
             t.target_secs AS target_seconds, t.started_at, t.deadline, t.state, t.met_at, \
             t.breached_at, t.paused_at, t.paused_secs AS paused_seconds, \
             t.used_secs AS business_seconds_used, t.wall_used_secs AS wall_seconds_used \
             FROM incident_sla_targets t \
             JOIN incidents i ON i.id = t.incident_id AND i.deleted_at IS NULL"
            .to_owned(),
        "bi_daily_service_stats" => {
            let day = utc_date(backend, "i.created_at");
            format!(
                "SELECT {day} AS day, i.service_id, s.name AS service_name, \
                 COUNT(*) AS incidents, \
                 SUM(CASE WHEN i.acknowledged_at IS NOT NULL THEN 1 ELSE 0 END) AS acknowledged, \
                 SUM(CASE WHEN i.escalation_count > 0 THEN 1 ELSE 0 END) AS escalated, \
                 SUM(CASE WHEN i.resolved_at IS NOT NULL THEN 1 ELSE 0 END) AS resolved, \
                 AVG({ack}) AS mean_seconds_to_first_ack, \
                 AVG({resolve}) AS mean_seconds_to_resolve \
                 FROM incidents i LEFT JOIN services s ON s.id = i.service_id \
                 WHERE i.deleted_at IS NULL \
                 GROUP BY {day}, i.service_id, s.name"
            )
        }
        other => unreachable!("unknown view {other}"),
    };
    format!("CREATE VIEW {name} AS {body}")
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            table("status_mappings")
                .col(pk_auto("id"))
                // PAGERDUTY (an incident status from PagerDuty), LOCAL (a
                // local incident's status) or CUSTOM_FIELD (a value of the
                // custom field named in `field`).
                .col(string("source"))
                // The custom field's name; '' for incident statuses (so the
                // unique index below holds without NULLs).
                .col(string("field").default(""))
                .col(string("raw_value"))
                .col(string("display_name"))
                // OPEN, IN_PROGRESS, WAITING, RESOLVED.
                .col(string("category"))
                .col(boolean("active").default(true))
                .col(integer("position").default(0))
                .to_owned(),
        )
        .await?;
        m.create_index(
            index("status_mappings", &["source", "field", "raw_value"])
                .unique()
                .to_owned(),
        )
        .await?;
        let mut seed = Query::insert()
            .into_table("status_mappings")
            .columns([
                "source",
                "field",
                "raw_value",
                "display_name",
                "category",
                "position",
            ])
            .to_owned();
        for source in ["PAGERDUTY", "LOCAL"] {
            for (pos, (raw, name, category)) in [
                ("triggered", "Triggered", "OPEN"),
                ("acknowledged", "Acknowledged", "IN_PROGRESS"),
                ("resolved", "Resolved", "RESOLVED"),
            ]
            .into_iter()
            .enumerate()
            {
                seed.values_panic([
                    source.into(),
                    "".into(),
                    raw.into(),
                    name.into(),
                    category.into(),
                    (pos as i32).into(),
                ]);
            }
        }
        m.exec_stmt(seed).await?;

        m.create_table(
            table("analytics_cache")
                // The query's name and its canonical parameters.
                .col(string("key").primary_key())
                .col(string("query"))
                // The one service the result depends on, or NULL when it
                // depends on several (a team, everything): a sync that
                // changed a service deletes that service's entries and the
                // NULL ones.
                .col(string_null("service_id"))
                // JSON.
                .col(text("value"))
                .col(ts("generated_at"))
                .col(ts("expires_at"))
                .to_owned(),
        )
        .await?;
        m.create_index(index("analytics_cache", &["service_id"]))
            .await?;
        m.create_index(index("analytics_cache", &["expires_at"]))
            .await?;

        // Notification entries by time (on-call interruptions).
        m.create_index(index("incident_log_entries", &["user_id", "created_at"]))
            .await?;

        let backend = m.get_database_backend();
        for v in VIEWS {
            m.get_connection()
                .execute_unprepared(&view_sql(backend, v))
                .await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for v in VIEWS.iter().rev() {
            m.get_connection()
                .execute_unprepared(&format!("DROP VIEW IF EXISTS {v}"))
                .await?;
        }
        m.drop_index(
            Index::drop()
                .name("idx_incident_log_entries_user_id_created_at")
                .table("incident_log_entries")
                .to_owned(),
        )
        .await?;
        for t in ["analytics_cache", "status_mappings"] {
            m.drop_table(Table::drop().table(t).if_exists().to_owned())
                .await?;
        }
        Ok(())
    }
}
