//! The write half: a change set is one round trip — `SELECT throughline_apply(tenant, ops)`
//! (schema migration 2) runs its ops, with the contract's version and ownership checks, in
//! one subtransaction and reports a failure as a value; inserts use `ON CONFLICT DO
//! NOTHING` so a lost race is a conflict, not an aborted transaction.

use serde_json::{json, Value};

use super::read::id;
use super::{pg_error, PostgresStore};
use crate::error::{Error, Result};
use crate::id::CustomerId;
use crate::identity::IdentifierRecord;
use crate::message::{Delivery, Message};
use crate::store::{ChangeSet, Op};

fn nanos(t: chrono::DateTime<chrono::Utc>) -> Result<i64> {
    t.timestamp_nanos_opt()
        .ok_or_else(|| Error::invalid("time", format!("{t} is outside 1677-2262")))
}

/// A row's JSON document, as text (stored as the same bytes the row always held).
fn doc<T: serde::Serialize>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| Error::store("cannot encode a row", e))
}

fn hex(u: uuid::Uuid) -> String {
    u.simple().to_string()
}

/// One message row's fields.
fn message_op(k: &str, m: &Message, conflict: String) -> Result<Value> {
    Ok(json!({
        "k": k,
        "id": hex(m.id.as_uuid()),
        "conversation": hex(m.conversation.as_uuid()),
        "channel": m.channel.to_string(),
        "external_id": m.external_id,
        "sent": nanos(m.sent_at)?,
        "received": nanos(m.received_at)?,
        "pending": matches!(m.delivery, Some(Delivery::Pending)),
        "data": doc(m)?,
        "conflict": conflict,
    }))
}

/// The ops of a [`Op::PutIdentifier`]: an insert, an update, or (a new owner) a delete
/// and an insert, so that it is the newest of its new owner's identifiers.
fn identifier_ops(
    record: &IdentifierRecord,
    expected_owner: Option<CustomerId>,
    ops: &mut Vec<Value>,
) -> Result<()> {
    let conflict = format!(
        "identifier {} does not belong to {expected_owner:?} any more",
        record.identifier
    );
    let (ident, data) = (record.identifier.to_string(), doc(record)?);
    let customer = hex(record.customer.as_uuid());
    match expected_owner {
        None => {}
        Some(owner) if owner == record.customer => {
            ops.push(
                json!({"k": "identifier", "ident": ident, "customer": customer,
                            "data": data, "conflict": conflict}),
            );
            return Ok(());
        }
        Some(owner) => ops.push(json!({"k": "identifier-", "ident": ident,
            "customer": hex(owner.as_uuid()), "conflict": conflict})),
    }
    ops.push(
        json!({"k": "identifier+", "ident": ident, "customer": customer,
                    "data": data, "conflict": conflict}),
    );
    Ok(())
}

/// The change set as the JSON array `throughline_apply` runs; `thread_keys` holds the
/// (conversation id bytes, key) pairs of the conversations a `DeleteThreadKeysOf` or a
/// `MoveThreadKeys` names (read before).
fn encode(changes: &ChangeSet, thread_keys: &[(Vec<u8>, String)]) -> Result<String> {
    let mut ops = Vec::with_capacity(changes.ops.len() + 1);
    for op in &changes.ops {
        match op {
            Op::PutCustomer(c) => ops.push(json!({
                "k": if c.version == 1 { "customer+" } else { "customer" },
                "id": hex(c.id.as_uuid()),
                "version": c.version,
                "data": doc(c)?,
                "conflict": format!("customer {} version {} does not follow the stored one", c.id, c.version),
            })),
            Op::PutConversation(c) => ops.push(json!({
                "k": if c.version == 1 { "conversation+" } else { "conversation" },
                "id": hex(c.id.as_uuid()),
                "customer": hex(c.customer.as_uuid()),
                "created": nanos(c.created_at)?,
                "closed": c.status == crate::conversation::Status::Closed,
                "version": c.version,
                "data": doc(c)?,
                "status": c.status.name(),
                "assignee": c.assignee.map(|a| hex(a.as_uuid())),
                "updated": nanos(c.updated_at)?,
                "conflict": format!("conversation {} version {} does not follow the stored one", c.id, c.version),
            })),
            Op::PutIdentifier {
                record,
                expected_owner,
            } => identifier_ops(record, *expected_owner, &mut ops)?,
            Op::InsertMessage(m) => ops.push(message_op(
                "message+",
                m,
                format!(
                    "message {} or its provider id {:?} on {} is already stored",
                    m.id, m.external_id, m.channel
                ),
            )?),
            Op::UpdateMessage(m) => ops.push(message_op(
                "message",
                m,
                format!(
                    "message {} does not exist or the update changes its deduplication key",
                    m.id
                ),
            )?),
            Op::RedactMessage(m) => ops.push(message_op(
                "redact",
                m,
                format!("message {} does not exist", m.id),
            )?),
            Op::PutThreadKey { key, conversation } => ops.push(json!({
                "k": "thread+", "key": key, "conversation": hex(conversation.as_uuid()),
            })),
            Op::DeleteThreadKey { key } => ops.push(json!({"k": "thread-", "key": key})),
            Op::DeleteThreadKeysOf { conversation } => {
                let conv = id(conversation.as_uuid());
                for (_, key) in thread_keys.iter().filter(|(c, _)| *c == conv) {
                    ops.push(json!({"k": "thread-", "key": key}));
                }
            }
            Op::MoveThreadKeys { from, to } => {
                let conv = id(from.as_uuid());
                for (_, key) in thread_keys.iter().filter(|(c, _)| *c == conv) {
                    ops.push(json!({"k": "thread-", "key": key}));
                    ops.push(json!({
                        "k": "thread+", "key": key, "conversation": hex(to.as_uuid()),
                    }));
                }
            }
            Op::DeleteIdentifier { identifier, owner } => ops.push(json!({
                "k": "identifier-",
                "ident": identifier.to_string(),
                "customer": hex(owner.as_uuid()),
                "conflict": format!("identifier {identifier} does not belong to {owner}"),
            })),
            Op::PutRecord(r) => ops.push(json!({
                "k": if r.version == 1 { "record+" } else { "record" },
                "kind": r.kind,
                "key": r.key,
                "secondary": r.secondary,
                "due": r.due.map(nanos).transpose()?,
                "version": r.version,
                "value": doc(&r.value)?,
                "conflict": format!("{} record {} version {} does not follow the stored one", r.kind, r.key, r.version),
            })),
            Op::DeleteRecord { kind, key, version } => ops.push(json!({
                "k": "record-",
                "kind": kind,
                "key": key,
                "version": version,
                "conflict": format!("{kind} record {key} version {version} is not the stored one"),
            })),
        }
    }
    doc(&ops)
}

