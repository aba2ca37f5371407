//! Stories through the channel adapters and the Desk together: what a host wires up.
#![cfg(all(
    feature = "email",
    feature = "twilio",
    feature = "whatsapp",
    feature = "messenger"
))]

use chrono::{DateTime, TimeDelta, Utc};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use throughline::channels::{email, twilio, whatsapp, Event, Receipt, ReceiptStatus};
use throughline::store::MemoryStore;
use throughline::{
    AgentId, Automated, Channel, ConversationId, Delivery, Desk, DeskConfig, Effect, Identifier,
    Inbound, Outbound, ReplyOptions, Status, TenantId,
};

const TWILIO_URL: &str = "https://helpdesk.example/hooks/twilio";
const TWILIO_TOKEN: &str = "twilio-auth-token";
const META_SECRET: &str = "meta-app-secret";
const DOMAIN: &str = "support.shop.example";
const PHONE_NUMBER_ID: &str = "106540352242922";

fn t(minutes: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_772_442_000, 0).unwrap() + TimeDelta::minutes(minutes)
}

fn encode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// A signed Twilio webhook for `params`, parsed as the host would.
fn twilio_events(tenant: TenantId, params: &[(&str, &str)], now: DateTime<Utc>) -> Vec<Event> {
    let owned: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let signature = twilio::sign(TWILIO_URL, &owned, TWILIO_TOKEN);
    let body = params
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&");
    twilio::parse_signed(
        TWILIO_URL,
        body.as_bytes(),
        &signature,
        TWILIO_TOKEN,
        tenant,
        now,
    )
    .expect("a signed webhook parses")
}

fn sms(tenant: TenantId, sid: &str, body: &str, now: DateTime<Utc>) -> Vec<Event> {
    twilio_events(
        tenant,
        &[
            ("MessageSid", sid),
            ("AccountSid", "AC5ef872f6da5a21de157d80997a64bd33"),
            ("From", "+14155552671"),
            ("To", "+14155550100"),
            ("Body", body),
            ("NumMedia", "0"),
        ],
        now,
    )
}

/// A signed WhatsApp Cloud API webhook with one text message.
fn whatsapp_events(tenant: TenantId, wamid: &str, text: &str, sent: DateTime<Utc>) -> Vec<Event> {
    let body = serde_json::json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "14155550100", "phone_number_id": PHONE_NUMBER_ID},
            "contacts": [{"profile": {"name": "Ana"}, "wa_id": "14155552671"}],
            "messages": [{"from": "14155552671", "id": wamid,
                          "timestamp": sent.timestamp().to_string(),
                          "type": "text", "text": {"body": text}}]
        }}]}]
    })
    .to_string();
    let mut mac = Hmac::<Sha256>::new_from_slice(META_SECRET.as_bytes()).unwrap();
    mac.update(body.as_bytes());
    let header = format!(
        "sha256={}",
        mac.finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    );
    whatsapp::parse_verified(body.as_bytes(), &header, META_SECRET, tenant)
        .expect("a signed webhook parses")
}

/// The one message among `events`.
fn message(events: Vec<Event>) -> Inbound {
    let mut inbound = events.into_iter().filter_map(|e| match e {
        Event::Message(m) => Some(*m),
        _ => None,
    });
    let m = inbound.next().expect("a message");
    assert!(inbound.next().is_none(), "one message");
    m
}

fn send(effects: &[Effect]) -> Outbound {
    effects
        .iter()
        .find_map(|e| match e {
            Effect::Send(o) => Some(o.clone()),
            _ => None,
        })
        .expect("a send effect")
}

