//! Send API requests: `RESPONSE` inside the 24-hour window, `MESSAGE_TAG` outside it.

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{json, Value};

use crate::channels::meta::{self, graph_post, quote};
use crate::channels::Request;
use crate::error::{Error, Result};
use crate::identity::IdentifierKind;
use crate::message::{Attachment, Outbound};

/// The most characters Messenger takes in one text message.
pub const MAX_TEXT_CHARS: usize = 2_000;

/// How long after the customer's latest message the `HUMAN_AGENT` tag allows a reply.
pub const HUMAN_AGENT_WINDOW: TimeDelta = TimeDelta::days(7);

/// A message tag: Meta's permission to send outside the 24-hour window for one purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MessageTag {
    /// A human agent answering the customer's request, up to 7 days after their latest
    /// message ([`HUMAN_AGENT_WINDOW`]).
    HumanAgent,
    /// A non-recurring change to the customer's account (not promotional).
    AccountUpdate,
    /// A reminder or update of an event the customer registered for.
    ConfirmedEventUpdate,
    /// An update about a purchase the customer made.
    PostPurchaseUpdate,
}

impl MessageTag {
    /// The tag as the Send API spells it (`HUMAN_AGENT`).
    pub fn as_str(&self) -> &'static str {
        match self {
            MessageTag::HumanAgent => "HUMAN_AGENT",
            MessageTag::AccountUpdate => "ACCOUNT_UPDATE",
            MessageTag::ConfirmedEventUpdate => "CONFIRMED_EVENT_UPDATE",
            MessageTag::PostPurchaseUpdate => "POST_PURCHASE_UPDATE",
        }
    }

    /// How long after the customer's latest message the tag may be used; `None` for no
    /// limit.
    pub fn window(&self) -> Option<TimeDelta> {
        match self {
            MessageTag::HumanAgent => Some(HUMAN_AGENT_WINDOW),
            _ => None,
        }
    }
}

/// How a message is allowed out: as a response or under a tag.
#[derive(Clone, Copy)]
enum Kind {
    Response,
    Tagged(MessageTag),
}

/// See [`super::request`] and [`super::tagged_request`].
pub(super) fn request(
    out: &Outbound,
    tag: Option<MessageTag>,
    now: DateTime<Utc>,
) -> Result<Request> {
    let psid = recipient(out)?;
    let kind = allowed(out, tag, now)?;
    if out.body.trim().is_empty() {
        return Err(Error::invalid("body", "empty text; nothing to send"));
    }
    let chars = out.body.chars().count();
    if chars > MAX_TEXT_CHARS {
        return Err(Error::invalid(
            "body",
            format!(
                "{chars} characters, Messenger takes {MAX_TEXT_CHARS} in one message: send the parts with `requests`"
            ),
        ));
    }
    Ok(envelope(psid, kind, json!({ "text": out.body })))
}

/// See [`super::requests`].
pub(super) fn requests(
    out: &Outbound,
    tag: Option<MessageTag>,
    now: DateTime<Utc>,
) -> Result<Vec<Request>> {
    let psid = recipient(out)?;
    let kind = allowed(out, tag, now)?;
    let texts = meta::text_parts(out, MAX_TEXT_CHARS, "Messenger")?;
    let mut all = Vec::with_capacity(texts.len() + out.attachments.len());
    for t in &texts {
        all.push(envelope(psid, kind, json!({ "text": t })));
    }
    for a in &out.attachments {
        all.push(envelope(psid, kind, attachment(a)?));
    }
    Ok(all)
}

/// The page-scoped id to send to.
fn recipient(out: &Outbound) -> Result<&str> {
    match out.to.kind() {
        IdentifierKind::Messenger => Ok(out.to.value()),
        other => Err(Error::invalid(
            "to",
            format!(
                "{} is a {other} identifier; Messenger sends to a page-scoped id",
                out.to
            ),
        )),
    }
}

/// The window rule: a response within 24 hours; a tag within its own window.
fn allowed(out: &Outbound, tag: Option<MessageTag>, now: DateTime<Utc>) -> Result<Kind> {
    let when = || match out.customer_wrote_at {
        Some(at) => format!("the customer last wrote at {}", at.to_rfc3339()),
        None => "the customer has not written on Messenger".to_string(),
    };
    match tag {
        None if meta::window_open(out.customer_wrote_at, now) => Ok(Kind::Response),
        None => Err(Error::invalid(
            "messenger window",
            format!(
                "{}, so the 24-hour messaging window is closed at {}: send with a message tag (`tagged_request`, HUMAN_AGENT for an agent's reply within 7 days)",
                when(),
                now.to_rfc3339()
            ),
        )),
        Some(tag) => match tag.window() {
            Some(w) if !meta::window_open_for(out.customer_wrote_at, now, w) => Err(Error::invalid(
                "messenger window",
                format!(
                    "{}; the {} tag allows {} days after it, closed at {}",
                    when(),
                    tag.as_str(),
                    w.num_days(),
                    now.to_rfc3339()
                ),
            )),
            _ => Ok(Kind::Tagged(tag)),
        },
    }
}

