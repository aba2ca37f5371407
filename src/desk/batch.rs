//! Group commit: many Desk operations in one store transaction.
//!
//! A batch is the store's group commit ([`Store::begin_batch`]) seen from the Desk: every
//! store write (an operation's change set) inside stays atomic on its own (a failing one
//! leaves no trace), and they all land together when the batch commits. If the batch does
//! not land, the Desk's in-memory state must forget what it learned from the batch: the
//! live metrics of the conversations it changed are recomputed from the store, and the
//! router's cache of the routing state is dropped (the next routing operation reads the
//! state the store kept).

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};

use crate::desk::{Desk, Ingested};
use crate::error::{Error, Result};
use crate::id::{ConversationId, TenantId};
use crate::message::Inbound;
use crate::store::{ChangeSet, Store};

/// What an open batch has touched so far.
#[derive(Debug, Default)]
pub(crate) struct OpenBatch {
    /// Conversations whose live metrics the batch changed.
    conversations: BTreeSet<(TenantId, ConversationId)>,
}

/// The desk's group commit.
///
/// Invariants:
/// - `open` is `Some` exactly while the store holds a batch open for this desk: set after
///   [`Store::begin_batch`] succeeded, taken before [`Store::end_batch`] is called.
#[derive(Debug, Default)]
pub(crate) struct Batching {
    open: Option<OpenBatch>,
}

impl Batching {
    /// Whether a batch is open.
    pub(crate) fn is_open(&self) -> bool {
        self.open.is_some()
    }

    /// Notes a conversation whose live metrics the open batch (if any) changed.
    fn touched(&mut self, tenant: TenantId, conversation: ConversationId) {
        if let Some(open) = &mut self.open {
            open.conversations.insert((tenant, conversation));
        }
    }

    /// The store opened a batch.
    fn opened(&mut self) {
        self.open = Some(OpenBatch::default());
    }

    /// Closes the open batch, before the store ends it.
    pub(crate) fn take(&mut self) -> Option<OpenBatch> {
        self.open.take()
    }
}

/// The same failure, for every message it affects.
/// Batches of fewer messages are prepared on the calling thread (each helper thread
/// gets at least this many).
const PREPARE_AHEAD: usize = 16;

pub(crate) fn repeat(e: &Error) -> Error {
    match e {
        Error::Busy(m) => Error::Busy(m.clone()),
        other => Error::Store {
            message: format!("the batch was not committed: {other}"),
            source: None,
        },
    }
}

impl<S: Store> Desk<S> {
    /// Applies one operation's change set: the single place where the desk writes.
    pub(crate) fn apply_changes(&mut self, changes: ChangeSet) -> Result<()> {
        let _stage = self.stage(crate::probe::Stage::Write);
        let _span = super::trace::store_span!(
            "store.apply",
            tenant = changes.tenant,
            ops = changes.ops.len()
        );
        self.store.apply(changes)
    }

    /// Notes that the current operation changes a conversation's live metrics.
    pub(crate) fn batch_touched(&mut self, tenant: TenantId, conversation: ConversationId) {
        self.batch.touched(tenant, conversation);
    }

    /// Refuses an operation that must commit on its own (erasures scrub the log after
    /// their commit, which cannot happen inside a batch).
    pub(crate) fn outside_batch(&self, what: &str) -> Result<()> {
        if self.batch.is_open() {
            return Err(Error::invalid(
                "batch",
                format!(
                    "{what} cannot run inside a batch: it checkpoints the log after its own \
                     commit so that no erased byte remains; end the batch first"
                ),
            ));
        }
        Ok(())
    }

    /// True while a batch is open ([`Desk::begin_batch`] without its
    /// [`Desk::end_batch`]).
    pub fn in_batch(&self) -> bool {
        self.batch.is_open()
    }

    /// Opens a batch (group commit): every store write until [`Desk::end_batch`] (an
    /// operation's change set) is still atomic on its own (one that fails leaves no trace
    /// and the others stay), but they land together, in one store transaction, when the
    /// batch commits. An operation made of several writes (an ingest, then the routing of
    /// its conversation) can land in part, exactly as outside a batch. Nothing in the
    /// batch is durable, or visible to other connections, before then: acknowledge what
    /// the batch did (a webhook's `200`, an agent's "sent") and carry out its effects
    /// (hand an [`Effect::Send`](crate::Effect::Send) to the transport) only after
    /// `end_batch(true)` returned `Ok`.
    ///
    /// This is for hosts that drain a queue of work (webhooks, agent actions, ticks):
    /// one commit per batch instead of one per operation writes each hot page once.
    /// Erasures ([`Desk::erase_customer`], [`Desk::erase_identifier`],
    /// [`Desk::purge_expired`]) are refused inside a batch, since they scrub the
    /// write-ahead log after their own commit. A batch left open when the desk is dropped
    /// is rolled back by the store, and [`Desk::into_store`] rolls it back before handing
    /// the store over. [`Desk::batch`] does the same around a closure.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] when a batch is already open; the store's error when it cannot
    /// start one (a locked database); [`Error::Store`] after a failed batch that changed
    /// routing (see [`Desk::end_batch`]).
    pub fn begin_batch(&mut self) -> Result<()> {
        if self.batch.is_open() {
            return Err(Error::invalid(
                "batch",
                "a batch is already open on this desk",
            ));
        }
        {
            let _stage = self.stage(crate::probe::Stage::Write);
            self.store.begin_batch()?;
        }
        self.batch.opened();
        Ok(())
    }

