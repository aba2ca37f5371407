//! Messages: what arrives from a channel ([`Inbound`]), what goes out ([`Outbound`]) and
//! what is stored ([`Message`]).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::channel::Channel;
use crate::error::{Error, Result};
use crate::id::{AgentId, ConversationId, CustomerId, MessageId, TenantId};
use crate::identity::Identifier;

/// Which way a message travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Direction {
    /// From the customer to the company.
    Inbound,
    /// From the company to the customer.
    Outbound,
    /// An internal note between agents; never sent to the customer.
    Note,
    /// An agent's operation on the conversation (assigned, transferred, ...), recorded in
    /// its timeline ([`Message::event`]); never sent to the customer.
    Event,
}

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "id")]
#[non_exhaustive]
pub enum Author {
    /// The customer.
    Customer(CustomerId),
    /// A human agent.
    Agent(AgentId),
    /// A bot account (its replies never count as human replies).
    Bot(AgentId),
    /// The system itself (automations, notices).
    System,
}

impl Author {
    /// True for a human agent.
    pub fn is_human_agent(&self) -> bool {
        matches!(self, Author::Agent(_))
    }
}

/// A reference to a file the host stores; the core keeps only its description.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    /// File name as the customer sent it.
    pub name: String,
    /// MIME type, for example `image/jpeg`.
    pub content_type: String,
    /// Size in bytes.
    pub size: u64,
    /// Where the host keeps it (URL or storage key).
    pub url: String,
}

/// Delivery state of an outbound message, kept in the outbox until the host confirms.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "state")]
#[non_exhaustive]
pub enum Delivery {
    /// Handed to the host as [`crate::Effect::Send`], not yet confirmed.
    Pending,
    /// The host's transport accepted it.
    Sent {
        /// The provider's id for the sent message, if any.
        provider_id: Option<String>,
        /// When the host confirmed.
        at: DateTime<Utc>,
    },
    /// The provider delivered it to the customer's device.
    Delivered {
        /// The provider's id for the sent message, if any.
        provider_id: Option<String>,
        /// When the provider says it was delivered.
        at: DateTime<Utc>,
    },
    /// The customer read it.
    Read {
        /// The provider's id for the sent message, if any.
        provider_id: Option<String>,
        /// When the provider says it was read.
        at: DateTime<Utc>,
    },
    /// The host's transport could not send it; it is sent again at `next_at` (the
    /// [`crate::delivery::RetryPolicy`]).
    Retrying {
        /// Failed attempts so far.
        failures: u32,
        /// What the transport reported last.
        reason: String,
        /// When it is sent again (a [`crate::Desk::tick`] then returns its
        /// [`crate::Effect::Send`]).
        next_at: DateTime<Utc>,
    },
    /// The transport or the provider gave up.
    Failed {
        /// What the transport reported.
        reason: String,
        /// When the host reported it.
        at: DateTime<Utc>,
    },
}

/// A stored message, as shown in a conversation or a customer's timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// The message's id.
    pub id: MessageId,
    /// Its tenant.
    pub tenant: TenantId,
    /// The conversation it belongs to.
    pub conversation: ConversationId,
    /// The channel it came in or went out on (notes: the conversation's channel at the time).
    pub channel: Channel,
    /// Inbound, outbound or internal note.
    pub direction: Direction,
    /// Who wrote it.
    pub author: Author,
    /// The text, exactly as received or written.
    pub body: String,
    /// References to attached files.
    pub attachments: Vec<Attachment>,
    /// Inbound: the identifier it came from. Outbound: the identifier it is sent to.
    pub counterpart: Option<Identifier>,
    /// The provider's id of an inbound message (the deduplication key with tenant and channel).
    pub external_id: Option<String>,
    /// A threading key other messages may refer to (an e-mail's Message-ID, for example).
    pub thread_key: Option<String>,
    /// Inbound: the address, number or page it was sent to ([`Inbound::to`]); replies go
    /// out from it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inbox: Option<String>,
    /// Inbound: the quoted history and signature separated from the new text
    /// ([`Inbound::quoted`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quoted: Option<String>,
    /// Inbound: why it counts as machine-sent, if it does ([`Inbound::automated`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub automated: Option<Automated>,
    /// [`Direction::Event`]: the operation recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<crate::conversation::ConversationEvent>,
    /// When it was sent (the provider's time for inbound; clamped to `received_at`).
    pub sent_at: DateTime<Utc>,
    /// When the core received or created it.
    pub received_at: DateTime<Utc>,
    /// Detected language (ISO 639-1 code where one exists), when known.
    pub language: Option<String>,
    /// Outbound only: delivery state.
    pub delivery: Option<Delivery>,
}

