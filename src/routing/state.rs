//! Routing state as a store keeps it: each agent with the units they hold, and each
//! conversation routing holds (waiting in a queue, or assigned to an agent) with its work
//! item: the requirements, when it started waiting and the escalation steps it took.
//!
//! A [`crate::Desk`] with routing on writes these in the change set of every routing
//! decision, so every host on the store sees the same agents, loads and queues, and a
//! desk built anew continues the queues as they were ([`crate::Desk::routing_state`]
//! reads them). Invariant: an agent's `load` is the sum of the units of the work held
//! for them.

use std::cmp::Reverse;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Agent, WorkItem};
use crate::id::{AgentId, ConversationId};

/// An agent as stored: their definition and presence, the capacity units they hold, and
/// when they were last assigned work (for round robin).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredAgent {
    /// The agent.
    pub agent: Agent,
    /// Units in use.
    pub load: u32,
    /// Their latest assignment.
    pub last_assigned: Option<DateTime<Utc>>,
}

/// A conversation routing holds: its work item, and who has it (`None`: it waits in its
/// queue).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredWork {
    /// The work item, with its enqueue time and escalation steps taken.
    pub item: WorkItem,
    /// The agent it is assigned to.
    pub agent: Option<AgentId>,
}

/// One tenant's routing state as stored: each agent with the units they hold, and each
/// conversation routing holds with its work item. Invariant: an agent's `load` is the sum
/// of the units of the work held for them.
///
/// ```
/// use throughline::routing::{Agent, RoutingConfig};
/// use throughline::{AgentId, Channel, Desk, DeskConfig, Identifier, Inbound, TenantId};
/// use throughline::store::MemoryStore;
/// let now = chrono::DateTime::parse_from_rfc3339("2026-03-02T09:00:00Z")?.to_utc();
/// let tenant = TenantId::new_v7();
/// let mut desk = Desk::new(MemoryStore::new(), DeskConfig::default().routing(RoutingConfig::default()));
/// let ana = AgentId::new_v7();
/// desk.upsert_agent(Agent::new(ana, tenant, "Ana").capacity(1), now)?;
/// let chat = |who: &str| Inbound::new(tenant, Channel::WebChat, Identifier::email(who).unwrap(), who, "Hi");
/// let first = desk.ingest(chat("bo@example.com"), now)?;
/// let second = desk.ingest(chat("cy@example.com"), now)?;
/// let state = desk.routing_state(tenant)?;
/// assert_eq!(state.assignment(first.conversation), Some(ana));
/// assert_eq!(state.load(ana), Some(1));
/// assert!(state.is_waiting(second.conversation));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RoutingState {
    /// The tenant's agents, by id.
    pub agents: Vec<StoredAgent>,
    /// The work routing holds, by conversation id.
    pub work: Vec<StoredWork>,
}

impl RoutingState {
    /// An agent with their load.
    pub fn agent(&self, agent: AgentId) -> Option<&StoredAgent> {
        self.agents.iter().find(|a| a.agent.id == agent)
    }

    /// The units an agent holds.
    pub fn load(&self, agent: AgentId) -> Option<u32> {
        self.agent(agent).map(|a| a.load)
    }

    /// Who has the conversation.
    pub fn assignment(&self, conversation: ConversationId) -> Option<AgentId> {
        self.held(conversation).and_then(|w| w.agent)
    }

    /// Whether the conversation waits in a queue.
    pub fn is_waiting(&self, conversation: ConversationId) -> bool {
        self.held(conversation).is_some_and(|w| w.agent.is_none())
    }

    /// The work held for a conversation.
    pub fn held(&self, conversation: ConversationId) -> Option<&StoredWork> {
        self.work
            .iter()
            .find(|w| w.item.conversation == conversation)
    }

    /// The waiting work, in the order it is offered: highest priority first, then
    /// longest waiting.
    pub fn waiting(&self) -> Vec<&WorkItem> {
        let mut out: Vec<&WorkItem> = self
            .work
            .iter()
            .filter(|w| w.agent.is_none())
            .map(|w| &w.item)
            .collect();
        out.sort_by_key(|i| {
            (
                Reverse(i.requirements.priority),
                i.enqueued_at,
                i.conversation,
            )
        });
        out
    }

    /// The work waiting in one queue, in offer order.
    pub fn queue(&self, queue: &str) -> Vec<&WorkItem> {
        let mut out = self.waiting();
        out.retain(|i| i.requirements.queue == queue);
        out
    }
}
