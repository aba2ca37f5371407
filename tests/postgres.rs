//! PostgreSQL store: conformance, isolation, and several OS processes sharing one database.
//!
//! Needs a server: `THROUGHLINE_PG_URL` (a connection string to a database where the
//! user may `CREATE DATABASE`); `.ci/run` starts a throw-away cluster and sets it. Without
//! it the tests print a notice and pass on a developer machine, and fail when `CI=true`.
// Test code with deadlines and fresh ids: the no-clock rule is the library's.
#![allow(clippy::disallowed_methods)]
#![cfg(feature = "postgres")]

mod common;

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

use chrono::{DateTime, TimeDelta, Utc};
use throughline::store::{PostgresStore, Store};
use throughline::{Channel, Desk, DeskConfig, Identifier, Inbound, TenantId};

/// The server's connection string, or `None` (after a notice) when the tests may skip.
fn server() -> Option<String> {
    match std::env::var("THROUGHLINE_PG_URL") {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("CI=true but THROUGHLINE_PG_URL is not set: the PostgreSQL tests must run in CI")
        }
        _ => {
            eprintln!("notice: THROUGHLINE_PG_URL not set; PostgreSQL tests skipped (see .ci/pg)");
            None
        }
    }
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A fresh, empty database on the server; returns its connection string.
fn fresh_db(url: &str) -> String {
    let name = format!(
        "tl_{}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst),
        Utc::now().timestamp_micros()
    );
    let mut admin = postgres::Client::connect(url, postgres::NoTls).expect("admin connection");
    admin
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .expect("create database");
    format!("{url} dbname={name}")
}

/// Fault injection (`tests/common/faults.rs`) on PostgreSQL: every operation, with the
/// store failing at each of its calls in turn, fails cleanly and succeeds on retry. Each
/// setup gets a fresh schema of one database, dropped when the next store is made (a
/// database per setup took 35 s and 3.7 GB for the 320 setups, a schema each 21 s).
#[test]
fn every_operation_fails_cleanly_and_succeeds_on_retry_postgres() {
    let Some(url) = server() else { return };
    let started = std::time::Instant::now();
    let db = fresh_db(&url);
    let admin = std::cell::RefCell::new(postgres::Client::connect(&db, postgres::NoTls).unwrap());
    let made = std::cell::Cell::new(0u32);
    common::faults::run_all(&|| {
        let n = made.get();
        made.set(n + 1);
        let mut admin = admin.borrow_mut();
        if n > 0 {
            // The harness dropped the previous store (and closed its connection).
            admin
                .batch_execute(&format!("DROP SCHEMA s{} CASCADE", n - 1))
                .unwrap();
        }
        admin.batch_execute(&format!("CREATE SCHEMA s{n}")).unwrap();
        Box::new(
            PostgresStore::connect(&format!("{db} options='-c search_path=s{n}'"))
                .expect("connect"),
        )
    });
    let last = made.get() - 1;
    admin
        .borrow_mut()
        .batch_execute(&format!("DROP SCHEMA s{last} CASCADE"))
        .unwrap();
    eprintln!("{} setups in {:?}", made.get(), started.elapsed());
}

#[test]
fn postgres_store_conforms() {
    let Some(url) = server() else { return };
    throughline::testkit::conformance::run(|| {
        PostgresStore::connect(&fresh_db(&url)).expect("connect")
    });
}

