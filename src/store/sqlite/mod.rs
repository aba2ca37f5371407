//! [`SqliteStore`]: the embedded default store, on one SQLite file (feature `sqlite`).
//!
//! Write-ahead log, `synchronous=NORMAL` by default (`FULL` on request), foreign keys on,
//! `secure_delete` on, a busy timeout for concurrent writers. Every [`Store::apply`] is
//! one `BEGIN IMMEDIATE` transaction (a rusqlite `Transaction`, rolled back unless
//! committed), or a savepoint of the open batch's (`batch.rs`); the invariants of the [`Store`]
//! contract are enforced by the schema (unique dedup key, one owner per identifier per
//! tenant) and by conditional statements inside the transaction, and a violation is
//! reported with the change-set rules' own error (`checks.rs`). See `docs/storage.md`.

mod batch;
mod batch_cache;
mod checkpoint;
mod checks;
mod inbox;
mod message_row;
mod read;
mod schema;
mod write;

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, ErrorCode, OpenFlags};

pub use schema::SCHEMA_VERSION;

use crate::error::{Error, Result};

/// How hard a commit waits for the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Synchronous {
    /// `synchronous=NORMAL` (the default): in WAL mode a commit survives a crash of the
    /// process; a power loss may roll back the last commits, never corrupt the file.
    #[default]
    Normal,
    /// `synchronous=FULL`: a commit is on disk before it returns, also across power loss.
    Full,
}

/// Options for [`SqliteStore::open_with`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqliteOptions {
    /// Durability of a commit (default [`Synchronous::Normal`]).
    pub synchronous: Synchronous,
    /// How long a writer waits for another writer's lock before the operation fails with
    /// [`Error::Busy`] (default 5 s).
    pub busy_timeout: Duration,
    /// SQLite's own page cache, in KiB, while the database is under 1 GiB (default
    /// 8,192). The operating system caches the file too; and in that range a commit
    /// after a b-tree page split scans the whole cache (see `docs/storage.md`), so bigger
    /// is not faster for write-heavy desks.
    pub cache_kib: u32,
    /// The page cache, in KiB, once the database is past 1 GiB (default 65,536), where
    /// that scan no longer happens and a larger cache saves reads of a file too large to
    /// stay in it; and from the first batch ([`Store::begin_batch`](crate::store::Store::begin_batch)) on,
    /// whatever the size, because a batch pays the scan once for all its operations. The
    /// store checks the size when it opens and every 1,024 commits; the larger cache
    /// stays for the life of the store. Set it to `cache_kib` to keep one size
    /// throughout.
    pub large_cache_kib: u32,
    /// Checkpoint the write-ahead log on a background thread with its own connection
    /// (default `true`, for databases on a file), so that no commit waits for the log to
    /// be copied into the database file and synced. With `false`, SQLite's automatic
    /// checkpoint runs inside the commit that crosses its threshold.
    pub background_checkpoint: bool,
    /// Own the database file for this process (default `false`): SQLite's `unix-excl`
    /// file system layer, which takes one exclusive lock on the file for the process and
    /// keeps the write-ahead log's index in memory, so transactions make no file-lock
    /// system calls (two to six of them per transaction otherwise). The store's own
    /// connections (its background checkpointer, other `SqliteStore`s opened in the same
    /// process) share the file as usual; another *process* cannot open it while the store
    /// is open — not the `sqlite3` shell, not a replication tool such as Litestream — and
    /// gets [`Error::Busy`]. For a host that is the only process using the file. Ignored
    /// where SQLite has no such layer (outside Unix).
    pub exclusive: bool,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        SqliteOptions {
            synchronous: Synchronous::Normal,
            busy_timeout: Duration::from_secs(5),
            cache_kib: 8192,
            large_cache_kib: 65_536,
            background_checkpoint: true,
            exclusive: false,
        }
    }
}

impl SqliteOptions {
    /// Sets [`SqliteOptions::synchronous`].
    pub fn synchronous(mut self, s: Synchronous) -> Self {
        self.synchronous = s;
        self
    }

    /// Sets [`SqliteOptions::busy_timeout`].
    pub fn busy_timeout(mut self, t: Duration) -> Self {
        self.busy_timeout = t;
        self
    }

    /// Sets [`SqliteOptions::background_checkpoint`].
    pub fn background_checkpoint(mut self, on: bool) -> Self {
        self.background_checkpoint = on;
        self
    }

    /// Sets [`SqliteOptions::exclusive`].
    pub fn exclusive(mut self, on: bool) -> Self {
        self.exclusive = on;
        self
    }

