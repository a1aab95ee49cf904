//! Storage on every backend: migrations, settings, and the portable dialect.
use crate::common;

use common::test_databases;
use paylinks::server::db::{now_ms, Backend, Db};
use sqlx::Row;

#[tokio::test]
async fn migrations_apply_once_and_reopen_cleanly() {
    for test_db in test_databases().await {
        let db = Db::connect(&test_db.url).await.unwrap();
        let applied: i64 = sqlx::query("SELECT COUNT(*) FROM _sqlx_migrations").fetch_one(db.pool()).await.unwrap().get(0);
        assert!(applied >= 1, "{}", test_db.label);
        db.close().await;
        // A second start finds the schema current and changes nothing.
        let again = Db::connect(&test_db.url).await.unwrap();
        let reapplied: i64 = sqlx::query("SELECT COUNT(*) FROM _sqlx_migrations").fetch_one(again.pool()).await.unwrap().get(0);
        assert_eq!(applied, reapplied, "{}", test_db.label);
    }
}

#[tokio::test]
async fn portable_queries_round_trip_on_every_backend() {
    for test_db in test_databases().await {
        let db = Db::connect(&test_db.url).await.unwrap();
        let id: i64 = sqlx::query(
            "INSERT INTO accounts (email, public_id, business_name, password_hash, locale, created_at) \
             VALUES ($1, 'pub1', $2, $3, $4, $5) RETURNING id",
        )
        .bind("shop@example.com")
        .bind("山田商店 🍵")
        .bind("not-a-real-hash")
        .bind("ja")
        .bind(now_ms())
        .fetch_one(db.pool())
        .await
        .unwrap()
        .get(0);
        let row = sqlx::query("SELECT business_name, locale FROM accounts WHERE id = $1").bind(id).fetch_one(db.pool()).await.unwrap();
        assert_eq!(row.get::<String, _>(0), "山田商店 🍵", "{}", test_db.label);
        // Constraints hold on both: unique email, closed set of locales.
        let duplicate =
            sqlx::query("INSERT INTO accounts (email, public_id, business_name, password_hash, locale, created_at) VALUES ($1, 'pub2', 'x', 'x', 'en', 0)")
                .bind("shop@example.com")
                .execute(db.pool())
                .await;
        assert!(duplicate.is_err(), "{}: duplicate email accepted", test_db.label);
        let bad_locale = sqlx::query(
            "INSERT INTO accounts (email, public_id, business_name, password_hash, locale, created_at) VALUES ('b@example.com', 'pub3', 'x', 'x', 'fr', 0)",
        )
        .execute(db.pool())
        .await;
        assert!(bad_locale.is_err(), "{}: bad locale accepted", test_db.label);
    }
}

#[tokio::test]
async fn sqlite_runs_in_wal_mode_with_foreign_keys_and_full_sync() {
    let test_db = &test_databases().await[0];
    let db = Db::connect(&test_db.url).await.unwrap();
    assert_eq!(db.backend(), Backend::Sqlite);
    let mut conn = db.pool().acquire().await.unwrap();
    let journal: String = sqlx::query("PRAGMA journal_mode").fetch_one(&mut *conn).await.unwrap().get(0);
    let foreign_keys: i64 = sqlx::query("PRAGMA foreign_keys").fetch_one(&mut *conn).await.unwrap().get(0);
    let synchronous: i64 = sqlx::query("PRAGMA synchronous").fetch_one(&mut *conn).await.unwrap().get(0);
    assert_eq!(journal, "wal");
    assert_eq!(foreign_keys, 1);
    assert_eq!(synchronous, 2, "synchronous must be FULL");
}

#[tokio::test]
async fn bad_database_urls_are_refused_with_a_clear_error() {
    for url in ["mysql://localhost/x", "sqlite://", "nonsense"] {
        let err = Db::connect(url).await.unwrap_err().to_string();
        assert!(err.contains("DATABASE_URL"), "{url}: {err}");
    }
}
