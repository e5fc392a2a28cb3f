//! SLA pauses say whether pagerlens made them (an incident in a waiting
//! status) or a person did, in a column of their own rather than by a
//! `waiting: ` prefix on the reason. Existing automatic pauses (that prefix
//! and no account) are marked so.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table("sla_pauses")
                .add_column(boolean("automatic").default(false))
                .to_owned(),
        )
        .await?;
        m.exec_stmt(
            Query::update()
                .table("sla_pauses")
                .value("automatic", true)
                // Case-sensitive on both databases (SQLite's LIKE is not).
                .and_where(Expr::cust("substr(reason, 1, 9) = 'waiting: '"))
                .and_where(Expr::col("paused_by_account_id").is_null())
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table("sla_pauses")
                .drop_column("automatic")
                .to_owned(),
        )
        .await
    }
}
