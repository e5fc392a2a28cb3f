//! OpenID Connect logins: a login in progress keeps the hash of the `nonce`
//! it sent (checked against the ID token's), and an account keeps the name
//! its identity provider gave at the last login, so that a later login can
//! tell a name the provider set (replaced by the provider's new one) from a
//! name an admin chose (kept).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table("login_states")
                .add_column(string_null("nonce_hash"))
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table("accounts")
                .add_column(string_null("provider_name"))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table("accounts")
                .drop_column("provider_name")
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table("login_states")
                .drop_column("nonce_hash")
                .to_owned(),
        )
        .await
    }
}