/// A customer's e-mail, as her mail client writes it.
fn mail(from: &str, id: &str, in_reply_to: Option<&str>, extra: &str, body: &str) -> Vec<u8> {
    let reply = in_reply_to
        .map(|r| format!("In-Reply-To: {r}\r\nReferences: {r}\r\n"))
        .unwrap_or_default();
    format!(
        "From: Ana <{from}>\r\nTo: help@{DOMAIN}\r\nSubject: Re: Order 1042\r\n\
         Date: Mon, 2 Mar 2026 10:00:00 +0000\r\nMessage-ID: {id}\r\n{reply}{extra}\
         MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    )
    .into_bytes()
}

fn ingest_mail(
    desk: &mut Desk<MemoryStore>,
    tenant: TenantId,
    raw: &[u8],
    now: DateTime<Utc>,
) -> (ConversationId, Vec<Effect>) {
    let parsed = email::parse(raw, tenant, DOMAIN).expect("a mail parses");
    let got = desk
        .ingest(message(parsed.into_events()), now)
        .expect("ingested");
    (got.conversation, got.effects)
}

/// Chat, then SMS, then WhatsApp, then an e-mail reply, from one person: one
/// conversation. The agent's answer becomes a WhatsApp request inside the 24-hour
/// window and an error that asks for a template outside it.
#[test]
fn a_customer_on_four_channels_is_one_conversation() {
    let tenant = TenantId::new_v7();
    let mut desk = Desk::new(MemoryStore::new(), DeskConfig::default());
    let agent = AgentId::new_v7();
    let ana = Identifier::email("ana@example.com").unwrap();
    let phone = Identifier::phone("+14155552671", None).unwrap();
    let chat = Inbound::new(
        tenant,
        Channel::WebChat,
        ana,
        "chat-1",
        "Where is order 1042?",
    )
    .also(phone);
    let first = desk.ingest(chat, t(0)).unwrap();

    let by_sms = desk
        .ingest(message(sms(tenant, "SM0001", "Any news?", t(10))), t(10))
        .unwrap();
    assert_eq!(by_sms.conversation, first.conversation);
    assert_eq!(by_sms.message.inbox.as_deref(), Some("+14155550100"));

    let wa = message(whatsapp_events(tenant, "wamid.A1", "Hello? 📦", t(60)));
    let by_wa = desk.ingest(wa, t(60)).unwrap();
    assert_eq!(
        (by_wa.customer, by_wa.conversation),
        (first.customer, first.conversation),
        "the WhatsApp number is her phone"
    );

    // The agent answers on WhatsApp, the channel she used last, from the number she wrote to.
    let out = send(
        &desk
            .reply((tenant, first.conversation), agent, "It ships today", t(61))
            .unwrap(),
    );
    assert_eq!(out.channel, Channel::WhatsApp);
    assert_eq!(out.from.as_deref(), Some(PHONE_NUMBER_ID));
    let request = whatsapp::request(&out, PHONE_NUMBER_ID, t(61)).expect("inside the window");
    let json: serde_json::Value = serde_json::from_slice(&request.body).unwrap();
    assert_eq!(json["to"], "14155552671");
    assert_eq!(json["text"]["body"], "It ships today");

    // A day later the window has closed: a free-form reply needs a template.
    let late = t(60) + TimeDelta::hours(25);
    let out = send(
        &desk
            .reply((tenant, first.conversation), agent, "Did it arrive?", late)
            .unwrap(),
    );
    let err = whatsapp::request(&out, PHONE_NUMBER_ID, late).expect_err("outside the window");
    assert!(err.to_string().contains("template"), "{err}");

    // She answers our e-mail; her mail client quotes our Message-ID.
    let mail_out = send(
        &desk
            .reply_with(
                (tenant, first.conversation),
                ReplyOptions::new(agent, "Here is the tracking link").on(Channel::Email),
                late,
            )
            .unwrap(),
    );
    let ours = email::message_id(&mail_out, DOMAIN);
    let raw = mail(
        "ana@example.com",
        "<r1@mail.example.com>",
        Some(&ours),
        "",
        "Thanks!\r\n\r\nOn Mon, Ana wrote:\r\n> old",
    );
    let (conv, _) = ingest_mail(&mut desk, tenant, &raw, late + TimeDelta::minutes(5));
    assert_eq!(conv, first.conversation);

    let channels: Vec<Channel> = desk
        .messages((tenant, first.conversation))
        .unwrap()
        .into_iter()
        .filter(|m| m.direction == throughline::message::Direction::Inbound)
        .map(|m| m.channel)
        .collect();
    assert_eq!(
        channels,
        [
            Channel::WebChat,
            Channel::Sms,
            Channel::WhatsApp,
            Channel::Email
        ]
    );
}

/// A reply to our mail from an address we do not know joins the conversation and is a
/// merge suggestion; an out-of-office never reopens; a bounce fails our mail.
#[test]
fn e_mail_threads_by_our_message_id_and_machines_do_not_reopen() {
    let tenant = TenantId::new_v7();
    let mut desk = Desk::new(MemoryStore::new(), DeskConfig::default());
    let agent = AgentId::new_v7();
    let raw = mail(
        "ana@example.com",
        "<q1@mail.example.com>",
        None,
        "",
        "My parcel is late",
    );
    let (conv, _) = ingest_mail(&mut desk, tenant, &raw, t(0));
    let out = send(
        &desk
            .reply((tenant, conv), agent, "Looking into it", t(5))
            .unwrap(),
    );
    assert_eq!(out.from.as_deref(), Some(&*format!("help@{DOMAIN}")));
    let ours = email::message_id(&out, DOMAIN);

    // Her colleague answers from another address, on a new subject line.
    let raw = mail(
        "ana.work@corp.example",
        "<w1@corp.example>",
        Some(&ours),
        "",
        "Ana is out; I can help.",
    );
    let (joined, effects) = ingest_mail(&mut desk, tenant, &raw, t(30));
    assert_eq!(joined, conv, "joins the conversation of our mail");
    assert!(effects
        .iter()
        .any(|e| matches!(e, Effect::MergeSuggested { .. })));
    assert_eq!(desk.merge_suggestions(tenant).unwrap().len(), 1);

    // Solved; an out-of-office answers our closing mail: nothing reopens, no clock moves.
    desk.set_status((tenant, conv), Status::Solved, t(40))
        .unwrap();
    let raw = mail(
        "ana@example.com",
        "<ooo1@mail.example.com>",
        Some(&ours),
        "Auto-Submitted: auto-replied\r\n",
        "I am out of office until Monday.",
    );
    let parsed = email::parse(&raw, tenant, DOMAIN).unwrap();
    let inbound = message(parsed.into_events());
    assert_eq!(inbound.automated, Some(Automated::AutoReply));
    let got = desk.ingest(inbound, t(50)).unwrap();
    assert_eq!(got.conversation, conv);
    assert!(
        got.effects.iter().all(|e| !matches!(
            e,
            Effect::ConversationReopened { .. } | Effect::StatusChanged { .. } | Effect::Send(_)
        )),
        "{:?}",
        got.effects
    );
    assert_eq!(
        desk.conversation((tenant, conv)).unwrap().status,
        Status::Solved
    );
    assert_eq!(got.message.automated, Some(Automated::AutoReply));

    // Our mail bounces: it is failed, and the agent is told.
    let bounce = format!(
        "From: Mail Delivery System <mailer-daemon@mx.example>\r\nTo: help@{DOMAIN}\r\n\
         Subject: Undelivered Mail\r\nMessage-ID: <b1@mx.example>\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\r\n\r\n\
         --B\r\nContent-Type: text/plain\r\n\r\nDelivery failed.\r\n\
         --B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example\r\n\r\n\
         Final-Recipient: rfc822; ana@example.com\r\nAction: failed\r\nStatus: 5.1.1\r\n\
         Diagnostic-Code: smtp; 550 5.1.1 user unknown\r\n\r\n\
         --B\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: {ours}\r\n\r\n--B--\r\n"
    );
    let events = email::parse(bounce.as_bytes(), tenant, DOMAIN)
        .unwrap()
        .into_events();
    let Some(Event::Receipt(receipt)) = events.into_iter().next() else {
        panic!("a bounce is a receipt");
    };
    let effects = desk
        .record_receipt(tenant, &Channel::Email, &receipt, t(60))
        .unwrap();
    assert!(
        matches!(&effects[..], [Effect::DeliveryFailed { message, .. }] if *message == out.message)
    );
    let stored = desk.messages((tenant, conv)).unwrap();
    let ours = stored.iter().find(|m| m.id == out.message).unwrap();
    assert!(
        matches!(&ours.delivery, Some(Delivery::Failed { reason, .. }) if reason.contains("5.1.1"))
    );
}

/// Twilio's status callbacks move the SMS forward, never back; STOP stops replies until
/// START; a send the transport could not make is retried on the schedule, then failed.
#[test]
fn sms_receipts_opt_outs_and_retries() {
    let tenant = TenantId::new_v7();
    let mut desk = Desk::new(MemoryStore::new(), DeskConfig::default());
    let agent = AgentId::new_v7();
    let got = desk
        .ingest(
            message(sms(tenant, "SM0001", "Is my refund done?", t(0))),
            t(0),
        )
        .unwrap();
    let conv = got.conversation;
    let out = send(
        &desk
            .reply((tenant, conv), agent, "Yes, since Monday.", t(1))
            .unwrap(),
    );
    let requests = twilio::request(
        &out,
        "AC5ef872f6da5a21de157d80997a64bd33",
        "+14155550199",
        None,
    )
    .unwrap();
    assert!(
        String::from_utf8_lossy(&requests[0].body).contains("From=%2B14155550100"),
        "from the number she wrote to"
    );
    desk.mark_sent(tenant, out.message, Some("SM0out1"), t(1))
        .unwrap();
    let status = |s: &str| {
        let events = twilio_events(
            tenant,
            &[
                ("MessageSid", "SM0out1"),
                ("MessageStatus", s),
                ("AccountSid", "AC5ef872f6da5a21de157d80997a64bd33"),
            ],
            t(2),
        );
        match events.into_iter().next() {
            Some(Event::Receipt(r)) => r,
            other => panic!("a receipt, got {other:?}"),
        }
    };
    desk.record_receipt(tenant, &Channel::Sms, &status("delivered"), t(2))
        .unwrap();
    desk.record_receipt(tenant, &Channel::Sms, &status("sent"), t(3))
        .unwrap();
    let stored = desk.messages((tenant, conv)).unwrap();
    let reply = stored.iter().find(|m| m.id == out.message).unwrap();
    assert!(
        matches!(reply.delivery, Some(Delivery::Delivered { .. })),
        "{:?}",
        reply.delivery
    );
    let unknown = Receipt {
        provider_id: "SM-nope".into(),
        message: None,
        status: ReceiptStatus::Delivered,
        at: None,
        error: None,
    };
    assert!(desk
        .record_receipt(tenant, &Channel::Sms, &unknown, t(3))
        .is_err());

    // STOP: the host hands the events on in order (the opt-out comes first); replies
    // are refused until START.
    for e in sms(tenant, "SM0002", "STOP", t(10)) {
        match e {
            Event::Consent(c) => desk.record_consent(tenant, &c, t(10)).unwrap(),
            Event::Message(m) => {
                let got = desk.ingest(*m, t(10)).unwrap();
                assert!(got.effects.iter().all(|e| !matches!(e, Effect::Send(_))));
            }
            other => panic!("{other:?}"),
        }
    }
    let err = desk
        .reply((tenant, conv), agent, "Anything else?", t(11))
        .expect_err("opted out");
    assert!(err.to_string().contains("opted out"), "{err}");
    for e in sms(tenant, "SM0003", "START", t(20)) {
        if let Event::Consent(c) = e {
            desk.record_consent(tenant, &c, t(20)).unwrap();
        }
    }
    let out = send(
        &desk
            .reply((tenant, conv), agent, "Welcome back", t(21))
            .unwrap(),
    );

    // The transport fails: retried after 1, 5, 30 and 120 minutes, then failed.
    let mut now = t(21);
    for (failures, wait) in [(1, 1), (2, 5), (3, 30), (4, 120)] {
        let effects = desk
            .mark_failed(tenant, out.message, "HTTP 503", now)
            .unwrap();
        assert!(effects.is_empty());
        let next = desk.next_wakeup().unwrap().expect("a retry is scheduled");
        assert_eq!(
            next,
            now + TimeDelta::minutes(wait),
            "after failure {failures}"
        );
        assert!(
            desk.outbox(tenant).unwrap().is_empty(),
            "waiting, not pending"
        );
        assert!(desk.tick(next - TimeDelta::seconds(1)).unwrap().is_empty());
        now = next;
        let resent = desk.tick(now).unwrap();
        assert_eq!(send(&resent).message, out.message);
        assert_eq!(desk.outbox(tenant).unwrap().len(), 1);
    }
    let effects = desk
        .mark_failed(tenant, out.message, "HTTP 503", now)
        .unwrap();
    assert!(
        matches!(&effects[..], [Effect::DeliveryFailed { reason, .. }] if reason == "HTTP 503")
    );
    let later = desk.tick(now + TimeDelta::days(1)).unwrap();
    assert!(
        later.iter().all(|e| !matches!(e, Effect::Send(_))),
        "no more tries: {later:?}"
    );
    let stored = desk.messages((tenant, conv)).unwrap();
    let failed = stored.iter().find(|m| m.id == out.message).unwrap();
    assert!(matches!(failed.delivery, Some(Delivery::Failed { .. })));
}

/// The triage bot answers a person's question, never a machine's: an out-of-office that
/// quotes the same words gets no answer (no mail loop) and is not triaged.
#[test]
fn the_bot_never_answers_an_auto_reply() {
    use throughline::triage::{Intent, IntentCatalogue, TriageConfig, Value};
    let catalogue = IntentCatalogue::new()
        .with(
            Intent::new("order_status", Value::High, Value::Low)
                .article("kb/where-is-my-order")
                .phrases("en", &["where is my order"]),
        )
        .unwrap();
    let config = DeskConfig::default().triage(TriageConfig::new(catalogue));
    let tenant = TenantId::new_v7();
    let answered = |automated: bool| {
        let mut desk = Desk::new(MemoryStore::new(), config.clone());
        let extra = if automated {
            "Auto-Submitted: auto-replied\r\n"
        } else {
            ""
        };
        let raw = mail(
            "ana@example.com",
            "<a1@mail.example.com>",
            None,
            extra,
            "Where is my order?",
        );
        let (_, effects) = ingest_mail(&mut desk, tenant, &raw, t(0));
        (
            effects.iter().any(|e| matches!(e, Effect::Send(_))),
            effects.iter().any(|e| matches!(e, Effect::Triaged { .. })),
        )
    };
    assert_eq!(
        answered(false),
        (true, true),
        "a person gets the bot's answer"
    );
    assert_eq!(answered(true), (false, false), "a machine gets nothing");
}

/// What an erased customer leaves behind is not sent later: a send waiting for its
/// retry, an opt-out and a transfer note go with the erasure.
#[test]
fn erasure_takes_pending_retries_opt_outs_and_notes() {
    use throughline::routing::RoutingConfig;
    let tenant = TenantId::new_v7();
    let mut desk = Desk::new(
        MemoryStore::new(),
        DeskConfig::default().routing(RoutingConfig::default()),
    );
    let agent = AgentId::new_v7();
    desk.upsert_agent(throughline::routing::Agent::new(agent, tenant, "Ana"), t(0))
        .unwrap();
    let got = desk
        .ingest(
            message(sms(tenant, "SM0001", "Call me at home", t(0))),
            t(0),
        )
        .unwrap();
    let conv = got.conversation;
    let out = send(
        &desk
            .reply((tenant, conv), agent, "Secret reply to Carla", t(1))
            .unwrap(),
    );
    desk.mark_failed(tenant, out.message, "HTTP 503", t(1))
        .unwrap();
    for e in sms(tenant, "SM0002", "STOP", t(2)) {
        if let Event::Consent(c) = e {
            desk.record_consent(tenant, &c, t(2)).unwrap();
        }
    }
    desk.transfer(
        (tenant, conv),
        throughline::conversation::Transfer::Queue("vip".into()),
        "Carla Diaz, card ending 4111",
        agent,
        t(3),
    )
    .unwrap();
    desk.erase_customer(tenant, got.customer, t(4)).unwrap();

    let later = desk.tick(t(4) + TimeDelta::hours(3)).unwrap();
    assert!(
        later.iter().all(|e| !matches!(e, Effect::Send(_))),
        "{later:?}"
    );
    // The number is free again: a new customer writing from it can be answered.
    let again = desk
        .ingest(message(sms(tenant, "SM0003", "Hello again", t(10))), t(10))
        .unwrap();
    assert!(desk
        .reply((tenant, again.conversation), agent, "Hi", t(11))
        .is_ok());
    let notes: Vec<String> = desk
        .messages((tenant, conv))
        .unwrap()
        .into_iter()
        .filter_map(|m| match m.event {
            Some(throughline::conversation::ConversationEvent::Transferred { note, .. }) => {
                Some(note)
            }
            _ => None,
        })
        .collect();
    assert_eq!(notes, [String::new()], "the note is erased with the person");
}

/// A delivery never moves back, and only a pending send can fail.
#[test]
fn delivery_state_moves_forward_only() {
    let tenant = TenantId::new_v7();
    let mut desk = Desk::new(MemoryStore::new(), DeskConfig::default());
    let agent = AgentId::new_v7();
    let got = desk
        .ingest(message(sms(tenant, "SM0001", "Refund?", t(0))), t(0))
        .unwrap();
    let out = send(
        &desk
            .reply((tenant, got.conversation), agent, "Done", t(1))
            .unwrap(),
    );
    let receipt = Receipt {
        provider_id: "SMout".into(),
        message: Some(out.message),
        status: ReceiptStatus::Delivered,
        at: Some(t(2)),
        error: None,
    };
    // The receipt overtakes the host's confirmation.
    desk.record_receipt(tenant, &Channel::Sms, &receipt, t(2))
        .unwrap();
    desk.mark_sent(tenant, out.message, Some("SMout"), t(3))
        .unwrap();
    let stored = desk.messages((tenant, got.conversation)).unwrap();
    let m = stored.iter().find(|m| m.id == out.message).unwrap();
    assert!(
        matches!(m.delivery, Some(Delivery::Delivered { .. })),
        "{:?}",
        m.delivery
    );
    let err = desk
        .mark_failed(tenant, out.message, "timeout", t(4))
        .unwrap_err();
    assert!(
        err.to_string().contains("only a pending send can fail"),
        "{err}"
    );
    assert!(desk
        .tick(t(600))
        .unwrap()
        .iter()
        .all(|e| !matches!(e, Effect::Send(_))));
}

/// Only an e-mail's hint can name our message, and a reply goes to the conversation's
/// customer, not to someone who joined it by answering our mail.
#[test]
fn a_joined_stranger_does_not_take_the_reply() {
    let tenant = TenantId::new_v7();
    let mut desk = Desk::new(MemoryStore::new(), DeskConfig::default());
    let agent = AgentId::new_v7();
    let raw = mail(
        "ana@example.com",
        "<q1@mail.example.com>",
        None,
        "",
        "My parcel is late",
    );
    let (conv, _) = ingest_mail(&mut desk, tenant, &raw, t(0));
    let out = send(
        &desk
            .reply((tenant, conv), agent, "Looking into it", t(5))
            .unwrap(),
    );

    // A chat naming our message id as its hint is no reply to our mail.
    let mallory = Identifier::email("mallory@y.example").unwrap();
    let chat = Inbound::new(tenant, Channel::WebChat, mallory, "chat-m", "hi")
        .thread_hint(out.message.to_string());
    assert_ne!(desk.ingest(chat, t(6)).unwrap().conversation, conv);

    // A colleague answers our mail: she joins, but the next reply goes to Ana.
    let ours = email::message_id(&out, DOMAIN);
    let raw = mail(
        "bo@corp.example",
        "<w1@corp.example>",
        Some(&ours),
        "",
        "Ana is out.",
    );
    let (joined, _) = ingest_mail(&mut desk, tenant, &raw, t(7));
    assert_eq!(joined, conv);
    let next = send(
        &desk
            .reply((tenant, conv), agent, "Thanks Bo", t(8))
            .unwrap(),
    );
    assert_eq!(next.to, Identifier::email("ana@example.com").unwrap());
}

/// The inbox is ours: a friend in `To` is not where the reply comes from.
#[test]
fn the_inbox_is_an_address_at_our_domain() {
    let tenant = TenantId::new_v7();
    let raw = format!(
        "From: Ana <ana@example.com>\r\nTo: friend@x.example\r\nCc: help@{DOMAIN}\r\n\
         Subject: Hi\r\nMessage-ID: <i1@example.com>\r\nContent-Type: text/plain\r\n\r\nhello\r\n"
    );
    let parsed = email::parse(raw.as_bytes(), tenant, DOMAIN).unwrap();
    assert_eq!(parsed.inbox(), Some(&*format!("help@{DOMAIN}")));
    let raw = raw.replace(&format!("Cc: help@{DOMAIN}\r\n"), "");
    let parsed = email::parse(raw.as_bytes(), tenant, DOMAIN).unwrap();
    assert_eq!(
        parsed.inbox(),
        None,
        "not ours: the host's default inbox answers"
    );
}

#[test]
fn a_reply_follows_the_customer_off_a_web_chat_they_left() {
    use throughline::store::MemoryStore;
    use throughline::{AgentId, Desk, DeskConfig, Effect, Inbound};
    let tenant = TenantId::new_v7();
    let agent = AgentId::new_v7();
    let t0 = chrono::DateTime::parse_from_rfc3339("2026-03-02T09:00:00Z")
        .unwrap()
        .to_utc();
    let mut desk = Desk::new(MemoryStore::new(), DeskConfig::default());
    let visitor = Identifier::external("webchat", "v-42").unwrap();
    let mut chat = Inbound::new(
        tenant,
        Channel::WebChat,
        visitor,
        "c1",
        "Is my order 1042 shipped?",
    );
    chat.also
        .push(Identifier::email("ana@example.com").unwrap());
    let c = (tenant, desk.ingest(chat, t0).unwrap().conversation);
    let sent_on = |effects: &[Effect]| {
        effects.iter().find_map(|e| match e {
            Effect::Send(out) => Some((out.channel.clone(), out.to.value().to_string())),
            _ => None,
        })
    };
    // While she is in the chat, the reply goes to the chat.
    let now = t0 + chrono::TimeDelta::minutes(5);
    let fx = desk.reply(c, agent, "Checking now.", now).unwrap();
    assert_eq!(sent_on(&fx), Some((Channel::WebChat, "v-42".to_string())));
    // An hour later she has left: the answer goes to her e-mail address.
    let later = t0 + chrono::TimeDelta::hours(1);
    let fx = desk
        .reply(c, agent, "It shipped this morning.", later)
        .unwrap();
    assert_eq!(
        sent_on(&fx),
        Some((Channel::Email, "ana@example.com".to_string()))
    );
    // The agent can still choose the chat explicitly.
    let fx = desk
        .reply_with(
            c,
            throughline::ReplyOptions::new(agent, "Also here.").on(Channel::WebChat),
            later,
        )
        .unwrap();
    assert_eq!(sent_on(&fx).map(|s| s.0), Some(Channel::WebChat));
    // With SMS disabled for the tenant, a reply to an SMS customer goes by e-mail.
    let mut desk = Desk::new(MemoryStore::new(), DeskConfig::default());
    let mut sms = Inbound::new(
        tenant,
        Channel::Sms,
        Identifier::phone("+31612345678", None).unwrap(),
        "s1",
        "Hello",
    );
    sms.also.push(Identifier::email("bo@example.com").unwrap());
    let c = (tenant, desk.ingest(sms, t0).unwrap().conversation);
    desk.channels_mut().disable_for(tenant, Channel::Sms);
    let fx = desk.reply(c, agent, "Hi Bo", t0).unwrap();
    assert_eq!(
        sent_on(&fx),
        Some((Channel::Email, "bo@example.com".to_string()))
    );
}

#[test]
fn a_hosts_sms_profile_with_a_text_limit_splits_long_replies_into_several_sms() {
    use throughline::store::MemoryStore;
    use throughline::{AgentId, ChannelProfile, Desk, DeskConfig, Effect, Inbound};
    let tenant = TenantId::new_v7();
    let t0 = chrono::DateTime::parse_from_rfc3339("2026-03-02T09:00:00Z")
        .unwrap()
        .to_utc();
    let mut desk = Desk::new(MemoryStore::new(), DeskConfig::default());
    let phone = Identifier::phone("+31612345678", None).unwrap();
    let c = (
        tenant,
        desk.ingest(Inbound::new(tenant, Channel::Sms, phone, "s1", "Hi"), t0)
            .unwrap()
            .conversation,
    );
    let long = "Your parcel left our warehouse this morning and arrives tomorrow. ".repeat(4);
    let parts = |desk: &mut Desk<MemoryStore>| {
        desk.reply(c, AgentId::new_v7(), long.clone(), t0)
            .unwrap()
            .iter()
            .find_map(|e| match e {
                Effect::Send(out) => Some(out.parts.clone()),
                _ => None,
            })
            .unwrap()
    };
    // By default one concatenated SMS.
    assert_eq!(parts(&mut desk).len(), 1);
    // A host that sends single-segment SMS only: parts of at most 160 characters.
    let mut profile: ChannelProfile = Channel::Sms.profile();
    profile.text_limit = Some(160);
    desk.channels_mut().set_profile(Channel::Sms, profile);
    let split = parts(&mut desk);
    assert!(split.len() >= 2, "{split:?}");
    assert!(split.iter().all(|p| p.chars().count() <= 160), "{split:?}");
    let requests = twilio::request(
        &throughline::Outbound {
            tenant,
            conversation: c.1,
            message: throughline::MessageId::new_v7(),
            channel: Channel::Sms,
            to: Identifier::phone("+31612345678", None).unwrap(),
            body: long.clone(),
            parts: split.clone(),
            attachments: vec![],
            in_reply_to: None,
            subject: None,
            from: None,
            customer_wrote_at: None,
        },
        "AC0123456789abcdef0123456789abcdef",
        "+31970102030",
        None,
    )
    .unwrap();
    assert_eq!(requests.len(), split.len(), "one Twilio request per part");
}
