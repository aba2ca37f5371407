//! `Desk::ingest`: dedupe, identify, thread, persist.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::channel::Channel;
use crate::conversation::{self, Conversation, Placement, Status, ThreadSnapshot, ThreadingPolicy};
use crate::desk::identity::SUGGESTION_KIND;
use crate::desk::pipeline::{Event, Step};
use crate::desk::Desk;
use crate::effect::Effect;
use crate::error::{Error, Result};
use crate::id::{ConversationId, CustomerId, MessageId, TenantId};
use crate::identity::resolve::{self, Sighting};
use crate::identity::{profile_diff, Customer, Identifier, MergeSuggestion};
use crate::lang::Detection;
use crate::message::{Author, Direction, Inbound, Message};
use crate::metrics::ConversationFacts;
use crate::probe::Stage;
use crate::store::{ChangeSet, Op, Record, Store};

/// What `Desk::ingest` did with an inbound message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
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
    ///    recorded, not a new ticket. Under [`ThreadingPolicy::PerTopic`] a new e-mail
    ///    thread or a message marked [`Inbound::new_topic`] opens a new conversation
    ///    beside the open one, and other messages join the customer's most recently
    ///    active open conversation;
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
        let span = super::trace::op_span!(
            "desk.ingest", tenant = inbound.tenant; later customer, conversation, message
        );
        let got = self.ingest_detected(inbound, None, now)?;
        super::trace::record_ingested(&span, &got);
        Ok(got)
    }

    /// [`Desk::ingest`] with the language detection made ahead (`Some`), or to make.
    pub(crate) fn ingest_detected(
        &mut self,
        inbound: Inbound,
        detected: Option<Option<Detection>>,
        now: DateTime<Utc>,
    ) -> Result<Ingested> {
        inbound.validate(self.config.max_body_bytes)?;
        self.followups.start();
        let mut got = self.retrying(|desk| {
            desk.followups.start();
            let stage = desk.stage(crate::probe::Stage::Dedup);
            let ahead = desk.read_ahead_for(&inbound);
            drop(stage);
            // The tenant's settings come with the read-ahead; its channels are checked
            // against them.
            let got = ahead
                .and_then(|()| desk.enter(inbound.tenant))
                .and_then(|()| desk.config.channels.check(inbound.tenant, &inbound.channel))
                .and_then(|()| desk.ingest_once(&inbound, detected, now));
            desk.forget_read_ahead();
            got
        })?;
        if !got.duplicate {
            // The message has landed: follow-ups that fail wait for the next tick.
            let _deferred = self.run_followups(now, &mut got.effects);
        }
        Ok(got)
    }

    /// The stored result of a redelivered message, if `inbound` is one.
    fn duplicate_of(&self, inbound: &Inbound) -> Result<Option<Ingested>> {
        let tenant = inbound.tenant;
        let message =
            match self.read_by_external_id(tenant, &inbound.channel, &inbound.external_id)? {
                Some(m) => {
                    // A message whose sender was erased (`erase_identifier`) has no counterpart
                    // left to compare: its redelivery is a duplicate too.
                    if m.counterpart.as_ref().is_some_and(|c| c != &inbound.from) {
                        return Err(Error::invalid(
                            "external_id",
                            format!(
                                "{:?} on {} is already the id of a message from another sender",
                                inbound.external_id, inbound.channel
                            ),
                        ));
                    }
                    m
                }
                // An erased message keeps only a keyed hash of its provider id: a redelivery
                // is still a duplicate, and nothing erased comes back.
                None => match self.erased_duplicate(inbound)? {
                    Some(m) => m,
                    None => return Ok(None),
                },
            };
        let conv = self
            .store
            .conversation(tenant, message.conversation)?
            .ok_or_else(|| Error::Store {
                message: format!("message {} points to a missing conversation", message.id),
                source: None,
            })?;
        let customer = self.live_customer(tenant, conv.customer)?.id;
        Ok(Some(Ingested {
            customer,
            conversation: conv.id,
            message,
            duplicate: true,
            effects: Vec::new(),
        }))
    }

    /// One attempt at an ingest: read, decide, apply one change set.
    fn ingest_once(
        &mut self,
        inbound: &Inbound,
        detected: Option<Option<Detection>>,
        now: DateTime<Utc>,
    ) -> Result<Ingested> {
        let stage = self.stage(Stage::Dedup);
        if let Some(dup) = self.duplicate_of(inbound)? {
            return Ok(dup);
        }
        drop(stage);
        let mut out = Outcome::new(inbound.tenant);
        let mut who = self.identify(inbound, now, &mut out)?;
        self.similar_customers(inbound, &mut who)?;
        let mut thread = self.thread(inbound, &mut who, now, &mut out)?;
        let mut message = self.inbound_message(inbound, who.customer.id, &thread, now, &mut out);
        self.suggest_merges(&who, &message, now, &mut out)?;
        self.run_steps(&mut Step {
            tenant: inbound.tenant,
            now,
            event: Event::Inbound {
                inbound,
                detected,
                message: &mut message,
                customer: &who.customer,
                opened: thread.opened,
                reopened: thread.reopened,
                status_before: thread.status_before,
            },
            conversation: &mut thread.conversation,
            changes: &mut out.changes,
            effects: &mut out.effects,
        })?;
        self.commit_ingest(who.customer.id, thread, message, out, now)
    }

    /// Resolves the message's identifiers to a customer (creating one for an unknown
    /// sender) and attaches what is new (see [`crate::identity::resolve`]).
    fn identify(
        &mut self,
        inbound: &Inbound,
        now: DateTime<Utc>,
        out: &mut Outcome,
    ) -> Result<Identified> {
        let _stage = self.stage(Stage::Identity);
        let tenant = inbound.tenant;
        let rules = Arc::clone(&self.config.identity);
        let named = resolve::named_identifiers(&inbound.from, &inbound.also, &rules)?;
        let (sightings, mut owners) = self.sightings(tenant, &named)?;
        let resolution = resolve::resolve(&sightings, &inbound.from, &rules);
        let existed = resolution.customer.is_some();
        let mut customer = match resolution.customer {
            Some(id) => match owners.iter().position(|c| c.id == id) {
                Some(i) => owners.swap_remove(i),
                None => self.customer(tenant, id)?,
            },
            None => self.new_customer(inbound, now, out),
        };
        let mut written = !existed;
        if customer.name.is_none() && inbound.display_name.is_some() && customer.version > 1 {
            customer.name = inbound.display_name.clone();
            customer.updated_at = now;
            customer.version += 1;
            out.changes.push(Op::PutCustomer(customer.clone()));
            written = true;
        }
        let current = if existed && resolve::needs_current_identifiers(&sightings, &rules) {
            self.store.identifiers_of(tenant, customer.id)?
        } else {
            Vec::new()
        };
        let arrival = resolve::Arrival {
            tenant,
            from: &inbound.from,
            channel: &inbound.channel,
            now,
        };
        for write in resolve::attachments(&sightings, &arrival, customer.id, &current, &rules) {
            out.changes.push(Op::PutIdentifier {
                record: write.record,
                expected_owner: write.expected_owner,
            });
        }
        Ok(Identified {
            customer,
            existed,
            written,
            others: resolution.others,
        })
    }

    /// What the store knows of each named identifier, and the live customers they
    /// resolve to (each read once).
    fn sightings<'a>(
        &self,
        tenant: TenantId,
        named: &[&'a Identifier],
    ) -> Result<(Vec<Sighting<'a>>, Vec<Customer>)> {
        let mut owners: Vec<Customer> = Vec::new();
        let mut sightings = Vec::with_capacity(named.len());
        for &identifier in named {
            let record = self.read_identifier(tenant, identifier)?;
            let owner = match &record {
                Some(r) => {
                    let c = self.live_customer(tenant, r.customer)?;
                    let id = c.id;
                    if !owners.iter().any(|o| o.id == id) {
                        owners.push(c);
                    }
                    Some(id)
                }
                None => None,
            };
            sightings.push(Sighting {
                identifier,
                record,
                owner,
            });
        }
        Ok((sightings, owners))
    }

    /// A customer for an unknown sender, written by this change set.
    fn new_customer(
        &mut self,
        inbound: &Inbound,
        now: DateTime<Utc>,
        out: &mut Outcome,
    ) -> Customer {
        let tenant = inbound.tenant;
        let id = CustomerId::from_uuid(self.next_uuid(now));
        self.note_new_customer(tenant, id);
        let mut c = Customer::new(id, tenant, now);
        c.name = inbound.display_name.clone();
        c.version = 1;
        out.changes.push(Op::PutCustomer(c.clone()));
        out.effects.push(Effect::CustomerCreated {
            tenant,
            customer: id,
        });
        c
    }

    /// Places the message in a conversation (see [`crate::conversation::place`]) and
    /// records its arrival there.
    fn thread(
        &mut self,
        inbound: &Inbound,
        who: &mut Identified,
        now: DateTime<Utc>,
        out: &mut Outcome,
    ) -> Result<Threaded> {
        let _stage = self.stage(Stage::Threading);
        let tenant = inbound.tenant;
        let snapshot = self.thread_snapshot(inbound, &mut *who)?;
        let (mut conversation, opened, reopened) = match conversation::place(
            snapshot,
            now,
            self.config.reopen_window,
            inbound.automated.is_some(),
        ) {
            Placement::Existing {
                conversation,
                reopened,
            } => {
                if reopened {
                    out.effects.push(Effect::ConversationReopened {
                        tenant,
                        conversation: conversation.id,
                    });
                }
                (conversation, false, reopened)
            }
            Placement::New {
                previous,
                related,
                closed,
            } => {
                if let Some(old) = closed {
                    out.close_left_behind(old);
                }
                let mut c = self.new_conversation(inbound, who.customer.id, previous, now);
                c.related = related;
                (c, true, false)
            }
        };
        // Every stored message of a joined conversation was sent by its last update: one
        // sent before that may sort before some of them (a late delivery).
        let maybe_late = !opened && sent_at(inbound, now) < conversation.updated_at;
        if opened {
            if !who.written {
                // Opening a conversation writes the customer (a version bump): two desks
                // that both saw no open conversation for this customer conflict, and the
                // loser's retry joins the winner's conversation instead of opening a second.
                who.customer.updated_at = now;
                who.customer.version += 1;
                out.changes.push(Op::PutCustomer(who.customer.clone()));
                who.written = true;
            }
            out.effects.push(Effect::ConversationOpened {
                tenant,
                conversation: conversation.id,
                customer: who.customer.id,
                channel: inbound.channel.clone(),
                previous: conversation.previous,
            });
        }
        let status_before = conversation.status;
        let arrived = conversation.receive(
            &inbound.channel,
            inbound.subject.as_ref(),
            inbound.automated.is_some(),
            now,
        );
        if let Some(from) = arrived.switched_from {
            out.effects.push(Effect::ChannelSwitched {
                tenant,
                conversation: conversation.id,
                from,
                to: inbound.channel.clone(),
            });
        }
        if let Some((from, to)) = arrived.status {
            out.effects.push(Effect::StatusChanged {
                tenant,
                conversation: conversation.id,
                from,
                to,
            });
        }
        Ok(Threaded {
            conversation,
            opened,
            reopened,
            status_before,
            maybe_late,
        })
    }

    /// What threading reads: the hinted conversation, else the open one, else the latest
    /// one's id (each read only when the ones before gave nothing). A hint naming one of
    /// our outbound messages leads into its conversation whoever writes; a writer who is
    /// not its customer is noted in `who.others`, for a merge suggestion.
    fn thread_snapshot(&self, inbound: &Inbound, who: &mut Identified) -> Result<ThreadSnapshot> {
        let tenant = inbound.tenant;
        let customer = who.customer.id;
        if let Some(ours) = self.our_message(inbound)? {
            let hinted = conversation::follow_our_message(
                self.store.conversation(tenant, ours.conversation)?,
            );
            if let Some(conv) = &hinted {
                if conv.customer != customer && !who.others.iter().any(|(c, _)| *c == conv.customer)
                {
                    who.others.push((conv.customer, vec![inbound.from.clone()]));
                }
                return Ok(ThreadSnapshot {
                    hinted,
                    ..ThreadSnapshot::default()
                });
            }
        }
        if let Some(hint) = &inbound.thread_hint {
            if let Some(id) = self
                .store
                .thread(tenant, &thread_key(&inbound.channel, hint))?
            {
                let hinted =
                    conversation::follow_hint(self.store.conversation(tenant, id)?, customer);
                if hinted.is_some() {
                    return Ok(ThreadSnapshot {
                        hinted,
                        ..ThreadSnapshot::default()
                    });
                }
            }
        }
        if !who.existed {
            // A customer created by this message has no conversations yet.
            return Ok(ThreadSnapshot::default());
        }
        if self.config.threading != ThreadingPolicy::Bundle {
            return self.topic_snapshot(inbound, customer);
        }
        let open = self.read_open_conversation(tenant, customer)?;
        if open.is_some() {
            return Ok(ThreadSnapshot {
                open,
                ..ThreadSnapshot::default()
            });
        }
        let latest = self
            .store
            .conversations_of(tenant, customer)?
            .last()
            .map(|c| c.id);
        Ok(ThreadSnapshot {
            latest,
            ..ThreadSnapshot::default()
        })
    }

    /// What threading reads under [`ThreadingPolicy::PerTopic`], once no thread hint led
    /// anywhere: the customer's conversations, of which the most recently active open one
    /// is joined, or a new topic is started beside.
    fn topic_snapshot(&self, inbound: &Inbound, customer: CustomerId) -> Result<ThreadSnapshot> {
        let all = self.store.conversations_of(inbound.tenant, customer)?;
        let new_topic = conversation::new_topic(
            self.config.threading,
            &inbound.channel,
            inbound.new_topic,
            inbound.automated.is_some(),
        );
        Ok(ThreadSnapshot {
            open: conversation::most_recent_open(&all),
            latest: all.last().map(|c| c.id),
            new_topic,
            ..ThreadSnapshot::default()
        })
    }

    /// The outbound message of ours the thread hint of an e-mail names by its id (the
    /// e-mail adapter turns a `Message-ID` we minted back into it), if it does.
    fn our_message(&self, inbound: &Inbound) -> Result<Option<Message>> {
        if inbound.channel != Channel::Email {
            return Ok(None);
        }
        let Some(id) = inbound
            .thread_hint
            .as_deref()
            .and_then(|h| h.trim().parse::<MessageId>().ok())
        else {
            return Ok(None);
        };
        Ok(self
            .store
            .message(inbound.tenant, id)?
            .filter(|m| m.direction == Direction::Outbound))
    }

    /// The stored form of the customer's message, and the thread keys later messages
    /// find its conversation by.
    fn inbound_message(
        &mut self,
        inbound: &Inbound,
        customer: CustomerId,
        thread: &Threaded,
        now: DateTime<Utc>,
        out: &mut Outcome,
    ) -> Message {
        let conversation = thread.conversation.id;
        if inbound.channel == Channel::Email {
            // E-mail replies name the Message-IDs they answer (In-Reply-To, References).
            out.changes.push(Op::PutThreadKey {
                key: thread_key(&inbound.channel, &inbound.external_id),
                conversation,
            });
        }
        if let Some(hint) = &inbound.thread_hint {
            out.changes.push(Op::PutThreadKey {
                key: thread_key(&inbound.channel, hint),
                conversation,
            });
        }
        Message {
            id: MessageId::from_uuid(self.next_uuid(now)),
            tenant: inbound.tenant,
            conversation,
            channel: inbound.channel.clone(),
            direction: Direction::Inbound,
            author: Author::Customer(customer),
            body: inbound.body.clone(),
            attachments: inbound.attachments.clone(),
            counterpart: Some(inbound.from.clone()),
            external_id: Some(inbound.external_id.clone()),
            thread_key: Some(inbound.external_id.clone()),
            inbox: inbound.to.clone(),
            quoted: inbound.quoted.clone(),
            automated: inbound.automated,
            event: None,
            sent_at: sent_at(inbound, now),
            received_at: now,
            language: None,
            delivery: None,
        }
    }

    /// For a customer this message creates: other customers who may be the same person
    /// are noted for a merge suggestion, with the identifier found as the evidence (see
    /// [`crate::identity::similar::candidates`]): the same number under the other kind (a
    /// phone number and the WhatsApp account on it), the same full name with a mailbox at
    /// a related domain, the same host id spelt otherwise. Never a merge: a shared family
    /// phone, a recycled number, two people of one name.
    fn similar_customers(&self, inbound: &Inbound, who: &mut Identified) -> Result<()> {
        use crate::identity::similar::{candidates, same_name, Needs};
        if who.existed {
            return Ok(());
        }
        let tenant = inbound.tenant;
        let named: Vec<&Identifier> = std::iter::once(&inbound.from)
            .chain(&inbound.also)
            .collect();
        // A mailbox at a related domain counts only with the same full name: without one
        // of its own, the customer cannot match, and nothing is read for it.
        let full_name = who
            .customer
            .name
            .as_deref()
            .is_some_and(|n| same_name(Some(n), Some(n)));
        for ident in &named {
            for (candidate, needs) in candidates(ident) {
                if named.contains(&&candidate) || (needs == Needs::SameName && !full_name) {
                    continue;
                }
                let Some(record) = self.read_identifier(tenant, &candidate)? else {
                    continue;
                };
                let other = self.live_customer(tenant, record.customer)?;
                if other.id == who.customer.id || who.others.iter().any(|(c, _)| *c == other.id) {
                    continue;
                }
                if needs == Needs::SameName
                    && !same_name(who.customer.name.as_deref(), other.name.as_deref())
                {
                    continue;
                }
                who.others.push((other.id, vec![candidate]));
            }
        }
        Ok(())
    }

    /// Suggests merging the customer with every other customer the message named, once
    /// per pair (the identity graph never merges silently).
    fn suggest_merges(
        &self,
        who: &Identified,
        message: &Message,
        now: DateTime<Utc>,
        out: &mut Outcome,
    ) -> Result<()> {
        if who.others.is_empty() {
            return Ok(());
        }
        let _stage = self.stage(Stage::Identity);
        let tenant = message.tenant;
        let customer = &who.customer;
        for (other, evidence) in &who.others {
            let key = MergeSuggestion::key(customer.id, *other);
            if self.store.record(tenant, SUGGESTION_KIND, &key)?.is_some() {
                continue;
            }
            let other_profile = self.customer(tenant, *other)?;
            let suggestion = MergeSuggestion {
                tenant,
                primary: customer.id,
                other: *other,
                evidence: evidence.clone(),
                message: message.id,
                diff: profile_diff(customer, &other_profile),
                at: now,
            };
            let mut record = Record::encode(SUGGESTION_KIND, key, &suggestion)?;
            record.secondary = Some(customer.id.to_string());
            out.changes.push(Op::PutRecord(record));
            out.effects.push(Effect::MergeSuggested {
                tenant,
                primary: customer.id,
                other: *other,
            });
        }
        Ok(())
    }

    /// Applies the ingest's one change set, then keeps the live metrics.
    fn commit_ingest(
        &mut self,
        customer: CustomerId,
        thread: Threaded,
        message: Message,
        mut out: Outcome,
        now: DateTime<Utc>,
    ) -> Result<Ingested> {
        let tenant = message.tenant;
        let conv = thread.conversation;
        let conversation = conv.id;
        // A conversation this message opened holds just this message: its metrics facts
        // come from what is stored here, not from reading it back.
        let opened = thread
            .opened
            .then(|| ConversationFacts::from_messages(&conv, std::slice::from_ref(&message), None));
        let labels = crate::metrics::Labels::of(&conv);
        out.changes.push(Op::PutConversation(conv));
        out.changes.push(Op::InsertMessage(message.clone()));
        // What was read ahead is stale once the changes land.
        self.forget_read_ahead();
        self.apply_changes(out.changes)?;
        self.metrics_after(
            tenant,
            conversation,
            now,
            Some(&message),
            &out.effects,
            opened,
        );
        self.metrics_relabel(tenant, conversation, labels);
        if thread.maybe_late {
            // The live facts take messages in arrival order, the store's in timeline
            // order: rebuild them from the store so both agree.
            if self.metrics_refresh(tenant, &[conversation]).is_err() {
                self.metrics_untrusted(tenant);
            }
        }
        Ok(Ingested {
            customer,
            conversation,
            message,
            duplicate: false,
            effects: out.effects,
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

/// When the customer sent the message: the provider's time, never after its arrival.
fn sent_at(inbound: &Inbound, now: DateTime<Utc>) -> DateTime<Utc> {
    inbound.sent_at.map_or(now, |s| s.min(now))
}

/// What an ingest has decided so far: its one change set and its effects.
struct Outcome {
    changes: ChangeSet,
    effects: Vec<Effect>,
}

impl Outcome {
    fn new(tenant: TenantId) -> Self {
        Outcome {
            changes: ChangeSet::new(tenant),
            effects: Vec::new(),
        }
    }

    /// Writes the solved conversation a new one follows, closed by threading.
    fn close_left_behind(&mut self, old: Conversation) {
        self.effects.push(Effect::StatusChanged {
            tenant: old.tenant,
            conversation: old.id,
            from: Status::Solved,
            to: Status::Closed,
        });
        self.changes.push(Op::PutConversation(old));
    }
}

/// The customer an inbound message belongs to.
struct Identified {
    customer: Customer,
    /// Whether the customer existed before this message.
    existed: bool,
    /// Whether this change set already writes the customer.
    written: bool,
    /// Other customers the message named, with the identifiers that name them.
    others: Vec<(CustomerId, Vec<Identifier>)>,
}

/// The conversation an inbound message lands in.
struct Threaded {
    conversation: Conversation,
    /// The message opened it.
    opened: bool,
    /// The message reopened it (it was solved).
    reopened: bool,
    /// Its status before the message.
    status_before: Status,
    /// The message was sent before the conversation's last update (a late delivery).
    maybe_late: bool,
}
