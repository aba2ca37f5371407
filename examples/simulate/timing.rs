//! Where the time goes: wrappers that time the store, the language detector and the
//! intent classifier; the rest (identity, threading, SLA, routing, metrics, the
//! simulation itself) is what remains of the wall time.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use throughline::lang::{Detection, Language, LanguageDetector, WhatlangDetector};
use throughline::store::{ChangeSet, ReadAhead, ReadPlan, Record, Store};
use throughline::triage::{Classification, IntentCatalogue, IntentClassifier, KeywordClassifier};
use throughline::{
    conversation::Conversation,
    identity::{Customer, Identifier, IdentifierRecord},
    Message,
};
use throughline::{Channel, ConversationId, CustomerId, MessageId, TenantId};

#[derive(Debug, Default, Clone)]
pub struct Timing {
    store: Arc<AtomicU64>,
    language: Arc<AtomicU64>,
    triage: Arc<AtomicU64>,
}

fn timed<T>(counter: &AtomicU64, f: impl FnOnce() -> T) -> T {
    let s = Instant::now();
    let v = f();
    counter.fetch_add(s.elapsed().as_nanos() as u64, Ordering::Relaxed);
    v
}

impl Timing {
    pub fn store<S: Store>(&self, inner: S) -> TimedStore<S> {
        TimedStore {
            inner,
            ns: self.store.clone(),
        }
    }

    pub fn detector(&self) -> TimedDetector {
        TimedDetector {
            inner: WhatlangDetector::new(),
            ns: self.language.clone(),
        }
    }

    pub fn classifier(&self, catalogue: IntentCatalogue) -> TimedClassifier {
        TimedClassifier {
            inner: KeywordClassifier::new(&catalogue),
            ns: self.triage.clone(),
        }
    }

    pub fn split(&self, total: Duration) -> String {
        let ms = |a: &AtomicU64| a.load(Ordering::Relaxed) as f64 / 1e6;
        let t = total.as_secs_f64() * 1e3;
        let (s, l, c) = (ms(&self.store), ms(&self.language), ms(&self.triage));
        format!(
            "Time split: store {:.0} ms ({:.0}%), language {:.0} ms ({:.0}%), triage classification {:.0} ms ({:.0}%), \
             the rest — identity, threading, SLA, routing, metrics and the simulation itself — {:.0} ms ({:.0}%)",
            s, 100.0 * s / t, l, 100.0 * l / t, c, 100.0 * c / t, t - s - l - c, 100.0 * (t - s - l - c) / t
        )
    }
}

#[derive(Debug)]
pub struct TimedDetector {
    inner: WhatlangDetector,
    ns: Arc<AtomicU64>,
}

impl LanguageDetector for TimedDetector {
    fn detect(&self, text: &str) -> Option<Detection> {
        timed(&self.ns, || self.inner.detect(text))
    }
}

#[derive(Debug)]
pub struct TimedClassifier {
    inner: KeywordClassifier,
    ns: Arc<AtomicU64>,
}

impl IntentClassifier for TimedClassifier {
    fn classify(&self, text: &str, language: Option<Language>) -> Option<Classification> {
        timed(&self.ns, || self.inner.classify(text, language))
    }
}

pub struct TimedStore<S> {
    inner: S,
    ns: Arc<AtomicU64>,
}

type R<T> = throughline::Result<T>;

