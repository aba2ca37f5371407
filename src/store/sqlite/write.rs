//! The write half: one transaction per change set (a savepoint inside a batch), with the
//! [`Store`](crate::store::Store) contract's version and ownership checks as conditional
//! statements, and uniqueness left to the schema's constraints. A write whose row is not
//! the expected one is explained by the change-set rules (`checks.rs`).

use rusqlite::{params, Transaction, TransactionBehavior};

use super::batch::{ChangeSavepoint, OpenBatch};
use super::inbox::InboxColumns;
use super::read::{blob, ident_key};
use super::{json, message_row, sql_error, ts, SqliteStore};
use crate::conversation::{Conversation, Status};
use crate::error::{Error, Result};
use crate::id::CustomerId;
use crate::identity::{Customer, Identifier, IdentifierRecord};
use crate::message::{Delivery, Message};
use crate::store::{ChangeSet, Op, Record};

fn conflict(msg: String) -> Error {
    Error::Conflict(msg)
}

/// The error of an apply to, or the commit of, a batch that was rolled back.
fn lost(why: &str) -> Error {
    Error::Store {
        message: format!("the batch was rolled back, nothing in it landed: a write failed ({why})"),
        source: None,
    }
}

/// The error of a write that found its row other than the change set expects, when the
/// rules name no violation.
fn unexpected(what: std::fmt::Arguments<'_>) -> Error {
    conflict(format!(
        "{what} was not written: the stored row is not the one the change set expects"
    ))
}

/// A conversation's common update: customer and opening time unchanged (see
/// `put_conversation`).
pub(super) const CONVERSATION_UPDATE: &str =
    "UPDATE conversations SET closed = ?5, version = ?6, data = ?7, status = ?8, \
     assignee = ?9, updated = ?10 \
     WHERE tenant = ?1 AND id = ?2 AND version = ?6 - 1 \
     AND customer = ?3 AND created = ?4";

