//! Authentication and authorisation at the GraphQL edge: every operation
//! needs a [`Caller`] (the [`RequireCaller`] extension refuses the rest, so no
//! field can forget it), [`RoleGuard`] checks roles per field, and the
//! account and API-token administration lives here.

use std::sync::Arc;

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextExecute, NextSubscribe,
};
use async_graphql::{
    Context, Enum, ErrorExtensions, Guard, ID, InputObject, Object, Response, ServerError,
    SimpleObject,
};
use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use sea_orm::DatabaseConnection;

use super::error::{ApiError, ApiResultExt, UNAUTHENTICATED};
use crate::auth::{AuthError, Caller, Credential, Role, accounts, scopes, tokens};
use crate::entities::{account, api_token};
use crate::graphql::loaders::{TeamsOfAccount, TeamsOfToken};
use crate::graphql::types::load_one;

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::Unauthenticated(_) => ApiError::Unauthenticated,
            AuthError::Forbidden(m) => ApiError::Forbidden(m),
            AuthError::BadInput(m) => ApiError::BadUserInput(m),
            AuthError::NotFound(m) => ApiError::NotFound(m),
            AuthError::Db(e) => ApiError::Internal(Box::new(e)),
        }
    }
}

/// The caller of this request.
///
/// # Errors
/// `UNAUTHENTICATED` when there is none (cannot happen behind [`RequireCaller`]).
pub fn caller<'a>(ctx: &'a Context<'_>) -> async_graphql::Result<&'a Caller> {
    ctx.data_opt::<Caller>()
        .ok_or_else(|| ApiError::Unauthenticated.extend())
}

/// A field that needs at least this role.
pub struct RoleGuard(pub Role);

impl Guard for RoleGuard {
    async fn check(&self, ctx: &Context<'_>) -> async_graphql::Result<()> {
        caller(ctx)?
            .require(self.0)
            .map_err(|e| ApiError::from(e).extend())
    }
}

/// Refuses every operation, introspection included, without a caller.
pub struct RequireCaller;

impl ExtensionFactory for RequireCaller {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(RequireCallerExtension)
    }
}

struct RequireCallerExtension;

fn unauthenticated() -> Response {
    let mut e = ServerError::new(ApiError::Unauthenticated.to_string(), None);
    super::error::set_code(&mut e, UNAUTHENTICATED);
    Response::from_errors(vec![e])
}

#[async_trait::async_trait]
impl Extension for RequireCallerExtension {
    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        if ctx.data_opt::<Caller>().is_none() {
            return unauthenticated();
        }
        next.run(ctx, operation_name).await
    }

    fn subscribe<'s>(
        &self,
        ctx: &ExtensionContext<'_>,
        stream: BoxStream<'s, Response>,
        next: NextSubscribe<'_>,
    ) -> BoxStream<'s, Response> {
        if ctx.data_opt::<Caller>().is_none() {
            return futures_util::stream::once(async { unauthenticated() }).boxed();
        }
        next.run(ctx, stream)
    }
}

/// A role.
#[derive(Enum, Clone, Copy, PartialEq, Eq, Debug)]
#[graphql(remote = "crate::auth::Role")]
pub enum AccountRole {
    /// Reads everything non-sensitive.
    Viewer,
    /// Also requests reports and pauses or resumes SLAs.
    User,
    /// Also manages accounts, tokens, mappings and policies, starts syncs and jobs.
    Admin,
}

/// A person who may log in to pagerlens (not a PagerDuty user).
pub struct Account(pub account::Model);

#[Object]
impl Account {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn email(&self) -> &str {
        &self.0.email
    }
    async fn display_name(&self) -> &str {
        &self.0.display_name
    }
    async fn role(&self) -> AccountRole {
        Role::of(&self.0).into()
    }
    /// Deactivated accounts cannot log in; their sessions and tokens ended
    /// when they were deactivated.
    async fn active(&self) -> bool {
        self.0.active
    }
    async fn last_login_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_login_at
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// The PagerDuty teams this account is limited to; `null`: every team.
    async fn team_ids(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Vec<ID>>> {
        Ok(load_one(ctx, TeamsOfAccount(self.0.id))
            .await?
            .map(|t| t.into_iter().map(ID).collect()))
    }
}

/// How the current request authenticated.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum AuthMethod {
    Session,
    ApiToken,
}

