//! OpenID Connect login against a real, certified provider (`oidc-provider`
//! from npm, run by Node on loopback), the standard way: endpoints from the
//! issuer's discovery document, a nonce, the ID token validated. Between
//! pagerlens and the provider sits a proxy of the test's own that can
//! tamper with the token endpoint's answer, so that each attack reaches
//! pagerlens as a network attacker or a malicious provider would send it:
//! a tampered ID token, one issued to another client (wrong `aud`) and a
//! replayed one (its `nonce` is another login's) are each refused with
//! nothing created; keys rotated between two logins are followed.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use pagerlens::config::{ProviderKind, ProviderSettings};
use pagerlens::entities::{account, session};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use secrecy::SecretString;
use serde_json::{Value, json};

use crate::common::{Backend, TestApp, fresh_database, outside_tool, spawn_on};

const CLIENT_ID: &str = "pagerlens";
const CLIENT_SECRET: &str = "pagerlens-oidc-test-secret";
const OTHER_CLIENT: &str = "another-app";
const OTHER_REDIRECT: &str = "http://127.0.0.1:9/callback";

fn oidc_tools() -> Result<(), String> {
    if Command::new("node").arg("--version").output().is_err() {
        return Err("node is not installed".into());
    }
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/oidc");
    if !std::path::Path::new(dir)
        .join("node_modules/oidc-provider")
        .exists()
    {
        return Err(format!(
            "oidc-provider is not installed (npm ci --prefix {dir})"
        ));
    }
    Ok(())
}

/// The provider process: `tests/oidc/provider.mjs` on a fixed port, so it
/// can be restarted (with new keys) at the same address.
struct Op {
    child: Child,
}

impl Op {
    fn start(
        port: u16,
        issuer: &str,
        redirect: &str,
        kid: &str,
        names: Value,
        email_in_id_token: bool,
    ) -> Self {
        let config = json!({
            "port": port,
            "issuer": issuer,
            "kid": kid,
            "clients": [
                {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "redirect_uris": [redirect]},
                {"client_id": OTHER_CLIENT, "client_secret": CLIENT_SECRET, "redirect_uris": [OTHER_REDIRECT]},
            ],
            "names": names,
            "email_in_id_token": email_in_id_token,
        });
        let mut child = Command::new("node")
            .arg(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/oidc/provider.mjs"
            ))
            .arg(config.to_string())
            .stdout(Stdio::piped())
            .stderr(if std::env::var_os("TEST_LOG").is_some() {
                Stdio::inherit()
            } else {
                Stdio::null()
            })
            .spawn()
            .expect("node runs");
        let stdout = child.stdout.take().unwrap();
        let mut line = String::new();
        let mut reader = BufReader::new(stdout);
        while reader.read_line(&mut line).unwrap_or(0) > 0 && !line.contains("listening on") {
            line.clear();
        }
        assert!(line.contains("listening on"), "the provider did not start");
        // Keep reading what it prints, so that it never writes to a closed pipe.
        std::thread::spawn(move || for _ in reader.lines() {});
        Self { child }
    }
}

