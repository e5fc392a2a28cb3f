//! SLA policies and business calendars: their objects and inputs.

use super::*;

/// An SLA policy.
pub struct SlaPolicy(pub sla_policy::Model);

#[Object]
impl SlaPolicy {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// PagerDuty priority names it matches (null: any).
    async fn priority_names(&self) -> Option<Vec<String>> {
        self.0
            .priority_names
            .as_ref()
            .map(|p| p.split(',').map(str::to_owned).collect())
    }
    async fn urgency(&self) -> Option<&str> {
        self.0.urgency.as_deref()
    }
    async fn service_id(&self) -> Option<ID> {
        self.0.service_id.clone().map(ID)
    }
    async fn team_id(&self) -> Option<ID> {
        self.0.team_id.clone().map(ID)
    }
    async fn response_target_seconds(&self) -> i64 {
        self.0.response_target_secs
    }
    async fn resolution_target_seconds(&self) -> i64 {
        self.0.resolution_target_secs
    }
    /// Business-hours calendar (null: around the clock).
    async fn calendar_id(&self) -> Option<ID> {
        self.0.calendar_id.map(|c| ID(c.to_string()))
    }
}

/// A policy to create or replace. Conditions left null match anything; the
/// most specific matching policy wins (ties: the oldest).
#[derive(InputObject)]
pub struct SlaPolicyInput {
    pub name: String,
    pub priority_names: Option<Vec<String>>,
    pub urgency: Option<String>,
    pub service_id: Option<ID>,
    pub team_id: Option<ID>,
    pub response_target_seconds: i64,
    pub resolution_target_seconds: i64,
    pub calendar_id: Option<ID>,
}

impl SlaPolicyInput {
    pub(super) fn into_domain(self) -> async_graphql::Result<sla::PolicyInput> {
        Ok(sla::PolicyInput {
            name: self.name,
            priority_names: self.priority_names,
            urgency: self.urgency,
            service_id: self.service_id.map(|i| i.0),
            team_id: self.team_id.map(|i| i.0),
            response_target_secs: self.response_target_seconds,
            resolution_target_secs: self.resolution_target_seconds,
            calendar_id: self.calendar_id.as_ref().map(parse_int).transpose()?,
        })
    }
}

/// A business-hours calendar: a time zone, weekly working hours and
/// holidays. A policy with a calendar counts business time only.
pub struct BusinessCalendar(pub business_calendar::Model);

/// Working windows of one weekday.
#[derive(SimpleObject, InputObject)]
#[graphql(input_name = "WeeklyHoursInput")]
pub struct WeeklyHours {
    /// `mon`, `tue`, `wed`, `thu`, `fri`, `sat` or `sun`.
    pub day: String,
    /// `HH:MM-HH:MM` windows, local time.
    pub windows: Vec<String>,
}

#[Object]
impl BusinessCalendar {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// IANA time zone.
    async fn time_zone(&self) -> &str {
        &self.0.time_zone
    }
    async fn weekly_hours(&self) -> Vec<WeeklyHours> {
        let map: std::collections::BTreeMap<String, Vec<String>> =
            serde_json::from_str(&self.0.weekly_hours).unwrap_or_default();
        let order = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
        let mut days: Vec<WeeklyHours> = map
            .into_iter()
            .map(|(day, windows)| WeeklyHours { day, windows })
            .collect();
        days.sort_by_key(|d| order.iter().position(|o| *o == d.day).unwrap_or(7));
        days
    }
    /// Local dates without working hours.
    async fn holidays(&self) -> Vec<chrono::NaiveDate> {
        serde_json::from_str(&self.0.holidays).unwrap_or_default()
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

#[derive(InputObject)]
pub struct BusinessCalendarInput {
    pub name: String,
    /// IANA time zone, such as Europe/Paris.
    pub time_zone: String,
    /// Days not listed have no working hours.
    pub weekly_hours: Vec<WeeklyHours>,
    #[graphql(default)]
    pub holidays: Vec<chrono::NaiveDate>,
}

impl From<BusinessCalendarInput> for sla::CalendarInput {
    fn from(i: BusinessCalendarInput) -> Self {
        Self {
            name: i.name,
            time_zone: i.time_zone,
            weekly_hours: i
                .weekly_hours
                .into_iter()
                .map(|w| (w.day, w.windows))
                .collect(),
            holidays: i.holidays,
        }
    }
}

pub(super) fn parse_int(id: &ID) -> async_graphql::Result<i32> {
    id.parse::<i32>()
        .map_err(|_| ApiError::bad_input(format!("{:?} is not a valid id", id.0)))
        .api()
}
