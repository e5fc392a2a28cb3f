//! The SLA engine. Every incident gets two targets: *response* (time to the
//! first explicit acknowledgement) and *resolution* (time to resolve), each
//! measured by the most specific matching policy, around the clock or in a
//! business-hours calendar, with pauses taken out.
//!
//! - [`refresh`] (re)computes the targets of some incidents: the sync calls it
//!   for exactly the incidents a page changed, in the page's transaction;
//!   pauses, resumes and policy changes call it too. Closed targets keep the
//!   policy they were measured by unless a recompute is asked for.
//! - [`check`] is the periodic breach check: one conditional `UPDATE …
//!   RETURNING` marks every overdue target breached and one more marks every
//!   warning crossing; only the statement that changed a row writes its
//!   notification into the outbox, so two servers checking at once notify
//!   once.
//! - [`pause`] and [`resume`] keep every pause as history.
//!
//! The clock arithmetic is pure code in [`clock`] and [`calendar`]; the
//! engine is one file per job: `policy` (which policy, which deadline),
//! `context` (what a refresh reads once), `refresh` (measuring and writing
//! targets), `check`, `pauses`, `queries`, `admin` (policies and calendars)
//! and `recompute`.

pub mod calendar;
pub mod clock;

mod admin;
mod check;
mod context;
mod pauses;
mod policy;
mod queries;
mod recompute;
mod refresh;

pub use admin::*;
pub use check::*;
pub use context::*;
pub use pauses::*;
pub use policy::*;
pub use queries::*;
pub use recompute::*;
pub use refresh::*;

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc, Weekday};
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection,
    DatabaseTransaction, DbErr, DerivePartialModel, EntityTrait, IntoActiveModel, QueryFilter,
    QueryOrder, Set, TransactionSession, TransactionTrait,
};
use serde_json::json;

use crate::config::SlaSettings;
use crate::entities::{
    business_calendar, incident, incident_log_entry, incident_sla_target, notification, priority,
    service_team, sla_event, sla_pause, sla_policy,
};
use crate::scope::Scope;
use calendar::BusinessCalendar;
use clock::{Clock, Pause};

/// The two targets of an incident.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Target {
    Response,
    Resolution,
}

impl Target {
    pub const ALL: [Target; 2] = [Target::Response, Target::Resolution];

    pub fn as_str(self) -> &'static str {
        match self {
            Target::Response => "response",
            Target::Resolution => "resolution",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// The target's place in [`Target::ALL`].
    pub fn index(self) -> usize {
        match self {
            Target::Response => 0,
            Target::Resolution => 1,
        }
    }
}

/// A target's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum State {
    Active,
    Paused,
    Met,
    Breached,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Active => "ACTIVE",
            State::Paused => "PAUSED",
            State::Met => "MET",
            State::Breached => "BREACHED",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [State::Active, State::Paused, State::Met, State::Breached]
            .into_iter()
            .find(|v| v.as_str() == s)
    }
}

/// The reason of an automatic pause starts with this (what tells it from a
/// person's is `sla_pauses.automatic`).
pub const WAITING_REASON: &str = "waiting: ";

#[derive(Debug, thiserror::Error)]
pub enum SlaError {
    #[error("{0}")]
    BadInput(String),
    #[error("{0}")]
    NotFound(String),
    #[error(transparent)]
    Db(#[from] DbErr),
    /// A recompute told to stop: the batches done before stand.
    #[error("stopped after {done} incident(s), {written} target(s) written")]
    Stopped { done: usize, written: usize },
}
