//! Property tests: ingestion is idempotent and never loses or misattributes a message.

use std::collections::HashMap;

use chrono::{DateTime, TimeDelta, Utc};
use proptest::prelude::*;
use throughline::store::MemoryStore;
use throughline::{Channel, Desk, DeskConfig, Identifier, Inbound, Status, TenantId};

#[derive(Debug, Clone)]
enum Step {
    Message {
        tenant: u8,
        person: u8,
        channel: u8,
        ext: u16,
        minutes: u16,
    },
    Status {
        tenant: u8,
        person: u8,
        status: u8,
    },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (0..2u8, 0..6u8, 0..4u8, 0..40u16, 0..3000u16).prop_map(|(tenant, person, channel, ext, minutes)| Step::Message { tenant, person, channel, ext, minutes }),
        1 => (0..2u8, 0..6u8, 0..5u8).prop_map(|(tenant, person, status)| Step::Status { tenant, person, status }),
    ]
}

fn tenant(n: u8) -> TenantId {
    format!("01900000-0000-7000-8000-0000000000{n:02}")
        .parse()
        .unwrap()
}

fn sender(person: u8, channel: u8) -> (Channel, Identifier) {
    match channel {
        0 => (
            Channel::Email,
            Identifier::email(&format!("p{person}@example.com")).unwrap(),
        ),
        1 => (
            Channel::WebChat,
            Identifier::email(&format!("P{person}@EXAMPLE.com")).unwrap(),
        ),
        2 => (
            Channel::Sms,
            Identifier::phone(&format!("+3161234560{person}"), None).unwrap(),
        ),
        _ => (
            Channel::WhatsApp,
            Identifier::whatsapp(&format!("3161234560{person}"), None).unwrap(),
        ),
    }
}

type Key = (u8, Channel, String);
type Stored = (
    throughline::MessageId,
    throughline::ConversationId,
    throughline::CustomerId,
    String,
);

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn ingest_is_idempotent_and_loses_nothing(steps in proptest::collection::vec(step(), 1..80)) {
        let mut desk = Desk::new(MemoryStore::new(), DeskConfig::default());
        let t0 = DateTime::<Utc>::from_timestamp(1_767_261_600, 0).unwrap();
        let mut now = t0;
        // (tenant, channel, ext) -> (message id, conversation, customer, body)
        let mut stored: HashMap<Key, Stored> = HashMap::new();
        let mut last_conv: HashMap<(u8, u8), throughline::ConversationId> = HashMap::new();
        let statuses = [Status::Open, Status::Pending, Status::OnHold, Status::Solved, Status::Closed];
        for s in &steps {
            now += TimeDelta::minutes(1);
            match s {
                Step::Message { tenant: tn, person, channel, ext, minutes } => {
                    let (ch, ident) = sender(*person, *channel);
                    let ext = format!("x{ext}");
                    let body = format!("from {person} on {ch}: {ext}");
                    let at = now + TimeDelta::minutes(*minutes as i64);
                    now = at;
                    let key = (*tn, ch.clone(), ext.clone());
                    let result = desk.ingest(Inbound::new(tenant(*tn), ch.clone(), ident.clone(), ext.clone(), body.clone()), at);
                    if let Some((_, _, _, first_body)) = stored.get(&key) {
                        if !first_body.starts_with(&format!("from {person} ")) {
                            // Another sender reusing a provider id is refused.
                            prop_assert!(result.is_err());
                            continue;
                        }
                    }
                    let got = result.unwrap();
                    if let Some((mid, conv, cust, first_body)) = stored.get(&key) {
                        prop_assert!(got.duplicate);
                        prop_assert_eq!(got.message.id, *mid);
                        prop_assert_eq!(got.conversation, *conv);
                        prop_assert_eq!(got.customer, *cust);
                        prop_assert_eq!(&got.message.body, first_body);
                    } else {
                        prop_assert!(!got.duplicate);
                        stored.insert(key, (got.message.id, got.conversation, got.customer, body));
                    }
                    // The conversation belongs to the customer the sender resolves to.
                    let conv = desk.conversation((tenant(*tn), got.conversation)).unwrap();
                    prop_assert_eq!(conv.customer, got.customer);
                    prop_assert_eq!(desk.resolve(tenant(*tn), &ident).unwrap(), Some(got.customer));
                    last_conv.insert((*tn, *person), got.conversation);
                }
                Step::Status { tenant: tn, person, status } => {
                    if let Some(conv) = last_conv.get(&(*tn, *person)) {
                        let _ = desk.set_status((tenant(*tn), *conv), statuses[*status as usize], now);
                    }
                }
            }
        }
        // No message lost, none in another tenant's or customer's conversation.
        for ((tn, ch, ext), (mid, conv, cust, body)) in &stored {
            let tl = desk.timeline(tenant(*tn), *cust).unwrap();
            let m = tl.iter().find(|m| m.id == *mid);
            prop_assert!(m.is_some(), "message {} missing from its customer's timeline", ext);
            let m = m.unwrap();
            prop_assert_eq!(&m.body, body);
            prop_assert_eq!(&m.channel, ch);
            prop_assert_eq!(m.conversation, *conv);
            prop_assert_eq!(m.tenant, tenant(*tn));
            let other = tenant(1 - *tn);
            prop_assert!(desk.conversation((other, *conv)).is_err());
        }
        // Every person is one customer per tenant, whatever channel they used: e-mail
        // addresses differing only in case of the domain are one identifier; phone and
        // WhatsApp are separate identifiers until linked.
        for tn in 0..2u8 {
            let total: usize = stored.keys().filter(|(t, _, _)| *t == tn).count();
            let mut customers: Vec<_> = stored.iter().filter(|((t, _, _), _)| *t == tn).map(|(_, v)| v.2).collect();
            customers.sort();
            customers.dedup();
            let mut seen = 0;
            for c in customers {
                seen += desk.timeline(tenant(tn), c).unwrap().iter().filter(|m| m.direction == throughline::Direction::Inbound).count();
            }
            prop_assert_eq!(seen, total);
        }
    }
}
