//! A model-based test: random sequences of ingest (with redeliveries), reply, note,
//! status changes, assignment, identifier links, merges, unmerges, erasures and ticks run
//! on a `Desk` over `MemoryStore` and one over `SqliteStore` with the same id seed. After
//! every step:
//!
//! - both desks gave the same answer (the same ids, or an error of the same kind), and
//!   read back the same customers, identifiers, conversations and messages;
//! - a small reference model of who is who agrees: each identifier resolves to the
//!   customer the model expects (the first sender, the merge survivor, nobody after an
//!   erasure, the original owner after an unmerge), and every stored message is counted;
//! - invariants hold: every identifier resolves to a live customer that lists it, every
//!   conversation's message count is its messages, every message is in its tenant.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, TimeDelta, Utc};
use proptest::prelude::*;
use throughline::store::{MemoryStore, SqliteStore, Store};
use throughline::{
    AgentId, Channel, ConversationId, CustomerId, Desk, DeskConfig, Error, Identifier, Inbound,
    MergeId, Status, TenantId,
};

#[derive(Debug, Clone)]
enum Op {
    Ingest { person: u8, via: u8, ext: u8 },
    Reply { person: u8 },
    Note { person: u8 },
    Status { person: u8, status: u8 },
    Assign { person: u8 },
    Link { person: u8, other: u8 },
    Merge { from: u8, into: u8 },
    Unmerge,
    Erase { person: u8 },
    Tick { hours: u8 },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        8 => (0..4u8, 0..3u8, 0..24u8).prop_map(|(person, via, ext)| Op::Ingest { person, via, ext }),
        2 => (0..4u8).prop_map(|person| Op::Reply { person }),
        1 => (0..4u8).prop_map(|person| Op::Note { person }),
        2 => (0..4u8, 0..5u8).prop_map(|(person, status)| Op::Status { person, status }),
        1 => (0..4u8).prop_map(|person| Op::Assign { person }),
        1 => (0..4u8, 0..4u8).prop_map(|(person, other)| Op::Link { person, other }),
        1 => (0..4u8, 0..4u8).prop_map(|(from, into)| Op::Merge { from, into }),
        1 => Just(Op::Unmerge),
        1 => (0..4u8).prop_map(|person| Op::Erase { person }),
        1 => (0..30u8).prop_map(|hours| Op::Tick { hours }),
    ]
}

fn tenant() -> TenantId {
    "01900000-0000-7000-8000-0000000000aa".parse().unwrap()
}

fn agent() -> AgentId {
    "01900000-0000-7000-8000-0000000000a9".parse().unwrap()
}

/// A person's identifier on a channel: e-mail, SMS, or e-mail again through the web chat.
fn sender(person: u8, via: u8) -> (Channel, Identifier) {
    match via {
        0 => (Channel::Email, email(person)),
        1 => (
            Channel::Sms,
            Identifier::phone(&format!("+3161234500{person}"), None).unwrap(),
        ),
        _ => (Channel::WebChat, email(person)),
    }
}

fn email(person: u8) -> Identifier {
    Identifier::email(&format!("person{person}@example.com")).unwrap()
}

/// Every identifier the test can use.
fn identifiers() -> Vec<Identifier> {
    (0..4u8)
        .flat_map(|p| [sender(p, 0).1, sender(p, 1).1])
        .collect()
}

/// The reference model: who each identifier belongs to, as far as it is certain.
#[derive(Default)]
struct Model {
    /// identifier -> the customer it resolves to (`None`: nobody).
    owner: BTreeMap<String, Option<CustomerId>>,
    /// Identifiers whose owner after an unmerge the model does not predict.
    uncertain: BTreeSet<String>,
    /// (channel, ext) of every message stored.
    seen: BTreeSet<(String, String)>,
    /// person -> their latest conversation.
    last: BTreeMap<u8, ConversationId>,
    /// Merges done, newest last: (id, from, identifiers of `from` then).
    merges: Vec<(MergeId, CustomerId, Vec<String>)>,
}

impl Model {
    fn customer_of(&self, ident: &Identifier) -> Option<CustomerId> {
        self.owner.get(&ident.to_string()).copied().flatten()
    }

    fn identifiers_of(&self, c: CustomerId) -> Vec<String> {
        self.owner
            .iter()
            .filter(|(_, o)| **o == Some(c))
            .map(|(i, _)| i.clone())
            .collect()
    }
}

/// The outcome of one call, comparable across stores.
fn outcome<T: std::fmt::Debug>(r: &throughline::Result<T>) -> String {
    match r {
        Ok(v) => format!("ok {v:?}"),
        Err(e) => format!("err {}", kind(e)),
    }
}

