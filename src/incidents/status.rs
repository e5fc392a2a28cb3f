//! Status mappings: how a raw status is named, which category it counts as,
//! and whether analytics and reports show it at all.
//!
//! A raw status is a PagerDuty incident status (`PAGERDUTY`), a local
//! incident's status (`LOCAL`), or a value of the custom field named by
//! `PAGERLENS_STATUS_FIELD` (`CUSTOM_FIELD`). When that field is configured
//! and an incident has a mapped value for it, the custom field's mapping is
//! the incident's status (teams keep their own workflow states there, such
//! as "waiting on vendor"); otherwise its incident status's mapping is.
//! Unmapped values show as themselves in the `OPEN` category (`RESOLVED`
//! for `resolved`). An inactive mapping hides its incidents from analytics
//! and reports; the incidents themselves are kept.

use std::collections::HashMap;

use chrono::Utc;
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};

/// A mapping that cannot be saved.
#[derive(Debug, thiserror::Error)]
pub enum MappingError {
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Db(#[from] sea_orm::DbErr),
}
use crate::entities::{incident, incident_custom_field_value as cf, status_mapping};

pub const SOURCES: [&str; 3] = ["PAGERDUTY", "LOCAL", "CUSTOM_FIELD"];
pub const CATEGORIES: [&str; 4] = ["OPEN", "IN_PROGRESS", "WAITING", "RESOLVED"];

/// A mapped status, as analytics present it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Mapped {
    pub name: String,
    pub category: String,
}

/// The mappings in force, loaded once per query (the table is small).
#[derive(Clone, Debug, Default)]
pub struct Mapper {
    /// `(source, field, raw)` → mapping.
    by_key: HashMap<(String, String, String), status_mapping::Model>,
    /// The custom field that carries a workflow status, if configured.
    pub field: Option<String>,
}

impl Mapper {
    pub async fn load<C: ConnectionTrait>(db: &C, field: Option<&str>) -> Result<Self, DbErr> {
        let rows = status_mapping::Entity::find().all(db).await?;
        Ok(Self {
            by_key: rows
                .into_iter()
                .map(|m| ((m.source.clone(), m.field.clone(), m.raw_value.clone()), m))
                .collect(),
            field: field.map(str::to_owned),
        })
    }

    fn incident_mapping(&self, source: &str, status: &str) -> Option<&status_mapping::Model> {
        let source = if source == "manual" {
            "LOCAL"
        } else {
            "PAGERDUTY"
        };
        self.by_key
            .get(&(source.to_owned(), String::new(), status.to_owned()))
    }

    fn field_mapping(&self, value: Option<&str>) -> Option<&status_mapping::Model> {
        let (field, value) = (self.field.as_ref()?, value?);
        self.by_key
            .get(&("CUSTOM_FIELD".to_owned(), field.clone(), value.to_owned()))
    }

    /// An incident's mapped status from its source (`pagerduty`/`manual`),
    /// status and status-field value; `None` when hidden.
    pub fn map(&self, source: &str, status: &str, field_value: Option<&str>) -> Option<Mapped> {
        let m = self
            .field_mapping(field_value)
            .or_else(|| self.incident_mapping(source, status));
        match m {
            Some(m) if !m.active => None,
            Some(m) => Some(Mapped {
                name: m.display_name.clone(),
                category: m.category.clone(),
            }),
            None => Some(Mapped {
                name: status.to_owned(),
                category: if status == "resolved" {
                    "RESOLVED"
                } else {
                    "OPEN"
                }
                .to_owned(),
            }),
        }
    }

