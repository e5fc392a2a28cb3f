//! Login through the demo identity provider, sessions, API tokens and roles:
//! what is allowed works, and everything else is refused with nothing changed.

use pagerlens::auth::Role;
use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, LOCATION, ORIGIN, SET_COOKIE};
use sea_orm::{ActiveModelTrait, EntityTrait, PaginatorTrait, Set};
use serde_json::{Value, json};

use crate::common::{TestApp, assert_error};
use crate::on_both_databases;

/// A browser: keeps cookies, does not follow redirects.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn location(resp: &reqwest::Response) -> String {
    resp.headers()[LOCATION].to_str().unwrap().to_owned()
}

fn query_param(url: &str, name: &str) -> String {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| panic!("{name} in {url}"))
}

/// Starts a login in `b`; returns the provider's authorize URL.
async fn start_login(app: &TestApp, b: &reqwest::Client) -> String {
    let resp = b
        .get(app.url("/auth/login?next=/playground"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let authorize = location(&resp);
    assert!(
        authorize.starts_with(&app.url("/auth/demo/authorize?")),
        "{authorize}"
    );
    assert_eq!(query_param(&authorize, "code_challenge_method"), "S256");
    authorize
}

/// Picks `email` on the demo provider's page; returns the callback URL.
async fn authorize(app: &TestApp, b: &reqwest::Client, authorize_url: &str, email: &str) -> String {
    let page = b.get(authorize_url).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains(email));
    let mut form: Vec<(String, String)> = url::Url::parse(authorize_url)
        .unwrap()
        .query_pairs()
        .filter(|(k, _)| k != "scope")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    form.push(("email".into(), email.into()));
    let resp = b
        .post(app.url("/auth/demo/authorize"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let callback = location(&resp);
    assert!(
        callback.starts_with(&app.url("/auth/callback?")),
        "{callback}"
    );
    callback
}

/// A browser logged in as `email`.
async fn logged_in(app: &TestApp, email: &str) -> reqwest::Client {
    let b = browser();
    let authorize_url = start_login(app, &b).await;
    let callback = authorize(app, &b, &authorize_url, email).await;
    let resp = b.get(&callback).send().await.unwrap();
    assert_eq!(
        resp.status(),
        StatusCode::SEE_OTHER,
        "{}",
        resp.text().await.unwrap()
    );
    b
}

async fn me(app: &TestApp, b: &reqwest::Client) -> (StatusCode, Value) {
    let resp = b
        .post(app.url("/graphql"))
        .json(&json!({"query": "{ me { role authenticatedBy account { email active lastLoginAt } } }"}))
        .send()
        .await
        .unwrap();
    (resp.status(), resp.json().await.unwrap_or(Value::Null))
}

async fn session_count(app: &TestApp) -> u64 {
    pagerlens::entities::session::Entity::find()
        .count(&app.db)
        .await
        .unwrap()
}

async fn login_end_to_end_through_the_demo_provider(app: TestApp) {
    let b = browser();
    let authorize_url = start_login(&app, &b).await;
    let callback = authorize(&app, &b, &authorize_url, "user@demo.pagerlens.test").await;
    let resp = b.get(&callback).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&resp),
        "/playground",
        "back to the page the user came from"
    );
    let cookies: Vec<String> = resp
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    let session = cookies
        .iter()
        .find(|c| c.starts_with("pagerlens_session="))
        .expect("session cookie");
    assert!(
        session.contains("HttpOnly")
            && session.contains("SameSite=Lax")
            && session.contains("Path=/"),
        "{session}"
    );
    assert!(
        !session.contains("Secure"),
        "plain HTTP on loopback: not Secure"
    );

    let (status, body) = me(&app, &b).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["me"]["role"], "USER");
    assert_eq!(body["data"]["me"]["authenticatedBy"], "SESSION");
    assert_eq!(
        body["data"]["me"]["account"]["email"],
        "user@demo.pagerlens.test"
    );
    assert!(body["data"]["me"]["account"]["lastLoginAt"].is_string());

    // The callback cannot be replayed.
    let resp = b.get(&callback).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);

    // Logout ends the session.
    let resp = b
        .post(app.url("/auth/logout"))
        .header(ORIGIN, app.base.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(session_count(&app).await, 0);
    let (status, body) = me(&app, &b).await;
    assert_eq!(status, 401);
    assert_error(&body, "UNAUTHENTICATED");
}

