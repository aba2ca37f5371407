//! Stories on virtual time: what a customer does, what the desk decides.

use chrono::{DateTime, TimeDelta, Utc};
use throughline::store::MemoryStore;
use throughline::{
    AgentId, Channel, Desk, DeskConfig, Direction, Effect, Error, Identifier, Inbound,
    ReplyOptions, Status, TenantId,
};

type R = Result<(), Box<dyn std::error::Error>>;

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-03-02T09:00:00Z")
        .unwrap()
        .to_utc()
}

fn desk() -> Desk<MemoryStore> {
    Desk::new(MemoryStore::new(), DeskConfig::default())
}

#[test]
fn a_customer_chats_then_emails_then_whatsapps_about_the_same_return() -> R {
    let mut desk = desk();
    let tenant = TenantId::new_v7();
    let t0 = t0();
    let chat = Inbound::new(
        tenant,
        Channel::WebChat,
        Identifier::email("ana@example.com")?,
        "chat-1",
        "I want to return the shoes from order 1042",
    )
    .sent_at(t0);
    let got = desk.ingest(chat.clone(), t0)?;
    assert!(!got.duplicate);
    assert!(got
        .effects
        .iter()
        .any(|e| matches!(e, Effect::CustomerCreated { .. })));
    assert!(got
        .effects
        .iter()
        .any(|e| matches!(e, Effect::ConversationOpened { .. })));
    let again = desk.ingest(chat, t0)?;
    assert!(again.duplicate);
    assert_eq!(again.message, got.message);
    assert_eq!(again.conversation, got.conversation);

    let t1 = t0 + TimeDelta::hours(1);
    let mail = desk.ingest(
        Inbound::new(
            tenant,
            Channel::Email,
            Identifier::email(" ana@Example.com")?,
            "<1@mail>",
            "Any news on my return?",
        )
        .sent_at(t1),
        t1,
    )?;
    assert_eq!(mail.customer, got.customer);
    assert_eq!(mail.conversation, got.conversation);

    let wa = Identifier::whatsapp("+31 6 12345678", None)?;
    desk.link_identifier(tenant, got.customer, wa.clone(), true, t1)?;
    let t2 = t0 + TimeDelta::days(1);
    let whatsapp = desk.ingest(
        Inbound::new(tenant, Channel::WhatsApp, wa.clone(), "wamid-1", "Hello?").sent_at(t2),
        t2,
    )?;
    assert_eq!(whatsapp.customer, got.customer);
    assert_eq!(whatsapp.conversation, got.conversation);
    assert!(whatsapp.effects.contains(&Effect::ChannelSwitched {
        tenant,
        conversation: got.conversation,
        from: Channel::Email,
        to: Channel::WhatsApp
    }));

    let tl = desk.timeline(tenant, got.customer)?;
    let seen: Vec<(Channel, &str)> = tl
        .iter()
        .map(|m| (m.channel.clone(), m.body.as_str()))
        .collect();
    assert_eq!(
        seen,
        vec![
            (
                Channel::WebChat,
                "I want to return the shoes from order 1042"
            ),
            (Channel::Email, "Any news on my return?"),
            (Channel::WhatsApp, "Hello?"),
        ]
    );

    let agent = AgentId::new_v7();
    let effects = desk.reply(
        (tenant, got.conversation),
        agent,
        "Your refund is on its way",
        t2 + TimeDelta::minutes(5),
    )?;
    let Some(Effect::Send(out)) = effects.first() else {
        panic!("no Send effect: {effects:?}")
    };
    assert_eq!(out.channel, Channel::WhatsApp);
    assert_eq!(out.to, wa);
    Ok(())
}

#[test]
fn closing_and_writing_a_month_later_opens_a_linked_conversation() -> R {
    let mut desk = desk();
    let tenant = TenantId::new_v7();
    let ana = Identifier::email("ana@example.com")?;
    let first = desk.ingest(
        Inbound::new(tenant, Channel::Email, ana.clone(), "m1", "Return"),
        t0(),
    )?;
    desk.set_status((tenant, first.conversation), Status::Solved, t0())?;
    desk.set_status((tenant, first.conversation), Status::Closed, t0())?;
    let later = t0() + TimeDelta::days(31);
    let next = desk.ingest(
        Inbound::new(
            tenant,
            Channel::Sms,
            Identifier::phone("+31612345678", None)?,
            "s1",
            "hi",
        )
        .also(ana),
        later,
    )?;
    assert_eq!(
        next.customer, first.customer,
        "the e-mail given alongside identifies her"
    );
    assert_ne!(next.conversation, first.conversation);
    assert_eq!(
        desk.conversation((tenant, next.conversation))?.previous,
        Some(first.conversation)
    );
    assert_eq!(desk.conversations_of(tenant, first.customer)?.len(), 2);
    Ok(())
}

