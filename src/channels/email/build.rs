//! Outbound replies as RFC 5322 bytes.

use chrono::{DateTime, Utc};
use mail_builder::headers::address::Address;
use mail_builder::headers::content_type::ContentType;
use mail_builder::headers::date::Date;
use mail_builder::headers::message_id::MessageId as HeaderId;
use mail_builder::mime::MimePart;
use mail_builder::MessageBuilder;

use super::headers::truncated;
use crate::error::{Error, Result};
use crate::identity::{Identifier, IdentifierKind};
use crate::message::Outbound;

/// The `Message-ID` of the mail [`build`] makes for `out`: `<{out.message}@{our_domain}>`
/// (domain lower case). A customer's reply names it in `In-Reply-To`, which is how
/// [`super::parse`] recognises the reply as one to our message.
///
/// ```
/// use throughline::channels::email::message_id;
/// # use throughline::*;
/// # let out = Outbound {
/// #     tenant: TenantId::new_v7(), conversation: ConversationId::new_v7(),
/// #     message: MessageId::new_v7(), channel: Channel::Email,
/// #     to: Identifier::email("ana@example.com")?, body: "Your parcel left today.".into(),
/// #     parts: vec![], attachments: vec![], in_reply_to: Some("<CAB1@mail.example.com>".into()),
/// #     subject: Some("Order 1042".into()), from: Some("help@shop.example".into()),
/// #     customer_wrote_at: None,
/// # };
/// assert_eq!(message_id(&out, "Mail.Shop.example"), format!("<{}@mail.shop.example>", out.message));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn message_id(out: &Outbound, our_domain: &str) -> String {
    format!("<{}@{}>", out.message, domain(our_domain))
}

fn domain(our_domain: &str) -> String {
    our_domain.trim().trim_end_matches('.').to_ascii_lowercase()
}

/// Builds the RFC 5322 mail for an outbound e-mail reply.
///
/// - `Message-ID`: [`message_id`]; `In-Reply-To` and `References`: `out.in_reply_to`
///   when present, so the customer's client threads the reply;
/// - `From`: `out.from` (the inbox the customer wrote to) when present, else
///   `default_from`; either may be `addr@host` or `Name <addr@host>`;
/// - `To`: `out.to`'s address; `Subject`: the conversation's subject with one `Re: `
///   (existing `Re:` prefixes are not repeated; no subject when `out.subject` is empty);
/// - `Date`: `date`; the body as `multipart/alternative` of `text/plain` (`out.body`) and
///   `text/html` (the text escaped, line breaks as `<br>`), with a MIME boundary derived
///   from the message id, so the same input always gives the same bytes.
///
/// `out.attachments` are references the host resolves: they are not embedded here (the
/// host attaches the files, or links them, before sending).
///
/// # Errors
///
/// [`Error::Invalid`] when `out.to` is not an e-mail identifier (`to`), the sender is not
/// an address (`from`), `our_domain` is not a host name (`our_domain`), or
/// `out.in_reply_to` is not a message id (`in_reply_to`).
///
/// # Example
///
/// ```
/// use throughline::channels::email::{build, parse};
/// # use throughline::*;
/// # let out = Outbound {
/// #     tenant: TenantId::new_v7(), conversation: ConversationId::new_v7(),
/// #     message: MessageId::new_v7(), channel: Channel::Email,
/// #     to: Identifier::email("ana@example.com")?, body: "Your parcel left today.".into(),
/// #     parts: vec![], attachments: vec![], in_reply_to: Some("<CAB1@mail.example.com>".into()),
/// #     subject: Some("Order 1042".into()), from: Some("help@shop.example".into()),
/// #     customer_wrote_at: None,
/// # };
/// let date = chrono::DateTime::parse_from_rfc3339("2026-12-01T10:00:00Z")?.to_utc();
/// let bytes = build(&out, "help@shop.example", "mail.shop.example", date)?;
/// let mail = parse(&bytes, out.tenant, "mail.shop.example")?;
/// assert_eq!(mail.body, out.body);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn build(
    out: &Outbound,
    default_from: &str,
    our_domain: &str,
    date: DateTime<Utc>,
) -> Result<Vec<u8>> {
    if *out.to.kind() != IdentifierKind::Email {
        return Err(Error::invalid(
            "to",
            format!(
                "an e-mail goes to an e-mail address, not the {} identifier {:?}",
                out.to.kind().name(),
                truncated(out.to.value(), 80)
            ),
        ));
    }
    check_domain(our_domain)?;
    let (from_name, from_addr) = sender(out.from.as_deref().unwrap_or(default_from))?;
    let id = message_id(out, our_domain);
    let bare_id = id.trim_start_matches('<').trim_end_matches('>').to_string();
    let mut mail = MessageBuilder::new()
        .message_id(bare_id)
        .from(match from_name {
            Some(name) => Address::new_address(Some(name), from_addr),
            None => Address::new_address(None::<String>, from_addr),
        })
        .to(out.to.value())
        .date(Date::new(date.timestamp()));
    if let Some(subject) = out.subject.as_deref().and_then(reply_subject) {
        mail = mail.subject(subject);
    }
    if let Some(parent) = &out.in_reply_to {
        let parent = reply_target(parent)?;
        mail = mail
            .in_reply_to(HeaderId::new(parent.clone()))
            .references(HeaderId::new(parent));
    }
    let boundary = format!("=_tl_{}", out.message.as_uuid().simple());
    let body = MimePart::new(
        ContentType::new("multipart/alternative").attribute("boundary", boundary),
        vec![
            MimePart::new("text/plain", out.body.as_str()),
            MimePart::new("text/html", html_body(&out.body)),
        ],
    );
    mail.body(body)
        .write_to_vec()
        .map_err(|e| Error::invalid("mail", format!("could not be written: {e}")))
}

