//! Agent operations on a conversation: assign to a named agent, transfer, unassign, set
//! the priority, change the status as someone. Each reads the conversation, lets
//! [`crate::conversation`] decide, and writes the change with its event (who, what,
//! when) in the conversation's timeline, in one change set; then the router follows.
//!
//! Every operation is tenant-scoped (another tenant's conversation is not found) and,
//! with routing on, every agent it names must be one of the tenant's agents
//! ([`Desk::upsert_agent`]). Capacity applies to assignments by hand too, unless a
//! supervisor overrides it ([`Desk::assign_over_capacity`]); the override is recorded on
//! the event.

use chrono::{DateTime, Utc};

use crate::channel::Channel;
use crate::conversation::{self, Conversation, ConversationEvent, Priority, Status, Transfer};
use crate::desk::{ConversationRef, Desk};
use crate::effect::Effect;
use crate::error::{Error, Result};
use crate::id::{AgentId, MessageId, TenantId};
use crate::message::{Author, Direction, Message};
use crate::routing::Decision;
use crate::store::{ChangeSet, Op, Store};

impl<S: Store> Desk<S> {
    /// Assigns a conversation to `agent`, as `by` decided. With routing on, `agent` must
    /// have room for it ([`Desk::assign_over_capacity`] overrides that); it leaves its
    /// queue or its previous agent, whose freed capacity is offered to waiting work.
    ///
    /// ```
    /// use throughline::routing::{Agent, Presence, RoutingConfig};
    /// use throughline::{AgentId, Channel, Desk, DeskConfig, Identifier, Inbound, TenantId};
    /// use throughline::store::MemoryStore;
    /// let now = chrono::DateTime::parse_from_rfc3339("2026-03-02T09:00:00Z")?.to_utc();
    /// let tenant = TenantId::new_v7();
    /// let mut desk = Desk::new(MemoryStore::new(), DeskConfig::default().routing(RoutingConfig::default()));
    /// let (ana, lead) = (AgentId::new_v7(), AgentId::new_v7());
    /// // Both away: nobody is offered the chat; the lead hands it to Ana by hand.
    /// desk.upsert_agent(Agent::new(ana, tenant, "Ana").presence(Presence::Away), now)?;
    /// desk.upsert_agent(Agent::new(lead, tenant, "Lead").presence(Presence::Away), now)?;
    /// let got = desk.ingest(Inbound::new(tenant, Channel::Email, Identifier::email("bo@example.com")?,
    ///                                    "<m1@example.com>", "Refund please"), now)?;
    /// desk.assign((tenant, got.conversation), ana, lead, now)?;
    /// assert_eq!(desk.conversation((tenant, got.conversation))?.assignee, Some(ana));
    /// // The timeline says who did it.
    /// let events = desk.messages((tenant, got.conversation))?;
    /// assert!(events.iter().any(|m| m.event.as_ref().is_some_and(|e| e.actor() == lead)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] for a conversation or an agent not of the tenant;
    /// [`Error::Invalid`] for an agent at capacity or already assigned;
    /// [`Error::ConversationClosed`].
    pub fn assign(
        &mut self,
        conversation: impl Into<ConversationRef>,
        agent: AgentId,
        by: AgentId,
        now: DateTime<Utc>,
    ) -> Result<Vec<Effect>> {
        let r: super::ConversationRef = conversation.into();
        let _span = super::trace::op_span!(
            "desk.assign",
            tenant = r.tenant,
            conversation = r.id,
            agent = agent
        );
        self.assign_as(r, agent, by, false, now)
    }

    /// [`Desk::assign`] past the agent's capacity: a supervisor's override, recorded on
    /// the event.
    ///
    /// # Errors
    ///
    /// As [`Desk::assign`], without the capacity check.
    pub fn assign_over_capacity(
        &mut self,
        conversation: impl Into<ConversationRef>,
        agent: AgentId,
        supervisor: AgentId,
        now: DateTime<Utc>,
    ) -> Result<Vec<Effect>> {
        let r: super::ConversationRef = conversation.into();
        let _span = super::trace::op_span!(
            "desk.assign_over_capacity",
            tenant = r.tenant,
            conversation = r.id,
            agent = agent
        );
        self.assign_as(r, agent, supervisor, true, now)
    }

