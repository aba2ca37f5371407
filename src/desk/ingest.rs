//! `Desk::ingest`: dedupe, identify, thread, persist.

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use crate::channel::Channel;
use crate::conversation::{threading_for, Conversation, Status, Threading};
use crate::desk::identity::SUGGESTION_KIND;
use crate::desk::pipeline::{Event, Step};
use crate::desk::Desk;
use crate::effect::Effect;
use crate::error::{Error, Result};
use crate::id::{ConversationId, CustomerId, MessageId};
use crate::identity::{
    profile_diff, Customer, Identifier, IdentifierKind, IdentifierRecord, MergeSuggestion,
};
use crate::lang::Detection;
use crate::message::{Author, Direction, Inbound, Message};
use crate::metrics::ConversationFacts;
use crate::store::{ChangeSet, Op, Record, Store};

/// What `Desk::ingest` did with an inbound message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ingested {
    /// The customer the message was attributed to.
    pub customer: CustomerId,
    /// The conversation it landed in.
    pub conversation: ConversationId,
    /// The stored message.
    pub message: Message,
    /// True when this was a redelivery of a message already stored: nothing new was
    /// stored and `effects` is empty (they were returned the first time).
    pub duplicate: bool,
    /// What the host should do or know.
    pub effects: Vec<Effect>,
}

/// The key a thread hint or a message id is stored under: channel-scoped, so ids of two
/// providers never collide.
pub(crate) fn thread_key(channel: &Channel, raw: &str) -> String {
    format!("{channel}:{}", raw.trim())
}

