//! Storage: one portable SQL dialect over sqlx's `Any` driver.
//!
//! Queries use `$1, $2, …` placeholders, `BIGINT` integers (money in minor units,
//! times in Unix milliseconds) and `TEXT`, which SQLite and PostgreSQL read the
//! same way. Only the DDL differs, so each backend has its own migrations folder
//! (`migrations/sqlite`, `migrations/postgres`), both embedded in the binary.

use anyhow::{bail, Context};
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Clone, Debug)]
pub struct Db {
    pool: AnyPool,
    backend: Backend,
    /// SQLite takes one writer at a time: writers wait their turn here, in
    /// order, instead of in SQLite's busy handler (which sleeps and retries).
    writer: Arc<tokio::sync::Mutex<()>>,
    shared: Shared,
}

/// State other modules keep per database (one value of each type), made on
/// first use: e.g. the queue where concurrent payments wait to be written
/// together (`payments::group_commit`).
#[derive(Clone, Default)]
struct Shared(Arc<std::sync::Mutex<Vec<Arc<dyn std::any::Any + Send + Sync>>>>);

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Shared")
    }
}

/// A write transaction from [`Db::begin`]. Queries run on it as on a
/// connection (`&mut *tx`); dropping it without `commit` rolls back.
pub struct WriteTx {
    tx: sqlx::Transaction<'static, sqlx::Any>,
    backend: Backend,
    // Declared after `tx`: the turn is given up only once the transaction is gone.
    _turn: Option<tokio::sync::OwnedMutexGuard<()>>,
}

/// A row lock a `SELECT` inside a write transaction takes until the commit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RowLock {
    /// Others may read and share-lock the row, not change it.
    Share,
    /// Others wait to change or lock the row.
    Update,
}

impl WriteTx {
    /// The clause that ends a `SELECT` taking `lock`. Empty on SQLite, which
    /// has no row locks and needs none: its writers take turns.
    pub fn lock(&self, lock: RowLock) -> &'static str {
        match (self.backend, lock) {
            (Backend::Sqlite, _) => "",
            (Backend::Postgres, RowLock::Share) => " FOR SHARE",
            (Backend::Postgres, RowLock::Update) => " FOR UPDATE",
        }
    }

    pub async fn commit(self) -> Result<(), sqlx::Error> {
        self.tx.commit().await
    }

    pub async fn rollback(self) -> Result<(), sqlx::Error> {
        self.tx.rollback().await
    }
}

impl std::ops::Deref for WriteTx {
    type Target = sqlx::AnyConnection;
    fn deref(&self) -> &sqlx::AnyConnection {
        &self.tx
    }
}

impl std::ops::DerefMut for WriteTx {
    fn deref_mut(&mut self) -> &mut sqlx::AnyConnection {
        &mut self.tx
    }
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

/// SQLite settings for money: WAL lets readers run beside the one writer;
/// `synchronous = FULL` fsyncs the WAL at every commit, so a payment we answered
/// "captured" for survives a power cut (NORMAL could lose the last commits).
const SQLITE_PRAGMAS: &str = "PRAGMA journal_mode = WAL; \
     PRAGMA synchronous = FULL; \
     PRAGMA foreign_keys = ON; \
     PRAGMA busy_timeout = 5000;";

/// How long a pooled PostgreSQL connection may sit unused before it is
/// pinged on its next use.
const IDLE_BEFORE_PING: Duration = Duration::from_secs(10);

impl Db {
    /// Opens (creating if needed) the database at `url` and brings its schema
    /// up to date.
    pub async fn connect(url: &str) -> anyhow::Result<Db> {
        sqlx::any::install_default_drivers();
        let (backend, url) = normalize_url(url)?;
        if backend == Backend::Sqlite {
            prepare_sqlite_file(&url)?;
        }
        let options = AnyConnectOptions::from_str(&url).with_context(|| format!("bad DATABASE_URL {:?}", redact(&url)))?;
        let max_connections = match backend {
            Backend::Sqlite => 8,
            Backend::Postgres => 16,
        };
        let pool = AnyPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(10))
            // No ping before every use (a round trip per query): a local file
            // cannot drop a connection, and a PostgreSQL connection is checked
            // only after it sat idle long enough for the server or a proxy to
            // have closed it. One that breaks in use is discarded by the pool.
            .test_before_acquire(false)
            .before_acquire(move |conn, meta| {
                Box::pin(async move {
                    if backend == Backend::Postgres && meta.idle_for >= IDLE_BEFORE_PING {
                        return Ok(sqlx::Connection::ping(conn).await.is_ok());
                    }
                    Ok(true)
                })
            })
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        conn.execute(SQLITE_PRAGMAS).await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await
            .with_context(|| format!("cannot open database {}", redact(&url)))?;
        let db = Db { pool, backend, writer: Arc::new(tokio::sync::Mutex::new(())), shared: Shared::default() };
        db.migrate().await?;
        Ok(db)
    }

