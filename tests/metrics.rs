//! Metrics worked examples (the ones in docs/metrics.md) and the live-vs-store property.

use chrono::{DateTime, TimeDelta, Utc};
use proptest::prelude::*;
use throughline::metrics::{Csat, Filter};
use throughline::store::MemoryStore;
use throughline::{
    AgentId, Channel, Desk, DeskConfig, Identifier, Inbound, ReplyOptions, Status, TenantId,
};

type R = Result<(), Box<dyn std::error::Error>>;

fn t(min: i64) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-03-02T09:00:00Z")
        .unwrap()
        .to_utc()
        + TimeDelta::minutes(min)
}

#[test]
fn worked_example_from_the_metrics_guide() -> R {
    let mut desk = Desk::new(MemoryStore::new(), DeskConfig::default());
    let tn = TenantId::new_v7();
    let agent = AgentId::new_v7();
    let bot = AgentId::new_v7();
    let email = |s: &str| Identifier::email(&format!("{s}@example.com")).unwrap();

    // A: one e-mail, answered in 30 min, solved at 60 min, rated 5: a first-contact resolution.
    let a = desk.ingest(
        Inbound::new(tn, Channel::Email, email("a"), "a1", "Invoice copy please"),
        t(0),
    )?;
    desk.reply((tn, a.conversation), agent, "Attached", t(30))?;
    desk.set_status((tn, a.conversation), Status::Solved, t(60))?;
    desk.record_csat((tn, a.conversation), Csat::FivePoint(5), t(70))?;

    // B: chat answered in 10 min; the customer follows up on WhatsApp (a switch) and gets a
    // next reply 20 min later; solved at 60: not FCR (wrote again), rated 2.
    let b_id = email("b");
    let b = desk.ingest(
        Inbound::new(
            tn,
            Channel::WebChat,
            b_id.clone(),
            "b1",
            "Where is my parcel?",
        ),
        t(0),
    )?;
    desk.reply((tn, b.conversation), agent, "Checking", t(10))?;
    let phone = Identifier::whatsapp("+31612345678", None)?;
    desk.link_identifier(tn, b.customer, phone.clone(), true, t(11))?;
    desk.ingest(
        Inbound::new(tn, Channel::WhatsApp, phone, "b2", "Any news?"),
        t(20),
    )?;
    desk.reply((tn, b.conversation), agent, "Arrives today", t(40))?;
    desk.set_status((tn, b.conversation), Status::Solved, t(60))?;
    desk.record_csat((tn, b.conversation), Csat::FivePoint(2), t(61))?;

    // C: answered in 5, solved at 30, closed; the customer calls two days later: the repeat
    // contact on another channel means C was not resolved on first contact.
    let c = desk.ingest(
        Inbound::new(tn, Channel::Email, email("c"), "c1", "Change my address"),
        t(0),
    )?;
    desk.reply((tn, c.conversation), agent, "Done", t(5))?;
    desk.set_status((tn, c.conversation), Status::Solved, t(30))?;
    desk.set_status((tn, c.conversation), Status::Closed, t(31))?;
    desk.ingest(
        Inbound::new(
            tn,
            Channel::Voice,
            email("c"),
            "call-1",
            "Call: address still wrong",
        ),
        t(2 * 24 * 60),
    )?;

    // E: a bot answers and solves it alone.
    let e = desk.ingest(
        Inbound::new(tn, Channel::InApp, email("e"), "e1", "Opening hours?"),
        t(0),
    )?;
    desk.reply_with(
        (tn, e.conversation),
        ReplyOptions::bot(bot, "9 to 17"),
        t(1),
    )?;
    desk.set_status((tn, e.conversation), Status::Solved, t(2))?;

    let filter = Filter::period(t(-60), t(24 * 60));
    let r = desk.report(tn, &filter)?;
    assert_eq!(r.conversations, 4);
    assert_eq!(r.inbound_messages, 5);
    assert_eq!(r.channel_mix.get("email"), Some(&2));
    assert_eq!((r.with_channel_switch, r.channel_switches), (1, 1));
    // First replies (human only): 30, 10, 5 minutes -> median 10, mean 15.
    assert_eq!(r.first_reply.count, 3);
    assert_eq!(r.first_reply.median_secs, Some(600));
    assert_eq!(r.first_reply.mean_secs, Some(900.0));
    assert_eq!(r.next_reply_mean_secs, Some(1200.0));
    // Resolution: 60, 60, 30, 2 minutes.
    assert_eq!(r.solved, 4);
    assert_eq!(r.resolution.median_secs, Some(1800));
    // FCR: A and E (the bot solved it on first contact); not B (wrote again), not C (called back).
    assert_eq!(r.fcr, 2);
    assert_eq!(r.fcr_rate, Some(0.5));
    assert_eq!((r.csat_answers, r.csat), (2, Some(0.5)));
    assert_eq!((r.bot_resolved, r.handed_over), (1, 0));
    assert_eq!(r.agents.len(), 1);
    assert_eq!((r.agents[0].handled, r.agents[0].csat), (3, Some(0.5)));
    // By channel.
    let chat = desk.report(tn, &filter.clone().channel(Channel::WebChat))?;
    assert_eq!((chat.conversations, chat.fcr), (1, 0));
    // The same numbers recomputed from the store alone.
    assert_eq!(desk.report_from_store(tn, &filter)?, r);
    // CSAT only for solved conversations, within the window.
    let open = desk.ingest(
        Inbound::new(tn, Channel::Email, email("f"), "f1", "Hi"),
        t(100),
    )?;
    assert!(desk
        .record_csat((tn, open.conversation), Csat::GoodBad(true), t(101))
        .is_err());
    assert!(desk
        .record_csat(
            (tn, a.conversation),
            Csat::FivePoint(4),
            t(60 + 8 * 24 * 60)
        )
        .is_err());
    assert!(desk
        .record_csat((tn, a.conversation), Csat::FivePoint(9), t(61))
        .is_err());
    // NPS.
    for (i, s) in [10u8, 9, 7, 3].into_iter().enumerate() {
        desk.record_nps(tn, a.customer, s, t(i as i64))?;
    }
    let nps = desk.nps(tn, t(-1), t(10))?;
    assert_eq!(nps.score, Some(25.0));
    assert!(desk.record_nps(tn, a.customer, 11, t(0)).is_err());
    Ok(())
}

