//! Graph API message requests: free-form replies inside the 24-hour window, template
//! messages at any time.

use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};

use super::MEDIA_URL_PREFIX;
use crate::channels::meta::{self, graph_post, quote};
use crate::channels::Request;
use crate::error::{Error, Result};
use crate::identity::{Identifier, IdentifierKind};
use crate::message::{Attachment, Outbound};

/// The most characters WhatsApp takes in one text message body.
pub const MAX_TEXT_CHARS: usize = 4_096;

/// An approved message template to send outside the customer-service window.
///
/// ```
/// use throughline::channels::whatsapp::Template;
/// let t = Template::new("order_update", "en_US").parameter("Ana").parameter("1042");
/// assert_eq!(t.body_parameters, ["Ana", "1042"]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    /// The template's name as approved in WhatsApp Manager (`order_update`).
    pub name: String,
    /// Its language and locale code (`en_US`, `pt_BR`).
    pub language: String,
    /// The body's `{{1}}`, `{{2}}`, ... values, in order.
    pub body_parameters: Vec<String>,
}

impl Template {
    /// A template without parameters.
    pub fn new(name: impl Into<String>, language: impl Into<String>) -> Self {
        Template {
            name: name.into(),
            language: language.into(),
            body_parameters: Vec::new(),
        }
    }

    /// Appends the next body parameter.
    pub fn parameter(mut self, value: impl Into<String>) -> Self {
        self.body_parameters.push(value.into());
        self
    }
}

/// One text message with the whole [`Outbound::body`]; see [`super::request`].
pub(super) fn request(
    out: &Outbound,
    phone_number_id: &str,
    now: DateTime<Utc>,
) -> Result<Request> {
    let to = recipient(&out.to)?;
    check_sender(phone_number_id)?;
    check_window(out, now)?;
    if out.body.trim().is_empty() {
        return Err(Error::invalid("body", "empty text; nothing to send"));
    }
    let chars = out.body.chars().count();
    if chars > MAX_TEXT_CHARS {
        return Err(Error::invalid(
            "body",
            format!(
                "{chars} characters, WhatsApp takes {MAX_TEXT_CHARS} in one message: send the parts with `requests`"
            ),
        ));
    }
    Ok(text(
        &to,
        phone_number_id,
        &out.body,
        out.in_reply_to.as_deref(),
    ))
}

/// Every request of a reply: one text per [`Outbound::parts`] (or the body), then one
/// media message per attachment; see [`super::requests`].
pub(super) fn requests(
    out: &Outbound,
    phone_number_id: &str,
    now: DateTime<Utc>,
) -> Result<Vec<Request>> {
    let to = recipient(&out.to)?;
    check_sender(phone_number_id)?;
    check_window(out, now)?;
    let texts = meta::text_parts(out, MAX_TEXT_CHARS, "WhatsApp")?;
    let mut all = Vec::with_capacity(texts.len() + out.attachments.len());
    for (i, t) in texts.iter().enumerate() {
        let context = if i == 0 {
            out.in_reply_to.as_deref()
        } else {
            None
        };
        all.push(text(&to, phone_number_id, t, context));
    }
    for a in &out.attachments {
        all.push(media(&to, phone_number_id, a)?);
    }
    Ok(all)
}

/// A template message; see [`super::template_request`].
pub(super) fn template_request(
    to: &Identifier,
    phone_number_id: &str,
    template: &Template,
) -> Result<Request> {
    let to = recipient(to)?;
    check_sender(phone_number_id)?;
    let name = template.name.trim();
    if name.is_empty() || name.chars().any(char::is_whitespace) {
        return Err(Error::invalid(
            "template name",
            format!("{} is empty or holds whitespace", quote(&template.name)),
        ));
    }
    let language = template.language.trim();
    if language.is_empty() || language.chars().any(char::is_whitespace) {
        return Err(Error::invalid(
            "template language",
            format!("{} is empty or holds whitespace", quote(&template.language)),
        ));
    }
    if let Some(i) = template
        .body_parameters
        .iter()
        .position(|p| p.trim().is_empty())
    {
        return Err(Error::invalid(
            "template parameter",
            format!(
                "body parameter {} is empty (WhatsApp refuses empty values)",
                i + 1
            ),
        ));
    }
    let mut body = json!({ "name": name, "language": { "code": language } });
    if !template.body_parameters.is_empty() {
        let parameters: Vec<Value> = template
            .body_parameters
            .iter()
            .map(|p| json!({ "type": "text", "text": p }))
            .collect();
        body["components"] = json!([{ "type": "body", "parameters": parameters }]);
    }
    Ok(envelope(&to, phone_number_id, "template", body, None))
}

