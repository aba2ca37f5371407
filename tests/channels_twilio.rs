#![cfg(feature = "twilio")]
//! The Twilio adapter against fixtures written from Twilio's documented formats: signed
//! webhooks, incoming SMS / MMS / WhatsApp, keywords, status callbacks, outbound requests.

use chrono::{DateTime, TimeZone, Utc};
use proptest::prelude::*;
use throughline::channels::twilio::{self, Keyword};
use throughline::channels::{ConsentChange, Event, Receipt, ReceiptStatus, MAX_WEBHOOK_BYTES};
use throughline::{
    Attachment, Channel, ConversationId, Error, Identifier, IdentifierKind, Inbound, MessageId,
    Outbound, TenantId,
};

const URL: &str = "https://support.example.com/hooks/twilio?inbox=sales";
const TOKEN: &str = "9f86d081884c7d659a2feaa0c55ad015";
const ACCOUNT: &str = "AC5ef872f6da5a21de157d80997a64bd33";

fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/tests/fixtures/twilio/{name}.form",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 6, 8, 0, 0).unwrap()
}

fn tenant() -> TenantId {
    "0193a3c0-0000-7000-8000-000000000001".parse().unwrap()
}

fn params(body: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(body).into_owned().collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect()
}

fn parse(name: &str) -> Vec<Event> {
    twilio::parse(&fixture(name), tenant(), now()).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The message among `events`; an opt-out or opt-in comes before it.
fn message(events: &[Event]) -> &Inbound {
    let first_message = events.iter().position(|e| matches!(e, Event::Message(_)));
    let last_consent = events.iter().rposition(|e| matches!(e, Event::Consent(_)));
    if let (Some(m), Some(c)) = (first_message, last_consent) {
        assert!(
            c < m,
            "the consent change comes before the message: {events:?}"
        );
    }
    match first_message.map(|i| &events[i]) {
        Some(Event::Message(m)) => m,
        other => panic!("expected a message, got {other:?}"),
    }
}

fn consent(events: &[Event]) -> Option<&ConsentChange> {
    events.iter().find_map(|e| match e {
        Event::Consent(c) => Some(c),
        _ => None,
    })
}

fn receipt(name: &str) -> Receipt {
    match parse(name).as_slice() {
        [Event::Receipt(r)] => r.clone(),
        other => panic!("{name}: expected one receipt, got {other:?}"),
    }
}

fn invalid_field(err: Error) -> &'static str {
    match err {
        Error::Invalid { field, .. } => field,
        other => panic!("expected Error::Invalid, got {other:?}"),
    }
}

// ---------------------------------------------------------------- signatures

/// The example Twilio's helper-library documentation ("Validate Incoming Requests")
/// publishes: auth token `12345`, this URL and these POST parameters give
/// `RSOYDt4T1cUTdK1PDd93/VVr8B8=`. Recomputed independently with Python's `hmac` module:
/// `base64(hmac.new(b"12345", url + "CallSidCA1234567890ABCDECaller+14158675309Digits1234From+14158675309To+18005551212", sha1))`.
const DOC_URL: &str = "https://mycompany.com/myapp.php?foo=1&bar=2";
const DOC_SIGNATURE: &str = "RSOYDt4T1cUTdK1PDd93/VVr8B8=";

fn doc_params() -> Vec<(String, String)> {
    pairs(&[
        ("CallSid", "CA1234567890ABCDE"),
        ("Caller", "+14158675309"),
        ("Digits", "1234"),
        ("From", "+14158675309"),
        ("To", "+18005551212"),
    ])
}

#[test]
fn the_published_example_verifies() {
    assert_eq!(twilio::sign(DOC_URL, &doc_params(), "12345"), DOC_SIGNATURE);
    twilio::verify(DOC_URL, &doc_params(), DOC_SIGNATURE, "12345").unwrap();
    // Order of the received parameters does not matter.
    let mut reversed = doc_params();
    reversed.reverse();
    twilio::verify(DOC_URL, &reversed, DOC_SIGNATURE, "12345").unwrap();
}

