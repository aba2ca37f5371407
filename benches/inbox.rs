//! Inbox views on SQLite over 1,000,000 conversations of one tenant (among four tenants):
//! the first page (50) of each view and each view's count through `Store::inbox` and
//! `Store::inbox_count`, each beside a plain indexed `SELECT` of the same rows through
//! `rusqlite` on the same file, in the same run. Targets: a first page ≤ 5 ms, a count
//! ≤ 50 ms.
//!
//! The database is built once under `target/bench-data/` through the store's own write
//! path (`SqliteStore::apply`, in batches, so every row is what the store writes) and
//! reused. Of tenant A's million conversations 5% are new, 10% open, 5% pending, 2% on
//! hold, 38% solved and 40% closed; 70% of the active ones and all the others are
//! assigned among 50 agents; each active one has an SLA clock record (the value a `Desk`
//! writes for a new e-mail conversation) due 1 to 48 hours after it opened.
//!
//! ```sh
//! cargo bench --bench inbox
//! ```
// A benchmark times itself: the no-clock rule is the library's.
#![allow(clippy::disallowed_methods)]

use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use criterion::{criterion_group, criterion_main, Criterion};
use throughline::store::{ChangeSet, InboxView, MemoryStore, Op, Record, SqliteStore, Store};
use throughline::{
    AgentId, Channel, Conversation, ConversationId, CustomerId, Desk, DeskConfig, Identifier,
    Inbound, Status, TenantId,
};

/// Tenant A's conversations.
const LARGE: u64 = 1_000_000;
/// Each other tenant's conversations.
const OTHERS: u64 = 50_000;
/// Agents per tenant.
const AGENTS: u64 = 50;
/// Conversations per change set while building.
const CHUNK: u64 = 1000;

fn tenant(n: u64) -> TenantId {
    TenantId::from_uuid(uuid::Uuid::from_u128(
        0x0190_0000_0000_7000_8000_0000_A000_0000 | u128::from(n),
    ))
}

fn t0() -> DateTime<Utc> {
    DateTime::from_timestamp(1_772_442_000, 0).unwrap()
}

fn agent(n: u64) -> AgentId {
    AgentId::from_uuid(uuid::Uuid::from_u128(
        0x0190_0000_0000_7000_8000_0000_00A9_0000 | u128::from(n),
    ))
}

/// A deterministic pseudo-random number for conversation `n` and purpose `salt`.
fn mix(n: u64, salt: u64) -> u64 {
    let mut x = n.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ salt.wrapping_mul(0xC2B2_AE3D_27D4_EB4F);
    x ^= x >> 31;
    x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x ^ (x >> 29)
}

/// Conversation `n` of tenant `t`, and its SLA due time when it has a running clock.
fn conversation(t: u64, n: u64) -> (Conversation, Option<DateTime<Utc>>) {
    let id = ConversationId::from_uuid(uuid::Uuid::from_u128(
        (u128::from(t) << 96) | (u128::from(n) << 16) | 0x7000_0000_0000,
    ));
    let customer =
        CustomerId::from_uuid(uuid::Uuid::from_u128((u128::from(t) << 96) | u128::from(n)));
    // Opened one every 3 seconds; updated up to 3 days later.
    let created = t0() + TimeDelta::seconds(3 * n as i64);
    let mut c = Conversation::new(id, tenant(t), customer, Channel::Email, created);
    c.updated_at = created + TimeDelta::seconds((mix(n, 1) % 259_200) as i64);
    c.status = match mix(n, 2) % 100 {
        0..5 => Status::New,
        5..15 => Status::Open,
        15..20 => Status::Pending,
        20..22 => Status::OnHold,
        22..60 => Status::Solved,
        _ => Status::Closed,
    };
    let active = c.status.is_active();
    if !active || mix(n, 3) % 10 < 7 {
        c.assignee = Some(agent(mix(n, 4) % AGENTS));
    }
    c.subject = Some(format!("Order {n} has not arrived"));
    c.message_count = 2 + (mix(n, 5) % 6) as u32;
    c.version = 1;
    let due = active.then(|| created + TimeDelta::hours(1 + (mix(n, 6) % 48) as i64));
    (c, due)
}

/// The SLA clocks record a `Desk` writes for a new e-mail conversation: its value is the
/// template of every clock record of the bench.
fn clock_template() -> Record {
    let mut desk = Desk::new(MemoryStore::new(), DeskConfig::default());
    let t = tenant(9);
    let from = Identifier::email("ana@example.com").unwrap();
    let done = desk
        .ingest(
            Inbound::new(t, Channel::Email, from, "m-1", "Where is my order?"),
            t0(),
        )
        .unwrap();
    desk.store()
        .record(t, "sla", &done.conversation.to_string())
        .unwrap()
        .expect("a clock record")
}

