//! The GraphQL error edge: one [`ApiError`] with a stable `extensions.code`,
//! and the presenter that every response passes through.
//!
//! Codes (the complete list; clients may rely on them):
//! - `BAD_USER_INPUT`: the request is malformed, invalid, too deep or too
//!   complex, or an argument is out of range. The message says what to fix.
//! - `NOT_FOUND`: the object asked for does not exist.
//! - `UNAUTHENTICATED`: credentials are missing or no longer valid.
//! - `FORBIDDEN`: the caller may not do this.
//! - `INTERNAL`: our fault. The message is neutral; the cause is logged once,
//!   here, with its chain. No SQL, path or stack trace ever reaches a client.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextExecute, NextRequest, NextSubscribe,
};
use async_graphql::{ErrorExtensions, Response, ServerError};
use futures_util::StreamExt;
use futures_util::stream::BoxStream;

pub const BAD_USER_INPUT: &str = "BAD_USER_INPUT";
pub const NOT_FOUND: &str = "NOT_FOUND";
pub const UNAUTHENTICATED: &str = "UNAUTHENTICATED";
pub const FORBIDDEN: &str = "FORBIDDEN";
pub const INTERNAL: &str = "INTERNAL";

/// The neutral message of every internal error.
pub const INTERNAL_MESSAGE: &str = "Internal server error; it has been logged.";

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadUserInput(String),
    #[error("{0}")]
    NotFound(String),
    #[error("Authentication required: log in at /auth/login or send an API token.")]
    Unauthenticated,
    #[error("{0}")]
    Forbidden(String),
    #[error("internal error: {0}")]
    Internal(Box<dyn std::error::Error + Send + Sync>),
}

impl ApiError {
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::BadUserInput(_) => BAD_USER_INPUT,
            ApiError::NotFound(_) => NOT_FOUND,
            ApiError::Unauthenticated => UNAUTHENTICATED,
            ApiError::Forbidden(_) => FORBIDDEN,
            ApiError::Internal(_) => INTERNAL,
        }
    }

    pub fn bad_input(message: impl Into<String>) -> Self {
        ApiError::BadUserInput(message.into())
    }
}

impl From<sea_orm::DbErr> for ApiError {
    fn from(e: sea_orm::DbErr) -> Self {
        ApiError::Internal(Box::new(e))
    }
}

impl From<Arc<sea_orm::DbErr>> for ApiError {
    fn from(e: Arc<sea_orm::DbErr>) -> Self {
        ApiError::Internal(Box::new(sea_orm::DbErr::Custom(e.to_string())))
    }
}

impl ErrorExtensions for ApiError {
    fn extend(&self) -> async_graphql::Error {
        let message = match self {
            ApiError::Internal(source) => {
                tracing::error!(error = %crate::telemetry::error_chain(source.as_ref()), "internal error in a GraphQL resolver");
                INTERNAL_MESSAGE.to_owned()
            }
            other => other.to_string(),
        };
        let code = self.code();
        async_graphql::Error::new(message).extend_with(|_, e| e.set("code", code))
    }
}

/// `Result<T, ApiError>` (or anything convertible) → a GraphQL result with a code.
pub trait ApiResultExt<T> {
    fn api(self) -> async_graphql::Result<T>;
}

impl<T, E: Into<ApiError>> ApiResultExt<T> for Result<T, E> {
    fn api(self) -> async_graphql::Result<T> {
        self.map_err(|e| e.into().extend())
    }
}

fn has_code(e: &ServerError) -> bool {
    e.extensions
        .as_ref()
        .is_some_and(|x| x.get("code").is_some())
}

pub(crate) fn set_code(e: &mut ServerError, code: &str) {
    e.extensions
        .get_or_insert_with(Default::default)
        .set("code", code);
}

/// Whether a message comes from async-graphql's input coercion (a bad
/// argument or variable value): the client's fault, and safe to show.
fn is_input_error(message: &str) -> bool {
    message.starts_with("Invalid value for argument")
        || message.starts_with("Failed to parse")
        || message.starts_with("Variable ")
        || message.starts_with("Expected input type")
}

