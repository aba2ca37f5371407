//! The read half of the [`Store`] implementation: every query is scoped by tenant and
//! served by an index that leads with it.

use chrono::{DateTime, Utc};
use rusqlite::types::{Value, ValueRef};
use rusqlite::{params, Row};

use super::batch_cache::BatchCache;
use super::{message_row, sql_error, ts, unjson, SqliteStore};
use crate::channel::Channel;
use crate::conversation::Conversation;
use crate::error::{Error, Result};
use crate::id::{ConversationId, CustomerId, MessageId, TenantId};
use crate::identity::{Customer, Identifier, IdentifierRecord};
use crate::message::{Direction, Message};
use crate::store::{ChangeSet, Record, Store};

/// The key an identifier is unique under within a tenant.
pub(super) fn ident_key(i: &Identifier) -> String {
    i.to_string()
}

pub(super) fn blob(u: uuid::Uuid) -> [u8; 16] {
    *u.as_bytes()
}

/// A message from `tenant, id, conversation, external_id, sent, received, data`.
fn message_of(r: &Row<'_>) -> Result<Message> {
    let get = |e: rusqlite::Error| sql_error("cannot read a message", e);
    let columns = message_row::Columns {
        tenant: r.get(0).map_err(get)?,
        id: r.get(1).map_err(get)?,
        conversation: r.get(2).map_err(get)?,
        external_id: r.get(3).map_err(get)?,
        sent: r.get(4).map_err(get)?,
        received: r.get(5).map_err(get)?,
    };
    let data = match r.get_ref(6).map_err(get)? {
        ValueRef::Blob(b) | ValueRef::Text(b) => b,
        _ => {
            return Err(Error::Store {
                message: "cannot read a message: its row has no data".into(),
                source: None,
            })
        }
    };
    message_row::decode(columns, data)
}

/// The columns of a record row, in [`RawRecord`]'s order (a macro, so the statements
/// below are constant strings: no formatting per call).
macro_rules! record_columns {
    () => {
        "kind, key, secondary, due, version, value"
    };
}

fn record_of(r: &Row<'_>) -> rusqlite::Result<RawRecord> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
    ))
}

/// A record row: kind, key, secondary, due, version, value.
type RawRecord = (String, String, Option<String>, Option<i64>, i64, Vec<u8>);

fn to_record(raw: RawRecord) -> Result<Record> {
    let (kind, key, secondary, due, version, value) = raw;
    Ok(Record {
        value: unjson("record", &value)?,
        kind,
        key,
        secondary,
        due: due.map(DateTime::<Utc>::from_timestamp_nanos),
        version: version as u64,
    })
}

impl SqliteStore {
    /// A row from the open batch's cache (`None` outside a batch).
    fn cached<T>(&self, get: impl FnOnce(&BatchCache) -> Option<T>) -> Option<T> {
        if self.in_batch() {
            get(&self.batch.borrow())
        } else {
            None
        }
    }

    /// Keeps a row just read (if any) in the open batch's cache (nothing outside a
    /// batch), and returns it.
    fn kept<T: Clone>(&self, found: Option<T>, put: impl FnOnce(&mut BatchCache, T)) -> Option<T> {
        if let (true, Some(row)) = (self.in_batch(), &found) {
            put(&mut self.batch.borrow_mut(), row.clone());
        }
        found
    }

    fn cache_conversation(&self, found: Option<Conversation>) -> Option<Conversation> {
        self.kept(found, BatchCache::put_conversation)
    }

    /// Rows of one BLOB column (`data`) decoded as `T`.
    fn rows<T: serde::de::DeserializeOwned>(
        &self,
        what: &str,
        sql: &str,
        params: &[&dyn rusqlite::ToSql],
    ) -> Result<Vec<T>> {
        let mut stmt = self
            .conn
            .prepare_cached(sql)
            .map_err(|e| sql_error(format!("cannot read {what}"), e))?;
        let mut rows = stmt
            .query(params)
            .map_err(|e| sql_error(format!("cannot read {what}"), e))?;
        let mut out = Vec::new();
        while let Some(row) = rows
            .next()
            .map_err(|e| sql_error(format!("cannot read {what}"), e))?
        {
            let bytes: Vec<u8> = row
                .get(0)
                .map_err(|e| sql_error(format!("cannot read {what}"), e))?;
            out.push(unjson(what, &bytes)?);
        }
        Ok(out)
    }

