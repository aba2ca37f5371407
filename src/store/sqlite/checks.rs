//! A change set's conditions, checked before any of its writes, inside a batch.
//!
//! Outside a batch every change set is its own transaction: a write that fails rolls
//! back with it. Inside a batch ([`Store::begin_batch`](crate::store::Store::begin_batch))
//! a change set used to be a savepoint of the batch's transaction, so that a failing one
//! left no trace while the others stayed. A savepoint copies every page its writes touch
//! to a sub-journal first (4 KiB each, in 1 KiB chunks each allocated on its own): 9.5%
//! of the instructions of the simulated month's Desk thread went to them. Since
//! the batch holds the write lock, nothing but this store changes the rows between a
//! read and a write, so the conditions the statements enforce (versions that follow,
//! identifier owners, unique message ids and deduplication keys, existing rows) can be
//! checked first, by reads, and the writes then run without a savepoint. A change set
//! whose checks fail writes nothing ([`Error::Conflict`]). A write that fails anyway (a
//! full disk, an I/O error) rolls the whole batch back (see `write.rs`).
//!
//! The rules are the store-independent ones of [`rules`]; this file answers their
//! questions ([`Rows`]) from SQLite. The checks read the batch cache first: most rows a
//! change set writes were read (or written) earlier in the same batch. The first op
//! written needs no read at all: if its write fails, nothing of the change set has been
//! written yet (a change set's new message is written first for that reason, when its
//! conversation already exists: its id and deduplication key would take two reads).
//!
//! A write whose row is not the one the change set expects (it changes no row, or breaks
//! a constraint) is explained by the same rules ([`SqliteStore::explain`]), so the error
//! is the one `MemoryStore` gives for the same change set.

use std::borrow::Cow;

use rusqlite::OptionalExtension;

use super::read::{blob, ident_key};
use super::{sql_error, SqliteStore};
use crate::channel::Channel;
use crate::error::{Error, Result};
use crate::id::{ConversationId, CustomerId, MessageId, TenantId};
use crate::identity::Identifier;
use crate::store::rules::{self, MessageKey, Rows};
use crate::store::{ChangeSet, Op};

/// A customer id stored as 16 bytes.
fn customer_of(bytes: &[u8]) -> Result<CustomerId> {
    let bytes: [u8; 16] = bytes.try_into().map_err(|_| Error::Store {
        message: format!(
            "cannot check an identifier: its owner is {} bytes, not a 16-byte id",
            bytes.len()
        ),
        source: None,
    })?;
    Ok(CustomerId::from_uuid(uuid::Uuid::from_bytes(bytes)))
}

/// One tenant's rows as the rules ask about them: from the batch cache (when `cached`,
/// inside a batch) or by reads.
pub(super) struct Reader<'s> {
    store: &'s SqliteStore,
    tenant: TenantId,
    tenant_blob: [u8; 16],
    cached: bool,
}

impl Reader<'_> {
    fn one<T: rusqlite::types::FromSql>(
        &self,
        what: &str,
        sql: &str,
        params: &[&dyn rusqlite::ToSql],
    ) -> Result<Option<T>> {
        self.store
            .conn
            .prepare_cached(sql)
            .and_then(|mut s| s.query_row(params, |r| r.get::<_, T>(0)).optional())
            .map_err(|e| sql_error(format!("cannot check {what}"), e))
    }

    /// The version `sql` reads, unless the cache knows it (`Some(None)`: known missing).
    fn version(
        &self,
        cached: impl FnOnce(&super::batch_cache::BatchCache) -> Option<Option<u64>>,
        what: &str,
        sql: &str,
        params: &[&dyn rusqlite::ToSql],
    ) -> Result<Option<u64>> {
        if self.cached {
            if let Some(v) = cached(&self.store.batch.borrow()) {
                return Ok(v);
            }
        }
        Ok(self.one::<i64>(what, sql, params)?.map(|v| v as u64))
    }
}

