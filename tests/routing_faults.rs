//! Routing when the store fails: routing state is stored with the decisions that change
//! it, so an assignment the desk cannot write leaves no trace, the stored routing state
//! and the conversations agree after every failure, no work is dropped, and a retry or
//! the next tick hands the work out. Each story is run with the store failing at
//! each of its calls in turn (once, or from then on), then healed.

use chrono::{DateTime, NaiveTime, TimeDelta, Utc};
use throughline::message::Direction;
use throughline::routing::{Agent, Presence, RoutingConfig, Shift};
use throughline::store::{MemoryStore, Store};
use throughline::testkit::{FaultMode, FaultyStore};
use throughline::triage::{Intent, IntentCatalogue, TriageConfig, Value};
use throughline::{
    AgentId, Channel, Desk, DeskConfig, Effect, Identifier, Inbound, Status, TenantId,
};

type D = Desk<FaultyStore<Box<dyn Store>>>;

fn t(mins: i64) -> DateTime<Utc> {
    // A Monday, 10:00 in Amsterdam.
    DateTime::from_timestamp(1_772_442_000, 0).unwrap() + TimeDelta::minutes(mins)
}

fn tenant() -> TenantId {
    "01900000-0000-7000-8000-00000000f0a1".parse().unwrap()
}

fn ana() -> AgentId {
    "01900000-0000-7000-8000-0000000a0a0a".parse().unwrap()
}

/// A chat from a new customer (`n` names them and the message).
fn chat(desk: &mut D, n: u32, at: DateTime<Utc>) -> throughline::Result<()> {
    let who = Identifier::email(&format!("customer{n}@example.com"))?;
    let inbound = Inbound::new(
        tenant(),
        Channel::WebChat,
        who,
        format!("chat-{n}"),
        "Hello, I need help with my order",
    );
    desk.ingest(inbound, at).map(|_| ())
}

/// A desk that routes every new conversation, with Ana (who takes `capacity` chats)
/// registered as `agent` says.
fn desk(make: &dyn Fn() -> Box<dyn Store>, agent: Agent) -> D {
    let mut desk = Desk::new(
        FaultyStore::new(make(), 0, FaultMode::Once),
        DeskConfig::default()
            .id_seed(11)
            .routing(RoutingConfig::default()),
    );
    desk.upsert_agent(agent, t(-600)).unwrap();
    desk
}

/// The conversation of customer `n`.
fn conversation_of(desk: &D, n: u32) -> throughline::ConversationId {
    let who = Identifier::email(&format!("customer{n}@example.com")).unwrap();
    let customer = desk
        .store()
        .inner()
        .identifier(tenant(), &who)
        .unwrap()
        .unwrap()
        .customer;
    // Read past the faulty wrapper: the story's own lookups do not count as its calls.
    desk.store()
        .inner()
        .conversations_of(tenant(), customer)
        .unwrap()[0]
        .id
}

struct Story {
    name: &'static str,
    setup: fn(&dyn Fn() -> Box<dyn Store>) -> D,
    op: fn(&mut D) -> throughline::Result<()>,
    /// When the operation happens.
    at: DateTime<Utc>,
    /// The tick after the store heals.
    heal_at: DateTime<Utc>,
}

fn stories() -> Vec<Story> {
    vec![
        Story {
            name: "Ana solves a chat and takes the one waiting",
            setup: |make| {
                let mut d = desk(make, Agent::new(ana(), tenant(), "Ana").capacity(1));
                chat(&mut d, 1, t(0)).unwrap();
                chat(&mut d, 2, t(1)).unwrap();
                d
            },
            op: |d| {
                let c = conversation_of(d, 1);
                d.set_status((tenant(), c), Status::Solved, t(5))
                    .map(|_| ())
            },
            at: t(5),
            heal_at: t(6),
        },
        Story {
            name: "Ana comes online to three waiting chats",
            setup: |make| {
                let agent = Agent::new(ana(), tenant(), "Ana")
                    .capacity(3)
                    .presence(Presence::Offline);
                let mut d = desk(make, agent);
                for n in 1..=3 {
                    chat(&mut d, n, t(i64::from(n))).unwrap();
                }
                d
            },
            op: |d| {
                d.set_presence(tenant(), ana(), Presence::Available, t(5))
                    .map(|_| ())
            },
            at: t(5),
            heal_at: t(6),
        },
        Story {
            name: "a new chat goes straight to Ana",
            setup: |make| {
                let mut d = desk(make, Agent::new(ana(), tenant(), "Ana").capacity(2));
                chat(&mut d, 1, t(0)).unwrap();
                d
            },
            op: |d| chat(d, 2, t(5)),
            at: t(5),
            heal_at: t(6),
        },
        Story {
            name: "Ana's shift starts with two chats waiting",
            setup: |make| {
                let nine = NaiveTime::from_hms_opt(9, 0, 0).unwrap();
                let five = NaiveTime::from_hms_opt(17, 0, 0).unwrap();
                let shift = Shift::weekdays("Europe/Amsterdam", nine, five).unwrap();
                let agent = Agent::new(ana(), tenant(), "Ana").capacity(2).shift(shift);
                let mut d = desk(make, agent);
                // 08:00 and 08:10: before her shift.
                chat(&mut d, 1, t(-120)).unwrap();
                chat(&mut d, 2, t(-110)).unwrap();
                d.tick(t(-100)).unwrap();
                d
            },
            op: |d| d.tick(t(-55)).map(|_| ()),
            at: t(-55),
            heal_at: t(-50),
        },
    ]
}