#[test]
fn a_solved_conversation_reopens_within_the_window_and_not_after() -> R {
    let mut desk = Desk::new(
        MemoryStore::new(),
        DeskConfig::default().reopen_window(TimeDelta::days(3)),
    );
    let tenant = TenantId::new_v7();
    let ana = Identifier::email("ana@example.com")?;
    let first = desk.ingest(
        Inbound::new(tenant, Channel::Email, ana.clone(), "m1", "Return"),
        t0(),
    )?;
    desk.set_status((tenant, first.conversation), Status::Solved, t0())?;
    let t1 = t0() + TimeDelta::days(2);
    let again = desk.ingest(
        Inbound::new(tenant, Channel::Email, ana.clone(), "m2", "Not received"),
        t1,
    )?;
    assert_eq!(again.conversation, first.conversation);
    assert!(again
        .effects
        .iter()
        .any(|e| matches!(e, Effect::ConversationReopened { .. })));
    let conv = desk.conversation((tenant, first.conversation))?;
    assert_eq!((conv.status, conv.reopen_count), (Status::Open, 1));
    desk.set_status((tenant, first.conversation), Status::Solved, t1)?;
    let t2 = t1 + TimeDelta::days(4);
    let late = desk.ingest(
        Inbound::new(tenant, Channel::Email, ana, "m3", "Another thing"),
        t2,
    )?;
    assert_ne!(late.conversation, first.conversation);
    assert_eq!(
        desk.conversation((tenant, first.conversation))?.status,
        Status::Closed,
        "the old one is closed"
    );
    Ok(())
}

#[test]
fn pending_and_on_hold_conversations_are_joined_whatever_their_age() -> R {
    let mut desk = desk();
    let tenant = TenantId::new_v7();
    let ana = Identifier::email("ana@example.com")?;
    let first = desk.ingest(
        Inbound::new(tenant, Channel::Email, ana.clone(), "m1", "Return"),
        t0(),
    )?;
    desk.set_status((tenant, first.conversation), Status::Pending, t0())?;
    let next = desk.ingest(
        Inbound::new(tenant, Channel::Email, ana, "m2", "Here is the photo"),
        t0() + TimeDelta::days(90),
    )?;
    assert_eq!(next.conversation, first.conversation);
    assert_eq!(
        desk.conversation((tenant, first.conversation))?.status,
        Status::Open,
        "a customer answer reopens pending work"
    );
    Ok(())
}

#[test]
fn a_forged_thread_header_cannot_pull_a_message_into_someone_elses_conversation() -> R {
    let mut desk = desk();
    let tenant = TenantId::new_v7();
    let victim = desk.ingest(
        Inbound::new(
            tenant,
            Channel::Email,
            Identifier::email("bob@example.com")?,
            "<b1@x>",
            "My address is ...",
        ),
        t0(),
    )?;
    let attacker = desk.ingest(
        Inbound::new(
            tenant,
            Channel::Email,
            Identifier::email("eve@evil.example")?,
            "<e1@x>",
            "show me",
        )
        .thread_hint("<b1@x>"),
        t0(),
    )?;
    assert_ne!(attacker.conversation, victim.conversation);
    assert_eq!(desk.messages((tenant, victim.conversation))?.len(), 1);
    Ok(())
}

#[test]
fn an_email_reply_threads_by_its_in_reply_to_header() -> R {
    let mut desk = desk();
    let tenant = TenantId::new_v7();
    let ana = Identifier::email("ana@example.com")?;
    let first = desk.ingest(
        Inbound::new(
            tenant,
            Channel::Email,
            ana.clone(),
            "<a1@x>",
            "Question one",
        ),
        t0(),
    )?;
    let effects = desk.reply(
        (tenant, first.conversation),
        AgentId::new_v7(),
        "Answer",
        t0(),
    )?;
    let Some(Effect::Send(out)) = effects.first() else {
        panic!()
    };
    assert_eq!(out.in_reply_to.as_deref(), Some("<a1@x>"));
    desk.mark_sent(tenant, out.message, Some("<reply-1@desk>"), t0())?;
    assert!(desk.outbox(tenant)?.is_empty());
    desk.set_status((tenant, first.conversation), Status::Solved, t0())?;
    desk.set_status((tenant, first.conversation), Status::Closed, t0())?;
    // A new, unrelated e-mail opens conversation two; a reply to the old thread goes to
    // the newest conversation of the customer only if the hinted one is closed.
    let second = desk.ingest(
        Inbound::new(
            tenant,
            Channel::Email,
            ana.clone(),
            "<a2@x>",
            "Another topic",
        ),
        t0() + TimeDelta::days(1),
    )?;
    let answer = desk.ingest(
        Inbound::new(tenant, Channel::Email, ana, "<a3@x>", "Re: Answer").thread_hint("<a2@x>"),
        t0() + TimeDelta::days(2),
    )?;
    assert_eq!(answer.conversation, second.conversation);
    Ok(())
}

