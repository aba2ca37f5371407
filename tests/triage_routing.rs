//! Triage and routing stories.

use chrono::{DateTime, TimeDelta, Utc};
use throughline::conversation::Priority;
use throughline::routing::{Agent, EscalationStep, Presence, RoutingConfig};
use throughline::store::MemoryStore;
use throughline::triage::{
    Accept, Disposition, Flow, Intent, IntentCatalogue, TriageConfig, Value,
};
use throughline::{
    AgentId, Channel, Desk, DeskConfig, Effect, Identifier, Inbound, Status, TenantId,
};

fn t(mins: i64) -> DateTime<Utc> {
    // A Monday, 10:00 in Amsterdam.
    DateTime::from_timestamp(1_772_442_000, 0).unwrap() + TimeDelta::minutes(mins)
}

fn tenant() -> TenantId {
    "01900000-0000-7000-8000-00000000a0a0".parse().unwrap()
}

fn agent_id(n: u128) -> AgentId {
    AgentId::from_uuid(uuid::Uuid::from_u128(
        0x0190_0000_0000_7000_8000_0000_0000_a000 + n,
    ))
}

fn catalogue() -> IntentCatalogue {
    IntentCatalogue::new()
        .with(
            Intent::new("refund", Value::High, Value::High)
                .cost(12.0)
                .skill("billing", 5)
                .phrases("en", &["refund", "money back"])
                .phrases("nl", &["geld terug", "terugbetaling"])
                .phrases("de", &["geld zurück", "rückerstattung"]),
        )
        .unwrap()
        .with(
            Intent::new("order_status", Value::High, Value::Low)
                .cost(4.0)
                .article("kb/where-is-my-order")
                .article("kb/tracking")
                .phrases("en", &["where is my order", "tracking number"])
                .phrases(
                    "nl",
                    &["waar is mijn pakket", "waar blijft mijn bestelling"],
                ),
        )
        .unwrap()
        .with(
            Intent::new("return_label", Value::Low, Value::High)
                .cost(6.0)
                .skill("logistics", 3)
                .phrases("en", &["return label", "send it back"])
                .field(
                    "order",
                    "What is your order number?",
                    Accept::Digits { min: 4, max: 12 },
                ),
        )
        .unwrap()
        .with(
            Intent::new("complaint", Value::High, Value::High)
                .cost(20.0)
                .skill("care", 3)
                .phrases("en", &["complaint", "unacceptable", "very disappointed"]),
        )
        .unwrap()
}

fn desk(routing: RoutingConfig) -> Desk<MemoryStore> {
    Desk::new(
        MemoryStore::new(),
        DeskConfig::default()
            .triage(TriageConfig::new(catalogue()))
            .routing(routing),
    )
}

fn assigned(effects: &[Effect]) -> Option<AgentId> {
    effects.iter().find_map(|e| match e {
        Effect::Assigned { agent, .. } => Some(*agent),
        _ => None,
    })
}

#[test]
fn a_dutch_refund_question_reaches_the_dutch_billing_agent_with_spare_chat_capacity() {
    let mut desk = desk(RoutingConfig::default());
    let english = Agent::new(agent_id(1), tenant(), "Emma")
        .skill("billing", 9)
        .language("en")
        .channel(Channel::WebChat);
    let full = Agent::new(agent_id(2), tenant(), "Daan")
        .skill("billing", 9)
        .language("nl")
        .channel(Channel::WebChat)
        .capacity(1);
    let sanne = Agent::new(agent_id(3), tenant(), "Sanne")
        .skill("billing", 6)
        .language("nl")
        .channel(Channel::WebChat)
        .capacity(5);
    for a in [english, full, sanne] {
        desk.upsert_agent(a, t(0)).unwrap();
    }
    // Daan is busy with another chat: his one unit is used.
    let first = desk
        .ingest(
            Inbound::new(
                tenant(),
                Channel::WebChat,
                Identifier::email("first@example.nl").unwrap(),
                "c-0",
                "Ik wil mijn geld terug voor bestelling 77",
            ),
            t(1),
        )
        .unwrap();
    assert_eq!(
        assigned(&first.effects),
        Some(agent_id(2)),
        "Daan's level 9 wins while he has room"
    );
    let got = desk
        .ingest(
            Inbound::new(
                tenant(),
                Channel::WebChat,
                Identifier::email("ana@example.nl").unwrap(),
                "c-1",
                "Hallo, ik wil graag mijn geld terug voor de schoenen",
            )
            .locale("nl"),
            t(3),
        )
        .unwrap();
    let outcome = desk
        .triage_of((tenant(), got.conversation))
        .unwrap()
        .unwrap();
    assert_eq!(outcome.intent.as_deref(), Some("refund"));
    assert_eq!(outcome.disposition, Some(Disposition::Leverage));
    let agent = assigned(&got.effects).expect("assigned");
    assert_eq!(
        agent,
        agent_id(3),
        "not the English agent, not the full one: Sanne"
    );
    let load_of = |a| desk.router().unwrap().load(tenant(), a).unwrap();
    assert!(
        load_of(agent)
            <= desk
                .router()
                .unwrap()
                .agent(tenant(), agent)
                .unwrap()
                .capacity
    );
    let explanation = got.effects.iter().find_map(|e| match e {
        Effect::Assigned { explanation, .. } => Some(explanation.clone()),
        _ => None,
    });
    assert!(
        explanation.unwrap().contains("skill level"),
        "the decision explains its scores"
    );
    assert_eq!(
        desk.assignment_of((tenant(), got.conversation)).unwrap(),
        Some(agent)
    );
}

