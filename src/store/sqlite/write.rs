//! The write half: one transaction per change set (checks, then writes, inside a batch), with the
//! [`Store`](crate::store::Store) contract's version and ownership checks as conditional
//! statements, and uniqueness left to the schema's constraints.

use rusqlite::params;

use super::read::{blob, ident_key};
use super::{json, message_row, sql_error, ts, SqliteStore};
use crate::error::{Error, Result};
use crate::message::{Delivery, Message};
use crate::store::{ChangeSet, Op};

fn conflict(msg: String) -> Error {
    Error::Conflict(msg)
}

/// The op to write first in a batch, so that its checks need no read (see `checks.rs`):
/// a change set's only new message, unless another op touches messages or creates a
/// conversation (the order of the others is kept). Written before its new conversation,
/// a message's foreign key is unsatisfied until the conversation is written; with that
/// order the simulated month's Desk thread ran 2.7 times the instructions
/// (`valgrind --tool=callgrind`), most of them in SQLite b-tree steps under the writes.
pub(super) fn lead(ops: &[Op]) -> Option<usize> {
    let mut inserts = ops
        .iter()
        .enumerate()
        .filter(|(_, op)| matches!(op, Op::InsertMessage(_)));
    let others = ops.iter().any(|op| match op {
        Op::UpdateMessage(_) | Op::RedactMessage(_) => true,
        Op::PutConversation(c) => c.version == 1,
        _ => false,
    });
    match (inserts.next(), inserts.next(), others) {
        (Some((i, _)), None, false) => Some(i),
        _ => None,
    }
}

/// `ops`, the one at index `first` (if any) first, then the others in their order.
pub(super) fn in_order(ops: &[Op], first: Option<usize>) -> impl Iterator<Item = &Op> {
    first.and_then(|i| ops.get(i)).into_iter().chain(
        ops.iter()
            .enumerate()
            .filter(move |(i, _)| Some(*i) != first)
            .map(|(_, op)| op),
    )
}

/// The error of an apply to, or the commit of, a batch that was rolled back.
fn lost(why: &str) -> Error {
    Error::Store {
        message: format!("the batch was rolled back, nothing in it landed: a write failed ({why})"),
        source: None,
    }
}

impl SqliteStore {
    fn exec(&self, sql: &str) -> Result<()> {
        self.conn
            .prepare_cached(sql)
            .and_then(|mut s| s.execute([]))
            .map(|_| ())
            .map_err(|e| sql_error(format!("cannot run {sql}"), e))
    }

    /// Applies a change set atomically: its own `BEGIN IMMEDIATE` transaction, or, in a
    /// batch, its checks and then its writes (see [`SqliteStore::apply_in_batch`]).
    pub(super) fn apply_changes(&mut self, changes: ChangeSet) -> Result<()> {
        changes.check_tenant()?;
        if self.in_batch {
            return self.apply_in_batch(changes);
        }
        self.exec("BEGIN IMMEDIATE")?;
        let done = self.write_ops(&changes).and_then(|()| self.exec("COMMIT"));
        if let Err(e) = done {
            // A failed COMMIT may leave the transaction open: end it either way.
            let _ = self.exec("ROLLBACK");
            return Err(e);
        }
        self.committed(1);
        Ok(())
    }

    /// A change set inside a batch: its conditions are checked first (`checks.rs`), so
    /// one that fails them writes nothing and needs no savepoint. A write that fails
    /// after others of the change set changed rows (a full disk, an I/O error) cannot be
    /// taken back alone: the whole batch is rolled back, its later applies fail and
    /// committing it reports that nothing landed.
    fn apply_in_batch(&mut self, changes: ChangeSet) -> Result<()> {
        if let Some(why) = &self.batch_lost {
            return Err(lost(why));
        }
        let lead = lead(&changes.ops);
        self.check_ops(&changes, lead)?;
        let before = self.conn.total_changes();
        if let Err(e) = self.write_in_order(&changes, lead) {
            // Rows changed before the failure, or SQLite ended the transaction itself (it
            // may, on a full disk): the batch cannot stand.
            if self.conn.total_changes() != before || self.conn.is_autocommit() {
                let _ = self.exec("ROLLBACK");
                self.batch.get_mut().clear();
                self.batch_lost = Some(e.to_string());
            }
            return Err(e);
        }
        self.batch.get_mut().applied(changes);
        Ok(())
    }

