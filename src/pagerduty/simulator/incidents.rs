//! Incidents and log entries, rendered straight from the wire models (pages
//! of log entries embed one incident each, so this is the simulator's
//! hottest path; tests check it against the generic rendering).

use super::gate::*;
use super::paging::*;
use super::*;

/// An incident as the API sends it: the wire model without its absent
/// fields, with the `type`, `summary`, `self` and `html_url` every resource
/// carries and no acknowledgements. Serialised straight from the model
/// (pages of log entries embed one per entry, so this is the simulator's
/// hottest path); a test checks it against the generic [`decorate`].
pub(super) fn incident_json(i: &Incident) -> IncidentOut<'_> {
    IncidentOut {
        id: &i.id,
        kind: "incident",
        summary: format!("[#{}] {}", i.incident_number.unwrap_or(0), i.title),
        self_url: format!("https://api.pagerduty.com/incidents/{}", i.id),
        html_url: i
            .html_url
            .clone()
            .unwrap_or_else(|| format!("https://simulated.pagerduty.com/incidents/{}", i.id)),
        incident_number: i.incident_number,
        title: &i.title,
        description: i.description.as_deref(),
        created_at: i.created_at,
        updated_at: i.updated_at,
        status: &i.status,
        urgency: i.urgency.as_deref(),
        incident_key: i.incident_key.as_deref(),
        service: i.service.as_ref(),
        escalation_policy: i.escalation_policy.as_ref(),
        priority: i.priority.as_ref(),
        assignments: i
            .assignments
            .iter()
            .map(|a| AssignmentOut {
                at: a.at,
                assignee: &a.assignee,
            })
            .collect(),
        acknowledgements: [],
        last_status_change_at: i.last_status_change_at,
        resolved_at: i.resolved_at,
        incident_type: i.incident_type.as_ref(),
    }
}

#[derive(serde::Serialize)]
pub(super) struct IncidentOut<'a> {
    pub(super) id: &'a str,
    #[serde(rename = "type")]
    pub(super) kind: &'static str,
    pub(super) summary: String,
    #[serde(rename = "self")]
    pub(super) self_url: String,
    pub(super) html_url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) incident_number: Option<i64>,
    pub(super) title: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) description: Option<&'a str>,
    pub(super) created_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) updated_at: Option<DateTime<Utc>>,
    pub(super) status: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) urgency: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) incident_key: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) service: Option<&'a Reference>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) escalation_policy: Option<&'a Reference>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) priority: Option<&'a Reference>,
    pub(super) assignments: Vec<AssignmentOut<'a>>,
    pub(super) acknowledgements: [(); 0],
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) last_status_change_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) resolved_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) incident_type: Option<&'a crate::pagerduty::wire::IncidentTypeName>,
}

#[derive(serde::Serialize)]
pub(super) struct AssignmentOut<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) at: Option<DateTime<Utc>>,
    pub(super) assignee: &'a Reference,
}

/// Incidents in a creation-time range: `since`/`until` (at most 6 months
/// apart, default the last month) or `date_range=all`.
pub(super) async fn incidents(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let fault = match gate(&sim, &headers, "/incidents").await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let params = Params::parse(raw);
    let now = Utc::now();
    let (since, until) = match (params.time("since"), params.time("until")) {
        (Ok(s), Ok(u)) => (s, u),
        (Err(r), _) | (_, Err(r)) => return r,
    };
    let all = params.get("date_range") == Some("all");
    let until = until.unwrap_or(now);
    let since = since.unwrap_or(until - Duration::days(30));
    if !all && (until - since > Duration::days(183) || since > until) {
        return error(
            StatusCode::BAD_REQUEST,
            2005,
            "Invalid Query Date Range: at most 6 months",
        );
    }
    let statuses = params.all("statuses[]");
    let urgencies = params.all("urgencies[]");
    let services = params.all("service_ids[]");
    let page = {
        let org = sim.org.read().await;
        // The incidents are kept in creation order (`Org::reindex`).
        let range = if all {
            &org.incidents[..]
        } else {
            let start = org.incidents.partition_point(|i| i.created_at < since);
            let end = org.incidents.partition_point(|i| i.created_at < until);
            &org.incidents[start..end.max(start)]
        };
        let items = range
            .iter()
            .filter(|i| statuses.is_empty() || statuses.contains(&i.status.as_str()))
            .filter(|i| {
                urgencies.is_empty() || i.urgency.as_deref().is_some_and(|u| urgencies.contains(&u))
            })
            .filter(|i| {
                services.is_empty()
                    || i.service
                        .as_ref()
                        .is_some_and(|s| services.contains(&s.id.as_str()))
            })
            .collect::<Vec<_>>();
        paginate_with(&params, "incidents", items, |i| incident_json(i)).map(|p| serialised(&p))
    };
    match page {
        Ok(body) => respond(&sim, body, fault).await,
        Err(r) => r,
    }
}

