//! Agents working a conversation by hand: assign, transfer, unassign, priority and
//! status, each recorded in the timeline with who did it, within capacity unless a
//! supervisor overrides it, and only with the tenant's own agents.

use chrono::{DateTime, TimeDelta, Utc};
use throughline::conversation::{ConversationEvent, Transfer};
use throughline::message::Direction;
use throughline::routing::{Agent, RoutingConfig};
use throughline::store::MemoryStore;
use throughline::{
    AgentId, Channel, ConversationId, Desk, DeskConfig, Effect, Error, Identifier, Inbound,
    Priority, Status, TenantId,
};

fn t(minutes: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_772_442_000, 0).unwrap() + TimeDelta::minutes(minutes)
}

struct Team {
    desk: Desk<MemoryStore>,
    tenant: TenantId,
    ana: AgentId,
    bo: AgentId,
    lead: AgentId,
}

fn team() -> Team {
    let tenant = TenantId::new_v7();
    let config = DeskConfig::default().routing(RoutingConfig::default());
    let mut desk = Desk::new(MemoryStore::new(), config);
    let (ana, bo, lead) = (AgentId::new_v7(), AgentId::new_v7(), AgentId::new_v7());
    // Ana takes one chat at a time; the lead is away (not offered work).
    desk.upsert_agent(Agent::new(ana, tenant, "Ana").capacity(1), t(0))
        .unwrap();
    desk.upsert_agent(Agent::new(bo, tenant, "Bo").capacity(2), t(0))
        .unwrap();
    desk.upsert_agent(
        Agent::new(lead, tenant, "Lead").presence(throughline::routing::Presence::Away),
        t(0),
    )
    .unwrap();
    Team {
        desk,
        tenant,
        ana,
        bo,
        lead,
    }
}

fn chat(team: &mut Team, who: &str, at: i64) -> ConversationId {
    let from = Identifier::email(&format!("{who}@example.com")).unwrap();
    let msg = Inbound::new(
        team.tenant,
        Channel::WebChat,
        from,
        format!("chat-{who}"),
        "Help please",
    );
    team.desk.ingest(msg, t(at)).unwrap().conversation
}

fn events(team: &Team, conv: ConversationId) -> Vec<ConversationEvent> {
    team.desk
        .messages((team.tenant, conv))
        .unwrap()
        .into_iter()
        .filter(|m| m.direction == Direction::Event)
        .map(|m| m.event.expect("an event message carries its event"))
        .collect()
}

#[test]
fn assignments_by_hand_respect_capacity_unless_a_supervisor_overrides() {
    let mut team = team();
    let (tenant, ana, bo, lead) = (team.tenant, team.ana, team.bo, team.lead);
    let first = chat(&mut team, "carla", 0);
    let second = chat(&mut team, "dirk", 1);
    let router = team.desk.router().unwrap();
    let (a1, a2) = (
        router.assignment(tenant, first).unwrap(),
        router.assignment(tenant, second).unwrap(),
    );
    assert_ne!(a1, a2, "routing spread the two chats");

    // The lead gives Ana's chat to Bo: Ana's capacity comes back.
    let (anas, other) = if a1 == ana {
        (first, second)
    } else {
        (second, first)
    };
    let effects = team.desk.assign((tenant, anas), bo, lead, t(2)).unwrap();
    assert!(matches!(&effects[0], Effect::Assigned { agent, .. } if *agent == bo));
    assert_eq!(
        team.desk.conversation((tenant, anas)).unwrap().assignee,
        Some(bo)
    );
    let router = team.desk.router().unwrap();
    assert_eq!(router.load(tenant, ana), Some(0));
    assert_eq!(router.load(tenant, bo), Some(2));
    assert_eq!(
        events(&team, anas),
        [ConversationEvent::Assigned {
            agent: bo,
            by: lead,
            over_capacity: false
        }]
    );

    // Bo is full: a third chat cannot be given to him by hand ...
    let third = chat(&mut team, "eva", 3);
    assert_eq!(
        team.desk.router().unwrap().assignment(tenant, third),
        Some(ana)
    );
    let err = team
        .desk
        .assign((tenant, third), bo, ana, t(4))
        .unwrap_err();
    assert!(
        matches!(&err, Error::Invalid { reason, .. } if reason.contains("at capacity")),
        "{err}"
    );
    assert_eq!(
        team.desk.conversation((tenant, third)).unwrap().assignee,
        Some(ana)
    );
    assert!(
        events(&team, third).is_empty(),
        "a refused operation records nothing"
    );
    // ... unless the lead overrides it, which the timeline says.
    team.desk
        .assign_over_capacity((tenant, third), bo, lead, t(5))
        .unwrap();
    assert_eq!(team.desk.router().unwrap().load(tenant, bo), Some(3));
    assert_eq!(
        events(&team, third),
        [ConversationEvent::Assigned {
            agent: bo,
            by: lead,
            over_capacity: true
        }]
    );
    assert_eq!(
        team.desk.conversation((tenant, other)).unwrap().assignee,
        Some(bo)
    );
}

