//! Per-conversation SLA clocks: a pure, deterministic state machine driven by timestamped
//! inputs (customer message, reply, status change, policy), with an event log that explains
//! every deadline.

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use crate::conversation::{Priority, Status};
use crate::sla::policy::{AuthorKind, Basis, Metric, SlaPolicies, Target};

/// Where one metric's clock is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ClockState {
    /// Running.
    Active,
    /// Not running (the conversation waits on the customer or a third party).
    Paused,
    /// Met by a reply.
    Fulfilled,
    /// Stopped by solving; resolution metrics resume on reopen, never restart.
    Stopped,
}

/// One metric's clock.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricClock {
    /// The metric.
    pub metric: Metric,
    /// Its state.
    pub state: ClockState,
    /// When it was first activated.
    #[serde(with = "crate::serde_time::utc")]
    pub started_at: DateTime<Utc>,
    /// Time counted (on the target's basis) before `since`.
    pub elapsed: TimeDelta,
    /// When it last started running, while active.
    #[serde(default, with = "crate::serde_time::utc_opt")]
    pub since: Option<DateTime<Utc>>,
    /// The target in force.
    pub target: Target,
    /// When it breaches, while active.
    #[serde(default, with = "crate::serde_time::utc_opt")]
    pub deadline: Option<DateTime<Utc>>,
    /// Warning thresholds still to fire, with their instants, while active.
    pub warnings: Vec<(f64, DateTime<Utc>)>,
    /// When it breached, if it did (never earlier than the change that made it due).
    #[serde(default, with = "crate::serde_time::utc_opt")]
    pub breached_at: Option<DateTime<Utc>>,
}

/// What happened to a clock; the log explains and lets anyone recompute every deadline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "event")]
#[non_exhaustive]
pub enum SlaEventKind {
    /// A policy (or none) now applies, at this priority.
    ApplyPolicy {
        /// The policy's name.
        policy: Option<String>,
        /// The priority.
        priority: Priority,
    },
    /// The clock started.
    Activate,
    /// The clock paused.
    Pause,
    /// The clock resumed.
    Resume,
    /// A reply met the target.
    Fulfil,
    /// Solving stopped the clock.
    Stop,
    /// A warning threshold passed.
    Warn {
        /// The fraction of the target.
        fraction: f64,
        /// The deadline at the time.
        deadline: DateTime<Utc>,
    },
    /// The target was missed.
    Breach {
        /// The deadline that passed.
        deadline: DateTime<Utc>,
    },
    /// The tenant's SLA settings changed: the clocks took the new targets from here on.
    SettingsChanged {
        /// What changed.
        what: String,
        /// Who changed it.
        by: String,
    },
}

/// One entry of the clock log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlaEvent {
    /// When.
    #[serde(with = "crate::serde_time::utc")]
    pub at: DateTime<Utc>,
    /// Which metric (none for policy changes).
    pub metric: Option<Metric>,
    /// What.
    pub kind: SlaEventKind,
}

/// A timestamped input to the clocks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "input")]
#[non_exhaustive]
pub enum ClockInput {
    /// Select this policy (by name, `None` for none) at this priority.
    Policy {
        /// When.
        at: DateTime<Utc>,
        /// The policy's name.
        policy: Option<String>,
        /// The priority.
        priority: Priority,
    },
    /// A customer message.
    Inbound {
        /// When.
        at: DateTime<Utc>,
    },
    /// A public reply.
    Reply {
        /// When.
        at: DateTime<Utc>,
        /// By whom.
        by: AuthorKind,
    },
    /// A status change.
    Status {
        /// When.
        at: DateTime<Utc>,
        /// From.
        from: Status,
        /// To.
        to: Status,
    },
}

impl ClockInput {
    /// When it happened.
    pub fn at(&self) -> DateTime<Utc> {
        match self {
            ClockInput::Policy { at, .. }
            | ClockInput::Inbound { at }
            | ClockInput::Reply { at, .. }
            | ClockInput::Status { at, .. } => *at,
        }
    }
}

