//! Routing state in the store: the router is a cache of it.
//!
//! Each tenant's routing state is stored as records: one per agent (`routing-agent`),
//! one per conversation routing holds (`routing-work`, due when its next escalation step
//! comes due), the next shift start of any of its agents (`routing-shift`, due then
//! while work waits), and an epoch (`routing-epoch`) whose version every routing change
//! set raises. A routing operation
//! reads the epoch, reloads the tenant from the store when another host moved it, lets
//! the router decide, and writes the decisions' conversations, the changed records and
//! the next epoch in one change set. Two hosts that decide on the same state race on the
//! epoch: the loser gets a `Conflict`, reloads and decides again, so no agent is ever
//! given more than their capacity and no conversation is assigned twice.
//!
//! The change set that makes a conversation need routing (its first message, a
//! reopening, a hand-over) also writes a `routing-pending` mark, due at once, which the
//! routing step deletes in its own change set: a host that stops between the two leaves
//! the mark, and the next `tick` of any host routes the conversation.
//!
//! Invariants: the router's pool of a tenant is either absent or the stored state at
//! the epoch the cache notes, plus the changes of the operation under way; any failure
//! forgets the tenant's pool (the store is the truth, the next operation reloads it).

use std::collections::{HashMap, VecDeque};

use chrono::{DateTime, Utc};

use crate::conversation::Status;
use crate::desk::Desk;
use crate::effect::Effect;
use crate::error::Result;
use crate::id::{AgentId, ConversationId, TenantId};
use crate::routing::{Decision, Router, StoredAgent, StoredWork};
use crate::store::{ChangeSet, Op, Record, Store};

/// The record kind of a tenant's routing epoch.
pub(crate) const EPOCH_KIND: &str = "routing-epoch";
const EPOCH_KEY: &str = "epoch";
/// The record kind of an agent's routing state.
pub(crate) const AGENT_KIND: &str = "routing-agent";
/// The record kind of a conversation routing holds.
pub(crate) const WORK_KIND: &str = "routing-work";
/// The record kind of the mark that a conversation waits for its routing step.
pub(crate) const PENDING_KIND: &str = "routing-pending";
/// The record kind of a tenant's next shift start.
pub(crate) const SHIFT_KIND: &str = "routing-shift";
const SHIFT_KEY: &str = "next";

/// The value of a tenant's `routing-shift` record.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize, serde::Deserialize)]
struct NextShift {
    /// The earliest next shift start of the tenant's agents (at most that early).
    next: Option<DateTime<Utc>>,
    /// Whether work waited when it was written (it is due only then).
    armed: bool,
}

/// Moves `conversation`'s queue entry (the record [`InboxView::Queue`](crate::store::InboxView::Queue)
/// lists) to where it waits now, if anywhere.
fn queue_entry(
    versions: &mut Versions,
    conversation: ConversationId,
    now_in: Option<(String, DateTime<Utc>)>,
    ops: &mut Vec<Op>,
) -> Result<()> {
    if versions.queued.get(&conversation) == now_in.as_ref() {
        return Ok(());
    }
    if let Some((queue, _)) = versions.queued.remove(&conversation) {
        ops.push(Op::DeleteRecord {
            kind: crate::store::queue_kind(&queue),
            key: conversation.to_string(),
            version: 1,
        });
    }
    if let Some((queue, since)) = now_in {
        let mut r = Record::new(
            crate::store::queue_kind(&queue),
            conversation.to_string(),
            serde_json::json!({}),
        );
        r.due = Some(since);
        ops.push(Op::PutRecord(r));
        versions.queued.insert(conversation, (queue, since));
    }
    Ok(())
}

/// The stored versions behind one tenant's cached pool.
#[derive(Debug, Clone, Default)]
struct Versions {
    epoch: u64,
    agents: HashMap<AgentId, u64>,
    work: HashMap<ConversationId, u64>,
    /// The stored `routing-shift` record: its version and value.
    shift: (u64, NextShift),
    /// The queue entry of each waiting conversation (its queue, and since when it
    /// waits): a record of kind `store::queue_kind(queue)`, always at version 1.
    queued: HashMap<ConversationId, (String, DateTime<Utc>)>,
}

/// The versions of the records the router's cache was built from, per tenant.
#[derive(Debug, Default)]
pub(crate) struct RoutingCache {
    tenants: HashMap<TenantId, Versions>,
    /// The conversation the operation under way read before deciding on it, so that
    /// writing its assignee does not read it again.
    pub(crate) known: Option<crate::Conversation>,
}

/// The records a routing change set writes, to note as stored once it lands.
#[derive(Debug)]
pub(crate) struct RoutingWrite {
    tenant: TenantId,
    versions: Versions,
    /// What the decisions did: `Assigned` and `Queued` effects.
    pub(crate) effects: Vec<Effect>,
}

