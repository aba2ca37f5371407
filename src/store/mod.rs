//! Persistence: the [`Store`] trait, the in-memory [`MemoryStore`] and the embedded SQLite
//! store (feature `sqlite`). Every store must pass the conformance suite
//! (`testkit::conformance`, feature `testkit`).
//!
//! # The contract
//!
//! The store is the source of truth: the `Desk` keeps no state the store cannot rebuild.
//! A `Desk` operation reads what it needs through the read methods, decides, and hands
//! every write of the operation to [`Store::apply`] as one [`ChangeSet`]. `apply` is
//! atomic: all of it lands or none of it does.
//!
//! `apply` also enforces the invariants that concurrent writers could break, and reports a
//! violation as [`Error::Conflict`](crate::Error::Conflict) with nothing written:
//!
//! * a message's `(tenant, channel, external_id)` is unique (webhook deduplication);
//! * an identifier belongs to at most one customer per tenant, and is only re-pointed
//!   when it still belongs to the customer the writer read ([`Op::PutIdentifier`]);
//! * a customer or conversation with `version == 1` is inserted and must not exist yet;
//!   with `version == n > 1` it replaces the stored record only if that has version `n - 1`;
//! * every op's tenant is the change set's tenant;
//! * a [`Record`] follows the same version rule as customers and conversations.
//!
//! ## Records
//!
//! State that later capabilities add (merge logs, SLA clocks, agents, queues, ...) is kept
//! as [`Record`]s: a JSON value under `(tenant, kind, key)`, with an optional secondary key
//! (a customer id, say) and an optional due time. A store indexes both, so
//! [`Store::records_by`] and [`Store::due_records`] cost what they return, not what is
//! stored. A store therefore implements a fixed set of operations however many
//! capabilities the crate grows.
//!
//! The `Desk` retries an operation that hit a conflict, re-reading the store, so two
//! desks on one database never store a webhook twice or lose an update.

mod forward;
mod ident_table;
pub(crate) mod inbox;
mod memory;
#[cfg(feature = "postgres")]
mod postgres;
mod read_ahead;
mod rules;
#[cfg(feature = "sqlite")]
mod sqlite;

#[cfg(feature = "postgres")]
pub use self::postgres::{PostgresStore, PG_SCHEMA_VERSION};
#[cfg(test)]
pub(crate) use forward::call_every_method;
pub(crate) use forward::{forward_store, through, through_mut};
pub use inbox::{queue_kind, Cursor, InboxPage, InboxView};
pub use memory::MemoryStore;
pub use read_ahead::{read_by_parts, ReadAhead, ReadPlan};
#[cfg(feature = "sqlite")]
pub use sqlite::{SqliteOptions, SqliteStore, Synchronous, SCHEMA_VERSION};

use std::ops::Deref;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use serde_json::value::RawValue;

use crate::channel::Channel;
use crate::conversation::Conversation;
use crate::error::Result;
use crate::id::{ConversationId, CustomerId, MessageId, TenantId};
use crate::identity::{Customer, Identifier, IdentifierRecord};
use crate::message::Message;

/// A JSON value stored under `(tenant, kind, key)`; see the [module docs](self#records).
///
/// The value is kept as JSON text ([`RawValue`]): a store reads and writes it as it is,
/// and the code that owns the record decodes it straight into its own type
/// ([`Record::decode`]) without an intermediate [`serde_json::Value`].
///
/// ```
/// use throughline::store::Record;
/// let mut r = Record::encode("note", "k1", &vec![1, 2, 3])?;
/// assert_eq!(r.decode::<Vec<u32>>()?, vec![1, 2, 3]);
/// r.set(&"changed")?;
/// assert_eq!(r.value(), serde_json::json!("changed"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Record {
    /// What the record is (`"merge"`, `"sla"`, ...): a namespace for keys.
    pub kind: String,
    /// Its key within the kind.
    pub key: String,
    /// An indexed secondary key (for example the customer the record is about).
    pub secondary: Option<String>,
    /// An indexed due time (for example the next SLA deadline).
    pub due: Option<DateTime<Utc>>,
    /// The data, as JSON text.
    pub value: Box<RawValue>,
    /// Optimistic-concurrency version: 1 when created, +1 on every stored change.
    pub version: u64,
}

