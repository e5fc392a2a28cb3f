//! SeaORM entities, one file per table, in the shape `sea-orm-cli generate`
//! produces. Behaviour lives in the domain modules, not here.
//!
//! Time columns are `DateTimeUtc`: stored as real UTC timestamps.

pub mod account;
pub mod account_team;
pub mod analytics_cache;
pub mod analytics_drift_run;
pub mod api_token;
pub mod api_token_team;
pub mod business_calendar;
pub mod escalation_policy;
pub mod escalation_policy_service;
pub mod escalation_policy_team;
pub mod escalation_rule;
pub mod escalation_rule_target;
pub mod incident;
pub mod incident_analytics;
pub mod incident_assignee;
pub mod incident_attachment;
pub mod incident_custom_field_value;
pub mod incident_log_entry;
pub mod incident_responder_analytics;
pub mod incident_sla_target;
pub mod interruption_window_set;
pub mod job;
pub mod job_log;
pub mod login_state;
pub mod notification;
pub mod oncall_entry;
pub mod pagerduty_incident_analytics;
pub mod priority;
pub mod report_schedule;
pub mod schedule;
pub mod schedule_user;
pub mod service;
pub mod service_team;
pub mod session;
pub mod sla_event;
pub mod sla_pause;
pub mod sla_policy;
pub mod status_mapping;
pub mod sync_run;
pub mod sync_state;
pub mod team;
pub mod team_member;
pub mod user;
pub mod webhook_event;
