//! SLA stories on virtual time.

use chrono::{DateTime, TimeDelta, Utc, Weekday};
use proptest::prelude::*;
use throughline::sla::{
    AuthorKind, Basis, BusinessCalendar, ClockInput, ClockState, Metric, SlaClocks, SlaPolicies,
    SlaPolicy,
};
use throughline::store::MemoryStore;
use throughline::{
    AgentId, Channel, Desk, DeskConfig, Effect, Identifier, Inbound, Priority, ReplyOptions,
    Status, TenantId,
};

type R = Result<(), Box<dyn std::error::Error>>;

fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn office() -> BusinessCalendar {
    let mut b = BusinessCalendar::builder("Europe/Amsterdam");
    for d in [
        Weekday::Mon,
        Weekday::Tue,
        Weekday::Wed,
        Weekday::Thu,
        Weekday::Fri,
    ] {
        b = b.hours(d, "09:00", "17:00");
    }
    b.build().unwrap()
}

fn policies() -> SlaPolicies {
    SlaPolicies::new()
        .calendar("office", office())
        .policy(
            SlaPolicy::new("e-mail")
                .channels(&[Channel::Email])
                .target_all(
                    Metric::FirstReply,
                    TimeDelta::hours(4),
                    Basis::Business("office".into()),
                )
                .target_all(
                    Metric::NextReply,
                    TimeDelta::hours(4),
                    Basis::Business("office".into()),
                )
                .target_all(Metric::TotalResolution, TimeDelta::days(5), Basis::Calendar),
        )
        .policy(
            SlaPolicy::new("chat")
                .target_all(Metric::FirstReply, TimeDelta::minutes(5), Basis::Calendar)
                .target_all(Metric::NextReply, TimeDelta::minutes(10), Basis::Calendar),
        )
        .build()
        .unwrap()
}

fn desk() -> Desk<MemoryStore> {
    Desk::new(MemoryStore::new(), DeskConfig::default().sla(policies()))
}

fn breaches(effects: &[Effect]) -> Vec<Metric> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::SlaBreached { metric, .. } => Some(*metric),
            _ => None,
        })
        .collect()
}

#[test]
fn a_friday_evening_email_warns_and_breaches_on_monday() -> R {
    let mut desk = desk();
    let tn = TenantId::new_v7();
    let fri_evening = at("2026-03-06T17:00:00Z"); // 18:00 in Amsterdam
    let got = desk.ingest(
        Inbound::new(
            tn,
            Channel::Email,
            Identifier::email("ana@example.com")?,
            "m1",
            "Refund?",
        ),
        fri_evening,
    )?;
    // Nothing over the weekend.
    assert!(desk.tick(at("2026-03-08T20:00:00Z"))?.is_empty());
    // Four business hours from Monday 09:00: warnings at 12:00 (75%) and 12:36 (90%), breach at 13:00.
    assert_eq!(desk.next_wakeup()?, Some(at("2026-03-09T11:00:00Z")));
    let warn = desk.tick(at("2026-03-09T11:00:00Z"))?;
    assert!(
        matches!(warn.as_slice(), [Effect::SlaWarning { metric: Metric::FirstReply, fraction, .. }] if (*fraction - 0.75).abs() < 1e-9)
    );
    assert_eq!(desk.next_wakeup()?, Some(at("2026-03-09T11:36:00Z")));
    let rest = desk.tick(at("2026-03-09T12:30:00Z"))?;
    assert_eq!(breaches(&rest), vec![Metric::FirstReply]);
    assert!(rest.iter().any(
        |e| matches!(e, Effect::SlaWarning { fraction, .. } if (*fraction - 0.9).abs() < 1e-9)
    ));
    match rest
        .iter()
        .find(|e| matches!(e, Effect::SlaBreached { .. }))
    {
        Some(Effect::SlaBreached {
            deadline,
            at: when,
            conversation,
            ..
        }) => {
            assert_eq!(*deadline, at("2026-03-09T12:00:00Z"));
            assert_eq!(*when, *deadline, "a breach is dated at its deadline");
            assert_eq!(*conversation, got.conversation);
        }
        _ => unreachable!(),
    }
    // Each fires once.
    assert!(desk.tick(at("2026-03-09T15:00:00Z"))?.is_empty());
    let log = desk.sla_clocks((tn, got.conversation))?.unwrap();
    assert!(log
        .events
        .iter()
        .any(|e| matches!(e.kind, throughline::sla::SlaEventKind::Breach { .. })));
    Ok(())
}

