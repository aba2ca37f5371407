#![cfg(feature = "messenger")]
//! The Messenger adapter against fixtures written from Meta's documented webhook events,
//! the Send API window rules with message tags, and property tests.

use chrono::{DateTime, TimeDelta, Utc};
use hmac::{Hmac, KeyInit, Mac};
use proptest::prelude::*;
use serde_json::{json, Value};
use sha2::Sha256;
use throughline::channels::messenger::{self, MessageTag, HUMAN_AGENT_WINDOW};
use throughline::channels::meta::{self, WINDOW};
use throughline::channels::{Event, ReceiptStatus};
use throughline::identity::IdentifierKind;
use throughline::message::{Attachment, Outbound};
use throughline::{Channel, ConversationId, Identifier, Inbound, MessageId, TenantId};

const PAGE: &str = "1067280970047460";
const PSID: &str = "6754345423411298";

fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/tests/fixtures/messenger/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn events(name: &str) -> Vec<Event> {
    messenger::parse(&fixture(name), TenantId::new_v7()).unwrap()
}

fn only(name: &str) -> Inbound {
    let mut all = events(name);
    assert_eq!(all.len(), 1, "{name}: {all:?}");
    match all.remove(0) {
        Event::Message(m) => *m,
        other => panic!("{name}: {other:?}"),
    }
}

fn at_ms(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap()
}

#[test]
fn text_message_names_sender_page_time_and_the_message_it_answers() {
    let m = only("text.json");
    assert_eq!(m.channel, Channel::Messenger);
    assert_eq!(
        m.from,
        Identifier::handle(IdentifierKind::Messenger, PSID).unwrap()
    );
    assert!(m.also.is_empty());
    assert_eq!(m.to.as_deref(), Some(PAGE));
    assert_eq!(
        m.external_id,
        "m_AG5Hz2Uq7tuwNEhXfYYKj8mJEM_QPpz5jdCK48PnKAjSdjfipqxqMvK8ma6AC8fplwlqLP_5cgXIbu7I3rBN0P"
    );
    assert_eq!(m.body, "Hallo! Mijn pakket is nog niet bezorgd 📦");
    assert_eq!(m.sent_at, Some(at_ms(1_749_416_383_001)));
    assert_eq!(m.thread_hint.as_deref(), Some("m_OURMESSAGE0001"));
}

#[test]
fn attachments_are_references_by_url() {
    let m = only("attachment.json");
    assert_eq!(m.body, "");
    assert_eq!(
        m.attachments,
        [
            Attachment {
                name: "448102_damaged_box.jpg".into(),
                content_type: "image/*".into(),
                size: 0,
                url: "https://scontent.xx.fbcdn.net/v/t1.15752-9/448102_damaged_box.jpg?_nc_cat=1&oh=00_AbC".into(),
            },
            Attachment {
                name: "invoice_1042.pdf".into(),
                content_type: "application/octet-stream".into(),
                size: 0,
                url: "https://cdn.fbsbx.com/v/t59.2708-21/invoice_1042.pdf?_nc_cat=2&oh=00_DeF".into(),
            },
        ]
    );
}

#[test]
fn a_quick_reply_is_its_text() {
    let m = only("quick_reply.json");
    assert_eq!(
        (m.external_id.as_str(), m.body.as_str()),
        ("m_QUICK0001", "Refund")
    );
}

#[test]
fn a_postback_is_a_message_with_the_button_title() {
    let m = only("postback.json");
    assert_eq!(m.external_id, "m_POSTBACK0001");
    assert_eq!(m.body, "Talk to an agent");
    assert_eq!(m.to.as_deref(), Some(PAGE));
}

#[test]
fn our_own_echo_is_skipped() {
    assert_eq!(events("echo.json"), []);
}

#[test]
fn deliveries_become_receipts_and_reads_are_skipped() {
    let got: Vec<(String, ReceiptStatus, Option<DateTime<Utc>>)> = events("delivery.json")
        .into_iter()
        .map(|e| match e {
            Event::Receipt(r) => (r.provider_id, r.status, r.at),
            other => panic!("{other:?}"),
        })
        .collect();
    let watermark = Some(at_ms(1_749_416_799_000));
    assert_eq!(
        got,
        [
            ("m_OUT0001".to_string(), ReceiptStatus::Delivered, watermark),
            ("m_OUT0002".to_string(), ReceiptStatus::Delivered, watermark),
        ]
    );
}

