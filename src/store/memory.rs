//! [`MemoryStore`]: the whole state in hash maps, per tenant.

use std::collections::{BTreeMap, BTreeSet};

use foldhash::HashMap;

use chrono::{DateTime, Utc};

use crate::channel::Channel;
use crate::conversation::{Conversation, Status};
use crate::error::{Error, Result};
use crate::id::{ConversationId, CustomerId, MessageId, TenantId};
use crate::identity::{Customer, Identifier, IdentifierRecord};
use crate::message::{Delivery, Direction, Message};
use crate::store::ident_table::IdentTable;
use crate::store::inbox::{self, Cursor, InboxPage, InboxView};
use crate::store::{rules, ChangeSet, Op, Record, Store};

/// A [`Store`] that keeps everything in memory: for tests, simulations and hosts that
/// persist elsewhere. `apply` validates a whole change set before touching anything, so it
/// is atomic like the database stores. A batch ([`Store::begin_batch`]) copies the whole
/// state when it begins, so that discarding it can put that state back: O(size) per
/// batch, fine for tests, costly for a large store.
///
/// ```
/// use throughline::{Desk, DeskConfig, store::MemoryStore};
/// let desk = Desk::new(MemoryStore::new(), DeskConfig::default());
/// # let _ = desk;
/// ```
#[derive(Debug, Default, Clone)]
pub struct MemoryStore {
    tenants: HashMap<TenantId, TenantData>,
    conversation_tenants: HashMap<ConversationId, TenantId>,
    /// (kind, due, tenant, key) of every record with a due time.
    due: BTreeSet<(String, DateTime<Utc>, TenantId, String)>,
    /// Whether [`Store::read_ahead`] answers (see [`MemoryStore::reading_ahead`]).
    reads_ahead: bool,
    /// The state when the open batch began, put back if the batch is discarded.
    before_batch: Option<Box<Snapshot>>,
}

/// What a discarded batch restores.
#[derive(Debug, Clone)]
struct Snapshot {
    tenants: HashMap<TenantId, TenantData>,
    conversation_tenants: HashMap<ConversationId, TenantId>,
    due: DueIndex,
}

type DueIndex = BTreeSet<(String, DateTime<Utc>, TenantId, String)>;

#[derive(Debug, Clone)]
struct TenantData {
    id: TenantId,
    customers: HashMap<CustomerId, Customer>,
    identifiers: IdentTable,
    conversations: Arena<ConversationId, Conversation>,
    conversations_of: HashMap<CustomerId, Vec<ConversationId>>,
    messages: Arena<MessageId, Message>,
    messages_of: HashMap<ConversationId, Vec<MessageId>>,
    dedup: HashMap<Channel, HashMap<String, MessageId>>,
    threads: HashMap<String, ConversationId>,
    outbox: BTreeSet<(DateTime<Utc>, MessageId)>,
    records: RecordTable,
    /// (kind, secondary, key)
    records_by: BTreeSet<(String, String, String)>,
}

/// Records by kind, then key: lookups by `&str` without building an owned key.
#[derive(Debug, Clone, Default)]
struct RecordTable {
    kinds: BTreeMap<String, BTreeMap<String, Record>>,
}

impl RecordTable {
    fn get(&self, kind: &str, key: &str) -> Option<&Record> {
        self.kinds.get(kind).and_then(|m| m.get(key))
    }

    fn insert(&mut self, r: Record) {
        self.kinds
            .entry(r.kind.clone())
            .or_default()
            .insert(r.key.clone(), r);
    }

    fn remove(&mut self, kind: &str, key: &str) -> Option<Record> {
        self.kinds.get_mut(kind).and_then(|m| m.remove(key))
    }

    fn of_kind(&self, kind: &str) -> impl Iterator<Item = &Record> {
        self.kinds.get(kind).into_iter().flat_map(|m| m.values())
    }
}

/// Values in a `Vec`, found through a hash index: growing it moves 8-byte slots instead
/// of whole records.
#[derive(Debug, Clone)]
struct Arena<K, V> {
    values: Vec<V>,
    index: HashMap<K, usize>,
}