async fn tampered_reused_and_foreign_logins_are_refused(app: TestApp) {
    // Tampered state.
    let b = browser();
    let authorize_url = start_login(&app, &b).await;
    let callback = authorize(&app, &b, &authorize_url, "admin@demo.pagerlens.test").await;
    let state = query_param(&callback, "state");
    let code = query_param(&callback, "code");
    let tampered = app.url(&format!("/auth/callback?code={code}&state={state}x"));
    let resp = b.get(&tampered).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    // Missing state.
    let resp = b
        .get(app.url(&format!("/auth/callback?code={code}")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    // The same state from another browser (not bound to it).
    let other = browser();
    let resp = other.get(&callback).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert!(resp.text().await.unwrap().contains("another browser"));
    assert_eq!(session_count(&app).await, 0);

    // A reused authorization code: a new login, the old (already spent or
    // foreign) code.
    let b = browser();
    let first = start_login(&app, &b).await;
    let first_callback = authorize(&app, &b, &first, "admin@demo.pagerlens.test").await;
    let resp = b.get(&first_callback).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER, "the first use works");
    let spent = query_param(&first_callback, "code");
    let second = start_login(&app, &b).await;
    let state2 = query_param(&second, "state");
    let resp = b
        .get(app.url(&format!("/auth/callback?code={spent}&state={state2}")))
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.status(),
        StatusCode::UNAUTHORIZED,
        "a spent code is refused by the provider"
    );
    assert_eq!(
        session_count(&app).await,
        1,
        "only the first login made a session"
    );

    // A wrong PKCE verifier: a code issued for login A exchanged with login B's verifier.
    let b = browser();
    let login_a = start_login(&app, &b).await;
    let callback_a = authorize(&app, &b, &login_a, "viewer@demo.pagerlens.test").await;
    let login_b = start_login(&app, &b).await; // the browser is now bound to B
    let code_a = query_param(&callback_a, "code");
    let state_b = query_param(&login_b, "state");
    let resp = b
        .get(app.url(&format!("/auth/callback?code={code_a}&state={state_b}")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(session_count(&app).await, 1);

    // The provider itself refuses a wrong verifier and a reused code.
    let login_c = start_login(&app, &b).await;
    let callback_c = authorize(&app, &b, &login_c, "viewer@demo.pagerlens.test").await;
    let code_c = query_param(&callback_c, "code");
    let token = |verifier: &'static str, code: String| {
        let app_url = app.url("/auth/demo/token");
        let redirect = app.url("/auth/callback");
        async move {
            reqwest::Client::new()
                .post(app_url)
                .basic_auth(
                    pagerlens::auth::demo_idp::CLIENT_ID,
                    Some(pagerlens::auth::demo_idp::CLIENT_SECRET),
                )
                .form(&[
                    ("grant_type", "authorization_code"),
                    ("code", code.as_str()),
                    ("redirect_uri", redirect.as_str()),
                    ("code_verifier", verifier),
                ])
                .send()
                .await
                .unwrap()
        }
    };
    let resp = token(
        "not-the-verifier-not-the-verifier-not-the-verifier",
        code_c.clone(),
    )
    .await;
    assert_eq!(resp.status(), 400);
    assert_eq!(
        resp.json::<Value>().await.unwrap()["error"],
        "invalid_grant"
    );

    // An open-redirect target is refused before anything is stored.
    for next in [
        "https://evil.example/",
        "//evil.example/x",
        "/\\evil.example",
    ] {
        let resp = browser()
            .get(app.url("/auth/login"))
            .query(&[("next", next)])
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "{next}");
        assert!(resp.headers().get(LOCATION).is_none());
    }
}

