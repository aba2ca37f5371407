//! The `MemoryStore`'s identifier table: records in a `Vec`, a hash index of 4-byte slot
//! numbers, and per-customer slot lists, so each identifier is stored once.

use std::hash::BuildHasher;

use chrono::{DateTime, Utc};
use foldhash::HashMap;
use hashbrown::HashTable;

use crate::channel::Channel;
use crate::id::{CustomerId, TenantId};
use crate::identity::{Identifier, IdentifierRecord};

#[derive(Debug, Clone)]
struct Stored {
    identifier: Identifier,
    customer: CustomerId,
    source: Option<Channel>,
    verified: bool,
    first_seen: DateTime<Utc>,
    last_seen: DateTime<Utc>,
}

#[derive(Clone, Default)]
pub(crate) struct IdentTable {
    slots: Vec<Option<Stored>>,
    index: HashTable<u32>,
    hasher: foldhash::fast::RandomState,
    by_customer: HashMap<CustomerId, Vec<u32>>,
}

impl std::fmt::Debug for IdentTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdentTable")
            .field("len", &self.index.len())
            .finish()
    }
}

impl IdentTable {
    fn slot(&self, identifier: &Identifier) -> Option<u32> {
        let hash = self.hasher.hash_one(identifier);
        let slots = &self.slots;
        self.index
            .find(hash, |&i| {
                slots[i as usize]
                    .as_ref()
                    .is_some_and(|s| s.identifier == *identifier)
            })
            .copied()
    }

    fn to_record(tenant: TenantId, s: &Stored) -> IdentifierRecord {
        IdentifierRecord {
            tenant,
            identifier: s.identifier.clone(),
            customer: s.customer,
            source: s.source.clone(),
            verified: s.verified,
            first_seen: s.first_seen,
            last_seen: s.last_seen,
        }
    }

    /// The owner of an identifier.
    pub(crate) fn owner(&self, identifier: &Identifier) -> Option<CustomerId> {
        self.slot(identifier)
            .and_then(|i| self.slots[i as usize].as_ref())
            .map(|s| s.customer)
    }

    /// The full record.
    pub(crate) fn record(
        &self,
        tenant: TenantId,
        identifier: &Identifier,
    ) -> Option<IdentifierRecord> {
        self.slot(identifier)
            .and_then(|i| self.slots[i as usize].as_ref())
            .map(|s| Self::to_record(tenant, s))
    }

    /// Every record of a customer, in order of insertion.
    pub(crate) fn of_customer(
        &self,
        tenant: TenantId,
        customer: CustomerId,
    ) -> Vec<IdentifierRecord> {
        self.by_customer
            .get(&customer)
            .map(|list| {
                list.iter()
                    .filter_map(|&i| self.slots[i as usize].as_ref())
                    .map(|s| Self::to_record(tenant, s))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Inserts or replaces the record of `record.identifier`.
    pub(crate) fn put(&mut self, record: IdentifierRecord) {
        let stored = Stored {
            identifier: record.identifier,
            customer: record.customer,
            source: record.source,
            verified: record.verified,
            first_seen: record.first_seen,
            last_seen: record.last_seen,
        };
        match self.slot(&stored.identifier) {
            Some(i) => {
                let old_owner = self.slots[i as usize].as_ref().map(|s| s.customer);
                if old_owner != Some(stored.customer) {
                    if let Some(list) = old_owner.and_then(|o| self.by_customer.get_mut(&o)) {
                        list.retain(|x| *x != i);
                    }
                    self.by_customer.entry(stored.customer).or_default().push(i);
                }
                self.slots[i as usize] = Some(stored);
            }
            None => {
                let i = u32::try_from(self.slots.len()).unwrap_or(u32::MAX);
                let hash = self.hasher.hash_one(&stored.identifier);
                self.by_customer.entry(stored.customer).or_default().push(i);
                self.slots.push(Some(stored));
                let (slots, hasher) = (&self.slots, &self.hasher);
                // Indexed slots are never empty (removal takes them out of the index).
                self.index.insert_unique(hash, i, |&j| {
                    slots[j as usize]
                        .as_ref()
                        .map_or(0, |s| hasher.hash_one(&s.identifier))
                });
            }
        }
    }

    /// Removes an identifier; returns whether it existed.
    #[allow(dead_code)]
    pub(crate) fn remove(&mut self, identifier: &Identifier) -> bool {
        let hash = self.hasher.hash_one(identifier);
        let slots = &self.slots;
        let Ok(entry) = self.index.find_entry(hash, |&i| {
            slots[i as usize]
                .as_ref()
                .is_some_and(|s| s.identifier == *identifier)
        }) else {
            return false;
        };
        let (i, _) = entry.remove();
        if let Some(s) = self.slots[i as usize].take() {
            if let Some(list) = self.by_customer.get_mut(&s.customer) {
                list.retain(|x| *x != i);
            }
        }
        true
    }
}