impl<S: Store> Desk<S> {
    /// The router with `tenant`'s pool as stored: the epoch is read, and the pool is read
    /// again when another host (or a failure) moved it.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] when routing is off; store failures.
    pub(crate) fn fresh_router(&mut self, tenant: TenantId) -> Result<&mut Router> {
        let epoch = self
            .store
            .record(tenant, EPOCH_KIND, EPOCH_KEY)?
            .map_or(0, |r| r.version);
        let cached = self.routing.tenants.get(&tenant).map(|v| v.epoch);
        if cached != Some(epoch) {
            let agents = self.store.records(tenant, AGENT_KIND)?;
            let work = self.store.records(tenant, WORK_KIND)?;
            let mut versions = Versions {
                epoch,
                ..Versions::default()
            };
            let mut stored_agents = Vec::with_capacity(agents.len());
            for r in &agents {
                let a: StoredAgent = r.decode()?;
                versions.agents.insert(a.agent.id, r.version);
                stored_agents.push(a);
            }
            if let Some(r) = self.store.record(tenant, SHIFT_KIND, SHIFT_KEY)? {
                versions.shift = (r.version, r.decode()?);
            }
            let mut stored_work = Vec::with_capacity(work.len());
            for r in &work {
                let w: StoredWork = r.decode()?;
                versions.work.insert(w.item.conversation, r.version);
                if w.agent.is_none() {
                    let q = (w.item.requirements.queue.clone(), w.item.enqueued_at);
                    versions.queued.insert(w.item.conversation, q);
                }
                stored_work.push(w);
            }
            self.router_mut()?
                .replace_tenant(tenant, stored_agents, stored_work);
            self.routing.tenants.insert(tenant, versions);
        }
        self.router_mut()
    }

    /// Forgets `tenant`'s cached pool after a failure: the next operation reads it again.
    pub(crate) fn routing_lost(&mut self, tenant: TenantId) {
        self.routing.tenants.remove(&tenant);
        self.routing.known = None;
        if let Some(r) = self.router.as_mut() {
            r.forget_tenant(tenant);
        }
    }

    /// Forgets every cached pool (a lost batch).
    pub(crate) fn routing_forget_all(&mut self) {
        self.routing.tenants.clear();
        self.router = None;
        // The new router learns the tenant's policy and channel profiles on entering.
        self.settings.leave();
    }

    /// Notes the records a change set wrote, once it landed.
    pub(crate) fn routing_landed(&mut self, write: RoutingWrite) {
        self.routing.tenants.insert(write.tenant, write.versions);
    }

    /// Adds `decisions` (made on [`Desk::fresh_router`]'s router) to `changes`: each
    /// assignment's conversation with its assignee (the one `changes` already writes, or
    /// read from the store), then every agent and work record the router changed, and the
    /// next epoch. A conversation that is gone gives its agent's capacity back to waiting
    /// work, whose decisions follow.
    ///
    /// # Errors
    ///
    /// Store failures (the caller forgets the tenant's pool).
    pub(crate) fn routing_into(
        &mut self,
        tenant: TenantId,
        changes: &mut ChangeSet,
        decisions: Vec<Decision>,
        now: DateTime<Utc>,
    ) -> Result<RoutingWrite> {
        let mut todo = VecDeque::from(decisions);
        let mut effects = Vec::new();
        while let Some(d) = todo.pop_front() {
            let conversation = d.conversation;
            let Some(agent) = d.agent else {
                effects.push(Effect::Queued {
                    tenant,
                    conversation,
                    explanation: d.explain(),
                });
                continue;
            };
            if self.write_assignee(tenant, changes, conversation, agent, now)? {
                effects.push(Effect::Assigned {
                    tenant,
                    conversation,
                    agent,
                    explanation: d.explain(),
                });
            } else {
                let freed = self.router_mut()?.release(tenant, conversation, now);
                todo.extend(freed);
            }
        }
        let versions = self.routing_records(tenant, changes, now)?;
        Ok(RoutingWrite {
            tenant,
            versions,
            effects,
        })
    }

    /// Sets the conversation's assignee in `changes` (opening a new conversation);
    /// `false` when the conversation does not exist.
    fn write_assignee(
        &mut self,
        tenant: TenantId,
        changes: &mut ChangeSet,
        conversation: ConversationId,
        agent: AgentId,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let assign = |conv: &mut crate::Conversation| {
            conv.assignee = Some(agent);
            if conv.status == Status::New {
                conv.set_status(Status::Open, now);
            }
        };
        for op in changes.ops.iter_mut() {
            if let Op::PutConversation(c) = op {
                if c.id == conversation {
                    assign(c);
                    return Ok(true);
                }
            }
        }
        let known = self
            .routing
            .known
            .take_if(|c| c.tenant == tenant && c.id == conversation);
        let read = match known {
            Some(c) => Some(c),
            None => self.store.conversation(tenant, conversation)?,
        };
        let Some(mut conv) = read else {
            return Ok(false);
        };
        if conv.assignee != Some(agent) || conv.status == Status::New {
            assign(&mut conv);
            conv.updated_at = now;
            conv.version += 1;
            changes.push(Op::PutConversation(conv));
        }
        Ok(true)
    }

