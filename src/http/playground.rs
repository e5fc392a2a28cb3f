//! `/playground`: GraphiQL when its CDN is reachable, and otherwise our own
//! query page served from the binary, so the playground works air-gapped.
//! No third-party bundle is stored in this repository.

use axum::http::header;
use axum::response::IntoResponse;

const PAGE: &str = include_str!("playground.html");

pub async fn page() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        PAGE,
    )
}
