//! Routing on the Desk: conversations that need a human are routed after the operation
//! that made them need one committed; solving or closing frees the agent's capacity;
//! `tick` fires escalation steps and offers work to agents whose shift starts. The
//! routing state lives in the store ([`super::routing_store`]); the router is a cache
//! of it, so every host on the store sees the same agents, loads and queues.

use chrono::{DateTime, Utc};

use crate::conversation::Conversation;
use crate::desk::{ConversationRef, Desk};
use crate::effect::Effect;
use crate::error::{Error, Result};
use crate::id::{AgentId, ConversationId, TenantId};
use crate::routing::{Agent, Decision, Presence, Requirements, Router, WorkItem};
use crate::store::Store;

impl<S: Store> Desk<S> {
    pub(crate) fn router_mut(&mut self) -> Result<&mut Router> {
        let Some(cfg) = self.settings.base.routing.as_ref() else {
            return Err(Error::Config(
                "routing is off: set DeskConfig::routing".into(),
            ));
        };
        if self.router.is_none() {
            self.router = Some(Router::new(cfg));
        }
        self.router
            .as_mut()
            .ok_or_else(|| Error::Config("routing is off".into()))
    }

    /// This desk's cache of the routing state (when routing is on and has been used):
    /// what the store held when this desk last read or wrote it. Another host's changes
    /// show after this desk's next routing operation; [`Desk::routing_state`] reads the
    /// store.
    pub fn router(&self) -> Option<&Router> {
        self.router.as_ref()
    }

    /// Adds or updates an agent (keeping the load they hold, as stored); work waiting for
    /// them is assigned at once. Every host may register the team at start-up.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] when routing is off; [`Error::Invalid`] for a bad agent.
    pub fn upsert_agent(&mut self, agent: Agent, now: DateTime<Utc>) -> Result<Vec<Effect>> {
        let _span =
            super::trace::op_span!("desk.upsert_agent", tenant = agent.tenant, agent = agent.id);
        let _stage = self.stage(crate::probe::Stage::Routing);
        self.router_mut()?;
        agent.validate()?;
        let tenant = agent.tenant;
        let ((), effects) = self.routing_tx(tenant, now, |desk, _| {
            let decisions = desk.router_mut()?.upsert_agent(agent.clone(), now)?;
            Ok(((), decisions))
        })?;
        Ok(effects)
    }

    /// Changes an agent's presence; an agent who comes online gets the oldest
    /// highest-priority waiting work they can take.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] when routing is off; [`Error::NotFound`] for an unknown agent.
    pub fn set_presence(
        &mut self,
        tenant: TenantId,
        agent: AgentId,
        presence: Presence,
        now: DateTime<Utc>,
    ) -> Result<Vec<Effect>> {
        let _span = super::trace::op_span!("desk.set_presence", tenant = tenant, agent = agent);
        let _stage = self.stage(crate::probe::Stage::Routing);
        self.router_mut()?;
        let ((), effects) = self.routing_tx(tenant, now, |desk, _| {
            let decisions = desk
                .router_mut()?
                .set_presence(tenant, agent, presence, now)?;
            Ok(((), decisions))
        })?;
        Ok(effects)
    }

    /// Routes a conversation with explicit requirements (an agent's transfer, a host's
    /// own triage): assigned to the best qualifying agent, or queued.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] when routing is off; [`Error::NotFound`] for an unknown
    /// conversation.
    pub fn route(
        &mut self,
        conversation: impl Into<ConversationRef>,
        requirements: Requirements,
        now: DateTime<Utc>,
    ) -> Result<(Decision, Vec<Effect>)> {
        let _stage = self.stage(crate::probe::Stage::Routing);
        self.router_mut()?;
        let r: super::ConversationRef = conversation.into();
        let _span = super::trace::op_span!("desk.route", tenant = r.tenant, conversation = r.id);
        self.routing_tx(r.tenant, now, |desk, _| {
            let conv = desk.load_conversation(r)?;
            let decision = desk.route_decision(conv, requirements.clone(), now)?;
            Ok((decision.clone(), vec![decision]))
        })
    }

    /// Routes `conv` on the fresh router, preferring its (or its customer's) previous
    /// agent.
    fn route_decision(
        &mut self,
        conv: Conversation,
        requirements: Requirements,
        now: DateTime<Utc>,
    ) -> Result<Decision> {
        let previous_agent = match conv.assignee {
            Some(a) => Some(a),
            None => self.previous_agent(conv.tenant, conv.customer, conv.id)?,
        };
        let (tenant, id) = (conv.tenant, conv.id);
        self.routing.known = Some(conv);
        let item = WorkItem {
            tenant,
            conversation: id,
            requirements,
            previous_agent,
            enqueued_at: now,
            steps_applied: 0,
        };
        Ok(self.router_mut()?.route(item, now))
    }