/// Records are equal when every field is, the value compared as parsed JSON (so the
/// same document with other whitespace or key order is equal).
impl PartialEq for Record {
    fn eq(&self, other: &Self) -> bool {
        self.kind == other.kind
            && self.key == other.key
            && self.secondary == other.secondary
            && self.due == other.due
            && self.version == other.version
            && (self.value.get() == other.value.get() || self.value() == other.value())
    }
}

impl Record {
    /// A new record (version 1) of `kind` under `key`.
    pub fn new(kind: impl Into<String>, key: impl Into<String>, value: serde_json::Value) -> Self {
        // A `Value` always serialises (its map keys are strings).
        let value = serde_json::value::to_raw_value(&value).unwrap_or_default();
        Self::raw(kind, key, value)
    }

    /// A new record (version 1) holding `value` encoded as JSON.
    ///
    /// # Errors
    ///
    /// [`Error::Store`](crate::Error::Store) when `value` cannot be encoded as JSON (a map
    /// with non-string keys, say).
    pub fn encode<T: Serialize + ?Sized>(
        kind: impl Into<String>,
        key: impl Into<String>,
        value: &T,
    ) -> Result<Self> {
        Ok(Self::raw(kind, key, raw_json(value)?))
    }

    /// A new record (version 1) holding JSON text that is already encoded.
    pub fn raw(kind: impl Into<String>, key: impl Into<String>, value: Box<RawValue>) -> Self {
        Record {
            kind: kind.into(),
            key: key.into(),
            secondary: None,
            due: None,
            value,
            version: 1,
        }
    }

    /// Decodes the value as a `T`.
    ///
    /// # Errors
    ///
    /// [`Error::Store`](crate::Error::Store) when the value is not a `T`.
    pub fn decode<T: serde::de::DeserializeOwned>(&self) -> Result<T> {
        serde_json::from_str(self.value.get()).map_err(|e| {
            crate::Error::store(
                format!("cannot decode {} record {}", self.kind, self.key),
                e,
            )
        })
    }

    /// Replaces the value with `value` encoded as JSON (the version is left to the
    /// caller).
    ///
    /// # Errors
    ///
    /// [`Error::Store`](crate::Error::Store) when `value` cannot be encoded.
    pub fn set<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        self.value = raw_json(value)?;
        Ok(())
    }

    /// The value parsed as a [`serde_json::Value`] (`Null` if the stored text is not
    /// JSON, which a store never returns).
    pub fn value(&self) -> serde_json::Value {
        serde_json::from_str(self.value.get()).unwrap_or(serde_json::Value::Null)
    }
}

/// `value` encoded as JSON text, for a [`Record`].
pub(crate) fn raw_json<T: Serialize + ?Sized>(value: &T) -> Result<Box<RawValue>> {
    serde_json::value::to_raw_value(value)
        .map_err(|e| crate::Error::store("cannot encode a record value as JSON", e))
}

