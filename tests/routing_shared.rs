//! Several hosts on one store see one routing state: two desks on one SQLite file (as two
//! instances of a support app) never give an agent more than their capacity, capacity
//! freed at one host goes to work that waits from the other, and a desk built anew
//! continues the queues with their ages and escalation steps. Ends with a property test
//! of random interleavings across two desks.
#![cfg(feature = "sqlite")]

use std::path::Path;

use chrono::{DateTime, TimeDelta, Utc};
use proptest::prelude::*;
use throughline::conversation::Transfer;
use throughline::routing::{Agent, EscalationStep, Presence, RoutingConfig, RoutingState};
use throughline::store::{InboxView, SqliteStore, Store};
use throughline::{
    AgentId, Channel, ConversationId, Desk, DeskConfig, Effect, Error, Identifier, Inbound, Status,
    TenantId,
};

type D = Desk<SqliteStore>;

fn t(mins: i64) -> DateTime<Utc> {
    // A Monday, 10:00 in Amsterdam.
    DateTime::from_timestamp(1_772_442_000, 0).unwrap() + TimeDelta::minutes(mins)
}

fn tenant() -> TenantId {
    "01900000-0000-7000-8000-00000000e0a1".parse().unwrap()
}

fn other_tenant() -> TenantId {
    "01900000-0000-7000-8000-00000000e0b2".parse().unwrap()
}

fn agent(n: u128) -> AgentId {
    AgentId::from_uuid(uuid::Uuid::from_u128(0xa9e0_0000 + n))
}

fn ana() -> Agent {
    Agent::new(agent(1), tenant(), "Ana")
        .channel(Channel::WebChat)
        .capacity(1)
}

/// A desk on the SQLite file at `path`, as one instance of a host: routing on, the team
/// registered at start-up.
fn host(path: &Path, seed: u64, config: RoutingConfig, team: &[Agent]) -> D {
    let mut desk = Desk::new(
        SqliteStore::open(path).unwrap(),
        DeskConfig::default().id_seed(seed).routing(config),
    );
    for a in team {
        desk.upsert_agent(a.clone(), t(0)).unwrap();
    }
    desk
}

/// A web chat from customer `n`.
fn chat(desk: &mut D, n: u32, at: DateTime<Utc>) -> ConversationId {
    let who = Identifier::email(&format!("customer{n}@example.com")).unwrap();
    let inbound = Inbound::new(
        tenant(),
        Channel::WebChat,
        who,
        format!("chat-{n}"),
        "Hello, where is my order?",
    );
    desk.ingest(inbound, at).unwrap().conversation
}

/// What every host must agree on, read from the store: each agent's load is the units
/// of the work assigned to them and within their capacity; the stored assignee of every
/// active conversation is routing's; an active conversation without an agent waits;
/// routing holds nothing solved or closed.
fn check(desk: &D, capacity: impl Fn(AgentId) -> u32) -> RoutingState {
    let state = desk.routing_state(tenant()).unwrap();
    for a in &state.agents {
        let held: u32 = state
            .work
            .iter()
            .filter(|w| w.agent == Some(a.agent.id))
            .map(|w| w.item.requirements.units)
            .sum();
        assert_eq!(
            a.load, held,
            "{}'s load is the work she holds",
            a.agent.name
        );
        assert!(
            a.load <= capacity(a.agent.id),
            "{} holds {} units of {}",
            a.agent.name,
            a.load,
            capacity(a.agent.id)
        );
    }
    let convs = desk
        .store()
        .conversations_in(tenant(), DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::MAX_UTC)
        .unwrap();
    for c in &convs {
        if c.status.is_active() {
            match c.assignee {
                Some(a) => assert_eq!(
                    state.assignment(c.id),
                    Some(a),
                    "{} is assigned in the conversation but not in routing",
                    c.id
                ),
                None => assert!(state.is_waiting(c.id), "{} is lost: not waiting", c.id),
            }
        } else {
            assert!(state.held(c.id).is_none(), "routing holds solved {}", c.id);
        }
    }
    assert_eq!(
        state.work.len(),
        convs.iter().filter(|c| c.status.is_active()).count(),
        "routing holds exactly the active conversations"
    );
    // The inbox's queue views list exactly the waiting work, who waits longest first.
    for queue in ["default", "tier2"] {
        let view = InboxView::Queue(queue.into());
        let page = desk.inbox(tenant(), &view, None, 500).unwrap();
        let listed: Vec<ConversationId> = page.conversations.iter().map(|c| c.id).collect();
        let mut waiting: Vec<(DateTime<Utc>, ConversationId)> = state
            .queue(queue)
            .iter()
            .map(|i| (i.enqueued_at, i.conversation))
            .collect();
        waiting.sort();
        let want: Vec<ConversationId> = waiting.into_iter().map(|(_, c)| c).collect();
        assert_eq!(listed, want, "the {queue} queue view");
    }
    state
}

