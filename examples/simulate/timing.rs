//! Where the time goes: the desk's stage probe ([`StageTimes`]) times each stage of its
//! work, and a store wrapper reports every store call to it, so each stage's time splits
//! into its own work and the store's; what no stage covers is the simulation itself.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use throughline::probe::{Stage, StageTimes};
use throughline::store::{ChangeSet, ReadAhead, ReadPlan, Record, Store};
use throughline::{
    conversation::Conversation,
    identity::{Customer, Identifier, IdentifierRecord},
    Message,
};
use throughline::{Channel, ConversationId, CustomerId, MessageId, TenantId};

#[derive(Debug, Default, Clone)]
pub struct Timing {
    pub stages: Arc<StageTimes>,
}

impl Timing {
    pub fn store<S: Store>(&self, inner: S) -> TimedStore<S> {
        TimedStore {
            inner,
            times: self.stages.clone(),
        }
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

pub struct TimedStore<S> {
    inner: S,
    times: Arc<StageTimes>,
}

type R<T> = throughline::Result<T>;

impl<S: Store> Store for TimedStore<S> {
    fn customer(&self, t: TenantId, id: CustomerId) -> R<Option<Customer>> {
        self.times.measure_store(|| self.inner.customer(t, id))
    }
    fn identifier(&self, t: TenantId, i: &Identifier) -> R<Option<IdentifierRecord>> {
        self.times.measure_store(|| self.inner.identifier(t, i))
    }
    fn identifiers_of(&self, t: TenantId, c: CustomerId) -> R<Vec<IdentifierRecord>> {
        self.times.measure_store(|| self.inner.identifiers_of(t, c))
    }
    fn conversation(&self, t: TenantId, id: ConversationId) -> R<Option<Conversation>> {
        self.times.measure_store(|| self.inner.conversation(t, id))
    }
    fn conversation_tenant(&self, id: ConversationId) -> R<Option<TenantId>> {
        self.times
            .measure_store(|| self.inner.conversation_tenant(id))
    }
    fn conversation_by_id(&self, id: ConversationId) -> R<Option<Conversation>> {
        self.times
            .measure_store(|| self.inner.conversation_by_id(id))
    }
    fn conversations_of(&self, t: TenantId, c: CustomerId) -> R<Vec<Conversation>> {
        self.times
            .measure_store(|| self.inner.conversations_of(t, c))
    }
    fn conversations_in(
        &self,
        t: TenantId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> R<Vec<Conversation>> {
        self.times
            .measure_store(|| self.inner.conversations_in(t, from, to))
    }
    fn open_conversation(&self, t: TenantId, c: CustomerId) -> R<Option<Conversation>> {
        self.times
            .measure_store(|| self.inner.open_conversation(t, c))
    }
    fn message(&self, t: TenantId, id: MessageId) -> R<Option<Message>> {
        self.times.measure_store(|| self.inner.message(t, id))
    }
    fn message_by_external_id(&self, t: TenantId, ch: &Channel, ext: &str) -> R<Option<Message>> {
        self.times
            .measure_store(|| self.inner.message_by_external_id(t, ch, ext))
    }
    fn messages_of(&self, t: TenantId, c: ConversationId) -> R<Vec<Message>> {
        self.times.measure_store(|| self.inner.messages_of(t, c))
    }
    fn recent_messages(&self, t: TenantId, c: ConversationId, limit: usize) -> R<Vec<Message>> {
        self.times
            .measure_store(|| self.inner.recent_messages(t, c, limit))
    }
    fn latest_inbound(&self, t: TenantId, c: ConversationId, ch: &Channel) -> R<Option<Message>> {
        self.times
            .measure_store(|| self.inner.latest_inbound(t, c, ch))
    }
    fn read_ahead(&self, t: TenantId, plan: &ReadPlan<'_>) -> R<ReadAhead> {
        self.times.measure_store(|| self.inner.read_ahead(t, plan))
    }
    fn timeline(&self, t: TenantId, c: CustomerId, limit: Option<usize>) -> R<Vec<Message>> {
        self.times
            .measure_store(|| self.inner.timeline(t, c, limit))
    }
    fn thread(&self, t: TenantId, key: &str) -> R<Option<ConversationId>> {
        self.times.measure_store(|| self.inner.thread(t, key))
    }
    fn outbox(&self, t: TenantId) -> R<Vec<Message>> {
        self.times.measure_store(|| self.inner.outbox(t))
    }
    fn record(&self, t: TenantId, kind: &str, key: &str) -> R<Option<Record>> {
        self.times.measure_store(|| self.inner.record(t, kind, key))
    }
    fn records(&self, t: TenantId, kind: &str) -> R<Vec<Record>> {
        self.times.measure_store(|| self.inner.records(t, kind))
    }
    fn records_by(&self, t: TenantId, kind: &str, secondary: &str) -> R<Vec<Record>> {
        self.times
            .measure_store(|| self.inner.records_by(t, kind, secondary))
    }
    fn due_records(
        &self,
        kind: &str,
        until: DateTime<Utc>,
        limit: usize,
    ) -> R<Vec<(TenantId, Record)>> {
        self.times
            .measure_store(|| self.inner.due_records(kind, until, limit))
    }
    fn next_due(&self, kind: &str) -> R<Option<DateTime<Utc>>> {
        self.times.measure_store(|| self.inner.next_due(kind))
    }
    fn apply(&mut self, changes: ChangeSet) -> R<()> {
        let times = self.times.clone();
        times.measure_store(|| self.inner.apply(changes))
    }
    fn supports_batches(&self) -> bool {
        self.inner.supports_batches()
    }
    fn begin_batch(&mut self) -> R<()> {
        let times = self.times.clone();
        times.measure_store(|| self.inner.begin_batch())
    }
    fn end_batch(&mut self, commit: bool) -> R<()> {
        let times = self.times.clone();
        times.measure_store(|| self.inner.end_batch(commit))
    }
    fn scrub(&mut self) -> R<()> {
        self.inner.scrub()
    }
}
