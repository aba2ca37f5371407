//! SLA policies (after Zendesk's): an ordered list, the first whose conditions match wins;
//! targets per priority and metric, each in calendar time or business time of a named
//! calendar; warning thresholds; which authors fulfil a reply target and which statuses
//! pause which metric.

use std::collections::BTreeMap;

use chrono::TimeDelta;
use serde::{Deserialize, Serialize};

use crate::channel::Channel;
use crate::conversation::{Priority, Status};
use crate::error::{Error, Result};
use crate::sla::BusinessCalendar;

/// What an SLA target measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Metric {
    /// From the first customer message to the first public reply that fulfils.
    FirstReply,
    /// From the oldest unanswered customer message to the next public reply that fulfils.
    NextReply,
    /// Between public replies: after each reply, the next one is due within the target.
    PeriodicUpdate,
    /// Time the customer waits: new, open and on hold (paused while pending).
    RequesterWait,
    /// Time the company works: new and open (paused while pending or on hold).
    AgentWork,
    /// From creation to solved, whatever the status.
    TotalResolution,
}

impl Metric {
    /// Every metric.
    pub const ALL: [Metric; 6] = [
        Metric::FirstReply,
        Metric::NextReply,
        Metric::PeriodicUpdate,
        Metric::RequesterWait,
        Metric::AgentWork,
        Metric::TotalResolution,
    ];

    /// Whether solving the conversation completes the metric (the resolution-type
    /// metrics), rather than a reply.
    pub fn ends_at_solve(self) -> bool {
        matches!(
            self,
            Metric::RequesterWait | Metric::AgentWork | Metric::TotalResolution
        )
    }
}

/// The clock a target is measured on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "basis", content = "calendar")]
#[non_exhaustive]
pub enum Basis {
    /// Every hour counts.
    Calendar,
    /// Only the open hours of the named calendar count.
    Business(String),
}

/// One target: `metric` for `priority` within `within` on `basis`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    /// What is measured.
    pub metric: Metric,
    /// For which priority.
    pub priority: Priority,
    /// The allowed time.
    pub within: TimeDelta,
    /// Calendar or business time.
    pub basis: Basis,
}

/// Which conversations a policy covers. Empty lists match everything.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Conditions {
    /// The conversation's current channel is one of these.
    pub channels: Vec<Channel>,
    /// Its priority is one of these.
    pub priorities: Vec<Priority>,
    /// It carries every one of these tags.
    pub tags: Vec<String>,
    /// The customer has each attribute with this value.
    pub attributes: BTreeMap<String, serde_json::Value>,
}

/// What a policy is matched against.
#[derive(Debug, Clone, Copy)]
pub struct PolicyInput<'a> {
    /// The conversation's current channel.
    pub channel: &'a Channel,
    /// Its priority.
    pub priority: Priority,
    /// Its tags.
    pub tags: &'a [String],
    /// The customer's attributes.
    pub attributes: &'a BTreeMap<String, serde_json::Value>,
}

/// One SLA policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlaPolicy {
    /// Its name (recorded on every clock it drives).
    pub name: String,
    /// Which conversations it covers.
    pub conditions: Conditions,
    /// Its targets.
    pub targets: Vec<Target>,
}

impl SlaPolicy {
    /// A policy with no conditions and no targets.
    pub fn new(name: impl Into<String>) -> Self {
        SlaPolicy {
            name: name.into(),
            conditions: Conditions::default(),
            targets: Vec::new(),
        }
    }

    /// Covers only these channels.
    pub fn channels(mut self, channels: &[Channel]) -> Self {
        self.conditions.channels = channels.to_vec();
        self
    }

    /// Covers only these priorities.
    pub fn priorities(mut self, priorities: &[Priority]) -> Self {
        self.conditions.priorities = priorities.to_vec();
        self
    }

    /// Covers only conversations with this tag (repeatable: all required).
    pub fn tag(mut self, tag: impl Into<String>) -> Self {
        self.conditions.tags.push(tag.into());
        self
    }

    /// Covers only customers with this attribute value (repeatable: all required).
    pub fn attribute(
        mut self,
        key: impl Into<String>,
        value: impl Into<serde_json::Value>,
    ) -> Self {
        self.conditions.attributes.insert(key.into(), value.into());
        self
    }

    /// Adds a target.
    pub fn target(
        mut self,
        metric: Metric,
        priority: Priority,
        within: TimeDelta,
        basis: Basis,
    ) -> Self {
        self.targets.push(Target {
            metric,
            priority,
            within,
            basis,
        });
        self
    }