/// What `throughline_apply` reported, as an [`Error`].
fn reported(sqlstate: &str, message: &str) -> Error {
    match sqlstate {
        // Serialisation (our checks), unique and foreign-key violations, deadlock.
        "40001" | "23505" | "23503" | "40P01" => Error::Conflict(message.to_string()),
        "55P03" | "57014" => Error::Busy(format!("{message}; nothing was written, retry")),
        "53100" => Error::Store {
            message: format!("cannot apply a change: the server's disk is full ({message})"),
            source: None,
        },
        "25006" => Error::Store {
            message: format!("cannot apply a change: the server is read-only ({message})"),
            source: None,
        },
        _ => Error::Store {
            message: format!(
                "cannot apply a change: PostgreSQL failed: {message} (SQLSTATE {sqlstate})"
            ),
            source: None,
        },
    }
}

/// A change set's conversations' thread keys (read before the change set is applied).
const THREAD_KEYS_OF: &str = "SELECT conversation, key FROM threads \
     WHERE tenant = $1 AND conversation = ANY($2)";
/// A change set, applied by the schema's function.
const APPLY: &str = "SELECT throughline_apply($1, $2)";

/// The writes' statements, by name.
pub(super) const STATEMENTS: &[(&str, &str)] =
    &[("thread_keys_of", THREAD_KEYS_OF), ("apply", APPLY)];

impl PostgresStore {
    fn simple(&self, sql: &str) -> Result<()> {
        self.client
            .borrow_mut()
            .batch_execute(sql)
            .map_err(|e| pg_error(format!("cannot run {sql}"), e))
    }

    /// Applies a change set atomically, in one round trip: on its own it is one
    /// autocommitted statement; inside a batch, the function's subtransaction undoes a
    /// failing change set alone.
    pub(super) fn apply_changes(&mut self, changes: ChangeSet) -> Result<()> {
        changes.check_tenant()?;
        if changes.ops.is_empty() {
            return Ok(());
        }
        let tenant = id(changes.tenant.as_uuid());
        // A conversation's thread keys are deleted (or moved) by key, read first. A key
        // added in between comes with a conversation update, which the change set's
        // version check on that conversation (erasure, retention and a merge write it)
        // turns into a conflict.
        // One round trip for all of them.
        let convs: Vec<Vec<u8>> = changes
            .ops
            .iter()
            .filter_map(|op| match op {
                Op::DeleteThreadKeysOf { conversation } => Some(id(conversation.as_uuid())),
                Op::MoveThreadKeys { from, .. } => Some(id(from.as_uuid())),
                _ => None,
            })
            .collect();
        let mut thread_keys: Vec<(Vec<u8>, String)> = Vec::new();
        if !convs.is_empty() {
            let rows = self
                .with(THREAD_KEYS_OF, |c, s| c.query(s, &[&tenant, &convs]))
                .map_err(|e| pg_error("cannot read conversations' thread keys", e))?;
            thread_keys = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
        }
        let ops = encode(&changes, &thread_keys)?;
        let row = self
            .with(APPLY, |c, s| c.query_one(s, &[&tenant, &ops]))
            .map_err(|e| pg_error("cannot apply a change", e))?;
        let failure: Option<Vec<String>> = row.get(0);
        match failure.as_deref() {
            None => Ok(()),
            Some([state, message]) => Err(reported(state, message)),
            Some(other) => Err(Error::Store {
                message: format!("throughline_apply returned {other:?}"),
                source: None,
            }),
        }
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
}
