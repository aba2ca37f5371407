//! SLA clocks at their edges: a late reply with no tick in between, the pressure raise
//! that must not shorten the target it warned about, a reply on a solved conversation,
//! clocks across policy changes, next replies without a first-reply target, attainment.

use chrono::{DateTime, TimeDelta, Utc};
use throughline::sla::{
    AuthorKind, Basis, ClockInput, ClockState, Metric, SlaClocks, SlaEventKind, SlaPolicies,
    SlaPolicy,
};
use throughline::store::MemoryStore;
use throughline::{
    AgentId, Channel, Desk, DeskConfig, Effect, Identifier, Inbound, Priority, Status, TenantId,
};

fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn mins(n: i64) -> TimeDelta {
    TimeDelta::minutes(n)
}

/// First reply within 5 minutes, around the clock.
fn chat5() -> SlaPolicies {
    SlaPolicies::new()
        .policy(SlaPolicy::new("chat").target_all(Metric::FirstReply, mins(5), Basis::Calendar))
        .build()
        .unwrap()
}

fn breaches(effects: &[Effect]) -> Vec<(Metric, DateTime<Utc>)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::SlaBreached {
                metric, deadline, ..
            } => Some((*metric, *deadline)),
            _ => None,
        })
        .collect()
}

#[test]
fn a_late_reply_records_the_breach_it_ends_even_without_a_poll() {
    let sla = chat5();
    let t0 = at("2026-03-09T10:00:00Z");
    let started = |clocks: &mut SlaClocks| {
        clocks.apply(
            &sla,
            &ClockInput::Policy {
                at: t0,
                policy: Some("chat".into()),
                priority: Priority::Normal,
            },
        );
        clocks.apply(&sla, &ClockInput::Inbound { at: t0 });
    };
    let first_reply = |c: &SlaClocks| {
        c.clocks
            .iter()
            .find(|k| k.metric == Metric::FirstReply)
            .cloned()
            .unwrap()
    };
    // Ten minutes against five: breached at the deadline, then fulfilled.
    let mut late = SlaClocks::default();
    started(&mut late);
    late.apply(
        &sla,
        &ClockInput::Reply {
            at: t0 + mins(10),
            by: AuthorKind::Agent,
        },
    );
    let fr = first_reply(&late);
    assert_eq!(fr.breached_at, Some(t0 + mins(5)));
    assert_eq!(fr.state, ClockState::Fulfilled);
    assert!(late.events.iter().any(|e| matches!(
        e.kind,
        SlaEventKind::Breach { deadline } if deadline == t0 + mins(5)
    )));
    assert!(late.poll(t0 + mins(11)).is_empty(), "reported once");
    // A reply at the deadline itself meets it.
    let mut on_time = SlaClocks::default();
    started(&mut on_time);
    on_time.apply(
        &sla,
        &ClockInput::Reply {
            at: t0 + mins(5),
            by: AuthorKind::Agent,
        },
    );
    assert_eq!(first_reply(&on_time).breached_at, None);
}

#[test]
fn the_desk_reports_a_breach_found_by_a_late_reply() {
    let mut desk = Desk::new(MemoryStore::new(), DeskConfig::default().sla(chat5()));
    let t0 = at("2026-03-09T10:00:00Z");
    let tenant = TenantId::new_v7();
    let who = Identifier::email("a@example.com").unwrap();
    let got = desk
        .ingest(Inbound::new(tenant, Channel::WebChat, who, "c1", "Hi"), t0)
        .unwrap();
    // No tick between the message and the reply ten minutes later.
    let replied = desk
        .reply(
            (tenant, got.conversation),
            AgentId::new_v7(),
            "Hello",
            t0 + mins(10),
        )
        .unwrap();
    assert_eq!(
        breaches(&replied),
        vec![(Metric::FirstReply, t0 + mins(5))],
        "the reply reports the breach"
    );
    assert!(
        breaches(&desk.tick(t0 + mins(11)).unwrap()).is_empty(),
        "once"
    );
    let clocks = desk
        .sla_clocks((tenant, got.conversation))
        .unwrap()
        .unwrap();
    let fr = clocks
        .clocks
        .iter()
        .find(|c| c.metric == Metric::FirstReply)
        .unwrap();
    assert_eq!(fr.breached_at, Some(t0 + mins(5)));
}