/// One write of a [`ChangeSet`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Op {
    /// Insert (`version == 1`) or replace (`version == n`, stored `n - 1`) a customer.
    PutCustomer(Customer),
    /// Insert or update an identifier record. `expected_owner` is the owner the writer
    /// read: `None` means the identifier must not exist yet.
    PutIdentifier {
        /// The record to store.
        record: IdentifierRecord,
        /// Who owned it when the writer read it.
        expected_owner: Option<CustomerId>,
    },
    /// Insert (`version == 1`) or replace (`version == n`, stored `n - 1`) a conversation.
    PutConversation(Conversation),
    /// Insert a new message (unique id; unique `(tenant, channel, external_id)` when the
    /// external id is set).
    InsertMessage(Message),
    /// Replace an existing message (delivery state changes).
    UpdateMessage(Message),
    /// Point a thread key (an e-mail Message-ID, say) at a conversation. A key that
    /// already exists keeps its first conversation.
    PutThreadKey {
        /// The key.
        key: String,
        /// The conversation it leads to.
        conversation: ConversationId,
    },
    /// Insert (`version == 1`) or replace (`version == n`, stored `n - 1`) a record.
    PutRecord(Record),
    /// Replace a message's content for erasure or retention: like `UpdateMessage`, but its
    /// external id may change (to its keyed hash), and the deduplication index follows.
    RedactMessage(Message),
    /// Delete an identifier, which must belong to `owner` (erasure).
    DeleteIdentifier {
        /// The identifier.
        identifier: Identifier,
        /// The customer the writer read as its owner.
        owner: CustomerId,
    },
    /// Delete a thread key (erasure); a missing key is not an error.
    DeleteThreadKey {
        /// The key.
        key: String,
    },
    /// Delete every thread key that leads to the conversation (erasure, retention: a
    /// thread hint's key names no message, so it cannot be deleted by key); none is not
    /// an error.
    DeleteThreadKeysOf {
        /// The conversation.
        conversation: ConversationId,
    },
    /// Point every thread key that leads to `from` at `to` instead (a conversation merged
    /// into another); none is not an error.
    MoveThreadKeys {
        /// The conversation the keys lead to now.
        from: ConversationId,
        /// The conversation they lead to after.
        to: ConversationId,
    },
    /// Delete a record; `version` must be the stored version.
    DeleteRecord {
        /// Its kind.
        kind: String,
        /// Its key.
        key: String,
        /// The version the writer read.
        version: u64,
    },
}

impl Op {
    /// The tenant the op writes to.
    pub fn tenant(&self) -> Option<TenantId> {
        Some(match self {
            Op::PutCustomer(c) => c.tenant,
            Op::PutIdentifier { record, .. } => record.tenant,
            Op::PutConversation(c) => c.tenant,
            Op::InsertMessage(m) | Op::UpdateMessage(m) | Op::RedactMessage(m) => m.tenant,
            Op::PutThreadKey { .. }
            | Op::PutRecord(_)
            | Op::DeleteRecord { .. }
            | Op::DeleteIdentifier { .. }
            | Op::DeleteThreadKey { .. }
            | Op::DeleteThreadKeysOf { .. }
            | Op::MoveThreadKeys { .. } => return None,
        })
    }
}

/// Every write of one `Desk` operation, for one tenant, applied atomically.
#[derive(Debug, Clone, PartialEq)]
pub struct ChangeSet {
    /// The tenant all ops write to.
    pub tenant: TenantId,
    /// The writes, in order.
    pub ops: Vec<Op>,
}

impl ChangeSet {
    /// An empty change set for `tenant`.
    pub fn new(tenant: TenantId) -> Self {
        ChangeSet {
            tenant,
            ops: Vec::with_capacity(6),
        }
    }

    /// Appends a write.
    pub fn push(&mut self, op: Op) {
        self.ops.push(op);
    }

    /// Checks that every op writes to the change set's tenant.
    ///
    /// # Errors
    ///
    /// [`Error::Conflict`](crate::Error::Conflict) naming the first op of another tenant.
    pub fn check_tenant(&self) -> Result<()> {
        for op in &self.ops {
            if let Some(t) = op.tenant() {
                if t != self.tenant {
                    return Err(crate::Error::Conflict(format!(
                        "change set for tenant {} holds a write for tenant {t}",
                        self.tenant
                    )));
                }
            }
        }
        Ok(())
    }
}

/// Where a message sorts in its conversation: [`Message::order_key`] (sent, received, id).
pub type MessageKey = (DateTime<Utc>, DateTime<Utc>, MessageId);

