//! The webhook body: `entry[].changes[].value` with `messages[]`, `contacts[]` and
//! `statuses[]`, read into [`Event`]s.

use crate::channel::Channel;
use crate::channels::meta::{parse_json, quote, unix_seconds};
use crate::channels::{Event, Receipt, ReceiptStatus};
use crate::error::{Error, Result};
use crate::id::TenantId;
use crate::identity::{Identifier, IdentifierKind};
use crate::message::{Attachment, Inbound};

use super::payload::{ApiError, Contact, Interactive, Location, Media, Msg, Payload, Status};

/// The prefix of [`Attachment::url`] for media the host still has to download: the rest
/// is the WhatsApp media id (`GET /{media-id}` gives a short-lived download URL).
pub const MEDIA_URL_PREFIX: &str = "whatsapp-media:";

const FIELD: &str = "whatsapp webhook";

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
    let (from, phone) = sender(&msg.from).map_err(|e| {
        Error::invalid(
            FIELD,
            format!(
                "message {}: sender {}: {e}",
                quote(&msg.id),
                quote(&msg.from)
            ),
        )
    })?;
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

/// The sender's WhatsApp identifier and the same number as a phone identifier.
///
/// A `wa_id` is the international number in digits. One the phone-number rules know is
/// normalised like any phone number (a Brazilian mobile without its ninth digit gets it,
/// so it matches the SMS sender). One they do not know yet (a new number range) is kept
/// as `+digits` when it has 8 to 15 digits: Meta vouches for it, and refusing it would
/// refuse the whole signed webhook.
fn sender(wa_id: &str) -> Result<(Identifier, Identifier)> {
    match Identifier::whatsapp(wa_id, None) {
        Ok(from) => {
            // `from` is already the normalised E.164 number, as `Identifier::phone` would
            // give: no second parse (the phone-number rules are most of a webhook's cost).
            let phone = Identifier::from_normalised(IdentifierKind::Phone, from.value())?;
            Ok((from, phone))
        }
        Err(e) => {
            let digits = wa_id.trim();
            if !(8..=15).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(e);
            }
            let e164 = format!("+{digits}");
            Ok((
                Identifier::from_normalised(IdentifierKind::WhatsApp, e164.clone())?,
                Identifier::from_normalised(IdentifierKind::Phone, e164)?,
            ))
        }
    }
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
    use crate::channels::whatsapp::payload::ErrorData;

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
    fn brazilian_ids_without_the_ninth_digit_match_the_sms_number() {
        let m = inbound(one(&wrap(r#"{"from":"551187654321","id":"wamid.B","timestamp":"1","type":"text","text":{"body":"oi"}}"#)).unwrap());
        assert_eq!(m.from.value(), "+5511987654321");
        assert_eq!(
            m.also,
            [Identifier::phone("+55 11 98765-4321", None).unwrap()]
        );
    }

    #[test]
    fn the_phone_identifier_is_what_a_full_parse_gives() {
        for wa_id in ["16505551234", "551187654321", "31612345678", "919876543210"] {
            let (from, phone) = sender(wa_id).unwrap();
            assert_eq!(
                phone,
                Identifier::phone(&format!("+{wa_id}"), None).unwrap()
            );
            assert_eq!(from.value(), phone.value());
        }
    }

    #[test]
    fn unknown_number_ranges_are_kept_as_digits() {
        let (from, phone) = sender("999123456789").unwrap();
        assert_eq!(
            (from.value(), phone.value()),
            ("+999123456789", "+999123456789")
        );
        assert_eq!(phone.kind(), &IdentifierKind::Phone);
        assert!(sender("12345").is_err());
        assert!(sender("+9991234567").is_err());
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
