//! `/graphql` over HTTP, following the GraphQL-over-HTTP specification:
//! POST with `application/json` bodies, GET for queries (never mutations),
//! `application/graphql-response+json` when the client accepts it (request
//! errors then answer 400), `application/json` otherwise (always 200 for a
//! well-formed request). Subscriptions run over `/graphql/ws`.

use async_graphql::Data;
use async_graphql::http::ALL_WEBSOCKET_PROTOCOLS;
use async_graphql::parser::types::OperationType;
use async_graphql_axum::{GraphQLProtocol, GraphQLWebSocket};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{RawQuery, State, WebSocketUpgrade};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::AppState;
use crate::graphql::error::BAD_USER_INPUT;
use crate::graphql::loaders::loaders;

pub const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json";

/// The media type of the response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MediaType {
    GraphqlResponse,
    Json,
}

impl MediaType {
    fn as_str(self) -> &'static str {
        match self {
            MediaType::GraphqlResponse => GRAPHQL_RESPONSE_JSON,
            MediaType::Json => "application/json",
        }
    }
}

/// Picks the response type from `Accept`, by quality then order. No header
/// means `application/json`; `None` means nothing acceptable (406).
pub fn negotiate(accept: Option<&str>) -> Option<MediaType> {
    let Some(accept) = accept.filter(|a| !a.trim().is_empty()) else {
        return Some(MediaType::Json);
    };
    let mut best: Option<(f32, MediaType)> = None;
    for range in accept.split(',') {
        let mut parts = range.split(';');
        let media = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
        let mut q = 1.0f32;
        for p in parts {
            if let Some(v) = p.trim().strip_prefix("q=") {
                q = v.trim().parse().unwrap_or(0.0);
            }
        }
        let candidate = match media.as_str() {
            GRAPHQL_RESPONSE_JSON => MediaType::GraphqlResponse,
            "application/json" | "application/*" | "*/*" => MediaType::Json,
            _ => continue,
        };
        if q > 0.0 && best.is_none_or(|(bq, _)| q > bq) {
            best = Some((q, candidate));
        }
    }
    best.map(|(_, m)| m)
}

/// An error answered before GraphQL runs (bad body, wrong method, …).
fn http_error(status: StatusCode, media: MediaType, message: &str) -> Response {
    let body = json!({"errors": [{"message": message, "extensions": {"code": BAD_USER_INPUT}}]});
    let mut resp = (status, body.to_string()).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(media.as_str()),
    );
    resp
}

fn accept(headers: &HeaderMap) -> Result<MediaType, Box<Response>> {
    negotiate(headers.get(header::ACCEPT).and_then(|v| v.to_str().ok())).ok_or_else(|| {
        Box::new(http_error(
            StatusCode::NOT_ACCEPTABLE,
            MediaType::Json,
            "Accept must allow application/graphql-response+json or application/json",
        ))
    })
}

/// Renders an executed response. A request error (nothing executed) has no
/// `data` entry and, with `application/graphql-response+json`, status 400.
fn render(resp: async_graphql::Response, media: MediaType) -> Response {
    let request_error = resp.data == async_graphql::Value::Null
        && !resp.errors.is_empty()
        && resp.errors.iter().all(|e| e.path.is_empty());
    let mut body = Map::new();
    if !request_error {
        body.insert(
            "data".into(),
            serde_json::to_value(&resp.data).unwrap_or(Value::Null),
        );
    }
    if !resp.errors.is_empty() {
        body.insert(
            "errors".into(),
            serde_json::to_value(&resp.errors).unwrap_or(Value::Null),
        );
    }
    if !resp.extensions.is_empty() {
        body.insert(
            "extensions".into(),
            serde_json::to_value(&resp.extensions).unwrap_or(Value::Null),
        );
    }
    let status = if request_error && media == MediaType::GraphqlResponse {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let mut out = (status, Value::Object(body).to_string()).into_response();
    out.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(media.as_str()),
    );
    for (name, value) in resp.http_headers.iter() {
        out.headers_mut().append(name, value.clone());
    }
    out
}