/// An attachment by URL: `image`, `video`, `audio` or `file` by content type.
fn attachment(a: &Attachment) -> Result<Value> {
    if !(a.url.starts_with("https://") || a.url.starts_with("http://")) {
        return Err(Error::invalid(
            "attachments",
            format!(
                "{} is not an http(s) URL Messenger can fetch",
                quote(&a.url)
            ),
        ));
    }
    let ct = a.content_type.to_ascii_lowercase();
    let kind = ["image/", "video/", "audio/"]
        .into_iter()
        .find(|p| ct.starts_with(p))
        .map_or("file", |p| p.trim_end_matches('/'));
    Ok(json!({ "attachment": { "type": kind, "payload": { "url": a.url, "is_reusable": true } } }))
}

/// `{"recipient":{"id":..},"messaging_type":..,("tag":..,)"message":..}` to `me/messages`.
fn envelope(psid: &str, kind: Kind, message: Value) -> Request {
    let body = match kind {
        Kind::Response => json!({
            "recipient": { "id": psid },
            "messaging_type": "RESPONSE",
            "message": message,
        }),
        Kind::Tagged(tag) => json!({
            "recipient": { "id": psid },
            "messaging_type": "MESSAGE_TAG",
            "tag": tag.as_str(),
            "message": message,
        }),
    };
    graph_post("me/messages", &body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::channel::Channel;
    use crate::id::{ConversationId, MessageId, TenantId};
    use crate::identity::Identifier;

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_750_000_000, 0).unwrap()
    }

    fn out(body: &str, wrote: Option<DateTime<Utc>>) -> Outbound {
        Outbound {
            tenant: TenantId::new_v7(),
            conversation: ConversationId::new_v7(),
            message: MessageId::new_v7(),
            channel: Channel::Messenger,
            to: Identifier::handle(IdentifierKind::Messenger, "1254477777772919").unwrap(),
            body: body.into(),
            parts: vec![body.into()],
            attachments: Vec::new(),
            in_reply_to: None,
            subject: None,
            from: Some("1067280970047460".into()),
            customer_wrote_at: wrote,
        }
    }

    fn json_of(r: &Request) -> Value {
        serde_json::from_slice(&r.body).unwrap()
    }

    #[test]
    fn human_agent_allows_seven_days() {
        let o = out("hi", Some(now() - TimeDelta::days(3)));
        assert!(request(&o, None, now())
            .unwrap_err()
            .to_string()
            .contains("HUMAN_AGENT"));
        let r = request(&o, Some(MessageTag::HumanAgent), now()).unwrap();
        assert_eq!(json_of(&r)["tag"], "HUMAN_AGENT");
        let late = out("hi", Some(now() - HUMAN_AGENT_WINDOW));
        let e = request(&late, Some(MessageTag::HumanAgent), now()).unwrap_err();
        assert!(e.to_string().contains("allows 7 days"), "{e}");
        let r = request(&late, Some(MessageTag::PostPurchaseUpdate), now()).unwrap();
        assert_eq!(json_of(&r)["tag"], "POST_PURCHASE_UPDATE");
        assert!(request(&out("hi", None), Some(MessageTag::AccountUpdate), now()).is_ok());
    }

    #[test]
    fn parts_and_attachments() {
        let mut o = out("x", Some(now()));
        o.parts = vec!["a (1/2)".into(), "b (2/2)".into()];
        o.attachments = vec![Attachment {
            name: "p.png".into(),
            content_type: "image/png".into(),
            size: 1,
            url: "https://files.example/p.png".into(),
        }];
        let all = requests(&o, None, now()).unwrap();
        assert_eq!(all.len(), 3);
        assert_eq!(json_of(&all[1])["message"]["text"], "b (2/2)");
        assert_eq!(json_of(&all[2])["message"]["attachment"]["type"], "image");
        o.attachments[0].url = "s3://bucket/p.png".into();
        assert!(requests(&o, None, now())
            .unwrap_err()
            .to_string()
            .contains("not an http(s) URL"));
    }

    #[test]
    fn bad_inputs_are_refused() {
        let mut o = out("hi", Some(now()));
        o.to = Identifier::whatsapp("16505551234", None).unwrap();
        assert!(request(&o, None, now())
            .unwrap_err()
            .to_string()
            .contains("page-scoped id"));
        assert!(request(&out(" ", Some(now())), None, now()).is_err());
        let long = "x".repeat(MAX_TEXT_CHARS + 1);
        assert!(request(&out(&long, Some(now())), None, now())
            .unwrap_err()
            .to_string()
            .contains("`requests`"));
    }
}
