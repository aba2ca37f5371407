//! The conformance suite every [`Store`] must pass.
//!
//! Call [`run`] from a test with a function that makes a fresh, empty store:
//!
//! ```
//! throughline::testkit::conformance::run(throughline::store::MemoryStore::new);
//! ```
//!
//! A host that implements its own `Store` runs the same suite against it. Each check
//! panics with a message naming the broken rule.
//!
//! # Panics
//!
//! Every function here panics when the store does not conform: that is its purpose.

use chrono::{DateTime, TimeDelta, Utc};

use crate::channel::Channel;
use crate::conversation::{Conversation, Status};
use crate::desk::{Desk, DeskConfig};
use crate::effect::Effect;
use crate::error::Error;
use crate::id::{AgentId, ConversationId, CustomerId, MessageId, TenantId};
use crate::identity::{Customer, Identifier, IdentifierRecord};
use crate::message::{Author, Delivery, Direction, Inbound, Message};
use crate::store::{ChangeSet, Op, Record, Store};

mod inbox;
pub use inbox::{desk_inbox_story, inbox_views};

/// Runs every check against fresh stores from `make`.
pub fn run<S: Store>(mut make: impl FnMut() -> S) {
    versions_are_checked(make());
    deduplication_key_is_unique(make());
    change_sets_are_atomic(make());
    identifiers_have_one_owner(make());
    tenants_are_isolated(make());
    thread_keys_keep_their_first_conversation(make());
    messages_and_thread_keys_follow_a_move(make());
    messages_come_back_in_order(make());
    conversations_of_a_period_come_in_pages(make());
    inbox_views(make());
    desk_inbox_story(make());
    outbox_tracks_pending_deliveries(make());
    records_are_versioned_and_indexed(make());
    desk_story_chat_email_whatsapp(make());
    desk_closed_conversation_starts_a_linked_one(make());
    desk_merge_and_unmerge_round_trip(make());
    erasure_ops_delete_and_redact(make());
    desk_erasure_story(make());
    read_ahead_agrees_with_reads(make());
    batches_land_together_or_not_at_all(make());
}

fn t(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_767_261_600 + secs, 0).expect("valid time")
}

fn uuid(n: u128) -> uuid::Uuid {
    uuid::Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0000 | n)
}

fn customer(tenant: TenantId, n: u128, version: u64) -> Customer {
    let mut c = Customer::new(CustomerId::from_uuid(uuid(n)), tenant, t(0));
    c.version = version;
    c
}

fn conversation(tenant: TenantId, n: u128, customer: CustomerId, version: u64) -> Conversation {
    let mut c = Conversation::new(
        ConversationId::from_uuid(uuid(n)),
        tenant,
        customer,
        Channel::Email,
        t(0),
    );
    c.version = version;
    c
}

fn message(tenant: TenantId, n: u128, conv: ConversationId, ext: Option<&str>, at: i64) -> Message {
    Message {
        id: MessageId::from_uuid(uuid(n)),
        tenant,
        conversation: conv,
        channel: Channel::Email,
        direction: Direction::Inbound,
        author: Author::System,
        body: format!("message {n}"),
        attachments: Vec::new(),
        counterpart: None,
        external_id: ext.map(str::to_string),
        thread_key: None,
        // Every field a message carries must come back as written.
        inbox: ext.map(|_| "support@shop.example".to_string()),
        quoted: ext.map(|_| format!("> quoted history of {n}")),
        automated: (n % 2 == 1).then_some(crate::message::Automated::AutoReply),
        event: None,
        sent_at: t(at),
        received_at: t(at),
        language: None,
        delivery: None,
    }
}

fn set(tenant: TenantId, ops: Vec<Op>) -> ChangeSet {
    ChangeSet { tenant, ops }
}

fn is_conflict<T: std::fmt::Debug>(r: crate::Result<T>) -> bool {
    matches!(r, Err(Error::Conflict(_)))
}

fn tenant(n: u128) -> TenantId {
    TenantId::from_uuid(uuid(0xAA00 + n))
}

/// Inserting an existing version, or skipping one, is a conflict.
pub fn versions_are_checked<S: Store>(mut s: S) {
    let tn = tenant(1);
    s.apply(set(tn, vec![Op::PutCustomer(customer(tn, 1, 1))]))
        .expect("insert a customer");
    assert!(
        is_conflict(s.apply(set(tn, vec![Op::PutCustomer(customer(tn, 1, 1))]))),
        "inserting a customer twice must be a conflict"
    );
    assert!(
        is_conflict(s.apply(set(tn, vec![Op::PutCustomer(customer(tn, 1, 3))]))),
        "skipping a version must be a conflict"
    );
    s.apply(set(tn, vec![Op::PutCustomer(customer(tn, 1, 2))]))
        .expect("update to version 2");
    assert!(
        is_conflict(s.apply(set(tn, vec![Op::PutCustomer(customer(tn, 1, 2))]))),
        "writing version 2 twice (a lost update) must be a conflict"
    );
    let cust = CustomerId::from_uuid(uuid(1));
    s.apply(set(
        tn,
        vec![Op::PutConversation(conversation(tn, 10, cust, 1))],
    ))
    .expect("insert a conversation");
    assert!(
        is_conflict(s.apply(set(
            tn,
            vec![Op::PutConversation(conversation(tn, 10, cust, 1))]
        ))),
        "inserting a conversation twice must be a conflict"
    );
    assert_eq!(
        s.customer(tn, cust).expect("read").map(|c| c.version),
        Some(2)
    );
}

/// `(tenant, channel, external_id)` is unique; the same id on another channel or tenant
/// is another message.
pub fn deduplication_key_is_unique<S: Store>(mut s: S) {
    let (a, b) = (tenant(1), tenant(2));
    let cust = CustomerId::from_uuid(uuid(1));
    for tn in [a, b] {
        s.apply(set(tn, vec![Op::PutCustomer(customer(tn, 1, 1))]))
            .expect("customer");
    }
    let conv_a = conversation(a, 10, cust, 1);
    let conv_b = conversation(b, 11, cust, 1);
    s.apply(set(
        a,
        vec![
            Op::PutConversation(conv_a.clone()),
            Op::InsertMessage(message(a, 100, conv_a.id, Some("ext-1"), 1)),
        ],
    ))
    .expect("first message");
    assert!(
        is_conflict(s.apply(set(
            a,
            vec![Op::InsertMessage(message(
                a,
                101,
                conv_a.id,
                Some("ext-1"),
                2
            ))]
        ))),
        "a second message with the same (tenant, channel, external_id) must be a conflict"
    );
    let mut other_channel = message(a, 102, conv_a.id, Some("ext-1"), 3);
    other_channel.channel = Channel::Sms;
    s.apply(set(a, vec![Op::InsertMessage(other_channel)]))
        .expect("the same external id on another channel is another message");
    s.apply(set(
        b,
        vec![
            Op::PutConversation(conv_b.clone()),
            Op::InsertMessage(message(b, 103, conv_b.id, Some("ext-1"), 1)),
        ],
    ))
    .expect("the same external id in another tenant is another message");
    let found = s
        .message_by_external_id(a, &Channel::Email, "ext-1")
        .expect("read")
        .expect("stored");
    assert_eq!(found.id, MessageId::from_uuid(uuid(100)));
    assert!(
        is_conflict(s.apply(set(
            a,
            vec![Op::InsertMessage(message(a, 100, conv_a.id, None, 4))]
        ))),
        "a message id must be unique"
    );
}

