//! A mail's text and its attachment references.

use mail_parser::{Message, MessagePart, MimeHeaders, PartType};

use super::html::html_to_text;
use crate::message::Attachment;

/// The mail's text: its text/plain body parts, or (when it has none) its HTML parts
/// converted to text. Line ends are `\n`.
pub(super) fn text(msg: &Message<'_>) -> String {
    let parts = |ids: &[u32]| -> Vec<&MessagePart<'_>> {
        ids.iter()
            .filter_map(|id| msg.parts.get(*id as usize))
            .collect()
    };
    let plain: Vec<String> = parts(&msg.text_body)
        .into_iter()
        .filter_map(|p| match &p.body {
            PartType::Text(t) => Some(match flowed(p) {
                Some(delsp) => unflow(t, delsp),
                None => t.to_string(),
            }),
            _ => None,
        })
        .collect();
    let text = if plain.is_empty() {
        parts(&msg.html_body)
            .into_iter()
            .filter_map(|p| match &p.body {
                PartType::Html(h) => Some(html_to_text(h)),
                _ => None,
            })
            .collect::<Vec<_>>()
            .join("\n")
    } else {
        plain.join("\n")
    };
    text.replace("\r\n", "\n").replace('\r', "\n")
}

/// `Some(delsp)` for a `format=flowed` part (RFC 3676).
fn flowed(part: &MessagePart<'_>) -> Option<bool> {
    let ct = part.content_type()?;
    if !ct.attribute("format")?.eq_ignore_ascii_case("flowed") {
        return None;
    }
    Some(
        ct.attribute("delsp")
            .is_some_and(|d| d.eq_ignore_ascii_case("yes")),
    )
}

/// Joins the soft line breaks of `format=flowed` text (RFC 3676): a line ending in a
/// space continues on the next line of the same quote depth; space-stuffing is removed;
/// the signature separator `-- ` is never flowed.
fn unflow(text: &str, delsp: bool) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut open: Option<(usize, String)> = None;
    for raw in text.split('\n') {
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        let depth = line.bytes().take_while(|b| *b == b'>').count();
        let content = line.get(depth..).unwrap_or_default();
        let content = content.strip_prefix(' ').unwrap_or(content);
        let soft = content.ends_with(' ') && content != "-- ";
        let piece = match content.strip_suffix(' ') {
            Some(cut) if soft && delsp => cut,
            _ => content,
        };
        match &mut open {
            Some((d, acc)) if *d == depth => acc.push_str(piece),
            _ => {
                if let Some((d, acc)) = open.take() {
                    out.push(quote_line(d, &acc));
                }
                open = Some((depth, piece.to_string()));
            }
        }
        if !soft {
            if let Some((d, acc)) = open.take() {
                out.push(quote_line(d, &acc));
            }
        }
    }
    if let Some((d, acc)) = open {
        out.push(quote_line(d, &acc));
    }
    out.join("\n")
}

fn quote_line(depth: usize, text: &str) -> String {
    if depth == 0 {
        text.to_string()
    } else {
        format!("{} {text}", ">".repeat(depth))
    }
}

/// References to the mail's attachments.
///
/// `url` is `cid:<Content-ID>` (without angle brackets) when the part has a Content-ID,
/// else `mail-part:<n>`, `n` being the part's position in the mail's MIME tree in
/// depth-first order (the root is 0). [`super::attachment_content`] resolves both.
pub(super) fn attachments(msg: &Message<'_>) -> Vec<Attachment> {
    msg.attachments
        .iter()
        .filter_map(|id| Some((*id, msg.parts.get(*id as usize)?)))
        .map(|(id, part)| Attachment {
            name: part
                .attachment_name()
                .map(|n| n.trim().to_string())
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| format!("part-{id}")),
            content_type: content_type(part),
            size: part.len() as u64,
            url: match content_id(part) {
                Some(cid) => format!("cid:{cid}"),
                None => format!("mail-part:{id}"),
            },
        })
        .collect()
}

/// `type/subtype` in lower case; `application/octet-stream` when the part names none.
pub(super) fn content_type(part: &MessagePart<'_>) -> String {
    match part.content_type() {
        Some(ct) => match ct.subtype() {
            Some(sub) => format!("{}/{}", ct.ctype(), sub).to_ascii_lowercase(),
            None => ct.ctype().to_ascii_lowercase(),
        },
        None => match part.body {
            PartType::Message(_) => "message/rfc822".to_string(),
            PartType::Text(_) => "text/plain".to_string(),
            _ => "application/octet-stream".to_string(),
        },
    }
}

/// The part's Content-ID without angle brackets, if it has a non-empty one.
fn content_id(part: &MessagePart<'_>) -> Option<String> {
    let cid = part.content_id()?.trim().trim_matches(['<', '>']).trim();
    (!cid.is_empty()).then(|| cid.to_string())
}

/// The decoded bytes of the attachment `url` names (`cid:…` or `mail-part:<n>`).
pub(super) fn find<'a>(msg: &'a Message<'a>, url: &str) -> Option<&'a [u8]> {
    if let Some(cid) = url.strip_prefix("cid:") {
        return msg
            .attachments
            .iter()
            .filter_map(|id| msg.parts.get(*id as usize))
            .find(|p| content_id(p).as_deref() == Some(cid))
            .map(MessagePart::contents);
    }
    let n: u32 = url.strip_prefix("mail-part:")?.parse().ok()?;
    if !msg.attachments.contains(&n) {
        return None;
    }
    msg.parts.get(n as usize).map(MessagePart::contents)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flowed_text_is_unwrapped() {
        let text =
            "This is a long \r\nsentence.\r\n\r\n> quoted \r\n> text\r\n>> deeper\r\n-- \r\nAna";
        assert_eq!(
            unflow(text, false),
            "This is a long sentence.\n\n> quoted text\n>> deeper\n-- \nAna"
        );
        assert_eq!(
            unflow("Zusammen \ngeschrieben", true),
            "Zusammengeschrieben"
        );
        assert_eq!(unflow(" From me", false), "From me");
        // A change of quote depth ends the paragraph.
        assert_eq!(unflow("a \n> b", false), "a \n> b");
    }
}
