//! Fault injection on the memory and SQLite stores: every Desk operation, with the store
//! failing at each of its calls in turn (once, or from then on), returns an error, leaves
//! the stored state exactly as it was, and succeeds when retried. The harness is
//! `tests/common/faults.rs`; `tests/postgres.rs` runs it on PostgreSQL.

mod common;

use common::faults::run_all;
use throughline::store::MemoryStore;

#[test]
fn every_operation_fails_cleanly_and_succeeds_on_retry_memory() {
    run_all(&|| Box::new(MemoryStore::new()));
}

#[cfg(feature = "sqlite")]
#[test]
fn every_operation_fails_cleanly_and_succeeds_on_retry_sqlite() {
    run_all(&|| Box::new(throughline::store::SqliteStore::open_in_memory().unwrap()));
}
