//! The demo identity provider: a small OAuth 2.0 authorization server (code
//! flow with PKCE S256, single-use codes, a userinfo endpoint) that runs
//! in-process under `/auth/demo/*` with `serve --demo` and in tests, so the
//! real login code runs end to end without internet. Its sign-in page lists
//! the demo accounts; there are no passwords, which is why it only ever runs
//! on a loopback address and only when asked for.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use base64::Engine;
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::{Role, random_secret};

pub const CLIENT_ID: &str = "pagerlens-demo";
pub const CLIENT_SECRET: &str = "pagerlens-demo-secret";

/// The demo accounts: one per role.
pub const ACCOUNTS: [(&str, &str, Role); 3] = [
    ("admin@demo.pagerlens.test", "Ada Admin", Role::Admin),
    ("user@demo.pagerlens.test", "Uma User", Role::User),
    ("viewer@demo.pagerlens.test", "Vic Viewer", Role::Viewer),
];

struct Grant {
    redirect_uri: String,
    challenge: String,
    email: String,
    issued: Instant,
}

/// The provider's state: outstanding codes and issued access tokens.
pub struct DemoIdp {
    redirect_uri: String,
    codes: Mutex<HashMap<String, Grant>>,
    tokens: Mutex<HashMap<String, (String, Instant)>>,
}

const CODE_TTL: Duration = Duration::from_secs(120);
const TOKEN_TTL: Duration = Duration::from_secs(3600);

/// The routes under `/auth/demo`, accepting only `redirect_uri`.
pub fn router(redirect_uri: String) -> Router {
    let idp = Arc::new(DemoIdp {
        redirect_uri,
        codes: Mutex::default(),
        tokens: Mutex::default(),
    });
    Router::new()
        .route("/auth/demo/authorize", get(authorize_page).post(authorize))
        .route("/auth/demo/token", post(token))
        .route("/auth/demo/userinfo", get(userinfo))
        .with_state(idp)
}

#[derive(Deserialize)]
struct AuthorizeParams {
    response_type: Option<String>,
    client_id: Option<String>,
    redirect_uri: Option<String>,
    state: Option<String>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
    email: Option<String>,
}

fn bad_request(message: &str) -> Response {
    let body = maud::html! { h1 { "Cannot sign in" } p { (message) } };
    (
        StatusCode::BAD_REQUEST,
        Html(crate::pages::page("Demo sign-in", &body)),
    )
        .into_response()
}

/// Checks the authorization request as a real provider does.
fn check(idp: &DemoIdp, p: &AuthorizeParams) -> Result<(String, String), &'static str> {
    if p.response_type.as_deref() != Some("code") {
        return Err("response_type must be code");
    }
    if p.client_id.as_deref() != Some(CLIENT_ID) {
        return Err("unknown client_id");
    }
    if p.redirect_uri.as_deref() != Some(idp.redirect_uri.as_str()) {
        return Err("redirect_uri is not registered for this client");
    }
    let (Some(state), Some(challenge)) = (&p.state, &p.code_challenge) else {
        return Err("state and a PKCE code_challenge are required");
    };
    if p.code_challenge_method.as_deref() != Some("S256") {
        return Err("code_challenge_method must be S256");
    }
    Ok((state.clone(), challenge.clone()))
}

async fn authorize_page(
    State(idp): State<Arc<DemoIdp>>,
    Query(p): Query<AuthorizeParams>,
) -> Response {
    if let Err(why) = check(&idp, &p) {
        return bad_request(why);
    }
    let hidden = [
        ("response_type", &p.response_type),
        ("client_id", &p.client_id),
        ("redirect_uri", &p.redirect_uri),
        ("state", &p.state),
        ("code_challenge", &p.code_challenge),
        ("code_challenge_method", &p.code_challenge_method),
    ];
    let body = maud::html! {
        h1 { "Demo identity provider" }
        p {
            "This stands in for Google, GitHub or your company's provider in demo mode and tests. Pick an account:"
        }
        form method="post" action="/auth/demo/authorize" {
            @for (name, value) in hidden {
                input type="hidden" name=(name) value=(value.as_deref().unwrap_or_default());
            }
            ul {
                @for (email, name, role) in ACCOUNTS {
                    li {
                        button name="email" value=(email) data-role=(role.as_str())
                            style="width:100%;text-align:left;padding:.7rem;margin:.3rem 0" {
                            "Sign in as " (name) " " small { "(" (email) ", " (role.as_str()) ")" }
                        }
                    }
                }
            }
        }
    };
    Html(crate::pages::page("pagerlens demo sign-in", &body)).into_response()
}