impl<K, V> Default for Arena<K, V> {
    fn default() -> Self {
        Arena {
            values: Vec::new(),
            index: HashMap::default(),
        }
    }
}

impl<K: std::hash::Hash + Eq, V> Arena<K, V> {
    fn get(&self, k: &K) -> Option<&V> {
        self.index.get(k).map(|&i| &self.values[i])
    }

    fn contains_key(&self, k: &K) -> bool {
        self.index.contains_key(k)
    }

    fn insert(&mut self, k: K, v: V) {
        match self.index.get(&k) {
            Some(&i) => self.values[i] = v,
            None => {
                self.index.insert(k, self.values.len());
                self.values.push(v);
            }
        }
    }
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty store that answers [`Store::read_ahead`] with
    /// [`read_by_parts`](crate::store::read_by_parts), the way a database-server store
    /// answers it in one round trip: for testing the `Desk`'s read-ahead path without a
    /// server. (`MemoryStore::new` reads nothing ahead: its reads cost nanoseconds.)
    pub fn reading_ahead() -> Self {
        Self {
            reads_ahead: true,
            ..Self::default()
        }
    }

    fn tenant(&self, tenant: TenantId) -> Option<&TenantData> {
        self.tenants.get(&tenant)
    }
}

impl TenantData {
    fn new(id: TenantId) -> Self {
        TenantData {
            id,
            customers: HashMap::default(),
            identifiers: IdentTable::default(),
            conversations: Arena::default(),
            conversations_of: HashMap::default(),
            messages: Arena::default(),
            messages_of: HashMap::default(),
            dedup: HashMap::default(),
            threads: HashMap::default(),
            outbox: BTreeSet::new(),
            records: RecordTable::default(),
            records_by: BTreeSet::new(),
        }
    }

    fn remove_record(&mut self, kind: &str, key: &str, due: &mut DueIndex) {
        if let Some(old) = self.records.remove(kind, key) {
            if let Some(sec) = old.secondary {
                self.records_by
                    .remove(&(old.kind.clone(), sec, old.key.clone()));
            }
            if let Some(at) = old.due {
                due.remove(&(old.kind, at, self.id, old.key));
            }
        }
    }

    /// Applies checked ops, in order.
    fn apply(&mut self, ops: Vec<Op>, due: &mut DueIndex) {
        for op in ops {
            match op {
                Op::PutCustomer(c) => {
                    self.customers.insert(c.id, c);
                }
                Op::PutConversation(c) => self.put_conversation(c),
                Op::PutIdentifier { record, .. } => self.identifiers.put(record),
                Op::InsertMessage(m) => self.insert_message(m),
                Op::UpdateMessage(m) => self.update_message(m),
                Op::RedactMessage(m) => self.redact_message(m),
                Op::PutThreadKey { key, conversation } => {
                    self.threads.entry(key).or_insert(conversation);
                }
                Op::DeleteThreadKey { key } => {
                    self.threads.remove(&key);
                }
                Op::DeleteThreadKeysOf { conversation } => {
                    self.threads.retain(|_, c| *c != conversation);
                }
                Op::MoveThreadKeys { from, to } => {
                    for c in self.threads.values_mut().filter(|c| **c == from) {
                        *c = to;
                    }
                }
                Op::DeleteIdentifier { identifier, .. } => {
                    self.identifiers.remove(&identifier);
                }
                Op::PutRecord(r) => self.put_record(r, due),
                Op::DeleteRecord { kind, key, .. } => self.remove_record(&kind, &key, due),
            }
        }
    }

    /// The members of an inbox view with the time each is ordered by, in no order: a scan
    /// of the tenant's conversations (or, for the SLA view, of its SLA clocks).
    fn inbox_members(&self, view: &InboxView) -> Vec<(DateTime<Utc>, &Conversation)> {
        match view.due_records() {
            Some((kind, before)) => inbox::due_clocks(self.records.of_kind(&kind), before)
                .into_iter()
                .filter_map(|(due, id)| Some((due, self.conversations.get(&id)?)))
                .collect(),
            None => self
                .conversations
                .values
                .iter()
                .filter_map(|c| Some((view.key_of(c)?, c)))
                .collect(),
        }
    }

