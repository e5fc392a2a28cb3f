//! The PagerDuty catalogue and incidents: services, teams, escalation policies
//! (with rules and targets), users, schedules, priorities, incidents, their log
//! entries, assignees and custom field values.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use crate::helpers::{fk, index, table, text_pk, ts_null};

#[derive(DeriveMigrationName)]
pub struct Migration;

const CASCADE: ForeignKeyAction = ForeignKeyAction::Cascade;
const SET_NULL: ForeignKeyAction = ForeignKeyAction::SetNull;

/// Tables in creation order; dropped in reverse.
const TABLES: &[&str] = &[
    "priorities",
    "teams",
    "users",
    "team_members",
    "schedules",
    "schedule_users",
    "escalation_policies",
    "escalation_rules",
    "escalation_rule_targets",
    "escalation_policy_teams",
    "services",
    "service_teams",
    "escalation_policy_services",
    "incidents",
    "incident_assignees",
    "incident_log_entries",
    "incident_custom_field_values",
];

/// A join table with a composite primary key and cascading foreign keys.
fn join_table(
    name: &'static str,
    left: (&'static str, &'static str),
    right: (&'static str, &'static str),
) -> TableCreateStatement {
    table(name)
        .col(string(left.0))
        .col(string(right.0))
        .primary_key(Index::create().col(left.0).col(right.0))
        .foreign_key(&mut fk(name, left.0, left.1, CASCADE))
        .foreign_key(&mut fk(name, right.0, right.1, CASCADE))
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            table("priorities")
                .col(text_pk("id"))
                .col(string("name"))
                .col(text_null("description"))
                .col(integer("position").default(0))
                .col(ts_null("deleted_at"))
                .to_owned(),
        )
        .await?;

        m.create_table(
            table("teams")
                .col(text_pk("id"))
                .col(string("name"))
                .col(text_null("description"))
                .col(string_null("html_url"))
                .col(ts_null("deleted_at"))
                .to_owned(),
        )
        .await?;

        m.create_table(
            table("users")
                .col(text_pk("id"))
                .col(string("name"))
                .col(string_null("email"))
                .col(string_null("time_zone"))
                .col(string_null("role"))
                .col(string_null("job_title"))
                .col(boolean("invitation_sent").default(false))
                .col(string_null("html_url"))
                .col(ts_null("deleted_at"))
                .to_owned(),
        )
        .await?;
        m.create_index(index("users", &["email"])).await?;

        m.create_table(
            join_table("team_members", ("team_id", "teams"), ("user_id", "users"))
                .col(string_null("role"))
                .to_owned(),
        )
        .await?;
        m.create_index(index("team_members", &["user_id"])).await?;

        m.create_table(
            table("schedules")
                .col(text_pk("id"))
                .col(string("name"))
                .col(text_null("description"))
                .col(string_null("time_zone"))
                .col(string_null("html_url"))
                .col(ts_null("deleted_at"))
                .to_owned(),
        )
        .await?;

        m.create_table(join_table(
            "schedule_users",
            ("schedule_id", "schedules"),
            ("user_id", "users"),
        ))
        .await?;
        m.create_index(index("schedule_users", &["user_id"]))
            .await?;

        m.create_table(
            table("escalation_policies")
                .col(text_pk("id"))
                .col(string("name"))
                .col(text_null("description"))
                .col(integer("num_loops").default(0))
                .col(string_null("html_url"))
                .col(ts_null("deleted_at"))
                .to_owned(),
        )
        .await?;

        m.create_table(
            table("escalation_rules")
                .col(text_pk("id"))
                .col(string("escalation_policy_id"))
                .col(integer("position"))
                .col(integer("escalation_delay_in_minutes").default(0))
                .foreign_key(&mut fk(
                    "escalation_rules",
                    "escalation_policy_id",
                    "escalation_policies",
                    CASCADE,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "escalation_rules",
            &["escalation_policy_id", "position"],
        ))
        .await?;

        // A rule's targets are users or schedules; the target id is not a foreign
        // key because it points at one of two tables.
        m.create_table(
            table("escalation_rule_targets")
                .col(string("rule_id"))
                .col(string("target_type"))
                .col(string("target_id"))
                .col(integer("position").default(0))
                .primary_key(
                    Index::create()
                        .col("rule_id")
                        .col("target_type")
                        .col("target_id"),
                )
                .foreign_key(&mut fk(
                    "escalation_rule_targets",
                    "rule_id",
                    "escalation_rules",
                    CASCADE,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "escalation_rule_targets",
            &["target_type", "target_id"],
        ))
        .await?;

        m.create_table(join_table(
            "escalation_policy_teams",
            ("escalation_policy_id", "escalation_policies"),
            ("team_id", "teams"),
        ))
        .await?;
        m.create_index(index("escalation_policy_teams", &["team_id"]))
            .await?;

        m.create_table(
            table("services")
                .col(text_pk("id"))
                .col(string("name"))
                .col(text_null("description"))
                .col(string("status").default("active"))
                .col(string_null("escalation_policy_id"))
                .col(string_null("html_url"))
                .col(ts_null("pd_created_at"))
                .col(ts_null("deleted_at"))
                .foreign_key(&mut fk(
                    "services",
                    "escalation_policy_id",
                    "escalation_policies",
                    SET_NULL,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(index("services", &["escalation_policy_id"]))
            .await?;

        m.create_table(join_table(
            "service_teams",
            ("service_id", "services"),
            ("team_id", "teams"),
        ))
        .await?;
        m.create_index(index("service_teams", &["team_id"])).await?;

        m.create_table(join_table(
            "escalation_policy_services",
            ("escalation_policy_id", "escalation_policies"),
            ("service_id", "services"),
        ))
        .await?;
        m.create_index(index("escalation_policy_services", &["service_id"]))
            .await?;

        // `created_at` of an incident is PagerDuty's creation (first trigger)
        // time, or the local creation time for manual incidents; `updated_at`
        // is when our copy last changed.
        m.create_table(
            table("incidents")
                .col(text_pk("id"))
                .col(big_integer_null("incident_number"))
                .col(text("title"))
                .col(text_null("description"))
                .col(string("status"))
                .col(string("urgency"))
                .col(string_null("priority_id"))
                .col(string_null("service_id"))
                .col(string_null("escalation_policy_id"))
                .col(string_null("incident_key"))
                .col(string_null("html_url"))
                .col(string("source").default("pagerduty"))
                .col(ts_null("pd_updated_at"))
                .col(ts_null("last_status_change_at"))
                .col(ts_null("acknowledged_at"))
                .col(string_null("acknowledged_by_user_id"))
                .col(ts_null("resolved_at"))
                .col(string_null("resolved_by_user_id"))
                .col(integer("escalation_count").default(0))
                .col(ts_null("deleted_at"))
                .foreign_key(&mut fk("incidents", "priority_id", "priorities", SET_NULL))
                .foreign_key(&mut fk("incidents", "service_id", "services", SET_NULL))
                .foreign_key(&mut fk(
                    "incidents",
                    "escalation_policy_id",
                    "escalation_policies",
                    SET_NULL,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(index("incidents", &["service_id", "created_at"]))
            .await?;
        m.create_index(index("incidents", &["status"])).await?;
        m.create_index(index("incidents", &["created_at"])).await?;
        m.create_index(index("incidents", &["escalation_policy_id"]))
            .await?;
        m.create_index(index("incidents", &["incident_number"]).unique().to_owned())
            .await?;

        m.create_table(join_table(
            "incident_assignees",
            ("incident_id", "incidents"),
            ("user_id", "users"),
        ))
        .await?;
        m.create_index(index("incident_assignees", &["user_id"]))
            .await?;

        // Log entries: `created_at` is PagerDuty's time of the entry.
        m.create_table(
            table("incident_log_entries")
                .col(text_pk("id"))
                .col(string("incident_id"))
                .col(string("type"))
                .col(text_null("summary"))
                .col(string_null("agent_type"))
                .col(string_null("agent_id"))
                .col(string_null("channel_type"))
                .col(string_null("user_id"))
                .col(text_null("note"))
                .foreign_key(&mut fk(
                    "incident_log_entries",
                    "incident_id",
                    "incidents",
                    CASCADE,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "incident_log_entries",
            &["incident_id", "created_at"],
        ))
        .await?;
        m.create_index(index("incident_log_entries", &["type", "created_at"]))
            .await?;

        m.create_table(
            table("incident_custom_field_values")
                .col(string("incident_id"))
                .col(string("name"))
                .col(string_null("display_name"))
                .col(string_null("data_type"))
                .col(json_binary_null("value"))
                .col(text_null("value_text"))
                .primary_key(Index::create().col("incident_id").col("name"))
                .foreign_key(&mut fk(
                    "incident_custom_field_values",
                    "incident_id",
                    "incidents",
                    CASCADE,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "incident_custom_field_values",
            &["name", "value_text"],
        ))
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for name in TABLES.iter().rev() {
            m.drop_table(Table::drop().table(*name).if_exists().to_owned())
                .await?;
        }
        Ok(())
    }
}