/// Writes tenant `t`'s `count` conversations (and their clocks) through the store.
fn fill(store: &mut SqliteStore, t: u64, count: u64, clock: &Record) {
    let mut n = 0;
    while n < count {
        store.begin_batch().unwrap();
        for _ in 0..100 {
            if n >= count {
                break;
            }
            let mut changes = ChangeSet::new(tenant(t));
            for k in n..(n + CHUNK).min(count) {
                let (c, due) = conversation(t, k);
                if let Some(due) = due {
                    let mut r = clock.clone();
                    r.key = c.id.to_string();
                    r.due = Some(due);
                    changes.push(Op::PutRecord(r));
                }
                changes.push(Op::PutConversation(c));
            }
            store.apply(changes).unwrap();
            n = (n + CHUNK).min(count);
        }
        store.end_batch(true).unwrap();
    }
}

/// The database, built once and reused (its name carries the schema version).
fn database() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("target")
        .join("bench-data");
    std::fs::create_dir_all(&dir).unwrap();
    let v = throughline::store::SCHEMA_VERSION;
    let path = dir.join(format!("inbox-1m-v{v}.db"));
    let done = dir.join(format!("inbox-1m-v{v}.done"));
    if done.exists() {
        return path;
    }
    let _ = std::fs::remove_file(&path);
    let start = Instant::now();
    let clock = clock_template();
    let mut store = SqliteStore::open(&path).unwrap();
    // Tenant A among three others, written before and after it.
    fill(&mut store, 1, OTHERS, &clock);
    fill(&mut store, 2, LARGE, &clock);
    fill(&mut store, 3, OTHERS, &clock);
    fill(&mut store, 4, OTHERS, &clock);
    store.checkpoint().unwrap();
    drop(store);
    let raw = rusqlite::Connection::open(&path).unwrap();
    raw.execute_batch("ANALYZE").unwrap();
    std::fs::write(&done, "").unwrap();
    eprintln!("built {} in {:?}", path.display(), start.elapsed());
    path
}

/// A view, its label, and the plain `SELECT`s of the same rows and the same count.
struct Case {
    label: &'static str,
    view: InboxView,
    select: &'static str,
    count: &'static str,
    param: Param,
}

/// The view's own parameter for the plain statements.
enum Param {
    None,
    Text(&'static str),
    Blob(Vec<u8>),
    Nanos(i64),
}

impl Param {
    fn sql(&self) -> Option<Box<dyn rusqlite::ToSql + '_>> {
        match self {
            Param::None => None,
            Param::Text(s) => Some(Box::new(*s)),
            Param::Blob(b) => Some(Box::new(b.as_slice())),
            Param::Nanos(n) => Some(Box::new(*n)),
        }
    }
}

