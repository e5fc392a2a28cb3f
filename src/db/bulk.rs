//! Multi-row inserts in statements of one shape.
//!
//! A multi-row `INSERT … VALUES (…), (…)` has a different text for every
//! row count, so on PostgreSQL nearly every such statement is new to the
//! server: it is parsed and planned again, and the driver spends a second
//! round trip preparing it. Here, on PostgreSQL, a set of rows of up to a
//! sync page's size travels as one JSON parameter read by
//! `json_to_recordset`: one statement text per table and conflict clause,
//! prepared once per connection. Other databases get the
//! plain statement, whose preparation is cheap in-process.
//!
//! Only inserts take this path. A `SELECT … WHERE id = ANY($1)` of one
//! shape was tried: after five executions PostgreSQL switched to a generic
//! plan made while the table was nearly empty (a sequential scan), and kept
//! it while the table grew; a 50,000-incident sync took 457 s instead of
//! about 40 s. Forcing custom plans (`plan_cache_mode`) fixed that but made every
//! foreign-key check plan its query again. An insert has no plan to choose.

use sea_orm::sea_query::{Alias, InsertStatement, OnConflict, PostgresQueryBuilder, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbBackend, DbErr, EntityName, EntityTrait,
    Statement, Value,
};

/// Sets of at most this many rows go to PostgreSQL as one JSON statement.
/// Larger ones take plain statements of `batch` rows: PostgreSQL reads
/// their binary parameters faster than it parses JSON text (timestamps
/// above all), and full batches repeat one statement text anyway. An SLA
/// recompute of 1,000,000 incidents (1,000-row batches) took 78 s through
/// JSON against 65-69 s plain, while the sync's pages (tens to hundreds of
/// rows, each page a different count) gained about 3% through JSON.
const PG_JSON_ROWS: usize = 500;

/// Inserts `rows` (every row sets the same columns) with `on_conflict`:
/// on PostgreSQL up to [`PG_JSON_ROWS`] rows in one statement of a fixed
/// shape, otherwise `batch` rows a statement. Returns the rows inserted or
/// updated.
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
    if rows.is_empty() {
        return Ok(0);
    }
    if db.get_database_backend() == DbBackend::Postgres
        && rows.len() <= PG_JSON_ROWS
        && let Some(shaped) = Recordset::of(&rows[0])
        && let Some(sql) = shaped.sql::<A>(on_conflict.clone())
        && let Some(json) = shaped.json(&rows)
    {
        return Ok(db
            .execute_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                sql,
                [Value::String(Some(json))],
            ))
            .await?
            .rows_affected());
    }
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

/// The columns the rows set and their PostgreSQL types.
struct Recordset<Col> {
    columns: Vec<(Col, &'static str)>,
}

impl<Col: ColumnTrait> Recordset<Col> {
    /// The columns `first` sets; `None` when one holds a type JSON cannot
    /// carry faithfully (such rows take the plain statement).
    fn of<A>(first: &A) -> Option<Self>
    where
        A: ActiveModelTrait,
        A::Entity: EntityTrait<Column = Col>,
    {
        let mut columns = Vec::new();
        for col in Col::iter() {
            if let Some(v) = first.get(col).into_value() {
                columns.push((col, pg_type(&v)?));
            }
        }
        Some(Self { columns })
    }

    /// `INSERT INTO t (cols) SELECT cols FROM json_to_recordset($1::json)
    /// AS r(col type, …) ON CONFLICT …`; `None` for a conflict clause with
    /// bound values of its own (such rows take the plain statement).
    fn sql<A>(&self, on_conflict: Option<OnConflict>) -> Option<String>
    where
        A: ActiveModelTrait,
        A::Entity: EntityTrait<Column = Col>,
    {
        let names: Vec<&str> = self.columns.iter().map(|(c, _)| c.as_str()).collect();
        let select = Query::select()
            .columns(names.iter().map(|n| Alias::new(*n)))
            .from(Alias::new(RECORDSET))
            .to_owned();
        let mut insert: InsertStatement = Query::insert()
            .into_table(A::Entity::default().table_ref())
            .columns(names.iter().map(|n| Alias::new(*n)))
            .select_from(select)
            .ok()?
            .to_owned();
        if let Some(c) = on_conflict {
            insert.on_conflict(c);
        }
        let (sql, values) = insert.build(PostgresQueryBuilder);
        if !values.0.is_empty() {
            return None;
        }
        let definition: Vec<String> = self
            .columns
            .iter()
            .map(|(c, ty)| format!("\"{}\" {ty}", c.as_str()))
            .collect();
        let from = format!("FROM \"{RECORDSET}\"");
        let source = format!(
            "FROM json_to_recordset($1::json) AS \"{RECORDSET}\"({})",
            definition.join(", ")
        );
        sql.contains(&from).then(|| sql.replacen(&from, &source, 1))
    }

