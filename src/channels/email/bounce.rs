//! Delivery status notifications (RFC 3464): `multipart/report;
//! report-type=delivery-status` with a `message/delivery-status` part and the returned
//! message (`message/rfc822`) or its headers (`text/rfc822-headers`).

use chrono::{DateTime, Utc};
use mail_parser::{Message, MessagePart, MimeHeaders, PartType};

use super::headers::{bracketed, parse_date};
use crate::channels::ReceiptStatus;
use crate::id::MessageId;

/// What a delivery report says about one of the messages it reports on.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Bounce {
    /// The `Message-ID` of the returned message, in angle brackets: from the returned
    /// `message/rfc822` or `text/rfc822-headers` part, else the report's own
    /// `In-Reply-To` or last `References` entry.
    pub original_message_id: Option<String>,
    /// Our message's id, when [`Bounce::original_message_id`] is `<UUID@our_domain>`.
    pub message: Option<MessageId>,
    /// The first recipient's `Action` (`failed`, `delayed`, `delivered`, `relayed`,
    /// `expanded`), lower case.
    pub action: Option<String>,
    /// The first recipient's `Status` code (`5.1.1`).
    pub status: Option<String>,
    /// The first recipient's `Diagnostic-Code` (`smtp; 550 5.1.1 user unknown`).
    pub diagnostic: Option<String>,
    /// The first recipient's `Final-Recipient` address (the `rfc822;` prefix removed).
    pub recipient: Option<String>,
    /// The first recipient's `Last-Attempt-Date`, else the report's `Date`.
    pub at: Option<DateTime<Utc>>,
}

impl Bounce {
    /// The receipt status the report's action means: `failed` (or no action) is
    /// [`ReceiptStatus::Failed`], `delivered` is `Delivered`, `relayed` and `expanded` are
    /// `Sent`; `delayed` is no final state, so `None`.
    pub fn receipt_status(&self) -> Option<ReceiptStatus> {
        match self.action.as_deref() {
            None | Some("failed") => Some(ReceiptStatus::Failed),
            Some("delivered") => Some(ReceiptStatus::Delivered),
            Some("relayed" | "expanded") => Some(ReceiptStatus::Sent),
            Some(_) => None,
        }
    }

    /// The report's error text: `Status` and `Diagnostic-Code` (`5.1.1: smtp; 550 …`).
    pub fn error(&self) -> Option<String> {
        match (&self.status, &self.diagnostic) {
            (Some(s), Some(d)) => Some(format!("{s}: {d}")),
            (Some(s), None) => Some(s.clone()),
            (None, Some(d)) => Some(d.clone()),
            (None, None) => None,
        }
    }
}

/// True for `multipart/report; report-type=delivery-status` (the type is checked on the
/// root part).
pub(super) fn is_report(msg: &Message<'_>) -> bool {
    msg.root_part().content_type().is_some_and(|ct| {
        ct.ctype().eq_ignore_ascii_case("multipart")
            && ct
                .subtype()
                .is_some_and(|s| s.eq_ignore_ascii_case("report"))
            && ct
                .attribute("report-type")
                .is_some_and(|t| t.trim().eq_ignore_ascii_case("delivery-status"))
    })
}

/// Reads the report's status fields and the returned message's id.
pub(super) fn read(msg: &Message<'_>, date: Option<DateTime<Utc>>) -> Bounce {
    let mut bounce = Bounce {
        original_message_id: None,
        message: None,
        action: None,
        status: None,
        diagnostic: None,
        recipient: None,
        at: date,
    };
    for part in msg.parts.iter().skip(1) {
        let Some((ctype, sub)) = type_of(part) else {
            continue;
        };
        match (ctype.as_str(), sub.as_str()) {
            ("message", "delivery-status" | "global-delivery-status") => {
                status_fields(&String::from_utf8_lossy(part.contents()), &mut bounce);
            }
            ("message", "rfc822" | "global") if bounce.original_message_id.is_none() => {
                bounce.original_message_id = match &part.body {
                    PartType::Message(m) if !m.parts.is_empty() => m.message_id().map(bracketed),
                    PartType::Message(_) => None,
                    _ => field(&String::from_utf8_lossy(part.contents()), "message-id")
                        .map(|id| bracketed(&id)),
                };
            }
            ("text", "rfc822-headers") | ("message", "rfc822-headers")
                if bounce.original_message_id.is_none() =>
            {
                bounce.original_message_id =
                    field(&String::from_utf8_lossy(part.contents()), "message-id")
                        .map(|id| bracketed(&id));
            }
            _ => {}
        }
    }
    bounce.original_message_id = bounce
        .original_message_id
        .filter(|id| id.len() > 2 && id.len() <= 998);
    bounce
}