/// The SLA clocks of one conversation.
///
/// ```
/// use chrono::{DateTime, TimeDelta, Utc};
/// use throughline::sla::{AuthorKind, Basis, ClockInput, Metric, SlaClocks, SlaPolicies, SlaPolicy};
/// use throughline::Priority;
/// let sla = SlaPolicies::new()
///     .policy(SlaPolicy::new("chat").target_all(Metric::FirstReply, TimeDelta::minutes(5), Basis::Calendar))
///     .build()?;
/// let t0: DateTime<Utc> = "2026-03-02T09:00:00Z".parse()?;
/// let mut clocks = SlaClocks::default();
/// clocks.apply(&sla, &ClockInput::Policy { at: t0, policy: Some("chat".into()), priority: Priority::Normal });
/// clocks.apply(&sla, &ClockInput::Inbound { at: t0 });
/// assert_eq!(clocks.next_due(), Some(t0 + TimeDelta::seconds(225))); // the 75% warning
/// let due = clocks.poll(t0 + TimeDelta::minutes(6));
/// assert_eq!(due.len(), 3); // two warnings and the breach
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SlaClocks {
    /// The policy in force.
    pub policy: Option<String>,
    /// The priority in force.
    pub priority: Priority,
    /// One clock per metric with a target (the latest instance for reply metrics).
    pub clocks: Vec<MetricClock>,
    /// Everything that happened, in order.
    pub events: Vec<SlaEvent>,
    /// Whether the first customer message has been seen.
    pub started: bool,
    /// Breaches are never dated before this (the latest policy change).
    pub not_before: Option<DateTime<Utc>>,
    /// Whether a fulfilling reply came after the first customer message: next-reply
    /// clocks start only after one, whether or not the policy has a first-reply target.
    #[serde(default)]
    pub replied: bool,
}

fn measure(sla: &SlaPolicies, basis: &Basis, from: DateTime<Utc>, to: DateTime<Utc>) -> TimeDelta {
    match basis {
        Basis::Business(name) => match sla.calendar_named(name) {
            Some(cal) => cal.elapsed(from, to),
            None => (to - from).max(TimeDelta::zero()),
        },
        Basis::Calendar => (to - from).max(TimeDelta::zero()),
    }
}

fn advance(
    sla: &SlaPolicies,
    basis: &Basis,
    from: DateTime<Utc>,
    amount: TimeDelta,
) -> Option<DateTime<Utc>> {
    let amount = amount.max(TimeDelta::zero());
    match basis {
        Basis::Business(name) => match sla.calendar_named(name) {
            Some(cal) => cal.add(from, amount).ok(),
            None => from.checked_add_signed(amount),
        },
        Basis::Calendar => from.checked_add_signed(amount),
    }
}

impl MetricClock {
    fn counted(&self, sla: &SlaPolicies, now: DateTime<Utc>) -> TimeDelta {
        match (self.state, self.since) {
            (ClockState::Active, Some(s)) => {
                self.elapsed + measure(sla, &self.target.basis, s, now)
            }
            _ => self.elapsed,
        }
    }

    /// Records the breach of `deadline`, dated no earlier than `not_before` (breaches are
    /// not back-dated before a policy change), and returns its event.
    fn breach(&mut self, deadline: DateTime<Utc>, not_before: Option<DateTime<Utc>>) -> SlaEvent {
        let at = not_before.map_or(deadline, |n| deadline.max(n));
        self.breached_at = Some(at);
        self.warnings.clear();
        SlaEvent {
            at,
            metric: Some(self.metric),
            kind: SlaEventKind::Breach { deadline },
        }
    }

    /// Takes a new target at `at`, keeping what it counted. Thresholds not fired yet that
    /// the new target puts in the past fire at the change, like a deadline it passes.
    fn retarget(&mut self, sla: &SlaPolicies, target: Target, at: DateTime<Utc>) {
        if self.state == ClockState::Active {
            self.elapsed = self.counted(sla, at);
            self.since = Some(at);
        }
        let pending: Vec<f64> = self.warnings.iter().map(|w| w.0).collect();
        self.target = target;
        self.schedule(sla);
        if self.deadline.is_some() {
            let passed: Vec<(f64, DateTime<Utc>)> = pending
                .into_iter()
                .filter(|f| !self.warnings.iter().any(|w| w.0 == *f))
                .map(|f| (f, at))
                .collect();
            self.warnings.splice(0..0, passed);
        }
    }

    /// Recomputes the deadline and warning instants of a running clock.
    fn schedule(&mut self, sla: &SlaPolicies) {
        self.deadline = None;
        self.warnings.clear();
        let (ClockState::Active, Some(since)) = (self.state, self.since) else {
            return;
        };
        if self.breached_at.is_some() {
            return;
        }
        let within = self.target.within;
        self.deadline = advance(sla, &self.target.basis, since, within - self.elapsed);
        for &f in sla.warnings() {
            let at = TimeDelta::nanoseconds(
                (within.num_nanoseconds().unwrap_or(i64::MAX) as f64 * f) as i64,
            );
            if self.elapsed < at {
                if let Some(w) = advance(sla, &self.target.basis, since, at - self.elapsed) {
                    self.warnings.push((f, w));
                }
            }
        }
    }
}