#[test]
fn after_a_long_chat_an_email_reply_still_answers_the_email_from_far_back() -> R {
    // Ana e-mails, then chats at length in the same conversation. The agent answers on
    // e-mail: the reply goes to her address and threads under her e-mail, although that
    // e-mail is older than the newest page of the conversation.
    let mut desk = desk();
    let tenant = TenantId::new_v7();
    let ana = Identifier::email("ana@example.com")?;
    let first = desk.ingest(
        Inbound::new(
            tenant,
            Channel::Email,
            ana.clone(),
            "<e1@x>",
            "My order is late",
        ),
        t0(),
    )?;
    for n in 0..40 {
        let line = Inbound::new(
            tenant,
            Channel::WebChat,
            ana.clone(),
            format!("chat-{n}"),
            format!("chat line {n}"),
        );
        let got = desk.ingest(line, t0() + TimeDelta::minutes(1 + n))?;
        assert_eq!(got.conversation, first.conversation);
    }
    let recent = desk.recent_messages((tenant, first.conversation), 3)?;
    let bodies: Vec<&str> = recent.iter().map(|m| m.body.as_str()).collect();
    assert_eq!(bodies, ["chat line 37", "chat line 38", "chat line 39"]);
    assert_eq!(desk.messages((tenant, first.conversation))?.len(), 41);

    let effects = desk.reply_with(
        (tenant, first.conversation),
        ReplyOptions::new(AgentId::new_v7(), "It ships today").on(Channel::Email),
        t0() + TimeDelta::hours(1),
    )?;
    let Some(Effect::Send(out)) = effects.first() else {
        panic!("no Send effect: {effects:?}")
    };
    assert_eq!(out.channel, Channel::Email);
    assert_eq!(out.to, ana);
    assert_eq!(out.in_reply_to.as_deref(), Some("<e1@x>"));
    // On the chat, the default channel while she is in it (her last line was 20
    // minutes ago), the reply answers the newest line.
    let effects = desk.reply(
        (tenant, first.conversation),
        AgentId::new_v7(),
        "Anything else?",
        t0() + TimeDelta::hours(1),
    )?;
    let Some(Effect::Send(out)) = effects.first() else {
        panic!("no Send effect: {effects:?}")
    };
    assert_eq!(out.channel, Channel::WebChat);
    // An hour later the chat has ended: the default reply follows her to e-mail.
    let effects = desk.reply(
        (tenant, first.conversation),
        AgentId::new_v7(),
        "Did that help?",
        t0() + TimeDelta::hours(2),
    )?;
    let Some(Effect::Send(out)) = effects.first() else {
        panic!("no Send effect: {effects:?}")
    };
    assert_eq!((out.channel.clone(), out.to.clone()), (Channel::Email, ana));
    Ok(())
}

#[test]
fn internal_notes_are_never_sent() -> R {
    let mut desk = desk();
    let tenant = TenantId::new_v7();
    let got = desk.ingest(
        Inbound::new(
            tenant,
            Channel::WebChat,
            Identifier::email("a@b.example")?,
            "c1",
            "hi",
        ),
        t0(),
    )?;
    let note = desk.note(
        (tenant, got.conversation),
        AgentId::new_v7(),
        "customer sounds upset",
        t0(),
    )?;
    assert_eq!(note.direction, Direction::Note);
    assert!(desk.outbox(tenant)?.is_empty());
    assert_eq!(desk.timeline(tenant, got.customer)?.len(), 2);
    Ok(())
}

