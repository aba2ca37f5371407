//! The stage probe: a host that wants to know where its desk's time goes sees every stage
//! of an ingest, properly nested, also when an operation fails.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, TimeDelta, Utc};
use throughline::probe::{Stage, StageProbe, StageTimes};
use throughline::routing::{Agent, RoutingConfig};
use throughline::store::{MemoryStore, Store};
use throughline::testkit::{FaultMode, FaultyStore, TimedStore};
use throughline::triage::{Intent, IntentCatalogue, TriageConfig, Value};
use throughline::{AgentId, Channel, Desk, DeskConfig, Identifier, Inbound, TenantId};

fn t(mins: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_772_442_000, 0).unwrap() + TimeDelta::minutes(mins)
}

fn tenant() -> TenantId {
    "01900000-0000-7000-8000-00000000b0b0".parse().unwrap()
}

/// Writes down every call, and checks the nesting as it goes.
#[derive(Debug, Default)]
struct Recorder {
    calls: Mutex<Vec<(bool, Stage)>>,
}

impl StageProbe for Recorder {
    fn enter(&self, stage: Stage) {
        self.calls.lock().unwrap().push((true, stage));
    }
    fn leave(&self, stage: Stage) {
        self.calls.lock().unwrap().push((false, stage));
    }
}

impl Recorder {
    fn take(&self) -> Vec<(bool, Stage)> {
        std::mem::take(&mut *self.calls.lock().unwrap())
    }
}

/// The stages entered, in order, after checking that every leave matches the innermost
/// enter and nothing stays entered.
fn entered(calls: &[(bool, Stage)]) -> Vec<Stage> {
    let mut stack = Vec::new();
    let mut order = Vec::new();
    for &(enter, stage) in calls {
        if enter {
            stack.push(stage);
            order.push(stage);
        } else {
            assert_eq!(
                stack.pop(),
                Some(stage),
                "leave matches the innermost enter"
            );
        }
    }
    assert!(stack.is_empty(), "every stage was left: {stack:?}");
    order
}

fn config() -> DeskConfig {
    let catalogue = IntentCatalogue::new()
        .with(
            Intent::new("refund", Value::High, Value::High)
                .skill("billing", 3)
                .phrases("en", &["refund", "money back"]),
        )
        .unwrap();
    DeskConfig::default()
        .triage(TriageConfig::new(catalogue))
        .routing(RoutingConfig::default())
}

fn refund(n: u32) -> Inbound {
    Inbound::new(
        tenant(),
        Channel::WebChat,
        Identifier::email("ana@example.com").unwrap(),
        format!("chat-{n}"),
        "Hello, I would like a refund for the shoes I sent back last week",
    )
}

#[test]
fn an_ingest_passes_every_stage_in_order_and_a_redelivery_only_the_dedup() {
    let recorder = Arc::new(Recorder::default());
    let mut desk = Desk::new(MemoryStore::new(), config().probe(recorder.clone()));
    let agent = AgentId::from_uuid(uuid::Uuid::from_u128(7));
    desk.upsert_agent(
        Agent::new(agent, tenant(), "Emma")
            .skill("billing", 5)
            .language("en")
            .channel(Channel::WebChat),
        t(0),
    )
    .unwrap();
    assert_eq!(entered(&recorder.take()), [Stage::Routing, Stage::Write]);

    let got = desk.ingest(refund(1), t(1)).unwrap();
    assert!(got
        .effects
        .iter()
        .any(|e| matches!(e, throughline::Effect::Assigned { .. })));
    let order = entered(&recorder.take());
    // The read-ahead (dedup), the dedup lookup, then the pipeline in its fixed order;
    // the write of the change set, the live metrics, and routing after the commit (whose
    // assignment is written too).
    assert_eq!(
        order,
        [
            Stage::Dedup,
            Stage::Dedup,
            Stage::Identity,
            Stage::Threading,
            Stage::Language,
            Stage::Triage,
            Stage::Sla,
            Stage::Write,
            Stage::Metrics,
            Stage::Metrics,
            Stage::Routing,
            Stage::Write,
        ]
    );

    let again = desk.ingest(refund(1), t(2)).unwrap();
    assert!(again.duplicate);
    assert_eq!(entered(&recorder.take()), [Stage::Dedup, Stage::Dedup]);

    desk.tick(t(600)).unwrap();
    let order = entered(&recorder.take());
    assert!(order.contains(&Stage::Sla) && order.contains(&Stage::Routing));
}

#[test]
fn a_failing_store_leaves_every_stage_it_entered() {
    let recorder = Arc::new(Recorder::default());
    let store = FaultyStore::new(MemoryStore::new(), 0, FaultMode::Once);
    let mut desk = Desk::new(store, config().probe(recorder.clone()));
    desk.ingest(refund(1), t(1)).unwrap();
    recorder.take();
    // Fail each store call of the next ingest in turn: whichever stage the failure hits,
    // the probe sees it left.
    for k in 1..=12 {
        desk.store().fail_after(k, FaultMode::Once);
        let _ = desk.ingest(refund(100 + k as u32), t(2 + k as i64));
        let order = entered(&recorder.take());
        assert!(!order.is_empty());
    }
}

#[test]
fn stage_times_add_up_what_each_stage_and_the_store_took() {
    let times = Arc::new(StageTimes::new());
    let mut desk = Desk::new(MemoryStore::new(), config().probe(times.clone()));
    for n in 0..20 {
        desk.ingest(refund(n), t(i64::from(n))).unwrap();
    }
    assert_eq!(times.entries(Stage::Language), 20);
    assert_eq!(times.entries(Stage::Identity), 20);
    assert_eq!(times.entries(Stage::Threading), 20);
    // Every stage an ingest passes took some time.
    for stage in [
        Stage::Identity,
        Stage::Threading,
        Stage::Language,
        Stage::Triage,
        Stage::Sla,
        Stage::Write,
    ] {
        assert!(times.own_time(stage) > std::time::Duration::ZERO, "{stage}");
    }
    // Nothing reported store calls: no store time anywhere.
    assert!(Stage::ALL
        .iter()
        .all(|&s| times.store_time(s) == std::time::Duration::ZERO));
    let before = times.own_time(Stage::Identity);
    times.enter(Stage::Identity);
    times.measure_store(|| std::thread::sleep(std::time::Duration::from_millis(2)));
    times.leave(Stage::Identity);
    assert!(times.store_time(Stage::Identity) >= std::time::Duration::from_millis(2));
    assert!(
        times.own_time(Stage::Identity) - before < std::time::Duration::from_millis(2),
        "the store's share is not counted as the stage's own time"
    );
}

#[test]
fn a_timed_store_charges_each_call_to_the_stage_that_made_it() {
    let times = Arc::new(StageTimes::new());
    let store = TimedStore::new(MemoryStore::new(), times.clone());
    let mut desk = Desk::new(store, config().probe(times.clone()));
    for n in 0..5 {
        desk.ingest(refund(n), t(i64::from(n))).unwrap();
    }
    let zero = std::time::Duration::ZERO;
    // The sender's lookup is identity's, the open conversation threading's, the change
    // set's apply the write stage's.
    for stage in [
        Stage::Dedup,
        Stage::Identity,
        Stage::Threading,
        Stage::Write,
    ] {
        assert!(times.store_time(stage) > zero, "{stage} made store calls");
    }
    // Metrics are kept in memory: no store call is charged to them.
    assert_eq!(times.store_time(Stage::Metrics), zero);
    // A host's own read, outside every stage.
    let before = times.store_time_outside();
    desk.store().outbox(tenant()).unwrap();
    assert!(times.store_time_outside() > before);
}
