//! The BI database: the `bi_*` views (created by a migration) and, on
//! PostgreSQL, a read-only login role that can read those views and
//! nothing else (`PAGERLENS_BI_ROLE`, `PAGERLENS_BI_PASSWORD`).
//!
//! A view runs with its owner's rights, so the role needs `SELECT` on the
//! views only: the tables behind them (sessions, tokens, accounts …) stay
//! closed to it, and it can write nothing.

use sea_orm::{ConnectionTrait, DatabaseBackend, DbErr, Statement};
use secrecy::{ExposeSecret, SecretString};

/// The views BI tools read (documented in the README).
pub const VIEWS: [&str; 8] = [
    "bi_incidents",
    "bi_incident_analytics",
    "bi_incident_log_entries",
    "bi_services",
    "bi_teams",
    "bi_escalation_policies",
    "bi_sla",
    "bi_daily_service_stats",
];

/// A SQL string literal.
fn literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// Creates the role if needed, sets its password and attributes, and
/// grants it exactly `SELECT` on the views (and connecting to this
/// database). Idempotent; replicas may run it at once. Does nothing on
/// SQLite.
///
/// # Errors
/// Database errors (the connecting user needs `CREATEROLE`).
pub async fn ensure_role<C: ConnectionTrait>(
    db: &C,
    role: &str,
    password: &SecretString,
) -> Result<(), DbErr> {
    if db.get_database_backend() != DatabaseBackend::Postgres {
        return Ok(());
    }
    // The name was checked by the configuration to be a plain SQL name.
    let create = format!(
        "DO $$ BEGIN \
           IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = {name}) THEN \
             CREATE ROLE {role} LOGIN; \
           END IF; \
         EXCEPTION WHEN duplicate_object THEN NULL; \
         END $$",
        name = literal(role)
    );
    db.execute_unprepared(&create).await?;
    db.execute_unprepared(&format!(
        "ALTER ROLE {role} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION \
         NOBYPASSRLS PASSWORD {}",
        literal(password.expose_secret())
    ))
    .await?;
    let row = db
        .query_one_raw(Statement::from_string(
            DatabaseBackend::Postgres,
            "SELECT current_database() AS db, current_schema() AS schema",
        ))
        .await?
        .ok_or_else(|| DbErr::Custom("no current database".into()))?;
    let database: String = row.try_get("", "db")?;
    let schema: String = row.try_get("", "schema")?;
    let ident = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
    for stmt in [
        format!("GRANT CONNECT ON DATABASE {} TO {role}", ident(&database)),
        format!("GRANT USAGE ON SCHEMA {} TO {role}", ident(&schema)),
        format!(
            "REVOKE ALL ON ALL TABLES IN SCHEMA {} FROM {role}",
            ident(&schema)
        ),
        format!(
            "GRANT SELECT ON {} TO {role}",
            VIEWS
                .iter()
                .map(|v| format!("{}.{v}", ident(&schema)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    ] {
        db.execute_unprepared(&stmt).await?;
    }
    Ok(())
}
