//! OpenID Connect the standard way, through the `openidconnect` crate (built
//! on `oauth2`): the endpoints come from the issuer's
//! `/.well-known/openid-configuration` (read at start; a bad or unreachable
//! issuer stops start-up), every login sends a `nonce`, and the ID token is
//! validated — signature by the issuer's JWKS, `iss`, `aud`, `exp`, `nonce`
//! — before its claims are trusted. A signature by a key the stored JWKS
//! lacks (the issuer rotated its keys) or a failed exchange reads the
//! discovery document and the JWKS again.

use std::sync::Arc;

use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreIdTokenClaims, CoreProviderMetadata,
};
use openidconnect::{
    AuthorizationCode, ClaimsVerificationError, ClientId, ClientSecret, CsrfToken, IssuerUrl,
    Nonce, OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope,
    SignatureVerificationError, TokenResponse,
};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::RwLock;

use super::{AuthError, hash_secret};

/// Who the provider says logged in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    /// The ID token's subject.
    pub subject: String,
    /// From the ID token, if it carries one.
    pub email: Option<String>,
    pub email_verified: Option<bool>,
    pub name: Option<String>,
    /// For the userinfo endpoint, when the ID token has no email.
    pub access_token: String,
}

/// An OpenID Connect provider found by discovery.
pub struct Oidc {
    issuer: IssuerUrl,
    client_id: ClientId,
    client_secret: SecretString,
    redirect_url: RedirectUrl,
    http: reqwest::Client,
    metadata: RwLock<Arc<CoreProviderMetadata>>,
}

impl std::fmt::Debug for Oidc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Oidc")
            .field("issuer", &self.issuer.as_str())
            .finish_non_exhaustive()
    }
}

/// Reads the issuer's discovery document and its JWKS.
async fn discover(
    issuer: &IssuerUrl,
    http: &reqwest::Client,
) -> Result<CoreProviderMetadata, String> {
    CoreProviderMetadata::discover_async(issuer.clone(), http)
        .await
        .map_err(|e| {
            let mut message = e.to_string();
            let mut source = std::error::Error::source(&e);
            while let Some(s) = source {
                message.push_str(": ");
                message.push_str(&s.to_string());
                source = s.source();
            }
            message
        })
}

impl Oidc {
    /// Discovers the provider at `issuer`.
    ///
    /// # Errors
    /// The issuer is not a URL, cannot be reached, or its discovery document
    /// or JWKS cannot be read (or names another issuer): the message says
    /// which, for start-up to stop with.
    pub async fn discover(
        issuer: &str,
        client_id: &str,
        client_secret: &SecretString,
        redirect_url: &str,
        http: reqwest::Client,
    ) -> Result<Self, String> {
        let issuer = IssuerUrl::new(issuer.trim_end_matches('/').to_owned())
            .map_err(|e| format!("PAGERLENS_OAUTH_ISSUER is not a URL: {e}"))?;
        let redirect_url = RedirectUrl::new(redirect_url.to_owned())
            .map_err(|e| format!("the OAuth redirect URL is invalid: {e}"))?;
        let metadata = discover(&issuer, &http).await.map_err(|e| {
            format!(
                "cannot read the OpenID Connect discovery document of PAGERLENS_OAUTH_ISSUER {} \
                 ({}/.well-known/openid-configuration): {e}",
                issuer.as_str(),
                issuer.as_str()
            )
        })?;
        Ok(Self {
            issuer,
            client_id: ClientId::new(client_id.to_owned()),
            client_secret: client_secret.clone(),
            redirect_url,
            http,
            metadata: RwLock::new(Arc::new(metadata)),
        })
    }

    /// Reads the discovery document and JWKS again (keys rotated, endpoints
    /// moved). A failure keeps what was known.
    async fn refresh(&self) {
        match discover(&self.issuer, &self.http).await {
            Ok(m) => *self.metadata.write().await = Arc::new(m),
            Err(e) => tracing::warn!(error = %e, "OpenID Connect discovery failed again"),
        }
    }

    async fn metadata(&self) -> Arc<CoreProviderMetadata> {
        self.metadata.read().await.clone()
    }

