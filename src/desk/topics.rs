//! Agents merge two conversations of a customer ("these are the same problem") and split
//! messages off into a new conversation ("this is another problem"). Each reads the
//! conversations and messages, lets [`crate::conversation`] decide, and writes the moved
//! messages, both conversations and an event in each timeline in one change set.
//!
//! Invariants: a merged-away conversation is closed as any close is (its SLA clocks stop,
//! a scheduled close is dropped, routing releases it) and every thread key that led to
//! it leads to the conversation it was merged into, so a reply in its e-mail thread lands
//! there; a split-off message's own thread key (its e-mail Message-ID) follows it into
//! the new conversation.

use chrono::{DateTime, Utc};

use crate::channel::Channel;
use crate::conversation::{self, Status};
use crate::desk::ingest::thread_key;
use crate::desk::pipeline::{Event, Step};
use crate::desk::{ConversationRef, Desk};
use crate::effect::Effect;
use crate::error::{Error, Result};
use crate::id::{AgentId, ConversationId, MessageId};
use crate::store::{ChangeSet, Op, Store};

/// What [`Desk::split_conversation`] did.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Split {
    /// The new conversation, holding the split-off messages.
    pub conversation: ConversationId,
    /// What the host should know: [`Effect::ConversationOpened`] for the new
    /// conversation, then [`Effect::ConversationSplit`].
    pub effects: Vec<Effect>,
}

impl<S: Store> Desk<S> {
    /// Merges conversation `from` into conversation `into`, both of one customer, as `by`
    /// decided: every message of `from` moves into `into` (the timeline keeps its order),
    /// `from` is closed with a [`MergedInto`](conversation::ConversationEvent::MergedInto)
    /// event naming `into` ([`crate::Conversation::merged_into`] too), and `into` records
    /// a [`MergedFrom`](conversation::ConversationEvent::MergedFrom) event.
    ///
    /// `into` keeps its status, assignee and SLA clocks, and takes the higher priority and
    /// the channels and tags it lacked. `from` closes as any close does: its SLA clocks
    /// stop and, with routing on, it leaves its queue or frees its agent. Every thread key
    /// of `from` leads to `into`, so a reply in its e-mail thread lands there.
    ///
    /// ```
    /// use throughline::{AgentId, Channel, Desk, DeskConfig, Identifier, Inbound, Status, TenantId, ThreadingPolicy};
    /// let t0 = chrono::DateTime::parse_from_rfc3339("2026-03-02T09:00:00Z")?.to_utc();
    /// let tenant = TenantId::new_v7();
    /// let config = DeskConfig::default().threading(ThreadingPolicy::PerTopic);
    /// let mut desk = Desk::new(throughline::store::MemoryStore::new(), config);
    /// let ana = Identifier::email("ana@example.com")?;
    /// // Two e-mail threads about the same parcel: two conversations.
    /// let a = desk.ingest(Inbound::new(tenant, Channel::Email, ana.clone(), "<a@x>", "Where is my parcel?"), t0)?;
    /// let b = desk.ingest(Inbound::new(tenant, Channel::Email, ana, "<b@x>", "Parcel still missing!"), t0)?;
    /// let agent = AgentId::new_v7();
    /// desk.merge_conversations((tenant, b.conversation), (tenant, a.conversation), agent, t0)?;
    /// assert_eq!(desk.conversation((tenant, b.conversation))?.status, Status::Closed);
    /// let bodies: Vec<String> = desk.messages((tenant, a.conversation))?.into_iter()
    ///     .filter(|m| m.event.is_none()).map(|m| m.body).collect();
    /// assert_eq!(bodies, ["Where is my parcel?", "Parcel still missing!"]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// Nothing is written on any error. [`Error::NotFound`] for a conversation or (with
    /// routing on) an agent not of the tenant; [`Error::Invalid`] for one conversation
    /// twice, conversations of two tenants or of two customers;
    /// [`Error::ConversationClosed`] when either is closed; [`Error::Store`].
    pub fn merge_conversations(
        &mut self,
        from: impl Into<ConversationRef>,
        into: impl Into<ConversationRef>,
        by: AgentId,
        now: DateTime<Utc>,
    ) -> Result<Vec<Effect>> {
        let (from, into): (ConversationRef, ConversationRef) = (from.into(), into.into());
        let _span = super::trace::op_span!(
            "desk.merge_conversations",
            tenant = from.tenant,
            conversation = from.id,
            agent = by
        );
        if from.tenant != into.tenant {
            return Err(Error::invalid(
                "conversation",
                format!(
                    "conversations {} and {} are of two tenants: only one customer's \
                     conversations merge",
                    from.id, into.id
                ),
            ));
        }
        self.enter(from.tenant)?;
        self.check_agents(from.tenant, &[by])?;
        let mut effects =
            self.retrying(|desk| desk.merge_conversations_once(from, into, by, now))?;
        if self
            .metrics_refresh(from.tenant, &[from.id, into.id])
            .is_err()
        {
            self.metrics_untrusted(from.tenant);
        }
        effects.extend(self.routing_after_status(from.tenant, from.id, Status::Closed, now)?);
        Ok(effects)
    }