/// The number to send to: a WhatsApp or phone identifier's digits, without the `+`.
fn recipient(to: &Identifier) -> Result<String> {
    match to.kind() {
        IdentifierKind::WhatsApp | IdentifierKind::Phone => {
            Ok(to.value().trim_start_matches('+').to_string())
        }
        other => Err(Error::invalid(
            "to",
            format!("{to} is a {other} identifier; WhatsApp sends to a WhatsApp or phone number"),
        )),
    }
}

/// The business phone number id goes into the URL path: digits only.
fn check_sender(phone_number_id: &str) -> Result<()> {
    if phone_number_id.is_empty() || !phone_number_id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::invalid(
            "phone_number_id",
            format!(
                "{} is not a WhatsApp phone number id (digits)",
                quote(phone_number_id)
            ),
        ));
    }
    Ok(())
}

/// Refuses a free-form message outside the 24-hour customer-service window.
fn check_window(out: &Outbound, now: DateTime<Utc>) -> Result<()> {
    if meta::window_open(out.customer_wrote_at, now) {
        return Ok(());
    }
    let when = match out.customer_wrote_at {
        Some(at) => format!("the customer last wrote at {}", at.to_rfc3339()),
        None => "the customer has not written on WhatsApp".to_string(),
    };
    Err(Error::invalid(
        "whatsapp window",
        format!(
            "{when}, so the 24-hour customer-service window is closed at {}: a template message is required (use `template_request`)",
            now.to_rfc3339()
        ),
    ))
}

fn text(to: &str, phone_number_id: &str, body: &str, context: Option<&str>) -> Request {
    envelope(
        to,
        phone_number_id,
        "text",
        json!({ "body": body }),
        context,
    )
}

/// An attachment as an image, video, audio or document message: by media id when its
/// url is `whatsapp-media:<id>` (uploaded), else by `link` (an `http(s)` URL).
fn media(to: &str, phone_number_id: &str, a: &Attachment) -> Result<Request> {
    let ct = a.content_type.to_ascii_lowercase();
    let kind = ["image/", "video/", "audio/"]
        .into_iter()
        .find(|p| ct.starts_with(p))
        .map_or("document", |p| p.trim_end_matches('/'));
    let mut obj = Map::new();
    if let Some(id) = a
        .url
        .strip_prefix(MEDIA_URL_PREFIX)
        .filter(|id| !id.is_empty())
    {
        obj.insert("id".into(), id.into());
    } else if a.url.starts_with("https://") || a.url.starts_with("http://") {
        obj.insert("link".into(), a.url.clone().into());
    } else {
        return Err(Error::invalid(
            "attachments",
            format!(
                "{} is neither an http(s) link nor {MEDIA_URL_PREFIX}<id>",
                quote(&a.url)
            ),
        ));
    }
    if kind == "document" && !a.name.is_empty() {
        obj.insert("filename".into(), a.name.clone().into());
    }
    Ok(envelope(
        to,
        phone_number_id,
        kind,
        Value::Object(obj),
        None,
    ))
}

