//! What a refresh reads once and reuses: the policies, calendars and status
//! mapper (the context, kept across a sync's pages while its tables have not
//! changed), and the incidents to measure.

use super::*;

/// The columns of an incident the engine reads.
#[derive(Clone, Debug, DerivePartialModel)]
#[sea_orm(entity = "incident::Entity")]
pub(super) struct SlaIncident {
    pub(super) id: String,
    pub(super) status: String,
    pub(super) urgency: String,
    pub(super) priority_id: Option<String>,
    pub(super) service_id: Option<String>,
    pub(super) source: String,
    pub(super) last_status_change_at: Option<DateTime<Utc>>,
    pub(super) acknowledged_at: Option<DateTime<Utc>>,
    pub(super) resolved_at: Option<DateTime<Utc>>,
    pub(super) created_at: DateTime<Utc>,
    pub(super) updated_at: DateTime<Utc>,
}

/// What every incident of a refresh is measured against, read once.
pub struct Context {
    pub(super) policies: Vec<Policy>,
    pub(super) clocks: HashMap<i32, Clock>,
    pub(super) mapper: crate::incidents::status::Mapper,
    pub(super) priority_names: HashMap<String, String>,
    /// Service → its teams.
    pub(super) teams: HashMap<String, Vec<String>>,
}

impl Context {
    pub(super) async fn load<C: ConnectionTrait>(
        db: &C,
        settings: &SlaSettings,
    ) -> Result<Self, DbErr> {
        let mut teams: HashMap<String, Vec<String>> = HashMap::new();
        for st in service_team::Entity::find().all(db).await? {
            teams.entry(st.service_id).or_default().push(st.team_id);
        }
        Ok(Self {
            policies: load_policies(db).await?,
            clocks: load_clocks(db).await?,
            mapper: crate::incidents::status::Mapper::load(db, settings.status_field.as_deref())
                .await?,
            priority_names: priority::Entity::find()
                .all(db)
                .await?
                .into_iter()
                .map(|p| (p.id, p.name))
                .collect(),
            teams,
        })
    }
}

/// What a refresh reads of some incidents before it computes their targets.
#[derive(Default)]
pub(super) struct Loaded {
    pub(super) incidents: Vec<SlaIncident>,
    /// The value of the status field (automatic pauses), by incident.
    pub(super) status_values: HashMap<String, String>,
    /// Every pause, by incident.
    pub(super) pauses: HashMap<String, Vec<sla_pause::Model>>,
    /// The latest cycle of each target (indexed by [`Target::index`]), by
    /// incident; earlier cycles are closed history and never rewritten.
    pub(super) latest: HashMap<String, [Option<incident_sla_target::Model>; 2]>,
    /// The logged acknowledgements of the incidents in a later cycle.
    pub(super) acks: HashMap<String, Vec<DateTime<Utc>>>,
}

/// `IN` lists of at most this many incident ids.
pub(super) const LOAD_CHUNK: usize = 500;

/// Reads what a refresh of `ids` needs (missing and deleted incidents are
/// left out).
pub(super) async fn load<C: ConnectionTrait>(
    db: &C,
    status_field: Option<&str>,
    ids: &[String],
) -> Result<Loaded, DbErr> {
    use crate::entities::incident_custom_field_value as cf;
    let mut l = Loaded::default();
    for chunk in ids.chunks(LOAD_CHUNK) {
        let incidents: Vec<SlaIncident> = incident::Entity::find()
            .filter(incident::Column::Id.is_in(chunk.iter().cloned()))
            .filter(incident::Column::DeletedAt.is_null())
            .into_partial_model()
            .all(db)
            .await?;
        if let Some(field) = status_field {
            for v in cf::Entity::find()
                .filter(cf::Column::IncidentId.is_in(chunk.iter().cloned()))
                .filter(cf::Column::Name.eq(field))
                .all(db)
                .await?
            {
                if let Some(text) = v.value_text {
                    l.status_values.insert(v.incident_id, text);
                }
            }
        }
        for p in sla_pause::Entity::find()
            .filter(sla_pause::Column::IncidentId.is_in(chunk.iter().cloned()))
            .order_by_asc(sla_pause::Column::Id)
            .all(db)
            .await?
        {
            l.pauses.entry(p.incident_id.clone()).or_default().push(p);
        }
        for t in incident_sla_target::Entity::find()
            .filter(incident_sla_target::Column::IncidentId.is_in(chunk.iter().cloned()))
            .all(db)
            .await?
        {
            let Some(target) = Target::parse(&t.target) else {
                continue;
            };
            let slot = &mut l.latest.entry(t.incident_id.clone()).or_default()[target.index()];
            if slot.as_ref().is_none_or(|o| o.cycle < t.cycle) {
                *slot = Some(t);
            }
        }
        let later: Vec<String> = incidents
            .iter()
            .filter(|i| cycle_start(i, l.resolution_of(&i.id)).0 > 1)
            .map(|i| i.id.clone())
            .collect();
        if !later.is_empty() {
            for e in incident_log_entry::Entity::find()
                .filter(incident_log_entry::Column::IncidentId.is_in(later))
                .filter(incident_log_entry::Column::Kind.eq("acknowledge_log_entry"))
                .all(db)
                .await?
            {
                l.acks.entry(e.incident_id).or_default().push(e.created_at);
            }
        }
        l.incidents.extend(incidents);
    }
    Ok(l)
}

impl Loaded {
    pub(super) fn resolution_of(&self, id: &str) -> Option<&incident_sla_target::Model> {
        self.latest
            .get(id)
            .and_then(|t| t[Target::Resolution.index()].as_ref())
    }
}

/// The tables an SLA [`Context`] is read from.
pub(super) const CONTEXT_TABLES: [&str; 5] = [
    "sla_policies",
    "business_calendars",
    "status_mappings",
    "priorities",
    "service_teams",
];

/// One statement: the row count and latest `updated_at` of each of
/// [`CONTEXT_TABLES`], as text.
pub(super) static FINGERPRINT_SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    let parts: Vec<String> = CONTEXT_TABLES
        .iter()
        .map(|t| {
            format!(
                "(SELECT CAST(COUNT(*) AS TEXT) || '/' || \
                 COALESCE(CAST(MAX(updated_at) AS TEXT), '') FROM {t})"
            )
        })
        .collect();
    format!("SELECT {} AS f", parts.join(" || ';' || "))
});

/// A [`Context`] kept between refreshes with the fingerprint of the tables
/// it was read from: their row counts and latest `updated_at`. Every writer
/// of those tables stamps `updated_at`; a deletion changes the count.
#[derive(Default)]
pub struct ContextCache {
    pub(super) held: Option<(String, Context)>,
}

impl ContextCache {
    pub(super) async fn get<C: ConnectionTrait>(
        &mut self,
        db: &C,
        settings: &SlaSettings,
    ) -> Result<&Context, DbErr> {
        let fingerprint: String = db
            .query_one_raw(sea_orm::Statement::from_string(
                db.get_database_backend(),
                FINGERPRINT_SQL.as_str(),
            ))
            .await?
            .ok_or_else(|| DbErr::RecordNotFound("the SLA context fingerprint".into()))?
            .try_get("", "f")?;
        let held = match self.held.take() {
            Some((held, cx)) if held == fingerprint => (held, cx),
            // Read after the fingerprint: a change committed in between
            // makes the next fingerprint differ, and the context is read
            // again.
            _ => (fingerprint, Context::load(db, settings).await?),
        };
        Ok(&self.held.insert(held).1)
    }
}