#[derive(Debug, Clone)]
enum Ev {
    In(u8, u8),
    Reply(u8, bool),
    Status(u8, u8),
    Csat(u8, u8),
}

fn ev() -> impl Strategy<Value = Ev> {
    prop_oneof![
        3 => (0..5u8, 0..3u8).prop_map(|(p, c)| Ev::In(p, c)),
        2 => (0..5u8, any::<bool>()).prop_map(|(p, h)| Ev::Reply(p, h)),
        2 => (0..5u8, 0..5u8).prop_map(|(p, s)| Ev::Status(p, s)),
        1 => (0..5u8, 1..6u8).prop_map(|(p, s)| Ev::Csat(p, s)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(64)))]
    #[test]
    fn live_metrics_equal_metrics_recomputed_from_the_store(evs in proptest::collection::vec(ev(), 1..60)) {
        let mut desk = Desk::new(MemoryStore::new(), DeskConfig::default());
        let tn = TenantId::new_v7();
        let agent = AgentId::new_v7();
        let mut last = std::collections::HashMap::new();
        let statuses = [Status::Open, Status::Pending, Status::OnHold, Status::Solved, Status::Closed];
        let channels = [Channel::Email, Channel::WebChat, Channel::Sms];
        for (i, e) in evs.iter().enumerate() {
            let now = t(i as i64 * 37);
            let who = |p: u8| Identifier::email(&format!("p{p}@example.com")).unwrap();
            match e {
                Ev::In(p, c) => {
                    let got = desk.ingest(Inbound::new(tn, channels[*c as usize].clone(), who(*p), format!("m{i}"), "hi"), now).unwrap();
                    last.insert(*p, got.conversation);
                }
                Ev::Reply(p, human) => if let Some(c) = last.get(p) {
                    let opts = if *human { ReplyOptions::new(agent, "answer") } else { ReplyOptions::bot(agent, "bot") };
                    let _ = desk.reply_with((tn, *c), opts.on(Channel::Email), now);
                },
                Ev::Status(p, s) => if let Some(c) = last.get(p) {
                    let _ = desk.set_status((tn, *c), statuses[*s as usize], now);
                },
                Ev::Csat(p, s) => if let Some(c) = last.get(p) {
                    let _ = desk.record_csat((tn, *c), Csat::FivePoint(*s), now);
                },
            }
        }
        let filter = Filter::default();
        prop_assert_eq!(desk.report(tn, &filter).unwrap(), desk.report_from_store(tn, &filter).unwrap());
    }
}

