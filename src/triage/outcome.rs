//! The triage outcome of a conversation, its priority, and the flow state of self-service
//! and automated handling.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::catalogue::Disposition;
use crate::conversation::Priority;

/// Where the bot's handling of a conversation stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "state")]
#[non_exhaustive]
pub enum Flow {
    /// No bot handling: a human takes it (or nothing was recognised).
    Human,
    /// Articles were sent; a new customer message hands over.
    ArticlesSent {
        /// When.
        at: DateTime<Utc>,
    },
    /// The form is being filled: the next field to collect, and failed attempts at it.
    Collecting {
        /// Index of the field asked.
        field: usize,
        /// Answers not accepted so far for it.
        attempts: u32,
    },
    /// Handed over to a human.
    HandedOver {
        /// When.
        at: DateTime<Utc>,
        /// Why ("customer insisted", "form complete", ...).
        reason: String,
    },
}

/// What triage decided for a conversation (stored as the record of kind `"triage"` under
/// the conversation's id; read it with `Desk::triage_of`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TriageOutcome {
    /// The recognised intent, if any.
    pub intent: Option<String>,
    /// Its disposition.
    pub disposition: Option<Disposition>,
    /// The classifier's confidence.
    pub confidence: f32,
    /// The priority given to the conversation.
    pub priority: Priority,
    /// Why that priority: one line per factor.
    pub factors: Vec<String>,
    /// Skills (and minimum levels) a human needs.
    pub skills: Vec<(String, u8)>,
    /// Whether a human must handle it now.
    pub needs_human: bool,
    /// The bot's handling.
    pub flow: Flow,
    /// What the automated flow collected.
    pub collected: BTreeMap<String, String>,
    /// Cost of the contact when a human handles it (from the catalogue).
    pub cost: f64,
    /// When triage first ran.
    pub at: DateTime<Utc>,
}

impl TriageOutcome {
    /// The outcome of a conversation the crate's triage never saw, handed to a human by
    /// the host's own bot: no intent, the conversation's priority, a human needed.
    pub(crate) fn from_host(priority: Priority, now: DateTime<Utc>) -> Self {
        TriageOutcome {
            intent: None,
            disposition: None,
            confidence: 0.0,
            priority,
            factors: vec!["handed over by the host's bot".into()],
            skills: Vec::new(),
            needs_human: true,
            flow: Flow::Human,
            collected: BTreeMap::new(),
            cost: 0.0,
            at: now,
        }
    }

    /// Whether self-service or automation absorbed the contact (no hand-over to a human).
    pub fn absorbed(&self) -> bool {
        matches!(
            self.disposition,
            Some(Disposition::SelfService | Disposition::Automate | Disposition::Eliminate)
        ) && !self.needs_human
    }

    /// What routing needs: skills with minimum levels, the priority, whether a human is
    /// needed.
    pub fn requirements(&self) -> (Vec<(String, u8)>, Priority, bool) {
        (self.skills.clone(), self.priority, self.needs_human)
    }
}

/// What decides a conversation's priority.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PriorityInputs {
    /// The disposition, if an intent was recognised.
    pub disposition: Option<Disposition>,
    /// Whether the channel is live (chat, voice, messaging apps): customers wait there.
    pub live_channel: bool,
    /// Whether the customer is a VIP (a profile attribute).
    pub vip: bool,
    /// The largest share of an SLA target already used (0.0-1.0+), if clocks run.
    pub sla_pressure: Option<f64>,
}

fn bump(p: Priority) -> Priority {
    match p {
        Priority::Low => Priority::Normal,
        Priority::Normal => Priority::High,
        _ => Priority::Urgent,
    }
}

/// The priority and its explanation: the disposition sets the base (leverage high,
/// automate normal, self-service and eliminate low, unknown normal); a live channel, a
/// VIP customer and SLA pressure of 75% or more each raise it one step.
///
/// ```
/// use throughline::conversation::Priority;
/// use throughline::triage::{priority, Disposition, PriorityInputs};
/// let (p, why) = priority(PriorityInputs { disposition: Some(Disposition::Leverage), live_channel: false, vip: true, sla_pressure: None });
/// assert_eq!(p, Priority::Urgent);
/// assert_eq!(why.len(), 2);
/// ```
pub fn priority(inputs: PriorityInputs) -> (Priority, Vec<String>) {
    let (mut p, base) = match inputs.disposition {
        Some(Disposition::Leverage) => (Priority::High, "leverage: a skilled human, high priority"),
        Some(Disposition::Automate) => (Priority::Normal, "automate: normal priority"),
        Some(Disposition::SelfService) => (Priority::Low, "self-service: low priority"),
        Some(Disposition::Eliminate) => (Priority::Low, "eliminate: low priority"),
        None => (Priority::Normal, "no intent recognised: normal priority"),
    };
    let mut why = vec![base.to_string()];
    if inputs.live_channel {
        p = bump(p);
        why.push("live channel: +1".into());
    }
    if inputs.vip {
        p = bump(p);
        why.push("VIP customer: +1".into());
    }
    if let Some(x) = inputs.sla_pressure.filter(|x| *x >= 0.75) {
        p = bump(p);
        why.push(format!("SLA {:.0}% used: +1", x * 100.0));
    }
    (p, why)
}
