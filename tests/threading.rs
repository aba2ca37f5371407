//! Threading stories: one conversation per customer (bundling, the default) or one per
//! topic; agents merging two conversations of a customer and splitting messages off into
//! a new one. Each story runs on the memory store and on SQLite where it writes.

use chrono::{DateTime, TimeDelta, Utc};
use throughline::conversation::ConversationEvent;
use throughline::routing::{Agent, RoutingConfig};
use throughline::settings::TenantSettings;
use throughline::store::{MemoryStore, SqliteStore, Store};
use throughline::{
    AgentId, Channel, Conversation, ConversationId, Desk, DeskConfig, Direction, Effect, Error,
    Identifier, Inbound, Message, Status, TenantId, ThreadingPolicy,
};

type R = Result<(), Box<dyn std::error::Error>>;

fn t(mins: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_772_442_000, 0).unwrap() + TimeDelta::minutes(mins)
}

fn tenant() -> TenantId {
    "01900000-0000-7000-8000-00000000a001".parse().unwrap()
}

fn agent() -> AgentId {
    "01900000-0000-7000-8000-0000000a9e47".parse().unwrap()
}

fn ana() -> Identifier {
    Identifier::email("ana@example.com").unwrap()
}

fn bo() -> Identifier {
    Identifier::email("bo@example.com").unwrap()
}

fn mail(who: Identifier, id: &str, body: &str) -> Inbound {
    Inbound::new(tenant(), Channel::Email, who, id, body)
}

fn chat(who: Identifier, id: &str, body: &str) -> Inbound {
    Inbound::new(tenant(), Channel::WebChat, who, id, body)
}

fn per_topic() -> DeskConfig {
    DeskConfig::default()
        .threading(ThreadingPolicy::PerTopic)
        .id_seed(7)
}

fn conv<S: Store>(desk: &Desk<S>, id: ConversationId) -> Conversation {
    desk.conversation((tenant(), id)).unwrap()
}

/// The bodies of a conversation's customer messages, in timeline order.
fn bodies<S: Store>(desk: &Desk<S>, id: ConversationId) -> Vec<String> {
    desk.messages((tenant(), id))
        .unwrap()
        .into_iter()
        .filter(|m| m.direction == Direction::Inbound)
        .map(|m| m.body)
        .collect()
}

/// The timeline events of a conversation.
fn events<S: Store>(desk: &Desk<S>, id: ConversationId) -> Vec<ConversationEvent> {
    desk.messages((tenant(), id))
        .unwrap()
        .into_iter()
        .filter_map(|m| m.event)
        .collect()
}

/// `message_count` is the number of messages the conversation holds.
fn counts_agree<S: Store>(desk: &Desk<S>, id: ConversationId) {
    let held = desk.messages((tenant(), id)).unwrap().len();
    assert_eq!(conv(desk, id).message_count as usize, held, "count of {id}");
}

/// Makes a fresh store.
type MakeStore = Box<dyn Fn() -> Box<dyn Store>>;

fn stores() -> Vec<(&'static str, MakeStore)> {
    vec![
        ("memory", Box::new(|| Box::new(MemoryStore::new()))),
        (
            "sqlite",
            Box::new(|| Box::new(SqliteStore::open_in_memory().unwrap())),
        ),
    ]
}

/// Per topic, every new e-mail thread is a conversation of its own, linked to the one
/// that was open; a reply in a thread joins that thread's conversation; a hint that leads
/// nowhere is a new thread too.
#[test]
fn per_topic_email_threads_make_conversations_and_replies_join_their_own() -> R {
    for (name, make) in stores() {
        let mut desk = Desk::new(make(), per_topic());
        let a = desk.ingest(mail(ana(), "<a1@x>", "Where is my parcel?"), t(0))?;
        let b = desk.ingest(mail(ana(), "<b1@x>", "My invoice is wrong"), t(1))?;
        assert_ne!(a.conversation, b.conversation, "{name}: a new thread");
        assert_eq!(a.customer, b.customer);
        let second = conv(&desk, b.conversation);
        assert_eq!(second.related, Some(a.conversation), "{name}");
        assert_eq!(second.previous, None);
        assert!(b.effects.iter().any(|e| matches!(e,
            Effect::ConversationOpened { conversation, .. } if *conversation == b.conversation)));
        let a2 = desk.ingest(
            mail(ana(), "<a2@x>", "Any news on the parcel?").thread_hint("<a1@x>"),
            t(2),
        )?;
        let b2 = desk.ingest(
            mail(ana(), "<b2@x>", "The invoice again").thread_hint("<b1@x>"),
            t(3),
        )?;
        assert_eq!(a2.conversation, a.conversation, "{name}: reply in thread a");
        assert_eq!(b2.conversation, b.conversation, "{name}: reply in thread b");
        let c = desk.ingest(
            mail(ana(), "<c1@x>", "A third question").thread_hint("<unknown@x>"),
            t(4),
        )?;
        assert!(![a.conversation, b.conversation].contains(&c.conversation));
        assert_eq!(conv(&desk, c.conversation).related, Some(b.conversation));
        assert_eq!(
            bodies(&desk, a.conversation),
            ["Where is my parcel?", "Any news on the parcel?"]
        );
        assert_eq!(
            bodies(&desk, b.conversation),
            ["My invoice is wrong", "The invoice again"]
        );
        assert_eq!(desk.conversations_of(tenant(), a.customer)?.len(), 3);
    }
    Ok(())
}

