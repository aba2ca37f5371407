//! Routing on the Desk: conversations that need a human are routed after the operation
//! that made them need one committed; solving or closing frees the agent's capacity;
//! `tick` fires escalation steps. The router's state is in memory: assignments are
//! written to `Conversation::assignee`, and `Desk::restore_routing` rebuilds loads and
//! queues from the store after a restart.

use std::collections::VecDeque;

use chrono::{DateTime, Utc};

use crate::conversation::{Conversation, Status};
use crate::desk::{ConversationRef, Desk};
use crate::effect::Effect;
use crate::error::{Error, Result};
use crate::id::{AgentId, ConversationId, TenantId};
use crate::routing::{Agent, Decision, Presence, Requirements, Router, WorkItem};
use crate::store::{ChangeSet, Op, Store};

impl<S: Store> Desk<S> {
    pub(crate) fn router_mut(&mut self) -> Result<&mut Router> {
        let Some(cfg) = self.config.routing.clone() else {
            return Err(Error::Config(
                "routing is off: set DeskConfig::routing".into(),
            ));
        };
        self.router_touched();
        Ok(self.router.get_or_insert_with(|| Router::new(&cfg)))
    }

    /// The router (when routing is on and has been used).
    pub fn router(&self) -> Option<&Router> {
        self.router.as_ref()
    }

    /// Adds or updates an agent; work waiting for them is assigned at once.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] when routing is off; [`Error::Invalid`] for a bad agent.
    pub fn upsert_agent(&mut self, agent: Agent, now: DateTime<Utc>) -> Result<Vec<Effect>> {
        let _stage = self.stage(crate::probe::Stage::Routing);
        let tenant = agent.tenant;
        let decisions = self.router_mut()?.upsert_agent(agent, now)?;
        self.apply_decisions(tenant, decisions, now)
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
        let _stage = self.stage(crate::probe::Stage::Routing);
        let decisions = self
            .router_mut()?
            .set_presence(tenant, agent, presence, now)?;
        self.apply_decisions(tenant, decisions, now)
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
        let conv = self.load_conversation(conversation.into())?;
        self.route_loaded(conv, requirements, now)
    }

    /// [`Desk::route`] for a conversation the caller has just read.
    fn route_loaded(
        &mut self,
        conv: Conversation,
        requirements: Requirements,
        now: DateTime<Utc>,
    ) -> Result<(Decision, Vec<Effect>)> {
        let previous_agent = match conv.assignee {
            Some(a) => Some(a),
            None => self.previous_agent(conv.tenant, conv.customer, conv.id)?,
        };
        let item = WorkItem {
            tenant: conv.tenant,
            conversation: conv.id,
            requirements,
            previous_agent,
            enqueued_at: now,
            steps_applied: 0,
        };
        // An assignment the router already held was recorded before: a failure to record
        // it again does not take it back.
        let fresh = self
            .router
            .as_ref()
            .is_none_or(|r| r.assignment(conv.tenant, conv.id).is_none());
        let decision = self.router_mut()?.route(item, now);
        let todo = vec![ToRecord {
            tenant: conv.tenant,
            decision: decision.clone(),
            fresh,
        }];
        let effects = self.record_decisions(todo, now, Some(conv))?;
        Ok((decision, effects))
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
        let Some(conv) = self.store.conversation(tenant, conversation)? else {
            return Ok(Vec::new());
        };
        // Work the router already holds (assigned or waiting) stays where it is; a
        // reopened conversation is routed again, preferring its previous agent.
        let held = self.router.as_ref().is_some_and(|r| {
            r.assignment(tenant, conversation).is_some() || r.is_waiting(tenant, conversation)
        });
        if held || !conv.status.is_active() {
            return Ok(Vec::new());
        }
        let req = requirements_for(&conv, skills, &cfg);
        let (_, effects) = self.route_loaded(conv, req, now)?;
        Ok(effects)
    }

    /// For an active conversation, with routing on: the work item the router holds for it
    /// (with its requirements, waiting time and escalation steps), or a new one with the
    /// requirements routing would give it (no skills), for a hand-made assignment. A
    /// solved or closed conversation is no routing work.
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

    /// Records decisions the router made for `tenant` (see [`Desk::record_decisions`]).
    pub(crate) fn apply_decisions(
        &mut self,
        tenant: TenantId,
        decisions: Vec<Decision>,
        now: DateTime<Utc>,
    ) -> Result<Vec<Effect>> {
        let todo = decisions
            .into_iter()
            .map(|decision| ToRecord {
                tenant,
                decision,
                fresh: true,
            })
            .collect();
        self.record_decisions(todo, now, None)
    }