    fn row<T: serde::de::DeserializeOwned>(
        &self,
        what: &str,
        sql: &str,
        params: &[&dyn rusqlite::ToSql],
    ) -> Result<Option<T>> {
        Ok(self.rows(what, sql, params)?.into_iter().next())
    }

    fn message_rows(&self, sql: &str, params: &[&dyn rusqlite::ToSql]) -> Result<Vec<Message>> {
        let mut out = Vec::new();
        self.walk_messages(sql, params, |m| {
            out.push(m);
            false
        })?;
        Ok(out)
    }

    /// Decodes the rows of a message query in order, until `stop` says so: the rows after
    /// it are neither read nor decoded.
    fn walk_messages(
        &self,
        sql: &str,
        params: &[&dyn rusqlite::ToSql],
        mut stop: impl FnMut(Message) -> bool,
    ) -> Result<()> {
        let mut stmt = self
            .conn
            .prepare_cached(sql)
            .map_err(|e| sql_error("cannot read messages", e))?;
        let mut rows = stmt
            .query(params)
            .map_err(|e| sql_error("cannot read messages", e))?;
        while let Some(row) = rows
            .next()
            .map_err(|e| sql_error("cannot read messages", e))?
        {
            if stop(message_of(row)?) {
                break;
            }
        }
        Ok(())
    }

    fn record_rows(&self, sql: &str, params: &[&dyn rusqlite::ToSql]) -> Result<Vec<Record>> {
        let mut stmt = self
            .conn
            .prepare_cached(sql)
            .map_err(|e| sql_error("cannot read records", e))?;
        let raws = stmt
            .query_map(params, record_of)
            .map_err(|e| sql_error("cannot read records", e))?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(|e| sql_error("cannot read records", e))?;
        raws.into_iter().map(to_record).collect()
    }
}

impl Store for SqliteStore {
    fn customer(&self, tenant: TenantId, id: CustomerId) -> Result<Option<Customer>> {
        if let Some(c) = self.cached(|b| b.customer(tenant, id)) {
            return Ok(Some(c));
        }
        let found = self.row(
            "customer",
            "SELECT data FROM customers WHERE tenant = ?1 AND id = ?2",
            &[&blob(tenant.as_uuid()), &blob(id.as_uuid())],
        )?;
        Ok(self.kept(found, |b, c| b.put_customer(tenant, c)))
    }

    fn identifier(
        &self,
        tenant: TenantId,
        identifier: &Identifier,
    ) -> Result<Option<IdentifierRecord>> {
        let key = ident_key(identifier);
        let found: Option<IdentifierRecord> = self.row(
            "identifier",
            "SELECT data FROM identifiers WHERE tenant = ?1 AND ident = ?2",
            &[&blob(tenant.as_uuid()), &key],
        )?;
        Ok(found)
    }

    fn identifiers_of(
        &self,
        tenant: TenantId,
        customer: CustomerId,
    ) -> Result<Vec<IdentifierRecord>> {
        self.rows(
            "identifier",
            "SELECT data FROM identifiers WHERE tenant = ?1 AND customer = ?2 ORDER BY rowid",
            &[&blob(tenant.as_uuid()), &blob(customer.as_uuid())],
        )
    }

    fn conversation(&self, tenant: TenantId, id: ConversationId) -> Result<Option<Conversation>> {
        if let Some(c) = self.cached(|b| b.conversation(Some(tenant), id)) {
            return Ok(Some(c));
        }
        let found = self.row(
            "conversation",
            "SELECT data FROM conversations WHERE tenant = ?1 AND id = ?2",
            &[&blob(tenant.as_uuid()), &blob(id.as_uuid())],
        )?;
        Ok(self.cache_conversation(found))
    }

    fn conversations_of(
        &self,
        tenant: TenantId,
        customer: CustomerId,
    ) -> Result<Vec<Conversation>> {
        self.rows(
            "conversation",
            "SELECT data FROM conversations WHERE tenant = ?1 AND customer = ?2 ORDER BY created, id",
            &[&blob(tenant.as_uuid()), &blob(customer.as_uuid())],
        )
    }

