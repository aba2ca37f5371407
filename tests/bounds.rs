//! What was unbounded has a bound with a clear error, and what was already stored stays:
//! further identifiers on one message, attachment names, types and URLs, tags on one
//! conversation.

use chrono::{DateTime, Utc};
use throughline::message::MAX_ALSO;
use throughline::store::MemoryStore;
use throughline::{Attachment, Channel, Desk, DeskConfig, Error, Identifier, Inbound, TenantId};

fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(1_772_442_000, 0).unwrap()
}

fn mail(tenant: TenantId, id: &str) -> Inbound {
    Inbound::new(
        tenant,
        Channel::Email,
        Identifier::email("ana@example.com").unwrap(),
        id,
        "Hello",
    )
}

fn refused_for(r: throughline::Result<impl std::fmt::Debug>, field: &str) {
    match r {
        Err(Error::Invalid { field: f, reason }) => {
            assert_eq!(f, field, "{reason}");
            assert!(reason.contains("maximum"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_message_carries_at_most_twenty_further_identifiers() {
    let tenant = TenantId::new_v7();
    let mut desk = Desk::new(MemoryStore::new(), DeskConfig::default());
    let with = |n: usize| {
        (0..n).fold(mail(tenant, &format!("<m{n}@x>")), |m, i| {
            m.also(Identifier::email(&format!("alias{i}@example.com")).unwrap())
        })
    };
    assert!(desk.ingest(with(MAX_ALSO), now()).is_ok());
    refused_for(desk.ingest(with(MAX_ALSO + 1), now()), "also");
}

#[test]
fn attachment_names_types_and_urls_are_bounded() {
    let tenant = TenantId::new_v7();
    let mut desk = Desk::new(MemoryStore::new(), DeskConfig::default());
    let file = |name: String, url: String| Attachment {
        name,
        content_type: "image/png".into(),
        size: 10,
        url,
    };
    let ok = file("a.png".into(), "https://files.example/a.png".into());
    assert!(desk
        .ingest(mail(tenant, "<ok@x>").attachment(ok), now())
        .is_ok());
    let long_name = file("n".repeat(256), "https://files.example/b".into());
    refused_for(
        desk.ingest(mail(tenant, "<name@x>").attachment(long_name), now()),
        "attachments",
    );
    let long_url = file(
        "c.png".into(),
        format!("https://files.example/{}", "u".repeat(4096)),
    );
    refused_for(
        desk.ingest(mail(tenant, "<url@x>").attachment(long_url), now()),
        "attachments",
    );
}

#[test]
fn a_conversation_takes_at_most_a_hundred_tags_and_keeps_them() {
    let tenant = TenantId::new_v7();
    let mut desk = Desk::new(MemoryStore::new(), DeskConfig::default());
    let conv = desk
        .ingest(mail(tenant, "<t@x>"), now())
        .unwrap()
        .conversation;
    for n in 0..100 {
        assert!(desk.tag((tenant, conv), &format!("t{n}"), now()).unwrap());
    }
    match desk.tag((tenant, conv), "one-more", now()) {
        Err(Error::Invalid {
            field: "tag",
            reason,
        }) => assert!(reason.contains("maximum"), "{reason}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(desk.conversation((tenant, conv)).unwrap().tags.len(), 100);
}

/// A desk on an in-memory SQLite store whose calls can be made to fail.
fn faulty_desk() -> Desk<throughline::testkit::FaultyStore<throughline::store::SqliteStore>> {
    use throughline::testkit::{FaultMode, FaultyStore};
    let store = throughline::store::SqliteStore::open_in_memory().unwrap();
    Desk::new(
        FaultyStore::new(store, 0, FaultMode::Once),
        DeskConfig::default().id_seed(9),
    )
}

/// An erasure that committed is reported as done even when the store's scrub after it
/// fails: the report says the scrub failed, and `Desk::scrub` retries it.
#[test]
fn a_failed_scrub_after_an_erasure_is_reported_not_an_error() {
    use throughline::testkit::FaultMode;
    let tenant = TenantId::new_v7();
    let setup = || {
        let mut desk = faulty_desk();
        let got = desk.ingest(mail(tenant, "<e@x>"), now()).unwrap();
        (desk, got.customer)
    };
    let (mut clean, customer) = setup();
    let start = clean.store().calls();
    let report = clean.erase_customer(tenant, customer, now()).unwrap();
    assert_eq!(report.scrub_failed, None);
    let calls = clean.store().calls() - start;

    let (mut desk, customer) = setup();
    desk.store().fail_after(calls, FaultMode::Once); // the last call: the scrub
    let report = desk.erase_customer(tenant, customer, now()).unwrap();
    assert!(report.scrub_failed.is_some(), "{report:?}");
    assert_eq!(report.identifiers, 1, "the erasure itself committed");
    let ana = Identifier::email("ana@example.com").unwrap();
    assert_eq!(
        desk.resolve(tenant, &ana).unwrap(),
        None,
        "the address is gone"
    );
    desk.scrub().unwrap();
}

/// The same for one identifier: an erasure that committed reports its failed scrub
/// instead of returning an error the host would retry.
#[test]
fn a_failed_scrub_after_an_identifier_erasure_is_reported_not_an_error() {
    use throughline::testkit::FaultMode;
    let tenant = TenantId::new_v7();
    let ana = Identifier::email("ana@example.com").unwrap();
    let setup = || {
        let mut desk = faulty_desk();
        desk.ingest(mail(tenant, "<e@x>"), now()).unwrap();
        desk
    };
    let mut clean = setup();
    let start = clean.store().calls();
    let report = clean.erase_identifier(tenant, &ana, now()).unwrap();
    assert_eq!(
        (
            report.identifiers,
            report.messages,
            report.scrub_failed.clone()
        ),
        (1, 1, None)
    );
    let calls = clean.store().calls() - start;

    let mut desk = setup();
    desk.store().fail_after(calls, FaultMode::Once); // the last call: the scrub
    let report = desk.erase_identifier(tenant, &ana, now()).unwrap();
    assert!(report.scrub_failed.is_some(), "{report:?}");
    assert_eq!(
        desk.resolve(tenant, &ana).unwrap(),
        None,
        "the address is gone"
    );
    desk.scrub().unwrap();
}
