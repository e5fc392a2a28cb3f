use sea_orm::entity::prelude::*;

/// An OAuth login in progress: the hashed `state`, the hashed browser nonce
/// it is bound to, the PKCE verifier, the hashed OpenID Connect nonce and
/// where to go afterwards.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "login_states")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub state_hash: String,
    pub browser_hash: String,
    pub pkce_verifier: String,
    /// SHA-256 of the OpenID Connect `nonce` sent (plain OAuth 2.0: none).
    pub nonce_hash: Option<String>,
    pub next_path: String,
    pub expires_at: DateTimeUtc,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
