//! Assignments an agent makes by hand: to a named agent (within their capacity, unless a
//! supervisor overrides it), back to a queue, or taken away.

use chrono::{DateTime, Utc};

use super::{Assignment, Router};
use crate::error::{Error, Result};
use crate::id::{AgentId, ConversationId, TenantId};
use crate::routing::{Decision, WorkItem};

impl Router {
    /// Whether `agent` can take `units` more now; `over_capacity` lets a supervisor
    /// assign past the agent's capacity (their availability still does not matter: a
    /// named assignment is a person's decision).
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] for an agent of another tenant or none; [`Error::Invalid`]
    /// for an agent at capacity.
    pub fn check_manual(
        &self,
        tenant: TenantId,
        agent: AgentId,
        units: u32,
        over_capacity: bool,
    ) -> Result<()> {
        let st = self
            .pools
            .get(&tenant)
            .and_then(|p| p.agents.get(&agent))
            .ok_or_else(|| Error::not_found("agent", agent))?;
        if !over_capacity && st.agent.capacity.saturating_sub(st.load) < units {
            return Err(Error::invalid(
                "agent",
                format!(
                    "{} ({agent}) is at capacity: {} of {} units in use, {units} needed; a \
                     supervisor can assign over capacity",
                    st.agent.name, st.load, st.agent.capacity
                ),
            ));
        }
        Ok(())
    }

    /// Assigns `item` to `agent` by hand (after [`Router::check_manual`]): it leaves its
    /// queue, or its previous agent, whose freed capacity is offered to waiting work
    /// (those decisions are returned).
    pub fn assign_manually(
        &mut self,
        item: WorkItem,
        agent: AgentId,
        now: DateTime<Utc>,
    ) -> Vec<Decision> {
        let (tenant, conversation) = (item.tenant, item.conversation);
        let freed = self.take_back(tenant, conversation);
        self.assign(item, agent, now);
        match freed {
            Some(previous) if previous != agent => self.offer(tenant, previous, now),
            _ => Vec::new(),
        }
    }

    /// Takes `item`'s conversation away from its agent (or out of its queue) by hand:
    /// the freed capacity is offered to other waiting work first, then the item
    /// (`route`) is routed again at once, or (`!route`) waits in its queue for the next
    /// agent who frees up or comes on duty. The decisions are returned.
    pub fn release_manually(
        &mut self,
        item: WorkItem,
        route: bool,
        now: DateTime<Utc>,
    ) -> Vec<Decision> {
        let freed = self.take_back(item.tenant, item.conversation);
        let mut out = Vec::new();
        if let Some(previous) = freed {
            out = self.offer(item.tenant, previous, now);
        }
        if route {
            out.push(self.route(item, now));
        } else {
            self.enqueue(item);
        }
        out
    }

    /// The work item held for `conversation`, assigned or waiting.
    pub fn item(&self, tenant: TenantId, conversation: ConversationId) -> Option<&WorkItem> {
        let pool = self.pools.get(&tenant)?;
        match pool.assigned.get(&conversation) {
            Some(a) => Some(&a.item),
            None => pool.waiting.get(conversation).map(|(item, _)| item),
        }
    }

    /// Removes `conversation` from its queue or its agent; the agent it had, if any.
    fn take_back(&mut self, tenant: TenantId, conversation: ConversationId) -> Option<AgentId> {
        let pool = self.pools.get_mut(&tenant)?;
        pool.unwait(conversation);
        let a: Assignment = pool.unassign(conversation)?;
        pool.give_back(&a);
        Some(a.agent)
    }
}