    fn conversations_in(
        &self,
        tenant: TenantId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Conversation>> {
        let (from, to) = (clamp(from), clamp(to));
        self.rows(
            "conversation",
            "SELECT data FROM conversations WHERE tenant = ?1 AND created >= ?2 AND created < ?3 \
             ORDER BY created, id",
            &[&blob(tenant.as_uuid()), &from, &to],
        )
    }

    fn conversations_in_page(
        &self,
        tenant: TenantId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        after: Option<(DateTime<Utc>, ConversationId)>,
        limit: usize,
    ) -> Result<Vec<Conversation>> {
        let from_time = from;
        let (from, to) = (clamp(from), clamp(to));
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let t = blob(tenant.as_uuid());
        match after {
            None => self.rows(
                "conversation",
                "SELECT data FROM conversations WHERE tenant = ?1 AND created >= ?2 \
                 AND created < ?3 ORDER BY created, id LIMIT ?4",
                &[&t, &from, &to, &limit],
            ),
            // The range starts at the later of `from` and the key's time (SQLite 3.40
            // started a `(created, id) > (?, ?)` range at `from`, stepping over every
            // earlier page again: 0.66 s a page three quarters into a month).
            Some((created, id)) => self.rows(
                "conversation",
                "SELECT data FROM conversations WHERE tenant = ?1 AND created >= ?2 \
                 AND created < ?3 AND (created > ?4 OR id > ?5) ORDER BY created, id LIMIT ?6",
                &[
                    &t,
                    &clamp(from_time.max(created)),
                    &to,
                    &clamp(created),
                    &blob(id.as_uuid()),
                    &limit,
                ],
            ),
        }
    }

    fn inbox(
        &self,
        tenant: TenantId,
        view: &crate::store::InboxView,
        after: Option<&crate::store::Cursor>,
        limit: usize,
    ) -> Result<crate::store::InboxPage> {
        self.inbox_page(tenant, view, after, limit)
    }

    fn inbox_count(&self, tenant: TenantId, view: &crate::store::InboxView) -> Result<u64> {
        self.inbox_count_of(tenant, view)
    }

    fn open_conversation(
        &self,
        tenant: TenantId,
        customer: CustomerId,
    ) -> Result<Option<Conversation>> {
        let found = self.row(
            "conversation",
            "SELECT data FROM conversations WHERE tenant = ?1 AND customer = ?2 AND closed = 0 \
             ORDER BY created DESC, id DESC LIMIT 1",
            &[&blob(tenant.as_uuid()), &blob(customer.as_uuid())],
        )?;
        Ok(self.cache_conversation(found))
    }

    fn message(&self, tenant: TenantId, id: MessageId) -> Result<Option<Message>> {
        Ok(self
            .message_rows(
                "SELECT tenant, id, conversation, external_id, sent, received, data \
                 FROM messages WHERE tenant = ?1 AND id = ?2",
                &[&blob(tenant.as_uuid()), &blob(id.as_uuid())],
            )?
            .pop())
    }

    fn message_by_external_id(
        &self,
        tenant: TenantId,
        channel: &Channel,
        external_id: &str,
    ) -> Result<Option<Message>> {
        Ok(self
            .message_rows(
                "SELECT tenant, id, conversation, external_id, sent, received, data \
                 FROM messages WHERE tenant = ?1 AND channel = ?2 AND external_id = ?3",
                &[&blob(tenant.as_uuid()), &channel.to_string(), &external_id],
            )?
            .pop())
    }

    fn messages_of(&self, tenant: TenantId, conversation: ConversationId) -> Result<Vec<Message>> {
        self.message_rows(
            "SELECT tenant, id, conversation, external_id, sent, received, data \
             FROM messages WHERE tenant = ?1 AND conversation = ?2 \
             ORDER BY sent, received, id",
            &[&blob(tenant.as_uuid()), &blob(conversation.as_uuid())],
        )
    }

    fn message_ids_of(
        &self,
        tenant: TenantId,
        conversation: ConversationId,
    ) -> Result<Vec<MessageId>> {
        // Answered by the `messages_conversation` index alone: no row, no JSON.
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT id FROM messages WHERE tenant = ?1 AND conversation = ?2 \
                 ORDER BY sent, received, id",
            )
            .map_err(|e| sql_error("cannot list a conversation's messages", e))?;
        let ids = stmt
            .query_map(
                [&blob(tenant.as_uuid()), &blob(conversation.as_uuid())],
                |r| r.get::<_, [u8; 16]>(0),
            )
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
            .map_err(|e| sql_error("cannot list a conversation's messages", e))?;
        Ok(ids
            .into_iter()
            .map(|b| MessageId::from_uuid(uuid::Uuid::from_bytes(b)))
            .collect())
    }

