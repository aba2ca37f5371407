//! The webhook body: `entry[].changes[].value` with `messages[]`, `contacts[]` and
//! `statuses[]`, read into [`Event`]s.

use serde::Deserialize;

use crate::channel::Channel;
use crate::channels::meta::{parse_json, quote, unix_seconds};
use crate::channels::{Event, Receipt, ReceiptStatus};
use crate::error::{Error, Result};
use crate::id::TenantId;
use crate::identity::Identifier;
use crate::message::{Attachment, Inbound};

/// The prefix of [`Attachment::url`] for media the host still has to download: the rest
/// is the WhatsApp media id (`GET /{media-id}` gives a short-lived download URL).
pub const MEDIA_URL_PREFIX: &str = "whatsapp-media:";

const FIELD: &str = "whatsapp webhook";

#[derive(Deserialize)]
struct Payload {
    object: String,
    #[serde(default)]
    entry: Vec<Entry>,
}

#[derive(Deserialize)]
struct Entry {
    #[serde(default)]
    changes: Vec<Change>,
}

#[derive(Deserialize)]
struct Change {
    #[serde(default)]
    value: Option<Value>,
}

#[derive(Deserialize)]
struct Value {
    #[serde(default)]
    metadata: Option<Metadata>,
    #[serde(default)]
    contacts: Vec<Contact>,
    #[serde(default)]
    messages: Vec<Msg>,
    #[serde(default)]
    statuses: Vec<Status>,
}

#[derive(Deserialize)]
struct Metadata {
    #[serde(default)]
    phone_number_id: Option<String>,
}

#[derive(Deserialize)]
struct Contact {
    #[serde(default)]
    wa_id: Option<String>,
    #[serde(default)]
    profile: Option<Profile>,
}

#[derive(Deserialize)]
struct Profile {
    #[serde(default)]
    name: Option<String>,
}

/// A number Meta may send as a string (documented) or as a bare number.
#[derive(Deserialize)]
#[serde(untagged)]
enum Stamp {
    Text(String),
    Number(i64),
}

impl Stamp {
    fn text(&self) -> String {
        match self {
            Stamp::Text(s) => s.clone(),
            Stamp::Number(n) => n.to_string(),
        }
    }
}

#[derive(Deserialize)]
struct Msg {
    from: String,
    id: String,
    timestamp: Stamp,
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    context: Option<Context>,
    #[serde(default)]
    text: Option<Text>,
    #[serde(default)]
    image: Option<Media>,
    #[serde(default)]
    video: Option<Media>,
    #[serde(default)]
    audio: Option<Media>,
    #[serde(default)]
    document: Option<Media>,
    #[serde(default)]
    sticker: Option<Media>,
    #[serde(default)]
    location: Option<Location>,
    #[serde(default)]
    interactive: Option<Interactive>,
    #[serde(default)]
    button: Option<Button>,
    #[serde(default)]
    reaction: Option<Reaction>,
    #[serde(default)]
    errors: Vec<ApiError>,
}

#[derive(Deserialize)]
struct Context {
    #[serde(default)]
    id: Option<String>,
}

#[derive(Deserialize)]
struct Text {
    #[serde(default)]
    body: String,
}

#[derive(Deserialize)]
struct Media {
    id: String,
    #[serde(default)]
    mime_type: Option<String>,
    #[serde(default)]
    caption: Option<String>,
    #[serde(default)]
    filename: Option<String>,
}

#[derive(Deserialize)]
struct Location {
    latitude: f64,
    longitude: f64,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    address: Option<String>,
}

#[derive(Deserialize)]
struct Interactive {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    button_reply: Option<Reply>,
    #[serde(default)]
    list_reply: Option<Reply>,
}

#[derive(Deserialize)]
struct Reply {
    title: String,
}

#[derive(Deserialize)]
struct Button {
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    payload: Option<String>,
}

#[derive(Deserialize)]
struct Reaction {
    #[serde(default)]
    message_id: Option<String>,
    #[serde(default)]
    emoji: Option<String>,
}

#[derive(Deserialize)]
struct ApiError {
    #[serde(default)]
    code: Option<i64>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    error_data: Option<ErrorData>,
}

