//! Where a [`Desk`](crate::Desk)'s time goes: the Desk tells a [`StageProbe`] when it
//! enters and leaves each [`Stage`] of its work (deduplication, identity, threading,
//! language, triage, SLA, routing, metrics, writing). The probe is events only: the
//! library reads no clock, so timing them is the probe's business.
//!
//! With the `testkit` feature, `StageTimes` is a ready-made probe that adds up the time
//! spent in each stage (it reads the system's monotonic clock), and
//! `testkit::TimedStore` splits each stage's time into the Desk's own work and the store's.
//!
//! A probe is off unless configured ([`DeskConfig::probe`](crate::DeskConfig::probe)):
//! without one the Desk does nothing extra. Hosts that trace with their own tools
//! implement [`StageProbe`] (opening and closing spans, say).
//!
//! Stages nest: the triage bot's answer runs the SLA step inside the triage stage, and
//! writing its change set runs inside both. `StageTimes` counts each instant once, in
//! the innermost stage (exclusive time), so the stages add up to the Desk's staged time.
//!
//! ```
//! # #[cfg(feature = "testkit")] {
//! use std::sync::Arc;
//! use throughline::probe::{Stage, StageTimes};
//! use throughline::{Channel, Desk, DeskConfig, Identifier, Inbound, TenantId, store::MemoryStore};
//!
//! let times = Arc::new(StageTimes::new());
//! let mut desk = Desk::new(MemoryStore::new(), DeskConfig::default().probe(times.clone()));
//! let t0 = chrono::DateTime::parse_from_rfc3339("2026-03-02T09:00:00Z")?.to_utc();
//! let inbound = Inbound::new(TenantId::new_v7(), Channel::Sms,
//!     Identifier::phone("+31612345678", None)?, "sms-1", "Waar is mijn pakket? Ik wacht al een week.");
//! desk.ingest(inbound, t0)?;
//! assert_eq!(times.entries(Stage::Language), 1);
//! assert_eq!(times.entries(Stage::Identity), 1);
//! let staged: std::time::Duration = Stage::ALL.iter().map(|&s| times.own_time(s)).sum();
//! assert!(staged > std::time::Duration::ZERO);
//! # }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;
use std::sync::Arc;
#[cfg(any(test, feature = "testkit"))]
use std::sync::{Mutex, MutexGuard};
#[cfg(any(test, feature = "testkit"))]
use std::time::{Duration, Instant};

/// A part of the Desk's work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Stage {
    /// Looking up a webhook's provider id, to recognise a redelivery.
    Dedup,
    /// Resolving the sender's identifiers to a customer (creating one, attaching new
    /// identifiers, suggesting merges).
    Identity,
    /// Finding or opening the conversation a message belongs to.
    Threading,
    /// Detecting and deciding a message's language.
    Language,
    /// Classifying intent, value-irritant triage and the bot's flow.
    Triage,
    /// SLA clocks: starting, stopping and polling them, warnings and breaches.
    Sla,
    /// Routing decisions, queues and escalations.
    Routing,
    /// Keeping the live metrics.
    Metrics,
    /// Writing change sets to the store and committing batches.
    Write,
}

impl Stage {
    /// Every stage, in the order an inbound message meets them.
    pub const ALL: [Stage; 9] = [
        Stage::Dedup,
        Stage::Identity,
        Stage::Threading,
        Stage::Language,
        Stage::Triage,
        Stage::Sla,
        Stage::Routing,
        Stage::Metrics,
        Stage::Write,
    ];

    /// A short lowercase name (`"identity"`).
    pub fn name(self) -> &'static str {
        match self {
            Stage::Dedup => "dedup",
            Stage::Identity => "identity",
            Stage::Threading => "threading",
            Stage::Language => "language",
            Stage::Triage => "triage",
            Stage::Sla => "sla",
            Stage::Routing => "routing",
            Stage::Metrics => "metrics",
            Stage::Write => "write",
        }
    }

    #[cfg(any(test, feature = "testkit"))]
    fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.name())
    }
}

/// Told by the Desk when it enters and leaves a [`Stage`].
///
/// # Contract
///
/// Calls come from the thread running the Desk operation, properly nested: every
/// `enter` is followed by the matching `leave`, also when the operation fails, and a
/// stage entered inside another is left before it. A probe must not call back into the
/// Desk, and should be cheap: it runs several times per message.
pub trait StageProbe: fmt::Debug + Send + Sync {
    /// The Desk starts `stage`.
    fn enter(&self, stage: Stage);
    /// The Desk ends `stage`.
    fn leave(&self, stage: Stage);
}