#[test]
fn an_order_status_question_gets_self_service_articles_and_no_agent() {
    let mut desk = desk(RoutingConfig::default());
    desk.upsert_agent(
        Agent::new(agent_id(1), tenant(), "Emma").language("en"),
        t(0),
    )
    .unwrap();
    let got = desk
        .ingest(
            Inbound::new(
                tenant(),
                Channel::Email,
                Identifier::email("bo@example.com").unwrap(),
                "<o1@x>",
                "Hi, where is my order? It has been a week.",
            ),
            t(1),
        )
        .unwrap();
    let outcome = desk
        .triage_of((tenant(), got.conversation))
        .unwrap()
        .unwrap();
    assert_eq!(outcome.disposition, Some(Disposition::SelfService));
    assert!(!outcome.needs_human);
    assert!(assigned(&got.effects).is_none(), "no agent");
    let sent = got.effects.iter().find_map(|e| match e {
        Effect::Send(out) => Some(out.body.clone()),
        _ => None,
    });
    assert!(sent.unwrap().contains("kb/where-is-my-order"));
    assert_eq!(
        desk.conversation((tenant(), got.conversation))
            .unwrap()
            .status,
        Status::Pending
    );
    // Bot messages never count as human replies.
    let report = desk
        .report(
            tenant(),
            &throughline::metrics::Filter::period(t(-1), t(100)),
        )
        .unwrap();
    assert_eq!(report.first_reply.count, 0);
    // The customer insists: handed over, with history, and routed.
    let again = desk
        .ingest(
            Inbound::new(
                tenant(),
                Channel::Email,
                Identifier::email("bo@example.com").unwrap(),
                "<o2@x>",
                "That did not help, I need a person",
            ),
            t(30),
        )
        .unwrap();
    let handed = again.effects.iter().find_map(|e| match e {
        Effect::HandedOver { history, .. } => Some(history.len()),
        _ => None,
    });
    assert_eq!(
        handed,
        Some(3),
        "the question, the bot's articles and the new message"
    );
    assert_eq!(assigned(&again.effects), Some(agent_id(1)));
}

