//! Connecting to the database (embedded SQLite by default, PostgreSQL in
//! production) and running migrations.

use std::time::Duration;

use migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbErr, SqliteTransactionMode,
    TransactionOptions, TransactionTrait,
};

use crate::config::{Config, redact_url};

pub mod bulk;

/// Rows buffered between a SQLite connection's worker thread and its reader.
const SQLITE_ROW_BUFFER: usize = 1024;

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
                // Statement journals and temporary b-trees in memory: a
                // multi-row write inside a transaction keeps the pages it may
                // have to roll back in a statement journal, which on the
                // default spilled to a temporary file past 64 KiB (one file
                // created, written and deleted per sync page).
                .pragma("temp_store", "memory")
                // Copy the WAL back into the database every 16,000 pages
                // (64 MiB) rather than every 1,000: a page rewritten by
                // many commits is copied once per checkpoint.
                .pragma("wal_autocheckpoint", "16000")
                // The worker thread hands rows over a channel of this many;
                // with sqlx's 50, a larger result set made the worker and
                // the reader wake each other for every row past the 50th.
                .row_buffer_size(SQLITE_ROW_BUFFER)
        });
    Database::connect(opts).await.map_err(|e| {
        DbErr::Custom(format!(
            "cannot open database {}: {}",
            redact_url(url),
            scrub(&e.to_string(), url)
        ))
    })
}

/// A connection of its own for a long run of writing transactions (a
/// sync), on SQLite; `None` on PostgreSQL, where the shared pool serves.
///
/// SQLite keeps a page cache per connection and empties it whenever another
/// connection has written since. The pool hands out its idle connections in
/// turn, so consecutive transactions of one sync landed on different
/// connections and each began with an empty cache, reading back the pages
/// its predecessor had just written. One connection keeps them. It has the
/// pool's settings (pragmas, busy timeout); close it with [`close_writer`].
///
/// # Errors
/// The connection cannot be opened.
pub async fn dedicated_writer(
    db: &DatabaseConnection,
) -> Result<Option<DatabaseConnection>, DbErr> {
    if db.get_database_backend() != sea_orm::DbBackend::Sqlite {
        return Ok(None);
    }
    let pool = db.get_sqlite_connection_pool();
    let options = (*pool.connect_options()).clone();
    let writer = sea_orm::sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(1)
        .min_connections(0)
        .acquire_timeout(Duration::from_secs(30))
        .connect_with(options)
        .await
        .map_err(|e| DbErr::Custom(format!("cannot open a writing connection: {e}")))?;
    Ok(Some(sea_orm::SqlxSqliteConnector::from_sqlx_sqlite_pool(
        writer,
    )))
}

/// Closes a connection from [`dedicated_writer`], waiting for it to finish.
pub async fn close_writer(writer: Option<DatabaseConnection>) {
    if let Some(w) = writer
        && let Err(e) = w.close().await
    {
        tracing::warn!(error = %e, "closing the writing connection failed");
    }
}

/// Begins a transaction that will write. Every writing transaction starts
/// here, never with `begin()` (clippy refuses that, see `clippy.toml`).
///
/// On SQLite it is `BEGIN IMMEDIATE`: the write lock is taken at the start,
/// waiting up to the busy timeout for another writer. A plain (deferred)
/// transaction that reads first takes a snapshot; should another connection
/// (a job's heartbeat, a webhook) commit before its first write, that write
/// fails at once with `SQLITE_BUSY_SNAPSHOT` ("database is locked", code
/// 517) whatever the busy timeout, and the whole page or job fails. On
/// PostgreSQL the option does nothing. Inside a transaction it opens a
/// savepoint.
///
/// # Errors
/// The database cannot be reached, or on SQLite another writer held the
/// lock for longer than the busy timeout.
pub async fn begin_write<C: TransactionTrait>(db: &C) -> Result<C::Transaction, DbErr> {
    db.begin_with_options(TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..TransactionOptions::default()
    })
    .await
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

/// Refreshes PostgreSQL's planner statistics of `tables` (`ANALYZE`; a
/// no-op on SQLite, whose planner needs none for our indexes). Bulk work
/// calls it after writing many rows: until autovacuum's next analyze, which
/// a long transaction or a busy minute delays, PostgreSQL plans a table it
/// has never analyzed as if an `IN (…)` of 500 ids matched half of it, and
/// scans the whole table once per page instead of reading its index.
///
/// # Errors
/// Database errors.
pub async fn analyze<C: ConnectionTrait>(db: &C, tables: &[&str]) -> Result<(), DbErr> {
    if db.get_database_backend() != sea_orm::DatabaseBackend::Postgres || tables.is_empty() {
        return Ok(());
    }
    let list: Vec<String> = tables.iter().map(|t| format!("\"{t}\"")).collect();
    db.execute_unprepared(&format!("ANALYZE {}", list.join(", ")))
        .await?;
    Ok(())
}