fn tenant_m() -> TenantId {
    "01900000-0000-7000-8000-00000000e7a1".parse().unwrap()
}

fn mail_from(name: &str) -> Identifier {
    Identifier::email(&format!("{name}@example.com")).unwrap()
}

#[test]
fn a_repeat_contact_after_a_late_solve_counts_in_the_store_report_too() -> R {
    let mut d = Desk::new(MemoryStore::new(), DeskConfig::default());
    let agent = AgentId::new_v7();
    let day = 24 * 60;
    let a = d.ingest(
        Inbound::new(tenant_m(), Channel::Email, mail_from("a"), "a1", "Help"),
        t(0),
    )?;
    d.reply((tenant_m(), a.conversation), agent, "On it", t(5))?;
    // Solved and closed on day 20, the customer calls on day 21 (a new conversation): not
    // a first-contact resolution.
    d.set_status((tenant_m(), a.conversation), Status::Solved, t(20 * day))?;
    d.set_status(
        (tenant_m(), a.conversation),
        Status::Closed,
        t(20 * day + 1),
    )?;
    d.ingest(
        Inbound::new(
            tenant_m(),
            Channel::Voice,
            mail_from("a"),
            "a2",
            "Still broken",
        ),
        t(21 * day),
    )?;
    let day_one = Filter::period(t(-60), t(day));
    let live = d.report(tenant_m(), &day_one)?;
    assert_eq!(live.fcr, 0);
    assert_eq!(d.report_from_store(tenant_m(), &day_one)?, live);
    Ok(())
}

#[test]
fn a_language_settled_by_a_later_message_reaches_the_live_report() -> R {
    let mut d = Desk::new(MemoryStore::new(), DeskConfig::default());
    d.ingest(
        Inbound::new(tenant_m(), Channel::WebChat, mail_from("l"), "l1", "123"),
        t(0),
    )?;
    d.ingest(
        Inbound::new(
            tenant_m(),
            Channel::WebChat,
            mail_from("l"),
            "l2",
            "Guten Tag, wo ist meine Bestellung? Ich warte schon seit einer Woche.",
        ),
        t(1),
    )?;
    let german = Filter::period(t(-60), t(60)).language("de");
    let live = d.report(tenant_m(), &german)?;
    assert_eq!(live.conversations, 1);
    assert_eq!(d.report_from_store(tenant_m(), &german)?, live);
    Ok(())
}

