//! SQLite store throughput beside raw `rusqlite` inserts of the same message row with the
//! same pragmas (WAL, `synchronous=NORMAL`), measured in the same run, and beside the raw
//! floor under an ingest (the reads and writes it must do, in plain SQL); and reads on a large
//! database (1,000,000 messages of 100,000 customers, built once under `target/` and
//! reused): a customer's timeline (last 50 messages) and identifier resolution, with their
//! p50/p99 printed, and the file size per message.
//!
//! ```sh
//! cargo bench --bench sqlite
//! ```
// A benchmark times itself: the no-clock rule is the library's.
#![allow(clippy::disallowed_methods)]

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use throughline::store::{SqliteStore, Store};
use throughline::{Channel, Desk, DeskConfig, Identifier, Inbound, TenantId};

const TENANT: &str = "01900000-0000-7000-8000-0000000be4c6";

fn tenant() -> TenantId {
    TENANT.parse().unwrap()
}

fn t0() -> DateTime<Utc> {
    DateTime::from_timestamp(1_772_442_000, 0).unwrap()
}

/// Message `n`: 10 per customer, 200-byte body.
fn inbound(n: u64, customers: u64) -> Inbound {
    let c = n % customers;
    Inbound::new(
        tenant(),
        Channel::WhatsApp,
        Identifier::email(&format!("c{c}@example.com")).unwrap(),
        format!("m-{n}"),
        format!(
            "{:<200}",
            format!("message {n} from customer {c}: where is my order?")
        ),
    )
}

static RUN: AtomicU64 = AtomicU64::new(0);

fn temp_db() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir
        .path()
        .join(format!("b{}.db", RUN.fetch_add(1, Ordering::SeqCst)));
    (dir, path)
}

/// A raw connection with the store's pragmas, on a database with the store's schema.
fn raw(path: &Path) -> rusqlite::Connection {
    drop(SqliteStore::open(path).unwrap());
    let c = rusqlite::Connection::open(path).unwrap();
    c.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = OFF; \
         PRAGMA secure_delete = ON;",
    )
    .unwrap();
    c
}

fn raw_insert(c: &rusqlite::Connection, n: u64) {
    let m = inbound(n, 1000);
    let data = serde_json::to_vec(&(&m.body, &m.external_id, &m.from)).unwrap();
    let id = uuid::Uuid::from_u128(u128::from(n) + 1);
    c.prepare_cached(
        "INSERT INTO messages (tenant, id, conversation, channel, external_id, sent, received, pending, data) \
         VALUES (?1, ?2, ?3, 'whatsapp', ?4, ?5, ?5, 0, ?6)",
    )
    .unwrap()
    .execute(rusqlite::params![
        tenant().as_uuid().as_bytes().as_slice(),
        id.as_bytes().as_slice(),
        id.as_bytes().as_slice(),
        m.external_id,
        n as i64,
        data
    ])
    .unwrap();
}

/// A blob of `n` bytes standing in for a row's JSON document.
fn blob(n: usize) -> Vec<u8> {
    vec![b'x'; n]
}

/// The floor under any ingest that keeps the conversation model: raw `rusqlite` doing only
/// the reads and writes a pass-through `Desk::ingest` of a returning customer must do —
/// look up the redelivery key, the sender's identifier, its customer and the customer's
/// open conversation; insert the message row; rewrite the conversation (its message count
/// and times) and the identifier (its last-seen time) — with no Rust logic at all, and
/// documents of the sizes the `SqliteStore` writes (message 460 bytes, conversation 526,
/// identifier 266, customer 282: the averages of the `sqlite_large` database). The raw
/// insert's message document is smaller (about 260 bytes).
///
/// `minimum` leaves out what a different design might avoid: the redelivery lookup (the
/// unique index alone would catch it), the customer read and the identifier's rewrite.
/// What is left — who sent it, which conversation, the message, the conversation's new
/// count — is what any ingest into a conversation model does.
struct Floor {
    minimum: bool,
    c: rusqlite::Connection,
    tenant: [u8; 16],
    /// Conversation id per customer.
    conversations: Vec<[u8; 16]>,
    /// The documents written for every message: message, conversation, identifier.
    docs: [Vec<u8>; 3],
}

