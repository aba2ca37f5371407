//! Identity benchmarks, each beside a baseline measured in the same run.
//!
//! * resolving an already-normalised identifier among 1,000,000 in `MemoryStore`,
//!   beside a plain `HashMap<String, u64>` lookup of the same values;
//! * normalising an e-mail address and a phone number, beside copying the raw string;
//! * merging a two-identifier customer in graphs of 10,000 and 1,000,000 identifiers
//!   (merge cost follows what moves, not the graph's size);
//! * memory per identifier, counted by a counting allocator, beside the same values in a
//!   `HashMap<String, u64>` (printed, not timed).
//!
//! ```sh
//! cargo bench --bench identity
//! ```
// A benchmark times itself: the no-clock rule is the library's.
#![allow(clippy::disallowed_methods)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::HashMap;
use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::{DateTime, Utc};
use criterion::{criterion_group, criterion_main, Criterion};
use throughline::store::{ChangeSet, MemoryStore, Op, Store};
use throughline::{Customer, CustomerId, Desk, DeskConfig, Identifier, IdentifierRecord, TenantId};

struct Counting;
static LIVE: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        LIVE.fetch_add(l.size(), Ordering::Relaxed);
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        LIVE.fetch_sub(l.size(), Ordering::Relaxed);
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        LIVE.fetch_add(new, Ordering::Relaxed);
        LIVE.fetch_sub(l.size(), Ordering::Relaxed);
        unsafe { System.realloc(p, l, new) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

const PER_CUSTOMER: usize = 10;

fn tenant() -> TenantId {
    "01900000-0000-7000-8000-0000000001d0".parse().unwrap()
}

fn t0() -> DateTime<Utc> {
    DateTime::from_timestamp(1_767_261_600, 0).unwrap()
}

fn email(i: usize) -> Identifier {
    Identifier::email(&format!("customer{i}@example.com")).unwrap()
}

/// A store with `n` e-mail identifiers, `PER_CUSTOMER` per customer (customers only when
/// `with_identifiers` is false).
fn store(n: usize, with_identifiers: bool) -> MemoryStore {
    let mut s = MemoryStore::new();
    let tn = tenant();
    for c in 0..n / PER_CUSTOMER {
        let id = CustomerId::from_uuid(uuid::Uuid::from_u128(
            0x0190_0000_0000_7000_8000_0000_0000_0000 | c as u128,
        ));
        let mut cust = Customer::new(id, tn, t0());
        cust.version = 1;
        let mut ops = vec![Op::PutCustomer(cust)];
        if with_identifiers {
            for k in 0..PER_CUSTOMER {
                ops.push(Op::PutIdentifier {
                    record: IdentifierRecord {
                        tenant: tn,
                        identifier: email(c * PER_CUSTOMER + k),
                        customer: id,
                        source: None,
                        verified: false,
                        first_seen: t0(),
                        last_seen: t0(),
                    },
                    expected_owner: None,
                });
            }
        }
        s.apply(ChangeSet { tenant: tn, ops }).unwrap();
    }
    s
}

fn memory_report(n: usize) {
    let before = LIVE.load(Ordering::Relaxed);
    let customers_only = store(n, false);
    let mid = LIVE.load(Ordering::Relaxed);
    let full = store(n, true);
    let after = LIVE.load(Ordering::Relaxed);
    let per_ident = ((after - mid) as f64 - (mid - before) as f64) / n as f64;
    drop((customers_only, full));
    let b0 = LIVE.load(Ordering::Relaxed);
    let mut map: HashMap<String, u64> = HashMap::new();
    for i in 0..n {
        map.insert(email(i).value().to_string(), i as u64);
    }
    let b1 = LIVE.load(Ordering::Relaxed);
    println!(
        "memory per identifier with {n} identifiers: MemoryStore {:.0} bytes, baseline HashMap<String, u64> {:.0} bytes, ratio {:.2}",
        per_ident,
        (b1 - b0) as f64 / n as f64,
        per_ident / ((b1 - b0) as f64 / n as f64)
    );
}

fn bench(c: &mut Criterion) {
    let n = 1_000_000;
    memory_report(n);
    let s = store(n, true);
    let map: HashMap<String, u64> = (0..n)
        .map(|i| (email(i).value().to_string(), i as u64))
        .collect();
    let probes: Vec<Identifier> = (0..1024).map(|i| email((i * 7919) % n)).collect();
    let mut g = c.benchmark_group("identity_resolve_1m");
    let mut k = 0usize;
    g.bench_function("baseline_hashmap_string_u64", |b| {
        b.iter(|| {
            k = (k + 1) & 1023;
            black_box(map.get(probes[k].value()))
        })
    });
    g.bench_function("memory_store_identifier", |b| {
        b.iter(|| {
            k = (k + 1) & 1023;
            black_box(
                s.identifier(tenant(), &probes[k])
                    .unwrap()
                    .map(|r| r.customer),
            )
        })
    });
    g.finish();
    drop((s, map));

    let mut g = c.benchmark_group("identity_normalise");
    let raw_email = "  Ana.Pereira+shop@Example.COM ";
    let raw_phone = "06-1234 5678";
    g.bench_function("baseline_copy_string", |b| {
        b.iter(|| black_box(black_box(raw_email).to_string()))
    });
    g.bench_function("email", |b| {
        b.iter(|| black_box(Identifier::email(black_box(raw_email)).unwrap()))
    });
    g.bench_function("phone_national_nl", |b| {
        b.iter(|| black_box(Identifier::phone(black_box(raw_phone), Some("NL")).unwrap()))
    });
    g.bench_function("phone_international", |b| {
        b.iter(|| black_box(Identifier::phone(black_box("+1 (650) 253-0000"), None).unwrap()))
    });
    g.finish();

    let mut g = c.benchmark_group("identity_merge");
    g.sample_size(20);
    for size in [10_000usize, 1_000_000] {
        let base = store(size, true);
        let mut desk = Desk::new(base, DeskConfig::default());
        let tn = tenant();
        let mut round = 0u64;
        g.bench_function(format!("merge_then_unmerge_in_{size}"), |bch| {
            bch.iter_custom(|iters| {
                // Untimed: fresh pairs of customers, two identifiers and a conversation each.
                let mut pairs = Vec::new();
                for _ in 0..iters {
                    round += 1;
                    let mut make = |tag: &str| {
                        let e = Identifier::email(&format!("{tag}{round}@merge.example")).unwrap();
                        let got = desk
                            .ingest(
                                throughline::Inbound::new(
                                    tn,
                                    throughline::Channel::Email,
                                    e,
                                    format!("{tag}{round}"),
                                    "hi",
                                ),
                                t0(),
                            )
                            .unwrap();
                        let p = Identifier::handle(
                            throughline::IdentifierKind::Line,
                            &format!("{tag}{round}"),
                        )
                        .unwrap();
                        desk.link_identifier(tn, got.customer, p, true, t0())
                            .unwrap();
                        got.customer
                    };
                    let a = make("x");
                    let b = make("y");
                    pairs.push((a, b));
                }
                let start = std::time::Instant::now();
                for (a, b) in pairs {
                    let m = desk.merge_customers(tn, a, b, "bench", t0()).unwrap();
                    desk.unmerge(tn, m, t0()).unwrap();
                }
                start.elapsed()
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
