//! The router as a cache of routing state kept in a store: what changed since the last
//! write, each agent and work item as stored, a tenant's pool replaced by what the store
//! holds, and the per-tenant steps a host's tick runs.

use chrono::{DateTime, Utc};

use super::{AgentState, Pool, Router, Touched};
use crate::id::{AgentId, ConversationId, TenantId};
use crate::routing::{Decision, StoredAgent, StoredWork, WorkItem};

impl Router {
    /// The agents and work items of `tenant` changed since the previous call.
    pub(crate) fn take_touched(&mut self, tenant: TenantId) -> Touched {
        self.pools
            .get_mut(&tenant)
            .map(|p| std::mem::take(&mut p.touched))
            .unwrap_or_default()
    }

    /// Marks a work item as changed (so that its stored form is written again).
    pub(crate) fn touch_work(&mut self, tenant: TenantId, conversation: ConversationId) {
        self.pools
            .entry(tenant)
            .or_default()
            .touched
            .work
            .insert(conversation);
    }

    /// An agent as stored.
    pub(crate) fn stored_agent(&self, tenant: TenantId, agent: AgentId) -> Option<StoredAgent> {
        let st = self.pools.get(&tenant)?.agents.get(&agent)?;
        Some(StoredAgent {
            agent: st.agent.clone(),
            load: st.load,
            last_assigned: st.last_assigned,
        })
    }

    /// The work held for a conversation as stored, with the instant its next escalation
    /// step comes due (waiting work only).
    pub(crate) fn stored_work(
        &self,
        tenant: TenantId,
        conversation: ConversationId,
    ) -> Option<(StoredWork, Option<DateTime<Utc>>)> {
        let pool = self.pools.get(&tenant)?;
        if let Some(a) = pool.assigned.get(&conversation) {
            let work = StoredWork {
                item: a.item.clone(),
                agent: Some(a.agent),
            };
            return Some((work, None));
        }
        let (item, escalates) = pool.waiting.get(conversation)?;
        let work = StoredWork {
            item: item.clone(),
            agent: None,
        };
        Some((work, escalates))
    }

    /// Replaces `tenant`'s agents, assignments and queues with stored ones. Loads are
    /// counted again from the assigned work; waiting work keeps its enqueue time and
    /// escalation steps. Nothing is offered and nothing is marked changed.
    pub(crate) fn replace_tenant(
        &mut self,
        tenant: TenantId,
        agents: Vec<StoredAgent>,
        work: Vec<StoredWork>,
    ) {
        let mut pool = Pool::default();
        for a in agents {
            pool.index(&a.agent);
            let st = AgentState {
                agent: a.agent,
                load: 0,
                last_assigned: a.last_assigned,
            };
            pool.agents.insert(st.agent.id, st);
        }
        self.pools.insert(tenant, pool);
        let mut waiting: Vec<WorkItem> = Vec::new();
        for w in work.into_iter().filter(|w| w.item.tenant == tenant) {
            match w.agent {
                Some(agent) => self.restore_assignment(w.item, agent),
                None => waiting.push(w.item),
            }
        }
        waiting.sort_by_key(|i| {
            (
                std::cmp::Reverse(i.requirements.priority),
                i.enqueued_at,
                i.conversation,
            )
        });
        for item in waiting {
            self.enqueue(item);
        }
        if let Some(pool) = self.pools.get_mut(&tenant) {
            pool.touched = Touched::default();
        }
    }

    /// Forgets `tenant`'s pool (it is read again from the store when next needed).
    pub(crate) fn forget_tenant(&mut self, tenant: TenantId) {
        self.pools.remove(&tenant);
    }

    /// Whether work waits in `tenant`.
    pub(crate) fn has_waiting(&self, tenant: TenantId) -> bool {
        self.pools
            .get(&tenant)
            .is_some_and(|p| !p.waiting.is_empty())
    }

    /// A shift started: every agent of `tenant` whose shift covers `now` is offered
    /// waiting work (an offer assigns only what they can take), and the next shift start
    /// of any of the tenant's agents after `now` is noted among what changed
    /// ([`Touched::next_shift`]).
    pub(crate) fn offer_on_shift(&mut self, tenant: TenantId, now: DateTime<Utc>) -> Vec<Decision> {
        let Some(pool) = self.pools.get(&tenant) else {
            return Vec::new();
        };
        let mut on_shift = Vec::new();
        let mut next: Option<DateTime<Utc>> = None;
        for (id, st) in &pool.agents {
            let Some(shift) = &st.agent.shift else {
                continue;
            };
            if shift.covers(now) {
                on_shift.push(*id);
            }
            if let Some(start) = shift.next_start(now) {
                next = Some(next.map_or(start, |n| n.min(start)));
            }
        }
        if let Some(pool) = self.pools.get_mut(&tenant) {
            pool.touched.next_shift = Some(next);
        }
        let mut out = Vec::new();
        for a in on_shift {
            out.extend(self.offer(tenant, a, now));
        }
        out
    }
}