impl Drop for Op {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What the proxy does to the token endpoint's answers.
#[derive(Clone, Debug)]
enum Tamper {
    None,
    /// Changes the ID token's claims (its email and subject), keeping the
    /// provider's signature.
    Claims,
    /// Puts this ID token in place of the one issued.
    Replace(String),
}

#[derive(Clone)]
struct Proxy {
    upstream: String,
    http: reqwest::Client,
    tamper: Arc<Mutex<Tamper>>,
    /// Every ID token the token endpoint issued, with its client.
    issued: Arc<Mutex<Vec<(String, String)>>>,
}

async fn forward(
    State(proxy): State<Proxy>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let url = format!(
        "{}{}",
        proxy.upstream,
        uri.path_and_query().map_or("/", |p| p.as_str())
    );
    let mut request = proxy.http.request(method, &url).body(body);
    // The Host header goes along: the provider writes its own URLs from it.
    for (name, value) in &headers {
        if name != "content-length" {
            request = request.header(name, value);
        }
    }
    let client = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| s.split(':').next().map(str::to_owned))
        .unwrap_or_default();
    let upstream = request.send().await.expect("the provider answers");
    let status = upstream.status();
    let mut out_headers = HeaderMap::new();
    for (name, value) in upstream.headers() {
        if name != "content-length" && name != "transfer-encoding" {
            out_headers.append(name, value.clone());
        }
    }
    let mut body = upstream.bytes().await.unwrap().to_vec();
    if uri.path() == "/token"
        && status == StatusCode::OK
        && let Ok(mut answer) = serde_json::from_slice::<Value>(&body)
        && let Some(token) = answer["id_token"].as_str().map(str::to_owned)
    {
        proxy.issued.lock().unwrap().push((client, token.clone()));
        let replaced = match proxy.tamper.lock().unwrap().clone() {
            Tamper::None => token,
            Tamper::Claims => tamper_claims(&token),
            Tamper::Replace(other) => other,
        };
        answer["id_token"] = json!(replaced);
        body = answer.to_string().into_bytes();
    }
    (status, out_headers, body).into_response()
}

