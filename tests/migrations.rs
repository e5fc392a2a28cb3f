//! Migrations apply, roll back and re-apply on both databases; SQLite runs
//! with WAL, foreign keys and a busy timeout; time is stored as real UTC
//! timestamps.

use migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectionTrait, DbBackend, Statement};

use crate::common::fixtures::{seed_catalog, seed_incidents};
use crate::common::{Backend, TestApp};
use crate::on_both_databases;

async fn migrations_roll_back_and_reapply(app: TestApp) {
    let status = Migrator::get_migration_with_status(&app.db).await.unwrap();
    assert!(!status.is_empty());
    assert!(
        Migrator::get_pending_migrations(&app.db)
            .await
            .unwrap()
            .is_empty()
    );
    let n = status.len() as u32;
    Migrator::down(&app.db, Some(n)).await.unwrap();
    assert_eq!(
        Migrator::get_pending_migrations(&app.db)
            .await
            .unwrap()
            .len() as u32,
        n
    );
    Migrator::up(&app.db, None).await.unwrap();
    assert!(
        Migrator::get_pending_migrations(&app.db)
            .await
            .unwrap()
            .is_empty()
    );
    // The schema works after the round trip.
    seed_catalog(&app.db).await;
    seed_incidents(&app.db, 5).await;
}