    /// The rows as a JSON array of objects; `None` when a row sets other
    /// columns than the first or holds a value JSON cannot carry.
    fn json<A>(&self, rows: &[A]) -> Option<String>
    where
        A: ActiveModelTrait,
        A::Entity: EntityTrait<Column = Col>,
    {
        let mut out = Vec::with_capacity(rows.len() * 32 * self.columns.len());
        out.push(b'[');
        for (i, row) in rows.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.push(b'{');
            let mut written = 0;
            for col in Col::iter() {
                let Some(v) = row.get(col).into_value() else {
                    continue;
                };
                let name = self.columns.get(written).map(|(c, _)| c.as_str());
                if name != Some(col.as_str()) {
                    return None;
                }
                if written > 0 {
                    out.push(b',');
                }
                out.push(b'"');
                out.extend_from_slice(col.as_str().as_bytes());
                out.extend_from_slice(b"\":");
                write_json(&mut out, &v)?;
                written += 1;
            }
            if written != self.columns.len() {
                return None;
            }
            out.push(b'}');
        }
        out.push(b']');
        String::from_utf8(out).ok()
    }
}

/// The alias of the recordset in the statement.
const RECORDSET: &str = "bulk_rows";

/// The PostgreSQL type a value is read as from the JSON recordset.
fn pg_type(v: &Value) -> Option<&'static str> {
    Some(match v {
        Value::String(_) | Value::Char(_) => "text",
        Value::Bool(_) => "boolean",
        Value::TinyInt(_) | Value::SmallInt(_) | Value::TinyUnsigned(_) => "smallint",
        Value::Int(_) | Value::SmallUnsigned(_) => "integer",
        Value::BigInt(_) | Value::Unsigned(_) => "bigint",
        Value::Double(_) => "double precision",
        Value::Float(_) => "real",
        Value::ChronoDateTimeUtc(_) | Value::ChronoDateTimeWithTimeZone(_) => "timestamptz",
        Value::Json(_) => "jsonb",
        _ => return None,
    })
}