/// A change set whose last op conflicts writes nothing at all.
pub fn change_sets_are_atomic<S: Store>(mut s: S) {
    let tn = tenant(1);
    let c1 = customer(tn, 1, 1);
    let conv = conversation(tn, 10, c1.id, 1);
    s.apply(set(
        tn,
        vec![
            Op::PutCustomer(c1.clone()),
            Op::PutConversation(conv.clone()),
            Op::InsertMessage(message(tn, 100, conv.id, Some("ext-1"), 1)),
        ],
    ))
    .expect("setup");
    let c2 = customer(tn, 2, 1);
    let conv2 = conversation(tn, 11, c2.id, 1);
    let ident = Identifier::email("atomic@example.com").expect("valid");
    let result = s.apply(set(
        tn,
        vec![
            Op::PutCustomer(c2.clone()),
            Op::PutIdentifier {
                record: IdentifierRecord {
                    tenant: tn,
                    identifier: ident.clone(),
                    customer: c2.id,
                    source: None,
                    verified: false,
                    first_seen: t(0),
                    last_seen: t(0),
                },
                expected_owner: None,
            },
            Op::PutConversation(conv2.clone()),
            Op::PutThreadKey {
                key: "email:atomic".into(),
                conversation: conv2.id,
            },
            Op::InsertMessage(message(tn, 101, conv2.id, Some("ext-2"), 2)),
            // Duplicate delivery: conflicts, so nothing above may land.
            Op::InsertMessage(message(tn, 102, conv2.id, Some("ext-1"), 3)),
        ],
    ));
    assert!(
        is_conflict(result),
        "the duplicate must be reported as a conflict"
    );
    assert!(
        s.customer(tn, c2.id).expect("read").is_none(),
        "customer of a failed change set was stored"
    );
    assert!(
        s.identifier(tn, &ident).expect("read").is_none(),
        "identifier of a failed change set was stored"
    );
    assert!(
        s.conversation(tn, conv2.id).expect("read").is_none(),
        "conversation of a failed change set was stored"
    );
    assert!(
        s.thread(tn, "email:atomic").expect("read").is_none(),
        "thread key of a failed change set was stored"
    );
    assert!(
        s.message(tn, MessageId::from_uuid(uuid(101)))
            .expect("read")
            .is_none(),
        "message of a failed change set was stored"
    );
    assert!(s
        .message_by_external_id(tn, &Channel::Email, "ext-2")
        .expect("read")
        .is_none());
    assert_eq!(s.messages_of(tn, conv.id).expect("read").len(), 1);
}

/// An identifier has one owner; it moves only from the owner the writer read.
pub fn identifiers_have_one_owner<S: Store>(mut s: S) {
    let tn = tenant(1);
    let (c1, c2) = (customer(tn, 1, 1), customer(tn, 2, 1));
    let ident = Identifier::email("one@example.com").expect("valid");
    let record = |owner: CustomerId| IdentifierRecord {
        tenant: tn,
        identifier: ident.clone(),
        customer: owner,
        source: Some(Channel::Email),
        verified: false,
        first_seen: t(0),
        last_seen: t(0),
    };
    s.apply(set(
        tn,
        vec![
            Op::PutCustomer(c1.clone()),
            Op::PutCustomer(c2.clone()),
            Op::PutIdentifier {
                record: record(c1.id),
                expected_owner: None,
            },
        ],
    ))
    .expect("setup");
    assert!(
        is_conflict(s.apply(set(
            tn,
            vec![Op::PutIdentifier {
                record: record(c2.id),
                expected_owner: None
            }]
        ))),
        "creating an identifier that exists must be a conflict"
    );
    assert!(
        is_conflict(s.apply(set(
            tn,
            vec![Op::PutIdentifier {
                record: record(c2.id),
                expected_owner: Some(c2.id)
            }]
        ))),
        "moving an identifier from the wrong owner must be a conflict"
    );
    s.apply(set(
        tn,
        vec![Op::PutIdentifier {
            record: record(c2.id),
            expected_owner: Some(c1.id),
        }],
    ))
    .expect("move from the right owner");
    assert_eq!(
        s.identifier(tn, &ident).expect("read").map(|r| r.customer),
        Some(c2.id)
    );
    assert!(s.identifiers_of(tn, c1.id).expect("read").is_empty());
    assert_eq!(s.identifiers_of(tn, c2.id).expect("read").len(), 1);
}

/// Another tenant's ids read as absent, and a change set cannot write across tenants.
pub fn tenants_are_isolated<S: Store>(mut s: S) {
    let (a, b) = (tenant(1), tenant(2));
    let c = customer(a, 1, 1);
    let conv = conversation(a, 10, c.id, 1);
    let ident = Identifier::email("iso@example.com").expect("valid");
    s.apply(set(
        a,
        vec![
            Op::PutCustomer(c.clone()),
            Op::PutIdentifier {
                record: IdentifierRecord {
                    tenant: a,
                    identifier: ident.clone(),
                    customer: c.id,
                    source: None,
                    verified: true,
                    first_seen: t(0),
                    last_seen: t(0),
                },
                expected_owner: None,
            },
            Op::PutConversation(conv.clone()),
            Op::PutThreadKey {
                key: "email:k".into(),
                conversation: conv.id,
            },
            Op::InsertMessage(message(a, 100, conv.id, Some("ext"), 1)),
        ],
    ))
    .expect("setup");
    assert!(s.customer(b, c.id).expect("read").is_none());
    assert!(s.identifier(b, &ident).expect("read").is_none());
    assert!(s.identifiers_of(b, c.id).expect("read").is_empty());
    assert!(s.conversation(b, conv.id).expect("read").is_none());
    assert!(s.conversations_of(b, c.id).expect("read").is_empty());
    assert!(s.open_conversation(b, c.id).expect("read").is_none());
    assert!(s
        .message(b, MessageId::from_uuid(uuid(100)))
        .expect("read")
        .is_none());
    assert!(s
        .message_by_external_id(b, &Channel::Email, "ext")
        .expect("read")
        .is_none());
    assert!(s.messages_of(b, conv.id).expect("read").is_empty());
    assert!(s.timeline(b, c.id, None).expect("read").is_empty());
    assert!(s.thread(b, "email:k").expect("read").is_none());
    // Read in its own tenant, a conversation comes back with that tenant.
    assert_eq!(
        s.conversation(a, conv.id).expect("read").map(|c| c.tenant),
        Some(a)
    );
    assert!(s
        .conversation(a, ConversationId::from_uuid(uuid(999)))
        .expect("read")
        .is_none());
    assert!(s
        .latest_inbound(b, conv.id, &Channel::Email)
        .expect("read")
        .is_none());
    let err = s.apply(set(b, vec![Op::PutCustomer(customer(a, 5, 1))]));
    assert!(
        err.is_err(),
        "a change set must not write another tenant's records"
    );
    assert!(s
        .customer(a, CustomerId::from_uuid(uuid(5)))
        .expect("read")
        .is_none());
    let mut stolen = conv.clone();
    stolen.tenant = b;
    stolen.version = 2;
    assert!(
        s.apply(set(b, vec![Op::PutConversation(stolen)])).is_err(),
        "a conversation id of tenant A must not be writable in tenant B"
    );
    assert_eq!(
        s.conversation(a, conv.id).expect("read").map(|c| c.version),
        Some(1)
    );
}