    /// Routing after triage (or for every new conversation without triage).
    pub(crate) fn route_automatically(
        &mut self,
        tenant: TenantId,
        conversation: ConversationId,
        skills: &[(String, u8)],
        now: DateTime<Utc>,
    ) -> Result<Vec<Effect>> {
        let Some(cfg) = self.config.routing.clone() else {
            return Ok(Vec::new());
        };
        let ((), effects) = self.routing_tx(tenant, now, |desk, changes| {
            desk.clear_pending(tenant, conversation, changes)?;
            let Some(conv) = desk.store.conversation(tenant, conversation)? else {
                return Ok(((), Vec::new()));
            };
            // Work routing already holds (assigned or waiting) stays where it is; a
            // reopened conversation is routed again, preferring its previous agent.
            let router = desk.router_mut()?;
            let held = router.assignment(tenant, conversation).is_some()
                || router.is_waiting(tenant, conversation);
            if held || !conv.status.is_active() {
                return Ok(((), Vec::new()));
            }
            let req = requirements_for(&conv, skills, &cfg);
            let decision = desk.route_decision(conv, req, now)?;
            Ok(((), vec![decision]))
        })?;
        Ok(effects)
    }

    /// For an active conversation, with routing on: the work item the (fresh) router
    /// holds for it (with its requirements, waiting time and escalation steps), or a new
    /// one with the requirements routing would give it (no skills), for a hand-made
    /// assignment. A solved or closed conversation is no routing work.
    pub(crate) fn work_item_for(
        &self,
        conv: &Conversation,
        now: DateTime<Utc>,
    ) -> Option<WorkItem> {
        let cfg = self.config.routing.as_ref()?;
        if !conv.status.is_active() {
            return None;
        }
        if let Some(held) = self
            .router
            .as_ref()
            .and_then(|r| r.item(conv.tenant, conv.id))
        {
            let mut item = held.clone();
            item.requirements.priority = conv.priority;
            return Some(item);
        }
        Some(WorkItem {
            tenant: conv.tenant,
            conversation: conv.id,
            requirements: requirements_for(conv, &[], cfg),
            previous_agent: conv.assignee,
            enqueued_at: now,
            steps_applied: 0,
        })
    }

    /// The agent of the customer's latest earlier conversation, for sticky routing.
    fn previous_agent(
        &self,
        tenant: TenantId,
        customer: crate::CustomerId,
        except: ConversationId,
    ) -> Result<Option<AgentId>> {
        Ok(self
            .store
            .conversations_of(tenant, customer)?
            .into_iter()
            .rev()
            .filter(|c| c.id != except)
            .find_map(|c| c.assignee))
    }

    /// After a status change: a solved or closed conversation frees its agent, whose
    /// capacity is offered to waiting work. Nothing to do (and nothing written) when
    /// routing does not hold the conversation, so a host that retries a status change
    /// after a failure frees the agent then.
    pub(crate) fn routing_after_status(
        &mut self,
        tenant: TenantId,
        conversation: ConversationId,
        to: crate::Status,
        now: DateTime<Utc>,
    ) -> Result<Vec<Effect>> {
        let _stage = self.stage(crate::probe::Stage::Routing);
        if self.config.routing.is_none() || to.is_active() {
            return Ok(Vec::new());
        }
        let ((), effects) = self.routing_tx(tenant, now, |desk, _| {
            let decisions = desk.router_mut()?.release(tenant, conversation, now);
            Ok(((), decisions))
        })?;
        Ok(effects)
    }