    /// Stores a conversation, keeping its customer's list in creation order (a merge
    /// moves it to another customer's list).
    fn put_conversation(&mut self, c: Conversation) {
        match self.conversations.get(&c.id) {
            None => self
                .conversations_of
                .entry(c.customer)
                .or_default()
                .push(c.id),
            Some(old) if old.customer != c.customer => {
                if let Some(list) = self.conversations_of.get_mut(&old.customer) {
                    list.retain(|id| *id != c.id);
                }
                let list = self.conversations_of.entry(c.customer).or_default();
                list.push(c.id);
                let convs = &self.conversations;
                list.sort_by_key(|id| {
                    convs
                        .get(id)
                        .map(|x| (x.created_at, x.id))
                        .unwrap_or((c.created_at, c.id))
                });
            }
            Some(_) => {}
        }
        self.conversations.insert(c.id, c);
    }

    /// Indexes a message's deduplication key and (if pending) its outbox entry.
    fn index_message(&mut self, m: &Message) {
        if let Some(ext) = &m.external_id {
            self.dedup
                .entry(m.channel.clone())
                .or_default()
                .insert(ext.clone(), m.id);
        }
        if matches!(m.delivery, Some(Delivery::Pending)) {
            self.outbox.insert((m.received_at, m.id));
        }
    }

    fn insert_message(&mut self, m: Message) {
        self.index_message(&m);
        let list = self.messages_of.entry(m.conversation).or_default();
        let key = m.order_key();
        let messages = &self.messages;
        // Messages mostly arrive in order: insert from the back.
        let pos = list
            .iter()
            .rposition(|id| messages.get(id).is_some_and(|o| o.order_key() <= key))
            .map_or(0, |p| p + 1);
        list.insert(pos, m.id);
        self.messages.insert(m.id, m);
    }

    fn update_message(&mut self, m: Message) {
        if let Some(old) = self.messages.get(&m.id) {
            if old.conversation != m.conversation {
                if let Some(list) = self.messages_of.get_mut(&old.conversation) {
                    list.retain(|id| *id != m.id);
                }
                let list = self.messages_of.entry(m.conversation).or_default();
                list.push(m.id);
            }
            if matches!(old.delivery, Some(Delivery::Pending)) {
                self.outbox.remove(&(old.received_at, old.id));
            }
        }
        if matches!(m.delivery, Some(Delivery::Pending)) {
            self.outbox.insert((m.received_at, m.id));
        }
        let conv = m.conversation;
        self.messages.insert(m.id, m);
        if let Some(list) = self.messages_of.get_mut(&conv) {
            let messages = &self.messages;
            list.sort_by_key(|id| messages.get(id).map(Message::order_key));
        }
    }

    /// Replaces a message in place; its deduplication key and outbox entry follow.
    fn redact_message(&mut self, m: Message) {
        if let Some(old) = self.messages.get(&m.id) {
            if let (Some(ext), Some(d)) = (&old.external_id, self.dedup.get_mut(&old.channel)) {
                d.remove(ext.as_str());
            }
            if matches!(old.delivery, Some(Delivery::Pending)) {
                self.outbox.remove(&(old.received_at, old.id));
            }
        }
        self.index_message(&m);
        self.messages.insert(m.id, m);
    }

    fn put_record(&mut self, r: Record, due: &mut DueIndex) {
        self.remove_record(&r.kind, &r.key, due);
        if let Some(sec) = &r.secondary {
            self.records_by
                .insert((r.kind.clone(), sec.clone(), r.key.clone()));
        }
        if let Some(at) = r.due {
            due.insert((r.kind.clone(), at, self.id, r.key.clone()));
        }
        self.records.insert(r);
    }
}

/// One tenant's rows as [`rules`] asks about them: `data` `None` for a tenant with
/// nothing stored yet.
struct TenantRows<'s> {
    tenant: TenantId,
    data: Option<&'s TenantData>,
    conversation_tenants: &'s HashMap<ConversationId, TenantId>,
}