/// A thread key keeps the first conversation it was pointed at.
pub fn thread_keys_keep_their_first_conversation<S: Store>(mut s: S) {
    let tn = tenant(1);
    let c = customer(tn, 1, 1);
    let (x, y) = (conversation(tn, 10, c.id, 1), conversation(tn, 11, c.id, 1));
    s.apply(set(
        tn,
        vec![
            Op::PutCustomer(c),
            Op::PutConversation(x.clone()),
            Op::PutConversation(y.clone()),
            Op::PutThreadKey {
                key: "k".into(),
                conversation: x.id,
            },
        ],
    ))
    .expect("setup");
    s.apply(set(
        tn,
        vec![Op::PutThreadKey {
            key: "k".into(),
            conversation: y.id,
        }],
    ))
    .expect("a second pointer to a key is not an error");
    assert_eq!(s.thread(tn, "k").expect("read"), Some(x.id));
    // A conversation's keys go together; other conversations' and tenants' stay.
    let other = tenant(2);
    let oc = customer(other, 1, 1);
    let ox = conversation(other, 12, oc.id, 1);
    s.apply(set(
        other,
        vec![
            Op::PutCustomer(oc),
            Op::PutConversation(ox.clone()),
            Op::PutThreadKey {
                key: "k".into(),
                conversation: ox.id,
            },
        ],
    ))
    .expect("another tenant's key");
    let keys = |conversation| {
        ["k2", "k3"].map(|key| Op::PutThreadKey {
            key: key.into(),
            conversation,
        })
    };
    let mut ops: Vec<Op> = keys(x.id).into();
    ops.push(Op::PutThreadKey {
        key: "k4".into(),
        conversation: y.id,
    });
    s.apply(set(tn, ops)).expect("more keys");
    s.apply(set(tn, vec![Op::DeleteThreadKeysOf { conversation: x.id }]))
        .expect("delete a conversation's keys");
    for key in ["k", "k2", "k3"] {
        assert_eq!(s.thread(tn, key).expect("read"), None, "{key} deleted");
    }
    assert_eq!(s.thread(tn, "k4").expect("read"), Some(y.id));
    assert_eq!(s.thread(other, "k").expect("read"), Some(ox.id));
    s.apply(set(tn, vec![Op::DeleteThreadKeysOf { conversation: x.id }]))
        .expect("none left is not an error");
}

/// A message moved to another conversation (`UpdateMessage` with a new conversation, as
/// a merge or a split writes it) is read there, in time order among that conversation's
/// own, and no longer in the one it left; `MoveThreadKeys` points every key of one
/// conversation at another, and no other conversation's or tenant's.
pub fn messages_and_thread_keys_follow_a_move<S: Store>(mut s: S) {
    let tn = tenant(1);
    let c = customer(tn, 1, 1);
    let (x, y) = (conversation(tn, 10, c.id, 1), conversation(tn, 11, c.id, 1));
    let (m1, m2, m3) = (
        message(tn, 100, x.id, Some("<m1>"), 1),
        message(tn, 101, y.id, Some("<m2>"), 2),
        message(tn, 102, x.id, Some("<m3>"), 3),
    );
    let key = |k: &str, conversation| Op::PutThreadKey {
        key: k.into(),
        conversation,
    };
    s.apply(set(
        tn,
        vec![
            Op::PutCustomer(c.clone()),
            Op::PutConversation(x.clone()),
            Op::PutConversation(y.clone()),
            Op::InsertMessage(m1.clone()),
            Op::InsertMessage(m2.clone()),
            Op::InsertMessage(m3.clone()),
            key("kx", x.id),
            key("kx2", x.id),
            key("ky", y.id),
        ],
    ))
    .expect("setup");
    let other = tenant(2);
    let oc = customer(other, 2, 1);
    let ox = conversation(other, 12, oc.id, 1);
    s.apply(set(
        other,
        vec![
            Op::PutCustomer(oc),
            Op::PutConversation(ox.clone()),
            key("kx", ox.id),
        ],
    ))
    .expect("another tenant");
    let ids = |s: &S, conv| -> Vec<MessageId> {
        s.messages_of(tn, conv)
            .expect("read")
            .into_iter()
            .map(|m| m.id)
            .collect()
    };
    let mut moved = m1.clone();
    moved.conversation = y.id;
    s.apply(set(tn, vec![Op::UpdateMessage(moved.clone())]))
        .expect("move one message");
    assert_eq!(ids(&s, x.id), vec![m3.id], "it left x");
    assert_eq!(ids(&s, y.id), vec![m1.id, m2.id], "in time order in y");
    assert_eq!(s.message(tn, m1.id).expect("read"), Some(moved));
    assert_eq!(
        s.message_ids_of(tn, y.id).expect("read"),
        vec![m1.id, m2.id],
        "the ids follow too"
    );
    assert_eq!(
        s.message_by_external_id(tn, &Channel::Email, "<m1>")
            .expect("read")
            .map(|m| m.conversation),
        Some(y.id),
        "deduplication still finds it"
    );
    let mut last = m3.clone();
    last.conversation = y.id;
    s.apply(set(
        tn,
        vec![
            Op::UpdateMessage(last),
            Op::MoveThreadKeys {
                from: x.id,
                to: y.id,
            },
        ],
    ))
    .expect("move the rest and the keys");
    assert!(ids(&s, x.id).is_empty());
    assert_eq!(ids(&s, y.id), vec![m1.id, m2.id, m3.id]);
    for k in ["kx", "kx2", "ky"] {
        assert_eq!(s.thread(tn, k).expect("read"), Some(y.id), "{k}");
    }
    assert_eq!(s.thread(other, "kx").expect("read"), Some(ox.id));
    s.apply(set(
        tn,
        vec![Op::MoveThreadKeys {
            from: x.id,
            to: y.id,
        }],
    ))
    .expect("no keys left is not an error");
}

/// `conversations_in_page` walks `conversations_in` in `(created_at, id)` order: pages of
/// any size, taken one after another from the last key, give the same conversations in
/// the same order, ties on the opening time included; the period's bounds hold and
/// another tenant sees none.
pub fn conversations_of_a_period_come_in_pages<S: Store>(mut s: S) {
    let tn = tenant(1);
    let c = customer(tn, 1, 1);
    let mut ops = vec![Op::PutCustomer(c.clone())];
    // Opening times 0, 10, 10, 10, 20, ..., inserted out of order; ids not in time order.
    for (n, at) in [
        (17, 20),
        (12, 10),
        (30, 0),
        (11, 10),
        (19, 10),
        (25, 40),
        (14, 30),
        (16, 50),
    ] {
        let mut x = conversation(tn, n, c.id, 1);
        x.created_at = t(at);
        ops.push(Op::PutConversation(x));
    }
    s.apply(set(tn, ops)).expect("setup");
    let key = |x: &Conversation| x.id.as_uuid().as_u128() & 0xFFFF;
    let (from, to) = (t(0), t(50));
    let whole: Vec<u128> = s
        .conversations_in(tn, from, to)
        .expect("read")
        .iter()
        .map(key)
        .collect();
    assert_eq!(
        whole,
        vec![30, 11, 12, 19, 17, 14, 25],
        "by (created_at, id)"
    );
    for limit in [1, 2, 3, 7, 100] {
        let mut walked = Vec::new();
        let mut after = None;
        loop {
            let page = s
                .conversations_in_page(tn, from, to, after, limit)
                .expect("read");
            if page.is_empty() {
                break;
            }
            after = page.last().map(|x| (x.created_at, x.id));
            walked.extend(page.iter().map(key));
            assert!(walked.len() <= whole.len(), "pages repeat conversations");
        }
        assert_eq!(walked, whole, "pages of {limit}");
    }
    // After a key in the middle of a tie: the rest of the tie, then the later ones.
    let eleven = s
        .conversations_in(tn, from, to)
        .expect("read")
        .into_iter()
        .find(|x| key(x) == 11)
        .expect("conversation 11");
    let rest: Vec<u128> = s
        .conversations_in_page(tn, t(10), t(31), Some((eleven.created_at, eleven.id)), 100)
        .expect("read")
        .iter()
        .map(key)
        .collect();
    assert_eq!(rest, vec![12, 19, 17, 14]);
    assert!(s
        .conversations_in_page(tenant(2), from, to, None, 100)
        .expect("read")
        .is_empty());
}

