//! Team scopes of accounts and API tokens (see [`crate::scope`]).
//!
//! An account without team rows sees every team; with rows, only those. A
//! token may carry its own teams; the effective scope is what both the
//! account and the token allow, read afresh on every request so a change
//! applies at once.

use std::collections::HashMap;

use chrono::Utc;
use sea_orm::sea_query::{Alias, Expr, Query, UnionType};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
    TransactionSession, TransactionTrait,
};

use super::{AuthError, Caller, Role, accounts};
use crate::entities::{account_team, api_token_team, team};
use crate::scope::Scope;

/// The effective scope of an account, through a token when `token_id` is
/// given. One statement.
///
/// # Errors
/// Database errors only.
pub async fn effective<C: ConnectionTrait>(
    db: &C,
    account_id: i32,
    token_id: Option<i32>,
) -> Result<Scope, AuthError> {
    let mut select = Query::select()
        .expr_as(Expr::val("a"), Alias::new("kind"))
        .column(account_team::Column::TeamId)
        .from(account_team::Entity)
        .and_where(account_team::Column::AccountId.eq(account_id))
        .to_owned();
    if let Some(token_id) = token_id {
        select.union(
            UnionType::All,
            Query::select()
                .expr_as(Expr::val("t"), Alias::new("kind"))
                .column(api_token_team::Column::TeamId)
                .from(api_token_team::Entity)
                .and_where(api_token_team::Column::TokenId.eq(token_id))
                .to_owned(),
        );
    }
    let rows = db.query_all(&select).await?;
    let (mut of_account, mut of_token) = (Vec::new(), Vec::new());
    for row in rows {
        let kind: String = row.try_get("", "kind")?;
        let team: String = row.try_get("", "team_id")?;
        if kind == "a" {
            of_account.push(team);
        } else {
            of_token.push(team);
        }
    }
    let account = if of_account.is_empty() {
        Scope::All
    } else {
        Scope::teams(of_account)
    };
    let token = if of_token.is_empty() {
        Scope::All
    } else {
        Scope::teams(of_token)
    };
    Ok(account.intersect(&token))
}

/// Checks that every id names a known team and returns them sorted, deduplicated.
///
/// # Errors
/// An unknown team id.
pub async fn validate_teams<C: ConnectionTrait>(
    db: &C,
    ids: &[String],
) -> Result<Vec<String>, AuthError> {
    let Scope::Teams(ids) = Scope::teams(ids.iter().map(|s| s.trim().to_owned())) else {
        unreachable!("Scope::teams always builds Teams");
    };
    if ids.is_empty() {
        return Ok(ids);
    }
    let found: Vec<String> = team::Entity::find()
        .filter(team::Column::Id.is_in(ids.clone()))
        .all(db)
        .await?
        .into_iter()
        .map(|t| t.id)
        .collect();
    let missing: Vec<&String> = ids.iter().filter(|i| !found.contains(i)).collect();
    if !missing.is_empty() {
        return Err(AuthError::BadInput(format!(
            "unknown team ids: {missing:?}"
        )));
    }
    Ok(ids)
}

/// Limits an account to `team_ids` (`None` or an empty list: every team).
/// Admins only; takes effect on the account's next request, tokens included.
/// Returns the teams now set.
///
/// # Errors
/// Not an admin, an unknown account or team; nothing changes then.
pub async fn set_account_teams<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    by: Option<&Caller>,
    account_id: i32,
    team_ids: Option<&[String]>,
) -> Result<Vec<String>, AuthError> {
    if let Some(by) = by {
        by.require(Role::Admin)?;
    }
    accounts::get(db, account_id).await?;
    let teams = validate_teams(db, team_ids.unwrap_or_default()).await?;
    let txn = crate::db::begin_write(db).await?;
    account_team::Entity::delete_many()
        .filter(account_team::Column::AccountId.eq(account_id))
        .exec(&txn)
        .await?;
    if !teams.is_empty() {
        let now = Utc::now();
        account_team::Entity::insert_many(teams.iter().map(|t| account_team::ActiveModel {
            account_id: Set(account_id),
            team_id: Set(t.clone()),
            created_at: Set(now),
            updated_at: Set(now),
        }))
        .exec(&txn)
        .await?;
    }
    txn.commit().await?;
    Ok(teams)
}

/// Validates the teams a new token is limited to: known teams, and within
/// the creator's own scope unless the creator is the operator (`None`) or an
/// admin creating it for someone else.
///
/// # Errors
/// Unknown teams, or teams outside the creator's scope.
pub async fn token_teams<C: ConnectionTrait>(
    db: &C,
    by: Option<&Caller>,
    team_ids: &[String],
) -> Result<Vec<String>, AuthError> {
    let teams = validate_teams(db, team_ids).await?;
    if let Some(by) = by
        && let Some(allowed) = by.scope.team_ids()
    {
        let outside: Vec<&String> = teams.iter().filter(|t| !allowed.contains(t)).collect();
        if !outside.is_empty() {
            return Err(AuthError::Forbidden(format!(
                "you may only limit a token to your own teams; not {outside:?}"
            )));
        }
    }
    Ok(teams)
}

/// Stores the teams of a new token (inside the caller's transaction).
///
/// # Errors
/// Database errors only.
pub async fn store_token_teams<C: ConnectionTrait>(
    db: &C,
    token_id: i32,
    teams: &[String],
) -> Result<(), AuthError> {
    if teams.is_empty() {
        return Ok(());
    }
    let now = Utc::now();
    api_token_team::Entity::insert_many(teams.iter().map(|t| api_token_team::ActiveModel {
        token_id: Set(token_id),
        team_id: Set(t.clone()),
        created_at: Set(now),
        updated_at: Set(now),
    }))
    .exec(db)
    .await?;
    Ok(())
}

/// The teams each account is limited to (absent: every team). One statement.
///
/// # Errors
/// Database errors only.
pub async fn teams_of_accounts<C: ConnectionTrait>(
    db: &C,
    ids: &[i32],
) -> Result<HashMap<i32, Vec<String>>, sea_orm::DbErr> {
    teams_by_owner::<account_team::Entity, C>(
        db,
        account_team::Column::AccountId,
        account_team::Column::TeamId,
        ids,
    )
    .await
}

/// The teams each token is limited to (absent: its account's). One statement.
///
/// # Errors
/// Database errors only.
pub async fn teams_of_tokens<C: ConnectionTrait>(
    db: &C,
    ids: &[i32],
) -> Result<HashMap<i32, Vec<String>>, sea_orm::DbErr> {
    teams_by_owner::<api_token_team::Entity, C>(
        db,
        api_token_team::Column::TokenId,
        api_token_team::Column::TeamId,
        ids,
    )
    .await
}

/// `owner → [team ids]` from a join table, team ids in order.
async fn teams_by_owner<E: EntityTrait, C: ConnectionTrait>(
    db: &C,
    owner: E::Column,
    team: E::Column,
    ids: &[i32],
) -> Result<HashMap<i32, Vec<String>>, sea_orm::DbErr> {
    let mut out: HashMap<i32, Vec<String>> = HashMap::new();
    if ids.is_empty() {
        return Ok(out);
    }
    for (id, team_id) in E::find()
        .select_only()
        .columns([owner, team])
        .filter(owner.is_in(ids.to_vec()))
        .order_by_asc(team)
        .into_tuple::<(i32, String)>()
        .all(db)
        .await?
    {
        out.entry(id).or_default().push(team_id);
    }
    Ok(out)
}