    /// The condition that leaves out incidents whose mapping is inactive
    /// (`None` when nothing is hidden).
    pub fn visible_condition(&self) -> Option<Expr> {
        let hidden = |source: &str| -> Vec<String> {
            self.by_key
                .values()
                .filter(|m| m.source == source && !m.active)
                .map(|m| m.raw_value.clone())
                .collect()
        };
        let (pd, local) = (hidden("PAGERDUTY"), hidden("LOCAL"));
        let field_values = |active: Option<bool>| -> Vec<String> {
            self.by_key
                .values()
                .filter(|m| {
                    m.source == "CUSTOM_FIELD"
                        && Some(&m.field) == self.field.as_ref()
                        && active.is_none_or(|a| m.active == a)
                })
                .map(|m| m.raw_value.clone())
                .collect()
        };
        let field_hidden = field_values(Some(false));
        let mut status_hidden: Vec<Expr> = Vec::new();
        if !pd.is_empty() {
            status_hidden.push(
                Expr::col((incident::Entity, incident::Column::Source))
                    .ne("manual")
                    .and(Expr::col((incident::Entity, incident::Column::Status)).is_in(pd)),
            );
        }
        if !local.is_empty() {
            status_hidden.push(
                Expr::col((incident::Entity, incident::Column::Source))
                    .eq("manual")
                    .and(Expr::col((incident::Entity, incident::Column::Status)).is_in(local)),
            );
        }
        if status_hidden.is_empty() && field_hidden.is_empty() {
            return None;
        }
        let any = |exprs: Vec<Expr>| {
            exprs
                .into_iter()
                .reduce(|a, b| a.or(b))
                .unwrap_or_else(|| Expr::val(false))
        };
        let Some(field) = &self.field else {
            return Some(any(status_hidden).not());
        };
        let has_field_value = |values: Vec<String>| {
            Expr::exists(
                Query::select()
                    .expr(Expr::val(1))
                    .from(cf::Entity)
                    .and_where(
                        Expr::col((cf::Entity, cf::Column::IncidentId))
                            .equals((incident::Entity, incident::Column::Id)),
                    )
                    .and_where(Expr::col((cf::Entity, cf::Column::Name)).eq(field.clone()))
                    .and_where(Expr::col((cf::Entity, cf::Column::ValueText)).is_in(values))
                    .to_owned(),
            )
        };
        let mut hidden: Vec<Expr> = Vec::new();
        if !field_hidden.is_empty() {
            hidden.push(has_field_value(field_hidden));
        }
        if !status_hidden.is_empty() {
            let mapped_values = field_values(None);
            let status = any(status_hidden);
            hidden.push(if mapped_values.is_empty() {
                status
            } else {
                status.and(has_field_value(mapped_values).not())
            });
        }
        Some(any(hidden).not())
    }
}

/// Input for [`upsert`].
#[derive(Clone, Debug)]
pub struct MappingInput {
    pub source: String,
    pub field: Option<String>,
    pub raw_value: String,
    pub display_name: String,
    pub category: String,
    pub active: bool,
    pub position: Option<i32>,
}

/// All mappings, in display order.
pub async fn list<C: ConnectionTrait>(db: &C) -> Result<Vec<status_mapping::Model>, DbErr> {
    status_mapping::Entity::find()
        .order_by_asc(status_mapping::Column::Source)
        .order_by_asc(status_mapping::Column::Field)
        .order_by_asc(status_mapping::Column::Position)
        .order_by_asc(status_mapping::Column::RawValue)
        .all(db)
        .await
}

/// Creates or changes the mapping of one raw value.
///
/// # Errors
/// `Invalid` for an unknown source or category, an empty value or name, or
/// a custom-field mapping without a field.
pub async fn upsert<C: ConnectionTrait>(
    db: &C,
    input: MappingInput,
) -> Result<status_mapping::Model, MappingError> {
    let source = input.source.trim().to_ascii_uppercase();
    if !SOURCES.contains(&source.as_str()) {
        return Err(MappingError::Invalid(format!(
            "unknown source {:?}: expected one of {}",
            input.source,
            SOURCES.join(", ")
        )));
    }
    let category = input.category.trim().to_ascii_uppercase();
    if !CATEGORIES.contains(&category.as_str()) {
        return Err(MappingError::Invalid(format!(
            "unknown category {:?}: expected one of {}",
            input.category,
            CATEGORIES.join(", ")
        )));
    }
    let field = input.field.map(|f| f.trim().to_owned()).unwrap_or_default();
    if (source == "CUSTOM_FIELD") == field.is_empty() {
        return Err(MappingError::Invalid(
            "a CUSTOM_FIELD mapping names its field; other sources have none".into(),
        ));
    }
    let raw = input.raw_value.trim().to_owned();
    let name = input.display_name.trim().to_owned();
    if raw.is_empty() || name.is_empty() {
        return Err(MappingError::Invalid(
            "rawValue and displayName must not be empty".into(),
        ));
    }
    if name.chars().count() > 100 || raw.chars().count() > 200 {
        return Err(MappingError::Invalid(
            "displayName is limited to 100 characters and rawValue to 200".into(),
        ));
    }
    let existing = status_mapping::Entity::find()
        .filter(status_mapping::Column::Source.eq(source.as_str()))
        .filter(status_mapping::Column::Field.eq(field.as_str()))
        .filter(status_mapping::Column::RawValue.eq(raw.as_str()))
        .one(db)
        .await?;
    let now = Utc::now();
    let model = match existing {
        Some(m) => {
            let position = input.position.unwrap_or(m.position);
            let mut a: status_mapping::ActiveModel = m.into();
            a.display_name = Set(name);
            a.category = Set(category);
            a.active = Set(input.active);
            a.position = Set(position);
            a.updated_at = Set(now);
            a.update(db).await?
        }
        None => {
            status_mapping::ActiveModel {
                source: Set(source),
                field: Set(field),
                raw_value: Set(raw),
                display_name: Set(name),
                category: Set(category),
                active: Set(input.active),
                position: Set(input.position.unwrap_or(100)),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            }
            .insert(db)
            .await?
        }
    };
    Ok(model)
}