fn type_of(part: &MessagePart<'_>) -> Option<(String, String)> {
    let ct = part.content_type()?;
    Some((
        ct.ctype().to_ascii_lowercase(),
        ct.subtype().unwrap_or_default().to_ascii_lowercase(),
    ))
}

/// Fills the per-recipient fields from the first recipient block that has an `Action`.
fn status_fields(text: &str, bounce: &mut Bounce) {
    for (name, value) in unfolded_fields(text) {
        let slot = match name.as_str() {
            "action" => &mut bounce.action,
            "status" => &mut bounce.status,
            "diagnostic-code" => &mut bounce.diagnostic,
            "final-recipient" => &mut bounce.recipient,
            "last-attempt-date" => {
                if let Some(at) = parse_date(&value) {
                    bounce.at = Some(at);
                }
                continue;
            }
            _ => continue,
        };
        if slot.is_none() && !value.is_empty() {
            *slot = Some(value);
        }
    }
    bounce.action = bounce.action.take().map(|a| a.to_ascii_lowercase());
    bounce.recipient = bounce.recipient.take().map(|r| match r.split_once(';') {
        Some((_, addr)) => addr.trim().to_string(),
        None => r,
    });
}

/// The first field named `name` (lower case) in a header-like text.
fn field(text: &str, name: &str) -> Option<String> {
    unfolded_fields(text)
        .into_iter()
        .find(|(n, v)| n == name && !v.is_empty())
        .map(|(_, v)| v)
}

/// `Name: value` fields with folded lines joined; names lower-cased.
fn unfolded_fields(text: &str) -> Vec<(String, String)> {
    let mut fields: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = fields.last_mut() {
                value.push(' ');
                value.push_str(line.trim());
            }
            continue;
        }
        if let Some((name, value)) = line.split_once(':') {
            fields.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
        }
    }
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_fields_are_read_from_the_first_recipient() {
        let text = "Reporting-MTA: dns; mx.example\r\n\r\nFinal-Recipient: rfc822; ana@example.com\r\n\
                    Action: Failed\r\nStatus: 5.1.1\r\nDiagnostic-Code: smtp; 550 5.1.1\r\n  user unknown\r\n\r\n\
                    Final-Recipient: rfc822; bo@example.com\r\nAction: delayed\r\nStatus: 4.4.1\r\n";
        let mut b = read_empty();
        status_fields(text, &mut b);
        assert_eq!(b.action.as_deref(), Some("failed"));
        assert_eq!(b.status.as_deref(), Some("5.1.1"));
        assert_eq!(
            b.diagnostic.as_deref(),
            Some("smtp; 550 5.1.1 user unknown")
        );
        assert_eq!(b.recipient.as_deref(), Some("ana@example.com"));
        assert_eq!(
            b.error().as_deref(),
            Some("5.1.1: smtp; 550 5.1.1 user unknown")
        );
        assert_eq!(b.receipt_status(), Some(ReceiptStatus::Failed));
    }

    #[test]
    fn a_delay_is_no_receipt() {
        let mut b = read_empty();
        status_fields("Action: delayed\nStatus: 4.4.7", &mut b);
        assert_eq!(b.receipt_status(), None);
    }

    fn read_empty() -> Bounce {
        Bounce {
            original_message_id: None,
            message: None,
            action: None,
            status: None,
            diagnostic: None,
            recipient: None,
            at: None,
        }
    }
}
