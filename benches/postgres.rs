//! PostgreSQL ingest throughput with 1, 2 and 4 concurrent `Desk` instances (one
//! connection each, as separate hosts would have) on one local server, beside a raw
//! single-row `INSERT` of the same message row (autocommit, one connection per writer)
//! measured in the same run.
//!
//! ```sh
//! THROUGHLINE_PG_URL="host=127.0.0.1 port=54329 user=throughline dbname=postgres" \
//!     cargo bench --features postgres --bench postgres
//! ```
//!
//! Without `THROUGHLINE_PG_URL` it prints a notice and measures nothing. Start a
//! throw-away server with `.ci/pg start DIR PORT`.
// A benchmark times itself: the no-clock rule is the library's.
#![allow(clippy::disallowed_methods)]

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use throughline::store::PostgresStore;
use throughline::{Channel, Desk, DeskConfig, Identifier, Inbound, TenantId};

static RUN: AtomicU64 = AtomicU64::new(0);

fn fresh_db(url: &str) -> String {
    let name = format!(
        "tlbench_{}_{}",
        std::process::id(),
        RUN.fetch_add(1, Ordering::SeqCst)
    );
    let mut admin = postgres::Client::connect(url, postgres::NoTls).expect("admin connection");
    admin
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .expect("create database");
    format!("{url} dbname={name}")
}

fn t0() -> DateTime<Utc> {
    DateTime::from_timestamp(1_772_442_000, 0).unwrap()
}

/// Message `n` of writer `w`: 10 messages per customer, 200-byte bodies.
fn inbound(tenant: TenantId, w: usize, n: u64) -> Inbound {
    let body = format!(
        "{:<200}",
        format!("writer {w} message {n}: where is my order?")
    );
    Inbound::new(
        tenant,
        Channel::WhatsApp,
        Identifier::email(&format!("w{w}c{}@example.com", n / 10)).unwrap(),
        format!("w{w}-{n}"),
        body,
    )
}

/// Runs `per_writer` items on each of `writers` threads; returns the wall time.
fn parallel(writers: usize, per_writer: u64, work: impl Fn(usize, u64) + Sync) -> Duration {
    let start = Instant::now();
    std::thread::scope(|s| {
        for w in 0..writers {
            let work = &work;
            s.spawn(move || {
                for i in 0..per_writer {
                    work(w, i);
                }
            });
        }
    });
    start.elapsed()
}

fn bench(c: &mut Criterion) {
    let Ok(url) = std::env::var("THROUGHLINE_PG_URL") else {
        eprintln!("notice: THROUGHLINE_PG_URL not set; the PostgreSQL benchmark measured nothing");
        return;
    };
    let tenant: TenantId = "01900000-0000-7000-8000-0000000be4c5".parse().unwrap();
    let mut g = c.benchmark_group("postgres_ingest");
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(10));
    for writers in [1usize, 2, 4] {
        g.throughput(Throughput::Elements(1));
        // Raw: the same message row (id, conversation, channel, external id, times, JSON
        // data) inserted with autocommit into the same schema.
        g.bench_function(format!("raw_insert_{writers}"), |b| {
            let db = fresh_db(&url);
            drop(PostgresStore::connect(&db).unwrap()); // the schema
            let clients: Vec<std::sync::Mutex<postgres::Client>> = (0..writers)
                .map(|_| std::sync::Mutex::new(postgres::Client::connect(&db, postgres::NoTls).unwrap()))
                .collect();
            for cl in &clients {
                cl.lock().unwrap().batch_execute("SET session_replication_role = replica").unwrap(); // no FK checks for the raw rows
            }
            let seq = AtomicU64::new(0);
            b.iter_custom(|iters| {
                let per = iters.div_ceil(writers as u64);
                parallel(writers, per, |w, _| {
                    let n = seq.fetch_add(1, Ordering::Relaxed);
                    let m = inbound(tenant, w, n);
                    let data = serde_json::to_vec(&(&m.body, &m.external_id)).unwrap();
                    let id = uuid::Uuid::from_u128(u128::from(n) + 1);
                    clients[w]
                        .lock()
                        .unwrap()
                        .execute(
                            "INSERT INTO messages (tenant, id, conversation, channel, external_id, sent, received, pending, data) \
                             VALUES ($1, $2, $3, $4, $5, $6, $7, false, $8)",
                            &[&tenant.as_uuid().as_bytes().to_vec(), &id.as_bytes().to_vec(), &id.as_bytes().to_vec(),
                              &"whatsapp", &m.external_id, &(n as i64), &(n as i64), &data],
                        )
                        .unwrap();
                })
                .mul_f64(iters as f64 / (per * writers as u64) as f64)
            })
        });
        g.bench_function(format!("desk_ingest_{writers}"), |b| {
            let db = fresh_db(&url);
            let desks: Vec<std::sync::Mutex<Desk<PostgresStore>>> = (0..writers)
                .map(|w| {
                    std::sync::Mutex::new(Desk::new(
                        PostgresStore::connect(&db).unwrap(),
                        DeskConfig::default().id_seed(w as u64 + 1),
                    ))
                })
                .collect();
            let seq = AtomicU64::new(0);
            b.iter_custom(|iters| {
                let per = iters.div_ceil(writers as u64);
                parallel(writers, per, |w, _| {
                    let n = seq.fetch_add(1, Ordering::Relaxed);
                    let now = t0() + TimeDelta::milliseconds(n as i64);
                    let got = desks[w]
                        .lock()
                        .unwrap()
                        .ingest(inbound(tenant, w, n), now)
                        .unwrap();
                    black_box(got);
                })
                .mul_f64(iters as f64 / (per * writers as u64) as f64)
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
