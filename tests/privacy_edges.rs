//! Privacy at the edges of the identity graph: undone merges, merge suggestions naming the
//! person as the other customer, thread keys nobody's message names, redeliveries after
//! an identifier's erasure, merges of erased or restricted customers. Each story runs on
//! `MemoryStore` (its whole state, printed) and on a SQLite file (its raw bytes, after the
//! scrub every erasure and purge ends with).

use chrono::{DateTime, TimeDelta, Utc};
use throughline::privacy::RetentionPolicy;
use throughline::store::{MemoryStore, SqliteStore, Store};
use throughline::{
    Channel, CustomerId, Desk, DeskConfig, Error, Identifier, Inbound, Ingested, Status, TenantId,
};

fn t(mins: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_772_442_000, 0).unwrap() + TimeDelta::minutes(mins)
}

fn tenant() -> TenantId {
    "01900000-0000-7000-8000-0000000091a0".parse().unwrap()
}

fn email(address: &str) -> Identifier {
    Identifier::email(address).unwrap()
}

fn mail<S: Store>(desk: &mut Desk<S>, from: &str, id: &str, body: &str, at: i64) -> Ingested {
    desk.ingest(
        Inbound::new(tenant(), Channel::Email, email(from), id, body),
        t(at),
    )
    .unwrap()
}

/// Zed writes (with his name), Bob writes.
fn zed_and_bob<S: Store>(desk: &mut Desk<S>) -> (Ingested, Ingested) {
    let zed = desk
        .ingest(
            Inbound::new(
                tenant(),
                Channel::Email,
                email("zed.secret@example.com"),
                "<z1@x>",
                "hi",
            )
            .display_name("Zed Secretname"),
            t(0),
        )
        .unwrap();
    let bob = mail(desk, "bob@example.com", "<b1@x>", "hello", 1);
    (zed, bob)
}

/// A store under test and a way to see everything it holds.
trait Probe: Store + Sized {
    fn open() -> (Self, Option<tempfile::TempDir>);
    /// Whether `needle` is anywhere in the stored state.
    fn holds(desk: &Desk<Self>, dir: &Option<tempfile::TempDir>, needle: &str) -> bool;
}

impl Probe for MemoryStore {
    fn open() -> (Self, Option<tempfile::TempDir>) {
        (MemoryStore::new(), None)
    }
    fn holds(desk: &Desk<Self>, _: &Option<tempfile::TempDir>, needle: &str) -> bool {
        format!("{:?}", desk.store()).contains(needle)
    }
}

impl Probe for SqliteStore {
    fn open() -> (Self, Option<tempfile::TempDir>) {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path().join("edges.db")).unwrap();
        (store, Some(dir))
    }
    fn holds(_: &Desk<Self>, dir: &Option<tempfile::TempDir>, needle: &str) -> bool {
        let dir = dir.as_ref().unwrap();
        ["edges.db", "edges.db-wal", "edges.db-shm"]
            .iter()
            .any(|f| {
                std::fs::read(dir.path().join(f))
                    .is_ok_and(|bytes| bytes.windows(needle.len()).any(|w| w == needle.as_bytes()))
            })
    }
}

fn desk<S: Probe>() -> (Desk<S>, Option<tempfile::TempDir>) {
    let (store, dir) = S::open();
    (Desk::new(store, DeskConfig::default()), dir)
}

/// Zed and Bob write; Zed is merged into Bob, and the merge is undone.
fn zed_merged_into_bob_and_back<S: Store>(d: &mut Desk<S>) -> (Ingested, throughline::MergeId) {
    let (zed, bob) = zed_and_bob(d);
    let m = d
        .merge_customers(tenant(), zed.customer, bob.customer, "same person", t(2))
        .unwrap();
    d.unmerge(tenant(), m, t(3)).unwrap();
    (zed, m)
}

/// Zed is merged into Bob, the merge is undone, then Zed is erased: the merge record, which
/// kept Zed's profile, goes with him; before that, his export holds it.
fn an_undone_merge_goes_with_the_erased_person<S: Probe>() {
    let (mut d, dir) = desk::<S>();
    let (zed, m) = zed_merged_into_bob_and_back(&mut d);
    let export = d.export_customer(tenant(), zed.customer).unwrap();
    assert!(
        export.merges.iter().any(|r| r.id == m),
        "Zed's export holds the merge that kept his profile"
    );
    assert!(S::holds(&d, &dir, "Zed Secretname"), "the data was there");
    d.erase_customer(tenant(), zed.customer, t(4)).unwrap();
    for s in ["Zed Secretname", "zed.secret@example.com"] {
        assert!(!S::holds(&d, &dir, s), "{s:?} survives the erasure");
    }
    assert!(S::holds(&d, &dir, "bob@example.com"), "Bob keeps his data");
}

