//! The open batch ([`Store::begin_batch`](crate::store::Store::begin_batch)): one SQLite
//! transaction over several applies, each a savepoint of it.
//!
//! A single apply runs in a rusqlite `Transaction`, rolled back when dropped uncommitted
//! (`write.rs`). A `Transaction` (or `Savepoint`) borrows its connection mutably, so the
//! batch's transaction, which lives from one call to the next, cannot be one kept beside
//! the connection: it is begun and ended here, by an [`OpenBatch`] that the store keeps
//! next to its connection, and each apply inside it is a [`ChangeSavepoint`], under these
//! invariants:
//!
//! * `SqliteStore::open_batch` is `Some` from the batch's successful `BEGIN IMMEDIATE`
//!   until the batch ends; while it is `Some`, the connection is inside that
//!   transaction, unless the batch is *lost*: SQLite ended the transaction itself (it
//!   does on a full disk, and may on an I/O error), which the connection's autocommit
//!   mode shows ([`OpenBatch::lost`]).
//! * A change set's writes run inside a savepoint that is released when they all
//!   succeeded and rolled back to otherwise (a failed write, an early return or a panic,
//!   as the guard drops): a failing change set leaves no trace and the batch stands.
//! * Every way out ends the transaction: `end_batch` commits or rolls it back; dropping
//!   the store rolls it back (`Drop for SqliteStore`; SQLite does too when the
//!   connection closes).
//! * A lost batch refuses its later applies and its commit: nothing of it lands, and
//!   never a part of a change set.

use rusqlite::Connection;

use super::sql_error;
use crate::error::Result;

/// The open batch's transaction (see the module docs). It holds no reference to the
/// connection: each call that ends it is given the store's.
#[derive(Debug)]
#[must_use = "a batch ends with `end`"]
pub(super) struct OpenBatch {
    /// Why the batch was rolled back, if it was.
    lost: Option<String>,
}

impl OpenBatch {
    /// Begins the batch's transaction on `conn`, taking the write lock now.
    pub(super) fn begin(conn: &Connection) -> Result<OpenBatch> {
        conn.execute_batch("BEGIN IMMEDIATE")
            .map_err(|e| sql_error("cannot begin a batch", e))?;
        Ok(OpenBatch { lost: None })
    }

    /// Why the batch can no longer commit: its transaction ended without it (SQLite may
    /// end one itself, on a full disk or an I/O error; see [`OpenBatch::lose`]).
    pub(super) fn lost(&self, conn: &Connection) -> Option<String> {
        match &self.lost {
            Some(why) => Some(why.clone()),
            None if conn.is_autocommit() => {
                Some("SQLite ended the batch's transaction after a failed write".into())
            }
            None => None,
        }
    }

    /// Notes why SQLite rolled the batch back (the write that failed).
    pub(super) fn lose(&mut self, why: String) {
        self.lost = Some(why);
    }

    /// Commits (`commit`) or rolls back the batch. A failed commit rolls it back.
    pub(super) fn end(self, conn: &Connection, commit: bool) -> Result<()> {
        if conn.is_autocommit() {
            return Ok(());
        }
        if !commit {
            return conn
                .execute_batch("ROLLBACK")
                .map_err(|e| sql_error("cannot roll back a batch", e));
        }
        conn.execute_batch("COMMIT").map_err(|e| {
            if !conn.is_autocommit() {
                let _ = conn.execute_batch("ROLLBACK");
            }
            sql_error("cannot commit a batch", e)
        })
    }
}

/// A change set's savepoint inside the batch: released when its writes all succeeded,
/// rolled back to (and released) when dropped otherwise: a failed write, an early return,
/// a panic unwinding through the writes.
#[must_use = "dropped unreleased, the savepoint rolls the change set back"]
pub(super) struct ChangeSavepoint<'c> {
    conn: Option<&'c Connection>,
}

impl<'c> ChangeSavepoint<'c> {
    /// Opens a savepoint of the batch's transaction on `conn`.
    pub(super) fn begin(conn: &'c Connection) -> Result<Self> {
        conn.execute_batch("SAVEPOINT change")
            .map_err(|e| sql_error("cannot begin a change set in a batch", e))?;
        Ok(ChangeSavepoint { conn: Some(conn) })
    }

    /// The writes finished: the change set joins the batch.
    pub(super) fn release(mut self) -> Result<()> {
        let Some(conn) = self.conn.take() else {
            return Ok(());
        };
        conn.execute_batch("RELEASE change").map_err(|e| {
            ChangeSavepoint::undo(conn);
            sql_error("cannot end a change set in a batch", e)
        })
    }

    /// Takes the change set's writes back; if even that fails, the whole batch goes
    /// (`OpenBatch::lost` then sees the ended transaction).
    fn undo(conn: &Connection) {
        if !conn.is_autocommit()
            && conn
                .execute_batch("ROLLBACK TO change; RELEASE change")
                .is_err()
        {
            let _ = conn.execute_batch("ROLLBACK");
        }
    }
}

impl Drop for ChangeSavepoint<'_> {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            ChangeSavepoint::undo(conn);
        }
    }
}
