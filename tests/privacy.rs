//! Privacy stories: a person's export, erasure down to the bytes of the database files,
//! erasure of one identifier, restriction of processing, and retention.

use chrono::{DateTime, TimeDelta, Utc};
use throughline::metrics::Filter;
use throughline::privacy::RetentionPolicy;
use throughline::store::{MemoryStore, Store};
use throughline::{
    AgentId, Channel, CustomerId, Desk, DeskConfig, Error, Identifier, Inbound, Status, TenantId,
};

fn t(mins: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_772_442_000, 0).unwrap() + TimeDelta::minutes(mins)
}

fn tenant() -> TenantId {
    "01900000-0000-7000-8000-0000000091a0".parse().unwrap()
}

fn agent() -> AgentId {
    "01900000-0000-7000-8000-0000000a9e47".parse().unwrap()
}

/// What the erased person wrote and was known by: none of it may survive.
const SECRETS: &[&str] = &[
    "ana.lopez@example.com",
    "+31612345678",
    "Ana Lopez",
    "Kerkstraat 12, Utrecht",
    "IBAN NL91ABNA0417164300",
    "how do I return running shoes",
    "<mail-ana-1@example.com>",
];

/// Ana chats, e-mails and WhatsApps (merged from a second profile), searches the help
/// centre, answers a survey; Bob is another customer who must stay intact.
fn story<S: Store>(desk: &mut Desk<S>) -> (CustomerId, CustomerId) {
    let email = Identifier::email(SECRETS[0]).unwrap();
    let phone = Identifier::whatsapp(SECRETS[1], None).unwrap();
    let a = desk
        .ingest(
            Inbound::new(
                tenant(),
                Channel::Email,
                email.clone(),
                SECRETS[6],
                format!("Please send the label to {}", SECRETS[3]),
            )
            .display_name(SECRETS[2])
            .subject("Return"),
            t(0),
        )
        .unwrap();
    let b = desk
        .ingest(
            Inbound::new(
                tenant(),
                Channel::WhatsApp,
                phone,
                "wamid.1",
                format!("Refund to {}", SECRETS[4]),
            ),
            t(5),
        )
        .unwrap();
    desk.merge_customers(tenant(), b.customer, a.customer, "same person", t(6))
        .unwrap();
    desk.searched(tenant(), &email, SECRETS[5], t(7)).unwrap();
    desk.reply((tenant(), a.conversation), agent(), "Label sent", t(8))
        .unwrap();
    desk.set_status((tenant(), a.conversation), Status::Solved, t(9))
        .unwrap();
    desk.record_csat(
        (tenant(), a.conversation),
        throughline::metrics::Csat::FivePoint(4),
        t(10),
    )
    .unwrap();
    let bob = desk
        .ingest(
            Inbound::new(
                tenant(),
                Channel::Sms,
                Identifier::phone("+31687654321", None).unwrap(),
                "sms-bob",
                "Bob keeps his words",
            ),
            t(11),
        )
        .unwrap();
    (a.customer, bob.customer)
}

#[test]
fn the_export_holds_the_whole_person_and_is_deterministic() {
    let mut desk = Desk::new(MemoryStore::new(), DeskConfig::default());
    let (ana, _) = story(&mut desk);
    let export = desk.export_customer(tenant(), ana).unwrap();
    let json = export.to_json_pretty().unwrap();
    assert_eq!(
        json,
        desk.export_customer(tenant(), ana)
            .unwrap()
            .to_json_pretty()
            .unwrap()
    );
    assert_eq!(
        export.customers.len(),
        2,
        "the merged-away profile is part of the person"
    );
    assert_eq!(export.identifiers.len(), 2);
    for s in &SECRETS[..6] {
        assert!(json.contains(s), "the export holds {s:?}");
    }
    assert_eq!(export.merges.len(), 1);
    for kind in ["activity", "csat", "language", "sla"] {
        assert!(
            export.records.contains_key(kind),
            "the export holds the {kind} records"
        );
    }
    // The merged-away id exports the same person.
    let via_old = desk
        .export_customer(tenant(), export.customers[1].id)
        .unwrap();
    assert_eq!(via_old.to_json_pretty().unwrap(), json);
}