#[test]
fn a_message_delivered_late_counts_in_timeline_order_live_too() -> R {
    let mut d = Desk::new(MemoryStore::new(), DeskConfig::default());
    let agent = AgentId::new_v7();
    let a = d.ingest(
        Inbound::new(tenant_m(), Channel::Email, mail_from("o"), "o1", "Help"),
        t(0),
    )?;
    d.reply((tenant_m(), a.conversation), agent, "On it", t(10))?;
    // Sent at minute 5, before the reply, but delivered at minute 20.
    d.ingest(
        Inbound::new(
            tenant_m(),
            Channel::Email,
            mail_from("o"),
            "o2",
            "Also this",
        )
        .sent_at(t(5)),
        t(20),
    )?;
    d.set_status((tenant_m(), a.conversation), Status::Solved, t(30))?;
    let all = Filter::default();
    let live = d.report(tenant_m(), &all)?;
    assert_eq!(
        live.fcr, 1,
        "the customer wrote before the reply, not after it"
    );
    assert_eq!(d.report_from_store(tenant_m(), &all)?, live);
    Ok(())
}

#[test]
fn a_team_tag_slices_the_reports_live_and_from_the_store() -> R {
    let mut d = Desk::new(MemoryStore::new(), DeskConfig::default());
    let a = d.ingest(
        Inbound::new(
            tenant_m(),
            Channel::Email,
            mail_from("p"),
            "p1",
            "Invoice wrong",
        ),
        t(0),
    )?;
    d.ingest(
        Inbound::new(
            tenant_m(),
            Channel::Email,
            mail_from("q"),
            "q1",
            "Where is it",
        ),
        t(1),
    )?;
    assert!(d.tag((tenant_m(), a.conversation), "team:billing", t(2))?);
    assert!(
        !d.tag((tenant_m(), a.conversation), "team:billing", t(3))?,
        "already tagged"
    );
    let billing = Filter::default().team("billing");
    let live = d.report(tenant_m(), &billing)?;
    assert_eq!(live.conversations, 1);
    assert_eq!(d.report_from_store(tenant_m(), &billing)?, live);
    assert!(d.untag((tenant_m(), a.conversation), "team:billing", t(4))?);
    assert_eq!(d.report(tenant_m(), &billing)?.conversations, 0);
    assert_eq!(d.report_from_store(tenant_m(), &billing)?.conversations, 0);
    for bad in ["", "two words", "tab\there"] {
        assert!(
            matches!(
                d.tag((tenant_m(), a.conversation), bad, t(5)),
                Err(throughline::Error::Invalid { .. })
            ),
            "{bad:?}"
        );
    }
    Ok(())
}

/// CSAT and NPS comments on `store`: kept with the answers, listed with them, erased
/// with the customer while the scores stay in the figures.
fn comments_on(store: impl throughline::store::Store) -> R {
    use throughline::metrics::FeedbackAnswer;
    let mut desk = Desk::new(store, DeskConfig::default());
    let tn = TenantId::new_v7();
    let agent = AgentId::new_v7();
    let ana = Identifier::email("ana@example.com")?;
    let a = desk.ingest(Inbound::new(tn, Channel::Email, ana, "a1", "Refund?"), t(0))?;
    let c = (tn, a.conversation);
    desk.reply_with(
        c,
        ReplyOptions::new(agent, "Refunded").submit_as(Status::Solved),
        t(5),
    )?;
    desk.record_csat_with(
        c,
        Csat::FivePoint(4),
        Some("  Kind agent, slow refund "),
        t(10),
    )?;
    desk.record_nps_with(tn, a.customer, 9, Some("I tell my friends"), t(11))?;
    desk.record_nps(tn, a.customer, 6, t(12))?;
    // Bad comments are refused, and nothing is recorded by them.
    let long = "x".repeat(throughline::metrics::MAX_COMMENT_CHARS + 1);
    assert!(desk
        .record_csat_with(c, Csat::FivePoint(1), Some(&long), t(13))
        .is_err());
    assert!(desk
        .record_nps_with(tn, a.customer, 0, Some("a\0b"), t(13))
        .is_err());
    let got = desk.feedback(tn, t(0), t(60))?;
    let seen: Vec<(FeedbackAnswer, Option<&str>)> = got
        .iter()
        .map(|f| (f.answer, f.comment.as_deref()))
        .collect();
    assert_eq!(
        seen,
        [
            (
                FeedbackAnswer::Csat(Csat::FivePoint(4)),
                Some("Kind agent, slow refund")
            ),
            (FeedbackAnswer::Nps(9), Some("I tell my friends")),
            (FeedbackAnswer::Nps(6), None),
        ]
    );
    assert_eq!(got[0].conversation, Some(a.conversation));
    assert!(got.iter().all(|f| f.customer == a.customer));
    assert!(
        desk.feedback(tn, t(11), t(12))?.len() == 1,
        "the period bounds"
    );
    assert_eq!(
        desk.report_from_store(tn, &Filter::default())?.csat,
        Some(1.0)
    );
    // Erasure: the words go, the scores stay.
    desk.erase_customer(tn, a.customer, t(100))?;
    let after = desk.feedback(tn, t(0), t(60))?;
    assert_eq!(after.len(), 3);
    assert!(after.iter().all(|f| f.comment.is_none()), "{after:?}");
    assert_eq!(desk.nps(tn, t(0), t(60))?.answers, 2);
    Ok(())
}

