//! `GET /reports/{job_id}/download`: a report job's file, for the person who
//! asked for it or an admin. 404 for an unknown job, 403 for someone else's,
//! 409 while it is still queued or running, 410 once the file has expired.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;

use super::AppState;
use super::auth::{refusal, require_caller};
use crate::graphql::error::{BAD_USER_INPUT, FORBIDDEN, INTERNAL, INTERNAL_MESSAGE, NOT_FOUND};
use crate::jobs::{Status, queue};

const GONE: &str = "GONE";
const CONFLICT: &str = "CONFLICT";

pub async fn download(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let caller = match require_caller(&state, &headers).await {
        Ok(c) => c,
        Err(resp) => return resp,
    };
    let Ok(id) = id.parse::<i32>() else {
        return refusal(StatusCode::NOT_FOUND, NOT_FOUND, &format!("no job {id}"));
    };
    let job = match queue::find(&state.db, id).await {
        Ok(Some(j)) => j,
        Ok(None) => return refusal(StatusCode::NOT_FOUND, NOT_FOUND, &format!("no job {id}")),
        Err(e) => {
            tracing::error!(error = %e, "reading a job for a download failed");
            return refusal(
                StatusCode::INTERNAL_SERVER_ERROR,
                INTERNAL,
                INTERNAL_MESSAGE,
            );
        }
    };
    if !crate::jobs::may_see(&job, &caller) {
        return refusal(
            StatusCode::FORBIDDEN,
            FORBIDDEN,
            &format!(
                "job {id} was requested by someone else: only they or an admin may download it"
            ),
        );
    }
    if job.kind != crate::jobs::JobKind::Report.as_str() {
        return refusal(
            StatusCode::NOT_FOUND,
            BAD_USER_INPUT,
            &format!("job {id} is a {} job: it has no file", job.kind),
        );
    }
    match Status::parse(&job.status) {
        Some(Status::Queued | Status::Running) => {
            return refusal(
                StatusCode::CONFLICT,
                CONFLICT,
                &format!(
                    "job {id} is still {} ({}%): try again when it has succeeded",
                    job.status.to_ascii_lowercase(),
                    job.progress
                ),
            );
        }
        Some(Status::Succeeded) => {}
        _ => {
            return refusal(
                StatusCode::NOT_FOUND,
                NOT_FOUND,
                &format!(
                    "job {id} {}: it has no file{}",
                    job.status.to_ascii_lowercase(),
                    job.error
                        .as_deref()
                        .map_or(String::new(), |e| format!(" ({e})"))
                ),
            );
        }
    }
    let gone = || {
        refusal(
            StatusCode::GONE,
            GONE,
            &format!("the file of job {id} has expired and was deleted; request the report again"),
        )
    };
    let (Some(path), Some(name)) = (&job.file_path, &job.file_name) else {
        return gone();
    };
    if crate::jobs::file_expired(&job, Utc::now()) {
        return gone();
    }
    let Some(full) = crate::jobs::report_file(&state.config.reports.dir, path) else {
        return gone();
    };
    let file = match tokio::fs::File::open(full).await {
        Ok(f) => f,
        Err(_) => return gone(),
    };
    let len = file.metadata().await.map(|m| m.len()).ok();
    let mut resp = Body::from_stream(tokio_util::io::ReaderStream::new(file)).into_response();
    let h = resp.headers_mut();
    let content_type = job
        .content_type
        .as_deref()
        .unwrap_or("application/octet-stream");
    if let Ok(v) = HeaderValue::from_str(content_type) {
        h.insert(header::CONTENT_TYPE, v);
    }
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || ".-_".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{ascii}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    if let Some(len) = len {
        h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    }
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    resp
}

/// `GET /attachments/{id}/download`: an incident attachment, for anyone who
/// may see the incident; 404 otherwise (or when its file is missing). Served
/// as an attachment with its sniffed type, never rendered inline.
pub async fn attachment(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    use crate::actions::LocalError;
    let caller = match require_caller(&state, &headers).await {
        Ok(c) => c,
        Err(resp) => return resp,
    };
    let not_found = || {
        refusal(
            StatusCode::NOT_FOUND,
            NOT_FOUND,
            &format!("No attachment with id {id}"),
        )
    };
    let Ok(n) = id.parse::<i32>() else {
        return not_found();
    };
    let (a, path) = match crate::actions::attachments::find(
        &state.db,
        &state.config.attachments,
        &caller.scope,
        n,
    )
    .await
    {
        Ok(found) => found,
        Err(LocalError::NotFound(_)) => return not_found(),
        Err(e) => {
            tracing::error!(error = %e, "reading an attachment failed");
            return refusal(
                StatusCode::INTERNAL_SERVER_ERROR,
                INTERNAL,
                INTERNAL_MESSAGE,
            );
        }
    };
    let file = match tokio::fs::File::open(&path).await {
        Ok(f) => f,
        Err(e) => {
            tracing::error!(error = %e, attachment = a.id, "an attachment's file is missing");
            return not_found();
        }
    };
    let body = Body::from_stream(tokio_util::io::ReaderStream::new(file));
    let mut resp = (StatusCode::OK, body).into_response();
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&a.content_type) {
        h.insert(header::CONTENT_TYPE, v);
    }
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(a.size_bytes));
    if let Ok(v) = HeaderValue::from_str(&content_disposition(&a.file_name)) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    resp
}

/// `attachment; filename="…"; filename*=UTF-8''…`: an ASCII fallback and the
/// exact name percent-encoded (RFC 6266).
fn content_disposition(name: &str) -> String {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded: String = url::form_urlencoded::byte_serialize(name.as_bytes())
        .collect::<String>()
        .replace('+', "%20");
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}
