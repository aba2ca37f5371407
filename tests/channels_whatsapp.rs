#![cfg(feature = "whatsapp")]
//! The WhatsApp adapter against fixtures written from Meta's documented webhook payloads,
//! the shared Meta signature and handshake checks, the 24-hour window, and property tests.

use chrono::{DateTime, TimeDelta, Utc};
use hmac::{Hmac, KeyInit, Mac};
use proptest::prelude::*;
use serde_json::{json, Value};
use sha2::Sha256;
use throughline::channels::meta::{self, WINDOW};
use throughline::channels::whatsapp::{self, Template};
use throughline::channels::{Event, Receipt, ReceiptStatus};
use throughline::message::{Attachment, Outbound};
use throughline::store::MemoryStore;
use throughline::{
    Channel, ConversationId, Desk, DeskConfig, Identifier, Inbound, MessageId, TenantId,
};

const PHONE_NUMBER_ID: &str = "106540352242922";

fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/tests/fixtures/whatsapp/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn events(name: &str) -> Vec<Event> {
    whatsapp::parse(&fixture(name), TenantId::new_v7()).unwrap()
}

fn messages(name: &str) -> Vec<Inbound> {
    events(name)
        .into_iter()
        .filter_map(|e| match e {
            Event::Message(m) => Some(*m),
            _ => None,
        })
        .collect()
}

fn only(name: &str) -> Inbound {
    let mut all = messages(name);
    assert_eq!(all.len(), 1, "{name}");
    all.remove(0)
}

fn at(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, 0).unwrap()
}