/// `"Re: subject"`, with any `Re:` prefixes of the subject folded into one.
fn reply_subject(subject: &str) -> Option<String> {
    let mut rest: String = subject
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    loop {
        let t = rest.trim_start();
        let lower = t.to_ascii_lowercase();
        let cut = ["re:", "re :"]
            .iter()
            .find(|p| lower.starts_with(*p))
            .map(|p| p.len());
        match cut {
            Some(n) => rest = t[n..].to_string(),
            None => break,
        }
    }
    let rest = rest.trim();
    (!rest.is_empty()).then(|| format!("Re: {rest}"))
}

/// The id inside `<…>`, refused when it could not be a message id.
fn reply_target(id: &str) -> Result<String> {
    let bare = id.trim().trim_start_matches('<').trim_end_matches('>');
    let bad = bare.is_empty()
        || bare.len() > 900
        || bare
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '<' || c == '>');
    if bad {
        return Err(Error::invalid(
            "in_reply_to",
            format!("{:?} is not a message id", truncated(id, 80)),
        ));
    }
    Ok(bare.to_string())
}

/// Splits `Name <addr>` or `addr`, checking the address.
fn sender(raw: &str) -> Result<(Option<String>, String)> {
    let raw = raw.trim();
    let (name, addr) = match raw.strip_suffix('>').and_then(|r| r.rsplit_once('<')) {
        Some((name, addr)) => {
            let name = name.trim().trim_matches('"').trim();
            let name = (!name.is_empty()).then(|| name.to_string());
            (name, addr.trim())
        }
        None => (None, raw),
    };
    let checked = Identifier::email(addr).map_err(|e| {
        Error::invalid(
            "from",
            format!("{:?} is not an e-mail address: {e}", truncated(raw, 80)),
        )
    })?;
    if name
        .as_deref()
        .is_some_and(|n| n.chars().any(char::is_control))
    {
        return Err(Error::invalid(
            "from",
            format!(
                "the name in {:?} holds a control character",
                truncated(raw, 80)
            ),
        ));
    }
    Ok((name, checked.value().to_string()))
}

fn check_domain(our_domain: &str) -> Result<()> {
    let d = domain(our_domain);
    let ok = !d.is_empty()
        && d.len() <= 253
        && d.split('.').all(|label| {
            !label.is_empty() && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(
            "our_domain",
            format!("{:?} is not a host name", truncated(our_domain, 80)),
        ))
    }
}

/// The text as HTML: escaped, line breaks as `<br>`.
fn html_body(text: &str) -> String {
    let mut html = String::with_capacity(text.len() + 64);
    html.push_str("<!DOCTYPE html><html><body><div>");
    for (i, line) in text.lines().enumerate() {
        if i > 0 {
            html.push_str("<br>\n");
        }
        for c in line.chars() {
            match c {
                '&' => html.push_str("&amp;"),
                '<' => html.push_str("&lt;"),
                '>' => html.push_str("&gt;"),
                '"' => html.push_str("&quot;"),
                '\'' => html.push_str("&#39;"),
                c => html.push(c),
            }
        }
    }
    html.push_str("</div></body></html>");
    html
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_re_prefix() {
        assert_eq!(
            reply_subject("Order 1042").as_deref(),
            Some("Re: Order 1042")
        );
        assert_eq!(reply_subject("Re: Order").as_deref(), Some("Re: Order"));
        assert_eq!(
            reply_subject("RE: re : Order").as_deref(),
            Some("Re: Order")
        );
        assert_eq!(
            reply_subject("Re:\r\nBcc: x").as_deref(),
            Some("Re: Bcc: x")
        );
        assert_eq!(reply_subject("  "), None);
    }

    #[test]
    fn html_is_escaped_with_line_breaks() {
        assert_eq!(
            html_body("a<b>&\n'c\""),
            "<!DOCTYPE html><html><body><div>a&lt;b&gt;&amp;<br>\n&#39;c&quot;</div></body></html>"
        );
    }

    #[test]
    fn senders_and_targets_are_checked() {
        assert_eq!(
            sender("Shop Help <help@Shop.example>").unwrap(),
            (
                Some("Shop Help".to_string()),
                "help@shop.example".to_string()
            )
        );
        assert!(sender("not an address").is_err());
        assert!(reply_target("<a@b>\r\nBcc: x").is_err());
        assert_eq!(reply_target("<a@b>").unwrap(), "a@b");
        assert!(check_domain("mail.shop.example").is_ok());
        assert!(check_domain("mail shop").is_err());
        assert!(check_domain("").is_err());
    }
}