    /// The SQLite file system layer (VFS) these options ask for, if not the default.
    fn vfs(&self) -> Option<&'static std::ffi::CStr> {
        (self.exclusive && cfg!(unix)).then_some(c"unix-excl")
    }

    /// Sets [`SqliteOptions::cache_kib`] (at least 64).
    pub fn cache_kib(mut self, kib: u32) -> Self {
        self.cache_kib = kib.max(64);
        self
    }

    /// Sets [`SqliteOptions::large_cache_kib`] (at least 64).
    pub fn large_cache_kib(mut self, kib: u32) -> Self {
        self.large_cache_kib = kib.max(64);
        self
    }
}

/// The embedded SQLite store.
///
/// ```
/// use throughline::{Channel, Desk, DeskConfig, Identifier, Inbound, TenantId, store::SqliteStore};
/// let dir = std::env::temp_dir().join(format!("throughline-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir)?;
/// let path = dir.join("desk.db");
/// let t0 = chrono::DateTime::parse_from_rfc3339("2026-03-02T09:00:00Z")?.to_utc();
/// let tenant = TenantId::new_v7();
/// let inbound = Inbound::new(tenant, Channel::Sms, Identifier::phone("+31612345678", None)?,
///                            "sms-1", "Where is my parcel?");
/// {
///     let mut desk = Desk::new(SqliteStore::open(&path)?, DeskConfig::default());
///     assert!(!desk.ingest(inbound.clone(), t0)?.duplicate);
/// }
/// // Reopened: the message is there, and a redelivery is recognised.
/// let mut desk = Desk::new(SqliteStore::open(&path)?, DeskConfig::default());
/// assert!(desk.ingest(inbound, t0)?.duplicate);
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct SqliteStore {
    /// Declared first so it stops (and closes its connection) before `conn` closes.
    checkpointer: Option<checkpoint::Checkpointer>,
    conn: Connection,
    path: Option<PathBuf>,
    /// The open batch ([`Store::begin_batch`](crate::store::Store::begin_batch)), whose
    /// transaction the applies join; see `batch.rs` for its invariants.
    open_batch: Option<batch::OpenBatch>,
    /// The page cache still to switch to once the database passes 1 GiB (`None` once
    /// switched, or when there is nothing to switch).
    large_cache: Option<LargeCache>,
    /// Per record kind, whether updates of that kind usually keep their due time and
    /// secondary key (see [`UpdateHabits`]).
    record_updates: std::cell::RefCell<UpdateHabits>,
    /// Rows read or written in the open batch (empty outside one).
    batch: std::cell::RefCell<batch_cache::BatchCache>,
}

/// A batch still open when the store goes is rolled back (see `batch.rs`).
impl Drop for SqliteStore {
    fn drop(&mut self) {
        if let Some(batch) = self.open_batch.take() {
            // Closing the connection would roll it back too; an error changes nothing.
            let _ = batch.end(&self.conn, false);
        }
    }
}

/// Which of the two record `UPDATE` statements to try first, per record kind: the one
/// that leaves the record's indexes alone fails (changes no row) when the due time or the
/// secondary key changed, and then the full one runs; for a kind whose updates nearly
/// always move the due time (SLA clocks) trying the narrow one first only costs a
/// statement. A score per kind, moved by each outcome and bounded, picks the order. Only
/// the speed depends on it: either order writes the same row.
#[derive(Debug, Default)]
pub(super) struct UpdateHabits {
    kinds: Vec<(String, i8)>,
}

impl UpdateHabits {
    /// Whether the narrow statement is worth trying first for `kind`.
    pub(super) fn narrow_first(&self, kind: &str) -> bool {
        self.kinds
            .iter()
            .find(|(k, _)| k == kind)
            .is_none_or(|(_, score)| *score >= 0)
    }

    /// Notes whether an update of `kind` kept its indexed columns.
    pub(super) fn observe(&mut self, kind: &str, kept: bool) {
        let step = if kept { 1 } else { -1 };
        match self.kinds.iter_mut().find(|(k, _)| k == kind) {
            Some((_, score)) => *score = (*score + step).clamp(-8, 8),
            None => self.kinds.push((kind.to_string(), step)),
        }
    }
}

/// When and to what the page cache grows (see [`SqliteOptions::large_cache_kib`]).
#[derive(Debug, Clone, Copy)]
struct LargeCache {
    kib: u32,
    /// The database size, in pages, from which it applies.
    from_pages: i64,
    /// Commits until the next size check.
    countdown: u32,
}

/// Commits between two checks of the database size.
const COMMITS_PER_SIZE_CHECK: u32 = 1024;