#[test]
fn tampered_copies_of_the_published_example_fail() {
    let check = |url: &str, params: &[(String, String)], sig: &str, token: &str| {
        let err = twilio::verify(url, params, sig, token).unwrap_err();
        assert_eq!(invalid_field(err), twilio::SIGNATURE_HEADER);
    };
    // One changed byte in a value.
    let mut changed = doc_params();
    changed[2].1 = "1235".into();
    check(DOC_URL, &changed, DOC_SIGNATURE, "12345");
    // A missing parameter.
    let mut missing = doc_params();
    missing.remove(1);
    check(DOC_URL, &missing, DOC_SIGNATURE, "12345");
    // An added parameter.
    let mut added = doc_params();
    added.push(("Body".into(), String::new()));
    check(DOC_URL, &added, DOC_SIGNATURE, "12345");
    // Another URL: another scheme, another query, a trailing slash.
    for url in [
        "http://mycompany.com/myapp.php?foo=1&bar=2",
        "https://mycompany.com/myapp.php?foo=1&bar=3",
        "https://mycompany.com/myapp.php/?foo=1&bar=2",
    ] {
        check(url, &doc_params(), DOC_SIGNATURE, "12345");
    }
    // Another auth token.
    check(DOC_URL, &doc_params(), DOC_SIGNATURE, "12346");
    // One changed character of the signature itself.
    check(
        DOC_URL,
        &doc_params(),
        "RSOYDt4T1cUTdK1PDd93/VVr8B9=",
        "12345",
    );
    // A bad base64 signature and an empty one.
    check(DOC_URL, &doc_params(), "not base64!", "12345");
    check(DOC_URL, &doc_params(), "", "12345");
    check(DOC_URL, &doc_params(), "   ", "12345");
    // A valid base64 string of the wrong length.
    check(DOC_URL, &doc_params(), "RSOYDt4T", "12345");
}

#[test]
fn a_fixture_body_verifies_over_its_raw_bytes() {
    let body = fixture("mms_two_media");
    let sig = twilio::sign(URL, &params(&body), TOKEN);
    twilio::verify_body(URL, &body, &sig, TOKEN).unwrap();
    // One changed byte anywhere in the body breaks it.
    let mut tampered = body.clone();
    let at = tampered.iter().position(|b| *b == b'd').unwrap();
    tampered[at] = b'e';
    assert!(twilio::verify_body(URL, &tampered, &sig, TOKEN).is_err());
    // An empty or oversized body is refused before any MAC is computed.
    assert!(twilio::verify_body(URL, b"", &sig, TOKEN).is_err());
    let huge = vec![b'a'; MAX_WEBHOOK_BYTES + 1];
    assert!(twilio::verify_body(URL, &huge, &sig, TOKEN).is_err());
}

#[test]
fn parse_signed_reads_only_signed_bodies() {
    let body = fixture("stop");
    let sig = twilio::sign(URL, &params(&body), TOKEN);
    let events = twilio::parse_signed(URL, &body, &sig, TOKEN, tenant(), now()).unwrap();
    assert_eq!(events, parse("stop"));
    for (url, sig, token) in [
        (
            "https://support.example.com/hooks/twilio",
            sig.as_str(),
            TOKEN,
        ),
        (URL, "", TOKEN),
        (URL, sig.as_str(), "another"),
    ] {
        let err = twilio::parse_signed(url, &body, sig, token, tenant(), now()).unwrap_err();
        assert_eq!(invalid_field(err), twilio::SIGNATURE_HEADER);
    }
}

#[test]
fn repeated_names_sign_as_twilio_helper_libraries_do() {
    let a = pairs(&[
        ("MediaUrl", "https://b"),
        ("To", "+1"),
        ("MediaUrl", "https://a"),
    ]);
    let b = pairs(&[
        ("To", "+1"),
        ("MediaUrl", "https://a"),
        ("MediaUrl", "https://b"),
    ]);
    let sig = twilio::sign(URL, &a, TOKEN);
    twilio::verify(URL, &b, &sig, TOKEN).unwrap();
    // Dropping one of the repeated values is noticed.
    assert!(twilio::verify(URL, &b[..2], &sig, TOKEN).is_err());
}

// ---------------------------------------------------------------- incoming messages

