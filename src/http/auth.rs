//! `/auth/*`: the OAuth login and logout pages, and how a request's
//! credentials (a bearer token or the session cookie) become a [`Caller`].

use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use cookie::{Cookie, SameSite};
use serde::Deserialize;
use serde_json::json;

use super::AppState;
use crate::auth::oauth::safe_next;
use crate::auth::{AuthError, Caller, Credential, sessions, tokens};
use crate::graphql::error::{FORBIDDEN, UNAUTHENTICATED};

pub const SESSION_COOKIE: &str = "pagerlens_session";
pub const LOGIN_COOKIE: &str = "pagerlens_login";

fn cookie_value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn set_cookie(
    state: &AppState,
    name: &str,
    value: &str,
    path: &str,
    max_age: Option<cookie::time::Duration>,
) -> HeaderValue {
    let mut c = Cookie::build((name.to_owned(), value.to_owned()))
        .path(path.to_owned())
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(state.config.secure_cookies());
    if let Some(age) = max_age {
        c = c.max_age(age);
    }
    HeaderValue::from_str(&c.build().to_string()).expect("cookie is ASCII")
}

/// A JSON error in GraphQL's shape, for requests refused before GraphQL runs.
pub fn refusal(status: StatusCode, code: &str, message: &str) -> Response {
    let mut resp = (
        status,
        axum::Json(json!({"errors": [{"message": message, "extensions": {"code": code}}]})),
    )
        .into_response();
    if status == StatusCode::UNAUTHORIZED {
        resp.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"pagerlens\""),
        );
    }
    resp
}

fn internal(e: &AuthError) -> Response {
    tracing::error!(error = %e, "authentication failed on our side");
    refusal(
        StatusCode::INTERNAL_SERVER_ERROR,
        crate::graphql::error::INTERNAL,
        crate::graphql::error::INTERNAL_MESSAGE,
    )
}

/// The caller behind the request: a bearer token first, then the session
/// cookie. A bearer token that is not valid is refused outright (401) rather
/// than ignored; a stale cookie is simply no caller.
///
/// # Errors
/// The response to send instead.
pub async fn caller(state: &AppState, headers: &HeaderMap) -> Result<Option<Caller>, Response> {
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        let token = value
            .to_str()
            .ok()
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(str::trim);
        let Some(token) = token else {
            return Err(refusal(
                StatusCode::UNAUTHORIZED,
                UNAUTHENTICATED,
                "Authorization must be `Bearer <API token>`",
            ));
        };
        return match tokens::authenticate(&state.db, token).await {
            Ok(Some(c)) => Ok(Some(c)),
            Ok(None) => Err(refusal(
                StatusCode::UNAUTHORIZED,
                UNAUTHENTICATED,
                "The API token is unknown, revoked or expired, or its account is deactivated.",
            )),
            Err(e) => Err(internal(&e)),
        };
    }
    if let Some(id) = cookie_value(headers, SESSION_COOKIE) {
        return sessions::authenticate(&state.db, id, state.config.session_lifetime)
            .await
            .map_err(|e| internal(&e));
    }
    Ok(None)
}

/// Like [`caller`], but a missing caller is a 401.
///
/// # Errors
/// The response to send instead.
pub async fn require_caller(state: &AppState, headers: &HeaderMap) -> Result<Caller, Response> {
    caller(state, headers).await?.ok_or_else(|| {
        refusal(
            StatusCode::UNAUTHORIZED,
            UNAUTHENTICATED,
            "Authentication required: log in at /auth/login or send `Authorization: Bearer <API token>`.",
        )
    })
}

/// Whether a request comes from this site: no cross-site `Sec-Fetch-Site`,
/// and an `Origin`, when sent, equal to the public URL's or the `Host`'s.
pub fn same_origin(state: &AppState, headers: &HeaderMap) -> bool {
    if headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("cross-site"))
    {
        return false;
    }
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    let public = state.config.public_url.origin().ascii_serialization();
    if origin == public {
        return true;
    }
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    host.is_some_and(|h| origin == format!("http://{h}") || origin == format!("https://{h}"))
}

/// CSRF protection for state-changing requests authenticated by the cookie:
/// a cross-site origin is refused (the JSON content type is checked by the
/// GraphQL handler). Token requests carry no ambient credential. Returns the
/// 403 to send, if any.
pub fn csrf_refusal(state: &AppState, headers: &HeaderMap, caller: &Caller) -> Option<Response> {
    (caller.credential == Credential::Session && !same_origin(state, headers)).then(|| {
        refusal(
            StatusCode::FORBIDDEN,
            FORBIDDEN,
            "Cross-site request refused: use this site's pages or an API token.",
        )
    })
}

fn page(status: StatusCode, title: &str, message: &str) -> Response {
    let body = maud::html! {
        h1 { (title) }
        p id="message" { (message) }
        p { a href="/auth/login" { "Log in again" } " · " a href="/playground" { "Playground" } }
    };
    (
        status,
        [(header::CACHE_CONTROL, "no-store")],
        Html(crate::pages::page(&format!("pagerlens: {title}"), &body)),
    )
        .into_response()
}

#[derive(Deserialize)]
pub struct LoginParams {
    next: Option<String>,
}