/// The store answers every part of an ingest's read-ahead in one statement, and the
/// answers are those of its ordinary reads.
#[test]
fn postgres_reads_an_ingest_ahead_in_one_go() {
    let Some(url) = server() else { return };
    let mut desk = Desk::new(
        PostgresStore::connect(&fresh_db(&url)).expect("connect"),
        DeskConfig::default(),
    );
    let tenant = TenantId::new_v7();
    let from = Identifier::email("ana@example.com").unwrap();
    let t0 = DateTime::from_timestamp(1_772_442_000, 0).unwrap();
    let first = desk
        .ingest(
            Inbound::new(
                tenant,
                Channel::WhatsApp,
                from.clone(),
                "w-1",
                "where is my order?",
            ),
            t0,
        )
        .unwrap();
    let nobody = Identifier::email("nobody@example.com").unwrap();
    let plan = throughline::store::ReadPlan {
        dedup: Some((&Channel::WhatsApp, "w-1")),
        identifiers: vec![&from, &nobody],
        records: &[("privacy", "dedup-secret")],
        owner_records: &["language"],
        conversation_records: &["sla", "triage"],
    };
    let got = desk.store().read_ahead(tenant, &plan).unwrap();
    let want = throughline::store::read_by_parts(desk.store(), tenant, &plan).unwrap();
    assert_eq!(got.duplicate, want.duplicate);
    assert_eq!(got.identifiers, want.identifiers);
    assert_eq!(got.customers, want.customers);
    assert_eq!(got.open_conversations, want.open_conversations);
    let mut g = got.records.clone();
    let mut w = want.records.clone();
    g.sort_by(|a, b| a.0.cmp(&b.0));
    w.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(g, w);
    assert_eq!(got.customers.len(), 1);
    assert_eq!(got.customers[0].id, first.customer);
    assert!(got.duplicate(&Channel::WhatsApp, "w-1").flatten().is_some());
    assert!(got
        .record("sla", &first.conversation.to_string())
        .flatten()
        .is_some());
}

#[test]
fn postgres_store_keeps_tenants_apart() {
    let Some(url) = server() else { return };
    let db = fresh_db(&url);
    for seed in 0..5 {
        common::isolation::check(PostgresStore::connect(&db).unwrap(), seed);
    }
}

#[test]
fn two_instances_migrate_once() {
    let Some(url) = server() else { return };
    let db = fresh_db(&url);
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let db = db.clone();
            std::thread::spawn(move || PostgresStore::connect(&db).map(|_| ()))
        })
        .collect();
    for h in handles {
        h.join().unwrap().expect("every instance starts");
    }
}

// ---- several processes on one database -------------------------------------------------

use common::processes::{self, Ids};

const TENANT: &str = processes::TENANT;

fn t0() -> DateTime<Utc> {
    DateTime::from_timestamp(1_772_442_000, 0).unwrap()
}

/// Child mode: ingest the stream (`tests/common/processes.rs`) of the seed and ids given
/// by the environment into its database, printing `ack <external id>` per message.
#[test]
fn child_process_ingests_the_stream() {
    let (Ok(db), Ok(seed), Ok(ids)) = (
        std::env::var("THROUGHLINE_PG_CHILD_DB"),
        std::env::var("THROUGHLINE_PG_CHILD_SEED"),
        std::env::var("THROUGHLINE_PG_CHILD_IDS"),
    ) else {
        return; // not a child
    };
    let seed: u64 = seed.parse().unwrap();
    let mut desk = Desk::new(
        PostgresStore::connect(&db).unwrap(),
        DeskConfig::default().id_seed(seed),
    );
    processes::ingest_stream(&mut desk, seed, Ids::parse(&ids));
}

fn spawn_child(db: &str, seed: u64, ids: Ids) -> std::process::Child {
    processes::spawn(
        "child_process_ingests_the_stream",
        &[
            ("THROUGHLINE_PG_CHILD_DB", db.to_string()),
            ("THROUGHLINE_PG_CHILD_SEED", seed.to_string()),
            ("THROUGHLINE_PG_CHILD_IDS", ids.to_env()),
        ],
    )
}

/// Two processes receiving the same webhooks (in different orders) on the same customers
/// store every message once, each customer once, each customer's messages in one
/// conversation.
#[test]
fn two_processes_ingesting_the_same_stream_store_everything_once() {
    let Some(url) = server() else { return };
    let db = fresh_db(&url);
    PostgresStore::connect(&db).unwrap(); // migrate before the race
    let mut a = spawn_child(&db, 1, Ids::Shared);
    let mut b = spawn_child(&db, 2, Ids::Shared);
    let (acked_a, acked_b) = (processes::acks(&mut a, None), processes::acks(&mut b, None));
    let total = processes::stream(0, Ids::Shared).len();
    assert_eq!(
        (acked_a.len(), acked_b.len()),
        (total, total),
        "both finish"
    );
    let store = PostgresStore::connect(&db).unwrap();
    processes::check_complete(&store, &[processes::stream(1, Ids::Shared)]);
}