#[test]
fn bot_replies_do_not_stop_the_clock_and_a_human_reply_does() -> R {
    let mut desk = desk();
    let tn = TenantId::new_v7();
    let t0 = at("2026-03-09T10:00:00Z");
    let got = desk.ingest(
        Inbound::new(
            tn,
            Channel::WebChat,
            Identifier::email("bo@example.com")?,
            "c1",
            "Hi",
        ),
        t0,
    )?;
    desk.reply_with(
        (tn, got.conversation),
        ReplyOptions::bot(AgentId::new_v7(), "A human will be with you shortly"),
        t0 + TimeDelta::minutes(1),
    )?;
    assert_eq!(
        breaches(&desk.tick(t0 + TimeDelta::minutes(5))?),
        vec![Metric::FirstReply]
    );
    // Next conversation: a human answers in time; nothing breaches, no warning after the reply.
    let other = desk.ingest(
        Inbound::new(
            tn,
            Channel::WebChat,
            Identifier::email("cy@example.com")?,
            "c2",
            "Hi",
        ),
        t0,
    )?;
    desk.reply(
        (tn, other.conversation),
        AgentId::new_v7(),
        "Hello!",
        t0 + TimeDelta::minutes(2),
    )?;
    let later = desk.tick(t0 + TimeDelta::hours(1))?;
    assert!(later.iter().all(|e| !matches!(e, Effect::SlaWarning { conversation, .. } | Effect::SlaBreached { conversation, .. } if *conversation == other.conversation)));
    Ok(())
}

#[test]
fn pending_pauses_next_reply_and_solving_stops_it() -> R {
    let mut desk = desk();
    let tn = TenantId::new_v7();
    let t0 = at("2026-03-09T10:00:00Z");
    let who = Identifier::email("dee@example.com")?;
    let agent = AgentId::new_v7();
    let got = desk.ingest(
        Inbound::new(tn, Channel::WebChat, who.clone(), "c1", "Hi"),
        t0,
    )?;
    desk.reply(
        (tn, got.conversation),
        agent,
        "What is your order number?",
        t0 + TimeDelta::minutes(1),
    )?;
    desk.ingest(
        Inbound::new(tn, Channel::WebChat, who.clone(), "c2", "It is 1042"),
        t0 + TimeDelta::minutes(2),
    )?;
    // Waiting on the warehouse: the next reply clock pauses while pending.
    desk.set_status(
        (tn, got.conversation),
        Status::Pending,
        t0 + TimeDelta::minutes(3),
    )?;
    assert!(
        breaches(&desk.tick(t0 + TimeDelta::hours(2))?).is_empty(),
        "a paused clock does not move"
    );
    let clocks = desk.sla_clocks((tn, got.conversation))?.unwrap();
    let next = clocks
        .clocks
        .iter()
        .find(|c| c.metric == Metric::NextReply)
        .unwrap();
    assert_eq!(
        (next.state, next.elapsed),
        (ClockState::Paused, TimeDelta::minutes(1))
    );
    // Back to open two hours later: 9 minutes left.
    desk.set_status(
        (tn, got.conversation),
        Status::Open,
        t0 + TimeDelta::hours(2),
    )?;
    assert_eq!(
        desk.next_wakeup()?.map(|t| t > t0 + TimeDelta::hours(2)),
        Some(true)
    );
    // Solved before the deadline: the next-reply clock stops (no breach after resolve).
    desk.set_status(
        (tn, got.conversation),
        Status::Solved,
        t0 + TimeDelta::hours(2) + TimeDelta::minutes(5),
    )?;
    assert!(desk.tick(t0 + TimeDelta::days(1))?.is_empty());
    assert_eq!(desk.next_wakeup()?, None);
    Ok(())
}

#[test]
fn reopening_resumes_total_resolution_and_never_restarts_it() -> R {
    let mut desk = desk();
    let tn = TenantId::new_v7();
    let t0 = at("2026-03-09T08:00:00Z");
    let who = Identifier::email("eve@example.com")?;
    let got = desk.ingest(
        Inbound::new(tn, Channel::Email, who.clone(), "m1", "Broken"),
        t0,
    )?;
    desk.reply(
        (tn, got.conversation),
        AgentId::new_v7(),
        "Fixed",
        t0 + TimeDelta::hours(1),
    )?;
    desk.set_status(
        (tn, got.conversation),
        Status::Solved,
        t0 + TimeDelta::days(1),
    )?;
    desk.ingest(
        Inbound::new(tn, Channel::Email, who, "m2", "Still broken"),
        t0 + TimeDelta::days(2),
    )?;
    let clocks = desk.sla_clocks((tn, got.conversation))?.unwrap();
    let total = clocks
        .clocks
        .iter()
        .find(|c| c.metric == Metric::TotalResolution)
        .unwrap();
    assert_eq!(total.state, ClockState::Active);
    assert_eq!(
        total.elapsed,
        TimeDelta::days(1),
        "one day counted before the solve"
    );
    assert_eq!(total.started_at, t0, "resumed, not restarted");
    assert_eq!(
        total.deadline,
        Some(t0 + TimeDelta::days(2) + TimeDelta::days(4))
    );
    Ok(())
}