#[test]
fn a_bot_collects_the_order_number_and_hands_over_with_history() {
    let mut desk = desk(RoutingConfig::default());
    desk.upsert_agent(
        Agent::new(agent_id(5), tenant(), "Lars").skill("logistics", 5),
        t(0),
    )
    .unwrap();
    let who = Identifier::whatsapp("+31612345678", None).unwrap();
    let got = desk
        .ingest(
            Inbound::new(
                tenant(),
                Channel::WhatsApp,
                who.clone(),
                "w-1",
                "I need a return label please",
            ),
            t(0),
        )
        .unwrap();
    let outcome = desk
        .triage_of((tenant(), got.conversation))
        .unwrap()
        .unwrap();
    assert_eq!(outcome.disposition, Some(Disposition::Automate));
    assert!(matches!(outcome.flow, Flow::Collecting { field: 0, .. }));
    assert!(assigned(&got.effects).is_none());
    let unclear = desk
        .ingest(
            Inbound::new(
                tenant(),
                Channel::WhatsApp,
                who.clone(),
                "w-2",
                "it's the blue one",
            ),
            t(1),
        )
        .unwrap();
    assert!(unclear
        .effects
        .iter()
        .any(|e| matches!(e, Effect::Send(o) if o.body.contains("did not get that"))));
    let done = desk
        .ingest(
            Inbound::new(
                tenant(),
                Channel::WhatsApp,
                who,
                "w-3",
                "Order 104233, thanks",
            ),
            t(2),
        )
        .unwrap();
    let (collected, history) = done
        .effects
        .iter()
        .find_map(|e| match e {
            Effect::HandedOver {
                collected, history, ..
            } => Some((collected.clone(), history.clone())),
            _ => None,
        })
        .expect("handed over");
    assert_eq!(collected.get("order").map(String::as_str), Some("104233"));
    assert_eq!(
        history.len(),
        5,
        "three customer messages and two bot questions"
    );
    assert_eq!(assigned(&done.effects), Some(agent_id(5)));
    let outcome = desk
        .triage_of((tenant(), got.conversation))
        .unwrap()
        .unwrap();
    assert!(outcome.needs_human && !outcome.absorbed());
}

#[test]
fn a_complaint_from_a_vip_jumps_the_queue() {
    let mut desk = desk(RoutingConfig::default());
    desk.upsert_agent(
        Agent::new(agent_id(7), tenant(), "Noor")
            .skill("care", 5)
            .capacity(1),
        t(0),
    )
    .unwrap();
    let busy = desk
        .ingest(
            Inbound::new(
                tenant(),
                Channel::Email,
                Identifier::email("a@example.com").unwrap(),
                "<c1@x>",
                "This is unacceptable, a complaint",
            ),
            t(0),
        )
        .unwrap();
    assert_eq!(assigned(&busy.effects), Some(agent_id(7)));
    let normal = desk
        .ingest(
            Inbound::new(
                tenant(),
                Channel::Email,
                Identifier::email("b@example.com").unwrap(),
                "<c2@x>",
                "I want to file a complaint",
            ),
            t(1),
        )
        .unwrap();
    // The VIP writes later.
    let vip_ident = Identifier::email("vip@example.com").unwrap();
    let first = desk
        .ingest(
            Inbound::new(
                tenant(),
                Channel::Sms,
                Identifier::phone("+31611122233", None).unwrap(),
                "s-0",
                "hello",
            ),
            t(2),
        )
        .unwrap();
    desk.link_identifier(tenant(), first.customer, vip_ident.clone(), true, t(2))
        .unwrap();
    desk.update_profile(
        tenant(),
        first.customer,
        throughline::ProfileUpdate::default().attribute("vip", serde_json::json!(true)),
        t(2),
    )
    .unwrap();
    desk.set_status((tenant(), first.conversation), Status::Solved, t(2))
        .unwrap();
    desk.set_status((tenant(), first.conversation), Status::Closed, t(2))
        .unwrap();
    let vip = desk
        .ingest(
            Inbound::new(
                tenant(),
                Channel::Email,
                vip_ident,
                "<c3@x>",
                "Very disappointed, this is a complaint",
            ),
            t(3),
        )
        .unwrap();
    let p_vip = desk
        .conversation((tenant(), vip.conversation))
        .unwrap()
        .priority;
    let p_normal = desk
        .conversation((tenant(), normal.conversation))
        .unwrap()
        .priority;
    assert!(p_vip > p_normal, "{p_vip:?} > {p_normal:?}");
    assert_eq!(p_normal, Priority::High);
    // Capacity frees: the VIP, who wrote later, is served first.
    let freed = desk
        .set_status((tenant(), busy.conversation), Status::Solved, t(10))
        .unwrap();
    let next = freed.iter().find_map(|e| match e {
        Effect::Assigned { conversation, .. } => Some(*conversation),
        _ => None,
    });
    assert_eq!(next, Some(vip.conversation));
}

