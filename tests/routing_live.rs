//! Live and asynchronous work through the Desk: a chat goes to the agent on chat before a
//! freer generalist; an e-mail goes to the e-mail agent while the chat agent is free; when
//! the preferred agents are full the work overflows to the others; a tenant's channel
//! profiles decide what is live; every decision says so in its explanation.

use chrono::{DateTime, TimeDelta, Utc};
use throughline::routing::{Agent, RoutingConfig};
use throughline::settings::{TenantChannels, TenantSettings};
use throughline::store::MemoryStore;
use throughline::{
    AgentId, Channel, ChannelProfile, ConversationId, Desk, DeskConfig, Effect, Identifier,
    Inbound, TenantId,
};

type D = Desk<MemoryStore>;

fn t(mins: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_772_442_000, 0).unwrap() + TimeDelta::minutes(mins)
}

fn tenant() -> TenantId {
    "01900000-0000-7000-8000-00000000c1a1".parse().unwrap()
}

fn other_tenant() -> TenantId {
    "01900000-0000-7000-8000-00000000c1a2".parse().unwrap()
}

/// Agents by name; ids in the order given, so without the preference the first of
/// equally scored agents wins.
fn id(n: u128) -> AgentId {
    AgentId::from_uuid(uuid::Uuid::from_u128(0xa0 + n))
}

fn desk(team: Vec<Agent>) -> D {
    let mut desk = Desk::new(
        MemoryStore::new(),
        DeskConfig::default()
            .id_seed(7)
            .routing(RoutingConfig::default()),
    );
    for a in team {
        desk.upsert_agent(a, t(0)).unwrap();
    }
    desk
}

/// A new customer `n` writes on `channel`; who the desk assigned, and why.
fn contact(desk: &mut D, at: TenantId, channel: Channel, n: u32) -> (Option<AgentId>, String) {
    let who = match channel {
        Channel::Sms => Identifier::phone(&format!("+3161234{n:04}"), None).unwrap(),
        _ => Identifier::email(&format!("customer{n}@example.com")).unwrap(),
    };
    let inbound = Inbound::new(at, channel, who, format!("m-{n}"), "Hello, I need help");
    let got = desk.ingest(inbound, t(i64::from(n))).unwrap();
    let why = got.effects.iter().find_map(|e| match e {
        Effect::Assigned { explanation, .. } | Effect::Queued { explanation, .. } => {
            Some(explanation.clone())
        }
        _ => None,
    });
    let assignee = assignee(desk, at, got.conversation);
    (assignee, why.unwrap_or_default())
}

fn assignee(desk: &D, at: TenantId, c: ConversationId) -> Option<AgentId> {
    desk.routing_state(at).unwrap().assignment(c)
}

#[test]
fn a_chat_goes_to_the_chat_agent_though_a_generalist_is_freer() {
    // Gus works every channel and has the smaller id; Cleo works chat.
    let team = vec![
        Agent::new(id(1), tenant(), "Gus"),
        Agent::new(id(2), tenant(), "Cleo").channel(Channel::WebChat),
    ];
    let mut desk = desk(team);
    let (first, why) = contact(&mut desk, tenant(), Channel::WebChat, 1);
    assert_eq!(first, Some(id(2)), "{why}");
    assert!(
        why.contains(
            "live work goes first to agents on a live channel: the winner is on a live channel"
        ),
        "{why}"
    );
    // Cleo holds a chat, Gus none and has waited longer: the chat is still Cleo's.
    let (second, why) = contact(&mut desk, tenant(), Channel::WebChat, 2);
    assert_eq!(second, Some(id(2)), "{why}");
}