pub(super) async fn incident(
    State(sim): State<Arc<Sim>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let fault = match gate(&sim, &headers, "/incidents/{id}").await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let body = {
        let org = sim.org.read().await;
        let found = org.incident(&id).or_else(|| {
            org.incidents
                .iter()
                .find(|i| i.incident_number.map(|n| n.to_string()) == Some(id.clone()))
        });
        match found {
            Some(i) => json!({"incident": incident_json(i)}),
            None => return error(StatusCode::NOT_FOUND, 5001, "Incident Not Found"),
        }
    };
    respond(&sim, body, fault).await
}

/// A log entry as the API sends it, with its incident as a reference or,
/// when `embed`, the whole incident. Serialised straight from the model;
/// a test checks it against the wire model's own serialisation.
pub(super) fn entry_json<'a>(org: &'a Org, e: &'a LogEntry, embed: bool) -> EntryOut<'a> {
    let full = if embed {
        e.incident_id()
            .and_then(|id| org.incident(id))
            .map(|i| incident_json(i))
    } else {
        None
    };
    EntryOut {
        id: &e.id,
        kind: &e.kind,
        created_at: e.created_at,
        summary: e.summary.as_deref(),
        agent: e.agent.as_ref(),
        channel: e.channel.as_ref(),
        note: e.note.as_deref(),
        user: e.user.as_ref(),
        incident: match full {
            Some(i) => EmbeddedOut::Full(i),
            None => EmbeddedOut::AsStored(&e.incident),
        },
        service: e.service.as_ref(),
    }
}

#[derive(serde::Serialize)]
pub(super) struct EntryOut<'a> {
    pub(super) id: &'a str,
    #[serde(rename = "type")]
    pub(super) kind: &'a str,
    pub(super) created_at: DateTime<Utc>,
    pub(super) summary: Option<&'a str>,
    pub(super) agent: Option<&'a Reference>,
    pub(super) channel: Option<&'a crate::pagerduty::wire::Channel>,
    pub(super) note: Option<&'a str>,
    pub(super) user: Option<&'a Reference>,
    pub(super) incident: EmbeddedOut<'a>,
    pub(super) service: Option<&'a Reference>,
}