#[test]
fn an_incoming_sms() {
    let events = parse("sms_inbound");
    assert_eq!(events.len(), 1, "no keyword, no consent event");
    let m = message(&events);
    assert_eq!(m.tenant, tenant());
    assert_eq!(m.channel, Channel::Sms);
    assert_eq!(m.from, Identifier::phone("+14155552671", None).unwrap());
    assert!(m.also.is_empty());
    assert_eq!(m.external_id, "SM000000000000000000001a2b3c4d5e70");
    assert_eq!(m.to.as_deref(), Some("+14155550100"));
    assert_eq!(
        m.body,
        "Hi, my order #1042 still hasn't arrived. Can you check?"
    );
    assert!(m.attachments.is_empty());
    assert_eq!(m.sent_at, Some(now()));
    assert_eq!(m.display_name, None);
}

#[test]
fn an_mms_with_two_media() {
    let events = parse("mms_two_media");
    let m = message(&events);
    assert!(m.external_id.starts_with("MM"));
    assert_eq!(m.body, "Here are the photos of the damaged box");
    let base = format!(
        "https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT}/Messages/{}/Media",
        m.external_id
    );
    assert_eq!(
        m.attachments,
        vec![
            Attachment {
                name: "ME0e6c5a1c9b2d4f7a8e3b6c9d2f5a8b1c.jpg".into(),
                content_type: "image/jpeg".into(),
                size: 0,
                url: format!("{base}/ME0e6c5a1c9b2d4f7a8e3b6c9d2f5a8b1c"),
            },
            Attachment {
                name: "ME7d3a9f2e6b1c4d8a5e2f9b6c3d0a7e4f.pdf".into(),
                content_type: "application/pdf".into(),
                size: 0,
                url: format!("{base}/ME7d3a9f2e6b1c4d8a5e2f9b6c3d0a7e4f"),
            },
        ]
    );
}

#[test]
fn emoji_and_non_latin_bodies_arrive_intact() {
    for (name, from, body) in [
        ("emoji", "+14155552671", "Got it, thanks! 👍🏽🎉 See you 👨‍👩‍👧‍👦"),
        ("arabic", "+971501234567", "مرحبا، أين طلبي؟ رقم الطلب ١٠٤٢"),
        ("chinese", "+8613800138000", "你好，我的订单什么时候到？"),
    ] {
        let events = parse(name);
        let m = message(&events);
        assert_eq!(m.body, body, "{name}");
        assert_eq!(m.from.value(), from, "{name}");
        assert_eq!(events.len(), 1, "{name}");
    }
}

#[test]
fn a_redelivery_has_the_same_external_id() {
    let first = parse("sms_inbound");
    let later = now() + chrono::Duration::seconds(15);
    let again = twilio::parse(&fixture("sms_inbound"), tenant(), later).unwrap();
    let (a, b) = (message(&first), message(&again));
    assert_eq!(a.external_id, b.external_id);
    assert_eq!(
        (a.channel.clone(), &a.from, &a.body),
        (b.channel.clone(), &b.from, &b.body)
    );
    // Another message has another id.
    assert_ne!(a.external_id, message(&parse("emoji")).external_id);
}

#[test]
fn a_twilio_whatsapp_message() {
    let events = parse("whatsapp_inbound");
    assert_eq!(events.len(), 1);
    let m = message(&events);
    assert_eq!(m.channel, Channel::WhatsApp);
    assert_eq!(m.from, Identifier::whatsapp("+14155552671", None).unwrap());
    assert_eq!(
        m.also,
        vec![Identifier::phone("+14155552671", None).unwrap()]
    );
    assert_eq!(m.to.as_deref(), Some("whatsapp:+14155238886"));
    assert_eq!(m.display_name.as_deref(), Some("Ana Pereira"));
    assert_eq!(m.body, "Olá! Vocês entregam em Lisboa? 🇵🇹");
}

#[test]
fn a_whatsapp_location_becomes_text() {
    let m = parse("whatsapp_location");
    let m = message(&m);
    assert_eq!(
        m.body,
        "Location: 38.7223, -9.1393 (Shop, Praça do Comércio, Lisboa)"
    );
}

// ---------------------------------------------------------------- keywords

#[test]
fn opt_out_keywords_add_a_consent_event() {
    for name in ["stop", "stop_all_lower", "unsubscribe_punct"] {
        let events = parse(name);
        assert_eq!(events.len(), 2, "{name}");
        let m = message(&events);
        let c = consent(&events).unwrap();
        assert!(c.opted_out, "{name}");
        assert_eq!(c.identifier, m.from, "{name}");
        assert_eq!(c.keyword, m.body.trim(), "{name}");
    }
}

