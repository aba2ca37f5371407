//! Status callbacks: Twilio's `MessageStatus` on an outbound message, as a [`Receipt`].
//!
//! | `MessageStatus` | [`ReceiptStatus`] |
//! |---|---|
//! | `queued`, `sending`, `accepted`, `scheduled` | `Queued` |
//! | `sent` | `Sent` |
//! | `delivered` | `Delivered` |
//! | `read` (WhatsApp) | `Read` |
//! | `undelivered`, `failed`, `canceled` | `Failed` |
//!
//! Any other value is refused. `ErrorCode` and `ErrorMessage`, when present, become
//! [`Receipt::error`] as `"30003: Unreachable destination handset"` (or the code alone).
//! Twilio's callbacks carry no event time, so [`Receipt::at`] is `None`.

use super::form;
use crate::channels::{Receipt, ReceiptStatus};
use crate::error::{Error, Result};

/// The statuses of an inbound message (`received`, `receiving`): such a payload is an
/// incoming message, not a receipt.
pub(crate) fn is_inbound_status(status: &str) -> bool {
    status.eq_ignore_ascii_case("received") || status.eq_ignore_ascii_case("receiving")
}

/// Maps one `MessageStatus` value.
pub(crate) fn map_status(raw: &str) -> Result<ReceiptStatus> {
    Ok(match raw.trim().to_ascii_lowercase().as_str() {
        "queued" | "sending" | "accepted" | "scheduled" => ReceiptStatus::Queued,
        "sent" => ReceiptStatus::Sent,
        "delivered" => ReceiptStatus::Delivered,
        "read" => ReceiptStatus::Read,
        "undelivered" | "failed" | "canceled" => ReceiptStatus::Failed,
        _ => {
            return Err(Error::invalid(
                "MessageStatus",
                format!("unknown status {}", form::quote(raw)),
            ))
        }
    })
}

/// The receipt a status callback reports.
pub(crate) fn receipt(params: &[(String, String)], status: &str) -> Result<Receipt> {
    let status = map_status(status)?;
    let sid = super::inbound::message_sid(params)?;
    let code = form::get(params, "ErrorCode")
        .map(str::trim)
        .filter(|c| !c.is_empty());
    let text = form::get(params, "ErrorMessage")
        .map(str::trim)
        .filter(|t| !t.is_empty());
    if let Some(code) = code {
        if code.len() > 16 || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Error::invalid(
                "ErrorCode",
                format!("{} is not a numeric error code", form::quote(code)),
            ));
        }
    }
    let error = match (code, text) {
        (Some(c), Some(t)) => Some(format!("{c}: {}", crate::text::truncate(t, 500))),
        (Some(c), None) => Some(c.to_string()),
        (None, Some(t)) => Some(crate::text::truncate(t, 500)),
        (None, None) => None,
    };
    Ok(Receipt {
        provider_id: sid.to_string(),
        message: None,
        status,
        at: None,
        error,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_status_maps() {
        use ReceiptStatus::*;
        for (raw, want) in [
            ("queued", Queued),
            ("sending", Queued),
            ("accepted", Queued),
            ("scheduled", Queued),
            ("sent", Sent),
            ("delivered", Delivered),
            ("read", Read),
            ("undelivered", Failed),
            ("failed", Failed),
            ("canceled", Failed),
            ("DELIVERED", Delivered),
        ] {
            assert_eq!(map_status(raw).unwrap(), want, "{raw}");
        }
        assert!(map_status("lost").is_err());
        assert!(map_status("").is_err());
    }
}