#[test]
fn two_hosts_never_give_an_agent_more_than_her_capacity() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("desk.db");
    let mut a = host(&db, 1, RoutingConfig::default(), &[ana()]);
    let mut b = host(&db, 2, RoutingConfig::default(), &[ana()]);
    // One chat arrives at each host.
    let first = chat(&mut a, 1, t(1));
    let second = chat(&mut b, 2, t(2));
    let state = check(&a, |_| 1);
    assert_eq!(state.assignment(first), Some(agent(1)));
    assert!(
        state.is_waiting(second),
        "Ana's one unit is taken: {state:?}"
    );
    assert_eq!(b.conversation((tenant(), second)).unwrap().assignee, None);

    // Ana solves her chat at host B: the chat that waits from host A... from either
    // host, goes to her at once.
    let effects = b
        .set_status((tenant(), first), Status::Solved, t(5))
        .unwrap();
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, Effect::Assigned { conversation, .. } if *conversation == second)),
        "{effects:?}"
    );
    let state = check(&a, |_| 1);
    assert_eq!(state.assignment(second), Some(agent(1)));
    // Host A's next operation sees it too (its cache follows the store).
    let third = chat(&mut a, 3, t(6));
    let state = check(&a, |_| 1);
    assert!(state.is_waiting(third));
    assert_eq!(a.router().unwrap().load(tenant(), agent(1)), Some(1));
}

#[test]
fn a_host_registering_the_team_again_keeps_the_loads() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("desk.db");
    let mut a = host(&db, 1, RoutingConfig::default(), &[ana()]);
    chat(&mut a, 1, t(1));
    // A second instance starts and registers the team (with a new capacity).
    let b = host(&db, 2, RoutingConfig::default(), &[ana().capacity(2)]);
    let state = check(&b, |_| 2);
    assert_eq!(
        state.load(agent(1)),
        Some(1),
        "the load held at host A stays"
    );
    assert_eq!(state.agent(agent(1)).unwrap().agent.capacity, 2);
}

#[test]
fn two_hosts_on_two_threads_never_exceed_a_capacity() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("desk.db");
    let team = [ana(), ana_like(2)];
    host(&db, 1, RoutingConfig::default(), &team); // migrate and register once
    let run = |seed: u64, offset: u32| {
        let db = db.clone();
        let team = team.clone();
        std::thread::spawn(move || {
            let mut desk = host(&db, seed, RoutingConfig::default(), &team);
            for n in 0..15 {
                let who = Identifier::email(&format!("c{}@example.com", offset + n)).unwrap();
                let inbound = Inbound::new(
                    tenant(),
                    Channel::WebChat,
                    who,
                    format!("chat-{}", offset + n),
                    "Hi",
                );
                // A host retries what lost a race past the desk's own retries.
                let mut tries = 0;
                loop {
                    match desk.ingest(inbound.clone(), t(i64::from(n))) {
                        Ok(_) => break,
                        Err(Error::Conflict(_) | Error::Busy(_)) if tries < 50 => tries += 1,
                        Err(e) => panic!("chat {n}: {e}"),
                    }
                }
            }
        })
    };
    let (x, y) = (run(11, 0), run(12, 100));
    x.join().unwrap();
    y.join().unwrap();
    // A routing step that lost its races past the desk's retries left a pending mark
    // (the ingest itself landed); a host's tick routes it, as the timer of either would.
    let mut desk = host(&db, 13, RoutingConfig::default(), &[]);
    desk.tick(t(20)).unwrap();
    let state = check(&desk, |_| 1);
    assert_eq!(state.work.len(), 30, "every chat is held");
    assert_eq!(
        state.work.iter().filter(|w| w.agent.is_some()).count(),
        2,
        "one chat each for Ana and Ben, the rest wait"
    );
}