/// `{"messaging_product":"whatsapp","recipient_type":"individual","to":..,"type":kind,kind:body}`.
fn envelope(
    to: &str,
    phone_number_id: &str,
    kind: &str,
    body: Value,
    context: Option<&str>,
) -> Request {
    let mut msg = Map::new();
    msg.insert("messaging_product".into(), "whatsapp".into());
    msg.insert("recipient_type".into(), "individual".into());
    msg.insert("to".into(), to.into());
    if let Some(id) = context.filter(|id| !id.is_empty()) {
        msg.insert("context".into(), json!({ "message_id": id }));
    }
    msg.insert("type".into(), kind.into());
    msg.insert(kind.into(), body);
    graph_post(&format!("{phone_number_id}/messages"), &Value::Object(msg))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::channel::Channel;
    use crate::id::{ConversationId, MessageId, TenantId};
    use chrono::TimeDelta;

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_750_000_000, 0).unwrap()
    }

    fn out(body: &str) -> Outbound {
        Outbound {
            tenant: TenantId::new_v7(),
            conversation: ConversationId::new_v7(),
            message: MessageId::new_v7(),
            channel: Channel::WhatsApp,
            to: Identifier::whatsapp("16505551234", None).unwrap(),
            body: body.into(),
            parts: vec![body.into()],
            attachments: Vec::new(),
            in_reply_to: None,
            subject: None,
            from: Some("106540352242922".into()),
            customer_wrote_at: Some(now() - TimeDelta::hours(1)),
        }
    }

    fn json(r: &Request) -> Value {
        serde_json::from_slice(&r.body).unwrap()
    }

    #[test]
    fn parts_then_media_by_id_or_link() {
        let mut o = out("long");
        o.parts = vec!["one (1/2)".into(), "two (2/2)".into()];
        o.in_reply_to = Some("wamid.IN".into());
        o.attachments = vec![
            Attachment {
                name: "photo.jpg".into(),
                content_type: "image/jpeg".into(),
                size: 1,
                url: "whatsapp-media:777".into(),
            },
            Attachment {
                name: "invoice.pdf".into(),
                content_type: "application/pdf".into(),
                size: 1,
                url: "https://files.example/i.pdf".into(),
            },
        ];
        let all = requests(&o, "106540352242922", now()).unwrap();
        let bodies: Vec<Value> = all.iter().map(json).collect();
        assert_eq!(bodies[0]["text"]["body"], "one (1/2)");
        assert_eq!(bodies[0]["context"]["message_id"], "wamid.IN");
        assert!(bodies[1].get("context").is_none());
        assert_eq!(bodies[2]["type"], "image");
        assert_eq!(bodies[2]["image"], serde_json::json!({ "id": "777" }));
        assert_eq!(
            bodies[3]["document"],
            serde_json::json!({ "link": "https://files.example/i.pdf", "filename": "invoice.pdf" })
        );
    }

    #[test]
    fn bad_inputs_are_refused() {
        let o = out("hi");
        assert!(request(&o, "12/../x", now())
            .unwrap_err()
            .to_string()
            .contains("not a WhatsApp phone number id"));
        let mut mail = out("hi");
        mail.to = Identifier::email("ana@example.com").unwrap();
        assert!(request(&mail, "1", now())
            .unwrap_err()
            .to_string()
            .contains("is a email identifier"));
        assert!(request(&out("  "), "1", now())
            .unwrap_err()
            .to_string()
            .contains("empty text"));
        let long = "x".repeat(MAX_TEXT_CHARS + 1);
        assert!(request(&out(&long), "1", now())
            .unwrap_err()
            .to_string()
            .contains("send the parts with `requests`"));
        let mut o = out("see file");
        o.attachments = vec![Attachment {
            name: "a".into(),
            content_type: "image/png".into(),
            size: 1,
            url: "file:///etc/passwd".into(),
        }];
        assert!(requests(&o, "1", now())
            .unwrap_err()
            .to_string()
            .contains("neither an http(s) link"));
    }

    #[test]
    fn template_checks() {
        let to = Identifier::phone("+16505551234", None).unwrap();
        let bare = template_request(&to, "1", &Template::new("hello_world", "en_US")).unwrap();
        let b = json(&bare);
        assert_eq!(b["to"], "16505551234");
        assert!(b["template"].get("components").is_none());
        assert!(template_request(&to, "1", &Template::new("", "en_US")).is_err());
        assert!(template_request(&to, "1", &Template::new("a b", "en_US")).is_err());
        assert!(template_request(&to, "1", &Template::new("a", " ")).is_err());
        let e = template_request(
            &to,
            "1",
            &Template::new("a", "en").parameter("x").parameter(" "),
        )
        .unwrap_err();
        assert!(e.to_string().contains("body parameter 2 is empty"), "{e}");
    }
}
