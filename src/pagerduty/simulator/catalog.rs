//! The reference lists (priorities, teams and members, users, services,
//! escalation policies, schedules) and on-call entries.

use super::gate::*;
use super::paging::*;
use super::*;

/// Adds the fields every PagerDuty resource carries (`type`, `summary`,
/// `self`, `html_url`) to an object the wire model does not spell out.
///
/// Absent optional fields are left out, as PagerDuty does for most of them,
/// rather than sent as `null` where the document says a string.
pub(super) fn decorate(mut v: Value, kind: &str) -> Value {
    fn drop_nulls(v: &mut Value) {
        match v {
            Value::Object(map) => {
                map.retain(|_, x| !x.is_null());
                map.values_mut().for_each(drop_nulls);
            }
            Value::Array(items) => items.iter_mut().for_each(drop_nulls),
            _ => {}
        }
    }
    drop_nulls(&mut v);
    if kind == "schedule"
        && let Some(Value::Array(layers)) = v.get_mut("schedule_layers")
    {
        // The simulated rotation (see `oncalls`): daily hand-offs at UTC midnight.
        for layer in layers {
            layer["start"] = json!("2020-01-01T00:00:00Z");
            layer["rotation_virtual_start"] = json!("2020-01-01T00:00:00Z");
            layer["rotation_turn_length_seconds"] = json!(86_400);
        }
    }
    if let Value::Object(map) = &mut v {
        let id = map
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let summary = map
            .get("name")
            .or_else(|| map.get("title"))
            .cloned()
            .unwrap_or_else(|| json!(id));
        let plural = match kind.strip_suffix('y') {
            Some(stem) => format!("{stem}ies"),
            None => format!("{kind}s"),
        };
        map.entry("type").or_insert_with(|| json!(kind));
        map.entry("summary").or_insert(summary);
        map.entry("self")
            .or_insert_with(|| json!(format!("https://api.pagerduty.com/{plural}/{id}")));
        map.entry("html_url")
            .or_insert_with(|| json!(format!("https://simulated.pagerduty.com/{plural}/{id}")));
    }
    v
}

macro_rules! list_route {
    ($name:ident, $route:expr, $wrapper:expr, $kind:expr, |$org:ident| $items:expr) => {
        pub(super) async fn $name(
            State(sim): State<Arc<Sim>>,
            headers: HeaderMap,
            RawQuery(raw): RawQuery,
        ) -> Response {
            let fault = match gate(&sim, &headers, $route).await {
                Ok(f) => f,
                Err(r) => return r,
            };
            let params = Params::parse(raw);
            let items: Vec<Value> = {
                let $org = sim.org.read().await;
                $items
                    .into_iter()
                    .map(|x| decorate(serde_json::to_value(x).unwrap(), $kind))
                    .collect()
            };
            match paginate(&params, $wrapper, items) {
                Ok(body) => respond(&sim, body, fault).await,
                Err(r) => r,
            }
        }
    };
}

list_route!(priorities, "/priorities", "priorities", "priority", |org| {
    org.priorities.clone()
});

list_route!(teams, "/teams", "teams", "team", |org| org.teams.clone());

list_route!(users, "/users", "users", "user", |org| org.users.clone());

list_route!(services, "/services", "services", "service", |org| org
    .services
    .clone());

list_route!(
    escalation_policies,
    "/escalation_policies",
    "escalation_policies",
    "escalation_policy",
    |org| org.escalation_policies.clone()
);

list_route!(schedules, "/schedules", "schedules", "schedule", |org| org
    .schedules
    .clone());

pub(super) async fn team_members(
    State(sim): State<Arc<Sim>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let fault = match gate(&sim, &headers, "/teams/{id}/members").await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let items: Vec<Value> = {
        let org = sim.org.read().await;
        if !org.teams.iter().any(|t| t.id == id) {
            return error(StatusCode::NOT_FOUND, 6001, "Team Not Found");
        }
        org.members
            .get(&id)
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .map(|m| serde_json::to_value(m).unwrap())
            .collect()
    };
    match paginate(&Params::parse(raw), "members", items) {
        Ok(body) => respond(&sim, body, fault).await,
        Err(r) => r,
    }
}

/// On-call entries: each schedule rotates daily (UTC midnight) through its
/// members, at the level of the rule that targets it; users targeted directly
/// are on call permanently (no start or end).
pub(super) async fn oncalls(
    State(sim): State<Arc<Sim>>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let fault = match gate(&sim, &headers, "/oncalls").await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let params = Params::parse(raw);
    let now = Utc::now();
    let (since, until) = match (params.time("since"), params.time("until")) {
        (Ok(s), Ok(u)) => (s.unwrap_or(now), u.unwrap_or(now)),
        (Err(r), _) | (_, Err(r)) => return r,
    };
    let items: Vec<Value> = {
        let org = sim.org.read().await;
        let mut out = Vec::new();
        for ep in &org.escalation_policies {
            let ep_ref =
                json!({"id": ep.id, "type": "escalation_policy_reference", "summary": ep.name});
            for (level, rule) in ep.escalation_rules.iter().enumerate() {
                for t in &rule.targets {
                    if t.kind.starts_with("user") {
                        out.push(json!({"escalation_policy": ep_ref, "escalation_level": level + 1, "user": t, "schedule": null, "start": null, "end": null}));
                        continue;
                    }
                    let Some(s) = org.schedules.iter().find(|s| s.id == t.id) else {
                        continue;
                    };
                    let day0 = since.date_naive().and_hms_opt(0, 0, 0).unwrap().and_utc();
                    let mut day = day0;
                    while day < until {
                        let n = (day.timestamp() / 86_400) as usize % s.users.len().max(1);
                        out.push(json!({
                            "escalation_policy": ep_ref,
                            "escalation_level": level + 1,
                            "user": s.users[n],
                            "schedule": {"id": s.id, "type": "schedule_reference", "summary": s.name},
                            "start": day,
                            "end": day + Duration::days(1),
                        }));
                        day += Duration::days(1);
                    }
                }
            }
        }
        out
    };
    match paginate(&params, "oncalls", items) {
        Ok(body) => respond(&sim, body, fault).await,
        Err(r) => r,
    }
}
