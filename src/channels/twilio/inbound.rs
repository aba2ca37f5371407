//! The incoming-message webhook: one form POST per message (SMS, MMS or Twilio's WhatsApp).

use chrono::{DateTime, Utc};

use super::keyword::{keyword, Keyword};
use super::{form, media, status};
use crate::channel::Channel;
use crate::channels::{check_size, ConsentChange, Event};
use crate::error::{Error, Result};
use crate::id::TenantId;
use crate::identity::{Identifier, IdentifierKind};
use crate::message::Inbound;

/// The most media one inbound message may carry (Twilio delivers at most 10).
pub const MAX_MEDIA: usize = 10;

/// Reads a Twilio messaging webhook: an incoming message, or a status callback on one of
/// ours.
///
/// * An incoming message (`MessageSid`, `From`, `To`, `Body`, `NumMedia`, `MediaUrlN`,
///   `MediaContentTypeN`, `ProfileName`) becomes an [`Event::Message`] on
///   [`Channel::Sms`] from [`Identifier::phone`], or, when `From` is
///   `whatsapp:+…`, on [`Channel::WhatsApp`] from [`Identifier::whatsapp`] with the
///   same number added as a phone identifier (one customer across SMS and WhatsApp). Its
///   `external_id` is the `MessageSid` (a redelivery deduplicates), [`Inbound::to`] the
///   `To` address as Twilio sent it, media become attachment references (the host
///   downloads them with its credentials), and `sent_at` is `now`: Twilio's webhook
///   carries no send time.
/// * On SMS, a body that is an opt-out or opt-in keyword (see [`super::keyword`]), or a
///   webhook whose `OptOutType` (Twilio's Advanced Opt-Out) says `STOP` or `START`, adds
///   an [`Event::Consent`] before the message. Twilio blocks further SMS to a number that
///   sent STOP; WhatsApp has no such rule, so a WhatsApp "cancel" stays a message.
/// * A status callback (`MessageStatus`) becomes an [`Event::Receipt`]; see
///   [`super::status`] for the mapping.
///
/// Verify the signature first ([`super::verify_body`]).
///
/// # Errors
///
/// [`Error::Invalid`] for an empty or oversized body, a malformed form or bad UTF-8, a
/// missing `MessageSid`, `From` or `To`, a `From` that is not an E.164 number, a bad
/// `NumMedia` or media URL, a message with neither text nor media, or an unknown status.
///
/// ```
/// use throughline::channels::{twilio, Event};
/// use throughline::{Channel, TenantId};
/// let body = b"MessageSid=SM0123456789abcdef0123456789abcdef&From=%2B14155552671\
///              &To=%2B14155550100&Body=Where+is+my+order%3F&NumMedia=0";
/// let events = twilio::parse(body, TenantId::new_v7(), chrono::DateTime::UNIX_EPOCH)?;
/// let Event::Message(msg) = &events[0] else { panic!("a message") };
/// assert_eq!((msg.channel.clone(), msg.from.value()), (Channel::Sms, "+14155552671"));
/// assert_eq!(msg.body, "Where is my order?");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn parse(body: &[u8], tenant: TenantId, now: DateTime<Utc>) -> Result<Vec<Event>> {
    check_size("twilio webhook", body)?;
    let params = form::decode(body)?;
    parse_params(&params, tenant, now)
}

/// [`super::verify`] and [`parse`] in one step, decoding the body once: the events of a
/// webhook whose `X-Twilio-Signature` (`signature`) matches `url` and `body` under
/// `auth_token`, else nothing.
///
/// # Errors
///
/// As [`super::verify`] and [`parse`]; an unsigned or wrongly signed body is refused
/// before it is read.
///
/// ```
/// use throughline::channels::twilio;
/// use throughline::TenantId;
/// let url = "https://support.example.com/twilio/sms";
/// let body = b"MessageSid=SM0123456789abcdef0123456789abcdef&From=%2B14155552671\
///              &To=%2B14155550100&Body=Hi";
/// let forged = twilio::parse_signed(url, body, "", "token", TenantId::new_v7(),
///                                   chrono::DateTime::UNIX_EPOCH);
/// assert!(forged.is_err());
/// ```
pub fn parse_signed(
    url: &str,
    body: &[u8],
    signature: &str,
    auth_token: &str,
    tenant: TenantId,
    now: DateTime<Utc>,
) -> Result<Vec<Event>> {
    check_size("twilio webhook", body)?;
    let params = form::decode(body)?;
    super::verify(url, &params, signature, auth_token)?;
    parse_params(&params, tenant, now)
}

/// As [`parse`], over parameters already decoded (for a host that decoded the form to
/// verify it).
///
/// # Errors
///
/// As [`parse`].
pub fn parse_params(
    params: &[(String, String)],
    tenant: TenantId,
    now: DateTime<Utc>,
) -> Result<Vec<Event>> {
    let status = form::get(params, "MessageStatus").or_else(|| form::get(params, "SmsStatus"));
    match status {
        Some(s) if !status::is_inbound_status(s) => {
            Ok(vec![Event::Receipt(status::receipt(params, s)?)])
        }
        _ => message(params, tenant, now),
    }
}