/// Per topic, a chat (or any message without an e-mail thread) joins the customer's most
/// recently active open conversation, not the newest one.
#[test]
fn per_topic_chat_joins_the_most_recently_active_conversation() -> R {
    let mut desk = Desk::new(MemoryStore::new(), per_topic());
    let a = desk.ingest(mail(ana(), "<a1@x>", "Parcel"), t(0))?;
    let b = desk.ingest(mail(ana(), "<b1@x>", "Invoice"), t(1))?;
    desk.ingest(
        mail(ana(), "<a2@x>", "Parcel again").thread_hint("<a1@x>"),
        t(2),
    )?;
    let c1 = desk.ingest(chat(ana(), "chat-1", "Hello?"), t(3))?;
    assert_eq!(c1.conversation, a.conversation, "a was active last");
    desk.ingest(
        mail(ana(), "<b2@x>", "Invoice again").thread_hint("<b1@x>"),
        t(4),
    )?;
    let c2 = desk.ingest(chat(ana(), "chat-2", "Still there?"), t(5))?;
    assert_eq!(c2.conversation, b.conversation, "b was active last");
    // A closed conversation is never joined: solve and close b, and the chat goes to a.
    desk.set_status((tenant(), b.conversation), Status::Solved, t(6))?;
    desk.set_status((tenant(), b.conversation), Status::Closed, t(6))?;
    let c3 = desk.ingest(chat(ana(), "chat-3", "Hi again"), t(7))?;
    assert_eq!(c3.conversation, a.conversation);
    Ok(())
}

/// The host marks a new topic: per topic it opens a conversation beside the open one,
/// which later messages then join; under bundling it changes nothing.
#[test]
fn an_explicit_new_topic_starts_a_conversation_only_per_topic() -> R {
    let mut desk = Desk::new(MemoryStore::new(), per_topic());
    let first = desk.ingest(chat(ana(), "c1", "Parcel is late"), t(0))?;
    let topic = desk.ingest(chat(ana(), "c2", "Other question").new_topic(), t(1))?;
    assert_ne!(topic.conversation, first.conversation);
    assert_eq!(
        conv(&desk, topic.conversation).related,
        Some(first.conversation)
    );
    let next = desk.ingest(chat(ana(), "c3", "About that question"), t(2))?;
    assert_eq!(next.conversation, topic.conversation);
    // A machine-sent message never starts a topic.
    let auto = desk.ingest(
        mail(ana(), "<ooo@x>", "I am out of office")
            .automated(throughline::Automated::AutoReply)
            .new_topic(),
        t(3),
    )?;
    assert_eq!(auto.conversation, topic.conversation);

    let mut bundling = Desk::new(MemoryStore::new(), DeskConfig::default().id_seed(7));
    let first = bundling.ingest(chat(ana(), "c1", "Parcel is late"), t(0))?;
    let topic = bundling.ingest(chat(ana(), "c2", "Other question").new_topic(), t(1))?;
    assert_eq!(
        topic.conversation, first.conversation,
        "ignored when bundling"
    );
    Ok(())
}