fn kind(e: &Error) -> &'static str {
    match e {
        Error::Invalid { .. } => "invalid",
        Error::NotFound { .. } => "not found",
        Error::InvalidTransition { .. } => "transition",
        Error::ConversationClosed(_) => "closed",
        Error::MergeRefused(_) => "merge refused",
        Error::Conflict(_) => "conflict",
        Error::Restricted(_) => "restricted",
        _ => "other",
    }
}

/// Everything a host can read, as text, for comparing the two stores.
fn snapshot(desk: &Desk<impl Store>) -> String {
    let t = tenant();
    let mut out = String::new();
    let conversations = desk
        .store()
        .conversations_in(t, DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::MAX_UTC)
        .unwrap();
    for c in &conversations {
        out += &format!(
            "conv {} {:?} {} {:?} {:?} {}\n",
            c.id, c.customer, c.status, c.assignee, c.channels, c.message_count
        );
        for m in desk.messages((t, c.id)).unwrap() {
            out += &format!(
                "  msg {} {:?} {} {:?}\n",
                m.id, m.direction, m.channel, m.body
            );
        }
    }
    for ident in identifiers() {
        let who = desk.resolve(t, &ident).unwrap();
        out += &format!("ident {ident} -> {who:?}\n");
        if let Some(c) = who {
            let mut ids: Vec<String> = desk
                .identifiers(t, c)
                .unwrap()
                .iter()
                .map(|r| r.identifier.to_string())
                .collect();
            ids.sort();
            out += &format!("  customer {c} {ids:?}\n");
        }
    }
    out
}

/// The invariants of one desk.
fn invariants(desk: &Desk<impl Store>) -> Result<(), TestCaseError> {
    let t = tenant();
    for ident in identifiers() {
        if let Some(c) = desk.resolve(t, &ident).unwrap() {
            let live = desk.live(t, c).unwrap();
            prop_assert_eq!(live.id, c, "an identifier resolves to a live customer");
            let listed = desk.identifiers(t, c).unwrap();
            prop_assert!(
                listed.iter().any(|r| r.identifier == ident),
                "{} listed",
                ident
            );
        }
    }
    let conversations = desk
        .store()
        .conversations_in(t, DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::MAX_UTC)
        .unwrap();
    for c in conversations {
        let messages = desk.messages((t, c.id)).unwrap();
        prop_assert_eq!(
            c.message_count as usize,
            messages.len(),
            "count of {}",
            c.id
        );
        prop_assert!(messages
            .iter()
            .all(|m| m.tenant == t && m.conversation == c.id));
    }
    Ok(())
}

/// Runs `op` on a desk; the outcome text, and what the model needs of it.
struct Done {
    text: String,
    conversation: Option<ConversationId>,
    customer: Option<CustomerId>,
    merge: Option<MergeId>,
    duplicate: bool,
    ok: bool,
}

fn run(desk: &mut Desk<impl Store>, model: &Model, op: &Op, now: DateTime<Utc>) -> Done {
    let t = tenant();
    let conv = |p: &u8| model.last.get(p).map(|c| (t, *c));
    let customer = |p: &u8| {
        model
            .customer_of(&email(*p))
            .or_else(|| model.customer_of(&sender(*p, 1).1))
    };
    let mut done = Done {
        text: String::new(),
        conversation: None,
        customer: None,
        merge: None,
        duplicate: false,
        ok: false,
    };
    macro_rules! record {
        ($r:expr) => {{
            let r = $r;
            done.ok = r.is_ok();
            done.text = outcome(&r);
            r.ok()
        }};
    }
    match op {
        Op::Ingest { person, via, ext } => {
            let (channel, from) = sender(*person, *via);
            let body = format!("from {person}: {ext}");
            let inbound = Inbound::new(t, channel, from, format!("x{ext}-{person}"), body);
            if let Some(got) = record!(desk.ingest(inbound, now)) {
                done.conversation = Some(got.conversation);
                done.customer = Some(got.customer);
                done.duplicate = got.duplicate;
            }
        }
        Op::Reply { person } => {
            if let Some(c) = conv(person) {
                record!(desk.reply(c, agent(), "Thanks, on it", now));
            }
        }
        Op::Note { person } => {
            if let Some(c) = conv(person) {
                record!(desk.note(c, agent(), "internal", now).map(|m| m.id));
            }
        }
        Op::Status { person, status } => {
            let to = [
                Status::Open,
                Status::Pending,
                Status::OnHold,
                Status::Solved,
                Status::Closed,
            ][*status as usize];
            if let Some(c) = conv(person) {
                record!(desk.set_status_as(c, to, agent(), now));
            }
        }
        Op::Assign { person } => {
            if let Some(c) = conv(person) {
                record!(desk.assign(c, agent(), agent(), now));
            }
        }
        Op::Link { person, other } => {
            if let Some(c) = customer(person) {
                record!(desk.link_identifier(t, c, sender(*other, 1).1, false, now));
            }
        }
        Op::Merge { from, into } => {
            if let (Some(a), Some(b)) = (customer(from), customer(into)) {
                if let Some(id) = record!(desk.merge_customers(t, a, b, "same person", now)) {
                    done.merge = Some(id);
                }
            }
        }
        Op::Unmerge => {
            if let Some((id, ..)) = model.merges.last() {
                record!(desk.unmerge(t, *id, now));
            }
        }
        Op::Erase { person } => {
            if let Some(c) = customer(person) {
                record!(desk.erase_customer(t, c, now).map(|r| r.customers.len()));
            }
        }
        Op::Tick { .. } => {
            record!(desk.tick(now).map(|e| e.len()));
        }
    }
    done
}

