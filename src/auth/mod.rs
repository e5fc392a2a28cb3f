//! Who may do what: accounts and roles, login sessions, API tokens, the OAuth
//! login flow and the demo identity provider. The adapters (`graphql`,
//! `http`) turn credentials into a [`Caller`] with these functions and check
//! its role; nothing here knows about HTTP or GraphQL.

pub mod accounts;
pub mod demo_idp;
pub mod oauth;
pub mod oidc;
pub mod scopes;
pub mod sessions;
pub mod tokens;

use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::entities::account;

/// A role, from least to most powerful.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// Reads everything non-sensitive.
    Viewer,
    /// Also requests reports and pauses or resumes SLAs.
    User,
    /// Also manages accounts, tokens, mappings and policies, and starts syncs and jobs.
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::User => "user",
            Role::Admin => "admin",
        }
    }

    /// Parses `admin`, `user` or `viewer` (any case).
    ///
    /// # Errors
    /// Any other text.
    pub fn parse(s: &str) -> Result<Self, AuthError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "viewer" => Ok(Role::Viewer),
            "user" => Ok(Role::User),
            "admin" => Ok(Role::Admin),
            other => Err(AuthError::BadInput(format!(
                "unknown role {other:?}: expected admin, user or viewer"
            ))),
        }
    }

    /// The stored role of an account; an unreadable value grants least.
    pub fn of(account: &account::Model) -> Self {
        Role::parse(&account.role).unwrap_or(Role::Viewer)
    }
}

/// How the caller proved who they are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Credential {
    /// A browser session (cookie): mutations need CSRF checks.
    Session,
    /// An API token (`Authorization: Bearer`), by its id.
    Token(i32),
}

/// The authenticated, active account behind a request.
#[derive(Clone, Debug)]
pub struct Caller {
    pub account: account::Model,
    /// What this request may do: the account's role, capped by the token's.
    pub role: Role,
    pub credential: Credential,
    /// The teams whose data this request may see.
    pub scope: crate::scope::Scope,
}

impl Caller {
    pub fn allows(&self, needed: Role) -> bool {
        self.role >= needed
    }

    /// Fails with [`AuthError::Forbidden`] unless the caller has `needed`.
    ///
    /// # Errors
    /// The caller's role is below `needed`.
    pub fn require(&self, needed: Role) -> Result<(), AuthError> {
        if self.allows(needed) {
            Ok(())
        } else {
            Err(AuthError::Forbidden(format!(
                "this needs the {} role; you have {}",
                needed.as_str(),
                self.role.as_str()
            )))
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("{0}")]
    Unauthenticated(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    BadInput(String),
    #[error("{0}")]
    NotFound(String),
    #[error(transparent)]
    Db(#[from] sea_orm::DbErr),
}

/// A random secret of `bytes` bytes, hex-encoded.
pub fn random_secret(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    hex::encode(buf)
}

/// The stored form of a secret (session id, token, state): its SHA-256. The
/// secrets are 160 bits or more of randomness, so a fast hash is enough.
pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Lower-cases and checks an email address: an RFC 5321 address
/// (`lettre::Address`) whose domain has a dot.
///
/// # Errors
/// Anything else.
pub fn normalize_email(email: &str) -> Result<String, AuthError> {
    let email = email.trim().to_lowercase();
    let refuse =
        |why: String| AuthError::BadInput(format!("{email:?} is not an email address{why}"));
    let address: lettre::Address = email.parse().map_err(|e| refuse(format!(": {e}")))?;
    // RFC 5321 allows a bare host (`ann@localhost`); an account's address
    // must reach beyond this machine.
    let domain = address.domain();
    if !domain.contains('.') || domain.starts_with('.') || domain.ends_with('.') {
        return Err(refuse(": the domain needs a dot".into()));
    }
    Ok(address.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_ordered() {
        assert!(Role::Admin > Role::User && Role::User > Role::Viewer);
        assert_eq!(Role::parse("ADMIN").unwrap(), Role::Admin);
        assert!(Role::parse("root").is_err());
    }

    #[test]
    fn emails_are_normalised() {
        assert_eq!(
            normalize_email(" Ann@Example.COM ").unwrap(),
            "ann@example.com"
        );
        for bad in [
            "",
            "ann",
            "@example.com",
            "ann@",
            "ann@example",
            "a b@example.com",
            "a@b@c.com",
            "ann@example.com.",
            "ann@.example.com",
            "ann\u{0}@example.com",
        ] {
            assert!(normalize_email(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn secrets_are_random_and_hashed() {
        let a = random_secret(32);
        assert_eq!(a.len(), 64);
        assert_ne!(a, random_secret(32));
        assert_eq!(hash_secret(&a), hash_secret(&a));
        assert_ne!(hash_secret(&a), a);
    }
}