/// After an undone merge, erasing Zed's address alone scrubs it from the merge record.
fn an_undone_merge_forgets_an_erased_identifier<S: Probe>() {
    let (mut d, dir) = desk::<S>();
    let (_, m) = zed_merged_into_bob_and_back(&mut d);
    d.erase_identifier(tenant(), &email("zed.secret@example.com"), t(4))
        .unwrap();
    let record = d.merge_record(tenant(), m).unwrap();
    assert!(record.identifiers.is_empty(), "{:?}", record.identifiers);
    assert!(!S::holds(&d, &dir, "zed.secret@example.com"));
}

/// Yan writes twice, the second time naming Zed's address too: a merge suggestion with
/// Yan as the customer the message went to and Zed as the other one.
fn a_suggestion_naming_zed<S: Store>(d: &mut Desk<S>) -> CustomerId {
    let (zed, _) = zed_and_bob(d);
    mail(d, "yan@example.com", "<y1@x>", "hello", 2);
    d.ingest(
        Inbound::new(
            tenant(),
            Channel::Email,
            email("yan@example.com"),
            "<y2@x>",
            "again",
        )
        .also(email("zed.secret@example.com")),
        t(3),
    )
    .unwrap();
    let suggestions = d.merge_suggestions(tenant()).unwrap();
    assert_eq!(suggestions.len(), 1);
    assert_eq!(suggestions[0].other, zed.customer);
    zed.customer
}

/// The suggestion is Zed's data as much as Yan's: in his export, gone with his erasure or
/// with the erasure of the address it names.
fn a_suggestion_goes_with_the_other_customer<S: Probe>() {
    let (mut d, dir) = desk::<S>();
    let zed = a_suggestion_naming_zed(&mut d);
    let export = d.export_customer(tenant(), zed).unwrap();
    assert!(
        export.records.contains_key("merge_suggestion"),
        "{:?}",
        export.records.keys().collect::<Vec<_>>()
    );
    d.erase_customer(tenant(), zed, t(4)).unwrap();
    assert!(d.merge_suggestions(tenant()).unwrap().is_empty());
    assert!(!S::holds(&d, &dir, "Zed Secretname"));

    let (mut d, _dir) = desk::<S>();
    a_suggestion_naming_zed(&mut d);
    d.erase_identifier(tenant(), &email("zed.secret@example.com"), t(4))
        .unwrap();
    assert!(d.merge_suggestions(tenant()).unwrap().is_empty());
}

/// The thread index holds provider ids in plain text: a retention purge and an erasure
/// delete the conversation's keys, including one a thread hint made (no message names it).
fn thread_keys_go_with_the_content<S: Probe>() {
    let (mut d, dir) = desk::<S>();
    let a = mail(&mut d, "p@example.com", "<plain-secret-id@mail>", "body", 0);
    d.set_status((tenant(), a.conversation), Status::Solved, t(1))
        .unwrap();
    d.set_status((tenant(), a.conversation), Status::Closed, t(2))
        .unwrap();
    d.set_retention(tenant(), RetentionPolicy::new(TimeDelta::days(1)), t(3))
        .unwrap();
    assert!(S::holds(&d, &dir, "plain-secret-id"), "the id was there");
    let purged = d.purge_expired(t(60 * 24 * 3)).unwrap();
    assert_eq!(purged.conversations.len(), 1);
    assert!(
        !S::holds(&d, &dir, "plain-secret-id"),
        "kept after the purge"
    );

    let (mut d, dir) = desk::<S>();
    let inbound = Inbound::new(
        tenant(),
        Channel::Email,
        email("q@example.com"),
        "<q1@mail>",
        "hi",
    )
    .thread_hint("<hint-secret-id@mailer>");
    let q = d.ingest(inbound, t(0)).unwrap();
    // The hint threads a later reply that names it.
    let reply = Inbound::new(
        tenant(),
        Channel::Email,
        email("q@example.com"),
        "<q2@mail>",
        "me again",
    )
    .thread_hint("<hint-secret-id@mailer>");
    assert_eq!(d.ingest(reply, t(1)).unwrap().conversation, q.conversation);
    d.erase_customer(tenant(), q.customer, t(2)).unwrap();
    assert!(
        !S::holds(&d, &dir, "hint-secret-id"),
        "kept after the erasure"
    );
}

