//! What agents and hosts do to conversations: replies, notes, status changes, delivery
//! confirmations, and linking identifiers.

use chrono::{DateTime, Utc};

use crate::channel::Channel;
use crate::conversation::{Conversation, ConversationEvent, Status};
use crate::desk::ingest::thread_key;
use crate::desk::pipeline::{Event, Step};
use crate::desk::{ConversationRef, Desk};
use crate::effect::Effect;
use crate::error::{Error, Result};
use crate::id::{AgentId, CustomerId, MessageId, TenantId};
use crate::identity::{Identifier, IdentifierRecord};
use crate::message::{validate_body, Attachment, Author, Delivery, Direction, Message};
use crate::outbound;
use crate::store::{ChangeSet, Op, Store};

/// A reply with every option; [`Desk::reply`] is the short form.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplyOptions {
    /// Who writes: a human agent or a bot (bot replies never count as human replies).
    pub author: Author,
    /// The text.
    pub body: String,
    /// The channel to answer on; `None` for the customer's latest inbound channel.
    pub channel: Option<Channel>,
    /// Attachment references.
    pub attachments: Vec<Attachment>,
    /// A status the conversation takes with the reply, in the same operation ("submit as
    /// solved"); `None` keeps it.
    pub submit_as: Option<Status>,
}

impl ReplyOptions {
    /// A reply by a human agent on the default channel.
    pub fn new(agent: AgentId, body: impl Into<String>) -> Self {
        ReplyOptions {
            author: Author::Agent(agent),
            body: body.into(),
            channel: None,
            attachments: Vec::new(),
            submit_as: None,
        }
    }

    /// A reply written by a bot account.
    pub fn bot(bot: AgentId, body: impl Into<String>) -> Self {
        ReplyOptions {
            author: Author::Bot(bot),
            ..ReplyOptions::new(bot, body)
        }
    }

    /// Answers on `channel` instead of the customer's latest one.
    pub fn on(mut self, channel: Channel) -> Self {
        self.channel = Some(channel);
        self
    }

    /// Adds an attachment reference.
    pub fn attachment(mut self, attachment: Attachment) -> Self {
        self.attachments.push(attachment);
        self
    }

    /// Sets the conversation's status with the reply, in one operation, as an agent's
    /// "submit as solved" does: the reply and the status change are written together (one
    /// transaction), and the effects, SLA clocks and metrics are those of the reply
    /// followed by [`Desk::set_status`] at the same instant. A status the lifecycle does
    /// not allow from where the reply leaves the conversation fails the whole operation
    /// with [`Error::InvalidTransition`], and nothing is written.
    ///
    /// ```
    /// use throughline::{AgentId, Channel, Desk, DeskConfig, Effect, Identifier, Inbound, ReplyOptions, Status, TenantId};
    /// let mut desk = Desk::new(throughline::store::MemoryStore::new(), DeskConfig::default());
    /// let tenant = TenantId::new_v7();
    /// let t0 = chrono::DateTime::parse_from_rfc3339("2026-03-02T09:00:00Z")?.to_utc();
    /// let from = Identifier::email("ana@example.com")?;
    /// let got = desk.ingest(Inbound::new(tenant, Channel::Email, from, "m1", "Where is my parcel?"), t0)?;
    /// let agent = AgentId::new_v7();
    /// let effects = desk.reply_with(
    ///     (tenant, got.conversation),
    ///     ReplyOptions::new(agent, "It arrives tomorrow.").submit_as(Status::Solved),
    ///     t0,
    /// )?;
    /// assert!(matches!(effects[0], Effect::Send(_)));
    /// assert_eq!(desk.conversation((tenant, got.conversation))?.status, Status::Solved);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn submit_as(mut self, status: Status) -> Self {
        self.submit_as = Some(status);
        self
    }
}

