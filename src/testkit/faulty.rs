//! [`FaultyStore`]: a wrapper that makes the Nth call to a store fail, for testing that
//! every `Desk` operation fails cleanly and succeeds on retry.

use std::cell::Cell;

use crate::error::{Error, Result};
use crate::store::{forward_store, Store};

/// Whether an injected fault repeats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultMode {
    /// Only the Nth call fails (a transient failure).
    Once,
    /// The Nth call and every later one fail (the disk died).
    FromThenOn,
    /// Only the Nth call fails, with [`Error::Conflict`], as if another writer had just
    /// won a race for the same data; nothing is written.
    ConflictOnce,
}

/// A store whose Nth call (counting reads and writes, from 1) fails with
/// [`Error::Store`], once or from then on, or once with [`Error::Conflict`]. A failed
/// `apply` writes nothing.
///
/// ```
/// use throughline::store::{MemoryStore, Store};
/// use throughline::testkit::{FaultMode, FaultyStore};
/// use throughline::TenantId;
/// let store = FaultyStore::new(MemoryStore::new(), 1, FaultMode::Once);
/// let t = TenantId::new_v7();
/// assert!(store.outbox(t).is_err()); // the first call fails
/// assert!(store.outbox(t).is_ok());  // the next one works
/// ```
#[derive(Debug)]
pub struct FaultyStore<S> {
    inner: S,
    fail_at: Cell<u64>,
    mode: Cell<FaultMode>,
    calls: Cell<u64>,
}

impl<S: Store> FaultyStore<S> {
    /// Wraps `inner`; call number `fail_at` (from 1) fails; 0 never fails.
    pub fn new(inner: S, fail_at: u64, mode: FaultMode) -> Self {
        FaultyStore {
            inner,
            fail_at: Cell::new(fail_at),
            mode: Cell::new(mode),
            calls: Cell::new(0),
        }
    }

    /// Calls made so far.
    pub fn calls(&self) -> u64 {
        self.calls.get()
    }

    /// Arms a new fault at call `fail_at` counted from now (0 disarms).
    pub fn fail_after(&self, calls_from_now: u64, mode: FaultMode) -> &Self {
        self.fail_at.set(if calls_from_now == 0 {
            0
        } else {
            self.calls.get() + calls_from_now
        });
        self.mode.set(mode);
        self
    }

    /// Stops injecting faults.
    pub fn disarm(&self) {
        self.fail_at.set(0);
    }

    /// The wrapped store.
    pub fn inner(&self) -> &S {
        &self.inner
    }

    /// Unwraps the store.
    pub fn into_inner(self) -> S {
        self.inner
    }

    /// The hook around a `&self` call: counts it, and fails it when it is the armed one.
    fn checked<T>(&self, what: &'static str, call: impl FnOnce(&S) -> Result<T>) -> Result<T> {
        self.tick(what)?;
        call(&self.inner)
    }

    /// The hook around a `&mut self` call, as [`FaultyStore::checked`]. A fault at
    /// `end_batch` is a failed commit, which lands nothing (the `Store` contract): the
    /// inner batch is rolled back, not left open.
    fn checked_mut<T>(
        &mut self,
        what: &'static str,
        call: impl FnOnce(&mut S) -> Result<T>,
    ) -> Result<T> {
        if let Err(e) = self.tick(what) {
            if what == "end_batch" {
                let _ = self.inner.end_batch(false);
            }
            return Err(e);
        }
        call(&mut self.inner)
    }

    fn tick(&self, what: &str) -> Result<()> {
        let n = self.calls.get() + 1;
        self.calls.set(n);
        let at = self.fail_at.get();
        let fails = at != 0
            && match self.mode.get() {
                FaultMode::Once | FaultMode::ConflictOnce => n == at,
                FaultMode::FromThenOn => n >= at,
            };
        if fails && self.mode.get() == FaultMode::ConflictOnce {
            return Err(Error::Conflict(format!(
                "injected conflict at call {n} ({what})"
            )));
        }
        if fails {
            return Err(Error::Store {
                message: format!("injected fault at call {n} ({what})"),
                source: None,
            });
        }
        Ok(())
    }
}

/// Every call but `supports_batches` counts, and the armed one fails instead of reaching
/// the inner store.
impl<S: Store> Store for FaultyStore<S> {
    forward_store!(inner: Self::inner, read: Self::checked, write: Self::checked_mut);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{call_every_method, MemoryStore};

    /// Every call but `supports_batches` counts once, whichever method it is.
    #[test]
    fn every_call_counts_once() {
        let mut s = FaultyStore::new(MemoryStore::new(), 0, FaultMode::Once);
        call_every_method(&mut s);
        assert_eq!(s.calls(), 29);
        assert!(s.supports_batches());
        assert_eq!(s.calls(), 29, "a question, not a call");
    }

    /// The armed call fails, through whichever method it comes, and does not reach the
    /// inner store: a failed `begin_batch` opens no batch.
    #[test]
    fn the_armed_call_fails_and_is_not_forwarded() {
        let mut s = FaultyStore::new(MemoryStore::new(), 0, FaultMode::Once);
        s.fail_after(1, FaultMode::Once);
        assert!(s.begin_batch().is_err());
        s.begin_batch().expect("the inner store had no batch open");
        s.fail_after(1, FaultMode::ConflictOnce);
        assert!(matches!(s.end_batch(true), Err(Error::Conflict(_))));
        s.begin_batch()
            .expect("the failed commit rolled the batch back");
    }
}

#[cfg(all(test, feature = "sqlite"))]
mod sqlite_tests {
    use super::*;
    use crate::store::{ChangeSet, Op, Record, SqliteStore};
    use crate::TenantId;

    /// A fault at the end of a batch is a failed commit: nothing of the batch lands and
    /// the inner store can start the next batch.
    #[test]
    fn a_fault_at_the_end_of_a_batch_rolls_it_back() {
        let t = TenantId::new_v7();
        let mut s = FaultyStore::new(
            SqliteStore::open_in_memory().expect("open"),
            0,
            FaultMode::Once,
        );
        s.begin_batch().expect("begin");
        let mut c = ChangeSet::new(t);
        c.push(Op::PutRecord(Record::new("k", "a", serde_json::json!(1))));
        s.apply(c).expect("apply");
        s.fail_after(1, FaultMode::Once);
        assert!(s.end_batch(true).is_err());
        assert!(s.record(t, "k", "a").expect("read").is_none());
        s.begin_batch().expect("a new batch starts");
        s.end_batch(true).expect("commit");
    }
}