fn hex_hmac(body: &[u8], secret: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

// ---- inbound messages ----

#[test]
fn text_message_names_sender_number_inbox_and_time() {
    let m = only("text.json");
    assert_eq!(m.channel, Channel::WhatsApp);
    assert_eq!(m.from, Identifier::whatsapp("5511987654321", None).unwrap());
    assert_eq!(m.also, [Identifier::phone("+5511987654321", None).unwrap()]);
    assert_eq!(
        m.external_id,
        "wamid.HBgNNTUxMTk4NzY1NDMyMRUCABIYFDNBMDFBQjAwMDAwMDAwMDAwMDAxAA=="
    );
    assert_eq!(m.body, "Where is my order 1042?");
    assert_eq!(m.sent_at, Some(at(1_749_416_383)));
    assert_eq!(m.display_name.as_deref(), Some("Ana Souza"));
    assert_eq!(m.to.as_deref(), Some(PHONE_NUMBER_ID));
    assert_eq!(m.thread_hint, None);
}

#[test]
fn image_with_caption_is_a_media_reference() {
    let m = only("image_caption.json");
    assert_eq!(m.body, "The box arrived like this");
    assert_eq!(
        m.attachments,
        [Attachment {
            name: "The box arrived like this".into(),
            content_type: "image/jpeg".into(),
            size: 0,
            url: "whatsapp-media:1003383421387256".into(),
        }]
    );
}

#[test]
fn document_keeps_its_filename() {
    let m = only("document.json");
    assert_eq!(m.body, "my receipt");
    let a = &m.attachments[0];
    assert_eq!(
        (a.name.as_str(), a.content_type.as_str(), a.url.as_str()),
        (
            "receipt-1042.pdf",
            "application/pdf",
            "whatsapp-media:2294913484214529"
        )
    );
}

#[test]
fn voice_note_has_an_empty_body_and_a_generated_name() {
    let m = only("audio.json");
    assert_eq!(m.body, "");
    let a = &m.attachments[0];
    assert_eq!(a.name, "audio-1031633345278424");
    assert_eq!(a.content_type, "audio/ogg; codecs=opus");
    assert!(a.url.starts_with(whatsapp::MEDIA_URL_PREFIX));
}

#[test]
fn location_is_rendered_as_text() {
    let m = only("location.json");
    assert_eq!(
        m.body,
        "Location: MASP, Av. Paulista, 1578 - Bela Vista, São Paulo (-23.561414, -46.655881)"
    );
}

#[test]
fn button_and_list_replies_are_their_titles_and_thread_to_our_message() {
    let b = only("button_reply.json");
    assert_eq!(b.body, "Yes, return it");
    assert_eq!(b.thread_hint.as_deref(), Some("wamid.OURBUTTONS01"));
    let l = only("list_reply.json");
    assert_eq!(l.body, "Tuesday morning");
    assert_eq!(l.thread_hint.as_deref(), Some("wamid.OURLIST01"));
    let t = only("template_button.json");
    assert_eq!(t.body, "Track my order");
    assert_eq!(t.thread_hint.as_deref(), Some("wamid.OURTEMPLATE01"));
}

#[test]
fn unsupported_messages_are_kept_not_dropped() {
    let m = only("unsupported.json");
    assert_eq!(
        m.body,
        "[WhatsApp \"unsupported\" message, not supported: Message type unknown]"
    );
    assert_eq!(m.external_id, "wamid.UNS0001");
}

#[test]
fn emoji_hindi_and_portuguese_arrive_intact_with_their_senders_names() {
    let all = messages("non_latin.json");
    let got: Vec<(&str, Option<&str>, &str)> = all
        .iter()
        .map(|m| (m.from.value(), m.display_name.as_deref(), m.body.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            (
                "+919876543210",
                Some("प्रिया शर्मा"),
                "नमस्ते, मेरा ऑर्डर अभी तक नहीं आया 🙏"
            ),
            (
                "+351912345678",
                Some("João Conceição"),
                "Olá! A encomenda não chegou; já são três semanas. Obrigação de reembolso? 😤👍🏽"
            ),
            ("+351912345678", Some("João Conceição"), "👨‍👩‍👧 família"),
        ]
    );
}

#[test]
fn two_entries_yield_every_message_and_status_in_order() {
    let all = events("two_entries.json");
    assert_eq!(all.len(), 3);
    let Event::Message(first) = &all[0] else {
        panic!("{:?}", all[0])
    };
    let Event::Message(second) = &all[1] else {
        panic!("{:?}", all[1])
    };
    assert_eq!(
        (first.body.as_str(), first.to.as_deref()),
        ("first", Some(PHONE_NUMBER_ID))
    );
    assert_eq!(
        (second.body.as_str(), second.to.as_deref()),
        ("second", Some("207540352242999"))
    );
    assert_eq!(second.display_name.as_deref(), Some("Jan de Vries"));
    assert!(
        matches!(&all[2], Event::Receipt(r) if r.provider_id == "wamid.OUT0100" && r.status == ReceiptStatus::Delivered)
    );
}

#[test]
fn statuses_become_receipts_and_deleted_is_skipped() {
    let receipts: Vec<Receipt> = events("statuses.json")
        .into_iter()
        .map(|e| match e {
            Event::Receipt(r) => r,
            other => panic!("{other:?}"),
        })
        .collect();
    let got: Vec<(&str, ReceiptStatus, i64)> = receipts
        .iter()
        .map(|r| (r.provider_id.as_str(), r.status, r.at.unwrap().timestamp()))
        .collect();
    assert_eq!(
        got,
        [
            ("wamid.OUT0001", ReceiptStatus::Sent, 1_750_857_384),
            ("wamid.OUT0001", ReceiptStatus::Delivered, 1_750_857_386),
            ("wamid.OUT0001", ReceiptStatus::Read, 1_750_857_400),
            ("wamid.OUT0002", ReceiptStatus::Failed, 1_750_857_500),
        ]
    );
    assert!(receipts[..3]
        .iter()
        .all(|r| r.error.is_none() && r.message.is_none()));
    assert_eq!(
        receipts[3].error.as_deref(),
        Some("131047 Re-engagement message: Message failed to send because more than 24 hours have passed since the customer last replied to this number.")
    );
}

#[test]
fn a_redelivery_is_the_same_message_and_the_desk_stores_it_once() {
    let tenant = TenantId::new_v7();
    let first = whatsapp::parse(&fixture("text.json"), tenant).unwrap();
    let again = whatsapp::parse(&fixture("text.json"), tenant).unwrap();
    assert_eq!(first, again);
    let Some(Event::Message(m)) = first.into_iter().next() else {
        panic!("a message")
    };
    let now = at(1_749_416_390);
    let mut desk = Desk::new(MemoryStore::new(), DeskConfig::default());
    assert!(!desk.ingest((*m).clone(), now).unwrap().duplicate);
    assert!(desk.ingest(*m, now).unwrap().duplicate);
}

#[test]
fn an_sms_and_a_whatsapp_message_from_one_number_reach_one_customer() {
    let tenant = TenantId::new_v7();
    let now = at(1_749_416_390);
    let mut desk = Desk::new(MemoryStore::new(), DeskConfig::default());
    let sms = Inbound::new(
        tenant,
        Channel::Sms,
        Identifier::phone("+55 11 98765-4321", None).unwrap(),
        "SM0001",
        "Hi, about order 1042",
    )
    .sent_at(now - TimeDelta::minutes(5));
    let by_sms = desk.ingest(sms, now).unwrap();
    let Some(Event::Message(wa)) = whatsapp::parse(&fixture("text.json"), tenant)
        .unwrap()
        .into_iter()
        .next()
    else {
        panic!("a message")
    };
    let by_wa = desk.ingest(*wa, now).unwrap();
    assert_eq!(by_wa.customer, by_sms.customer);
}

#[test]
fn malformed_input_is_refused_with_the_reason() {
    let tenant = TenantId::new_v7();
    let e = whatsapp::parse(b"{not json", tenant).unwrap_err();
    assert!(e.to_string().contains("not the documented JSON"), "{e}");
    let big = vec![b' '; throughline::channels::MAX_WEBHOOK_BYTES + 1];
    let e = whatsapp::parse(&big, tenant).unwrap_err();
    assert!(e.to_string().contains("the maximum is"), "{e}");
    let mut text: Value = serde_json::from_slice(&fixture("text.json")).unwrap();
    text["entry"][0]["changes"][0]["value"]["messages"][0]
        .as_object_mut()
        .unwrap()
        .remove("from");
    let e = whatsapp::parse(text.to_string().as_bytes(), tenant).unwrap_err();
    assert!(e.to_string().contains("missing field `from`"), "{e}");
}

// ---- signature ----

#[test]
fn signature_matches_an_independent_computation() {
    // Computed with Python's standard library, independently of this crate:
    //   hmac.new(b"meta-app-secret", open("tests/fixtures/whatsapp/text.json", "rb").read(),
    //            hashlib.sha256).hexdigest()
    let expected = "0042e82ffedb91b8d66e0d19af95c3394308d7f5537c739822e25ea9bcffb6b4";
    let body = fixture("text.json");
    meta::verify_signature(&body, &format!("sha256={expected}"), "meta-app-secret").unwrap();
    let events = whatsapp::parse_verified(
        &body,
        &format!("sha256={expected}"),
        "meta-app-secret",
        TenantId::new_v7(),
    )
    .unwrap();
    assert_eq!(events.len(), 1);
    // A published example (HMAC-SHA256 of "test" keyed "secret", as WhatsApp SDK docs
    // list it), checked the same way with Python's hmac module.
    meta::verify_signature(
        b"test",
        "sha256=0329a06b62cd16b33eb6792be8c60b158d89a2ee3a876fce9a881ebb488c0914",
        "secret",
    )
    .unwrap();
}

#[test]
fn tampered_copies_fail() {
    let good = "sha256=0042e82ffedb91b8d66e0d19af95c3394308d7f5537c739822e25ea9bcffb6b4";
    let body = fixture("text.json");
    let mut changed = body.clone();
    let i = changed.iter().position(|b| *b == b'1').unwrap();
    changed[i] = b'2';
    let e = meta::verify_signature(&changed, good, "meta-app-secret").unwrap_err();
    assert!(e.to_string().contains("does not match"), "{e}");
    let e = whatsapp::parse_verified(&changed, good, "meta-app-secret", TenantId::new_v7())
        .unwrap_err();
    assert!(e.to_string().contains("does not match"), "{e}");
    let e = meta::verify_signature(&body, good, "another-secret").unwrap_err();
    assert!(e.to_string().contains("does not match"), "{e}");
    let e = meta::verify_signature(&body, &good["sha256=".len()..], "meta-app-secret").unwrap_err();
    assert!(
        e.to_string().contains("does not start with \"sha256=\""),
        "{e}"
    );
    let e = meta::verify_signature(&body, &good[..good.len() - 1], "meta-app-secret").unwrap_err();
    assert!(e.to_string().contains("expected 64 hex digits"), "{e}");
    let e = meta::verify_signature(&body, "", "meta-app-secret").unwrap_err();
    assert!(e.to_string().contains("X-Hub-Signature-256"), "{e}");
}

// ---- handshake ----

#[test]
fn handshake_answers_only_a_subscribe_with_the_right_token() {
    let q = |mode: &str, token: &str| {
        vec![
            ("hub.mode".to_string(), mode.to_string()),
            ("hub.verify_token".to_string(), token.to_string()),
            ("hub.challenge".to_string(), "1158201444".to_string()),
        ]
    };
    assert_eq!(
        meta::handshake(&q("subscribe", "my-verify-token"), "my-verify-token").unwrap(),
        "1158201444"
    );
    let e = meta::handshake(&q("subscribe", "guess"), "my-verify-token").unwrap_err();
    assert!(e.to_string().contains("hub.verify_token"), "{e}");
    let e = meta::handshake(&q("unsubscribe", "my-verify-token"), "my-verify-token").unwrap_err();
    assert!(e.to_string().contains("is not \"subscribe\""), "{e}");
    let mut missing = q("subscribe", "my-verify-token");
    missing.pop();
    let e = meta::handshake(&missing, "my-verify-token").unwrap_err();
    assert!(e.to_string().contains("hub.challenge: missing"), "{e}");
}

// ---- outbound and the 24-hour window ----

fn reply(body: &str, wrote: Option<DateTime<Utc>>) -> Outbound {
    Outbound {
        tenant: TenantId::new_v7(),
        conversation: ConversationId::new_v7(),
        message: MessageId::new_v7(),
        channel: Channel::WhatsApp,
        to: Identifier::whatsapp("5511987654321", None).unwrap(),
        body: body.into(),
        parts: vec![body.into()],
        attachments: Vec::new(),
        in_reply_to: Some("wamid.IN0001".into()),
        subject: None,
        from: Some(PHONE_NUMBER_ID.into()),
        customer_wrote_at: wrote,
    }
}

#[test]
fn inside_the_window_a_text_reply_is_built() {
    let wrote = at(1_749_416_383);
    let out = reply("Your order ships today 🚚", Some(wrote));
    let req = whatsapp::request(
        &out,
        PHONE_NUMBER_ID,
        wrote + WINDOW - TimeDelta::seconds(1),
    )
    .unwrap();
    assert_eq!(req.method, "POST");
    assert_eq!(
        req.url,
        "https://graph.facebook.com/v21.0/106540352242922/messages"
    );
    assert!(req
        .headers
        .contains(&("Content-Type".into(), "application/json".into())));
    let body: Value = serde_json::from_slice(&req.body).unwrap();
    assert_eq!(
        body,
        json!({
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": "5511987654321",
            "context": { "message_id": "wamid.IN0001" },
            "type": "text",
            "text": { "body": "Your order ships today 🚚" }
        })
    );
}

#[test]
fn outside_the_window_a_free_form_reply_needs_a_template() {
    let wrote = at(1_749_416_383);
    let out = reply("Any news?", Some(wrote));
    for now in [wrote + WINDOW, wrote + WINDOW + TimeDelta::seconds(1)] {
        let e = whatsapp::request(&out, PHONE_NUMBER_ID, now).unwrap_err();
        assert!(
            e.to_string().contains("a template message is required"),
            "{e}"
        );
        let e = whatsapp::requests(&out, PHONE_NUMBER_ID, now).unwrap_err();
        assert!(e.to_string().contains("template"), "{e}");
    }
    let never = reply("Hello", None);
    let e = whatsapp::request(&never, PHONE_NUMBER_ID, wrote).unwrap_err();
    assert!(e.to_string().contains("has not written"), "{e}");
}

#[test]
fn a_template_goes_out_any_time() {
    let t = Template::new("order_update", "pt_BR")
        .parameter("Ana")
        .parameter("1042");
    let req = whatsapp::template_request(
        &Identifier::whatsapp("5511987654321", None).unwrap(),
        PHONE_NUMBER_ID,
        &t,
    )
    .unwrap();
    let body: Value = serde_json::from_slice(&req.body).unwrap();
    assert_eq!(
        body,
        json!({
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": "5511987654321",
            "type": "template",
            "template": {
                "name": "order_update",
                "language": { "code": "pt_BR" },
                "components": [{
                    "type": "body",
                    "parameters": [
                        { "type": "text", "text": "Ana" },
                        { "type": "text", "text": "1042" }
                    ]
                }]
            }
        })
    );
}

// ---- properties ----

fn json_values() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        "\\PC{0,12}".prop_map(Value::from),
        prop_oneof![
            Just("text"),
            Just("image"),
            Just("interactive"),
            Just("location"),
            Just("button"),
            Just("reaction"),
            Just("failed"),
            Just("5511987654321"),
            Just("1749416383"),
            Just("whatsapp_business_account")
        ]
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        let keys = prop_oneof![
            Just("type".to_string()),
            Just("from".to_string()),
            Just("id".to_string()),
            Just("timestamp".to_string()),
            Just("text".to_string()),
            Just("body".to_string()),
            Just("image".to_string()),
            Just("interactive".to_string()),
            Just("location".to_string()),
            Just("latitude".to_string()),
            Just("status".to_string()),
            Just("errors".to_string()),
            Just("context".to_string()),
            Just("button_reply".to_string()),
            Just("title".to_string()),
            "[a-z_]{1,8}",
        ];
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::btree_map(keys, inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Every JSON pointer in `v`, parents before children.
fn pointers(v: &Value, here: String, out: &mut Vec<String>) {
    out.push(here.clone());
    match v {
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                pointers(item, format!("{here}/{i}"), out);
            }
        }
        Value::Object(map) => {
            for (k, item) in map {
                pointers(item, format!("{here}/{k}"), out);
            }
        }
        _ => {}
    }
}