    fn recent_messages(
        &self,
        tenant: TenantId,
        conversation: ConversationId,
        limit: usize,
    ) -> Result<Vec<Message>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut newest = self.message_rows(
            "SELECT tenant, id, conversation, external_id, sent, received, data \
             FROM messages WHERE tenant = ?1 AND conversation = ?2 \
             ORDER BY sent DESC, received DESC, id DESC LIMIT ?3",
            &[
                &blob(tenant.as_uuid()),
                &blob(conversation.as_uuid()),
                &limit,
            ],
        )?;
        newest.reverse();
        Ok(newest)
    }

    fn messages_before(
        &self,
        tenant: TenantId,
        conversation: ConversationId,
        before: crate::store::MessageKey,
        limit: usize,
    ) -> Result<Vec<Message>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let (sent, received, id) = before;
        let (sent, received) = (super::ts(sent)?, super::ts(received)?);
        let mut page = self.message_rows(
            "SELECT tenant, id, conversation, external_id, sent, received, data \
             FROM messages WHERE tenant = ?1 AND conversation = ?2 \
             AND (sent, received, id) < (?3, ?4, ?5) \
             ORDER BY sent DESC, received DESC, id DESC LIMIT ?6",
            &[
                &blob(tenant.as_uuid()),
                &blob(conversation.as_uuid()),
                &sent,
                &received,
                &blob(id.as_uuid()),
                &limit,
            ],
        )?;
        page.reverse();
        Ok(page)
    }

    fn latest_inbound(
        &self,
        tenant: TenantId,
        conversation: ConversationId,
        channel: &Channel,
    ) -> Result<Option<Message>> {
        // Newest first through the conversation index, the channel filtered by its column;
        // only the rows walked are decoded, and the walk stops at the first inbound one.
        let mut found = None;
        self.walk_messages(
            "SELECT tenant, id, conversation, external_id, sent, received, data \
             FROM messages WHERE tenant = ?1 AND conversation = ?2 AND channel = ?3 \
             ORDER BY sent DESC, received DESC, id DESC",
            &[
                &blob(tenant.as_uuid()),
                &blob(conversation.as_uuid()),
                &channel.to_string(),
            ],
            |m| {
                let inbound = m.direction == Direction::Inbound;
                if inbound {
                    found = Some(m);
                }
                inbound
            },
        )?;
        Ok(found)
    }

    fn timeline(
        &self,
        tenant: TenantId,
        customer: CustomerId,
        limit: Option<usize>,
    ) -> Result<Vec<Message>> {
        let limit = limit.map_or(-1, |n| i64::try_from(n).unwrap_or(i64::MAX));
        let mut newest: Vec<Message> = self.message_rows(
            // The customer's conversations first, then each one's messages through its
            // index (SQLite's planner, without statistics, would otherwise walk every
            // message of the tenant).
            "SELECT m.tenant, m.id, m.conversation, m.external_id, m.sent, m.received, m.data \
             FROM conversations c \
               CROSS JOIN messages m INDEXED BY messages_conversation \
               ON m.tenant = ?1 AND m.conversation = c.id \
             WHERE c.tenant = ?1 AND c.customer = ?2 \
             ORDER BY m.sent DESC, m.received DESC, m.id DESC LIMIT ?3",
            &[&blob(tenant.as_uuid()), &blob(customer.as_uuid()), &limit],
        )?;
        newest.reverse();
        Ok(newest)
    }

    fn thread(&self, tenant: TenantId, key: &str) -> Result<Option<ConversationId>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT conversation FROM threads WHERE tenant = ?1 AND key = ?2")
            .map_err(|e| sql_error("cannot read a thread key", e))?;
        let mut rows = stmt
            .query(params![blob(tenant.as_uuid()), key])
            .map_err(|e| sql_error("cannot read a thread key", e))?;
        let Some(row) = rows
            .next()
            .map_err(|e| sql_error("cannot read a thread key", e))?
        else {
            return Ok(None);
        };
        let bytes: [u8; 16] = row
            .get(0)
            .map_err(|e| sql_error("cannot read a thread key", e))?;
        Ok(Some(ConversationId::from_uuid(uuid::Uuid::from_bytes(
            bytes,
        ))))
    }

    fn outbox(&self, tenant: TenantId) -> Result<Vec<Message>> {
        self.message_rows(
            "SELECT tenant, id, conversation, external_id, sent, received, data \
             FROM messages WHERE tenant = ?1 AND pending = 1 ORDER BY received, id",
            &[&blob(tenant.as_uuid())],
        )
    }

    fn record(&self, tenant: TenantId, kind: &str, key: &str) -> Result<Option<Record>> {
        if let Some(r) = self.cached(|b| b.record(tenant, kind, key)) {
            return Ok(r);
        }
        let found = self
            .record_rows(
                concat!(
                    "SELECT ",
                    record_columns!(),
                    " FROM records WHERE tenant = ?1 AND kind = ?2 AND key = ?3"
                ),
                &[&blob(tenant.as_uuid()), &kind, &key],
            )?
            .into_iter()
            .next();
        if found.is_none() && self.in_batch() {
            self.batch
                .borrow_mut()
                .put_missing_record(tenant, kind, key);
        }
        Ok(self.kept(found, |b, r| b.put_record(tenant, r)))
    }

    fn records(&self, tenant: TenantId, kind: &str) -> Result<Vec<Record>> {
        self.record_rows(
            concat!(
                "SELECT ",
                record_columns!(),
                " FROM records WHERE tenant = ?1 AND kind = ?2 ORDER BY key"
            ),
            &[&blob(tenant.as_uuid()), &kind],
        )
    }

    fn records_by(&self, tenant: TenantId, kind: &str, secondary: &str) -> Result<Vec<Record>> {
        self.record_rows(
            concat!(
                "SELECT ",
                record_columns!(),
                " FROM records WHERE tenant = ?1 AND kind = ?2 AND secondary = ?3 ORDER BY key"
            ),
            &[&blob(tenant.as_uuid()), &kind, &secondary],
        )
    }

    fn due_records(
        &self,
        kind: &str,
        until: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<(TenantId, Record)>> {
        let mut stmt = self
            .conn
            .prepare_cached(concat!(
                "SELECT tenant, ",
                record_columns!(),
                " FROM records WHERE kind = ?1 AND due IS NOT NULL AND due <= ?2 \
                 ORDER BY due, tenant, key LIMIT ?3"
            ))
            .map_err(|e| sql_error("cannot read due records", e))?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let raws = stmt
            .query_map(params![kind, clamp(until), limit], |r| {
                let t: [u8; 16] = r.get(0)?;
                Ok((
                    t,
                    (
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                        r.get(6)?,
                    ),
                ))
            })
            .map_err(|e| sql_error("cannot read due records", e))?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(|e| sql_error("cannot read due records", e))?;
        raws.into_iter()
            .map(|(t, raw)| {
                Ok((
                    TenantId::from_uuid(uuid::Uuid::from_bytes(t)),
                    to_record(raw)?,
                ))
            })
            .collect()
    }

    fn next_due(&self, kind: &str) -> Result<Option<DateTime<Utc>>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT MIN(due) FROM records WHERE kind = ?1 AND due IS NOT NULL")
            .map_err(|e| sql_error("cannot read the next due time", e))?;
        let v: Option<i64> = stmt
            .query_row(params![kind], |r| r.get(0))
            .map_err(|e| sql_error("cannot read the next due time", e))?;
        Ok(v.map(DateTime::<Utc>::from_timestamp_nanos))
    }

    fn apply(&mut self, changes: ChangeSet) -> Result<()> {
        self.apply_changes(changes)
    }

    fn supports_batches(&self) -> bool {
        true
    }

    fn begin_batch(&mut self) -> Result<()> {
        self.start_batch()
    }

    fn scrub(&mut self) -> Result<()> {
        if self.in_batch() {
            return Ok(()); // the batch's end is the place; nothing is committed yet
        }
        self.checkpoint()
    }

    fn end_batch(&mut self, commit: bool) -> Result<()> {
        self.finish_batch(commit)
    }
}

/// Nanoseconds for a range bound; times beyond what nanoseconds hold clamp to the ends.
fn clamp(t: DateTime<Utc>) -> Value {
    Value::Integer(ts(t).unwrap_or(if t.timestamp() < 0 {
        i64::MIN
    } else {
        i64::MAX
    }))
}
