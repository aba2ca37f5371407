//! What the simulation knows happened, kept by itself from what it did (who wrote when,
//! on which channel; when its agents answered and solved; when a bot answered), to hold
//! the crate's metrics against.

use std::collections::HashMap;

use chrono::{DateTime, TimeDelta, Utc};
use throughline::metrics::Report;
use throughline::sla::SlaAttainment;
use throughline::{Channel, ConversationId};

/// One conversation as the simulation saw it.
pub struct Seen {
    /// The customer, as the desk identified them (the host links a simulated customer's
    /// identifiers, so this is one desk customer per simulated one unless a link failed).
    pub customer: throughline::CustomerId,
    pub created: DateTime<Utc>,
    pub first_channel: Channel,
    pub last_channel: Channel,
    pub switches: u64,
    pub first_reply: Option<DateTime<Utc>>,
    pub bot_replied: bool,
    pub wrote_again: bool,
    pub solved: Option<DateTime<Utc>>,
    pub reopened: bool,
}

/// The month's ground truth.
#[derive(Default)]
pub struct Truth {
    pub seen: HashMap<ConversationId, Seen>,
    pub inbound: u64,
}

impl Truth {
    /// A customer message landed in `conv` (not a duplicate delivery).
    pub fn inbound(
        &mut self,
        conv: ConversationId,
        customer: throughline::CustomerId,
        ch: &Channel,
        at: DateTime<Utc>,
    ) {
        self.inbound += 1;
        let s = self.seen.entry(conv).or_insert_with(|| Seen {
            customer,
            created: at,
            first_channel: ch.clone(),
            last_channel: ch.clone(),
            switches: 0,
            first_reply: None,
            bot_replied: false,
            wrote_again: false,
            solved: None,
            reopened: false,
        });
        if s.last_channel != *ch {
            s.switches += 1;
            s.last_channel = ch.clone();
        }
        if s.solved.take().is_some() {
            s.reopened = true;
        } else if s.first_reply.is_some() {
            s.wrote_again = true;
        }
    }

    /// The channel of the customer's latest message in `conv`.
    pub fn channel(&self, conv: ConversationId) -> Option<&Channel> {
        self.seen.get(&conv).map(|s| &s.last_channel)
    }

    /// An agent replied in `conv`.
    pub fn replied(&mut self, conv: ConversationId, at: DateTime<Utc>) {
        if let Some(s) = self.seen.get_mut(&conv) {
            s.first_reply.get_or_insert(at);
        }
    }

    /// A bot answered in `conv`.
    pub fn bot_replied(&mut self, conv: ConversationId) {
        if let Some(s) = self.seen.get_mut(&conv) {
            s.bot_replied = true;
        }
    }

    /// `conv` was solved.
    pub fn solved(&mut self, conv: ConversationId, at: DateTime<Utc>) {
        if let Some(s) = self.seen.get_mut(&conv) {
            s.solved = Some(at);
        }
    }

    /// First-contact resolutions: solved, answered, never reopened, the customer did not
    /// write again after the first agent reply, nor opened another conversation within
    /// `window` of the solve.
    fn fcr(&self, window: TimeDelta) -> usize {
        let mut starts: HashMap<throughline::CustomerId, Vec<DateTime<Utc>>> = HashMap::new();
        for s in self.seen.values() {
            starts.entry(s.customer).or_default().push(s.created);
        }
        self.seen
            .values()
            .filter(|s| {
                let Some(solved) = s.solved else { return false };
                let again = starts[&s.customer]
                    .iter()
                    .any(|&at| at != s.created && at >= solved && at - solved <= window);
                !s.reopened
                    && !s.wrote_again
                    && !again
                    && (s.first_reply.is_some() || s.bot_replied)
            })
            .count()
    }
}

/// The median as the crate takes it (the lower of the middle two).
fn median(mut v: Vec<i64>) -> Option<i64> {
    v.sort_unstable();
    (!v.is_empty()).then(|| v[(v.len() - 1) / 2])
}

/// One row of the comparison: what the crate says, what happened, the allowed difference.
struct Row {
    name: &'static str,
    crate_says: f64,
    truth: f64,
    /// `None`: shown, not checked (the truth is approximate).
    tolerance: Option<f64>,
    unit: &'static str,
}