    fn assign_as(
        &mut self,
        r: ConversationRef,
        agent: AgentId,
        by: AgentId,
        over_capacity: bool,
        now: DateTime<Utc>,
    ) -> Result<Vec<Effect>> {
        let mut effects = vec![Effect::Assigned {
            tenant: r.tenant,
            conversation: r.id,
            agent,
            explanation: format!("assigned by {by}"),
        }];
        let (_, freed) = self.operate(
            r,
            by,
            &[agent, by],
            now,
            |desk, conv| {
                if let (Some(item), Some(router)) = (desk.work_item_for(conv, now), &desk.router) {
                    router.check_manual(
                        conv.tenant,
                        agent,
                        item.requirements.units,
                        over_capacity,
                    )?;
                }
                conversation::assign(conv, agent, by, over_capacity)
            },
            |desk, conv| match desk.work_item_for(conv, now) {
                Some(item) => Ok(desk.router_mut()?.assign_manually(item, agent, now)),
                None => Ok(Vec::new()),
            },
        )?;
        effects.extend(freed);
        Ok(effects)
    }

    /// Transfers a conversation to an agent (as [`Desk::assign`], within their capacity)
    /// or to a queue (unassigned; with routing on it is routed again in that queue), with
    /// a note for whoever picks it up.
    ///
    /// # Errors
    ///
    /// As [`Desk::assign`]; [`Error::Invalid`] for an empty note or queue name.
    pub fn transfer(
        &mut self,
        conversation: impl Into<ConversationRef>,
        to: Transfer,
        note: &str,
        by: AgentId,
        now: DateTime<Utc>,
    ) -> Result<Vec<Effect>> {
        let r: super::ConversationRef = conversation.into();
        let _span = super::trace::op_span!(
            "desk.transfer",
            tenant = r.tenant,
            conversation = r.id,
            agent = by
        );
        let mut named = vec![by];
        if let Transfer::Agent(a) = &to {
            named.push(*a);
        }
        let (_, effects) = self.operate(
            r,
            by,
            &named,
            now,
            |desk, conv| {
                if let (Transfer::Agent(a), Some(item), Some(router)) =
                    (&to, desk.work_item_for(conv, now), &desk.router)
                {
                    router.check_manual(conv.tenant, *a, item.requirements.units, false)?;
                }
                conversation::transfer(conv, to.clone(), note, by)
            },
            |desk, conv| {
                let Some(mut item) = desk.work_item_for(conv, now) else {
                    return Ok(Vec::new());
                };
                Ok(match &to {
                    Transfer::Agent(a) => desk.router_mut()?.assign_manually(item, *a, now),
                    Transfer::Queue(q) => {
                        item.requirements.queue = q.clone();
                        item.previous_agent = None;
                        desk.router_mut()?.release_manually(item, true, now)
                    }
                })
            },
        )?;
        Ok(effects)
    }

    /// Takes a conversation away from its agent; with routing on, the agent's freed
    /// capacity is offered to other waiting work, and the conversation waits in its queue
    /// for the next agent who frees up or comes on duty.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`]; [`Error::Invalid`] when it has no assignee;
    /// [`Error::ConversationClosed`].
    pub fn unassign(
        &mut self,
        conversation: impl Into<ConversationRef>,
        by: AgentId,
        now: DateTime<Utc>,
    ) -> Result<Vec<Effect>> {
        let r: super::ConversationRef = conversation.into();
        let _span = super::trace::op_span!(
            "desk.unassign",
            tenant = r.tenant,
            conversation = r.id,
            agent = by
        );
        let (_, effects) = self.operate(
            r,
            by,
            &[by],
            now,
            |_, conv| conversation::unassign(conv, by),
            |desk, conv| match desk.work_item_for(conv, now) {
                Some(item) => Ok(desk.router_mut()?.release_manually(item, false, now)),
                None => Ok(Vec::new()),
            },
        )?;
        Ok(effects)
    }

