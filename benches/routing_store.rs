//! A routing decision with the routing state in the store, beside today's in-memory
//! router and beside the store round trip alone, among 1,000 and 10,000 agents, in one
//! run.
//!
//! - `bare_decide_{n}`: [`Router::decide`] of a new work item on a router holding the
//!   team (the agents of `benches/routing.rs`), as `benches/routing.rs` measures it.
//! - `bare_route_{n}`: [`Router::route`] of a new work item on that router (the decision
//!   and the assignment it makes).
//! - `bare_route_cold_{n}`: the same, after writing 8 MiB between two decisions
//!   (untimed), so that the router's index is no longer all in the processor's caches.
//! - `persisted_{store}_{n}`: [`Desk::route`] of an existing, unassigned conversation on a
//!   `Desk<SqliteStore>` whose team was registered with [`Desk::upsert_agent`] in setup
//!   (not timed): the epoch read, the decision on the cached router, the customer's
//!   conversations read for a previous agent, the conversation read, and one change set
//!   with the conversation, the agent and work records and the next epoch. `{store}` is
//!   an in-memory database or a file in a temporary directory with the default options.
//! - `round_trip_{store}_{n}`: the store calls alone that such an operation makes beyond
//!   the decision, on the same store: one point read of the epoch record, and one change
//!   set of one conversation put and three record puts (an agent, a work item, the epoch)
//!   copied from what the persisted benchmark wrote; the work record is new each time
//!   (an insert, as routing writes it) and is deleted again untimed (as solving does).
//! - `store_calls_{store}_{n}`: every store call the persisted operation makes, without
//!   the decision: the settings and epoch reads, the conversation, the customer's
//!   conversations (for a previous agent), and the change set above — the right baseline
//!   for "a decision plus its store calls".
//!
//! What is fair: only the routing call is timed, with the same requirements (a channel, a
//! skill and a language, cycling as in `benches/routing.rs`) and the same fixed times in
//! both. Every timed call routes work routing does not hold yet, and after each one the
//! work is freed outside the timing (`Router::release` for the bare router,
//! `Desk::set_status(.., Status::Solved, ..)` for the desk), so loads stay near zero and
//! capacity never runs out. The desk's conversations are ingested ahead, from a customer
//! each, by a desk on the same store without routing (so that ingesting routes nothing);
//! when they run out, more are ingested outside the timing and the routing desk is built
//! again, its cache loaded by one untimed routing. So the persisted figure is the steady
//! state of one host: the epoch matches the cache and no pool is reloaded. The store
//! grows by the conversations ingested (some thousands to some tens of thousands) during
//! the run; the round trip is measured on that grown store, after the persisted run.
//!
//! ```sh
//! cargo bench --bench routing_store -- --warm-up-time 1 --measurement-time 3
//! ```
// A benchmark times itself: the no-clock rule is the library's.
#![allow(clippy::disallowed_methods)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use criterion::{criterion_group, criterion_main, Criterion};
use throughline::routing::{Agent, Requirements, Router, RoutingConfig, SkillsMatch, WorkItem};
use throughline::store::{ChangeSet, Op, SqliteStore, Store};
use throughline::{
    AgentId, Channel, ConversationId, Desk, DeskConfig, Identifier, Inbound, Status, TenantId,
};

const SKILLS: usize = 20;
const LANGS: [&str; 10] = ["en", "nl", "de", "fr", "es", "it", "pt", "sv", "pl", "ja"];
/// Bytes written between two decisions of `bare_route_cold_{n}` (4 times the L2 cache
/// of the machine the figures in `docs/performance.md` come from).
const JUNK: usize = 8 << 20;
/// Conversations ingested at a time for the persisted benchmark.
const POOL: usize = 2_000;

fn tenant() -> TenantId {
    "01900000-0000-7000-8000-0000000be4c7".parse().unwrap()
}

fn t0() -> DateTime<Utc> {
    DateTime::from_timestamp(1_772_442_000, 0).unwrap()
}