async fn execute(
    state: &AppState,
    caller: crate::auth::Caller,
    request: async_graphql::Request,
    media: MediaType,
) -> Response {
    let request = request
        .data(loaders(
            state.db.clone(),
            caller.scope.clone(),
            state.config.graphql_batch_delay,
        ))
        .data(caller);
    render(state.schema.execute(request).await, media)
}

/// `POST /graphql` with a JSON body `{query, variables?, operationName?, extensions?}`.
pub async fn post(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let media = match accept(&headers) {
        Ok(m) => m,
        Err(resp) => return *resp,
    };
    let caller = match super::auth::require_caller(&state, &headers).await {
        Ok(c) => c,
        Err(resp) => return resp,
    };
    if let Some(resp) = super::auth::csrf_refusal(&state, &headers, &caller) {
        return resp;
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase());
    let multipart = content_type.as_deref() == Some("multipart/form-data");
    if content_type.as_deref() != Some("application/json") && !multipart {
        return http_error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            media,
            "POST /graphql needs Content-Type: application/json (or multipart/form-data for a file upload)",
        );
    }
    let body = match body {
        Ok(b) => b,
        Err(rejection) => {
            let status = rejection.status();
            let message = if status == StatusCode::PAYLOAD_TOO_LARGE {
                "The request body is too large".to_owned()
            } else {
                "The request body could not be read".to_owned()
            };
            return http_error(status, media, &message);
        }
    };
    if multipart {
        return upload(&state, caller, &headers, body, media).await;
    }
    if body.len() > MAX_JSON_BODY {
        return http_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            media,
            "The request body is too large",
        );
    }
    let value: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => {
            return http_error(
                StatusCode::BAD_REQUEST,
                media,
                &format!("The body is not valid JSON: {e}"),
            );
        }
    };
    let request = match read_request(value) {
        Ok(r) => r,
        Err(message) => return http_error(StatusCode::BAD_REQUEST, media, &message),
    };
    execute(&state, caller, request, media).await
}

/// Reads a POST body as a GraphQL request. GraphQL-over-HTTP: a request
/// without a `query` string is not well-formed (whatever the client
/// accepts), and `variables` and `extensions` are objects, `operationName` a
/// string, each when present and not null.
///
/// # Errors
/// What is wrong, naming the field.
pub fn read_request(body: Value) -> Result<async_graphql::Request, String> {
    let Value::Object(fields) = &body else {
        return Err(
            "The body must be a JSON object with a `query` string, and optionally `variables` (an object) and `operationName` (a string)".into(),
        );
    };
    match fields.get("query") {
        Some(Value::String(_)) => {}
        None | Some(Value::Null) => {
            return Err(
                "The request has no `query`: send the GraphQL document as a string in `query`"
                    .into(),
            );
        }
        Some(_) => {
            return Err(
                "`query` must be a string: send the GraphQL document as the `query` string".into(),
            );
        }
    }
    let is =
        |key: &str, ok: fn(&Value) -> bool| fields.get(key).is_none_or(|v| v.is_null() || ok(v));
    if !is("variables", Value::is_object) {
        return Err("`variables` must be a JSON object (or null)".into());
    }
    if !is("operationName", Value::is_string) {
        return Err("`operationName` must be a string (or null)".into());
    }
    if !is("extensions", Value::is_object) {
        return Err("`extensions` must be a JSON object (or null)".into());
    }
    serde_json::from_value(body).map_err(|e| format!("The request could not be read: {e}"))
}

/// The largest JSON request body (uploads have their own limit).
pub const MAX_JSON_BODY: usize = 2 * 1024 * 1024;

/// The largest request body: an upload of the largest attachment, with room
/// for the rest of the multipart request.
pub fn max_body(config: &crate::config::Config) -> usize {
    usize::try_from(config.attachments.max_bytes)
        .unwrap_or(usize::MAX)
        .saturating_add(256 * 1024)
        .max(MAX_JSON_BODY)
}

