//! The rows a batch has already read or written, kept in memory until the batch ends.
//!
//! A batch ([`Store::begin_batch`](crate::store::Store::begin_batch)) holds SQLite's write
//! lock from its `BEGIN IMMEDIATE` to its end: no other connection can change a row in
//! between, so a customer, conversation or record this store read or wrote since the batch
//! began is still the stored one, and a second read of it need not go to SQLite. A desk
//! reads the same rows again and again within a batch (the tenant's privacy record on every
//! ingest, a conversation at each step of its ingest, its SLA clocks when a reply follows
//! the message): in the simulated month, more than half of the conversation reads and a
//! fifth of the SLA record reads inside a batch were of a row already read or written in it.
//!
//! The cache forgets everything when a change set fails (its savepoint is rolled back,
//! and what its writes read may be gone), when the batch is rolled back, when the batch
//! ends either way (so the next batch starts empty), and when it holds [`LIMIT`] rows (a
//! huge batch does not grow memory without bound). Only successful applies write into
//! it; outside a batch it is empty and unused. It is kept because it pays on its own (the
//! issue-32 rule: 10% or it goes): without it a batched simulated run's Desk work takes
//! 13.3% more instructions.

use std::collections::HashMap;

use crate::conversation::Conversation;
use crate::id::{ConversationId, CustomerId, TenantId};
use crate::identity::Customer;
use crate::store::{ChangeSet, Op, Record};

/// Rows held before the cache starts over.
pub(super) const LIMIT: usize = 8192;

/// See the module docs.
#[derive(Debug, Default)]
pub(super) struct BatchCache {
    customers: HashMap<(TenantId, CustomerId), Customer>,
    /// By id alone: conversation ids are unique across tenants (the schema says so), and
    /// a read names its tenant, checked against the cached row's.
    conversations: HashMap<ConversationId, Conversation>,
    /// Tenant, then kind, then key (lookups by `&str` without building a key); `None`: a
    /// read found no such record.
    records: HashMap<TenantId, HashMap<String, HashMap<String, Option<Record>>>>,
    /// Entries held, over the three maps (a rewrite of a held one is not a new one).
    rows: usize,
}

impl BatchCache {
    /// Forgets every row.
    pub(super) fn clear(&mut self) {
        if self.rows > 0 {
            *self = BatchCache::default();
        }
    }

    /// Makes room for a row: starts over when [`LIMIT`] rows are held.
    fn room(&mut self) {
        if self.rows >= LIMIT {
            self.clear();
        }
    }

    /// Counts a row that an insert did not find (`old` is what it replaced).
    fn counted<T>(&mut self, old: Option<T>) {
        if old.is_none() {
            self.rows += 1;
        }
    }

    pub(super) fn customer(&self, tenant: TenantId, id: CustomerId) -> Option<Customer> {
        self.customers.get(&(tenant, id)).cloned()
    }

    pub(super) fn put_customer(&mut self, tenant: TenantId, c: Customer) {
        self.room();
        let old = self.customers.insert((tenant, c.id), c);
        self.counted(old);
    }

    /// The conversation, if cached; `tenant` `None` for a read by id alone.
    pub(super) fn conversation(
        &self,
        tenant: Option<TenantId>,
        id: ConversationId,
    ) -> Option<Conversation> {
        self.conversations
            .get(&id)
            .filter(|c| tenant.is_none_or(|t| c.tenant == t))
            .cloned()
    }

    pub(super) fn put_conversation(&mut self, c: Conversation) {
        self.room();
        let old = self.conversations.insert(c.id, c);
        self.counted(old);
    }

    /// The record if known: `Some(None)` when a read in the batch found none.
    pub(super) fn record(&self, tenant: TenantId, kind: &str, key: &str) -> Option<Option<Record>> {
        self.records.get(&tenant)?.get(kind)?.get(key).cloned()
    }

    pub(super) fn put_record(&mut self, tenant: TenantId, r: Record) {
        self.room();
        let old = self
            .records
            .entry(tenant)
            .or_default()
            .entry(r.kind.clone())
            .or_default()
            .insert(r.key.clone(), Some(r));
        self.counted(old);
    }

    /// Notes that a read in the batch found no record under `kind` and `key`.
    pub(super) fn put_missing_record(&mut self, tenant: TenantId, kind: &str, key: &str) {
        self.room();
        let old = self
            .records
            .entry(tenant)
            .or_default()
            .entry(kind.to_string())
            .or_default()
            .insert(key.to_string(), None);
        self.counted(old);
    }

    fn forget_record(&mut self, tenant: TenantId, kind: &str, key: &str) {
        if let Some(keys) = self
            .records
            .get_mut(&tenant)
            .and_then(|kinds| kinds.get_mut(kind))
        {
            if keys.remove(key).is_some() {
                self.rows -= 1;
            }
        }
    }

    /// Takes in the rows of a change set that is now applied.
    pub(super) fn applied(&mut self, changes: ChangeSet) {
        let tenant = changes.tenant;
        for op in changes.ops {
            match op {
                Op::PutCustomer(c) => self.put_customer(tenant, c),
                Op::PutConversation(c) => self.put_conversation(c),
                Op::PutRecord(r) => self.put_record(tenant, r),
                Op::DeleteRecord { kind, key, .. } => self.forget_record(tenant, &kind, &key),
                // Identifiers, messages and thread keys are not cached.
                Op::PutIdentifier { .. }
                | Op::DeleteIdentifier { .. }
                | Op::InsertMessage(_)
                | Op::UpdateMessage(_)
                | Op::PutThreadKey { .. }
                | Op::RedactMessage(_)
                | Op::DeleteThreadKey { .. }
                | Op::DeleteThreadKeysOf { .. }
                | Op::MoveThreadKeys { .. } => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(key: usize) -> Record {
        Record::new("clock", key.to_string(), serde_json::json!(key))
    }

    /// Rewriting a held row does not count as another; a deleted one stops counting; at
    /// the limit the cache starts over.
    #[test]
    fn the_cache_counts_rows_not_writes_and_starts_over_at_the_limit() {
        let tenant = TenantId::from_uuid(uuid::Uuid::from_u128(1));
        let mut cache = BatchCache::default();
        for _ in 0..3 {
            cache.put_record(tenant, record(0));
        }
        assert_eq!(cache.rows, 1);
        cache.forget_record(tenant, "clock", "0");
        cache.forget_record(tenant, "clock", "0");
        assert_eq!(cache.rows, 0);
        for key in 0..LIMIT {
            cache.put_record(tenant, record(key));
        }
        assert_eq!(cache.rows, LIMIT);
        assert!(cache.record(tenant, "clock", "0").flatten().is_some());
        cache.put_record(tenant, record(LIMIT));
        assert_eq!(cache.rows, 1, "started over");
        assert!(cache.record(tenant, "clock", "0").is_none());
        assert!(cache
            .record(tenant, "clock", &LIMIT.to_string())
            .flatten()
            .is_some());
        cache.put_missing_record(tenant, "clock", "gone");
        assert_eq!(cache.rows, 2, "what is missing counts too");
        assert_eq!(cache.record(tenant, "clock", "gone"), Some(None));
    }
}