/// Where a `Desk` keeps its state. See the [module docs](self) for the contract.
///
/// Every read is scoped by tenant: an id of another tenant reads as absent.
///
/// A wrapper around another store (for timing, logging or fault injection) should also
/// forward the methods that have defaults ([`Store::read_ahead`],
/// [`Store::recent_messages`], the batch methods): the defaults are correct but take the
/// slow path, so a wrapper that leaves them out hides the inner store's faster one.
pub trait Store: Send {
    /// A customer (also a merged-away tombstone).
    fn customer(&self, tenant: TenantId, id: CustomerId) -> Result<Option<Customer>>;

    /// The record of a normalised identifier.
    fn identifier(
        &self,
        tenant: TenantId,
        identifier: &Identifier,
    ) -> Result<Option<IdentifierRecord>>;

    /// Every identifier of a customer, in order of first sight.
    fn identifiers_of(
        &self,
        tenant: TenantId,
        customer: CustomerId,
    ) -> Result<Vec<IdentifierRecord>>;

    /// A conversation.
    fn conversation(&self, tenant: TenantId, id: ConversationId) -> Result<Option<Conversation>>;

    /// Every conversation of a customer, oldest first.
    fn conversations_of(&self, tenant: TenantId, customer: CustomerId)
        -> Result<Vec<Conversation>>;

