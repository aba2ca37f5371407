//! SMS (and Twilio's WhatsApp) through Twilio: signed webhooks in, Messages API requests
//! out.
//!
//! Sans-IO, like every adapter: the host receives the webhook, hands this module the URL
//! Twilio requested, the `X-Twilio-Signature` header and the raw form body, gives the
//! resulting events to the `Desk`, and sends the requests [`request`] builds with its own
//! credentials.
//!
//! | step | function |
//! |---|---|
//! | check the signature | [`verify_body`] (or [`verify`] over decoded parameters) |
//! | read an incoming message or status callback | [`parse`] (or [`parse_params`]) |
//! | both at once, decoding the body once | [`parse_signed`] |
//! | recognise STOP / START / HELP | [`keyword`] (applied by [`parse`] on SMS) |
//! | send a reply | [`request`] |
//! | tag a status callback URL with our message id, read it back | [`with_message_param`], [`parse_status_callback_url`] |
//! | sign a payload (tests, forwarding hosts) | [`sign`] |
//!
//! ```
//! use throughline::channels::{twilio, Event};
//! use throughline::TenantId;
//! let url = "https://support.example.com/twilio/sms";
//! let body = b"MessageSid=SM0123456789abcdef0123456789abcdef&From=%2B14155552671\
//!              &To=%2B14155550100&Body=STOP&NumMedia=0";
//! // What Twilio would send in X-Twilio-Signature for this body:
//! let params: Vec<(String, String)> = form_urlencoded::parse(body).into_owned().collect();
//! let signature = twilio::sign(url, &params, "auth-token");
//!
//! twilio::verify_body(url, body, &signature, "auth-token")?;
//! let events = twilio::parse(body, TenantId::new_v7(), chrono::DateTime::UNIX_EPOCH)?;
//! // The opt-out comes first, so a host that handles events in order records it before
//! // the message can trigger anything that sends.
//! assert!(matches!(&events[0], Event::Consent(c) if c.opted_out));
//! assert!(matches!(&events[1], Event::Message(m) if m.body == "STOP"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod callback;
mod form;
mod inbound;
mod keyword;
mod media;
mod outbound;
mod signature;
pub mod status;

pub use callback::{parse_status_callback_url, with_message_param, MESSAGE_PARAM};
pub use inbound::{parse, parse_params, parse_signed, MAX_MEDIA};
pub use keyword::{keyword, Keyword};
pub use outbound::{request, API_BASE, MAX_BODY_CHARS, MAX_MEDIA_URLS};
pub use signature::{sign, verify, verify_body, SIGNATURE_HEADER};
