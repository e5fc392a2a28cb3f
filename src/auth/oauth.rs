//! The OAuth 2.0 authorization-code login with PKCE, for Google, GitHub, any
//! OpenID Connect provider found by discovery (`PAGERLENS_OAUTH_ISSUER`, see
//! [`super::oidc`]), any plain OAuth 2.0 provider with hand-set endpoints,
//! and the demo identity provider.
//!
//! `/auth/login` calls [`Provider::start`]: a random `state` and PKCE verifier
//! are stored (hashed state) together with a hash of a random nonce that the
//! browser keeps in a cookie, so the `state` only works in the browser that
//! started the login. `/auth/callback` calls [`Provider::finish`], which
//! consumes the stored state (single use), checks the browser nonce, exchanges
//! the code with the verifier through a client that never follows redirects,
//! reads the verified email — from the validated ID token of an OpenID
//! Connect provider, else from its userinfo — and starts a session.

use std::sync::Arc;

use chrono::{Duration, Utc};
use oauth2::basic::BasicClient;
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointNotSet, EndpointSet,
    PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope, TokenResponse, TokenUrl,
};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use secrecy::ExposeSecret;
use serde_json::Value;

use super::accounts;
use super::sessions;
use super::{AuthError, hash_secret, random_secret};
use crate::config::LoginPolicy;
use crate::config::{ProviderKind, ProviderSettings, SessionLifetime};
use crate::entities::login_state;

type Client = BasicClient<EndpointSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointSet>;

/// How a provider's logins run.
#[derive(Clone)]
enum Flow {
    /// OAuth 2.0 with hand-set endpoints (and the demo provider): the email
    /// comes from userinfo.
    OAuth2 {
        client: Box<Client>,
        userinfo_url: String,
    },
    /// OpenID Connect found by discovery: the email comes from the
    /// validated ID token (or userinfo, when the token has none).
    Oidc(Arc<super::oidc::Oidc>),
}

/// A configured provider, ready to run logins.
#[derive(Clone)]
pub struct Provider {
    settings: ProviderSettings,
    redirect_url: String,
    flow: Flow,
    http: reqwest::Client,
}

/// How long a started login may take.
const LOGIN_TTL_MINUTES: i64 = 10;

/// A started login: where to send the browser, and the nonce for its cookie.
pub struct LoginStart {
    pub authorize_url: String,
    pub browser_nonce: String,
}

/// Where a login may return to: a path on this site only.
///
/// # Errors
/// Anything that could leave the site (`//host`, `https://…`, backslashes,
/// control characters).
pub fn safe_next(next: Option<&str>) -> Result<String, AuthError> {
    let Some(next) = next.filter(|n| !n.is_empty()) else {
        return Ok("/playground".into());
    };
    let ok = next.starts_with('/')
        && !next.starts_with("//")
        && !next.contains('\\')
        && !next.chars().any(char::is_control)
        && next.len() <= 2000;
    if ok {
        Ok(next.to_owned())
    } else {
        Err(AuthError::BadInput(format!(
            "{next:?} is not a page of this site: only paths such as /playground are allowed"
        )))
    }
}

impl Provider {
    /// The configured provider, if any; the demo provider's endpoints are
    /// this server's own `/auth/demo/*`, and an OpenID Connect issuer's come
    /// from its discovery document, read now.
    ///
    /// # Errors
    /// A URL in the settings cannot be parsed, or the issuer's discovery
    /// document cannot be read.
    pub async fn from_config(config: &crate::config::Config) -> Result<Option<Self>, String> {
        let Some(mut settings) = config.oauth.clone() else {
            return Ok(None);
        };
        if settings.kind == ProviderKind::Demo {
            let at = |path: &str| config.public_url.join(path).expect("a path").to_string();
            settings.authorize_url = at("/auth/demo/authorize");
            settings.token_url = at("/auth/demo/token");
            settings.userinfo_url = at("/auth/demo/userinfo");
        }
        Self::new(settings, config.oauth_redirect_url())
            .await
            .map(Some)
    }

