//! WhatsApp Cloud API: the signed webhook in, [`Event`]s out; an [`Outbound`] in, the
//! Graph API message [`Request`] out.
//!
//! # Inbound
//!
//! The host answers the subscription `GET` with [`meta::handshake`], and for each `POST`
//! calls [`parse_verified`] with the raw body, the `X-Hub-Signature-256` header and the
//! app secret (or [`meta::verify_signature`] then [`parse`]). Every
//! `entry[].changes[].value` is read:
//!
//! - each `messages[]` item becomes an [`Event::Message`] on [`Channel::WhatsApp`]:
//!   - `from`: [`Identifier::whatsapp`] of the sender's `wa_id`, **and** the same number as
//!     an [`Identifier::phone`] in [`Inbound::also`], so SMS and WhatsApp from one number
//!     reach one customer (a Brazilian `wa_id` without the mobile ninth digit gets it, as
//!     phone numbers do; a `wa_id` of 8 to 15 digits in a range the phone-number rules do
//!     not know yet is kept as `+digits` rather than refusing the webhook);
//!   - `external_id`: the `wamid` (a redelivered webhook repeats it; the `Desk`
//!     deduplicates); `sent_at`: `timestamp` (Unix seconds);
//!   - `display_name`: `contacts[].profile.name` of the contact with the sender's `wa_id`;
//!   - `to`: `metadata.phone_number_id`, the business number's Graph API id (not the
//!     display number): the host maps it to a tenant and inbox, and it comes back as
//!     [`Outbound::from`], which is what [`request`] needs to send the reply;
//!   - `thread_hint`: `context.id`, the message a reply quotes (for a reaction: the
//!     message reacted to);
//!   - the body by type: `text.body`; the caption of `image`, `video`, `audio`, `document`
//!     and `sticker` (empty without one), whose media becomes an [`Attachment`] named by
//!     its filename, else its caption, else `<type>-<media id>`, with the `mime_type`,
//!     size 0 (unknown) and url `whatsapp-media:<media id>` ([`MEDIA_URL_PREFIX`]): the
//!     host downloads it (`GET /{media-id}`) with its access token; `location` as
//!     `Location: name, address (lat, long)`; an `interactive` `button_reply` or
//!     `list_reply` as the chosen title (its developer-defined id is not kept); a
//!     template quick-reply `button` as its text; a `reaction` as `Reaction: 👍`;
//!   - any other type (`contacts`, `order`, `system`, `unsupported`, ...) is **kept**, as
//!     a message whose body names the type (and Meta's error title, when given), so the
//!     agent sees that something arrived; it is never dropped silently.
//! - each `statuses[]` item with status `sent`, `delivered`, `read` or `failed` becomes
//!   an [`Event::Receipt`] (`provider_id`: the `wamid` of our message; a failure's error:
//!   `"<code> <title>: <details>"` of each `errors[]` item). Other statuses (`deleted`,
//!   `warning`) are skipped.
//! - changes without `messages` or `statuses` (template and account updates) yield
//!   nothing.
//!
//! # Outbound
//!
//! [`request`] builds `POST https://graph.facebook.com/v21.0/{phone_number_id}/messages`
//! with a text message (and `context.message_id` when [`Outbound::in_reply_to`] is set);
//! [`requests`] builds every part of a long reply plus one media message per attachment.
//! Both refuse a free-form message outside the 24-hour customer-service window
//! ([`meta::window_open`] on [`Outbound::customer_wrote_at`]) with an error saying a
//! template message is required; [`template_request`] sends an approved [`Template`] at
//! any time. The host adds `Authorization: Bearer <token>` and sends.
//!
//! ```
//! use throughline::channels::{whatsapp, Event};
//! use throughline::TenantId;
//!
//! let body = br#"{"object":"whatsapp_business_account","entry":[{"id":"102290129340398",
//!   "changes":[{"field":"messages","value":{"messaging_product":"whatsapp",
//!   "metadata":{"display_phone_number":"15550783881","phone_number_id":"106540352242922"},
//!   "contacts":[{"profile":{"name":"Sheena Nelson"},"wa_id":"16505551234"}],
//!   "messages":[{"from":"16505551234","id":"wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=",
//!   "timestamp":"1749416383","type":"text","text":{"body":"Does it come in another color?"}}]}}]}]}"#;
//! let events = whatsapp::parse(body, TenantId::new_v7())?;
//! let Event::Message(msg) = &events[0] else { panic!("a message") };
//! assert_eq!(msg.from.value(), "+16505551234");
//! assert_eq!(msg.also[0].value(), "+16505551234"); // the same number as a phone
//! assert_eq!(msg.display_name.as_deref(), Some("Sheena Nelson"));
//! assert_eq!(msg.to.as_deref(), Some("106540352242922"));
//!
//! // Outside the 24-hour window only a template message goes out.
//! let template = whatsapp::Template::new("order_update", "en_US").parameter("Sheena");
//! let req = whatsapp::template_request(&msg.from, "106540352242922", &template)?;
//! assert_eq!(req.url, "https://graph.facebook.com/v21.0/106540352242922/messages");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! [`Channel::WhatsApp`]: crate::Channel::WhatsApp
//! [`Identifier::whatsapp`]: crate::Identifier::whatsapp
//! [`Identifier::phone`]: crate::Identifier::phone
//! [`Inbound::also`]: crate::Inbound::also
//! [`Outbound::from`]: crate::message::Outbound::from
//! [`Outbound::in_reply_to`]: crate::message::Outbound::in_reply_to
//! [`Outbound::customer_wrote_at`]: crate::message::Outbound::customer_wrote_at
//! [`Attachment`]: crate::message::Attachment