#[test]
fn erasure_leaves_no_personal_data_and_keeps_the_metrics() {
    let mut desk = Desk::new(MemoryStore::new(), DeskConfig::default());
    let (ana, bob) = story(&mut desk);
    let filter = Filter::period(t(-60), t(60 * 24));
    let before = desk.report(tenant(), &filter).unwrap();
    let report = desk.erase_customer(tenant(), ana, t(20)).unwrap();
    assert_eq!(report.customers.len(), 2);
    assert_eq!(report.identifiers, 2);
    let dump = format!("{:?}", desk.store());
    for s in SECRETS {
        assert!(!dump.contains(s), "{s:?} survived the erasure");
    }
    assert!(
        dump.contains("Bob keeps his words"),
        "another customer is untouched"
    );
    let after = desk.report(tenant(), &filter).unwrap();
    assert_eq!(
        (
            after.conversations,
            after.inbound_messages,
            after.solved,
            after.csat_answers
        ),
        (
            before.conversations,
            before.inbound_messages,
            before.solved,
            before.csat_answers
        ),
        "anonymised metrics still add up"
    );
    assert_eq!(
        format!("{after:?}"),
        format!("{:?}", desk.report_from_store(tenant(), &filter).unwrap())
    );
    // Redelivered webhooks of erased messages store nothing.
    let again = desk
        .ingest(
            Inbound::new(
                tenant(),
                Channel::Email,
                Identifier::email(SECRETS[0]).unwrap(),
                SECRETS[6],
                "resent",
            ),
            t(30),
        )
        .unwrap();
    assert!(again.duplicate);
    assert!(!format!("{:?}", desk.store()).contains(SECRETS[0]));
    assert!(desk.customer(tenant(), bob).is_ok());
}

#[cfg(feature = "sqlite")]
#[test]
fn erasure_leaves_no_erased_byte_in_the_sqlite_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("privacy.db");
    let mut desk = Desk::new(
        throughline::store::SqliteStore::open(&path).unwrap(),
        DeskConfig::default(),
    );
    let (ana, _) = story(&mut desk);
    let files = || -> Vec<u8> {
        let mut all = Vec::new();
        for suffix in ["", "-wal", "-shm"] {
            let p = format!("{}{suffix}", path.display());
            if let Ok(b) = std::fs::read(&p) {
                all.extend(b);
            }
        }
        all
    };
    let hits = |bytes: &[u8], s: &str| {
        bytes
            .windows(s.len())
            .filter(|w| *w == s.as_bytes())
            .count()
    };
    let before = files();
    assert!(hits(&before, SECRETS[3]) > 0, "the data was on disk before");
    desk.erase_customer(tenant(), ana, t(20)).unwrap();
    let after = files();
    for s in SECRETS {
        assert_eq!(hits(&after, s), 0, "{s:?} is still in the database files");
    }
    assert!(hits(&after, "Bob keeps his words") > 0);
}

#[test]
fn erasing_one_identifier_keeps_the_rest() {
    let mut desk = Desk::new(MemoryStore::new(), DeskConfig::default());
    let (ana, _) = story(&mut desk);
    let phone = Identifier::whatsapp(SECRETS[1], None).unwrap();
    desk.erase_identifier(tenant(), &phone, t(20)).unwrap();
    assert!(desk.resolve(tenant(), &phone).unwrap().is_none());
    assert_eq!(
        desk.resolve(tenant(), &Identifier::email(SECRETS[0]).unwrap())
            .unwrap(),
        Some(ana)
    );
    assert!(!format!("{:?}", desk.store()).contains(SECRETS[1]));
    assert!(matches!(
        desk.erase_identifier(tenant(), &phone, t(21)),
        Err(Error::NotFound { .. })
    ));
}

#[test]
fn a_restricted_customer_is_kept_but_not_processed() {
    let mut desk = Desk::new(MemoryStore::new(), DeskConfig::default());
    let (ana, _) = story(&mut desk);
    desk.restrict_customer(tenant(), ana, t(20)).unwrap();
    assert!(desk.is_restricted(tenant(), ana).unwrap());
    let got = desk
        .ingest(
            Inbound::new(
                tenant(),
                Channel::Email,
                Identifier::email(SECRETS[0]).unwrap(),
                "<m-new@x>",
                "Still there?",
            ),
            t(21),
        )
        .unwrap();
    assert!(!got.duplicate, "new messages are stored");
    assert!(
        desk.sla_clocks((tenant(), got.conversation))
            .unwrap()
            .is_none_or(|c| c.clocks.iter().all(|k| k.started_at < t(21))),
        "no new clock runs for a restricted customer"
    );
    assert!(matches!(
        desk.reply((tenant(), got.conversation), agent(), "hi", t(22)),
        Err(Error::Restricted(_))
    ));
    desk.lift_restriction(tenant(), ana, t(23)).unwrap();
    assert!(!desk.is_restricted(tenant(), ana).unwrap());
    desk.reply((tenant(), got.conversation), agent(), "hi", t(24))
        .unwrap();
}