    /// Ends the open batch: `commit` makes its operations durable together, `false`
    /// discards all of them. Without an open batch it does nothing.
    ///
    /// When the batch does not land (rolled back, or its commit failed), none of its
    /// operations is stored, and the desk forgets what it learned from them: the live
    /// metrics of the conversations the batch changed are recomputed from the store (if
    /// that read fails too, the tenant's reports come from the store until
    /// [`Desk::load_metrics`] reloads them). The router's cache of the routing state
    /// is dropped: routing continues from what the store kept.
    ///
    /// On a store whose [`Store::supports_batches`] is `false` (the trait's default, for
    /// a host's own store), every operation commits alone as it runs, and
    /// `end_batch(false)` cannot undo them.
    ///
    /// # Errors
    ///
    /// The commit's failure; then none of the batch's operations landed.
    /// [`Error::Invalid`] for `end_batch(false)` on a store that does not support batches
    /// (its operations stay).
    pub fn end_batch(&mut self, commit: bool) -> Result<()> {
        let Some(open) = self.batch.take() else {
            return Ok(());
        };
        if !commit && !self.store.supports_batches() {
            // The operations landed one by one; a store that says so only commits here.
            let _ = self.store.end_batch(true);
            return Err(Error::invalid(
                "batch",
                "this store does not group applies (Store::supports_batches is false): the \
                 batch's operations landed one by one and cannot be discarded",
            ));
        }
        let stage = self.stage(crate::probe::Stage::Write);
        let ended = self.store.end_batch(commit);
        drop(stage);
        if commit && ended.is_ok() {
            return Ok(());
        }
        self.routing_forget_all();
        // Sorted by tenant: one refresh per tenant. Back to what the store holds; if even
        // that cannot be read, reports come from the store until the metrics are loaded
        // again.
        let touched: Vec<(TenantId, ConversationId)> = open.conversations.into_iter().collect();
        for group in touched.chunk_by(|a, b| a.0 == b.0) {
            let tenant = group[0].0;
            let conversations: Vec<ConversationId> = group.iter().map(|&(_, c)| c).collect();
            if self.metrics_refresh(tenant, &conversations).is_err() {
                self.metrics_forget(tenant);
            }
        }
        ended
    }

    /// Runs `work` inside a batch and commits it: [`Desk::begin_batch`], `work`,
    /// [`Desk::end_batch`]`(true)`. Inside an open batch, `work` joins it (the outer
    /// batch's end decides). `work`'s own results are only worth acknowledging when this
    /// returns `Ok`. The batch commits whatever `work` returns: what it did before
    /// returning an error still lands. To discard the work on a failure, use
    /// [`Desk::begin_batch`] and [`Desk::end_batch`]`(false)`.
    ///
    /// ```
    /// use throughline::{Channel, Desk, DeskConfig, Identifier, Inbound, Status, TenantId};
    /// use throughline::store::SqliteStore;
    /// let t0 = chrono::DateTime::parse_from_rfc3339("2026-03-02T09:00:00Z")?.to_utc();
    /// let tenant = TenantId::new_v7();
    /// let mut desk = Desk::new(SqliteStore::open_in_memory()?, DeskConfig::default());
    /// let ana = Identifier::email("ana@example.com")?;
    /// // A worker drains what arrived since its last round and commits once.
    /// let (first, solved) = desk.batch(|d| {
    ///     let first = d.ingest(Inbound::new(tenant, Channel::Email, ana.clone(), "m-1", "Where is my parcel?"), t0)?;
    ///     d.ingest(Inbound::new(tenant, Channel::WebChat, ana.clone(), "c-1", "Any news?"), t0)?;
    ///     let solved = d.set_status((tenant, first.conversation), Status::Solved, t0);
    ///     Ok::<_, throughline::Error>((first, solved))
    /// })??;
    /// assert!(solved.is_ok());
    /// assert_eq!(desk.messages((tenant, first.conversation))?.len(), 2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`Desk::begin_batch`] and [`Desk::end_batch`]; when the commit fails, `work`'s
    /// result is dropped and nothing of it landed.
    pub fn batch<T>(&mut self, work: impl FnOnce(&mut Self) -> T) -> Result<T> {
        if self.batch.is_open() {
            return Ok(work(self));
        }
        self.begin_batch()?;
        let out = work(self);
        self.end_batch(true).map(|()| out)
    }