/// The presenter: gives every error a code and hides internal details.
/// `executed` is false when the request failed before execution (parse,
/// validation, limits): those errors are the client's and keep their message.
pub fn present(errors: Vec<ServerError>, executed: bool) -> Vec<ServerError> {
    errors
        .into_iter()
        .map(|mut e| {
            if has_code(&e) {
                return e;
            }
            if !executed || is_input_error(&e.message) {
                set_code(&mut e, BAD_USER_INPUT);
            } else {
                tracing::error!(error = %e.message, path = ?e.path, "unclassified error in a GraphQL resolver");
                e.message = INTERNAL_MESSAGE.to_owned();
                set_code(&mut e, INTERNAL);
            }
            e
        })
        .collect()
}

/// Installs [`present`] on every query, mutation and subscription response.
pub struct ErrorPresenter;

impl ExtensionFactory for ErrorPresenter {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(PresenterExtension::default())
    }
}

#[derive(Default)]
struct PresenterExtension {
    executed: AtomicBool,
}

#[async_trait::async_trait]
impl Extension for PresenterExtension {
    async fn request(&self, ctx: &ExtensionContext<'_>, next: NextRequest<'_>) -> Response {
        let mut resp = next.run(ctx).await;
        let errors = std::mem::take(&mut resp.errors);
        resp.errors = present(errors, self.executed.load(Ordering::Relaxed));
        resp
    }

    fn subscribe<'s>(
        &self,
        ctx: &ExtensionContext<'_>,
        stream: BoxStream<'s, Response>,
        next: NextSubscribe<'_>,
    ) -> BoxStream<'s, Response> {
        next.run(ctx, stream)
            .map(|mut resp| {
                let errors = std::mem::take(&mut resp.errors);
                // A subscription that yields a response with no data failed
                // before execution (parse or validation).
                let executed = resp.data != async_graphql::Value::Null;
                resp.errors = present(errors, executed);
                resp
            })
            .boxed()
    }

    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        self.executed.store(true, Ordering::Relaxed);
        next.run(ctx, operation_name).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(message: &str, path: bool) -> ServerError {
        let mut e = ServerError::new(message, None);
        if path {
            e.path = vec![async_graphql::PathSegment::Field("services".into())];
        }
        e
    }

    fn code(e: &ServerError) -> String {
        e.extensions
            .as_ref()
            .unwrap()
            .get("code")
            .unwrap()
            .to_string()
    }

    #[test]
    fn request_errors_are_bad_user_input_with_their_message() {
        let out = present(vec![err("Unknown field \"nope\"", false)], false);
        assert_eq!(code(&out[0]), "\"BAD_USER_INPUT\"");
        assert!(out[0].message.contains("nope"));
    }

    #[test]
    fn unclassified_resolver_errors_become_internal_and_neutral() {
        let out = present(
            vec![err(
                "error returned from database: no such table: x at /src/db.rs",
                true,
            )],
            true,
        );
        assert_eq!(code(&out[0]), "\"INTERNAL\"");
        assert_eq!(out[0].message, INTERNAL_MESSAGE);
    }

    #[test]
    fn coercion_errors_are_the_clients() {
        let out = present(
            vec![err(
                "Invalid value for argument \"first\", expected type \"Int\"",
                true,
            )],
            true,
        );
        assert_eq!(code(&out[0]), "\"BAD_USER_INPUT\"");
    }

    #[test]
    fn coded_errors_pass_unchanged() {
        let e = ApiError::NotFound("No service with id X".into())
            .extend()
            .into_server_error(Default::default());
        let out = present(vec![e], true);
        assert_eq!(code(&out[0]), "\"NOT_FOUND\"");
        assert_eq!(out[0].message, "No service with id X");
    }

    #[test]
    fn internal_api_errors_hide_their_cause() {
        let e = ApiError::from(sea_orm::DbErr::Custom("SELECT secret FROM x".into())).extend();
        assert_eq!(e.message, INTERNAL_MESSAGE);
    }
}
