//! Which incidents can have custom field values, from the account's field
//! definitions. The values API has no list form (one call per incident), so
//! a sync first reads the definitions — `GET /incidents/custom_fields`, and
//! where the account has incident types `GET /incidents/types` and each
//! type's `GET /incidents/types/{type}/custom_fields` — and asks for the
//! values of an incident only when its type has fields. An account without
//! fields costs no per-incident call at all. The definitions are read again
//! at every run, so a field added later is seen by the next sync.

use std::collections::{HashMap, HashSet};

use super::client::{Client, decode_items};
use super::{Error, wire};

/// Whose custom field values to fetch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldPlan {
    /// The account defines enabled fields (`/incidents/custom_fields`).
    account: bool,
    /// Per incident type (by name): whether it has enabled fields, its own
    /// or inherited; `None` where the account has no incident types.
    types: Option<HashMap<String, bool>>,
}

impl FieldPlan {
    /// Fetch for every incident: what a sync does when the definitions
    /// cannot be read.
    pub fn everything() -> Self {
        Self {
            account: true,
            types: None,
        }
    }

    /// From the definitions read: the account's fields, and each type's own
    /// fields with its parent (`None` without incident types).
    pub fn from_definitions(
        account_fields: &[wire::FieldDefinition],
        types: Option<&[(wire::IncidentType, Vec<wire::FieldDefinition>)]>,
    ) -> Self {
        let enabled = |f: &wire::FieldDefinition| f.enabled != Some(false);
        let types = types.map(|types| {
            let own: HashMap<&str, (bool, Option<&str>)> = types
                .iter()
                .map(|(t, fields)| {
                    (
                        t.id.as_str(),
                        (
                            fields.iter().any(enabled),
                            t.parent.as_ref().map(|p| p.id.as_str()),
                        ),
                    )
                })
                .collect();
            types
                .iter()
                .map(|(t, _)| {
                    // Its own fields or an ancestor's (a cycle ends the walk).
                    let mut seen = HashSet::new();
                    let mut at = Some(t.id.as_str());
                    let mut has = false;
                    while let Some(id) = at.filter(|id| seen.insert(*id)) {
                        let Some((fields, parent)) = own.get(id) else {
                            break;
                        };
                        has |= fields;
                        at = *parent;
                    }
                    (t.name.clone(), has)
                })
                .collect()
        });
        Self {
            account: account_fields.iter().any(enabled),
            types,
        }
    }

    /// Whether an incident of this type (by name) can have values. An
    /// incident without a type follows the account's list; a type the
    /// definitions did not list (created since) is fetched, to be safe.
    pub fn wants(&self, incident_type: Option<&str>) -> bool {
        match (&self.types, incident_type) {
            (Some(types), Some(t)) => types.get(t).copied().unwrap_or(true),
            _ => self.account,
        }
    }

    /// No incident can have values.
    pub fn wants_nothing(&self) -> bool {
        !self.account && self.types.as_ref().is_none_or(|t| !t.values().any(|v| *v))
    }

    /// For a query of stored incidents: the type names with fields, the
    /// type names without, and whether incidents without a type are wanted.
    /// `None` for the first two when the account has no types (then only
    /// the third decides, for every incident).
    pub fn by_type(&self) -> (Option<Vec<String>>, Option<Vec<String>>, bool) {
        match &self.types {
            None => (None, None, self.account),
            Some(types) => {
                let pick = |want: bool| {
                    let mut names: Vec<String> = types
                        .iter()
                        .filter(|(_, has)| **has == want)
                        .map(|(name, _)| name.clone())
                        .collect();
                    names.sort();
                    names
                };
                (Some(pick(true)), Some(pick(false)), self.account)
            }
        }
    }
}

/// Whether an answer means the account lacks the feature (not an outage).
fn unavailable(e: &Error) -> bool {
    matches!(
        e,
        Error::Api {
            status: 400 | 402 | 403 | 404,
            ..
        }
    )
}