/// First reply within eight hours, or one hour when urgent.
fn eight_hours_or_one_when_urgent() -> SlaPolicies {
    SlaPolicies::new()
        .policy(
            SlaPolicy::new("p")
                .target(
                    Metric::FirstReply,
                    Priority::Normal,
                    TimeDelta::hours(8),
                    Basis::Calendar,
                )
                .target(
                    Metric::FirstReply,
                    Priority::Urgent,
                    TimeDelta::hours(1),
                    Basis::Calendar,
                ),
        )
        .build()
        .unwrap()
}

#[test]
fn a_priority_change_applies_from_the_change_and_breaches_are_not_back_dated() {
    let sla = eight_hours_or_one_when_urgent();
    let t0 = at("2026-03-09T08:00:00Z");
    let mut c = SlaClocks::default();
    c.apply(
        &sla,
        &ClockInput::Policy {
            at: t0,
            policy: Some("p".into()),
            priority: Priority::Normal,
        },
    );
    c.apply(&sla, &ClockInput::Inbound { at: t0 });
    // Three hours later it becomes urgent: the 1 h target is already exceeded.
    let t3 = t0 + TimeDelta::hours(3);
    c.apply(
        &sla,
        &ClockInput::Policy {
            at: t3,
            policy: Some("p".into()),
            priority: Priority::Urgent,
        },
    );
    let fired = c.poll(t3);
    let breach = fired
        .iter()
        .find(|e| matches!(e.kind, throughline::sla::SlaEventKind::Breach { .. }))
        .unwrap();
    assert_eq!(
        breach.at, t3,
        "recorded at the change, not back-dated to 09:00"
    );
}

#[test]
fn a_tightened_target_fires_the_warnings_it_puts_in_the_past() {
    let sla = eight_hours_or_one_when_urgent();
    let t0 = at("2026-03-09T08:00:00Z");
    let policy = |at, priority| ClockInput::Policy {
        at,
        policy: Some("p".into()),
        priority,
    };
    let mut clocks = SlaClocks::default();
    clocks.apply(&sla, &policy(t0, Priority::Normal));
    clocks.apply(&sla, &ClockInput::Inbound { at: t0 });
    // Urgent after 50 minutes: 75% of the hour has passed, 90% has not.
    let change = t0 + TimeDelta::minutes(50);
    clocks.apply(&sla, &policy(change, Priority::Urgent));
    let fired: Vec<(f64, DateTime<Utc>)> = clocks
        .poll(t0 + TimeDelta::hours(2))
        .into_iter()
        .filter_map(|e| match e.kind {
            throughline::sla::SlaEventKind::Warn { fraction, .. } => Some((fraction, e.at)),
            _ => None,
        })
        .collect();
    assert_eq!(
        fired,
        vec![(0.75, change), (0.9, t0 + TimeDelta::minutes(54))],
        "the passed threshold at the change, the other when due"
    );
}

fn input() -> impl Strategy<Value = (u32, u8, u8)> {
    (0u32..600, 0u8..4, 0u8..6)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn replaying_in_any_arrival_order_gives_the_same_clocks(raw in proptest::collection::vec(input(), 1..30), seed in any::<u64>()) {
        let sla = policies();
        let t0 = at("2026-03-09T08:00:00Z");
        let statuses = [Status::Open, Status::Pending, Status::OnHold, Status::Solved, Status::Open, Status::Pending];
        let mut inputs = vec![ClockInput::Policy { at: t0, policy: Some("chat".into()), priority: Priority::Normal }];
        let mut status = Status::New;
        let mut sorted = raw.clone();
        sorted.sort_by_key(|r| r.0);
        for (i, (min, kind, s)) in sorted.into_iter().enumerate() {
            let at = t0 + TimeDelta::minutes(i64::from(min)) + TimeDelta::seconds(i as i64 + 1);
            inputs.push(match kind {
                0 => ClockInput::Inbound { at },
                1 => ClockInput::Reply { at, by: AuthorKind::Agent },
                2 => ClockInput::Reply { at, by: AuthorKind::Bot },
                _ => {
                    let to = statuses[s as usize];
                    let from = std::mem::replace(&mut status, to);
                    ClockInput::Status { at, from, to }
                }
            });
        }
        let in_order = SlaClocks::replay(&sla, &inputs);
        let mut shuffled = inputs.clone();
        let mut x = seed;
        for i in (1..shuffled.len()).rev() {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
            shuffled.swap(i, (x >> 33) as usize % (i + 1));
        }
        prop_assert_eq!(SlaClocks::replay(&sla, &shuffled), in_order.clone());
        // Paused clocks do not move: their counted time equals what they had when paused.
        for c in &in_order.clocks {
            if c.state == ClockState::Paused {
                prop_assert!(c.since.is_none());
                prop_assert!(c.deadline.is_none());
            }
        }
    }
}

