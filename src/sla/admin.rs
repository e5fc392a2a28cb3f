//! Policies and business calendars, as admins keep them.

use super::*;

/// Policies, by name.
///
/// # Errors
/// Database errors only.
pub async fn list_policies<C: ConnectionTrait>(db: &C) -> Result<Vec<sla_policy::Model>, DbErr> {
    sla_policy::Entity::find()
        .order_by_asc(sla_policy::Column::Name)
        .all(db)
        .await
}

/// A policy to create or replace.
#[derive(Clone, Debug)]
pub struct PolicyInput {
    pub name: String,
    pub priority_names: Option<Vec<String>>,
    pub urgency: Option<String>,
    pub service_id: Option<String>,
    pub team_id: Option<String>,
    pub response_target_secs: i64,
    pub resolution_target_secs: i64,
    pub calendar_id: Option<i32>,
}

pub(super) fn validate(p: &PolicyInput) -> Result<(), SlaError> {
    let name = p.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(SlaError::BadInput(
            "a policy needs a name of 1 to 100 characters".into(),
        ));
    }
    for (what, secs) in [
        ("response", p.response_target_secs),
        ("resolution", p.resolution_target_secs),
    ] {
        if secs <= 0 || secs > 366 * 86_400 {
            return Err(SlaError::BadInput(format!(
                "the {what} target must be between 1 second and 366 days, not {secs} s"
            )));
        }
    }
    if p.urgency
        .as_deref()
        .is_some_and(|u| u != "high" && u != "low")
    {
        return Err(SlaError::BadInput("urgency must be high or low".into()));
    }
    if p.priority_names
        .as_ref()
        .is_some_and(|v| v.is_empty() || v.iter().any(|n| n.trim().is_empty() || n.contains(',')))
    {
        return Err(SlaError::BadInput(
            "priority names must be non-empty and contain no commas".into(),
        ));
    }
    Ok(())
}

/// Creates (`id: None`) or replaces a policy, stamped `now`, then
/// re-evaluates every open SLA, in one transaction.
///
/// # Errors
/// Invalid input, an unknown policy or calendar, a duplicate name; nothing
/// changes then.
pub async fn save_policy(
    db: &DatabaseConnection,
    settings: &SlaSettings,
    id: Option<i32>,
    input: PolicyInput,
    now: DateTime<Utc>,
) -> Result<sla_policy::Model, SlaError> {
    validate(&input)?;
    if let Some(c) = input.calendar_id
        && business_calendar::Entity::find_by_id(c)
            .one(db)
            .await?
            .is_none()
    {
        return Err(SlaError::NotFound(format!(
            "No business calendar with id {c}"
        )));
    }
    let txn = crate::db::begin_write(db).await?;
    if let Some(id) = id
        && sla_policy::Entity::find_by_id(id)
            .one(&txn)
            .await?
            .is_none()
    {
        return Err(SlaError::NotFound(format!("No SLA policy with id {id}")));
    }
    let clash = sla_policy::Entity::find()
        .filter(sla_policy::Column::Name.eq(input.name.trim()))
        .one(&txn)
        .await?;
    if clash.is_some_and(|c| Some(c.id) != id) {
        return Err(SlaError::BadInput(format!(
            "a policy named {:?} exists",
            input.name.trim()
        )));
    }
    let mut m = sla_policy::ActiveModel {
        name: Set(input.name.trim().to_owned()),
        priority_names: Set(input
            .priority_names
            .map(|v| v.iter().map(|s| s.trim()).collect::<Vec<_>>().join(","))),
        urgency: Set(input.urgency),
        service_id: Set(input.service_id),
        team_id: Set(input.team_id),
        response_target_secs: Set(input.response_target_secs),
        resolution_target_secs: Set(input.resolution_target_secs),
        calendar_id: Set(input.calendar_id),
        updated_at: Set(now),
        ..Default::default()
    };
    let saved = match id {
        Some(id) => {
            m.id = Set(id);
            m.update(&txn).await?
        }
        None => {
            m.created_at = Set(now);
            m.insert(&txn).await?
        }
    };
    reevaluate_open(db, &txn, settings).await?;
    txn.commit().await?;
    Ok(saved)
}

/// Deletes a policy; open SLAs move to the next matching one, closed ones
/// keep its name.
///
/// # Errors
/// An unknown policy.
pub async fn delete_policy(
    db: &DatabaseConnection,
    settings: &SlaSettings,
    id: i32,
) -> Result<(), SlaError> {
    let txn = crate::db::begin_write(db).await?;
    let res = sla_policy::Entity::delete_by_id(id).exec(&txn).await?;
    if res.rows_affected == 0 {
        return Err(SlaError::NotFound(format!("No SLA policy with id {id}")));
    }
    reevaluate_open(db, &txn, settings).await?;
    txn.commit().await?;
    Ok(())
}

