//! SLA attainment: how a set of conversations did against each metric of each policy.

use serde::{Deserialize, Serialize};

use crate::sla::clock::{ClockState, SlaClocks, SlaEventKind};
use crate::sla::policy::Metric;

/// Where one conversation stands on one metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Standing {
    /// Every instance of the metric ended within its target (fulfilled, or stopped by
    /// solving).
    Met,
    /// At least one instance missed its target (for reply metrics, one late reply is
    /// enough).
    Breached,
    /// Still running, nothing missed yet.
    Running,
}

impl Standing {
    /// Where `clocks` stand on `metric`, or `None` when the metric never ran for them.
    pub fn of(clocks: &SlaClocks, metric: Metric) -> Option<Standing> {
        let clock = clocks.clocks.iter().find(|c| c.metric == metric)?;
        let breached_before = clocks
            .events
            .iter()
            .any(|e| e.metric == Some(metric) && matches!(e.kind, SlaEventKind::Breach { .. }));
        Some(if breached_before || clock.breached_at.is_some() {
            Standing::Breached
        } else if matches!(clock.state, ClockState::Active | ClockState::Paused) {
            Standing::Running
        } else {
            Standing::Met
        })
    }
}

/// One policy's metric over a set of conversations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct MetricAttainment {
    /// The policy in force at the end (`None`: the clocks ran without one).
    pub policy: Option<String>,
    /// The metric.
    pub metric: Metric,
    /// Conversations that met it.
    pub met: usize,
    /// Conversations that missed it at least once.
    pub breached: usize,
    /// Conversations where it is still running without a miss.
    pub running: usize,
}

impl MetricAttainment {
    /// Met / (met + breached): the share of decided conversations that met the target;
    /// `None` while none is decided.
    pub fn rate(&self) -> Option<f64> {
        let decided = self.met + self.breached;
        (decided > 0).then(|| self.met as f64 / decided as f64)
    }
}

/// SLA attainment of a set of conversations, per policy and metric (Zendesk's "SLA
/// achievement"): each conversation counts once per metric its clocks ran, as met,
/// breached or still running.
///
/// ```
/// use chrono::{TimeDelta, Utc};
/// use throughline::conversation::Priority;
/// use throughline::sla::{AuthorKind, Basis, ClockInput, Metric, SlaAttainment, SlaClocks, SlaPolicies, SlaPolicy};
///
/// let sla = SlaPolicies::new()
///     .policy(SlaPolicy::new("chat").target_all(Metric::FirstReply, TimeDelta::minutes(5), Basis::Calendar))
///     .build()?;
/// let t0 = Utc::now();
/// let answered = |after: i64| {
///     let mut c = SlaClocks::default();
///     c.apply(&sla, &ClockInput::Policy { at: t0, policy: Some("chat".into()), priority: Priority::Normal });
///     c.apply(&sla, &ClockInput::Inbound { at: t0 });
///     c.apply(&sla, &ClockInput::Reply { at: t0 + TimeDelta::minutes(after), by: AuthorKind::Agent });
///     c
/// };
/// let mut report = SlaAttainment::default();
/// report.add(&answered(3));
/// report.add(&answered(4));
/// report.add(&answered(9)); // late
/// let first_reply = &report.metrics[0];
/// assert_eq!((first_reply.met, first_reply.breached), (2, 1));
/// assert_eq!(report.conversations, 3);
/// assert_eq!(report.all_met, 2);
/// # Ok::<(), throughline::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SlaAttainment {
    /// Conversations whose clocks ever ran.
    pub conversations: usize,
    /// Of those, the ones that missed no target.
    pub all_met: usize,
    /// Per policy and metric, ordered by policy name, then metric.
    pub metrics: Vec<MetricAttainment>,
}

impl SlaAttainment {
    /// Counts one conversation's clocks (with their event log).
    pub fn add(&mut self, clocks: &SlaClocks) {
        let mut any = false;
        let mut missed = false;
        for metric in Metric::ALL {
            let Some(standing) = Standing::of(clocks, metric) else {
                continue;
            };
            any = true;
            missed |= standing == Standing::Breached;
            let at = self
                .metrics
                .binary_search_by(|m| (&m.policy, m.metric).cmp(&(&clocks.policy, metric)));
            let i = match at {
                Ok(i) => i,
                Err(i) => {
                    self.metrics.insert(
                        i,
                        MetricAttainment {
                            policy: clocks.policy.clone(),
                            metric,
                            met: 0,
                            breached: 0,
                            running: 0,
                        },
                    );
                    i
                }
            };
            let row = &mut self.metrics[i];
            match standing {
                Standing::Met => row.met += 1,
                Standing::Breached => row.breached += 1,
                Standing::Running => row.running += 1,
            }
        }
        if any {
            self.conversations += 1;
            if !missed {
                self.all_met += 1;
            }
        }
    }

    /// The rows of one metric, whatever the policy, summed (`policy: None`); `None`
    /// when the metric never ran.
    pub fn metric(&self, metric: Metric) -> Option<MetricAttainment> {
        let mut rows = self
            .metrics
            .iter()
            .filter(|m| m.metric == metric)
            .peekable();
        rows.peek()?;
        let mut sum = MetricAttainment {
            policy: None,
            metric,
            met: 0,
            breached: 0,
            running: 0,
        };
        for m in rows {
            sum.met += m.met;
            sum.breached += m.breached;
            sum.running += m.running;
        }
        Some(sum)
    }
}
