//! E-mail (RFC 5322): a received mail in, an [`Event`] out; an [`Outbound`](crate::Outbound) in, the
//! reply's bytes out.
//!
//! - [`parse`] reads a mail (sender, recipients, subject, ids, date, text, attachments),
//!   separates the new text from the quoted history and signature ([`split_quoted`]),
//!   recognises auto-replies, bulk mail and delivery reports ([`MailKind`]) and computes
//!   the thread hint; [`Mail::into_events`] turns it into an [`Event::Message`] or, for a
//!   bounce, an [`Event::Receipt`].
//! - [`build`] writes an outbound reply whose `Message-ID` is [`message_id`]
//!   (`<{message uuid}@{our_domain}>`): when the customer answers, `In-Reply-To` names it
//!   and [`parse`] gives that UUID as the thread hint, so the reply joins the conversation
//!   even when its subject would start a new one.
//!
//! The host still receives the mail (SMTP, IMAP or a provider's inbound webhook), maps the
//! inbox it was delivered to ([`Mail::inbox`], `Inbound::to`) to a tenant and an inbox,
//! stores attachments (resolving their `url` with [`attachment_content`]) and sends what
//! [`build`] returns.
//!
//! # Example
//!
//! ```
//! use throughline::channels::{email, Event};
//! use throughline::TenantId;
//!
//! let raw = b"From: Ana <ana@example.com>\r\n\
//! To: help@shop.example\r\n\
//! Subject: Re: Order 1042\r\n\
//! Message-ID: <CAB1@mail.example.com>\r\n\
//! In-Reply-To: <0190f5c2-7b3a-7cc1-8a53-3f2b9e0d1a22@mail.shop.example>\r\n\
//! Date: Tue, 1 Dec 2026 10:00:00 +0100\r\n\
//! \r\n\
//! Tuesday works.\r\n\
//! \r\n\
//! On Mon, 30 Nov 2026 at 09:00, Shop <help@shop.example> wrote:\r\n\
//! > Does Tuesday work?\r\n";
//! let mail = email::parse(raw, TenantId::new_v7(), "mail.shop.example")?;
//! assert_eq!(mail.kind, email::MailKind::Human);
//! assert_eq!(mail.body, "Tuesday works.");
//! let Event::Message(inbound) = &mail.into_events()[0] else { panic!() };
//! assert_eq!(inbound.thread_hint.as_deref(), Some("0190f5c2-7b3a-7cc1-8a53-3f2b9e0d1a22"));
//! assert_eq!(inbound.to.as_deref(), Some("help@shop.example"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod auto;
mod body;
mod bounce;
mod build;
mod headers;
mod html;
mod quote;

use chrono::{DateTime, Utc};
use mail_parser::{Message, MessageParser};

pub use bounce::Bounce;
pub use build::{build, message_id};
pub use headers::our_message_id;
pub use html::html_to_text;
pub use quote::split_quoted;

use crate::channel::Channel;
use crate::channels::{Event, Receipt};
use crate::error::{Error, Result};
use crate::id::TenantId;
use crate::identity::Identifier;
use crate::message::{Attachment, Automated, Inbound};
use headers::{bracketed, id_list, mailboxes, raw_header, truncated};

/// The largest mail [`parse`] reads: 25 MB (25 × 1024 × 1024 bytes), the message size
/// limit of the large mail providers. Larger input is refused.
pub const MAX_MAIL_BYTES: usize = 25 * 1024 * 1024;

/// A subject longer than this many bytes is cut (at a character boundary): the longest
/// line RFC 5322 allows, and the longest subject an `Inbound` takes.
const MAX_SUBJECT_BYTES: usize = 998;
/// A display name longer than this many bytes is cut, as `Inbound` takes no longer one.
const MAX_NAME_BYTES: usize = 256;

/// `text` cut to at most `max` bytes at a character boundary.
fn clip(text: &str, max: usize) -> String {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_string()
}

/// What kind of sender a mail came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MailKind {
    /// A person wrote it.
    Human,
    /// An automatic reply: out-of-office, vacation notice, `Auto-Submitted`.
    AutoReply,
    /// Bulk or list traffic (`Precedence: bulk | list | junk`, a list's auto-response).
    Bulk,
    /// A delivery status notification (`multipart/report; report-type=delivery-status`).
    Bounce,
}

/// One address of an address header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mailbox {
    /// The display name, if given.
    pub name: Option<String>,
    /// The address as written.
    pub address: String,
}

