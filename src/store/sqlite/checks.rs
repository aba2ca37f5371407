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
//! The checks read the batch cache first: most rows a change set writes were read (or
//! written) earlier in the same batch. The first op written needs no read at all: if its
//! write fails, nothing of the change set has been written yet (a change set's new
//! message is written first for that reason, when its conversation already exists: its
//! id and deduplication key would take two reads).

use std::collections::HashMap;

use rusqlite::OptionalExtension;

use super::read::{blob, ident_key};
use super::{sql_error, SqliteStore};
use crate::error::{Error, Result};
use crate::id::{ConversationId, CustomerId, MessageId, TenantId};
use crate::identity::Identifier;
use crate::store::{check_record_version, check_version, ChangeSet, Op};

/// A row a change set's ops may touch twice.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Row<'a> {
    Customer(CustomerId),
    Conversation(ConversationId),
    Identifier(&'a Identifier),
    Message(MessageId),
    /// A channel's name and an external id.
    Dedup(String, String),
    Record(&'a str, &'a str),
}

/// What the ops before the current one left in a row (if they touched it).
#[derive(Debug, Clone, PartialEq)]
enum State {
    /// A versioned row (customer, conversation, record); `None`: no row.
    Version(Option<u64>),
    /// An identifier's owner; `None`: no row.
    Owner(Option<CustomerId>),
    /// A message's channel and external id; `None`: no row.
    Message(Option<(String, Option<String>)>),
    /// Whether a deduplication key is taken.
    Taken(bool),
}

fn conflict(msg: String) -> Error {
    Error::Conflict(msg)
}

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

/// The states a change set's earlier ops left. Most change sets have a handful of ops,
/// where a list costs less than a hash map's hashing; a tick's change set can touch
/// hundreds of rows, and past [`Seen::LIST_MAX`] rows a hash map finds them, so a change
/// set's checks never cost the square of its size.
#[derive(Default)]
struct Seen<'a> {
    list: Vec<(Row<'a>, State)>,
    /// Each row's place in `list`, once it is longer than [`Seen::LIST_MAX`].
    index: Option<HashMap<Row<'a>, usize>>,
}

impl<'a> Seen<'a> {
    /// The longest list searched entry by entry.
    const LIST_MAX: usize = 16;

    fn position(&self, row: &Row<'a>) -> Option<usize> {
        match &self.index {
            Some(index) => index.get(row).copied(),
            None => self.list.iter().position(|(r, _)| r == row),
        }
    }

    fn get(&self, row: &Row<'a>) -> Option<&State> {
        self.position(row).map(|i| &self.list[i].1)
    }

    fn insert(&mut self, row: Row<'a>, state: State) {
        if let Some(i) = self.position(&row) {
            self.list[i].1 = state;
            return;
        }
        if let Some(index) = &mut self.index {
            index.insert(row.clone(), self.list.len());
        } else if self.list.len() == Self::LIST_MAX {
            let mut index: HashMap<Row<'a>, usize> = self
                .list
                .iter()
                .enumerate()
                .map(|(i, (r, _))| (r.clone(), i))
                .collect();
            index.insert(row.clone(), self.list.len());
            self.index = Some(index);
        }
        self.list.push((row, state));
    }
}

/// The checks of one change set: the states its earlier ops left, and the reads.
struct Checker<'s, 'a> {
    store: &'s SqliteStore,
    tenant: TenantId,
    tenant_blob: [u8; 16],
    seen: Seen<'a>,
    /// True for the change set's first op: its state is taken from the op itself, unread.
    first: bool,
}