const FIXTURES: [&str; 12] = [
    "text.json",
    "image_caption.json",
    "document.json",
    "audio.json",
    "location.json",
    "button_reply.json",
    "list_reply.json",
    "template_button.json",
    "statuses.json",
    "two_entries.json",
    "non_latin.json",
    "unsupported.json",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn no_panic_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = whatsapp::parse(&bytes, TenantId::new_v7());
        let _ = whatsapp::parse_verified(&bytes, "sha256=00", "s", TenantId::new_v7());
    }

    #[test]
    fn no_panic_on_arbitrary_json(v in json_values(), message in json_values(), status in json_values()) {
        let _ = whatsapp::parse(v.to_string().as_bytes(), TenantId::new_v7());
        let shaped = json!({
            "object": "whatsapp_business_account",
            "entry": [{ "changes": [{ "value": {
                "metadata": { "phone_number_id": "1" },
                "contacts": [{ "wa_id": "5511987654321", "profile": { "name": "x" } }],
                "messages": [message],
                "statuses": [status]
            }}]}]
        });
        let _ = whatsapp::parse(shaped.to_string().as_bytes(), TenantId::new_v7());
    }


    #[test]
    fn no_panic_when_any_field_of_a_fixture_is_replaced(
        which in 0..FIXTURES.len(),
        pick in any::<prop::sample::Index>(),
        replacement in json_values(),
    ) {
        let mut v: Value = serde_json::from_slice(&fixture(FIXTURES[which])).unwrap();
        let mut all = Vec::new();
        pointers(&v, String::new(), &mut all);
        let at = &all[pick.index(all.len())];
        if let Some(slot) = v.pointer_mut(at) {
            *slot = replacement;
        }
        let _ = whatsapp::parse(v.to_string().as_bytes(), TenantId::new_v7());
    }

    #[test]
    fn a_signed_body_verifies_and_fails_after_any_flipped_byte(
        body in proptest::collection::vec(any::<u8>(), 1..512),
        secret in "[ -~]{1,40}",
        pick in any::<prop::sample::Index>(),
        flip in 1u8..=255,
    ) {
        let header = format!("sha256={}", hex_hmac(&body, &secret));
        prop_assert!(meta::verify_signature(&body, &header, &secret).is_ok());
        let mut tampered = body.clone();
        let i = pick.index(tampered.len());
        tampered[i] ^= flip;
        prop_assert!(meta::verify_signature(&tampered, &header, &secret).is_err());
    }
}

