//! Every store passes the same conformance suite.

#[test]
fn memory_store_conforms() {
    throughline::store::conformance::run(throughline::store::MemoryStore::new);
}
