//! Logging in: the OAuth or OpenID Connect provider, who gets an account
//! at first login, and how long a session lasts.

use std::net::SocketAddr;

use chrono::Duration;
use secrecy::SecretString;

use super::read::{age_var, is_http_url, list};
use super::{Config, ConfigError};

/// The demo identity provider's client (`serve --demo` and tests).
pub const DEMO_CLIENT_ID: &str = "pagerlens-demo";
pub const DEMO_CLIENT_SECRET: &str = "pagerlens-demo-secret";

/// Which kind of provider: decides the default endpoints and how the email
/// and its verification are read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProviderKind {
    Google,
    GitHub,
    Generic,
    Demo,
}

/// A provider's settings (from `PAGERLENS_OAUTH_*`).
#[derive(Clone, Debug)]
pub struct ProviderSettings {
    pub kind: ProviderKind,
    pub client_id: String,
    pub client_secret: SecretString,
    pub authorize_url: String,
    pub token_url: String,
    pub userinfo_url: String,
    pub scopes: Vec<String>,
    /// `PAGERLENS_OAUTH_REDIRECT_URL`; default `/auth/callback` under the public URL.
    pub redirect_url: Option<String>,
    /// `PAGERLENS_OAUTH_ISSUER`: an OpenID Connect issuer whose discovery
    /// document gives the endpoints (the three URLs above are then unused).
    pub issuer: Option<String>,
}

impl ProviderSettings {
    /// The defaults of a known provider; `None` for the generic kind, whose
    /// endpoints must all be configured.
    pub fn defaults(
        kind: ProviderKind,
    ) -> Option<(&'static str, &'static str, &'static str, &'static str)> {
        match kind {
            ProviderKind::Google => Some((
                "https://accounts.google.com/o/oauth2/v2/auth",
                "https://oauth2.googleapis.com/token",
                "https://openidconnect.googleapis.com/v1/userinfo",
                "openid email profile",
            )),
            ProviderKind::GitHub => Some((
                "https://github.com/login/oauth/authorize",
                "https://github.com/login/oauth/access_token",
                "https://api.github.com/user",
                "read:user user:email",
            )),
            ProviderKind::Generic | ProviderKind::Demo => None,
        }
    }
}

/// Who gets an account at their first login.
#[derive(Clone, Debug, Default)]
pub struct LoginPolicy {
    /// Get an admin account at their first login.
    pub admin_emails: Vec<String>,
    /// Anyone with a verified address in these domains gets a viewer account.
    pub auto_provision_domains: Vec<String>,
}

/// How long a session lasts.
#[derive(Clone, Copy, Debug)]
pub struct SessionLifetime {
    /// Ends after this long without a request.
    pub idle: Duration,
    /// Ends this long after login, however busy.
    pub absolute: Duration,
}

impl Default for SessionLifetime {
    fn default() -> Self {
        Self {
            idle: Duration::hours(12),
            absolute: Duration::days(7),
        }
    }
}

/// What [`read`] reads: the public URL, the provider, the login policy and
/// the session lifetime.
pub(super) type Auth = (
    url::Url,
    Option<ProviderSettings>,
    LoginPolicy,
    SessionLifetime,
);

/// `PAGERLENS_PUBLIC_URL` (default `http://` + the bind address),
/// `PAGERLENS_OAUTH_*`, `PAGERLENS_ADMIN_EMAILS`,
/// `PAGERLENS_AUTO_PROVISION_DOMAINS` and `PAGERLENS_SESSION_*`.
pub(super) fn read(
    get: &impl Fn(&str) -> Option<String>,
    bind: SocketAddr,
) -> Result<Auth, ConfigError> {
    let public_url = match get("PAGERLENS_PUBLIC_URL") {
        None => url::Url::parse(&format!("http://{bind}/")).expect("an address is a URL"),
        Some(v) if is_http_url(&v) => url::Url::parse(&v).expect("checked"),
        Some(v) => {
            return Err(ConfigError::Invalid {
                var: "PAGERLENS_PUBLIC_URL",
                value: v,
                expected: "an http or https URL such as https://pagerlens.example.com",
                message: "not a URL this server can be reached at".into(),
            });
        }
    };
    let policy = LoginPolicy {
        admin_emails: list(get, "PAGERLENS_ADMIN_EMAILS"),
        auto_provision_domains: list(get, "PAGERLENS_AUTO_PROVISION_DOMAINS")
            .into_iter()
            .map(|d| d.trim_start_matches('@').to_owned())
            .collect(),
    };
    for e in &policy.admin_emails {
        if e.parse::<lettre::Address>().is_err() {
            return Err(ConfigError::Invalid {
                var: "PAGERLENS_ADMIN_EMAILS",
                value: e.clone(),
                expected: "comma-separated email addresses",
                message: "not an email address".into(),
            });
        }
    }
    let defaults = SessionLifetime::default();
    let lifetime = SessionLifetime {
        idle: age_var(get, "PAGERLENS_SESSION_IDLE", defaults.idle)?,
        absolute: age_var(get, "PAGERLENS_SESSION_MAX", defaults.absolute)?,
    };
    Ok((public_url, read_provider(get)?, policy, lifetime))
}