#[test]
fn transfer_unassign_priority_and_status_are_recorded_with_their_actor() {
    let mut team = team();
    let (tenant, ana, bo, lead) = (team.tenant, team.ana, team.bo, team.lead);
    let conv = chat(&mut team, "carla", 0);
    let first = team
        .desk
        .conversation((tenant, conv))
        .unwrap()
        .assignee
        .unwrap();
    let to = if first == ana { bo } else { ana };

    team.desk
        .transfer(
            (tenant, conv),
            Transfer::Agent(to),
            "She wants a refund on order 1042",
            first,
            t(1),
        )
        .unwrap();
    assert_eq!(
        team.desk.conversation((tenant, conv)).unwrap().assignee,
        Some(to)
    );
    let err = team
        .desk
        .transfer((tenant, conv), Transfer::Queue("vip".into()), " ", to, t(2))
        .unwrap_err();
    assert!(err.to_string().contains("note"), "{err}");

    team.desk
        .set_priority((tenant, conv), Priority::Urgent, to, t(3))
        .unwrap();
    assert_eq!(
        team.desk.conversation((tenant, conv)).unwrap().priority,
        Priority::Urgent
    );
    team.desk.unassign((tenant, conv), lead, t(4)).unwrap();
    assert_eq!(
        team.desk.conversation((tenant, conv)).unwrap().assignee,
        None
    );
    assert!(
        team.desk.router().unwrap().is_waiting(tenant, conv),
        "back in its queue"
    );
    assert_eq!(team.desk.router().unwrap().load(tenant, to), Some(0));

    team.desk
        .set_status_as((tenant, conv), Status::Solved, lead, t(5))
        .unwrap();
    let got = events(&team, conv);
    assert_eq!(got.len(), 4, "{got:?}");
    assert!(
        matches!(&got[0], ConversationEvent::Transferred { from: Some(f), to: Transfer::Agent(a), note, by }
        if *f == first && *a == to && note == "She wants a refund on order 1042" && *by == first)
    );
    assert_eq!(
        got[1],
        ConversationEvent::PriorityChanged {
            from: Priority::Normal,
            to: Priority::Urgent,
            by: to
        }
    );
    assert_eq!(
        got[2],
        ConversationEvent::Unassigned {
            agent: to,
            by: lead
        }
    );
    assert!(
        matches!(got[3], ConversationEvent::StatusChanged { to: Status::Solved, by, .. } if by == lead)
    );
    // Every event is in the customer's timeline too, with its text.
    let customer = team.desk.conversation((tenant, conv)).unwrap().customer;
    let timeline = team.desk.timeline(tenant, customer).unwrap();
    assert_eq!(
        timeline
            .iter()
            .filter(|m| m.direction == Direction::Event)
            .count(),
        4
    );
    assert!(timeline
        .iter()
        .any(|m| m.body.contains("Transferred to agent")));

    // Closed: no more operations.
    team.desk
        .set_status((tenant, conv), Status::Closed, t(6))
        .unwrap();
    let err = team
        .desk
        .set_priority((tenant, conv), Priority::Low, lead, t(7))
        .unwrap_err();
    assert!(matches!(err, Error::ConversationClosed(_)), "{err}");
}