/// A process SIGKILLed mid-stream, contending with another on the same customers, loses
/// nothing it acknowledged: its webhooks are its own (no other process could have stored
/// them), each acknowledged one is stored once with its customer and conversation, what
/// it committed is a prefix of its stream, and nothing half-written is visible.
#[test]
fn killing_one_process_loses_nothing_acknowledged() {
    let Some(url) = server() else { return };
    let db = fresh_db(&url);
    PostgresStore::connect(&db).unwrap();
    let mut victim = spawn_child(&db, 3, Ids::Own("v"));
    let mut survivor = spawn_child(&db, 4, Ids::Own("s"));
    let killed_acks = processes::acks(&mut victim, Some(processes::MESSAGES / 3));
    let survivor_acks = processes::acks(&mut survivor, None);
    let survived = processes::stream(4, Ids::Own("s"));
    assert_eq!(survivor_acks.len(), survived.len(), "the survivor goes on");
    let store = PostgresStore::connect(&db).unwrap();
    let unacked = processes::check_after_kill(
        &store,
        &processes::stream(3, Ids::Own("v")),
        &killed_acks,
        &[survived],
    );
    eprintln!(
        "the victim acknowledged {} messages; {unacked} more committed unacknowledged",
        killed_acks.len()
    );
}

// ---- two processes routing on one database ---------------------------------------------

/// The routing workload's tenant.
const ROUTING_TENANT: &str = "01900000-0000-7000-8000-0000000005b2";
/// Web chats each routing process ingests.
const CHATS: usize = 36;
/// A routing process solves one assigned conversation after every this many chats.
const SOLVE_EVERY: usize = 3;

/// The team every host registers at start-up: (agent, capacity in units).
fn team() -> Vec<(throughline::AgentId, u32)> {
    (0..3u128)
        .map(|n| {
            let id = throughline::AgentId::from_uuid(uuid::Uuid::from_u128(
                0x0190_0000_0000_7000_8000_0000_0000_0a00 + n,
            ));
            (id, if n == 1 { 2 } else { 1 })
        })
        .collect()
}

/// Runs `op` again while it loses a race (`Conflict`) to another host, up to 50 times.
fn retrying<T>(what: &str, mut op: impl FnMut() -> throughline::Result<T>) -> T {
    let mut tries = 0;
    loop {
        match op() {
            Ok(v) => return v,
            Err(throughline::Error::Conflict(_)) if tries < 50 => tries += 1,
            Err(e) => panic!("{what}: {e}"),
        }
    }
}

