//! Login sessions, stored in the database so every replica accepts them.
//! The browser holds a random id; the table holds its SHA-256.

use chrono::{Duration, Utc};
use sea_orm::sea_query::ExprTrait;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};

use super::{AuthError, Caller, Credential, Role, hash_secret, random_secret};
use crate::config::SessionLifetime;
use crate::entities::{account, session};

/// Starts a session for an account; returns the id for the cookie. A login
/// always gets a new id (no session fixation).
pub async fn create<C: ConnectionTrait>(
    db: &C,
    account_id: i32,
    lifetime: SessionLifetime,
) -> Result<String, AuthError> {
    let id = random_secret(32);
    let now = Utc::now();
    session::ActiveModel {
        id_hash: Set(hash_secret(&id)),
        account_id: Set(account_id),
        expires_at: Set(now + lifetime.absolute),
        last_seen_at: Set(now),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await?;
    Ok(id)
}

/// The caller behind a session id, if the session is current and its account
/// active. Expired sessions are deleted when met.
pub async fn authenticate<C: ConnectionTrait>(
    db: &C,
    id: &str,
    lifetime: SessionLifetime,
) -> Result<Option<Caller>, AuthError> {
    let hash = hash_secret(id);
    let Some((s, Some(account))) = session::Entity::find_by_id(hash.clone())
        .find_also_related(account::Entity)
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let now = Utc::now();
    if s.expires_at <= now || s.last_seen_at + lifetime.idle <= now || !account.active {
        session::Entity::delete_by_id(hash).exec(db).await?;
        return Ok(None);
    }
    if now - s.last_seen_at > Duration::minutes(1) {
        let mut m: session::ActiveModel = s.into();
        m.last_seen_at = Set(now);
        m.updated_at = Set(now);
        m.update(db).await?;
    }
    let scope = super::scopes::effective(db, account.id, None).await?;
    Ok(Some(Caller {
        role: Role::of(&account),
        account,
        credential: Credential::Session,
        scope,
    }))
}

/// Ends a session (logout). Unknown ids are ignored.
pub async fn end<C: ConnectionTrait>(db: &C, id: &str) -> Result<(), AuthError> {
    session::Entity::delete_by_id(hash_secret(id))
        .exec(db)
        .await?;
    Ok(())
}

/// Deletes every expired session (retention).
pub async fn delete_expired<C: ConnectionTrait>(
    db: &C,
    lifetime: SessionLifetime,
) -> Result<u64, AuthError> {
    let now = Utc::now();
    Ok(session::Entity::delete_many()
        .filter(
            session::Column::ExpiresAt
                .lte(now)
                .or(session::Column::LastSeenAt.lte(now - lifetime.idle)),
        )
        .exec(db)
        .await?
        .rows_affected)
}
