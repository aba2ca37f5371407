//! The webhook body: `object: "page"`, `entry[].messaging[]` events read into [`Event`]s.

use serde::Deserialize;

use crate::channel::Channel;
use crate::channels::meta::{parse_json, quote, unix_millis};
use crate::channels::{Event, Receipt, ReceiptStatus};
use crate::error::{Error, Result};
use crate::id::TenantId;
use crate::identity::{Identifier, IdentifierKind};
use crate::message::{Attachment, Inbound};

const FIELD: &str = "messenger webhook";

/// Times below this are taken as seconds, above as milliseconds (Messenger sends
/// milliseconds; a few documented examples show seconds). 10^11 ms is 1973, 10^11 s is
/// the year 5138.
const SECONDS_BELOW: i64 = 100_000_000_000;

#[derive(Deserialize)]
struct Payload {
    object: String,
    #[serde(default)]
    entry: Vec<Entry>,
}

#[derive(Deserialize)]
struct Entry {
    #[serde(default)]
    messaging: Vec<Messaging>,
}

#[derive(Deserialize)]
struct Messaging {
    #[serde(default)]
    sender: Option<Party>,
    #[serde(default)]
    recipient: Option<Party>,
    #[serde(default)]
    timestamp: Option<Stamp>,
    #[serde(default)]
    message: Option<Message>,
    #[serde(default)]
    postback: Option<Postback>,
    #[serde(default)]
    delivery: Option<Delivery>,
}

#[derive(Deserialize)]
struct Party {
    #[serde(default)]
    id: Option<String>,
}

/// A number sent as a number (documented) or as a string.
#[derive(Deserialize)]
#[serde(untagged)]
enum Stamp {
    Number(i64),
    Text(String),
}

#[derive(Deserialize)]
struct Message {
    #[serde(default)]
    mid: Option<String>,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    attachments: Vec<Att>,
    #[serde(default)]
    quick_reply: Option<QuickReply>,
    #[serde(default)]
    reply_to: Option<ReplyTo>,
    #[serde(default)]
    is_echo: bool,
}

#[derive(Deserialize)]
struct Att {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    payload: Option<AttPayload>,
    #[serde(default)]
    title: Option<String>,
}

#[derive(Deserialize)]
struct AttPayload {
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    coordinates: Option<Coordinates>,
}

#[derive(Deserialize)]
struct Coordinates {
    lat: f64,
    long: f64,
}

#[derive(Deserialize)]
struct QuickReply {
    #[serde(default)]
    payload: Option<String>,
}

#[derive(Deserialize)]
struct ReplyTo {
    #[serde(default)]
    mid: Option<String>,
}

#[derive(Deserialize)]
struct Postback {
    #[serde(default)]
    mid: Option<String>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    payload: Option<String>,
}

#[derive(Deserialize)]
struct Delivery {
    #[serde(default)]
    mids: Vec<String>,
    #[serde(default)]
    watermark: Option<Stamp>,
}

/// Reads a Messenger webhook body into events. See [`super`] for the mapping.
pub(super) fn parse(raw_body: &[u8], tenant: TenantId) -> Result<Vec<Event>> {
    let payload: Payload = parse_json(FIELD, raw_body)?;
    if payload.object != "page" {
        return Err(Error::invalid(
            FIELD,
            format!("object is {}, expected \"page\"", quote(&payload.object)),
        ));
    }
    let mut events = Vec::new();
    for m in payload.entry.into_iter().flat_map(|e| e.messaging) {
        if let Some(message) = &m.message {
            if !message.is_echo {
                events.push(Event::Message(Box::new(inbound(&m, message, tenant)?)));
            }
        } else if let Some(postback) = &m.postback {
            events.push(Event::Message(Box::new(postback_message(
                &m, postback, tenant,
            )?)));
        } else if let Some(delivery) = &m.delivery {
            let at = delivery.watermark.as_ref().map(time).transpose()?;
            events.extend(
                delivery
                    .mids
                    .iter()
                    .filter(|mid| !mid.is_empty())
                    .map(|mid| {
                        Event::Receipt(Receipt {
                            provider_id: mid.clone(),
                            message: None,
                            status: ReceiptStatus::Delivered,
                            at,
                            error: None,
                        })
                    }),
            );
        }
    }
    Ok(events)
}

