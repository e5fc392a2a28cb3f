//! The interruption window sets in force (see [`crate::windows`]): loaded
//! with their calendars' holidays and the team memberships they apply
//! through.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    Set,
};

use crate::entities::{business_calendar, interruption_window_set, team_member};
use crate::tz::Window;
use crate::windows::{WindowError, WindowRule, WindowSet};

/// The window sets in force: the team sets, the global one, and which set
/// each user is counted in.
#[derive(Clone, Debug)]
pub struct Windows {
    /// Label → set: `pagerduty`, `global`, `team:ID`.
    pub sets: BTreeMap<String, WindowSet>,
    /// User → label, for users in a team with a set.
    by_user: HashMap<String, String>,
    global: String,
}

impl Windows {
    /// Loads the sets (and their calendars' holidays) and the team
    /// memberships they apply through. `configured` is
    /// `PAGERLENS_INTERRUPTION_WINDOWS`.
    ///
    /// # Errors
    /// Database errors; a stored set that no longer checks (never written
    /// so) is an error too.
    pub async fn load<C: ConnectionTrait>(
        db: &C,
        configured: &[WindowRule],
    ) -> Result<Self, DbErr> {
        let bad = |e: WindowError| DbErr::Custom(format!("a stored interruption window set: {e}"));
        let calendars: HashMap<i32, BTreeSet<NaiveDate>> = business_calendar::Entity::find()
            .all(db)
            .await?
            .into_iter()
            .map(|c| {
                let days: Vec<NaiveDate> = serde_json::from_str(&c.holidays).unwrap_or_default();
                (c.id, days.into_iter().collect())
            })
            .collect();
        let mut sets = BTreeMap::new();
        let mut global = "pagerduty".to_owned();
        sets.insert("pagerduty".to_owned(), WindowSet::pagerduty());
        if !configured.is_empty() {
            sets.insert(
                "configured".into(),
                WindowSet::new(configured.to_vec()).map_err(bad)?,
            );
            global = "configured".into();
        }
        let mut teams = Vec::new();
        for row in interruption_window_set::Entity::find()
            .order_by_asc(interruption_window_set::Column::Id)
            .all(db)
            .await?
        {
            let rules: Vec<WindowRule> = serde_json::from_str(&row.rules)
                .map_err(|e| DbErr::Custom(format!("stored window rules: {e}")))?;
            let mut set = WindowSet::new(rules).map_err(bad)?;
            if let Some(c) = row.calendar_id {
                set.calendar_id = Some(c);
                set.holidays = calendars.get(&c).cloned().unwrap_or_default();
            }
            let label = match &row.team_id {
                None => {
                    global = "global".into();
                    "global".to_owned()
                }
                Some(t) => {
                    teams.push(t.clone());
                    format!("team:{t}")
                }
            };
            sets.insert(label, set);
        }
        let mut by_user = HashMap::new();
        if !teams.is_empty() {
            let mut members = team_member::Entity::find()
                .order_by_asc(team_member::Column::TeamId)
                .all(db)
                .await?;
            members.retain(|m| teams.contains(&m.team_id));
            for m in members {
                by_user
                    .entry(m.user_id)
                    .or_insert_with(|| format!("team:{}", m.team_id));
            }
        }
        Ok(Self {
            sets,
            by_user,
            global,
        })
    }

    /// Stores an admin's set for a team (or, without one, the global set),
    /// replacing the one there. The rules are checked by the caller.
    ///
    /// # Errors
    /// Database errors only.
    pub async fn save<C: ConnectionTrait>(
        db: &C,
        team: Option<String>,
        rules: &[WindowRule],
        calendar_id: Option<i32>,
        account_id: i32,
        now: DateTime<Utc>,
    ) -> Result<(), DbErr> {
        let text = serde_json::to_string(rules).map_err(|e| DbErr::Custom(e.to_string()))?;
        let existing = interruption_window_set::Entity::find()
            .filter(Self::of_team(team.as_deref()))
            .one(db)
            .await?;
        match existing {
            Some(row) => {
                let mut a: interruption_window_set::ActiveModel = row.into();
                a.rules = Set(text);
                a.calendar_id = Set(calendar_id);
                a.updated_by_account_id = Set(Some(account_id));
                a.updated_at = Set(now);
                a.update(db).await?;
            }
            None => {
                interruption_window_set::ActiveModel {
                    team_id: Set(team),
                    rules: Set(text),
                    calendar_id: Set(calendar_id),
                    updated_by_account_id: Set(Some(account_id)),
                    created_at: Set(now),
                    updated_at: Set(now),
                    ..Default::default()
                }
                .insert(db)
                .await?;
            }
        }
        Ok(())
    }

    /// Removes a team's set (or the global one); false when there was none.
    ///
    /// # Errors
    /// Database errors only.
    pub async fn delete<C: ConnectionTrait>(db: &C, team: Option<String>) -> Result<bool, DbErr> {
        Ok(interruption_window_set::Entity::delete_many()
            .filter(Self::of_team(team.as_deref()))
            .exec(db)
            .await?
            .rows_affected
            > 0)
    }

    fn of_team(team: Option<&str>) -> sea_orm::Condition {
        use interruption_window_set::Column as C;
        sea_orm::Condition::all().add(match team {
            Some(t) => C::TeamId.eq(t),
            None => C::TeamId.is_null(),
        })
    }

    /// The label of the set a user is counted in.
    pub fn label_of(&self, user: &str) -> &str {
        self.by_user
            .get(user)
            .map_or(self.global.as_str(), String::as_str)
    }

    /// The window of an instant for a user in `tz`.
    pub fn window_of(&self, user: &str, tz: Tz, t: DateTime<Utc>) -> Window {
        let set = self
            .sets
            .get(self.label_of(user))
            .or_else(|| self.sets.get("pagerduty"))
            .expect("PagerDuty's set is always there");
        set.window_at(tz, t)
    }

    /// A fingerprint of everything the windows depend on (for the facts'
    /// version).
    pub fn fingerprint(&self) -> String {
        use sha2::Digest;
        let mut h = sha2::Sha256::new();
        for (label, set) in &self.sets {
            h.update(label.as_bytes());
            h.update(set.describe().as_bytes());
            for d in &set.holidays {
                h.update(d.to_string().as_bytes());
            }
        }
        let mut users: Vec<_> = self.by_user.iter().collect();
        users.sort();
        for (u, l) in users {
            h.update(u.as_bytes());
            h.update(l.as_bytes());
        }
        hex::encode(&h.finalize()[..8])
    }

    /// What answers say they used: only PagerDuty's, or each set in force.
    pub fn describe(&self) -> String {
        if self.sets.len() == 1 {
            return format!(
                "PagerDuty's, in each notified user's time zone: {}",
                WindowSet::pagerduty().describe()
            );
        }
        let mut parts = vec![format!(
            "in each notified user's time zone; by default ({}): {}",
            self.global,
            self.sets[&self.global].describe()
        )];
        for (label, set) in &self.sets {
            if let Some(team) = label.strip_prefix("team:") {
                parts.push(format!("members of {team}: {}", set.describe()));
            }
        }
        parts.join(" | ")
    }
}
