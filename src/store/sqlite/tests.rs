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

fn record(key: &str, version: u64, value: i64) -> crate::store::Record {
    let mut r = crate::store::Record::new("clock", key, serde_json::json!(value));
    r.version = version;
    r
}

fn put(store: &mut SqliteStore, tenant: TenantId, ops: Vec<Op>) -> crate::Result<()> {
    let mut changes = ChangeSet::new(tenant);
    for op in ops {
        changes.push(op);
    }
    store.apply(changes)
}

fn value_of(store: &SqliteStore, tenant: TenantId, key: &str) -> Option<(u64, String)> {
    store
        .record(tenant, "clock", key)
        .expect("read")
        .map(|r| (r.version, r.value.get().to_string()))
}

/// Inside a batch, reads of customers, conversations and records come from the rows the
/// batch read or wrote: each read sees the latest successful write, a failed apply
/// changes nothing, a deletion is seen, another tenant sees nothing, and a discarded
/// batch leaves the rows as they were before it.
#[test]
fn reads_in_a_batch_see_exactly_the_batch_s_writes() {
    let mut store = SqliteStore::open_in_memory().expect("open");
    let tenant = TenantId::from_uuid(uuid::Uuid::from_u128(1));
    let other = TenantId::from_uuid(uuid::Uuid::from_u128(2));
    let now = chrono::DateTime::from_timestamp(1_772_442_000, 0).expect("time");
    put(&mut store, tenant, vec![Op::PutRecord(record("k1", 1, 1))]).expect("before");

    store.begin_batch().expect("begin");
    assert_eq!(value_of(&store, tenant, "k1"), Some((1, "1".into())));
    put(&mut store, tenant, vec![Op::PutRecord(record("k1", 2, 2))]).expect("update");
    assert_eq!(value_of(&store, tenant, "k1"), Some((2, "2".into())));
    put(&mut store, tenant, vec![Op::PutRecord(record("k1", 3, 3))]).expect("again");
    assert_eq!(value_of(&store, tenant, "k1"), Some((3, "3".into())));

    // A change set that fails on its second op: its first op is rolled back too.
    let failed = put(
        &mut store,
        tenant,
        vec![
            Op::PutRecord(record("k2", 1, 20)),
            Op::PutRecord(record("k1", 9, 9)),
        ],
    );
    assert!(matches!(failed, Err(crate::Error::Conflict(_))));
    assert_eq!(value_of(&store, tenant, "k2"), None);
    assert_eq!(value_of(&store, tenant, "k1"), Some((3, "3".into())));

    // Customers and conversations: the written row, and only for its own tenant.
    let mut customer = Customer::new(CustomerId::from_uuid(uuid::Uuid::from_u128(7)), tenant, now);
    customer.version = 1;
    let mut conv = crate::conversation::Conversation::new(
        crate::id::ConversationId::from_uuid(uuid::Uuid::from_u128(8)),
        tenant,
        customer.id,
        crate::Channel::Email,
        now,
    );
    conv.version = 1;
    put(
        &mut store,
        tenant,
        vec![
            Op::PutCustomer(customer.clone()),
            Op::PutConversation(conv.clone()),
        ],
    )
    .expect("customer and conversation");
    conv.version = 2;
    conv.tags.push("seen".into());
    put(&mut store, tenant, vec![Op::PutConversation(conv.clone())]).expect("update");
    assert_eq!(
        store.customer(tenant, customer.id).expect("read"),
        Some(customer.clone())
    );
    assert_eq!(
        store.conversation(tenant, conv.id).expect("read"),
        Some(conv.clone())
    );
    assert_eq!(store.conversation(other, conv.id).expect("read"), None);
    assert_eq!(store.customer(other, customer.id).expect("read"), None);
    assert_eq!(store.record(other, "clock", "k1").expect("read"), None);

    // A deletion is seen at once.
    put(
        &mut store,
        tenant,
        vec![Op::DeleteRecord {
            kind: "clock".into(),
            key: "k1".into(),
            version: 3,
        }],
    )
    .expect("delete");
    assert_eq!(value_of(&store, tenant, "k1"), None);

    // Discarded: everything is as before the batch.
    store.end_batch(false).expect("discard");
    assert_eq!(value_of(&store, tenant, "k1"), Some((1, "1".into())));
    assert_eq!(store.customer(tenant, customer.id).expect("read"), None);
    assert_eq!(store.conversation(tenant, conv.id).expect("read"), None);
}

