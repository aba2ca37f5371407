//! Routing: the right conversations to the right people, explainably.
//!
//! * [`Agent`]: skills with levels, languages, channels, capacity in units across
//!   channels ([`CapacityModel`]: one call or five chats), [`Presence`], [`Shift`]s in the
//!   agent's own time zone.
//! * [`RoutingPolicy`]: the trait (a contract in its docs, blanket impls, [`policy_fn`]);
//!   built-ins [`SkillsMatch`], [`LeastLoaded`], [`RoundRobin`], [`Sticky`].
//! * [`Router`]: eligibility through indexes by skill, language and channel (intersected
//!   smallest first, never a scan of all agents), queues ordered by priority then age
//!   (O(log n)), TaskRouter-style [`EscalationStep`]s with cumulative timeouts (waiting
//!   work indexed by when its next step comes due, so a tick touches only the due), and a
//!   [`Decision`] for every choice: candidates with scores, exclusions and what nobody
//!   has. Deterministic: the same state gives the same decision (ties: smaller agent id).
//! * [`ChannelFit`]: qualifying agents are ranked by how their channels suit the work
//!   before the policy's score — live work (the customer waits) first to agents on live
//!   channels, asynchronous work first to agents on asynchronous channels only, agents
//!   who work every channel in between — a preference, never a condition.
//!
//! The Desk routes when `DeskConfig::routing` is set; see `docs/routing.md`.

mod agent;
mod policy;
mod router;
mod state;
mod waiting;
mod work;

use std::sync::Arc;

pub use agent::{Agent, CapacityModel, Presence, Shift};
pub use policy::{
    policy_fn, Candidate, FnPolicy, LeastLoaded, RoundRobin, RoutingPolicy, Score, SkillsMatch,
    Sticky,
};
pub use router::Router;
pub use state::{RoutingState, StoredAgent, StoredWork};
pub use work::{
    ChannelFit, Decision, EscalationStep, Exclusion, Requirements, Scored, SkillRequirement,
    WorkItem,
};

/// Routing settings of a Desk (`DeskConfig::routing`).
#[derive(Debug, Clone)]
pub struct RoutingConfig {
    /// Ranks qualifying agents (default: [`Sticky`] over [`SkillsMatch`]).
    pub policy: Arc<dyn RoutingPolicy>,
    /// Escalation steps, in order, with cumulative timeouts.
    pub escalation: Vec<EscalationStep>,
    /// Capacity units per channel.
    pub capacity: CapacityModel,
}

impl Default for RoutingConfig {
    fn default() -> Self {
        RoutingConfig {
            policy: Arc::new(Sticky {
                fallback: SkillsMatch::default(),
            }),
            escalation: Vec::new(),
            capacity: CapacityModel::default(),
        }
    }
}

impl RoutingConfig {
    /// Uses another policy.
    pub fn policy(mut self, policy: impl RoutingPolicy + 'static) -> Self {
        self.policy = Arc::new(policy);
        self
    }

    /// Adds an escalation step (steps apply in the order added).
    pub fn escalate(mut self, step: EscalationStep) -> Self {
        self.escalation.push(step);
        self
    }
}
