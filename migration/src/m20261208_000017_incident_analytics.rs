//! PagerDuty's per-incident analytics: `incident_analytics` holds the facts
//! pagerlens derives from each incident's log (one row per incident, with
//! the settings version they were derived under), `pagerduty_incident_analytics`
//! the raw facts PagerDuty's own analytics reported for the drift check, and
//! `analytics_drift_runs` every drift check's report, and
//! `incident_responder_analytics` each user's part in each incident;
//! `interruption_window_sets` the interruption windows admins set. The BI view
//! `bi_incident_analytics` joins the facts to the incident's names.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::ConnectionTrait;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The view's SQL (the same on both databases).
pub(crate) const VIEW: &str = "CREATE VIEW bi_incident_analytics AS \
    SELECT i.id AS incident_id, i.incident_number, i.created_at, i.resolved_at, i.status, \
    i.urgency, i.priority_id, p.name AS priority_name, i.service_id, s.name AS service_name, \
    (SELECT MIN(st.team_id) FROM service_teams st WHERE st.service_id = i.service_id) AS team_id, \
    i.escalation_policy_id, ep.name AS escalation_policy_name, \
    a.seconds_to_first_ack, a.seconds_to_resolve, a.seconds_to_engage, a.seconds_to_mobilize, \
    a.engaged_seconds, a.engaged_user_count, a.acknowledgement_count, a.assignment_count, \
    a.escalation_count, a.manual_escalation_count, a.timeout_escalation_count, \
    a.reassignment_count, a.auto_resolved, a.snoozed_seconds, a.total_notifications, \
    a.total_interruptions, a.business_hour_interruptions, a.off_hour_interruptions, \
    a.sleep_hour_interruptions, a.windows AS interruption_windows, a.major, a.computed_at \
    FROM incidents i \
    JOIN incident_analytics a ON a.incident_id = i.id \
    LEFT JOIN services s ON s.id = i.service_id \
    LEFT JOIN escalation_policies ep ON ep.id = i.escalation_policy_id \
    LEFT JOIN priorities p ON p.id = i.priority_id \
    WHERE i.deleted_at IS NULL";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let mut t = Table::create();
        t.table("incident_analytics")
            .col(string("incident_id").primary_key())
            .col(string("version"));
        for c in [
            "seconds_to_first_ack",
            "seconds_to_resolve",
            "seconds_to_engage",
            "seconds_to_mobilize",
            "engaged_seconds",
        ] {
            t.col(big_integer_null(c));
        }
        for c in [
            "engaged_user_count",
            "acknowledgement_count",
            "assignment_count",
            "escalation_count",
            "manual_escalation_count",
            "timeout_escalation_count",
            "reassignment_count",
            "snoozed_seconds",
            "total_notifications",
            "total_interruptions",
            "business_hour_interruptions",
            "off_hour_interruptions",
            "sleep_hour_interruptions",
        ] {
            t.col(big_integer(c).default(0));
        }
        t.col(boolean("auto_resolved").default(false))
            .col(boolean("major").default(false))
            .col(text("joined_user_ids").default(""))
            .col(string("windows").default("pagerduty"))
            .col(timestamp_with_time_zone("computed_at"));
        m.create_table(t.to_owned()).await?;
        m.create_index(
            Index::create()
                .name("idx_incident_analytics_version")
                .table("incident_analytics")
                .col("version")
                .to_owned(),
        )
        .await?;
        let mut r = Table::create();
        r.table("incident_responder_analytics")
            .col(string("incident_id"))
            .col(string("user_id"))
            .col(timestamp_with_time_zone_null("first_notified_at"))
            .col(big_integer_null("seconds_to_first_ack"));
        for c in [
            "acknowledgements",
            "notifications",
            "interruptions",
            "business_hour_interruptions",
            "off_hour_interruptions",
            "sleep_hour_interruptions",
            "manual_escalations_from",
            "timeout_escalations_from",
            "manual_escalations_to",
            "timeout_escalations_to",
            "reassignments_from",
            "reassignments_to",
        ] {
            r.col(big_integer(c).default(0));
        }
        r.col(big_integer_null("engaged_seconds"))
            .primary_key(Index::create().col("incident_id").col("user_id"));
        m.create_table(r.to_owned()).await?;
        m.create_index(
            Index::create()
                .name("idx_incident_responder_analytics_user")
                .table("incident_responder_analytics")
                .col("user_id")
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("pagerduty_incident_analytics")
                .col(string("incident_id").primary_key())
                .col(timestamp_with_time_zone("pd_updated_at"))
                .col(timestamp_with_time_zone("created_at"))
                .col(text("raw"))
                .col(timestamp_with_time_zone("fetched_at"))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_pagerduty_incident_analytics_updated")
                .table("pagerduty_incident_analytics")
                .col("pd_updated_at")
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("analytics_drift_runs")
                .col(pk_auto("id"))
                .col(timestamp_with_time_zone("started_at"))
                .col(timestamp_with_time_zone("finished_at"))
                .col(timestamp_with_time_zone("range_from"))
                .col(timestamp_with_time_zone("range_to"))
                .col(big_integer("incidents_compared"))
                .col(big_integer("fields_compared"))
                .col(big_integer("api_calls"))
                .col(text("mismatches"))
                .col(boolean("ok"))
                .col(string("trigger"))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("interruption_window_sets")
                .col(pk_auto("id"))
                .col(string_null("team_id").unique_key())
                .col(text("rules"))
                .col(integer_null("calendar_id"))
                .col(integer_null("updated_by_account_id"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .to_owned(),
        )
        .await?;
        m.get_connection().execute_unprepared(VIEW).await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.get_connection()
            .execute_unprepared("DROP VIEW bi_incident_analytics")
            .await?;
        for t in [
            "interruption_window_sets",
            "incident_responder_analytics",
            "analytics_drift_runs",
            "pagerduty_incident_analytics",
            "incident_analytics",
        ] {
            m.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        Ok(())
    }
}