impl rules::Rows for TenantRows<'_> {
    fn customer_version(&self, id: CustomerId) -> Result<Option<u64>> {
        Ok(self
            .data
            .and_then(|t| t.customers.get(&id))
            .map(|c| c.version))
    }

    fn conversation_version(&self, id: ConversationId) -> Result<Option<u64>> {
        Ok(self
            .data
            .and_then(|t| t.conversations.get(&id))
            .map(|c| c.version))
    }

    fn conversation_elsewhere(&self, id: ConversationId) -> Result<bool> {
        Ok(self
            .conversation_tenants
            .get(&id)
            .is_some_and(|t| *t != self.tenant))
    }

    fn owner(&self, identifier: &Identifier) -> Result<Option<CustomerId>> {
        Ok(self.data.and_then(|t| t.identifiers.owner(identifier)))
    }

    fn message(&self, id: MessageId) -> Result<Option<rules::MessageKey<'_>>> {
        Ok(self
            .data
            .and_then(|t| t.messages.get(&id))
            .map(rules::MessageKey::of))
    }

    fn dedup_taken(&self, channel: &Channel, external_id: &str) -> Result<bool> {
        Ok(self.data.is_some_and(|t| {
            t.dedup
                .get(channel)
                .is_some_and(|d| d.contains_key(external_id))
        }))
    }

    fn record_version(&self, kind: &str, key: &str) -> Result<Option<u64>> {
        Ok(self
            .data
            .and_then(|t| t.records.get(kind, key))
            .map(|r| r.version))
    }
}

impl Store for MemoryStore {
    fn read_ahead(
        &self,
        tenant: TenantId,
        plan: &crate::store::ReadPlan<'_>,
    ) -> Result<crate::store::ReadAhead> {
        if self.reads_ahead {
            crate::store::read_by_parts(self, tenant, plan)
        } else {
            Ok(crate::store::ReadAhead::default())
        }
    }

    fn customer(&self, tenant: TenantId, id: CustomerId) -> Result<Option<Customer>> {
        Ok(self
            .tenant(tenant)
            .and_then(|t| t.customers.get(&id).cloned()))
    }

    fn identifier(
        &self,
        tenant: TenantId,
        identifier: &Identifier,
    ) -> Result<Option<IdentifierRecord>> {
        Ok(self
            .tenant(tenant)
            .and_then(|t| t.identifiers.record(tenant, identifier)))
    }

    fn identifiers_of(
        &self,
        tenant: TenantId,
        customer: CustomerId,
    ) -> Result<Vec<IdentifierRecord>> {
        let Some(t) = self.tenant(tenant) else {
            return Ok(Vec::new());
        };
        Ok(t.identifiers.of_customer(tenant, customer))
    }

    fn conversation(&self, tenant: TenantId, id: ConversationId) -> Result<Option<Conversation>> {
        Ok(self
            .tenant(tenant)
            .and_then(|t| t.conversations.get(&id).cloned()))
    }

    fn conversations_of(
        &self,
        tenant: TenantId,
        customer: CustomerId,
    ) -> Result<Vec<Conversation>> {
        let Some(t) = self.tenant(tenant) else {
            return Ok(Vec::new());
        };
        Ok(t.conversations_of
            .get(&customer)
            .map(|list| {
                list.iter()
                    .filter_map(|id| t.conversations.get(id).cloned())
                    .collect()
            })
            .unwrap_or_default())
    }

