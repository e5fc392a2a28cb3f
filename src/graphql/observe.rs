//! Latency of every GraphQL request by operation name and result, for
//! `/metrics`.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextExecute, NextParseQuery, NextRequest,
};
use async_graphql::parser::types::{DocumentOperations, ExecutableDocument};
use async_graphql::{Response, ServerResult, Variables};

use crate::telemetry::metrics as m;

/// Records [`m::GRAPHQL_DURATION`] for each request.
pub struct Timing;

impl ExtensionFactory for Timing {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(TimingExtension::default())
    }
}

#[derive(Default)]
struct TimingExtension {
    /// Known once the request has parsed and validated.
    operation: Mutex<Option<String>>,
    /// The name of the document's only operation, when it has a name.
    named: Mutex<Option<String>>,
}

#[async_trait::async_trait]
impl Extension for TimingExtension {
    async fn request(&self, ctx: &ExtensionContext<'_>, next: NextRequest<'_>) -> Response {
        let started = Instant::now();
        let resp = next.run(ctx).await;
        let operation = self
            .operation
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
            // Never executed: the request did not parse or validate.
            .unwrap_or_else(|| "invalid".to_owned());
        let result = if resp.errors.is_empty() {
            "ok"
        } else {
            "error"
        };
        metrics::histogram!(m::GRAPHQL_DURATION, "operation" => operation, "result" => result)
            .record(started.elapsed().as_secs_f64());
        resp
    }

    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let doc = next.run(ctx, query, variables).await?;
        if let DocumentOperations::Multiple(ops) = &doc.operations
            && ops.len() == 1
        {
            *self.named.lock().unwrap_or_else(|e| e.into_inner()) =
                ops.keys().next().map(ToString::to_string);
        }
        Ok(doc)
    }

    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        let named = self.named.lock().unwrap_or_else(|e| e.into_inner()).take();
        *self.operation.lock().unwrap_or_else(|e| e.into_inner()) =
            Some(m::operation_label(operation_name.or(named.as_deref())));
        next.run(ctx, operation_name).await
    }
}