/// Child mode: register the team, then ingest this process's web chats, solving an
/// assigned conversation every few chats (and, with `THROUGHLINE_PG_ROUTE_TICKS=1`,
/// ticking then and at the end, as a host's timer does); prints `ack <conversation id>`
/// per ingest.
#[test]
fn child_process_routes_chats() {
    let (Ok(db), Ok(seed)) = (
        std::env::var("THROUGHLINE_PG_ROUTE_DB"),
        std::env::var("THROUGHLINE_PG_ROUTE_SEED"),
    ) else {
        return; // not a child
    };
    let seed: u64 = seed.parse().unwrap();
    let ticks = std::env::var("THROUGHLINE_PG_ROUTE_TICKS").is_ok_and(|v| v == "1");
    let tenant: TenantId = ROUTING_TENANT.parse().unwrap();
    let mut desk = Desk::new(
        PostgresStore::connect(&db).unwrap(),
        DeskConfig::default()
            .routing(throughline::routing::RoutingConfig::default())
            .id_seed(seed),
    );
    let at = |step: usize| t0() + TimeDelta::seconds(step as i64);
    for (agent, capacity) in team() {
        let a = throughline::routing::Agent::new(agent, tenant, format!("agent {agent}"))
            .channel(Channel::WebChat)
            .capacity(capacity);
        retrying("register an agent", || desk.upsert_agent(a.clone(), at(0)));
    }
    for i in 0..CHATS {
        let step = 1 + 2 * i;
        let from = Identifier::email(&format!("p{seed}-{i}@example.com")).unwrap();
        let chat = Inbound::new(
            tenant,
            Channel::WebChat,
            from,
            format!("chat-{seed}-{i}"),
            "Hi",
        );
        let got = retrying("ingest a chat", || desk.ingest(chat.clone(), at(step)));
        println!("ack {}", got.conversation);
        if i % SOLVE_EVERY == SOLVE_EVERY - 1 {
            if ticks {
                // As a host's timer does: routes what a lost race left to the next tick.
                retrying("tick", || desk.tick(at(step + 1)));
            }
            retrying("solve an assigned chat", || {
                let state = desk.routing_state(tenant)?;
                match state
                    .work
                    .iter()
                    .find_map(|w| w.agent.map(|_| w.item.conversation))
                {
                    Some(c) => {
                        desk.set_status((tenant, c), throughline::Status::Solved, at(step + 1))
                    }
                    None => Ok(Vec::new()),
                }
            });
        }
    }
    if ticks {
        retrying("the last tick", || desk.tick(at(2 * CHATS + 1)));
    }
}

fn spawn_router(db: &str, seed: u64, ticks: bool) -> std::process::Child {
    Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_process_routes_chats",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("THROUGHLINE_PG_ROUTE_DB", db)
        .env("THROUGHLINE_PG_ROUTE_SEED", seed.to_string())
        .env("THROUGHLINE_PG_ROUTE_TICKS", if ticks { "1" } else { "0" })
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn child")
}

/// The conversation ids a routing child acknowledged; SIGKILLs it after `stop_after`.
fn routed_acks(
    child: &mut std::process::Child,
    stop_after: Option<usize>,
) -> Vec<throughline::ConversationId> {
    let out = child.stdout.take().unwrap();
    let mut acked = Vec::new();
    for line in BufReader::new(out).lines() {
        let line = line.unwrap();
        if let Some(at) = line.find("ack ") {
            acked.push(line[at + 4..].trim().parse().expect("a conversation id"));
            if stop_after.is_some_and(|n| acked.len() >= n) {
                child.kill().unwrap(); // SIGKILL
                break;
            }
        }
    }
    let status = child.wait().unwrap();
    assert!(
        stop_after.is_some() || status.success(),
        "a routing child failed: {status}"
    );
    acked
}

/// The routing invariants, read from the database; returns the stored conversations.
fn check_routing(db: &str) -> HashMap<throughline::ConversationId, throughline::Conversation> {
    let tenant: TenantId = ROUTING_TENANT.parse().unwrap();
    let desk = Desk::new(
        PostgresStore::connect(db).unwrap(),
        DeskConfig::default().routing(throughline::routing::RoutingConfig::default()),
    );
    let state = desk.routing_state(tenant).unwrap();
    let (from, to) = (t0() - TimeDelta::days(1), t0() + TimeDelta::days(1));
    let convs: HashMap<_, _> = desk
        .store()
        .conversations_in(tenant, from, to)
        .unwrap()
        .into_iter()
        .map(|c| (c.id, c))
        .collect();
    let mut held = HashSet::new();
    for w in &state.work {
        let c = w.item.conversation;
        assert!(held.insert(c), "{c} is held once, not twice");
        if let Some(agent) = w.agent {
            let conv = &convs[&c];
            assert_eq!(conv.assignee, Some(agent), "{c}: stored assignee");
            assert!(conv.status.is_active(), "{c} is assigned and active");
        }
    }
    for (agent, capacity) in team() {
        let stored = state.agent(agent).expect("the agent is stored");
        let holds = state.work.iter().filter(|w| w.agent == Some(agent)).count();
        assert_eq!(stored.agent.capacity, capacity);
        assert!(
            stored.load <= capacity,
            "{agent}: load {} over capacity",
            stored.load
        );
        assert_eq!(
            stored.load as usize, holds,
            "{agent}: load is what they hold"
        );
    }
    for c in convs.values().filter(|c| c.status.is_active()) {
        match c.assignee {
            Some(a) => assert_eq!(state.assignment(c.id), Some(a), "{}: work record", c.id),
            None => assert!(
                state.is_waiting(c.id),
                "{} is neither assigned nor waiting",
                c.id
            ),
        }
    }
    let pending = desk.store().records(tenant, "routing-pending").unwrap();
    assert!(pending.is_empty(), "routing steps left undone: {pending:?}");
    assert!(!state.waiting().is_empty(), "some chat waits");
    assert!(
        state.work.iter().any(|w| w.agent.is_some()),
        "some chat is assigned"
    );
    convs
}