/// A parsed mail (see [`parse`]).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Mail {
    /// The tenant it was delivered to.
    pub tenant: TenantId,
    /// Who sent it: a person, an auto-responder, a list, or a mail server's report.
    pub kind: MailKind,
    /// `Message-ID`, in angle brackets.
    pub message_id: String,
    /// `In-Reply-To` (its first id), in angle brackets.
    pub in_reply_to: Option<String>,
    /// `References`, oldest first, each in angle brackets.
    pub references: Vec<String>,
    /// The first `From` mailbox.
    pub from: Mailbox,
    /// `To` recipients.
    pub to: Vec<Mailbox>,
    /// `Cc` recipients.
    pub cc: Vec<Mailbox>,
    /// `Delivered-To` (the topmost one: the final delivery), if present and no longer
    /// than an address can be (254 bytes).
    pub delivered_to: Option<String>,
    /// The decoded subject (cut to 998 bytes).
    pub subject: Option<String>,
    /// `Date` in UTC, when present and valid.
    pub date: Option<DateTime<Utc>>,
    /// The new text (text/plain preferred, else the HTML as text), without quoted
    /// history and signature.
    pub body: String,
    /// The quoted history and signature split from the new text.
    pub quoted: Option<String>,
    /// Attachment references; `url` is `cid:<Content-ID>` or `mail-part:<n>` (see
    /// [`attachment_content`]).
    pub attachments: Vec<Attachment>,
    /// The conversation this mail continues: our message's UUID when `In-Reply-To` or
    /// `References` names one of our mails (`<UUID@our_domain>`), else `In-Reply-To`, else
    /// the last `References` entry.
    pub thread_hint: Option<String>,
    /// For [`MailKind::Bounce`]: what the report says.
    pub bounce: Option<Bounce>,
    /// The sender as an identifier (checked by [`parse`] for every kind but a bounce).
    sender: Option<Identifier>,
    /// The host part of our `Message-ID`s (see [`parse`]): our inboxes are at it or a
    /// domain it belongs to.
    our_domain: String,
}

/// Parses a received mail for `tenant`; `our_domain` is the host part of the
/// `Message-ID`s [`build`] writes (it recognises replies to, and bounces of, our mails).
///
/// # Errors
///
/// [`Error::Invalid`] for input over [`MAX_MAIL_BYTES`] or empty (`mail`), input that is
/// not a mail (`mail`), a mail without a `From` address or whose sender is not an e-mail
/// address (`from`; a bounce's sender is not checked), or without a `Message-ID`
/// (`message_id`). Never panics.
///
/// # Example
///
/// ```
/// use throughline::channels::{email, Event};
/// use throughline::{Automated, TenantId};
///
/// let raw = b"From: Peter <peter@example.com>\r\n\
/// To: help@shop.example\r\n\
/// Subject: Automatic reply: Order 1042\r\n\
/// Auto-Submitted: auto-replied\r\n\
/// Message-ID: <ooo-1@example.com>\r\n\
/// \r\n\
/// I am out of the office until Monday.\r\n";
/// let mail = email::parse(raw, TenantId::new_v7(), "mail.shop.example")?;
/// assert_eq!(mail.kind, email::MailKind::AutoReply);
/// let Event::Message(inbound) = &mail.into_events()[0] else { panic!() };
/// assert_eq!(inbound.automated, Some(Automated::AutoReply));
/// assert!(email::parse(b"no mail at all", TenantId::new_v7(), "mail.shop.example").is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn parse(raw: &[u8], tenant: TenantId, our_domain: &str) -> Result<Mail> {
    if raw.len() > MAX_MAIL_BYTES {
        return Err(Error::invalid(
            "mail",
            format!(
                "{} bytes, the maximum is {MAX_MAIL_BYTES} (25 MB)",
                raw.len()
            ),
        ));
    }
    if raw.iter().all(u8::is_ascii_whitespace) {
        return Err(Error::invalid("mail", "empty input"));
    }
    let msg = MessageParser::new()
        .parse(raw)
        .filter(|m| !m.parts.is_empty() && !m.root_part().headers.is_empty())
        .ok_or_else(|| {
            Error::invalid(
                "mail",
                format!(
                    "not an RFC 5322 message (no header section): {:?}",
                    truncated(&String::from_utf8_lossy(&raw[..raw.len().min(120)]), 80)
                ),
            )
        })?;
    read(&msg, tenant, our_domain)
}

