//! `incidents` had an index on `created_at` and another on
//! `(created_at, id)`. The second answers every look-up the first did (a
//! range of creation times, ordered by it), so the first only cost a write
//! per incident inserted, and one per update on PostgreSQL. It is dropped.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(
            Index::drop()
                .name("idx_incidents_created_at")
                .table("incidents")
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_index(crate::helpers::index("incidents", &["created_at"]))
            .await
    }
}
