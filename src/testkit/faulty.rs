//! [`FaultyStore`]: a wrapper that makes the Nth call to a store fail, for testing that
//! every `Desk` operation fails cleanly and succeeds on retry.

use std::cell::Cell;

use chrono::{DateTime, Utc};

use crate::channel::Channel;
use crate::conversation::Conversation;
use crate::error::{Error, Result};
use crate::id::{ConversationId, CustomerId, MessageId, TenantId};
use crate::identity::{Customer, Identifier, IdentifierRecord};
use crate::message::Message;
use crate::store::{ChangeSet, ReadAhead, ReadPlan, Record, Store};

/// Whether an injected fault repeats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultMode {
    /// Only the Nth call fails (a transient failure).
    Once,
    /// The Nth call and every later one fail (the disk died).
    FromThenOn,
    /// Only the Nth call fails, with [`Error::Conflict`], as if another writer had just
    /// won a race for the same data; nothing is written.
    ConflictOnce,
}

/// A store whose Nth call (counting reads and writes, from 1) fails with
/// [`Error::Store`], once or from then on, or once with [`Error::Conflict`]. A failed
/// `apply` writes nothing.
///
/// ```
/// use throughline::store::{MemoryStore, Store};
/// use throughline::testkit::{FaultMode, FaultyStore};
/// use throughline::TenantId;
/// let store = FaultyStore::new(MemoryStore::new(), 1, FaultMode::Once);
/// let t = TenantId::new_v7();
/// assert!(store.outbox(t).is_err()); // the first call fails
/// assert!(store.outbox(t).is_ok());  // the next one works
/// ```
#[derive(Debug)]
pub struct FaultyStore<S> {
    inner: S,
    fail_at: Cell<u64>,
    mode: Cell<FaultMode>,
    calls: Cell<u64>,
}

impl<S: Store> FaultyStore<S> {
    /// Wraps `inner`; call number `fail_at` (from 1) fails; 0 never fails.
    pub fn new(inner: S, fail_at: u64, mode: FaultMode) -> Self {
        FaultyStore {
            inner,
            fail_at: Cell::new(fail_at),
            mode: Cell::new(mode),
            calls: Cell::new(0),
        }
    }

    /// Calls made so far.
    pub fn calls(&self) -> u64 {
        self.calls.get()
    }

    /// Arms a new fault at call `fail_at` counted from now (0 disarms).
    pub fn fail_after(&self, calls_from_now: u64, mode: FaultMode) -> &Self {
        self.fail_at.set(if calls_from_now == 0 {
            0
        } else {
            self.calls.get() + calls_from_now
        });
        self.mode.set(mode);
        self
    }

    /// Stops injecting faults.
    pub fn disarm(&self) {
        self.fail_at.set(0);
    }

    /// The wrapped store.
    pub fn inner(&self) -> &S {
        &self.inner
    }

    /// Unwraps the store.
    pub fn into_inner(self) -> S {
        self.inner
    }

    fn tick(&self, what: &str) -> Result<()> {
        let n = self.calls.get() + 1;
        self.calls.set(n);
        let at = self.fail_at.get();
        let fails = at != 0
            && match self.mode.get() {
                FaultMode::Once | FaultMode::ConflictOnce => n == at,
                FaultMode::FromThenOn => n >= at,
            };
        if fails && self.mode.get() == FaultMode::ConflictOnce {
            return Err(Error::Conflict(format!(
                "injected conflict at call {n} ({what})"
            )));
        }
        if fails {
            return Err(Error::Store {
                message: format!("injected fault at call {n} ({what})"),
                source: None,
            });
        }
        Ok(())
    }
}