#[test]
fn an_email_goes_to_the_email_agent_while_the_chat_agent_is_free() {
    // Cleo works chat and e-mail, Gus everything, Eve e-mail only (the largest id).
    let team = vec![
        Agent::new(id(1), tenant(), "Cleo")
            .channel(Channel::WebChat)
            .channel(Channel::Email),
        Agent::new(id(2), tenant(), "Gus").capacity(1),
        Agent::new(id(3), tenant(), "Eve")
            .channel(Channel::Email)
            .capacity(2),
    ];
    let mut desk = desk(team);
    let got: Vec<(Option<AgentId>, String)> = (1..=4)
        .map(|n| contact(&mut desk, tenant(), Channel::Email, n))
        .collect();
    let who: Vec<Option<AgentId>> = got.iter().map(|g| g.0).collect();
    // Eve until she is full, then Gus (every channel), then Cleo as the overflow.
    assert_eq!(
        who,
        vec![Some(id(3)), Some(id(3)), Some(id(2)), Some(id(1))]
    );
    assert!(
        got[0].1.contains(
            "asynchronous work goes first to agents on asynchronous channels only: the winner \
             is on asynchronous channels only"
        ),
        "{}",
        got[0].1
    );
    assert!(
        got[3]
            .1
            .contains("the winner is on a live channel (overflow: nobody better suited"),
        "{}",
        got[3].1
    );
    // Cleo still takes a chat: her spare capacity was kept for it.
    let (chat, why) = contact(&mut desk, tenant(), Channel::WebChat, 5);
    assert_eq!(chat, Some(id(1)), "{why}");
}

#[test]
fn chats_overflow_to_generalists_when_the_chat_agents_are_full() {
    let team = vec![
        Agent::new(id(1), tenant(), "Gus"),
        Agent::new(id(2), tenant(), "Cleo")
            .channel(Channel::WebChat)
            .capacity(1),
    ];
    let mut desk = desk(team);
    assert_eq!(
        contact(&mut desk, tenant(), Channel::WebChat, 1).0,
        Some(id(2))
    );
    let (second, why) = contact(&mut desk, tenant(), Channel::WebChat, 2);
    assert_eq!(second, Some(id(1)), "never unroutable: {why}");
    assert!(
        why.contains("the winner is on every channel (overflow"),
        "{why}"
    );
}

#[test]
fn a_tenants_channel_profiles_decide_what_is_live() {
    // Mia works SMS and e-mail and has the smaller id; Eve e-mail only. SMS is
    // asynchronous by default, so both suit an e-mail equally and Mia wins the tie.
    let mut team = Vec::new();
    for at in [tenant(), other_tenant()] {
        team.push(
            Agent::new(agent_of(at, 1), at, "Mia")
                .channel(Channel::Sms)
                .channel(Channel::Email),
        );
        team.push(Agent::new(agent_of(at, 2), at, "Eve").channel(Channel::Email));
    }
    let mut desk = desk(team);
    // The tenant's SMS is a live conversation (its customers text and wait).
    let live_sms = ChannelProfile {
        live: true,
        ..Channel::Sms.profile()
    };
    let mut settings = TenantSettings::default();
    settings.channels = Some(TenantChannels {
        profiles: vec![(Channel::Sms, live_sms)],
        ..TenantChannels::default()
    });
    desk.set_tenant_settings(tenant(), settings, "admin", t(0))
        .unwrap();
    let (mail, why) = contact(&mut desk, tenant(), Channel::Email, 1);
    assert_eq!(
        mail,
        Some(agent_of(tenant(), 2)),
        "Mia is kept for SMS: {why}"
    );
    let (text, why) = contact(&mut desk, tenant(), Channel::Sms, 2);
    assert_eq!(text, Some(agent_of(tenant(), 1)), "{why}");
    assert!(why.contains("live work goes first"), "{why}");
    // The other tenant keeps the default profiles: Mia wins the tie.
    let (mail, why) = contact(&mut desk, other_tenant(), Channel::Email, 3);
    assert_eq!(mail, Some(agent_of(other_tenant(), 1)), "{why}");
}

fn agent_of(at: TenantId, n: u128) -> AgentId {
    let base = if at == tenant() { 0xb0 } else { 0xc0 };
    AgentId::from_uuid(uuid::Uuid::from_u128(base + n))
}