/// A GraphQL multipart request (the GraphQL multipart request
/// specification: `operations`, `map`, then the files), for uploads. Cookie
/// sessions passed the same-origin check already.
async fn upload(
    state: &AppState,
    caller: crate::auth::Caller,
    headers: &HeaderMap,
    body: Bytes,
    media: MediaType,
) -> Response {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let opts = async_graphql::http::MultipartOptions::default()
        .max_file_size(usize::try_from(state.config.attachments.max_bytes).unwrap_or(usize::MAX))
        .max_num_files(4);
    match async_graphql::http::receive_body(
        Some(content_type),
        futures_util::io::Cursor::new(body),
        opts,
    )
    .await
    {
        Ok(request) => execute(state, caller, request, media).await,
        Err(async_graphql::ParseRequestError::PayloadTooLarge) => http_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            media,
            &format!(
                "The file is too large: attachments are at most {} bytes",
                state.config.attachments.max_bytes
            ),
        ),
        Err(e) => http_error(
            StatusCode::BAD_REQUEST,
            media,
            &format!("The multipart request could not be read: {e}"),
        ),
    }
}

/// `GET /graphql?query=…&variables=…&operationName=…`: queries only.
pub async fn get(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let media = match accept(&headers) {
        Ok(m) => m,
        Err(resp) => return *resp,
    };
    let caller = match super::auth::require_caller(&state, &headers).await {
        Ok(c) => c,
        Err(resp) => return resp,
    };
    let mut query = None;
    let mut operation_name = None;
    let mut variables = None;
    let mut extensions = None;
    for (k, v) in url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
        match k.as_ref() {
            "query" => query = Some(v.into_owned()),
            "operationName" => operation_name = Some(v.into_owned()).filter(|s| !s.is_empty()),
            "variables" => variables = Some(v.into_owned()).filter(|s| !s.is_empty()),
            "extensions" => extensions = Some(v.into_owned()).filter(|s| !s.is_empty()),
            _ => {}
        }
    }
    let Some(query) = query else {
        return http_error(
            StatusCode::BAD_REQUEST,
            media,
            "GET /graphql needs a `query` parameter",
        );
    };
    let mut request = async_graphql::Request::new(query.clone());
    if let Some(name) = &operation_name {
        request = request.operation_name(name.clone());
    }
    if let Some(vars) = variables {
        match serde_json::from_str::<Value>(&vars) {
            Ok(v @ Value::Object(_)) => {
                request = request.variables(async_graphql::Variables::from_json(v))
            }
            _ => {
                return http_error(
                    StatusCode::BAD_REQUEST,
                    media,
                    "`variables` must be a JSON object",
                );
            }
        }
    }
    if let Some(ext) = extensions {
        match serde_json::from_str::<std::collections::HashMap<String, async_graphql::Value>>(&ext)
        {
            Ok(map) => request.extensions = async_graphql::Extensions(map),
            Err(_) => {
                return http_error(
                    StatusCode::BAD_REQUEST,
                    media,
                    "`extensions` must be a JSON object",
                );
            }
        }
    }
    if let Ok(doc) = async_graphql::parser::parse_query(&query) {
        let op_type = match (&operation_name, &doc.operations) {
            (_, async_graphql::parser::types::DocumentOperations::Single(op)) => Some(op.node.ty),
            (Some(name), async_graphql::parser::types::DocumentOperations::Multiple(ops)) => {
                ops.get(name.as_str()).map(|op| op.node.ty)
            }
            (None, _) => None,
        };
        if matches!(
            op_type,
            Some(OperationType::Mutation | OperationType::Subscription)
        ) {
            let mut resp = http_error(
                StatusCode::METHOD_NOT_ALLOWED,
                media,
                "Only queries may use GET; send mutations with POST (subscriptions use /graphql/ws)",
            );
            resp.headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("POST"));
            return resp;
        }
    }
    execute(&state, caller, request, media).await
}