#[test]
fn two_processes_routing_one_team_keep_capacity_and_lose_nothing() {
    let Some(url) = server() else { return };
    let db = fresh_db(&url);
    PostgresStore::connect(&db).unwrap(); // migrate before the race
    let mut a = spawn_router(&db, 11, true);
    let mut b = spawn_router(&db, 12, true);
    let (acked_a, acked_b) = (routed_acks(&mut a, None), routed_acks(&mut b, None));
    assert_eq!(
        (acked_a.len(), acked_b.len()),
        (CHATS, CHATS),
        "both finish"
    );
    let convs = check_routing(&db);
    assert_eq!(convs.len(), 2 * CHATS, "every chat stored once");
    let solved = convs
        .values()
        .filter(|c| c.status == throughline::Status::Solved)
        .count();
    assert!(solved > 0, "capacity was freed");
}

#[test]
fn killing_one_routing_process_leaves_nothing_unrouted_after_a_tick() {
    let Some(url) = server() else { return };
    let db = fresh_db(&url);
    PostgresStore::connect(&db).unwrap();
    let mut victim = spawn_router(&db, 13, false);
    let mut survivor = spawn_router(&db, 14, false);
    let killed = routed_acks(&mut victim, Some(CHATS / 3));
    assert_eq!(
        routed_acks(&mut survivor, None).len(),
        CHATS,
        "the survivor goes on"
    );
    let mut desk = Desk::new(
        PostgresStore::connect(&db).unwrap(),
        DeskConfig::default().routing(throughline::routing::RoutingConfig::default()),
    );
    let tenant: TenantId = ROUTING_TENANT.parse().unwrap();
    let marks = desk
        .store()
        .records(tenant, "routing-pending")
        .unwrap()
        .len();
    eprintln!("routing steps left for the tick: {marks}");
    let late = t0() + TimeDelta::seconds(10 * CHATS as i64);
    retrying("tick", || desk.tick(late));
    let convs = check_routing(&db);
    let state = desk.routing_state(tenant).unwrap();
    for c in &killed {
        let conv = convs
            .get(c)
            .unwrap_or_else(|| panic!("acknowledged {c} is stored"));
        assert!(
            state.assignment(*c).is_some()
                || state.is_waiting(*c)
                || conv.status == throughline::Status::Solved,
            "acknowledged {c} is assigned, waiting or solved"
        );
    }
}

// ---- every statement through a tenant-led index ----------------------------------------

/// Statements that read across tenants by design, with the reason.
const CROSS_TENANT: &[(&str, &str)] = &[
    (
        "due_records",
        "the scheduler's due-time index (kind, due, tenant, key), all tenants",
    ),
    (
        "next_due",
        "the scheduler's due-time index (kind, due, tenant, key), all tenants",
    ),
    (
        "backfill_page",
        "schema migration 5 walks every tenant's conversations once",
    ),
    (
        "backfill_update",
        "schema migration 5, keyed by (tenant, id) from the page it read",
    ),
    (
        "schema_version",
        "the schema version table: one row, no tenant",
    ),
    (
        "set_schema_version",
        "the schema version table: one row, no tenant",
    ),
];

/// The indexes not led by `tenant`, with the reason.
const UNTENANTED_INDEXES: &[(&str, &str)] = &[(
    "records_due",
    "the scheduler's due-time index: due_records and next_due, across tenants by design",
)];