#[test]
fn bad_input_is_a_clear_error_and_stores_nothing() -> R {
    let mut desk = Desk::new(
        MemoryStore::new(),
        DeskConfig::default().max_body_bytes(1000),
    );
    let tenant = TenantId::new_v7();
    let ana = Identifier::email("ana@example.com")?;
    let cases: Vec<(Inbound, &str)> = vec![
        (
            Inbound::new(tenant, Channel::Email, ana.clone(), "m1", "   "),
            "empty",
        ),
        (
            Inbound::new(tenant, Channel::Email, ana.clone(), "m1", "x".repeat(1001)),
            "too large",
        ),
        (
            Inbound::new(tenant, Channel::Email, ana.clone(), "", "hello"),
            "external_id",
        ),
        (
            Inbound::new(tenant, Channel::Email, ana.clone(), "m1", "nul\0byte"),
            "NUL",
        ),
    ];
    for (inbound, what) in cases {
        let err = desk.ingest(inbound, t0()).unwrap_err();
        assert!(err.is_input_error(), "{what}: {err}");
    }
    assert!(matches!(
        desk.ingest(
            Inbound::new(tenant, Channel::Email, ana.clone(), "m1", "x".repeat(1001)),
            t0()
        ),
        Err(Error::BodyTooLarge {
            len: 1001,
            limit: 1000
        })
    ));
    desk.channels_mut().disable_for(tenant, Channel::Sms);
    let err = desk
        .ingest(
            Inbound::new(
                tenant,
                Channel::Sms,
                Identifier::phone("+31612345678", None)?,
                "s1",
                "hi",
            ),
            t0(),
        )
        .unwrap_err();
    assert!(err.to_string().contains("sms"), "{err}");
    assert_eq!(desk.resolve(tenant, &ana)?, None, "nothing stored");
    assert!(desk
        .resolve(tenant, &Identifier::phone("+31612345678", None)?)?
        .is_none());

    let got = desk.ingest(
        Inbound::new(
            tenant,
            Channel::Twitter,
            Identifier::handle(throughline::IdentifierKind::Twitter, "@ana")?,
            "tw1",
            "hi",
        ),
        t0(),
    )?;
    // 360 characters on X: two parts of at most 280, marked (1/2) and (2/2).
    let long = "word ".repeat(72);
    let effects = desk.reply(
        (tenant, got.conversation),
        AgentId::new_v7(),
        long.clone(),
        t0(),
    )?;
    let Some(Effect::Send(out)) = effects.first() else {
        panic!("no Send")
    };
    assert_eq!(out.parts.len(), 2);
    assert!(out.parts.iter().all(|p| p.chars().count() <= 280));
    assert!(out.parts[1].ends_with("(2/2)"));
    let other = TenantId::new_v7();
    assert!(matches!(
        desk.timeline(other, got.customer),
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        desk.conversation((other, got.conversation)),
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        desk.set_status((tenant, got.conversation), Status::Closed, t0()),
        Err(Error::InvalidTransition { .. })
    ));
    assert!(
        desk.reply_with(
            (tenant, got.conversation),
            ReplyOptions::new(AgentId::new_v7(), "hi").on(Channel::Email),
            t0()
        )
        .is_err(),
        "no e-mail address known"
    );
    Ok(())
}

#[test]
fn the_same_inputs_give_the_same_ids() -> R {
    let run = || -> Result<Vec<String>, Box<dyn std::error::Error>> {
        let mut desk = Desk::new(MemoryStore::new(), DeskConfig::default().id_seed(9));
        let tenant: TenantId = "01900000-0000-7000-8000-000000000001".parse()?;
        let mut out = Vec::new();
        for i in 0..5 {
            let got = desk.ingest(
                Inbound::new(
                    tenant,
                    Channel::Email,
                    Identifier::email(&format!("c{i}@x.example"))?,
                    format!("m{i}"),
                    "hi",
                ),
                t0(),
            )?;
            out.push(format!(
                "{} {} {}",
                got.customer, got.conversation, got.message.id
            ));
        }
        Ok(out)
    };
    assert_eq!(run()?, run()?);
    Ok(())
}

