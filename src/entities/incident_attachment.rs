use sea_orm::entity::prelude::*;

/// A file added to an incident; its bytes live on disk under their SHA-256.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "incident_attachments")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub incident_id: String,
    /// The uploader's file name, cleaned (no directories or control characters).
    pub file_name: String,
    /// Sniffed from the content, never taken from the client.
    pub content_type: String,
    pub size_bytes: i64,
    /// Hex SHA-256 of the content: its name on disk.
    pub sha256: String,
    pub uploaded_by_account_id: Option<i32>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