#[test]
fn a_redelivery_is_the_same_message() {
    let tenant = TenantId::new_v7();
    assert_eq!(
        messenger::parse(&fixture("text.json"), tenant).unwrap(),
        messenger::parse(&fixture("text.json"), tenant).unwrap()
    );
}

#[test]
fn signed_webhooks_verify_and_tampered_ones_do_not() {
    // Computed with Python's standard library, independently of this crate:
    //   hmac.new(b"meta-app-secret", open("tests/fixtures/messenger/text.json", "rb").read(),
    //            hashlib.sha256).hexdigest()
    let header = "sha256=05edac800457eac530f1443218c5e1a3dc412a0347f3dc8e4d0d26832d6b70fd";
    let body = fixture("text.json");
    let ok = messenger::parse_verified(&body, header, "meta-app-secret", TenantId::new_v7());
    assert_eq!(ok.unwrap().len(), 1);
    let mut changed = body.clone();
    let i = changed.iter().position(|b| *b == b'!').unwrap();
    changed[i] = b'?';
    let e = messenger::parse_verified(&changed, header, "meta-app-secret", TenantId::new_v7())
        .unwrap_err();
    assert!(e.to_string().contains("does not match"), "{e}");
    let e =
        messenger::parse_verified(&body, header, "other-secret", TenantId::new_v7()).unwrap_err();
    assert!(e.to_string().contains("does not match"), "{e}");
    let sha1 = "sha1=2fd4e1c67a2d28fced849ee1bb76e7391b93eb12";
    let e =
        messenger::parse_verified(&body, sha1, "meta-app-secret", TenantId::new_v7()).unwrap_err();
    assert!(
        e.to_string().contains("does not start with \"sha256=\""),
        "{e}"
    );
}

// ---- outbound ----

fn reply(body: &str, wrote: Option<DateTime<Utc>>) -> Outbound {
    Outbound {
        tenant: TenantId::new_v7(),
        conversation: ConversationId::new_v7(),
        message: MessageId::new_v7(),
        channel: Channel::Messenger,
        to: Identifier::handle(IdentifierKind::Messenger, PSID).unwrap(),
        body: body.into(),
        parts: vec![body.into()],
        attachments: Vec::new(),
        in_reply_to: None,
        subject: None,
        from: Some(PAGE.into()),
        customer_wrote_at: wrote,
    }
}

#[test]
fn inside_the_window_a_response_is_built() {
    let wrote = at_ms(1_749_416_383_001);
    let req = messenger::request(
        &reply("We are on it 👍", Some(wrote)),
        wrote + TimeDelta::hours(23),
    )
    .unwrap();
    assert_eq!(
        (req.method, req.url.as_str()),
        ("POST", "https://graph.facebook.com/v21.0/me/messages")
    );
    let body: Value = serde_json::from_slice(&req.body).unwrap();
    assert_eq!(
        body,
        json!({
            "recipient": { "id": PSID },
            "messaging_type": "RESPONSE",
            "message": { "text": "We are on it 👍" }
        })
    );
}

