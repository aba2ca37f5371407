//! Queues and policies through the Desk, one story each: queues are sets of agents and
//! overflow hands work to another queue's people; aging raises waiting work's priority;
//! dropping optional skills widens who qualifies; the sticky, round-robin and
//! least-loaded policies each choose whom they promise (and another policy would not).

use chrono::{DateTime, TimeDelta, Utc};
use throughline::routing::{
    Agent, EscalationStep, LeastLoaded, Presence, Requirements, RoundRobin, RoutingConfig,
    RoutingPolicy, SkillsMatch,
};
use throughline::store::{InboxView, MemoryStore};
use throughline::{
    AgentId, Channel, ConversationId, Desk, DeskConfig, Effect, Identifier, Inbound, Priority,
    Status, TenantId,
};

type D = Desk<MemoryStore>;

fn t(mins: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_772_442_000, 0).unwrap() + TimeDelta::minutes(mins)
}

fn tenant() -> TenantId {
    "01900000-0000-7000-8000-00000000c0a1".parse().unwrap()
}

fn ana() -> AgentId {
    AgentId::from_uuid(uuid::Uuid::from_u128(0xa1))
}

fn ben() -> AgentId {
    AgentId::from_uuid(uuid::Uuid::from_u128(0xb2))
}

fn desk(config: RoutingConfig, team: Vec<Agent>) -> D {
    let mut desk = Desk::new(
        MemoryStore::new(),
        DeskConfig::default().id_seed(5).routing(config),
    );
    for a in team {
        desk.upsert_agent(a, t(0)).unwrap();
    }
    desk
}

/// An e-mail from customer `n`, not routed by the desk itself when its only agents are
/// away; the story routes it with [`Desk::route`].
fn mail(desk: &mut D, n: u32, at: DateTime<Utc>) -> ConversationId {
    let who = Identifier::email(&format!("customer{n}@example.com")).unwrap();
    let inbound = Inbound::new(
        tenant(),
        Channel::Email,
        who,
        format!("<m{n}@example.com>"),
        "Hello, I need help",
    );
    desk.ingest(inbound, at).unwrap().conversation
}

fn assignee(desk: &D, c: ConversationId) -> Option<AgentId> {
    desk.routing_state(tenant()).unwrap().assignment(c)
}

/// The conversations the inbox's queue view lists, in its order, and its count agrees.
fn queue_view(desk: &D, queue: &str) -> Vec<ConversationId> {
    let view = InboxView::Queue(queue.into());
    let page = desk.inbox(tenant(), &view, None, 50).unwrap();
    let ids: Vec<ConversationId> = page.conversations.iter().map(|c| c.id).collect();
    assert_eq!(desk.inbox_count(tenant(), &view).unwrap(), ids.len() as u64);
    ids
}

/// Routing with explicit requirements for stories that route by hand.
fn route(desk: &mut D, c: ConversationId, req: Requirements, at: DateTime<Utc>) {
    desk.route((tenant(), c), req, at).unwrap();
}

#[test]
fn overflow_hands_waiting_work_to_the_next_queues_agents() {
    let config = RoutingConfig::default()
        .escalate(EscalationStep::after(TimeDelta::minutes(5)).overflow_to("tier2"));
    let team = vec![
        Agent::new(ana(), tenant(), "Ana")
            .queue("tier1")
            .capacity(1),
        Agent::new(ben(), tenant(), "Ben").queue("tier2"),
    ];
    let mut desk = desk(config, team);
    let (first, second) = (mail(&mut desk, 1, t(1)), mail(&mut desk, 2, t(1)));
    for c in [first, second] {
        route(
            &mut desk,
            c,
            Requirements::new(Channel::Email).queue("tier1"),
            t(1),
        );
    }
    assert_eq!(assignee(&desk, first), Some(ana()));
    // Ben is free but serves tier 2 only: the second waits for Ana.
    let state = desk.routing_state(tenant()).unwrap();
    assert!(state.is_waiting(second), "{state:?}");
    assert_eq!(state.queue("tier1").len(), 1);
    assert_eq!(queue_view(&desk, "tier1"), vec![second]);
    let effects = desk.tick(t(6)).unwrap();
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, Effect::Escalated { step: 0, .. })),
        "{effects:?}"
    );
    assert_eq!(assignee(&desk, second), Some(ben()), "overflowed to tier 2");
    assert!(queue_view(&desk, "tier1").is_empty() && queue_view(&desk, "tier2").is_empty());
}