/// The ID token with its payload's `sub` and `email` changed to another
/// person's; the header and signature are the provider's.
fn tamper_claims(token: &str) -> String {
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let parts: Vec<&str> = token.split('.').collect();
    let mut claims: Value = serde_json::from_slice(&b64.decode(parts[1]).unwrap()).unwrap();
    claims["sub"] = json!("root@example.com");
    claims["email"] = json!("root@example.com");
    format!(
        "{}.{}.{}",
        parts[0],
        b64.encode(claims.to_string()),
        parts[2]
    )
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Goes through the provider as a browser would: follows redirects, and
/// on its sign-in and consent pages submits the form as `email`, until
/// `done` says the answer is the one looked for.
async fn through_the_provider(
    browser: &reqwest::Client,
    mut resp: reqwest::Response,
    email: &str,
    done: impl Fn(&reqwest::Response) -> bool,
) -> reqwest::Response {
    for _ in 0..20 {
        if done(&resp) {
            return resp;
        }
        if resp.status().is_redirection() {
            let location = resp.headers()["location"].to_str().unwrap().to_owned();
            let next = resp.url().join(&location).unwrap();
            resp = browser.get(next).send().await.unwrap();
            continue;
        }
        let page_url = resp.url().clone();
        let html = resp.text().await.unwrap();
        let action = between(&html, "action=\"", "\"").expect("a form");
        let prompt = between(&html, "name=\"prompt\" value=\"", "\"").expect("a prompt");
        resp = browser
            .post(page_url.join(&action).unwrap())
            .form(&[
                ("prompt", prompt.as_str()),
                ("login", email),
                ("password", "secret"),
            ])
            .send()
            .await
            .unwrap();
    }
    panic!("the login did not end");
}

fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// A browser logs in to pagerlens as `email`; returns pagerlens's answer to
/// the callback (status, whether it set a session cookie, the page).
async fn log_in(app: &TestApp, email: &str) -> (u16, bool, String) {
    let browser = browser();
    let start = browser
        .get(app.url("/auth/login?next=/playground"))
        .send()
        .await
        .unwrap();
    let callback = app.url("/auth/callback");
    let resp = through_the_provider(&browser, start, email, |r| {
        r.url().as_str().starts_with(&callback)
    })
    .await;
    let status = resp.status().as_u16();
    let session = resp.headers().get_all("set-cookie").iter().any(|c| {
        let c = c.to_str().unwrap_or_default();
        c.starts_with("pagerlens_session=") && !c.starts_with("pagerlens_session=;")
    });
    (status, session, resp.text().await.unwrap_or_default())
}

fn between(text: &str, start: &str, end: &str) -> Option<String> {
    let from = text.find(start)? + start.len();
    let to = text[from..].find(end)? + from;
    Some(text[from..to].replace("&amp;", "&"))
}

/// An ID token the provider issues to another client, for `email`: what an
/// attacker holding a token for another application would present.
async fn token_for_another_client(issuer: &str, email: &str) -> String {
    let browser = browser();
    let verifier = "a-verifier-of-at-least-forty-three-characters-long";
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(<sha2::Sha256 as sha2::Digest>::digest(verifier.as_bytes()));
    let mut url = url::Url::parse(&format!("{issuer}/auth")).unwrap();
    url.query_pairs_mut()
        .append_pair("client_id", OTHER_CLIENT)
        .append_pair("redirect_uri", OTHER_REDIRECT)
        .append_pair("response_type", "code")
        .append_pair("scope", "openid email profile")
        .append_pair("nonce", "another-apps-nonce")
        .append_pair("state", "another-apps-state")
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256");
    let start = browser.get(url).send().await.unwrap();
    let resp = through_the_provider(&browser, start, email, |r| {
        r.headers()
            .get("location")
            .and_then(|l| l.to_str().ok())
            .is_some_and(|l| l.starts_with(OTHER_REDIRECT))
    })
    .await;
    let location = url::Url::parse(resp.headers()["location"].to_str().unwrap()).unwrap();
    let code = location
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    let answer: Value = browser
        .post(format!("{issuer}/token"))
        .basic_auth(OTHER_CLIENT, Some(CLIENT_SECRET))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", OTHER_REDIRECT),
            ("code_verifier", verifier),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    answer["id_token"].as_str().expect("an ID token").to_owned()
}

async fn account_of(app: &TestApp, email: &str) -> Option<account::Model> {
    account::Entity::find()
        .filter(account::Column::Email.eq(email))
        .one(&app.db)
        .await
        .unwrap()
}

async fn sessions(app: &TestApp) -> u64 {
    session::Entity::find().count(&app.db).await.unwrap()
}

async fn logins_follow_the_standard_and_refuse_forged_tokens(backend: Backend) {
    if !outside_tool("the OpenID Connect provider test", oidc_tools) {
        return;
    }
    let Some((mut config, guard)) = fresh_database(backend).await else {
        return;
    };
    // The proxy is the issuer the world sees; the provider runs behind it.
    let proxy_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://{}", proxy_listener.local_addr().unwrap());
    let op_port = free_port();
    let proxy = Proxy {
        upstream: format!("http://127.0.0.1:{op_port}"),
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        tamper: Arc::new(Mutex::new(Tamper::None)),
        issued: Arc::new(Mutex::new(Vec::new())),
    };
    let router = axum::Router::new()
        .fallback(forward)
        .with_state(proxy.clone());
    tokio::spawn(async move { axum::serve(proxy_listener, router).await });
    let app_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let redirect = format!(
        "http://{}/auth/callback",
        app_listener.local_addr().unwrap()
    );
    // First keys; the email and name come from userinfo (the provider puts
    // only the essential claims in the ID token).
    let mut op = Op::start(
        op_port,
        &issuer,
        &redirect,
        "key-1",
        json!({"ada@example.com": "Ada Lovelace"}),
        false,
    );
    config.login_policy.auto_provision_domains = vec!["example.com".into()];
    config.oauth = Some(ProviderSettings {
        kind: ProviderKind::Generic,
        client_id: CLIENT_ID.into(),
        client_secret: SecretString::from(CLIENT_SECRET),
        authorize_url: String::new(),
        token_url: String::new(),
        userinfo_url: String::new(),
        scopes: vec!["openid".into(), "email".into(), "profile".into()],
        redirect_url: None,
        issuer: Some(issuer.clone()),
    });
    let app = spawn_on(backend, config, guard, app_listener)
        .await
        .unwrap();

    // A login: the account is made at first login, named by the provider.
    let (status, session, page) = log_in(&app, "ada@example.com").await;
    assert!(status == 303 || status == 302, "{status}: {page}");
    assert!(session, "a session starts");
    let ada = account_of(&app, "ada@example.com")
        .await
        .expect("ada's account");
    assert_eq!(ada.display_name, "Ada Lovelace");
    let first_token = proxy.issued.lock().unwrap().last().unwrap().1.clone();

    // Each forgery is refused, and nothing is created.
    let other = token_for_another_client(&issuer, "trudy@example.com").await;
    for (tamper, email) in [
        (Tamper::Claims, "mallory@example.com"),
        (Tamper::Replace(other), "trudy@example.com"),
        (Tamper::Replace(first_token), "eve@example.com"),
    ] {
        let before = sessions(&app).await;
        *proxy.tamper.lock().unwrap() = tamper.clone();
        let (status, session, page) = log_in(&app, email).await;
        assert_eq!(status, 401, "{tamper:?}: {page}");
        assert!(!session, "{tamper:?}: no session");
        assert!(
            page.contains("ID token could not be verified"),
            "{tamper:?}: {page}"
        );
        assert!(
            account_of(&app, email).await.is_none(),
            "{tamper:?}: no account"
        );
        assert!(
            account_of(&app, "root@example.com").await.is_none(),
            "{tamper:?}: no account for the forged identity"
        );
        assert_eq!(sessions(&app).await, before, "{tamper:?}: no session row");
    }
    *proxy.tamper.lock().unwrap() = Tamper::None;

    // The provider rotates its keys (a new one, the old gone) and now puts
    // the email and name in the ID token; the name it gives changed.
    drop(op);
    op = Op::start(
        op_port,
        &issuer,
        &redirect,
        "key-2",
        json!({"ada@example.com": "Ada King"}),
        true,
    );
    let (status, session, page) = log_in(&app, "ada@example.com").await;
    assert!(
        session && (status == 303 || status == 302),
        "{status}: {page}"
    );
    let ada = account_of(&app, "ada@example.com").await.unwrap();
    assert_eq!(
        ada.display_name, "Ada King",
        "the provider's new name replaces its previous one"
    );
    // A name an admin chose stays.
    let mut edited: account::ActiveModel = ada.into();
    edited.display_name = sea_orm::Set("Countess of Lovelace".into());
    sea_orm::ActiveModelTrait::update(edited, &app.db)
        .await
        .unwrap();
    let (_, session, _) = log_in(&app, "ada@example.com").await;
    assert!(session);
    assert_eq!(
        account_of(&app, "ada@example.com")
            .await
            .unwrap()
            .display_name,
        "Countess of Lovelace"
    );
    drop(op);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oidc_logins_follow_the_standard_and_refuse_forged_tokens_sqlite() {
    logins_follow_the_standard_and_refuse_forged_tokens(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oidc_logins_follow_the_standard_and_refuse_forged_tokens_postgres() {
    logins_follow_the_standard_and_refuse_forged_tokens(Backend::Postgres).await;
}

/// A bad or unreachable issuer stops start-up with a message naming it.
#[tokio::test]
async fn a_bad_issuer_stops_start_up() {
    let (mut config, _guard) = fresh_database(Backend::Sqlite).await.unwrap();
    let closed = free_port();
    // Something that answers, but is no OpenID Connect issuer.
    let not_oidc = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let not_oidc_url = format!("http://{}", not_oidc.local_addr().unwrap());
    tokio::spawn(async move {
        axum::serve(not_oidc, axum::Router::new().fallback(|| async { "hello" })).await
    });
    for issuer in [format!("http://127.0.0.1:{closed}"), not_oidc_url] {
        config.oauth = Some(ProviderSettings {
            kind: ProviderKind::Generic,
            client_id: CLIENT_ID.into(),
            client_secret: SecretString::from(CLIENT_SECRET),
            authorize_url: String::new(),
            token_url: String::new(),
            userinfo_url: String::new(),
            scopes: vec!["openid".into()],
            redirect_url: None,
            issuer: Some(issuer.clone()),
        });
        let db = pagerlens::db::connect(&config).await.unwrap();
        let err = pagerlens::App::with_db(config.clone(), db)
            .await
            .err()
            .unwrap_or_else(|| panic!("{issuer} was accepted"));
        let message = err.to_string();
        assert!(
            message.contains("PAGERLENS_OAUTH_ISSUER") && message.contains(&issuer),
            "{message}"
        );
    }
}