/// The state a clock of `metric` in `state` takes when the status goes `from` → `to`:
/// leaving the active statuses stops it; a reopen resumes the resolution metrics where
/// they stopped; otherwise the statuses that pause the metric pause it.
fn state_after(
    sla: &SlaPolicies,
    metric: Metric,
    state: ClockState,
    from: Status,
    to: Status,
) -> ClockState {
    if !to.is_active() {
        match state {
            ClockState::Active | ClockState::Paused => ClockState::Stopped,
            s => s,
        }
    } else if from == Status::Solved || from == Status::Closed {
        // Reopen: resolution metrics resume where they stopped.
        match state {
            ClockState::Stopped if metric.ends_at_solve() => {
                if sla.pauses(metric, to) {
                    ClockState::Paused
                } else {
                    ClockState::Active
                }
            }
            s => s,
        }
    } else {
        match state {
            ClockState::Active if sla.pauses(metric, to) => ClockState::Paused,
            ClockState::Paused if !sla.pauses(metric, to) => ClockState::Active,
            s => s,
        }
    }
}

impl SlaClocks {
    fn log(&mut self, at: DateTime<Utc>, metric: Option<Metric>, kind: SlaEventKind) {
        self.events.push(SlaEvent { at, metric, kind });
    }

    fn clock_mut(&mut self, metric: Metric) -> Option<&mut MetricClock> {
        self.clocks.iter_mut().find(|c| c.metric == metric)
    }

    fn target(&self, sla: &SlaPolicies, metric: Metric) -> Option<Target> {
        let policy = sla.by_name(self.policy.as_deref()?)?;
        policy.target_for(metric, self.priority).cloned()
    }

    /// Starts a fresh clock for `metric` (replacing a finished one) when the policy has a
    /// target for it.
    fn activate(&mut self, sla: &SlaPolicies, metric: Metric, at: DateTime<Utc>) {
        let Some(target) = self.target(sla, metric) else {
            return;
        };
        let mut clock = MetricClock {
            metric,
            state: ClockState::Active,
            started_at: at,
            elapsed: TimeDelta::zero(),
            since: Some(at),
            target,
            deadline: None,
            warnings: Vec::new(),
            breached_at: None,
        };
        clock.schedule(sla);
        self.clocks.retain(|c| c.metric != metric);
        self.clocks.push(clock);
        self.log(at, Some(metric), SlaEventKind::Activate);
    }

    fn set_state(&mut self, sla: &SlaPolicies, metric: Metric, to: ClockState, at: DateTime<Utc>) {
        let Some(c) = self.clock_mut(metric) else {
            return;
        };
        let from = c.state;
        if from == to {
            return;
        }
        if from == ClockState::Active {
            c.elapsed = c.counted(sla, at);
            c.since = None;
        }
        if to == ClockState::Active {
            c.since = Some(at);
        }
        c.state = to;
        c.schedule(sla);
        let kind = match to {
            ClockState::Active => SlaEventKind::Resume,
            ClockState::Paused => SlaEventKind::Pause,
            ClockState::Fulfilled => SlaEventKind::Fulfil,
            ClockState::Stopped => SlaEventKind::Stop,
        };
        self.log(at, Some(metric), kind);
    }

    /// Applies one input. Inputs must come in time order; use [`SlaClocks::replay`] for a
    /// set in any order. A deadline that passed before the input is first recorded as a
    /// breach ([`SlaClocks::overdue`]): a late reply does not erase the breach it ends,
    /// whether or not anyone polled in between. A deadline at the input's instant is met.
    pub fn apply(&mut self, sla: &SlaPolicies, input: &ClockInput) {
        self.overdue(input.at());
        match input {
            ClockInput::Policy {
                at,
                policy,
                priority,
            } => self.apply_policy(sla, *at, policy, *priority),
            ClockInput::Inbound { at } => self.inbound(sla, *at),
            ClockInput::Reply { at, by } => self.reply(sla, *at, *by),
            ClockInput::Status { at, from, to } => self.status(sla, *at, *from, *to),
        }
    }

    /// A policy (or none) applies from `at`, at `priority`.
    fn apply_policy(
        &mut self,
        sla: &SlaPolicies,
        at: DateTime<Utc>,
        policy: &Option<String>,
        priority: Priority,
    ) {
        // Unchanged once one was applied (`not_before` is set by the first; clocks
        // decoded without their log have no events but keep it).
        let applied = self.not_before.is_some() || !self.events.is_empty();
        if self.policy == *policy && self.priority == priority && applied {
            return;
        }
        self.policy = policy.clone();
        self.priority = priority;
        self.not_before = Some(at);
        self.log(
            at,
            None,
            SlaEventKind::ApplyPolicy {
                policy: policy.clone(),
                priority,
            },
        );
        self.retarget_all(sla, at);
    }