impl Floor {
    fn new(path: &Path, customers: u64, minimum: bool) -> Floor {
        let c = raw(path);
        let t = tenant().as_uuid().as_bytes().to_vec();
        let mut conversations = Vec::new();
        c.execute_batch("BEGIN").unwrap();
        for k in 0..customers {
            let customer = uuid::Uuid::from_u128(u128::from(k) + (1 << 64));
            let conv = uuid::Uuid::from_u128(u128::from(k) + (2 << 64));
            c.execute(
                "INSERT INTO customers (tenant, id, version, data) VALUES (?1, ?2, 1, ?3)",
                rusqlite::params![t, customer.as_bytes().as_slice(), blob(282)],
            )
            .unwrap();
            c.execute(
                "INSERT INTO identifiers (tenant, ident, customer, data) VALUES (?1, ?2, ?3, ?4)",
                rusqlite::params![
                    t,
                    format!("email:c{k}@example.com"),
                    customer.as_bytes().as_slice(),
                    blob(266)
                ],
            )
            .unwrap();
            c.execute(
                "INSERT INTO conversations (tenant, id, customer, created, closed, version, data) \
                 VALUES (?1, ?2, ?3, 0, 0, 1, ?4)",
                rusqlite::params![
                    t,
                    conv.as_bytes().as_slice(),
                    customer.as_bytes().as_slice(),
                    blob(526)
                ],
            )
            .unwrap();
            conversations.push(*conv.as_bytes());
        }
        c.execute_batch("COMMIT").unwrap();
        Floor {
            minimum,
            c,
            tenant: *tenant().as_uuid().as_bytes(),
            conversations,
            docs: [blob(460), blob(526), blob(266)],
        }
    }