/// What the model expects after `op` succeeded with `done`.
fn advance(model: &mut Model, op: &Op, done: &Done) {
    let customer = |m: &Model, p: &u8| {
        m.customer_of(&email(*p))
            .or_else(|| m.customer_of(&sender(*p, 1).1))
    };
    match op {
        Op::Ingest { person, via, ext } => {
            let (channel, from) = sender(*person, *via);
            model
                .seen
                .insert((channel.to_string(), format!("x{ext}-{person}")));
            let key = from.to_string();
            // A redelivery changes nothing, not even after an erasure.
            if model.customer_of(&from).is_none() && !done.duplicate {
                model.owner.insert(key.clone(), done.customer);
                model.uncertain.remove(&key);
            }
            if let Some(c) = done.conversation {
                model.last.insert(*person, c);
            }
        }
        Op::Link { person, other } => {
            let key = sender(*other, 1).1.to_string();
            let c = customer(model, person);
            model.owner.insert(key.clone(), c);
            model.uncertain.remove(&key);
        }
        Op::Merge { from, into } => {
            let (a, b) = (
                customer(model, from).unwrap(),
                customer(model, into).unwrap(),
            );
            let moved = model.identifiers_of(a);
            for k in &moved {
                model.owner.insert(k.clone(), Some(b));
            }
            model.merges.push((done.merge.unwrap(), a, moved));
        }
        Op::Unmerge => {
            let (_, from, moved) = model.merges.pop().unwrap();
            for k in moved {
                model.owner.insert(k, Some(from));
            }
            // What the survivor gained after the merge may go either way.
            let all: Vec<String> = model.owner.keys().cloned().collect();
            model.uncertain.extend(all);
        }
        Op::Erase { person } => {
            let c = customer(model, person).unwrap();
            for k in model.identifiers_of(c) {
                model.owner.insert(k, None);
            }
            model.merges.retain(|(_, f, _)| *f != c);
        }
        _ => {}
    }
}

fn check_model(desk: &Desk<impl Store>, model: &Model) -> Result<(), TestCaseError> {
    let t = tenant();
    for ident in identifiers() {
        let key = ident.to_string();
        if model.uncertain.contains(&key) {
            continue;
        }
        let expected = model.owner.get(&key).copied().flatten();
        let got = desk.resolve(t, &ident).unwrap();
        prop_assert_eq!(got, expected, "{} resolves as the model says", key);
    }
    let conversations = desk
        .store()
        .conversations_in(t, DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::MAX_UTC)
        .unwrap();
    let inbound: usize = conversations
        .iter()
        .map(|c| {
            desk.messages((t, c.id))
                .unwrap()
                .iter()
                .filter(|m| m.direction == throughline::Direction::Inbound)
                .count()
        })
        .sum();
    prop_assert_eq!(inbound, model.seen.len(), "every message stored once");
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    #[test]
    fn memory_and_sqlite_desks_agree_with_the_model(ops in proptest::collection::vec(op(), 1..60)) {
        let config = || DeskConfig::default().id_seed(11);
        let mut memory = Desk::new(MemoryStore::new(), config());
        let mut sqlite = Desk::new(SqliteStore::open_in_memory().unwrap(), config());
        let mut model = Model::default();
        let mut now = DateTime::<Utc>::from_timestamp(1_772_442_000, 0).unwrap();
        for op in &ops {
            now += match op {
                Op::Tick { hours } => TimeDelta::hours(i64::from(*hours)),
                _ => TimeDelta::minutes(3),
            };
            let a = run(&mut memory, &model, op, now);
            let b = run(&mut sqlite, &model, op, now);
            prop_assert_eq!(&a.text, &b.text, "{:?}: both stores answer alike", op);
            if a.ok {
                advance(&mut model, op, &a);
            }
            prop_assert_eq!(snapshot(&memory), snapshot(&sqlite), "after {:?}", op);
            invariants(&memory)?;
            check_model(&memory, &model)?;
        }
    }
}