    /// Every clock takes its target under the policy in force, from `at`: running clocks
    /// keep what they counted. A clock the policy has no target for keeps counting without
    /// a deadline, and takes a target again when a policy with one returns.
    fn retarget_all(&mut self, sla: &SlaPolicies, at: DateTime<Utc>) {
        let metrics: Vec<Metric> = self.clocks.iter().map(|c| c.metric).collect();
        for m in metrics {
            let target = self.target(sla, m);
            if let Some(c) = self.clock_mut(m) {
                match target {
                    Some(t) => c.retarget(sla, t, at),
                    None => {
                        c.deadline = None;
                        c.warnings.clear();
                    }
                }
            }
        }
    }

    /// A customer message at `at`: the first starts the clocks; a later one, once the
    /// first reply is done, starts a next-reply clock unless one runs.
    fn inbound(&mut self, sla: &SlaPolicies, at: DateTime<Utc>) {
        if !self.started {
            self.started = true;
            for m in [
                Metric::FirstReply,
                Metric::RequesterWait,
                Metric::AgentWork,
                Metric::TotalResolution,
            ] {
                self.activate(sla, m, at);
            }
            return;
        }
        // After the first reply: its clock finished (fulfilled, or stopped by a solve),
        // or, without a first-reply target, a fulfilling reply came.
        let first_done = match self.clocks.iter().find(|c| c.metric == Metric::FirstReply) {
            Some(c) => c.state != ClockState::Active && c.state != ClockState::Paused,
            None => self.replied,
        };
        let next_running = self.clocks.iter().any(|c| {
            c.metric == Metric::NextReply
                && matches!(c.state, ClockState::Active | ClockState::Paused)
        });
        if first_done && !next_running {
            self.activate(sla, Metric::NextReply, at);
        }
    }

    /// A public reply at `at` by `by`: a fulfilling one meets the reply clocks and starts
    /// the periodic-update clock.
    fn reply(&mut self, sla: &SlaPolicies, at: DateTime<Utc>, by: AuthorKind) {
        if !sla.fulfils(by) {
            return;
        }
        if self.started {
            self.replied = true;
        }
        for m in [
            Metric::FirstReply,
            Metric::NextReply,
            Metric::PeriodicUpdate,
        ] {
            if self.clocks.iter().any(|c| {
                c.metric == m && matches!(c.state, ClockState::Active | ClockState::Paused)
            }) {
                self.set_state(sla, m, ClockState::Fulfilled, at);
            }
        }
        if self.started {
            self.activate(sla, Metric::PeriodicUpdate, at);
        }
    }

    /// A status change at `at`: every clock takes the state the change implies.
    fn status(&mut self, sla: &SlaPolicies, at: DateTime<Utc>, from: Status, to: Status) {
        let metrics: Vec<(Metric, ClockState)> =
            self.clocks.iter().map(|c| (c.metric, c.state)).collect();
        for (m, state) in metrics {
            let next = state_after(sla, m, state, from, to);
            self.set_state(sla, m, next, at);
        }
    }

    /// Whether any clock runs or waits (active or paused).
    pub fn running(&self) -> bool {
        self.clocks
            .iter()
            .any(|c| matches!(c.state, ClockState::Active | ClockState::Paused))
    }

    /// The tenant's SLA settings changed at `at` from `before` to `after` (`what`, by
    /// `by`), and `policy` applies now: every clock keeps the time it counted up to `at`
    /// (on `before`'s calendars) and takes `after`'s target from `at` on; the change is
    /// logged. Returns the warnings and breaches the new targets make due at `at`.
    pub fn policies_changed(
        &mut self,
        before: &SlaPolicies,
        after: &SlaPolicies,
        at: DateTime<Utc>,
        policy: Option<String>,
        what: &str,
        by: &str,
    ) -> Vec<SlaEvent> {
        for c in &mut self.clocks {
            if c.state == ClockState::Active {
                c.elapsed = c.counted(before, at);
                c.since = Some(at);
            }
        }
        self.log(
            at,
            None,
            SlaEventKind::SettingsChanged {
                what: what.to_string(),
                by: by.to_string(),
            },
        );
        if self.policy != policy {
            self.log(
                at,
                None,
                SlaEventKind::ApplyPolicy {
                    policy: policy.clone(),
                    priority: self.priority,
                },
            );
        }
        self.policy = policy;
        self.not_before = Some(at);
        self.retarget_all(after, at);
        self.poll(at)
    }