#[test]
fn opt_in_keywords_add_a_consent_event() {
    for name in ["start", "unstop"] {
        let events = parse(name);
        let c = consent(&events).unwrap_or_else(|| panic!("{name}"));
        assert!(!c.opted_out, "{name}");
        assert_eq!(c.identifier.kind(), &IdentifierKind::Phone);
    }
}

#[test]
fn help_and_sentences_are_only_messages() {
    for name in ["help", "info", "stop_sentence"] {
        let events = parse(name);
        assert_eq!(events.len(), 1, "{name}: {events:?}");
        assert!(matches!(events[0], Event::Message(_)));
    }
    assert_eq!(
        twilio::keyword(&message(&parse("help")).body),
        Some(Keyword::Help)
    );
    assert_eq!(
        twilio::keyword(&message(&parse("info")).body),
        Some(Keyword::Help)
    );
}

#[test]
fn advanced_opt_out_type_wins_over_the_standard_list() {
    // A custom keyword ("Arrêt") the Messaging Service is configured for.
    let events = parse("optout_type_custom");
    assert_eq!(twilio::keyword("Arrêt"), None);
    let c = consent(&events).unwrap();
    assert!(c.opted_out);
    assert_eq!(c.keyword, "Arrêt");
}

#[test]
fn a_whatsapp_stop_is_not_an_sms_opt_out() {
    let events = parse("whatsapp_stop");
    assert_eq!(events.len(), 1);
    assert_eq!(message(&events).body, "STOP");
}

// ---------------------------------------------------------------- status callbacks

#[test]
fn every_status_callback_state() {
    use ReceiptStatus::*;
    for (name, want) in [
        ("status_queued", Queued),
        ("status_sending", Queued),
        ("status_accepted", Queued),
        ("status_scheduled", Queued),
        ("status_sent", Sent),
        ("status_delivered", Delivered),
        ("status_delivered_dlr", Delivered),
        ("status_read_whatsapp", Read),
        ("status_canceled", Failed),
        ("status_failed", Failed),
        ("status_undelivered_30003", Failed),
    ] {
        let r = receipt(name);
        assert_eq!(r.status, want, "{name}");
        assert!(
            r.provider_id.starts_with("SM") && r.provider_id.len() == 34,
            "{name}"
        );
        assert_eq!((r.message, r.at), (None, None), "{name}");
        let error = match name {
            "status_failed" => Some("30008"),
            "status_undelivered_30003" => Some("30003: Unreachable destination handset"),
            _ => None,
        };
        assert_eq!(r.error.as_deref(), error, "{name}");
    }
}

#[test]
fn receipts_name_the_message_sid() {
    let body = fixture("status_delivered");
    let sid = params(&body)
        .into_iter()
        .find(|(n, _)| n == "MessageSid")
        .unwrap()
        .1;
    assert_eq!(receipt("status_delivered").provider_id, sid);
}

#[test]
fn a_tagged_status_callback_names_our_message() {
    let out = outbound(Channel::Sms, phone(), &["Hi"]);
    let cb = twilio::with_message_param("https://support.example.com/twilio/status", out.message);
    let reqs = twilio::request(&out, ACCOUNT, "+14155550199", Some(&cb)).unwrap();
    assert_eq!(params(&reqs[0].body).last().unwrap().1, cb);
    // Twilio later POSTs the status to `cb`, signed over it.
    let body = fixture("status_delivered");
    let sig = twilio::sign(&cb, &params(&body), TOKEN);
    twilio::verify_body(&cb, &body, &sig, TOKEN).unwrap();
    let mut r = receipt("status_delivered");
    r.message = twilio::parse_status_callback_url(&cb).unwrap();
    assert_eq!(r.message, Some(out.message));
    assert_eq!(r.status, ReceiptStatus::Delivered);
}

// ---------------------------------------------------------------- refusals

fn with(name: &str, edit: impl Fn(&mut Vec<(String, String)>)) -> Vec<u8> {
    let mut p = params(&fixture(name));
    edit(&mut p);
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(p)
        .finish()
        .into_bytes()
}

fn refused(body: &[u8]) -> &'static str {
    invalid_field(twilio::parse(body, tenant(), now()).unwrap_err())
}