fn read(msg: &Message<'_>, tenant: TenantId, our_domain: &str) -> Result<Mail> {
    let from = first_from(msg)?;
    let message_id = message_id_of(msg)?;
    let in_reply_to = id_list(msg.in_reply_to()).into_iter().next();
    let references = id_list(msg.references());
    let subject = msg.subject().map(|s| clip(s.trim(), MAX_SUBJECT_BYTES));
    let date = msg.date().and_then(headers::utc);
    let kind = kind(msg, subject.as_deref(), &from.address);
    let sender = checked_sender(&from, kind)?;
    let bounce = (kind == MailKind::Bounce).then(|| {
        let mut b = bounce::read(msg, date);
        if b.original_message_id.is_none() {
            b.original_message_id = in_reply_to.clone().or_else(|| references.last().cloned());
        }
        b.message = b
            .original_message_id
            .as_deref()
            .and_then(|id| our_message_id(id, our_domain));
        b
    });
    let (body, quoted) = split_quoted(&body::text(msg));
    Ok(Mail {
        tenant,
        kind,
        thread_hint: headers::thread_hint(in_reply_to.as_deref(), &references, our_domain),
        message_id,
        in_reply_to,
        references,
        from,
        to: mailboxes(msg.to()),
        cc: mailboxes(msg.cc()),
        delivered_to: raw_header(msg, "Delivered-To")
            .map(|v| v.trim_matches(['<', '>', ' ']).to_string())
            .filter(|v| !v.is_empty() && v.len() <= 254),
        subject,
        date,
        body,
        quoted,
        attachments: body::attachments(msg),
        bounce,
        sender,
        our_domain: our_domain.to_ascii_lowercase(),
    })
}

/// The first `From` mailbox, or an error naming what the header held.
fn first_from(msg: &Message<'_>) -> Result<Mailbox> {
    mailboxes(msg.from())
        .into_iter()
        .next()
        .ok_or_else(|| match raw_header(msg, "From") {
            Some(raw) => Error::invalid(
                "from",
                format!(
                    "the From header holds no address: {:?}",
                    truncated(&raw, 80)
                ),
            ),
            None => Error::invalid("from", "the mail has no From header"),
        })
}

/// The `Message-ID` in angle brackets, at most 512 bytes (what an `Inbound` takes).
fn message_id_of(msg: &Message<'_>) -> Result<String> {
    let id = msg
        .message_id()
        .map(bracketed)
        .filter(|id| id.len() > 2)
        .ok_or_else(|| Error::invalid("message_id", "the mail has no Message-ID header"))?;
    if id.len() > 512 {
        return Err(Error::invalid(
            "message_id",
            format!("{} bytes, the maximum is 512", id.len()),
        ));
    }
    Ok(id)
}

/// The sender as an e-mail identifier; a bounce from a server without a valid address
/// has none, any other mail is refused.
fn checked_sender(from: &Mailbox, kind: MailKind) -> Result<Option<Identifier>> {
    match Identifier::email(&from.address) {
        Ok(id) => Ok(Some(id)),
        Err(_) if kind == MailKind::Bounce => Ok(None),
        Err(e) => Err(Error::invalid(
            "from",
            format!(
                "{:?} is not an e-mail address: {e}",
                truncated(&from.address, 80)
            ),
        )),
    }
}

fn kind(msg: &Message<'_>, subject: Option<&str>, from: &str) -> MailKind {
    if bounce::is_report(msg) {
        return MailKind::Bounce;
    }
    let auto_submitted = raw_header(msg, "Auto-Submitted");
    let x_autoreply = raw_header(msg, "X-Autoreply");
    let x_autorespond = raw_header(msg, "X-Autorespond");
    let precedence = raw_header(msg, "Precedence");
    auto::classify(&auto::Signals {
        auto_submitted: auto_submitted.as_deref(),
        x_autoreply: x_autoreply.as_deref(),
        x_autorespond: x_autorespond.as_deref(),
        precedence: precedence.as_deref(),
        list: raw_header(msg, "List-Id").is_some() || raw_header(msg, "List-Unsubscribe").is_some(),
        subject,
        null_sender: raw_header(msg, "Return-Path").is_some_and(|v| v.replace(' ', "") == "<>"),
        from: Some(from),
    })
}

