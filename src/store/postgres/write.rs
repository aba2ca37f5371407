//! The write half: one transaction per change set (a savepoint inside a batch); inserts
//! use `ON CONFLICT DO NOTHING` so a lost race is a conflict, not an aborted transaction.

use postgres::types::ToSql;

use super::read::id;
use super::{pg_error, PostgresStore};
use crate::error::{Error, Result};
use crate::message::{Delivery, Message};
use crate::store::{ChangeSet, Op};

type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

fn nanos(t: chrono::DateTime<chrono::Utc>) -> Result<i64> {
    t.timestamp_nanos_opt()
        .ok_or_else(|| Error::invalid("time", format!("{t} is outside 1677-2262")))
}

fn json<T: serde::Serialize>(v: &T) -> Result<Vec<u8>> {
    serde_json::to_vec(v).map_err(|e| Error::store("cannot encode a row", e))
}

impl PostgresStore {
    fn simple(&self, sql: &str) -> Result<()> {
        self.client
            .borrow_mut()
            .batch_execute(sql)
            .map_err(|e| pg_error(format!("cannot run {sql}"), e))
    }

    fn changed(&self, what: &str, sql: &'static str, params: Params<'_>) -> Result<u64> {
        self.with(sql, |c, s| c.execute(s, params))
            .map_err(|e| pg_error(format!("cannot write {what}"), e))
    }

    /// Applies a change set atomically: its own transaction, or a savepoint of the batch.
    pub(super) fn apply_changes(&mut self, changes: ChangeSet) -> Result<()> {
        changes.check_tenant()?;
        let (begin, commit, rollback) = if self.in_batch {
            (
                "SAVEPOINT op",
                "RELEASE SAVEPOINT op",
                "ROLLBACK TO SAVEPOINT op",
            )
        } else {
            ("BEGIN", "COMMIT", "ROLLBACK")
        };
        self.simple(begin)?;
        let done = self.write_ops(&changes).and_then(|()| self.simple(commit));
        if let Err(e) = done {
            let _ = self.simple(rollback);
            if self.in_batch {
                let _ = self.simple("RELEASE SAVEPOINT op");
            }
            return Err(e);
        }
        Ok(())
    }

    pub(super) fn start_batch(&mut self) -> Result<()> {
        if self.in_batch {
            return Err(Error::Store {
                message: "a batch is already open on this store".into(),
                source: None,
            });
        }
        self.simple("BEGIN")?;
        self.in_batch = true;
        Ok(())
    }

    pub(super) fn finish_batch(&mut self, commit: bool) -> Result<()> {
        if !self.in_batch {
            return Ok(());
        }
        self.in_batch = false;
        if commit {
            if let Err(e) = self.simple("COMMIT") {
                let _ = self.simple("ROLLBACK");
                return Err(e);
            }
            Ok(())
        } else {
            self.simple("ROLLBACK")
        }
    }

