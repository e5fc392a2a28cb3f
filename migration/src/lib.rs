//! Database migrations for pagerlens.
//!
//! Migrations never import the application's entities, so an old migration keeps
//! compiling unchanged however the entities evolve. Each capability adds its own
//! migration file; they run at server start and through `pagerlens migrate`.

pub use sea_orm_migration::prelude::*;

mod helpers;
mod m20261123_000001_catalog;
mod m20261123_000002_sync;
mod m20261123_000003_auth;
mod m20261123_000004_sla;
mod m20261123_000005_jobs;
mod m20261123_000006_analytics;
mod m20261125_000007_attachments;
mod m20261125_000008_sla_cycles;
mod m20261126_000009_sync_run_jobs;
mod m20261126_000010_deleted_incidents;
mod m20261126_000011_open_sla_indexes;
mod m20261126_000012_redundant_incident_index;
mod m20261207_000013_wide_integers;
mod m20261207_000014_incident_types;
mod m20261207_000015_openid_connect;
mod m20261207_000016_automatic_pauses;
mod m20261208_000017_incident_analytics;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261123_000001_catalog::Migration),
            Box::new(m20261123_000002_sync::Migration),
            Box::new(m20261123_000003_auth::Migration),
            Box::new(m20261123_000004_sla::Migration),
            Box::new(m20261123_000005_jobs::Migration),
            Box::new(m20261123_000006_analytics::Migration),
            Box::new(m20261125_000007_attachments::Migration),
            Box::new(m20261125_000008_sla_cycles::Migration),
            Box::new(m20261126_000009_sync_run_jobs::Migration),
            Box::new(m20261126_000010_deleted_incidents::Migration),
            Box::new(m20261126_000011_open_sla_indexes::Migration),
            Box::new(m20261126_000012_redundant_incident_index::Migration),
            Box::new(m20261207_000013_wide_integers::Migration),
            Box::new(m20261207_000014_incident_types::Migration),
            Box::new(m20261207_000015_openid_connect::Migration),
            Box::new(m20261207_000016_automatic_pauses::Migration),
            Box::new(m20261208_000017_incident_analytics::Migration),
        ]
    }
}
