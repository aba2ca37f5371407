//! Tenant isolation on every embedded store, over many seeds.

mod common;

#[test]
fn memory_store_keeps_tenants_apart() {
    for seed in 0..20 {
        common::isolation::check(throughline::store::MemoryStore::new(), seed);
    }
}

#[cfg(feature = "sqlite")]
#[test]
fn sqlite_store_keeps_tenants_apart() {
    for seed in 0..20 {
        common::isolation::check(
            throughline::store::SqliteStore::open_in_memory().unwrap(),
            seed,
        );
    }
}