#[test]
fn through_the_desk_a_reply_is_a_request_inside_the_window_and_an_error_outside() {
    let tenant = TenantId::new_v7();
    let Some(Event::Message(m)) = whatsapp::parse(&fixture("text.json"), tenant)
        .unwrap()
        .into_iter()
        .next()
    else {
        panic!("a message")
    };
    let wrote = m.sent_at.unwrap();
    // The inbox the message came in on; the host sends the reply from it.
    let inbox = m.to.clone().unwrap();
    let mut desk = Desk::new(MemoryStore::new(), DeskConfig::default());
    let got = desk.ingest(*m, wrote).unwrap();
    let agent = throughline::AgentId::new_v7();
    let send = |desk: &mut Desk<MemoryStore>, now| {
        let effects = desk
            .reply((tenant, got.conversation), agent, "It ships today", now)
            .unwrap();
        match effects.into_iter().next() {
            Some(throughline::Effect::Send(out)) => out,
            other => panic!("no Send effect: {other:?}"),
        }
    };
    let soon = wrote + TimeDelta::hours(2);
    let out = send(&mut desk, soon);
    assert_eq!(inbox, PHONE_NUMBER_ID);
    let req = whatsapp::request(&out, &inbox, soon).unwrap();
    let body: Value = serde_json::from_slice(&req.body).unwrap();
    assert_eq!(body["to"], "5511987654321");
    assert_eq!(body["text"]["body"], "It ships today");
    assert_eq!(
        body["context"]["message_id"],
        "wamid.HBgNNTUxMTk4NzY1NDMyMRUCABIYFDNBMDFBQjAwMDAwMDAwMDAwMDAxAA=="
    );
    let late = wrote + TimeDelta::hours(25);
    let out = send(&mut desk, late);
    let e = whatsapp::request(&out, &inbox, late).unwrap_err();
    assert!(
        e.to_string().contains("a template message is required"),
        "{e}"
    );
}