/// What one batch read is forgotten when it ends: a row another connection changed
/// between two batches is read afresh in the second.
#[test]
fn a_new_batch_reads_what_another_connection_wrote_between_batches() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("two.db");
    let mut first = SqliteStore::open(&path).expect("open");
    let mut second = SqliteStore::open(&path).expect("open again");
    let tenant = TenantId::from_uuid(uuid::Uuid::from_u128(1));

    first.begin_batch().expect("begin");
    put(&mut first, tenant, vec![Op::PutRecord(record("k", 1, 1))]).expect("insert");
    assert_eq!(value_of(&first, tenant, "k"), Some((1, "1".into())));
    first.end_batch(true).expect("commit");

    put(&mut second, tenant, vec![Op::PutRecord(record("k", 2, 2))]).expect("elsewhere");

    first.begin_batch().expect("begin again");
    assert_eq!(value_of(&first, tenant, "k"), Some((2, "2".into())));
    first.end_batch(true).expect("commit");
}

/// A write that fails halfway through a change set in a batch because the disk is full
/// (here the database may not grow): SQLite rolls the whole transaction back, so the
/// batch is lost: its later applies fail, committing it says nothing landed, what was
/// committed before stays, and the store works on. A change set that conflicts in a
/// batch writes nothing and the batch goes on.
#[test]
fn a_write_failing_halfway_through_a_batch_on_a_full_disk_loses_the_batch() {
    let mut store = SqliteStore::open_in_memory().expect("open");
    let tenant = TenantId::from_uuid(uuid::Uuid::from_u128(7));
    put(&mut store, tenant, vec![Op::PutRecord(record("a", 1, 1))]).expect("before");
    store.begin_batch().expect("begin");
    put(&mut store, tenant, vec![Op::PutRecord(record("b", 1, 1))]).expect("in the batch");
    let stale = put(
        &mut store,
        tenant,
        vec![
            Op::PutRecord(record("b", 2, 2)),
            Op::PutRecord(record("a", 5, 2)),
        ],
    );
    assert!(matches!(stale, Err(crate::Error::Conflict(_))), "{stale:?}");
    assert_eq!(
        value_of(&store, tenant, "b"),
        Some((1, "1".into())),
        "not written"
    );
    let pages: i64 = store
        .conn
        .query_row("PRAGMA page_count", [], |r| r.get(0))
        .expect("pages");
    store
        .conn
        .execute_batch(&format!("PRAGMA max_page_count = {pages}"))
        .expect("limit");
    let mut big = crate::store::Record::new("clock", "big", serde_json::json!("x".repeat(200_000)));
    big.version = 1;
    let failed = put(
        &mut store,
        tenant,
        vec![Op::PutRecord(record("a", 2, 2)), Op::PutRecord(big)],
    );
    assert!(failed.is_err(), "the database cannot grow");
    assert!(
        store
            .open_batch
            .as_ref()
            .and_then(|b| b.lost(&store.conn))
            .is_some(),
        "{failed:?}"
    );
    let later = put(&mut store, tenant, vec![Op::PutRecord(record("c", 1, 1))]);
    assert!(later.unwrap_err().to_string().contains("rolled back"));
    let end = store.end_batch(true);
    assert!(end
        .unwrap_err()
        .to_string()
        .contains("nothing in it landed"));
    store
        .conn
        .execute_batch("PRAGMA max_page_count = 1073741823")
        .expect("unlimit");
    assert_eq!(value_of(&store, tenant, "a"), Some((1, "1".into())));
    assert_eq!(value_of(&store, tenant, "b"), None);
    assert_eq!(value_of(&store, tenant, "c"), None);
    store.begin_batch().expect("a new batch");
    put(&mut store, tenant, vec![Op::PutRecord(record("a", 2, 3))]).expect("works on");
    store.end_batch(true).expect("commit");
    assert_eq!(value_of(&store, tenant, "a"), Some((2, "3".into())));
}

/// A change set of many ops in a batch (a tick's warnings for many conversations): its
/// ops see what its earlier ops left, and one stale op stops the whole change set.
#[test]
fn a_large_change_set_in_a_batch_is_checked_against_its_own_earlier_ops() {
    let mut store = SqliteStore::open_in_memory().expect("open");
    let tenant = TenantId::from_uuid(uuid::Uuid::from_u128(1));
    let many = |extra: Op| {
        let mut ops: Vec<Op> = (0..40)
            .map(|i| Op::PutRecord(record(&format!("k{i}"), 1, i)))
            .collect();
        ops.push(extra);
        ops
    };
    store.begin_batch().expect("begin");
    // Record k30 was inserted by the same change set, 30 ops earlier: version 2 follows.
    put(
        &mut store,
        tenant,
        many(Op::PutRecord(record("k30", 2, 300))),
    )
    .expect("follows");
    assert_eq!(value_of(&store, tenant, "k30"), Some((2, "300".into())));
    assert_eq!(value_of(&store, tenant, "k39"), Some((1, "39".into())));
    // The same records again, as new: the first op already conflicts with the stored row.
    let stale = put(&mut store, tenant, many(Op::PutRecord(record("k99", 1, 1))));
    assert!(matches!(stale, Err(crate::Error::Conflict(_))), "{stale:?}");
    // New keys, then one of them at a version that skips one: nothing of it lands.
    let mut ops: Vec<Op> = (0..40)
        .map(|i| Op::PutRecord(record(&format!("n{i}"), 1, i)))
        .collect();
    ops.push(Op::PutRecord(record("n35", 3, 350)));
    let skipped = put(&mut store, tenant, ops);
    assert!(
        matches!(skipped, Err(crate::Error::Conflict(_))),
        "{skipped:?}"
    );
    assert_eq!(value_of(&store, tenant, "n0"), None);
    assert_eq!(value_of(&store, tenant, "n35"), None);
    store.end_batch(true).expect("commit");
    assert_eq!(value_of(&store, tenant, "k30"), Some((2, "300".into())));
    assert_eq!(value_of(&store, tenant, "n0"), None);
}