/// Where SQLite's lock-byte page sits, 1 GiB into the file: once the database is past
/// it, a commit no longer scans the whole page cache (see `docs/storage.md`).
const LOCK_BYTE_OFFSET: i64 = 1 << 30;

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .field("in_batch", &self.in_batch())
            .finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the database file at `path` with default options,
    /// migrating its schema to [`SCHEMA_VERSION`].
    ///
    /// # Errors
    ///
    /// [`Error::Store`] when the file cannot be opened or is not a database, or was written
    /// by a newer schema version; [`Error::Busy`] when another process holds the lock.
    pub fn open(path: impl AsRef<Path>) -> Result<SqliteStore> {
        Self::open_with(path, SqliteOptions::default())
    }

    /// Opens the database file at `path` with `options`.
    ///
    /// # Errors
    ///
    /// As [`SqliteStore::open`].
    pub fn open_with(path: impl AsRef<Path>, options: SqliteOptions) -> Result<SqliteStore> {
        let path = path.as_ref();
        let conn = open_connection(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            options.vfs(),
        )
        .map_err(|e| sql_error(format!("cannot open {}", path.display()), e))?;
        Self::setup(conn, Some(path.to_path_buf()), &options)
    }

    /// A private in-memory database (for tests and short-lived desks).
    ///
    /// # Errors
    ///
    /// [`Error::Store`] when SQLite cannot allocate it.
    pub fn open_in_memory() -> Result<SqliteStore> {
        let conn = Connection::open_in_memory()
            .map_err(|e| sql_error("cannot open an in-memory database", e))?;
        Self::setup(conn, None, &SqliteOptions::default())
    }

    fn setup(
        mut conn: Connection,
        path: Option<PathBuf>,
        options: &SqliteOptions,
    ) -> Result<SqliteStore> {
        conn.busy_timeout(options.busy_timeout)
            .map_err(|e| sql_error("cannot set the busy timeout", e))?;
        let sync = match options.synchronous {
            Synchronous::Normal => "NORMAL",
            Synchronous::Full => "FULL",
        };
        if path.is_some() {
            // journal_mode returns a row; a read-only or locked file fails here clearly.
            let mode: String = conn
                .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
                .map_err(|e| sql_error("cannot switch to write-ahead logging", e))?;
            if !mode.eq_ignore_ascii_case("wal") {
                return Err(Error::Store {
                    message: format!("the database stays in journal mode {mode:?}, not WAL"),
                    source: None,
                });
            }
        }
        let background = options.background_checkpoint && path.is_some();
        let autocheckpoint = if background {
            checkpoint::BACKSTOP_PAGES
        } else {
            8192
        };
        // temp_store = MEMORY: statement journals keep their undo pages in memory, not in
        // a temporary file.
        conn.execute_batch(&format!(
            "PRAGMA synchronous = {sync}; PRAGMA foreign_keys = ON; PRAGMA secure_delete = ON; \
             PRAGMA wal_autocheckpoint = {autocheckpoint}; PRAGMA cache_size = -{}; \
             PRAGMA temp_store = MEMORY;",
            options.cache_kib.max(64)
        ))
        .map_err(|e| sql_error("cannot set the connection pragmas", e))?;
        conn.set_prepared_statement_cache_capacity(64);
        schema::migrate(&mut conn)?;
        let checkpointer = match (&path, background) {
            (Some(p), true) => Some(checkpoint::Checkpointer::start(
                p,
                options.busy_timeout,
                options.vfs(),
            )?),
            _ => None,
        };
        let page_size: i64 = conn
            .query_row("PRAGMA page_size", [], |r| r.get(0))
            .map_err(|e| sql_error("cannot read the page size", e))?;
        // Both sizes as SQLite gets them (at least 64 KiB): equal sizes never switch.
        let (small, large) = (options.cache_kib.max(64), options.large_cache_kib.max(64));
        let large_cache = (large != small).then(|| LargeCache {
            kib: large,
            from_pages: LOCK_BYTE_OFFSET / page_size.max(512) + 1,
            countdown: 0,
        });
        let mut store = SqliteStore {
            checkpointer,
            conn,
            path,
            open_batch: None,
            large_cache,
            record_updates: std::cell::RefCell::default(),
            batch: std::cell::RefCell::default(),
        };
        store.grow_cache_if_large()?;
        Ok(store)
    }

    /// Switches to [`SqliteOptions::large_cache_kib`] now (the first batch begins).
    fn grow_cache(&mut self) -> Result<()> {
        if let Some(large) = self.large_cache.take() {
            if let Err(e) = self
                .conn
                .execute_batch(&format!("PRAGMA cache_size = -{};", large.kib))
            {
                self.large_cache = Some(large);
                return Err(sql_error("cannot resize the page cache", e));
            }
        }
        Ok(())
    }

    /// Switches to [`SqliteOptions::large_cache_kib`] once the database is past 1 GiB;
    /// checks the size every [`COMMITS_PER_SIZE_CHECK`] calls.
    fn grow_cache_if_large(&mut self) -> Result<()> {
        let Some(large) = &mut self.large_cache else {
            return Ok(());
        };
        if large.countdown > 0 {
            large.countdown -= 1;
            return Ok(());
        }
        large.countdown = COMMITS_PER_SIZE_CHECK - 1;
        let (kib, from_pages) = (large.kib, large.from_pages);
        let pages: i64 = self
            .conn
            .query_row("PRAGMA page_count", [], |r| r.get(0))
            .map_err(|e| sql_error("cannot read the database size", e))?;
        if pages > from_pages {
            self.conn
                .execute_batch(&format!("PRAGMA cache_size = -{kib};"))
                .map_err(|e| sql_error("cannot resize the page cache", e))?;
            self.large_cache = None;
        }
        Ok(())
    }

    /// Whether a batch is open: applies join its transaction.
    fn in_batch(&self) -> bool {
        self.open_batch.is_some()
    }

    /// The database file, or `None` for an in-memory database.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Runs `PRAGMA integrity_check` and returns its report (`["ok"]` when healthy).
    ///
    /// # Errors
    ///
    /// [`Error::Store`] when the check cannot run.
    pub fn integrity_check(&self) -> Result<Vec<String>> {
        let mut stmt = self
            .conn
            .prepare("PRAGMA integrity_check")
            .map_err(|e| sql_error("cannot run integrity_check", e))?;
        let rows = stmt
            .query_map([], |r| r.get::<_, String>(0))
            .map_err(|e| sql_error("cannot run integrity_check", e))?;
        rows.collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| sql_error("cannot run integrity_check", e))
    }

    /// Copies the write-ahead log into the database file and truncates it
    /// (`PRAGMA wal_checkpoint(TRUNCATE)`).
    ///
    /// # Errors
    ///
    /// [`Error::Busy`] when readers keep the log in use; [`Error::Store`] otherwise.
    pub fn checkpoint(&self) -> Result<()> {
        if self.path.is_none() {
            return Ok(());
        }
        // Not while the background thread checkpoints: SQLite would refuse this one.
        let _exclusive = self.checkpointer.as_ref().map(|c| c.exclusive());
        let busy: i64 = self
            .conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0))
            .map_err(|e| sql_error("cannot checkpoint the write-ahead log", e))?;
        if busy != 0 {
            return Err(Error::Busy(
                "the write-ahead log is in use by another connection; checkpoint later".into(),
            ));
        }
        Ok(())
    }
}