async fn authorize(State(idp): State<Arc<DemoIdp>>, Form(p): Form<AuthorizeParams>) -> Response {
    let (state, challenge) = match check(&idp, &p) {
        Ok(x) => x,
        Err(why) => return bad_request(why),
    };
    let Some(email) = p.email.filter(|e| ACCOUNTS.iter().any(|(a, _, _)| a == e)) else {
        return bad_request("pick one of the demo accounts");
    };
    let code = random_secret(16);
    idp.codes.lock().expect("codes").insert(
        code.clone(),
        Grant {
            redirect_uri: idp.redirect_uri.clone(),
            challenge,
            email,
            issued: Instant::now(),
        },
    );
    let mut target = url::Url::parse(&idp.redirect_uri).expect("checked at start-up");
    target
        .query_pairs_mut()
        .append_pair("code", &code)
        .append_pair("state", &state);
    Redirect::to(target.as_str()).into_response()
}

#[derive(Deserialize)]
struct TokenParams {
    grant_type: Option<String>,
    code: Option<String>,
    redirect_uri: Option<String>,
    code_verifier: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
}

fn oauth_error(error: &str, description: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        axum::Json(json!({"error": error, "error_description": description})),
    )
        .into_response()
}

/// Client authentication by HTTP Basic (what the `oauth2` crate sends) or
/// form fields.
fn client_authenticated(headers: &HeaderMap, p: &TokenParams) -> bool {
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .and_then(|b| String::from_utf8(b).ok());
    let expected_basic = format!("{CLIENT_ID}:{CLIENT_SECRET}");
    basic.as_deref() == Some(expected_basic.as_str())
        || (p.client_id.as_deref() == Some(CLIENT_ID)
            && p.client_secret.as_deref() == Some(CLIENT_SECRET))
}

async fn token(
    State(idp): State<Arc<DemoIdp>>,
    headers: HeaderMap,
    Form(p): Form<TokenParams>,
) -> Response {
    if !client_authenticated(&headers, &p) {
        return (
            StatusCode::UNAUTHORIZED,
            axum::Json(json!({"error": "invalid_client"})),
        )
            .into_response();
    }
    if p.grant_type.as_deref() != Some("authorization_code") {
        return oauth_error("unsupported_grant_type", "only authorization_code");
    }
    // A code is used once: removed before it is checked.
    let Some(grant) = p
        .code
        .as_deref()
        .and_then(|c| idp.codes.lock().expect("codes").remove(c))
    else {
        return oauth_error("invalid_grant", "unknown or already used code");
    };
    if grant.issued.elapsed() > CODE_TTL {
        return oauth_error("invalid_grant", "the code has expired");
    }
    if p.redirect_uri.as_deref() != Some(grant.redirect_uri.as_str()) {
        return oauth_error("invalid_grant", "redirect_uri does not match");
    }
    let Some(verifier) = p.code_verifier else {
        return oauth_error("invalid_grant", "code_verifier is required");
    };
    let computed = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(Sha256::digest(verifier.as_bytes()));
    if computed != grant.challenge {
        return oauth_error(
            "invalid_grant",
            "code_verifier does not match the challenge",
        );
    }
    let access = random_secret(24);
    idp.tokens
        .lock()
        .expect("tokens")
        .insert(access.clone(), (grant.email, Instant::now()));
    axum::Json(json!({"access_token": access, "token_type": "bearer", "expires_in": TOKEN_TTL.as_secs(), "scope": "openid email profile"}))
        .into_response()
}

async fn userinfo(State(idp): State<Arc<DemoIdp>>, headers: HeaderMap) -> Response {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let found = token.and_then(|t| {
        idp.tokens
            .lock()
            .expect("tokens")
            .get(t)
            .filter(|(_, at)| at.elapsed() < TOKEN_TTL)
            .map(|(email, _)| email.clone())
    });
    let Some(email) = found else {
        return (
            StatusCode::UNAUTHORIZED,
            axum::Json(json!({"error": "invalid_token"})),
        )
            .into_response();
    };
    let name = ACCOUNTS
        .iter()
        .find(|(e, _, _)| *e == email)
        .map(|(_, n, _)| *n)
        .unwrap_or_default();
    axum::Json(json!({"sub": email, "email": email, "email_verified": true, "name": name}))
        .into_response()
}
