//! Why a change set's write failed, in the change-set rules' words.
//!
//! A write whose row is not the one the change set expects (it changes no row, or breaks
//! a constraint) is explained by the store-independent rules of [`rules`]
//! ([`SqliteStore::explain`]): this file answers their questions ([`Rows`]) from SQLite,
//! one indexed read each, so the error is the one `MemoryStore` gives for the same change
//! set.

use std::borrow::Cow;

use rusqlite::OptionalExtension;

use super::read::{blob, ident_key};
use super::{sql_error, SqliteStore};
use crate::channel::Channel;
use crate::error::{Error, Result};
use crate::id::{ConversationId, CustomerId, MessageId, TenantId};
use crate::identity::Identifier;
use crate::store::rules::{self, MessageKey, Rows};
use crate::store::Op;

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

/// One tenant's rows as the rules ask about them, by reads.
pub(super) struct Reader<'s> {
    store: &'s SqliteStore,
    tenant_blob: [u8; 16],
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

    /// The version `sql` reads (`None`: no such row).
    fn version(
        &self,
        what: &str,
        sql: &str,
        params: &[&dyn rusqlite::ToSql],
    ) -> Result<Option<u64>> {
        Ok(self.one::<i64>(what, sql, params)?.map(|v| v as u64))
    }
}

impl Rows for Reader<'_> {
    fn customer_version(&self, id: CustomerId) -> Result<Option<u64>> {
        self.version(
            "a customer",
            "SELECT version FROM customers WHERE tenant = ?1 AND id = ?2",
            &[&self.tenant_blob, &blob(id.as_uuid())],
        )
    }

    fn conversation_version(&self, id: ConversationId) -> Result<Option<u64>> {
        self.version(
            "a conversation",
            "SELECT version FROM conversations WHERE tenant = ?1 AND id = ?2",
            &[&self.tenant_blob, &blob(id.as_uuid())],
        )
    }

    fn conversation_elsewhere(&self, id: ConversationId) -> Result<bool> {
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
            "a record",
            "SELECT version FROM records WHERE tenant = ?1 AND kind = ?2 AND key = ?3",
            &[&self.tenant_blob, &kind, &key],
        )
    }
}

impl SqliteStore {
    /// The rows of `tenant` as the rules see them.
    pub(super) fn rule_rows(&self, tenant: TenantId) -> Reader<'_> {
        Reader {
            store: self,
            tenant_blob: blob(tenant.as_uuid()),
        }
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
        match rules::check_all(unwritten, &self.rule_rows(tenant)) {
            Err(e @ Error::Conflict(_)) => Some(e),
            _ => None,
        }
    }
}