#[derive(Deserialize)]
struct ErrorData {
    #[serde(default)]
    details: Option<String>,
}

#[derive(Deserialize)]
struct Status {
    id: String,
    status: String,
    #[serde(default)]
    timestamp: Option<Stamp>,
    #[serde(default)]
    errors: Vec<ApiError>,
}

/// Reads a WhatsApp Cloud API webhook body into events. See [`super`] for the mapping.
pub(super) fn parse(raw_body: &[u8], tenant: TenantId) -> Result<Vec<Event>> {
    let payload: Payload = parse_json(FIELD, raw_body)?;
    if payload.object != "whatsapp_business_account" {
        return Err(Error::invalid(
            FIELD,
            format!(
                "object is {}, expected \"whatsapp_business_account\"",
                quote(&payload.object)
            ),
        ));
    }
    let mut events = Vec::new();
    for value in payload
        .entry
        .into_iter()
        .flat_map(|e| e.changes)
        .filter_map(|c| c.value)
    {
        let to = value.metadata.and_then(|m| m.phone_number_id);
        for msg in value.messages {
            let inbound = message(msg, &value.contacts, to.as_deref(), tenant)?;
            events.push(Event::Message(Box::new(inbound)));
        }
        for status in value.statuses {
            if let Some(receipt) = receipt(status)? {
                events.push(Event::Receipt(receipt));
            }
        }
    }
    Ok(events)
}

/// One `messages[]` item as an [`Inbound`].
fn message(msg: Msg, contacts: &[Contact], to: Option<&str>, tenant: TenantId) -> Result<Inbound> {
    if msg.id.trim().is_empty() {
        return Err(Error::invalid(FIELD, "a message has an empty id"));
    }
    let from = Identifier::whatsapp(&msg.from, None).map_err(|e| {
        Error::invalid(
            FIELD,
            format!(
                "message {}: sender {}: {e}",
                quote(&msg.id),
                quote(&msg.from)
            ),
        )
    })?;
    let phone = Identifier::phone(from.value(), None)?;
    let sent_at = unix_seconds("whatsapp timestamp", &msg.timestamp.text())?;
    let name = contacts
        .iter()
        .find(|c| c.wa_id.as_deref() == Some(msg.from.as_str()))
        .and_then(|c| c.profile.as_ref())
        .and_then(|p| p.name.clone())
        .filter(|n| !n.trim().is_empty());
    let thread = msg.context.as_ref().and_then(|c| c.id.clone());
    let (body, attachment, hint) = content(&msg)?;
    let mut inbound = Inbound::new(tenant, Channel::WhatsApp, from, msg.id, body)
        .also(phone)
        .sent_at(sent_at);
    if let Some(a) = attachment {
        inbound = inbound.attachment(a);
    }
    if let Some(name) = name {
        inbound = inbound.display_name(name);
    }
    if let Some(to) = to {
        inbound = inbound.to(to);
    }
    if let Some(hint) = thread.or(hint) {
        inbound = inbound.thread_hint(hint);
    }
    Ok(inbound)
}

type Content = (String, Option<Attachment>, Option<String>);

/// The body, the attachment and a thread hint of reactions, by message type.
fn content(msg: &Msg) -> Result<Content> {
    let missing = || {
        Error::invalid(
            FIELD,
            format!(
                "message {} of type {1} has no {1} object",
                quote(&msg.id),
                quote(&msg.kind)
            ),
        )
    };
    let media = |m: &Option<Media>| -> Result<Content> {
        let m = m.as_ref().ok_or_else(missing)?;
        let body = m.caption.clone().unwrap_or_default();
        Ok((body, Some(attachment(&msg.kind, m)), None))
    };
    match msg.kind.as_str() {
        "text" => Ok((
            msg.text.as_ref().ok_or_else(missing)?.body.clone(),
            None,
            None,
        )),
        "image" => media(&msg.image),
        "video" => media(&msg.video),
        "audio" => media(&msg.audio),
        "document" => media(&msg.document),
        "sticker" => media(&msg.sticker),
        "location" => Ok((
            location(msg.location.as_ref().ok_or_else(missing)?),
            None,
            None,
        )),
        "interactive" => Ok((
            interactive(msg.interactive.as_ref().ok_or_else(missing)?),
            None,
            None,
        )),
        "button" => {
            let b = msg.button.as_ref().ok_or_else(missing)?;
            let body = b
                .text
                .clone()
                .or_else(|| b.payload.clone())
                .unwrap_or_default();
            Ok((body, None, None))
        }
        "reaction" => {
            let r = msg.reaction.as_ref().ok_or_else(missing)?;
            let body = match r.emoji.as_deref().filter(|e| !e.is_empty()) {
                Some(emoji) => format!("Reaction: {emoji}"),
                None => "Reaction removed".to_string(),
            };
            Ok((body, None, r.message_id.clone()))
        }
        other => Ok((unsupported(other, &msg.errors), None, None)),
    }
}