#[test]
fn operations_see_only_their_tenant() {
    let mut team = team();
    let (tenant, ana, lead) = (team.tenant, team.ana, team.lead);
    let conv = chat(&mut team, "carla", 0);
    let other = TenantId::new_v7();
    let zed = AgentId::new_v7();
    team.desk
        .upsert_agent(Agent::new(zed, other, "Zed"), t(0))
        .unwrap();

    let not_found = |r: throughline::Result<()>| matches!(r, Err(Error::NotFound { .. }));
    // Another tenant's agent, named as assignee, actor or reply author.
    assert!(not_found(
        team.desk.assign((tenant, conv), zed, lead, t(1)).map(drop)
    ));
    assert!(not_found(
        team.desk.assign((tenant, conv), ana, zed, t(1)).map(drop)
    ));
    assert!(not_found(
        team.desk
            .transfer((tenant, conv), Transfer::Agent(zed), "x", lead, t(1))
            .map(drop)
    ));
    assert!(not_found(
        team.desk.unassign((tenant, conv), zed, t(1)).map(drop)
    ));
    assert!(not_found(team.desk.set_priority(
        (tenant, conv),
        Priority::High,
        zed,
        t(1)
    )));
    assert!(not_found(
        team.desk
            .set_status_as((tenant, conv), Status::Pending, zed, t(1))
            .map(drop)
    ));
    assert!(not_found(
        team.desk
            .reply((tenant, conv), zed, "hello", t(1))
            .map(drop)
    ));
    // This tenant's agents on another tenant's ids.
    assert!(not_found(
        team.desk.assign((other, conv), zed, zed, t(1)).map(drop)
    ));
    assert!(not_found(team.desk.set_priority(
        (other, conv),
        Priority::High,
        zed,
        t(1)
    )));
    assert!(events(&team, conv).is_empty());
    assert!(team.desk.reply((tenant, conv), ana, "hello", t(2)).is_ok());
}

/// Work waiting for an agent whose shift has not started: `next_wakeup` names the start
/// of her shift, and the tick then hands her the work.
#[test]
fn a_shift_start_is_a_wakeup() {
    use chrono::NaiveTime;
    use throughline::routing::Shift;
    let tenant = TenantId::new_v7();
    let config = DeskConfig::pass_through().routing(RoutingConfig::default());
    let mut desk = Desk::new(MemoryStore::new(), config);
    let ana = AgentId::new_v7();
    let nine = NaiveTime::from_hms_opt(9, 0, 0).unwrap();
    let five = NaiveTime::from_hms_opt(17, 0, 0).unwrap();
    let shift = Shift::weekdays("Europe/Amsterdam", nine, five).unwrap();
    // 2026-03-02 is a Monday; 07:00 UTC is 08:00 in Amsterdam, an hour before her shift.
    let early = DateTime::parse_from_rfc3339("2026-03-02T07:00:00Z")
        .unwrap()
        .to_utc();
    desk.upsert_agent(Agent::new(ana, tenant, "Ana").shift(shift), early)
        .unwrap();
    let from = Identifier::email("carla@example.com").unwrap();
    let got = desk
        .ingest(
            Inbound::new(tenant, Channel::WebChat, from, "c1", "Hello?"),
            early,
        )
        .unwrap();
    assert_eq!(
        desk.conversation((tenant, got.conversation))
            .unwrap()
            .assignee,
        None
    );
    let start = DateTime::parse_from_rfc3339("2026-03-02T08:00:00Z")
        .unwrap()
        .to_utc();
    assert_eq!(desk.next_wakeup().unwrap(), Some(start));
    assert!(desk.tick(start - TimeDelta::seconds(1)).unwrap().is_empty());
    let effects = desk.tick(start).unwrap();
    assert!(
        matches!(&effects[..], [Effect::Assigned { agent, .. }] if *agent == ana),
        "{effects:?}"
    );
    // Nothing waits now: the next shift start is no reason to wake up.
    assert_eq!(desk.next_wakeup().unwrap(), None);
}

/// A solved conversation is no routing work: assigning or unassigning it by hand
/// changes its assignee, not anyone's capacity or a queue.
#[test]
fn operations_on_a_solved_conversation_leave_routing_alone() {
    let mut team = team();
    let (tenant, ana, lead) = (team.tenant, team.ana, team.lead);
    let conv = chat(&mut team, "carla", 0);
    let holder = team
        .desk
        .conversation((tenant, conv))
        .unwrap()
        .assignee
        .unwrap();
    team.desk
        .set_status((tenant, conv), Status::Solved, t(1))
        .unwrap();
    let router = team.desk.router().unwrap();
    assert_eq!(router.load(tenant, holder), Some(0));
    team.desk.unassign((tenant, conv), lead, t(2)).unwrap();
    assert!(!team.desk.router().unwrap().is_waiting(tenant, conv));
    team.desk.assign((tenant, conv), ana, lead, t(3)).unwrap();
    assert_eq!(team.desk.router().unwrap().load(tenant, ana), Some(0));
    // Ana's one unit is still free for the next chat.
    let next = chat(&mut team, "dirk", 4);
    assert!(team
        .desk
        .router()
        .unwrap()
        .assignment(tenant, next)
        .is_some());
}
