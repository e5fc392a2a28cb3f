//! What the metrics return.

use super::*;

/// What became of one service's incidents, by the definitions of
/// [`Analytics::summary`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ServiceOutcome {
    pub incidents: i64,
    pub acknowledged: i64,
    /// Incidents escalated at least once.
    pub escalated: i64,
    /// Escalations, all incidents together.
    pub escalations: i64,
    pub resolved: i64,
    /// Mean seconds from creation to acknowledgement, over the acknowledged.
    pub mtta: Option<f64>,
    /// Mean seconds from creation to resolution, over the resolved.
    pub mttr: Option<f64>,
}

/// Counts of the catalog a caller may see.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogCounts {
    pub services: i64,
    pub teams: i64,
    pub escalation_policies: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceCount {
    pub service_id: String,
    pub service_name: String,
    pub incidents: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusCount {
    pub status: String,
    pub category: String,
    pub incidents: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceStatusCounts {
    pub service_id: String,
    pub service_name: String,
    pub total: i64,
    pub statuses: Vec<StatusCount>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayCount {
    pub date: NaiveDate,
    pub incidents: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopService {
    pub service_id: String,
    pub service_name: String,
    pub total: i64,
    pub statuses: Vec<StatusCount>,
    /// Incidents per local day over the period (chart-ready, zeros kept).
    pub series: Vec<DayCount>,
}

/// Mean and nearest-rank percentiles of durations, in seconds.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Durations {
    pub count: i64,
    pub mean: Option<f64>,
    pub p50: Option<f64>,
    pub p90: Option<f64>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlagCount {
    pub flag: String,
    pub incidents: i64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub total: i64,
    pub acknowledged: i64,
    pub escalated: i64,
    pub resolved: i64,
    pub time_to_acknowledge: Durations,
    pub time_to_resolve: Durations,
    pub outside_business_hours: i64,
    pub flags: Vec<FlagCount>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CalendarDay {
    pub date: NaiveDate,
    pub incidents: i64,
    pub escalated: i64,
}

/// One bucket of a trend.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrendPoint {
    /// The bucket's first local day (clipped to the period).
    pub start: NaiveDate,
    pub incidents: i64,
    pub acknowledged: i64,
    pub escalated: i64,
    pub resolved: i64,
    /// Mean seconds to first acknowledgement (MTTA) in the bucket.
    pub mtta: Option<f64>,
    /// Mean seconds to resolve (MTTR) in the bucket.
    pub mttr: Option<f64>,
}