/// Messages are returned by `(sent_at, received_at, id)`, whatever the insertion order;
/// the timeline spans conversations and `limit` keeps the newest, as `recent_messages`
/// does within a conversation.
pub fn messages_come_back_in_order<S: Store>(mut s: S) {
    let tn = tenant(1);
    let c = customer(tn, 1, 1);
    let mut x = conversation(tn, 10, c.id, 1);
    x.status = Status::Closed;
    let y = conversation(tn, 11, c.id, 1);
    s.apply(set(
        tn,
        vec![
            Op::PutCustomer(c.clone()),
            Op::PutConversation(x.clone()),
            Op::PutConversation(y.clone()),
        ],
    ))
    .expect("setup");
    for (n, conv, at) in [
        (100, x.id, 30),
        (101, x.id, 10),
        (102, y.id, 20),
        (103, y.id, 40),
        (104, x.id, 20),
    ] {
        s.apply(set(
            tn,
            vec![Op::InsertMessage(message(tn, n, conv, None, at))],
        ))
        .expect("insert");
    }
    timeline_is_in_order(&s, tn, c.id, x.id);
    recent_messages_and_ids_are_in_order(&s, tn, c.id, x.id, y.id);
    latest_inbound_passes_over_replies_and_other_channels(&mut s, tn, x.id, y.id);
}

/// The low bits of an id, which the suite's ids are numbered by.
fn short(id: uuid::Uuid) -> u128 {
    id.as_u128() & 0xFFFF
}

/// Part of [`messages_come_back_in_order`]: a conversation's messages and the
/// customer's timeline come in order, and `limit` keeps the newest.
fn timeline_is_in_order<S: Store>(s: &S, tn: TenantId, c: CustomerId, x: ConversationId) {
    let xs: Vec<i64> = s
        .messages_of(tn, x)
        .expect("read")
        .iter()
        .map(|m| m.sent_at.timestamp() - t(0).timestamp())
        .collect();
    assert_eq!(xs, vec![10, 20, 30]);
    let tl: Vec<u128> = s
        .timeline(tn, c, None)
        .expect("read")
        .iter()
        .map(|m| short(m.id.as_uuid()))
        .collect();
    assert_eq!(
        tl,
        vec![101, 102, 104, 100, 103],
        "timeline order by (sent_at, received_at, id)"
    );
    let last2: Vec<u128> = s
        .timeline(tn, c, Some(2))
        .expect("read")
        .iter()
        .map(|m| short(m.id.as_uuid()))
        .collect();
    assert_eq!(last2, vec![100, 103]);
}

/// Part of [`messages_come_back_in_order`]: the newest messages of one conversation
/// and its message ids come in the same order as its messages.
fn recent_messages_and_ids_are_in_order<S: Store>(
    s: &S,
    tn: TenantId,
    c: CustomerId,
    x: ConversationId,
    y: ConversationId,
) {
    // The newest messages of one conversation, oldest of them first: the tail of
    // `messages_of`, whatever the insertion order; another tenant sees none.
    let recent = |s: &S, limit: usize| -> Vec<u128> {
        s.recent_messages(tn, x, limit)
            .expect("read")
            .iter()
            .map(|m| short(m.id.as_uuid()))
            .collect()
    };
    assert_eq!(recent(s, 2), vec![104, 100], "the newest two, oldest first");
    // Scrolling back: the page before a message, by its order key, oldest first.
    let all = s.messages_of(tn, x).expect("read");
    let before = |s: &S, key: crate::store::MessageKey, limit: usize| -> Vec<u128> {
        s.messages_before(tn, x, key, limit)
            .expect("read")
            .iter()
            .map(|m| short(m.id.as_uuid()))
            .collect()
    };
    assert_eq!(before(s, all[2].order_key(), 10), vec![101, 104]);
    assert_eq!(
        before(s, all[2].order_key(), 1),
        vec![104],
        "the nearest first"
    );
    assert_eq!(before(s, all[1].order_key(), 10), vec![101]);
    assert!(before(s, all[0].order_key(), 10).is_empty());
    assert!(s
        .messages_before(tenant(2), x, all[2].order_key(), 10)
        .expect("read")
        .is_empty());
    assert_eq!(recent(s, 10), vec![101, 104, 100]);
    assert!(recent(s, 0).is_empty());
    // The ids alone, in the same order as the messages; another tenant sees none.
    let ids = |s: &S, t: TenantId, c: ConversationId| -> Vec<u128> {
        s.message_ids_of(t, c)
            .expect("read")
            .iter()
            .map(|id| short(id.as_uuid()))
            .collect()
    };
    assert_eq!(ids(s, tn, x), vec![101, 104, 100]);
    assert_eq!(ids(s, tn, y), vec![102, 103]);
    assert!(ids(s, tenant(2), x).is_empty());
    assert!(ids(s, tn, conversation(tn, 99, c, 1).id).is_empty());
    assert!(s
        .recent_messages(tenant(2), x, 10)
        .expect("read")
        .is_empty());
    assert_eq!(
        s.open_conversation(tn, c).expect("read").map(|c| c.id),
        Some(y)
    );
    assert_eq!(s.conversations_of(tn, c).expect("read").len(), 2);
}

/// Part of [`messages_come_back_in_order`]: the newest inbound message on a channel.
fn latest_inbound_passes_over_replies_and_other_channels<S: Store>(
    s: &mut S,
    tn: TenantId,
    x: ConversationId,
    y: ConversationId,
) {
    // The newest inbound message on a channel: later outbound replies and messages on
    // other channels are passed over, whatever the insertion order.
    let latest = |s: &S, ch: &Channel| -> Option<u128> {
        s.latest_inbound(tn, x, ch)
            .expect("read")
            .map(|m| short(m.id.as_uuid()))
    };
    assert_eq!(latest(s, &Channel::Email), Some(100));
    let mut reply = message(tn, 105, x, None, 50);
    reply.direction = Direction::Outbound;
    let mut chat = message(tn, 106, x, Some("chat-1"), 45);
    chat.channel = Channel::WebChat;
    let mut early = message(tn, 107, x, Some("e-0"), 5);
    early.received_at = t(60); // received late, sent first: order is by sent time
    for m in [reply, chat, early] {
        s.apply(set(tn, vec![Op::InsertMessage(m)]))
            .expect("insert");
    }
    assert_eq!(latest(s, &Channel::Email), Some(100));
    assert_eq!(latest(s, &Channel::WebChat), Some(106));
    assert_eq!(latest(s, &Channel::Sms), None);
    assert!(s
        .latest_inbound(tn, y, &Channel::WebChat)
        .expect("read")
        .is_none());
}