/// Leaves its stage when dropped (so an early return or `?` leaves it too).
pub(crate) struct StageGuard {
    probe: Option<Arc<dyn StageProbe>>,
    stage: Stage,
}

impl StageGuard {
    pub(crate) fn enter(probe: Option<&Arc<dyn StageProbe>>, stage: Stage) -> StageGuard {
        let probe = probe.cloned();
        if let Some(p) = &probe {
            p.enter(stage);
        }
        StageGuard { probe, stage }
    }
}

impl Drop for StageGuard {
    fn drop(&mut self) {
        if let Some(p) = &self.probe {
            p.leave(self.stage);
        }
    }
}

#[cfg(any(test, feature = "testkit"))]
const N: usize = Stage::ALL.len();

#[cfg(any(test, feature = "testkit"))]
#[derive(Debug, Default)]
struct Totals {
    /// Entered stages, innermost last, each with the instant its own time last resumed.
    stack: Vec<(Stage, Instant)>,
    own: [Duration; N],
    store: [Duration; N],
    entries: [u64; N],
    store_outside: Duration,
}

#[cfg(any(test, feature = "testkit"))]
impl Totals {
    /// Charges the innermost stage's own time up to `at`.
    fn charge(&mut self, at: Instant) {
        if let Some((stage, since)) = self.stack.last_mut() {
            self.own[stage.index()] += at.saturating_duration_since(*since);
            *since = at;
        }
    }

    fn enter(&mut self, stage: Stage, at: Instant) {
        self.charge(at);
        self.entries[stage.index()] += 1;
        self.stack.push((stage, at));
    }

    fn leave(&mut self, stage: Stage, at: Instant) {
        self.charge(at);
        // Tolerates a probe shared by mistake: leaves the innermost entry of `stage`.
        if let Some(i) = self.stack.iter().rposition(|(s, _)| *s == stage) {
            self.stack.remove(i);
        }
        if let Some((_, since)) = self.stack.last_mut() {
            *since = at;
        }
    }

    /// Moves `took` (time spent in the store, from `start`) from the innermost stage's
    /// own time to its store time.
    fn store(&mut self, start: Instant, took: Duration) {
        self.charge(start);
        match self.stack.last_mut() {
            Some((stage, since)) => {
                self.store[stage.index()] += took;
                *since = start + took;
            }
            None => self.store_outside += took,
        }
    }
}

/// A [`StageProbe`] that adds up the time of each [`Stage`]: its own time (exclusive of
/// the stages inside it) and, when the store reports its calls through
/// [`StageTimes::measure_store`] (as `testkit::TimedStore` does), the
/// time spent in the store on its behalf.
///
/// One `StageTimes` serves one Desk (it keeps the stack of stages entered). The
/// [module docs](self) have an example.
///
/// It reads the system's monotonic clock, so it is a test and measurement tool: it needs
/// the `testkit` feature.
#[cfg(any(test, feature = "testkit"))]
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct StageTimes {
    totals: Mutex<Totals>,
}

// A measurement tool (testkit only): reading the monotonic clock is its purpose.
#[cfg(any(test, feature = "testkit"))]
#[allow(clippy::disallowed_methods)]
impl StageTimes {
    /// Empty totals.
    pub fn new() -> Self {
        Self::default()
    }

    fn totals(&self) -> MutexGuard<'_, Totals> {
        // A panic elsewhere while the lock was held leaves sums that are still sums.
        self.totals.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `f` (a store call) and counts its time as store time of the innermost stage
    /// entered, or as store time outside any stage.
    pub fn measure_store<T>(&self, f: impl FnOnce() -> T) -> T {
        let start = Instant::now();
        let out = f();
        let took = start.elapsed();
        self.totals().store(start, took);
        out
    }

    /// Time spent in `stage` itself: neither in a stage inside it nor in the store calls
    /// reported through [`StageTimes::measure_store`].
    pub fn own_time(&self, stage: Stage) -> Duration {
        self.totals().own[stage.index()]
    }

