//! Unit tests of the SQLite store's private parts: update habits and the batch cache.

use super::*;
use crate::id::{CustomerId, TenantId};
use crate::identity::Customer;
use crate::store::{ChangeSet, Op, Store};

fn cache_kib(store: &SqliteStore) -> i64 {
    let pages: i64 = store
        .conn
        .query_row("PRAGMA cache_size", [], |r| r.get(0))
        .expect("cache_size");
    -pages
}

/// The page cache stays small while the database is small, and grows once it passes
/// the size where commits stop scanning it (lowered here to the file's own size).
#[test]
fn the_page_cache_grows_once_the_database_passes_the_threshold() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut store = SqliteStore::open(dir.path().join("grow.db")).expect("open");
    assert_eq!(cache_kib(&store), 8192);
    let large = store.large_cache.as_ref().expect("a larger cache to come");
    assert_eq!(large.from_pages, (1 << 30) / 4096 + 1, "the lock-byte page");

    let tenant = TenantId::new_v7();
    let now = chrono::DateTime::from_timestamp(1_772_442_000, 0).expect("time");
    let commit = |store: &mut SqliteStore, n: u128| {
        let mut c = Customer::new(CustomerId::from_uuid(uuid::Uuid::from_u128(n)), tenant, now);
        c.version = 1;
        let mut changes = ChangeSet::new(tenant);
        changes.push(Op::PutCustomer(c));
        store.apply(changes).expect("commit");
    };
    for n in 0..(2 * COMMITS_PER_SIZE_CHECK as u128) {
        commit(&mut store, n);
    }
    assert_eq!(
        cache_kib(&store),
        8192,
        "a small database keeps the small cache"
    );

    // Pretend 1 GiB is where the file is now: the next check switches.
    let large = store.large_cache.as_mut().expect("still to come");
    large.from_pages = 1;
    let wait = large.countdown;
    for n in 0..u128::from(wait) {
        commit(&mut store, 10_000 + n);
    }
    assert_eq!(cache_kib(&store), 8192, "not before the check");
    commit(&mut store, 20_000);
    assert_eq!(cache_kib(&store), 65_536);
    assert!(store.large_cache.is_none(), "switched once, for good");
}

#[test]
fn one_cache_size_throughout_when_both_are_the_same() {
    let dir = tempfile::tempdir().expect("temp dir");
    let options = SqliteOptions::default()
        .cache_kib(4096)
        .large_cache_kib(4096);
    let store = SqliteStore::open_with(dir.path().join("one.db"), options).expect("open");
    assert!(store.large_cache.is_none());
    assert_eq!(cache_kib(&store), 4096);
}

#[test]
fn record_updates_land_whichever_statement_a_kind_tries_first() {
    let mut store = SqliteStore::open_in_memory().expect("open");
    let tenant = TenantId::from_uuid(uuid::Uuid::from_u128(9));
    let t0 = chrono::DateTime::from_timestamp(1_772_442_000, 0).expect("time");
    let mut r = crate::store::Record::new("clock", "c-1", serde_json::json!(0));
    r.version = 1;
    let put = |store: &mut SqliteStore, r: &crate::store::Record| {
        let mut c = ChangeSet::new(tenant);
        c.push(Op::PutRecord(r.clone()));
        store.apply(c)
    };
    put(&mut store, &r).expect("insert");
    // Twenty updates that move the due time teach the kind to try the full statement
    // first; then ten that keep it, then a mix: every one lands as written.
    let dues = (0..20)
        .map(|i| Some(t0 + chrono::TimeDelta::minutes(i)))
        .chain((0..10).map(|_| Some(t0)))
        .chain([None, None, Some(t0), None]);
    for (i, due) in dues.enumerate() {
        r.version += 1;
        r.due = due;
        r.secondary = (i % 7 == 0).then(|| format!("s-{i}"));
        r.set(&i).expect("value");
        put(&mut store, &r).expect("update");
        let got = store
            .record(tenant, "clock", "c-1")
            .expect("read")
            .expect("there");
        assert_eq!(
            (got.version, got.due, &got.secondary),
            (r.version, r.due, &r.secondary)
        );
        assert_eq!(got.value.get(), i.to_string());
        let listed = store
            .due_records("clock", t0 + chrono::TimeDelta::days(1), 10)
            .expect("due");
        assert_eq!(
            listed.len(),
            usize::from(due.is_some()),
            "the due index follows"
        );
    }
    // A stale version matches neither statement.
    r.version -= 1;
    assert!(matches!(
        put(&mut store, &r),
        Err(crate::Error::Conflict(_))
    ));
}

#[test]
fn an_update_habit_follows_what_a_kind_does() {
    let mut h = UpdateHabits::default();
    assert!(h.narrow_first("sla"), "narrow first until told otherwise");
    for _ in 0..20 {
        h.observe("sla", false);
    }
    assert!(!h.narrow_first("sla"));
    assert!(h.narrow_first("language"), "per kind");
    for _ in 0..8 {
        h.observe("sla", true);
    }
    assert!(
        h.narrow_first("sla"),
        "bounded: a few kept updates turn it back"
    );
}

#[test]
fn the_first_batch_grows_the_page_cache() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut store = SqliteStore::open(dir.path().join("batch.db")).expect("open");
    assert_eq!(cache_kib(&store), 8192);
    store.begin_batch().expect("begin");
    assert_eq!(
        cache_kib(&store),
        65_536,
        "a batch pays the commit's scan once"
    );
    store.end_batch(true).expect("commit");
    assert_eq!(cache_kib(&store), 65_536, "for the life of the store");
    assert!(store.large_cache.is_none());
}
