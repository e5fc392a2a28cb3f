//! Multi-row inserts in batches.
//!
//! One statement per `batch` rows keeps the bind-parameter count under
//! every backend's limit (SQLite allows 32,766, PostgreSQL 65,535) while
//! sending far fewer statements than one per row.

use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveModelTrait, ConnectionTrait, DbErr, EntityTrait};

/// Inserts `rows` (every row sets the same columns) with `on_conflict`,
/// `batch` rows a statement. Returns the rows inserted or updated.
///
/// # Errors
/// Database errors only.
pub async fn insert<A, C>(
    db: &C,
    rows: Vec<A>,
    on_conflict: Option<OnConflict>,
    batch: usize,
) -> Result<u64, DbErr>
where
    A: ActiveModelTrait + Send,
    C: ConnectionTrait,
{
    let mut written = 0;
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let mut insert = A::Entity::insert_many(rows.by_ref().take(batch.max(1)));
        if let Some(c) = &on_conflict {
            insert = insert.on_conflict(c.clone());
        }
        written += insert.exec_without_returning(db).await?;
    }
    Ok(written)
}