#[test]
fn escalation_steps_widen_the_target_after_their_timeouts() {
    let routing = RoutingConfig::default()
        .escalate(EscalationStep::after(TimeDelta::minutes(5)).drop_language())
        .escalate(EscalationStep::after(TimeDelta::minutes(15)).lower_levels_by(4));
    let mut desk = desk(routing);
    // Only a German speaker with billing level 3 is around.
    desk.upsert_agent(
        Agent::new(agent_id(9), tenant(), "Jonas")
            .skill("billing", 3)
            .language("de"),
        t(0),
    )
    .unwrap();
    let got = desk
        .ingest(
            Inbound::new(
                tenant(),
                Channel::WebChat,
                Identifier::email("fi@example.com").unwrap(),
                "c-9",
                "I want a refund of my money back",
            ),
            t(0),
        )
        .unwrap();
    assert!(assigned(&got.effects).is_none());
    assert!(got
        .effects
        .iter()
        .any(|e| matches!(e, Effect::Queued { .. })));
    assert_eq!(desk.next_wakeup().unwrap().map(|w| w <= t(5)), Some(true));
    assert!(
        desk.tick(t(4))
            .unwrap()
            .iter()
            .all(|e| !matches!(e, Effect::Escalated { .. })),
        "nothing before the timeout"
    );
    let after_first = desk.tick(t(5)).unwrap();
    assert!(after_first
        .iter()
        .any(|e| matches!(e, Effect::Escalated { step: 0, .. })));
    assert!(
        assigned(&after_first).is_none(),
        "language dropped, level still too low"
    );
    let after_second = desk.tick(t(15)).unwrap();
    assert!(after_second
        .iter()
        .any(|e| matches!(e, Effect::Escalated { step: 1, .. })));
    assert_eq!(assigned(&after_second), Some(agent_id(9)));
}

#[test]
fn an_agent_coming_online_gets_the_oldest_highest_priority_work() {
    let mut desk = desk(RoutingConfig::default());
    desk.upsert_agent(
        Agent::new(agent_id(4), tenant(), "Mia")
            .skill("care", 5)
            .skill("billing", 5)
            .presence(Presence::Offline),
        t(0),
    )
    .unwrap();
    let low = desk
        .ingest(
            Inbound::new(
                tenant(),
                Channel::Email,
                Identifier::email("l@example.com").unwrap(),
                "<l@x>",
                "complaint about the box",
            ),
            t(0),
        )
        .unwrap();
    let older = desk
        .ingest(
            Inbound::new(
                tenant(),
                Channel::Email,
                Identifier::email("o@example.com").unwrap(),
                "<o@x>",
                "I want a refund",
            ),
            t(1),
        )
        .unwrap();
    let newer = desk
        .ingest(
            Inbound::new(
                tenant(),
                Channel::Email,
                Identifier::email("n@example.com").unwrap(),
                "<n@x>",
                "refund please",
            ),
            t(2),
        )
        .unwrap();
    for g in [&low, &older, &newer] {
        assert!(assigned(&g.effects).is_none(), "offline agents get nothing");
    }
    let on = desk
        .set_presence(tenant(), agent_id(4), Presence::Available, t(3))
        .unwrap();
    let order: Vec<_> = on
        .iter()
        .filter_map(|e| match e {
            Effect::Assigned { conversation, .. } => Some(*conversation),
            _ => None,
        })
        .collect();
    assert_eq!(
        order,
        vec![low.conversation, older.conversation, newer.conversation],
        "same priority: oldest first"
    );
}

#[test]
fn the_irritant_report_ranks_intents_by_cost_and_shows_absorption() {
    let mut desk = desk(RoutingConfig::default());
    for i in 0..6 {
        desk.ingest(
            Inbound::new(
                tenant(),
                Channel::Email,
                Identifier::email(&format!("s{i}@example.com")).unwrap(),
                format!("<s{i}@x>"),
                "where is my order",
            ),
            t(i),
        )
        .unwrap();
    }
    for i in 0..2 {
        desk.ingest(
            Inbound::new(
                tenant(),
                Channel::Email,
                Identifier::email(&format!("r{i}@example.com")).unwrap(),
                format!("<r{i}@x>"),
                "refund please",
            ),
            t(i),
        )
        .unwrap();
    }
    // Metrics slice by the intent triage named.
    let mut by_intent = throughline::metrics::Filter::period(t(-1), t(100));
    by_intent.intent = Some("refund".into());
    assert_eq!(desk.report(tenant(), &by_intent).unwrap().conversations, 2);
    assert_eq!(
        desk.report_from_store(tenant(), &by_intent)
            .unwrap()
            .conversations,
        2
    );
    let report = desk.irritant_report(tenant(), t(-1), t(100)).unwrap();
    assert_eq!(
        report.rows[0].intent, "order_status",
        "6 × 4.0 = 24 > 2 × 12.0"
    );
    assert_eq!(report.rows[0].absorbed, 6);
    assert_eq!(report.rows[1].intent, "refund");
    assert_eq!(report.rows[1].absorbed, 0);
    assert!((report.absorbed_share - 0.75).abs() < 1e-9);
}

