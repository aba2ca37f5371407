//! Outbound: the Messages API request for an [`Outbound`].

use super::{form, media};
use crate::channel::Channel;
use crate::channels::Request;
use crate::error::{Error, Result};
use crate::identity::IdentifierKind;
use crate::message::Outbound;

/// The Messages API's base URL; the request goes to
/// `{API_BASE}/Accounts/{AccountSid}/Messages.json`.
pub const API_BASE: &str = "https://api.twilio.com/2010-04-01";

/// The longest `Body` the Messages API accepts, in characters.
pub const MAX_BODY_CHARS: usize = 1_600;

/// The most `MediaUrl`s one message may carry.
pub const MAX_MEDIA_URLS: usize = 10;

/// The Messages API requests that send `out`: one form POST per entry of
/// [`Outbound::parts`] (the text as [`crate::text::render`] split it; the body itself when
/// there are no parts), each with `To`, `From`, `Body` and `StatusCallback`, the
/// attachments as `MediaUrl`s on the first only.
///
/// `From` is [`Outbound::from`] (the number the customer wrote to) when set, else
/// `default_from`; a Messaging Service SID (`MG…`) there becomes `MessagingServiceSid`.
/// On WhatsApp both addresses get Twilio's `whatsapp:` prefix. The host adds its HTTP
/// Basic credentials (account SID or API key) and sends the requests in order.
///
/// # Errors
///
/// [`Error::Invalid`] for a malformed account SID (`AC` and 32 hex digits), a channel
/// other than SMS or WhatsApp, a recipient that is not a phone or WhatsApp identifier, no
/// sender, a part over [`MAX_BODY_CHARS`], more than [`MAX_MEDIA_URLS`] attachments, an
/// attachment or callback URL that is not http(s), or nothing to send.
///
/// ```
/// use throughline::channels::twilio;
/// use throughline::{Channel, ConversationId, Identifier, MessageId, Outbound, TenantId};
/// let out = Outbound {
///     tenant: TenantId::new_v7(), conversation: ConversationId::new_v7(),
///     message: MessageId::new_v7(), channel: Channel::Sms,
///     to: Identifier::phone("+14155552671", None)?,
///     body: "Your parcel ships today.".into(), parts: vec!["Your parcel ships today.".into()],
///     attachments: vec![], in_reply_to: None, subject: None,
///     from: Some("+14155550100".into()), customer_wrote_at: None,
/// };
/// let reqs = twilio::request(&out, "AC0123456789abcdef0123456789abcdef", "+14155550199", None)?;
/// assert_eq!(reqs.len(), 1);
/// assert_eq!(reqs[0].url,
///     "https://api.twilio.com/2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/Messages.json");
/// assert_eq!(reqs[0].body, b"To=%2B14155552671&From=%2B14155550100&Body=Your+parcel+ships+today.");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn request(
    out: &Outbound,
    account_sid: &str,
    default_from: &str,
    status_callback: Option<&str>,
) -> Result<Vec<Request>> {
    check_sid("account_sid", account_sid, "AC")?;
    let whatsapp = match out.channel {
        Channel::Sms => false,
        Channel::WhatsApp => true,
        ref other => {
            return Err(Error::invalid(
                "channel",
                format!("Twilio sends SMS and WhatsApp, not {other}"),
            ))
        }
    };
    let to = recipient(out, whatsapp)?;
    let from = sender(out, default_from, whatsapp)?;
    if let Some(cb) = status_callback {
        media::check_url("StatusCallback", cb)?;
    }
    if out.attachments.len() > MAX_MEDIA_URLS {
        return Err(Error::invalid(
            "attachments",
            format!(
                "{} attachments, Twilio takes at most {MAX_MEDIA_URLS}",
                out.attachments.len()
            ),
        ));
    }
    for a in &out.attachments {
        media::check_url("attachments", &a.url)?;
    }
    let parts: Vec<&str> = if out.parts.is_empty() {
        vec![out.body.as_str()]
    } else {
        out.parts.iter().map(String::as_str).collect()
    };
    let url = format!("{API_BASE}/Accounts/{account_sid}/Messages.json");
    parts
        .iter()
        .enumerate()
        .map(|(i, part)| {
            let media: &[_] = if i == 0 { &out.attachments } else { &[] };
            let mut body = form_urlencoded::Serializer::new(String::new());
            body.append_pair("To", &to);
            body.append_pair(from.0, &from.1);
            check_part(part, !media.is_empty())?;
            if !part.is_empty() {
                body.append_pair("Body", part);
            }
            for a in media {
                body.append_pair("MediaUrl", &a.url);
            }
            if let Some(cb) = status_callback {
                body.append_pair("StatusCallback", cb);
            }
            Ok(Request {
                method: "POST",
                url: url.clone(),
                headers: vec![(
                    "Content-Type".to_string(),
                    "application/x-www-form-urlencoded".to_string(),
                )],
                body: body.finish().into_bytes(),
            })
        })
        .collect()
}

