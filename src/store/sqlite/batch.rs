//! The open batch ([`Store::begin_batch`](crate::store::Store::begin_batch)): one SQLite
//! transaction over several applies.
//!
//! A single apply runs in a rusqlite `Transaction`, rolled back when dropped uncommitted
//! (`write.rs`). A `Transaction` borrows its connection, so the batch's transaction,
//! which lives from one call to the next, cannot be one kept beside the connection: it is
//! begun and ended here, by an [`OpenBatch`] that the store keeps next to its connection,
//! under these invariants:
//!
//! * `SqliteStore::open_batch` is `Some` from the batch's successful `BEGIN IMMEDIATE`
//!   until the batch ends; while it is `Some`, the connection is inside that
//!   transaction, unless the batch is *lost* ([`OpenBatch::lost`]: rolled back by a
//!   failed write, or ended by SQLite itself, which the connection's autocommit mode
//!   shows).
//! * Every way out ends the transaction: `end_batch` commits or rolls it back; a change
//!   set whose writes stop after changing rows (a failed write, an early return or a
//!   panic) rolls it back as its [`Unfinished`] guard drops, and the batch is lost;
//!   dropping the store rolls it back (`Drop for SqliteStore`; SQLite does too when the
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

    /// Why the batch can no longer commit: it was rolled back, or its transaction ended
    /// without it (SQLite may end one itself, on a full disk; an [`Unfinished`] guard
    /// that dropped during a panic ends it too).
    pub(super) fn lost(&self, conn: &Connection) -> Option<String> {
        match &self.lost {
            Some(why) => Some(why.clone()),
            None if conn.is_autocommit() => Some(
                "a change set's writes stopped halfway and the batch's transaction ended".into(),
            ),
            None => None,
        }
    }

    /// Notes that the batch was rolled back, and why.
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

/// Armed while a change set's writes run inside the batch: dropped armed (its writes
/// stopped after changing rows, or a panic unwound through them), it rolls the batch's
/// transaction back, since those writes cannot be taken back alone.
#[must_use = "dropped armed, the guard rolls the batch back"]
pub(super) struct Unfinished<'c> {
    conn: Option<&'c Connection>,
}

impl<'c> Unfinished<'c> {
    /// A guard over the batch's transaction on `conn`.
    pub(super) fn arm(conn: &'c Connection) -> Self {
        Unfinished { conn: Some(conn) }
    }

    /// The writes finished (or changed nothing): the batch stands.
    pub(super) fn disarm(mut self) {
        self.conn = None;
    }
}

impl Drop for Unfinished<'_> {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            if !conn.is_autocommit() {
                // Nothing more can be done here: the batch is lost either way, and
                // `OpenBatch::lost` sees the ended transaction.
                let _ = conn.execute_batch("ROLLBACK");
            }
        }
    }
}