impl Message {
    /// The key messages are ordered by in timelines: sent time, then received time, then id.
    pub fn order_key(&self) -> (DateTime<Utc>, DateTime<Utc>, MessageId) {
        (self.sent_at, self.received_at, self.id)
    }
}

/// What a channel delivered: hand it to `Desk::ingest`.
///
/// ```
/// use throughline::{Channel, Identifier, Inbound, TenantId};
/// let tenant = TenantId::new_v7();
/// let msg = Inbound::new(tenant, Channel::Email, Identifier::email("ana@example.com")?,
///                        "<abc@mail.example.com>", "Any news on my return?")
///     .subject("Return of order 1042")
///     .thread_hint("<first@mail.example.com>");
/// assert_eq!(msg.external_id, "<abc@mail.example.com>");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Inbound {
    /// The tenant it was delivered to.
    pub tenant: TenantId,
    /// The channel it came in on.
    pub channel: Channel,
    /// The sender's identifier on that channel.
    pub from: Identifier,
    /// Further identifiers the host knows for this sender (a logged-in chat visitor's
    /// e-mail, for example).
    pub also: Vec<Identifier>,
    /// The provider's message id: `(tenant, channel, external_id)` deduplicates.
    pub external_id: String,
    /// The text.
    pub body: String,
    /// Attachment references.
    pub attachments: Vec<Attachment>,
    /// A hint to the conversation it continues (In-Reply-To, a provider's thread id).
    /// Untrusted: followed only to a conversation of the same customer.
    pub thread_hint: Option<String>,
    /// The provider's send time; defaults to the ingest time.
    pub sent_at: Option<DateTime<Utc>>,
    /// The subject line (e-mail, forms).
    pub subject: Option<String>,
    /// The sender's display name, if the channel gives one.
    pub display_name: Option<String>,
    /// A locale hint from the channel (for example a chat widget's page language).
    pub locale: Option<String>,
    /// The address, number or page it was sent to (`support@brand.example`, `+15005550006`,
    /// a page id): the host maps it to a tenant and an inbox, and replies go out from it.
    #[serde(default)]
    pub to: Option<String>,
    /// The quoted history and signature the channel adapter separated from the new text in
    /// [`Inbound::body`]; kept with the message, never shown as new text.
    #[serde(default)]
    pub quoted: Option<String>,
    /// Set when a machine sent it (an out-of-office, a mailing-list auto-response): it never
    /// reopens a conversation, moves an SLA clock or triggers a bot answer.
    #[serde(default)]
    pub automated: Option<Automated>,
    /// The host says the message starts a new topic (a "new request" button in the chat
    /// widget, a form for another order). Under
    /// [`ThreadingPolicy::PerTopic`](crate::ThreadingPolicy::PerTopic) it opens a new
    /// conversation beside the customer's open one; under the default
    /// [`ThreadingPolicy::Bundle`](crate::ThreadingPolicy::Bundle) it is ignored. A thread
    /// hint that leads into one of the customer's conversations still wins.
    #[serde(default)]
    pub new_topic: bool,
}

/// Why an inbound message counts as machine-sent (see [`Inbound::automated`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Automated {
    /// An automatic reply: out-of-office, vacation notice, `Auto-Submitted: auto-replied`.
    AutoReply,
    /// Bulk or list traffic: `Precedence: bulk | list | junk`, a mailing-list auto-response.
    Bulk,
}

impl Inbound {
    /// A message from `from` on `channel` with the provider id `external_id`.
    pub fn new(
        tenant: TenantId,
        channel: Channel,
        from: Identifier,
        external_id: impl Into<String>,
        body: impl Into<String>,
    ) -> Self {
        Inbound {
            tenant,
            channel,
            from,
            also: Vec::new(),
            external_id: external_id.into(),
            body: body.into(),
            attachments: Vec::new(),
            thread_hint: None,
            sent_at: None,
            subject: None,
            display_name: None,
            locale: None,
            to: None,
            quoted: None,
            automated: None,
            new_topic: false,
        }
    }