#[test]
fn missing_required_parameters_are_refused() {
    let drop = |names: &'static [&'static str]| {
        with("sms_inbound", move |p| {
            p.retain(|(n, _)| !names.contains(&n.as_str()))
        })
    };
    assert_eq!(
        refused(&drop(&["MessageSid", "SmsSid", "SmsMessageSid"])),
        "MessageSid"
    );
    assert_eq!(refused(&drop(&["From"])), "From");
    assert_eq!(refused(&drop(&["To"])), "To");
    let status = with("status_sent", |p| {
        p.retain(|(n, _)| n != "MessageSid" && n != "SmsSid")
    });
    assert_eq!(refused(&status), "MessageSid");
}

#[test]
fn bad_values_are_refused_with_the_offending_value() {
    let set = |name: &'static str, value: &'static str| {
        with("sms_inbound", move |p| {
            for (n, v) in p.iter_mut() {
                if n == name {
                    *v = value.to_string();
                }
            }
        })
    };
    for from in [
        "4155552671",
        "+1 415 ABC",
        "14155552671",
        "whatsapp:4155552671",
        "+999",
    ] {
        let err = twilio::parse(&set("From", from), tenant(), now()).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("From") && text.contains(from), "{text}");
    }
    assert_eq!(refused(&set("MessageSid", "SM<script>")), "MessageSid");
    assert_eq!(refused(&set("NumMedia", "two")), "NumMedia");
    assert_eq!(refused(&set("NumMedia", "11")), "NumMedia");
    assert_eq!(refused(&set("NumMedia", "1")), "MediaUrl");
    assert_eq!(refused(&set("Body", "   ")), "Body");
    let bad_status = with("status_sent", |p| {
        for (n, v) in p.iter_mut() {
            if n == "MessageStatus" {
                *v = "lost_in_space".into();
            }
        }
    });
    let err = twilio::parse(&bad_status, tenant(), now())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("MessageStatus") && err.contains("lost_in_space"),
        "{err}"
    );
    let bad_code = with("status_undelivered_30003", |p| {
        for (n, v) in p.iter_mut() {
            if n == "ErrorCode" {
                *v = "x1".into();
            }
        }
    });
    assert_eq!(refused(&bad_code), "ErrorCode");
    let bad_media = with("mms_two_media", |p| {
        for (n, v) in p.iter_mut() {
            if n == "MediaUrl1" {
                *v = "javascript:alert(1)".into();
            }
        }
    });
    assert_eq!(refused(&bad_media), "MediaUrl");
}

#[test]
fn bad_bytes_are_refused() {
    assert!(twilio::parse(b"", tenant(), now()).is_err());
    assert!(twilio::parse(&vec![b'a'; MAX_WEBHOOK_BYTES + 1], tenant(), now()).is_err());
    let mut raw = fixture("sms_inbound");
    raw.extend_from_slice(b"&Extra=%FF%FE");
    assert_eq!(refused(&raw), "form body");
    let mut raw = fixture("sms_inbound");
    raw.extend_from_slice(b"&Extra=\xc3\x28");
    assert_eq!(refused(&raw), "form body");
    assert_eq!(refused(b"Body=%E"), "form body");
}

// ---------------------------------------------------------------- outbound

fn outbound(channel: Channel, to: Identifier, parts: &[&str]) -> Outbound {
    Outbound {
        tenant: tenant(),
        conversation: "0193a3c0-0000-7000-8000-000000000002"
            .parse::<ConversationId>()
            .unwrap(),
        message: "0193a3c0-0000-7000-8000-000000000003"
            .parse::<MessageId>()
            .unwrap(),
        channel,
        to,
        body: parts.join(" "),
        parts: parts.iter().map(|p| p.to_string()).collect(),
        attachments: vec![],
        in_reply_to: None,
        subject: None,
        from: None,
        customer_wrote_at: None,
    }
}

fn phone() -> Identifier {
    Identifier::phone("+14155552671", None).unwrap()
}