    /// Adds the same target for every priority.
    pub fn target_all(mut self, metric: Metric, within: TimeDelta, basis: Basis) -> Self {
        for p in Priority::ALL {
            self = self.target(metric, p, within, basis.clone());
        }
        self
    }

    /// Whether it covers `input`.
    pub fn matches(&self, input: &PolicyInput<'_>) -> bool {
        let c = &self.conditions;
        (c.channels.is_empty() || c.channels.contains(input.channel))
            && (c.priorities.is_empty() || c.priorities.contains(&input.priority))
            && c.tags.iter().all(|t| input.tags.contains(t))
            && c.attributes
                .iter()
                .all(|(k, v)| input.attributes.get(k) == Some(v))
    }

    /// The target for a metric and priority.
    pub fn target_for(&self, metric: Metric, priority: Priority) -> Option<&Target> {
        self.targets
            .iter()
            .find(|t| t.metric == metric && t.priority == priority)
    }
}

/// Who wrote a reply, for deciding whether it fulfils a reply target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum AuthorKind {
    /// A human agent.
    Agent,
    /// A bot.
    Bot,
    /// The system (automations).
    System,
}

/// The SLA configuration: ordered policies, named calendars, warning thresholds, who
/// fulfils, and what pauses.
///
/// ```
/// use chrono::{TimeDelta, Weekday};
/// use throughline::sla::{Basis, BusinessCalendar, Metric, SlaPolicies, SlaPolicy};
/// use throughline::{Channel, Priority};
/// let mut cal = BusinessCalendar::builder("Europe/Amsterdam");
/// for d in [Weekday::Mon, Weekday::Tue, Weekday::Wed, Weekday::Thu, Weekday::Fri] {
///     cal = cal.hours(d, "09:00", "17:00");
/// }
/// let sla = SlaPolicies::new()
///     .calendar("office", cal.build()?)
///     .policy(SlaPolicy::new("e-mail")
///         .channels(&[Channel::Email])
///         .target_all(Metric::FirstReply, TimeDelta::hours(8), Basis::Business("office".into())))
///     .build()?;
/// assert_eq!(sla.policies().len(), 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlaPolicies {
    policies: Vec<SlaPolicy>,
    calendars: BTreeMap<String, BusinessCalendar>,
    /// Fractions of a target at which a warning fires (default 0.75 and 0.9).
    warn_at: Vec<f64>,
    /// Author kinds whose public replies fulfil reply targets (default: human agents).
    fulfilled_by: Vec<AuthorKind>,
    /// Which statuses pause which metric.
    pauses: BTreeMap<Metric, Vec<Status>>,
}

impl Default for SlaPolicies {
    /// Live channels expect minutes, social media within two hours, e-mail and forms
    /// hours; all in calendar time (add a business calendar to count open hours only).
    fn default() -> Self {
        let live = [
            Channel::WebChat,
            Channel::InApp,
            Channel::Voice,
            Channel::WhatsApp,
            Channel::Line,
            Channel::WeChat,
        ];
        let social = [
            Channel::Twitter,
            Channel::Instagram,
            Channel::Messenger,
            Channel::Review,
            Channel::Forum,
        ];
        let min = TimeDelta::minutes;
        let hrs = TimeDelta::hours;
        let mut live_p = SlaPolicy::new("live").channels(&live);
        let mut social_p = SlaPolicy::new("social").channels(&social);
        let mut async_p = SlaPolicy::new("asynchronous");
        for (p, live_t, social_t, async_t) in [
            (Priority::Urgent, min(1), min(30), hrs(1)),
            (Priority::High, min(2), hrs(1), hrs(4)),
            (Priority::Normal, min(5), hrs(2), hrs(8)),
            (Priority::Low, min(10), hrs(4), hrs(24)),
        ] {
            live_p = live_p
                .target(Metric::FirstReply, p, live_t, Basis::Calendar)
                .target(Metric::NextReply, p, live_t * 2, Basis::Calendar);
            social_p = social_p
                .target(Metric::FirstReply, p, social_t, Basis::Calendar)
                .target(Metric::NextReply, p, social_t, Basis::Calendar);
            async_p = async_p
                .target(Metric::FirstReply, p, async_t, Basis::Calendar)
                .target(Metric::NextReply, p, async_t, Basis::Calendar)
                .target(Metric::TotalResolution, p, async_t * 15, Basis::Calendar);
        }
        live_p = live_p.target_all(Metric::TotalResolution, TimeDelta::days(1), Basis::Calendar);
        social_p =
            social_p.target_all(Metric::TotalResolution, TimeDelta::days(3), Basis::Calendar);
        SlaPolicies::new()
            .policy(live_p)
            .policy(social_p)
            .policy(async_p)
            .build()
            .unwrap_or_else(|_| SlaPolicies::new())
    }
}