/// Solved conversations close themselves after the configured time; a reopen cancels it;
/// the next message after the close starts a follow-up. On `store`.
fn solved_conversations_close_themselves_on(store: impl throughline::store::Store) -> R {
    let t0 = t0();
    let config = DeskConfig::default().close_solved_after(TimeDelta::days(4));
    let mut desk = Desk::new(store, config);
    let tenant = TenantId::new_v7();
    let agent = AgentId::new_v7();
    let ana = Identifier::email("ana@example.com")?;
    let mail = |id: &str| Inbound::new(tenant, Channel::Email, ana.clone(), id, "About order 1042");
    let c = (tenant, desk.ingest(mail("m1"), t0)?.conversation);
    assert_eq!(
        desk.next_wakeup()?.filter(|w| *w > t0 + TimeDelta::days(3)),
        None
    );
    desk.reply_with(
        c,
        ReplyOptions::new(agent, "Refunded.").submit_as(Status::Solved),
        t0,
    )?;
    // Solved at t0: closes at t0 + 4 days, and the host is woken then.
    let wake = desk.next_wakeup()?.expect("a close is scheduled");
    assert!(wake <= t0 + TimeDelta::days(4), "{wake}");
    // The customer writes on day 2: reopened, the close is cancelled.
    desk.ingest(mail("m2"), t0 + TimeDelta::days(2))?;
    assert_eq!(desk.conversation(c)?.status, Status::Open);
    let effects = desk.tick(t0 + TimeDelta::days(5))?;
    assert!(!effects.iter().any(|e| matches!(
        e,
        Effect::StatusChanged {
            to: Status::Closed,
            ..
        }
    )));
    assert_eq!(desk.conversation(c)?.status, Status::Open);
    // Solved again on day 5 by an agent: it closes on day 9, once.
    desk.set_status_as(c, Status::Solved, agent, t0 + TimeDelta::days(5))?;
    assert!(desk.tick(t0 + TimeDelta::days(8))?.is_empty());
    assert_eq!(desk.conversation(c)?.status, Status::Solved);
    let closed = desk.tick(t0 + TimeDelta::days(9) + TimeDelta::minutes(1))?;
    assert!(closed.iter().any(|e| matches!(
        e,
        Effect::StatusChanged { from: Status::Solved, to: Status::Closed, conversation, .. } if *conversation == c.1
    )), "{closed:?}");
    assert_eq!(desk.conversation(c)?.status, Status::Closed);
    assert!(
        desk.tick(t0 + TimeDelta::days(10))?.is_empty(),
        "closed once"
    );
    assert_eq!(
        desk.next_wakeup()?
            .filter(|w| *w < t0 + TimeDelta::days(30)),
        None
    );
    // Within the reopen window but closed: the next message is a follow-up.
    let next = desk.ingest(mail("m3"), t0 + TimeDelta::days(10))?;
    assert_ne!(next.conversation, c.1);
    assert_eq!(
        desk.conversation((tenant, next.conversation))?.previous,
        Some(c.1)
    );
    Ok(())
}

#[test]
fn solved_conversations_close_themselves_after_the_configured_time() -> R {
    solved_conversations_close_themselves_on(throughline::store::MemoryStore::new())?;
    solved_conversations_close_themselves_on(throughline::store::SqliteStore::open_in_memory()?)
}

#[test]
fn a_tenant_sets_its_own_close_time_and_a_longer_one_postpones_a_due_close() -> R {
    let t0 = t0();
    let mut desk = desk();
    let tenant = TenantId::new_v7();
    let agent = AgentId::new_v7();
    let mut settings = throughline::settings::TenantSettings::default();
    settings.close_solved_after = Some(TimeDelta::days(1));
    desk.set_tenant_settings(tenant, settings.clone(), "admin", t0)?;
    let ana = Identifier::email("ana@example.com")?;
    let c = (
        tenant,
        desk.ingest(Inbound::new(tenant, Channel::Email, ana, "m1", "Hi"), t0)?
            .conversation,
    );
    desk.set_status_as(c, Status::Solved, agent, t0)?;
    // The window grows to three days before the close falls due: it waits for the new one.
    settings.close_solved_after = Some(TimeDelta::days(3));
    desk.set_tenant_settings(tenant, settings.clone(), "admin", t0 + TimeDelta::hours(1))?;
    desk.tick(t0 + TimeDelta::days(2))?;
    assert_eq!(desk.conversation(c)?.status, Status::Solved);
    desk.tick(t0 + TimeDelta::days(3) + TimeDelta::minutes(1))?;
    assert_eq!(desk.conversation(c)?.status, Status::Closed);
    // Another tenant without the setting keeps its solved conversations solved.
    let other = TenantId::new_v7();
    let bo = Identifier::email("bo@example.com")?;
    let d = (
        other,
        desk.ingest(Inbound::new(other, Channel::Email, bo, "m1", "Hi"), t0)?
            .conversation,
    );
    desk.set_status_as(d, Status::Solved, agent, t0)?;
    desk.tick(t0 + TimeDelta::days(60))?;
    assert_eq!(desk.conversation(d)?.status, Status::Solved);
    // Settings refuse a window of zero.
    settings.close_solved_after = Some(TimeDelta::zero());
    assert!(desk
        .set_tenant_settings(tenant, settings, "admin", t0)
        .is_err());
    Ok(())
}
