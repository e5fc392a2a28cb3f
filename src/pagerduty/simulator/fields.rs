//! The simulated organisation's custom fields: which fields it defines
//! (`--custom-fields all|none|some-types`), its incident types, and the
//! routes that serve the definitions (`GET /incidents/custom_fields`,
//! `/incidents/types`, `/incidents/types/{type}/custom_fields`) and an
//! incident's values (`GET /incidents/{id}/custom_fields/values`).
//!
//! Every incident has a type (by its number: one in eight `security`, one
//! in eight `change`, the rest the base type `incident_default`) and values
//! generated for it; an incident shows its values only while its type has
//! fields, so defining fields later makes them appear as PagerDuty shows a
//! new field on existing incidents.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};

use super::Sim;
use super::data::Org;
use super::gate::{error, gate, respond, serialised};
use crate::pagerduty::wire::{FieldValue, IncidentTypeName};

/// Which custom fields the organisation defines.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FieldSetup {
    /// Fields on the base type, inherited by every type: every incident has
    /// them (the simulator's behaviour before incident types).
    #[default]
    All,
    /// No custom fields at all.
    None,
    /// Fields on the `security` type only.
    SomeTypes,
}

impl std::str::FromStr for FieldSetup {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "all" => Ok(Self::All),
            "none" => Ok(Self::None),
            "some-types" => Ok(Self::SomeTypes),
            other => Err(format!(
                "unknown custom-field setup {other:?}: expected all, none or some-types"
            )),
        }
    }
}

/// The incident types: (id, name, display name, parent id).
const TYPES: [(&str, &str, &str, Option<&str>); 3] = [
    ("PTYPE00", "incident_default", "Base Incident", None),
    ("PTYPE01", "security", "Security", Some("PTYPE00")),
    ("PTYPE02", "change", "Change", Some("PTYPE00")),
];

/// The fields every setup but `None` defines: (id, name, display name).
const FIELDS: [(&str, &str, &str); 3] = [
    ("F1", "resolution", "Resolution"),
    ("F2", "prelim_root_cause", "Preliminary root cause"),
    ("F3", "impacted_regions", "Impacted regions"),
];

/// The type of incident number `n`.
pub fn type_for(n: i64) -> IncidentTypeName {
    let name = match n.rem_euclid(8) {
        0 => TYPES[1].1,
        1 => TYPES[2].1,
        _ => TYPES[0].1,
    };
    IncidentTypeName {
        name: Some(name.to_owned()),
    }
}

/// The id of the incident type named `name`.
pub(super) fn type_id(name: &str) -> Option<&'static str> {
    TYPES
        .iter()
        .find(|(_, n, ..)| *n == name)
        .map(|(id, ..)| *id)
}

/// The type (id) that owns the fields, if any.
fn owner(setup: FieldSetup) -> Option<&'static str> {
    match setup {
        FieldSetup::All => Some(TYPES[0].0),
        FieldSetup::SomeTypes => Some(TYPES[1].0),
        FieldSetup::None => None,
    }
}

/// Whether a type (by id) has fields, its own or inherited.
fn type_has_fields(setup: FieldSetup, type_id: &str) -> bool {
    let Some(owner) = owner(setup) else {
        return false;
    };
    let mut at = Some(type_id);
    while let Some(t) = at {
        if t == owner {
            return true;
        }
        at = TYPES.iter().find(|(id, ..)| *id == t).and_then(|x| x.3);
    }
    false
}

impl Org {
    /// The values incident `id` shows: its generated ones while its type
    /// has fields, else none.
    pub fn field_values(&self, id: &str) -> &[FieldValue] {
        let has = self
            .incident(id)
            .and_then(|i| i.incident_type.as_ref())
            .and_then(|t| t.name.as_deref())
            .and_then(|name| TYPES.iter().find(|(_, n, ..)| *n == name))
            .is_some_and(|(type_id, ..)| type_has_fields(self.field_setup, type_id));
        if has {
            self.custom_fields
                .get(id)
                .map(Vec::as_slice)
                .unwrap_or_default()
        } else {
            &[]
        }
    }
}

fn definition(field: (&str, &str, &str), type_id: Option<&str>) -> Value {
    let (id, name, display) = field;
    let mut v = json!({
        "id": id,
        "type": "field",
        "summary": name,
        "self": format!("https://api.pagerduty.com/incidents/custom_fields/{id}"),
        "name": name,
        "display_name": display,
        "namespace": "incidents",
        "data_type": "string",
        "field_type": if name == "impacted_regions" { "multi_value" } else { "single_value" },
        "created_at": "2024-01-01T00:00:00Z",
        "updated_at": "2024-01-01T00:00:00Z",
        "field_options": [],
    });
    if let Some(t) = type_id {
        v["enabled"] = json!(true);
        v["incident_type"] = json!(t);
        v["self"] = json!(format!(
            "https://api.pagerduty.com/incidents/types/{t}/custom_fields/{id}"
        ));
    }
    v
}