/// Bundling (the default) keeps one conversation per customer: a new e-mail thread joins
/// the open conversation, as before.
#[test]
fn bundling_keeps_one_conversation_per_customer() -> R {
    assert_eq!(DeskConfig::default().threading, ThreadingPolicy::Bundle);
    let mut desk = Desk::new(MemoryStore::new(), DeskConfig::default().id_seed(7));
    let a = desk.ingest(mail(ana(), "<a1@x>", "Parcel"), t(0))?;
    let b = desk.ingest(mail(ana(), "<b1@x>", "Invoice"), t(1))?;
    let c = desk.ingest(chat(ana(), "chat-1", "Hello"), t(2))?;
    assert_eq!(b.conversation, a.conversation);
    assert_eq!(c.conversation, a.conversation);
    assert_eq!(conv(&desk, a.conversation).related, None);
    Ok(())
}

/// Two topics of one customer, merged: the source's messages read in the target in
/// order, both timelines record it, the source is closed with its SLA clock stopped and
/// leaves routing, and a reply in the source's e-mail thread lands in the target.
#[test]
fn merging_moves_the_messages_and_closes_the_source() -> R {
    for (name, make) in stores() {
        let config = per_topic().routing(RoutingConfig::default());
        let mut desk = Desk::new(make(), config);
        desk.upsert_agent(Agent::new(agent(), tenant(), "Sanne"), t(0))?;
        let a = desk.ingest(mail(ana(), "<a1@x>", "Parcel missing"), t(0))?;
        let b = desk.ingest(mail(ana(), "<b1@x>", "Parcel still missing"), t(2))?;
        let a2 = desk.ingest(mail(ana(), "<a2@x>", "Hello??").thread_hint("<a1@x>"), t(3))?;
        assert_eq!(a2.conversation, a.conversation);
        let (a, b) = (a.conversation, b.conversation);
        let running = desk.sla_clocks((tenant(), b))?.expect("clocks of b");
        assert!(running.running(), "{name}: b's first reply is due");
        let before = desk.routing_state(tenant())?;
        assert!(before.work.iter().any(|w| w.item.conversation == b));

        let effects = desk.merge_conversations((tenant(), b), (tenant(), a), agent(), t(5))?;
        assert!(effects.contains(&Effect::ConversationsMerged {
            tenant: tenant(),
            from: b,
            into: a
        }));
        assert!(effects.iter().any(|e| matches!(e,
            Effect::StatusChanged { conversation, to: Status::Closed, .. } if *conversation == b)));
        let source = conv(&desk, b);
        assert_eq!(source.status, Status::Closed, "{name}");
        assert_eq!(source.merged_into, Some(a));
        assert_eq!(
            events(&desk, b),
            [ConversationEvent::MergedInto {
                into: a,
                messages: 1,
                by: agent()
            }]
        );
        assert!(bodies(&desk, b).is_empty());
        assert_eq!(
            bodies(&desk, a),
            ["Parcel missing", "Parcel still missing", "Hello??"],
            "{name}: in timeline order"
        );
        assert_eq!(
            events(&desk, a),
            [ConversationEvent::MergedFrom {
                from: b,
                messages: 1,
                by: agent()
            }]
        );
        counts_agree(&desk, a);
        counts_agree(&desk, b);
        let stopped = desk.sla_clocks((tenant(), b))?.expect("clocks of b");
        assert!(!stopped.running(), "{name}: b's clocks stopped");
        assert!(desk.tick(t(60 * 24 * 7))?.iter().all(|e| !matches!(e,
            Effect::SlaBreached { conversation, .. } if *conversation == b)));
        let after = desk.routing_state(tenant())?;
        assert!(
            after.work.iter().all(|w| w.item.conversation != b),
            "{name}"
        );
        // A reply in b's e-mail thread lands in a.
        let late = desk.ingest(
            mail(ana(), "<b2@x>", "About my parcel").thread_hint("<b1@x>"),
            t(10),
        )?;
        assert_eq!(late.conversation, a, "{name}: b's thread leads to a");
        assert_eq!(desk.store().thread(tenant(), "email:<b1@x>")?, Some(a));
    }
    Ok(())
}