/// An agent answers and solves in one step ("submit as solved"): the conversation, its
/// clocks, its messages and the effects are those of a reply followed by a status change
/// at the same instant, written as one operation (the conversation's version moves once).
#[test]
fn a_reply_submitted_as_solved_equals_a_reply_then_solving_in_one_write() -> R {
    let tn = TenantId::new_v7();
    let t0 = at("2026-03-09T10:00:00Z");
    let agent = AgentId::new_v7();
    let who = Identifier::email("fay@example.com")?;
    let first = Inbound::new(tn, Channel::Email, who.clone(), "e1", "My parcel is late");
    let later = t0 + TimeDelta::minutes(30);
    // Both desks draw the same ids from the same seed.
    let desk = || {
        Desk::new(
            MemoryStore::new(),
            DeskConfig::default().sla(policies()).id_seed(1),
        )
    };

    let mut two_steps = desk();
    let a = two_steps.ingest(first.clone(), t0)?.conversation;
    let mut expected = two_steps.reply((tn, a), agent, "It arrives tomorrow.", later)?;
    expected.extend(two_steps.set_status((tn, a), Status::Solved, later)?);

    let mut one_step = desk();
    let b = one_step.ingest(first, t0)?.conversation;
    let version = one_step.conversation((tn, b))?.version;
    let effects = one_step.reply_with(
        (tn, b),
        ReplyOptions::new(agent, "It arrives tomorrow.").submit_as(Status::Solved),
        later,
    )?;

    // Both desks draw the same ids (the same seed), so the effects compare whole: the
    // reply's send, then the status change.
    assert_eq!(effects, expected);
    assert!(matches!(effects[0], Effect::Send(_)));
    assert!(matches!(
        effects.last(),
        Some(Effect::StatusChanged {
            to: Status::Solved,
            ..
        })
    ));
    let (ca, cb) = (
        two_steps.conversation((tn, a))?,
        one_step.conversation((tn, b))?,
    );
    assert_eq!(cb.status, Status::Solved);
    assert_eq!(cb.solved_at, ca.solved_at);
    assert_eq!(cb.message_count, ca.message_count);
    assert_eq!(cb.version, version + 1, "one write");
    assert_eq!(ca.version, version + 2, "two writes");
    assert_eq!(
        one_step.sla_clocks((tn, b))?.unwrap(),
        two_steps.sla_clocks((tn, a))?.unwrap(),
        "the clocks saw the reply, then the solve"
    );
    let msgs = one_step.messages((tn, b))?;
    assert_eq!(msgs.len(), 2);
    assert_eq!(msgs[1].body, "It arrives tomorrow.");
    // The live metrics are those of the two operations, and what the store recomputes.
    let all = throughline::metrics::Filter::default();
    let live = one_step.report(tn, &all)?;
    assert_eq!(live, two_steps.report(tn, &all)?);
    assert_eq!(live, one_step.report_from_store(tn, &all)?);
    // Nothing is due any more: the first reply was met and solving stopped the rest.
    assert!(one_step.tick(t0 + TimeDelta::days(30))?.is_empty());
    Ok(())
}

/// A status the lifecycle forbids fails the whole reply: no message, no change.
#[test]
fn a_reply_submitted_with_a_forbidden_status_writes_nothing() -> R {
    let mut desk = desk();
    let tn = TenantId::new_v7();
    let t0 = at("2026-03-09T10:00:00Z");
    let who = Identifier::email("gus@example.com")?;
    let got = desk.ingest(Inbound::new(tn, Channel::Email, who, "e1", "Hello"), t0)?;
    let before = desk.conversation((tn, got.conversation))?;
    let err = desk
        .reply_with(
            (tn, got.conversation),
            ReplyOptions::new(AgentId::new_v7(), "Closing this.").submit_as(Status::New),
            t0 + TimeDelta::minutes(1),
        )
        .unwrap_err();
    assert!(
        matches!(err, throughline::Error::InvalidTransition { .. }),
        "{err}"
    );
    assert_eq!(desk.conversation((tn, got.conversation))?, before);
    assert_eq!(desk.messages((tn, got.conversation))?.len(), 1);
    assert!(desk.outbox(tn)?.is_empty());
    Ok(())
}

#[test]
fn calendar_arithmetic_past_2262_saturates_without_panicking() {
    let office = office();
    let _ = office.is_open(at("3000-01-06T12:00:00Z"));
    let late = at("2262-04-01T00:00:00Z");
    let counted = office.elapsed(late, at("2262-05-01T00:00:00Z"));
    assert!(counted >= TimeDelta::zero());
    if let Ok(end) = office.add(late, TimeDelta::days(30)) {
        assert!(end >= late);
    }
}
