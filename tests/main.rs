//! The one integration-test binary. Every test that touches a database runs
//! on SQLite and, when `TEST_POSTGRES_URL` is set, on a fresh PostgreSQL
//! database too (see `common`).

mod common;

mod cli;
mod graphql_http;
mod graphql_queries;
mod graphql_limits;
mod migrations;
mod playground;
mod subscriptions;