#[test]
fn csat_and_nps_comments_are_kept_listed_and_erased_with_the_customer() -> R {
    comments_on(MemoryStore::new())?;
    comments_on(throughline::store::SqliteStore::open_in_memory()?)
}

#[test]
fn reports_give_business_hours_beside_calendar_time() -> R {
    use throughline::sla::{BusinessCalendar, SlaPolicies};
    let mut hours = BusinessCalendar::builder("UTC");
    for d in [
        chrono::Weekday::Mon,
        chrono::Weekday::Tue,
        chrono::Weekday::Wed,
        chrono::Weekday::Thu,
        chrono::Weekday::Fri,
    ] {
        hours = hours.hours(d, "09:00", "17:00");
    }
    let sla = SlaPolicies::default()
        .calendar("business", hours.build()?)
        .build()?;
    let mut desk = Desk::new(MemoryStore::new(), DeskConfig::default().sla(sla));
    let tn = TenantId::new_v7();
    let agent = AgentId::new_v7();
    // Friday 16:00: an hour of business time left; answered Monday 10:00, solved 12:00.
    let friday = DateTime::parse_from_rfc3339("2026-03-06T16:00:00Z")?.to_utc();
    let monday = friday + TimeDelta::days(3);
    let got = desk.ingest(
        Inbound::new(
            tn,
            Channel::Email,
            Identifier::email("ana@example.com")?,
            "m1",
            "Hello",
        ),
        friday,
    )?;
    let c = (tn, got.conversation);
    desk.reply(c, agent, "Hi Ana", monday - TimeDelta::hours(6))?;
    desk.set_status(c, Status::Solved, monday - TimeDelta::hours(4))?;
    let filter = Filter::default().business_hours("business");
    for report in [
        desk.report(tn, &filter)?,
        desk.report_from_store(tn, &filter)?,
    ] {
        assert_eq!(
            report.first_reply.median_secs,
            Some(66 * 3600),
            "calendar time"
        );
        let business = report.first_reply_business.expect("business figures");
        assert_eq!(
            business.median_secs,
            Some(2 * 3600),
            "Friday 16-17, Monday 9-10"
        );
        let resolved = report.resolution_business.expect("business figures");
        assert_eq!(resolved.median_secs, Some(4 * 3600));
    }
    // Without a calendar, no business figures; an unknown one is an error.
    assert_eq!(
        desk.report(tn, &Filter::default())?.first_reply_business,
        None
    );
    let unknown = Filter::default().business_hours("night shift");
    assert!(desk.report(tn, &unknown).is_err());
    assert!(desk.report_from_store(tn, &unknown).is_err());
    Ok(())
}