/// Pending outbound messages are in the outbox until their delivery is updated.
pub fn outbox_tracks_pending_deliveries<S: Store>(mut s: S) {
    let tn = tenant(1);
    let c = customer(tn, 1, 1);
    let conv = conversation(tn, 10, c.id, 1);
    let mut out = message(tn, 100, conv.id, None, 5);
    out.direction = Direction::Outbound;
    out.delivery = Some(Delivery::Pending);
    s.apply(set(
        tn,
        vec![
            Op::PutCustomer(c),
            Op::PutConversation(conv),
            Op::InsertMessage(out.clone()),
        ],
    ))
    .expect("setup");
    assert_eq!(s.outbox(tn).expect("read").len(), 1);
    assert!(s.outbox(tenant(2)).expect("read").is_empty());
    out.delivery = Some(Delivery::Sent {
        provider_id: Some("p-1".into()),
        at: t(6),
    });
    s.apply(set(tn, vec![Op::UpdateMessage(out.clone())]))
        .expect("update");
    assert!(s.outbox(tn).expect("read").is_empty());
    assert_eq!(s.message(tn, out.id).expect("read"), Some(out));
}

/// The foundation story through a `Desk`: chat, then e-mail from the same address, then
/// WhatsApp from a number the host linked: one customer, one conversation, three channels
/// in order; redelivery stores nothing; the reply goes to the last channel.
pub fn desk_story_chat_email_whatsapp<S: Store>(store: S) {
    let tn = tenant(1);
    let mut desk = Desk::new(store, DeskConfig::default());
    let ana = Identifier::email("ana@example.com").expect("valid");
    let chat = Inbound::new(
        tn,
        Channel::WebChat,
        ana.clone(),
        "chat-1",
        "I want to return the shoes from order 1042",
    )
    .sent_at(t(0));
    let first = desk.ingest(chat.clone(), t(0)).expect("chat");
    assert!(!first.duplicate);
    let again = desk.ingest(chat, t(3)).expect("redelivery");
    assert!(again.duplicate && again.effects.is_empty());
    assert_eq!(
        (again.customer, again.conversation, again.message.id),
        (first.customer, first.conversation, first.message.id)
    );
    let mail = Inbound::new(
        tn,
        Channel::Email,
        Identifier::email("ana@EXAMPLE.com").expect("valid"),
        "<m1@example.com>",
        "Any news on my return?",
    );
    let second = desk.ingest(mail, t(3600)).expect("e-mail");
    assert_eq!(
        (second.customer, second.conversation),
        (first.customer, first.conversation)
    );
    assert!(second
        .effects
        .iter()
        .any(|e| matches!(e, Effect::ChannelSwitched { .. })));
    let phone = Identifier::whatsapp("+31612345678", None).expect("valid");
    desk.link_identifier(tn, first.customer, phone.clone(), true, t(7200))
        .expect("link");
    let third = desk
        .ingest(
            Inbound::new(
                tn,
                Channel::WhatsApp,
                phone.clone(),
                "wamid.1",
                "Hello? Still waiting",
            ),
            t(86_400),
        )
        .expect("whatsapp");
    assert_eq!(
        (third.customer, third.conversation),
        (first.customer, first.conversation)
    );
    let tl = desk.timeline(tn, first.customer).expect("timeline");
    let channels: Vec<Channel> = tl.iter().map(|m| m.channel.clone()).collect();
    assert_eq!(
        channels,
        vec![Channel::WebChat, Channel::Email, Channel::WhatsApp]
    );
    let effects = desk
        .reply(
            (tn, first.conversation),
            AgentId::from_uuid(uuid(0xA6)),
            "Your return is approved",
            t(90_000),
        )
        .expect("reply");
    match effects.first() {
        Some(Effect::Send(out)) => {
            assert_eq!(out.channel, Channel::WhatsApp);
            assert_eq!(out.to, phone);
        }
        other => panic!("expected a Send effect first, got {other:?}"),
    }
    assert_eq!(desk.outbox(tn).expect("outbox").len(), 1);
    let conv = desk
        .conversation((tn, first.conversation))
        .expect("conversation");
    assert_eq!(
        conv.channels,
        vec![Channel::WebChat, Channel::Email, Channel::WhatsApp]
    );
    assert_eq!(conv.message_count, 4);
    assert!(
        desk.conversation((tenant(2), first.conversation)).is_err(),
        "another tenant must not see it"
    );
}

/// A closed conversation stays closed: the next message opens a new conversation of the
/// same customer, linked to the old one.
pub fn desk_closed_conversation_starts_a_linked_one<S: Store>(store: S) {
    let tn = tenant(1);
    let mut desk = Desk::new(store, DeskConfig::default());
    let ana = Identifier::email("ana@example.com").expect("valid");
    let first = desk
        .ingest(
            Inbound::new(tn, Channel::Email, ana.clone(), "m-1", "Return please"),
            t(0),
        )
        .expect("first");
    desk.set_status((tn, first.conversation), Status::Solved, t(60))
        .expect("solve");
    desk.set_status((tn, first.conversation), Status::Closed, t(120))
        .expect("close");
    let later = t(0) + TimeDelta::days(30);
    let next = desk
        .ingest(
            Inbound::new(tn, Channel::Email, ana, "m-2", "New question"),
            later,
        )
        .expect("second");
    assert_eq!(next.customer, first.customer);
    assert_ne!(next.conversation, first.conversation);
    assert_eq!(
        desk.conversation((tn, next.conversation))
            .expect("read")
            .previous,
        Some(first.conversation)
    );
    assert_eq!(
        desk.timeline(tn, first.customer).expect("timeline").len(),
        2
    );
    assert!(matches!(
        desk.reply(
            (tn, first.conversation),
            AgentId::from_uuid(uuid(1)),
            "hi",
            later
        ),
        Err(Error::ConversationClosed(_))
    ));
}

/// Records follow the version rule, are found by secondary key and due time (across
/// tenants for due times), and are deleted only at the version read.
pub fn records_are_versioned_and_indexed<S: Store>(mut s: S) {
    let (a, b) = (tenant(1), tenant(2));
    records_are_inserted_once_per_tenant(&mut s, a, b);
    records_are_found_by_kind_secondary_and_due(&s, a, b);
    records_are_reindexed_when_updated(&mut s, a);
    records_are_deleted_at_the_version_read(&mut s, a, b);
}

/// A record of kind `"thing"` whose value names its key and version.
fn thing(key: &str, sec: Option<&str>, due: Option<i64>, version: u64) -> Record {
    Record {
        kind: "thing".into(),
        key: key.into(),
        secondary: sec.map(str::to_string),
        due: due.map(t),
        value: serde_json::value::to_raw_value(&serde_json::json!({ "key": key, "v": version }))
            .expect("a JSON value encodes"),
        version,
    }
}

/// The keys of `records`, in their order.
fn keys(records: Vec<Record>) -> Vec<String> {
    records.into_iter().map(|r| r.key).collect()
}