    /// Rebuilds clocks from inputs in any arrival order (sorted by time, stable).
    pub fn replay(sla: &SlaPolicies, inputs: &[ClockInput]) -> SlaClocks {
        let mut sorted: Vec<&ClockInput> = inputs.iter().collect();
        sorted.sort_by_key(|i| i.at());
        let mut clocks = SlaClocks::default();
        for i in sorted {
            clocks.apply(sla, i);
        }
        clocks
    }

    /// The earliest pending warning or breach.
    pub fn next_due(&self) -> Option<DateTime<Utc>> {
        self.clocks
            .iter()
            .filter(|c| c.state == ClockState::Active && c.breached_at.is_none())
            .flat_map(|c| c.warnings.iter().map(|w| w.1).chain(c.deadline))
            .min()
    }

    /// Breaches of running clocks whose deadline passed before `at` (strictly), as a poll
    /// at the deadline would have recorded them; each returned once. Warnings still
    /// pending are left to [`SlaClocks::poll`]. [`SlaClocks::apply`] calls this first;
    /// call it yourself before `apply` to act on what it finds (the Desk reports these
    /// breaches as effects of the operation that found them).
    pub fn overdue(&mut self, at: DateTime<Utc>) -> Vec<SlaEvent> {
        let mut out = Vec::new();
        let not_before = self.not_before;
        for c in &mut self.clocks {
            if c.state != ClockState::Active || c.breached_at.is_some() {
                continue;
            }
            if let Some(deadline) = c.deadline.filter(|d| *d < at) {
                out.push(c.breach(deadline, not_before));
            }
        }
        self.events.extend(out.iter().cloned());
        out
    }

    /// Warnings and breaches that fell due by `now`, each returned once. A breach is dated
    /// at its deadline, or at the policy change that made it due if that came later
    /// (breaches are not back-dated).
    pub fn poll(&mut self, now: DateTime<Utc>) -> Vec<SlaEvent> {
        let mut out = Vec::new();
        let not_before = self.not_before;
        for c in &mut self.clocks {
            if c.state != ClockState::Active || c.breached_at.is_some() {
                continue;
            }
            let Some(deadline) = c.deadline else { continue };
            let (due, later): (Vec<_>, Vec<_>) = c.warnings.iter().partition(|w| w.1 <= now);
            c.warnings = later;
            for (fraction, at) in due {
                let at = not_before.map_or(at, |n| at.max(n));
                out.push(SlaEvent {
                    at,
                    metric: Some(c.metric),
                    kind: SlaEventKind::Warn { fraction, deadline },
                });
            }
            if deadline <= now {
                out.push(c.breach(deadline, not_before));
            }
        }
        self.events.extend(out.iter().cloned());
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sla::policy::SlaPolicy;

    fn sla() -> SlaPolicies {
        SlaPolicies::new()
            .policy(SlaPolicy::new("p").target_all(
                Metric::TotalResolution,
                TimeDelta::hours(8),
                Basis::Calendar,
            ))
            .pause(Metric::TotalResolution, &[Status::Pending])
            .build()
            .expect("valid")
    }

    #[test]
    fn the_state_a_status_change_implies() {
        let sla = sla();
        let m = Metric::TotalResolution;
        let (active, paused, stopped) =
            (ClockState::Active, ClockState::Paused, ClockState::Stopped);
        // Solving stops running clocks, keeps finished ones.
        assert_eq!(
            state_after(&sla, m, active, Status::Open, Status::Solved),
            stopped
        );
        assert_eq!(
            state_after(&sla, m, paused, Status::Pending, Status::Closed),
            stopped
        );
        assert_eq!(
            state_after(&sla, m, ClockState::Fulfilled, Status::Open, Status::Solved),
            ClockState::Fulfilled
        );
        // A reopen resumes a resolution metric, paused when the new status pauses it.
        assert_eq!(
            state_after(&sla, m, stopped, Status::Solved, Status::Open),
            active
        );
        assert_eq!(
            state_after(&sla, m, stopped, Status::Solved, Status::Pending),
            paused
        );
        assert_eq!(
            state_after(
                &sla,
                Metric::FirstReply,
                stopped,
                Status::Solved,
                Status::Open
            ),
            stopped
        );
        // Between active statuses, the pausing ones pause.
        assert_eq!(
            state_after(&sla, m, active, Status::Open, Status::Pending),
            paused
        );
        assert_eq!(
            state_after(&sla, m, paused, Status::Pending, Status::Open),
            active
        );
        assert_eq!(
            state_after(&sla, m, stopped, Status::Open, Status::Pending),
            stopped
        );
    }
}