#[test]
fn retention_redacts_closed_conversations_after_their_period() {
    let mut desk = Desk::new(MemoryStore::new(), DeskConfig::default());
    let sms = desk
        .ingest(
            Inbound::new(
                tenant(),
                Channel::Sms,
                Identifier::phone("+31611111111", None).unwrap(),
                "s-1",
                "short-lived sms text",
            ),
            t(0),
        )
        .unwrap();
    let mail = desk
        .ingest(
            Inbound::new(
                tenant(),
                Channel::Email,
                Identifier::email("keep@example.com").unwrap(),
                "<k@x>",
                "long-lived mail text",
            ),
            t(0),
        )
        .unwrap();
    for c in [sms.conversation, mail.conversation] {
        desk.set_status((tenant(), c), Status::Solved, t(1))
            .unwrap();
        desk.set_status((tenant(), c), Status::Closed, t(2))
            .unwrap();
    }
    desk.set_retention(
        tenant(),
        RetentionPolicy::new(TimeDelta::days(365)).channel(Channel::Sms, TimeDelta::days(30)),
        t(3),
    )
    .unwrap();
    let early = desk.purge_expired(t(60 * 24 * 10)).unwrap();
    assert!(
        early.conversations.is_empty(),
        "nothing expired after 10 days"
    );
    let day = 60 * 24;
    let report = desk.purge_expired(t(day * 40)).unwrap();
    assert_eq!(report.conversations, vec![(tenant(), sms.conversation)]);
    let dump = format!("{:?}", desk.store());
    assert!(!dump.contains("short-lived sms text"));
    assert!(dump.contains("long-lived mail text"));
    assert!(
        desk.purge_expired(t(day * 41))
            .unwrap()
            .conversations
            .is_empty(),
        "due again only a day later, and idempotent"
    );
    // The purged webhook redelivered is still a duplicate.
    let again = desk
        .ingest(
            Inbound::new(
                tenant(),
                Channel::Sms,
                Identifier::phone("+31611111111", None).unwrap(),
                "s-1",
                "short-lived sms text",
            ),
            t(day * 42),
        )
        .unwrap();
    assert!(again.duplicate);
}

#[test]
fn privacy_calls_with_another_tenants_ids_find_nothing() {
    let mut desk = Desk::new(MemoryStore::new(), DeskConfig::default());
    let (ana, _) = story(&mut desk);
    let other: TenantId = "01900000-0000-7000-8000-0000000091a1".parse().unwrap();
    assert!(matches!(
        desk.export_customer(other, ana),
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        desk.erase_customer(other, ana, t(20)),
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        desk.restrict_customer(other, ana, t(20)),
        Err(Error::NotFound { .. })
    ));
    assert!(
        format!("{:?}", desk.store()).contains(SECRETS[3]),
        "nothing erased"
    );
}

#[test]
fn retention_deletes_old_activity_and_survey_words_and_keeps_the_scores() {
    let mut desk = Desk::new(MemoryStore::new(), DeskConfig::default());
    let ana = Identifier::email("ana.lopez@example.com").unwrap();
    desk.searched(tenant(), &ana, "how do I return running shoes", t(0))
        .unwrap();
    desk.article_viewed(tenant(), &ana, "kb/returns", Some("Returns"), t(1))
        .unwrap();
    let got = desk
        .ingest(
            Inbound::new(
                tenant(),
                Channel::Email,
                ana.clone(),
                "m1",
                "Return label please",
            ),
            t(2),
        )
        .unwrap();
    let c = (tenant(), got.conversation);
    desk.set_status(c, Status::Solved, t(3)).unwrap();
    desk.record_csat_with(
        c,
        throughline::metrics::Csat::FivePoint(2),
        Some("Kerkstraat 12, Utrecht is my address"),
        t(4),
    )
    .unwrap();
    desk.record_nps_with(
        tenant(),
        got.customer,
        3,
        Some("IBAN NL91ABNA0417164300"),
        t(5),
    )
    .unwrap();
    // Activity kept 30 days, survey words 90; content of closed conversations a year.
    let policy = RetentionPolicy::new(TimeDelta::days(365))
        .activity(TimeDelta::days(30))
        .comments(TimeDelta::days(90));
    desk.set_retention(tenant(), policy, t(6)).unwrap();
    let day = 60 * 24;
    let early = desk.purge_expired(t(10 * day)).unwrap();
    assert_eq!((early.activities, early.comments), (0, 0));
    assert_eq!(desk.self_service_context(c).unwrap().len(), 2);
    // After 31 days the activity is gone; the words stay until day 91.
    let month = desk.purge_expired(t(31 * day)).unwrap();
    assert_eq!((month.activities, month.comments), (2, 0));
    assert!(desk.self_service_context(c).unwrap().is_empty());
    let quarter = desk.purge_expired(t(92 * day)).unwrap();
    assert_eq!(quarter.comments, 2);
    let feedback = desk.feedback(tenant(), t(0), t(10)).unwrap();
    assert_eq!(feedback.len(), 2, "the answers stay");
    assert!(feedback.iter().all(|f| f.comment.is_none()), "{feedback:?}");
    assert_eq!(desk.nps(tenant(), t(0), t(10)).unwrap().answers, 1);
    let csat = desk
        .report_from_store(tenant(), &Filter::default())
        .unwrap()
        .csat_answers;
    assert_eq!(csat, 1);
    // Nothing of the words is left in what the store holds.
    let everything = format!("{:?}", desk.store().records(tenant(), "csat").unwrap())
        + &format!("{:?}", desk.store().records(tenant(), "nps").unwrap());
    assert!(
        !everything.contains("Kerkstraat") && !everything.contains("IBAN"),
        "{everything}"
    );
}