impl<S: Store> Desk<S> {
    /// Takes in one message from a channel and decides who sent it and where it belongs.
    ///
    /// 1. *dedupe*: a `(tenant, channel, external_id)` already stored returns the stored
    ///    result with `duplicate: true` and stores nothing;
    /// 2. *identify*: the sender's normalised identifier (or one of `also`) resolves to a
    ///    customer, following merges; unknown senders become new customers, and their
    ///    unknown identifiers are attached;
    /// 3. *thread*: a thread hint leading to a conversation of the same customer wins;
    ///    else the customer's newest conversation that is not closed is joined (new, open,
    ///    pending or on hold, whatever its age; solved reopens within the reopen window);
    ///    else a new conversation opens, linked to the previous one. A channel switch is
    ///    recorded, not a new ticket;
    /// 4. *persist*: everything in one atomic change set.
    ///
    /// After the commit come its follow-ups: the triage bot's answer and routing. They
    /// cannot undo the message. When the store fails during them, `ingest` still returns
    /// the stored message (without their effects), and the next [`Desk::tick`], which
    /// [`Desk::next_wakeup`] reports as due at once, runs them.
    ///
    /// # Errors
    ///
    /// Nothing is stored on any error. [`Error::Invalid`] or [`Error::BodyTooLarge`] for
    /// a bad message (also for a provider id already used by a message of another
    /// sender), [`Error::ChannelDisabled`] for a disabled channel,
    /// [`Error::Store`] when the store fails.
    ///
    /// # Example
    ///
    /// ```
    /// use throughline::{Channel, Desk, DeskConfig, Identifier, Inbound, TenantId, store::MemoryStore};
    /// let t0 = chrono::DateTime::parse_from_rfc3339("2026-03-02T09:00:00Z")?.to_utc();
    /// let tenant = TenantId::new_v7();
    /// let mut desk = Desk::new(MemoryStore::new(), DeskConfig::default());
    /// let msg = Inbound::new(tenant, Channel::WebChat, Identifier::email("ana@example.com")?,
    ///                        "chat-1", "I want to return my shoes");
    /// let first = desk.ingest(msg.clone(), t0)?;
    /// let again = desk.ingest(msg, t0)?; // the webhook was delivered twice
    /// assert!(again.duplicate);
    /// assert_eq!(again.message.id, first.message.id);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn ingest(&mut self, inbound: Inbound, now: DateTime<Utc>) -> Result<Ingested> {
        self.ingest_detected(inbound, None, now)
    }

    /// [`Desk::ingest`] with the language detection made ahead (`Some`), or to make.
    pub(crate) fn ingest_detected(
        &mut self,
        inbound: Inbound,
        detected: Option<Option<Detection>>,
        now: DateTime<Utc>,
    ) -> Result<Ingested> {
        inbound.validate(self.config.max_body_bytes)?;
        self.config
            .channels
            .check(inbound.tenant, &inbound.channel)?;
        self.followups.clear();
        let mut got = self.retrying(|desk| {
            desk.followups.clear();
            let stage = desk.stage(crate::probe::Stage::Dedup);
            let ahead = desk.read_ahead_for(&inbound);
            drop(stage);
            let got = ahead.and_then(|()| desk.ingest_once(&inbound, detected, now));
            desk.forget_read_ahead();
            got
        })?;
        if !got.duplicate {
            // The message has landed: follow-ups that fail wait for the next tick.
            let _deferred = self.run_followups(now, &mut got.effects);
        }
        Ok(got)
    }

    fn duplicate_of(&self, inbound: &Inbound) -> Result<Option<Ingested>> {
        let message = match self.read_by_external_id(
            inbound.tenant,
            &inbound.channel,
            &inbound.external_id,
        )? {
            Some(m) => m,
            // An erased message keeps only a keyed hash of its provider id: a redelivery
            // is still a duplicate, and nothing erased comes back.
            None => match self.erased_duplicate(inbound)? {
                Some(m) => {
                    return Ok(Some(Ingested {
                        customer: self
                            .store
                            .conversation(inbound.tenant, m.conversation)?
                            .map_or_else(
                                || crate::CustomerId::from_uuid(uuid::Uuid::nil()),
                                |c| c.customer,
                            ),
                        conversation: m.conversation,
                        message: m,
                        duplicate: true,
                        effects: Vec::new(),
                    }))
                }
                None => return Ok(None),
            },
        };
        // A message whose sender was erased (`erase_identifier`) has no counterpart left
        // to compare: its redelivery is a duplicate too.
        if message
            .counterpart
            .as_ref()
            .is_some_and(|c| c != &inbound.from)
        {
            return Err(Error::invalid(
                "external_id",
                format!(
                    "{:?} on {} is already the id of a message from another sender",
                    inbound.external_id, inbound.channel
                ),
            ));
        }
        let conv = self
            .store
            .conversation(inbound.tenant, message.conversation)?
            .ok_or_else(|| Error::Store {
                message: format!("message {} points to a missing conversation", message.id),
                source: None,
            })?;
        let customer = self.live_customer(inbound.tenant, conv.customer)?.id;
        Ok(Some(Ingested {
            customer,
            conversation: conv.id,
            message,
            duplicate: true,
            effects: Vec::new(),
        }))
    }

    fn ingest_once(
        &mut self,
        inbound: &Inbound,
        detected: Option<Option<Detection>>,
        now: DateTime<Utc>,
    ) -> Result<Ingested> {
        let stage = self.stage(crate::probe::Stage::Dedup);
        if let Some(dup) = self.duplicate_of(inbound)? {
            return Ok(dup);
        }
        drop(stage);
        let stage = self.stage(crate::probe::Stage::Identity);
        let tenant = inbound.tenant;
        let mut changes = ChangeSet::new(tenant);
        let mut effects = Vec::new();

        // Identify.
        let rules = std::sync::Arc::clone(&self.config.identity);
        if rules.is_blocked(&inbound.from) {
            return Err(Error::invalid(
                "from",
                format!(
                    "{} is a placeholder or no-reply address and identifies nobody",
                    inbound.from
                ),
            ));
        }
        // (identifier, its record, the live customer it resolves to)
        let mut known: Vec<(&Identifier, Option<IdentifierRecord>, Option<CustomerId>)> =
            Vec::new();
        // The live customers read on the way, so the primary is not read twice.
        let mut live_seen: Vec<Customer> = Vec::new();
        for ident in std::iter::once(&inbound.from).chain(inbound.also.iter()) {
            if known.iter().any(|(i, _, _)| *i == ident) || rules.is_blocked(ident) {
                continue;
            }
            let rec = self.read_identifier(tenant, ident)?;
            let live = match &rec {
                Some(r) => {
                    let c = self.live_customer(tenant, r.customer)?;
                    let id = c.id;
                    if !live_seen.iter().any(|s| s.id == id) {
                        live_seen.push(c);
                    }
                    Some(id)
                }
                None => None,
            };
            known.push((ident, rec, live));
        }
        // The highest-priority identifier decides; the sender's own wins ties.
        let primary = known
            .iter()
            .filter_map(|(i, _, live)| {
                live.map(|l| ((rules.priority(i.kind()), *i == &inbound.from), l))
            })
            .max_by_key(|(k, _)| *k)
            .map(|(_, l)| l);
        let mut others: Vec<(CustomerId, Vec<Identifier>)> = Vec::new();
        for (ident, _, live) in &known {
            if let Some(l) = live {
                if Some(*l) != primary {
                    match others.iter_mut().find(|(c, _)| c == l) {
                        Some((_, ev)) => ev.push((*ident).clone()),
                        None => others.push((*l, vec![(*ident).clone()])),
                    }
                }
            }
        }
        let mut customer = match primary {
            Some(id) => match live_seen.iter().position(|c| c.id == id) {
                Some(i) => live_seen.swap_remove(i),
                None => self.customer(tenant, id)?,
            },
            None => {
                let id = CustomerId::from_uuid(self.next_uuid(now));
                self.note_new_customer(tenant, id);
                let mut c = Customer::new(id, tenant, now);
                c.name = inbound.display_name.clone();
                c.version = 1;
                changes.push(Op::PutCustomer(c.clone()));
                effects.push(Effect::CustomerCreated {
                    tenant,
                    customer: id,
                });
                c
            }
        };
        let existed = primary.is_some();
        let mut customer_written = !existed;
        if customer.name.is_none() && inbound.display_name.is_some() && customer.version > 1 {
            customer.name = inbound.display_name.clone();
            customer.updated_at = now;
            customer.version += 1;
            changes.push(Op::PutCustomer(customer.clone()));
            customer_written = true;
        }
        let mut existing: Option<Vec<IdentifierRecord>> = None;
        let mut added: Vec<&IdentifierKind> = Vec::new();
        for (ident, rec, _) in &known {
            match rec {
                None => {
                    if let Some(limit) = rules.limit(ident.kind()) {
                        if existing.is_none() {
                            existing = Some(if primary.is_some() {
                                self.store.identifiers_of(tenant, customer.id)?
                            } else {
                                Vec::new()
                            });
                        }
                        let have = existing.as_ref().map_or(0, |e| {
                            e.iter()
                                .filter(|r| r.identifier.kind() == ident.kind())
                                .count()
                        }) + added.iter().filter(|k| **k == ident.kind()).count();
                        if have >= limit {
                            // Over the per-kind limit: not attached (the message still is).
                            continue;
                        }
                    }
                    added.push(ident.kind());
                    changes.push(Op::PutIdentifier {
                        record: IdentifierRecord {
                            tenant,
                            identifier: (*ident).clone(),
                            customer: customer.id,
                            source: Some(inbound.channel.clone()),
                            verified: false,
                            first_seen: now,
                            last_seen: now,
                        },
                        expected_owner: None,
                    })
                }
                // The sender's own identifier: note that it was seen (at most once a
                // minute, so a burst of chat lines does not rewrite the record each time).
                Some(r)
                    if *ident == &inbound.from && now - r.last_seen >= TimeDelta::minutes(1) =>
                {
                    let mut r = r.clone();
                    r.last_seen = now;
                    let owner = r.customer;
                    changes.push(Op::PutIdentifier {
                        record: r,
                        expected_owner: Some(owner),
                    });
                }
                // Identifiers of other customers are left where they are: the identity
                // graph never moves an identifier silently.
                Some(_) => {}
            }
        }

        // Thread.
        drop(stage);
        let stage = self.stage(crate::probe::Stage::Threading);
        let reopen_window = self.config.reopen_window;
        let mut hinted = None;
        if let Some(hint) = &inbound.thread_hint {
            if let Some(id) = self
                .store
                .thread(tenant, &thread_key(&inbound.channel, hint))?
            {
                if let Some(c) = self.store.conversation(tenant, id)? {
                    // Threading headers are untrusted: only follow them into the same
                    // customer's conversations.
                    if c.customer == customer.id {
                        hinted = Some(c);
                    }
                }
            }
        }
        let candidate = match hinted {
            Some(c) => Some(c),
            // A customer created by this message has no conversations yet.
            None if !existed => None,
            None => self.read_open_conversation(tenant, customer.id)?,
        };
        let sent_at = inbound.sent_at.map_or(now, |s| s.min(now));
        let (mut conv, is_new) = match candidate {
            Some(c) => match threading_for(&c, now, reopen_window) {
                Threading::Join => (c, false),
                Threading::Reopen => {
                    effects.push(Effect::ConversationReopened {
                        tenant,
                        conversation: c.id,
                    });
                    (c, false)
                }
                Threading::NewLinked => {
                    let previous = c.id;
                    if c.status == Status::Solved {
                        // Auto-close the old one: a customer has one conversation in play.
                        let mut old = c;
                        old.set_status(Status::Closed, now);
                        old.updated_at = now;
                        old.version += 1;
                        effects.push(Effect::StatusChanged {
                            tenant,
                            conversation: old.id,
                            from: Status::Solved,
                            to: Status::Closed,
                        });
                        changes.push(Op::PutConversation(old));
                    }
                    (
                        self.new_conversation(inbound, customer.id, Some(previous), now),
                        true,
                    )
                }
            },
            None => {
                let previous = if existed {
                    self.store
                        .conversations_of(tenant, customer.id)?
                        .last()
                        .map(|c| c.id)
                } else {
                    None
                };
                (
                    self.new_conversation(inbound, customer.id, previous, now),
                    true,
                )
            }
        };
        // Every stored message of a joined conversation was sent by its last update: one
        // sent before that may sort before some of them (a late delivery).
        let maybe_late = !is_new && sent_at < conv.updated_at;
        if is_new && !customer_written {
            // Opening a conversation writes the customer (a version bump): two desks that
            // both saw no open conversation for this customer conflict, and the loser's
            // retry joins the winner's conversation instead of opening a second one.
            customer.updated_at = now;
            customer.version += 1;
            changes.push(Op::PutCustomer(customer.clone()));
        }
        if is_new {
            effects.push(Effect::ConversationOpened {
                tenant,
                conversation: conv.id,
                customer: customer.id,
                channel: inbound.channel.clone(),
                previous: conv.previous,
            });
        }
        if let Some(from) = conv.note_inbound_channel(&inbound.channel) {
            effects.push(Effect::ChannelSwitched {
                tenant,
                conversation: conv.id,
                from,
                to: inbound.channel.clone(),
            });
        }
        let status_before = conv.status;
        let before = conv.status;
        let after = match before {
            Status::New => Status::New,
            _ => Status::Open,
        };
        if before != after {
            conv.set_status(after, now);
            effects.push(Effect::StatusChanged {
                tenant,
                conversation: conv.id,
                from: before,
                to: after,
            });
        }
        if conv.subject.is_none() {
            conv.subject = inbound.subject.clone();
        }
        conv.message_count += 1;
        conv.last_inbound_at = Some(now);
        conv.updated_at = now;
        conv.version += 1;

        let message = Message {
            id: MessageId::from_uuid(self.next_uuid(now)),
            tenant,
            conversation: conv.id,
            channel: inbound.channel.clone(),
            direction: Direction::Inbound,
            author: Author::Customer(customer.id),
            body: inbound.body.clone(),
            attachments: inbound.attachments.clone(),
            counterpart: Some(inbound.from.clone()),
            external_id: Some(inbound.external_id.clone()),
            thread_key: Some(inbound.external_id.clone()),
            sent_at,
            received_at: now,
            language: None,
            delivery: None,
        };
        if inbound.channel == Channel::Email {
            // E-mail replies name the Message-IDs they answer (In-Reply-To, References).
            changes.push(Op::PutThreadKey {
                key: thread_key(&inbound.channel, &inbound.external_id),
                conversation: conv.id,
            });
        }
        if let Some(hint) = &inbound.thread_hint {
            changes.push(Op::PutThreadKey {
                key: thread_key(&inbound.channel, hint),
                conversation: conv.id,
            });
        }
        drop(stage);
        // Merge suggestions are identity work (rare: the identifiers named two customers).
        let stage = (!others.is_empty()).then(|| self.stage(crate::probe::Stage::Identity));
        for (other, evidence) in others {
            let key = MergeSuggestion::key(customer.id, other);
            if self.store.record(tenant, SUGGESTION_KIND, &key)?.is_some() {
                continue;
            }
            let other_profile = self.customer(tenant, other)?;
            let suggestion = MergeSuggestion {
                tenant,
                primary: customer.id,
                other,
                evidence,
                message: message.id,
                diff: profile_diff(&customer, &other_profile),
                at: now,
            };
            let mut record = Record::encode(SUGGESTION_KIND, key, &suggestion)?;
            record.secondary = Some(customer.id.to_string());
            changes.push(Op::PutRecord(record));
            effects.push(Effect::MergeSuggested {
                tenant,
                primary: customer.id,
                other,
            });
        }
        drop(stage);
        let mut message = message;
        let reopened = effects
            .iter()
            .any(|e| matches!(e, Effect::ConversationReopened { .. }));
        self.run_steps(&mut Step {
            tenant,
            now,
            event: Event::Inbound {
                inbound,
                detected,
                message: &mut message,
                customer: &customer,
                opened: is_new,
                reopened,
                status_before,
            },
            conversation: &mut conv,
            changes: &mut changes,
            effects: &mut effects,
        })?;
        let conversation = conv.id;
        // A conversation this message opened holds just this message: its metrics facts
        // come from what is stored here, not from reading it back.
        let opened = is_new
            .then(|| ConversationFacts::from_messages(&conv, std::slice::from_ref(&message), None));
        let labels = crate::metrics::Labels::of(&conv);
        changes.push(Op::PutConversation(conv));
        changes.push(Op::InsertMessage(message.clone()));
        // What was read ahead is stale once the changes land.
        self.forget_read_ahead();
        self.apply_changes(changes)?;
        self.metrics_after(tenant, conversation, now, Some(&message), &effects, opened);
        self.metrics_relabel(tenant, conversation, labels);
        if maybe_late {
            // The live facts take messages in arrival order, the store's in timeline
            // order: rebuild them from the store so both agree.
            if self.metrics_refresh(tenant, &[conversation]).is_err() {
                self.metrics_untrusted(tenant);
            }
        }
        Ok(Ingested {
            customer: customer.id,
            conversation,
            message,
            duplicate: false,
            effects,
        })
    }

    fn new_conversation(
        &mut self,
        inbound: &Inbound,
        customer: CustomerId,
        previous: Option<ConversationId>,
        now: DateTime<Utc>,
    ) -> Conversation {
        let id = ConversationId::from_uuid(self.next_uuid(now));
        self.note_new_conversation(inbound.tenant, id);
        let mut c = Conversation::new(id, inbound.tenant, customer, inbound.channel.clone(), now);
        c.previous = previous;
        c
    }
}