/// The message's id: `MessageSid`, or the older `SmsMessageSid` / `SmsSid`.
pub(crate) fn message_sid(params: &[(String, String)]) -> Result<&str> {
    let sid = ["MessageSid", "SmsMessageSid", "SmsSid"]
        .into_iter()
        .find_map(|n| {
            form::get(params, n)
                .map(str::trim)
                .filter(|v| !v.is_empty())
        })
        .ok_or_else(|| Error::invalid("MessageSid", "missing parameter"))?;
    if sid.len() > 64 || !sid.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(Error::invalid(
            "MessageSid",
            format!("{} is not a Twilio message SID", form::quote(sid)),
        ));
    }
    Ok(sid)
}

/// The sender: its channel and identifiers.
struct Sender {
    channel: Channel,
    id: Identifier,
    phone: Option<Identifier>,
}

fn sender(raw: &str) -> Result<Sender> {
    let (whatsapp, number) = match raw.get(..9) {
        Some(p) if p.eq_ignore_ascii_case("whatsapp:") => (true, raw.get(9..).unwrap_or("")),
        _ => (false, raw),
    };
    let number = number.trim();
    let bad = |why: String| Error::invalid("From", format!("{} {why}", form::quote(raw)));
    if !number.starts_with('+') {
        return Err(bad("is not an E.164 number (+ and digits)".into()));
    }
    let phone =
        Identifier::phone(number, None).map_err(|e| bad(format!("is not a valid number: {e}")))?;
    if whatsapp {
        // The same normalised E.164 number `Identifier::whatsapp` would give: no second
        // parse (the phone-number rules are most of a webhook's cost).
        let id = Identifier::from_normalised(IdentifierKind::WhatsApp, phone.value())
            .map_err(|e| bad(e.to_string()))?;
        Ok(Sender {
            channel: Channel::WhatsApp,
            id,
            phone: Some(phone),
        })
    } else {
        Ok(Sender {
            channel: Channel::Sms,
            id: phone,
            phone: None,
        })
    }
}

fn message(
    params: &[(String, String)],
    tenant: TenantId,
    now: DateTime<Utc>,
) -> Result<Vec<Event>> {
    let sid = message_sid(params)?;
    let from = sender(form::require(params, "From")?)?;
    let to = form::require(params, "To")?;
    let attachments = media::attachments(params)?;
    let mut body = form::get(params, "Body").unwrap_or("").to_string();
    if body.trim().is_empty() {
        if let Some(place) = media::location(params)? {
            body = place;
        }
    }
    if body.trim().is_empty() && attachments.is_empty() {
        return Err(Error::invalid(
            "Body",
            "empty message: no text and no media",
        ));
    }
    let mut msg = Inbound::new(tenant, from.channel.clone(), from.id.clone(), sid, body)
        .to(to)
        .sent_at(now);
    if let Some(phone) = from.phone {
        msg = msg.also(phone);
    }
    for a in attachments {
        msg = msg.attachment(a);
    }
    if let Some(name) = form::get(params, "ProfileName") {
        let name = crate::text::sanitize_name(name);
        if !name.is_empty() {
            msg = msg.display_name(crate::text::truncate(&name, 128));
        }
    }
    // The opt-out first: a host that hands the events on in order records it before the
    // message can trigger anything that sends.
    let mut events: Vec<Event> = consent(params, &msg, &from.channel)
        .map(Event::Consent)
        .into_iter()
        .collect();
    events.push(Event::Message(Box::new(msg)));
    Ok(events)
}

/// An SMS opt-out or opt-in: Twilio's `OptOutType` when it sent one, else the keyword.
fn consent(params: &[(String, String)], msg: &Inbound, channel: &Channel) -> Option<ConsentChange> {
    if *channel != Channel::Sms {
        return None;
    }
    let kind = match form::get(params, "OptOutType").map(str::trim) {
        Some(t) if t.eq_ignore_ascii_case("STOP") => Some(Keyword::OptOut),
        Some(t) if t.eq_ignore_ascii_case("START") => Some(Keyword::OptIn),
        Some(t) if t.eq_ignore_ascii_case("HELP") => Some(Keyword::Help),
        _ => keyword(&msg.body),
    };
    let opted_out = match kind? {
        Keyword::OptOut => true,
        Keyword::OptIn => false,
        Keyword::Help => return None,
    };
    Some(ConsentChange {
        identifier: msg.from.clone(),
        opted_out,
        keyword: crate::text::truncate(msg.body.trim(), 64),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_whatsapp_sender_is_what_a_full_parse_gives() {
        for raw in ["whatsapp:+14155552671", "WhatsApp: +5511987654321"] {
            let s = sender(raw).unwrap();
            let number = raw.split(':').nth(1).unwrap();
            assert_eq!(s.id, Identifier::whatsapp(number, None).unwrap());
            assert_eq!(s.phone, Some(Identifier::phone(number, None).unwrap()));
        }
    }
}
