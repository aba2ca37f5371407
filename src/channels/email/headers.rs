//! Header values: message ids, mailboxes, dates, and the thread hint built from them.

use std::str::FromStr;

use chrono::{DateTime, NaiveDate, Utc};
use mail_parser::{Address, HeaderValue, Message};

use super::Mailbox;
use crate::id::MessageId;

/// The first header named `name` (case-insensitive), unfolded and trimmed, as raw text.
pub(super) fn raw_header(msg: &Message<'_>, name: &str) -> Option<String> {
    let header = msg
        .root_part()
        .headers
        .iter()
        .find(|h| h.name().eq_ignore_ascii_case(name))?;
    let raw = msg
        .raw_message
        .get(header.offset_start() as usize..header.offset_end() as usize)?;
    let text = String::from_utf8_lossy(raw);
    let unfolded: Vec<&str> = text.split(['\r', '\n']).map(str::trim).collect();
    Some(unfolded.join(" ").trim().to_string())
}

/// A message id in angle brackets, as it appears in `Message-ID` (`<id@host>`).
pub(super) fn bracketed(id: &str) -> String {
    let id = id.trim().trim_start_matches('<').trim_end_matches('>');
    format!("<{id}>")
}

/// Longer ids in `In-Reply-To` and `References` are dropped (the longest line RFC 5322
/// allows, and the longest thread hint an `Inbound` takes).
const MAX_ID_BYTES: usize = 998;

/// The ids in an `In-Reply-To` or `References` header, each in angle brackets.
pub(super) fn id_list(value: &HeaderValue<'_>) -> Vec<String> {
    match value {
        HeaderValue::Text(t) => vec![bracketed(t)],
        HeaderValue::TextList(list) => list.iter().map(|t| bracketed(t)).collect(),
        _ => Vec::new(),
    }
    .into_iter()
    .filter(|id| id.len() > 2 && id.len() <= MAX_ID_BYTES)
    .collect()
}

/// Our message's id when `message_id` is `<UUID@our_domain>` (domain case-insensitive).
///
/// ```
/// use throughline::channels::email::our_message_id;
/// let id = our_message_id("<0190f5c2-7b3a-7cc1-8a53-3f2b9e0d1a22@Mail.Shop.example>", "mail.shop.example");
/// assert_eq!(id.unwrap().to_string(), "0190f5c2-7b3a-7cc1-8a53-3f2b9e0d1a22");
/// assert!(our_message_id("<abc@mail.shop.example>", "mail.shop.example").is_none());
/// ```
pub fn our_message_id(message_id: &str, our_domain: &str) -> Option<MessageId> {
    let id = message_id.trim().strip_prefix('<')?.strip_suffix('>')?;
    let (local, domain) = id.rsplit_once('@')?;
    let ours = our_domain.trim().trim_end_matches('.');
    if ours.is_empty() || !domain.trim_end_matches('.').eq_ignore_ascii_case(ours) {
        return None;
    }
    // Only the hyphenated form we write: a UUID in another spelling is not our id.
    if local.len() != 36 {
        return None;
    }
    MessageId::from_str(local).ok()
}

/// The thread hint: our message's id (a plain UUID string) when In-Reply-To or a
/// References entry is one of ours, else In-Reply-To, else the last References entry.
pub(super) fn thread_hint(
    in_reply_to: Option<&str>,
    references: &[String],
    our_domain: &str,
) -> Option<String> {
    let ours = in_reply_to
        .into_iter()
        .chain(references.iter().rev().map(String::as_str))
        .find_map(|id| our_message_id(id, our_domain));
    match ours {
        Some(id) => Some(id.to_string()),
        None => in_reply_to
            .map(str::to_string)
            .or_else(|| references.last().cloned()),
    }
}

/// The mailboxes of an address header (groups flattened), skipping entries without an
/// address.
pub(super) fn mailboxes(address: Option<&Address<'_>>) -> Vec<Mailbox> {
    let Some(address) = address else {
        return Vec::new();
    };
    address
        .iter()
        .filter_map(|a| {
            let addr = a.address()?.trim();
            if addr.is_empty() {
                return None;
            }
            Some(Mailbox {
                name: a
                    .name()
                    .map(|n| n.trim().to_string())
                    .filter(|n| !n.is_empty()),
                address: addr.to_string(),
            })
        })
        .collect()
}

/// A parsed RFC 5322 date as UTC; `None` for an impossible date.
pub(super) fn utc(date: &mail_parser::DateTime) -> Option<DateTime<Utc>> {
    if !date.is_valid() {
        return None;
    }
    let local = NaiveDate::from_ymd_opt(date.year.into(), date.month.into(), date.day.into())?
        .and_hms_opt(date.hour.into(), date.minute.into(), date.second.into())?;
    let offset = i64::from(date.tz_hour) * 3600 + i64::from(date.tz_minute) * 60;
    let offset = if date.tz_before_gmt { -offset } else { offset };
    let at = local.and_utc() - chrono::Duration::seconds(offset);
    Some(at)
}

/// Parses an RFC 5322 date written in a text field (a DSN's `Last-Attempt-Date`).
pub(super) fn parse_date(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc2822(text.trim())
        .ok()
        .map(|d| d.with_timezone(&Utc))
}

/// `text`, cut to at most `max` bytes on a character boundary, for error messages.
pub(super) fn truncated(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    const OURS: &str = "<0190f5c2-7b3a-7cc1-8a53-3f2b9e0d1a22@mail.shop.example>";

    #[test]
    fn our_ids_are_recognised_by_domain_and_uuid() {
        assert!(our_message_id(OURS, "MAIL.shop.example").is_some());
        assert!(our_message_id(OURS, "shop.example").is_none());
        assert!(our_message_id(OURS.trim_matches(['<', '>']), "mail.shop.example").is_none());
        assert!(our_message_id("<x@mail.shop.example>", "mail.shop.example").is_none());
        assert!(our_message_id(OURS, "").is_none());
    }

    #[test]
    fn the_thread_hint_prefers_our_id_anywhere_in_the_chain() {
        let refs = vec![OURS.to_string(), "<b@gmail.example>".to_string()];
        assert_eq!(
            thread_hint(Some("<b@gmail.example>"), &refs, "mail.shop.example").as_deref(),
            Some("0190f5c2-7b3a-7cc1-8a53-3f2b9e0d1a22")
        );
        assert_eq!(
            thread_hint(Some("<b@gmail.example>"), &refs, "other.example").as_deref(),
            Some("<b@gmail.example>")
        );
        assert_eq!(
            thread_hint(None, &refs, "other.example").as_deref(),
            Some("<b@gmail.example>")
        );
        assert_eq!(thread_hint(None, &[], "other.example"), None);
    }

    #[test]
    fn truncation_respects_characters() {
        assert_eq!(truncated("ééé", 3), "é…");
        assert_eq!(truncated("abc", 3), "abc");
    }
}
