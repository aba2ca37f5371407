//! Facebook Messenger: the signed page webhook in, [`Event`]s out; an [`Outbound`] in,
//! the Send API [`Request`] out.
//!
//! # Inbound
//!
//! The host answers the subscription `GET` with [`meta::handshake`], and for each `POST`
//! calls [`parse_verified`] with the raw body, the `X-Hub-Signature-256` header and the
//! app secret (or [`meta::verify_signature`] then [`parse`]). The body must have
//! `object: "page"`; every `entry[].messaging[]` event is read:
//!
//! - `message` becomes an [`Event::Message`] on [`Channel::Messenger`]: `from` is the
//!   sender's page-scoped id (`sender.id`, an [`IdentifierKind::Messenger`] identifier),
//!   `to` the page id (`recipient.id`), `external_id` the `mid`, `sent_at` the
//!   `timestamp` (milliseconds), `thread_hint` the `reply_to.mid` of a reply. The body is
//!   the `text` (a quick reply's text is its title; its developer `payload` is used only
//!   when there is no text). Each attachment with a `payload.url` becomes an
//!   [`Attachment`] (named after the URL's file name, else `<type>-<n>`; content type
//!   `image/*`, `video/*`, `audio/*` or `application/octet-stream` from its `type`, as
//!   Messenger sends no MIME type; size 0); one without a URL (a shared location, a bare
//!   `fallback`) is described in the body instead. Messenger sends no sender name: the
//!   host may look it up and set `display_name`.
//! - `message` with `is_echo: true` (a copy of what the page sent) is **skipped**.
//! - `postback` (a button, Get Started or menu item) becomes a message whose body is
//!   the button's `title` (else its `payload`), with `postback.mid` as its id, or
//!   `postback:<psid>:<timestamp ms>` when an older postback carries none.
//! - `delivery` becomes one [`ReceiptStatus::Delivered`] receipt per `mids[]` item, at
//!   the `watermark`; a delivery without `mids` (only a watermark) yields nothing.
//! - `read` is **skipped**: it names no message, only a watermark time ("everything sent
//!   before this was read"), and a [`Receipt`] must name the message it is about;
//!   marking the outbound messages before the watermark as read needs the store, which
//!   the adapter does not have.
//! - other events (`reaction`, `referral`, `optin`, `standby`, handovers) are skipped.
//!
//! # Outbound
//!
//! [`request`] builds `POST https://graph.facebook.com/v21.0/me/messages` with
//! `{"recipient":{"id":PSID},"messaging_type":"RESPONSE","message":{"text":..}}`; the page
//! is the one whose page access token the host adds. Outside the 24-hour window
//! ([`meta::window_open`] on [`Outbound::customer_wrote_at`]) it is refused, and the
//! caller must choose a [`MessageTag`] with [`tagged_request`] (`messaging_type:
//! "MESSAGE_TAG"`): `HUMAN_AGENT` allows an agent's reply up to 7 days after the
//! customer's latest message, the update tags have no time limit but may carry only
//! their non-promotional purpose. [`requests`] sends long replies in parts and
//! attachments by URL.
//!
//! ```
//! use throughline::channels::{messenger, Event};
//! use throughline::TenantId;
//!
//! let body = br#"{"object":"page","entry":[{"id":"1067280970047460","time":1458692752478,
//!   "messaging":[{"sender":{"id":"1254477777772919"},"recipient":{"id":"1067280970047460"},
//!   "timestamp":1458692752478,"message":{"mid":"mid.1457764197618:41d102a3e1ae206a38",
//!   "text":"hello, world!"}}]}]}"#;
//! let events = messenger::parse(body, TenantId::new_v7())?;
//! let Event::Message(msg) = &events[0] else { panic!("a message") };
//! assert_eq!((msg.from.value(), msg.to.as_deref()), ("1254477777772919", Some("1067280970047460")));
//! assert_eq!(msg.body, "hello, world!");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! [`Channel::Messenger`]: crate::Channel::Messenger
//! [`IdentifierKind::Messenger`]: crate::identity::IdentifierKind::Messenger
//! [`Attachment`]: crate::message::Attachment
//! [`Outbound::customer_wrote_at`]: crate::message::Outbound::customer_wrote_at
//! [`ReceiptStatus::Delivered`]: crate::channels::ReceiptStatus::Delivered
//! [`Receipt`]: crate::channels::Receipt

mod inbound;
mod outbound;

use chrono::{DateTime, Utc};

use crate::channels::{meta, Event, Request};
use crate::error::Result;
use crate::id::TenantId;
use crate::message::Outbound;

pub use outbound::{MessageTag, HUMAN_AGENT_WINDOW, MAX_TEXT_CHARS};

/// Reads a Messenger webhook body (already verified with [`meta::verify_signature`])
/// into events; see the [module docs](self) for the mapping.
///
/// # Errors
///
/// [`crate::Error::Invalid`] (field `"messenger webhook"` or the part at fault) for an
/// empty or oversized body (see [`crate::channels::MAX_WEBHOOK_BYTES`]), JSON that is not
/// the documented shape, an `object` other than `page`, a message without `mid` or
/// `sender.id`, a sender id that is not a token, or a timestamp that is not a Unix time.
pub fn parse(raw_body: &[u8], tenant: TenantId) -> Result<Vec<Event>> {
    inbound::parse(raw_body, tenant)
}

/// Checks the size, then the `X-Hub-Signature-256` header (`signature`) against the
/// raw body and `app_secret`, then [`parse`]s.
///
/// # Errors
///
/// As [`meta::verify_signature`] and [`parse`].
pub fn parse_verified(
    raw_body: &[u8],
    signature: &str,
    app_secret: &str,
    tenant: TenantId,
) -> Result<Vec<Event>> {
    crate::channels::check_size("messenger webhook", raw_body)?;
    meta::verify_signature(raw_body, signature, app_secret)?;
    parse(raw_body, tenant)
}

/// A text reply inside the 24-hour window (`messaging_type: "RESPONSE"`) with the whole
/// [`Outbound::body`].
///
/// # Errors
///
/// [`crate::Error::Invalid`] when the window is closed (`customer_wrote_at + 24h <= now`,
/// or never written; the message says to use a tag), the recipient is not a Messenger
/// identifier, or the body is empty or longer than [`MAX_TEXT_CHARS`] (use [`requests`]).
pub fn request(out: &Outbound, now: DateTime<Utc>) -> Result<Request> {
    outbound::request(out, None, now)
}

/// A text reply under a message tag (`messaging_type: "MESSAGE_TAG"`), allowed outside
/// the 24-hour window: [`MessageTag::HumanAgent`] within 7 days of the customer's latest
/// message, the other tags at any time.
///
/// # Errors
///
/// As [`request`], with the tag's window in place of the 24 hours.
pub fn tagged_request(out: &Outbound, tag: MessageTag, now: DateTime<Utc>) -> Result<Request> {
    outbound::request(out, Some(tag), now)
}

/// Every request of a reply, to send in order: one text message per
/// [`Outbound::parts`] item (the body when there are no parts), then one attachment
/// message per attachment (`image`, `video`, `audio` or `file` by content type, by its
/// `http(s)` URL). With `tag`, under the tag's rule as in [`tagged_request`].
///
/// # Errors
///
/// As [`request`] or [`tagged_request`], and for an attachment URL that is not `http(s)`.
pub fn requests(
    out: &Outbound,
    tag: Option<MessageTag>,
    now: DateTime<Utc>,
) -> Result<Vec<Request>> {
    outbound::requests(out, tag, now)
}
