//! Sync runs know the job that ran them, so a run whose job ended or ran
//! again (its server died) can be closed instead of staying `running`.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table("sync_runs")
                .add_column(integer_null("job_id"))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_sync_runs_job_id")
                .table("sync_runs")
                .col("job_id")
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(
            Index::drop()
                .name("idx_sync_runs_job_id")
                .table("sync_runs")
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table("sync_runs")
                .drop_column("job_id")
                .to_owned(),
        )
        .await
    }
}
