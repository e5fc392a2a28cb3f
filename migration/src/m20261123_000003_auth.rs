//! Accounts (people who log in to pagerlens, distinct from PagerDuty users),
//! their team scopes, sessions, API tokens and pending OAuth logins.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use crate::helpers::{fk, index, table, ts, ts_null};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            table("accounts")
                .col(pk_auto("id"))
                .col(string("email").unique_key())
                .col(string("display_name"))
                .col(string("role"))
                .col(boolean("active").default(true))
                .col(ts_null("last_login_at"))
                .to_owned(),
        )
        .await?;

        m.create_table(
            table("account_teams")
                .col(integer("account_id"))
                .col(string("team_id"))
                .primary_key(Index::create().col("account_id").col("team_id"))
                .foreign_key(&mut fk(
                    "account_teams",
                    "account_id",
                    "accounts",
                    ForeignKeyAction::Cascade,
                ))
                .foreign_key(&mut fk(
                    "account_teams",
                    "team_id",
                    "teams",
                    ForeignKeyAction::Cascade,
                ))
                .to_owned(),
        )
        .await?;

        m.create_table(
            table("sessions")
                .col(string("id_hash").primary_key())
                .col(integer("account_id"))
                .col(ts("expires_at"))
                .col(ts("last_seen_at"))
                .foreign_key(&mut fk(
                    "sessions",
                    "account_id",
                    "accounts",
                    ForeignKeyAction::Cascade,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(index("sessions", &["account_id"])).await?;

        m.create_table(
            table("api_tokens")
                .col(pk_auto("id"))
                .col(integer("account_id"))
                .col(string("name"))
                .col(string("prefix"))
                .col(string("token_hash").unique_key())
                .col(string("role"))
                .col(ts_null("expires_at"))
                .col(ts_null("last_used_at"))
                .col(ts_null("revoked_at"))
                .col(integer_null("created_by_id"))
                .foreign_key(&mut fk(
                    "api_tokens",
                    "account_id",
                    "accounts",
                    ForeignKeyAction::Cascade,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(index("api_tokens", &["account_id"])).await?;

        m.create_table(
            table("api_token_teams")
                .col(integer("token_id"))
                .col(string("team_id"))
                .primary_key(Index::create().col("token_id").col("team_id"))
                .foreign_key(&mut fk(
                    "api_token_teams",
                    "token_id",
                    "api_tokens",
                    ForeignKeyAction::Cascade,
                ))
                .foreign_key(&mut fk(
                    "api_token_teams",
                    "team_id",
                    "teams",
                    ForeignKeyAction::Cascade,
                ))
                .to_owned(),
        )
        .await?;

        m.create_table(
            table("login_states")
                .col(string("state_hash").primary_key())
                .col(string("browser_hash"))
                .col(string("pkce_verifier"))
                .col(string("next_path"))
                .col(ts("expires_at"))
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            "login_states",
            "api_token_teams",
            "api_tokens",
            "sessions",
            "account_teams",
            "accounts",
        ] {
            m.drop_table(Table::drop().table(t).if_exists().to_owned())
                .await?;
        }
        Ok(())
    }
}