#[test]
fn an_sms_reply_in_parts_with_media_on_the_first() {
    let mut out = outbound(
        Channel::Sms,
        phone(),
        &["Part one (1/2)", "Part two 😀 (2/2)"],
    );
    out.from = Some("+14155550100".into());
    out.attachments.push(Attachment {
        name: "label.pdf".into(),
        content_type: "application/pdf".into(),
        size: 1234,
        url: "https://files.example.com/label.pdf?sig=a&b=c".into(),
    });
    let cb = "https://support.example.com/hooks/twilio/status?m=1";
    let reqs = twilio::request(&out, ACCOUNT, "+14155550199", Some(cb)).unwrap();
    assert_eq!(reqs.len(), 2);
    for r in &reqs {
        assert_eq!(r.method, "POST");
        assert_eq!(
            r.url,
            format!("https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT}/Messages.json")
        );
        assert_eq!(
            r.headers,
            vec![(
                "Content-Type".to_string(),
                "application/x-www-form-urlencoded".to_string()
            )]
        );
    }
    let first = params(&reqs[0].body);
    assert_eq!(
        first,
        pairs(&[
            ("To", "+14155552671"),
            ("From", "+14155550100"),
            ("Body", "Part one (1/2)"),
            ("MediaUrl", "https://files.example.com/label.pdf?sig=a&b=c"),
            ("StatusCallback", cb),
        ])
    );
    let second = params(&reqs[1].body);
    assert_eq!(
        second,
        pairs(&[
            ("To", "+14155552671"),
            ("From", "+14155550100"),
            ("Body", "Part two 😀 (2/2)"),
            ("StatusCallback", cb),
        ])
    );
}

#[test]
fn the_default_sender_and_a_messaging_service() {
    let out = outbound(Channel::Sms, phone(), &["Hi"]);
    let r = twilio::request(&out, ACCOUNT, "+14155550199", None).unwrap();
    assert_eq!(
        params(&r[0].body)[1],
        ("From".into(), "+14155550199".into())
    );
    let mg = "MG9752274e9e519418a7406176694466fa";
    let r = twilio::request(&out, ACCOUNT, mg, None).unwrap();
    assert_eq!(
        params(&r[0].body)[1],
        ("MessagingServiceSid".into(), mg.into())
    );
}

#[test]
fn a_whatsapp_reply_uses_whatsapp_addresses() {
    let to = Identifier::whatsapp("+14155552671", None).unwrap();
    let mut out = outbound(Channel::WhatsApp, to, &["Sim, entregamos em Lisboa."]);
    out.from = Some("whatsapp:+14155238886".into());
    let r = twilio::request(&out, ACCOUNT, "+14155550199", None).unwrap();
    let p = params(&r[0].body);
    assert_eq!(p[0], ("To".into(), "whatsapp:+14155552671".into()));
    assert_eq!(p[1], ("From".into(), "whatsapp:+14155238886".into()));
    // A bare default number gets the prefix.
    out.from = None;
    let r = twilio::request(&out, ACCOUNT, "+14155238886", None).unwrap();
    assert_eq!(
        params(&r[0].body)[1],
        ("From".into(), "whatsapp:+14155238886".into())
    );
}

#[test]
fn an_inbound_reply_goes_back_from_the_number_it_came_to() {
    let events = parse("whatsapp_inbound");
    let m = message(&events);
    let mut out = outbound(m.channel.clone(), m.from.clone(), &["Olá Ana!"]);
    out.from = m.to.clone();
    let r = twilio::request(&out, ACCOUNT, "+14155550199", None).unwrap();
    let p = params(&r[0].body);
    assert_eq!(
        (p[0].1.as_str(), p[1].1.as_str()),
        ("whatsapp:+14155552671", "whatsapp:+14155238886")
    );
}

#[test]
fn outbound_refusals() {
    let field = |out: &Outbound, sid: &str, from: &str, cb: Option<&str>| {
        invalid_field(twilio::request(out, sid, from, cb).unwrap_err())
    };
    let sms = outbound(Channel::Sms, phone(), &["Hi"]);
    for sid in [
        "",
        "AC123",
        "SK5ef872f6da5a21de157d80997a64bd33",
        "AC5ef872f6da5a21de157d80997a64bdzz",
    ] {
        assert_eq!(
            field(&sms, sid, "+14155550199", None),
            "account_sid",
            "{sid}"
        );
    }
    let email = outbound(
        Channel::Email,
        Identifier::email("ana@example.com").unwrap(),
        &["Hi"],
    );
    assert_eq!(field(&email, ACCOUNT, "+14155550199", None), "channel");
    let to_email = outbound(
        Channel::Sms,
        Identifier::email("ana@example.com").unwrap(),
        &["Hi"],
    );
    let err = twilio::request(&to_email, ACCOUNT, "+14155550199", None).unwrap_err();
    assert!(err.to_string().contains("email"), "{err}");
    assert_eq!(field(&sms, ACCOUNT, "", None), "from");
    assert_eq!(field(&sms, ACCOUNT, "whatsapp:+14155238886", None), "from");
    assert_eq!(
        field(&sms, ACCOUNT, "+14155550199", Some("ftp://x")),
        "StatusCallback"
    );
    let long = "a".repeat(twilio::MAX_BODY_CHARS + 1);
    assert_eq!(
        field(
            &outbound(Channel::Sms, phone(), &[&long]),
            ACCOUNT,
            "+1",
            None
        ),
        "body"
    );
    assert_eq!(
        field(
            &outbound(Channel::Sms, phone(), &["  "]),
            ACCOUNT,
            "+1",
            None
        ),
        "body"
    );
    let mut many = sms.clone();
    many.attachments = (0..11)
        .map(|i| Attachment {
            name: format!("{i}.jpg"),
            content_type: "image/jpeg".into(),
            size: 1,
            url: format!("https://files.example.com/{i}.jpg"),
        })
        .collect();
    assert_eq!(field(&many, ACCOUNT, "+1", None), "attachments");
}