fn check_part(part: &str, has_media: bool) -> Result<()> {
    let chars = part.chars().count();
    if chars > MAX_BODY_CHARS {
        return Err(Error::invalid(
            "body",
            format!("a part of {chars} characters; Twilio's Body takes at most {MAX_BODY_CHARS}"),
        ));
    }
    if part.trim().is_empty() && !has_media {
        return Err(Error::invalid(
            "body",
            "nothing to send: no text and no media",
        ));
    }
    Ok(())
}

/// `field` must be `prefix` and 32 hex digits (a Twilio SID).
fn check_sid(field: &'static str, sid: &str, prefix: &str) -> Result<()> {
    let ok = sid.len() == 34
        && sid.starts_with(prefix)
        && sid.bytes().skip(2).all(|b| b.is_ascii_hexdigit());
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(
            field,
            format!(
                "{} is not {prefix} followed by 32 hex digits",
                form::quote(sid)
            ),
        ))
    }
}

fn recipient(out: &Outbound, whatsapp: bool) -> Result<String> {
    match out.to.kind() {
        IdentifierKind::Phone | IdentifierKind::WhatsApp => {}
        other => {
            return Err(Error::invalid(
                "to",
                format!("Twilio sends to phone numbers, not to a {other} identifier"),
            ))
        }
    }
    let number = out.to.value();
    Ok(if whatsapp {
        format!("whatsapp:{number}")
    } else {
        number.to_string()
    })
}

/// The sender parameter: `("From", address)` or `("MessagingServiceSid", sid)`.
fn sender(out: &Outbound, default_from: &str, whatsapp: bool) -> Result<(&'static str, String)> {
    let from = out
        .from
        .as_deref()
        .map(str::trim)
        .filter(|f| !f.is_empty())
        .unwrap_or(default_from.trim());
    if from.is_empty() {
        return Err(Error::invalid(
            "from",
            "no sender: the outbound names none and default_from is empty",
        ));
    }
    if from.starts_with("MG") && check_sid("from", from, "MG").is_ok() {
        return Ok(("MessagingServiceSid", from.to_string()));
    }
    let prefixed = from
        .get(..9)
        .is_some_and(|p| p.eq_ignore_ascii_case("whatsapp:"));
    if from.len() > 64 || from.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(Error::invalid(
            "from",
            format!("{} is not a sender address", form::quote(from)),
        ));
    }
    match (whatsapp, prefixed) {
        (true, true) | (false, false) => Ok(("From", from.to_string())),
        (true, false) => Ok(("From", format!("whatsapp:{from}"))),
        (false, true) => Err(Error::invalid(
            "from",
            format!(
                "{} is a WhatsApp sender; an SMS needs a phone number",
                form::quote(from)
            ),
        )),
    }
}
