//! Triage and routing with explanations: a Dutch refund, an order-status question answered
//! by self-service, a VIP complaint that jumps the queue, and an escalation that widens
//! the target after a timeout; then an agent transfers a conversation with a note, and the
//! inbox views (open, unassigned, by agent, SLA due soon) with their counts.
//!
//! ```sh
//! cargo run --example routing
//! ```

use chrono::{DateTime, TimeDelta, Utc};
use throughline::conversation::Transfer;
use throughline::message::Direction;
use throughline::routing::{Agent, EscalationStep, Presence, RoutingConfig};
use throughline::store::{InboxView, MemoryStore};
use throughline::triage::{Intent, IntentCatalogue, TriageConfig, Value};
use throughline::{
    AgentId, Channel, Desk, DeskConfig, Effect, Identifier, Inbound, Priority, ProfileUpdate,
    Status, TenantId,
};

fn show(what: &str, effects: &[Effect]) {
    println!("\n{what}");
    for e in effects {
        match e {
            Effect::Triaged {
                intent,
                disposition,
                priority,
                needs_human,
                ..
            } => println!(
                "  triaged: intent {:?}, {:?}, priority {:?}, needs a human: {needs_human}",
                intent.as_deref().unwrap_or("-"),
                disposition,
                priority
            ),
            Effect::Send(out) => println!("  bot sends on {}: {}", out.channel, out.body),
            Effect::Assigned {
                conversation,
                explanation,
                ..
            } => println!(
                "  conversation …{}: {explanation}",
                &conversation.to_string()[32..]
            ),
            Effect::Queued { explanation, .. } => println!("  {explanation}"),
            Effect::Escalated {
                step, conversation, ..
            } => {
                println!(
                    "  escalation step {step} fired for conversation …{}",
                    &conversation.to_string()[32..]
                )
            }
            Effect::HandedOver { reason, .. } => println!("  handed over: {reason}"),
            _ => {}
        }
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let t0: DateTime<Utc> = DateTime::parse_from_rfc3339("2026-03-02T10:00:00+01:00")?.to_utc();
    let tenant: TenantId = "01900000-0000-7000-8000-00000000e4a1".parse()?;
    let catalogue = IntentCatalogue::new()
        .with(
            Intent::new("refund", Value::High, Value::High)
                .cost(12.0)
                .skill("billing", 5)
                .phrases("en", &["refund", "money back"])
                .phrases("nl", &["geld terug"]),
        )?
        .with(
            Intent::new("order_status", Value::High, Value::Low)
                .cost(4.0)
                .article("kb/where-is-my-order")
                .phrases("en", &["where is my order"])
                .phrases("nl", &["waar is mijn pakket"]),
        )?
        .with(
            Intent::new("complaint", Value::High, Value::High)
                .cost(20.0)
                .skill("care", 3)
                .phrases("en", &["complaint", "unacceptable"]),
        )?
        // The help centre's article, so that the bot names and links it.
        .article(
            "kb/where-is-my-order",
            "Where is my order?",
            "https://help.shop.example/where-is-my-order",
        )?;
    let routing = RoutingConfig::default()
        .escalate(EscalationStep::after(TimeDelta::minutes(10)).drop_language());
    let mut desk = Desk::new(
        MemoryStore::new(),
        DeskConfig::default()
            .triage(TriageConfig::new(catalogue))
            .routing(routing),
    );
    let id = |n: u128| {
        AgentId::from_uuid(uuid::Uuid::from_u128(
            0x0190_0000_0000_7000_8000_0000_0000_a000 + n,
        ))
    };
    desk.upsert_agent(
        Agent::new(id(1), tenant, "Emma")
            .skill("billing", 9)
            .language("en")
            .channel(Channel::WebChat),
        t0,
    )?;
    desk.upsert_agent(
        Agent::new(id(2), tenant, "Sanne")
            .skill("billing", 6)
            .language("nl")
            .channel(Channel::WebChat),
        t0,
    )?;
    desk.upsert_agent(
        Agent::new(id(3), tenant, "Noor")
            .skill("care", 5)
            .language("en")
            .capacity(1),
        t0,
    )?;
    println!("agents: Emma {} (billing 9, en), Sanne {} (billing 6, nl), Noor {} (care 5, en, one conversation at a time)", id(1), id(2), id(3));

    let nl = desk.ingest(
        Inbound::new(
            tenant,
            Channel::WebChat,
            Identifier::email("ana@example.nl")?,
            "c-1",
            "Hallo, ik wil graag mijn geld terug voor de schoenen",
        )
        .locale("nl"),
        t0,
    )?;
    show("A Dutch refund question on web chat:", &nl.effects);

    let status = desk.ingest(
        Inbound::new(
            tenant,
            Channel::Email,
            Identifier::email("bo@example.com")?,
            "<s1@x>",
            "Hi, where is my order? I ordered last week.",
        ),
        t0 + TimeDelta::minutes(1),
    )?;
    show("An order-status e-mail:", &status.effects);

    let first = desk.ingest(
        Inbound::new(
            tenant,
            Channel::Email,
            Identifier::email("cy@example.com")?,
            "<c1@x>",
            "This is unacceptable, I want to make a complaint",
        ),
        t0 + TimeDelta::minutes(2),
    )?;
    show(
        "A complaint (Noor takes it; she is now full):",
        &first.effects,
    );
    let normal = desk.ingest(
        Inbound::new(
            tenant,
            Channel::Email,
            Identifier::email("di@example.com")?,
            "<c2@x>",
            "A complaint about my delivery",
        ),
        t0 + TimeDelta::minutes(3),
    )?;
    show("Another complaint waits:", &normal.effects);
    let vip_id = Identifier::email("vip@example.com")?;
    let vip = desk.ingest(
        Inbound::new(tenant, Channel::Email, vip_id, "<c3@x>", "hello"),
        t0 + TimeDelta::minutes(4),
    )?;
    desk.update_profile(
        tenant,
        vip.customer,
        ProfileUpdate::default().attribute("vip", serde_json::json!(true)),
        t0 + TimeDelta::minutes(4),
    )?;
    desk.set_status(
        (tenant, vip.conversation),
        Status::Solved,
        t0 + TimeDelta::minutes(4),
    )?;
    desk.set_status(
        (tenant, vip.conversation),
        Status::Closed,
        t0 + TimeDelta::minutes(4),
    )?;
    let vip2 = desk.ingest(
        Inbound::new(
            tenant,
            Channel::Email,
            Identifier::email("vip@example.com")?,
            "<c4@x>",
            "Unacceptable! This is a complaint.",
        ),
        t0 + TimeDelta::minutes(5),
    )?;
    show(
        "A VIP complaint, written later, waits with a higher priority:",
        &vip2.effects,
    );
    println!(
        "  (the earlier complaint is …{}, the VIP's is …{})",
        &normal.conversation.to_string()[32..],
        &vip2.conversation.to_string()[32..]
    );
    let freed = desk.set_status(
        (tenant, first.conversation),
        Status::Solved,
        t0 + TimeDelta::minutes(6),
    )?;
    show(
        "Noor solves her conversation; the VIP is served first:",
        &freed,
    );

    desk.set_presence(tenant, id(2), Presence::Offline, t0 + TimeDelta::minutes(7))?;
    let fi = desk.ingest(
        Inbound::new(
            tenant,
            Channel::WebChat,
            Identifier::email("eero@example.fi")?,
            "c-2",
            "Minä haluan money back refund nyt",
        )
        .locale("fi"),
        t0 + TimeDelta::minutes(8),
    )?;
    show(
        "A refund request in Finnish: nobody speaks Finnish, it waits:",
        &fi.effects,
    );
    show(
        "Ten minutes later the escalation step drops the language:",
        &desk.tick(t0 + TimeDelta::minutes(18))?,
    );

    // An agent hands the Finnish refund to a colleague with a note; every operation is
    // recorded in the timeline with who did it.
    let now = t0 + TimeDelta::minutes(20);
    let holder = desk
        .conversation((tenant, fi.conversation))?
        .assignee
        .ok_or("the escalation assigned it")?;
    let to = if holder == id(1) { id(3) } else { id(1) };
    let moved = desk.transfer(
        (tenant, fi.conversation),
        Transfer::Agent(to),
        "Finnish customer, refund of order 2211: answer in English",
        holder,
        now,
    );
    if let Err(e) = moved {
        // Noor is at capacity: the transfer is refused; her lead assigns it over capacity,
        // and the timeline says so.
        println!("\nTransfer refused: {e}");
        desk.assign_over_capacity((tenant, fi.conversation), to, holder, now)?;
    }
    desk.set_priority((tenant, fi.conversation), Priority::High, to, now)?;
    println!("\nThe Finnish conversation's timeline of operations:");
    for m in desk.messages((tenant, fi.conversation))? {
        if m.direction == Direction::Event {
            println!("  {}", m.body);
        }
    }

    // The inbox views an agent's screen is built from: read through the store's indexes,
    // a page at a time, with counts.
    println!("\nInbox views:");
    let views = [
        ("open", InboxView::Status(Status::Open)),
        ("unassigned", InboxView::Unassigned),
        ("Emma's", InboxView::Assignee(id(1))),
        ("Noor's", InboxView::Assignee(id(3))),
        (
            "SLA due within the hour",
            InboxView::SlaDueBefore(now + TimeDelta::hours(1)),
        ),
    ];
    for (name, view) in views {
        let page = desk.inbox(tenant, &view, None, 10)?;
        let ids: Vec<String> = page
            .conversations
            .iter()
            .map(|c| format!("…{}", &c.id.to_string()[32..]))
            .collect();
        println!(
            "  {name}: {} ({})",
            desk.inbox_count(tenant, &view)?,
            ids.join(", ")
        );
    }
    Ok(())
}