    /// Time spent in the store by calls made while `stage` was the innermost one.
    pub fn store_time(&self, stage: Stage) -> Duration {
        self.totals().store[stage.index()]
    }

    /// Time spent in the store outside every stage (reads the host made itself, and the
    /// Desk's lookups before its stages).
    pub fn store_time_outside(&self) -> Duration {
        self.totals().store_outside
    }

    /// How often `stage` was entered.
    pub fn entries(&self, stage: Stage) -> u64 {
        self.totals().entries[stage.index()]
    }

    /// Starts the sums again from zero (stages entered now stay entered).
    pub fn reset(&self) {
        let mut t = self.totals();
        let now = Instant::now();
        for (_, since) in &mut t.stack {
            *since = now;
        }
        t.own = [Duration::ZERO; N];
        t.store = [Duration::ZERO; N];
        t.entries = [0; N];
        t.store_outside = Duration::ZERO;
    }
}

// A measurement tool (testkit only): reading the monotonic clock is its purpose.
#[cfg(any(test, feature = "testkit"))]
#[allow(clippy::disallowed_methods)]
impl StageProbe for StageTimes {
    fn enter(&self, stage: Stage) {
        let at = Instant::now();
        self.totals().enter(stage, at);
    }

    fn leave(&self, stage: Stage) {
        let at = Instant::now();
        self.totals().leave(stage, at);
    }
}

#[cfg(test)]
// The tests start their virtual instants from a real one.
#[allow(clippy::disallowed_methods)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn nested_stages_count_each_instant_once_in_the_innermost() {
        let t0 = Instant::now();
        let mut t = Totals::default();
        t.enter(Stage::Triage, t0);
        t.enter(Stage::Sla, t0 + ms(10)); // triage 10
        t.enter(Stage::Write, t0 + ms(15)); // sla 5
        t.leave(Stage::Write, t0 + ms(45)); // write 30
        t.leave(Stage::Sla, t0 + ms(47)); // sla 2 more
        t.leave(Stage::Triage, t0 + ms(50)); // triage 3 more
        assert_eq!(t.own[Stage::Triage.index()], ms(13));
        assert_eq!(t.own[Stage::Sla.index()], ms(7));
        assert_eq!(t.own[Stage::Write.index()], ms(30));
        assert_eq!(t.entries[Stage::Sla.index()], 1);
        assert!(t.stack.is_empty());
        let total: Duration = t.own.iter().sum();
        assert_eq!(total, ms(50), "the stages add up to the staged time");
    }

    #[test]
    fn store_time_moves_from_the_innermost_stage_to_its_store_share() {
        let t0 = Instant::now();
        let mut t = Totals::default();
        t.store(t0, ms(4)); // before any stage
        t.enter(Stage::Identity, t0 + ms(4));
        t.store(t0 + ms(6), ms(10)); // identity own 2, store 10
        t.leave(Stage::Identity, t0 + ms(20)); // own 4 more
        assert_eq!(t.store_outside, ms(4));
        assert_eq!(t.store[Stage::Identity.index()], ms(10));
        assert_eq!(t.own[Stage::Identity.index()], ms(6));
    }

    #[test]
    fn a_stage_left_out_of_order_does_not_corrupt_the_stack() {
        let t0 = Instant::now();
        let mut t = Totals::default();
        t.enter(Stage::Triage, t0);
        t.enter(Stage::Sla, t0 + ms(1));
        t.leave(Stage::Triage, t0 + ms(2));
        assert_eq!(t.stack.len(), 1);
        assert_eq!(t.stack[0].0, Stage::Sla);
        t.leave(Stage::Sla, t0 + ms(3));
        t.leave(Stage::Sla, t0 + ms(4)); // unmatched: ignored
        assert!(t.stack.is_empty());
        assert_eq!(t.own.iter().sum::<Duration>(), ms(3));
    }

    #[test]
    fn reset_zeroes_the_sums() {
        let times = StageTimes::new();
        times.enter(Stage::Routing);
        times.leave(Stage::Routing);
        times.measure_store(|| ());
        assert_eq!(times.entries(Stage::Routing), 1);
        times.reset();
        assert_eq!(times.entries(Stage::Routing), 0);
        assert_eq!(times.own_time(Stage::Routing), Duration::ZERO);
        assert_eq!(times.store_time_outside(), Duration::ZERO);
    }
}