/// Writes a value as JSON the recordset reads back unchanged; `None` when
/// it cannot (non-finite floats, JSON `null` in a set JSON column, other
/// types).
fn write_json(out: &mut Vec<u8>, v: &Value) -> Option<()> {
    use std::io::Write;
    // Microseconds, cut as the driver cuts a bound timestamp.
    const STAMP: &str = "%Y-%m-%dT%H:%M:%S%.6f%:z";
    let is_null = matches!(
        v,
        Value::String(None)
            | Value::Char(None)
            | Value::Bool(None)
            | Value::TinyInt(None)
            | Value::SmallInt(None)
            | Value::Int(None)
            | Value::BigInt(None)
            | Value::TinyUnsigned(None)
            | Value::SmallUnsigned(None)
            | Value::Unsigned(None)
            | Value::Double(None)
            | Value::Float(None)
            | Value::ChronoDateTimeUtc(None)
            | Value::ChronoDateTimeWithTimeZone(None)
            | Value::Json(None)
    );
    if is_null {
        out.extend_from_slice(b"null");
        return Some(());
    }
    match v {
        Value::String(Some(s)) => serde_json::to_writer(&mut *out, s).ok()?,
        Value::Char(Some(c)) => serde_json::to_writer(&mut *out, c).ok()?,
        Value::Bool(Some(b)) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::TinyInt(Some(i)) => write!(out, "{i}").ok()?,
        Value::SmallInt(Some(i)) => write!(out, "{i}").ok()?,
        Value::Int(Some(i)) => write!(out, "{i}").ok()?,
        Value::BigInt(Some(i)) => write!(out, "{i}").ok()?,
        Value::TinyUnsigned(Some(i)) => write!(out, "{i}").ok()?,
        Value::SmallUnsigned(Some(i)) => write!(out, "{i}").ok()?,
        Value::Unsigned(Some(i)) => write!(out, "{i}").ok()?,
        Value::Double(Some(f)) if f.is_finite() => serde_json::to_writer(&mut *out, f).ok()?,
        Value::Float(Some(f)) if f.is_finite() => serde_json::to_writer(&mut *out, f).ok()?,
        Value::ChronoDateTimeUtc(Some(t)) => write!(out, "\"{}\"", t.format(STAMP)).ok()?,
        Value::ChronoDateTimeWithTimeZone(Some(t)) => {
            write!(out, "\"{}\"", t.format(STAMP)).ok()?;
        }
        Value::Json(Some(j)) if !j.is_null() => serde_json::to_writer(&mut *out, &**j).ok()?,
        _ => return None,
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entities::incident_log_entry as entry;
    use chrono::TimeZone;
    use sea_orm::{IntoActiveModel, Set};

    fn row(id: &str, note: Option<&str>) -> entry::ActiveModel {
        let at = chrono::Utc
            .timestamp_opt(1_700_000_000, 123_456_789)
            .single()
            .unwrap();
        entry::Model {
            id: id.into(),
            incident_id: "P1".into(),
            kind: "note_log_entry".into(),
            summary: None,
            agent_type: None,
            agent_id: None,
            channel_type: None,
            user_id: None,
            note: note.map(str::to_owned),
            created_at: at,
            updated_at: at,
        }
        .into_active_model()
    }

    #[test]
    fn rows_become_one_statement_shape_with_a_json_parameter() {
        let rows = vec![row("A", Some("it's \"quoted\"")), row("B", None)];
        let set = Recordset::of(&rows[0]).expect("plain columns are carried");
        let sql = set
            .sql::<entry::ActiveModel>(Some(
                OnConflict::column(entry::Column::Id)
                    .do_nothing()
                    .to_owned(),
            ))
            .unwrap();
        assert!(
            sql.starts_with("INSERT INTO \"incident_log_entries\" (\"id\", "),
            "{sql}"
        );
        assert!(
            sql.contains("FROM json_to_recordset($1::json) AS \"bulk_rows\"(\"id\" text, "),
            "{sql}"
        );
        assert!(sql.contains("\"created_at\" timestamptz"), "{sql}");
        assert!(sql.ends_with("ON CONFLICT (\"id\") DO NOTHING"), "{sql}");
        // The same text for any number of rows.
        assert_eq!(
            sql,
            set.sql::<entry::ActiveModel>(Some(
                OnConflict::column(entry::Column::Id)
                    .do_nothing()
                    .to_owned(),
            ))
            .unwrap()
        );
        let json: serde_json::Value = serde_json::from_str(&set.json(&rows).unwrap()).unwrap();
        assert_eq!(json[0]["note"], "it's \"quoted\"");
        assert_eq!(json[1]["note"], serde_json::Value::Null);
        assert_eq!(json[0]["created_at"], "2023-11-14T22:13:20.123456+00:00");
    }

    #[test]
    fn rows_setting_different_columns_take_the_plain_statement() {
        let mut partial = row("B", None);
        partial.note = sea_orm::ActiveValue::NotSet;
        let first = row("A", None);
        let set = Recordset::of(&first).unwrap();
        assert!(set.json(&[first.clone(), partial]).is_none());
        let mut json_null = crate::entities::incident_custom_field_value::ActiveModel {
            value: Set(Some(serde_json::Value::Null)),
            ..Default::default()
        };
        json_null.name = Set("x".into());
        let set = Recordset::of(&json_null).unwrap();
        assert!(set.json(&[json_null]).is_none());
        // A conflict clause with a value of its own.
        let guarded = OnConflict::column(entry::Column::Id)
            .update_column(entry::Column::Note)
            .action_and_where(entry::Column::Note.eq("x"))
            .to_owned();
        let set = Recordset::of(&row("A", None)).unwrap();
        assert!(set.sql::<entry::ActiveModel>(Some(guarded)).is_none());
        assert!(write_json(&mut Vec::new(), &Value::Double(Some(f64::NAN))).is_none());
    }
}
