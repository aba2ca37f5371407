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

/// How an agent's channels suit a piece of work, by whether the work's channel is live
/// (the customer waits: chat, phone, messaging) or asynchronous (e-mail, forms), as the
/// tenant's channel profiles say ([`crate::ChannelProfile::live`]).
///
/// The router ranks qualifying agents by fit first and by the policy's score second, so
/// live work goes first to the agents on live channels, with the agents who work every
/// channel as its overflow, and asynchronous work goes first to the agents who work only
/// asynchronous channels, keeping the agents on live channels free for customers who wait.
/// A preference, never a condition: when only worse-fitting agents can take the work, it
/// goes to them. The order of the variants is the order of preference.
///
/// ```
/// use throughline::routing::ChannelFit;
/// assert!(ChannelFit::Suited < ChannelFit::AnyChannel);
/// assert!(ChannelFit::AnyChannel < ChannelFit::Overflow);
/// ```
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ChannelFit {
    /// The agent lists channels of the work's kind: a live channel for live work, only
    /// asynchronous channels for asynchronous work. Ranked first.
    Suited,
    /// The agent lists no channel: they work every channel. Ranked after the suited (also
    /// every candidate's fit when nobody lists channels, so the policy alone decides).
    #[default]
    AnyChannel,
    /// The agent lists channels of the other kind: only asynchronous channels for live
    /// work, a live channel for asynchronous work. Ranked last.
    Overflow,
}

impl ChannelFit {
    /// The agent's channels for work on a live (`true`) or asynchronous channel, in
    /// words ("on a live channel").
    pub fn describe(self, live: bool) -> &'static str {
        match (self, live) {
            (ChannelFit::Suited, true) | (ChannelFit::Overflow, false) => "on a live channel",
            (ChannelFit::Suited, false) | (ChannelFit::Overflow, true) => {
                "on asynchronous channels only"
            }
            (ChannelFit::AnyChannel, _) => "on every channel",
        }
    }
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
    /// How the agent's channels suit the work (ranked before the score).
    #[serde(default)]
    pub fit: ChannelFit,
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
    /// Whether the work's channel is live for the tenant, when channel fit ranked the
    /// agents ([`ChannelFit`]): some agent who matched the work (a candidate or excluded)
    /// lists channels. `None` when every one of them works every channel, so the policy
    /// alone ranked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub live: Option<bool>,
    /// The best qualifying agents, best first: by [`ChannelFit`], then by score.
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
        // Only when channel fit ranked: otherwise the policy alone did.
        let fits = self.live.is_some();
        if self.candidates.len() > 1 {
            s += &format!(
                "; {} other candidates {}",
                self.candidates.len() - 1,
                if fits { "ranked lower" } else { "scored lower" }
            );
        }
        if let (Some(live), Some(best)) = (self.live, self.candidates.first()) {
            let kind = if live { "live" } else { "asynchronous" };
            s += &format!(
                "; {kind} work goes first to agents {}: the winner is {}{}",
                ChannelFit::Suited.describe(live),
                best.fit.describe(live),
                if best.fit == ChannelFit::Suited {
                    ""
                } else {
                    " (overflow: nobody better suited could take it)"
                }
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
