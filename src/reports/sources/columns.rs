//! Each report kind's columns, in file order: the keys
//! `PAGERLENS_REPORT_EXCLUDE_COLUMNS` names, the headers and the types.

use super::*;

pub(super) const INCIDENT_COLUMNS: [Column; 22] = [
    Column::new("incident_number", "Number", T::Int),
    Column::new("id", "Incident ID", T::Text),
    Column::new("title", "Title", T::Text),
    Column::new("status", "Status", T::Text),
    Column::new("status_name", "Status (mapped)", T::Text),
    Column::new("urgency", "Urgency", T::Text),
    Column::new("priority", "Priority", T::Text),
    Column::new("service_id", "Service ID", T::Text),
    Column::new("service", "Service", T::Text),
    Column::new("teams", "Teams", T::Text),
    Column::new("escalation_policy", "Escalation policy", T::Text),
    Column::new("created_at", "Created", T::DateTime),
    Column::new("acknowledged_at", "First acknowledged", T::DateTime),
    Column::new("acknowledged_by", "Acknowledged by", T::Text),
    Column::new("resolved_at", "Resolved", T::DateTime),
    Column::new("resolved_by", "Resolved by", T::Text),
    Column::new("escalated", "Escalated", T::Bool),
    Column::new("escalations", "Escalations", T::Int),
    Column::new(
        "minutes_to_acknowledge",
        "Minutes to acknowledge",
        T::Decimal,
    ),
    Column::new("minutes_to_resolve", "Minutes to resolve", T::Decimal),
    Column::new("source", "Source", T::Text),
    Column::new("html_url", "PagerDuty URL", T::Text),
];

pub(super) const SERVICE_COLUMNS: [Column; 8] = [
    Column::new("id", "Service ID", T::Text),
    Column::new("name", "Service", T::Text),
    Column::new("status", "Status", T::Text),
    Column::new("description", "Description", T::Text),
    Column::new("teams", "Teams", T::Text),
    Column::new("escalation_policy", "Escalation policy", T::Text),
    Column::new("created_at", "Created", T::DateTime),
    Column::new("html_url", "PagerDuty URL", T::Text),
];

pub(super) const TEAM_COLUMNS: [Column; 5] = [
    Column::new("id", "Team ID", T::Text),
    Column::new("name", "Team", T::Text),
    Column::new("description", "Description", T::Text),
    Column::new("services", "Services", T::Int),
    Column::new("html_url", "PagerDuty URL", T::Text),
];

pub(super) const SERVICE_TEAM_COLUMNS: [Column; 4] = [
    Column::new("service_id", "Service ID", T::Text),
    Column::new("service", "Service", T::Text),
    Column::new("team_id", "Team ID", T::Text),
    Column::new("team", "Team", T::Text),
];

pub(super) const POLICY_COLUMNS: [Column; 7] = [
    Column::new("id", "Escalation policy ID", T::Text),
    Column::new("name", "Escalation policy", T::Text),
    Column::new("description", "Description", T::Text),
    Column::new("num_loops", "Loops", T::Int),
    Column::new("teams", "Teams", T::Text),
    Column::new("services", "Services", T::Int),
    Column::new("html_url", "PagerDuty URL", T::Text),
];

pub(super) const POLICY_TEAM_COLUMNS: [Column; 4] = [
    Column::new("escalation_policy_id", "Escalation policy ID", T::Text),
    Column::new("escalation_policy", "Escalation policy", T::Text),
    Column::new("team_id", "Team ID", T::Text),
    Column::new("team", "Team", T::Text),
];

pub(super) const POLICY_SERVICE_COLUMNS: [Column; 4] = [
    Column::new("escalation_policy_id", "Escalation policy ID", T::Text),
    Column::new("escalation_policy", "Escalation policy", T::Text),
    Column::new("service_id", "Service ID", T::Text),
    Column::new("service", "Service", T::Text),
];

pub(super) const PER_SERVICE_COLUMNS: [Column; 3] = [
    Column::new("service_id", "Service ID", T::Text),
    Column::new("service", "Service", T::Text),
    Column::new("incidents", "Incidents", T::Int),
];

pub(super) const STATUS_PER_SERVICE_COLUMNS: [Column; 10] = [
    Column::new("service_id", "Service ID", T::Text),
    Column::new("service", "Service", T::Text),
    Column::new("triggered", "Triggered", T::Int),
    Column::new("acknowledged", "Acknowledged", T::Int),
    Column::new("resolved", "Resolved", T::Int),
    Column::new("total", "Total", T::Int),
    Column::new("open_mapped", "Open (mapped)", T::Int),
    Column::new("in_progress_mapped", "In progress (mapped)", T::Int),
    Column::new("waiting_mapped", "Waiting (mapped)", T::Int),
    Column::new("resolved_mapped", "Resolved (mapped)", T::Int),
];

pub(super) const SERVICE_SUMMARY_COLUMNS: [Column; 9] = [
    Column::new("service_id", "Service ID", T::Text),
    Column::new("service", "Service", T::Text),
    Column::new("total", "Incidents", T::Int),
    Column::new("acknowledged", "Acknowledged", T::Int),
    Column::new("escalated", "Escalated", T::Int),
    Column::new("escalations", "Escalations", T::Int),
    Column::new("resolved", "Resolved", T::Int),
    Column::new("mtta_minutes", "MTTA (minutes)", T::Decimal),
    Column::new("mttr_minutes", "MTTR (minutes)", T::Decimal),
];

pub(super) const SLA_COLUMNS: [Column; 7] = [
    Column::new("policy", "SLA policy", T::Text),
    Column::new("target", "Target", T::Text),
    Column::new("total", "SLAs", T::Int),
    Column::new("met", "Met", T::Int),
    Column::new("breached", "Breached", T::Int),
    Column::new("open", "Open", T::Int),
    Column::new("compliance", "Compliance", T::Percent),
];

/// A report kind's columns, in file order: the keys
/// `PAGERLENS_REPORT_EXCLUDE_COLUMNS` names, the headers and the types.
pub fn columns(kind: ReportKind) -> &'static [Column] {
    match kind {
        ReportKind::Incidents => &INCIDENT_COLUMNS,
        ReportKind::Services => &SERVICE_COLUMNS,
        ReportKind::Teams => &TEAM_COLUMNS,
        ReportKind::ServiceTeams => &SERVICE_TEAM_COLUMNS,
        ReportKind::EscalationPolicies => &POLICY_COLUMNS,
        ReportKind::EscalationPolicyTeams => &POLICY_TEAM_COLUMNS,
        ReportKind::EscalationPolicyServices => &POLICY_SERVICE_COLUMNS,
        ReportKind::IncidentsPerService => &PER_SERVICE_COLUMNS,
        ReportKind::IncidentStatusPerService => &STATUS_PER_SERVICE_COLUMNS,
        ReportKind::ServiceSummary => &SERVICE_SUMMARY_COLUMNS,
        ReportKind::SlaCompliance => &SLA_COLUMNS,
    }
}
