//! The periodic-update and agent-work metrics through the `Desk`, with their default
//! pauses: a periodic update is owed after every fulfilling public reply and pauses while
//! the conversation is pending; agent work counts from the first customer message until
//! solved and pauses while pending or on hold. Both resume (never restart) when the
//! customer writes again, and a missed periodic update breaches at the resumed deadline.

use chrono::{DateTime, TimeDelta, Utc};
use throughline::sla::{Basis, ClockState, Metric, MetricClock, SlaPolicies, SlaPolicy};
use throughline::store::{MemoryStore, SqliteStore, Store};
use throughline::{
    AgentId, Channel, ConversationId, Desk, DeskConfig, Effect, Identifier, Inbound, Status,
    TenantId,
};

fn t(mins: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_773_050_400, 0).unwrap() + TimeDelta::minutes(mins)
}

fn policies() -> SlaPolicies {
    SlaPolicies::new()
        .policy(
            SlaPolicy::new("updates")
                .target_all(Metric::PeriodicUpdate, TimeDelta::hours(2), Basis::Calendar)
                .target_all(Metric::AgentWork, TimeDelta::hours(4), Basis::Calendar),
        )
        .build()
        .unwrap()
}

fn clock(desk: &Desk<impl Store>, c: (TenantId, ConversationId), metric: Metric) -> MetricClock {
    let clocks = desk.sla_clocks(c).unwrap().expect("clocks");
    clocks
        .clocks
        .into_iter()
        .find(|k| k.metric == metric)
        .unwrap_or_else(|| panic!("no {metric:?} clock"))
}

fn breaches(effects: &[Effect]) -> Vec<(Metric, DateTime<Utc>)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::SlaBreached {
                metric, deadline, ..
            } => Some((*metric, *deadline)),
            _ => None,
        })
        .collect()
}

fn story(desk: &mut Desk<impl Store>) {
    let tenant = TenantId::new_v7();
    let agent = AgentId::new_v7();
    let ana = Identifier::email("ana@example.com").unwrap();
    let mail = |id: &str, body: &str| Inbound::new(tenant, Channel::Email, ana.clone(), id, body);
    let got = desk
        .ingest(mail("m1", "My invoice is wrong"), t(0))
        .unwrap();
    let c = (tenant, got.conversation);

    // Agent work starts with the customer's message; no periodic update is owed yet.
    let work = clock(desk, c, Metric::AgentWork);
    assert_eq!(
        (work.state, work.deadline),
        (ClockState::Active, Some(t(240)))
    );
    assert!(
        desk.sla_clocks(c)
            .unwrap()
            .unwrap()
            .clocks
            .iter()
            .all(|k| k.metric != Metric::PeriodicUpdate || k.state != ClockState::Active),
        "a periodic update is owed only after a reply"
    );

    // The reply at minute 10 owes the next update within two hours.
    desk.reply(c, agent, "Looking into it", t(10)).unwrap();
    let update = clock(desk, c, Metric::PeriodicUpdate);
    assert_eq!(
        (update.state, update.deadline),
        (ClockState::Active, Some(t(130)))
    );

    // Pending from minute 30 to minute 180 pauses both.
    desk.set_status(c, Status::Pending, t(30)).unwrap();
    for m in [Metric::PeriodicUpdate, Metric::AgentWork] {
        let k = clock(desk, c, m);
        assert_eq!((k.state, k.deadline), (ClockState::Paused, None), "{m:?}");
    }
    assert!(
        breaches(&desk.tick(t(170)).unwrap()).is_empty(),
        "paused clocks do not breach"
    );

    // The customer writes at minute 180: both resume with what they had counted.
    desk.ingest(mail("m2", "Any news?"), t(180)).unwrap();
    assert_eq!(desk.conversation(c).unwrap().status, Status::Open);
    let update = clock(desk, c, Metric::PeriodicUpdate);
    assert_eq!(update.elapsed, TimeDelta::minutes(20));
    assert_eq!(update.deadline, Some(t(180 + 100)));
    let work = clock(desk, c, Metric::AgentWork);
    assert_eq!(work.elapsed, TimeDelta::minutes(30));
    assert_eq!(work.deadline, Some(t(180 + 210)));

    // Nobody updates the customer: the periodic update breaches at minute 280, once.
    let fired = desk.tick(t(281)).unwrap();
    assert_eq!(breaches(&fired), [(Metric::PeriodicUpdate, t(280))]);
    assert!(breaches(&desk.tick(t(282)).unwrap()).is_empty());

    // On hold pauses agent work but not the periodic update (the default pauses).
    desk.reply(c, agent, "Escalated to billing", t(290))
        .unwrap();
    desk.set_status(c, Status::OnHold, t(300)).unwrap();
    assert_eq!(clock(desk, c, Metric::AgentWork).state, ClockState::Paused);
    let update = clock(desk, c, Metric::PeriodicUpdate);
    assert_eq!(
        (update.state, update.deadline),
        (ClockState::Active, Some(t(290 + 120)))
    );

    // Solving stops agent work within its target (30 + 120 + 10 of 240 minutes; stopped,
    // not fulfilled: a reopen resumes it) and the periodic update.
    desk.set_status(c, Status::Open, t(360)).unwrap();
    desk.set_status(c, Status::Solved, t(370)).unwrap();
    let work = clock(desk, c, Metric::AgentWork);
    assert_eq!(work.state, ClockState::Stopped);
    assert_eq!(work.elapsed, TimeDelta::minutes(30 + 120 + 10));
    assert_ne!(
        clock(desk, c, Metric::PeriodicUpdate).state,
        ClockState::Active
    );
    assert!(breaches(&desk.tick(t(10_000)).unwrap()).is_empty());
}

#[test]
fn periodic_updates_and_agent_work_pause_resume_and_breach_on_memory() {
    story(&mut Desk::new(
        MemoryStore::new(),
        DeskConfig::default().sla(policies()),
    ));
}

#[test]
fn periodic_updates_and_agent_work_pause_resume_and_breach_on_sqlite() {
    let store = SqliteStore::open_in_memory().unwrap();
    story(&mut Desk::new(store, DeskConfig::default().sla(policies())));
}