    async fn migrate(&self) -> anyhow::Result<()> {
        let migrator = match self.backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        migrator.run(&self.pool).await.context("database migration failed")?;
        Ok(())
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Begins a write transaction. On SQLite it holds the write lock from
    /// the start (`BEGIN IMMEDIATE`), so it never fails half-way because
    /// another writer got there first; this process's writers queue for it.
    pub async fn begin(&self) -> Result<WriteTx, sqlx::Error> {
        match self.backend {
            Backend::Sqlite => {
                let turn = self.writer.clone().lock_owned().await;
                let tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
                Ok(WriteTx { tx, backend: Backend::Sqlite, _turn: Some(turn) })
            }
            Backend::Postgres => Ok(WriteTx { tx: self.pool.begin().await?, backend: Backend::Postgres, _turn: None }),
        }
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// This database's value of type `T` (see [`Shared`]).
    pub(crate) fn shared<T: Default + Send + Sync + 'static>(&self) -> Arc<T> {
        let mut values = self.shared.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(value) = values.iter().find_map(|v| v.clone().downcast::<T>().ok()) {
            return value;
        }
        let value = Arc::new(T::default());
        values.push(value.clone());
        value
    }

    /// Cheap liveness check for `/healthz`.
    /// Whether every migration this build embeds has been applied (another
    /// app server of a newer build may have gone further: that is fine).
    pub async fn migrations_current(&self) -> anyhow::Result<bool> {
        let migrator = match self.backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        let latest = migrator.iter().map(|m| m.version).max().unwrap_or(0);
        let row = sqlx::query("SELECT MAX(version) FROM _sqlx_migrations WHERE success").fetch_one(&self.pool).await?;
        let applied: Option<i64> = sqlx::Row::try_get(&row, 0)?;
        Ok(applied.unwrap_or(0) >= latest)
    }

    pub async fn ping(&self) -> anyhow::Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// A consistent copy of the whole SQLite database at `path`, taken while
    /// others keep reading and writing (`VACUUM INTO` reads one snapshot).
    /// The copy is a complete database file: restoring is starting the server
    /// on it. PostgreSQL has its own tools (see [`POSTGRES_BACKUP`]).
    pub async fn backup(&self, path: &std::path::Path) -> anyhow::Result<()> {
        anyhow::ensure!(self.backend == Backend::Sqlite, "{POSTGRES_BACKUP}");
        anyhow::ensure!(!path.exists(), "{} already exists: a backup never overwrites a file", path.display());
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).with_context(|| format!("cannot create {}", parent.display()))?;
        }
        let target = path.to_str().context("the backup path is not UTF-8")?.to_owned();
        sqlx::query("VACUUM INTO $1").bind(target).execute(&self.pool).await.context("backup failed")?;
        // Prove the copy opens and is whole before calling it a backup.
        let copy = Db::connect(&format!("sqlite://{}", path.display())).await?;
        let check: (String,) = sqlx::query_as("PRAGMA integrity_check").fetch_one(copy.pool()).await?;
        copy.close().await;
        anyhow::ensure!(check.0 == "ok", "the backup at {} fails its integrity check: {}", path.display(), check.0);
        Ok(())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// What `paylinks backup` says on PostgreSQL.
pub const POSTGRES_BACKUP: &str = "PostgreSQL databases are backed up with PostgreSQL's own tools: \
    `pg_dump --format=custom --file=paylinks.dump \"$DATABASE_URL\"` (consistent while the servers run) \
    and `pg_restore --dbname=\"$NEW_DATABASE_URL\" paylinks.dump` to restore; or continuous archiving for point-in-time recovery";

/// Accepts `sqlite://path`, `sqlite:path`, `postgres://…`, `postgresql://…`; SQLite
/// files are created on first use.
fn normalize_url(url: &str) -> anyhow::Result<(Backend, String)> {
    if let Some(rest) = url.strip_prefix("sqlite:") {
        let rest = rest.trim_start_matches("//");
        if rest.is_empty() {
            bail!("DATABASE_URL {url:?} names no SQLite file");
        }
        let sep = if rest.contains('?') { '&' } else { '?' };
        let mode = if rest.contains("mode=") { String::new() } else { format!("{sep}mode=rwc") };
        Ok((Backend::Sqlite, format!("sqlite://{rest}{mode}")))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok((Backend::Postgres, url.to_owned()))
    } else {
        bail!("DATABASE_URL must start with sqlite:// or postgres://, got {:?}", redact(url))
    }
}

/// Creates the SQLite file's folder, and the file itself readable by this
/// user only (0600): it holds password hashes and customers' details. SQLite
/// gives its -wal and -shm files the same permissions.
fn prepare_sqlite_file(url: &str) -> anyhow::Result<()> {
    let path = url.trim_start_matches("sqlite://");
    let path = path.split('?').next().unwrap_or_default();
    if path == ":memory:" || path.is_empty() {
        return Ok(());
    }
    let path = std::path::Path::new(path);
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        if !parent.exists() {
            let mut builder = std::fs::DirBuilder::new();
            builder.recursive(true);
            #[cfg(unix)]
            std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
            builder.create(parent).with_context(|| format!("cannot create {}", parent.display()))?;
        }
    }
    if !path.exists() {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        match options.open(path) {
            Ok(_) => {}
            // Another process created it a moment ago: theirs stands.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e).with_context(|| format!("cannot create {}", path.display())),
        }
    }
    Ok(())
}

