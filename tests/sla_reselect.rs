//! A conversation's SLA policy is selected again when an agent changes its priority or
//! tags, not only at the customer's next message: running clocks take the new target
//! from the change, keeping what they counted. A deadline already due is left for the
//! tick to report first.

use chrono::{DateTime, TimeDelta, Utc};
use throughline::sla::{Basis, Metric, SlaPolicies, SlaPolicy};
use throughline::store::MemoryStore;
use throughline::{
    AgentId, Channel, ConversationId, Desk, DeskConfig, Effect, Identifier, Inbound, Priority,
    TenantId,
};

fn t(mins: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_772_442_000, 0).unwrap() + TimeDelta::minutes(mins)
}

fn tenant() -> TenantId {
    "01900000-0000-7000-8000-00000000a5e1".parse().unwrap()
}

fn agent() -> AgentId {
    AgentId::from_uuid(uuid::Uuid::from_u128(0xa9e0_0001))
}

/// VIP conversations: first reply within 30 minutes; urgent ones within an hour; the
/// rest within 4 hours.
fn policies() -> SlaPolicies {
    let hours = |h| TimeDelta::hours(h);
    SlaPolicies::new()
        .policy(SlaPolicy::new("gold").attribute("plan", "gold").target_all(
            Metric::FirstReply,
            TimeDelta::minutes(45),
            Basis::Calendar,
        ))
        .policy(SlaPolicy::new("vip").tag("vip").target_all(
            Metric::FirstReply,
            TimeDelta::minutes(30),
            Basis::Calendar,
        ))
        .policy(
            SlaPolicy::new("urgent")
                .priorities(&[Priority::Urgent])
                .target_all(Metric::FirstReply, hours(1), Basis::Calendar),
        )
        .policy(SlaPolicy::new("standard").target_all(
            Metric::FirstReply,
            hours(4),
            Basis::Calendar,
        ))
        .build()
        .unwrap()
}

fn desk_with_mail() -> (Desk<MemoryStore>, ConversationId) {
    let config = DeskConfig {
        sla: std::sync::Arc::new(policies()),
        ..DeskConfig::default()
    };
    let mut desk = Desk::new(MemoryStore::new(), config);
    let mail = Inbound::new(
        tenant(),
        Channel::Email,
        Identifier::email("ana@example.com").unwrap(),
        "<m1@x>",
        "My order did not arrive",
    );
    let conv = desk.ingest(mail, t(0)).unwrap().conversation;
    (desk, conv)
}

fn first_reply(
    desk: &Desk<MemoryStore>,
    conv: ConversationId,
) -> (Option<String>, Option<DateTime<Utc>>) {
    let clocks = desk.sla_clocks((tenant(), conv)).unwrap().unwrap();
    let deadline = clocks
        .clocks
        .iter()
        .find(|c| c.metric == Metric::FirstReply)
        .and_then(|c| c.deadline);
    (clocks.policy, deadline)
}

#[test]
fn tagging_a_conversation_vip_shortens_its_running_target() {
    let (mut desk, conv) = desk_with_mail();
    assert_eq!(
        first_reply(&desk, conv),
        (Some("standard".into()), Some(t(240)))
    );
    desk.tag((tenant(), conv), "vip", t(10)).unwrap();
    // Ten minutes counted, twenty left of the VIP target.
    assert_eq!(first_reply(&desk, conv), (Some("vip".into()), Some(t(30))));
    assert_eq!(
        desk.next_wakeup().unwrap(),
        Some(t(0) + TimeDelta::seconds(22 * 60 + 30))
    );
    desk.untag((tenant(), conv), "vip", t(15)).unwrap();
    assert_eq!(
        first_reply(&desk, conv),
        (Some("standard".into()), Some(t(240)))
    );
}

#[test]
fn an_agent_raising_the_priority_selects_the_urgent_policy() {
    let (mut desk, conv) = desk_with_mail();
    desk.set_priority((tenant(), conv), Priority::Urgent, agent(), t(10))
        .unwrap();
    assert_eq!(
        first_reply(&desk, conv),
        (Some("urgent".into()), Some(t(60)))
    );
}

#[test]
fn a_deadline_already_due_is_reported_by_the_tick_before_any_reselection() {
    let (mut desk, conv) = desk_with_mail();
    // Five hours later the 4-hour target has passed, unreported.
    desk.tag((tenant(), conv), "vip", t(300)).unwrap();
    assert_eq!(
        first_reply(&desk, conv),
        (Some("standard".into()), Some(t(240)))
    );
    let effects = desk.tick(t(301)).unwrap();
    assert!(
        effects.iter().any(|e| matches!(e,
            Effect::SlaBreached { deadline, .. } if *deadline == t(240))),
        "{effects:?}"
    );
}

#[test]
fn a_customer_upgraded_to_gold_gets_the_gold_target_at_once() {
    let (mut desk, conv) = desk_with_mail();
    let customer = desk.conversation((tenant(), conv)).unwrap().customer;
    let gold = throughline::ProfileUpdate::default().attribute("plan", "gold");
    desk.update_profile(tenant(), customer, gold, t(10))
        .unwrap();
    assert_eq!(first_reply(&desk, conv), (Some("gold".into()), Some(t(45))));
}