    /// Every conversation of a tenant opened in `[from, to)`, oldest first (for reports).
    fn conversations_in(
        &self,
        tenant: TenantId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Conversation>>;

    /// A page of [`Store::conversations_in`]: the conversations opened in `[from, to)`,
    /// oldest first by `(created_at, id)`, after the key `after` (exclusive) when given,
    /// at most `limit` of them. Reports walk a long period page by page and hold one
    /// page at a time. The default returns every remaining conversation in one page,
    /// whatever `limit` (correct, not bounded); stores override it with an indexed read.
    fn conversations_in_page(
        &self,
        tenant: TenantId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        after: Option<(DateTime<Utc>, ConversationId)>,
        limit: usize,
    ) -> Result<Vec<Conversation>> {
        let _ = limit;
        let mut all = self.conversations_in(tenant, from, to)?;
        if let Some(key) = after {
            all.retain(|c| (c.created_at, c.id) > key);
        }
        Ok(all)
    }

    /// A page of an inbox view of `tenant`: the next `limit` conversations of `view`
    /// after `after` (from the first when `None`), in the view's order (see
    /// [`InboxView`]), and the cursor of the page after it (`None` on the last page).
    /// `limit == 0` reads an empty page. Another tenant's conversations never appear.
    ///
    /// The default reads every conversation of the tenant ([`Store::conversations_in`]
    /// over all time; for the SLA view every SLA clock, [`Store::records`], and their
    /// conversations), then filters and sorts: correct for any store but linear in the
    /// tenant's size. `MemoryStore`, `SqliteStore` and `PostgresStore` override it with
    /// an indexed read that costs the page.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`](crate::Error::Invalid) when `after` is a cursor of a view with
    /// another order; store failures.
    fn inbox(
        &self,
        tenant: TenantId,
        view: &InboxView,
        after: Option<&Cursor>,
        limit: usize,
    ) -> Result<InboxPage> {
        inbox::scan(self, tenant, view, after, limit)
    }

    /// How many conversations `view` holds for `tenant` (for the SLA view: how many SLA
    /// clocks are due before the instant). The default counts what [`Store::inbox`]'s
    /// default reads (linear in the tenant's size); the crate's stores count an index.
    ///
    /// # Errors
    ///
    /// Store failures.
    fn inbox_count(&self, tenant: TenantId, view: &InboxView) -> Result<u64> {
        inbox::scan_count(self, tenant, view)
    }

    /// The customer's newest conversation that is not closed.
    fn open_conversation(
        &self,
        tenant: TenantId,
        customer: CustomerId,
    ) -> Result<Option<Conversation>>;

    /// A message.
    fn message(&self, tenant: TenantId, id: MessageId) -> Result<Option<Message>>;

    /// The message with this provider id on this channel (the deduplication lookup).
    fn message_by_external_id(
        &self,
        tenant: TenantId,
        channel: &Channel,
        external_id: &str,
    ) -> Result<Option<Message>>;

    /// Every message of a conversation, ordered by [`Message::order_key`].
    fn messages_of(&self, tenant: TenantId, conversation: ConversationId) -> Result<Vec<Message>>;

    /// The ids of a conversation's messages, ordered as by [`Store::messages_of`]: the
    /// history's shape without its bodies (a hand-over lists it). The default maps
    /// [`Store::messages_of`]; stores override it with a read of the conversation's index
    /// alone.
    fn message_ids_of(
        &self,
        tenant: TenantId,
        conversation: ConversationId,
    ) -> Result<Vec<MessageId>> {
        Ok(self
            .messages_of(tenant, conversation)?
            .into_iter()
            .map(|m| m.id)
            .collect())
    }

    /// The newest `limit` messages of a conversation, ordered as by
    /// [`Store::messages_of`] (oldest of them first): the last page of a long history,
    /// without reading the rest. The default takes the tail of [`Store::messages_of`];
    /// stores override it with an indexed read.
    fn recent_messages(
        &self,
        tenant: TenantId,
        conversation: ConversationId,
        limit: usize,
    ) -> Result<Vec<Message>> {
        let mut all = self.messages_of(tenant, conversation)?;
        let skip = all.len().saturating_sub(limit);
        all.drain(..skip);
        Ok(all)
    }

    /// The newest `limit` messages of a conversation ordered before `before` (a
    /// [`Message::order_key`]), oldest of them first: the page before the one an agent
    /// has, read without the rest of a long history. The default filters
    /// [`Store::messages_of`]; stores override it with an indexed read.
    fn messages_before(
        &self,
        tenant: TenantId,
        conversation: ConversationId,
        before: MessageKey,
        limit: usize,
    ) -> Result<Vec<Message>> {
        let mut all = self.messages_of(tenant, conversation)?;
        all.retain(|m| m.order_key() < before);
        let skip = all.len().saturating_sub(limit);
        all.drain(..skip);
        Ok(all)
    }

    /// The newest inbound message of a conversation on `channel` (the one a reply on that
    /// channel answers), newest by [`Message::order_key`]. The default looks among the
    /// newest 16 messages and reads the whole history only when it is not there; stores
    /// override it with a read that stops at the first match.
    fn latest_inbound(
        &self,
        tenant: TenantId,
        conversation: ConversationId,
        channel: &Channel,
    ) -> Result<Option<Message>> {
        const RECENT: usize = 16;
        let is_it = |m: &Message| {
            m.direction == crate::message::Direction::Inbound && &m.channel == channel
        };
        let mut messages = self.recent_messages(tenant, conversation, RECENT)?;
        if messages.len() >= RECENT && !messages.iter().any(is_it) {
            messages = self.messages_of(tenant, conversation)?;
        }
        Ok(messages.into_iter().rev().find(is_it))
    }

    /// The customer's messages across all conversations and channels, ordered by
    /// [`Message::order_key`]; with `limit`, only the newest `limit` of them (still oldest
    /// first).
    fn timeline(
        &self,
        tenant: TenantId,
        customer: CustomerId,
        limit: Option<usize>,
    ) -> Result<Vec<Message>> {
        let mut all = Vec::new();
        for c in self.conversations_of(tenant, customer)? {
            all.extend(self.messages_of(tenant, c.id)?);
        }
        all.sort_by_key(Message::order_key);
        if let Some(n) = limit {
            let skip = all.len().saturating_sub(n);
            all.drain(..skip);
        }
        Ok(all)
    }

    /// The conversation a thread key leads to.
    fn thread(&self, tenant: TenantId, key: &str) -> Result<Option<ConversationId>>;

    /// Outbound messages whose delivery is still pending, oldest first.
    fn outbox(&self, tenant: TenantId) -> Result<Vec<Message>>;

    /// A record.
    fn record(&self, tenant: TenantId, kind: &str, key: &str) -> Result<Option<Record>>;

    /// Every record of a kind, in key order.
    fn records(&self, tenant: TenantId, kind: &str) -> Result<Vec<Record>>;

    /// The records of a kind with this secondary key, in key order.
    fn records_by(&self, tenant: TenantId, kind: &str, secondary: &str) -> Result<Vec<Record>>;

    /// Records of a kind, across all tenants, whose due time is at or before `until`,
    /// earliest first, at most `limit` of them.
    fn due_records(
        &self,
        kind: &str,
        until: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<(TenantId, Record)>>;

    /// The earliest due time of a kind across all tenants.
    fn next_due(&self, kind: &str) -> Result<Option<DateTime<Utc>>>;

    /// Answers an ingest's [`ReadPlan`] at once, for a store whose reads are round trips
    /// (see [`ReadAhead`]): the ingest then reads its snapshot from the answer. The default
    /// answers nothing, and each read goes to the store when the ingest makes it: on an
    /// embedded store that is cheaper than building the snapshot. An implementation must
    /// agree with [`read_by_parts`] on every part it answers.
    ///
    /// # Errors
    ///
    /// Store failures.
    fn read_ahead(&self, tenant: TenantId, plan: &ReadPlan<'_>) -> Result<ReadAhead> {
        let _ = (tenant, plan);
        Ok(ReadAhead::default())
    }

    /// Applies every write atomically, or none of them.
    ///
    /// # Errors
    ///
    /// [`Error::Conflict`](crate::Error::Conflict) when an invariant of the module docs
    /// would break; [`Error::Store`](crate::Error::Store) when the store fails. Either way
    /// nothing was written.
    fn apply(&mut self, changes: ChangeSet) -> Result<()>;

    /// Whether [`Store::begin_batch`] … [`Store::end_batch`] really groups applies (one
    /// transaction, discarded by `end_batch(false)`). The default is `false`: the batch
    /// methods do nothing and every apply commits alone. `MemoryStore`, `SqliteStore` and
    /// `PostgresStore` say `true`, and the conformance suite then checks that a discarded
    /// batch leaves nothing.
    fn supports_batches(&self) -> bool {
        false
    }

    /// Starts a batch (group commit): the applies until [`Store::end_batch`] land
    /// together, each still atomic on its own (a failing apply leaves no trace and the
    /// others stay). A store may roll the whole batch back when a write fails halfway
    /// through a change set for a reason other than its conditions (a full disk, an I/O
    /// error); its later applies then fail, and `end_batch(true)` reports that nothing
    /// landed. The default does nothing: every apply commits alone.
    ///
    /// # Errors
    ///
    /// When the store cannot start one (a batch already open, a locked database).
    fn begin_batch(&mut self) -> Result<()> {
        Ok(())
    }

    /// Makes deleted and overwritten bytes physically unrecoverable from the store's own
    /// files, as far as the store can (SQLite: `secure_delete` already zeroes freed
    /// content; this checkpoints and truncates the write-ahead log). Called after an
    /// erasure. The default does nothing (nothing persists).
    ///
    /// # Errors
    ///
    /// When the store cannot do it now (another connection holds the log, say).
    fn scrub(&mut self) -> Result<()> {
        Ok(())
    }

    /// Ends the batch: `commit` makes its applies durable together; `false` discards them.
    /// Without an open batch it does nothing.
    ///
    /// # Errors
    ///
    /// When the commit fails; then none of the batch's applies landed.
    fn end_batch(&mut self, commit: bool) -> Result<()> {
        let _ = commit;
        Ok(())
    }
}

/// A boxed store (`Box<dyn Store>`, say) is a store: every call goes to the box's.
impl<S: Store + ?Sized> Store for Box<S> {
    forward_store!(inner: Deref::deref, read: through, write: through_mut);
}

/// A store lent to a `Desk` (`&mut S`) is a store: every call goes to the lender's.
impl<S: Store + ?Sized> Store for &mut S {
    forward_store!(inner: Deref::deref, read: through, write: through_mut);
}
