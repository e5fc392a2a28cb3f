//! The result cache: analytics answers kept in the database with a TTL,
//! keyed by query and parameters, shared by every replica.
//!
//! - [`Cache::get_or_compute`] answers from a fresh entry or computes,
//!   stores and answers. A failing store never fails the answer.
//! - [`Invalidation`]: whoever changes incidents (a sync, a webhook, a local
//!   edit) tells the event bus, and this hook deletes the entries of their
//!   services and every entry that spans several services, in the same
//!   transaction.
//! - [`Cache::fetch_or_cached`] is for live PagerDuty look-ups: a fresh
//!   entry answers; otherwise PagerDuty is asked; when it is down (5xx,
//!   timeouts) the last good value answers, marked stale, and after a 503
//!   nobody asks again until a cooldown has passed.

use std::future::Future;
use std::sync::Mutex;
use std::time::Instant;

use chrono::{DateTime, Duration, SubsecRound, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ColumnTrait, Condition, DatabaseConnection, DbBackend, DbErr, EntityTrait, QueryFilter,
    QueryTrait, Set, Statement,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::entities::{analytics_cache as row, incident};

/// Drops the cached analytics that depend on changed incidents — the
/// entries of their services and every entry spanning several services —
/// in the transaction that changes them (hooked on the event bus, so the
/// writers never call the cache).
pub struct Invalidation;

impl crate::events::OnIncidentsChanged for Invalidation {
    fn statements(&self, backend: DbBackend, ids: &[String]) -> Vec<Statement> {
        // One statement per 500 incidents: their services are looked up in
        // a subquery.
        ids.chunks(500)
            .map(|chunk| {
                let services = sea_orm::sea_query::Query::select()
                    .column(incident::Column::ServiceId)
                    .from(incident::Entity)
                    .and_where(incident::Column::Id.is_in(chunk.to_vec()))
                    .to_owned();
                row::Entity::delete_many()
                    .filter(
                        Condition::any()
                            .add(row::Column::ServiceId.is_null())
                            .add(row::Column::ServiceId.in_subquery(services)),
                    )
                    .filter(row::Column::Query.not_like("live:%"))
                    .build(backend)
            })
            .collect()
    }
}

/// An answer and where it came from.
#[derive(Clone, Debug)]
pub struct Cached<T> {
    pub value: T,
    /// When the value was computed (or fetched).
    pub generated_at: DateTime<Utc>,
    /// Served from the cache rather than computed for this request.
    pub from_cache: bool,
    /// Past its TTL, served because the source could not answer.
    pub stale: bool,
}

/// What a live source's failure means here: whether the source is
/// unavailable (answer from the cache, marked stale), and whether it said
/// so outright (503: ask it again only after a cooldown).
pub trait Availability: std::error::Error {
    fn unavailable(&self) -> bool;
    fn service_unavailable(&self) -> bool;
}

/// Why a live look-up has no answer. `E` is the source's own error.
#[derive(Debug, thiserror::Error)]
pub enum LiveError<E: std::error::Error + 'static> {
    #[error("the source is unavailable and nothing is cached yet")]
    Unavailable(#[source] E),
    #[error("the source is cooling down after a 503 and nothing is cached yet; try again in {0} s")]
    CoolingDown(u64),
    #[error(transparent)]
    Upstream(E),
    /// Outside the caller's team scope (reads as not found).
    #[error("{0}")]
    Hidden(String),
    #[error(transparent)]
    Db(#[from] DbErr),
}

#[derive(Debug)]
pub struct Cache {
    db: DatabaseConnection,
    ttl: Duration,
    cooldown: std::time::Duration,
    cooling_until: Mutex<Option<Instant>>,
}

impl Cache {
    pub fn new(db: DatabaseConnection, ttl: Duration, cooldown: std::time::Duration) -> Self {
        Self {
            db,
            ttl,
            cooldown,
            cooling_until: Mutex::new(None),
        }
    }

    /// With the TTL and cooldown of the analytics settings.
    pub fn from_settings(
        db: DatabaseConnection,
        settings: &crate::config::AnalyticsSettings,
    ) -> Self {
        Self::new(
            db,
            settings.cache_ttl,
            settings
                .live_cooldown
                .to_std()
                .unwrap_or(std::time::Duration::from_secs(60)),
        )
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    async fn read<T: DeserializeOwned>(&self, key: &str) -> Result<Option<(row::Model, T)>, DbErr> {
        let Some(m) = row::Entity::find_by_id(key.to_owned())
            .one(&self.db)
            .await?
        else {
            return Ok(None);
        };
        match serde_json::from_str::<T>(&m.value) {
            Ok(v) => Ok(Some((m, v))),
            // Written by another version: recompute.
            Err(_) => Ok(None),
        }
    }

    /// Stores a value (replacing any entry with the key).
    ///
    /// # Errors
    /// Database errors.
    pub async fn put<T: Serialize>(
        &self,
        key: &str,
        query: &str,
        service: Option<&str>,
        value: &T,
        generated_at: DateTime<Utc>,
        ttl: Duration,
    ) -> Result<(), DbErr> {
        let json = serde_json::to_string(value).map_err(|e| DbErr::Custom(e.to_string()))?;
        let now = Utc::now();
        let model = row::ActiveModel {
            key: Set(key.to_owned()),
            query: Set(query.to_owned()),
            service_id: Set(service.map(str::to_owned)),
            value: Set(json),
            generated_at: Set(generated_at),
            expires_at: Set(generated_at + ttl),
            created_at: Set(now),
            updated_at: Set(now),
        };
        row::Entity::insert(model)
            .on_conflict(
                OnConflict::column(row::Column::Key)
                    .update_columns([
                        row::Column::Query,
                        row::Column::ServiceId,
                        row::Column::Value,
                        row::Column::GeneratedAt,
                        row::Column::ExpiresAt,
                        row::Column::UpdatedAt,
                    ])
                    .to_owned(),
            )
            .exec(&self.db)
            .await?;
        Ok(())
    }

    /// A fresh cached value, or `compute`'s (stored for next time).
    ///
    /// # Errors
    /// `compute`'s error; a cache read or write failure is logged and the
    /// value computed regardless.
    pub async fn get_or_compute<T, E, F, Fut>(
        &self,
        key: &str,
        query: &str,
        service: Option<&str>,
        compute: F,
    ) -> Result<Cached<T>, E>
    where
        T: Serialize + DeserializeOwned,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let now = Utc::now();
        match self.read::<T>(key).await {
            Ok(Some((m, value))) if m.expires_at > now => {
                metrics::counter!(crate::telemetry::metrics::CACHE_LOOKUPS, "result" => "hit")
                    .increment(1);
                return Ok(Cached {
                    value,
                    generated_at: m.generated_at,
                    from_cache: true,
                    stale: false,
                });
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, key, "analytics cache read failed; computing"),
        }
        metrics::counter!(crate::telemetry::metrics::CACHE_LOOKUPS, "result" => "miss")
            .increment(1);
        let value = compute().await?;
        let generated_at = Utc::now().trunc_subsecs(6);
        if let Err(e) = self
            .put(key, query, service, &value, generated_at, self.ttl)
            .await
        {
            tracing::warn!(error = %e, key, "analytics cache write failed");
        }
        Ok(Cached {
            value,
            generated_at,
            from_cache: false,
            stale: false,
        })
    }

    /// Computes and stores a value whatever the cache holds (prewarming).
    ///
    /// # Errors
    /// `compute`'s error or the store's.
    pub async fn refresh<T, E, F, Fut>(
        &self,
        key: &str,
        query: &str,
        service: Option<&str>,
        compute: F,
    ) -> Result<(), E>
    where
        T: Serialize,
        E: From<DbErr>,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let value = compute().await?;
        self.put(
            key,
            query,
            service,
            &value,
            Utc::now().trunc_subsecs(6),
            self.ttl,
        )
        .await?;
        Ok(())
    }

    /// Deletes every analytics entry (live look-ups are kept: they are the
    /// fallback when PagerDuty is down).
    ///
    /// # Errors
    /// Database errors.
    pub async fn invalidate_all(&self) -> Result<u64, DbErr> {
        Ok(row::Entity::delete_many()
            .filter(row::Column::Query.not_like("live:%"))
            .exec(&self.db)
            .await?
            .rows_affected)
    }

    /// Deletes entries expired before `before` (the retention job).
    ///
    /// # Errors
    /// Database errors.
    pub async fn purge_expired(&self, before: DateTime<Utc>) -> Result<u64, DbErr> {
        Ok(row::Entity::delete_many()
            .filter(row::Column::ExpiresAt.lt(before))
            .exec(&self.db)
            .await?
            .rows_affected)
    }

    fn cooling_down(&self) -> Option<std::time::Duration> {
        let until = (*self.cooling_until.lock().expect("cooldown lock"))?;
        until.checked_duration_since(Instant::now())
    }

    /// A live look-up through the cache (see the module docs).
    /// `query` names the look-up (stored as `live:<query>`).
    ///
    /// # Errors
    /// PagerDuty's refusal (4xx), or unavailability with nothing cached.
    pub async fn fetch_or_cached<T, E, F, Fut>(
        &self,
        key: &str,
        query: &str,
        ttl: Duration,
        fetch: F,
    ) -> Result<Cached<T>, LiveError<E>>
    where
        T: Serialize + DeserializeOwned,
        E: Availability + 'static,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let key = format!("live:{key}");
        let now = Utc::now();
        let cached = match self.read::<T>(&key).await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, key, "live cache read failed");
                None
            }
        };
        let lookup = |result: &'static str| {
            metrics::counter!(crate::telemetry::metrics::CACHE_LOOKUPS, "result" => result)
                .increment(1);
        };
        let stale = |c: Option<(row::Model, T)>| {
            // Only an answer served counts; none left is an error, not a look-up.
            if c.is_some() {
                lookup("stale");
            }
            c.map(|(m, value)| Cached {
                value,
                generated_at: m.generated_at,
                from_cache: true,
                stale: true,
            })
        };
        if let Some((m, _)) = &cached
            && m.expires_at > now
        {
            let (m, value) = cached.expect("checked");
            lookup("hit");
            return Ok(Cached {
                value,
                generated_at: m.generated_at,
                from_cache: true,
                stale: false,
            });
        }
        if let Some(left) = self.cooling_down() {
            return stale(cached).ok_or(LiveError::CoolingDown(left.as_secs().max(1)));
        }
        lookup("miss");
        match fetch().await {
            Ok(value) => {
                let generated_at = Utc::now().trunc_subsecs(6);
                if let Err(e) = self
                    .put(
                        &key,
                        &format!("live:{query}"),
                        None,
                        &value,
                        generated_at,
                        ttl,
                    )
                    .await
                {
                    tracing::warn!(error = %e, key, "live cache write failed");
                }
                *self.cooling_until.lock().expect("cooldown lock") = None;
                Ok(Cached {
                    value,
                    generated_at,
                    from_cache: false,
                    stale: false,
                })
            }
            Err(e) if e.unavailable() => {
                if e.service_unavailable() {
                    *self.cooling_until.lock().expect("cooldown lock") =
                        Some(Instant::now() + self.cooldown);
                }
                tracing::warn!(error = %crate::telemetry::error_chain(&e), key, "source unavailable; answering from the cache");
                stale(cached).ok_or(LiveError::Unavailable(e))
            }
            Err(e) => Err(LiveError::Upstream(e)),
        }
    }
}
