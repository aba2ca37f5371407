//! Self-service context: what the customer read before writing, and articles that fail.

use chrono::{DateTime, TimeDelta, Utc};
use throughline::knowledge::summarize;
use throughline::store::MemoryStore;
use throughline::{Channel, Desk, DeskConfig, Identifier, IdentifierKind, Inbound, TenantId};

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-03-02T09:00:00Z")
        .unwrap()
        .to_utc()
}

#[test]
fn the_agent_sees_the_returns_article_was_read_twice_before_the_chat(
) -> Result<(), Box<dyn std::error::Error>> {
    let mut desk = Desk::new(MemoryStore::new(), DeskConfig::default());
    let tn = TenantId::new_v7();
    let visitor = Identifier::handle(IdentifierKind::WebVisitor, "v-42")?;
    desk.searched(tn, &visitor, "return shoes", t0())?;
    desk.article_viewed(
        tn,
        &visitor,
        "kb-returns",
        Some("Returns"),
        t0() + TimeDelta::minutes(1),
    )?;
    desk.article_viewed(
        tn,
        &visitor,
        "kb-returns",
        Some("Returns"),
        t0() + TimeDelta::minutes(3),
    )?;
    let chat = desk.ingest(
        Inbound::new(
            tn,
            Channel::WebChat,
            visitor.clone(),
            "c1",
            "How do I return my shoes?",
        ),
        t0() + TimeDelta::minutes(5),
    )?;
    let context = desk.self_service_context((tn, chat.conversation))?;
    assert_eq!(context.len(), 3);
    assert_eq!(
        summarize(&context),
        vec!["searched \"return shoes\"", "read \"Returns\" twice"]
    );

    // Another reader is helped by the shipping article and never writes.
    let other = Identifier::handle(IdentifierKind::WebVisitor, "v-43")?;
    desk.article_viewed(tn, &other, "kb-shipping", Some("Shipping"), t0())?;
    desk.article_viewed(tn, &other, "kb-returns", Some("Returns"), t0())?;
    let report = desk.article_report(
        tn,
        t0() - TimeDelta::days(1),
        t0() + TimeDelta::days(1),
        TimeDelta::days(1),
    )?;
    assert_eq!(report[0].article, "kb-returns");
    assert_eq!((report[0].readers, report[0].contacted_after), (2, 1));
    assert!((report[0].contact_rate - 0.5).abs() < 1e-9);
    assert_eq!(
        (report[1].article.as_str(), report[1].contacted_after),
        ("kb-shipping", 0)
    );

    assert!(desk.article_viewed(tn, &other, "  ", None, t0()).is_err());
    assert!(desk.searched(tn, &other, &"q".repeat(2000), t0()).is_err());
    Ok(())
}

fn tenant() -> TenantId {
    "01900000-0000-7000-8000-00000000c0de".parse().unwrap()
}

fn email(name: &str) -> Identifier {
    Identifier::email(&format!("{name}@example.com")).unwrap()
}

fn at(mins: i64) -> DateTime<Utc> {
    t0() + TimeDelta::minutes(mins)
}

#[test]
fn a_reader_merged_with_another_counts_once_in_the_article_report() {
    let mut desk = Desk::new(MemoryStore::new(), DeskConfig::default());
    let a = desk
        .article_viewed(tenant(), &email("a"), "returns", None, at(0))
        .unwrap();
    let b = desk
        .article_viewed(tenant(), &email("b"), "returns", None, at(1))
        .unwrap();
    desk.merge_customers(tenant(), a, b, "same person", at(2))
        .unwrap();
    desk.ingest(
        Inbound::new(tenant(), Channel::Email, email("b"), "b1", "Return?"),
        at(3),
    )
    .unwrap();
    let report = desk
        .article_report(tenant(), at(-60), at(60), TimeDelta::hours(1))
        .unwrap();
    assert_eq!((report[0].readers, report[0].contacted_after), (1, 1));
}

#[test]
fn an_undone_merge_takes_its_activity_out_of_the_agents_context() {
    let mut desk = Desk::new(MemoryStore::new(), DeskConfig::default());
    // A into B, then B into C; undoing the second leaves C with nothing of A's or B's.
    let a = desk
        .article_viewed(tenant(), &email("a"), "a-private", None, at(0))
        .unwrap();
    let b = desk
        .article_viewed(tenant(), &email("b"), "b-article", None, at(0))
        .unwrap();
    let c = desk
        .ingest(
            Inbound::new(tenant(), Channel::Email, email("c"), "c1", "Hi"),
            at(5),
        )
        .unwrap();
    desk.merge_customers(tenant(), a, b, "same", at(1)).unwrap();
    let bc = desk
        .merge_customers(tenant(), b, c.customer, "same", at(2))
        .unwrap();
    assert_eq!(
        desk.self_service_context((tenant(), c.conversation))
            .unwrap()
            .len(),
        2
    );
    desk.unmerge(tenant(), bc, at(3)).unwrap();
    assert!(desk
        .self_service_context((tenant(), c.conversation))
        .unwrap()
        .is_empty());
}