/// `GET /auth/login?next=/path`: starts the OAuth login.
pub async fn login(State(state): State<AppState>, Query(p): Query<LoginParams>) -> Response {
    let next = match safe_next(p.next.as_deref()) {
        Ok(n) => n,
        Err(e) => return page(StatusCode::BAD_REQUEST, "Login refused", &e.to_string()),
    };
    let Some(provider) = &state.oauth else {
        return page(
            StatusCode::SERVICE_UNAVAILABLE,
            "No login provider",
            "This server has no OAuth provider configured (PAGERLENS_OAUTH_PROVIDER). Use an API token, or ask the operator.",
        );
    };
    match provider.start(&state.db, &next).await {
        Ok(start) => {
            let mut resp = Redirect::to(&start.authorize_url).into_response();
            resp.headers_mut().append(
                header::SET_COOKIE,
                set_cookie(
                    &state,
                    LOGIN_COOKIE,
                    &start.browser_nonce,
                    "/auth",
                    Some(cookie::time::Duration::minutes(10)),
                ),
            );
            resp
        }
        Err(e) => {
            tracing::error!(error = %e, "cannot start a login");
            page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Login failed",
                "The login could not be started; it has been logged.",
            )
        }
    }
}

#[derive(Deserialize)]
pub struct CallbackParams {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// `GET /auth/callback`: the provider sends the browser back here.
pub async fn callback(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(p): Query<CallbackParams>,
) -> Response {
    let Some(provider) = &state.oauth else {
        return page(
            StatusCode::SERVICE_UNAVAILABLE,
            "No login provider",
            "This server has no OAuth provider configured.",
        );
    };
    if let Some(error) = p.error {
        let detail = p.error_description.unwrap_or_default();
        return page(
            StatusCode::UNAUTHORIZED,
            "Login cancelled",
            &format!("The identity provider answered {error}. {detail}"),
        );
    }
    let (Some(code), Some(login_state)) = (p.code, p.state) else {
        return page(
            StatusCode::BAD_REQUEST,
            "Login failed",
            "The callback lacks its code or state. Start again.",
        );
    };
    let nonce = cookie_value(&headers, LOGIN_COOKIE);
    let clear_login = set_cookie(
        &state,
        LOGIN_COOKIE,
        "",
        "/auth",
        Some(cookie::time::Duration::ZERO),
    );
    let result = provider
        .finish(
            &state.db,
            &state.config.login_policy,
            state.config.session_lifetime,
            &login_state,
            &code,
            nonce,
        )
        .await;
    let mut resp = match result {
        Ok((session, next)) => {
            let mut resp = Redirect::to(&next).into_response();
            resp.headers_mut().append(
                header::SET_COOKIE,
                set_cookie(&state, SESSION_COOKIE, &session, "/", None),
            );
            resp
        }
        Err(AuthError::Unauthenticated(m)) => page(StatusCode::UNAUTHORIZED, "Login failed", &m),
        Err(AuthError::Forbidden(m)) => page(StatusCode::FORBIDDEN, "Access refused", &m),
        Err(AuthError::BadInput(m)) => page(StatusCode::BAD_REQUEST, "Login failed", &m),
        Err(e) => {
            tracing::error!(error = %e, "login failed on our side");
            page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Login failed",
                "Something went wrong on our side; it has been logged.",
            )
        }
    };
    resp.headers_mut().append(header::SET_COOKIE, clear_login);
    resp
}

/// `GET /auth/logout`: a page with the logout button (a GET never logs out,
/// so a link or image on another site cannot).
pub async fn logout_page() -> Response {
    let body = maud::html! {
        h1 { "Log out" }
        form method="post" action="/auth/logout" { button id="logout" { "Log out" } }
    };
    Html(crate::pages::page("pagerlens: log out", &body)).into_response()
}

/// `POST /auth/logout`: ends the session and clears the cookie. A cross-site
/// post is refused.
pub async fn logout(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if !same_origin(&state, &headers) {
        return page(
            StatusCode::FORBIDDEN,
            "Logout refused",
            "Cross-site request refused.",
        );
    }
    if let Some(id) = cookie_value(&headers, SESSION_COOKIE)
        && let Err(e) = sessions::end(&state.db, id).await
    {
        return internal(&e);
    }
    let mut resp = Redirect::to("/playground").into_response();
    *resp.status_mut() = StatusCode::SEE_OTHER;
    resp.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(
            &state,
            SESSION_COOKIE,
            "",
            "/",
            Some(cookie::time::Duration::ZERO),
        ),
    );
    resp
}

/// `GET /auth/status`: whether the browser is logged in (for the playground).
pub async fn status(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let provider = state
        .oauth
        .as_ref()
        .map(|p| format!("{:?}", p.kind()).to_lowercase());
    match caller(&state, &headers).await {
        Ok(Some(c)) => axum::Json(json!({
            "authenticated": true,
            "email": c.account.email,
            "name": c.account.display_name,
            "role": c.role.as_str(),
            "provider": provider,
        }))
        .into_response(),
        Ok(None) | Err(_) => {
            axum::Json(json!({"authenticated": false, "provider": provider})).into_response()
        }
    }
}