impl SlaPolicies {
    /// No policies (no clocks run), the default thresholds, fulfilment and pauses.
    pub fn new() -> Self {
        let mut pauses = BTreeMap::new();
        pauses.insert(Metric::RequesterWait, vec![Status::Pending]);
        pauses.insert(Metric::NextReply, vec![Status::Pending]);
        pauses.insert(Metric::AgentWork, vec![Status::Pending, Status::OnHold]);
        pauses.insert(Metric::PeriodicUpdate, vec![Status::Pending]);
        SlaPolicies {
            policies: Vec::new(),
            calendars: BTreeMap::new(),
            warn_at: vec![0.75, 0.9],
            fulfilled_by: vec![AuthorKind::Agent],
            pauses,
        }
    }

    /// Appends a policy (earlier policies win).
    pub fn policy(mut self, policy: SlaPolicy) -> Self {
        self.policies.push(policy);
        self
    }

    /// Registers a business calendar under `name`.
    pub fn calendar(mut self, name: impl Into<String>, calendar: BusinessCalendar) -> Self {
        self.calendars.insert(name.into(), calendar);
        self
    }

    /// Sets the warning thresholds (fractions of the target, each in `(0, 1)`).
    pub fn warn_at(mut self, fractions: &[f64]) -> Self {
        self.warn_at = fractions.to_vec();
        self
    }

    /// Sets which author kinds fulfil reply targets.
    pub fn fulfilled_by(mut self, kinds: &[AuthorKind]) -> Self {
        self.fulfilled_by = kinds.to_vec();
        self
    }

    /// Sets which statuses pause a metric.
    pub fn pause(mut self, metric: Metric, statuses: &[Status]) -> Self {
        self.pauses.insert(metric, statuses.to_vec());
        self
    }

    /// Checks the configuration.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] for a target naming an unknown calendar, a non-positive target,
    /// or a warning threshold outside `(0, 1)`.
    pub fn build(mut self) -> Result<Self> {
        for p in &self.policies {
            for t in &p.targets {
                if t.within <= TimeDelta::zero() {
                    return Err(Error::Config(format!(
                        "policy {:?}: target {:?}/{} must be positive",
                        p.name, t.metric, t.priority
                    )));
                }
                if let Basis::Business(c) = &t.basis {
                    if !self.calendars.contains_key(c) {
                        return Err(Error::Config(format!(
                            "policy {:?} names unknown calendar {c:?}",
                            p.name
                        )));
                    }
                }
            }
        }
        if let Some(f) = self.warn_at.iter().find(|f| !(**f > 0.0 && **f < 1.0)) {
            return Err(Error::Config(format!(
                "warning threshold {f} is not between 0 and 1"
            )));
        }
        self.warn_at.sort_by(f64::total_cmp);
        self.warn_at.dedup();
        Ok(self)
    }

    /// The policies, in order.
    pub fn policies(&self) -> &[SlaPolicy] {
        &self.policies
    }

    /// The first policy that covers `input`.
    pub fn select(&self, input: &PolicyInput<'_>) -> Option<&SlaPolicy> {
        self.policies.iter().find(|p| p.matches(input))
    }

    /// A policy by name.
    pub fn by_name(&self, name: &str) -> Option<&SlaPolicy> {
        self.policies.iter().find(|p| p.name == name)
    }

    /// A calendar by name.
    pub fn calendar_named(&self, name: &str) -> Option<&BusinessCalendar> {
        self.calendars.get(name)
    }

    /// The warning thresholds.
    pub fn warnings(&self) -> &[f64] {
        &self.warn_at
    }

    /// Whether a reply by `kind` fulfils reply targets.
    pub fn fulfils(&self, kind: AuthorKind) -> bool {
        self.fulfilled_by.contains(&kind)
    }

    /// Whether `status` pauses `metric`.
    pub fn pauses(&self, metric: Metric, status: Status) -> bool {
        self.pauses
            .get(&metric)
            .is_some_and(|s| s.contains(&status))
    }
}