    /// Writes the decisions' assignments to the conversations and reports them; the
    /// conversation of one decision may come already read (`known`). A conversation that
    /// is gone gives its agent's capacity back to waiting work, whose decisions are
    /// recorded too. When a write fails, the router takes back every fresh assignment not
    /// yet recorded ([`Router::unassign`]): router and store agree again, the work waits
    /// in its queue, and the next `tick` offers the capacity again.
    fn record_decisions(
        &mut self,
        todo: Vec<ToRecord>,
        now: DateTime<Utc>,
        mut known: Option<Conversation>,
    ) -> Result<Vec<Effect>> {
        let mut todo = VecDeque::from(todo);
        let mut effects = Vec::new();
        while let Some(next) = todo.pop_front() {
            let (tenant, conversation) = (next.tenant, next.decision.conversation);
            let Some(agent) = next.decision.agent else {
                effects.push(Effect::Queued {
                    tenant,
                    conversation,
                    explanation: next.decision.explain(),
                });
                continue;
            };
            let read = known.take_if(|c| c.tenant == tenant && c.id == conversation);
            match self.record_assignment(tenant, conversation, agent, now, read) {
                Ok(true) => effects.push(Effect::Assigned {
                    tenant,
                    conversation,
                    agent,
                    explanation: next.decision.explain(),
                }),
                Ok(false) => {
                    let freed = self.router_mut()?.release(tenant, conversation, now);
                    todo.extend(freed.into_iter().map(|decision| ToRecord {
                        tenant,
                        decision,
                        fresh: true,
                    }));
                }
                Err(e) => {
                    let router = self.router_mut()?;
                    for r in std::iter::once(next).chain(todo) {
                        if r.fresh && r.decision.agent.is_some() {
                            router.unassign(r.tenant, r.decision.conversation, now);
                        }
                    }
                    return Err(e);
                }
            }
        }
        Ok(effects)
    }

    /// Writes `agent` as the conversation's assignee (opening a new one); `false` when
    /// the conversation does not exist.
    fn record_assignment(
        &mut self,
        tenant: TenantId,
        conversation: ConversationId,
        agent: AgentId,
        now: DateTime<Utc>,
        mut read: Option<Conversation>,
    ) -> Result<bool> {
        // The conversation the caller read serves the first attempt; a retry re-reads.
        self.retrying(|desk| {
            let conv = match read.take() {
                Some(c) => Some(c),
                None => desk.store.conversation(tenant, conversation)?,
            };
            let Some(mut conv) = conv else {
                return Ok(false);
            };
            if conv.assignee == Some(agent) {
                return Ok(true);
            }
            conv.assignee = Some(agent);
            if conv.status == Status::New {
                conv.set_status(Status::Open, now);
            }
            conv.updated_at = now;
            conv.version += 1;
            let mut changes = ChangeSet::new(tenant);
            changes.push(Op::PutConversation(conv));
            desk.apply_changes(changes)?;
            Ok(true)
        })
    }

    /// After a status change: a solved or closed conversation frees its agent.
    pub(crate) fn routing_after_status(
        &mut self,
        tenant: TenantId,
        conversation: ConversationId,
        to: Status,
        now: DateTime<Utc>,
    ) -> Result<Vec<Effect>> {
        let _stage = self.stage(crate::probe::Stage::Routing);
        if self.router.is_none() || to.is_active() {
            return Ok(Vec::new());
        }
        let decisions = self.router_mut()?.release(tenant, conversation, now);
        self.apply_decisions(tenant, decisions, now)
    }

    /// Escalation steps that fell due (from `tick`).
    pub(crate) fn routing_tick(&mut self, now: DateTime<Utc>) -> Result<Vec<Effect>> {
        let _stage = self.stage(crate::probe::Stage::Routing);
        self.router_touched();
        let Some(router) = self.router.as_mut() else {
            return Ok(Vec::new());
        };
        let fired = router.tick(now);
        let mut effects = Vec::new();
        let mut todo = Vec::new();
        for (item, step, decision) in fired {
            if step != usize::MAX {
                effects.push(Effect::Escalated {
                    tenant: item.tenant,
                    conversation: item.conversation,
                    step,
                });
            }
            if decision.agent.is_some() {
                todo.push(ToRecord {
                    tenant: item.tenant,
                    decision,
                    fresh: true,
                });
            }
        }
        effects.extend(self.record_decisions(todo, now, None)?);
        Ok(effects)
    }

    /// Rebuilds the router's loads and queues for a tenant from the store after a
    /// restart: open conversations with an assignee count against that agent's capacity;
    /// active unassigned ones that triage (or the absence of triage) marks as needing a
    /// human are routed again. Register the agents first. Cost: one pass over the tenant's
    /// conversations.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] when routing is off; store failures.
    pub fn restore_routing(&mut self, tenant: TenantId, now: DateTime<Utc>) -> Result<Vec<Effect>> {
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
        let mut effects = Vec::new();
        for conv in active {
            let channel = conv
                .last_inbound_channel
                .clone()
                .unwrap_or(crate::Channel::Email);
            if let Some(agent) = conv.assignee {
                let mut req =
                    Requirements::new(channel.clone()).units(cfg.capacity.units(&channel));
                req.priority = conv.priority;
                let item = WorkItem {
                    tenant,
                    conversation: conv.id,
                    requirements: req,
                    previous_agent: Some(agent),
                    enqueued_at: conv.created_at,
                    steps_applied: 0,
                };
                self.router_mut()?.restore_assignment(item, agent);
                continue;
            }
            let outcome = self.triage_of((tenant, conv.id))?;
            if outcome.as_ref().is_none_or(|o| o.needs_human) {
                let skills = outcome.map(|o| o.skills).unwrap_or_default();
                effects.extend(self.route_automatically(tenant, conv.id, &skills, now)?);
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

/// A routing decision to record in the store.
struct ToRecord {
    tenant: TenantId,
    decision: Decision,
    /// Made by the router in this call (not an assignment it already held): taken back
    /// if it cannot be recorded.
    fresh: bool,
}

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