impl Mail {
    /// The inbox the mail was delivered to: `Delivered-To` if present (the receiving
    /// server writes it), else the first `To` or `Cc` address at our domain (`our_domain`
    /// of [`parse`], its parent domain or a subdomain of it). The sender writes `To` and
    /// `Cc`, so an address at another domain (a friend in `To`, support in `Cc`) is
    /// never taken for ours: then there is none, and replies go out from the host's
    /// default.
    pub fn inbox(&self) -> Option<&str> {
        if let Some(d) = self.delivered_to.as_deref() {
            return Some(d);
        }
        let ours = |address: &str| {
            let domain = address.rsplit_once('@').map_or("", |(_, d)| d);
            let domain = domain.to_ascii_lowercase();
            let our = self.our_domain.as_str();
            !domain.is_empty()
                && (domain == our
                    || our.ends_with(&format!(".{domain}"))
                    || domain.ends_with(&format!(".{our}")))
        };
        self.to
            .iter()
            .chain(&self.cc)
            .map(|m| m.address.as_str())
            .find(|a| ours(a))
    }

    /// The sender as an e-mail identifier (`None` only for a bounce from a server without
    /// a valid address).
    pub fn sender(&self) -> Option<&Identifier> {
        self.sender.as_ref()
    }

    /// The events for the `Desk`.
    ///
    /// A human, auto-reply or bulk mail is one [`Event::Message`]: `external_id` the
    /// `Message-ID`, `body` the new text, `quoted` the history and signature,
    /// `to` [`Mail::inbox`], and `automated` set for [`MailKind::AutoReply`] and
    /// [`MailKind::Bulk`]. A bounce is one [`Event::Receipt`] for the returned message
    /// (`provider_id` its `Message-ID`, `message` our id when it is ours, the status from
    /// [`Bounce::receipt_status`] and the error from [`Bounce::error`]); a bounce that
    /// names no returned message, or only reports a delay, gives no event.
    pub fn into_events(self) -> Vec<Event> {
        if self.kind == MailKind::Bounce {
            return self.receipt().map(Event::Receipt).into_iter().collect();
        }
        let Some(from) = self.sender.clone() else {
            return Vec::new();
        };
        let mut inbound = Inbound::new(
            self.tenant,
            Channel::Email,
            from,
            self.message_id.clone(),
            self.body.clone(),
        );
        if let Some(inbox) = self.inbox().filter(|i| i.len() <= 254) {
            inbound = inbound.to(inbox);
        }
        let Mail {
            kind,
            from,
            subject,
            date,
            quoted,
            attachments,
            thread_hint,
            ..
        } = self;
        inbound.display_name = from.name.map(|n| clip(&n, MAX_NAME_BYTES));
        inbound.subject = subject;
        inbound.sent_at = date;
        inbound.quoted = quoted;
        inbound.attachments = attachments;
        inbound.thread_hint = thread_hint;
        inbound.automated = match kind {
            MailKind::AutoReply => Some(Automated::AutoReply),
            MailKind::Bulk => Some(Automated::Bulk),
            _ => None,
        };
        vec![Event::Message(Box::new(inbound))]
    }

    fn receipt(&self) -> Option<Receipt> {
        let bounce = self.bounce.as_ref()?;
        Some(Receipt {
            provider_id: bounce.original_message_id.clone()?,
            message: bounce.message,
            status: bounce.receipt_status()?,
            at: bounce.at,
            error: bounce.error(),
        })
    }
}

/// The decoded content of the attachment a [`Mail`]'s attachment `url` names, read from
/// the same raw mail: `cid:<Content-ID>` or `mail-part:<n>`, `n` being the part's position
/// in the mail's MIME tree in depth-first order, the root being 0 (the numbering
/// `mail-parser` uses).
///
/// # Errors
///
/// [`Error::Invalid`] when the mail cannot be parsed (`mail`) or names no such
/// attachment (`url`).
pub fn attachment_content(raw: &[u8], url: &str) -> Result<Vec<u8>> {
    if raw.len() > MAX_MAIL_BYTES {
        return Err(Error::invalid(
            "mail",
            format!(
                "{} bytes, the maximum is {MAX_MAIL_BYTES} (25 MB)",
                raw.len()
            ),
        ));
    }
    let msg = MessageParser::new()
        .parse(raw)
        .filter(|m| !m.parts.is_empty())
        .ok_or_else(|| Error::invalid("mail", "not an RFC 5322 message"))?;
    body::find(&msg, url).map(<[u8]>::to_vec).ok_or_else(|| {
        Error::invalid(
            "url",
            format!("the mail has no attachment {:?}", truncated(url, 80)),
        )
    })
}