/// Every conversation with what the store and the router say of it, without ids (a failed
/// attempt may have drawn some): first message, status, stored assignee, the router's
/// assignee, whether it waits.
fn state(desk: &D) -> Vec<String> {
    let router = desk.routing_state(tenant()).unwrap();
    let convs = desk
        .store()
        .inner()
        .conversations_in(tenant(), DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::MAX_UTC)
        .unwrap();
    let mut out: Vec<String> = convs
        .iter()
        .map(|c| {
            let first = desk.store().inner().messages_of(tenant(), c.id).unwrap()[0]
                .external_id
                .clone();
            let name = |a: Option<AgentId>| a.map(|a| if a == ana() { "Ana" } else { "?" });
            format!(
                "{first:?} {:?} stored {:?} router {:?} waiting {}",
                c.status,
                name(c.assignee),
                name(router.assignment(c.id)),
                router.is_waiting(c.id)
            )
        })
        .collect();
    out.sort();
    out
}

/// The invariants that must hold after any failure: the router's assignments are the
/// stored ones and count against Ana's capacity; an active conversation without an agent
/// waits in the router, unless the desk says (`next_wakeup`) that its tick is due by
/// `due_by` (follow-ups deferred by the failure).
fn agree(desk: &D, what: &str, due_by: DateTime<Utc>) {
    let router = desk.routing_state(tenant()).unwrap();
    let convs = desk
        .store()
        .inner()
        .conversations_in(tenant(), DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::MAX_UTC)
        .unwrap();
    let mut held = 0;
    for c in &convs {
        let assigned = router.assignment(c.id);
        if let Some(a) = assigned {
            held += 1;
            assert_eq!(
                c.assignee,
                Some(a),
                "{what}: the router assigned a conversation whose assignee was not written"
            );
            assert!(!router.is_waiting(c.id), "{what}: assigned and waiting");
        }
        if c.status.is_active() && c.assignee.is_none() && !router.is_waiting(c.id) {
            let due = desk.next_wakeup().unwrap();
            assert!(
                due.is_some_and(|d| d <= due_by),
                "{what}: an active conversation without an agent is not waiting, and no \
                 tick is due (next wakeup {due:?})"
            );
        }
    }
    assert_eq!(
        router.load(ana()),
        Some(held),
        "{what}: Ana's load is not the work she holds"
    );
}

fn run_all(make: &dyn Fn() -> Box<dyn Store>) {
    for story in stories() {
        let name = story.name;
        // A fault-free run.
        let mut clean = (story.setup)(make);
        agree(&clean, name, story.at);
        let start = clean.store().calls();
        (story.op)(&mut clean).unwrap_or_else(|e| panic!("{name} fails without faults: {e}"));
        let calls = clean.store().calls() - start;
        clean.tick(story.heal_at).unwrap();
        agree(&clean, name, story.at);
        let want = state(&clean);
        assert!(
            want.iter().any(|s| s.contains("stored Some(\"Ana\")")),
            "{name}: Ana got work in the clean run: {want:#?}"
        );
        assert!(calls > 0, "{name} makes store calls");
        for mode in [FaultMode::Once, FaultMode::FromThenOn] {
            for k in 1..=calls {
                let what = format!("{name}, fault at call {k} ({mode:?})");
                let mut d = (story.setup)(make);
                d.store().fail_after(k, mode);
                let failed = (story.op)(&mut d).is_err();
                d.store().disarm();
                agree(&d, &what, story.at);
                if failed {
                    // The host retries what failed; a step that landed is not redone.
                    let _ = (story.op)(&mut d);
                    agree(&d, &what, story.at);
                }
                d.tick(story.heal_at).unwrap();
                // Healed: nothing is left for a later tick.
                agree(&d, &what, DateTime::<Utc>::MIN_UTC);
                assert_eq!(
                    state(&d),
                    want,
                    "{what}: healed state differs from a clean run"
                );
            }
        }
    }
}