    /// Sets a conversation's priority, as `by` decided (waiting work moves up or down
    /// its queue).
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`]; [`Error::Invalid`] when it already has that priority;
    /// [`Error::ConversationClosed`].
    pub fn set_priority(
        &mut self,
        conversation: impl Into<ConversationRef>,
        priority: Priority,
        by: AgentId,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let r: super::ConversationRef = conversation.into();
        let _span = super::trace::op_span!(
            "desk.set_priority",
            tenant = r.tenant,
            conversation = r.id,
            agent = by
        );
        self.operate(
            r,
            by,
            &[by],
            now,
            |_, conv| conversation::set_priority(conv, priority, by),
            |desk, _| {
                desk.router_mut()?.reprioritize(r.tenant, r.id, priority);
                Ok(Vec::new())
            },
        )?;
        Ok(())
    }

    /// [`Desk::set_status`] as `by`: the change is recorded in the timeline with its
    /// actor.
    ///
    /// # Errors
    ///
    /// As [`Desk::set_status`]; [`Error::NotFound`] for an agent not of the tenant.
    pub fn set_status_as(
        &mut self,
        conversation: impl Into<ConversationRef>,
        status: Status,
        by: AgentId,
        now: DateTime<Utc>,
    ) -> Result<Vec<Effect>> {
        let r: super::ConversationRef = conversation.into();
        let _span = super::trace::op_span!(
            "desk.set_status_as",
            tenant = r.tenant,
            conversation = r.id,
            agent = by
        );
        self.check_agents(r.tenant, &[by])?;
        self.change_status(r, status, Some(by), now)
    }

    /// With routing on, refuses an agent who is not one of the tenant's (as stored: the
    /// router's cache of the tenant is brought up to date first).
    pub(crate) fn check_agents(&mut self, tenant: TenantId, agents: &[AgentId]) -> Result<()> {
        if self.config.routing.is_none() {
            return Ok(());
        }
        let router = match self.fresh_router(tenant) {
            Ok(r) => r,
            Err(e) => {
                self.routing_lost(tenant);
                return Err(e);
            }
        };
        match agents.iter().find(|a| router.agent(tenant, **a).is_none()) {
            Some(a) => Err(Error::not_found("agent", a)),
            None => Ok(()),
        }
    }

    /// Reads the conversation, lets `decide` change it, and writes it with the event in
    /// one change set; with routing on, `route` then decides on the tenant's fresh routing
    /// state and its decisions (an agent's freed capacity offered, say) are written in the
    /// same change set. Retried on a lost race; returns the conversation as written and
    /// the routing effects.
    fn operate(
        &mut self,
        r: ConversationRef,
        by: AgentId,
        named: &[AgentId],
        now: DateTime<Utc>,
        decide: impl Fn(&Self, &mut Conversation) -> Result<ConversationEvent>,
        route: impl Fn(&mut Self, &Conversation) -> Result<Vec<Decision>>,
    ) -> Result<(Conversation, Vec<Effect>)> {
        self.enter(r.tenant)?;
        let routing = self.config.routing.is_some();
        self.retrying(|desk| {
            desk.check_agents(r.tenant, named)?;
            let mut conv = desk.load_conversation(r)?;
            let event = decide(desk, &mut conv)?;
            let message = desk.event_message(&conv, by, event, now);
            conv.message_count += 1;
            conv.updated_at = now;
            conv.version += 1;
            let mut changes = ChangeSet::new(conv.tenant);
            changes.push(Op::PutConversation(conv.clone()));
            changes.push(Op::InsertMessage(message));
            desk.sla_reselect(&conv, &mut changes, now)?;
            if !routing {
                desk.apply_changes(changes)?;
                return Ok((conv, Vec::new()));
            }
            let write = route(desk, &conv)
                .and_then(|decisions| desk.routing_into(r.tenant, &mut changes, decisions, now));
            let write = match write {
                Ok(w) => w,
                Err(e) => {
                    desk.routing_lost(r.tenant);
                    return Err(e);
                }
            };
            let effects = desk.apply_routing(changes, write)?;
            Ok((conv, effects))
        })
    }

    /// The timeline entry of `event` on `conv`.
    pub(crate) fn event_message(
        &mut self,
        conv: &Conversation,
        by: AgentId,
        event: ConversationEvent,
        now: DateTime<Utc>,
    ) -> Message {
        Message {
            id: MessageId::from_uuid(self.next_uuid(now)),
            tenant: conv.tenant,
            conversation: conv.id,
            channel: conv
                .last_inbound_channel
                .clone()
                .or_else(|| conv.channels.first().cloned())
                .unwrap_or(Channel::WebChat),
            direction: Direction::Event,
            author: Author::Agent(by),
            body: event.text(),
            attachments: Vec::new(),
            counterpart: None,
            external_id: None,
            thread_key: None,
            inbox: None,
            quoted: None,
            automated: None,
            event: Some(event),
            sent_at: now,
            received_at: now,
            language: None,
            delivery: None,
        }
    }
}
