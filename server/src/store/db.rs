//! The database: one pool over SQLite or PostgreSQL through sqlx's `Any` driver, the same
//! migrations for both, and the few places their dialects differ.

use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};

/// A database URL without its password, for logs.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &url[scheme + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:<redacted>{}", &url[..scheme + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// Which database is behind the pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// An embedded SQLite file: one writer at a time.
    Sqlite,
    /// A PostgreSQL server: many server instances can share it.
    Postgres,
}

impl Dialect {
    /// The dialect of a database URL.
    pub fn of(url: &str) -> Result<Self, String> {
        if url.starts_with("sqlite:") {
            Ok(Dialect::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Dialect::Postgres)
        } else {
            Err(format!(
                "unsupported database URL {:?}: use sqlite:// or postgres://",
                redact_url(url)
            ))
        }
    }

    /// The statement that opens a write transaction. SQLite takes its write lock up front
    /// (`IMMEDIATE`), so concurrent settlements queue instead of failing to upgrade a read lock.
    pub fn begin_write(self) -> &'static str {
        match self {
            Dialect::Sqlite => "BEGIN IMMEDIATE",
            Dialect::Postgres => "BEGIN",
        }
    }

    /// Reads a wallet's policy and usage, locking the row until commit on PostgreSQL (SQLite's
    /// write lock, taken by `BEGIN IMMEDIATE`, already covers the whole database).
    pub fn lock_wallet(self) -> &'static str {
        match self {
            Dialect::Sqlite => "SELECT policy, usage FROM wallets WHERE id = $1",
            Dialect::Postgres => "SELECT policy, usage FROM wallets WHERE id = $1 FOR UPDATE",
        }
    }
}

/// The migrations in `server/migrations/`, embedded in the binary.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Connects (creating a SQLite file if missing) and applies the SQLite pragmas: WAL,
/// `synchronous=FULL` (a committed settlement survives power loss), foreign keys, a busy
/// timeout, a 32 MiB page cache, and no checkpoints inside commits: whoever opens a SQLite
/// pool runs [`crate::app::run::spawn_checkpointer`] (as `run::open` does), else the log grows.
pub async fn connect(url: &str) -> Result<(AnyPool, Dialect), String> {
    sqlx::any::install_default_drivers();
    let dialect = Dialect::of(url)?;
    if dialect == Dialect::Sqlite {
        if let Some(path) = sqlite_file(url) {
            create_private(&path)?;
        }
    }
    let url = match dialect {
        Dialect::Sqlite if !url.contains("mode=") => {
            format!("{url}{}mode=rwc", if url.contains('?') { '&' } else { '?' })
        }
        _ => url.to_string(),
    };
    let options = AnyConnectOptions::from_str(&url).map_err(|e| format!("database URL: {e}"))?;
    let pool = AnyPoolOptions::new()
        .max_connections(if dialect == Dialect::Sqlite { 8 } else { 16 })
        .acquire_timeout(Duration::from_secs(30))
        .after_connect(move |connection, _| {
            Box::pin(async move {
                if dialect == Dialect::Sqlite {
                    connection
                        .execute(
                            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                             PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 30000; \
                             PRAGMA cache_size = -32768; PRAGMA wal_autocheckpoint = 0;",
                        )
                        .await?;
                }
                Ok(())
            })
        })
        .connect_with(options)
        .await
        .map_err(|e| format!("cannot connect to {}: {e}", redact_url(&url)))?;
    Ok((pool, dialect))
}

/// The file a SQLite URL names (`sqlite://path?…`, `sqlite:path`); `None` in memory.
pub fn sqlite_file(url: &str) -> Option<std::path::PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or_default();
    (!path.is_empty() && !path.starts_with(":memory:")).then(|| path.into())
}

/// Creates a missing database file readable by its owner alone (0600, as the master key
/// file): it holds the ledger, and SQLite gives its write-ahead log and shared-memory files
/// the database file's permissions. An existing file keeps the permissions it has.
fn create_private(path: &std::path::Path) -> Result<(), String> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(format!("cannot create {}: {e}", path.display())),
    }
}

/// Applies every pending migration.
pub async fn migrate(pool: &AnyPool) -> Result<(), String> {
    MIGRATOR
        .run(pool)
        .await
        .map_err(|e| format!("migration failed: {e}"))
}
