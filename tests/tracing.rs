//! The `tracing` feature: each desk operation opens a `desk.<operation>` span and the
//! desk's store calls `store.*` spans, with the tenant and the ids as fields, and no
//! personal data (no message body, identifier value or name) in any span's name or field.
#![cfg(feature = "tracing")]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, TimeDelta, Utc};
use throughline::routing::{Agent, RoutingConfig};
use throughline::store::MemoryStore;
use throughline::{AgentId, Channel, Desk, DeskConfig, Identifier, Inbound, Status, TenantId};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata};

fn t(mins: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_772_442_000, 0).unwrap() + TimeDelta::minutes(mins)
}

fn tenant() -> TenantId {
    "01900000-0000-7000-8000-00000000c0c0".parse().unwrap()
}

const EMAIL: &str = "Juniper.Quartermaine@example.org";
const PHONE: &str = "+31612345678";
const INBOUND: &str = "Hello, my banking password is Tangerine-Owl-Seventeen and my \
                       address is Juniper.Quartermaine@example.org; please refund the parcel";
const REPLY: &str = "Sorry Juniper, we have started your refund via courier Zeppelin";
const FOLLOW_UP: &str = "Also my loyalty number is Periwinkle 4417 and I live on Brandywine Lane";
const AGENT_NAMES: [&str; 2] = ["Wilhelmina", "Octavian"];

/// One span or event as recorded: its name and every field as `(name, value)`.
#[derive(Debug, Clone, Default)]
struct Recorded {
    name: String,
    fields: Vec<(String, String)>,
}

/// A subscriber that writes down every span, every later `record` and every event.
#[derive(Debug, Default)]
struct Collector {
    next: AtomicU64,
    spans: Mutex<Vec<Recorded>>,
}

struct Fields<'a>(&'a mut Vec<(String, String)>);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0
            .push((field.name().to_string(), format!("{value:?}")));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.push((field.name().to_string(), value.to_string()));
    }
}

/// The collector as the thread's subscriber, the test keeping its own reference.
struct Handle(Arc<Collector>);

impl tracing::Subscriber for Handle {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, span: &Attributes<'_>) -> Id {
        let mut r = Recorded {
            name: span.metadata().name().to_string(),
            fields: Vec::new(),
        };
        span.record(&mut Fields(&mut r.fields));
        self.0.spans.lock().unwrap().push(r);
        Id::from_u64(self.0.next.fetch_add(1, Ordering::Relaxed) + 1)
    }
    fn record(&self, span: &Id, values: &Record<'_>) {
        let mut spans = self.0.spans.lock().unwrap();
        let i = usize::try_from(span.into_u64() - 1).unwrap();
        values.record(&mut Fields(&mut spans[i].fields));
    }
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut r = Recorded {
            name: event.metadata().name().to_string(),
            fields: Vec::new(),
        };
        event.record(&mut Fields(&mut r.fields));
        self.0.spans.lock().unwrap().push(r);
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

/// Runs the story under the collector: an e-mail in (routed to the one agent), a reply, a
/// status change, an assignment to a second agent, a phone number linked, a second
/// e-mail prepared ahead, reads (the messages, the customer by e-mail address, the
/// customer's view), a tick.
fn story() -> (Vec<Recorded>, String) {
    let collector = Arc::new(Collector::default());
    let conversation = tracing::subscriber::with_default(Handle(collector.clone()), || {
        let config = DeskConfig::default()
            .id_seed(36)
            .routing(RoutingConfig::default());
        let mut desk = Desk::new(MemoryStore::new(), config);
        let first = AgentId::from_uuid(uuid::Uuid::from_u128(7));
        let second = AgentId::from_uuid(uuid::Uuid::from_u128(8));
        let agent = |id, name| Agent::new(id, tenant(), name).channel(Channel::Email);
        desk.upsert_agent(agent(first, AGENT_NAMES[0]), t(0))
            .unwrap();
        let from = Identifier::email(EMAIL).unwrap();
        let inbound = Inbound::new(tenant(), Channel::Email, from, "<m1@example.org>", INBOUND);
        let got = desk.ingest(inbound, t(1)).unwrap();
        let c = (tenant(), got.conversation);
        desk.reply(c, first, REPLY, t(2)).unwrap();
        desk.set_status(c, Status::Pending, t(3)).unwrap();
        desk.upsert_agent(agent(second, AGENT_NAMES[1]), t(4))
            .unwrap();
        desk.assign(c, second, first, t(5)).unwrap();
        let phone = Identifier::phone(PHONE, None).unwrap();
        desk.link_identifier(tenant(), got.customer, phone, true, t(6))
            .unwrap();
        let from = Identifier::email(EMAIL).unwrap();
        let inbound = Inbound::new(
            tenant(),
            Channel::Email,
            from,
            "<m2@example.org>",
            FOLLOW_UP,
        );
        let prepared = desk.preparer().prepare(inbound).unwrap();
        let again = desk.ingest_prepared(prepared, t(7)).unwrap();
        assert_eq!(again.conversation, got.conversation);
        assert!(desk.messages(c).unwrap().len() >= 3);
        let email = Identifier::email(EMAIL).unwrap();
        assert_eq!(desk.resolve(tenant(), &email).unwrap(), Some(got.customer));
        desk.customer_view(tenant(), got.customer, t(8)).unwrap();
        desk.tick(t(600)).unwrap();
        got.conversation.to_string()
    });
    let spans = collector.spans.lock().unwrap().clone();
    (spans, conversation)
}