fn ana_like(n: u128) -> Agent {
    Agent::new(agent(n), tenant(), format!("Agent {n}"))
        .channel(Channel::WebChat)
        .capacity(1)
}

#[test]
fn a_desk_built_anew_continues_the_queue_with_its_ages_and_steps() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("desk.db");
    let config = || {
        RoutingConfig::default()
            .escalate(EscalationStep::after(TimeDelta::minutes(5)).raise_priority())
            .escalate(EscalationStep::after(TimeDelta::minutes(10)).overflow_to("tier2"))
    };
    let away = ana().presence(Presence::Away);
    let mut first = host(&db, 1, config(), &[away]);
    let conv = chat(&mut first, 1, t(1));
    let effects = first.tick(t(7)).unwrap();
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, Effect::Escalated { step: 0, .. })),
        "{effects:?}"
    );
    drop(first);

    // A restart: a new desk on the store, nothing restored, no agent registered.
    let mut second = Desk::new(
        SqliteStore::open(&db).unwrap(),
        DeskConfig::default().id_seed(2).routing(config()),
    );
    let state = check(&second, |_| 1);
    let waiting = state.waiting();
    assert_eq!(waiting.len(), 1);
    assert_eq!(waiting[0].conversation, conv);
    assert_eq!(waiting[0].enqueued_at, t(1), "the original age");
    assert_eq!(waiting[0].steps_applied, 1, "the step already taken");
    assert_eq!(second.next_wakeup().unwrap(), Some(t(11)), "the next step");
    let effects = second.tick(t(11)).unwrap();
    assert!(
        matches!(&effects[..], [Effect::Escalated { step: 1, conversation, .. }] if *conversation == conv),
        "{effects:?}"
    );
    assert_eq!(
        second.routing_state(tenant()).unwrap().queue("tier2").len(),
        1
    );
    // Ana comes back at the new desk and takes it.
    second
        .set_presence(tenant(), agent(1), Presence::Available, t(12))
        .unwrap();
    assert_eq!(check(&second, |_| 1).assignment(conv), Some(agent(1)));
}

#[test]
fn routing_state_and_agent_operations_stay_within_their_tenant() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("desk.db");
    let mut desk = host(&db, 1, RoutingConfig::default(), &[ana()]);
    let conv = chat(&mut desk, 1, t(1));
    let stranger = Agent::new(agent(9), other_tenant(), "Other");
    desk.upsert_agent(stranger, t(1)).unwrap();
    assert_eq!(
        desk.routing_state(other_tenant()).unwrap().work.len(),
        0,
        "the other tenant holds no work"
    );
    let not_found = |r: throughline::Result<Vec<Effect>>| {
        assert!(matches!(r, Err(Error::NotFound { .. })), "{r:?}");
    };
    // Another tenant's agent, or this tenant's agent named under another tenant.
    not_found(desk.set_presence(tenant(), agent(9), Presence::Away, t(2)));
    not_found(desk.set_presence(other_tenant(), agent(1), Presence::Away, t(2)));
    not_found(desk.assign((tenant(), conv), agent(9), agent(1), t(2)));
    not_found(desk.assign((other_tenant(), conv), agent(9), agent(9), t(2)));
    not_found(desk.transfer(
        (tenant(), conv),
        Transfer::Agent(agent(9)),
        "over to you",
        agent(1),
        t(2),
    ));
    not_found(desk.unassign((other_tenant(), conv), agent(9), t(2)));
    check(&desk, |_| 1);
}