/// A webhook redelivered after its sender's address was erased is still a duplicate.
fn a_redelivery_after_an_identifier_erasure_is_a_duplicate<S: Probe>() {
    let (mut d, _dir) = desk::<S>();
    let first = mail(&mut d, "a@example.com", "<a1@x>", "hi", 0);
    d.erase_identifier(tenant(), &email("a@example.com"), t(1))
        .unwrap();
    let again = d
        .ingest(
            Inbound::new(
                tenant(),
                Channel::Email,
                email("a@example.com"),
                "<a1@x>",
                "hi",
            ),
            t(2),
        )
        .expect("a redelivery is answered, not refused");
    assert!(again.duplicate);
    assert_eq!(again.message.id, first.message.id);
    // Another sender reusing the id is still refused.
    let forged = d.ingest(
        Inbound::new(
            tenant(),
            Channel::Sms,
            email("b@example.com"),
            "<a1@x>",
            "x",
        ),
        t(3),
    );
    assert!(
        forged.is_ok_and(|g| !g.duplicate),
        "another channel: a new message"
    );
}

/// Merging is refused for an erased customer (it would put data back on the erased
/// profile) and for a restricted one (merging is processing), on either side.
fn erased_and_restricted_customers_are_not_merged<S: Probe>() {
    let (mut d, _dir) = desk::<S>();
    let (zed, bob) = zed_and_bob(&mut d);
    let cy = mail(&mut d, "cy@example.com", "<c1@x>", "hey", 2);
    d.restrict_customer(tenant(), zed.customer, t(3)).unwrap();
    for (from, into) in [(zed.customer, bob.customer), (bob.customer, zed.customer)] {
        let r = d.merge_customers(tenant(), from, into, "same", t(4));
        assert!(
            matches!(r, Err(Error::MergeRefused(_))),
            "restricted: {r:?}"
        );
    }
    assert!(d.is_restricted(tenant(), zed.customer).unwrap());
    d.erase_customer(tenant(), cy.customer, t(5)).unwrap();
    for (from, into) in [(cy.customer, bob.customer), (bob.customer, cy.customer)] {
        let r = d.merge_customers(tenant(), from, into, "same", t(6));
        assert!(matches!(r, Err(Error::MergeRefused(_))), "erased: {r:?}");
    }
    assert_eq!(d.customer(tenant(), cy.customer).unwrap().name, None);
    // Once lifted, the restriction no longer stands in the way.
    d.lift_restriction(tenant(), zed.customer, t(7)).unwrap();
    d.merge_customers(tenant(), zed.customer, bob.customer, "same", t(8))
        .unwrap();
}

/// While Zed is restricted, tick reports no SLA warning or breach of his conversation
/// (replies to him would be refused); Bob's still breaches. After the lift, the next tick
/// reports Zed's breach, dated at its deadline.
fn a_restricted_customers_clocks_are_not_watched<S: Probe>() {
    let (mut d, _dir) = desk::<S>();
    let (zed, bob) = zed_and_bob(&mut d);
    d.restrict_customer(tenant(), zed.customer, t(2)).unwrap();
    let breached = |effects: &[throughline::Effect]| -> Vec<throughline::ConversationId> {
        effects
            .iter()
            .filter_map(|e| match e {
                throughline::Effect::SlaBreached { conversation, .. } => Some(*conversation),
                _ => None,
            })
            .collect()
    };
    // An agent solves the conversation and reopens it: the resolution clock resumes,
    // still unwatched.
    d.set_status((tenant(), zed.conversation), Status::Solved, t(3))
        .unwrap();
    d.set_status((tenant(), zed.conversation), Status::Open, t(4))
        .unwrap();
    let later = 60 * 24 * 30;
    let during = d.tick(t(later)).unwrap();
    assert!(
        !during.iter().any(|e| matches!(
            e,
            throughline::Effect::SlaWarning { conversation, .. }
                | throughline::Effect::SlaBreached { conversation, .. }
                if *conversation == zed.conversation
        )),
        "{during:?}"
    );
    assert!(
        breached(&during).contains(&bob.conversation),
        "Bob's clocks still run"
    );
    d.lift_restriction(tenant(), zed.customer, t(later + 1))
        .unwrap();
    let after = d.tick(t(later + 2)).unwrap();
    assert!(breached(&after).contains(&zed.conversation), "{after:?}");
    assert!(!breached(&after).contains(&bob.conversation), "Bob's once");
}

macro_rules! on_both_stores {
    ($($story:ident),* $(,)?) => {
        mod memory {
            $(#[test] fn $story() { super::$story::<throughline::store::MemoryStore>(); })*
        }
        mod sqlite {
            $(#[test] fn $story() { super::$story::<throughline::store::SqliteStore>(); })*
        }
    };
}

on_both_stores!(
    an_undone_merge_goes_with_the_erased_person,
    an_undone_merge_forgets_an_erased_identifier,
    a_suggestion_goes_with_the_other_customer,
    thread_keys_go_with_the_content,
    a_redelivery_after_an_identifier_erasure_is_a_duplicate,
    erased_and_restricted_customers_are_not_merged,
    a_restricted_customers_clocks_are_not_watched,
);
