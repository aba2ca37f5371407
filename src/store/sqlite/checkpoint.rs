//! Checkpoints off the commit path.
//!
//! In WAL mode every commit appends its pages to the `-wal` file, and a *checkpoint*
//! copies them back into the database file (and syncs both). SQLite's automatic
//! checkpoint runs inside whichever commit crosses the threshold, so that commit waits for
//! the copy and two `fsync`s: on the ingest benchmark checkpoints were about 40% of the
//! wall time. A [`Checkpointer`] runs them on its own thread and connection instead, as
//! `PRAGMA wal_checkpoint(PASSIVE)`, which never blocks the writer: commits only append.
//!
//! The writer keeps a much higher automatic threshold as a backstop, for when a
//! checkpoint cannot finish (a long read holding an old snapshot, say). Explicit
//! checkpoints ([`SqliteStore::checkpoint`](super::SqliteStore::checkpoint), after an
//! erasure) take the same lock as the thread, so the two never race for SQLite's own
//! checkpoint lock within one process.

use std::path::Path;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use super::sql_error;
use crate::error::Result;

/// Commits between two requests for a background checkpoint (a few thousand pages).
pub(super) const COMMITS_PER_CHECKPOINT: u32 = 256;

/// The writer's own automatic checkpoint threshold, in pages, when a [`Checkpointer`]
/// runs: only reached when background checkpoints cannot keep up.
pub(super) const BACKSTOP_PAGES: u32 = 32_768;

#[derive(Default)]
struct State {
    /// A checkpoint was asked for and has not started yet.
    pending: bool,
    /// The store is closing.
    stop: bool,
}

struct Shared {
    state: Mutex<State>,
    wake: Condvar,
    /// Held while a checkpoint runs, by the thread or by an explicit checkpoint.
    running: Mutex<()>,
}

/// The background checkpoint thread of a [`SqliteStore`](super::SqliteStore) on a file.
pub(super) struct Checkpointer {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
    commits: u32,
}

impl std::fmt::Debug for Checkpointer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Checkpointer")
            .field("commits", &self.commits)
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // The data behind these locks stays valid whatever a panicking holder did.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Checkpointer {
    /// Opens a second connection to `path` and starts the thread.
    ///
    /// # Errors
    ///
    /// [`Error::Store`](crate::Error::Store) when the connection cannot be opened or the
    /// thread cannot be started.
    pub(super) fn start(
        path: &Path,
        busy_timeout: Duration,
        vfs: Option<&std::ffi::CStr>,
    ) -> Result<Checkpointer> {
        let conn = super::open_connection(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            vfs,
        )
        .map_err(|e| sql_error(format!("cannot open {} to checkpoint", path.display()), e))?;
        conn.busy_timeout(busy_timeout)
            .and_then(|()| conn.execute_batch("PRAGMA cache_size = -256;"))
            .map_err(|e| sql_error("cannot set up the checkpoint connection", e))?;
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            wake: Condvar::new(),
            running: Mutex::new(()),
        });
        let theirs = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("throughline-checkpoint".into())
            .spawn(move || run(&conn, &theirs))
            .map_err(|e| crate::Error::store("cannot start the checkpoint thread", e))?;
        Ok(Checkpointer {
            shared,
            thread: Some(thread),
            commits: 0,
        })
    }

    /// Notes a commit worth `commits` single commits (a batch is worth more); every
    /// [`COMMITS_PER_CHECKPOINT`] asks the thread for a checkpoint.
    pub(super) fn committed(&mut self, commits: u32) {
        self.commits = self.commits.saturating_add(commits);
        if self.commits >= COMMITS_PER_CHECKPOINT {
            self.commits = 0;
            lock(&self.shared.state).pending = true;
            self.shared.wake.notify_one();
        }
    }

    /// Waits for a running background checkpoint and keeps the thread from starting one
    /// while the guard lives.
    pub(super) fn exclusive(&self) -> MutexGuard<'_, ()> {
        lock(&self.shared.running)
    }
}

fn run(conn: &Connection, shared: &Shared) {
    loop {
        {
            let mut state = lock(&shared.state);
            while !state.pending && !state.stop {
                state = shared
                    .wake
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner);
            }
            if state.stop {
                return;
            }
            state.pending = false;
        }
        let _running = lock(&shared.running);
        // PASSIVE: copies what it can without waiting for the writer or readers. A failure
        // (the disk, a lock held elsewhere) leaves the log as it was; the next request or
        // the writer's backstop tries again.
        let _ = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        lock(&self.shared.state).stop = true;
        self.shared.wake.notify_one();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use super::lock;
    use crate::store::SqliteStore;
    use crate::{Channel, Desk, DeskConfig, Identifier, Inbound, TenantId};

    /// While an explicit checkpoint holds the lock, the thread's checkpoint waits (SQLite
    /// would answer one of two concurrent checkpoints with `SQLITE_BUSY`), and runs once
    /// the lock is released.
    #[test]
    #[allow(clippy::disallowed_methods)] // a test's deadline for a real thread
    fn the_thread_waits_while_an_explicit_checkpoint_runs() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("w.db");
        let tenant = TenantId::new_v7();
        let t0 = chrono::DateTime::from_timestamp(1_772_442_000, 0).expect("time");
        let mut desk = Desk::new(
            SqliteStore::open(&path).expect("open"),
            DeskConfig::pass_through(),
        );
        let db_len = || std::fs::metadata(&path).expect("file").len();
        let before = db_len();
        let shared = Arc::clone(
            &desk
                .store()
                .checkpointer
                .as_ref()
                .expect("a store on a file has one")
                .shared,
        );
        let held = lock(&shared.running);
        for i in 0..600 {
            let from = Identifier::email(&format!("c{}@example.com", i % 40)).expect("valid");
            let m = Inbound::new(tenant, Channel::Email, from, format!("m-{i}"), "hello");
            desk.ingest(m, t0 + chrono::TimeDelta::seconds(i))
                .expect("ingest");
        }
        std::thread::sleep(Duration::from_millis(300));
        assert_eq!(db_len(), before, "no checkpoint while the lock is held");
        drop(held);
        let deadline = Instant::now() + Duration::from_secs(20);
        while db_len() == before && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(
            db_len() > before,
            "the waiting checkpoint ran once released"
        );
    }
}