/// When routing decides (the conversations were ingested at [`t0`]).
fn route_at() -> DateTime<Utc> {
    t0() + TimeDelta::minutes(1)
}

/// When the routed work is solved again.
fn solve_at() -> DateTime<Utc> {
    t0() + TimeDelta::minutes(2)
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// `n` agents, each with 3 of 20 skills, 1-2 of 10 languages, chat and e-mail (as in
/// `benches/routing.rs`).
fn agents(n: usize) -> Vec<Agent> {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    (0..n)
        .map(|i| {
            let mut a = Agent::new(
                AgentId::from_uuid(uuid::Uuid::from_u128(i as u128 + 1)),
                tenant(),
                format!("agent {i}"),
            )
            .channel(Channel::WebChat)
            .channel(Channel::Email)
            .capacity(5);
            for _ in 0..3 {
                a = a.skill(
                    format!("skill{}", rng.next() % SKILLS as u64),
                    1 + (rng.next() % 10) as u8,
                );
            }
            for _ in 0..1 + rng.next() % 2 {
                a = a.language(LANGS[(rng.next() % 10) as usize]);
            }
            a
        })
        .collect()
}

/// The requirements of the `k`th decision: chat, one skill at level 3, one language.
fn requirements(k: u64) -> Requirements {
    Requirements::new(Channel::WebChat)
        .skill(format!("skill{}", k % SKILLS as u64), 3)
        .language(LANGS[(k % 10) as usize])
}

fn routing_config() -> RoutingConfig {
    RoutingConfig::default().policy(SkillsMatch::default())
}

/// (a) The bare router: `route`, then (untimed) `release`.
fn bare(c: &mut Criterion, n: usize) {
    let mut router = Router::new(&routing_config());
    for a in agents(n) {
        router.upsert_agent(a, t0()).unwrap();
    }
    let mut k = 0u64;
    c.bench_function(&format!("bare_decide_{n}"), |b| {
        b.iter(|| {
            k += 1;
            let item = WorkItem {
                tenant: tenant(),
                conversation: ConversationId::from_uuid(uuid::Uuid::from_u128(u128::from(k) + 1)),
                requirements: requirements(k),
                previous_agent: None,
                enqueued_at: route_at(),
                steps_applied: 0,
            };
            black_box(router.decide(&item, route_at()))
        })
    });
    c.bench_function(&format!("bare_route_{n}"), |b| {
        b.iter_custom(|iters| {
            let mut spent = Duration::ZERO;
            for _ in 0..iters {
                k += 1;
                let item = WorkItem {
                    tenant: tenant(),
                    conversation: ConversationId::from_uuid(uuid::Uuid::from_u128(
                        u128::from(k) + 1,
                    )),
                    requirements: requirements(k),
                    previous_agent: None,
                    enqueued_at: route_at(),
                    steps_applied: 0,
                };
                let conversation = item.conversation;
                let start = Instant::now();
                let decision = black_box(router.route(item, route_at()));
                spent += start.elapsed();
                black_box(decision);
                router.release(tenant(), conversation, solve_at());
            }
            spent
        })
    });
    // The same, with the caches disturbed between decisions (untimed), as a desk's store
    // calls and encoding between two routings disturb them.
    let mut junk = vec![0u8; JUNK];
    c.bench_function(&format!("bare_route_cold_{n}"), |b| {
        b.iter_custom(|iters| {
            let mut spent = Duration::ZERO;
            for _ in 0..iters {
                k += 1;
                let item = WorkItem {
                    tenant: tenant(),
                    conversation: ConversationId::from_uuid(uuid::Uuid::from_u128(
                        u128::from(k) + 1,
                    )),
                    requirements: requirements(k),
                    previous_agent: None,
                    enqueued_at: route_at(),
                    steps_applied: 0,
                };
                let conversation = item.conversation;
                for i in (0..JUNK).step_by(64) {
                    junk[i] = junk[i].wrapping_add(1);
                }
                black_box(&mut junk);
                let start = Instant::now();
                let decision = black_box(router.route(item, route_at()));
                spent += start.elapsed();
                black_box(decision);
                router.release(tenant(), conversation, solve_at());
            }
            spent
        })
    });
}

/// A routing desk with its team registered, and the conversations it has not routed yet.
struct Persisted {
    desk: Option<Desk<SqliteStore>>,
    fresh: Vec<ConversationId>,
    /// Conversations ingested so far (for unique customers and message ids).
    ingested: u64,
    /// Desks built so far (each gets its own id seed).
    desks: u64,
    /// Decisions made so far (for the requirements).
    k: u64,
}

impl Persisted {
    fn new(store: SqliteStore, n: usize) -> Persisted {
        let mut p = Persisted {
            desk: None,
            fresh: Vec::new(),
            ingested: 0,
            desks: 0,
            k: 0,
        };
        p.desk = Some(p.routing_desk(store));
        let desk = p.desk.as_mut().unwrap();
        for a in agents(n) {
            desk.upsert_agent(a, t0()).unwrap();
        }
        p.refill();
        p
    }

    fn routing_desk(&mut self, store: SqliteStore) -> Desk<SqliteStore> {
        self.desks += 1;
        let config = DeskConfig::default()
            .routing(routing_config())
            .id_seed(self.desks);
        Desk::new(store, config)
    }

    /// Ingests [`POOL`] web chats, one per new customer, on a desk without routing, then
    /// builds the routing desk again and loads its cache with one routing.
    fn refill(&mut self) {
        let store = self.desk.take().unwrap().into_store();
        self.desks += 1;
        let mut plain = Desk::new(store, DeskConfig::default().id_seed(self.desks));
        for _ in 0..POOL + 1 {
            self.ingested += 1;
            let c = self.ingested;
            let got = plain
                .ingest(
                    Inbound::new(
                        tenant(),
                        Channel::WebChat,
                        Identifier::email(&format!("c{c}@example.com")).unwrap(),
                        format!("m-{c}"),
                        format!("Hello, this is customer {c}: where is my order?"),
                    ),
                    t0(),
                )
                .unwrap();
            self.fresh.push(got.conversation);
        }
        let desk = self.routing_desk(plain.into_store());
        self.desk = Some(desk);
        self.route_one();
    }

    /// The next routing of a fresh conversation: the time of `Desk::route` alone.
    fn route_one(&mut self) -> Duration {
        if self.fresh.is_empty() {
            self.refill();
        }
        let conversation = self.fresh.pop().unwrap();
        self.k += 1;
        let req = requirements(self.k);
        let desk = self.desk.as_mut().unwrap();
        let start = Instant::now();
        let routed = black_box(desk.route((tenant(), conversation), req, route_at()));
        let spent = start.elapsed();
        let (decision, _) = routed.unwrap();
        assert!(decision.agent.is_some(), "{decision:?}");
        desk.set_status((tenant(), conversation), Status::Solved, solve_at())
            .unwrap();
        spent
    }

    /// Routes one more conversation and leaves it assigned; hands back the store with
    /// the records that routing wrote: the conversation, its agent's and its work
    /// records, and the epoch.
    fn into_written(mut self) -> (SqliteStore, ChangeSet) {
        if self.fresh.is_empty() {
            self.refill();
        }
        let conversation = self.fresh.pop().unwrap();
        let desk = self.desk.as_mut().unwrap();
        let (decision, _) = desk
            .route((tenant(), conversation), requirements(1), route_at())
            .unwrap();
        let agent = decision.agent.unwrap();
        let store = self.desk.take().unwrap().into_store();
        let t = tenant();
        let mut changes = ChangeSet::new(t);
        changes.push(Op::PutConversation(
            store.conversation(t, conversation).unwrap().unwrap(),
        ));
        for (kind, key) in [
            ("routing-agent", agent.to_string()),
            ("routing-work", conversation.to_string()),
            ("routing-epoch", "epoch".to_string()),
        ] {
            let r = store.record(t, kind, &key).unwrap().unwrap();
            changes.push(Op::PutRecord(r));
        }
        (store, changes)
    }
}

/// The next round trip's change set: the conversation, the agent and the epoch at their
/// next versions, and a work record new under the `k`th key (routing inserts one per
/// conversation it takes on, and solving deletes it).
fn next_round(changes: &mut ChangeSet, k: u64) -> String {
    let mut key = String::new();
    for op in changes.ops.iter_mut() {
        match op {
            Op::PutConversation(c) => c.version += 1,
            Op::PutRecord(r) if r.kind == "routing-work" => {
                r.key = ConversationId::from_uuid(uuid::Uuid::from_u128(u128::from(k))).to_string();
                r.version = 1;
                key = r.key.clone();
            }
            Op::PutRecord(r) => r.version += 1,
            _ => unreachable!(),
        }
    }
    key
}

/// (b) and (c) on one store: the persisted decision, then the round trip alone.
fn persisted(c: &mut Criterion, n: usize, name: &str, store: SqliteStore) {
    let mut p = Persisted::new(store, n);
    c.bench_function(&format!("persisted_{name}_{n}"), |b| {
        b.iter_custom(|iters| (0..iters).map(|_| p.route_one()).sum())
    });
    let (mut store, mut changes) = p.into_written();
    let t = tenant();
    let mut k = u64::MAX / 2;
    c.bench_function(&format!("round_trip_{name}_{n}"), |b| {
        b.iter_custom(|iters| {
            let mut spent = Duration::ZERO;
            for _ in 0..iters {
                k += 1;
                let key = next_round(&mut changes, k);
                let set = changes.clone();
                let start = Instant::now();
                let epoch = store.record(t, "routing-epoch", "epoch").unwrap();
                store.apply(set).unwrap();
                spent += start.elapsed();
                black_box(epoch);
                let mut solved = ChangeSet::new(t);
                solved.push(Op::DeleteRecord {
                    kind: "routing-work".into(),
                    key,
                    version: 1,
                });
                store.apply(solved).unwrap();
            }
            spent
        })
    });
    // Every store call the persisted operation makes, without the decision: the
    // settings and epoch reads, the conversation, the customer's conversations (for a
    // previous agent), and the change set.
    let (conv_id, customer) = changes
        .ops
        .iter()
        .find_map(|op| match op {
            Op::PutConversation(c) => Some((c.id, c.customer)),
            _ => None,
        })
        .expect("the change set writes a conversation");
    c.bench_function(&format!("store_calls_{name}_{n}"), |b| {
        b.iter_custom(|iters| {
            let mut spent = Duration::ZERO;
            for _ in 0..iters {
                k += 1;
                let key = next_round(&mut changes, k);
                let set = changes.clone();
                let start = Instant::now();
                black_box(store.record(t, "tenant-settings", "settings").unwrap());
                black_box(store.record(t, "routing-epoch", "epoch").unwrap());
                black_box(store.conversation(t, conv_id).unwrap());
                black_box(store.conversations_of(t, customer).unwrap());
                store.apply(set).unwrap();
                spent += start.elapsed();
                let mut solved = ChangeSet::new(t);
                solved.push(Op::DeleteRecord {
                    kind: "routing-work".into(),
                    key,
                    version: 1,
                });
                store.apply(solved).unwrap();
            }
            spent
        })
    });
}

fn routing_store(c: &mut Criterion) {
    for n in [1_000usize, 10_000] {
        bare(c, n);
        persisted(c, n, "memory", SqliteStore::open_in_memory().unwrap());
        let dir = tempfile::tempdir().unwrap();
        let file = SqliteStore::open(dir.path().join("routing.db")).unwrap();
        persisted(c, n, "file", file);
    }
}

criterion_group!(benches, routing_store);
criterion_main!(benches);
