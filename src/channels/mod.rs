//! Channel adapters: a provider's payload in, [`Inbound`]s and [`Receipt`]s out; an
//! [`crate::Effect::Send`] in, the provider's [`Request`] out.
//!
//! Every adapter is sans-IO: pure functions over bytes, headers and `now`. The host still
//! receives the webhook over HTTP, holds the credentials, downloads media and sends the
//! request. One module and one cargo feature per provider family, all off by default:
//!
//! | module | feature | provider |
//! |---|---|---|
//! | `email` | `email` | RFC 5322 mail: parse, thread, auto-replies, bounces, build replies |
//! | `twilio` | `twilio` | SMS through Twilio: signed webhooks, status callbacks, Messages API |
//! | `whatsapp` | `whatsapp` | WhatsApp Cloud API: signed webhooks, handshake, Graph API messages |
//! | `messenger` | `messenger` | Facebook Messenger: signed webhooks, handshake, Send API |
//!
//! Invariants every adapter keeps: malformed, oversized or unsigned input is an
//! [`crate::Error`] naming what was wrong, never a panic; a parser changes nothing (the
//! host hands what it returns to the `Desk`); signatures are compared in constant time.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::id::MessageId;
use crate::identity::Identifier;
use crate::message::Inbound;

#[cfg(feature = "email")]
pub mod email;
#[cfg(feature = "messenger")]
pub mod messenger;
#[cfg(any(feature = "whatsapp", feature = "messenger"))]
pub mod meta;
#[cfg(feature = "twilio")]
pub mod twilio;
#[cfg(feature = "whatsapp")]
pub mod whatsapp;

/// The largest webhook body an adapter reads, in bytes; larger input is refused.
pub const MAX_WEBHOOK_BYTES: usize = 1 << 20;

/// What one provider payload carried: a webhook may hold several.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Event {
    /// A message from a customer: hand it to `Desk::ingest`.
    Message(Box<Inbound>),
    /// A delivery report about one of our outbound messages.
    Receipt(Receipt),
    /// The customer opted out of, or back into, messages on an identifier (SMS STOP/START).
    Consent(ConsentChange),
}

/// A provider's report on an outbound message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    /// The provider's id of the outbound message (Twilio `MessageSid`, WhatsApp `wamid`,
    /// Messenger `mid`, or the `Message-ID` of our mail for a bounce).
    pub provider_id: String,
    /// Our id of the message, when the payload names it (a bounce quoting our `Message-ID`,
    /// a status callback URL the host tagged with it); otherwise the `Desk` finds the
    /// message by `provider_id`.
    pub message: Option<MessageId>,
    /// What happened to it.
    pub status: ReceiptStatus,
    /// When the provider says it happened, if it says.
    pub at: Option<DateTime<Utc>>,
    /// The provider's error code and text for a failure.
    pub error: Option<String>,
}

/// The state a [`Receipt`] reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ReceiptStatus {
    /// Accepted by the provider, not yet sent.
    Queued,
    /// Sent to the carrier or network.
    Sent,
    /// Delivered to the customer's device.
    Delivered,
    /// Read by the customer.
    Read,
    /// Not delivered (undelivered, failed, bounced).
    Failed,
}

/// A customer's opt-out or opt-in on one identifier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentChange {
    /// The identifier the keyword came from.
    pub identifier: Identifier,
    /// Opted out (`true`, STOP) or back in (`false`, START).
    pub opted_out: bool,
    /// The keyword as the customer sent it.
    pub keyword: String,
}

/// An HTTP request for the host to send to a provider's API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// `POST`, usually.
    pub method: &'static str,
    /// The full URL.
    pub url: String,
    /// Headers other than authentication (the host adds its credentials).
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

/// Refuses a body over [`MAX_WEBHOOK_BYTES`] or empty.
#[allow(dead_code)]
pub(crate) fn check_size(field: &'static str, body: &[u8]) -> crate::Result<()> {
    if body.len() > MAX_WEBHOOK_BYTES {
        return Err(crate::Error::invalid(
            field,
            format!("{} bytes, the maximum is {MAX_WEBHOOK_BYTES}", body.len()),
        ));
    }
    if body.is_empty() {
        return Err(crate::Error::invalid(field, "empty body"));
    }
    Ok(())
}
