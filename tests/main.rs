//! The one integration-test binary. Every test that touches a database runs
//! on SQLite and, when `TEST_POSTGRES_URL` is set, on a fresh PostgreSQL
//! database too (see `common`).
#![allow(clippy::manual_is_multiple_of)]

mod common;

mod analytics;
mod auth;
mod cli;
mod custom_fields;
mod drift;
mod graphql_http;
mod graphql_limits;
mod graphql_queries;
mod hardening;
mod house;
mod incident_analytics;
mod jobs;
mod local_incidents;
mod mail;
mod migrations;
mod oidc_login;
mod playground;
mod replicas;
mod report_files;
mod reports;
mod scoping;
mod simulator;
mod sla;
mod spec_values;
mod subscriptions;
mod sync;
mod webhooks;
