//! Routing policies: how eligible agents are scored. The router only ever asks a policy
//! about agents that qualify; among the agents of the best [`super::ChannelFit`] the
//! highest score wins, ties go to the smaller agent id.

use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::agent::Agent;
use super::work::WorkItem;
use crate::id::AgentId;

/// An eligible agent as a policy sees it.
#[derive(Debug, Clone, Copy)]
pub struct Candidate<'a> {
    /// The agent.
    pub agent: &'a Agent,
    /// Capacity units in use.
    pub load: u32,
    /// When they last got work (`None`: never).
    pub last_assigned: Option<DateTime<Utc>>,
    /// The sum of their levels in the item's skills (0 when none are asked).
    pub skill_level: u32,
}

impl Candidate<'_> {
    /// Units still free.
    pub fn spare(&self) -> u32 {
        self.agent.capacity.saturating_sub(self.load)
    }
}

/// A score with its parts, for the explanation.
#[derive(Debug, Clone, PartialEq)]
pub struct Score {
    /// The total (higher wins).
    pub total: f64,
    /// Named parts that add up to it.
    pub parts: Vec<(&'static str, f64)>,
}

impl Score {
    /// A score from its parts.
    pub fn of(parts: Vec<(&'static str, f64)>) -> Score {
        Score {
            total: parts.iter().map(|(_, v)| v).sum(),
            parts,
        }
    }
}

/// Scores the agents that qualify for a work item.
///
/// Contract: pure and deterministic — the same item, candidate and `now` give the same
/// score; no I/O; never panics. The router has already excluded agents that are offline,
/// out of shift, at capacity, of another tenant, or lacking a required skill, language or
/// channel: a policy ranks, it cannot make an ineligible agent win. Its score ranks agents
/// of the same [`super::ChannelFit`]; a better fit ranks first whatever the scores.
/// Implement it, wrap a closure with [`policy_fn`], or use the built-ins.
pub trait RoutingPolicy: Send + Sync + fmt::Debug {
    /// The policy's name (for explanations).
    fn name(&self) -> &str;
    /// The candidate's score for the item.
    fn score(&self, item: &WorkItem, candidate: &Candidate<'_>, now: DateTime<Utc>) -> Score;
}

impl<T: RoutingPolicy + ?Sized> RoutingPolicy for &T {
    fn name(&self) -> &str {
        (**self).name()
    }
    fn score(&self, item: &WorkItem, c: &Candidate<'_>, now: DateTime<Utc>) -> Score {
        (**self).score(item, c, now)
    }
}

impl<T: RoutingPolicy + ?Sized> RoutingPolicy for Box<T> {
    fn name(&self) -> &str {
        (**self).name()
    }
    fn score(&self, item: &WorkItem, c: &Candidate<'_>, now: DateTime<Utc>) -> Score {
        (**self).score(item, c, now)
    }
}

impl<T: RoutingPolicy + ?Sized> RoutingPolicy for Arc<T> {
    fn name(&self) -> &str {
        (**self).name()
    }
    fn score(&self, item: &WorkItem, c: &Candidate<'_>, now: DateTime<Utc>) -> Score {
        (**self).score(item, c, now)
    }
}

/// A policy from a closure (see [`policy_fn`]).
pub struct FnPolicy<F> {
    name: String,
    f: F,
}

impl<F> fmt::Debug for FnPolicy<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FnPolicy({})", self.name)
    }
}

impl<F> RoutingPolicy for FnPolicy<F>
where
    F: Fn(&WorkItem, &Candidate<'_>, DateTime<Utc>) -> f64 + Send + Sync,
{
    fn name(&self) -> &str {
        &self.name
    }
    fn score(&self, item: &WorkItem, c: &Candidate<'_>, now: DateTime<Utc>) -> Score {
        Score::of(vec![("custom", (self.f)(item, c, now))])
    }
}

/// Wraps a scoring closure as a [`RoutingPolicy`].
///
/// ```
/// use throughline::routing::{policy_fn, RoutingPolicy};
/// let most_spare = policy_fn("most spare", |_, c, _| f64::from(c.spare()));
/// assert_eq!(most_spare.name(), "most spare");
/// ```
pub fn policy_fn<F>(name: impl Into<String>, f: F) -> FnPolicy<F>
where
    F: Fn(&WorkItem, &Candidate<'_>, DateTime<Utc>) -> f64 + Send + Sync,
{
    FnPolicy {
        name: name.into(),
        f,
    }
}

fn idle_minutes(c: &Candidate<'_>, now: DateTime<Utc>) -> f64 {
    c.last_assigned.map_or(24.0 * 60.0, |t| {
        ((now - t).num_seconds().max(0) as f64 / 60.0).min(24.0 * 60.0)
    })
}

/// Skills + language + channel match (eligibility), ranked by skill level, spare capacity
/// and idle time with configurable weights.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SkillsMatch {
    /// Per level point in the asked skills (default 1.0).
    pub skill_weight: f64,
    /// Per share of capacity free (default 5.0).
    pub spare_weight: f64,
    /// Per idle minute, capped at a day (default 0.01).
    pub idle_weight: f64,
}

impl Default for SkillsMatch {
    fn default() -> Self {
        SkillsMatch {
            skill_weight: 1.0,
            spare_weight: 5.0,
            idle_weight: 0.01,
        }
    }
}

impl RoutingPolicy for SkillsMatch {
    fn name(&self) -> &str {
        "skills match"
    }
    fn score(&self, _: &WorkItem, c: &Candidate<'_>, now: DateTime<Utc>) -> Score {
        Score::of(vec![
            ("skill level", self.skill_weight * f64::from(c.skill_level)),
            (
                "spare capacity",
                self.spare_weight * f64::from(c.spare()) / f64::from(c.agent.capacity.max(1)),
            ),
            ("idle time", self.idle_weight * idle_minutes(c, now)),
        ])
    }
}

/// The agent with the smallest share of their capacity in use.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct LeastLoaded;

impl RoutingPolicy for LeastLoaded {
    fn name(&self) -> &str {
        "least loaded"
    }
    fn score(&self, _: &WorkItem, c: &Candidate<'_>, _: DateTime<Utc>) -> Score {
        Score::of(vec![(
            "free share",
            f64::from(c.spare()) / f64::from(c.agent.capacity.max(1)),
        )])
    }
}

/// Round robin: the agent who got work longest ago (never first), so work rotates.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct RoundRobin;

impl RoutingPolicy for RoundRobin {
    fn name(&self) -> &str {
        "round robin"
    }
    fn score(&self, _: &WorkItem, c: &Candidate<'_>, _: DateTime<Utc>) -> Score {
        let waited = c
            .last_assigned
            .map_or(f64::MAX / 4.0, |t| -(t.timestamp_micros() as f64));
        Score::of(vec![("turn", waited)])
    }
}

/// The customer's previous agent when they qualify, else the fallback policy. The router
/// ranks by [`super::ChannelFit`] before the score, so the previous agent wins among the
/// agents of their fit: a returning customer's chat goes to an agent on chat before a
/// previous agent who works every channel.
#[derive(Debug, Clone)]
pub struct Sticky<P> {
    /// Ranks everyone else.
    pub fallback: P,
}

impl<P: RoutingPolicy> RoutingPolicy for Sticky<P> {
    fn name(&self) -> &str {
        "sticky"
    }
    fn score(&self, item: &WorkItem, c: &Candidate<'_>, now: DateTime<Utc>) -> Score {
        let mut s = self.fallback.score(item, c, now);
        if item.previous_agent == Some(c.agent.id) {
            s.parts.push(("previous agent", 1e9));
            s.total += 1e9;
        }
        s
    }
}

/// Ties broken by the smaller agent id.
pub(crate) fn better(a: (f64, AgentId), b: (f64, AgentId)) -> bool {
    a.0 > b.0 || (a.0 == b.0 && a.1 < b.1)
}