/// Part of [`records_are_versioned_and_indexed`]: tenant `a` gets k1 (c1, due 30),
/// k2 (c1, due 10) and k3 (c2), tenant `b` its own k1 (c1, due 20); a second insert or
/// a skipped version is a conflict.
fn records_are_inserted_once_per_tenant<S: Store>(s: &mut S, a: TenantId, b: TenantId) {
    s.apply(set(
        a,
        vec![
            Op::PutRecord(thing("k1", Some("c1"), Some(30), 1)),
            Op::PutRecord(thing("k2", Some("c1"), Some(10), 1)),
            Op::PutRecord(thing("k3", Some("c2"), None, 1)),
        ],
    ))
    .expect("insert records");
    s.apply(set(
        b,
        vec![Op::PutRecord(thing("k1", Some("c1"), Some(20), 1))],
    ))
    .expect("the same key in another tenant is another record");
    assert!(
        is_conflict(s.apply(set(a, vec![Op::PutRecord(thing("k1", None, None, 1))]))),
        "inserting a record twice must be a conflict"
    );
    assert!(
        is_conflict(s.apply(set(a, vec![Op::PutRecord(thing("k1", None, None, 3))]))),
        "skipping a record version must be a conflict"
    );
}

/// Part of [`records_are_versioned_and_indexed`]: the records are read by kind, by
/// secondary key and by due time (across tenants, earliest first, up to a limit).
fn records_are_found_by_kind_secondary_and_due<S: Store>(s: &S, a: TenantId, b: TenantId) {
    assert_eq!(
        keys(s.records(a, "thing").expect("read")),
        vec!["k1", "k2", "k3"]
    );
    assert_eq!(
        keys(s.records_by(a, "thing", "c1").expect("read")),
        vec!["k1", "k2"]
    );
    assert!(s.records(a, "other").expect("read").is_empty());
    assert_eq!(s.next_due("thing").expect("read"), Some(t(10)));
    let due: Vec<(TenantId, String)> = s
        .due_records("thing", t(25), 10)
        .expect("read")
        .into_iter()
        .map(|(tn, r)| (tn, r.key))
        .collect();
    assert_eq!(
        due,
        vec![(a, "k2".to_string()), (b, "k1".to_string())],
        "due records, earliest first, across tenants"
    );
    assert_eq!(
        s.due_records("thing", t(100), 1).expect("read").len(),
        1,
        "limit"
    );
}

/// Part of [`records_are_versioned_and_indexed`]: an update re-indexes the record by
/// its new due time and secondary key, and an update that keeps them keeps it found;
/// a stale version is a conflict.
fn records_are_reindexed_when_updated<S: Store>(s: &mut S, a: TenantId) {
    // Moving the due time and the secondary key re-indexes.
    s.apply(set(
        a,
        vec![Op::PutRecord(thing("k2", Some("c2"), Some(50), 2))],
    ))
    .expect("update");
    assert_eq!(
        keys(s.records_by(a, "thing", "c1").expect("read")),
        vec!["k1"]
    );
    assert_eq!(
        keys(s.records_by(a, "thing", "c2").expect("read")),
        vec!["k2", "k3"]
    );
    assert_eq!(s.next_due("thing").expect("read"), Some(t(20)));
    // A new value with the same due time and secondary key: still found by both, with
    // the new value; a stale version is still a conflict.
    s.apply(set(
        a,
        vec![Op::PutRecord(thing("k2", Some("c2"), Some(50), 3))],
    ))
    .expect("update in place");
    assert!(is_conflict(s.apply(set(
        a,
        vec![Op::PutRecord(thing("k2", Some("c2"), Some(50), 3))],
    ))));
    let k2 = s.record(a, "thing", "k2").expect("read").expect("stored");
    assert_eq!(
        (k2.version, k2.value()),
        (3, serde_json::json!({"key": "k2", "v": 3}))
    );
    assert_eq!(
        keys(s.records_by(a, "thing", "c2").expect("read")),
        vec!["k2", "k3"]
    );
    let due_keys: Vec<String> = s
        .due_records("thing", t(60), 10)
        .expect("read")
        .into_iter()
        .filter(|(tn, _)| *tn == a)
        .map(|(_, r)| r.key)
        .collect();
    assert_eq!(due_keys, vec!["k1", "k2"], "a's k1 at 30, k2 at 50");
}

/// Part of [`records_are_versioned_and_indexed`]: a record is deleted only at the
/// version read, atomically with the rest of its change set, and leaves the indexes.
fn records_are_deleted_at_the_version_read<S: Store>(s: &mut S, a: TenantId, b: TenantId) {
    assert!(
        is_conflict(s.apply(set(
            a,
            vec![Op::DeleteRecord {
                kind: "thing".into(),
                key: "k2".into(),
                version: 1
            }]
        ))),
        "deleting at a stale version must be a conflict"
    );
    // An atomic set: delete then a conflicting insert leaves everything as it was.
    assert!(is_conflict(s.apply(set(
        a,
        vec![
            Op::DeleteRecord {
                kind: "thing".into(),
                key: "k2".into(),
                version: 3
            },
            Op::PutRecord(thing("k4", None, Some(1), 1)),
            Op::PutRecord(thing("k1", None, None, 1)),
        ]
    ))));
    assert!(s.record(a, "thing", "k2").expect("read").is_some());
    assert!(s.record(a, "thing", "k4").expect("read").is_none());
    s.apply(set(
        a,
        vec![Op::DeleteRecord {
            kind: "thing".into(),
            key: "k2".into(),
            version: 3,
        }],
    ))
    .expect("delete");
    assert!(s.record(a, "thing", "k2").expect("read").is_none());
    assert_eq!(
        keys(s.records_by(a, "thing", "c2").expect("read")),
        vec!["k3"]
    );
    let due: Vec<String> = s
        .due_records("thing", t(1000), 10)
        .expect("read")
        .into_iter()
        .map(|(_, r)| r.key)
        .collect();
    assert_eq!(due, vec!["k1", "k1"], "b's k1 at 20, a's k1 at 30");
    assert!(
        s.record(b, "thing", "k3").expect("read").is_none(),
        "records are tenant-scoped"
    );
    s.apply(set(
        a,
        vec![
            Op::PutRecord(thing("k5", None, None, 1)),
            Op::DeleteRecord {
                kind: "thing".into(),
                key: "k5".into(),
                version: 1,
            },
        ],
    ))
    .expect("insert and delete in one set");
    assert!(s.record(a, "thing", "k5").expect("read").is_none());
}

/// Through a `Desk`: a merge moves identifiers and conversations, a message during the
/// merge lands on the live customer, and the undo moves everything of `from` back,
/// including that message (a message update that changes its conversation).
pub fn desk_merge_and_unmerge_round_trip<S: Store>(store: S) {
    let tn = tenant(1);
    let mut desk = Desk::new(store, DeskConfig::default());
    let visitor = Identifier::handle(crate::IdentifierKind::WebVisitor, "v-1").expect("valid");
    let ana = Identifier::email("ana@example.com").expect("valid");
    let a = desk
        .ingest(
            Inbound::new(tn, Channel::WebChat, visitor.clone(), "c1", "hi"),
            t(0),
        )
        .expect("chat");
    let b = desk
        .ingest(
            Inbound::new(tn, Channel::Email, ana.clone(), "m1", "hello"),
            t(10),
        )
        .expect("mail");
    let merge = desk
        .merge_customers(tn, a.customer, b.customer, "logged in", t(20))
        .expect("merge");
    assert_eq!(
        desk.resolve(tn, &visitor).expect("resolve"),
        Some(b.customer)
    );
    assert_eq!(
        desk.conversations_of(tn, b.customer).expect("read").len(),
        2
    );
    let during = desk
        .ingest(
            Inbound::new(tn, Channel::WebChat, visitor.clone(), "c2", "still there?"),
            t(30),
        )
        .expect("during");
    assert_eq!(during.customer, b.customer);
    assert_eq!(desk.merges(tn, b.customer).expect("merges").len(), 1);
    desk.unmerge(tn, merge, t(40)).expect("unmerge");
    assert_eq!(
        desk.resolve(tn, &visitor).expect("resolve"),
        Some(a.customer)
    );
    assert_eq!(desk.resolve(tn, &ana).expect("resolve"), Some(b.customer));
    let back: Vec<String> = desk
        .timeline(tn, a.customer)
        .expect("timeline")
        .into_iter()
        .map(|m| m.body)
        .collect();
    assert_eq!(back, vec!["hi", "still there?"]);
    let stay: Vec<String> = desk
        .timeline(tn, b.customer)
        .expect("timeline")
        .into_iter()
        .map(|m| m.body)
        .collect();
    assert_eq!(stay, vec!["hello"]);
    for c in desk
        .conversations_of(tn, a.customer)
        .expect("read")
        .into_iter()
        .chain(desk.conversations_of(tn, b.customer).expect("read"))
    {
        let n = desk.messages((tn, c.id)).expect("messages").len();
        assert_eq!(
            c.message_count as usize, n,
            "message_count of {} matches its messages",
            c.id
        );
    }
}