    /// Starts a batch: later applies join one transaction.
    pub(super) fn start_batch(&mut self) -> Result<()> {
        if self.in_batch {
            return Err(Error::Store {
                message: "a batch is already open on this store".into(),
                source: None,
            });
        }
        self.exec("BEGIN IMMEDIATE")?;
        // The cache is empty: the last batch's end emptied it, and nothing fills it outside one.
        self.in_batch = true;
        self.batch_lost = None;
        // Only a tuning: the batch stands whether or not the cache grew.
        let _ = self.grow_cache();
        Ok(())
    }

    /// Commits (or rolls back) the batch's transaction.
    pub(super) fn finish_batch(&mut self, commit: bool) -> Result<()> {
        if !self.in_batch {
            return Ok(());
        }
        self.in_batch = false;
        self.batch.get_mut().clear();
        if let Some(why) = self.batch_lost.take() {
            // Already rolled back: nothing to end.
            return if commit { Err(lost(&why)) } else { Ok(()) };
        }
        if commit {
            if let Err(e) = self.exec("COMMIT") {
                let _ = self.exec("ROLLBACK");
                return Err(e);
            }
            // A batch writes many pages: worth a checkpoint of its own.
            self.committed(super::checkpoint::COMMITS_PER_CHECKPOINT);
            Ok(())
        } else {
            self.exec("ROLLBACK")
        }
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

    fn write_ops(&self, changes: &ChangeSet) -> Result<()> {
        self.write_in_order(changes, None)
    }

    /// Writes `changes`' ops, the one at index `first` (if any) before the others.
    fn write_in_order(&self, changes: &ChangeSet, first: Option<usize>) -> Result<()> {
        let tenant = blob(changes.tenant.as_uuid());
        for op in in_order(&changes.ops, first) {
            match op {
                Op::PutCustomer(c) => {
                    let data = json(c)?;
                    let id = blob(c.id.as_uuid());
                    let version = c.version as i64;
                    let n = if c.version == 1 {
                        self.changed(
                            "a customer",
                            "INSERT INTO customers (tenant, id, version, data) VALUES (?1, ?2, ?3, ?4)",
                            &[&tenant, &id, &version, &data],
                        )?
                    } else {
                        self.changed(
                            "a customer",
                            "UPDATE customers SET version = ?3, data = ?4 \
                             WHERE tenant = ?1 AND id = ?2 AND version = ?3 - 1",
                            &[&tenant, &id, &version, &data],
                        )?
                    };
                    if n != 1 {
                        return Err(conflict(format!(
                            "customer {} version {} does not follow the stored one",
                            c.id, c.version
                        )));
                    }
                }
                Op::PutConversation(c) => {
                    let data = json(c)?;
                    let id = blob(c.id.as_uuid());
                    let customer = blob(c.customer.as_uuid());
                    let created = ts(c.created_at)?;
                    let closed = i64::from(c.status == crate::conversation::Status::Closed);
                    let version = c.version as i64;
                    let n = if c.version == 1 {
                        self.changed(
                            "a conversation",
                            "INSERT INTO conversations (tenant, id, customer, created, closed, version, data) \
                             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                            &[&tenant, &id, &customer, &created, &closed, &version, &data],
                        )?
                    } else {
                        // The common update leaves the indexed columns (customer, created)
                        // alone, so SQLite does not rewrite the two secondary indexes; a
                        // merge moving the conversation takes the second statement.
                        match self.changed(
                            "a conversation",
                            "UPDATE conversations SET closed = ?5, version = ?6, data = ?7 \
                             WHERE tenant = ?1 AND id = ?2 AND version = ?6 - 1 \
                             AND customer = ?3 AND created = ?4",
                            &[&tenant, &id, &customer, &created, &closed, &version, &data],
                        )? {
                            0 => self.changed(
                                "a conversation",
                                "UPDATE conversations SET customer = ?3, created = ?4, closed = ?5, \
                                 version = ?6, data = ?7 WHERE tenant = ?1 AND id = ?2 AND version = ?6 - 1",
                                &[&tenant, &id, &customer, &created, &closed, &version, &data],
                            )?,
                            n => n,
                        }
                    };
                    if n != 1 {
                        return Err(conflict(format!(
                            "conversation {} version {} does not follow the stored one",
                            c.id, c.version
                        )));
                    }
                }
                Op::PutIdentifier {
                    record,
                    expected_owner,
                } => {
                    let key = ident_key(&record.identifier);
                    let data = json(record)?;
                    let customer = blob(record.customer.as_uuid());
                    let ok = match expected_owner {
                        None => self.changed(
                            "an identifier",
                            "INSERT INTO identifiers (tenant, ident, customer, data) VALUES (?1, ?2, ?3, ?4)",
                            &[&tenant, &key, &customer, &data],
                        )? == 1,
                        Some(owner) if *owner == record.customer => self.changed(
                            "an identifier",
                            "UPDATE identifiers SET data = ?4 WHERE tenant = ?1 AND ident = ?2 AND customer = ?3",
                            &[&tenant, &key, &customer, &data],
                        )? == 1,
                        Some(owner) => {
                            // A new owner: delete and insert, so it is the newest of its
                            // new owner's identifiers.
                            let old = blob(owner.as_uuid());
                            self.changed(
                                "an identifier",
                                "DELETE FROM identifiers WHERE tenant = ?1 AND ident = ?2 AND customer = ?3",
                                &[&tenant, &key, &old],
                            )? == 1
                                && self.changed(
                                    "an identifier",
                                    "INSERT INTO identifiers (tenant, ident, customer, data) VALUES (?1, ?2, ?3, ?4)",
                                    &[&tenant, &key, &customer, &data],
                                )? == 1
                        }
                    };
                    if !ok {
                        return Err(conflict(format!(
                            "identifier {} does not belong to {expected_owner:?} any more",
                            record.identifier
                        )));
                    }
                }
                Op::InsertMessage(m) => {
                    self.message_row(&tenant, m, true)?;
                }
                Op::UpdateMessage(m) => {
                    if self.message_row(&tenant, m, false)? != 1 {
                        return Err(conflict(format!(
                            "message {} does not exist or the update changes its deduplication key",
                            m.id
                        )));
                    }
                }
                Op::PutThreadKey { key, conversation } => {
                    self.changed(
                        "a thread key",
                        "INSERT OR IGNORE INTO threads (tenant, key, conversation) VALUES (?1, ?2, ?3)",
                        &[&tenant, key, &blob(conversation.as_uuid())],
                    )?;
                }
                Op::RedactMessage(m) => {
                    let n = self.changed(
                        "a message",
                        "UPDATE messages SET external_id = ?3, pending = ?4, data = ?5 \
                         WHERE tenant = ?1 AND id = ?2",
                        &[
                            &tenant,
                            &blob(m.id.as_uuid()),
                            &m.external_id,
                            &i64::from(matches!(m.delivery, Some(Delivery::Pending))),
                            &message_row::encode(m)?,
                        ],
                    )?;
                    if n != 1 {
                        return Err(conflict(format!("message {} does not exist", m.id)));
                    }
                }
                Op::DeleteIdentifier { identifier, owner } => {
                    let n = self.changed(
                        "an identifier",
                        "DELETE FROM identifiers WHERE tenant = ?1 AND ident = ?2 AND customer = ?3",
                        &[&tenant, &ident_key(identifier), &blob(owner.as_uuid())],
                    )?;
                    if n != 1 {
                        return Err(conflict(format!(
                            "identifier {identifier} does not belong to {owner}"
                        )));
                    }
                }
                Op::DeleteThreadKey { key } => {
                    self.changed(
                        "a thread key",
                        "DELETE FROM threads WHERE tenant = ?1 AND key = ?2",
                        &[&tenant, key],
                    )?;
                }
                Op::DeleteThreadKeysOf { conversation } => {
                    self.changed(
                        "thread keys",
                        "DELETE FROM threads WHERE tenant = ?1 AND conversation = ?2",
                        &[&tenant, &blob(conversation.as_uuid())],
                    )?;
                }
                Op::PutRecord(r) => {
                    let value = r.value.get().as_bytes();
                    let due = r.due.map(ts).transpose()?;
                    let version = r.version as i64;
                    let n = if r.version == 1 {
                        self.changed(
                            "a record",
                            "INSERT INTO records (tenant, kind, key, secondary, due, version, value) \
                             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                            &[&tenant, &r.kind, &r.key, &r.secondary, &due, &version, &value],
                        )?
                    } else {
                        // SQLite rewrites the entries of every index whose columns the SET
                        // clause names, changed or not: when the due time and secondary key
                        // stay (a customer's second message before any reply, say), the
                        // narrow statement leaves both indexes alone. Exactly one of the
                        // two matches (unless the version does not follow); the kind's
                        // habit says which to try first.
                        let params: [&dyn rusqlite::ToSql; 7] = [
                            &tenant,
                            &r.kind,
                            &r.key,
                            &r.secondary,
                            &due,
                            &version,
                            &value,
                        ];
                        const NARROW: &str = "UPDATE records SET version = ?6, value = ?7 \
                             WHERE tenant = ?1 AND kind = ?2 AND key = ?3 AND version = ?6 - 1 \
                             AND secondary IS ?4 AND due IS ?5";
                        const MOVING: &str =
                            "UPDATE records SET secondary = ?4, due = ?5, version = ?6, value = ?7 \
                             WHERE tenant = ?1 AND kind = ?2 AND key = ?3 AND version = ?6 - 1 \
                             AND (secondary IS NOT ?4 OR due IS NOT ?5)";
                        let narrow_first = self.record_updates.borrow().narrow_first(&r.kind);
                        let order = if narrow_first {
                            [NARROW, MOVING]
                        } else {
                            [MOVING, NARROW]
                        };
                        let mut n = 0;
                        for sql in order {
                            n = self.changed("a record", sql, &params)?;
                            if n != 0 {
                                let kept = sql == NARROW;
                                self.record_updates.borrow_mut().observe(&r.kind, kept);
                                break;
                            }
                        }
                        n
                    };
                    if n != 1 {
                        return Err(conflict(format!(
                            "{} record {} version {} does not follow the stored one",
                            r.kind, r.key, r.version
                        )));
                    }
                }
                Op::DeleteRecord { kind, key, version } => {
                    let v = *version as i64;
                    let n = self.changed(
                        "a record",
                        "DELETE FROM records WHERE tenant = ?1 AND kind = ?2 AND key = ?3 AND version = ?4",
                        &[&tenant, kind, key, &v],
                    )?;
                    if n != 1 {
                        return Err(conflict(format!(
                            "{kind} record {key} version {version} is not the stored one"
                        )));
                    }
                }
            }
        }
        Ok(())
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
                .map_err(|e| match sql_error("cannot store a message", e) {
                    Error::Conflict(_) => conflict(format!(
                        "message {} or its provider id {:?} on {} is already stored",
                        m.id, m.external_id, m.channel
                    )),
                    other => other,
                })
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