impl SqliteStore {
    /// Applies a change set atomically: its own `BEGIN IMMEDIATE` transaction, or, in a
    /// batch, a savepoint of the batch's transaction (see [`SqliteStore::apply_in_batch`]).
    pub(super) fn apply_changes(&mut self, changes: ChangeSet) -> Result<()> {
        changes.check_tenant()?;
        if self.in_batch() {
            return self.apply_in_batch(changes);
        }
        // Rolled back when dropped uncommitted: a failed write, a failed commit, a panic.
        let tx = Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate)
            .map_err(|e| sql_error("cannot begin a transaction", e))?;
        self.write_in_order(&changes)?;
        tx.commit()
            .map_err(|e| sql_error("cannot commit a change", e))?;
        self.committed(1);
        Ok(())
    }

    /// A change set inside a batch: a savepoint of the batch's transaction, rolled back
    /// to when a write fails (or a panic unwinds through the writes), so a failing
    /// change set leaves no trace and the others stay. A write after which SQLite ended
    /// the transaction itself (a full disk) loses the whole batch: its later applies
    /// fail and committing it reports that nothing landed.
    fn apply_in_batch(&mut self, changes: ChangeSet) -> Result<()> {
        if let Some(why) = self.open_batch.as_ref().and_then(|b| b.lost(&self.conn)) {
            return Err(lost(&why));
        }
        let savepoint = ChangeSavepoint::begin(&self.conn)?;
        let Err(e) = self.write_in_order(&changes) else {
            savepoint.release()?;
            self.batch.get_mut().applied(changes);
            return Ok(());
        };
        drop(savepoint);
        // Whatever the failed writes read into the cache may have been rolled back.
        self.batch.get_mut().clear();
        if self.conn.is_autocommit() {
            // SQLite rolled the whole transaction back (a full disk): the batch is lost.
            if let Some(batch) = &mut self.open_batch {
                batch.lose(e.to_string());
            }
        }
        Err(e)
    }

    /// Starts a batch: later applies join one transaction.
    pub(super) fn start_batch(&mut self) -> Result<()> {
        if self.in_batch() {
            return Err(Error::Store {
                message: "a batch is already open on this store".into(),
                source: None,
            });
        }
        // The cache is empty: the last batch's end emptied it, and nothing fills it outside one.
        self.open_batch = Some(OpenBatch::begin(&self.conn)?);
        // Only a tuning: the batch stands whether or not the cache grew.
        let _ = self.grow_cache();
        Ok(())
    }

    /// Commits (or rolls back) the batch's transaction.
    pub(super) fn finish_batch(&mut self, commit: bool) -> Result<()> {
        let Some(batch) = self.open_batch.take() else {
            return Ok(());
        };
        self.batch.get_mut().clear();
        if let Some(why) = batch.lost(&self.conn) {
            // Already rolled back: nothing to end.
            return if commit { Err(lost(&why)) } else { Ok(()) };
        }
        batch.end(&self.conn, commit)?;
        if commit {
            // A batch writes many pages: worth a checkpoint of its own.
            self.committed(super::checkpoint::COMMITS_PER_CHECKPOINT);
        }
        Ok(())
    }

    /// Tells the background checkpointer (if any) about a commit worth `commits`, and
    /// lets the page cache grow once the database is large.
    fn committed(&mut self, commits: u32) {
        if let Some(c) = &mut self.checkpointer {
            c.committed(commits);
        }
        // Only a tuning: a failed check leaves the cache as it was and the commit stands.
        let _ = self.grow_cache_if_large();
    }

    fn changed(&self, what: &str, sql: &str, params: &[&dyn rusqlite::ToSql]) -> Result<usize> {
        self.conn
            .prepare_cached(sql)
            .and_then(|mut s| s.execute(params))
            .map_err(|e| sql_error(format!("cannot write {what}"), e))
    }

    /// Writes `changes`' ops in their order. A write that conflicts is explained by the
    /// rules, for the ops not written yet.
    fn write_in_order(&self, changes: &ChangeSet) -> Result<()> {
        let tenant = blob(changes.tenant.as_uuid());
        for (n, op) in changes.ops.iter().enumerate() {
            match self.write_op(&tenant, op) {
                Ok(()) => {}
                Err(e @ Error::Conflict(_)) => {
                    return Err(self.explain(changes.tenant, &changes.ops[n..]).unwrap_or(e));
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Writes one op; [`Error::Conflict`] when its row is not the expected one.
    fn write_op(&self, tenant: &[u8; 16], op: &Op) -> Result<()> {
        match op {
            Op::PutCustomer(c) => self.put_customer(tenant, c),
            Op::PutConversation(c) => self.put_conversation(tenant, c),
            Op::PutIdentifier {
                record,
                expected_owner,
            } => self.put_identifier(tenant, record, *expected_owner),
            Op::InsertMessage(m) => self.message_row(tenant, m, true).map(|_| ()),
            Op::UpdateMessage(m) => match self.message_row(tenant, m, false)? {
                1 => Ok(()),
                _ => Err(unexpected(format_args!("message {}", m.id))),
            },
            Op::RedactMessage(m) => self.redact_message(tenant, m),
            Op::DeleteIdentifier { identifier, owner } => {
                self.delete_identifier(tenant, identifier, *owner)
            }
            Op::PutThreadKey { key, conversation } => self
                .changed(
                    "a thread key",
                    "INSERT OR IGNORE INTO threads (tenant, key, conversation) VALUES (?1, ?2, ?3)",
                    &[tenant, key, &blob(conversation.as_uuid())],
                )
                .map(|_| ()),
            Op::DeleteThreadKey { key } => self
                .changed(
                    "a thread key",
                    "DELETE FROM threads WHERE tenant = ?1 AND key = ?2",
                    &[tenant, key],
                )
                .map(|_| ()),
            Op::DeleteThreadKeysOf { conversation } => self
                .changed(
                    "thread keys",
                    "DELETE FROM threads WHERE tenant = ?1 AND conversation = ?2",
                    &[tenant, &blob(conversation.as_uuid())],
                )
                .map(|_| ()),
            Op::MoveThreadKeys { from, to } => self
                .changed(
                    "thread keys",
                    "UPDATE threads SET conversation = ?3 WHERE tenant = ?1 AND conversation = ?2",
                    &[tenant, &blob(from.as_uuid()), &blob(to.as_uuid())],
                )
                .map(|_| ()),
            Op::PutRecord(r) => self.put_record(tenant, r),
            Op::DeleteRecord { kind, key, version } => {
                let v = *version as i64;
                let n = self.changed(
                    "a record",
                    "DELETE FROM records WHERE tenant = ?1 AND kind = ?2 AND key = ?3 AND version = ?4",
                    &[tenant, kind, key, &v],
                )?;
                match n {
                    1 => Ok(()),
                    _ => Err(unexpected(format_args!(
                        "{kind} record {key} version {version}"
                    ))),
                }
            }
        }
    }

    fn put_customer(&self, tenant: &[u8; 16], c: &Customer) -> Result<()> {
        let data = json(c)?;
        let id = blob(c.id.as_uuid());
        let version = c.version as i64;
        let sql = if c.version == 1 {
            "INSERT INTO customers (tenant, id, version, data) VALUES (?1, ?2, ?3, ?4)"
        } else {
            "UPDATE customers SET version = ?3, data = ?4 \
             WHERE tenant = ?1 AND id = ?2 AND version = ?3 - 1"
        };
        match self.changed("a customer", sql, &[tenant, &id, &version, &data])? {
            1 => Ok(()),
            _ => Err(unexpected(format_args!(
                "customer {} version {}",
                c.id, c.version
            ))),
        }
    }

    fn put_conversation(&self, tenant: &[u8; 16], c: &Conversation) -> Result<()> {
        let data = json(c)?;
        let id = blob(c.id.as_uuid());
        let customer = blob(c.customer.as_uuid());
        let created = ts(c.created_at)?;
        let closed = i64::from(c.status == Status::Closed);
        let version = c.version as i64;
        let inbox = InboxColumns::of(c)?;
        let params: [&dyn rusqlite::ToSql; 10] = [
            tenant,
            &id,
            &customer,
            &created,
            &closed,
            &version,
            &data,
            &inbox.status,
            &inbox.assignee,
            &inbox.updated,
        ];
        let n = if c.version == 1 {
            self.changed(
                "a conversation",
                "INSERT INTO conversations (tenant, id, customer, created, closed, version, data, \
                 status, assignee, updated) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                &params,
            )?
        } else {
            // The common update leaves the customer and opening time alone, so SQLite
            // does not rewrite the two indexes on them; a merge moving the conversation
            // takes the second statement. The inbox columns are set every time (the
            // update time changes with nearly every write).
            match self.changed("a conversation", CONVERSATION_UPDATE, &params)? {
                0 => self.changed(
                    "a conversation",
                    "UPDATE conversations SET customer = ?3, created = ?4, closed = ?5, \
                     version = ?6, data = ?7, status = ?8, assignee = ?9, updated = ?10 \
                     WHERE tenant = ?1 AND id = ?2 AND version = ?6 - 1",
                    &params,
                )?,
                n => n,
            }
        };
        match n {
            1 => Ok(()),
            _ => Err(unexpected(format_args!(
                "conversation {} version {}",
                c.id, c.version
            ))),
        }
    }

    fn put_identifier(
        &self,
        tenant: &[u8; 16],
        record: &IdentifierRecord,
        expected_owner: Option<CustomerId>,
    ) -> Result<()> {
        const INSERT: &str =
            "INSERT INTO identifiers (tenant, ident, customer, data) VALUES (?1, ?2, ?3, ?4)";
        let key = ident_key(&record.identifier);
        let data = json(record)?;
        let customer = blob(record.customer.as_uuid());
        let ok = match expected_owner {
            None => self.changed("an identifier", INSERT, &[tenant, &key, &customer, &data])? == 1,
            Some(owner) if owner == record.customer => self.changed(
                "an identifier",
                "UPDATE identifiers SET data = ?4 WHERE tenant = ?1 AND ident = ?2 AND customer = ?3",
                &[tenant, &key, &customer, &data],
            )? == 1,
            Some(owner) => {
                // A new owner: delete and insert, so it is the newest of its new owner's
                // identifiers.
                self.delete_identifier(tenant, &record.identifier, owner)?;
                self.changed("an identifier", INSERT, &[tenant, &key, &customer, &data])? == 1
            }
        };
        match ok {
            true => Ok(()),
            false => Err(unexpected(format_args!("identifier {}", record.identifier))),
        }
    }

    fn delete_identifier(
        &self,
        tenant: &[u8; 16],
        identifier: &Identifier,
        owner: CustomerId,
    ) -> Result<()> {
        let n = self.changed(
            "an identifier",
            "DELETE FROM identifiers WHERE tenant = ?1 AND ident = ?2 AND customer = ?3",
            &[tenant, &ident_key(identifier), &blob(owner.as_uuid())],
        )?;
        match n {
            1 => Ok(()),
            _ => Err(unexpected(format_args!("identifier {identifier}"))),
        }
    }

    /// A redaction keeps the stored channel and conversation and may change the
    /// external id (the deduplication index follows).
    fn redact_message(&self, tenant: &[u8; 16], m: &Message) -> Result<()> {
        let n = self.changed(
            "a message",
            "UPDATE messages SET external_id = ?3, pending = ?4, data = ?5 \
             WHERE tenant = ?1 AND id = ?2 AND channel = ?6 AND conversation = ?7",
            &[
                tenant,
                &blob(m.id.as_uuid()),
                &m.external_id,
                &i64::from(matches!(m.delivery, Some(Delivery::Pending))),
                &message_row::encode(m)?,
                &m.channel.name(),
                &blob(m.conversation.as_uuid()),
            ],
        )?;
        match n {
            1 => Ok(()),
            _ => Err(unexpected(format_args!("message {}", m.id))),
        }
    }

    fn put_record(&self, tenant: &[u8; 16], r: &Record) -> Result<()> {
        let value = r.value.get().as_bytes();
        let due = r.due.map(ts).transpose()?;
        let version = r.version as i64;
        let params: [&dyn rusqlite::ToSql; 7] = [
            tenant,
            &r.kind,
            &r.key,
            &r.secondary,
            &due,
            &version,
            &value,
        ];
        let n = if r.version == 1 {
            self.changed(
                "a record",
                "INSERT INTO records (tenant, kind, key, secondary, due, version, value) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                &params,
            )?
        } else {
            self.update_record(&r.kind, &params)?
        };
        match n {
            1 => Ok(()),
            _ => Err(unexpected(format_args!(
                "{} record {} version {}",
                r.kind, r.key, r.version
            ))),
        }
    }

    /// Updates a record row (`params` as for its insert); the rows changed.
    ///
    /// SQLite rewrites the entries of every index whose columns the SET clause names,
    /// changed or not: when the due time and secondary key stay (a customer's second
    /// message before any reply, say), the narrow statement leaves both indexes alone.
    /// Exactly one of the two matches (unless the version does not follow); the kind's
    /// habit says which to try first.
    fn update_record(&self, kind: &str, params: &[&dyn rusqlite::ToSql; 7]) -> Result<usize> {
        const NARROW: &str = "UPDATE records SET version = ?6, value = ?7 \
             WHERE tenant = ?1 AND kind = ?2 AND key = ?3 AND version = ?6 - 1 \
             AND secondary IS ?4 AND due IS ?5";
        const MOVING: &str =
            "UPDATE records SET secondary = ?4, due = ?5, version = ?6, value = ?7 \
             WHERE tenant = ?1 AND kind = ?2 AND key = ?3 AND version = ?6 - 1 \
             AND (secondary IS NOT ?4 OR due IS NOT ?5)";
        let order = if self.record_updates.borrow().narrow_first(kind) {
            [NARROW, MOVING]
        } else {
            [MOVING, NARROW]
        };
        for sql in order {
            let n = self.changed("a record", sql, params)?;
            if n != 0 {
                self.record_updates
                    .borrow_mut()
                    .observe(kind, sql == NARROW);
                return Ok(n);
            }
        }
        Ok(0)
    }

    fn message_row(&self, tenant: &[u8; 16], m: &Message, insert: bool) -> Result<usize> {
        let data = message_row::encode(m)?;
        let pending = i64::from(matches!(m.delivery, Some(Delivery::Pending)));
        let (id, conv) = (blob(m.id.as_uuid()), blob(m.conversation.as_uuid()));
        let (sent, received) = (ts(m.sent_at)?, ts(m.received_at)?);
        let channel = m.channel.to_string();
        if insert {
            self.conn
                .prepare_cached(
                    "INSERT INTO messages (tenant, id, conversation, channel, external_id, sent, received, pending, data) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                )
                .and_then(|mut s| {
                    s.execute(params![tenant, id, conv, channel, m.external_id, sent, received, pending, data])
                })
                .map_err(|e| sql_error("cannot store a message", e))
        } else {
            self.conn
                .prepare_cached(
                    "UPDATE messages SET conversation = ?3, sent = ?6, received = ?7, pending = ?8, data = ?9 \
                     WHERE tenant = ?1 AND id = ?2 AND channel = ?4 AND external_id IS ?5",
                )
                .and_then(|mut s| {
                    s.execute(params![tenant, id, conv, channel, m.external_id, sent, received, pending, data])
                })
                .map_err(|e| sql_error("cannot update a message", e))
        }
    }
}