fn named<'a>(spans: &'a [Recorded], name: &'a str) -> impl Iterator<Item = &'a Recorded> {
    spans.iter().filter(move |r| r.name == name)
}

fn field<'a>(r: &'a Recorded, name: &str) -> Option<&'a str> {
    r.fields
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

#[test]
fn every_operation_opens_a_span_with_the_tenant_and_the_ids() {
    let (spans, conversation) = story();
    let tenant = tenant().to_string();
    for name in [
        "desk.upsert_agent",
        "desk.ingest",
        "desk.ingest_prepared",
        "desk.reply",
        "desk.set_status",
        "desk.assign",
        "desk.link_identifier",
        "desk.messages",
        "desk.resolve",
        "desk.customer_view",
        "store.read_ahead",
        "store.apply",
    ] {
        let mut found = named(&spans, name).peekable();
        assert!(found.peek().is_some(), "no span {name}: {spans:#?}");
        for r in found {
            assert_eq!(field(r, "tenant"), Some(tenant.as_str()), "{r:?}");
        }
    }
    let names = [
        "desk.ingest",
        "desk.ingest_prepared",
        "desk.reply",
        "desk.set_status",
        "desk.assign",
    ];
    for name in names {
        assert!(
            named(&spans, name).all(|r| field(r, "conversation") == Some(conversation.as_str())),
            "{name} names the conversation: {spans:#?}"
        );
    }
    for r in named(&spans, "desk.ingest").chain(named(&spans, "desk.ingest_prepared")) {
        assert!(
            field(r, "customer").is_some() && field(r, "message").is_some(),
            "{r:?}"
        );
    }
    assert!(named(&spans, "store.apply").all(|r| field(r, "ops").is_some()));
    assert_eq!(
        named(&spans, "desk.tick").count(),
        1,
        "the tick has its span"
    );
}

/// The personal data of the story: the identifiers' values and the agents' names, every
/// word of the message bodies (words made only of hexadecimal digits are left out: they
/// could be part of an id by chance).
fn personal_data() -> Vec<String> {
    let mut data = vec![
        EMAIL.to_lowercase(),
        "quartermaine".to_string(),
        PHONE.to_string(),
        "612345678".to_string(),
    ];
    data.extend(AGENT_NAMES.iter().map(|n| n.to_lowercase()));
    for word in INBOUND
        .split(|c: char| !c.is_alphanumeric())
        .chain(REPLY.split(|c: char| !c.is_alphanumeric()))
        .chain(FOLLOW_UP.split(|c: char| !c.is_alphanumeric()))
    {
        let word = word.to_lowercase();
        if word.len() >= 3 && !word.chars().all(|c| c.is_ascii_hexdigit()) {
            data.push(word);
        }
    }
    data
}

#[test]
fn no_span_carries_personal_data() {
    let (spans, _) = story();
    assert!(spans.len() > 10, "the story was traced: {spans:#?}");
    let data = personal_data();
    assert!(data.iter().any(|w| w == "tangerine") && data.iter().any(|w| w == "periwinkle"));
    for r in &spans {
        let texts = std::iter::once(&r.name).chain(r.fields.iter().map(|(_, v)| v));
        for text in texts {
            let text = text.to_lowercase();
            for word in &data {
                assert!(
                    !text.contains(word.as_str()),
                    "{word:?} leaked into span {:?}: {text:?}",
                    r.name
                );
            }
        }
    }
}