#[test]
fn routing_survives_a_store_failure_at_every_call_memory() {
    run_all(&|| Box::new(MemoryStore::new()));
}

#[cfg(feature = "sqlite")]
#[test]
fn routing_survives_a_store_failure_at_every_call_sqlite() {
    run_all(&|| Box::new(throughline::store::SqliteStore::open_in_memory().unwrap()));
}

/// A customer asks where her order is; the bot answers with the article. The store fails
/// at each call of the ingest in turn: the answer is sent exactly once in the end, by the
/// ingest or by the next tick, never twice and never lost.
fn the_bot_answers_once(make: &dyn Fn() -> Box<dyn Store>) {
    let catalogue = IntentCatalogue::new()
        .with(
            Intent::new("order_status", Value::High, Value::Low)
                .article("kb/where-is-my-order")
                .phrases("en", &["where is my order"]),
        )
        .unwrap();
    let fresh = || {
        Desk::new(
            FaultyStore::new(make(), 0, FaultMode::Once),
            DeskConfig::default()
                .id_seed(5)
                .triage(TriageConfig::new(catalogue.clone())),
        )
    };
    let question = || {
        Inbound::new(
            tenant(),
            Channel::Email,
            Identifier::email("bo@example.com").unwrap(),
            "<o1@x>",
            "Hi, where is my order? It has been a week.",
        )
    };
    let sent = |effects: &[Effect]| {
        effects
            .iter()
            .filter(|e| matches!(e, Effect::Send(_)))
            .count()
    };
    let calls = {
        let mut d = fresh();
        let got = d.ingest(question(), t(0)).unwrap();
        assert_eq!(sent(&got.effects), 1, "the clean ingest sends the answer");
        d.store().calls()
    };
    let mut deferred = 0;
    for mode in [FaultMode::Once, FaultMode::FromThenOn] {
        for k in 1..=calls {
            let what = format!("fault at call {k} ({mode:?})");
            let mut d = fresh();
            d.store().fail_after(k, mode);
            let first = d.ingest(question(), t(0));
            d.store().disarm();
            let mut sends = first.as_ref().map_or(0, |g| sent(&g.effects));
            let conversation = match first {
                Ok(got) => got.conversation,
                // Nothing landed: the host retries.
                Err(_) => {
                    let got = d.ingest(question(), t(0)).unwrap();
                    sends += sent(&got.effects);
                    got.conversation
                }
            };
            let due = d.next_wakeup().unwrap();
            if sends == 0 {
                deferred += 1;
                assert!(
                    due.is_some_and(|w| w <= t(0)),
                    "{what}: the answer is due at once"
                );
            }
            sends += sent(&d.tick(t(1)).unwrap());
            assert_eq!(sends, 1, "{what}: the answer is sent once");
            let messages = d.messages((tenant(), conversation)).unwrap();
            let outbound = messages
                .iter()
                .filter(|m| m.direction == Direction::Outbound)
                .count();
            assert_eq!(outbound, 1, "{what}: one answer stored");
            assert_eq!(messages.len(), 2, "{what}: the question and the answer");
            assert_eq!(
                d.conversation((tenant(), conversation)).unwrap().status,
                Status::Pending,
                "{what}: the bot waits on the customer"
            );
        }
    }
    assert!(deferred > 0, "some faults fell after the message's commit");
}

#[test]
fn a_deferred_bot_answer_is_sent_once_memory() {
    the_bot_answers_once(&|| Box::new(MemoryStore::new()));
}

#[cfg(feature = "sqlite")]
#[test]
fn a_deferred_bot_answer_is_sent_once_sqlite() {
    the_bot_answers_once(&|| Box::new(throughline::store::SqliteStore::open_in_memory().unwrap()));
}