    /// Message `n`'s reads and writes.
    fn ingest(&self, n: u64, customers: u64) {
        let (c, t) = (&self.c, self.tenant.as_slice());
        let [message_doc, conversation_doc, identifier_doc] = &self.docs;
        let k = n % customers;
        let external_id = format!("m-{n}");
        if !self.minimum {
            self.redelivery(t, &external_id);
        }
        let ident = format!("email:c{k}@example.com");
        let customer: Vec<u8> = c
            .prepare_cached(
                "SELECT customer, data FROM identifiers WHERE tenant = ?1 AND ident = ?2",
            )
            .unwrap()
            .query_row(rusqlite::params![t, ident], |r| {
                r.get::<_, Vec<u8>>(1)?;
                r.get(0)
            })
            .unwrap();
        if !self.minimum {
            let _profile: Vec<u8> = c
                .prepare_cached("SELECT data FROM customers WHERE tenant = ?1 AND id = ?2")
                .unwrap()
                .query_row(rusqlite::params![t, customer], |r| r.get(0))
                .unwrap();
        }
        let (conv, _doc): (Vec<u8>, Vec<u8>) = c
            .prepare_cached(
                "SELECT id, data FROM conversations WHERE tenant = ?1 AND customer = ?2 \
                 AND closed = 0 ORDER BY created DESC, id DESC LIMIT 1",
            )
            .unwrap()
            .query_row(rusqlite::params![t, customer], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        assert_eq!(conv.as_slice(), self.conversations[k as usize].as_slice());
        let id = uuid::Uuid::from_u128(u128::from(n) + 1);
        c.prepare_cached(
            "INSERT INTO messages (tenant, id, conversation, channel, external_id, sent, received, pending, data) \
             VALUES (?1, ?2, ?3, 'whatsapp', ?4, ?5, ?5, 0, ?6)",
        )
        .unwrap()
        .execute(rusqlite::params![t, id.as_bytes().as_slice(), conv, external_id, n as i64, message_doc])
        .unwrap();
        c.prepare_cached(
            "UPDATE conversations SET version = version + 1, data = ?3 WHERE tenant = ?1 AND id = ?2",
        )
        .unwrap()
        .execute(rusqlite::params![t, conv, conversation_doc])
        .unwrap();
        if !self.minimum {
            c.prepare_cached("UPDATE identifiers SET data = ?3 WHERE tenant = ?1 AND ident = ?2")
                .unwrap()
                .execute(rusqlite::params![t, ident, identifier_doc])
                .unwrap();
        }
    }

    /// The redelivery lookup: no such message.
    fn redelivery(&self, t: &[u8], external_id: &str) {
        use rusqlite::OptionalExtension;
        let dup: Option<Vec<u8>> = self
            .c
            .prepare_cached(
                "SELECT data FROM messages WHERE tenant = ?1 AND channel = 'whatsapp' \
                 AND external_id = ?2",
            )
            .unwrap()
            .query_row(rusqlite::params![t, external_id], |r| r.get(0))
            .optional()
            .unwrap();
        assert!(dup.is_none());
    }
}

/// The raw floor (or `minimum`) of `per_transaction` messages per transaction per
/// iteration.
fn floor_bench(
    g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    name: &str,
    per_transaction: u64,
    minimum: bool,
) {
    g.bench_function(name, |b| {
        let (_dir, path) = temp_db();
        let floor = Floor::new(&path, 1000, minimum);
        let mut n = 0;
        b.iter(|| {
            floor.c.execute_batch("BEGIN").unwrap();
            for _ in 0..per_transaction {
                floor.ingest(n, 1000);
                n += 1;
            }
            floor.c.execute_batch("COMMIT").unwrap();
        })
    });
}

/// `Desk::ingest_batch` of 1,000 messages per iteration, with `config`.
fn ingest_batch_1000(
    g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    name: &str,
    config: fn() -> DeskConfig,
) {
    g.bench_function(name, |b| {
        let (_dir, path) = temp_db();
        let mut desk = Desk::new(SqliteStore::open(&path).unwrap(), config());
        let mut n = 0u64;
        b.iter_batched(
            || {
                let batch: Vec<Inbound> = (n..n + 1000).map(|i| inbound(i, 1000)).collect();
                n += 1000;
                (batch, t0() + TimeDelta::seconds(n as i64))
            },
            |(batch, now)| {
                for r in desk.ingest_batch(batch, now) {
                    r.unwrap();
                }
            },
            BatchSize::PerIteration,
        )
    });
}

fn writes(c: &mut Criterion) {
    let mut g = c.benchmark_group("sqlite_ingest");
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(8));
    g.throughput(Throughput::Elements(1));
    g.bench_function("raw_insert_transaction_per_row", |b| {
        let (_dir, path) = temp_db();
        let c = raw(&path);
        let mut n = 0;
        b.iter(|| {
            raw_insert(&c, n); // autocommit: one transaction per row
            n += 1;
        })
    });
    g.bench_function(
        "raw_insert_transaction_per_row_background_checkpoint",
        |b| {
            // The same raw insert with checkpoints moved off the commit path the way
            // `SqliteStore` does it: a second connection runs a passive checkpoint every 256
            // commits, and the writer's own threshold is only a backstop.
            let (_dir, path) = temp_db();
            let c = raw(&path);
            c.execute_batch("PRAGMA wal_autocheckpoint = 32768;")
                .unwrap();
            let (tx, rx) = std::sync::mpsc::channel::<()>();
            let checkpointer = {
                let path = path.clone();
                std::thread::spawn(move || {
                    let c = rusqlite::Connection::open(&path).unwrap();
                    while rx.recv().is_ok() {
                        c.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
                            .unwrap();
                    }
                })
            };
            let mut n = 0;
            b.iter(|| {
                raw_insert(&c, n);
                n += 1;
                if n % 256 == 0 {
                    tx.send(()).unwrap();
                }
            });
            drop(tx);
            checkpointer.join().unwrap();
        },
    );
    floor_bench(&mut g, "raw_ingest_floor_transaction_per_message", 1, false);
    g.bench_function("desk_ingest_pass_through_transaction_per_message", |b| {
        let (_dir, path) = temp_db();
        let mut desk = Desk::new(
            SqliteStore::open(&path).unwrap(),
            DeskConfig::pass_through(),
        );
        let mut n = 0;
        b.iter(|| {
            black_box(
                desk.ingest(inbound(n, 1000), t0() + TimeDelta::seconds(n as i64))
                    .unwrap(),
            );
            n += 1;
        })
    });
    g.bench_function("desk_ingest_transaction_per_message", |b| {
        let (_dir, path) = temp_db();
        let mut desk = Desk::new(SqliteStore::open(&path).unwrap(), DeskConfig::default());
        let mut n = 0;
        b.iter(|| {
            black_box(
                desk.ingest(inbound(n, 1000), t0() + TimeDelta::seconds(n as i64))
                    .unwrap(),
            );
            n += 1;
        })
    });
    g.throughput(Throughput::Elements(1000));
    g.bench_function("raw_insert_batch_1000", |b| {
        let (_dir, path) = temp_db();
        let c = raw(&path);
        let mut n = 0;
        b.iter(|| {
            c.execute_batch("BEGIN").unwrap();
            for _ in 0..1000 {
                raw_insert(&c, n);
                n += 1;
            }
            c.execute_batch("COMMIT").unwrap();
        })
    });
    floor_bench(&mut g, "raw_ingest_minimum_batch_1000", 1000, true);
    floor_bench(&mut g, "raw_ingest_floor_batch_1000", 1000, false);
    // With one helper thread preparing the messages (opted in; the default starts none).
    ingest_batch_1000(&mut g, "desk_ingest_batch_1000", || {
        DeskConfig::default().prepare_threads(1)
    });
    // The same with every message prepared on the calling thread (no helper thread).
    ingest_batch_1000(&mut g, "desk_ingest_batch_1000_one_thread", || {
        DeskConfig::default().prepare_threads(0)
    });
    ingest_batch_1000(&mut g, "desk_ingest_batch_1000_pass_through", || {
        DeskConfig::pass_through().prepare_threads(1)
    });
    ingest_batch_1000(
        &mut g,
        "desk_ingest_batch_1000_pass_through_one_thread",
        || DeskConfig::pass_through().prepare_threads(0),
    );
    g.finish();
}

