//! Status mappings and the analytics mutations (refresh, mapping CRUD).

use super::*;

#[derive(Default)]
pub struct AnalyticsMutation;

#[Object]
impl AnalyticsMutation {
    /// Creates or changes the mapping of one raw status (admins).
    #[graphql(guard = "RoleGuard(Role::Admin)")]
    async fn upsert_status_mapping(
        &self,
        ctx: &Context<'_>,
        input: StatusMappingInput,
    ) -> async_graphql::Result<StatusMapping> {
        let db = &engine(ctx).db;
        let m = status::upsert(
            db,
            status::MappingInput {
                source: input.source,
                field: input.field,
                raw_value: input.raw_value,
                display_name: input.display_name,
                category: input.category,
                active: input.active.unwrap_or(true),
                position: input.position,
            },
        )
        .await
        .api()?;
        cache(ctx).invalidate_all().await.api()?;
        Ok(StatusMapping(m))
    }

    /// Deletes a mapping (its value then shows as itself).
    #[graphql(guard = "RoleGuard(Role::Admin)")]
    async fn delete_status_mapping(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<bool> {
        let id: i32 = id.parse().map_err(|_| {
            ApiError::bad_input(format!("{:?} is not a mapping id", id.as_str())).extend()
        })?;
        let deleted = status::delete(&engine(ctx).db, id).await.api()?;
        if !deleted {
            return Err(ApiError::NotFound(format!("no status mapping {id}")).extend());
        }
        cache(ctx).invalidate_all().await.api()?;
        Ok(true)
    }

    /// Adds a mapping, named after itself, for every raw status seen in the
    /// data that has none. Returns how many were added.
    #[graphql(guard = "RoleGuard(Role::Admin)")]
    async fn refresh_status_mappings(&self, ctx: &Context<'_>) -> async_graphql::Result<i32> {
        let a = engine(ctx);
        let added = status::refresh(&a.db, a.settings.status_field.as_deref())
            .await
            .api()?;
        if added > 0 {
            cache(ctx).invalidate_all().await.api()?;
        }
        Ok(added as i32)
    }
}

#[derive(InputObject)]
pub struct StatusMappingInput {
    /// `PAGERDUTY`, `LOCAL` or `CUSTOM_FIELD`.
    pub source: String,
    /// The custom field (only for `CUSTOM_FIELD`).
    pub field: Option<String>,
    pub raw_value: String,
    pub display_name: String,
    /// `OPEN`, `IN_PROGRESS`, `WAITING` or `RESOLVED`.
    pub category: String,
    /// Inactive mappings hide their incidents from analytics and reports.
    pub active: Option<bool>,
    pub position: Option<i32>,
}

pub struct StatusMapping(pub status_mapping::Model);

#[Object]
impl StatusMapping {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// `PAGERDUTY`, `LOCAL` or `CUSTOM_FIELD`.
    async fn source(&self) -> &str {
        &self.0.source
    }
    /// The custom field, for `CUSTOM_FIELD` mappings.
    async fn field(&self) -> Option<&str> {
        (!self.0.field.is_empty()).then_some(self.0.field.as_str())
    }
    async fn raw_value(&self) -> &str {
        &self.0.raw_value
    }
    async fn display_name(&self) -> &str {
        &self.0.display_name
    }
    /// `OPEN`, `IN_PROGRESS`, `WAITING` or `RESOLVED`.
    async fn category(&self) -> &str {
        &self.0.category
    }
    async fn active(&self) -> bool {
        self.0.active
    }
    async fn position(&self) -> i32 {
        self.0.position
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}