/// A time in milliseconds (or seconds, see [`SECONDS_BELOW`]).
fn time(stamp: &Stamp) -> Result<chrono::DateTime<chrono::Utc>> {
    let n = match stamp {
        Stamp::Number(n) => *n,
        Stamp::Text(s) => s.trim().parse::<i64>().map_err(|_| {
            Error::invalid(
                "messenger timestamp",
                format!("{} is not a Unix time", quote(s)),
            )
        })?,
    };
    let ms = if n.abs() < SECONDS_BELOW {
        n.saturating_mul(1000)
    } else {
        n
    };
    unix_millis("messenger timestamp", ms)
}

/// The sender's page-scoped id as an identifier, the common fields set.
fn base(m: &Messaging, id: &str, body: String, tenant: TenantId) -> Result<Inbound> {
    let psid = m
        .sender
        .as_ref()
        .and_then(|p| p.id.as_deref())
        .ok_or_else(|| Error::invalid(FIELD, format!("event {} has no sender.id", quote(id))))?;
    let from = Identifier::handle(IdentifierKind::Messenger, psid)
        .map_err(|e| Error::invalid(FIELD, format!("sender.id {}: {e}", quote(psid))))?;
    let mut inbound = Inbound::new(tenant, Channel::Messenger, from, id, body);
    if let Some(at) = m.timestamp.as_ref() {
        inbound = inbound.sent_at(time(at)?);
    }
    if let Some(page) = m.recipient.as_ref().and_then(|p| p.id.as_deref()) {
        inbound = inbound.to(page);
    }
    Ok(inbound)
}

/// A `message` event (not an echo).
fn inbound(m: &Messaging, message: &Message, tenant: TenantId) -> Result<Inbound> {
    let mid = message
        .mid
        .as_deref()
        .filter(|mid| !mid.trim().is_empty())
        .ok_or_else(|| Error::invalid(FIELD, "a message has no mid"))?;
    let mut lines: Vec<String> = message
        .text
        .iter()
        .filter(|t| !t.is_empty())
        .cloned()
        .collect();
    let mut attachments = Vec::new();
    for (i, a) in message.attachments.iter().enumerate() {
        match a
            .payload
            .as_ref()
            .and_then(|p| p.url.as_deref())
            .filter(|u| !u.is_empty())
        {
            Some(url) => attachments.push(attachment(i, &a.kind, url)),
            None => lines.push(describe(a)),
        }
    }
    if lines.is_empty() && attachments.is_empty() {
        let payload = message.quick_reply.as_ref().and_then(|q| q.payload.clone());
        lines.push(payload.unwrap_or_else(|| "[Messenger message without text]".into()));
    }
    let mut inbound = base(m, mid, lines.join("\n"), tenant)?;
    for a in attachments {
        inbound = inbound.attachment(a);
    }
    if let Some(hint) = message.reply_to.as_ref().and_then(|r| r.mid.clone()) {
        inbound = inbound.thread_hint(hint);
    }
    Ok(inbound)
}

/// An attachment with a URL: named after the URL's file name, typed by its kind only
/// (Messenger gives no MIME type).
fn attachment(i: usize, kind: &str, url: &str) -> Attachment {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    let file = path.rsplit('/').next().unwrap_or("").trim();
    let name = if file.is_empty() || !file.contains('.') {
        format!("{kind}-{}", i + 1)
    } else {
        crate::text::truncate(&crate::text::sanitize_name(file), 100)
    };
    let content_type = match kind {
        "image" | "sticker" => "image/*",
        "video" | "reel" | "ig_reel" => "video/*",
        "audio" => "audio/*",
        _ => "application/octet-stream",
    };
    Attachment {
        name,
        content_type: content_type.into(),
        size: 0,
        url: url.into(),
    }
}

/// The text that stands in for an attachment without a URL (a location, a fallback
/// without payload, a template).
fn describe(a: &Att) -> String {
    if let Some(c) = a.payload.as_ref().and_then(|p| p.coordinates.as_ref()) {
        return format!("Location: ({}, {})", c.lat, c.long);
    }
    match a.title.as_deref().filter(|t| !t.trim().is_empty()) {
        Some(title) => format!("[Messenger {} attachment: {title}]", quote(&a.kind)),
        None => format!("[Messenger {} attachment]", quote(&a.kind)),
    }
}

