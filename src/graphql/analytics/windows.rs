//! Interruption windows (see `crate::windows`): the sets in force, and the
//! admin mutations that set them globally or for a team.

use super::*;
use crate::entities::{business_calendar, team};
use crate::incidents::facts::Windows;
use crate::windows::{WindowRule, WindowSet};
use sea_orm::EntityTrait;

/// An interruption window.
#[derive(Enum, Clone, Copy, PartialEq, Eq, Debug)]
pub enum InterruptionWindowKind {
    Business,
    Off,
    Sleep,
}

/// A day of the week.
#[derive(Enum, Clone, Copy, PartialEq, Eq, Debug)]
pub enum DayOfWeek {
    Monday,
    Tuesday,
    Wednesday,
    Thursday,
    Friday,
    Saturday,
    Sunday,
}

/// One rule: a window on some days between two local times (an end not
/// after the start runs past midnight; `24:00` ends the day).
#[derive(InputObject)]
pub struct InterruptionWindowRuleInput {
    pub window: InterruptionWindowKind,
    pub days: Vec<DayOfWeek>,
    /// `HH:MM`.
    pub from: String,
    /// `HH:MM` or `24:00`.
    pub to: String,
}

/// A rule as stored.
#[derive(SimpleObject)]
pub struct InterruptionWindowRule {
    pub window: String,
    pub days: Vec<String>,
    pub from: String,
    pub to: String,
}

/// A set of interruption windows and where it applies.
#[derive(SimpleObject)]
pub struct InterruptionWindowSet {
    /// `pagerduty` (PagerDuty's fixed windows), `configured`
    /// (`PAGERLENS_INTERRUPTION_WINDOWS`), `global` (an admin's), or
    /// `team:ID`.
    pub label: String,
    /// The team whose members it counts, for a team's set.
    pub team_id: Option<ID>,
    /// The set users without a team set are counted in.
    pub default: bool,
    pub rules: Vec<InterruptionWindowRule>,
    /// A business calendar whose holidays count as off hours.
    pub calendar_id: Option<i32>,
    /// The set in a line.
    pub description: String,
}

fn sets_of(w: &Windows) -> Vec<InterruptionWindowSet> {
    let default = w.label_of("");
    w.sets
        .iter()
        .map(|(label, set)| InterruptionWindowSet {
            label: label.clone(),
            team_id: label.strip_prefix("team:").map(|t| ID(t.to_owned())),
            default: label == default,
            rules: set
                .rules
                .iter()
                .map(|r| InterruptionWindowRule {
                    window: r.window.to_uppercase(),
                    days: r.days.clone(),
                    from: r.from.clone(),
                    to: r.to.clone(),
                })
                .collect(),
            calendar_id: set.calendar_id,
            description: set.describe(),
        })
        .collect()
}

async fn windows_in_force(ctx: &Context<'_>) -> async_graphql::Result<Windows> {
    Windows::load(&engine(ctx).db, &config(ctx).analytics.facts.windows)
        .await
        .api()
}

/// Re-derives the facts the change made stale, in the background, then
/// drops the cached answers built on the old ones.
fn rederive(ctx: &Context<'_>) {
    let db = engine(ctx).db.clone();
    let settings = config(ctx).analytics.facts.clone();
    let cache = ctx.data_unchecked::<Arc<Cache>>().clone();
    tokio::spawn(async move {
        match crate::incidents::facts::refresh_stale(&db, &settings, Utc::now()).await {
            Ok(n) => {
                tracing::info!(
                    incidents = n,
                    "analytics facts re-derived for new interruption windows"
                );
                if let Err(e) = cache.invalidate_all().await {
                    tracing::error!(error = %e, "dropping cached analytics failed");
                }
            }
            Err(e) => tracing::error!(error = %e, "re-deriving analytics facts failed"),
        }
    });
}

#[derive(Default)]
pub struct WindowsQuery;

#[Object]
impl WindowsQuery {
    /// The interruption window sets in force: PagerDuty's, the configured
    /// or global one, and the teams' (docs/metrics.md).
    async fn interruption_windows(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<InterruptionWindowSet>> {
        caller(ctx)?;
        Ok(sets_of(&windows_in_force(ctx).await?))
    }
}

#[derive(Default)]
pub struct WindowsMutation;

#[Object]
impl WindowsMutation {
    /// Sets the interruption windows of a team, or (without `teamId`) the
    /// global ones (admins). The rules must cover every minute of the week
    /// once. Every incident's facts are then derived again in the
    /// background; `Incident.analytics.interruptionWindows` names the sets
    /// each was counted in.
    #[graphql(guard = "RoleGuard(Role::Admin)")]
    async fn set_interruption_windows(
        &self,
        ctx: &Context<'_>,
        team_id: Option<ID>,
        rules: Vec<InterruptionWindowRuleInput>,
        calendar_id: Option<i32>,
    ) -> async_graphql::Result<Vec<InterruptionWindowSet>> {
        let who = caller(ctx)?;
        let db = &engine(ctx).db;
        let rules: Vec<WindowRule> = rules
            .into_iter()
            .map(|r| WindowRule {
                window: format!("{:?}", r.window).to_uppercase(),
                days: r
                    .days
                    .into_iter()
                    .map(|d| format!("{d:?}").to_lowercase())
                    .collect(),
                from: r.from,
                to: r.to,
            })
            .collect();
        WindowSet::new(rules.clone()).map_err(|e| ApiError::bad_input(e.to_string()).extend())?;
        if let Some(t) = &team_id
            && team::Entity::find_by_id(t.to_string())
                .one(db)
                .await
                .api()?
                .is_none()
        {
            return Err(ApiError::bad_input(format!("teamId: no team {:?}", t.as_str())).extend());
        }
        if let Some(c) = calendar_id
            && business_calendar::Entity::find_by_id(c)
                .one(db)
                .await
                .api()?
                .is_none()
        {
            return Err(
                ApiError::bad_input(format!("calendarId: no business calendar {c}")).extend(),
            );
        }
        Windows::save(
            db,
            team_id.map(|t| t.to_string()),
            &rules,
            calendar_id,
            who.account.id,
            Utc::now(),
        )
        .await
        .api()?;
        rederive(ctx);
        Ok(sets_of(&windows_in_force(ctx).await?))
    }

    /// Removes a team's interruption windows, or (without `teamId`) the
    /// global ones (admins); false when there were none.
    #[graphql(guard = "RoleGuard(Role::Admin)")]
    async fn delete_interruption_windows(
        &self,
        ctx: &Context<'_>,
        team_id: Option<ID>,
    ) -> async_graphql::Result<bool> {
        let db = &engine(ctx).db;
        let deleted = Windows::delete(db, team_id.map(|t| t.to_string()))
            .await
            .api()?;
        if deleted {
            rederive(ctx);
        }
        Ok(deleted)
    }
}
