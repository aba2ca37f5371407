//! Ingest throughput on `MemoryStore`, with `DeskConfig::pass_through()` (the conversation
//! core alone) and with the full defaults (SLA clocks and language detection), beside a
//! floor measured in the same run: the same messages pushed into a `Vec` plus a `HashMap`
//! index.
//!
//! Mix: 10,000 customers, 30% of messages on another channel than the customer's previous
//! one, 5% duplicate deliveries.
//!
//! ```sh
//! cargo bench --bench ingest
//! ```

use std::collections::HashMap;
use std::hint::black_box;

use chrono::{DateTime, TimeDelta, Utc};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use throughline::store::MemoryStore;
use throughline::{Channel, Desk, DeskConfig, Identifier, Inbound, TenantId};

const CUSTOMERS: u64 = 10_000;
const MESSAGES: usize = 50_000;

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// Seeded workload; each customer writes from an e-mail address (e-mail, web chat) or a
/// phone number (SMS, WhatsApp).
fn workload() -> Vec<(Inbound, DateTime<Utc>)> {
    let tenant: TenantId = "01900000-0000-7000-8000-00000000be4c".parse().unwrap();
    let t0 = DateTime::<Utc>::from_timestamp(1_767_261_600, 0).unwrap();
    let mut rng = Rng(42);
    let mut last_channel: HashMap<u64, usize> = HashMap::new();
    let channels = [
        Channel::Email,
        Channel::WebChat,
        Channel::Sms,
        Channel::WhatsApp,
    ];
    let mut out: Vec<(Inbound, DateTime<Utc>)> = Vec::with_capacity(MESSAGES);
    let mut links = Vec::new();
    for c in 0..CUSTOMERS {
        links.push((
            tenant,
            c,
            Identifier::phone(&format!("+3161{:07}", c), None).unwrap(),
        ));
    }
    let mut i = 0usize;
    while out.len() < MESSAGES {
        let now = t0 + TimeDelta::seconds(i as i64 * 2);
        if !out.is_empty() && rng.next() % 100 < 5 {
            let k = (rng.next() as usize) % out.len();
            let dup = out[k].0.clone();
            out.push((dup, now));
            continue;
        }
        let c = rng.next() % CUSTOMERS;
        let ch = match last_channel.get(&c) {
            Some(&prev) if rng.next() % 100 >= 30 => prev,
            Some(&prev) => (prev + 1 + (rng.next() as usize % 3)) % 4,
            None => (rng.next() as usize) % 4,
        };
        last_channel.insert(c, ch);
        let ident = match ch {
            0 | 1 => Identifier::email(&format!("customer{c}@example.com")).unwrap(),
            2 => Identifier::phone(&format!("+3161{:07}", c), None).unwrap(),
            _ => Identifier::whatsapp(&format!("+3161{:07}", c), None).unwrap(),
        };
        let body = format!(
            "Message {i} from customer {c}: where is my order {}?",
            1000 + c
        );
        out.push((
            Inbound::new(
                tenant,
                channels[ch].clone(),
                ident,
                format!("ext-{i}"),
                body,
            )
            .sent_at(now),
            now,
        ));
        i += 1;
    }
    out
}

fn bench(c: &mut Criterion) {
    let msgs = workload();
    let mut g = c.benchmark_group("ingest_memory");
    g.throughput(Throughput::Elements(msgs.len() as u64));
    g.sample_size(10);
    g.bench_function("floor_vec_hashmap", |b| {
        b.iter_batched(
            || msgs.clone(),
            |msgs| {
                let mut rows: Vec<Inbound> = Vec::with_capacity(msgs.len());
                let mut index: HashMap<(Channel, String), usize> =
                    HashMap::with_capacity(msgs.len());
                for (m, _) in msgs {
                    let key = (m.channel.clone(), m.external_id.clone());
                    if index.contains_key(&key) {
                        continue;
                    }
                    index.insert(key, rows.len());
                    rows.push(m);
                }
                // Returned, so the drop happens outside the timed region.
                (rows, index)
            },
            BatchSize::LargeInput,
        )
    });
    for (name, config) in [
        (
            "desk_ingest_pass_through",
            DeskConfig::pass_through as fn() -> DeskConfig,
        ),
        (
            "desk_ingest_full_defaults",
            DeskConfig::default as fn() -> DeskConfig,
        ),
    ] {
        g.bench_function(name, |b| {
            b.iter_batched(
                || (Desk::new(MemoryStore::new(), config()), msgs.clone()),
                |(mut desk, msgs)| {
                    let mut n = 0usize;
                    for (m, now) in msgs {
                        n += usize::from(!desk.ingest(m, now).unwrap().duplicate);
                    }
                    black_box(n);
                    desk
                },
                BatchSize::LargeInput,
            )
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