/// A `postback` (a button, Get Started or menu item was tapped) as a message whose body
/// is the button's title.
fn postback_message(m: &Messaging, p: &Postback, tenant: TenantId) -> Result<Inbound> {
    let psid = m
        .sender
        .as_ref()
        .and_then(|s| s.id.clone())
        .unwrap_or_default();
    let id = match p.mid.as_deref().filter(|mid| !mid.trim().is_empty()) {
        Some(mid) => mid.to_string(),
        None => {
            let at = m
                .timestamp
                .as_ref()
                .map(|t| time(t).map(|t| t.timestamp_millis()))
                .transpose()?;
            let at = at
                .ok_or_else(|| Error::invalid(FIELD, "a postback has neither mid nor timestamp"))?;
            format!("postback:{psid}:{at}")
        }
    };
    let body = [p.title.as_deref(), p.payload.as_deref()]
        .into_iter()
        .flatten()
        .find(|s| !s.trim().is_empty())
        .unwrap_or("[Messenger postback]")
        .to_string();
    base(m, &id, body, tenant)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(messaging: &str) -> Result<Vec<Event>> {
        let body = format!(
            r#"{{"object":"page","entry":[{{"id":"1","time":1,"messaging":[{messaging}]}}]}}"#
        );
        parse(body.as_bytes(), TenantId::new_v7())
    }

    fn first(e: Vec<Event>) -> Inbound {
        match e.into_iter().next() {
            Some(Event::Message(m)) => *m,
            other => panic!("expected a message, got {other:?}"),
        }
    }

    #[test]
    fn a_location_and_a_bare_fallback_become_text() {
        let m = first(events(r#"{"sender":{"id":"1254"},"recipient":{"id":"99"},"timestamp":1458692752478,"message":{"mid":"m_1","attachments":[{"type":"location","payload":{"coordinates":{"lat":52.37,"long":4.89}}},{"type":"fallback","payload":null}]}}"#).unwrap());
        assert_eq!(
            m.body,
            "Location: (52.37, 4.89)\n[Messenger \"fallback\" attachment]"
        );
        assert!(m.attachments.is_empty());
    }

    #[test]
    fn postbacks_without_mid_get_a_stable_id() {
        let a = first(events(r#"{"sender":{"id":"1254"},"recipient":{"id":"99"},"timestamp":1527459824,"postback":{"title":"Get Started","payload":"START"}}"#).unwrap());
        assert_eq!(a.external_id, "postback:1254:1527459824000");
        assert_eq!(a.body, "Get Started");
        assert_eq!(
            a.sent_at.unwrap().timestamp(),
            1_527_459_824,
            "seconds are read as seconds"
        );
    }

    #[test]
    fn reads_and_other_events_yield_nothing() {
        let e = events(r#"{"sender":{"id":"1254"},"recipient":{"id":"99"},"timestamp":1458668856463,"read":{"watermark":1458668856253}},{"sender":{"id":"1254"},"recipient":{"id":"99"},"timestamp":1,"reaction":{"mid":"m_1","action":"react","emoji":"x"}}"#).unwrap();
        assert!(e.is_empty());
    }

    #[test]
    fn malformed_events_are_errors() {
        let e = events(r#"{"sender":{"id":"1254"},"timestamp":1,"message":{"text":"no mid"}}"#)
            .unwrap_err();
        assert!(e.to_string().contains("no mid"), "{e}");
        let e = events(
            r#"{"recipient":{"id":"99"},"timestamp":1,"message":{"mid":"m_2","text":"hi"}}"#,
        )
        .unwrap_err();
        assert!(
            e.to_string().contains("event \"m_2\" has no sender.id"),
            "{e}"
        );
        let e =
            events(r#"{"sender":{"id":"a b"},"timestamp":1,"message":{"mid":"m_3","text":"hi"}}"#)
                .unwrap_err();
        assert!(e.to_string().contains("sender.id \"a b\""), "{e}");
        let e = parse(br#"{"object":"instagram","entry":[]}"#, TenantId::new_v7()).unwrap_err();
        assert!(e.to_string().contains("expected \"page\""), "{e}");
        let e = events(
            r#"{"sender":{"id":"1"},"timestamp":"soon","message":{"mid":"m_4","text":"hi"}}"#,
        )
        .unwrap_err();
        assert!(e.to_string().contains("\"soon\" is not a Unix time"), "{e}");
    }

    #[test]
    fn attachment_names_come_from_the_url() {
        let a = attachment(
            0,
            "image",
            "https://scontent.example/v/t1/123_456.jpg?_nc_cat=1&oh=x",
        );
        assert_eq!(
            (a.name.as_str(), a.content_type.as_str()),
            ("123_456.jpg", "image/*")
        );
        let a = attachment(1, "file", "https://cdn.example/download");
        assert_eq!(a.name, "file-2");
    }
}