async fn sessions_expire_and_inactive_accounts_are_refused(app: TestApp) {
    let b = logged_in(&app, "viewer@demo.pagerlens.test").await;
    assert_eq!(me(&app, &b).await.0, 200);
    // An expired session (absolute expiry) is refused and removed.
    let s = pagerlens::entities::session::Entity::find()
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    let mut m: pagerlens::entities::session::ActiveModel = s.into();
    m.expires_at = Set(chrono::Utc::now() - chrono::Duration::seconds(1));
    m.update(&app.db).await.unwrap();
    assert_eq!(me(&app, &b).await.0, 401);
    assert_eq!(session_count(&app).await, 0);
    // An idle session likewise.
    let b = logged_in(&app, "viewer@demo.pagerlens.test").await;
    let s = pagerlens::entities::session::Entity::find()
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    let mut m: pagerlens::entities::session::ActiveModel = s.into();
    m.last_seen_at = Set(chrono::Utc::now() - chrono::Duration::days(2));
    m.update(&app.db).await.unwrap();
    assert_eq!(me(&app, &b).await.0, 401);

    // Deactivating ends sessions and tokens at once, and refuses new logins.
    let b = logged_in(&app, "viewer@demo.pagerlens.test").await;
    let (_, token) = app
        .account_with_token("helper@example.com", Role::Viewer)
        .await;
    let viewer = pagerlens::auth::accounts::find_by_email(&app.db, "viewer@demo.pagerlens.test")
        .await
        .unwrap()
        .unwrap();
    let (viewer_token, _) = pagerlens::auth::tokens::create(
        &app.db,
        None,
        pagerlens::auth::tokens::NewToken {
            account_id: viewer.id,
            name: "bi".into(),
            role: None,
            expires_at: None,
            team_ids: Vec::new(),
        },
    )
    .await
    .unwrap();
    assert_eq!(
        app.gql_as(&viewer_token, "{ me { role } }", json!({}))
            .await
            .0,
        200
    );
    let d = app
        .data(
            "mutation($id: ID!) { setAccountActive(id: $id, active: false) { active } }",
            json!({"id": viewer.id.to_string()}),
        )
        .await;
    assert_eq!(d["setAccountActive"]["active"], false);
    assert_eq!(me(&app, &b).await.0, 401, "the session ended");
    assert_eq!(
        app.gql_as(&viewer_token, "{ me { role } }", json!({}))
            .await
            .0,
        401,
        "the token ended"
    );
    assert_eq!(
        app.gql_as(&token, "{ me { role } }", json!({})).await.0,
        200,
        "others are untouched"
    );
    let fresh = browser();
    let authorize_url = start_login(&app, &fresh).await;
    let callback = authorize(&app, &fresh, &authorize_url, "viewer@demo.pagerlens.test").await;
    let resp = fresh.get(&callback).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    assert!(resp.text().await.unwrap().contains("deactivated"));
    // Reactivated, the account logs in again (its old token stays revoked).
    app.data(
        "mutation($id: ID!) { setAccountActive(id: $id, active: true) { active } }",
        json!({"id": viewer.id.to_string()}),
    )
    .await;
    logged_in(&app, "viewer@demo.pagerlens.test").await;
    assert_eq!(
        app.gql_as(&viewer_token, "{ me { role } }", json!({}))
            .await
            .0,
        401
    );
}