/// `DeleteIdentifier` needs the right owner; `DeleteThreadKey` forgets a key
/// (`DeleteThreadKeysOf`, all of a conversation's: see the thread-key check);
/// `RedactMessage` may change the provider id and the deduplication index follows.
pub fn erasure_ops_delete_and_redact<S: Store>(mut s: S) {
    let tn = tenant(1);
    let c1 = customer(tn, 1, 1);
    let conv = conversation(tn, 10, c1.id, 1);
    let ident = Identifier::email("gone@example.com").expect("valid");
    let rec = IdentifierRecord {
        tenant: tn,
        identifier: ident.clone(),
        customer: c1.id,
        source: Some(Channel::Email),
        verified: false,
        first_seen: t(0),
        last_seen: t(0),
    };
    let m = message(tn, 20, conv.id, Some("<a@x>"), 1);
    s.apply(set(
        tn,
        vec![
            Op::PutCustomer(c1.clone()),
            Op::PutIdentifier {
                record: rec,
                expected_owner: None,
            },
            Op::PutConversation(conv.clone()),
            Op::InsertMessage(m.clone()),
            Op::PutThreadKey {
                key: "email:<a@x>".into(),
                conversation: conv.id,
            },
        ],
    ))
    .expect("setup");
    identifiers_and_thread_keys_are_deleted(&mut s, tn, &ident, c1.id);
    redaction_moves_the_deduplication_key(&mut s, tn, m);
}

/// Part of [`erasure_ops_delete_and_redact`]: only the owner's identifier is deleted;
/// a thread key is forgotten, a missing one is no error.
fn identifiers_and_thread_keys_are_deleted<S: Store>(
    s: &mut S,
    tn: TenantId,
    ident: &Identifier,
    owner: CustomerId,
) {
    let other = CustomerId::from_uuid(uuid(99));
    assert!(
        is_conflict(s.apply(set(
            tn,
            vec![Op::DeleteIdentifier {
                identifier: ident.clone(),
                owner: other
            }]
        ))),
        "deleting someone else's identifier must be a conflict"
    );
    s.apply(set(
        tn,
        vec![
            Op::DeleteIdentifier {
                identifier: ident.clone(),
                owner,
            },
            Op::DeleteThreadKey {
                key: "email:<a@x>".into(),
            },
            Op::DeleteThreadKey {
                key: "email:<never@x>".into(),
            },
        ],
    ))
    .expect("delete");
    assert!(s.identifier(tn, ident).expect("read").is_none());
    assert!(s.identifiers_of(tn, owner).expect("read").is_empty());
    assert!(s.thread(tn, "email:<a@x>").expect("read").is_none());
}

/// Part of [`erasure_ops_delete_and_redact`]: a redacted message `m` is found by its
/// new provider id only; the old one is free again, the new one taken.
fn redaction_moves_the_deduplication_key<S: Store>(s: &mut S, tn: TenantId, m: Message) {
    let conv = m.conversation;
    let mut red = m;
    red.body = String::new();
    red.external_id = Some("erased:abc".into());
    s.apply(set(tn, vec![Op::RedactMessage(red.clone())]))
        .expect("redact");
    assert!(s
        .message_by_external_id(tn, &Channel::Email, "<a@x>")
        .expect("read")
        .is_none());
    assert_eq!(
        s.message_by_external_id(tn, &Channel::Email, "erased:abc")
            .expect("read"),
        Some(red.clone())
    );
    assert_eq!(s.messages_of(tn, conv).expect("read"), vec![red]);
    // The freed provider id can be used again; the hashed one cannot.
    s.apply(set(
        tn,
        vec![Op::InsertMessage(message(tn, 21, conv, Some("<a@x>"), 2))],
    ))
    .expect("a new message with the old provider id");
    assert!(is_conflict(s.apply(set(
        tn,
        vec![Op::InsertMessage(message(
            tn,
            22,
            conv,
            Some("erased:abc"),
            3
        ))]
    ))));
}

/// Through the Desk: erasure leaves no personal text readable through the store, keeps
/// the conversation and its timings, and a redelivered webhook stays a duplicate.
pub fn desk_erasure_story<S: Store>(s: S) {
    let tn = tenant(7);
    let mut desk = Desk::new(s, DeskConfig::default().id_seed(3));
    let ana = Identifier::email("ana.erased@example.com").expect("valid");
    let first = Inbound::new(
        tn,
        Channel::Email,
        ana.clone(),
        "<secret-1@x>",
        "My address is Kerkstraat 12",
    )
    .subject("Return of order 1042");
    let got = desk.ingest(first.clone(), t(0)).expect("ingest");
    desk.erase_customer(tn, got.customer, t(60)).expect("erase");
    assert!(desk.resolve(tn, &ana).expect("resolve").is_none());
    let conv = desk.conversation((tn, got.conversation)).expect("kept");
    assert!(conv.subject.is_none());
    let msgs = desk.messages((tn, got.conversation)).expect("kept");
    assert_eq!(msgs.len(), 1);
    assert!(msgs[0].body.is_empty() && msgs[0].counterpart.is_none());
    assert!(msgs[0]
        .external_id
        .as_deref()
        .is_some_and(|e| e.starts_with("erased:")));
    let again = desk.ingest(first, t(120)).expect("redelivery");
    assert!(
        again.duplicate,
        "a redelivered webhook must not resurrect erased data"
    );
    assert!(again.message.body.is_empty());
    assert!(desk.resolve(tn, &ana).expect("resolve").is_none());
}

