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
///
/// On PostgreSQL, replicas starting together take turns (see
/// [`under_migration_lock`]): one applies the pending migrations and the
/// others find nothing left to do.
pub async fn migrate_up(db: &DatabaseConnection) -> Result<(), DbErr> {
    under_migration_lock(db, || Migrator::up(db, None)).await
}

/// Runs `f` (schema changes, role grants) while this process holds the
/// migration lock: on PostgreSQL an advisory lock on a connection of its
/// own, so replicas starting together take turns; on SQLite there is one
/// process per file and `f` simply runs.
pub async fn under_migration_lock<T, F, Fut>(db: &DatabaseConnection, f: F) -> Result<T, DbErr>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<T, DbErr>>,
{
    if !matches!(
        db.inner,
        sea_orm::DatabaseConnectionType::SqlxPostgresPoolConnection(_)
    ) {
        return f().await;
    }
    let to_db = |e: sea_orm::sqlx::Error| DbErr::Custom(format!("migration lock: {e}"));
    let mut lock = db
        .get_postgres_connection_pool()
        .acquire()
        .await
        .map_err(to_db)?;
    sea_orm::sqlx::query("SELECT pg_advisory_lock($1)")
        .bind(MIGRATION_LOCK)
        .execute(&mut *lock)
        .await
        .map_err(to_db)?;
    let result = f().await;
    let unlocked = sea_orm::sqlx::query("SELECT pg_advisory_unlock($1)")
        .bind(MIGRATION_LOCK)
        .execute(&mut *lock)
        .await;
    if unlocked.is_err() {
        // Closing the connection releases the lock with the session.
        let _ = sea_orm::sqlx::Connection::close(lock.detach()).await;
    }
    result
}

/// The advisory lock key of migrations ("pagerlns" in ASCII).
const MIGRATION_LOCK: i64 = 0x7061_6765_726c_6e73;

/// True when the database answers and no migration is pending.
pub async fn is_ready(db: &DatabaseConnection) -> Result<bool, DbErr> {
    db.execute_unprepared("SELECT 1").await?;
    Ok(Migrator::get_pending_migrations_read_only(db)
        .await?
        .is_empty())
}