/// Opens a connection through `vfs`, or SQLite's default file system layer.
fn open_connection(
    path: &Path,
    flags: OpenFlags,
    vfs: Option<&std::ffi::CStr>,
) -> rusqlite::Result<Connection> {
    match vfs {
        Some(vfs) => Connection::open_with_flags_and_vfs(path, flags, vfs),
        None => Connection::open_with_flags(path, flags),
    }
}

/// Maps a SQLite failure to a clear [`Error`]: busy and locked databases become
/// [`Error::Busy`]; a full disk, a read-only file, a corrupt file and others
/// [`Error::Store`] saying which; constraint violations [`Error::Conflict`].
pub(crate) fn sql_error(context: impl std::fmt::Display, e: rusqlite::Error) -> Error {
    let what = match e.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => {
            return Error::Busy(format!(
                "{context}: the database is locked by another writer (busy timeout expired); \
                 nothing was written, retry"
            ));
        }
        Some(ErrorCode::ConstraintViolation) => {
            return Error::Conflict(format!("{context}: {e}"));
        }
        Some(ErrorCode::DiskFull) => "the disk is full; nothing was written",
        Some(ErrorCode::ReadOnly) => "the database file is read-only; nothing was written",
        Some(ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase) => {
            "the file is not a valid throughline database or is corrupt"
        }
        Some(ErrorCode::CannotOpen) => {
            "the file cannot be opened (missing directory or permission)"
        }
        Some(ErrorCode::SystemIoFailure) => "an I/O error occurred; nothing was written",
        _ => "SQLite failed",
    };
    Error::store(format!("{context}: {what}"), e)
}

/// A time as nanoseconds since the epoch (sortable).
pub(crate) fn ts(t: DateTime<Utc>) -> Result<i64> {
    t.timestamp_nanos_opt()
        .ok_or_else(|| Error::invalid("time", format!("{t} is outside 1677-2262")))
}

fn json<T: serde::Serialize>(v: &T) -> Result<Vec<u8>> {
    serde_json::to_vec(v).map_err(|e| Error::store("cannot encode a row", e))
}

fn unjson<T: serde::de::DeserializeOwned>(what: &str, bytes: &[u8]) -> Result<T> {
    serde_json::from_slice(bytes)
        .map_err(|e| Error::store(format!("cannot decode a {what} row"), e))
}

#[cfg(test)]
mod tests;