/// Each index of the public schema with the name of its first column.
fn first_columns(client: &mut postgres::Client) -> HashMap<String, String> {
    client
        .query(
            "SELECT ci.relname::text, a.attname::text FROM pg_index i \
             JOIN pg_class ci ON ci.oid = i.indexrelid \
             JOIN pg_namespace n ON n.oid = ci.relnamespace \
             JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0] \
             WHERE n.nspname = 'public'",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect()
}

/// The scans of a JSON plan node (and its children) that a tenant-led index does not
/// answer: a scan of a table must be an index, index-only or bitmap scan of an index
/// whose first column is `tenant`, with an equality on the tenant in its condition.
fn untenanted_scans(
    node: &serde_json::Value,
    firsts: &HashMap<String, String>,
    out: &mut Vec<String>,
) {
    let kind = node["Node Type"].as_str().unwrap_or("");
    let table = node["Relation Name"].as_str();
    if let Some(index) = node["Index Name"].as_str() {
        let cond = node["Index Cond"].as_str().unwrap_or("");
        let led = firsts.get(index).is_some_and(|c| c == "tenant");
        if !led || !cond.contains("tenant = ") {
            out.push(format!(
                "{kind} on {index} (first column {:?}), Index Cond {cond:?}",
                firsts.get(index)
            ));
        }
    } else if let Some(table) = table {
        if kind != "ModifyTable" && kind != "Bitmap Heap Scan" {
            out.push(format!("{kind} on {table}"));
        }
    }
    for child in node["Plans"].as_array().into_iter().flatten() {
        untenanted_scans(child, firsts, out);
    }
}

/// A plausible value of a statement parameter's type: the tenant's id for ids.
fn sample(ty: &postgres::types::Type, tenant: &[u8]) -> Box<dyn postgres::types::ToSql + Sync> {
    use postgres::types::Type;
    match *ty {
        Type::BYTEA => Box::new(tenant.to_vec()),
        Type::TEXT => Box::new("open".to_string()),
        Type::INT8 => Box::new(10i64),
        Type::INT4 => Box::new(1i32),
        Type::BOOL => Box::new(true),
        Type::BYTEA_ARRAY => Box::new(vec![tenant.to_vec()]),
        Type::TEXT_ARRAY => Box::new(vec!["open".to_string()]),
        Type::INT8_ARRAY => Box::new(vec![10i64]),
        _ => panic!("no sample value of type {ty}"),
    }
}

/// A small workload on three tenants through one store: chats and e-mails with routing,
/// a reply sent, a status change, a merge, an erasure, every inbox view and its count, a
/// tick.
fn populate(store: PostgresStore) -> Vec<TenantId> {
    use throughline::store::InboxView;
    let mut desk = Desk::new(
        store,
        DeskConfig::default().routing(throughline::routing::RoutingConfig::default()),
    );
    let at = |s: i64| t0() + TimeDelta::seconds(s);
    let tenants: Vec<TenantId> = (1..=3u128)
        .map(|n| {
            TenantId::from_uuid(uuid::Uuid::from_u128(
                0x0190_0000_0000_7000_8000_0000_0000_0e00 + n,
            ))
        })
        .collect();
    for &tenant in &tenants {
        let ana = throughline::AgentId::from_uuid(uuid::Uuid::from_u128(
            tenant.as_uuid().as_u128() + 100,
        ));
        let a = throughline::routing::Agent::new(ana, tenant, "Ana")
            .channel(Channel::WebChat)
            .capacity(1);
        desk.upsert_agent(a, at(0)).unwrap();
        let mut convs = Vec::new();
        for i in 0..4 {
            let from = Identifier::email(&format!("c{}@example.com", i % 3)).unwrap();
            let chat = Inbound::new(tenant, Channel::WebChat, from, format!("w-{i}"), "Hi");
            convs.push(desk.ingest(chat, at(1 + i)).unwrap());
        }
        let mail = Inbound::new(
            tenant,
            Channel::Email,
            Identifier::email("m@example.com").unwrap(),
            "<m1@example.com>",
            "Hello",
        );
        desk.ingest(mail, at(6)).unwrap();
        desk.reply((tenant, convs[0].conversation), ana, "On it", at(7))
            .unwrap();
        for m in desk.outbox(tenant).unwrap() {
            desk.mark_sent(tenant, m.id, Some("p-1"), at(8)).unwrap();
        }
        desk.set_status(
            (tenant, convs[0].conversation),
            throughline::Status::Solved,
            at(9),
        )
        .unwrap();
        desk.merge_customers(
            tenant,
            convs[2].customer,
            convs[1].customer,
            "same person",
            at(10),
        )
        .unwrap();
        desk.erase_customer(tenant, convs[1].customer, at(11))
            .unwrap();
        let views = [
            InboxView::Status(throughline::Status::New),
            InboxView::Assignee(ana),
            InboxView::Unassigned,
            InboxView::SlaDueBefore(at(100_000)),
        ];
        for view in &views {
            desk.store().inbox(tenant, view, None, 10).unwrap();
            desk.store().inbox_count(tenant, view).unwrap();
        }
    }
    desk.tick(at(20)).unwrap();
    tenants
}

/// A `json` column's text.
struct JsonText(String);

impl<'a> postgres::types::FromSql<'a> for JsonText {
    fn from_sql(
        _: &postgres::types::Type,
        raw: &'a [u8],
    ) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(JsonText(String::from_utf8(raw.to_vec())?))
    }

    fn accepts(ty: &postgres::types::Type) -> bool {
        *ty == postgres::types::Type::JSON
    }
}