    fn conversations_in(
        &self,
        tenant: TenantId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Conversation>> {
        let Some(t) = self.tenant(tenant) else {
            return Ok(Vec::new());
        };
        let mut out: Vec<Conversation> = t
            .conversations
            .values
            .iter()
            .filter(|c| c.created_at >= from && c.created_at < to)
            .cloned()
            .collect();
        out.sort_by_key(|c| (c.created_at, c.id));
        Ok(out)
    }

    /// A sorted scan of the tenant's conversations (or SLA clocks): linear in the
    /// tenant's size, as cheap as memory makes it.
    fn inbox(
        &self,
        tenant: TenantId,
        view: &InboxView,
        after: Option<&Cursor>,
        limit: usize,
    ) -> Result<InboxPage> {
        view.check(after)?;
        let Some(t) = self.tenant(tenant) else {
            return Ok(InboxPage::default());
        };
        Ok(inbox::page_of(view, t.inbox_members(view), after, limit))
    }

    fn inbox_count(&self, tenant: TenantId, view: &InboxView) -> Result<u64> {
        let Some(t) = self.tenant(tenant) else {
            return Ok(0);
        };
        Ok(match view.due_records() {
            Some((kind, before)) => inbox::count_due(t.records.of_kind(&kind), before),
            None => t
                .conversations
                .values
                .iter()
                .filter(|c| view.key_of(c).is_some())
                .count() as u64,
        })
    }

    fn open_conversation(
        &self,
        tenant: TenantId,
        customer: CustomerId,
    ) -> Result<Option<Conversation>> {
        let Some(t) = self.tenant(tenant) else {
            return Ok(None);
        };
        Ok(t.conversations_of.get(&customer).and_then(|list| {
            list.iter()
                .rev()
                .filter_map(|id| t.conversations.get(id))
                .find(|c| c.status != Status::Closed)
                .cloned()
        }))
    }

    fn message(&self, tenant: TenantId, id: MessageId) -> Result<Option<Message>> {
        Ok(self
            .tenant(tenant)
            .and_then(|t| t.messages.get(&id).cloned()))
    }

    fn message_by_external_id(
        &self,
        tenant: TenantId,
        channel: &Channel,
        external_id: &str,
    ) -> Result<Option<Message>> {
        Ok(self.tenant(tenant).and_then(|t| {
            t.dedup
                .get(channel)
                .and_then(|d| d.get(external_id))
                .and_then(|id| t.messages.get(id).cloned())
        }))
    }

    fn messages_of(&self, tenant: TenantId, conversation: ConversationId) -> Result<Vec<Message>> {
        self.recent_messages(tenant, conversation, usize::MAX)
    }

    fn message_ids_of(
        &self,
        tenant: TenantId,
        conversation: ConversationId,
    ) -> Result<Vec<MessageId>> {
        let Some(t) = self.tenant(tenant) else {
            return Ok(Vec::new());
        };
        Ok(t.messages_of
            .get(&conversation)
            .map(|list| {
                list.iter()
                    .filter(|id| t.messages.contains_key(*id))
                    .copied()
                    .collect()
            })
            .unwrap_or_default())
    }

    fn recent_messages(
        &self,
        tenant: TenantId,
        conversation: ConversationId,
        limit: usize,
    ) -> Result<Vec<Message>> {
        let Some(t) = self.tenant(tenant) else {
            return Ok(Vec::new());
        };
        Ok(t.messages_of
            .get(&conversation)
            .map(|list| {
                list[list.len().saturating_sub(limit)..]
                    .iter()
                    .filter_map(|id| t.messages.get(id).cloned())
                    .collect()
            })
            .unwrap_or_default())
    }

    fn messages_before(
        &self,
        tenant: TenantId,
        conversation: ConversationId,
        before: super::MessageKey,
        limit: usize,
    ) -> Result<Vec<Message>> {
        let Some(t) = self.tenant(tenant) else {
            return Ok(Vec::new());
        };
        let Some(list) = t.messages_of.get(&conversation) else {
            return Ok(Vec::new());
        };
        // The list is in order: walk back from the end to the first one before the key.
        let mut page: Vec<Message> = list
            .iter()
            .rev()
            .filter_map(|id| t.messages.get(id))
            .filter(|m| m.order_key() < before)
            .take(limit)
            .cloned()
            .collect();
        page.reverse();
        Ok(page)
    }

    fn latest_inbound(
        &self,
        tenant: TenantId,
        conversation: ConversationId,
        channel: &Channel,
    ) -> Result<Option<Message>> {
        let Some(t) = self.tenant(tenant) else {
            return Ok(None);
        };
        Ok(t.messages_of.get(&conversation).and_then(|list| {
            list.iter()
                .rev()
                .filter_map(|id| t.messages.get(id))
                .find(|m| m.direction == Direction::Inbound && &m.channel == channel)
                .cloned()
        }))
    }

    fn thread(&self, tenant: TenantId, key: &str) -> Result<Option<ConversationId>> {
        Ok(self
            .tenant(tenant)
            .and_then(|t| t.threads.get(key).copied()))
    }

    fn outbox(&self, tenant: TenantId) -> Result<Vec<Message>> {
        let Some(t) = self.tenant(tenant) else {
            return Ok(Vec::new());
        };
        Ok(t.outbox
            .iter()
            .filter_map(|(_, id)| t.messages.get(id).cloned())
            .collect())
    }

    fn supports_batches(&self) -> bool {
        true
    }

    fn begin_batch(&mut self) -> Result<()> {
        if self.before_batch.is_some() {
            return Err(Error::Store {
                message: "a batch is already open on this store".into(),
                source: None,
            });
        }
        self.before_batch = Some(Box::new(Snapshot {
            tenants: self.tenants.clone(),
            conversation_tenants: self.conversation_tenants.clone(),
            due: self.due.clone(),
        }));
        Ok(())
    }

    fn end_batch(&mut self, commit: bool) -> Result<()> {
        if let Some(before) = self.before_batch.take() {
            if !commit {
                let Snapshot {
                    tenants,
                    conversation_tenants,
                    due,
                } = *before;
                self.tenants = tenants;
                self.conversation_tenants = conversation_tenants;
                self.due = due;
            }
        }
        Ok(())
    }

    fn apply(&mut self, changes: ChangeSet) -> Result<()> {
        changes.check_tenant()?;
        let tenant = changes.tenant;
        let rows = TenantRows {
            tenant,
            data: self.tenants.get(&tenant),
            conversation_tenants: &self.conversation_tenants,
        };
        rules::check_all(&changes.ops, &rows)?;
        for op in &changes.ops {
            if let Op::PutConversation(c) = op {
                self.conversation_tenants.insert(c.id, tenant);
            }
        }
        self.tenants
            .entry(tenant)
            .or_insert_with(|| TenantData::new(tenant))
            .apply(changes.ops, &mut self.due);
        Ok(())
    }

    fn record(&self, tenant: TenantId, kind: &str, key: &str) -> Result<Option<Record>> {
        Ok(self
            .tenant(tenant)
            .and_then(|t| t.records.get(kind, key).cloned()))
    }

    fn records(&self, tenant: TenantId, kind: &str) -> Result<Vec<Record>> {
        let Some(t) = self.tenant(tenant) else {
            return Ok(Vec::new());
        };
        Ok(t.records.of_kind(kind).cloned().collect())
    }

    fn records_by(&self, tenant: TenantId, kind: &str, secondary: &str) -> Result<Vec<Record>> {
        let Some(t) = self.tenant(tenant) else {
            return Ok(Vec::new());
        };
        let from = (kind.to_string(), secondary.to_string(), String::new());
        Ok(t.records_by
            .range(from..)
            .take_while(|(k, s, _)| k == kind && s == secondary)
            .filter_map(|(k, _, key)| t.records.get(k, key).cloned())
            .collect())
    }

    fn due_records(
        &self,
        kind: &str,
        until: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<(TenantId, Record)>> {
        let from = (
            kind.to_string(),
            DateTime::<Utc>::MIN_UTC,
            TenantId::from_uuid(uuid::Uuid::nil()),
            String::new(),
        );
        Ok(self
            .due
            .range(from..)
            .take_while(|(k, at, _, _)| k == kind && *at <= until)
            .take(limit)
            .filter_map(|(k, _, tenant, key)| {
                self.tenant(*tenant)
                    .and_then(|t| t.records.get(k, key))
                    .map(|r| (*tenant, r.clone()))
            })
            .collect())
    }

    fn next_due(&self, kind: &str) -> Result<Option<DateTime<Utc>>> {
        let from = (
            kind.to_string(),
            DateTime::<Utc>::MIN_UTC,
            TenantId::from_uuid(uuid::Uuid::nil()),
            String::new(),
        );
        Ok(self
            .due
            .range(from..)
            .next()
            .filter(|(k, _, _, _)| k == kind)
            .map(|(_, at, _, _)| *at))
    }
}