/// Reads the account's field definitions. An account whose plan has no
/// custom fields or no incident types answers 4xx to those lists: no
/// fields, or no types.
///
/// # Errors
/// PagerDuty unreachable or an unreadable answer.
pub async fn read_plan(client: &Client) -> Result<FieldPlan, Error> {
    let list = |path: String, wrapper: &'static str| async move {
        match client.list_all(&path, wrapper, &[]).await {
            Ok(items) => Ok(Some(items)),
            Err(e) if unavailable(&e) => Ok(None),
            Err(e) => Err(e),
        }
    };
    let account: Vec<wire::FieldDefinition> =
        match list("/incidents/custom_fields".into(), "fields").await? {
            Some(items) => decode_items("custom_field", items).0,
            None => Vec::new(),
        };
    let types = match list("/incidents/types".into(), "incident_types").await? {
        None => None,
        Some(items) => {
            let (types, _): (Vec<wire::IncidentType>, _) = decode_items("incident_type", items);
            let mut out = Vec::with_capacity(types.len());
            for t in types {
                // A disabled type gets no new incidents, but its incidents
                // keep their values: its fields are read like the others.
                let fields =
                    match list(format!("/incidents/types/{}/custom_fields", t.id), "fields").await?
                    {
                        Some(items) => decode_items("custom_field", items).0,
                        None => Vec::new(),
                    };
                out.push((t, fields));
            }
            Some(out)
        }
    };
    Ok(FieldPlan::from_definitions(&account, types.as_deref()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(enabled: Option<bool>) -> wire::FieldDefinition {
        wire::FieldDefinition {
            id: "F".into(),
            name: "f".into(),
            enabled,
            ..Default::default()
        }
    }

    fn kind(id: &str, name: &str, parent: Option<&str>) -> wire::IncidentType {
        wire::IncidentType {
            id: id.into(),
            name: name.into(),
            parent: parent.map(|p| wire::Reference::new(p, "incident_type_reference", "")),
            ..Default::default()
        }
    }

    #[test]
    fn without_types_the_account_list_decides() {
        let none = FieldPlan::from_definitions(&[], None);
        assert!(none.wants_nothing());
        assert!(!none.wants(None) && !none.wants(Some("security")));
        let disabled = FieldPlan::from_definitions(&[field(Some(false))], None);
        assert!(disabled.wants_nothing(), "a disabled field is no field");
        let some = FieldPlan::from_definitions(&[field(None)], None);
        assert!(some.wants(None) && some.wants(Some("anything")));
        assert_eq!(some.by_type(), (None, None, true));
        assert!(FieldPlan::everything().wants(Some("x")));
    }

    #[test]
    fn types_inherit_their_parents_fields() {
        let types = vec![
            (kind("T0", "incident_default", None), vec![]),
            (kind("T1", "security", Some("T0")), vec![field(None)]),
            (kind("T2", "breach", Some("T1")), vec![]),
            (kind("T3", "change", Some("T0")), vec![field(Some(false))]),
            // A cycle does not hang the walk.
            (kind("T4", "loop_a", Some("T5")), vec![]),
            (kind("T5", "loop_b", Some("T4")), vec![]),
        ];
        let plan = FieldPlan::from_definitions(&[field(None)], Some(&types));
        assert!(!plan.wants(Some("incident_default")));
        assert!(plan.wants(Some("security")));
        assert!(plan.wants(Some("breach")), "inherited from security");
        assert!(!plan.wants(Some("change")), "its field is disabled");
        assert!(!plan.wants(Some("loop_a")));
        assert!(
            plan.wants(Some("created_since")),
            "an unknown type is fetched"
        );
        assert!(plan.wants(None), "no type: the account's list");
        assert!(!plan.wants_nothing());
        let (with, without, untyped) = plan.by_type();
        assert_eq!(with.unwrap(), vec!["breach", "security"]);
        assert_eq!(
            without.unwrap(),
            vec!["change", "incident_default", "loop_a", "loop_b"]
        );
        assert!(untyped);
        // Fields on the base type reach every type.
        let base = vec![
            (kind("T0", "incident_default", None), vec![field(None)]),
            (kind("T1", "security", Some("T0")), vec![]),
        ];
        let plan = FieldPlan::from_definitions(&[], Some(&base));
        assert!(plan.wants(Some("security")) && !plan.wants(None));
    }
}