const LARGE_MESSAGES: u64 = 1_000_000;
const LARGE_CUSTOMERS: u64 = 100_000;

/// The large database, built once (pass-through desk, batches of 1,000) and reused.
fn large_db() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("target")
        .join("bench-data");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("sqlite-1m.db");
    let done = dir.join("sqlite-1m.done");
    if done.exists() {
        return path;
    }
    let _ = std::fs::remove_file(&path);
    let start = Instant::now();
    let mut desk = Desk::new(
        SqliteStore::open(&path).unwrap(),
        DeskConfig::pass_through(),
    );
    let mut n = 0;
    while n < LARGE_MESSAGES {
        let batch: Vec<Inbound> = (n..n + 1000).map(|i| inbound(i, LARGE_CUSTOMERS)).collect();
        for r in desk.ingest_batch(batch, t0() + TimeDelta::seconds(n as i64)) {
            r.unwrap();
        }
        n += 1000;
    }
    desk.store().checkpoint().unwrap();
    std::fs::write(&done, "").unwrap();
    eprintln!("built {} in {:?}", path.display(), start.elapsed());
    path
}

fn percentiles(mut v: Vec<Duration>) -> (Duration, Duration) {
    v.sort();
    (v[v.len() / 2], v[v.len() * 99 / 100])
}

fn reads(c: &mut Criterion) {
    let path = large_db();
    let store = SqliteStore::open(&path).unwrap();
    let size = std::fs::metadata(&path).unwrap().len();
    eprintln!(
        "on disk: {} bytes for {LARGE_MESSAGES} messages of 200-byte bodies = {:.0} bytes per message",
        size,
        size as f64 / LARGE_MESSAGES as f64
    );
    let customers: Vec<_> = (0..2000u64)
        .map(|i| {
            let ident =
                Identifier::email(&format!("c{}@example.com", (i * 7919) % LARGE_CUSTOMERS))
                    .unwrap();
            (
                ident.clone(),
                store
                    .identifier(tenant(), &ident)
                    .unwrap()
                    .unwrap()
                    .customer,
            )
        })
        .collect();
    // One warm-up pass over the sampled customers, as a serving desk's page cache would be:
    // the first touch of a page on a cold file measures the disk, not the store.
    for (ident, customer) in &customers {
        black_box(store.timeline(tenant(), *customer, Some(50)).unwrap());
        black_box(store.identifier(tenant(), ident).unwrap());
    }
    // p50/p99 over 20,000 calls each, beside criterion's medians below.
    let mut tl = Vec::new();
    let mut res = Vec::new();
    for k in 0..20_000 {
        let (ident, customer) = &customers[k % customers.len()];
        let s = Instant::now();
        black_box(store.timeline(tenant(), *customer, Some(50)).unwrap());
        tl.push(s.elapsed());
        let s = Instant::now();
        black_box(store.identifier(tenant(), ident).unwrap());
        res.push(s.elapsed());
    }
    let (tl50, tl99) = percentiles(tl);
    let (r50, r99) = percentiles(res);
    eprintln!("timeline (last 50): p50 {tl50:?} p99 {tl99:?}; identifier: p50 {r50:?} p99 {r99:?}");
    let mut g = c.benchmark_group("sqlite_large");
    let mut k = 0;
    g.bench_function("timeline_last_50", |b| {
        b.iter(|| {
            k += 1;
            black_box(
                store
                    .timeline(tenant(), customers[k % customers.len()].1, Some(50))
                    .unwrap(),
            )
        })
    });
    g.bench_function("identifier_resolution", |b| {
        b.iter(|| {
            k += 1;
            black_box(
                store
                    .identifier(tenant(), &customers[k % customers.len()].0)
                    .unwrap(),
            )
        })
    });
    g.finish();
}

criterion_group!(benches, writes, reads);
criterion_main!(benches);