    /// The records of what the router changed for `tenant`, and the next epoch, pushed
    /// onto `changes`; the versions they will have.
    fn routing_records(
        &mut self,
        tenant: TenantId,
        changes: &mut ChangeSet,
        now: DateTime<Utc>,
    ) -> Result<Versions> {
        // Taken out, not copied (an entry per agent): put back when the write lands, and
        // forgotten with the rest of the tenant's cache when it does not.
        let mut versions = self.routing.tenants.remove(&tenant).unwrap_or_default();
        let router = self.router_mut()?;
        let touched = router.take_touched(tenant);
        let mut ops = Vec::new();
        let mut next_shift = NextShift {
            next: touched.next_shift.unwrap_or(versions.shift.1.next),
            armed: router.has_waiting(tenant),
        };
        for id in touched.agents {
            let Some(stored) = router.stored_agent(tenant, id) else {
                continue;
            };
            if let Some(start) = stored.agent.shift.as_ref().and_then(|s| s.next_start(now)) {
                next_shift.next = Some(next_shift.next.map_or(start, |n| n.min(start)));
            }
            let mut r = Record::encode(AGENT_KIND, id.to_string(), &stored)?;
            r.version = versions.agents.get(&id).map_or(1, |v| v + 1);
            versions.agents.insert(id, r.version);
            ops.push(Op::PutRecord(r));
        }
        for c in touched.work {
            let stored = router.stored_work(tenant, c);
            let queued = stored
                .as_ref()
                .filter(|(w, _)| w.agent.is_none())
                .map(|(w, _)| (w.item.requirements.queue.clone(), w.item.enqueued_at));
            queue_entry(&mut versions, c, queued, &mut ops)?;
            match stored {
                Some((work, due)) => {
                    let mut r = Record::encode(WORK_KIND, c.to_string(), &work)?;
                    r.due = due;
                    r.secondary = work.agent.map(|a| a.to_string());
                    r.version = versions.work.get(&c).map_or(1, |v| v + 1);
                    versions.work.insert(c, r.version);
                    ops.push(Op::PutRecord(r));
                }
                None => {
                    if let Some(version) = versions.work.remove(&c) {
                        ops.push(Op::DeleteRecord {
                            kind: WORK_KIND.into(),
                            key: c.to_string(),
                            version,
                        });
                    }
                }
            }
        }
        if next_shift != versions.shift.1 {
            let mut r = Record::encode(SHIFT_KIND, SHIFT_KEY, &next_shift)?;
            r.due = next_shift.next.filter(|_| next_shift.armed);
            r.version = versions.shift.0 + 1;
            versions.shift = (r.version, next_shift);
            ops.push(Op::PutRecord(r));
        }
        if ops.is_empty() {
            return Ok(versions);
        }
        let mut epoch = Record::new(EPOCH_KIND, EPOCH_KEY, serde_json::json!({}));
        epoch.version = versions.epoch + 1;
        versions.epoch = epoch.version;
        ops.push(Op::PutRecord(epoch));
        for op in ops {
            changes.push(op);
        }
        Ok(versions)
    }

    /// Runs one routing operation as one change set: `op` decides on the tenant's fresh
    /// pool (and may add its own writes to the change set); the decisions' assignments,
    /// the changed routing records and the epoch are written with them. A lost race is
    /// decided again on the state the winner stored.
    pub(crate) fn routing_tx<T>(
        &mut self,
        tenant: TenantId,
        now: DateTime<Utc>,
        mut op: impl FnMut(&mut Self, &mut ChangeSet) -> Result<(T, Vec<Decision>)>,
    ) -> Result<(T, Vec<Effect>)> {
        self.enter(tenant)?;
        self.retrying(|desk| {
            desk.routing.known = None;
            let mut changes = ChangeSet::new(tenant);
            let attempt = desk.fresh_router(tenant).map(|_| ()).and_then(|()| {
                let (value, decisions) = op(desk, &mut changes)?;
                let write = desk.routing_into(tenant, &mut changes, decisions, now)?;
                Ok((value, write))
            });
            let (value, write) = match attempt {
                Ok(v) => v,
                Err(e) => {
                    desk.routing_lost(tenant);
                    return Err(e);
                }
            };
            desk.apply_routing(changes, write)
                .map(|effects| (value, effects))
        })
    }

    /// Applies a change set that carries routing writes; notes them as stored when it
    /// lands, and forgets the tenant's pool when it does not.
    pub(crate) fn apply_routing(
        &mut self,
        changes: ChangeSet,
        write: RoutingWrite,
    ) -> Result<Vec<Effect>> {
        let applied = if changes.ops.is_empty() {
            Ok(())
        } else {
            self.apply_changes(changes)
        };
        match applied {
            Ok(()) => {
                let effects = write.effects.clone();
                self.routing_landed(write);
                Ok(effects)
            }
            Err(e) => {
                self.routing_lost(write.tenant);
                Err(e)
            }
        }
    }
}
