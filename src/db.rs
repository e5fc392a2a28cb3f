//! Connecting to the database (embedded SQLite by default, PostgreSQL in
//! production) and running migrations.

use std::time::Duration;

use migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbErr};

use crate::config::{Config, redact_url};

/// Opens the pool. For SQLite the file's directory is created, WAL journal,
/// foreign keys and a busy timeout are switched on for every connection.
///
/// # Errors
/// The database cannot be reached or the SQLite directory cannot be created;
/// the message never contains the password.
pub async fn connect(config: &Config) -> Result<DatabaseConnection, DbErr> {
    let url = config.database_url();
    if config.is_sqlite() {
        ensure_sqlite_dir(url)?;
    }
    let mut opts = ConnectOptions::new(url.to_owned());
    opts.max_connections(config.db_max_connections)
        .min_connections(1)
        .connect_timeout(Duration::from_secs(10))
        .acquire_timeout(Duration::from_secs(30))
        .sqlx_logging(false)
        .map_sqlx_sqlite_opts(|o| {
            o.journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(10))
                .create_if_missing(true)
                // A larger page cache per connection (8 MiB; the default is
                // 2 MiB): large reports and analytics scan a lot. (A memory
                // map was tried: hardly faster, and it counts the mapped file
                // in the process's memory.)
                .pragma("cache_size", "-8192")
        });
    Database::connect(opts).await.map_err(|e| {
        DbErr::Custom(format!(
            "cannot open database {}: {}",
            redact_url(url),
            scrub(&e.to_string(), url)
        ))
    })
}

/// Removes a database URL (and so its password) from an error message.
fn scrub(message: &str, url: &str) -> String {
    message.replace(url, &redact_url(url))
}

fn ensure_sqlite_dir(url: &str) -> Result<(), DbErr> {
    let path = url
        .trim_start_matches("sqlite:")
        .trim_start_matches("//")
        .split('?')
        .next()
        .unwrap_or_default();
    if path.is_empty() || path == ":memory:" {
        return Ok(());
    }
    if let Some(dir) = std::path::Path::new(path)
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
    {
        std::fs::create_dir_all(dir).map_err(|e| {
            DbErr::Custom(format!("cannot create directory {}: {e}", dir.display()))
        })?;
    }
    Ok(())
}

/// Applies every pending migration.
///
/// # Errors
/// A migration failed; the database is left at the last applied migration.
pub async fn migrate_up(db: &DatabaseConnection) -> Result<(), DbErr> {
    Migrator::up(db, None).await
}

/// True when the database answers and no migration is pending.
pub async fn is_ready(db: &DatabaseConnection) -> Result<bool, DbErr> {
    db.execute_unprepared("SELECT 1").await?;
    Ok(Migrator::get_pending_migrations_read_only(db)
        .await?
        .is_empty())
}