/// `GET /incidents/custom_fields`: the account's fields.
pub async fn account_fields(State(sim): State<Arc<Sim>>, headers: HeaderMap) -> Response {
    let fault = match gate(&sim, &headers, "/incidents/custom_fields").await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let setup = sim.org.read().await.field_setup;
    let fields: Vec<Value> = match setup {
        FieldSetup::None => Vec::new(),
        _ => FIELDS.iter().map(|f| definition(*f, None)).collect(),
    };
    respond(&sim, json!({ "fields": fields }), fault).await
}

/// `GET /incidents/types`.
pub async fn incident_types(State(sim): State<Arc<Sim>>, headers: HeaderMap) -> Response {
    let fault = match gate(&sim, &headers, "/incidents/types").await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let types: Vec<Value> = TYPES
        .iter()
        .map(|(id, name, display, parent)| {
            let mut t = json!({
                "id": id,
                "type": "incident_type",
                "name": name,
                "display_name": display,
                "enabled": true,
                "created_at": "2024-01-01T00:00:00Z",
                "updated_at": "2024-01-01T00:00:00Z",
            });
            // The base type has none (the document's schema has no null here).
            if let Some(p) = parent {
                t["parent"] = json!({"id": p, "type": "incident_type_reference"});
            }
            t
        })
        .collect();
    respond(&sim, json!({ "incident_types": types }), fault).await
}

/// `GET /incidents/types/{type_id_or_name}/custom_fields`: a type's fields,
/// its own and those it inherits.
pub async fn type_fields(
    State(sim): State<Arc<Sim>>,
    Path(type_id_or_name): Path<String>,
    headers: HeaderMap,
) -> Response {
    let fault = match gate(
        &sim,
        &headers,
        "/incidents/types/{type_id_or_name}/custom_fields",
    )
    .await
    {
        Ok(f) => f,
        Err(r) => return r,
    };
    let Some((type_id, ..)) = TYPES
        .iter()
        .find(|(id, name, ..)| *id == type_id_or_name || *name == type_id_or_name)
    else {
        return error(StatusCode::NOT_FOUND, 2100, "Not Found");
    };
    let setup = sim.org.read().await.field_setup;
    let fields: Vec<Value> = if type_has_fields(setup, type_id) {
        let owner = owner(setup).unwrap_or(type_id);
        FIELDS.iter().map(|f| definition(*f, Some(owner))).collect()
    } else {
        Vec::new()
    };
    respond(&sim, json!({ "fields": fields }), fault).await
}

/// `GET /incidents/{id}/custom_fields/values`.
pub async fn values(
    State(sim): State<Arc<Sim>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let fault = match gate(&sim, &headers, "/incidents/{id}/custom_fields/values").await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let body = {
        let org = sim.org.read().await;
        if org.incident(&id).is_none() {
            return error(StatusCode::NOT_FOUND, 5001, "Incident Not Found");
        }
        #[derive(serde::Serialize)]
        struct FieldOut<'a> {
            #[serde(flatten)]
            field: &'a FieldValue,
            #[serde(rename = "type")]
            kind: &'static str,
            field_type: &'static str,
        }
        #[derive(serde::Serialize)]
        struct Body<'a> {
            custom_fields: Vec<FieldOut<'a>>,
        }
        serialised(&Body {
            custom_fields: org
                .field_values(&id)
                .iter()
                .map(|field| FieldOut {
                    field,
                    kind: "field_value",
                    field_type: if field.value.is_array() {
                        "multi_value"
                    } else {
                        "single_value"
                    },
                })
                .collect(),
        })
    };
    respond(&sim, body, fault).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_have_fields_by_setup_and_inheritance() {
        for (setup, base, security, change) in [
            (FieldSetup::All, true, true, true),
            (FieldSetup::None, false, false, false),
            (FieldSetup::SomeTypes, false, true, false),
        ] {
            assert_eq!(type_has_fields(setup, "PTYPE00"), base, "{setup:?}");
            assert_eq!(type_has_fields(setup, "PTYPE01"), security, "{setup:?}");
            assert_eq!(type_has_fields(setup, "PTYPE02"), change, "{setup:?}");
        }
        assert_eq!(type_for(8).name.as_deref(), Some("security"));
        assert_eq!(type_for(9).name.as_deref(), Some("change"));
        assert_eq!(type_for(10).name.as_deref(), Some("incident_default"));
        assert_eq!("some-types".parse(), Ok(FieldSetup::SomeTypes));
        assert!("most".parse::<FieldSetup>().is_err());
    }
}
