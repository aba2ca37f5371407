//! Work items, their requirements, escalation steps and decisions.

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use crate::channel::Channel;
use crate::conversation::Priority;
use crate::id::{AgentId, ConversationId, TenantId};

/// A skill a work item needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkillRequirement {
    /// The skill.
    pub name: String,
    /// The minimum level (1-10).
    pub min_level: u8,
    /// Optional skills may be dropped by an escalation step.
    pub optional: bool,
}

/// What an agent needs to take a piece of work.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Requirements {
    /// Skills.
    pub skills: Vec<SkillRequirement>,
    /// The language to answer in, if it matters.
    pub language: Option<String>,
    /// The channel.
    pub channel: Channel,
    /// The priority.
    pub priority: Priority,
    /// Capacity units it takes (default from the capacity model).
    pub units: u32,
    /// The queue it waits in.
    pub queue: String,
}

impl Requirements {
    /// Requirements for work on `channel` at normal priority, one unit, queue `"default"`.
    pub fn new(channel: Channel) -> Self {
        Requirements {
            skills: Vec::new(),
            language: None,
            channel,
            priority: Priority::Normal,
            units: 1,
            queue: "default".into(),
        }
    }

    /// Adds a required skill.
    pub fn skill(mut self, name: impl Into<String>, min_level: u8) -> Self {
        self.skills.push(SkillRequirement {
            name: name.into(),
            min_level,
            optional: false,
        });
        self
    }

    /// Adds an optional skill (an escalation step may drop it).
    pub fn optional_skill(mut self, name: impl Into<String>, min_level: u8) -> Self {
        self.skills.push(SkillRequirement {
            name: name.into(),
            min_level,
            optional: true,
        });
        self
    }

    /// Sets the language.
    pub fn language(mut self, code: impl Into<String>) -> Self {
        self.language = Some(code.into());
        self
    }

    /// Sets the queue the work waits in (default `"default"`); only agents who serve it
    /// ([`crate::routing::Agent::queue`]) are offered it.
    pub fn queue(mut self, name: impl Into<String>) -> Self {
        self.queue = name.into();
        self
    }

    /// Sets the priority.
    pub fn priority(mut self, p: Priority) -> Self {
        self.priority = p;
        self
    }

    /// Sets the units.
    pub fn units(mut self, units: u32) -> Self {
        self.units = units;
        self
    }
}

/// A conversation waiting for, or assigned to, an agent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkItem {
    /// Tenant.
    pub tenant: TenantId,
    /// The conversation.
    pub conversation: ConversationId,
    /// What an agent needs.
    pub requirements: Requirements,
    /// The customer's previous agent (for sticky routing).
    pub previous_agent: Option<AgentId>,
    /// When it started waiting.
    pub enqueued_at: DateTime<Utc>,
    /// Escalation steps applied so far.
    pub steps_applied: usize,
}

/// A TaskRouter-style escalation step: `after` the item started waiting (cumulative), the
/// target widens.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EscalationStep {
    /// Time since enqueueing after which the step applies.
    pub after: TimeDelta,
    /// Drop optional skills.
    pub drop_optional_skills: bool,
    /// Drop the language requirement.
    pub drop_language: bool,
    /// Lower every minimum skill level by this much (not below 1).
    pub lower_levels_by: u8,
    /// Move to another queue.
    pub overflow_to: Option<String>,
    /// Raise the priority one step.
    pub raise_priority: bool,
}

impl EscalationStep {
    /// A step at `after` that changes nothing yet (chain the setters).
    pub fn after(after: TimeDelta) -> Self {
        EscalationStep {
            after,
            drop_optional_skills: false,
            drop_language: false,
            lower_levels_by: 0,
            overflow_to: None,
            raise_priority: false,
        }
    }

    /// Drops optional skills.
    pub fn drop_optional_skills(mut self) -> Self {
        self.drop_optional_skills = true;
        self
    }

    /// Drops the language requirement.
    pub fn drop_language(mut self) -> Self {
        self.drop_language = true;
        self
    }

    /// Lowers minimum skill levels.
    pub fn lower_levels_by(mut self, n: u8) -> Self {
        self.lower_levels_by = n;
        self
    }

    /// Overflows to another queue.
    pub fn overflow_to(mut self, queue: impl Into<String>) -> Self {
        self.overflow_to = Some(queue.into());
        self
    }

    /// Raises the priority.
    pub fn raise_priority(mut self) -> Self {
        self.raise_priority = true;
        self
    }

    pub(crate) fn apply(&self, r: &mut Requirements) {
        if self.drop_optional_skills {
            r.skills.retain(|s| !s.optional);
        }
        if self.drop_language {
            r.language = None;
        }
        for s in &mut r.skills {
            s.min_level = s.min_level.saturating_sub(self.lower_levels_by).max(1);
        }
        if let Some(q) = &self.overflow_to {
            r.queue = q.clone();
        }
        if self.raise_priority {
            r.priority = match r.priority {
                Priority::Low => Priority::Normal,
                Priority::Normal => Priority::High,
                _ => Priority::Urgent,
            };
        }
    }
}

/// Why an agent was not chosen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Exclusion {
    /// Presence not available.
    NotAvailable,
    /// Outside their shift.
    OutOfShift,
    /// Not enough spare capacity.
    AtCapacity,
    /// A skill below the minimum level.
    SkillTooLow(String),
}

/// One scored candidate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Scored {
    /// The agent.
    pub agent: AgentId,
    /// The total.
    pub score: f64,
    /// Its parts.
    pub parts: Vec<(String, f64)>,
}

/// What the router decided, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Decision {
    /// The conversation.
    pub conversation: ConversationId,
    /// The agent it went to, or `None`: it waits in `queue`.
    pub agent: Option<AgentId>,
    /// The queue (when waiting).
    pub queue: String,
    /// The policy that ranked.
    pub policy: String,
    /// Every qualifying agent's score, best first.
    pub candidates: Vec<Scored>,
    /// Agents that matched skills, language and channel but were excluded, and why.
    pub excluded: Vec<(AgentId, Exclusion)>,
    /// Requirements nobody in the tenant meets, e.g. `"skill billing"`, `"language nl"`.
    pub unmatched: Vec<String>,
}

impl Decision {
    /// A readable account of the decision.
    pub fn explain(&self) -> String {
        let mut s = match self.agent {
            Some(a) => format!("assigned to {a} by {}", self.policy),
            None => format!("queued in {:?}", self.queue),
        };
        if let Some(best) = self.candidates.first() {
            let parts: Vec<String> = best
                .parts
                .iter()
                .map(|(n, v)| format!("{n} {v:.2}"))
                .collect();
            s += &format!("; winner score {:.2} ({})", best.score, parts.join(", "));
        }
        if self.candidates.len() > 1 {
            s += &format!(
                "; {} other candidates scored lower",
                self.candidates.len() - 1
            );
        }
        for (a, why) in &self.excluded {
            s += &format!("; {a} excluded: {why:?}");
        }
        for u in &self.unmatched {
            s += &format!("; nobody has {u}");
        }
        s
    }
}