    /// Escalation steps and shift starts that fell due (from `tick`), found through the
    /// stored routing records of every tenant, so a desk that never routed for a tenant
    /// still fires its steps.
    pub(crate) fn routing_tick(&mut self, now: DateTime<Utc>) -> Result<Vec<Effect>> {
        let _stage = self.stage(crate::probe::Stage::Routing);
        if self.config.routing.is_none() {
            return Ok(Vec::new());
        }
        let mut effects = Vec::new();
        for (tenant, conversation, skills) in self.routing_pending(now, DUE_PER_TICK)? {
            effects.extend(self.route_automatically(tenant, conversation, &skills, now)?);
        }
        for (tenant, (work, shift_started)) in self.routing_due(now, DUE_PER_TICK)? {
            let (escalated, assigned) = self.routing_tx(tenant, now, |desk, _| {
                let router = desk.router_mut()?;
                // Due records are written again with their next due time.
                for c in &work {
                    router.touch_work(tenant, *c);
                }
                let mut escalated = Vec::new();
                let mut decisions = Vec::new();
                for (item, step, decision) in router.escalate_in(tenant, now) {
                    escalated.push(Effect::Escalated {
                        tenant,
                        conversation: item.conversation,
                        step,
                    });
                    decisions.push(decision);
                }
                if shift_started {
                    decisions.extend(router.offer_on_shift(tenant, now));
                }
                // Queueing again is no news: only assignments are reported.
                decisions.retain(|d| d.agent.is_some());
                Ok((escalated, decisions))
            })?;
            effects.extend(escalated);
            effects.extend(assigned);
        }
        Ok(effects)
    }

    /// Brings routing up to date with conversations it does not hold: open conversations
    /// with an assignee count against that agent's capacity; active unassigned ones that
    /// triage (or the absence of triage) marks as needing a human are routed. Routing
    /// state is stored, so a desk built anew needs none of this; it is for conversations
    /// from before routing was turned on. Cost: one pass over the tenant's conversations.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] when routing is off; store failures.
    pub fn restore_routing(&mut self, tenant: TenantId, now: DateTime<Utc>) -> Result<Vec<Effect>> {
        let _span = super::trace::op_span!("desk.restore_routing", tenant = tenant);
        let _stage = self.stage(crate::probe::Stage::Routing);
        let cfg = self
            .config
            .routing
            .clone()
            .ok_or_else(|| Error::Config("routing is off: set DeskConfig::routing".into()))?;
        // Only the active conversations are kept: a tenant's closed history can be
        // millions of conversations, read a page at a time.
        let mut active = Vec::new();
        self.each_conversation_in(
            tenant,
            DateTime::<Utc>::MIN_UTC,
            DateTime::<Utc>::MAX_UTC,
            |conv| {
                if conv.status.is_active() {
                    active.push(conv);
                }
                Ok(())
            },
        )?;
        let (unassigned, mut effects) = self.routing_tx(tenant, now, |desk, _| {
            let router = desk.router_mut()?;
            let mut unassigned = Vec::new();
            for conv in &active {
                if router.item(tenant, conv.id).is_some() {
                    continue;
                }
                let Some(agent) = conv.assignee else {
                    unassigned.push(conv.id);
                    continue;
                };
                let mut req = requirements_for(conv, &[], &cfg);
                req.priority = conv.priority;
                let item = WorkItem {
                    tenant,
                    conversation: conv.id,
                    requirements: req,
                    previous_agent: Some(agent),
                    enqueued_at: conv.created_at,
                    steps_applied: 0,
                };
                router.restore_assignment(item, agent);
            }
            Ok((unassigned, Vec::new()))
        })?;
        for id in unassigned {
            let outcome = self.triage_of((tenant, id))?;
            if outcome.as_ref().is_none_or(|o| o.needs_human) {
                let skills = outcome.map(|o| o.skills).unwrap_or_default();
                effects.extend(self.route_automatically(tenant, id, &skills, now)?);
            }
        }
        Ok(effects)
    }

    /// The agent a conversation is assigned to.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] for an unknown conversation.
    pub fn assignment_of(
        &self,
        conversation: impl Into<ConversationRef>,
    ) -> Result<Option<AgentId>> {
        Ok(self.load_conversation(conversation.into())?.assignee)
    }
}

/// How many due routing records of each kind one `tick` takes on (the rest are due at
/// the next).
const DUE_PER_TICK: usize = 1000;

/// What routing asks of an agent for `conv`: its channel, priority, language, the
/// capacity its channel takes, and `skills`.
fn requirements_for(
    conv: &Conversation,
    skills: &[(String, u8)],
    cfg: &crate::routing::RoutingConfig,
) -> Requirements {
    let channel = conv
        .last_inbound_channel
        .clone()
        .or_else(|| conv.channels.first().cloned())
        .unwrap_or(crate::Channel::Email);
    let mut req = Requirements::new(channel.clone())
        .priority(conv.priority)
        .units(cfg.capacity.units(&channel));
    for (s, l) in skills {
        req = req.skill(s.clone(), *l);
    }
    if let Some(l) = &conv.language {
        req = req.language(l.clone());
    }
    req
}
