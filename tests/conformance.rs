//! Every store passes the same conformance suite.

#[test]
fn memory_store_conforms() {
    throughline::store::conformance::run(throughline::store::MemoryStore::new);
}

/// The same store answering `Store::read_ahead`, so every Desk story in the suite runs
/// through the Desk's read-ahead path.
#[test]
fn memory_store_reading_ahead_conforms() {
    throughline::store::conformance::run(throughline::store::MemoryStore::reading_ahead);
}

#[cfg(feature = "sqlite")]
#[test]
fn sqlite_store_in_memory_conforms() {
    throughline::store::conformance::run(|| {
        throughline::store::SqliteStore::open_in_memory().expect("in-memory database")
    });
}

#[cfg(feature = "sqlite")]
#[test]
fn sqlite_store_on_a_file_conforms() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut n = 0;
    throughline::store::conformance::run(|| {
        n += 1;
        throughline::store::SqliteStore::open(dir.path().join(format!("c{n}.db")))
            .expect("database file")
    });
}