    fn client(
        &self,
        metadata: &CoreProviderMetadata,
    ) -> openidconnect::core::CoreClient<
        openidconnect::EndpointSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointMaybeSet,
        openidconnect::EndpointMaybeSet,
    > {
        CoreClient::from_provider_metadata(
            metadata.clone(),
            self.client_id.clone(),
            Some(ClientSecret::new(
                self.client_secret.expose_secret().to_owned(),
            )),
        )
        .set_redirect_uri(self.redirect_url.clone())
    }

    /// The provider's userinfo endpoint, if it has one.
    pub async fn userinfo_url(&self) -> Option<String> {
        self.metadata()
            .await
            .userinfo_endpoint()
            .map(|u| u.url().to_string())
    }

    /// Where to send the browser, with the `state`, the PKCE challenge and
    /// a new `nonce`; returns the URL, the state and the nonce.
    pub async fn authorize_url(
        &self,
        scopes: &[String],
        challenge: PkceCodeChallenge,
    ) -> (String, CsrfToken, Nonce) {
        let metadata = self.metadata().await;
        let client = self.client(&metadata);
        let mut request = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .set_pkce_challenge(challenge);
        for s in scopes.iter().filter(|s| s.as_str() != "openid") {
            request = request.add_scope(Scope::new(s.clone()));
        }
        let (url, state, nonce) = request.url();
        (url.to_string(), state, nonce)
    }

    /// Exchanges the code and validates the ID token against the nonce
    /// whose hash the login stored.
    ///
    /// # Errors
    /// [`AuthError::Unauthenticated`] when the exchange is refused, no ID
    /// token comes back, or it fails validation (signature, issuer,
    /// audience, expiry, nonce).
    pub async fn exchange(
        &self,
        code: &str,
        verifier: &str,
        nonce_hash: &str,
    ) -> Result<Identity, AuthError> {
        let refused =
            |why: &str| AuthError::Unauthenticated(format!("Login failed: {why}. Start again."));
        let metadata = self.metadata().await;
        let client = self.client(&metadata);
        let request = client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .map_err(|e| {
                tracing::error!(error = %e, "the OpenID Connect provider lists no token endpoint");
                refused("the identity provider has no token endpoint")
            })?
            .set_pkce_verifier(PkceCodeVerifier::new(verifier.to_owned()));
        let token = match request.request_async(&self.http).await {
            Ok(t) => t,
            Err(e) => {
                tracing::warn!(error = %e, "OpenID Connect code exchange failed");
                // The provider may have moved its endpoints: read them again.
                self.refresh().await;
                return Err(refused(
                    "the identity provider refused the authorization code",
                ));
            }
        };
        let id_token = token
            .id_token()
            .ok_or_else(|| refused("the identity provider sent no ID token"))?;
        let verify = |metadata: &CoreProviderMetadata| -> Result<CoreIdTokenClaims, ClaimsVerificationError> {
            let client = self.client(metadata);
            let verifier = client.id_token_verifier();
            id_token
                .claims(&verifier, |nonce: Option<&Nonce>| match nonce {
                    Some(n) if hash_secret(n.secret()) == nonce_hash => Ok(()),
                    Some(_) => Err("the nonce is not this login's".to_owned()),
                    None => Err("the ID token has no nonce".to_owned()),
                })
                .cloned()
        };
        let claims = match verify(&metadata) {
            Err(ClaimsVerificationError::SignatureVerification(
                SignatureVerificationError::NoMatchingKey,
            )) => {
                // Signed with a key we do not have yet: the keys rotated.
                self.refresh().await;
                verify(self.metadata().await.as_ref())
            }
            other => other,
        }
        .map_err(|e| {
            tracing::warn!(error = %e, "ID token refused");
            refused("the identity provider's ID token could not be verified")
        })?;
        Ok(identity(&claims, token.access_token().secret()))
    }
}

fn identity(claims: &CoreIdTokenClaims, access_token: &str) -> Identity {
    let name = claims
        .name()
        .and_then(|n| n.get(None))
        .map(|n| n.as_str().to_owned())
        .or_else(|| claims.preferred_username().map(|n| n.as_str().to_owned()));
    Identity {
        subject: claims.subject().as_str().to_owned(),
        email: claims.email().map(|e| e.as_str().to_owned()),
        email_verified: claims.email_verified(),
        name,
        access_token: access_token.to_owned(),
    }
}