    /// Sets the address, number or page the message was sent to.
    pub fn to(mut self, to: impl Into<String>) -> Self {
        self.to = Some(to.into());
        self
    }

    /// Sets the quoted history and signature separated from the new text.
    pub fn quoted(mut self, quoted: impl Into<String>) -> Self {
        self.quoted = Some(quoted.into());
        self
    }

    /// Marks the message as machine-sent.
    pub fn automated(mut self, why: Automated) -> Self {
        self.automated = Some(why);
        self
    }

    /// Marks the message as the start of a new topic (see [`Inbound::new_topic`]).
    ///
    /// ```
    /// use throughline::{Channel, Desk, DeskConfig, Identifier, Inbound, TenantId, ThreadingPolicy};
    /// let t0 = chrono::DateTime::parse_from_rfc3339("2026-03-02T09:00:00Z")?.to_utc();
    /// let tenant = TenantId::new_v7();
    /// let config = DeskConfig::default().threading(ThreadingPolicy::PerTopic);
    /// let mut desk = Desk::new(throughline::store::MemoryStore::new(), config);
    /// let ana = Identifier::email("ana@example.com")?;
    /// let chat = |id, body| Inbound::new(tenant, Channel::WebChat, ana.clone(), id, body);
    /// let first = desk.ingest(chat("c1", "My parcel is late"), t0)?;
    /// let second = desk.ingest(chat("c2", "Also: can I change my address?").new_topic(), t0)?;
    /// assert_ne!(second.conversation, first.conversation);
    /// assert_eq!(desk.conversation((tenant, second.conversation))?.related, Some(first.conversation));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new_topic(mut self) -> Self {
        self.new_topic = true;
        self
    }

    /// Sets the provider's send time.
    pub fn sent_at(mut self, at: DateTime<Utc>) -> Self {
        self.sent_at = Some(at);
        self
    }

    /// Sets the threading hint.
    pub fn thread_hint(mut self, hint: impl Into<String>) -> Self {
        self.thread_hint = Some(hint.into());
        self
    }

    /// Adds another identifier of the sender.
    pub fn also(mut self, identifier: Identifier) -> Self {
        self.also.push(identifier);
        self
    }

    /// Adds an attachment reference.
    pub fn attachment(mut self, attachment: Attachment) -> Self {
        self.attachments.push(attachment);
        self
    }

    /// Sets the subject.
    pub fn subject(mut self, subject: impl Into<String>) -> Self {
        self.subject = Some(subject.into());
        self
    }

    /// Sets the sender's display name.
    pub fn display_name(mut self, name: impl Into<String>) -> Self {
        self.display_name = Some(name.into());
        self
    }

    /// Sets the channel's locale hint (a language code such as `"nl"` or `"pt-BR"`).
    pub fn locale(mut self, locale: impl Into<String>) -> Self {
        self.locale = Some(locale.into());
        self
    }

    /// Checks everything that does not need the store.
    pub(crate) fn validate(&self, max_body_bytes: usize) -> Result<()> {
        validate_body(&self.body, &self.attachments, max_body_bytes)?;
        if let Some(q) = &self.quoted {
            if q.len() > max_body_bytes {
                return Err(Error::BodyTooLarge {
                    len: q.len(),
                    limit: max_body_bytes,
                });
            }
        }
        if self.also.len() > MAX_ALSO {
            return Err(Error::invalid(
                "also",
                format!(
                    "{} further identifiers, the maximum is {MAX_ALSO}",
                    self.also.len()
                ),
            ));
        }
        let ext = &self.external_id;
        if ext.trim().is_empty() {
            return Err(Error::invalid("external_id", "empty provider message id"));
        }
        if ext.len() > 512 {
            return Err(Error::invalid(
                "external_id",
                format!("{} bytes, the maximum is 512", ext.len()),
            ));
        }
        for (field, v) in [
            ("external_id", Some(ext)),
            ("thread_hint", self.thread_hint.as_ref()),
        ] {
            if v.is_some_and(|v| v.contains('\0')) {
                return Err(Error::invalid(field, "contains a NUL character"));
            }
        }
        if let Some(h) = &self.thread_hint {
            if h.len() > 998 {
                return Err(Error::invalid(
                    "thread_hint",
                    format!("{} bytes, the maximum is 998", h.len()),
                ));
            }
        }
        for (field, v, max) in [
            ("subject", &self.subject, 998),
            ("display_name", &self.display_name, 256),
            ("locale", &self.locale, 35),
            ("to", &self.to, 998),
        ] {
            if let Some(v) = v {
                if v.len() > max {
                    return Err(Error::invalid(
                        field,
                        format!("{} bytes, the maximum is {max}", v.len()),
                    ));
                }
            }
        }
        Ok(())
    }
}