#[test]
fn sla_pressure_does_not_shorten_the_target_it_warned_about() {
    // The default policies: a chat's first reply within 5 minutes at normal priority,
    // sooner at high. The warning at 75% raises the priority.
    let mut desk = Desk::new(MemoryStore::new(), DeskConfig::default());
    let tenant = TenantId::new_v7();
    let who = Identifier::email("b@example.com").unwrap();
    let t0 = at("2026-03-09T10:00:00Z");
    let got = desk
        .ingest(
            Inbound::new(tenant, Channel::WebChat, who.clone(), "c1", "Hi"),
            t0,
        )
        .unwrap();
    let warned = desk.tick(t0 + TimeDelta::seconds(225)).unwrap();
    let deadline = warned
        .iter()
        .find_map(|e| match e {
            Effect::SlaWarning { deadline, .. } => Some(*deadline),
            _ => None,
        })
        .expect("a warning at 75%");
    assert_eq!(
        desk.conversation((tenant, got.conversation))
            .unwrap()
            .priority,
        Priority::High,
        "the warning raised the priority"
    );
    // The customer writes again before the deadline the warning announced.
    desk.ingest(
        Inbound::new(tenant, Channel::WebChat, who, "c2", "hello?"),
        t0 + mins(4),
    )
    .unwrap();
    let before = desk.tick(deadline - TimeDelta::seconds(1)).unwrap();
    assert!(breaches(&before).is_empty(), "no breach before {deadline}");
    let after = desk.tick(deadline).unwrap();
    assert_eq!(breaches(&after), vec![(Metric::FirstReply, deadline)]);
}

#[test]
fn a_reply_on_a_solved_conversation_starts_no_clock() {
    let sla = SlaPolicies::new()
        .policy(
            SlaPolicy::new("p")
                .target_all(Metric::FirstReply, TimeDelta::hours(1), Basis::Calendar)
                .target_all(Metric::PeriodicUpdate, TimeDelta::hours(2), Basis::Calendar),
        )
        .build()
        .unwrap();
    let mut desk = Desk::new(MemoryStore::new(), DeskConfig::default().sla(sla));
    let t0 = at("2026-03-09T10:00:00Z");
    let agent = AgentId::new_v7();
    let tenant = TenantId::new_v7();
    let got = desk
        .ingest(
            Inbound::new(
                tenant,
                Channel::Email,
                Identifier::email("c@example.com").unwrap(),
                "e1",
                "Hi",
            ),
            t0,
        )
        .unwrap();
    desk.reply((tenant, got.conversation), agent, "Done", t0 + mins(10))
        .unwrap();
    desk.set_status((tenant, got.conversation), Status::Solved, t0 + mins(11))
        .unwrap();
    desk.reply(
        (tenant, got.conversation),
        agent,
        "PS: your invoice",
        t0 + mins(20),
    )
    .unwrap();
    assert_eq!(
        desk.conversation((tenant, got.conversation))
            .unwrap()
            .status,
        Status::Solved
    );
    let later = desk.tick(t0 + TimeDelta::days(1)).unwrap();
    assert!(breaches(&later).is_empty(), "{later:?}");
    let clocks = desk
        .sla_clocks((tenant, got.conversation))
        .unwrap()
        .unwrap();
    assert!(
        clocks.clocks.iter().all(|c| c.state != ClockState::Active),
        "{:?}",
        clocks.clocks
    );
}