    fn write_ops(&self, changes: &ChangeSet) -> Result<()> {
        let tenant = id(changes.tenant.as_uuid());
        for op in &changes.ops {
            match op {
                Op::PutCustomer(c) => {
                    let (key, data, version) = (id(c.id.as_uuid()), json(c)?, c.version as i64);
                    let n = if c.version == 1 {
                        self.changed(
                            "a customer",
                            "INSERT INTO customers (tenant, id, version, data) VALUES ($1, $2, $3, $4) \
                             ON CONFLICT DO NOTHING",
                            &[&tenant, &key, &version, &data],
                        )?
                    } else {
                        self.changed(
                            "a customer",
                            "UPDATE customers SET version = $3, data = $4 \
                             WHERE tenant = $1 AND id = $2 AND version = $3::BIGINT - 1",
                            &[&tenant, &key, &version, &data],
                        )?
                    };
                    if n != 1 {
                        return Err(Error::Conflict(format!(
                            "customer {} version {} does not follow the stored one",
                            c.id, c.version
                        )));
                    }
                }
                Op::PutConversation(c) => {
                    let (key, data, version) = (id(c.id.as_uuid()), json(c)?, c.version as i64);
                    let customer = id(c.customer.as_uuid());
                    let created = nanos(c.created_at)?;
                    let closed = c.status == crate::conversation::Status::Closed;
                    let n = if c.version == 1 {
                        self.changed(
                            "a conversation",
                            "INSERT INTO conversations (tenant, id, customer, created, closed, version, data) \
                             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
                            &[&tenant, &key, &customer, &created, &closed, &version, &data],
                        )?
                    } else {
                        self.changed(
                            "a conversation",
                            "UPDATE conversations SET customer = $3, created = $4, closed = $5, \
                             version = $6, data = $7 WHERE tenant = $1 AND id = $2 AND version = $6::BIGINT - 1",
                            &[&tenant, &key, &customer, &created, &closed, &version, &data],
                        )?
                    };
                    if n != 1 {
                        return Err(Error::Conflict(format!(
                            "conversation {} version {} does not follow the stored one",
                            c.id, c.version
                        )));
                    }
                }
                Op::PutIdentifier {
                    record,
                    expected_owner,
                } => {
                    let key = record.identifier.to_string();
                    let data = json(record)?;
                    let customer = id(record.customer.as_uuid());
                    let insert = "INSERT INTO identifiers (tenant, ident, customer, data) \
                                  VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING";
                    let ok = match expected_owner {
                        None => {
                            self.changed(
                                "an identifier",
                                insert,
                                &[&tenant, &key, &customer, &data],
                            )? == 1
                        }
                        Some(owner) if *owner == record.customer => {
                            self.changed(
                                "an identifier",
                                "UPDATE identifiers SET data = $4 \
                                 WHERE tenant = $1 AND ident = $2 AND customer = $3",
                                &[&tenant, &key, &customer, &data],
                            )? == 1
                        }
                        Some(owner) => {
                            let old = id(owner.as_uuid());
                            self.changed(
                                "an identifier",
                                "DELETE FROM identifiers WHERE tenant = $1 AND ident = $2 AND customer = $3",
                                &[&tenant, &key, &old],
                            )? == 1
                                && self.changed(
                                    "an identifier",
                                    insert,
                                    &[&tenant, &key, &customer, &data],
                                )? == 1
                        }
                    };
                    if !ok {
                        return Err(Error::Conflict(format!(
                            "identifier {} does not belong to {expected_owner:?} any more",
                            record.identifier
                        )));
                    }
                }
                Op::InsertMessage(m) => {
                    if self.message_row(&tenant, m, true)? != 1 {
                        return Err(Error::Conflict(format!(
                            "message {} or its provider id {:?} on {} is already stored",
                            m.id, m.external_id, m.channel
                        )));
                    }
                }
                Op::UpdateMessage(m) => {
                    if self.message_row(&tenant, m, false)? != 1 {
                        return Err(Error::Conflict(format!(
                            "message {} does not exist or the update changes its deduplication key",
                            m.id
                        )));
                    }
                }
                Op::PutThreadKey { key, conversation } => {
                    self.changed(
                        "a thread key",
                        "INSERT INTO threads (tenant, key, conversation) VALUES ($1, $2, $3) \
                         ON CONFLICT DO NOTHING",
                        &[&tenant, key, &id(conversation.as_uuid())],
                    )?;
                }
                Op::RedactMessage(m) => {
                    let n = self.changed(
                        "a message",
                        "UPDATE messages SET external_id = $3, pending = $4, data = $5 \
                         WHERE tenant = $1 AND id = $2",
                        &[
                            &tenant,
                            &id(m.id.as_uuid()),
                            &m.external_id,
                            &matches!(m.delivery, Some(Delivery::Pending)),
                            &json(m)?,
                        ],
                    )?;
                    if n != 1 {
                        return Err(Error::Conflict(format!("message {} does not exist", m.id)));
                    }
                }
                Op::DeleteIdentifier { identifier, owner } => {
                    let n = self.changed(
                        "an identifier",
                        "DELETE FROM identifiers WHERE tenant = $1 AND ident = $2 AND customer = $3",
                        &[&tenant, &identifier.to_string(), &id(owner.as_uuid())],
                    )?;
                    if n != 1 {
                        return Err(Error::Conflict(format!(
                            "identifier {identifier} does not belong to {owner}"
                        )));
                    }
                }
                Op::DeleteThreadKey { key } => {
                    self.changed(
                        "a thread key",
                        "DELETE FROM threads WHERE tenant = $1 AND key = $2",
                        &[&tenant, key],
                    )?;
                }
                Op::PutRecord(r) => {
                    let value = json(&r.value)?;
                    let due = r.due.map(nanos).transpose()?;
                    let version = r.version as i64;
                    let n = if r.version == 1 {
                        self.changed(
                            "a record",
                            "INSERT INTO records (tenant, kind, key, secondary, due, version, value) \
                             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
                            &[&tenant, &r.kind, &r.key, &r.secondary, &due, &version, &value],
                        )?
                    } else {
                        self.changed(
                            "a record",
                            "UPDATE records SET secondary = $4, due = $5, version = $6, value = $7 \
                             WHERE tenant = $1 AND kind = $2 AND key = $3 AND version = $6::BIGINT - 1",
                            &[&tenant, &r.kind, &r.key, &r.secondary, &due, &version, &value],
                        )?
                    };
                    if n != 1 {
                        return Err(Error::Conflict(format!(
                            "{} record {} version {} does not follow the stored one",
                            r.kind, r.key, r.version
                        )));
                    }
                }
                Op::DeleteRecord { kind, key, version } => {
                    let v = *version as i64;
                    let n = self.changed(
                        "a record",
                        "DELETE FROM records WHERE tenant = $1 AND kind = $2 AND key = $3 AND version = $4",
                        &[&tenant, kind, key, &v],
                    )?;
                    if n != 1 {
                        return Err(Error::Conflict(format!(
                            "{kind} record {key} version {version} is not the stored one"
                        )));
                    }
                }
            }
        }
        Ok(())
    }

    fn message_row(&self, tenant: &Vec<u8>, m: &Message, insert: bool) -> Result<u64> {
        let data = json(m)?;
        let pending = matches!(m.delivery, Some(Delivery::Pending));
        let (key, conv) = (id(m.id.as_uuid()), id(m.conversation.as_uuid()));
        let (sent, received) = (nanos(m.sent_at)?, nanos(m.received_at)?);
        let channel = m.channel.to_string();
        let params: Params<'_> = &[
            tenant,
            &key,
            &conv,
            &channel,
            &m.external_id,
            &sent,
            &received,
            &pending,
            &data,
        ];
        if insert {
            self.changed(
                "a message",
                "INSERT INTO messages (tenant, id, conversation, channel, external_id, sent, received, pending, data) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING",
                params,
            )
        } else {
            self.changed(
                "a message",
                "UPDATE messages SET conversation = $3, sent = $6, received = $7, pending = $8, data = $9 \
                 WHERE tenant = $1 AND id = $2 AND channel = $4 AND external_id IS NOT DISTINCT FROM $5",
                params,
            )
        }
    }
}