fn cases() -> Vec<Case> {
    // Half of tenant A's running clocks are due before this.
    let sla_bound = t0() + TimeDelta::seconds(3 * LARGE as i64 / 2);
    let a7 = agent(7).as_uuid().as_bytes().to_vec();
    vec![
        Case {
            label: "status_open",
            view: InboxView::Status(Status::Open),
            select: "SELECT data FROM conversations WHERE tenant = ?1 AND status = ?2 \
                     ORDER BY updated DESC, id DESC LIMIT 50",
            count: "SELECT count(*) FROM conversations WHERE tenant = ?1 AND status = ?2",
            param: Param::Text("open"),
        },
        Case {
            label: "status_solved",
            view: InboxView::Status(Status::Solved),
            select: "SELECT data FROM conversations WHERE tenant = ?1 AND status = ?2 \
                     ORDER BY updated DESC, id DESC LIMIT 50",
            count: "SELECT count(*) FROM conversations WHERE tenant = ?1 AND status = ?2",
            param: Param::Text("solved"),
        },
        Case {
            label: "assignee",
            view: InboxView::Assignee(agent(7)),
            select: "SELECT data FROM conversations INDEXED BY conversations_assignee \
                     WHERE tenant = ?1 AND assignee = ?2 AND assignee IS NOT NULL \
                     AND status IN ('new', 'open', 'pending', 'on_hold') \
                     ORDER BY updated DESC, id DESC LIMIT 50",
            count: "SELECT count(*) FROM conversations INDEXED BY conversations_assignee \
                    WHERE tenant = ?1 AND assignee = ?2 AND assignee IS NOT NULL \
                    AND status IN ('new', 'open', 'pending', 'on_hold')",
            param: Param::Blob(a7),
        },
        Case {
            label: "unassigned",
            view: InboxView::Unassigned,
            select: "SELECT data FROM conversations INDEXED BY conversations_unassigned \
                     WHERE tenant = ?1 AND assignee IS NULL \
                     AND status IN ('new', 'open', 'pending', 'on_hold') \
                     ORDER BY created, id LIMIT 50",
            count: "SELECT count(*) FROM conversations INDEXED BY conversations_unassigned \
                    WHERE tenant = ?1 AND assignee IS NULL \
                    AND status IN ('new', 'open', 'pending', 'on_hold')",
            param: Param::None,
        },
        Case {
            label: "sla_due_before",
            view: InboxView::SlaDueBefore(sla_bound),
            select: "SELECT c.data FROM records r CROSS JOIN conversations c \
                     ON c.tenant = r.tenant AND c.id = unhex(replace(r.key, '-', '')) \
                     WHERE r.tenant = ?1 AND r.kind = 'sla' AND r.due < ?2 \
                     ORDER BY r.due, r.key LIMIT 50",
            count: "SELECT count(*) FROM records WHERE tenant = ?1 AND kind = 'sla' AND due < ?2",
            param: Param::Nanos(sla_bound.timestamp_nanos_opt().unwrap()),
        },
    ]
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// Runs `f` `n` times and returns the median time.
fn timed(n: usize, mut f: impl FnMut()) -> Duration {
    median(
        (0..n)
            .map(|_| {
                let s = Instant::now();
                f();
                s.elapsed()
            })
            .collect(),
    )
}

fn inbox(c: &mut Criterion) {
    let path = database();
    let store = SqliteStore::open(&path).unwrap();
    let raw = rusqlite::Connection::open(&path).unwrap();
    let a = tenant(2);
    let ta = a.as_uuid().as_bytes().to_vec();
    let mut g = c.benchmark_group("inbox_1m");
    g.sample_size(20).measurement_time(Duration::from_secs(3));
    for case in cases() {
        let extra = case.param.sql();
        let mut params: Vec<&dyn rusqlite::ToSql> = vec![&ta];
        if let Some(p) = &extra {
            params.push(p.as_ref());
        }
        let rows = || {
            let mut s = raw.prepare_cached(case.select).unwrap();
            let rows: Vec<Vec<u8>> = s
                .query_map(params.as_slice(), |r| r.get(0))
                .unwrap()
                .map(|r| r.unwrap())
                .collect();
            rows
        };
        let count = || -> i64 {
            let mut s = raw.prepare_cached(case.count).unwrap();
            s.query_row(params.as_slice(), |r| r.get(0)).unwrap()
        };
        // The store and the plain statements agree before they are timed.
        let page = store.inbox(a, &case.view, None, 50).unwrap();
        assert_eq!(page.conversations.len(), rows().len(), "{}", case.label);
        let n = store.inbox_count(a, &case.view).unwrap();
        assert_eq!(n, count() as u64, "{}", case.label);
        let (p, pr) = (
            timed(200, || {
                drop(black_box(store.inbox(a, &case.view, None, 50).unwrap()))
            }),
            timed(200, || drop(black_box(rows()))),
        );
        let (k, kr) = (
            timed(20, || {
                black_box(store.inbox_count(a, &case.view).unwrap());
            }),
            timed(20, || {
                black_box(count());
            }),
        );
        eprintln!(
            "{:<15} {n:>7} rows | first page {p:>10.2?} (plain SELECT {pr:>10.2?}) | count {k:>10.2?} (plain {kr:>10.2?})",
            case.label
        );
        g.bench_function(format!("{}/first_page", case.label), |b| {
            b.iter(|| black_box(store.inbox(a, &case.view, None, 50).unwrap()))
        });
        g.bench_function(format!("{}/plain_select", case.label), |b| {
            b.iter(|| black_box(rows()))
        });
        g.bench_function(format!("{}/count", case.label), |b| {
            b.iter(|| black_box(store.inbox_count(a, &case.view).unwrap()))
        });
        g.bench_function(format!("{}/plain_count", case.label), |b| {
            b.iter(|| black_box(count()))
        });
    }
    g.finish();
}

criterion_group!(benches, inbox);
criterion_main!(benches);