#[test]
fn sla_attainment_counts_each_conversation_per_metric_and_policy() {
    let sla = SlaPolicies::new()
        .policy(
            SlaPolicy::new("chat")
                .channels(&[Channel::WebChat])
                .target_all(Metric::FirstReply, mins(5), Basis::Calendar),
        )
        .policy(
            SlaPolicy::new("mail")
                .target_all(Metric::FirstReply, TimeDelta::hours(1), Basis::Calendar)
                .target_all(
                    Metric::TotalResolution,
                    TimeDelta::hours(8),
                    Basis::Calendar,
                ),
        )
        .build()
        .unwrap();
    let mut desk = Desk::new(MemoryStore::new(), DeskConfig::default().sla(sla));
    let tenant = TenantId::new_v7();
    let agent = AgentId::new_v7();
    let t0 = at("2026-03-09T10:00:00Z");
    let open = |desk: &mut Desk<MemoryStore>, n: u32, channel: Channel| {
        let who = Identifier::email(&format!("c{n}@example.com")).unwrap();
        desk.ingest(
            Inbound::new(tenant, channel, who, format!("m{n}"), "Hello"),
            t0,
        )
        .unwrap()
        .conversation
    };
    // Chats: answered in 3 minutes, in 9 (late), and not yet.
    let quick = open(&mut desk, 1, Channel::WebChat);
    let late = open(&mut desk, 2, Channel::WebChat);
    open(&mut desk, 3, Channel::WebChat);
    // An e-mail answered in 30 minutes and solved within the day.
    let mail = open(&mut desk, 4, Channel::Email);
    desk.reply((tenant, quick), agent, "Hi", t0 + mins(3))
        .unwrap();
    desk.reply((tenant, late), agent, "Hi", t0 + mins(9))
        .unwrap();
    desk.reply((tenant, mail), agent, "Hi", t0 + mins(30))
        .unwrap();
    desk.set_status((tenant, mail), Status::Solved, t0 + TimeDelta::hours(2))
        .unwrap();
    desk.tick(t0 + mins(10)).unwrap();

    let all = desk
        .sla_attainment(tenant, &throughline::metrics::Filter::default())
        .unwrap();
    assert_eq!(all.conversations, 4);
    assert_eq!(
        all.all_met, 2,
        "the quick chat and the e-mail met every target"
    );
    let row = |policy: &str, metric| {
        all.metrics
            .iter()
            .find(|m| m.policy.as_deref() == Some(policy) && m.metric == metric)
            .map(|m| (m.met, m.breached, m.running))
    };
    // The unanswered chat breached at minute 5 (the tick at minute 10 saw it).
    assert_eq!(row("chat", Metric::FirstReply), Some((1, 2, 0)));
    assert_eq!(row("mail", Metric::FirstReply), Some((1, 0, 0)));
    assert_eq!(row("mail", Metric::TotalResolution), Some((1, 0, 0)));
    let first = all.metric(Metric::FirstReply).unwrap();
    assert_eq!((first.met, first.breached), (2, 2));
    assert_eq!(first.rate(), Some(0.5));

    let mails = desk
        .sla_attainment(
            tenant,
            &throughline::metrics::Filter::default().channel(Channel::Email),
        )
        .unwrap();
    assert_eq!((mails.conversations, mails.all_met), (1, 1));
}