/// A store dropped with its batch open (a host that panicked, say) leaves nothing of the
/// batch in the file.
#[test]
fn a_store_dropped_with_its_batch_open_keeps_nothing_of_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("dropped.db");
    let tenant = TenantId::from_uuid(uuid::Uuid::from_u128(3));
    {
        let mut store = SqliteStore::open(&path).expect("open");
        put(&mut store, tenant, vec![Op::PutRecord(record("a", 1, 1))]).expect("before");
        store.begin_batch().expect("begin");
        put(&mut store, tenant, vec![Op::PutRecord(record("b", 1, 1))]).expect("in the batch");
    }
    let store = SqliteStore::open(&path).expect("reopen");
    assert_eq!(value_of(&store, tenant, "a"), Some((1, "1".into())));
    assert_eq!(value_of(&store, tenant, "b"), None, "rolled back");
}

/// A change set whose writes in a batch stop halfway by a panic: its savepoint is
/// rolled back to as the panic unwinds, so the half-written change set cannot be
/// committed with the batch; the batch goes on, and commits the rest.
#[test]
fn a_panic_amid_a_change_set_s_writes_takes_back_only_its_change_set() {
    let mut store = SqliteStore::open_in_memory().expect("open");
    let tenant = TenantId::from_uuid(uuid::Uuid::from_u128(4));
    put(&mut store, tenant, vec![Op::PutRecord(record("a", 1, 1))]).expect("before");
    store.begin_batch().expect("begin");
    put(&mut store, tenant, vec![Op::PutRecord(record("b", 1, 1))]).expect("in the batch");
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _savepoint = batch::ChangeSavepoint::begin(&store.conn).expect("savepoint");
        store
            .conn
            .execute_batch("UPDATE records SET version = 9")
            .expect("a first write");
        panic!("the second write never comes");
    }));
    assert!(panicked.is_err());
    assert!(!store.conn.is_autocommit(), "the batch goes on");
    put(&mut store, tenant, vec![Op::PutRecord(record("c", 1, 1))]).expect("later");
    store.end_batch(true).expect("commit");
    assert_eq!(value_of(&store, tenant, "a"), Some((1, "1".into())));
    assert_eq!(value_of(&store, tenant, "b"), Some((1, "1".into())));
    assert_eq!(value_of(&store, tenant, "c"), Some((1, "1".into())));
    store.begin_batch().expect("a new batch");
    put(&mut store, tenant, vec![Op::PutRecord(record("a", 2, 2))]).expect("works on");
    store.end_batch(true).expect("commit");
    assert_eq!(value_of(&store, tenant, "a"), Some((2, "2".into())));
}

/// Outside a batch, a change set whose second write conflicts leaves nothing of its
/// first (its transaction rolls back when dropped), and the error is the change-set
/// rules' own, as `MemoryStore` gives it.
#[test]
fn a_change_set_that_conflicts_halfway_leaves_nothing_and_says_why() {
    let mut store = SqliteStore::open_in_memory().expect("open");
    let mut memory = crate::store::MemoryStore::new();
    let tenant = TenantId::from_uuid(uuid::Uuid::from_u128(5));
    let before = vec![Op::PutRecord(record("a", 1, 1))];
    put(&mut store, tenant, before.clone()).expect("before");
    put_on(&mut memory, tenant, before).expect("before");
    let ops = vec![
        Op::PutRecord(record("b", 1, 1)),
        Op::PutRecord(record("a", 3, 3)),
    ];
    let on_sqlite = put(&mut store, tenant, ops.clone())
        .unwrap_err()
        .to_string();
    let on_memory = put_on(&mut memory, tenant, ops).unwrap_err().to_string();
    assert_eq!(on_sqlite, on_memory);
    assert!(on_sqlite.contains("clock record a version 3 written over stored version 1"));
    assert_eq!(value_of(&store, tenant, "b"), None);
    assert!(store.conn.is_autocommit());
}

fn put_on(store: &mut dyn Store, tenant: TenantId, ops: Vec<Op>) -> crate::Result<()> {
    store.apply(ChangeSet { tenant, ops })
}
