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