#[test]
fn a_clock_survives_a_policy_without_its_target() {
    // "full" waits on the requester for 24 hours; "lite" sets no such target.
    let sla = SlaPolicies::new()
        .policy(
            SlaPolicy::new("full")
                .target_all(Metric::FirstReply, TimeDelta::hours(1), Basis::Calendar)
                .target_all(Metric::RequesterWait, TimeDelta::hours(24), Basis::Calendar),
        )
        .policy(SlaPolicy::new("lite").target_all(
            Metric::FirstReply,
            TimeDelta::hours(1),
            Basis::Calendar,
        ))
        .build()
        .unwrap();
    let t0 = at("2026-03-09T10:00:00Z");
    let policy = |at, name: &str| ClockInput::Policy {
        at,
        policy: Some(name.into()),
        priority: Priority::Normal,
    };
    let mut clocks = SlaClocks::default();
    clocks.apply(&sla, &policy(t0, "full"));
    clocks.apply(&sla, &ClockInput::Inbound { at: t0 });
    clocks.apply(&sla, &policy(t0 + TimeDelta::hours(3), "lite"));
    let wait = |c: &SlaClocks| {
        c.clocks
            .iter()
            .find(|k| k.metric == Metric::RequesterWait)
            .cloned()
    };
    let kept = wait(&clocks).expect("kept under a policy without its target");
    assert_eq!((kept.state, kept.deadline), (ClockState::Active, None));
    // Back on "full": the customer has waited since t0, and the deadline says so.
    clocks.apply(&sla, &policy(t0 + TimeDelta::hours(4), "full"));
    let back = wait(&clocks).unwrap();
    assert_eq!(back.deadline, Some(t0 + TimeDelta::hours(24)));
}

#[test]
fn next_reply_starts_only_after_a_reply_even_without_a_first_reply_target() {
    let sla = SlaPolicies::new()
        .policy(SlaPolicy::new("n").target_all(Metric::NextReply, mins(10), Basis::Calendar))
        .build()
        .unwrap();
    let t0 = at("2026-03-09T10:00:00Z");
    let mut clocks = SlaClocks::default();
    clocks.apply(
        &sla,
        &ClockInput::Policy {
            at: t0,
            policy: Some("n".into()),
            priority: Priority::Normal,
        },
    );
    let next = |c: &SlaClocks| {
        c.clocks
            .iter()
            .find(|k| k.metric == Metric::NextReply)
            .map(|k| k.state)
    };
    clocks.apply(&sla, &ClockInput::Inbound { at: t0 });
    clocks.apply(&sla, &ClockInput::Inbound { at: t0 + mins(1) });
    assert_eq!(next(&clocks), None, "no reply yet: nothing to be next to");
    clocks.apply(
        &sla,
        &ClockInput::Reply {
            at: t0 + mins(5),
            by: AuthorKind::Agent,
        },
    );
    clocks.apply(&sla, &ClockInput::Inbound { at: t0 + mins(6) });
    assert_eq!(next(&clocks), Some(ClockState::Active));
}

#[test]
fn whether_a_reply_came_survives_the_store() {
    // Through the Desk, so the clocks go through the stored record between operations.
    let sla = SlaPolicies::new()
        .policy(SlaPolicy::new("n").target_all(Metric::NextReply, mins(10), Basis::Calendar))
        .build()
        .unwrap();
    let mut desk = Desk::new(MemoryStore::new(), DeskConfig::default().sla(sla));
    let t0 = at("2026-03-09T10:00:00Z");
    let tenant = TenantId::new_v7();
    let who = Identifier::email("n@example.com").unwrap();
    let msg = |id: &str| Inbound::new(tenant, Channel::WebChat, who.clone(), id, "Hello");
    let got = desk.ingest(msg("n1"), t0).unwrap();
    desk.ingest(msg("n2"), t0 + mins(1)).unwrap();
    let clocks = desk.sla_clocks((tenant, got.conversation)).unwrap();
    assert!(
        clocks.is_none_or(|c| c.clocks.is_empty()),
        "no clock before a reply"
    );
    desk.reply(
        (tenant, got.conversation),
        AgentId::new_v7(),
        "Hi",
        t0 + mins(5),
    )
    .unwrap();
    desk.ingest(msg("n3"), t0 + mins(6)).unwrap();
    let clocks = desk
        .sla_clocks((tenant, got.conversation))
        .unwrap()
        .unwrap();
    assert!(clocks.replied);
    let next = clocks
        .clocks
        .iter()
        .find(|c| c.metric == Metric::NextReply)
        .unwrap();
    assert_eq!(next.state, ClockState::Active);
}