/// A merge is refused for one conversation twice, another customer's, another tenant's,
/// or a closed one, and writes nothing.
#[test]
fn merging_is_refused_when_it_cannot_be_right() -> R {
    let mut desk = Desk::new(MemoryStore::new(), per_topic());
    let a = desk
        .ingest(mail(ana(), "<a1@x>", "Parcel"), t(0))?
        .conversation;
    let b = desk
        .ingest(mail(ana(), "<b1@x>", "Invoice"), t(1))?
        .conversation;
    let other = desk.ingest(mail(bo(), "<o1@x>", "Hi"), t(2))?.conversation;
    let tn = tenant();
    let invalid = |r: throughline::Result<Vec<Effect>>| matches!(r, Err(Error::Invalid { .. }));
    assert!(invalid(desk.merge_conversations(
        (tn, a),
        (tn, a),
        agent(),
        t(3)
    )));
    assert!(invalid(desk.merge_conversations(
        (tn, a),
        (tn, other),
        agent(),
        t(3)
    )));
    let elsewhere = TenantId::new_v7();
    assert!(invalid(desk.merge_conversations(
        (tn, a),
        (elsewhere, b),
        agent(),
        t(3)
    )));
    desk.set_status((tn, b), Status::Solved, t(3))?;
    desk.set_status((tn, b), Status::Closed, t(3))?;
    for r in [
        desk.merge_conversations((tn, a), (tn, b), agent(), t(4)),
        desk.merge_conversations((tn, b), (tn, a), agent(), t(4)),
    ] {
        assert!(matches!(r, Err(Error::ConversationClosed(_))), "{r:?}");
    }
    assert_eq!(conv(&desk, a).status, Status::New);
    assert_eq!(bodies(&desk, a), ["Parcel"]);
    assert_eq!(bodies(&desk, b), ["Invoice"]);
    assert_eq!(conv(&desk, a).merged_into, None);
    Ok(())
}

/// A second problem in one conversation, split off: the new conversation has exactly
/// those messages and is linked to the original, which keeps the rest; both timelines
/// record it and the counts agree; a reply in a split-off e-mail's thread follows it.
#[test]
fn splitting_moves_the_selection_into_a_linked_conversation() -> R {
    for (name, make) in stores() {
        let mut desk = Desk::new(make(), DeskConfig::default().id_seed(7));
        let m1 = desk.ingest(mail(ana(), "<m1@x>", "Parcel missing"), t(0))?;
        let m2 = desk.ingest(mail(ana(), "<m2@x>", "Also: wrong invoice"), t(1))?;
        let m3 = desk.ingest(chat(ana(), "c3", "Parcel?"), t(2))?;
        let m4 = desk.ingest(chat(ana(), "c4", "And the invoice?"), t(3))?;
        let original = m1.conversation;
        assert!([&m2, &m3, &m4].iter().all(|m| m.conversation == original));
        let picked = [m2.message.id, m4.message.id];
        let split = desk.split_conversation((tenant(), original), &picked, agent(), t(4))?;
        let new = split.conversation;
        assert_ne!(new, original);
        assert!(split.effects.contains(&Effect::ConversationSplit {
            tenant: tenant(),
            from: original,
            into: new,
            messages: picked.to_vec()
        }));
        assert_eq!(
            bodies(&desk, new),
            ["Also: wrong invoice", "And the invoice?"],
            "{name}"
        );
        assert_eq!(bodies(&desk, original), ["Parcel missing", "Parcel?"]);
        let made = conv(&desk, new);
        assert_eq!(made.related, Some(original), "{name}");
        assert_eq!(made.customer, m1.customer);
        assert_eq!(made.status, Status::Open);
        assert_eq!(made.channels, [Channel::Email, Channel::WebChat]);
        assert_eq!(made.last_inbound_channel, Some(Channel::WebChat));
        assert_eq!(
            events(&desk, original),
            [ConversationEvent::SplitOff {
                into: new,
                messages: picked.to_vec(),
                by: agent()
            }]
        );
        assert_eq!(
            events(&desk, new),
            [ConversationEvent::SplitFrom {
                from: original,
                messages: picked.to_vec(),
                by: agent()
            }]
        );
        counts_agree(&desk, original);
        counts_agree(&desk, new);
        let moved: Vec<Message> = desk.messages((tenant(), new))?;
        assert!(moved.iter().all(|m| m.conversation == new));
        // The split-off e-mail's thread goes with it; the other stays.
        let reply = desk.ingest(
            mail(ana(), "<m5@x>", "Invoice, again").thread_hint("<m2@x>"),
            t(5),
        )?;
        assert_eq!(reply.conversation, new, "{name}");
        let reply = desk.ingest(
            mail(ana(), "<m6@x>", "Parcel, again").thread_hint("<m1@x>"),
            t(6),
        )?;
        assert_eq!(reply.conversation, original, "{name}");
    }
    Ok(())
}