/// A connection that reports the plan of every statement it runs, the statements inside
/// the schema's functions included, as a notice into `sink`; sequential scans priced out.
fn explaining(db: &str, sink: std::sync::Arc<std::sync::Mutex<Vec<String>>>) -> postgres::Client {
    let mut config: postgres::Config = db.parse().unwrap();
    config.notice_callback(move |n| sink.lock().unwrap().push(n.message().to_string()));
    let mut client = config.connect(postgres::NoTls).unwrap();
    client
        .batch_execute(
            "LOAD 'auto_explain'; SET auto_explain.log_min_duration = 0; \
             SET auto_explain.log_nested_statements = on; \
             SET auto_explain.log_format = json; SET auto_explain.log_level = notice; \
             SET enable_seqscan = off;",
        )
        .unwrap();
    client
}

/// The offending scans of every listed statement, EXPLAINed with sample parameters.
fn explain_statements(admin: &mut postgres::Client, tenant: &[u8]) -> Vec<String> {
    let firsts = first_columns(admin);
    let exempt: HashSet<&str> = CROSS_TENANT.iter().map(|&(n, _)| n).collect();
    let mut offences = Vec::new();
    for (name, sql) in PostgresStore::statements() {
        if exempt.contains(name) {
            continue;
        }
        let stmt = admin.prepare(sql).unwrap_or_else(|e| panic!("{name}: {e}"));
        let values: Vec<_> = stmt.params().iter().map(|t| sample(t, tenant)).collect();
        let refs: Vec<&(dyn postgres::types::ToSql + Sync)> =
            values.iter().map(|v| &**v as _).collect();
        let row = admin
            .query_one(&format!("EXPLAIN (FORMAT JSON) {sql}"), &refs)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let plan: serde_json::Value = serde_json::from_str(&row.get::<_, JsonText>(0).0).unwrap();
        let mut bad = Vec::new();
        untenanted_scans(&plan[0]["Plan"], &firsts, &mut bad);
        offences.extend(bad.into_iter().map(|b| format!("{name}: {b}\n    {sql}")));
    }
    offences
}