/// Whatever a store answers in [`Store::read_ahead`] equals what its ordinary reads
/// return ([`read_by_parts`](crate::store::read_by_parts)), including "does not exist";
/// and a plan for another tenant finds nothing of this one.
pub fn read_ahead_agrees_with_reads<S: Store>(mut s: S) {
    use crate::store::{read_by_parts, ReadPlan, Record};
    let (tn, other) = (tenant(1), tenant(2));
    let (ana, bob) = (customer(tn, 1, 1), customer(tn, 2, 1));
    let ident = |raw: &str| Identifier::email(raw).expect("valid");
    let record = |i: &str, owner: CustomerId| Op::PutIdentifier {
        record: IdentifierRecord {
            tenant: tn,
            identifier: ident(i),
            customer: owner,
            source: Some(Channel::Email),
            verified: false,
            first_seen: t(0),
            last_seen: t(0),
        },
        expected_owner: None,
    };
    let mut closed = conversation(tn, 11, ana.id, 1);
    closed.status = Status::Closed;
    let open = conversation(tn, 12, ana.id, 1);
    let mut r = Record::new("language", ana.id.to_string(), serde_json::json!({"n": 1}));
    r.secondary = Some("x".into());
    s.apply(set(
        tn,
        vec![
            Op::PutCustomer(ana.clone()),
            Op::PutCustomer(bob.clone()),
            record("ana@example.com", ana.id),
            record("ana@work.example", ana.id),
            record("bob@example.com", bob.id),
            Op::PutConversation(closed),
            Op::PutConversation(open.clone()),
            Op::InsertMessage(message(tn, 20, open.id, Some("ext-1"), 5)),
            Op::PutRecord(r),
            Op::PutRecord(Record::new(
                "sla",
                open.id.to_string(),
                serde_json::json!([1]),
            )),
            Op::PutRecord(Record::new("privacy", "secret", serde_json::json!("s"))),
        ],
    ))
    .expect("set up");
    let asked = [
        ident("ana@example.com"),
        ident("bob@example.com"),
        ident("nobody@example.com"),
        ident("ana@work.example"),
    ];
    let plan = ReadPlan {
        dedup: Some((&Channel::Email, "ext-1")),
        identifiers: asked.iter().collect(),
        records: &[("privacy", "secret"), ("privacy", "missing")],
        owner_records: &["language"],
        conversation_records: &["sla", "triage"],
    };
    let want = read_by_parts(&s, tn, &plan).expect("ordinary reads");
    let got = s.read_ahead(tn, &plan).expect("read ahead");
    read_ahead_answers_as_the_reads(&got, &want, &plan);
    // The reference itself found what was set up.
    assert_eq!(want.customers.len(), 2);
    assert_eq!(
        want.open_conversation(ana.id).flatten().map(|c| c.id),
        Some(open.id)
    );
    assert_eq!(want.open_conversation(bob.id), Some(None));
    assert!(want.record("sla", &open.id.to_string()).flatten().is_some());
    assert_eq!(want.record("triage", &open.id.to_string()), Some(None));
    assert!(want
        .record("language", &ana.id.to_string())
        .flatten()
        .is_some());
    assert_eq!(want.record("privacy", "missing"), Some(None));
    assert_eq!(want.identifier(&ident("nobody@example.com")), Some(None));
    read_ahead_of_another_tenant_finds_nothing(&s, other, &plan);
}

/// Part of [`read_ahead_agrees_with_reads`]: every part `got` answers is answered as
/// in `want`, the ordinary reads.
fn read_ahead_answers_as_the_reads(
    got: &crate::store::ReadAhead,
    want: &crate::store::ReadAhead,
    plan: &crate::store::ReadPlan<'_>,
) {
    if let Some(m) = got.duplicate(&Channel::Email, "ext-1") {
        assert_eq!(
            m,
            want.duplicate(&Channel::Email, "ext-1").flatten(),
            "duplicate"
        );
    }
    for &i in &plan.identifiers {
        if let Some(r) = got.identifier(i) {
            assert_eq!(Some(r), want.identifier(i), "identifier {i}");
        }
    }
    for c in &got.customers {
        assert_eq!(Some(c), want.customer(c.id), "customer {}", c.id);
    }
    for (c, conv) in &got.open_conversations {
        assert_eq!(
            Some(conv.as_ref()),
            want.open_conversation(*c),
            "open conversation of {c}"
        );
    }
    for ((kind, key), rec) in &got.records {
        assert_eq!(
            Some(rec.as_ref()),
            want.record(kind, key),
            "record {kind}/{key}"
        );
    }
}

/// Part of [`read_ahead_agrees_with_reads`]: another tenant's plan sees none of it.
fn read_ahead_of_another_tenant_finds_nothing<S: Store>(
    s: &S,
    other: TenantId,
    plan: &crate::store::ReadPlan<'_>,
) {
    let foreign = s.read_ahead(other, plan).expect("read ahead, other tenant");
    assert!(
        foreign.customers.is_empty(),
        "another tenant's customers leaked"
    );
    assert!(
        foreign.duplicate.as_ref().is_none_or(|(_, m)| m.is_none()),
        "another tenant's message leaked"
    );
    assert!(
        foreign.identifiers.iter().all(|(_, r)| r.is_none()),
        "another tenant's identifiers leaked"
    );
    assert!(
        foreign.records.iter().all(|(_, r)| r.is_none()),
        "another tenant's records leaked"
    );
}

/// A batch's applies land together at its end; an apply that fails inside it leaves no
/// trace and the others stay; reads inside see the batch's writes. For a store that
/// supports batches ([`Store::supports_batches`]): a discarded batch leaves nothing, and
/// one batch is open at a time.
pub fn batches_land_together_or_not_at_all<S: Store>(mut s: S) {
    let tn = tenant(1);
    let c1 = customer(tn, 1, 1);
    let c2 = customer(tn, 2, 1);
    let conv = conversation(tn, 10, c1.id, 1);
    s.begin_batch().expect("a batch opens");
    if s.supports_batches() {
        assert!(s.begin_batch().is_err(), "one batch at a time");
    }
    s.apply(set(
        tn,
        vec![
            Op::PutCustomer(c1.clone()),
            Op::PutConversation(conv.clone()),
            Op::InsertMessage(message(tn, 100, conv.id, Some("b-1"), 1)),
        ],
    ))
    .expect("the first apply");
    assert!(
        s.message_by_external_id(tn, &Channel::Email, "b-1")
            .expect("read")
            .is_some(),
        "reads inside the batch see its writes"
    );
    assert!(
        is_conflict(s.apply(set(
            tn,
            vec![
                Op::PutCustomer(c2.clone()),
                Op::InsertMessage(message(tn, 101, conv.id, Some("b-1"), 2)),
            ],
        ))),
        "a redelivered provider id conflicts inside a batch too"
    );
    assert!(
        s.customer(tn, c2.id).expect("read").is_none(),
        "the failed apply left no trace"
    );
    s.apply(set(
        tn,
        vec![Op::InsertMessage(message(tn, 102, conv.id, Some("b-2"), 3))],
    ))
    .expect("an apply after the failed one");
    s.end_batch(true).expect("the batch commits");
    assert_eq!(s.messages_of(tn, conv.id).expect("read").len(), 2);
    assert!(s.customer(tn, c2.id).expect("read").is_none());

    if !s.supports_batches() {
        return;
    }
    s.begin_batch().expect("a new batch");
    s.apply(set(tn, vec![Op::PutCustomer(c2.clone())]))
        .expect("a customer");
    s.apply(set(
        tn,
        vec![Op::InsertMessage(message(tn, 103, conv.id, Some("b-3"), 4))],
    ))
    .expect("a message");
    s.end_batch(false).expect("the batch is discarded");
    assert!(
        s.customer(tn, c2.id).expect("read").is_none(),
        "a discarded batch leaves nothing"
    );
    assert!(s
        .message_by_external_id(tn, &Channel::Email, "b-3")
        .expect("read")
        .is_none());
    assert_eq!(s.messages_of(tn, conv.id).expect("read").len(), 2);
    s.end_batch(true).expect("without a batch: nothing to do");
    s.apply(set(tn, vec![Op::PutCustomer(c2.clone())]))
        .expect("applies commit alone again");
    assert!(s.customer(tn, c2.id).expect("read").is_some());
}