mod inbound;
mod outbound;
mod payload;

use chrono::{DateTime, Utc};

use crate::channels::{meta, Event, Request};
use crate::error::Result;
use crate::id::TenantId;
use crate::identity::Identifier;
use crate::message::Outbound;

pub use inbound::MEDIA_URL_PREFIX;
pub use outbound::{Template, MAX_TEXT_CHARS};

/// Reads a WhatsApp Cloud API webhook body (already verified with
/// [`meta::verify_signature`]) into events; see the [module docs](self) for the mapping.
///
/// # Errors
///
/// [`crate::Error::Invalid`] (field `"whatsapp webhook"` or the part at fault) for an
/// empty or oversized body (see [`crate::channels::MAX_WEBHOOK_BYTES`]), JSON that is not
/// the documented shape, an `object` other than `whatsapp_business_account`, a message
/// without the object its type names, a sender that is not a phone number, or a
/// timestamp that is not Unix seconds. Nothing is returned for the other items then: the
/// host answers with an error and Meta redelivers.
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
    crate::channels::check_size("whatsapp webhook", raw_body)?;
    meta::verify_signature(raw_body, signature, app_secret)?;
    parse(raw_body, tenant)
}

/// A text reply: `POST .../{phone_number_id}/messages` with the whole
/// [`Outbound::body`] as one text message, quoting [`Outbound::in_reply_to`] as
/// `context.message_id` when set. `phone_number_id` is the business number's id (what
/// [`parse`] put in `Inbound::to`, so usually [`Outbound::from`]).
///
/// # Errors
///
/// [`crate::Error::Invalid`] when the 24-hour window is closed
/// (`customer_wrote_at + 24h <= now`, or never written: "a template message is
/// required"), the recipient is not a WhatsApp or phone identifier, `phone_number_id` is
/// not digits, the body is empty or longer than [`MAX_TEXT_CHARS`] (use [`requests`]).
pub fn request(out: &Outbound, phone_number_id: &str, now: DateTime<Utc>) -> Result<Request> {
    outbound::request(out, phone_number_id, now)
}

/// Every request of a reply, to send in order: one text message per
/// [`Outbound::parts`] item (the body when there are no parts; the first quotes
/// `in_reply_to`), then one `image`, `video`, `audio` or `document` message per
/// attachment (by content type), referenced by media `id` when its url is
/// `whatsapp-media:<id>`, else by `link`.
///
/// # Errors
///
/// As [`request`], and for an attachment url that is neither `http(s)` nor
/// `whatsapp-media:<id>`.
pub fn requests(out: &Outbound, phone_number_id: &str, now: DateTime<Utc>) -> Result<Vec<Request>> {
    outbound::requests(out, phone_number_id, now)
}

/// A template message, allowed at any time: `{"type":"template","template":{"name":..,
/// "language":{"code":..},"components":[{"type":"body","parameters":[{"type":"text",
/// "text":..}]}]}}` (no `components` without parameters).
///
/// # Errors
///
/// [`crate::Error::Invalid`] for an empty name or language, an empty parameter, a
/// recipient that is not a WhatsApp or phone identifier, or a `phone_number_id` that is
/// not digits.
pub fn template_request(
    to: &Identifier,
    phone_number_id: &str,
    template: &Template,
) -> Result<Request> {
    outbound::template_request(to, phone_number_id, template)
}