/// The login provider, if one is configured.
fn read_provider(
    get: &impl Fn(&str) -> Option<String>,
) -> Result<Option<ProviderSettings>, ConfigError> {
    let issuer = get("PAGERLENS_OAUTH_ISSUER");
    if let Some(v) = &issuer {
        if !is_http_url(v) {
            return Err(ConfigError::Invalid {
                var: "PAGERLENS_OAUTH_ISSUER",
                value: v.clone(),
                expected: "the issuer's URL, such as https://accounts.example.com",
                message: "not an http or https URL".into(),
            });
        }
        // The endpoints come from the issuer's discovery document.
        for var in [
            "PAGERLENS_OAUTH_AUTHORIZE_URL",
            "PAGERLENS_OAUTH_TOKEN_URL",
            "PAGERLENS_OAUTH_USERINFO_URL",
        ] {
            if let Some(value) = get(var) {
                return Err(ConfigError::Invalid {
                    var,
                    value,
                    expected: "unset when PAGERLENS_OAUTH_ISSUER is set",
                    message:
                        "an OpenID Connect issuer's endpoints come from its discovery document"
                            .into(),
                });
            }
        }
    }
    let provider = match (get("PAGERLENS_OAUTH_PROVIDER"), &issuer) {
        (Some(p), _) => p,
        (None, Some(_)) => "generic".to_owned(),
        (None, None) => return Ok(None),
    };
    let kind = match provider.to_ascii_lowercase().as_str() {
        "google" => ProviderKind::Google,
        "github" if issuer.is_some() => {
            return Err(ConfigError::Invalid {
                var: "PAGERLENS_OAUTH_PROVIDER",
                value: provider,
                expected: "google or generic with PAGERLENS_OAUTH_ISSUER",
                message: "GitHub logins are OAuth 2.0, not OpenID Connect".into(),
            });
        }
        "github" => ProviderKind::GitHub,
        "generic" | "oidc" => ProviderKind::Generic,
        _ => {
            return Err(ConfigError::Invalid {
                var: "PAGERLENS_OAUTH_PROVIDER",
                value: provider,
                expected: "google, github or generic",
                message: "unknown provider".into(),
            });
        }
    };
    // With an issuer, the endpoints are discovered: none are required.
    let defaults = if issuer.is_some() {
        Some(("", "", "", "openid email profile"))
    } else {
        ProviderSettings::defaults(kind)
    };
    let required = |var: &'static str, default: Option<&str>| -> Result<String, ConfigError> {
        get(var)
            .or_else(|| default.map(str::to_owned))
            .ok_or(ConfigError::Invalid {
                var,
                value: String::new(),
                expected: "a value (required by PAGERLENS_OAUTH_PROVIDER)",
                message: "missing".into(),
            })
    };
    let scopes = required(
        "PAGERLENS_OAUTH_SCOPES",
        defaults.map(|d| d.3).or(Some("openid email profile")),
    )?;
    Ok(Some(ProviderSettings {
        kind,
        client_id: required("PAGERLENS_OAUTH_CLIENT_ID", None)?,
        client_secret: SecretString::from(required("PAGERLENS_OAUTH_CLIENT_SECRET", None)?),
        authorize_url: required("PAGERLENS_OAUTH_AUTHORIZE_URL", defaults.map(|d| d.0))?,
        token_url: required("PAGERLENS_OAUTH_TOKEN_URL", defaults.map(|d| d.1))?,
        userinfo_url: required("PAGERLENS_OAUTH_USERINFO_URL", defaults.map(|d| d.2))?,
        scopes: scopes
            .split([' ', ','])
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        redirect_url: get("PAGERLENS_OAUTH_REDIRECT_URL"),
        issuer,
    }))
}

impl Config {
    /// Turns on the in-process demo identity provider as the login provider
    /// (`serve --demo`, tests).
    pub fn enable_demo_identity_provider(&mut self) {
        self.demo_identity_provider = true;
        self.oauth = Some(ProviderSettings {
            kind: ProviderKind::Demo,
            client_id: DEMO_CLIENT_ID.into(),
            client_secret: SecretString::from(DEMO_CLIENT_SECRET),
            authorize_url: String::new(),
            token_url: String::new(),
            userinfo_url: String::new(),
            scopes: vec!["openid".into(), "email".into(), "profile".into()],
            redirect_url: None,
            issuer: None,
        });
    }

    /// The OAuth redirect URL: `PAGERLENS_OAUTH_REDIRECT_URL`, or
    /// `/auth/callback` under the public URL.
    pub fn oauth_redirect_url(&self) -> String {
        self.oauth
            .as_ref()
            .and_then(|o| o.redirect_url.clone())
            .unwrap_or_else(|| {
                self.public_url
                    .join("/auth/callback")
                    .expect("a path")
                    .to_string()
            })
    }
}