/// Hides the password of a database URL for logs and errors (in the user
/// info and in a `password=` parameter).
pub fn redact(url: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let mut out = match (base.find("://"), base.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &base[scheme_end + 3..at];
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{}://{user}:***{}", &base[..scheme_end], &base[at..])
        }
        _ => base.to_owned(),
    };
    if let Some(query) = query {
        let params: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((key, _)) if key.eq_ignore_ascii_case("password") || key.eq_ignore_ascii_case("sslpassword") => format!("{key}=***"),
                _ => pair.to_owned(),
            })
            .collect();
        out.push('?');
        out.push_str(&params.join("&"));
    }
    out
}

/// Current time in Unix milliseconds, the one time format in the database.
pub fn now_ms() -> i64 {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock after 1970");
    i64::try_from(now.as_millis()).expect("time fits in i64 milliseconds")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_urls_get_create_mode() {
        assert_eq!(normalize_url("sqlite://data/x.db").unwrap(), (Backend::Sqlite, "sqlite://data/x.db?mode=rwc".into()));
        assert_eq!(normalize_url("sqlite:x.db").unwrap().1, "sqlite://x.db?mode=rwc");
        assert_eq!(normalize_url("sqlite://x.db?mode=ro").unwrap().1, "sqlite://x.db?mode=ro");
        assert!(normalize_url("sqlite://").is_err());
        assert!(normalize_url("mysql://x").is_err());
    }

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(redact("postgres://app:s3cret@db:5432/pay"), "postgres://app:***@db:5432/pay");
        assert_eq!(redact("sqlite://data/x.db"), "sqlite://data/x.db");
        assert_eq!(redact("postgres://db/pay?user=app&password=s3cret&sslmode=require"), "postgres://db/pay?user=app&password=***&sslmode=require");
        assert_eq!(redact("postgres://app:p@ss@db/pay"), "postgres://app:***@db/pay");
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn a_new_sqlite_file_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("paylinks-perm-{}-{}", std::process::id(), now_ms()));
        let file = dir.join("nested").join("p.db");
        let db = Db::connect(&format!("sqlite://{}", file.display())).await.unwrap();
        db.close().await;
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&file), 0o600, "the database file");
        assert_eq!(mode(file.parent().unwrap()), 0o700, "the folder it created");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn connection_errors_never_show_the_password() {
        let error = Db::connect("postgres://app:hunter2-secret@127.0.0.1:1/pay").await.err().unwrap();
        let text = format!("{error:#}");
        assert!(!text.contains("hunter2-secret"), "{text}");
    }
}