// ---------------------------------------------------------------- properties

const NAMES: [&str; 12] = [
    "MessageSid",
    "From",
    "To",
    "Body",
    "NumMedia",
    "MediaUrl0",
    "MediaContentType0",
    "MessageStatus",
    "ErrorCode",
    "ProfileName",
    "OptOutType",
    "Latitude",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn parse_never_panics_on_arbitrary_bytes(body in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = twilio::parse(&body, tenant(), now());
    }

    #[test]
    fn parse_never_panics_on_forms_of_known_names(
        fields in proptest::collection::vec((0..NAMES.len(), ".{0,40}"), 0..12)
    ) {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields.iter().map(|(i, v)| (NAMES[*i], v.as_str())))
            .finish();
        let _ = twilio::parse(body.as_bytes(), tenant(), now());
    }

    #[test]
    fn a_signed_request_verifies_and_any_changed_value_fails(
        fields in proptest::collection::vec(("[A-Za-z][A-Za-z0-9]{0,12}", ".{0,30}"), 1..10),
        pick in any::<prop::sample::Index>(),
        extra in "[a-z0-9]{1,5}",
    ) {
        let p: Vec<(String, String)> = fields;
        let sig = twilio::sign(URL, &p, TOKEN);
        prop_assert!(twilio::verify(URL, &p, &sig, TOKEN).is_ok());
        // Through the wire: encode, then verify the raw body.
        let body = form_urlencoded::Serializer::new(String::new()).extend_pairs(&p).finish();
        prop_assert!(twilio::verify_body(URL, body.as_bytes(), &sig, TOKEN).is_ok());
        // Change one value: append to it (always a different value).
        let i = pick.index(p.len());
        let mut changed = p.clone();
        changed[i].1.push_str(&extra);
        // A repeated name with the changed value already present among its values would
        // sign the same set; skip that rare case.
        let dup = p.iter().any(|(n, v)| *n == changed[i].0 && *v == changed[i].1);
        if !dup {
            prop_assert!(twilio::verify(URL, &changed, &sig, TOKEN).is_err());
        }
    }

    #[test]
    fn outbound_bodies_parse_back(
        parts in proptest::collection::vec("\\PC{1,200}", 1..4),
        whatsapp in any::<bool>(),
    ) {
        prop_assume!(parts.iter().all(|p| !p.trim().is_empty()));
        let (channel, to) = if whatsapp {
            (Channel::WhatsApp, Identifier::whatsapp("+14155552671", None).unwrap())
        } else {
            (Channel::Sms, phone())
        };
        let refs: Vec<&str> = parts.iter().map(String::as_str).collect();
        let out = outbound(channel, to, &refs);
        let reqs = twilio::request(&out, ACCOUNT, "+14155550100", None).unwrap();
        prop_assert_eq!(reqs.len(), parts.len());
        let prefix = if whatsapp { "whatsapp:" } else { "" };
        for (req, part) in reqs.iter().zip(&parts) {
            let p = params(&req.body);
            prop_assert_eq!(&p[0], &("To".to_string(), format!("{prefix}+14155552671")));
            prop_assert_eq!(&p[1], &("From".to_string(), format!("{prefix}+14155550100")));
            prop_assert_eq!(&p[2], &("Body".to_string(), part.clone()));
        }
    }
}
