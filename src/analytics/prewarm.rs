//! The standard dashboard set, computed ahead so those questions answer
//! from the cache: for everything and for every live service, the 7, 30
//! and 90-day summaries, this and last month's calendars, and the 90-day
//! daily trends, all in the reporting time zone and for unscoped callers
//! (a caller limited to some teams asks other questions, computed on
//! demand).

use chrono::{DateTime, Datelike, Utc};
use chrono_tz::Tz;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::metrics::{Analytics, Granularity};
use super::{AnalyticsError, Answer, Params, Target};
use crate::cache::Cache;
use crate::entities::service;
use crate::scope::Scope;
use crate::tz;

/// Days of the prewarmed summaries.
pub const SUMMARY_DAYS: [i64; 3] = [7, 30, 90];
/// Days of the prewarmed trends.
pub const TREND_DAYS: i64 = 90;

/// What a prewarm did.
#[derive(Debug, Default, serde::Serialize)]
pub struct Prewarmed {
    pub targets: usize,
    pub entries: usize,
}

/// Computes and stores the standard set. `progress(done, total)` is
/// called after each target; `cancelled()` stops between targets.
///
/// # Errors
/// Database errors.
pub async fn run(
    analytics: &Analytics,
    cache: &Cache,
    tz: Tz,
    now: DateTime<Utc>,
    progress: impl Fn(usize, usize),
    cancelled: impl Fn() -> bool,
) -> Result<Prewarmed, AnalyticsError> {
    let mut targets = vec![Target::All];
    targets.extend(
        service::Entity::find()
            .select_only()
            .column(service::Column::Id)
            .filter(service::Column::DeletedAt.is_null())
            .order_by_asc(service::Column::Id)
            .into_tuple::<String>()
            .all(&analytics.db)
            .await?
            .into_iter()
            .map(Target::Service),
    );
    let today = tz::local_date(tz, now);
    let this_month = tz::month_start(today);
    let last_month = tz::month_start(this_month - chrono::Duration::days(1));
    let total = targets.len();
    let mut done = Prewarmed::default();
    for (i, target) in targets.into_iter().enumerate() {
        if cancelled() {
            break;
        }
        let service = target.service().map(str::to_owned);
        let service = service.as_deref();
        for days in SUMMARY_DAYS {
            let p = Params::last_days(target.clone(), days, now, tz, Scope::All)?;
            cache
                .refresh(
                    &p.cache_key(Answer::Summary),
                    Answer::Summary.name(),
                    service,
                    || analytics.summary(&p),
                )
                .await?;
            done.entries += 1;
        }
        for month in [this_month, last_month] {
            let p = Params::month(target.clone(), month.year(), month.month(), tz, Scope::All)?;
            cache
                .refresh(
                    &p.cache_key(Answer::Calendar),
                    Answer::Calendar.name(),
                    service,
                    || analytics.calendar(&p),
                )
                .await?;
            done.entries += 1;
        }
        let p = Params::last_days(target.clone(), TREND_DAYS, now, tz, Scope::All)?;
        let g = Granularity::Day;
        cache
            .refresh(
                &p.cache_key(Answer::Trends(g)),
                Answer::Trends(g).name(),
                service,
                || analytics.trends(&p, g),
            )
            .await?;
        done.entries += 1;
        done.targets += 1;
        progress(i + 1, total);
    }
    Ok(done)
}