    /// # Errors
    /// A URL in the settings cannot be parsed, or the issuer's discovery
    /// document cannot be read.
    pub async fn new(settings: ProviderSettings, redirect_url: String) -> Result<Self, String> {
        let bad =
            |what: &str, e: &dyn std::fmt::Display| format!("OAuth {what} URL is invalid: {e}");
        let http = reqwest::Client::builder()
            // Following redirects would open the token exchange to SSRF.
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(std::time::Duration::from_secs(5))
            .timeout(std::time::Duration::from_secs(15))
            .user_agent(concat!("pagerlens/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot build the OAuth HTTP client: {e}"))?;
        let flow = match &settings.issuer {
            Some(issuer) => Flow::Oidc(Arc::new(
                super::oidc::Oidc::discover(
                    issuer,
                    &settings.client_id,
                    &settings.client_secret,
                    &redirect_url,
                    http.clone(),
                )
                .await?,
            )),
            None => {
                let client = BasicClient::new(ClientId::new(settings.client_id.clone()))
                    .set_client_secret(ClientSecret::new(
                        settings.client_secret.expose_secret().to_owned(),
                    ))
                    .set_auth_uri(
                        AuthUrl::new(settings.authorize_url.clone())
                            .map_err(|e| bad("authorize", &e))?,
                    )
                    .set_token_uri(
                        TokenUrl::new(settings.token_url.clone()).map_err(|e| bad("token", &e))?,
                    )
                    .set_redirect_uri(
                        RedirectUrl::new(redirect_url.clone()).map_err(|e| bad("redirect", &e))?,
                    );
                url::Url::parse(&settings.userinfo_url).map_err(|e| bad("userinfo", &e))?;
                Flow::OAuth2 {
                    client: Box::new(client),
                    userinfo_url: settings.userinfo_url.clone(),
                }
            }
        };
        Ok(Self {
            settings,
            redirect_url,
            flow,
            http,
        })
    }

    pub fn kind(&self) -> ProviderKind {
        self.settings.kind
    }

    /// Where the provider sends the browser back to.
    pub fn redirect_url(&self) -> &str {
        &self.redirect_url
    }

    /// Starts a login that will return to `next` (already checked with [`safe_next`]).
    pub async fn start<C: ConnectionTrait>(
        &self,
        db: &C,
        next: &str,
    ) -> Result<LoginStart, AuthError> {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (url, state, nonce_hash) = match &self.flow {
            Flow::OAuth2 { client, .. } => {
                let mut request = client
                    .authorize_url(CsrfToken::new_random)
                    .set_pkce_challenge(challenge);
                for s in &self.settings.scopes {
                    request = request.add_scope(Scope::new(s.clone()));
                }
                let (url, state) = request.url();
                (url.to_string(), state, None)
            }
            Flow::Oidc(oidc) => {
                let (url, state, nonce) =
                    oidc.authorize_url(&self.settings.scopes, challenge).await;
                (url, state, Some(hash_secret(nonce.secret())))
            }
        };
        let browser_nonce = random_secret(32);
        let now = Utc::now();
        // Old, abandoned logins go as new ones arrive.
        login_state::Entity::delete_many()
            .filter(login_state::Column::ExpiresAt.lte(now))
            .exec(db)
            .await?;
        login_state::ActiveModel {
            state_hash: Set(hash_secret(state.secret())),
            browser_hash: Set(hash_secret(&browser_nonce)),
            pkce_verifier: Set(verifier.secret().clone()),
            nonce_hash: Set(nonce_hash),
            next_path: Set(next.to_owned()),
            expires_at: Set(now + Duration::minutes(LOGIN_TTL_MINUTES)),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(db)
        .await?;
        Ok(LoginStart {
            authorize_url: url,
            browser_nonce,
        })
    }

    /// Completes a login; returns the new session id and where to go.
    ///
    /// # Errors
    /// [`AuthError::Unauthenticated`] for a missing, used, expired or foreign
    /// state, a refused code or verifier, or an unverified email;
    /// [`AuthError::Forbidden`] when the email has no (active) account.
    pub async fn finish<C: ConnectionTrait>(
        &self,
        db: &C,
        policy: &LoginPolicy,
        lifetime: SessionLifetime,
        state: &str,
        code: &str,
        browser_nonce: Option<&str>,
    ) -> Result<(String, String), AuthError> {
        let refused =
            |why: &str| AuthError::Unauthenticated(format!("Login failed: {why}. Start again."));
        let state_hash = hash_secret(state);
        let Some(pending) = login_state::Entity::find_by_id(state_hash.clone())
            .one(db)
            .await?
        else {
            return Err(refused("this login is unknown or was already used"));
        };
        // Single use, whatever happens next.
        let deleted = login_state::Entity::delete_by_id(state_hash)
            .exec(db)
            .await?
            .rows_affected;
        if deleted != 1 {
            return Err(refused("this login was already used"));
        }
        if pending.expires_at <= Utc::now() {
            return Err(refused("the login took too long"));
        }
        if browser_nonce.map(hash_secret).as_deref() != Some(pending.browser_hash.as_str()) {
            return Err(refused("the login was started in another browser"));
        }
        let (email, name) = match &self.flow {
            Flow::OAuth2 {
                client,
                userinfo_url,
            } => {
                let token = client
                    .exchange_code(AuthorizationCode::new(code.to_owned()))
                    .set_pkce_verifier(PkceCodeVerifier::new(pending.pkce_verifier.clone()))
                    .request_async(&self.http)
                    .await
                    .map_err(|e| {
                        tracing::warn!(error = %e, "OAuth code exchange refused");
                        refused("the identity provider refused the authorization code")
                    })?;
                self.verified_email(userinfo_url, token.access_token().secret(), None)
                    .await?
            }
            Flow::Oidc(oidc) => {
                let Some(nonce_hash) = pending.nonce_hash.as_deref() else {
                    return Err(refused("this login was started without a nonce"));
                };
                let id = oidc
                    .exchange(code, &pending.pkce_verifier, nonce_hash)
                    .await?;
                match id.email {
                    Some(email) if id.email_verified != Some(false) => (email, id.name),
                    Some(_) => return Err(unverified()),
                    None => {
                        // The ID token carries no email: ask userinfo, for
                        // the same subject.
                        let url = oidc.userinfo_url().await.ok_or_else(unverified)?;
                        let (email, name) = self
                            .verified_email(&url, &id.access_token, Some(&id.subject))
                            .await?;
                        (email, id.name.or(name))
                    }
                }
            }
        };
        let account = accounts::login(db, policy, &email, name.as_deref()).await?;
        let session = sessions::create(db, account.id, lifetime).await?;
        tracing::info!(email = %account.email, "logged in");
        Ok((session, pending.next_path))
    }

    async fn get_json(&self, url: &str, access_token: &str) -> Result<Value, AuthError> {
        let resp = self
            .http
            .get(url)
            .bearer_auth(access_token)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|e| {
                tracing::warn!(error = %e, "OAuth userinfo request failed");
                AuthError::Unauthenticated(
                    "Login failed: the identity provider did not say who you are. Start again."
                        .into(),
                )
            })?;
        resp.json().await.map_err(|_| {
            AuthError::Unauthenticated(
                "Login failed: the identity provider's answer could not be read.".into(),
            )
        })
    }

