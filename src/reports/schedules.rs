//! Scheduled reports: a user asks for a report on a cron schedule in their
//! time zone. This module keeps the schedules and says when one is due
//! ([`due`]); the `scheduled_reports` job queues each due run as an
//! ordinary report job and delivers its file.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, DbErr, EntityTrait,
    QueryFilter, QueryOrder,
};

use super::{Filter, Format, ReportError, ReportKind, Request};
use crate::entities::{account, report_schedule};

/// A schedule to create.
#[derive(Clone, Debug)]
pub struct NewSchedule {
    pub name: String,
    pub kind: ReportKind,
    pub format: Format,
    pub filter: Filter,
    pub cron: String,
    pub time_zone: String,
    pub webhook_url: Option<String>,
    pub email_to: Option<String>,
}

/// Creates a schedule for `account_id` after checking every field.
///
/// # Errors
/// [`ReportError::BadInput`] naming the bad field, or a database error.
pub async fn create(
    db: &DatabaseConnection,
    account_id: i32,
    scope: Option<Vec<String>>,
    new: NewSchedule,
) -> Result<report_schedule::Model, ReportError> {
    let name = new.name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(ReportError::BadInput(
            "`name` must be 1 to 200 characters".into(),
        ));
    }
    let (cron, _) = crate::cron::parse(&new.cron)
        .map_err(|e| ReportError::BadInput(format!("`cron` is invalid: {e}")))?;
    let tz: Tz = super::parse_tz(&new.time_zone)?;
    if let Some(url) = &new.webhook_url {
        match url::Url::parse(url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {}
            _ => {
                return Err(ReportError::BadInput(format!(
                    "`webhookUrl` {url:?} is not an http(s) URL"
                )));
            }
        }
    }
    if let Some(to) = &new.email_to
        && crate::auth::normalize_email(to).is_err()
    {
        return Err(ReportError::BadInput(format!(
            "`emailTo` {to:?} is not an email address"
        )));
    }
    let request = Request {
        kind: new.kind,
        format: new.format,
        filter: new.filter.clone(),
        time_zone: Some(tz.name().to_owned()),
        scope,
        schedule_id: None,
    };
    super::validate(db, &request).await?;
    let now = Utc::now();
    Ok(report_schedule::ActiveModel {
        account_id: Set(account_id),
        name: Set(name.to_owned()),
        kind: Set(new.kind.as_str().to_owned()),
        format: Set(new.format.extension().to_owned()),
        filter: Set(serde_json::to_string(&new.filter).unwrap_or_else(|_| "{}".into())),
        cron: Set(cron),
        time_zone: Set(tz.name().to_owned()),
        email_to: Set(new.email_to),
        webhook_url: Set(new.webhook_url),
        active: Set(true),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?)
}

/// Schedules, newest first; only `account_id`'s when given.
///
/// # Errors
/// Database errors.
pub async fn list(
    db: &DatabaseConnection,
    account_id: Option<i32>,
) -> Result<Vec<report_schedule::Model>, DbErr> {
    let mut select = report_schedule::Entity::find().order_by_desc(report_schedule::Column::Id);
    if let Some(a) = account_id {
        select = select.filter(report_schedule::Column::AccountId.eq(a));
    }
    select.all(db).await
}

/// One schedule.
///
/// # Errors
/// Database errors.
pub async fn find(
    db: &DatabaseConnection,
    id: i32,
) -> Result<Option<report_schedule::Model>, DbErr> {
    report_schedule::Entity::find_by_id(id).one(db).await
}

/// Deletes a schedule (its past jobs and files stay until their retention).
///
/// # Errors
/// Database errors.
pub async fn delete(db: &DatabaseConnection, id: i32) -> Result<bool, DbErr> {
    Ok(report_schedule::Entity::delete_by_id(id)
        .exec(db)
        .await?
        .rows_affected
        > 0)
}

/// When a schedule runs next.
pub fn next_run(s: &report_schedule::Model, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let tz: Tz = s.time_zone.parse().ok()?;
    crate::cron::next_run(&s.cron, now.with_timezone(&tz))
}

/// Whether a schedule's latest tick (at or before `now`, in its time zone)
/// is due — after its last run, with an active owner — and, if so, the
/// tick and the report to queue, scoped as the owner is now.
///
/// # Errors
/// Database errors, or a schedule whose stored zone, cron, kind, format or
/// filter cannot be read.
pub async fn due(
    db: &DatabaseConnection,
    s: &report_schedule::Model,
    now: DateTime<Utc>,
) -> anyhow::Result<Option<(DateTime<Utc>, Request)>> {
    let tz: Tz = s
        .time_zone
        .parse()
        .map_err(|_| anyhow::anyhow!("unknown time zone {:?}", s.time_zone))?;
    let (_, cron) = crate::cron::parse(&s.cron).map_err(anyhow::Error::msg)?;
    let Some(tick) = crate::cron::tick_at(&cron, now.with_timezone(&tz)) else {
        return Ok(None);
    };
    if tick <= s.last_run_at.unwrap_or(s.created_at) {
        return Ok(None);
    }
    let Some(owner) = account::Entity::find_by_id(s.account_id).one(db).await? else {
        return Ok(None);
    };
    if !owner.active {
        return Ok(None);
    }
    let scope = crate::auth::scopes::effective(db, owner.id, None).await?;
    let request = Request {
        kind: ReportKind::parse(&s.kind)?,
        format: Format::parse(&s.format)?,
        filter: serde_json::from_str(&s.filter)?,
        time_zone: Some(s.time_zone.clone()),
        scope: scope.team_ids().map(<[String]>::to_vec),
        schedule_id: Some(s.id),
    };
    Ok(Some((tick, request)))
}

/// Records that a schedule's tick was queued (as `job`, unless another
/// replica queued it first).
///
/// # Errors
/// Database errors.
pub async fn mark_queued(
    db: &DatabaseConnection,
    s: &report_schedule::Model,
    tick: DateTime<Utc>,
    job: Option<i32>,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let mut active: report_schedule::ActiveModel = s.clone().into();
    active.last_run_at = Set(Some(tick));
    if let Some(j) = job {
        active.last_job_id = Set(Some(j));
    }
    active.updated_at = Set(now);
    active.update(db).await?;
    Ok(())
}