/// Migration 16 tells automatic pauses from a person's by a column: rows
/// written before it with a `waiting: ` reason and no account are marked
/// automatic, every other row not.
async fn existing_waiting_pauses_become_automatic(app: TestApp) {
    use pagerlens::entities::sla_pause;
    use sea_orm::EntityTrait;
    seed_catalog(&app.db).await;
    seed_incidents(&app.db, 2).await;
    // Back to before migration 16, whatever comes after it.
    let names: Vec<String> = Migrator::migrations()
        .iter()
        .map(|m| migration::MigrationName::name(m.as_ref()).to_owned())
        .collect();
    let at = names
        .iter()
        .position(|n| n == "m20261207_000016_automatic_pauses")
        .expect("migration 16");
    Migrator::down(&app.db, Some(u32::try_from(names.len() - at).unwrap()))
        .await
        .unwrap();
    let id: String = app
        .db
        .query_one_raw(Statement::from_string(
            app.db.get_database_backend(),
            "SELECT id FROM incidents ORDER BY id LIMIT 1",
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get("", "id")
        .unwrap();
    for reason in [
        "waiting: Waiting on vendor",
        "customer call",
        "waiting for a call",
        "Waiting: vendor",
    ] {
        app.db
            .execute_unprepared(&format!(
                "INSERT INTO sla_pauses (incident_id, started_at, reason, created_at, updated_at) \
                 VALUES ('{id}', '2026-01-01T00:00:00Z', '{reason}', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')"
            ))
            .await
            .unwrap();
    }
    Migrator::up(&app.db, None).await.unwrap();
    let mut flags: Vec<(String, bool)> = sla_pause::Entity::find()
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|p| (p.reason, p.automatic))
        .collect();
    flags.sort();
    assert_eq!(
        flags,
        [
            ("Waiting: vendor".to_owned(), false),
            ("customer call".to_owned(), false),
            ("waiting for a call".to_owned(), false),
            ("waiting: Waiting on vendor".to_owned(), true),
        ]
    );
}

async fn foreign_keys_are_enforced(app: TestApp) {
    let err = app
        .db
        .execute_unprepared(
            "INSERT INTO service_teams (service_id, team_id, created_at, updated_at) VALUES ('NOPE', 'NOPE', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)",
        )
        .await;
    assert!(err.is_err(), "a dangling foreign key must be refused");
}

async fn timestamps_are_stored_in_utc(app: TestApp) {
    seed_catalog(&app.db).await;
    seed_incidents(&app.db, 1).await;
    let backend = app.db.get_database_backend();
    let sql = match backend {
        DbBackend::Postgres => {
            "SELECT data_type AS t FROM information_schema.columns WHERE table_name = 'incidents' AND column_name = 'created_at'"
        }
        _ => "SELECT typeof(created_at) AS t FROM incidents LIMIT 1",
    };
    let row = app
        .db
        .query_one_raw(Statement::from_string(backend, sql))
        .await
        .unwrap()
        .unwrap();
    let t: String = row.try_get("", "t").unwrap();
    match backend {
        DbBackend::Postgres => assert_eq!(t, "timestamp with time zone"),
        _ => assert_eq!(t, "text"),
    }
    let row = app
        .db
        .query_one_raw(Statement::from_string(
            backend,
            "SELECT created_at FROM incidents WHERE id = 'PI0000'",
        ))
        .await
        .unwrap()
        .unwrap();
    let at: chrono::DateTime<chrono::Utc> = row.try_get("", "created_at").unwrap();
    assert_eq!(at, crate::common::fixtures::t0());
    if app.backend == Backend::Sqlite {
        // SQLite keeps the offset in the stored text: always +00:00.
        let row = app
            .db
            .query_one_raw(Statement::from_string(
                backend,
                "SELECT CAST(created_at AS TEXT) AS s FROM incidents WHERE id = 'PI0000'",
            ))
            .await
            .unwrap()
            .unwrap();
        let s: String = row.try_get("", "s").unwrap();
        assert!(s.starts_with("2026-01-01") && s.ends_with("+00:00"), "{s}");
    }
}

/// A writing transaction that reads first, while another connection commits
/// before its first write (a job's heartbeat during a sync page, say): on
/// SQLite a plain deferred BEGIN would fail that write at once with
/// "database is locked" (`SQLITE_BUSY_SNAPSHOT`, which no busy timeout
/// waits out). `begin_write` takes the lock first, so the other writer
/// waits and both commit.
async fn a_writer_that_reads_first_is_not_failed_by_a_concurrent_commit(app: TestApp) {
    use pagerlens::entities::team;
    use sea_orm::{EntityTrait, PaginatorTrait};
    let now = chrono::Utc::now();
    let row = |id: &str| team::ActiveModel {
        id: sea_orm::Set(id.to_owned()),
        name: sea_orm::Set(id.to_owned()),
        description: sea_orm::Set(None),
        html_url: sea_orm::Set(None),
        deleted_at: sea_orm::Set(None),
        created_at: sea_orm::Set(now),
        updated_at: sea_orm::Set(now),
    };
    let before = team::Entity::find().count(&app.db).await.unwrap();

    let txn = pagerlens::db::begin_write(&app.db).await.unwrap();
    // The first statement is a read: a deferred transaction's snapshot.
    assert_eq!(team::Entity::find().count(&txn).await.unwrap(), before);
    // Another connection writes meanwhile (on SQLite it waits for the lock).
    let mut other = {
        let db = app.db.clone();
        let row = row("PTWRITER2");
        tokio::spawn(async move { team::Entity::insert(row).exec(&db).await })
    };
    // Let the other writer commit first if it can: on PostgreSQL it does
    // (another row); on SQLite it waits for this transaction's lock, so the
    // wait ends at its bound, and a deferred transaction here would have
    // let it commit and then failed to write.
    let done_first = tokio::time::timeout(std::time::Duration::from_millis(300), &mut other)
        .await
        .ok();
    team::Entity::insert(row("PTWRITER1"))
        .exec(&txn)
        .await
        .expect("the first write of a transaction that read first");
    txn.commit().await.unwrap();
    match done_first {
        Some(result) => result.unwrap().expect("the concurrent writer"),
        None => other.await.unwrap().expect("the concurrent writer"),
    };
    assert_eq!(
        team::Entity::find().count(&app.db).await.unwrap(),
        before + 2
    );
    // Savepoints inside it still work.
    let outer = pagerlens::db::begin_write(&app.db).await.unwrap();
    let inner = pagerlens::db::begin_write(&outer).await.unwrap();
    team::Entity::insert(row("PTWRITER3"))
        .exec(&inner)
        .await
        .unwrap();
    inner.rollback().await.unwrap();
    outer.commit().await.unwrap();
    assert_eq!(
        team::Entity::find().count(&app.db).await.unwrap(),
        before + 2
    );
}

/// Multi-row inserts (one JSON parameter a statement on PostgreSQL) store
/// every value exactly as given: quotes, backslashes, non-ASCII text, JSON
/// of any shape, NULLs, and timestamps to the microsecond; a conflict keeps
/// or updates rows as asked; a row JSON cannot carry (a JSON `null` value)
/// takes the plain statement and is stored too; a failing chunk changes
/// nothing.
async fn bulk_inserts_store_values_exactly(app: TestApp) {
    use chrono::TimeZone;
    use pagerlens::db::bulk;
    use pagerlens::entities::incident_custom_field_value as cf;
    use sea_orm::sea_query::OnConflict;
    use sea_orm::{EntityTrait, IntoActiveModel, QueryOrder};
    seed_catalog(&app.db).await;
    seed_incidents(&app.db, 1).await;
    cf::Entity::delete_many().exec(&app.db).await.unwrap();
    let at = chrono::Utc
        .timestamp_opt(1_767_225_600, 123_456_000)
        .single()
        .unwrap();
    let values = [
        Some(serde_json::json!("it's a \"quoted\" \\ back\\slash")),
        Some(serde_json::json!(["a", 1, 2.5, true, null, {"k": "ü €"}])),
        Some(serde_json::json!({"nested": {"deep": [1, 2, 3]}})),
        Some(serde_json::json!(12_345_678_901_i64)),
        None,
    ];
    let rows: Vec<cf::Model> = (0..2_500)
        .map(|i| cf::Model {
            incident_id: "PI0000".into(),
            name: format!("field_{i:04}"),
            display_name: (i % 3 != 0).then(|| format!("Field «{i}» \"x\"\n\ttab")),
            data_type: Some("string".into()),
            value: values[i % values.len()].clone(),
            value_text: (i % 2 == 0).then(|| "ccoe".to_owned()),
            created_at: at,
            updated_at: at,
        })
        .collect();
    let db = &app.db;
    let insert = |rows: &[cf::Model], update: bool| {
        let key = OnConflict::columns([cf::Column::IncidentId, cf::Column::Name]);
        let conflict = if update {
            key.to_owned()
                .update_columns([cf::Column::Value, cf::Column::ValueText])
                .to_owned()
        } else {
            key.to_owned().do_nothing().to_owned()
        };
        let models = rows.iter().cloned().map(IntoActiveModel::into_active_model);
        bulk::insert(db, models.collect(), Some(conflict), 200)
    };
    let stored = || cf::Entity::find().order_by_asc(cf::Column::Name).all(db);
    // In sets small enough for PostgreSQL's one-shape JSON statement.
    for chunk in rows.chunks(250) {
        assert_eq!(insert(chunk, false).await.unwrap(), 250);
    }
    assert_eq!(stored().await.unwrap(), rows);
    // Inserting them again (all at once: plain statements) changes
    // nothing; an update writes the columns named, and a JSON null (which
    // the recordset cannot carry) is stored as given.
    assert_eq!(insert(&rows, false).await.unwrap(), 0);
    let changed: Vec<cf::Model> = rows[..3]
        .iter()
        .map(|r| cf::Model {
            value: Some(serde_json::Value::Null),
            value_text: Some("changed".into()),
            ..r.clone()
        })
        .collect();
    assert_eq!(insert(&changed, true).await.unwrap(), 3);
    let after = stored().await.unwrap();
    assert_eq!(after[..3], changed[..]);
    assert_eq!(after[3..], rows[3..]);
    // A row of an unknown incident fails its statement, and the
    // transaction leaves nothing behind.
    let txn = pagerlens::db::begin_write(&app.db).await.unwrap();
    let bad: Vec<cf::ActiveModel> = (0..10)
        .map(|i| {
            cf::Model {
                incident_id: if i == 9 {
                    "NOPE".into()
                } else {
                    "PI0000".into()
                },
                name: format!("new_{i}"),
                ..rows[0].clone()
            }
            .into_active_model()
        })
        .collect();
    let key = OnConflict::columns([cf::Column::IncidentId, cf::Column::Name])
        .do_nothing()
        .to_owned();
    assert!(bulk::insert(&txn, bad, Some(key), 200).await.is_err());
    drop(txn);
    assert_eq!(cf::Entity::find().all(&app.db).await.unwrap().len(), 2_500);
}

on_both_databases!(
    migrations_roll_back_and_reapply,
    existing_waiting_pauses_become_automatic,
    foreign_keys_are_enforced,
    timestamps_are_stored_in_utc,
    a_writer_that_reads_first_is_not_failed_by_a_concurrent_commit,
    bulk_inserts_store_values_exactly
);

#[tokio::test]
async fn sqlite_runs_in_wal_with_foreign_keys_and_a_busy_timeout() {
    let app = crate::common::spawn(Backend::Sqlite).await.unwrap();
    let get = |sql: &'static str| {
        let db = app.db.clone();
        async move {
            let row = db
                .query_one_raw(Statement::from_string(DbBackend::Sqlite, sql))
                .await
                .unwrap()
                .unwrap();
            row.try_get_by_index::<String>(0)
                .or_else(|_| row.try_get_by_index::<i64>(0).map(|v| v.to_string()))
                .unwrap()
        }
    };
    assert_eq!(get("PRAGMA journal_mode").await, "wal");
    assert_eq!(get("PRAGMA foreign_keys").await, "1");
    assert_eq!(get("PRAGMA busy_timeout").await, "10000");
}