/// `GET /graphql/ws`: subscriptions over graphql-transport-ws (or legacy
/// graphql-ws). The caller is the session cookie of the upgrade request (from
/// this site only: a cross-site page cannot ride on the cookie), or an API
/// token in the `connection_init` payload (`{"Authorization": "Bearer …"}`);
/// without one the connection is refused.
pub async fn websocket(
    State(state): State<AppState>,
    headers: HeaderMap,
    protocol: GraphQLProtocol,
    upgrade: WebSocketUpgrade,
) -> Response {
    let from_headers = match super::auth::caller(&state, &headers).await {
        Ok(c) => c,
        Err(resp) => return resp,
    };
    if let Some(resp) = from_headers
        .as_ref()
        .and_then(|c| super::auth::csrf_refusal(&state, &headers, c))
    {
        return resp;
    }
    let schema = state.schema.clone();
    upgrade
        .protocols(ALL_WEBSOCKET_PROTOCOLS)
        .on_upgrade(move |stream| {
            GraphQLWebSocket::new(stream, schema, protocol)
                .on_connection_init(move |payload| async move {
                    let caller = match from_headers {
                        Some(c) => Some(c),
                        None => {
                            let token = payload
                                .get("Authorization")
                                .or_else(|| payload.get("authorization"))
                                .and_then(Value::as_str)
                                .and_then(|v| v.strip_prefix("Bearer "))
                                .map(str::trim);
                            match token {
                                Some(t) => crate::auth::tokens::authenticate(&state.db, t)
                                    .await
                                    .map_err(|e| async_graphql::Error::new(e.to_string()))?,
                                None => None,
                            }
                        }
                    };
                    let Some(caller) = caller else {
                        return Err(async_graphql::Error::new(
                            "Authentication required: log in, or send {\"Authorization\": \"Bearer <API token>\"} in connection_init",
                        ));
                    };
                    let mut data = Data::default();
                    data.insert(loaders(
                        state.db.clone(),
                        caller.scope.clone(),
                        state.config.graphql_batch_delay,
                    ));
                    data.insert(caller);
                    Ok(data)
                })
                .serve()
        })
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_needs_a_query_string_and_well_typed_fields() {
        let ok = read_request(json!({"query": "{ a }", "variables": {"x": 1}, "operationName": "Q", "extensions": {}}))
            .unwrap();
        assert_eq!(ok.query, "{ a }");
        assert_eq!(ok.operation_name.as_deref(), Some("Q"));
        assert!(
            read_request(json!({"query": "{ a }", "variables": null, "operationName": null, "extensions": null}))
                .is_ok()
        );
        for (body, field) in [
            (json!({"qeury": "{ a }"}), "`query`"),
            (json!({}), "`query`"),
            (json!({"query": null}), "`query`"),
            (json!({"query": 1}), "`query`"),
            (json!({"query": ["{ a }"]}), "`query`"),
            (json!({"query": "{ a }", "variables": "{}"}), "`variables`"),
            (json!({"query": "{ a }", "variables": [1]}), "`variables`"),
            (
                json!({"query": "{ a }", "operationName": 3}),
                "`operationName`",
            ),
            (
                json!({"query": "{ a }", "operationName": {}}),
                "`operationName`",
            ),
            (json!({"query": "{ a }", "extensions": "x"}), "`extensions`"),
            (json!(["{ a }"]), "JSON object"),
            (json!("{ a }"), "JSON object"),
            (json!(null), "JSON object"),
        ] {
            let message = read_request(body.clone()).unwrap_err();
            assert!(message.contains(field), "{body}: {message}");
        }
    }

    #[test]
    fn negotiation_follows_the_spec() {
        assert_eq!(negotiate(None), Some(MediaType::Json));
        assert_eq!(negotiate(Some("application/json")), Some(MediaType::Json));
        assert_eq!(
            negotiate(Some(GRAPHQL_RESPONSE_JSON)),
            Some(MediaType::GraphqlResponse)
        );
        assert_eq!(
            negotiate(Some(
                "application/graphql-response+json, application/json;q=0.9"
            )),
            Some(MediaType::GraphqlResponse)
        );
        assert_eq!(
            negotiate(Some(
                "application/json, application/graphql-response+json;q=0.5"
            )),
            Some(MediaType::Json)
        );
        assert_eq!(negotiate(Some("*/*")), Some(MediaType::Json));
        assert_eq!(negotiate(Some("text/html")), None);
        assert_eq!(negotiate(Some("application/json;q=0")), None);
    }
}