/// A media object as an attachment reference for the host to download.
fn attachment(kind: &str, m: &Media) -> Attachment {
    let name = [m.filename.as_deref(), m.caption.as_deref()]
        .into_iter()
        .flatten()
        .map(str::trim)
        .find(|n| !n.is_empty())
        .map_or_else(
            || format!("{kind}-{}", m.id),
            |n| crate::text::truncate(&crate::text::sanitize_name(n), 100),
        );
    Attachment {
        name,
        content_type: m
            .mime_type
            .clone()
            .unwrap_or_else(|| "application/octet-stream".into()),
        size: 0,
        url: format!("{MEDIA_URL_PREFIX}{}", m.id),
    }
}

/// "Location: name, address (lat, long)", leaving out what was not sent.
fn location(l: &Location) -> String {
    let label: Vec<&str> = [l.name.as_deref(), l.address.as_deref()]
        .into_iter()
        .flatten()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    let at = format!("({}, {})", l.latitude, l.longitude);
    if label.is_empty() {
        format!("Location: {at}")
    } else {
        format!("Location: {} {at}", label.join(", "))
    }
}

/// The title of the chosen reply button or list row.
fn interactive(i: &Interactive) -> String {
    let reply = match i.kind.as_str() {
        "button_reply" => i.button_reply.as_ref(),
        "list_reply" => i.list_reply.as_ref(),
        _ => None,
    };
    match reply {
        Some(r) => r.title.clone(),
        None => format!(
            "[WhatsApp interactive reply of type {}, not supported]",
            quote(&i.kind)
        ),
    }
}

/// The body that stands in for a message type the adapter does not read.
fn unsupported(kind: &str, errors: &[ApiError]) -> String {
    match errors.first().and_then(|e| e.title.as_deref()) {
        Some(title) => format!("[WhatsApp {} message, not supported: {title}]", quote(kind)),
        None => format!("[WhatsApp {} message, not supported]", quote(kind)),
    }
}

/// One `statuses[]` item as a receipt; statuses other than sent, delivered, read and
/// failed (`deleted`, `warning`, ...) are skipped.
fn receipt(s: Status) -> Result<Option<Receipt>> {
    let status = match s.status.as_str() {
        "sent" => ReceiptStatus::Sent,
        "delivered" => ReceiptStatus::Delivered,
        "read" => ReceiptStatus::Read,
        "failed" => ReceiptStatus::Failed,
        _ => return Ok(None),
    };
    if s.id.trim().is_empty() {
        return Err(Error::invalid(FIELD, "a status has an empty message id"));
    }
    let at = s
        .timestamp
        .map(|t| unix_seconds("whatsapp status timestamp", &t.text()))
        .transpose()?;
    let error = (!s.errors.is_empty()).then(|| {
        s.errors
            .iter()
            .map(error_text)
            .collect::<Vec<_>>()
            .join("; ")
    });
    Ok(Some(Receipt {
        provider_id: s.id,
        message: None,
        status,
        at,
        error,
    }))
}