/// One step of the property test, at host `0` or `1`.
#[derive(Debug, Clone)]
enum Step {
    Chat(usize),
    Solve(usize, usize),
    Presence(usize, u128, bool),
    Assign(usize, usize, u128),
    Unassign(usize, usize),
    ToQueue(usize, usize),
    Tick(usize),
}

fn step() -> impl Strategy<Value = Step> {
    let host = 0..2usize;
    prop_oneof![
        3 => host.clone().prop_map(Step::Chat),
        2 => (host.clone(), 0..12usize).prop_map(|(h, k)| Step::Solve(h, k)),
        1 => (host.clone(), 1..4u128, any::<bool>()).prop_map(|(h, a, on)| Step::Presence(h, a, on)),
        1 => (host.clone(), 0..12usize, 1..4u128).prop_map(|(h, k, a)| Step::Assign(h, k, a)),
        1 => (host.clone(), 0..12usize).prop_map(|(h, k)| Step::Unassign(h, k)),
        1 => (host.clone(), 0..12usize).prop_map(|(h, k)| Step::ToQueue(h, k)),
        1 => host.prop_map(Step::Tick),
    ]
}

/// Runs `step` at its host; an error the step's input explains (at capacity, nothing to
/// unassign, solved already) is fine, any other fails the test.
fn run(hosts: &mut [D; 2], convs: &mut Vec<ConversationId>, step: &Step, at: DateTime<Utc>) {
    let conv = |k: usize| convs.get(k % convs.len().max(1)).copied();
    let lead = agent(1);
    let r: throughline::Result<Vec<Effect>> = match *step {
        Step::Chat(h) => {
            let n = u32::try_from(convs.len()).unwrap();
            convs.push(chat(&mut hosts[h], n, at));
            Ok(Vec::new())
        }
        Step::Solve(h, k) => match conv(k) {
            Some(c) => hosts[h].set_status((tenant(), c), Status::Solved, at),
            None => Ok(Vec::new()),
        },
        Step::Presence(h, a, on) => {
            let p = if on {
                Presence::Available
            } else {
                Presence::Away
            };
            hosts[h].set_presence(tenant(), agent(a), p, at)
        }
        Step::Assign(h, k, a) => match conv(k) {
            Some(c) => hosts[h].assign((tenant(), c), agent(a), lead, at),
            None => Ok(Vec::new()),
        },
        Step::Unassign(h, k) => match conv(k) {
            Some(c) => hosts[h].unassign((tenant(), c), lead, at),
            None => Ok(Vec::new()),
        },
        Step::ToQueue(h, k) => match conv(k) {
            Some(c) => hosts[h].transfer(
                (tenant(), c),
                Transfer::Queue("tier2".into()),
                "please",
                lead,
                at,
            ),
            None => Ok(Vec::new()),
        },
        Step::Tick(h) => hosts[h].tick(at),
    };
    match r {
        Ok(_)
        | Err(
            Error::Invalid { .. } | Error::InvalidTransition { .. } | Error::ConversationClosed(_),
        ) => {}
        Err(e) => panic!("{step:?}: {e}"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn interleavings_across_two_hosts_keep_capacity_and_lose_nothing(
        steps in proptest::collection::vec(step(), 1..30),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("desk.db");
        let team: Vec<Agent> = (1..4).map(|n| ana_like(n).capacity(u32::try_from(n).unwrap())).collect();
        let escalation = || RoutingConfig::default()
            .escalate(EscalationStep::after(TimeDelta::minutes(3)).raise_priority());
        let mut hosts = [
            host(&db, 1, escalation(), &team),
            host(&db, 2, escalation(), &team),
        ];
        let mut convs = Vec::new();
        for (i, s) in steps.iter().enumerate() {
            run(&mut hosts, &mut convs, s, t(i64::try_from(i).unwrap()));
            check(&hosts[i % 2], |a| u32::try_from(a.as_uuid().as_u128() - 0xa9e0_0000).unwrap());
        }
    }
}