    /// Ingests many inbound messages in one store transaction (group commit), with one
    /// result per message, in order.
    ///
    /// Each message is processed exactly as by [`Desk::ingest`], against the state the
    /// earlier messages of the batch left (a redelivery within the batch is a duplicate).
    /// A bad message fails alone: none of its writes land (a savepoint on SQLite) and the
    /// rest do. If the final commit fails, every message's result is that error and
    /// none of them is stored (see [`Desk::end_batch`] for what the desk forgets then).
    /// Inside an open batch ([`Desk::begin_batch`]) the messages join it.
    ///
    /// By default everything runs on the calling thread. A host that opts in with
    /// [`DeskConfig::prepare_threads`](crate::DeskConfig::prepare_threads) (default 0) has
    /// a batch of 16 messages or more prepared ([`crate::Preparer`]: message checks and
    /// language detection) on that many threads, which live for the call, while the
    /// calling thread ingests: the results are the same as without them.
    ///
    /// ```
    /// use throughline::{Channel, Desk, DeskConfig, Identifier, Inbound, TenantId, store::MemoryStore};
    /// let t0 = chrono::DateTime::parse_from_rfc3339("2026-03-02T09:00:00Z")?.to_utc();
    /// let tenant = TenantId::new_v7();
    /// let ana = Identifier::email("ana@example.com")?;
    /// let mut desk = Desk::new(MemoryStore::new(), DeskConfig::default());
    /// let results = desk.ingest_batch([
    ///     Inbound::new(tenant, Channel::Email, ana.clone(), "m-1", "Where is my parcel?"),
    ///     Inbound::new(tenant, Channel::Email, ana.clone(), "m-2", ""), // empty: refused
    ///     Inbound::new(tenant, Channel::Email, ana, "m-1", "Where is my parcel?"), // redelivery
    /// ], t0);
    /// assert!(results[0].is_ok() && results[1].is_err());
    /// assert!(results[2].as_ref().is_ok_and(|r| r.duplicate));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn ingest_batch(
        &mut self,
        batch: impl IntoIterator<Item = Inbound>,
        now: DateTime<Utc>,
    ) -> Vec<Result<Ingested>> {
        let batch: Vec<Inbound> = batch.into_iter().collect();
        let n = batch.len();
        let _span = super::trace::op_span!("desk.ingest_batch", messages = n);
        let helpers = self.config.prepare_threads.min(n / PREPARE_AHEAD);
        let got = if helpers == 0 {
            self.batch(|desk| {
                batch
                    .into_iter()
                    .map(|inbound| desk.ingest(inbound, now))
                    .collect()
            })
        } else {
            self.ingest_batch_prepared_ahead(batch, helpers, now)
        };
        match got {
            Ok(results) => results,
            Err(e) => (0..n).map(|_| Err(repeat(&e))).collect(),
        }
    }

    /// `ingest_batch` with `helpers` threads preparing the messages (message `i` on
    /// helper `i % helpers`), ahead of the ingests.
    fn ingest_batch_prepared_ahead(
        &mut self,
        batch: Vec<Inbound>,
        helpers: usize,
        now: DateTime<Utc>,
    ) -> Result<Vec<Result<Ingested>>> {
        let n = batch.len();
        let mut parts: Vec<Vec<Inbound>> = (0..helpers).map(|_| Vec::new()).collect();
        for (i, inbound) in batch.into_iter().enumerate() {
            parts[i % helpers].push(inbound);
        }
        let preparer = self.preparer();
        std::thread::scope(|scope| {
            let receivers: Vec<_> = parts
                .into_iter()
                .map(|part| {
                    // Unbounded: the batch is in memory already, and a helper that
                    // never waits for the ingests costs no wake-ups.
                    let (tx, rx) = std::sync::mpsc::channel();
                    let preparer = preparer.clone();
                    scope.spawn(move || {
                        for inbound in part {
                            // The ingests stopped (the batch failed to start): stop too.
                            if tx.send(preparer.prepare(inbound)).is_err() {
                                break;
                            }
                        }
                    });
                    rx
                })
                .collect();
            self.batch(|desk| {
                (0..n)
                    .map(|i| match receivers[i % helpers].recv() {
                        Ok(prepared) => prepared.and_then(|p| desk.ingest_prepared(p, now)),
                        // Only when a helper panicked (a detector broke its contract);
                        // the scope re-raises that panic.
                        Err(_) => Err(Error::Store {
                            message: "the thread preparing this message stopped".into(),
                            source: None,
                        }),
                    })
                    .collect()
            })
        })
    }
}

#[cfg(test)]
mod batching_tests {
    use super::*;

    #[test]
    fn a_batch_is_open_from_opened_until_taken() {
        let mut b = Batching::default();
        assert!(!b.is_open());
        b.opened();
        assert!(b.is_open());
        assert!(b.take().is_some());
        assert!(!b.is_open());
        assert!(b.take().is_none());
    }
}