/// Compares the crate's report (and its first-reply attainment) with the truth: the
/// table, and whether every row is within its tolerance. `first_reply_met` is the truth's
/// own count of first replies on time (by the SLA targets), out of `first_reply_decided`.
pub fn compare(
    t: &Truth,
    r: &Report,
    sla: &SlaAttainment,
    first_reply_met: (usize, usize),
    fcr_window: TimeDelta,
) -> (String, bool) {
    let seen = t.seen.values();
    let first: Vec<i64> = seen
        .clone()
        .filter_map(|s| s.first_reply.map(|at| (at - s.created).num_seconds()))
        .collect();
    let resolved: Vec<i64> = seen
        .clone()
        .filter_map(|s| s.solved.map(|at| (at - s.created).num_seconds()))
        .collect();
    let solved = resolved.len();
    let pct = |n: usize, of: usize| 100.0 * n as f64 / of.max(1) as f64;
    let mins = |s: Option<i64>| s.unwrap_or(0) as f64 / 60.0;
    let crate_fr = sla
        .metric(throughline::sla::Metric::FirstReply)
        .and_then(|a| a.rate())
        .unwrap_or(0.0);
    let rows = [
        Row {
            name: "conversations",
            crate_says: r.conversations as f64,
            truth: t.seen.len() as f64,
            tolerance: Some(0.0),
            unit: "",
        },
        Row {
            name: "customer messages",
            crate_says: r.inbound_messages as f64,
            truth: t.inbound as f64,
            tolerance: Some(0.0),
            unit: "",
        },
        Row {
            name: "channel switches",
            crate_says: r.channel_switches as f64,
            truth: seen.clone().map(|s| s.switches).sum::<u64>() as f64,
            tolerance: Some(0.0),
            unit: "",
        },
        Row {
            name: "  in conversations",
            crate_says: r.with_channel_switch as f64,
            truth: seen.clone().filter(|s| s.switches > 0).count() as f64,
            tolerance: Some(0.0),
            unit: "",
        },
        Row {
            name: "first reply, answered",
            crate_says: r.first_reply.count as f64,
            truth: first.len() as f64,
            tolerance: Some(0.0),
            unit: "",
        },
        Row {
            name: "first reply, median",
            crate_says: mins(r.first_reply.median_secs),
            truth: mins(median(first)),
            tolerance: Some(1.0),
            unit: " min",
        },
        Row {
            name: "solved",
            crate_says: r.solved as f64,
            truth: solved as f64,
            tolerance: Some(0.0),
            unit: "",
        },
        Row {
            name: "resolution, median",
            crate_says: mins(r.resolution.median_secs),
            truth: mins(median(resolved)),
            tolerance: Some(1.0),
            unit: " min",
        },
        Row {
            name: "FCR (cross-channel)",
            crate_says: 100.0 * r.fcr_rate.unwrap_or(0.0),
            truth: pct(t.fcr(fcr_window), solved),
            tolerance: Some(0.5),
            unit: " %",
        },
        Row {
            name: "first reply on time",
            crate_says: 100.0 * crate_fr,
            truth: pct(first_reply_met.0, first_reply_met.1),
            tolerance: None,
            unit: " %",
        },
    ];
    let mut out = format!(
        "Ground truth (what the simulation did) against the crate's metrics\n  {:<22} {:>12} {:>12} {:>10} {:>10}\n",
        "metric", "crate", "truth", "diff", "tolerance"
    );
    let mut agree = true;
    for row in rows {
        let diff = row.crate_says - row.truth;
        let ok = row.tolerance.is_none_or(|t| diff.abs() <= t + 1e-9);
        agree &= ok;
        let tolerance = row
            .tolerance
            .map_or("not checked".to_string(), |t| format!("{t:.1}{}", row.unit));
        out += &format!(
            "  {:<22} {:>12.1} {:>12.1} {:>+10.1} {:>12}{}\n",
            row.name,
            row.crate_says,
            row.truth,
            diff,
            tolerance,
            if ok { "" } else { "   DISAGREES" }
        );
    }
    out += &format!("ground truth agrees with the crate's metrics: {agree}\n");
    (out, agree)
}
