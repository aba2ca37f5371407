//! Where the time goes: the desk's stage probe ([`StageTimes`]) times each stage of its
//! work, and the library's store wrapper ([`TimedStore`]) reports every store call to it,
//! so each stage's time splits into its own work and the store's; what no stage covers is
//! the simulation itself.

use std::sync::Arc;
use std::time::Duration;

use throughline::probe::{Stage, StageTimes};
use throughline::store::Store;
use throughline::testkit::TimedStore;

#[derive(Debug, Default, Clone)]
pub struct Timing {
    pub stages: Arc<StageTimes>,
}

impl Timing {
    /// `inner`, reporting every call to the stage times.
    pub fn store<S: Store>(&self, inner: S) -> TimedStore<S> {
        TimedStore::new(inner, self.stages.clone())
    }

    /// The split of `total` (the month's wall time): per stage its own time and its
    /// store time, then the store calls outside any stage and the rest.
    pub fn split(&self, total: Duration) -> String {
        let t = self.stages.as_ref();
        let secs = |d: Duration| d.as_secs_f64();
        let pct = |d: Duration| 100.0 * d.as_secs_f64() / total.as_secs_f64();
        let mut out = format!(
            "Time split of {:.1} s (stage: own work + store calls made in it)\n",
            secs(total)
        );
        let mut staged = Duration::ZERO;
        let mut store = Duration::ZERO;
        for stage in Stage::ALL {
            let (own, st) = (t.own_time(stage), t.store_time(stage));
            staged += own + st;
            store += st;
            out += &format!(
                "  {:<10} {:7.1} s {:5.1}%   own {:7.1} s   store {:7.1} s\n",
                stage.name(),
                secs(own + st),
                pct(own + st),
                secs(own),
                secs(st)
            );
        }
        let outside = t.store_time_outside();
        store += outside;
        let rest = total.saturating_sub(staged + outside);
        out += &format!(
            "  {:<10} {:7.1} s {:5.1}%   (store calls outside the stages: reads by the simulation and the desk's lookups before a stage)\n",
            "unstaged",
            secs(outside),
            pct(outside)
        );
        out += &format!(
            "  {:<10} {:7.1} s {:5.1}%   (the simulation itself, and desk work outside the stages)\n",
            "rest",
            secs(rest),
            pct(rest)
        );
        out += &format!("  store in all: {:.1} s ({:.0}%)", secs(store), pct(store));
        out
    }
}