#[test]
fn outside_the_window_only_a_tag_sends() {
    let wrote = at_ms(1_749_416_383_001);
    let out = reply("Your refund was issued", Some(wrote));
    let now = wrote + WINDOW + TimeDelta::seconds(1);
    let e = messenger::request(&out, now).unwrap_err();
    assert!(e.to_string().contains("message tag"), "{e}");
    let req = messenger::tagged_request(&out, MessageTag::HumanAgent, now).unwrap();
    let body: Value = serde_json::from_slice(&req.body).unwrap();
    assert_eq!(
        body,
        json!({
            "recipient": { "id": PSID },
            "messaging_type": "MESSAGE_TAG",
            "tag": "HUMAN_AGENT",
            "message": { "text": "Your refund was issued" }
        })
    );
    let week = wrote + HUMAN_AGENT_WINDOW;
    assert!(messenger::tagged_request(&out, MessageTag::HumanAgent, week).is_err());
    for tag in [
        MessageTag::AccountUpdate,
        MessageTag::ConfirmedEventUpdate,
        MessageTag::PostPurchaseUpdate,
    ] {
        let req = messenger::tagged_request(&out, tag, week).unwrap();
        let body: Value = serde_json::from_slice(&req.body).unwrap();
        assert_eq!(body["tag"], tag.as_str());
    }
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
        prop_oneof![Just("page"), Just("image"), Just("fallback"), Just(PSID)]
            .prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        let keys = prop_oneof![
            Just("sender".to_string()),
            Just("recipient".to_string()),
            Just("id".to_string()),
            Just("timestamp".to_string()),
            Just("message".to_string()),
            Just("mid".to_string()),
            Just("text".to_string()),
            Just("attachments".to_string()),
            Just("payload".to_string()),
            Just("url".to_string()),
            Just("postback".to_string()),
            Just("delivery".to_string()),
            Just("mids".to_string()),
            Just("is_echo".to_string()),
            "[a-z_]{1,8}",
        ];
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::btree_map(keys, inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

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

const FIXTURES: [&str; 6] = [
    "text.json",
    "attachment.json",
    "quick_reply.json",
    "postback.json",
    "echo.json",
    "delivery.json",
];

fn hex_hmac(body: &[u8], secret: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn no_panic_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = messenger::parse(&bytes, TenantId::new_v7());
    }

    #[test]
    fn no_panic_on_arbitrary_json(v in json_values(), event in json_values()) {
        let _ = messenger::parse(v.to_string().as_bytes(), TenantId::new_v7());
        let shaped = json!({ "object": "page", "entry": [{ "id": PAGE, "messaging": [event] }] });
        let _ = messenger::parse(shaped.to_string().as_bytes(), TenantId::new_v7());
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
        let _ = messenger::parse(v.to_string().as_bytes(), TenantId::new_v7());
    }

    #[test]
    fn signed_random_bodies_parse_verified_only_untampered(
        body in proptest::collection::vec(any::<u8>(), 1..512),
        pick in any::<prop::sample::Index>(),
        flip in 1u8..=255,
    ) {
        let header = format!("sha256={}", hex_hmac(&body, "k"));
        prop_assert!(meta::verify_signature(&body, &header, "k").is_ok());
        let mut tampered = body.clone();
        let i = pick.index(tampered.len());
        tampered[i] ^= flip;
        let e = messenger::parse_verified(&tampered, &header, "k", TenantId::new_v7()).unwrap_err();
        prop_assert!(e.to_string().contains("does not match"), "{}", e);
    }
}

#[test]
fn through_the_desk_a_reply_needs_a_tag_after_a_day() {
    use throughline::store::MemoryStore;
    use throughline::{AgentId, Desk, DeskConfig, Effect};
    let tenant = TenantId::new_v7();
    let Some(Event::Message(m)) = messenger::parse(&fixture("text.json"), tenant)
        .unwrap()
        .into_iter()
        .next()
    else {
        panic!("a message")
    };
    let wrote = m.sent_at.unwrap();
    let mut desk = Desk::new(MemoryStore::new(), DeskConfig::default());
    let got = desk.ingest(*m, wrote).unwrap();
    let late = wrote + TimeDelta::days(2);
    let effects = desk
        .reply(
            (tenant, got.conversation),
            AgentId::new_v7(),
            "Sorry for the wait",
            late,
        )
        .unwrap();
    let Some(Effect::Send(out)) = effects.into_iter().next() else {
        panic!("no Send effect")
    };
    assert!(messenger::request(&out, late).is_err());
    let req = messenger::tagged_request(&out, MessageTag::HumanAgent, late).unwrap();
    let body: Value = serde_json::from_slice(&req.body).unwrap();
    assert_eq!(body["recipient"]["id"], PSID);
    assert_eq!(body["message"]["text"], "Sorry for the wait");
}