#[test]
fn a_queue_nobody_serves_is_named_in_the_decision() {
    let team = vec![Agent::new(ana(), tenant(), "Ana").queue("tier1")];
    let mut desk = desk(RoutingConfig::default(), team);
    let c = mail(&mut desk, 1, t(1));
    let (decision, _) = desk
        .route(
            (tenant(), c),
            Requirements::new(Channel::Email).queue("vip"),
            t(2),
        )
        .unwrap();
    assert_eq!(decision.agent, None);
    assert!(
        decision.unmatched.iter().any(|u| u == "queue vip"),
        "{decision:?}"
    );
}

/// Ana is busy with one conversation (capacity 1); X waits at low priority from minute
/// 1, Y at normal priority from minute 5. Returns the desk and (busy, X, Y).
fn two_waiting(config: RoutingConfig) -> (D, [ConversationId; 3]) {
    let team = vec![Agent::new(ana(), tenant(), "Ana").capacity(1)];
    let mut desk = desk(config, team);
    let busy = mail(&mut desk, 1, t(0));
    let x = mail(&mut desk, 2, t(1));
    let y = mail(&mut desk, 3, t(5));
    route(
        &mut desk,
        x,
        Requirements::new(Channel::Email).priority(Priority::Low),
        t(1),
    );
    route(
        &mut desk,
        y,
        Requirements::new(Channel::Email).priority(Priority::Normal),
        t(5),
    );
    assert_eq!(assignee(&desk, busy), Some(ana()));
    (desk, [busy, x, y])
}

#[test]
fn aging_raises_the_priority_of_work_that_waited() {
    let aging = RoutingConfig::default()
        .escalate(EscalationStep::after(TimeDelta::minutes(5)).raise_priority());
    let (mut desk, [busy, x, y]) = two_waiting(aging);
    // The queue view lists who waits longest first, whatever the priority.
    assert_eq!(queue_view(&desk, "default"), vec![x, y]);
    desk.tick(t(6)).unwrap(); // X waited 5 minutes: low → normal; Y has not yet
    let waiting = desk.routing_state(tenant()).unwrap();
    assert_eq!(waiting.waiting()[0].conversation, x, "X is first now");
    desk.set_status((tenant(), busy), Status::Solved, t(7))
        .unwrap();
    assert_eq!(assignee(&desk, x), Some(ana()), "the older work, aged");
    assert!(desk.routing_state(tenant()).unwrap().is_waiting(y));
    assert_eq!(queue_view(&desk, "default"), vec![y], "X left the queue");

    // Without aging the normal-priority Y goes first.
    let (mut desk, [busy, x, y]) = two_waiting(RoutingConfig::default());
    desk.tick(t(6)).unwrap();
    desk.set_status((tenant(), busy), Status::Solved, t(7))
        .unwrap();
    assert_eq!(assignee(&desk, y), Some(ana()));
    assert!(desk.routing_state(tenant()).unwrap().is_waiting(x));
}

