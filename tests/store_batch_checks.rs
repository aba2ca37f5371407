//! Change sets of every common kind of write, some of them bound to fail, inside and
//! outside batches: `SqliteStore` (a savepoint per change set inside a batch) and
//! `MemoryStore` run them in lockstep and agree on every outcome and every row after
//! every step: a change set that fails halfway through its writes must leave nothing.
//! Both refuse a change set with the same error, word for word: the change-set rules are
//! written once.

#![cfg(feature = "sqlite")]

mod common;
use common::lockstep::Lockstep;

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use proptest::prelude::*;
use throughline::identity::{Customer, IdentifierRecord};
use throughline::message::{Author, Direction};
use throughline::store::{ChangeSet, MemoryStore, Op, Record, Store};
use throughline::{
    Channel, Conversation, ConversationId, CustomerId, Identifier, Message, MessageId, TenantId,
};

#[derive(Debug, Clone)]
enum Write {
    Customer {
        id: u8,
        stale: bool,
    },
    /// Conversation ids are shared by both tenants: a new one may be taken by the other.
    Conversation {
        id: u8,
        stale: bool,
    },
    /// `owner` takes identifier `n`; `wrong` makes the expected owner wrong.
    Identifier {
        n: u8,
        owner: u8,
        wrong: bool,
    },
    /// Message ids and provider ids come from small pools, so both repeat.
    Message {
        id: u8,
        ext: Option<u8>,
    },
    /// Changes a message's body, keeping (or, `moved`, changing) its provider id.
    Update {
        id: u8,
        moved: bool,
    },
    Record {
        key: u8,
        stale: bool,
    },
}

#[derive(Debug, Clone)]
enum Step {
    Begin,
    End {
        commit: bool,
    },
    Set {
        tenant: u8,
        writes: Vec<Write>,
    },
    /// Reads every row of both stores and compares them. Only some steps read: reads
    /// fill the batch cache, so change sets that follow each other unread test that
    /// its rows stay right from writes alone.
    Compare,
}

fn write() -> impl Strategy<Value = Write> {
    let stale = || proptest::bool::weighted(0.1);
    prop_oneof![
        (0u8..2, stale()).prop_map(|(id, stale)| Write::Customer { id, stale }),
        (0u8..3, stale()).prop_map(|(id, stale)| Write::Conversation { id, stale }),
        (0u8..3, 0u8..2, proptest::bool::weighted(0.15))
            .prop_map(|(n, owner, wrong)| Write::Identifier { n, owner, wrong }),
        (0u8..6, proptest::option::of(0u8..4)).prop_map(|(id, ext)| Write::Message { id, ext }),
        (0u8..6, proptest::bool::weighted(0.2)).prop_map(|(id, moved)| Write::Update { id, moved }),
        (0u8..3, stale()).prop_map(|(key, stale)| Write::Record { key, stale }),
    ]
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        1 => Just(Step::Begin),
        1 => any::<bool>().prop_map(|commit| Step::End { commit }),
        6 => (0u8..2, proptest::collection::vec(write(), 1..5))
            .prop_map(|(tenant, writes)| Step::Set { tenant, writes }),
        2 => Just(Step::Compare),
    ]
}

fn uuid(n: u128) -> uuid::Uuid {
    uuid::Uuid::from_u128(n)
}

fn tenant(n: u8) -> TenantId {
    TenantId::from_uuid(uuid(0x100 + u128::from(n)))
}

fn customer_id(n: u8) -> CustomerId {
    CustomerId::from_uuid(uuid(0x200 + u128::from(n)))
}

fn conversation_id(n: u8) -> ConversationId {
    ConversationId::from_uuid(uuid(0x300 + u128::from(n)))
}

/// The conversation every message belongs to (one per tenant, stored before the steps).
fn home(t: u8) -> ConversationId {
    ConversationId::from_uuid(uuid(0x400 + u128::from(t)))
}

fn message_id(t: u8, n: u8) -> MessageId {
    MessageId::from_uuid(uuid(0x500 + 0x10 * u128::from(t) + u128::from(n)))
}

fn identifier(n: u8) -> Identifier {
    Identifier::email(&format!("person{n}@example.com")).expect("identifier")
}

fn t0() -> DateTime<Utc> {
    DateTime::from_timestamp(1_772_442_000, 0).expect("time")
}

fn message(t: u8, id: u8, ext: Option<u8>, body: &str) -> Message {
    Message {
        id: message_id(t, id),
        tenant: tenant(t),
        conversation: home(t),
        channel: Channel::WhatsApp,
        direction: Direction::Inbound,
        author: Author::System,
        body: body.to_string(),
        attachments: Vec::new(),
        counterpart: None,
        external_id: ext.map(|e| format!("wamid-{e}")),
        thread_key: None,
        inbox: None,
        quoted: None,
        automated: None,
        event: None,
        sent_at: t0(),
        received_at: t0(),
        language: None,
        delivery: None,
    }
}