/// "131047 Re-engagement message: details".
fn error_text(e: &ApiError) -> String {
    let code = e.code.map(|c| c.to_string());
    let details = e.error_data.as_ref().and_then(|d| d.details.as_deref());
    let head: Vec<&str> = [code.as_deref(), e.title.as_deref()]
        .into_iter()
        .flatten()
        .collect();
    match (head.is_empty(), details) {
        (true, None) => "unknown error".to_string(),
        (true, Some(d)) => d.to_string(),
        (false, None) => head.join(" "),
        (false, Some(d)) => format!("{}: {d}", head.join(" ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(json: &str) -> Result<Vec<Event>> {
        parse(json.as_bytes(), TenantId::new_v7())
    }

    fn wrap(message: &str) -> String {
        format!(
            r#"{{"object":"whatsapp_business_account","entry":[{{"id":"1","changes":[{{"field":"messages","value":{{"messaging_product":"whatsapp","metadata":{{"display_phone_number":"15550783881","phone_number_id":"106540352242922"}},"contacts":[{{"profile":{{"name":"Sheena"}},"wa_id":"16505551234"}}],"messages":[{message}]}}}}]}}]}}"#
        )
    }

    fn inbound(events: Vec<Event>) -> Inbound {
        match events.into_iter().next() {
            Some(Event::Message(m)) => *m,
            other => panic!("expected a message, got {other:?}"),
        }
    }

    #[test]
    fn location_renders_what_was_sent() {
        let m = inbound(one(&wrap(r#"{"from":"16505551234","id":"wamid.L","timestamp":"1","type":"location","location":{"latitude":38.7,"longitude":-9.1}}"#)).unwrap());
        assert_eq!(m.body, "Location: (38.7, -9.1)");
    }

    #[test]
    fn a_reaction_points_at_the_message_it_reacts_to() {
        let m = inbound(one(&wrap(r#"{"from":"16505551234","id":"wamid.R","timestamp":"1","type":"reaction","reaction":{"message_id":"wamid.OURS","emoji":"👍"}}"#)).unwrap());
        assert_eq!(
            (m.body.as_str(), m.thread_hint.as_deref()),
            ("Reaction: 👍", Some("wamid.OURS"))
        );
    }

    #[test]
    fn unknown_types_are_kept_as_a_note() {
        let m = inbound(one(&wrap(r#"{"from":"16505551234","id":"wamid.U","timestamp":"1","type":"unsupported","errors":[{"code":131051,"title":"Message type unknown"}]}"#)).unwrap());
        assert_eq!(
            m.body,
            "[WhatsApp \"unsupported\" message, not supported: Message type unknown]"
        );
        let m = inbound(one(&wrap(r#"{"from":"16505551234","id":"wamid.C","timestamp":"1","type":"contacts","contacts":[]}"#)).unwrap());
        assert_eq!(m.body, "[WhatsApp \"contacts\" message, not supported]");
    }

    #[test]
    fn a_type_without_its_object_is_an_error() {
        let e = one(&wrap(
            r#"{"from":"16505551234","id":"wamid.X","timestamp":"1","type":"image"}"#,
        ))
        .unwrap_err();
        assert!(
            e.to_string()
                .contains("of type \"image\" has no \"image\" object"),
            "{e}"
        );
    }

    #[test]
    fn a_bad_sender_or_time_is_an_error() {
        let e = one(&wrap(
            r#"{"from":"abc","id":"wamid.X","timestamp":"1","type":"text","text":{"body":"x"}}"#,
        ))
        .unwrap_err();
        assert!(e.to_string().contains("sender \"abc\""), "{e}");
        let e = one(&wrap(r#"{"from":"16505551234","id":"wamid.X","timestamp":"later","type":"text","text":{"body":"x"}}"#)).unwrap_err();
        assert!(
            e.to_string().contains("\"later\" is not a Unix time"),
            "{e}"
        );
    }

    #[test]
    fn other_objects_are_refused() {
        let e = one(r#"{"object":"page","entry":[]}"#).unwrap_err();
        assert!(
            e.to_string()
                .contains("expected \"whatsapp_business_account\""),
            "{e}"
        );
        assert!(one("[]").is_err());
        assert!(one("").unwrap_err().to_string().contains("empty body"));
    }

    #[test]
    fn error_texts() {
        let e = ApiError {
            code: Some(131047),
            title: Some("Re-engagement message".into()),
            error_data: Some(ErrorData {
                details: Some("24 hours passed".into()),
            }),
        };
        assert_eq!(
            error_text(&e),
            "131047 Re-engagement message: 24 hours passed"
        );
        let e = ApiError {
            code: None,
            title: None,
            error_data: None,
        };
        assert_eq!(error_text(&e), "unknown error");
    }
}