impl<S: Store> Store for TimedStore<S> {
    fn customer(&self, t: TenantId, id: CustomerId) -> R<Option<Customer>> {
        timed(&self.ns, || self.inner.customer(t, id))
    }
    fn identifier(&self, t: TenantId, i: &Identifier) -> R<Option<IdentifierRecord>> {
        timed(&self.ns, || self.inner.identifier(t, i))
    }
    fn identifiers_of(&self, t: TenantId, c: CustomerId) -> R<Vec<IdentifierRecord>> {
        timed(&self.ns, || self.inner.identifiers_of(t, c))
    }
    fn conversation(&self, t: TenantId, id: ConversationId) -> R<Option<Conversation>> {
        timed(&self.ns, || self.inner.conversation(t, id))
    }
    fn conversation_tenant(&self, id: ConversationId) -> R<Option<TenantId>> {
        timed(&self.ns, || self.inner.conversation_tenant(id))
    }
    fn conversation_by_id(&self, id: ConversationId) -> R<Option<Conversation>> {
        timed(&self.ns, || self.inner.conversation_by_id(id))
    }
    fn conversations_of(&self, t: TenantId, c: CustomerId) -> R<Vec<Conversation>> {
        timed(&self.ns, || self.inner.conversations_of(t, c))
    }
    fn conversations_in(
        &self,
        t: TenantId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> R<Vec<Conversation>> {
        timed(&self.ns, || self.inner.conversations_in(t, from, to))
    }
    fn open_conversation(&self, t: TenantId, c: CustomerId) -> R<Option<Conversation>> {
        timed(&self.ns, || self.inner.open_conversation(t, c))
    }
    fn message(&self, t: TenantId, id: MessageId) -> R<Option<Message>> {
        timed(&self.ns, || self.inner.message(t, id))
    }
    fn message_by_external_id(&self, t: TenantId, ch: &Channel, ext: &str) -> R<Option<Message>> {
        timed(&self.ns, || self.inner.message_by_external_id(t, ch, ext))
    }
    fn messages_of(&self, t: TenantId, c: ConversationId) -> R<Vec<Message>> {
        timed(&self.ns, || self.inner.messages_of(t, c))
    }
    fn recent_messages(&self, t: TenantId, c: ConversationId, limit: usize) -> R<Vec<Message>> {
        timed(&self.ns, || self.inner.recent_messages(t, c, limit))
    }
    fn latest_inbound(&self, t: TenantId, c: ConversationId, ch: &Channel) -> R<Option<Message>> {
        timed(&self.ns, || self.inner.latest_inbound(t, c, ch))
    }
    fn read_ahead(&self, t: TenantId, plan: &ReadPlan<'_>) -> R<ReadAhead> {
        timed(&self.ns, || self.inner.read_ahead(t, plan))
    }
    fn timeline(&self, t: TenantId, c: CustomerId, limit: Option<usize>) -> R<Vec<Message>> {
        timed(&self.ns, || self.inner.timeline(t, c, limit))
    }
    fn thread(&self, t: TenantId, key: &str) -> R<Option<ConversationId>> {
        timed(&self.ns, || self.inner.thread(t, key))
    }
    fn outbox(&self, t: TenantId) -> R<Vec<Message>> {
        timed(&self.ns, || self.inner.outbox(t))
    }
    fn record(&self, t: TenantId, kind: &str, key: &str) -> R<Option<Record>> {
        timed(&self.ns, || self.inner.record(t, kind, key))
    }
    fn records(&self, t: TenantId, kind: &str) -> R<Vec<Record>> {
        timed(&self.ns, || self.inner.records(t, kind))
    }
    fn records_by(&self, t: TenantId, kind: &str, secondary: &str) -> R<Vec<Record>> {
        timed(&self.ns, || self.inner.records_by(t, kind, secondary))
    }
    fn due_records(
        &self,
        kind: &str,
        until: DateTime<Utc>,
        limit: usize,
    ) -> R<Vec<(TenantId, Record)>> {
        timed(&self.ns, || self.inner.due_records(kind, until, limit))
    }
    fn next_due(&self, kind: &str) -> R<Option<DateTime<Utc>>> {
        timed(&self.ns, || self.inner.next_due(kind))
    }
    fn apply(&mut self, changes: ChangeSet) -> R<()> {
        let ns = self.ns.clone();
        timed(&ns, || self.inner.apply(changes))
    }
    fn supports_batches(&self) -> bool {
        self.inner.supports_batches()
    }
    fn begin_batch(&mut self) -> R<()> {
        let ns = self.ns.clone();
        timed(&ns, || self.inner.begin_batch())
    }
    fn end_batch(&mut self, commit: bool) -> R<()> {
        let ns = self.ns.clone();
        timed(&ns, || self.inner.end_batch(commit))
    }
    fn scrub(&mut self) -> R<()> {
        self.inner.scrub()
    }
}