/// The change set of a step, with versions and owners read from `reference` (and
/// carried from one write to the next within the set).
fn changes(t: u8, writes: &[Write], reference: &MemoryStore) -> ChangeSet {
    let tn = tenant(t);
    let mut set = ChangeSet::new(tn);
    let mut versions: HashMap<String, u64> = HashMap::new();
    let mut owners: HashMap<u8, Option<CustomerId>> = HashMap::new();
    let mut next = |key: String, stored: Option<u64>, stale: bool| {
        let now = versions.get(&key).copied().or(stored).unwrap_or(0);
        let v = if stale { now + 2 } else { now + 1 };
        if !stale {
            versions.insert(key, v);
        }
        v
    };
    for (i, w) in writes.iter().enumerate() {
        match *w {
            Write::Customer { id, stale } => {
                let stored = reference.customer(tn, customer_id(id)).expect("read");
                let mut c = Customer::new(customer_id(id), tn, t0());
                c.version = next(format!("c{id}"), stored.map(|c| c.version), stale);
                set.push(Op::PutCustomer(c));
            }
            Write::Conversation { id, stale } => {
                let stored = reference
                    .conversation(tn, conversation_id(id))
                    .expect("read");
                let mut c = Conversation::new(
                    conversation_id(id),
                    tn,
                    customer_id(0),
                    Channel::Email,
                    t0(),
                );
                c.version = next(format!("v{id}"), stored.map(|c| c.version), stale);
                set.push(Op::PutConversation(c));
            }
            Write::Identifier { n, owner, wrong } => {
                let current = match owners.get(&n) {
                    Some(o) => *o,
                    None => reference
                        .identifier(tn, &identifier(n))
                        .expect("read")
                        .map(|r| r.customer),
                };
                let expected = match (wrong, current) {
                    (false, c) => c,
                    (true, None) => Some(customer_id(1)),
                    (true, Some(_)) => None,
                };
                if !wrong {
                    owners.insert(n, Some(customer_id(owner)));
                }
                set.push(Op::PutIdentifier {
                    record: IdentifierRecord {
                        tenant: tn,
                        identifier: identifier(n),
                        customer: customer_id(owner),
                        source: Some(Channel::WhatsApp),
                        verified: false,
                        first_seen: t0(),
                        last_seen: t0(),
                    },
                    expected_owner: expected,
                });
            }
            Write::Message { id, ext } => {
                set.push(Op::InsertMessage(message(
                    t,
                    id,
                    ext,
                    &format!("step write {i}"),
                )));
            }
            Write::Update { id, moved } => {
                let stored = reference.message(tn, message_id(t, id)).expect("read");
                let ext = stored
                    .and_then(|m| m.external_id)
                    .and_then(|e| e.trim_start_matches("wamid-").parse::<u8>().ok());
                let ext = if moved {
                    Some(ext.map_or(0, |e| (e + 1) % 4))
                } else {
                    ext
                };
                set.push(Op::UpdateMessage(message(
                    t,
                    id,
                    ext,
                    &format!("updated {i}"),
                )));
            }
            Write::Record { key, stale } => {
                let stored = reference
                    .record(tn, "clock", &format!("k{key}"))
                    .expect("read");
                let mut r = Record::new("clock", format!("k{key}"), serde_json::json!(i));
                r.version = next(format!("r{key}"), stored.map(|r| r.version), stale);
                set.push(Op::PutRecord(r));
            }
        }
    }
    set
}

/// Every row the steps can touch, as a store reads it.
fn rows(store: &dyn Store) -> Vec<String> {
    let mut out = Vec::new();
    for t in 0..2 {
        let tn = tenant(t);
        for c in 0..2 {
            let got = store.customer(tn, customer_id(c)).expect("read");
            out.push(format!("{t}/c{c}: {:?}", got.map(|c| c.version)));
        }
        for v in 0..3 {
            let got = store.conversation(tn, conversation_id(v)).expect("read");
            out.push(format!("{t}/v{v}: {:?}", got.map(|c| c.version)));
        }
        for n in 0..3 {
            let got = store.identifier(tn, &identifier(n)).expect("read");
            out.push(format!("{t}/i{n}: {:?}", got.map(|r| r.customer)));
        }
        for m in 0..6 {
            let got = store.message(tn, message_id(t, m)).expect("read");
            out.push(format!(
                "{t}/m{m}: {:?}",
                got.map(|m| (m.body, m.external_id))
            ));
        }
        for e in 0..4 {
            let got = store
                .message_by_external_id(tn, &Channel::WhatsApp, &format!("wamid-{e}"))
                .expect("read");
            out.push(format!("{t}/e{e}: {:?}", got.map(|m| m.id)));
        }
        for k in 0..3 {
            let got = store.record(tn, "clock", &format!("k{k}")).expect("read");
            out.push(format!("{t}/k{k}: {:?}", got.map(|r| r.version)));
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn checked_batch_writes_equal_the_memory_store(
        steps in proptest::collection::vec(step(), 1..50)
    ) {
        let mut both = Lockstep::new();
        for t in 0..2 {
            let mut conv = Conversation::new(home(t), tenant(t), customer_id(0), Channel::WhatsApp, t0());
            conv.version = 1;
            let mut home_set = ChangeSet::new(tenant(t));
            home_set.push(Op::PutConversation(conv));
            let (a, b) = both.apply(home_set);
            a.expect("home");
            b.expect("home");
        }
        for (i, s) in steps.iter().enumerate() {
            match s {
                Step::Begin => both.begin(),
                Step::End { commit } => both.end(*commit),
                Step::Compare => {
                    prop_assert_eq!(rows(&both.memory), rows(&both.sqlite), "after step {}", i);
                }
                Step::Set { tenant: t, writes } => {
                    let c = changes(*t, writes, &both.memory);
                    let (a, b) = both.apply(c);
                    prop_assert_eq!(a.is_ok(), b.is_ok(), "step {}: {:?} vs {:?}", i, a, b);
                    // The rules are written once: the same violation, the same error.
                    prop_assert_eq!(&a, &b, "step {}", i);
                }
            }
        }
        both.end(true);
        prop_assert_eq!(rows(&both.memory), rows(&both.sqlite));
    }
}