impl<S: Store> Desk<S> {
    /// An agent answers the customer. The reply goes out on the customer's latest inbound
    /// channel of this conversation, to the address that message came from, and is
    /// returned as [`Effect::Send`] (first in the list) and kept in the outbox until the
    /// host confirms delivery with [`Desk::mark_sent`] or [`Desk::mark_failed`].
    ///
    /// A new conversation becomes open; other statuses are kept (set them with
    /// [`Desk::set_status`], or with the reply through [`ReplyOptions::submit_as`]).
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] for an unknown conversation, [`Error::ConversationClosed`] for
    /// a closed one, [`Error::Invalid`] / [`Error::BodyTooLarge`] for a bad body or a body
    /// longer than the channel carries, [`Error::ChannelDisabled`], and
    /// [`Error::Invalid`] when the customer has no address on the channel.
    pub fn reply(
        &mut self,
        conversation: impl Into<crate::desk::ConversationRef>,
        agent: AgentId,
        body: impl Into<String>,
        now: DateTime<Utc>,
    ) -> Result<Vec<Effect>> {
        self.reply_with(conversation, ReplyOptions::new(agent, body), now)
    }

    /// A reply with every option (author kind, channel, attachments).
    ///
    /// # Errors
    ///
    /// As [`Desk::reply`]; [`Error::Invalid`] when the author is the customer.
    pub fn reply_with(
        &mut self,
        conversation: impl Into<ConversationRef>,
        options: ReplyOptions,
        now: DateTime<Utc>,
    ) -> Result<Vec<Effect>> {
        let r: super::ConversationRef = conversation.into();
        let _span = super::trace::op_span!("desk.reply", tenant = r.tenant, conversation = r.id);
        self.enter(r.tenant)?;
        if matches!(options.author, Author::Customer(_)) {
            return Err(Error::invalid(
                "author",
                "a reply is written by an agent, a bot or the system",
            ));
        }
        if let Author::Agent(a) = options.author {
            self.check_agents(r.tenant, &[a])?;
        }
        validate_body(
            &options.body,
            &options.attachments,
            self.config.max_body_bytes,
        )?;
        let mut effects = self.retrying(|desk| desk.reply_once(r, &options, now))?;
        let submitted = options.submit_as.and_then(|to| {
            effects.iter().rev().find_map(|e| match e {
                Effect::StatusChanged {
                    tenant,
                    conversation,
                    to: t,
                    ..
                } if *t == to => Some((*tenant, *conversation, to)),
                _ => None,
            })
        });
        if let Some((tenant, conversation, to)) = submitted {
            effects.extend(self.routing_after_status(tenant, conversation, to, now)?);
        }
        Ok(effects)
    }

    fn reply_once(
        &mut self,
        r: ConversationRef,
        options: &ReplyOptions,
        now: DateTime<Utc>,
    ) -> Result<Vec<Effect>> {
        let conv = self.load_conversation(r)?;
        if conv.status == Status::Closed {
            return Err(Error::ConversationClosed(conv.id.to_string()));
        }
        let tenant = conv.tenant;
        if self
            .store
            .customer(tenant, conv.customer)?
            .is_some_and(|c| c.restricted_at.is_some())
        {
            return Err(Error::Restricted(conv.customer.to_string()));
        }
        // The customer's latest message on the channel: the reply answers it.
        let (channel, parts, latest_inbound) = match options.channel.as_ref() {
            Some(asked) => {
                let (channel, parts) = outbound::channel_and_parts(
                    &conv,
                    Some(asked),
                    &options.body,
                    &self.config.channels,
                )?;
                let latest = self.customer_latest(&conv, &channel)?;
                (channel, parts, latest)
            }
            None => self.reply_channel(&conv, &options.body, now)?,
        };
        let to = match latest_inbound.as_ref().and_then(|m| m.counterpart.clone()) {
            Some(to) => to,
            None => self.address_on(tenant, conv.customer, &channel)?,
        };
        self.check_consent(tenant, &to)?;
        let draft = outbound::Draft {
            id: MessageId::from_uuid(self.next_uuid(now)),
            author: options.author,
            body: &options.body,
            attachments: &options.attachments,
            channel,
            parts,
            to,
            from: latest_inbound.as_ref().and_then(|m| m.inbox.clone()),
            customer_wrote_at: latest_inbound.as_ref().map(|m| m.sent_at),
            in_reply_to: latest_inbound.and_then(|m| m.thread_key),
            submit_as: options.submit_as,
        };
        let outbound::Reply {
            conversation: mut conv,
            mut message,
            mut effects,
            submitted,
        } = outbound::reply(conv, draft, now)?;
        let mut changes = ChangeSet::new(tenant);
        self.run_steps(&mut Step {
            tenant,
            now,
            event: Event::Reply {
                message: &mut message,
            },
            conversation: &mut conv,
            changes: &mut changes,
            effects: &mut effects,
        })?;
        let replied = effects.len();
        if let Some((from, to)) = submitted {
            conv.set_status(to, now);
            effects.push(Effect::StatusChanged {
                tenant,
                conversation: conv.id,
                from,
                to,
            });
            self.run_steps(&mut Step {
                tenant,
                now,
                event: Event::Status { from, to },
                conversation: &mut conv,
                changes: &mut changes,
                effects: &mut effects,
            })?;
        }
        let id = conv.id;
        changes.push(Op::PutConversation(conv));
        changes.push(Op::InsertMessage(message.clone()));
        self.apply_changes(changes)?;
        // The live metrics see the reply, then the status change, as two operations would.
        self.metrics_after(tenant, id, now, Some(&message), &effects[..replied], None);
        if submitted.is_some() {
            self.metrics_after(tenant, id, now, None, &effects[replied..], None);
        }
        Ok(effects)
    }

    /// The customer's best address on `channel`: a verified identifier first, then the
    /// most recently seen.
    /// The customer's latest message on `ch` in the conversation (a message from someone
    /// else who joined it, a colleague answering our mail, is not whom a reply is for).
    fn customer_latest(&self, conv: &Conversation, ch: &Channel) -> Result<Option<Message>> {
        Ok(match self.store.latest_inbound(conv.tenant, conv.id, ch)? {
            Some(m) if self.written_by(conv.tenant, &m, conv.customer)? => Some(m),
            _ => None,
        })
    }

    /// Whether a reply on `ch` still reaches the customer: enabled for the tenant, its
    /// session (if it has one) not over, and an address to send to.
    fn reaches(
        &self,
        conv: &Conversation,
        ch: &Channel,
        latest: Option<&Message>,
        now: DateTime<Utc>,
    ) -> bool {
        let channels = &self.config.channels;
        if channels.check(conv.tenant, ch).is_err() {
            return false;
        }
        if let Some(session) = channels.profile(ch).session {
            if latest.is_none_or(|m| now - m.received_at > session) {
                return false;
            }
        }
        latest.is_some_and(|m| m.counterpart.is_some())
            || self.address_on(conv.tenant, conv.customer, ch).is_ok()
    }

    /// The channel a reply goes out on when the agent names none, with the customer's
    /// latest message on it: the one they wrote on last, unless they have left it — it
    /// is disabled for the tenant, its session ended ([`crate::ChannelProfile::session`]:
    /// a web chat the visitor left), or they have no address on it. Then the
    /// conversation's other channels, the one they wrote on most recently first, and then
    /// e-mail when they have an address. When none is reachable, the customer's last
    /// channel as before (and its error). The usual case reads one message.
    fn reply_channel(
        &self,
        conv: &Conversation,
        body: &str,
        now: DateTime<Utc>,
    ) -> Result<(Channel, Vec<String>, Option<Message>)> {
        let channels = &self.config.channels;
        let last = conv.last_inbound_channel.as_ref().or(conv.channels.first());
        let mut candidates: Vec<(Channel, Option<Message>)> = Vec::new();
        if let Some(ch) = last {
            let latest = self.customer_latest(conv, ch)?;
            if self.reaches(conv, ch, latest.as_ref(), now) {
                let (ch, parts) = outbound::channel_and_parts(conv, Some(ch), body, channels)?;
                return Ok((ch, parts, latest));
            }
            candidates.push((ch.clone(), latest));
        }
        for ch in conv.channels.iter().filter(|c| Some(*c) != last) {
            candidates.push((ch.clone(), self.customer_latest(conv, ch)?));
        }
        candidates.sort_by_key(|(_, m)| std::cmp::Reverse(m.as_ref().map(Message::order_key)));
        if !candidates.iter().any(|(c, _)| *c == Channel::Email) {
            candidates.push((Channel::Email, None));
        }
        let found = candidates
            .into_iter()
            .find(|(ch, latest)| self.reaches(conv, ch, latest.as_ref(), now));
        let (asked, latest) = match found {
            Some((ch, latest)) => (Some(ch), latest),
            None => (None, None),
        };
        let (ch, parts) = outbound::channel_and_parts(conv, asked.as_ref(), body, channels)?;
        let latest = match latest.filter(|m| m.channel == ch) {
            Some(m) => Some(m),
            None => self.customer_latest(conv, &ch)?,
        };
        Ok((ch, parts, latest))
    }

    fn address_on(
        &self,
        tenant: TenantId,
        customer: CustomerId,
        channel: &Channel,
    ) -> Result<Identifier> {
        let mut best: Option<IdentifierRecord> = None;
        for rec in self.store.identifiers_of(tenant, customer)? {
            if rec.identifier.kind().channel().as_ref() != Some(channel) {
                continue;
            }
            let better = match &best {
                None => true,
                Some(b) => (rec.verified, rec.last_seen) > (b.verified, b.last_seen),
            };
            if better {
                best = Some(rec);
            }
        }
        best.map(|r| r.identifier).ok_or_else(|| {
            Error::invalid(
                "channel",
                format!("customer {customer} has no address on {channel}"),
            )
        })
    }

    /// Whether `m` came from `customer` (or a customer merged into them): its sender's
    /// identifier is theirs.
    fn written_by(&self, tenant: TenantId, m: &Message, customer: CustomerId) -> Result<bool> {
        if m.author == Author::Customer(customer) {
            return Ok(true);
        }
        let Some(from) = &m.counterpart else {
            return Ok(false);
        };
        Ok(match self.store.identifier(tenant, from)? {
            Some(r) => self.live_customer(tenant, r.customer)?.id == customer,
            None => false,
        })
    }

    /// Adds an internal note. Notes are shown to agents in the conversation and the
    /// timeline and are never sent to the customer.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`], [`Error::Invalid`] / [`Error::BodyTooLarge`] for a bad body.
    pub fn note(
        &mut self,
        conversation: impl Into<ConversationRef>,
        agent: AgentId,
        body: impl Into<String>,
        now: DateTime<Utc>,
    ) -> Result<Message> {
        let r: super::ConversationRef = conversation.into();
        let _span = super::trace::op_span!(
            "desk.note",
            tenant = r.tenant,
            conversation = r.id,
            agent = agent
        );
        let body = body.into();
        validate_body(&body, &[], self.config.max_body_bytes)?;
        self.retrying(|desk| {
            let mut conv = desk.load_conversation(r)?;
            let channel = conv
                .last_inbound_channel
                .clone()
                .or_else(|| conv.channels.first().cloned())
                .unwrap_or(Channel::WebChat);
            let message = Message {
                id: MessageId::from_uuid(desk.next_uuid(now)),
                tenant: conv.tenant,
                conversation: conv.id,
                channel,
                direction: Direction::Note,
                author: Author::Agent(agent),
                body: body.clone(),
                attachments: Vec::new(),
                counterpart: None,
                external_id: None,
                thread_key: None,
                inbox: None,
                quoted: None,
                automated: None,
                event: None,
                sent_at: now,
                received_at: now,
                language: None,
                delivery: None,
            };
            conv.message_count += 1;
            conv.updated_at = now;
            conv.version += 1;
            let mut changes = ChangeSet::new(conv.tenant);
            changes.push(Op::PutConversation(conv));
            changes.push(Op::InsertMessage(message.clone()));
            desk.apply_changes(changes)?;
            Ok(message)
        })
    }

    /// Changes a conversation's status (see [`Status::can_become`] for what is allowed).
    /// Setting the current status again changes nothing and returns no effects.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`], [`Error::InvalidTransition`] for a move the lifecycle forbids
    /// (anything out of closed, back to new, closing what was not solved).
    pub fn set_status(
        &mut self,
        conversation: impl Into<ConversationRef>,
        status: Status,
        now: DateTime<Utc>,
    ) -> Result<Vec<Effect>> {
        let r: super::ConversationRef = conversation.into();
        let _span =
            super::trace::op_span!("desk.set_status", tenant = r.tenant, conversation = r.id);
        self.change_status(r, status, None, now)
    }

    /// [`Desk::set_status`], recorded in the timeline as `by`'s when given.
    pub(crate) fn change_status(
        &mut self,
        r: ConversationRef,
        status: Status,
        by: Option<AgentId>,
        now: DateTime<Utc>,
    ) -> Result<Vec<Effect>> {
        self.enter(r.tenant)?;
        self.retrying(|desk| {
            let mut conv: Conversation = desk.load_conversation(r)?;
            let from = conv.status;
            if !from.can_become(status) {
                return Err(Error::InvalidTransition {
                    conversation: conv.id.to_string(),
                    from: from.to_string(),
                    to: status.to_string(),
                });
            }
            if from == status {
                return Ok(Vec::new());
            }
            conv.set_status(status, now);
            conv.updated_at = now;
            conv.version += 1;
            let tenant = conv.tenant;
            let mut effects = vec![Effect::StatusChanged {
                tenant,
                conversation: conv.id,
                from,
                to: status,
            }];
            let mut changes = ChangeSet::new(tenant);
            desk.run_steps(&mut Step {
                tenant,
                now,
                event: Event::Status { from, to: status },
                conversation: &mut conv,
                changes: &mut changes,
                effects: &mut effects,
            })?;
            if let Some(by) = by {
                let event = ConversationEvent::StatusChanged {
                    from,
                    to: status,
                    by,
                };
                changes.push(Op::InsertMessage(desk.event_message(&conv, by, event, now)));
                conv.message_count += 1;
            }
            let id = conv.id;
            changes.push(Op::PutConversation(conv));
            desk.apply_changes(changes)?;
            desk.metrics_after(tenant, id, now, None, &effects, None);
            Ok(effects)
        })
        .and_then(|mut effects| {
            // Also when the status was already `status`: a host retrying a solve whose
            // routing step failed frees the agent now.
            effects.extend(self.routing_after_status(r.tenant, r.id, status, now)?);
            Ok(effects)
        })
    }

    /// Outbound messages whose delivery the host has not confirmed yet, oldest first.
    ///
    /// # Errors
    ///
    /// Store failures only.
    pub fn outbox(&self, tenant: TenantId) -> Result<Vec<Message>> {
        let _span = super::trace::op_span!("desk.outbox", tenant = tenant);
        self.store.outbox(tenant)
    }

    /// The host's transport sent an outbound message. `provider_id` (an e-mail's
    /// Message-ID, say) becomes a thread key, so the customer's answer to it threads here.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] for an unknown message, [`Error::Invalid`] for a message that
    /// is not outbound.
    pub fn mark_sent(
        &mut self,
        tenant: TenantId,
        message: MessageId,
        provider_id: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let _span = super::trace::op_span!("desk.mark_sent", tenant = tenant, message = message);
        let provider_id = provider_id.map(str::trim).filter(|p| !p.is_empty());
        if let Some(p) = provider_id {
            if p.len() > 998 {
                return Err(Error::invalid(
                    "provider_id",
                    format!("{} bytes, the maximum is 998", p.len()),
                ));
            }
        }
        let delivery = Delivery::Sent {
            provider_id: provider_id.map(str::to_string),
            at: now,
        };
        self.set_delivery(tenant, message, delivery, provider_id)
    }

    fn set_delivery(
        &mut self,
        tenant: TenantId,
        message: MessageId,
        delivery: Delivery,
        provider_id: Option<&str>,
    ) -> Result<()> {
        self.retrying(|desk| {
            let mut m = desk
                .store
                .message(tenant, message)?
                .ok_or_else(|| Error::not_found("message", message))?;
            if m.direction != Direction::Outbound {
                return Err(Error::invalid(
                    "message",
                    format!("{message} is not an outbound message"),
                ));
            }
            let mut changes = ChangeSet::new(tenant);
            // A send that failed before: its retry is over.
            let retry = desk.store.record(
                tenant,
                crate::desk::delivery::RETRY_KIND,
                &message.to_string(),
            )?;
            if let Some(r) = retry {
                changes.push(Op::DeleteRecord {
                    kind: r.kind,
                    key: r.key,
                    version: r.version,
                });
            }
            if let Some(p) = provider_id {
                m.thread_key = Some(p.to_string());
                changes.push(Op::PutThreadKey {
                    key: thread_key(&m.channel, p),
                    conversation: m.conversation,
                });
            }
            // A receipt may have come first: a delivered or read message stays so.
            let ahead = matches!(
                (&m.delivery, &delivery),
                (
                    Some(Delivery::Delivered { .. } | Delivery::Read { .. }),
                    Delivery::Sent { .. }
                )
            );
            if !ahead {
                m.delivery = Some(delivery.clone());
            }
            changes.push(Op::UpdateMessage(m));
            desk.apply_changes(changes)
        })
    }

    /// The host links an identifier to a customer (a phone number from the shop's
    /// account, a verified e-mail). Linking an identifier the customer already has only
    /// updates its `verified` flag.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] for an unknown customer; [`Error::Invalid`] when the identifier
    /// belongs to another customer: it is never moved silently (merge the customers
    /// instead).
    pub fn link_identifier(
        &mut self,
        tenant: TenantId,
        customer: CustomerId,
        identifier: Identifier,
        verified: bool,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let _span =
            super::trace::op_span!("desk.link_identifier", tenant = tenant, customer = customer);
        self.enter(tenant)?;
        if self.config.identity.is_blocked(&identifier) {
            return Err(blocked(&identifier));
        }
        self.retrying(|desk| {
            let owner = desk.live_customer(tenant, customer)?;
            let existing = desk.store.identifier(tenant, &identifier)?;
            if existing.is_none() {
                desk.check_identifier_limit(tenant, owner.id, &identifier)?;
            }
            let record = match &existing {
                Some(r) => {
                    let current = desk.live_customer(tenant, r.customer)?;
                    if current.id != owner.id {
                        return Err(Error::invalid(
                            "identifier",
                            format!("{identifier} belongs to customer {}; merge the customers to combine them", current.id),
                        ));
                    }
                    IdentifierRecord {
                        verified: r.verified || verified,
                        ..r.clone()
                    }
                }
                None => IdentifierRecord {
                    tenant,
                    identifier: identifier.clone(),
                    customer: owner.id,
                    source: None,
                    verified,
                    first_seen: now,
                    last_seen: now,
                },
            };
            if existing.as_ref() == Some(&record) {
                return Ok(());
            }
            let mut changes = ChangeSet::new(tenant);
            changes.push(Op::PutIdentifier {
                record,
                expected_owner: existing.map(|r| r.customer),
            });
            desk.apply_changes(changes)
        })
    }
}

/// The error for an identifier the identity rules block.
pub(crate) fn blocked(identifier: &Identifier) -> Error {
    Error::invalid(
        "identifier",
        format!(
            "{identifier} is a placeholder or no-reply value that never identifies anybody \
             (IdentityRules::blocked_values, blocked_local_parts)"
        ),
    )
}

impl<S: Store> Desk<S> {
    /// Refuses a new identifier of a kind the customer already has as many of as the
    /// identity rules allow.
    fn check_identifier_limit(
        &self,
        tenant: TenantId,
        customer: CustomerId,
        identifier: &Identifier,
    ) -> Result<()> {
        let kind = identifier.kind();
        let Some(limit) = self.config.identity.limit(kind) else {
            return Ok(());
        };
        let held = self
            .store
            .identifiers_of(tenant, customer)?
            .iter()
            .filter(|r| r.identifier.kind() == kind)
            .count();
        if held >= limit {
            return Err(Error::invalid(
                "identifier",
                format!(
                    "customer {customer} already has {held} {} identifier(s), the limit of \
                     IdentityRules::limits",
                    kind.name()
                ),
            ));
        }
        Ok(())
    }
}