/// The caller of this request.
#[derive(SimpleObject)]
pub struct Me {
    pub account: Account,
    /// What this request may do: the account's role, capped by the token's.
    pub role: AccountRole,
    pub authenticated_by: AuthMethod,
    /// The PagerDuty teams whose data this request sees (the account's
    /// limit and the token's together); `null`: every team.
    pub team_ids: Option<Vec<ID>>,
}

/// An API token (never its secret, which is shown once at creation).
pub struct ApiToken(pub api_token::Model);

#[Object]
impl ApiToken {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn account_id(&self) -> ID {
        ID(self.0.account_id.to_string())
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// The token's first characters, to recognise it.
    async fn prefix(&self) -> &str {
        &self.0.prefix
    }
    /// The most the token may do (its account's role caps it too).
    async fn role(&self) -> AccountRole {
        Role::parse(&self.0.role).unwrap_or(Role::Viewer).into()
    }
    async fn expires_at(&self) -> Option<DateTime<Utc>> {
        self.0.expires_at
    }
    async fn last_used_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_used_at
    }
    async fn revoked_at(&self) -> Option<DateTime<Utc>> {
        self.0.revoked_at
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// The teams the token is limited to, on top of its account's; `null`:
    /// no limit of its own.
    async fn team_ids(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Vec<ID>>> {
        Ok(load_one(ctx, TeamsOfToken(self.0.id))
            .await?
            .map(|t| t.into_iter().map(ID).collect()))
    }
    /// Neither revoked nor expired.
    async fn usable(&self) -> bool {
        self.0.revoked_at.is_none() && self.0.expires_at.is_none_or(|e| e > Utc::now())
    }
}

/// A new token and its secret, shown this once.
#[derive(SimpleObject)]
pub struct CreatedApiToken {
    /// The secret to send as `Authorization: Bearer …`. Not retrievable later.
    pub token: String,
    pub api_token: ApiToken,
}

#[derive(InputObject)]
pub struct CreateApiTokenInput {
    pub name: String,
    /// Whose token (admins only; default: yours).
    pub account_id: Option<ID>,
    /// At most the owner's role and yours (default: that cap).
    pub role: Option<AccountRole>,
    /// Days until it expires (1–3650; default: never).
    pub expires_in_days: Option<i32>,
    /// Limit the token to these PagerDuty teams (default: its account's
    /// teams). If you are limited to teams, only among yours.
    pub team_ids: Option<Vec<ID>>,
}

fn parse_id(id: &ID) -> async_graphql::Result<i32> {
    id.parse::<i32>().map_err(|_| {
        ApiError::bad_input(format!("{:?} is not an account or token id", id.0)).extend()
    })
}

#[derive(Default)]
pub struct AuthQuery;

#[Object]
impl AuthQuery {
    /// Who you are and what you may do.
    async fn me(&self, ctx: &Context<'_>) -> async_graphql::Result<Me> {
        let c = caller(ctx)?;
        Ok(Me {
            account: Account(c.account.clone()),
            role: c.role.into(),
            authenticated_by: match c.credential {
                Credential::Session => AuthMethod::Session,
                Credential::Token(_) => AuthMethod::ApiToken,
            },
            team_ids: c
                .scope
                .team_ids()
                .map(|t| t.iter().cloned().map(ID).collect()),
        })
    }

    /// Every account (admins).
    #[graphql(guard = "RoleGuard(Role::Admin)")]
    async fn accounts(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Account>> {
        let db = ctx.data_unchecked::<DatabaseConnection>();
        Ok(accounts::list(db)
            .await
            .api()?
            .into_iter()
            .map(Account)
            .collect())
    }

    /// API tokens: yours, or (admins) an account's or everyone's.
    async fn api_tokens(
        &self,
        ctx: &Context<'_>,
        account_id: Option<ID>,
    ) -> async_graphql::Result<Vec<ApiToken>> {
        let c = caller(ctx)?;
        let db = ctx.data_unchecked::<DatabaseConnection>();
        let wanted = account_id.as_ref().map(parse_id).transpose()?;
        let scope = if c.role == Role::Admin {
            wanted
        } else {
            if wanted.is_some_and(|id| id != c.account.id) {
                return Err(ApiError::Forbidden(
                    "only admins may list other accounts' tokens".into(),
                )
                .extend());
            }
            Some(c.account.id)
        };
        Ok(tokens::list(db, scope)
            .await
            .api()?
            .into_iter()
            .map(ApiToken)
            .collect())
    }
}

#[derive(Default)]
pub struct AuthMutation;

#[Object]
impl AuthMutation {
    /// Adds an account (admins).
    #[graphql(guard = "RoleGuard(Role::Admin)")]
    async fn create_account(
        &self,
        ctx: &Context<'_>,
        email: String,
        display_name: Option<String>,
        role: AccountRole,
    ) -> async_graphql::Result<Account> {
        let db = ctx.data_unchecked::<DatabaseConnection>();
        accounts::create(db, &email, display_name.as_deref(), role.into())
            .await
            .map(Account)
            .api()
    }

    /// Limits an account to some PagerDuty teams (admins): from its next
    /// request on it sees only their services, escalation policies and
    /// incidents. `null` or `[]`: every team again.
    #[graphql(guard = "RoleGuard(Role::Admin)")]
    async fn set_account_teams(
        &self,
        ctx: &Context<'_>,
        id: ID,
        team_ids: Option<Vec<ID>>,
    ) -> async_graphql::Result<Account> {
        let c = caller(ctx)?;
        let db = ctx.data_unchecked::<DatabaseConnection>();
        let id = parse_id(&id)?;
        let teams: Option<Vec<String>> = team_ids.map(|v| v.into_iter().map(|i| i.0).collect());
        scopes::set_account_teams(db, Some(c), id, teams.as_deref())
            .await
            .api()?;
        accounts::get(db, id).await.map(Account).api()
    }

    /// Changes an account's role (admins). The last active admin cannot be demoted.
    #[graphql(guard = "RoleGuard(Role::Admin)")]
    async fn set_account_role(
        &self,
        ctx: &Context<'_>,
        id: ID,
        role: AccountRole,
    ) -> async_graphql::Result<Account> {
        let db = ctx.data_unchecked::<DatabaseConnection>();
        accounts::set_role(db, parse_id(&id)?, role.into())
            .await
            .map(Account)
            .api()
    }

    /// Activates or deactivates an account (admins). Deactivating ends its
    /// sessions and revokes its tokens at once.
    #[graphql(guard = "RoleGuard(Role::Admin)")]
    async fn set_account_active(
        &self,
        ctx: &Context<'_>,
        id: ID,
        active: bool,
    ) -> async_graphql::Result<Account> {
        let db = ctx.data_unchecked::<DatabaseConnection>();
        accounts::set_active(db, parse_id(&id)?, active)
            .await
            .map(Account)
            .api()
    }

    /// Creates an API token: admins for anyone, others for themselves, never
    /// above the owner's role or yours. The secret is in the answer only.
    async fn create_api_token(
        &self,
        ctx: &Context<'_>,
        input: CreateApiTokenInput,
    ) -> async_graphql::Result<CreatedApiToken> {
        let c = caller(ctx)?;
        let db = ctx.data_unchecked::<DatabaseConnection>();
        let account_id = input
            .account_id
            .as_ref()
            .map(parse_id)
            .transpose()?
            .unwrap_or(c.account.id);
        let expires_at = match input.expires_in_days {
            None => None,
            Some(d) if (1..=3650).contains(&d) => {
                Some(Utc::now() + chrono::Duration::days(i64::from(d)))
            }
            Some(_) => {
                return Err(
                    ApiError::bad_input("`expiresInDays` must be between 1 and 3650").extend(),
                );
            }
        };
        let (token, model) = tokens::create(
            db,
            Some(c),
            tokens::NewToken {
                account_id,
                name: input.name,
                role: input.role.map(Into::into),
                expires_at,
                team_ids: input
                    .team_ids
                    .unwrap_or_default()
                    .into_iter()
                    .map(|i| i.0)
                    .collect(),
            },
        )
        .await
        .api()?;
        Ok(CreatedApiToken {
            token,
            api_token: ApiToken(model),
        })
    }

    /// Revokes an API token: admins any, others their own.
    async fn revoke_api_token(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<ApiToken> {
        let c = caller(ctx)?;
        let db = ctx.data_unchecked::<DatabaseConnection>();
        tokens::revoke(db, Some(c), parse_id(&id)?)
            .await
            .map(ApiToken)
            .api()
    }
}
