//! Small column helpers shared by the migrations. Every timestamp is a real
//! `timestamp with time zone` (UTC), never a local-time string.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

/// A table with `created_at` and `updated_at` (UTC, defaulting to now).
pub fn table(name: &'static str) -> TableCreateStatement {
    Table::create()
        .table(name)
        .col(ts("created_at").default(Expr::current_timestamp()))
        .col(ts("updated_at").default(Expr::current_timestamp()))
        .to_owned()
}

/// A non-null UTC timestamp column.
pub fn ts(name: &'static str) -> ColumnDef {
    timestamp_with_time_zone(name)
}

/// A nullable UTC timestamp column.
pub fn ts_null(name: &'static str) -> ColumnDef {
    timestamp_with_time_zone_null(name)
}

/// A text primary key (PagerDuty ids are short opaque strings).
pub fn text_pk(name: &'static str) -> ColumnDef {
    string(name).primary_key().to_owned()
}

/// A foreign key from `table.column` to `target.id`.
pub fn fk(
    table: &'static str,
    column: &'static str,
    target: &'static str,
    on_delete: ForeignKeyAction,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(format!("fk_{table}_{column}"))
        .from(table, column)
        .to(target, "id")
        .on_delete(on_delete)
        .on_update(ForeignKeyAction::Cascade)
        .to_owned()
}

/// An index named after its table and columns.
pub fn index(table: &'static str, columns: &[&'static str]) -> IndexCreateStatement {
    let mut stmt = Index::create();
    stmt.name(format!("idx_{table}_{}", columns.join("_")))
        .table(table);
    for c in columns {
        stmt.col(*c);
    }
    stmt.to_owned()
}