#[test]
fn sla_pressure_raises_a_waiting_conversation_ahead_of_newer_urgent_work() {
    let mut desk = desk(RoutingConfig::default());
    desk.upsert_agent(
        Agent::new(agent_id(8), tenant(), "Ilse")
            .skill("billing", 9)
            .presence(Presence::Offline),
        t(0),
    )
    .unwrap();
    let old = desk
        .ingest(
            Inbound::new(
                tenant(),
                Channel::Email,
                Identifier::email("x@example.com").unwrap(),
                "<x@x>",
                "Hello, a question about my account settings",
            ),
            t(0),
        )
        .unwrap();
    assert_eq!(
        desk.conversation((tenant(), old.conversation))
            .unwrap()
            .priority,
        Priority::Normal
    );
    let newer = desk
        .ingest(
            Inbound::new(
                tenant(),
                Channel::Email,
                Identifier::email("y@example.com").unwrap(),
                "<y@x>",
                "I want a refund",
            ),
            t(5 * 60),
        )
        .unwrap();
    assert_eq!(
        desk.conversation((tenant(), newer.conversation))
            .unwrap()
            .priority,
        Priority::High
    );
    // Six hours in, the older e-mail has used 75% of its 8-hour first-reply target.
    let effects = desk.tick(t(6 * 60)).unwrap();
    assert!(effects.iter().any(|e| matches!(e, Effect::SlaWarning { conversation, .. } if *conversation == old.conversation)));
    let raised = desk.conversation((tenant(), old.conversation)).unwrap();
    assert_eq!(
        raised.priority,
        Priority::High,
        "raised one step by SLA pressure"
    );
    assert!(raised.tags.iter().any(|t| t == "sla:pressure"));
    desk.tick(t(7 * 60 + 12)).unwrap(); // the 90% warning does not raise it again
    assert_eq!(
        desk.conversation((tenant(), old.conversation))
            .unwrap()
            .priority,
        Priority::High
    );
    let on = desk
        .set_presence(tenant(), agent_id(8), Presence::Available, t(7 * 60 + 20))
        .unwrap();
    let first = on.iter().find_map(|e| match e {
        Effect::Assigned { conversation, .. } => Some(*conversation),
        _ => None,
    });
    assert_eq!(
        first,
        Some(old.conversation),
        "same priority now, and it waited longer"
    );
}

#[test]
fn a_restarted_desk_restores_loads_and_waiting_work_from_the_store() {
    let mut desk = desk(RoutingConfig::default());
    let noor = Agent::new(agent_id(7), tenant(), "Noor")
        .skill("care", 5)
        .capacity(1);
    desk.upsert_agent(noor.clone(), t(0)).unwrap();
    let busy = desk
        .ingest(
            Inbound::new(
                tenant(),
                Channel::Email,
                Identifier::email("a@example.com").unwrap(),
                "<r1@x>",
                "a complaint",
            ),
            t(0),
        )
        .unwrap();
    assert_eq!(assigned(&busy.effects), Some(agent_id(7)));
    let waiting = desk
        .ingest(
            Inbound::new(
                tenant(),
                Channel::Email,
                Identifier::email("b@example.com").unwrap(),
                "<r2@x>",
                "another complaint",
            ),
            t(1),
        )
        .unwrap();
    assert!(assigned(&waiting.effects).is_none());
    // The host restarts: a new Desk on the same store, agents registered again.
    let store = desk.into_store();
    let mut desk = Desk::new(
        store,
        DeskConfig::default()
            .triage(TriageConfig::new(catalogue()))
            .routing(RoutingConfig::default()),
    );
    desk.upsert_agent(noor, t(2)).unwrap();
    let restored = desk.restore_routing(tenant(), t(2)).unwrap();
    assert!(assigned(&restored).is_none(), "Noor is still full");
    assert_eq!(desk.router().unwrap().load(tenant(), agent_id(7)), Some(1));
    assert!(desk
        .router()
        .unwrap()
        .is_waiting(tenant(), waiting.conversation));
    let freed = desk
        .set_status((tenant(), busy.conversation), Status::Solved, t(3))
        .unwrap();
    assert_eq!(
        freed.iter().find_map(|e| match e {
            Effect::Assigned { conversation, .. } => Some(*conversation),
            _ => None,
        }),
        Some(waiting.conversation)
    );
}