/// The most further identifiers an [`Inbound`] carries ([`Inbound::also`]).
pub const MAX_ALSO: usize = 20;

/// Checks a body and its attachments against the size limit.
pub(crate) fn validate_body(body: &str, attachments: &[Attachment], max: usize) -> Result<()> {
    if body.trim().is_empty() && attachments.is_empty() {
        return Err(Error::invalid(
            "body",
            "empty message (no text, no attachments)",
        ));
    }
    if body.len() > max {
        return Err(Error::BodyTooLarge {
            len: body.len(),
            limit: max,
        });
    }
    if body.contains('\0') {
        return Err(Error::invalid("body", "contains a NUL character"));
    }
    if attachments.len() > 100 {
        return Err(Error::invalid(
            "attachments",
            format!("{} attachments, the maximum is 100", attachments.len()),
        ));
    }
    for a in attachments {
        if a.url.trim().is_empty() {
            return Err(Error::invalid(
                "attachments",
                format!("attachment {:?} has no url", a.name),
            ));
        }
        for (what, v, max) in [
            ("name", &a.name, 255),
            ("content type", &a.content_type, 255),
            ("url", &a.url, 4096),
        ] {
            if v.len() > max {
                return Err(Error::invalid(
                    "attachments",
                    format!(
                        "an attachment's {what} has {} bytes, the maximum is {max}",
                        v.len()
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// A message for the host's transport to send, returned as [`crate::Effect::Send`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outbound {
    /// The tenant.
    pub tenant: TenantId,
    /// The conversation it belongs to.
    pub conversation: ConversationId,
    /// The stored outbound message (confirm delivery with this id).
    pub message: MessageId,
    /// The channel to send on.
    pub channel: Channel,
    /// The recipient.
    pub to: Identifier,
    /// The text.
    pub body: String,
    /// The text as the channel accepts it: one part when it fits, else pieces with
    /// continuation markers (see [`crate::text::render`]); send each as a message.
    pub parts: Vec<String>,
    /// Attachment references.
    pub attachments: Vec<Attachment>,
    /// The thread key of the customer's latest message on this channel, for reply
    /// headers (e-mail In-Reply-To).
    pub in_reply_to: Option<String>,
    /// The conversation's subject, if any.
    pub subject: Option<String>,
    /// The inbox to send from: the address, number or page the customer's latest message on
    /// this channel was sent to ([`Inbound::to`]), when known.
    pub from: Option<String>,
    /// When the customer last wrote on this channel: the start of a messaging window
    /// (WhatsApp's and Messenger's 24 hours).
    pub customer_wrote_at: Option<DateTime<Utc>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A NUL is refused up front: PostgreSQL cannot store it, so a webhook carrying one
    /// would fail forever.
    #[test]
    fn a_nul_in_a_provider_id_or_hint_is_refused() {
        let tenant = TenantId::new_v7();
        let from = Identifier::email("ana@example.com").unwrap();
        let ok = Inbound::new(tenant, Channel::Sms, from.clone(), "SM1", "hi");
        assert!(ok.validate(1024).is_ok());
        let ext = Inbound::new(tenant, Channel::Sms, from.clone(), "SM\0-1", "hi");
        assert!(matches!(
            ext.validate(1024),
            Err(Error::Invalid {
                field: "external_id",
                ..
            })
        ));
        let hint = ok.clone().thread_hint("<a\0b@x>");
        assert!(matches!(
            hint.validate(1024),
            Err(Error::Invalid {
                field: "thread_hint",
                ..
            })
        ));
    }
}