    /// One attempt at a merge: read, decide, apply one change set.
    fn merge_conversations_once(
        &mut self,
        from: ConversationRef,
        into: ConversationRef,
        by: AgentId,
        now: DateTime<Utc>,
    ) -> Result<Vec<Effect>> {
        let source = self.load_conversation(from)?;
        let target = self.load_conversation(into)?;
        let tenant = source.tenant;
        let messages = if source.customer == target.customer && source.id != target.id {
            self.store.messages_of(tenant, source.id)?
        } else {
            Vec::new() // refused below
        };
        let plan = conversation::plan_merge(source, target, messages, by, now)?;
        let (mut source, target) = (plan.source, plan.target);
        let mut effects = vec![Effect::StatusChanged {
            tenant,
            conversation: source.id,
            from: plan.source_was,
            to: Status::Closed,
        }];
        let mut changes = ChangeSet::new(tenant);
        // The source closes as any close does: its clocks stop, a scheduled close goes.
        self.run_steps(&mut Step {
            tenant,
            now,
            event: Event::Status {
                from: plan.source_was,
                to: Status::Closed,
            },
            conversation: &mut source,
            changes: &mut changes,
            effects: &mut effects,
        })?;
        effects.push(Effect::ConversationsMerged {
            tenant,
            from: source.id,
            into: target.id,
        });
        for m in plan.moved {
            changes.push(Op::UpdateMessage(m));
        }
        changes.push(Op::MoveThreadKeys {
            from: source.id,
            to: target.id,
        });
        let source_event = self.event_message(&source, by, plan.source_event, now);
        let target_event = self.event_message(&target, by, plan.target_event, now);
        self.sla_reselect(&target, &mut changes, now)?;
        changes.push(Op::PutConversation(source));
        changes.push(Op::PutConversation(target));
        changes.push(Op::InsertMessage(source_event));
        changes.push(Op::InsertMessage(target_event));
        self.apply_changes(changes)?;
        Ok(effects)
    }