// Built for one entry at a time and serialised at once: boxing the large
// variant would only add an allocation per entry.
#[allow(clippy::large_enum_variant)]
#[derive(serde::Serialize)]
#[serde(untagged)]
pub(super) enum EmbeddedOut<'a> {
    AsStored(&'a crate::pagerduty::wire::EmbeddedIncident),
    Full(IncidentOut<'a>),
}

pub(super) async fn log_entries(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let fault = match gate(&sim, &headers, "/log_entries").await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let params = Params::parse(raw);
    let (since, until) = match (params.time("since"), params.time("until")) {
        (Ok(s), Ok(u)) => (s, u),
        (Err(r), _) | (_, Err(r)) => return r,
    };
    let embed = params.all("include[]").contains(&"incidents");
    let page = {
        let org = sim.org.read().await;
        let start = since
            .map(|s| org.log_entries.partition_point(|e| e.created_at < s))
            .unwrap_or(0);
        let items: Vec<_> = org.log_entries[start..]
            .iter()
            .take_while(|e| until.is_none_or(|u| e.created_at < u))
            .collect();
        paginate_with(&params, "log_entries", items, |e| {
            entry_json(&org, e, embed)
        })
        .map(|p| serialised(&p))
    };
    match page {
        Ok(body) => respond(&sim, body, fault).await,
        Err(r) => r,
    }
}

pub(super) async fn incident_log_entries(
    State(sim): State<Arc<Sim>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let fault = match gate(&sim, &headers, "/incidents/{id}/log_entries").await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let params = Params::parse(raw);
    let page = {
        let org = sim.org.read().await;
        if org.incident(&id).is_none() {
            return error(StatusCode::NOT_FOUND, 5001, "Incident Not Found");
        }
        let items: Vec<_> = org
            .log_entries
            .iter()
            .filter(|e| e.incident_id() == Some(id.as_str()))
            .collect();
        paginate_with(&params, "log_entries", items, |e| {
            entry_json(&org, e, false)
        })
        .map(|p| serialised(&p))
    };
    match page {
        Ok(body) => respond(&sim, body, fault).await,
        Err(r) => r,
    }
}

#[cfg(test)]
mod tests {
    use super::super::catalog::decorate;
    use super::*;

    /// The generic rendering the typed one replaced: the wire model as a
    /// JSON value, with the summary and acknowledgements the incident list
    /// adds, decorated like every other resource.
    fn incident_as_value(i: &Incident) -> Value {
        let mut v = serde_json::to_value(i).unwrap();
        v["summary"] = json!(format!("[#{}] {}", i.incident_number.unwrap_or(0), i.title));
        v["acknowledgements"] = json!([]);
        decorate(v, "incident")
    }

    fn org() -> Org {
        data::generate(7, &Sizes::default(), Utc::now())
    }

    #[test]
    fn incidents_render_as_the_decorated_wire_model() {
        let org = org();
        let mut with_priority = 0;
        for i in &org.incidents {
            with_priority += usize::from(i.priority.is_some());
            assert_eq!(
                serde_json::to_value(incident_json(i)).unwrap(),
                incident_as_value(i),
                "incident {}",
                i.id
            );
        }
        // Both shapes of the optional fields were compared.
        assert!(with_priority > 0 && with_priority < org.incidents.len());
    }

    #[test]
    fn log_entries_render_as_the_wire_model_with_or_without_their_incident() {
        let org = org();
        assert!(!org.log_entries.is_empty());
        for e in &org.log_entries {
            let plain = serde_json::to_value(e).unwrap();
            assert_eq!(
                serde_json::to_value(entry_json(&org, e, false)).unwrap(),
                plain,
                "entry {}",
                e.id
            );
            let mut embedded = plain;
            embedded["incident"] =
                incident_as_value(org.incident(e.incident_id().unwrap()).unwrap());
            assert_eq!(
                serde_json::to_value(entry_json(&org, e, true)).unwrap(),
                embedded,
                "entry {}",
                e.id
            );
        }
    }

    #[test]
    fn pages_carry_their_items_and_paging_fields() {
        let params = Params::parse(Some("limit=2&offset=1&total=true".into()));
        let page = paginate_with(&params, "things", vec![1, 2, 3, 4], |n| n * 10)
            .unwrap_or_else(|_| panic!("a valid page"));
        assert_eq!(
            serde_json::to_value(&page).unwrap(),
            json!({"things": [20, 30], "limit": 2, "offset": 1, "more": true, "total": 4})
        );
        let page = paginate_with(&Params::parse(None), "things", vec![1], |n| n)
            .unwrap_or_else(|_| panic!("a valid page"));
        assert_eq!(
            serde_json::to_value(&page).unwrap(),
            json!({"things": [1], "limit": 25, "offset": 0, "more": false, "total": null})
        );
    }
}