#[test]
fn dropping_optional_skills_lets_more_agents_qualify() {
    let config = RoutingConfig::default()
        .escalate(EscalationStep::after(TimeDelta::minutes(2)).drop_optional_skills());
    // Ana takes web chats only, so the e-mail waits until it is routed as a chat.
    let team = vec![Agent::new(ana(), tenant(), "Ana")
        .skill("billing", 5)
        .channel(Channel::WebChat)];
    let mut desk = desk(config, team);
    let c = mail(&mut desk, 1, t(0));
    let req = Requirements::new(Channel::WebChat)
        .skill("billing", 3)
        .optional_skill("spanish", 5);
    let (decision, _) = desk.route((tenant(), c), req, t(1)).unwrap();
    assert_eq!(decision.agent, None, "nobody speaks Spanish: {decision:?}");
    // The step is due two minutes after the work started waiting (minute 0).
    assert!(desk.tick(t(1)).unwrap().is_empty(), "not yet");
    let effects = desk.tick(t(2)).unwrap();
    assert!(
        effects.iter().any(
            |e| matches!(e, Effect::Assigned { agent, conversation, .. } if *agent == ana() && *conversation == c)
        ),
        "{effects:?}"
    );
}

/// A customer whose earlier conversation Ben handled writes again (a new
/// conversation); Ana and Ben are both free and Ana wins ties. Who gets it?
fn returning_customer(config: RoutingConfig) -> AgentId {
    let team = vec![
        Agent::new(ana(), tenant(), "Ana"),
        Agent::new(ben(), tenant(), "Ben"),
    ];
    let mut desk = desk(config, team);
    let first = mail(&mut desk, 1, t(0));
    assert_eq!(assignee(&desk, first), Some(ana()), "Ana wins the tie");
    desk.assign((tenant(), first), ben(), ana(), t(1)).unwrap();
    desk.set_status((tenant(), first), Status::Solved, t(2))
        .unwrap();
    desk.set_status((tenant(), first), Status::Closed, t(2))
        .unwrap();
    let again = Inbound::new(
        tenant(),
        Channel::Email,
        Identifier::email("customer1@example.com").unwrap(),
        "<again@example.com>",
        "It broke again",
    );
    let got = desk.ingest(again, t(3)).unwrap();
    assert_ne!(got.conversation, first, "a new conversation");
    assignee(&desk, got.conversation).unwrap()
}

#[test]
fn sticky_routing_gives_a_returning_customer_their_last_agent() {
    assert_eq!(returning_customer(RoutingConfig::default()), ben());
    let plain = RoutingConfig::default().policy(SkillsMatch::default());
    assert_eq!(returning_customer(plain), ana(), "without stickiness");
}

/// Three new customers in a row with `policy`, Ana and Ben free: who gets each.
fn three_in_a_row(policy: impl RoutingPolicy + 'static) -> Vec<AgentId> {
    let team = vec![
        Agent::new(ana(), tenant(), "Ana"),
        Agent::new(ben(), tenant(), "Ben"),
    ];
    let mut desk = desk(RoutingConfig::default().policy(policy), team);
    (1..=3)
        .map(|n| {
            let c = mail(&mut desk, n, t(i64::from(n)));
            assignee(&desk, c).unwrap()
        })
        .collect()
}

#[test]
fn round_robin_takes_turns() {
    assert_eq!(three_in_a_row(RoundRobin), vec![ana(), ben(), ana()]);
}

#[test]
fn least_loaded_gives_work_to_whoever_holds_least() {
    // Ana takes two by hand first; the next goes to Ben, then they alternate on load.
    let team = vec![
        Agent::new(ana(), tenant(), "Ana").presence(Presence::Away),
        Agent::new(ben(), tenant(), "Ben").presence(Presence::Away),
    ];
    let mut desk = desk(RoutingConfig::default().policy(LeastLoaded), team);
    for n in 1..=2 {
        let c = mail(&mut desk, n, t(1));
        desk.assign((tenant(), c), ana(), ana(), t(1)).unwrap();
    }
    for a in [ana(), ben()] {
        desk.set_presence(tenant(), a, Presence::Available, t(2))
            .unwrap();
    }
    let picks: Vec<AgentId> = (3..=5)
        .map(|n| {
            let c = mail(&mut desk, n, t(i64::from(n)));
            assignee(&desk, c).unwrap()
        })
        .collect();
    // 2-0, then 2-1, then 2-2 and Ana wins the tie (round robin would have given the
    // second to Ana, who was assigned longest ago).
    assert_eq!(picks, vec![ben(), ben(), ana()]);
}
