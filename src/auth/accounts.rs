//! Accounts: create, list, change role, activate and deactivate, and decide
//! who may log in.

use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, Set,
};

use super::{AuthError, Role, normalize_email};
use crate::config::LoginPolicy;
use crate::entities::{account, api_token, session};

pub async fn find_by_email<C: ConnectionTrait>(
    db: &C,
    email: &str,
) -> Result<Option<account::Model>, AuthError> {
    let email = normalize_email(email)?;
    Ok(account::Entity::find()
        .filter(account::Column::Email.eq(email))
        .one(db)
        .await?)
}

pub async fn get<C: ConnectionTrait>(db: &C, id: i32) -> Result<account::Model, AuthError> {
    account::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| AuthError::NotFound(format!("no account with id {id}")))
}

pub async fn list<C: ConnectionTrait>(db: &C) -> Result<Vec<account::Model>, AuthError> {
    Ok(account::Entity::find()
        .order_by_asc(account::Column::Email)
        .all(db)
        .await?)
}

/// Creates an active account.
///
/// # Errors
/// A bad email, or an account with this email exists.
pub async fn create<C: ConnectionTrait>(
    db: &C,
    email: &str,
    display_name: Option<&str>,
    role: Role,
) -> Result<account::Model, AuthError> {
    let email = normalize_email(email)?;
    if find_by_email(db, &email).await?.is_some() {
        return Err(AuthError::BadInput(format!(
            "an account for {email} already exists"
        )));
    }
    let name = display_name
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_owned)
        .unwrap_or_else(|| email.split('@').next().unwrap_or_default().to_owned());
    let now = Utc::now();
    Ok(account::ActiveModel {
        email: Set(email),
        display_name: Set(name),
        role: Set(role.as_str().to_owned()),
        active: Set(true),
        last_login_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?)
}

/// Creates the account if it is missing (demo accounts, the CLI's `--if-missing`).
pub async fn ensure<C: ConnectionTrait>(
    db: &C,
    email: &str,
    display_name: &str,
    role: Role,
) -> Result<account::Model, AuthError> {
    match find_by_email(db, email).await? {
        Some(a) => Ok(a),
        None => create(db, email, Some(display_name), role).await,
    }
}

async fn active_admins<C: ConnectionTrait>(db: &C) -> Result<u64, AuthError> {
    Ok(account::Entity::find()
        .filter(account::Column::Role.eq(Role::Admin.as_str()))
        .filter(account::Column::Active.eq(true))
        .count(db)
        .await?)
}

/// Changes an account's role. Tokens keep their own cap, so lowering the role
/// lowers what its tokens may do at once.
///
/// # Errors
/// No such account, or this would leave no active admin.
pub async fn set_role(
    db: &sea_orm::DatabaseConnection,
    id: i32,
    role: Role,
) -> Result<account::Model, AuthError> {
    let txn = crate::db::begin_write(db).await?;
    let current = get(&txn, id).await?;
    if Role::of(&current) == Role::Admin
        && role != Role::Admin
        && current.active
        && active_admins(&txn).await? <= 1
    {
        return Err(AuthError::BadInput(
            "this is the last active admin: make another admin first".into(),
        ));
    }
    let mut model: account::ActiveModel = current.into();
    model.role = Set(role.as_str().to_owned());
    model.updated_at = Set(Utc::now());
    let updated = model.update(&txn).await?;
    txn.commit().await?;
    Ok(updated)
}

/// Activates or deactivates an account. Deactivating ends its sessions and
/// revokes its tokens in the same transaction.
///
/// # Errors
/// No such account, or this would leave no active admin.
pub async fn set_active(
    db: &sea_orm::DatabaseConnection,
    id: i32,
    active: bool,
) -> Result<account::Model, AuthError> {
    let txn = crate::db::begin_write(db).await?;
    let current = get(&txn, id).await?;
    if !active
        && current.active
        && Role::of(&current) == Role::Admin
        && active_admins(&txn).await? <= 1
    {
        return Err(AuthError::BadInput(
            "this is the last active admin: make another admin first".into(),
        ));
    }
    let now = Utc::now();
    let mut model: account::ActiveModel = current.into();
    model.active = Set(active);
    model.updated_at = Set(now);
    let updated = model.update(&txn).await?;
    if !active {
        session::Entity::delete_many()
            .filter(session::Column::AccountId.eq(id))
            .exec(&txn)
            .await?;
        api_token::Entity::update_many()
            .col_expr(api_token::Column::RevokedAt, Expr::value(now))
            .col_expr(api_token::Column::UpdatedAt, Expr::value(now))
            .filter(api_token::Column::AccountId.eq(id))
            .filter(api_token::Column::RevokedAt.is_null())
            .exec(&txn)
            .await?;
    }
    txn.commit().await?;
    Ok(updated)
}