/// A split is refused for an empty selection, every message, another conversation's
/// message, or a closed conversation, and writes nothing.
#[test]
fn splitting_is_refused_when_it_cannot_be_right() -> R {
    let mut desk = Desk::new(MemoryStore::new(), DeskConfig::default().id_seed(7));
    let m1 = desk.ingest(chat(ana(), "c1", "One"), t(0))?;
    let m2 = desk.ingest(chat(ana(), "c2", "Two"), t(1))?;
    let foreign = desk.ingest(chat(bo(), "o1", "Bo here"), t(2))?;
    let c = (tenant(), m1.conversation);
    let all = [m1.message.id, m2.message.id];
    for picked in [&[][..], &all[..], &[foreign.message.id][..]] {
        let r = desk.split_conversation(c, picked, agent(), t(3));
        assert!(matches!(r, Err(Error::Invalid { .. })), "{picked:?}: {r:?}");
    }
    assert_eq!(bodies(&desk, m1.conversation), ["One", "Two"]);
    assert_eq!(desk.conversations_of(tenant(), m1.customer)?.len(), 1);
    desk.set_status(c, Status::Solved, t(4))?;
    desk.set_status(c, Status::Closed, t(4))?;
    let r = desk.split_conversation(c, &all[..1], agent(), t(5));
    assert!(matches!(r, Err(Error::ConversationClosed(_))), "{r:?}");
    Ok(())
}

/// A tenant's own threading setting overrides the desk's default, both ways; settings
/// stored before the setting existed still load.
#[test]
fn tenant_settings_override_the_desk_default() -> R {
    let (per, bundling) = (tenant(), TenantId::new_v7());
    let mut desk = Desk::new(MemoryStore::new(), DeskConfig::default().id_seed(7));
    let mut settings = TenantSettings::default();
    settings.threading = Some(ThreadingPolicy::PerTopic);
    desk.set_tenant_settings(per, settings, "admin", t(0))?;
    let mut convs = Vec::new();
    for tn in [per, bundling] {
        let one = Inbound::new(tn, Channel::Email, ana(), "<a1@x>", "Parcel");
        let two = Inbound::new(tn, Channel::Email, ana(), "<b1@x>", "Invoice");
        let (x, y) = (desk.ingest(one, t(1))?, desk.ingest(two, t(2))?);
        convs.push(x.conversation != y.conversation);
    }
    assert_eq!(convs, [true, false], "per topic for one tenant only");

    // The other way round: a per-topic desk, a tenant that bundles.
    let mut desk = Desk::new(MemoryStore::new(), per_topic());
    let mut settings = TenantSettings::default();
    settings.threading = Some(ThreadingPolicy::Bundle);
    desk.set_tenant_settings(bundling, settings, "admin", t(0))?;
    let one = Inbound::new(bundling, Channel::Email, ana(), "<a1@x>", "Parcel");
    let two = Inbound::new(bundling, Channel::Email, ana(), "<b1@x>", "Invoice");
    assert_eq!(
        desk.ingest(one, t(1))?.conversation,
        desk.ingest(two, t(2))?.conversation
    );

    let old: TenantSettings = serde_json::from_str(r#"{"reopen_window": null}"#)?;
    assert_eq!(old.threading, None);
    let named: TenantSettings = serde_json::from_str(r#"{"threading": "per_topic"}"#)?;
    assert_eq!(named.threading, Some(ThreadingPolicy::PerTopic));
    assert!(named.validate().is_ok());
    Ok(())
}

/// Conversations and inbound messages stored before these fields existed still load.
#[test]
fn records_without_the_new_fields_still_load() -> R {
    let mut desk = Desk::new(MemoryStore::new(), DeskConfig::default().id_seed(7));
    let got = desk.ingest(chat(ana(), "c1", "Hi"), t(0))?;
    let mut json = serde_json::to_value(conv(&desk, got.conversation))?;
    let fields = json.as_object_mut().unwrap();
    assert!(fields.remove("related").is_some() && fields.remove("merged_into").is_some());
    let old: Conversation = serde_json::from_value(json)?;
    assert_eq!((old.related, old.merged_into), (None, None));
    let mut json = serde_json::to_value(chat(ana(), "c2", "Hi"))?;
    assert!(json.as_object_mut().unwrap().remove("new_topic").is_some());
    let old: Inbound = serde_json::from_value(json)?;
    assert!(!old.new_topic);
    Ok(())
}
