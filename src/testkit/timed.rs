//! [`TimedStore`]: a wrapper that reports every store call to a
//! [`StageTimes`](crate::probe::StageTimes), so each stage's time splits into the
//! Desk's own work and the store's.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::channel::Channel;
use crate::conversation::Conversation;
use crate::error::Result;
use crate::id::{ConversationId, CustomerId, MessageId, TenantId};
use crate::identity::{Customer, Identifier, IdentifierRecord};
use crate::message::Message;
use crate::probe::StageTimes;
use crate::store::{ChangeSet, ReadAhead, ReadPlan, Record, Store};

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

    fn timed<T>(&self, f: impl FnOnce(&S) -> T) -> T {
        self.times.measure_store(|| f(&self.inner))
    }

    fn timed_mut<T>(&mut self, f: impl FnOnce(&mut S) -> T) -> T {
        let times = Arc::clone(&self.times);
        times.measure_store(|| f(&mut self.inner))
    }
}

impl<S: Store> Store for TimedStore<S> {
    fn read_ahead(&self, t: TenantId, plan: &ReadPlan<'_>) -> Result<ReadAhead> {
        self.timed(|s| s.read_ahead(t, plan))
    }
    fn customer(&self, t: TenantId, id: CustomerId) -> Result<Option<Customer>> {
        self.timed(|s| s.customer(t, id))
    }
    fn identifier(&self, t: TenantId, i: &Identifier) -> Result<Option<IdentifierRecord>> {
        self.timed(|s| s.identifier(t, i))
    }
    fn identifiers_of(&self, t: TenantId, c: CustomerId) -> Result<Vec<IdentifierRecord>> {
        self.timed(|s| s.identifiers_of(t, c))
    }
    fn conversation(&self, t: TenantId, id: ConversationId) -> Result<Option<Conversation>> {
        self.timed(|s| s.conversation(t, id))
    }
    fn conversation_tenant(&self, id: ConversationId) -> Result<Option<TenantId>> {
        self.timed(|s| s.conversation_tenant(id))
    }
    fn conversation_by_id(&self, id: ConversationId) -> Result<Option<Conversation>> {
        self.timed(|s| s.conversation_by_id(id))
    }
    fn conversations_of(&self, t: TenantId, c: CustomerId) -> Result<Vec<Conversation>> {
        self.timed(|s| s.conversations_of(t, c))
    }
    fn conversations_in(
        &self,
        t: TenantId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Conversation>> {
        self.timed(|s| s.conversations_in(t, from, to))
    }
    fn open_conversation(&self, t: TenantId, c: CustomerId) -> Result<Option<Conversation>> {
        self.timed(|s| s.open_conversation(t, c))
    }
    fn message(&self, t: TenantId, id: MessageId) -> Result<Option<Message>> {
        self.timed(|s| s.message(t, id))
    }
    fn message_by_external_id(
        &self,
        t: TenantId,
        ch: &Channel,
        ext: &str,
    ) -> Result<Option<Message>> {
        self.timed(|s| s.message_by_external_id(t, ch, ext))
    }
    fn messages_of(&self, t: TenantId, c: ConversationId) -> Result<Vec<Message>> {
        self.timed(|s| s.messages_of(t, c))
    }
    fn message_ids_of(&self, t: TenantId, c: ConversationId) -> Result<Vec<MessageId>> {
        self.timed(|s| s.message_ids_of(t, c))
    }
    fn conversations_in_page(
        &self,
        t: TenantId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        after: Option<(DateTime<Utc>, ConversationId)>,
        limit: usize,
    ) -> Result<Vec<Conversation>> {
        self.timed(|s| s.conversations_in_page(t, from, to, after, limit))
    }
    fn recent_messages(
        &self,
        t: TenantId,
        c: ConversationId,
        limit: usize,
    ) -> Result<Vec<Message>> {
        self.timed(|s| s.recent_messages(t, c, limit))
    }
    fn latest_inbound(
        &self,
        t: TenantId,
        c: ConversationId,
        channel: &Channel,
    ) -> Result<Option<Message>> {
        self.timed(|s| s.latest_inbound(t, c, channel))
    }
    fn timeline(&self, t: TenantId, c: CustomerId, limit: Option<usize>) -> Result<Vec<Message>> {
        self.timed(|s| s.timeline(t, c, limit))
    }
    fn thread(&self, t: TenantId, key: &str) -> Result<Option<ConversationId>> {
        self.timed(|s| s.thread(t, key))
    }
    fn outbox(&self, t: TenantId) -> Result<Vec<Message>> {
        self.timed(|s| s.outbox(t))
    }
    fn record(&self, t: TenantId, kind: &str, key: &str) -> Result<Option<Record>> {
        self.timed(|s| s.record(t, kind, key))
    }
    fn records(&self, t: TenantId, kind: &str) -> Result<Vec<Record>> {
        self.timed(|s| s.records(t, kind))
    }
    fn records_by(&self, t: TenantId, kind: &str, secondary: &str) -> Result<Vec<Record>> {
        self.timed(|s| s.records_by(t, kind, secondary))
    }
    fn due_records(
        &self,
        kind: &str,
        until: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<(TenantId, Record)>> {
        self.timed(|s| s.due_records(kind, until, limit))
    }
    fn next_due(&self, kind: &str) -> Result<Option<DateTime<Utc>>> {
        self.timed(|s| s.next_due(kind))
    }
    fn apply(&mut self, changes: ChangeSet) -> Result<()> {
        self.timed_mut(|s| s.apply(changes))
    }
    fn supports_batches(&self) -> bool {
        self.inner.supports_batches()
    }
    fn begin_batch(&mut self) -> Result<()> {
        self.timed_mut(|s| s.begin_batch())
    }
    fn scrub(&mut self) -> Result<()> {
        self.timed_mut(|s| s.scrub())
    }
    fn end_batch(&mut self, commit: bool) -> Result<()> {
        self.timed_mut(|s| s.end_batch(commit))
    }
}