#[test]
fn a_hosts_own_bot_hands_over_without_the_crates_triage() {
    // No triage catalogue; routing on, the only agent away: the work waits in the queue.
    let config = DeskConfig::default().routing(RoutingConfig::default());
    let mut desk = Desk::new(MemoryStore::new(), config);
    let mut ada = Agent::new(agent_id(1), tenant(), "Ada");
    ada.presence = Presence::Away;
    desk.upsert_agent(ada, t(0)).unwrap();
    let ana = Identifier::email("ana@example.com").unwrap();
    let got = desk
        .ingest(
            Inbound::new(
                tenant(),
                Channel::WebChat,
                ana,
                "c1",
                "I need a return label",
            ),
            t(0),
        )
        .unwrap();
    let c = (tenant(), got.conversation);
    assert_eq!(
        desk.triage_of(c).unwrap(),
        None,
        "the crate's triage did not run"
    );
    // The host's bot asked for the order number, then hands over with it.
    let mut collected = std::collections::BTreeMap::new();
    collected.insert("order".to_string(), "104233".to_string());
    let effects = desk
        .hand_over_with(
            c,
            "the customer asked for a person",
            collected.clone(),
            t(2),
        )
        .unwrap();
    let handed = effects
        .iter()
        .find_map(|e| match e {
            Effect::HandedOver {
                reason, collected, ..
            } => Some((reason.clone(), collected.clone())),
            _ => None,
        })
        .expect("a hand-over");
    assert_eq!(handed.0, "the customer asked for a person");
    assert_eq!(handed.1, collected);
    let outcome = desk.triage_of(c).unwrap().expect("an outcome now");
    assert!(outcome.needs_human && outcome.intent.is_none());
    assert!(matches!(outcome.flow, Flow::HandedOver { .. }));
    assert_eq!(
        outcome.collected.get("order").map(String::as_str),
        Some("104233")
    );
    // Still waiting for an agent, once; she comes online and gets it.
    assert!(desk.routing_state(tenant()).unwrap().is_waiting(c.1));
    let effects = desk
        .set_presence(tenant(), agent_id(1), Presence::Available, t(3))
        .unwrap();
    assert!(effects
        .iter()
        .any(|e| matches!(e, Effect::Assigned { conversation, .. } if *conversation == c.1)));
    // A second hand-over adds what was collected since; bad answers are refused.
    let mut more = std::collections::BTreeMap::new();
    more.insert("email".to_string(), "ana@example.com".to_string());
    desk.hand_over_with(c, "more details", more, t(4)).unwrap();
    let outcome = desk.triage_of(c).unwrap().unwrap();
    assert_eq!(outcome.collected.len(), 2);
    let mut bad = std::collections::BTreeMap::new();
    bad.insert(String::new(), "x".to_string());
    assert!(desk.hand_over_with(c, "bad", bad, t(5)).is_err());
    assert_eq!(desk.assignment_of(c).unwrap(), Some(agent_id(1)));
}