impl<'a> Checker<'_, 'a> {
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

    /// A versioned row's state: the cached version (`Some(None)`: known missing), or
    /// the version `sql` reads.
    fn versioned(
        &self,
        cached: Option<Option<u64>>,
        what: &str,
        sql: &str,
        params: &[&dyn rusqlite::ToSql],
    ) -> Result<State> {
        let version = match cached {
            Some(v) => v,
            None => self.one::<i64>(what, sql, params)?.map(|v| v as u64),
        };
        Ok(State::Version(version))
    }

    /// The state of `row` before the current op: from an earlier op, the batch cache or
    /// a read.
    fn state(&mut self, row: Row<'a>) -> Result<State> {
        if let Some(s) = self.seen.get(&row) {
            return Ok(s.clone());
        }
        let t = &self.tenant_blob;
        let cache = self.store.batch.borrow();
        let state = match &row {
            Row::Customer(id) => self.versioned(
                cache.customer_version(self.tenant, *id).map(Some),
                "a customer",
                "SELECT version FROM customers WHERE tenant = ?1 AND id = ?2",
                &[t, &blob(id.as_uuid())],
            )?,
            Row::Conversation(id) => self.versioned(
                cache.conversation_version(self.tenant, *id).map(Some),
                "a conversation",
                "SELECT version FROM conversations WHERE tenant = ?1 AND id = ?2",
                &[t, &blob(id.as_uuid())],
            )?,
            Row::Identifier(i) => {
                let key = ident_key(i);
                match cache.owner(self.tenant, &key) {
                    Some(owner) => State::Owner(owner),
                    None => {
                        let owner = self.one::<Vec<u8>>(
                            "an identifier",
                            "SELECT customer FROM identifiers WHERE tenant = ?1 AND ident = ?2",
                            &[t, &key],
                        )?;
                        State::Owner(owner.map(|b| customer_of(&b)).transpose()?)
                    }
                }
            }
            Row::Message(id) => State::Message(
                self.store
                    .conn
                    .prepare_cached(
                        "SELECT channel, external_id FROM messages WHERE tenant = ?1 AND id = ?2",
                    )
                    .and_then(|mut s| {
                        s.query_row(rusqlite::params![t, blob(id.as_uuid())], |r| {
                            Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?))
                        })
                        .optional()
                    })
                    .map_err(|e| sql_error("cannot check a message", e))?,
            ),
            Row::Dedup(channel, ext) => State::Taken(
                self.one::<i64>(
                    "a deduplication key",
                    "SELECT 1 FROM messages WHERE tenant = ?1 AND channel = ?2 AND external_id = ?3",
                    &[t, channel, ext],
                )?
                .is_some(),
            ),
            Row::Record(kind, key) => self.versioned(
                cache.record_version(self.tenant, kind, key),
                "a record",
                "SELECT version FROM records WHERE tenant = ?1 AND kind = ?2 AND key = ?3",
                &[t, kind, key],
            )?,
        };
        Ok(state)
    }

    /// The stored version of a versioned row (the first op's own expectation, unread).
    fn version(&mut self, row: Row<'a>, version: u64) -> Result<Option<u64>> {
        if self.first {
            return Ok((version > 1).then(|| version - 1));
        }
        match self.state(row)? {
            State::Version(v) => Ok(v),
            _ => Ok(None),
        }
    }

    fn owner(
        &mut self,
        identifier: &'a Identifier,
        expected: Option<CustomerId>,
    ) -> Result<Option<CustomerId>> {
        if self.first {
            return Ok(expected);
        }
        match self.state(Row::Identifier(identifier))? {
            State::Owner(o) => Ok(o),
            _ => Ok(None),
        }
    }

    /// Checks `op` against the rows as the earlier ops left them, then notes its effect.
    fn check(&mut self, op: &'a Op) -> Result<()> {
        match op {
            Op::PutCustomer(c) => {
                let stored = self.version(Row::Customer(c.id), c.version)?;
                check_version(&"customer", &c.id, stored, c.version)?;
                self.seen
                    .insert(Row::Customer(c.id), State::Version(Some(c.version)));
            }
            Op::PutConversation(c) => {
                let stored = self.version(Row::Conversation(c.id), c.version)?;
                check_version(&"conversation", &c.id, stored, c.version)?;
                if c.version == 1 && !self.first && self.taken_elsewhere(c.id)? {
                    return Err(conflict(format!(
                        "conversation {} exists in another tenant",
                        c.id
                    )));
                }
                self.seen
                    .insert(Row::Conversation(c.id), State::Version(Some(c.version)));
            }
            Op::PutIdentifier {
                record,
                expected_owner,
            } => {
                let current = self.owner(&record.identifier, *expected_owner)?;
                if current != *expected_owner {
                    return Err(conflict(format!(
                        "identifier {} belongs to {current:?}, the writer expected {expected_owner:?}",
                        record.identifier
                    )));
                }
                self.seen.insert(
                    Row::Identifier(&record.identifier),
                    State::Owner(Some(record.customer)),
                );
            }
            Op::DeleteIdentifier { identifier, owner } => {
                let current = self.owner(identifier, Some(*owner))?;
                if current != Some(*owner) {
                    return Err(conflict(format!(
                        "identifier {identifier} does not belong to {owner}"
                    )));
                }
                self.seen
                    .insert(Row::Identifier(identifier), State::Owner(None));
            }
            Op::InsertMessage(m) => {
                if !self.first {
                    if self.state(Row::Message(m.id))? != State::Message(None) {
                        return Err(conflict(format!("message {} is already stored", m.id)));
                    }
                    if let Some(ext) = &m.external_id {
                        let key = Row::Dedup(m.channel.to_string(), ext.clone());
                        if self.state(key)? != State::Taken(false) {
                            return Err(conflict(format!(
                                "message {ext:?} on {} is already stored",
                                m.channel
                            )));
                        }
                    }
                }
                self.seen.insert(
                    Row::Message(m.id),
                    State::Message(Some((m.channel.to_string(), m.external_id.clone()))),
                );
                if let Some(ext) = &m.external_id {
                    self.seen.insert(
                        Row::Dedup(m.channel.to_string(), ext.clone()),
                        State::Taken(true),
                    );
                }
            }
            Op::UpdateMessage(m) => {
                if !self.first {
                    let same = matches!(
                        self.state(Row::Message(m.id))?,
                        State::Message(Some((channel, ext)))
                            if channel == m.channel.to_string() && ext == m.external_id
                    );
                    if !same {
                        return Err(conflict(format!(
                            "message {} does not exist or the update changes its deduplication key",
                            m.id
                        )));
                    }
                }
            }
            Op::RedactMessage(m) => {
                // The statement keeps the stored channel and changes the external id,
                // which must then be free on that channel.
                let stored = if self.first {
                    Some((m.channel.to_string(), m.external_id.clone()))
                } else {
                    match self.state(Row::Message(m.id))? {
                        State::Message(stored) => stored,
                        _ => None,
                    }
                };
                let Some((channel, old)) = stored else {
                    return Err(conflict(format!("message {} does not exist", m.id)));
                };
                if old != m.external_id {
                    if let Some(ext) = &m.external_id {
                        let key = Row::Dedup(channel.clone(), ext.clone());
                        if !self.first && self.state(key)? != State::Taken(false) {
                            return Err(conflict(format!(
                                "message {ext:?} on {channel} is already stored"
                            )));
                        }
                        self.seen
                            .insert(Row::Dedup(channel.clone(), ext.clone()), State::Taken(true));
                    }
                    if let Some(old) = old {
                        self.seen
                            .insert(Row::Dedup(channel.clone(), old), State::Taken(false));
                    }
                }
                self.seen.insert(
                    Row::Message(m.id),
                    State::Message(Some((channel, m.external_id.clone()))),
                );
            }
            Op::PutRecord(r) => {
                let stored = self.version(Row::Record(&r.kind, &r.key), r.version)?;
                check_record_version(r, stored)?;
                self.seen.insert(
                    Row::Record(&r.kind, &r.key),
                    State::Version(Some(r.version)),
                );
            }
            Op::DeleteRecord { kind, key, version } => {
                let stored = if self.first {
                    Some(*version)
                } else {
                    match self.state(Row::Record(kind, key))? {
                        State::Version(v) => v,
                        _ => None,
                    }
                };
                if stored != Some(*version) {
                    return Err(conflict(format!(
                        "{kind} record {key} version {version} is not the stored one"
                    )));
                }
                self.seen
                    .insert(Row::Record(kind, key), State::Version(None));
            }
            // `INSERT OR IGNORE` and deletions of keys that may be missing: never fail.
            Op::PutThreadKey { .. }
            | Op::DeleteThreadKey { .. }
            | Op::DeleteThreadKeysOf { .. } => {}
        }
        Ok(())
    }

    /// Whether a conversation id is taken in another tenant (ids are unique across
    /// tenants).
    fn taken_elsewhere(&self, id: ConversationId) -> Result<bool> {
        if self.store.batch.borrow().conversation(None, id).is_some() {
            return Ok(true);
        }
        Ok(self
            .one::<i64>(
                "a conversation",
                "SELECT 1 FROM conversations WHERE id = ?1",
                &[&blob(id.as_uuid())],
            )?
            .is_some())
    }
}

impl SqliteStore {
    /// Checks every condition `changes`' writes depend on, before any of them, in the
    /// order they will be written (`first` first; see the module docs). Only meaningful
    /// inside a batch, where nothing else writes.
    pub(super) fn check_ops(&self, changes: &ChangeSet, first: Option<usize>) -> Result<()> {
        let mut checker = Checker {
            store: self,
            tenant: changes.tenant,
            tenant_blob: blob(changes.tenant.as_uuid()),
            seen: Seen::default(),
            first: true,
        };
        for op in super::write::in_order(&changes.ops, first) {
            checker.check(op)?;
            checker.first = false;
        }
        Ok(())
    }
}