    /// Splits the given messages of a conversation off into a new conversation of the same
    /// customer, as `by` decided: the messages move there (keeping their times and
    /// order), the new conversation is open, unassigned and linked to the original
    /// ([`crate::Conversation::related`]), and both timelines record it
    /// ([`SplitOff`](conversation::ConversationEvent::SplitOff) and
    /// [`SplitFrom`](conversation::ConversationEvent::SplitFrom) events, naming the
    /// messages).
    ///
    /// The new conversation takes the original's subject, priority, language and tags;
    /// SLA clocks stay with the original (the new one starts its own when the customer
    /// writes in it); a split-off e-mail's thread key follows it, so replies in its thread
    /// land in the new conversation. Assign it with [`Desk::assign`].
    ///
    /// ```
    /// use throughline::{AgentId, Channel, Desk, DeskConfig, Identifier, Inbound, TenantId};
    /// let t0 = chrono::DateTime::parse_from_rfc3339("2026-03-02T09:00:00Z")?.to_utc();
    /// let tenant = TenantId::new_v7();
    /// let mut desk = Desk::new(throughline::store::MemoryStore::new(), DeskConfig::default());
    /// let bo = Identifier::email("bo@example.com")?;
    /// let chat = |id, body| Inbound::new(tenant, Channel::WebChat, bo.clone(), id, body);
    /// let first = desk.ingest(chat("c1", "My parcel is late"), t0)?;
    /// let other = desk.ingest(chat("c2", "And my invoice is wrong"), t0)?;
    /// let split = desk.split_conversation((tenant, first.conversation), &[other.message.id],
    ///                                     AgentId::new_v7(), t0)?;
    /// let moved = desk.messages((tenant, split.conversation))?;
    /// assert_eq!(moved[0].body, "And my invoice is wrong");
    /// assert_eq!(desk.conversation((tenant, split.conversation))?.related, Some(first.conversation));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// Nothing is written on any error. [`Error::NotFound`] for a conversation or (with
    /// routing on) an agent not of the tenant; [`Error::Invalid`] for an empty selection,
    /// a message not in the conversation, or every message of it (one must stay);
    /// [`Error::ConversationClosed`]; [`Error::Store`].
    pub fn split_conversation(
        &mut self,
        conversation: impl Into<ConversationRef>,
        messages: &[MessageId],
        by: AgentId,
        now: DateTime<Utc>,
    ) -> Result<Split> {
        let r: ConversationRef = conversation.into();
        let _span = super::trace::op_span!(
            "desk.split_conversation",
            tenant = r.tenant,
            conversation = r.id,
            agent = by
        );
        self.enter(r.tenant)?;
        self.check_agents(r.tenant, &[by])?;
        let split = self.retrying(|desk| desk.split_once(r, messages, by, now))?;
        if self
            .metrics_refresh(r.tenant, &[r.id, split.conversation])
            .is_err()
        {
            self.metrics_untrusted(r.tenant);
        }
        Ok(split)
    }

    /// One attempt at a split: read, decide, apply one change set.
    fn split_once(
        &mut self,
        r: ConversationRef,
        selected: &[MessageId],
        by: AgentId,
        now: DateTime<Utc>,
    ) -> Result<Split> {
        let original = self.load_conversation(r)?;
        let tenant = original.tenant;
        let messages = self.store.messages_of(tenant, original.id)?;
        let id = ConversationId::from_uuid(self.next_uuid(now));
        let plan = conversation::plan_split(original, messages, selected, id, by, now)?;
        let (original, split) = (plan.original, plan.split);
        let ids: Vec<MessageId> = plan.moved.iter().map(|m| m.id).collect();
        let mut changes = ChangeSet::new(tenant);
        for m in plan.moved {
            if let Some(k) = &m.thread_key {
                let key = thread_key(&m.channel, k);
                if self.store.thread(tenant, &key)? == Some(original.id) {
                    changes.push(Op::DeleteThreadKey { key: key.clone() });
                    changes.push(Op::PutThreadKey {
                        key,
                        conversation: id,
                    });
                }
            }
            changes.push(Op::UpdateMessage(m));
        }
        let effects = vec![
            Effect::ConversationOpened {
                tenant,
                conversation: id,
                customer: split.customer,
                channel: split.channels.first().cloned().unwrap_or(Channel::WebChat),
                previous: None,
            },
            Effect::ConversationSplit {
                tenant,
                from: original.id,
                into: id,
                messages: ids,
            },
        ];
        let original_event = self.event_message(&original, by, plan.original_event, now);
        let split_event = self.event_message(&split, by, plan.split_event, now);
        changes.push(Op::PutConversation(original));
        changes.push(Op::PutConversation(split));
        changes.push(Op::InsertMessage(original_event));
        changes.push(Op::InsertMessage(split_event));
        self.apply_changes(changes)?;
        Ok(Split {
            conversation: id,
            effects,
        })
    }
}