/// The account a verified email logs in as: an existing active account, or a
/// new one for a configured admin or an allowed domain. Records the login.
///
/// # Errors
/// [`AuthError::Forbidden`] with a message for the person: unknown or inactive.
pub async fn login<C: ConnectionTrait>(
    db: &C,
    policy: &LoginPolicy,
    email: &str,
    display_name: Option<&str>,
) -> Result<account::Model, AuthError> {
    let email = normalize_email(email)?;
    let account = match find_by_email(db, &email).await? {
        Some(a) if !a.active => {
            return Err(AuthError::Forbidden(format!(
                "The account {email} is deactivated. Ask a pagerlens admin to reactivate it."
            )));
        }
        Some(a) => a,
        None => {
            let domain = email.rsplit('@').next().unwrap_or_default();
            let role = if policy.admin_emails.iter().any(|e| e == &email) {
                Role::Admin
            } else if policy.auto_provision_domains.iter().any(|d| d == domain) {
                Role::Viewer
            } else {
                return Err(AuthError::Forbidden(format!(
                    "{email} has no pagerlens account. Ask a pagerlens admin to add you."
                )));
            };
            tracing::info!(%email, role = role.as_str(), "account created at first login");
            create(db, &email, display_name, role).await?
        }
    };
    let now = Utc::now();
    let name = display_name.map(str::trim).filter(|n| !n.is_empty());
    let rename = name.filter(|n| takes_provider_name(&account, n));
    let remember = name.filter(|n| account.provider_name.as_deref() != Some(*n));
    let mut model: account::ActiveModel = account.into();
    if let Some(n) = rename {
        model.display_name = Set(n.to_owned());
    }
    if let Some(n) = remember {
        model.provider_name = Set(Some(n.to_owned()));
    }
    model.last_login_at = Set(Some(now));
    model.updated_at = Set(now);
    Ok(model.update(db).await?)
}

/// Whether a login's provider-given `name` replaces the account's display
/// name: it does when the account has none of its own — empty, the email's
/// local part (what an account created without a name gets), or the name
/// the provider gave last time — and not when an admin chose one.
pub fn takes_provider_name(account: &account::Model, name: &str) -> bool {
    let current = account.display_name.trim();
    let local = account.email.split('@').next().unwrap_or_default();
    current != name
        && (current.is_empty()
            || current == local
            || account.provider_name.as_deref() == Some(current))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(name: &str, provider: Option<&str>) -> account::Model {
        let t = Utc::now();
        account::Model {
            id: 1,
            email: "ada@example.com".into(),
            display_name: name.into(),
            provider_name: provider.map(str::to_owned),
            role: "viewer".into(),
            active: true,
            last_login_at: None,
            created_at: t,
            updated_at: t,
        }
    }

    #[test]
    fn the_provider_name_replaces_only_a_name_the_account_did_not_choose() {
        // None of its own: empty, the email's local part, the provider's last.
        assert!(takes_provider_name(&account("", None), "Ada Lovelace"));
        assert!(takes_provider_name(&account("ada", None), "Ada Lovelace"));
        assert!(takes_provider_name(
            &account("Ada L.", Some("Ada L.")),
            "Ada Lovelace"
        ));
        // One an admin chose stays.
        assert!(!takes_provider_name(
            &account("Countess of Lovelace", Some("Ada L.")),
            "Ada Lovelace"
        ));
        assert!(!takes_provider_name(&account("Ada (ops)", None), "Ada"));
        // Already that name: nothing to change.
        assert!(!takes_provider_name(&account("Ada", Some("Ada")), "Ada"));
    }
}