impl<S: Store> Store for FaultyStore<S> {
    fn read_ahead(&self, t: TenantId, plan: &ReadPlan<'_>) -> Result<ReadAhead> {
        self.tick("read_ahead")?;
        self.inner.read_ahead(t, plan)
    }
    fn customer(&self, t: TenantId, id: CustomerId) -> Result<Option<Customer>> {
        self.tick("customer")?;
        self.inner.customer(t, id)
    }
    fn identifier(&self, t: TenantId, i: &Identifier) -> Result<Option<IdentifierRecord>> {
        self.tick("identifier")?;
        self.inner.identifier(t, i)
    }
    fn identifiers_of(&self, t: TenantId, c: CustomerId) -> Result<Vec<IdentifierRecord>> {
        self.tick("identifiers_of")?;
        self.inner.identifiers_of(t, c)
    }
    fn conversation(&self, t: TenantId, id: ConversationId) -> Result<Option<Conversation>> {
        self.tick("conversation")?;
        self.inner.conversation(t, id)
    }
    fn conversation_tenant(&self, id: ConversationId) -> Result<Option<TenantId>> {
        self.tick("conversation_tenant")?;
        self.inner.conversation_tenant(id)
    }
    fn conversation_by_id(&self, id: ConversationId) -> Result<Option<Conversation>> {
        self.tick("conversation_by_id")?;
        self.inner.conversation_by_id(id)
    }
    fn conversations_of(&self, t: TenantId, c: CustomerId) -> Result<Vec<Conversation>> {
        self.tick("conversations_of")?;
        self.inner.conversations_of(t, c)
    }
    fn conversations_in(
        &self,
        t: TenantId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Conversation>> {
        self.tick("conversations_in")?;
        self.inner.conversations_in(t, from, to)
    }
    fn open_conversation(&self, t: TenantId, c: CustomerId) -> Result<Option<Conversation>> {
        self.tick("open_conversation")?;
        self.inner.open_conversation(t, c)
    }
    fn message(&self, t: TenantId, id: MessageId) -> Result<Option<Message>> {
        self.tick("message")?;
        self.inner.message(t, id)
    }
    fn message_by_external_id(
        &self,
        t: TenantId,
        ch: &Channel,
        ext: &str,
    ) -> Result<Option<Message>> {
        self.tick("message_by_external_id")?;
        self.inner.message_by_external_id(t, ch, ext)
    }
    fn messages_of(&self, t: TenantId, c: ConversationId) -> Result<Vec<Message>> {
        self.tick("messages_of")?;
        self.inner.messages_of(t, c)
    }
    fn message_ids_of(&self, t: TenantId, c: ConversationId) -> Result<Vec<MessageId>> {
        self.tick("message_ids_of")?;
        self.inner.message_ids_of(t, c)
    }
    fn conversations_in_page(
        &self,
        t: TenantId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        after: Option<(DateTime<Utc>, ConversationId)>,
        limit: usize,
    ) -> Result<Vec<Conversation>> {
        self.tick("conversations_in_page")?;
        self.inner.conversations_in_page(t, from, to, after, limit)
    }
    fn recent_messages(
        &self,
        t: TenantId,
        c: ConversationId,
        limit: usize,
    ) -> Result<Vec<Message>> {
        self.tick("recent_messages")?;
        self.inner.recent_messages(t, c, limit)
    }
    fn latest_inbound(
        &self,
        t: TenantId,
        c: ConversationId,
        channel: &Channel,
    ) -> Result<Option<Message>> {
        self.tick("latest_inbound")?;
        self.inner.latest_inbound(t, c, channel)
    }
    fn timeline(&self, t: TenantId, c: CustomerId, limit: Option<usize>) -> Result<Vec<Message>> {
        self.tick("timeline")?;
        self.inner.timeline(t, c, limit)
    }
    fn thread(&self, t: TenantId, key: &str) -> Result<Option<ConversationId>> {
        self.tick("thread")?;
        self.inner.thread(t, key)
    }
    fn outbox(&self, t: TenantId) -> Result<Vec<Message>> {
        self.tick("outbox")?;
        self.inner.outbox(t)
    }
    fn record(&self, t: TenantId, kind: &str, key: &str) -> Result<Option<Record>> {
        self.tick("record")?;
        self.inner.record(t, kind, key)
    }
    fn records(&self, t: TenantId, kind: &str) -> Result<Vec<Record>> {
        self.tick("records")?;
        self.inner.records(t, kind)
    }
    fn records_by(&self, t: TenantId, kind: &str, secondary: &str) -> Result<Vec<Record>> {
        self.tick("records_by")?;
        self.inner.records_by(t, kind, secondary)
    }
    fn due_records(
        &self,
        kind: &str,
        until: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<(TenantId, Record)>> {
        self.tick("due_records")?;
        self.inner.due_records(kind, until, limit)
    }
    fn next_due(&self, kind: &str) -> Result<Option<DateTime<Utc>>> {
        self.tick("next_due")?;
        self.inner.next_due(kind)
    }
    fn apply(&mut self, changes: ChangeSet) -> Result<()> {
        self.tick("apply")?;
        self.inner.apply(changes)
    }
    fn supports_batches(&self) -> bool {
        self.inner.supports_batches()
    }
    fn begin_batch(&mut self) -> Result<()> {
        self.tick("begin_batch")?;
        self.inner.begin_batch()
    }
    fn end_batch(&mut self, commit: bool) -> Result<()> {
        if let Err(e) = self.tick("end_batch") {
            // A failed commit lands nothing (the `Store` contract): the inner batch is
            // rolled back, not left open.
            let _ = self.inner.end_batch(false);
            return Err(e);
        }
        self.inner.end_batch(commit)
    }
    fn scrub(&mut self) -> Result<()> {
        self.tick("scrub")?;
        self.inner.scrub()
    }
}

#[cfg(all(test, feature = "sqlite"))]
mod tests {
    use super::*;
    use crate::store::{Op, SqliteStore};

    /// A fault at the end of a batch is a failed commit: nothing of the batch lands and
    /// the inner store can start the next batch.
    #[test]
    fn a_fault_at_the_end_of_a_batch_rolls_it_back() {
        let t = TenantId::new_v7();
        let mut s = FaultyStore::new(
            SqliteStore::open_in_memory().expect("open"),
            0,
            FaultMode::Once,
        );
        s.begin_batch().expect("begin");
        let mut c = ChangeSet::new(t);
        c.push(Op::PutRecord(Record::new("k", "a", serde_json::json!(1))));
        s.apply(c).expect("apply");
        s.fail_after(1, FaultMode::Once);
        assert!(s.end_batch(true).is_err());
        assert!(s.record(t, "k", "a").expect("read").is_none());
        s.begin_batch().expect("a new batch starts");
        s.end_batch(true).expect("commit");
    }
}