/// The offending scans in the plans the store's connection reported while it ran.
fn explain_logged(plans: &[String], firsts: &HashMap<String, String>) -> (Vec<String>, usize) {
    let exempt: HashSet<&str> = PostgresStore::statements()
        .into_iter()
        .filter(|(n, _)| CROSS_TENANT.iter().any(|&(x, _)| x == *n))
        .map(|(_, sql)| sql)
        .collect();
    let mut seen = HashSet::new();
    let mut offences = Vec::new();
    for notice in plans {
        let Some(at) = notice.find('{') else { continue };
        let plan: serde_json::Value = serde_json::from_str(&notice[at..]).unwrap();
        let text = plan["Query Text"].as_str().unwrap_or("").trim().to_string();
        // The store's start-up on this connection: the version table's bookkeeping.
        let bookkeeping = text.contains("throughline_schema");
        if bookkeeping || exempt.contains(text.as_str()) || !seen.insert(text.clone()) {
            continue;
        }
        let mut bad = Vec::new();
        untenanted_scans(&plan["Plan"], firsts, &mut bad);
        offences.extend(bad.into_iter().map(|b| format!("{b}\n    {text}")));
    }
    (offences, seen.len())
}

/// Ready to distribute by tenant (e.g. with Citus): every statement the store issues is
/// answered through an index led by `tenant`, with an equality on it, when sequential
/// scans are priced out — the statements it prepares, EXPLAINed with sample parameters,
/// and every statement its connection ran during a workload (those inside
/// `throughline_apply` and `throughline_read_ahead` included), as the server planned
/// them. The cross-tenant exceptions are [`CROSS_TENANT`].
#[test]
fn every_statement_reads_through_a_tenant_led_index() {
    let Some(url) = server() else { return };
    let db = fresh_db(&url);
    PostgresStore::connect(&db).unwrap(); // migrate on a connection of its own
    let mut admin = postgres::Client::connect(&db, postgres::NoTls).unwrap();
    let mut untenanted: Vec<String> = first_columns(&mut admin)
        .into_iter()
        .filter(|(_, first)| first != "tenant")
        .map(|(index, _)| index)
        .collect();
    untenanted.sort();
    let mut known: Vec<String> = UNTENANTED_INDEXES
        .iter()
        .map(|(i, _)| i.to_string())
        .collect();
    known.sort();
    assert_eq!(untenanted, known, "the indexes not led by tenant");
    let plans = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let store = PostgresStore::from_client(explaining(&db, plans.clone())).unwrap();
    let tenants = populate(store);
    admin
        .batch_execute("ANALYZE; SET enable_seqscan = off")
        .unwrap();
    let mut offences = explain_statements(&mut admin, tenants[0].as_uuid().as_bytes());
    let firsts = first_columns(&mut admin);
    let (logged, distinct) = explain_logged(&plans.lock().unwrap(), &firsts);
    assert!(
        distinct > 20,
        "the workload ran {distinct} distinct statements"
    );
    offences.extend(logged);
    assert!(
        offences.is_empty(),
        "scans not answered through a tenant-led index:\n{}",
        offences.join("\n")
    );
}

/// An async host runs the synchronous PostgreSQL store on the desk's own thread: it is
/// created, called and dropped there, never on a thread of the server's runtime (where
/// its client would block a worker or refuse to start its own runtime).
#[test]
fn an_async_host_runs_the_store_on_the_desk_thread() {
    let Some(url) = server() else { return };
    let db = fresh_db(&url);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let desk = throughline::hosting::DeskHandle::start(move || {
            Ok(Desk::new(
                PostgresStore::connect(&db)?,
                DeskConfig::default().id_seed(5),
            ))
        })
        .await
        .unwrap();
        let tenant: TenantId = TENANT.parse().unwrap();
        let mut handlers = Vec::new();
        for n in 0..8 {
            let desk = desk.clone();
            handlers.push(tokio::spawn(async move {
                let from = Identifier::email(&format!("async{n}@example.com")).unwrap();
                let inbound = Inbound::new(tenant, Channel::WebChat, from, format!("a-{n}"), "Hi");
                desk.call(move |d| d.ingest(inbound, t0()))
                    .await
                    .unwrap()
                    .unwrap()
            }));
        }
        for h in handlers {
            assert!(!h.await.unwrap().duplicate);
        }
        desk.shutdown().await.unwrap();
    });
}
