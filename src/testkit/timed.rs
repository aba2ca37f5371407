//! [`TimedStore`]: a wrapper that reports every store call to a
//! [`StageTimes`](crate::probe::StageTimes), so each stage's time splits into the
//! Desk's own work and the store's.

use std::sync::Arc;

use crate::probe::StageTimes;
use crate::store::{forward_store, Store};

/// A store that times every call it forwards to the store inside, through
/// [`StageTimes::measure_store`]: give the same [`StageTimes`] to the Desk as its probe
/// and each [`Stage`](crate::probe::Stage) reports its store time beside its own time.
/// Every method of [`Store`] is forwarded, the optional ones too, so the wrapped store
/// behaves exactly as it does alone (batches, read-ahead, scrubbing).
///
/// ```
/// use std::sync::Arc;
/// use throughline::probe::{Stage, StageTimes};
/// use throughline::store::MemoryStore;
/// use throughline::testkit::TimedStore;
/// use throughline::{Channel, Desk, DeskConfig, Identifier, Inbound, TenantId};
///
/// let times = Arc::new(StageTimes::new());
/// let store = TimedStore::new(MemoryStore::new(), times.clone());
/// let mut desk = Desk::new(store, DeskConfig::default().probe(times.clone()));
/// let t0 = chrono::DateTime::parse_from_rfc3339("2026-03-02T09:00:00Z")?.to_utc();
/// let inbound = Inbound::new(TenantId::new_v7(), Channel::Email,
///     Identifier::email("ana@example.com")?, "m-1", "Where is my parcel? It is a week late.");
/// desk.ingest(inbound, t0)?;
/// // The change set was written inside the write stage, through the wrapper.
/// assert!(times.store_time(Stage::Write) > std::time::Duration::ZERO);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct TimedStore<S> {
    inner: S,
    times: Arc<StageTimes>,
}

impl<S: Store> TimedStore<S> {
    /// Wraps `inner`, reporting its calls to `times`.
    pub fn new(inner: S, times: Arc<StageTimes>) -> Self {
        TimedStore { inner, times }
    }

    /// The sums the calls are reported to.
    pub fn times(&self) -> &Arc<StageTimes> {
        &self.times
    }

    /// The wrapped store.
    pub fn inner(&self) -> &S {
        &self.inner
    }

    /// Unwraps the store.
    pub fn into_inner(self) -> S {
        self.inner
    }

    /// The hook around a `&self` call: times it.
    fn timed<T>(&self, _method: &'static str, f: impl FnOnce(&S) -> T) -> T {
        self.times.measure_store(|| f(&self.inner))
    }

    /// The hook around a `&mut self` call: times it.
    fn timed_mut<T>(&mut self, _method: &'static str, f: impl FnOnce(&mut S) -> T) -> T {
        let times = Arc::clone(&self.times);
        times.measure_store(|| f(&mut self.inner))
    }
}

/// Every call but `supports_batches` is timed.
impl<S: Store> Store for TimedStore<S> {
    forward_store!(inner: Self::inner, read: Self::timed, write: Self::timed_mut);
}