/// Deletes a mapping (its values then show as themselves).
pub async fn delete<C: ConnectionTrait>(db: &C, id: i32) -> Result<bool, DbErr> {
    Ok(status_mapping::Entity::delete_by_id(id)
        .exec(db)
        .await?
        .rows_affected
        > 0)
}

/// Adds a mapping, named after itself, for every raw value seen in the
/// data that has none: incident statuses by source and, when configured,
/// the status field's values. Returns how many were added.
pub async fn refresh<C: ConnectionTrait>(db: &C, field: Option<&str>) -> Result<u64, DbErr> {
    let mut seen: Vec<(String, String, String)> = incident::Entity::find()
        .select_only()
        .column(incident::Column::Source)
        .column(incident::Column::Status)
        .distinct()
        .into_tuple::<(String, String)>()
        .all(db)
        .await?
        .into_iter()
        .map(|(source, status)| {
            let source = if source == "manual" {
                "LOCAL"
            } else {
                "PAGERDUTY"
            };
            (source.to_owned(), String::new(), status)
        })
        .collect();
    if let Some(field) = field {
        let values: Vec<Option<String>> = cf::Entity::find()
            .select_only()
            .column(cf::Column::ValueText)
            .filter(cf::Column::Name.eq(field))
            .filter(cf::Column::ValueText.is_not_null())
            .distinct()
            .into_tuple::<Option<String>>()
            .all(db)
            .await?;
        seen.extend(
            values
                .into_iter()
                .flatten()
                .filter(|v| !v.trim().is_empty())
                .map(|v| ("CUSTOM_FIELD".to_owned(), field.to_owned(), v)),
        );
    }
    let mut added = 0;
    let now = Utc::now();
    for (source, field, raw) in seen {
        let category = match raw.as_str() {
            "resolved" => "RESOLVED",
            "acknowledged" => "IN_PROGRESS",
            _ => "OPEN",
        };
        let insert = Query::insert()
            .into_table(status_mapping::Entity)
            .columns([
                status_mapping::Column::Source,
                status_mapping::Column::Field,
                status_mapping::Column::RawValue,
                status_mapping::Column::DisplayName,
                status_mapping::Column::Category,
                status_mapping::Column::Active,
                status_mapping::Column::Position,
                status_mapping::Column::CreatedAt,
                status_mapping::Column::UpdatedAt,
            ])
            .values_panic([
                source.into(),
                field.into(),
                raw.clone().into(),
                raw.into(),
                category.into(),
                true.into(),
                100.into(),
                now.into(),
                now.into(),
            ])
            .on_conflict(
                OnConflict::columns([
                    status_mapping::Column::Source,
                    status_mapping::Column::Field,
                    status_mapping::Column::RawValue,
                ])
                .do_nothing()
                .to_owned(),
            )
            .to_owned();
        added += db.execute(&insert).await?.rows_affected();
    }
    Ok(added)
}