async fn strangers_get_nothing(app: TestApp) {
    for (method, path) in [
        ("POST", "/graphql"),
        ("GET", "/graphql?query=%7B__typename%7D"),
    ] {
        let req = match method {
            "POST" => app
                .anon
                .post(app.url(path))
                .json(&json!({"query": "{ __schema { queryType { name } } }"})),
            _ => app.anon.get(app.url(path)),
        };
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), 401, "{method} {path}");
        assert!(resp.headers().contains_key("www-authenticate"));
        assert_error(&resp.json().await.unwrap(), "UNAUTHENTICATED");
    }
    // A malformed or unknown bearer token is refused, not ignored.
    for auth in ["Basic abc", "Bearer plt_0000", "Bearer nonsense"] {
        let resp = app
            .anon
            .post(app.url("/graphql"))
            .header("Authorization", auth)
            .json(&json!({"query": "{ me { role } }"}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 401, "{auth}");
    }
    // Public: health, the playground page, the login pages.
    for path in [
        "/healthz",
        "/readyz",
        "/playground",
        "/auth/status",
        "/auth/logout",
    ] {
        assert_eq!(
            app.anon.get(app.url(path)).send().await.unwrap().status(),
            200,
            "{path}"
        );
    }
    let status: Value = app
        .anon
        .get(app.url("/auth/status"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(status["authenticated"], false);
}

async fn api_tokens_are_shown_once_capped_and_revocable(app: TestApp) {
    let (viewer_id, viewer) = app
        .account_with_token("ann@example.com", Role::Viewer)
        .await;
    // A viewer creates a token for itself, at most with its own role.
    let (s, body) = app
        .gql_as(&viewer, "mutation { createApiToken(input: {name: \"metabase\", expiresInDays: 90}) { token apiToken { id prefix role usable expiresAt } } }", json!({}))
        .await;
    assert_eq!(s, 200, "{body}");
    let created = &body["data"]["createApiToken"];
    let secret = created["token"].as_str().unwrap().to_owned();
    assert!(
        secret.starts_with("plt_")
            && secret.starts_with(created["apiToken"]["prefix"].as_str().unwrap())
    );
    assert_eq!(created["apiToken"]["role"], "VIEWER");
    assert!(created["apiToken"]["expiresAt"].is_string());
    let stored = pagerlens::entities::api_token::Entity::find()
        .all(&app.db)
        .await
        .unwrap();
    assert!(
        stored
            .iter()
            .all(|t| t.token_hash != secret && !t.token_hash.contains(&secret[4..])),
        "stored hashed"
    );
    assert_eq!(
        app.gql_as(&secret, "{ me { role authenticatedBy } }", json!({}))
            .await
            .1["data"]["me"]["authenticatedBy"],
        "API_TOKEN"
    );
    // Never above its role, never for someone else.
    let before = stored.len();
    let (_, body) = app
        .gql_as(
            &viewer,
            "mutation { createApiToken(input: {name: \"x\", role: ADMIN}) { token } }",
            json!({}),
        )
        .await;
    assert_error(&body, "FORBIDDEN");
    let (_, body) = app
        .gql_as(
            &viewer,
            "mutation { createApiToken(input: {name: \"x\", accountId: \"1\"}) { token } }",
            json!({}),
        )
        .await;
    assert_error(&body, "FORBIDDEN");
    let (_, body) = app
        .gql_as(
            &viewer,
            "mutation { createApiToken(input: {name: \"\"}) { token } }",
            json!({}),
        )
        .await;
    assert_error(&body, "BAD_USER_INPUT");
    let (_, body) = app
        .gql_as(
            &viewer,
            "mutation { createApiToken(input: {name: \"x\", expiresInDays: 0}) { token } }",
            json!({}),
        )
        .await;
    assert_error(&body, "BAD_USER_INPUT");
    assert_eq!(
        pagerlens::entities::api_token::Entity::find()
            .count(&app.db)
            .await
            .unwrap() as usize,
        before
    );
    // The listing never holds secrets; a viewer sees only its own.
    let (_, body) = app
        .gql_as(&viewer, "{ apiTokens { name prefix } }", json!({}))
        .await;
    assert_eq!(body["data"]["apiTokens"].as_array().unwrap().len(), 2);
    assert!(!body.to_string().contains(&secret));
    let (_, body) = app
        .gql_as(
            &viewer,
            "{ apiTokens(accountId: \"1\") { name } }",
            json!({}),
        )
        .await;
    assert_error(&body, "FORBIDDEN");
    // An admin creates one for the viewer, capped by the viewer's role.
    let body = app
        .gql("mutation($id: ID!) { createApiToken(input: {name: \"ops\", accountId: $id, role: ADMIN}) { token } }", json!({"id": viewer_id.to_string()}))
        .await;
    assert_error(&body, "FORBIDDEN");
    // Revoked and expired tokens are refused.
    let id = created["apiToken"]["id"].as_str().unwrap();
    let (_, body) = app
        .gql_as(
            &viewer,
            "mutation($id: ID!) { revokeApiToken(id: $id) { usable revokedAt } }",
            json!({"id": id}),
        )
        .await;
    assert_eq!(body["data"]["revokeApiToken"]["usable"], false);
    assert_eq!(
        app.gql_as(&secret, "{ me { role } }", json!({})).await.0,
        401
    );
    let t = pagerlens::entities::api_token::Entity::find_by_id(1)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    let (expiring, model) = pagerlens::auth::tokens::create(
        &app.db,
        None,
        pagerlens::auth::tokens::NewToken {
            account_id: t.account_id,
            name: "short".into(),
            role: None,
            expires_at: Some(chrono::Utc::now() + chrono::Duration::hours(1)),
            team_ids: Vec::new(),
        },
    )
    .await
    .unwrap();
    assert_eq!(
        app.gql_as(&expiring, "{ me { role } }", json!({})).await.0,
        200
    );
    let mut m: pagerlens::entities::api_token::ActiveModel = model.into();
    m.expires_at = Set(Some(chrono::Utc::now() - chrono::Duration::seconds(1)));
    m.update(&app.db).await.unwrap();
    assert_eq!(
        app.gql_as(&expiring, "{ me { role } }", json!({})).await.0,
        401
    );
    // A token's role is also capped by its account's current role.
    let (user_id, user_token) = app.account_with_token("bob@example.com", Role::User).await;
    app.data(
        "mutation($id: ID!) { setAccountRole(id: $id, role: VIEWER) { role } }",
        json!({"id": user_id.to_string()}),
    )
    .await;
    assert_eq!(
        app.gql_as(&user_token, "{ me { role } }", json!({}))
            .await
            .1["data"]["me"]["role"],
        "VIEWER"
    );
}

async fn roles_are_enforced_on_every_admin_field(app: TestApp) {
    let (viewer_id, viewer) = app
        .account_with_token("vera@example.com", Role::Viewer)
        .await;
    let (_, user) = app.account_with_token("ulla@example.com", Role::User).await;
    // Viewers read.
    let (s, body) = app
        .gql_as(
            &viewer,
            "{ services(first: 1) { totalCount } me { role } }",
            json!({}),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(body["data"]["me"]["role"], "VIEWER");
    let id = viewer_id.to_string();
    let admin_only = [
        "{ accounts { email } }",
        "mutation { startSync { id } }",
        "mutation { createAccount(email: \"x@example.com\", role: ADMIN) { id } }",
        "mutation($id: ID!) { setAccountRole(id: $id, role: ADMIN) { role } }",
        "mutation($id: ID!) { setAccountActive(id: $id, active: false) { active } }",
    ];
    for token in [&viewer, &user] {
        for q in admin_only {
            let (s, body) = app.gql_as(token, q, json!({"id": id})).await;
            assert_eq!(s, 200);
            assert_error(&body, "FORBIDDEN");
        }
    }
    let a = pagerlens::auth::accounts::get(&app.db, viewer_id)
        .await
        .unwrap();
    assert_eq!(
        (a.role.as_str(), a.active),
        ("viewer", true),
        "nothing changed"
    );
    assert!(
        pagerlens::auth::accounts::find_by_email(&app.db, "x@example.com")
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        pagerlens::entities::sync_run::Entity::find()
            .count(&app.db)
            .await
            .unwrap(),
        0
    );

    // Admins manage accounts; the last active admin stays.
    let d = app
        .data("{ accounts { email role active } }", json!({}))
        .await;
    assert!(d["accounts"].as_array().unwrap().len() >= 5);
    let body = app.gql("mutation { createAccount(email: \"NEW@Example.com\", displayName: \"New\", role: USER) { email role active } }", json!({})).await;
    assert_eq!(body["data"]["createAccount"]["email"], "new@example.com");
    let body = app
        .gql(
            "mutation { createAccount(email: \"new@example.com\", role: USER) { email } }",
            json!({}),
        )
        .await;
    assert_error(&body, "BAD_USER_INPUT");
    let body = app
        .gql(
            "mutation { createAccount(email: \"not an email\", role: USER) { email } }",
            json!({}),
        )
        .await;
    assert_error(&body, "BAD_USER_INPUT");
    let admin = pagerlens::auth::accounts::find_by_email(&app.db, crate::common::ADMIN_EMAIL)
        .await
        .unwrap()
        .unwrap();
    let body = app
        .gql(
            "mutation($id: ID!) { setAccountRole(id: $id, role: VIEWER) { role } }",
            json!({"id": admin.id.to_string()}),
        )
        .await;
    assert!(assert_error(&body, "BAD_USER_INPUT").contains("last active admin"));
    let body = app
        .gql(
            "mutation($id: ID!) { setAccountActive(id: $id, active: false) { active } }",
            json!({"id": admin.id.to_string()}),
        )
        .await;
    assert_error(&body, "BAD_USER_INPUT");
    let body = app
        .gql(
            "mutation { setAccountRole(id: \"999\", role: VIEWER) { role } }",
            json!({}),
        )
        .await;
    assert_error(&body, "NOT_FOUND");
}

async fn cross_site_requests_with_a_cookie_are_refused(app: TestApp) {
    let b = logged_in(&app, "admin@demo.pagerlens.test").await;
    let mutation = json!({"query": "mutation { createAccount(email: \"csrf@example.com\", role: ADMIN) { id } }"});
    // A form post cannot send JSON: refused before GraphQL runs.
    let resp = b
        .post(app.url("/graphql"))
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(ORIGIN, "https://evil.example")
        .body(format!("query={}", "mutation"))
        .send()
        .await
        .unwrap();
    assert!(
        resp.status() == 403 || resp.status() == 415,
        "{}",
        resp.status()
    );
    let resp = b
        .post(app.url("/graphql"))
        .header(CONTENT_TYPE, "text/plain")
        .body(mutation.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 415);
    // JSON from another origin (or a cross-site fetch) is refused too.
    let resp = b
        .post(app.url("/graphql"))
        .header(ORIGIN, "https://evil.example")
        .json(&mutation)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    let resp = b
        .post(app.url("/graphql"))
        .header("Sec-Fetch-Site", "cross-site")
        .json(&mutation)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    assert!(
        pagerlens::auth::accounts::find_by_email(&app.db, "csrf@example.com")
            .await
            .unwrap()
            .is_none()
    );
    // A cross-site logout is refused; the session lives on.
    let resp = b
        .post(app.url("/auth/logout"))
        .header(ORIGIN, "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    assert_eq!(me(&app, &b).await.0, 200);
    // From this site it works.
    let resp = b
        .post(app.url("/graphql"))
        .header(ORIGIN, app.base.clone())
        .json(&mutation)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(
        pagerlens::auth::accounts::find_by_email(&app.db, "csrf@example.com")
            .await
            .unwrap()
            .is_some()
    );
}

on_both_databases!(
    login_end_to_end_through_the_demo_provider,
    tampered_reused_and_foreign_logins_are_refused,
    sessions_expire_and_inactive_accounts_are_refused,
    strangers_get_nothing,
    api_tokens_are_shown_once_capped_and_revocable,
    roles_are_enforced_on_every_admin_field,
    cross_site_requests_with_a_cookie_are_refused,
);

#[tokio::test]
async fn login_policy_decides_who_gets_an_account() {
    let (config, _guard) = crate::common::fresh_database(crate::common::Backend::Sqlite)
        .await
        .unwrap();
    let db = pagerlens::db::connect(&config).await.unwrap();
    pagerlens::db::migrate_up(&db).await.unwrap();
    let policy = pagerlens::config::LoginPolicy {
        admin_emails: vec!["boss@example.com".into()],
        auto_provision_domains: vec!["example.org".into()],
    };
    let login = |email: &'static str| {
        let (db, policy) = (db.clone(), policy.clone());
        async move { pagerlens::auth::accounts::login(&db, &policy, email, None).await }
    };
    assert_eq!(login("Boss@Example.com").await.unwrap().role, "admin");
    assert_eq!(login("ann@example.org").await.unwrap().role, "viewer");
    let refused = login("eve@elsewhere.com").await.unwrap_err();
    assert!(
        matches!(refused, pagerlens::auth::AuthError::Forbidden(ref m) if m.contains("no pagerlens account"))
    );
    assert!(
        pagerlens::auth::accounts::find_by_email(&db, "eve@elsewhere.com")
            .await
            .unwrap()
            .is_none()
    );
}
