//! API tokens for scripts and BI tools: `Authorization: Bearer plt_…`. The
//! token is shown once; the table keeps its SHA-256, a visible prefix, its
//! role cap, expiry, last use and revocation.

use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
    TransactionSession, TransactionTrait,
};

use super::{AuthError, Caller, Credential, Role, accounts, hash_secret, random_secret};
use crate::entities::{account, api_token};

/// Every token starts with this, so secret scanners can recognise it.
pub const TOKEN_PREFIX: &str = "plt_";

/// What to create.
#[derive(Clone, Debug)]
pub struct NewToken {
    pub account_id: i32,
    pub name: String,
    /// Defaults to the account's role; never above it.
    pub role: Option<Role>,
    pub expires_at: Option<DateTime<Utc>>,
    /// Teams the token is limited to (empty: its account's scope). A caller
    /// limited to teams may only choose among its own.
    pub team_ids: Vec<String>,
}

/// Creates a token. `by` is the caller (`None` for the command line, which
/// acts as the operator): admins may create tokens for anyone, others only
/// for themselves and at most with their own role.
///
/// # Errors
/// Not allowed, an unknown or inactive account, a bad name, role or expiry.
pub async fn create<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    by: Option<&Caller>,
    new: NewToken,
) -> Result<(String, api_token::Model), AuthError> {
    let owner = accounts::get(db, new.account_id).await?;
    if let Some(by) = by
        && by.role != Role::Admin
        && by.account.id != owner.id
    {
        return Err(AuthError::Forbidden(
            "only admins may create tokens for other accounts".into(),
        ));
    }
    if !owner.active {
        return Err(AuthError::BadInput(format!(
            "{} is deactivated",
            owner.email
        )));
    }
    let name = new.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(AuthError::BadInput(
            "a token needs a name of 1 to 100 characters".into(),
        ));
    }
    let owner_role = Role::of(&owner);
    let cap = by.map_or(owner_role, |b| b.role.min(owner_role));
    let role = new.role.unwrap_or(cap);
    if role > cap {
        return Err(AuthError::Forbidden(format!(
            "a token may have at most the {} role here",
            cap.as_str()
        )));
    }
    let now = Utc::now();
    if new.expires_at.is_some_and(|e| e <= now) {
        return Err(AuthError::BadInput("the expiry is in the past".into()));
    }
    let teams = super::scopes::token_teams(db, by, &new.team_ids).await?;
    let secret = format!("{TOKEN_PREFIX}{}", random_secret(20));
    let txn = crate::db::begin_write(db).await?;
    let model = api_token::ActiveModel {
        account_id: Set(owner.id),
        name: Set(name.to_owned()),
        prefix: Set(secret[..TOKEN_PREFIX.len() + 8].to_owned()),
        token_hash: Set(hash_secret(&secret)),
        role: Set(role.as_str().to_owned()),
        expires_at: Set(new.expires_at),
        last_used_at: Set(None),
        revoked_at: Set(None),
        created_by_id: Set(by.map(|b| b.account.id)),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    super::scopes::store_token_teams(&txn, model.id, &teams).await?;
    txn.commit().await?;
    Ok((secret, model))
}

/// The caller behind a bearer token, if it is current and its account
/// active. The effective role is the lower of the token's and the account's.
pub async fn authenticate<C: ConnectionTrait>(
    db: &C,
    secret: &str,
) -> Result<Option<Caller>, AuthError> {
    if !secret.starts_with(TOKEN_PREFIX) {
        return Ok(None);
    }
    let Some((token, Some(account))) = api_token::Entity::find()
        .filter(api_token::Column::TokenHash.eq(hash_secret(secret)))
        .find_also_related(account::Entity)
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let now = Utc::now();
    if token.revoked_at.is_some() || token.expires_at.is_some_and(|e| e <= now) || !account.active {
        return Ok(None);
    }
    let role = Role::parse(&token.role)
        .unwrap_or(Role::Viewer)
        .min(Role::of(&account));
    let id = token.id;
    if token
        .last_used_at
        .is_none_or(|t| now - t > Duration::minutes(1))
    {
        let mut m: api_token::ActiveModel = token.into();
        m.last_used_at = Set(Some(now));
        m.update(db).await?;
    }
    let scope = super::scopes::effective(db, account.id, Some(id)).await?;
    Ok(Some(Caller {
        account,
        role,
        credential: Credential::Token(id),
        scope,
    }))
}

/// Tokens of one account, or of every account.
pub async fn list<C: ConnectionTrait>(
    db: &C,
    account_id: Option<i32>,
) -> Result<Vec<api_token::Model>, AuthError> {
    let mut q = api_token::Entity::find().order_by_desc(api_token::Column::Id);
    if let Some(id) = account_id {
        q = q.filter(api_token::Column::AccountId.eq(id));
    }
    Ok(q.all(db).await?)
}

/// Revokes a token: admins any, others their own; `by` is `None` for the
/// command line (the operator). Revoking twice is harmless.
///
/// # Errors
/// No such token, or not allowed.
pub async fn revoke<C: ConnectionTrait>(
    db: &C,
    by: Option<&Caller>,
    id: i32,
) -> Result<api_token::Model, AuthError> {
    let token = api_token::Entity::find_by_id(id)
        .one(db)
        .await?
        .filter(|t| by.is_none_or(|b| b.role == Role::Admin || t.account_id == b.account.id))
        .ok_or_else(|| AuthError::NotFound(format!("no token with id {id}")))?;
    if token.revoked_at.is_some() {
        return Ok(token);
    }
    let now = Utc::now();
    let mut m: api_token::ActiveModel = token.into();
    m.revoked_at = Set(Some(now));
    m.updated_at = Set(now);
    Ok(m.update(db).await?)
}