    /// The email (and name) of the person from userinfo, verified as the
    /// provider says; with `subject`, userinfo must be about it (OpenID
    /// Connect Core 5.3.2).
    async fn verified_email(
        &self,
        userinfo_url: &str,
        access_token: &str,
        subject: Option<&str>,
    ) -> Result<(String, Option<String>), AuthError> {
        let info = self.get_json(userinfo_url, access_token).await?;
        if let Some(subject) = subject
            && info["sub"].as_str() != Some(subject)
        {
            return Err(AuthError::Unauthenticated(
                "Login failed: the identity provider's userinfo is about someone else. Start again."
                    .into(),
            ));
        }
        let name = info["name"]
            .as_str()
            .or_else(|| info["preferred_username"].as_str())
            .or_else(|| info["login"].as_str())
            .map(str::to_owned);
        let email = match self.settings.kind {
            ProviderKind::GitHub => {
                // GitHub's profile email may be empty or unverified: take the
                // primary, verified address from /user/emails.
                let emails_url = format!("{}/emails", userinfo_url.trim_end_matches('/'));
                let emails = self.get_json(&emails_url, access_token).await?;
                emails
                    .as_array()
                    .and_then(|list| {
                        list.iter()
                            .find(|e| e["primary"] == true && e["verified"] == true)
                    })
                    .and_then(|e| e["email"].as_str())
                    .map(str::to_owned)
                    .ok_or_else(unverified)?
            }
            _ => {
                // OIDC: `email_verified` must not be false (Google always sends it).
                let verified = match &info["email_verified"] {
                    Value::Bool(b) => *b,
                    Value::String(s) => s == "true",
                    Value::Null => self.settings.kind != ProviderKind::Google,
                    _ => false,
                };
                if !verified {
                    return Err(unverified());
                }
                info["email"]
                    .as_str()
                    .map(str::to_owned)
                    .ok_or_else(unverified)?
            }
        };
        Ok((email, name))
    }
}

/// Refusal: no verified email.
fn unverified() -> AuthError {
    AuthError::Unauthenticated(
        "Login failed: your identity provider does not list a verified email address.".into(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_is_a_path_on_this_site() {
        assert_eq!(safe_next(None).unwrap(), "/playground");
        assert_eq!(safe_next(Some("/graphql?x=1")).unwrap(), "/graphql?x=1");
        for bad in [
            "https://evil.example/",
            "//evil.example/",
            "/\\evil.example",
            "evil",
            "/ok\r\nSet-Cookie: x=1",
            "javascript:alert(1)",
        ] {
            assert!(safe_next(Some(bad)).is_err(), "{bad}");
        }
    }
}