/// A closed account — nothing open and nothing changed for the policy's period — is
/// erased: its identifiers and profile do not outlive it. A customer with an open
/// conversation, a recent one or a restricted one is kept.
#[test]
fn retention_erases_closed_accounts_and_keeps_open_recent_and_restricted_ones() {
    let mut desk = Desk::new(MemoryStore::new(), DeskConfig::default());
    let day = 60 * 24;
    let ingest = |desk: &mut Desk<MemoryStore>, who: &str, ext: &str, at: i64| {
        desk.ingest(
            Inbound::new(
                tenant(),
                Channel::Email,
                Identifier::email(who).unwrap(),
                ext,
                "Where is my order?",
            ),
            t(at),
        )
        .unwrap()
    };
    let old = ingest(&mut desk, "old@example.com", "m1", 0);
    let open = ingest(&mut desk, "open@example.com", "m2", 0);
    let recent = ingest(&mut desk, "recent@example.com", "m3", 0);
    let kept = ingest(&mut desk, "kept@example.com", "m4", 0);
    let close = |desk: &mut Desk<MemoryStore>, conv, at: i64| {
        for status in [Status::Solved, Status::Closed] {
            desk.set_status((tenant(), conv), status, t(at)).unwrap();
        }
    };
    for got in [&old, &recent, &kept] {
        close(&mut desk, got.conversation, 1);
    }
    desk.restrict_customer(tenant(), kept.customer, t(2))
        .unwrap();
    // The recent customer wrote again and that conversation closed on day 300.
    let again = ingest(&mut desk, "recent@example.com", "m5", 300 * day);
    close(&mut desk, again.conversation, 300 * day);
    let policy = RetentionPolicy::new(TimeDelta::days(3650)).accounts(TimeDelta::days(365));
    desk.set_retention(tenant(), policy, t(3)).unwrap();
    let early = desk.purge_expired(t(200 * day)).unwrap();
    assert!(early.customers.is_empty(), "{early:?}");
    let report = desk.purge_expired(t(400 * day)).unwrap();
    assert_eq!(report.customers, vec![(tenant(), old.customer)]);
    assert_eq!(
        desk.resolve(tenant(), &Identifier::email("old@example.com").unwrap())
            .unwrap(),
        None,
        "the closed account's identifier is gone"
    );
    let erased = desk
        .store()
        .customer(tenant(), old.customer)
        .unwrap()
        .unwrap();
    assert!(erased.erased_at.is_some());
    for who in ["open@example.com", "recent@example.com", "kept@example.com"] {
        assert!(
            desk.resolve(tenant(), &Identifier::email(who).unwrap())
                .unwrap()
                .is_some(),
            "{who} is kept"
        );
    }
    assert!(desk
        .store()
        .customer(tenant(), open.customer)
        .unwrap()
        .unwrap()
        .erased_at
        .is_none());
    // Once erased, a later run does not erase again.
    let later = desk.purge_expired(t(800 * day)).unwrap();
    assert!(!later.customers.contains(&(tenant(), old.customer)));
    assert!(later.customers.contains(&(tenant(), recent.customer)));
}