#[test]
fn the_bot_offers_articles_by_title_and_link_in_the_customers_language() {
    let catalogue = IntentCatalogue::new()
        .with(
            Intent::new("order_status", Value::High, Value::Low)
                .article("kb/where-is-my-order")
                .article("kb/tracking")
                .phrases("en", &["where is my order"])
                .phrases("nl", &["waar is mijn pakket"])
                .phrases("de", &["wo ist mein paket"]),
        )
        .unwrap()
        .article(
            "kb/where-is-my-order",
            "Waar is mijn bestelling?",
            "https://help.example/nl/order",
        )
        .unwrap()
        // The tenant's own German text.
        .deflection("de", "Hilfe finden Sie hier:\n{articles}")
        .unwrap();
    // A shop that answers in English, Dutch and German (detection among its languages).
    let config = DeskConfig {
        languages: Some(["en", "nl", "de"].map(String::from).to_vec()),
        ..DeskConfig::default()
    };
    let mut desk = Desk::new(
        MemoryStore::new(),
        config.triage(TriageConfig::new(catalogue.clone())),
    );
    let bot_text = |desk: &mut Desk<MemoryStore>, who: &str, body: &str| -> String {
        let got = desk
            .ingest(
                Inbound::new(
                    tenant(),
                    Channel::Email,
                    Identifier::email(who).unwrap(),
                    who,
                    body,
                ),
                t(0),
            )
            .unwrap();
        got.effects
            .iter()
            .find_map(|e| match e {
                Effect::Send(out) => Some(out.body.clone()),
                _ => None,
            })
            .expect("the bot's answer")
    };
    let nl = bot_text(
        &mut desk,
        "a@example.com",
        "Hallo, waar is mijn pakket? Ik heb het vorige week besteld.",
    );
    assert!(
        nl.starts_with("Deze artikelen beantwoorden je vraag misschien:"),
        "{nl}"
    );
    assert!(
        nl.contains("• Waar is mijn bestelling?: https://help.example/nl/order"),
        "{nl}"
    );
    assert!(
        nl.contains("• kb/tracking"),
        "an article without a title shows its id: {nl}"
    );
    let de = bot_text(
        &mut desk,
        "b@example.com",
        "Guten Tag, wo ist mein Paket? Ich habe es letzte Woche bestellt.",
    );
    assert!(de.starts_with("Hilfe finden Sie hier:"), "{de}");
    let en = bot_text(
        &mut desk,
        "c@example.com",
        "Hello, where is my order? I bought it last week.",
    );
    assert!(
        en.starts_with("These articles may answer your question:"),
        "{en}"
    );
    // Bad registrations are refused.
    assert!(catalogue
        .clone()
        .article("kb/x", "X", "javascript:alert(1)")
        .is_err());
    assert!(catalogue.deflection("fr", "sans la liste").is_err());
}

#[test]
fn an_irritant_is_tagged_answered_and_ranked_for_elimination() {
    // "Where is my invoice PDF": low value to the customer and to the company — a
    // contact that should not exist (eliminate): tagged, answered with the article, and
    // counted in the irritant report with what the bot absorbed.
    let catalogue = IntentCatalogue::new()
        .with(
            Intent::new("invoice_pdf", Value::Low, Value::Low)
                .cost(3.0)
                .article("kb/invoices")
                .phrases("en", &["invoice pdf", "download my invoice"]),
        )
        .unwrap();
    let mut desk = Desk::new(
        MemoryStore::new(),
        DeskConfig::default().triage(TriageConfig::new(catalogue)),
    );
    let mut conversations = Vec::new();
    for n in 0..3 {
        let who = Identifier::email(&format!("c{n}@example.com")).unwrap();
        let got = desk
            .ingest(
                Inbound::new(
                    tenant(),
                    Channel::Email,
                    who,
                    format!("m{n}"),
                    "How do I download my invoice PDF from the shop?",
                ),
                t(n),
            )
            .unwrap();
        let triaged = got.effects.iter().find_map(|e| match e {
            Effect::Triaged { disposition, .. } => Some(*disposition),
            _ => None,
        });
        assert_eq!(triaged, Some(Some(Disposition::Eliminate)));
        assert!(
            got.effects.iter().any(|e| matches!(e, Effect::Send(_))),
            "the bot answers"
        );
        let conv = desk.conversation((tenant(), got.conversation)).unwrap();
        assert!(
            conv.tags.contains(&"irritant:invoice_pdf".to_string()),
            "{:?}",
            conv.tags
        );
        assert_eq!(conv.status, Status::Pending, "waiting on the customer");
        conversations.push(got.conversation);
    }
    // One customer still needs a person: a hand-over, not absorbed.
    let who = Identifier::email("c0@example.com").unwrap();
    desk.ingest(
        Inbound::new(
            tenant(),
            Channel::Email,
            who,
            "m9",
            "That did not help, the link is broken",
        ),
        t(10),
    )
    .unwrap();
    let report = desk.irritant_report(tenant(), t(-60), t(60)).unwrap();
    let row = report
        .rows
        .iter()
        .find(|r| r.intent == "invoice_pdf")
        .expect("the irritant is ranked");
    assert_eq!(
        (row.disposition, row.contacts, row.absorbed),
        (Disposition::Eliminate, 3, 2)
    );
    assert!((row.total_cost - 9.0).abs() < 1e-9, "{row:?}");
}
