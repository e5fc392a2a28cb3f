//! `pagerlens user` and `pagerlens token`: accounts and API tokens.

use anyhow::Context;
use clap::Subcommand;

use crate::App;
use crate::config::Config;

#[derive(Subcommand)]
pub enum UserAction {
    /// Add an account (or, with --update, change an existing one's role and reactivate it).
    Add {
        email: String,
        /// admin, user or viewer.
        #[arg(long, default_value = "viewer")]
        role: String,
        /// Display name [default: the part of the email before @].
        #[arg(long)]
        name: Option<String>,
        /// Change the role of an existing account instead of failing.
        #[arg(long)]
        update: bool,
        /// Limit the account to this PagerDuty team id (repeatable) [default: every team].
        #[arg(long = "team", value_name = "TEAM_ID")]
        teams: Vec<String>,
    },
    /// List accounts.
    List,
    /// Deactivate an account: ends its sessions and revokes its tokens.
    Deactivate { email: String },
}

#[derive(Subcommand)]
pub enum TokenAction {
    /// Create an API token and print it on stdout (shown once).
    Create {
        /// Whose token.
        #[arg(long)]
        user: String,
        /// What the token is for.
        #[arg(long)]
        name: String,
        /// Lifetime such as 90d or 12w [default: no expiry].
        #[arg(long, value_name = "AGE")]
        expires: Option<String>,
        /// At most the account's role [default: the account's role].
        #[arg(long)]
        role: Option<String>,
        /// Limit the token to this PagerDuty team id (repeatable) [default: the account's teams].
        #[arg(long = "team", value_name = "TEAM_ID")]
        teams: Vec<String>,
    },
    /// List tokens (never their secrets).
    List,
    /// Revoke a token by id.
    Revoke { id: i32 },
}

pub(super) async fn user(action: UserAction, config: Config) -> anyhow::Result<()> {
    use crate::auth::{Role, accounts, scopes};
    let app = App::build(config).await?;
    match action {
        UserAction::Add {
            email,
            role,
            name,
            update,
            teams,
        } => {
            let role = Role::parse(&role)?;
            // Checked first, so a typo in a team id creates nothing.
            scopes::validate_teams(&app.db, &teams).await?;
            let account = match accounts::find_by_email(&app.db, &email).await? {
                Some(existing) if update => {
                    accounts::set_role(&app.db, existing.id, role).await?;
                    accounts::set_active(&app.db, existing.id, true).await?
                }
                _ => accounts::create(&app.db, &email, name.as_deref(), role).await?,
            };
            if !teams.is_empty() {
                scopes::set_account_teams(&app.db, None, account.id, Some(&teams)).await?;
            }
            println!("{} {} ({})", account.id, account.email, account.role);
        }
        UserAction::List => {
            println!(
                "{:<5} {:<36} {:<7} {:<8} {:<25} teams",
                "id", "email", "role", "active", "last login"
            );
            let all = accounts::list(&app.db).await?;
            let ids: Vec<i32> = all.iter().map(|a| a.id).collect();
            let teams = scopes::teams_of_accounts(&app.db, &ids).await?;
            for a in all {
                println!(
                    "{:<5} {:<36} {:<7} {:<8} {:<25} {}",
                    a.id,
                    a.email,
                    a.role,
                    if a.active { "yes" } else { "no" },
                    a.last_login_at.map_or("never".into(), |t| t.to_rfc3339()),
                    teams.get(&a.id).map_or("all".into(), |t| t.join(","))
                );
            }
        }
        UserAction::Deactivate { email } => {
            let account = accounts::find_by_email(&app.db, &email)
                .await?
                .with_context(|| format!("no account for {email}"))?;
            accounts::set_active(&app.db, account.id, false).await?;
            println!("deactivated {email}: its sessions ended and its tokens are revoked");
        }
    }
    Ok(())
}

pub(super) async fn token(action: TokenAction, config: Config) -> anyhow::Result<()> {
    use crate::auth::{Role, accounts, tokens};
    let app = App::build(config).await?;
    match action {
        TokenAction::Create {
            user,
            name,
            expires,
            role,
            teams,
        } => {
            let account = accounts::find_by_email(&app.db, &user)
                .await?
                .with_context(|| {
                    format!("no account for {user}: add it with `pagerlens user add`")
                })?;
            let expires_at = expires
                .as_deref()
                .map(crate::config::parse_age)
                .transpose()
                .map_err(|e| anyhow::anyhow!("--expires: {e}"))?
                .map(|age| chrono::Utc::now() + age);
            let role = role.as_deref().map(Role::parse).transpose()?;
            let (secret, token) = tokens::create(
                &app.db,
                None,
                tokens::NewToken {
                    account_id: account.id,
                    name,
                    role,
                    expires_at,
                    team_ids: teams,
                },
            )
            .await?;
            eprintln!(
                "token {} ({}) for {} with role {}{}; it is shown only now:",
                token.id,
                token.prefix,
                account.email,
                token.role,
                token
                    .expires_at
                    .map_or(String::new(), |e| format!(", expires {}", e.to_rfc3339()))
            );
            println!("{secret}");
        }
        TokenAction::List => {
            println!(
                "{:<5} {:<14} {:<24} {:<7} {:<8} account",
                "id", "prefix", "name", "role", "usable"
            );
            let accounts: std::collections::HashMap<i32, String> = accounts::list(&app.db)
                .await?
                .into_iter()
                .map(|a| (a.id, a.email))
                .collect();
            for t in tokens::list(&app.db, None).await? {
                let usable =
                    t.revoked_at.is_none() && t.expires_at.is_none_or(|e| e > chrono::Utc::now());
                println!(
                    "{:<5} {:<14} {:<24} {:<7} {:<8} {}",
                    t.id,
                    t.prefix,
                    t.name,
                    t.role,
                    if usable { "yes" } else { "no" },
                    accounts.get(&t.account_id).map_or("?", String::as_str)
                );
            }
        }
        TokenAction::Revoke { id } => {
            tokens::revoke(&app.db, None, id).await?;
            println!("revoked token {id}");
        }
    }
    Ok(())
}