/// A business-hours calendar as an admin gives it.
#[derive(Clone, Debug)]
pub struct CalendarInput {
    pub name: String,
    /// IANA time zone.
    pub time_zone: String,
    /// Working windows per weekday (`mon` … `sun`): `HH:MM-HH:MM`.
    pub weekly_hours: Vec<(String, Vec<String>)>,
    /// Local dates without working hours.
    pub holidays: Vec<NaiveDate>,
}

/// Every business-hours calendar, by name.
///
/// # Errors
/// Database errors.
pub async fn list_calendars<C: ConnectionTrait>(
    db: &C,
) -> Result<Vec<business_calendar::Model>, DbErr> {
    business_calendar::Entity::find()
        .order_by_asc(business_calendar::Column::Name)
        .all(db)
        .await
}

/// Creates a calendar, or replaces calendar `id`, stamped `now`; a replaced calendar
/// re-evaluates open SLAs (closed ones keep what they measured).
///
/// # Errors
/// `BadInput` for an empty or taken name, an unknown time zone or weekday,
/// or a malformed window; `NotFound` for an unknown id.
pub async fn save_calendar(
    db: &DatabaseConnection,
    settings: &SlaSettings,
    id: Option<i32>,
    input: CalendarInput,
    now: DateTime<Utc>,
) -> Result<business_calendar::Model, SlaError> {
    let name = input.name.trim().to_owned();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(SlaError::BadInput(
            "a calendar needs a name of 1 to 100 characters".into(),
        ));
    }
    let weekly: std::collections::BTreeMap<String, Vec<String>> = input
        .weekly_hours
        .into_iter()
        .map(|(d, w)| (d.trim().to_ascii_lowercase(), w))
        .collect();
    let mut model = business_calendar::Model {
        id: id.unwrap_or_default(),
        name: name.clone(),
        time_zone: input.time_zone.trim().to_owned(),
        weekly_hours: serde_json::to_string(&weekly)
            .map_err(|e| SlaError::BadInput(e.to_string()))?,
        holidays: serde_json::to_string(&input.holidays)
            .map_err(|e| SlaError::BadInput(e.to_string()))?,
        created_at: now,
        updated_at: now,
    };
    // The same parser the engine uses: what is saved can be used.
    parse_calendar(&model)?;
    let txn = crate::db::begin_write(db).await?;
    let taken = business_calendar::Entity::find()
        .filter(business_calendar::Column::Name.eq(name.as_str()))
        .one(&txn)
        .await?
        .is_some_and(|c| Some(c.id) != id);
    if taken {
        return Err(SlaError::BadInput(format!(
            "a calendar named {name:?} exists already"
        )));
    }
    let saved = match id {
        None => {
            let mut a: business_calendar::ActiveModel = model.clone().into();
            a.id = sea_orm::ActiveValue::NotSet;
            a.insert(&txn).await?
        }
        Some(id) => {
            let old = business_calendar::Entity::find_by_id(id)
                .one(&txn)
                .await?
                .ok_or_else(|| SlaError::NotFound(format!("No business calendar with id {id}")))?;
            model.created_at = old.created_at;
            let mut a: business_calendar::ActiveModel = old.into();
            a.name = Set(model.name.clone());
            a.time_zone = Set(model.time_zone.clone());
            a.weekly_hours = Set(model.weekly_hours.clone());
            a.holidays = Set(model.holidays.clone());
            a.updated_at = Set(now);
            let saved = a.update(&txn).await?;
            reevaluate_open(db, &txn, settings).await?;
            saved
        }
    };
    txn.commit().await?;
    Ok(saved)
}

/// Deletes a calendar no policy uses.
///
/// # Errors
/// `NotFound` for an unknown id; `BadInput` while a policy uses it.
pub async fn delete_calendar<C: ConnectionTrait>(db: &C, id: i32) -> Result<(), SlaError> {
    if let Some(p) = sla_policy::Entity::find()
        .filter(sla_policy::Column::CalendarId.eq(id))
        .one(db)
        .await?
    {
        return Err(SlaError::BadInput(format!(
            "calendar {id} is used by SLA policy {:?}; change that policy first",
            p.name
        )));
    }
    let res = business_calendar::Entity::delete_by_id(id).exec(db).await?;
    if res.rows_affected == 0 {
        return Err(SlaError::NotFound(format!(
            "No business calendar with id {id}"
        )));
    }
    Ok(())
}
