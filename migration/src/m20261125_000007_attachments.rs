//! Incident attachments: files people add to incidents, stored by content
//! hash on disk; this table keeps what each one is and who added it.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use crate::helpers::{fk, index, table};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            table("incident_attachments")
                .col(pk_auto("id"))
                .col(string("incident_id"))
                .col(string("file_name"))
                .col(string("content_type"))
                .col(big_integer("size_bytes"))
                .col(string_len("sha256", 64))
                .col(integer_null("uploaded_by_account_id"))
                .foreign_key(&mut fk(
                    "incident_attachments",
                    "incident_id",
                    "incidents",
                    ForeignKeyAction::Cascade,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(index("incident_attachments", &["incident_id"]))
            .await?;
        m.create_index(index("incident_attachments", &["sha256"]))
            .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table("incident_attachments").to_owned())
            .await
    }
}