impl Rows for Reader<'_> {
    fn customer_version(&self, id: CustomerId) -> Result<Option<u64>> {
        self.version(
            |c| c.customer_version(self.tenant, id).map(Some),
            "a customer",
            "SELECT version FROM customers WHERE tenant = ?1 AND id = ?2",
            &[&self.tenant_blob, &blob(id.as_uuid())],
        )
    }

    fn conversation_version(&self, id: ConversationId) -> Result<Option<u64>> {
        self.version(
            |c| c.conversation_version(self.tenant, id).map(Some),
            "a conversation",
            "SELECT version FROM conversations WHERE tenant = ?1 AND id = ?2",
            &[&self.tenant_blob, &blob(id.as_uuid())],
        )
    }

    fn conversation_elsewhere(&self, id: ConversationId) -> Result<bool> {
        if self.cached {
            if let Some(c) = self.store.batch.borrow().conversation(None, id) {
                return Ok(c.tenant != self.tenant);
            }
        }
        Ok(self
            .one::<i64>(
                "a conversation",
                "SELECT 1 FROM conversations WHERE id = ?1 AND tenant <> ?2",
                &[&blob(id.as_uuid()), &self.tenant_blob],
            )?
            .is_some())
    }

    fn owner(&self, identifier: &Identifier) -> Result<Option<CustomerId>> {
        let key = ident_key(identifier);
        if self.cached {
            if let Some(owner) = self.store.batch.borrow().owner(self.tenant, &key) {
                return Ok(owner);
            }
        }
        let owner = self.one::<Vec<u8>>(
            "an identifier",
            "SELECT customer FROM identifiers WHERE tenant = ?1 AND ident = ?2",
            &[&self.tenant_blob, &key],
        )?;
        owner.map(|b| customer_of(&b)).transpose()
    }

    fn message(&self, id: MessageId) -> Result<Option<MessageKey<'_>>> {
        let row = self
            .store
            .conn
            .prepare_cached(
                "SELECT channel, external_id, conversation FROM messages \
                 WHERE tenant = ?1 AND id = ?2",
            )
            .and_then(|mut s| {
                s.query_row(
                    rusqlite::params![self.tenant_blob, blob(id.as_uuid())],
                    |r| {
                        Ok((
                            r.get::<_, String>(0)?,
                            r.get::<_, Option<String>>(1)?,
                            r.get::<_, [u8; 16]>(2)?,
                        ))
                    },
                )
                .optional()
            })
            .map_err(|e| sql_error("cannot check a message", e))?;
        Ok(row.map(|(channel, external_id, conversation)| MessageKey {
            channel: Cow::Owned(channel),
            external_id: external_id.map(Cow::Owned),
            conversation: ConversationId::from_uuid(uuid::Uuid::from_bytes(conversation)),
        }))
    }

    fn dedup_taken(&self, channel: &Channel, external_id: &str) -> Result<bool> {
        Ok(self
            .one::<i64>(
                "a deduplication key",
                "SELECT 1 FROM messages WHERE tenant = ?1 AND channel = ?2 AND external_id = ?3",
                &[&self.tenant_blob, &channel.name(), &external_id],
            )?
            .is_some())
    }

    fn record_version(&self, kind: &str, key: &str) -> Result<Option<u64>> {
        self.version(
            |c| c.record_version(self.tenant, kind, key),
            "a record",
            "SELECT version FROM records WHERE tenant = ?1 AND kind = ?2 AND key = ?3",
            &[&self.tenant_blob, &kind, &key],
        )
    }
}

impl SqliteStore {
    /// The rows of `tenant` as the rules see them: through the batch cache when `cached`.
    pub(super) fn rule_rows(&self, tenant: TenantId, cached: bool) -> Reader<'_> {
        Reader {
            store: self,
            tenant,
            tenant_blob: blob(tenant.as_uuid()),
            cached: cached && self.in_batch(),
        }
    }

    /// Checks every condition `changes`' writes depend on, before any of them, in the
    /// order they will be written (`first` first; see the module docs). Only meaningful
    /// inside a batch, where nothing else writes. A violation is reported as the rules
    /// report it for the ops in their own order (the first one written was taken as
    /// valid).
    pub(super) fn check_ops(&self, changes: &ChangeSet, first: Option<usize>) -> Result<()> {
        let rows = self.rule_rows(changes.tenant, true);
        let mut checker = rules::Checker::default();
        let mut ops = super::write::in_order(&changes.ops, first);
        if let Some(op) = ops.next() {
            // Its write checks it.
            checker.assume(op);
        }
        for op in ops {
            if let Err(e) = checker.check(op, &rows) {
                return rules::check_all(&changes.ops, &rows).and(Err(e));
            }
        }
        Ok(())
    }

    /// The rules' error for the first of `unwritten` (the change set's ops not written
    /// yet, in their order) that breaks them, as the rows stand after the written ones;
    /// `None` when none does (a write failed for a reason the rules do not know, such as
    /// a missing conversation).
    pub(super) fn explain<'a>(
        &self,
        tenant: TenantId,
        unwritten: impl IntoIterator<Item = &'a Op>,
    ) -> Option<Error> {
        match rules::check_all(unwritten, &self.rule_rows(tenant, false)) {
            Err(e @ Error::Conflict(_)) => Some(e),
            _ => None,
        }
    }
}
