//! The read half of the PostgreSQL [`Store`]: every query filters by tenant first.

use chrono::{DateTime, Utc};
use postgres::Row;

use super::{pg_error, PostgresStore};
use crate::channel::Channel;
use crate::conversation::Conversation;
use crate::error::{Error, Result};
use crate::id::{ConversationId, CustomerId, MessageId, TenantId};
use crate::identity::{Customer, Identifier, IdentifierRecord};
use crate::message::Message;
use crate::store::{ChangeSet, Record, Store};

pub(super) fn id(u: uuid::Uuid) -> Vec<u8> {
    u.as_bytes().to_vec()
}

/// Nanoseconds for a range bound; times beyond what nanoseconds hold clamp to the ends.
pub(super) fn bound(t: DateTime<Utc>) -> i64 {
    t.timestamp_nanos_opt().unwrap_or(if t.timestamp() < 0 {
        i64::MIN
    } else {
        i64::MAX
    })
}

pub(super) fn decode<T: serde::de::DeserializeOwned>(
    what: &str,
    row: &Row,
    col: usize,
) -> Result<T> {
    let bytes: &[u8] = row.get(col);
    serde_json::from_slice(bytes)
        .map_err(|e| Error::store(format!("cannot decode a {what} row"), e))
}

fn uuid_of(row: &Row, col: usize) -> Result<uuid::Uuid> {
    let bytes: &[u8] = row.get(col);
    uuid::Uuid::from_slice(bytes).map_err(|e| Error::store("a stored id is not 16 bytes", e))
}

pub(super) fn record_of(row: &Row, from: usize) -> Result<Record> {
    let due: Option<i64> = row.get(from + 3);
    let version: i64 = row.get(from + 4);
    Ok(Record {
        kind: row.get(from),
        key: row.get(from + 1),
        secondary: row.get(from + 2),
        due: due.map(DateTime::<Utc>::from_timestamp_nanos),
        version: version as u64,
        value: decode("record", row, from + 5)?,
    })
}

/// The statements of the reads, by [`Store`] method (see `PostgresStore::statements`).
const CUSTOMER: &str = "SELECT data FROM customers WHERE tenant = $1 AND id = $2";
const IDENTIFIER: &str = "SELECT data FROM identifiers WHERE tenant = $1 AND ident = $2";
const IDENTIFIERS_OF: &str =
    "SELECT data FROM identifiers WHERE tenant = $1 AND customer = $2 ORDER BY seq";
const CONVERSATION: &str = "SELECT data FROM conversations WHERE tenant = $1 AND id = $2";
const CONVERSATIONS_OF: &str =
    "SELECT data FROM conversations WHERE tenant = $1 AND customer = $2 ORDER BY created, id";
const CONVERSATIONS_IN: &str =
    "SELECT data FROM conversations WHERE tenant = $1 AND created >= $2 AND created < $3 \
     ORDER BY created, id";
const CONVERSATIONS_IN_FIRST_PAGE: &str =
    "SELECT data FROM conversations WHERE tenant = $1 AND created >= $2 \
     AND created < $3 ORDER BY created, id LIMIT $4";
const CONVERSATIONS_IN_PAGE: &str =
    "SELECT data FROM conversations WHERE tenant = $1 AND created >= $2 \
     AND created < $3 AND (created > $4 OR id > $5) ORDER BY created, id LIMIT $6";
const OPEN_CONVERSATION: &str =
    "SELECT data FROM conversations WHERE tenant = $1 AND customer = $2 AND NOT closed \
     ORDER BY created DESC, id DESC LIMIT 1";
const MESSAGE: &str = "SELECT data FROM messages WHERE tenant = $1 AND id = $2";
const MESSAGE_BY_EXTERNAL_ID: &str =
    "SELECT data FROM messages WHERE tenant = $1 AND channel = $2 AND external_id = $3";
const MESSAGES_OF: &str = "SELECT data FROM messages WHERE tenant = $1 AND conversation = $2 \
     ORDER BY sent, received, id";
const MESSAGE_IDS_OF: &str = "SELECT id FROM messages WHERE tenant = $1 AND conversation = $2 \
     ORDER BY sent, received, id";
const RECENT_MESSAGES: &str = "SELECT data FROM messages WHERE tenant = $1 AND conversation = $2 \
     ORDER BY sent DESC, received DESC, id DESC LIMIT $3";
const MESSAGES_BEFORE: &str = "SELECT data FROM messages WHERE tenant = $1 AND conversation = $2 \
     AND (sent, received, id) < ($3, $4, $5) \
     ORDER BY sent DESC, received DESC, id DESC LIMIT $6";
const LATEST_INBOUND: &str =
    "SELECT data FROM messages WHERE tenant = $1 AND conversation = $2 AND channel = $3 \
     AND convert_from(data, 'UTF8')::jsonb ->> 'direction' = 'inbound' \
     ORDER BY sent DESC, received DESC, id DESC LIMIT 1";
const TIMELINE: &str = "SELECT m.data FROM conversations c JOIN messages m \
     ON m.tenant = c.tenant AND m.conversation = c.id \
     WHERE c.tenant = $1 AND c.customer = $2 \
     ORDER BY m.sent DESC, m.received DESC, m.id DESC LIMIT $3";
const THREAD: &str = "SELECT conversation FROM threads WHERE tenant = $1 AND key = $2";
const OUTBOX: &str =
    "SELECT data FROM messages WHERE tenant = $1 AND pending ORDER BY received, id";
const RECORD: &str = "SELECT kind, key, secondary, due, version, value FROM records \
     WHERE tenant = $1 AND kind = $2 AND key = $3";
const RECORDS: &str = "SELECT kind, key, secondary, due, version, value FROM records \
     WHERE tenant = $1 AND kind = $2 ORDER BY key";
const RECORDS_BY: &str = "SELECT kind, key, secondary, due, version, value FROM records \
     WHERE tenant = $1 AND kind = $2 AND secondary = $3 ORDER BY key";
const DUE_RECORDS: &str = "SELECT tenant, kind, key, secondary, due, version, value FROM records \
     WHERE kind = $1 AND due IS NOT NULL AND due <= $2 \
     ORDER BY due, tenant, key LIMIT $3";
const NEXT_DUE: &str = "SELECT MIN(due) FROM records WHERE kind = $1 AND due IS NOT NULL";

/// The reads' statements, by name.
pub(super) const STATEMENTS: &[(&str, &str)] = &[
    ("customer", CUSTOMER),
    ("identifier", IDENTIFIER),
    ("identifiers_of", IDENTIFIERS_OF),
    ("conversation", CONVERSATION),
    ("conversations_of", CONVERSATIONS_OF),
    ("conversations_in", CONVERSATIONS_IN),
    ("conversations_in_first_page", CONVERSATIONS_IN_FIRST_PAGE),
    ("conversations_in_page", CONVERSATIONS_IN_PAGE),
    ("open_conversation", OPEN_CONVERSATION),
    ("message", MESSAGE),
    ("message_by_external_id", MESSAGE_BY_EXTERNAL_ID),
    ("messages_of", MESSAGES_OF),
    ("message_ids_of", MESSAGE_IDS_OF),
    ("recent_messages", RECENT_MESSAGES),
    ("messages_before", MESSAGES_BEFORE),
    ("latest_inbound", LATEST_INBOUND),
    ("timeline", TIMELINE),
    ("thread", THREAD),
    ("outbox", OUTBOX),
    ("record", RECORD),
    ("records", RECORDS),
    ("records_by", RECORDS_BY),
    ("due_records", DUE_RECORDS),
    ("next_due", NEXT_DUE),
];

impl PostgresStore {
    fn rows(
        &self,
        what: &str,
        sql: &'static str,
        params: &[&(dyn postgres::types::ToSql + Sync)],
    ) -> Result<Vec<Row>> {
        self.with(sql, |c, s| c.query(s, params))
            .map_err(|e| pg_error(format!("cannot read {what}"), e))
    }

    fn decoded<T: serde::de::DeserializeOwned>(
        &self,
        what: &str,
        sql: &'static str,
        params: &[&(dyn postgres::types::ToSql + Sync)],
    ) -> Result<Vec<T>> {
        self.rows(what, sql, params)?
            .iter()
            .map(|r| decode(what, r, 0))
            .collect()
    }

    fn one<T: serde::de::DeserializeOwned>(
        &self,
        what: &str,
        sql: &'static str,
        params: &[&(dyn postgres::types::ToSql + Sync)],
    ) -> Result<Option<T>> {
        Ok(self.decoded(what, sql, params)?.into_iter().next())
    }
}

impl Store for PostgresStore {
    fn read_ahead(
        &self,
        tenant: TenantId,
        plan: &crate::store::ReadPlan<'_>,
    ) -> Result<crate::store::ReadAhead> {
        self.read_ahead_at_once(tenant, plan)
    }

    fn customer(&self, tenant: TenantId, c: CustomerId) -> Result<Option<Customer>> {
        self.one(
            "customer",
            CUSTOMER,
            &[&id(tenant.as_uuid()), &id(c.as_uuid())],
        )
    }

    fn identifier(&self, tenant: TenantId, i: &Identifier) -> Result<Option<IdentifierRecord>> {
        self.one(
            "identifier",
            IDENTIFIER,
            &[&id(tenant.as_uuid()), &i.to_string()],
        )
    }

    fn identifiers_of(&self, tenant: TenantId, c: CustomerId) -> Result<Vec<IdentifierRecord>> {
        self.decoded(
            "identifier",
            IDENTIFIERS_OF,
            &[&id(tenant.as_uuid()), &id(c.as_uuid())],
        )
    }

    fn conversation(&self, tenant: TenantId, c: ConversationId) -> Result<Option<Conversation>> {
        self.one(
            "conversation",
            CONVERSATION,
            &[&id(tenant.as_uuid()), &id(c.as_uuid())],
        )
    }

    fn conversations_of(&self, tenant: TenantId, c: CustomerId) -> Result<Vec<Conversation>> {
        self.decoded(
            "conversation",
            CONVERSATIONS_OF,
            &[&id(tenant.as_uuid()), &id(c.as_uuid())],
        )
    }

    fn conversations_in(
        &self,
        tenant: TenantId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Conversation>> {
        self.decoded(
            "conversation",
            CONVERSATIONS_IN,
            &[&id(tenant.as_uuid()), &bound(from), &bound(to)],
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
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let t = id(tenant.as_uuid());
        match after {
            None => self.decoded(
                "conversation",
                CONVERSATIONS_IN_FIRST_PAGE,
                &[&t, &bound(from), &bound(to), &limit],
            ),
            // The range starts at the later of `from` and the key's time, so a page
            // never steps over the earlier ones (as in `SqliteStore`).
            Some((created, c)) => self.decoded(
                "conversation",
                CONVERSATIONS_IN_PAGE,
                &[
                    &t,
                    &bound(from.max(created)),
                    &bound(to),
                    &bound(created),
                    &id(c.as_uuid()),
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

    fn open_conversation(&self, tenant: TenantId, c: CustomerId) -> Result<Option<Conversation>> {
        self.one(
            "conversation",
            OPEN_CONVERSATION,
            &[&id(tenant.as_uuid()), &id(c.as_uuid())],
        )
    }

    fn message(&self, tenant: TenantId, m: MessageId) -> Result<Option<Message>> {
        self.one(
            "message",
            MESSAGE,
            &[&id(tenant.as_uuid()), &id(m.as_uuid())],
        )
    }

    fn message_by_external_id(
        &self,
        tenant: TenantId,
        channel: &Channel,
        external_id: &str,
    ) -> Result<Option<Message>> {
        self.one(
            "message",
            MESSAGE_BY_EXTERNAL_ID,
            &[&id(tenant.as_uuid()), &channel.to_string(), &external_id],
        )
    }

    fn messages_of(&self, tenant: TenantId, c: ConversationId) -> Result<Vec<Message>> {
        self.decoded(
            "message",
            MESSAGES_OF,
            &[&id(tenant.as_uuid()), &id(c.as_uuid())],
        )
    }

    fn message_ids_of(&self, tenant: TenantId, c: ConversationId) -> Result<Vec<MessageId>> {
        self.rows(
            "a conversation's message ids",
            MESSAGE_IDS_OF,
            &[&id(tenant.as_uuid()), &id(c.as_uuid())],
        )?
        .iter()
        .map(|r| uuid_of(r, 0).map(MessageId::from_uuid))
        .collect()
    }

    fn recent_messages(
        &self,
        tenant: TenantId,
        c: ConversationId,
        limit: usize,
    ) -> Result<Vec<Message>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut newest: Vec<Message> = self.decoded(
            "message",
            RECENT_MESSAGES,
            &[&id(tenant.as_uuid()), &id(c.as_uuid()), &limit],
        )?;
        newest.reverse();
        Ok(newest)
    }

    fn messages_before(
        &self,
        tenant: TenantId,
        c: ConversationId,
        before: crate::store::MessageKey,
        limit: usize,
    ) -> Result<Vec<Message>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let (sent, received, m) = before;
        let mut page: Vec<Message> = self.decoded(
            "message",
            MESSAGES_BEFORE,
            &[
                &id(tenant.as_uuid()),
                &id(c.as_uuid()),
                &bound(sent),
                &bound(received),
                &id(m.as_uuid()),
                &limit,
            ],
        )?;
        page.reverse();
        Ok(page)
    }

    fn latest_inbound(
        &self,
        tenant: TenantId,
        c: ConversationId,
        channel: &Channel,
    ) -> Result<Option<Message>> {
        self.one(
            "message",
            LATEST_INBOUND,
            &[
                &id(tenant.as_uuid()),
                &id(c.as_uuid()),
                &channel.to_string(),
            ],
        )
    }

    fn timeline(
        &self,
        tenant: TenantId,
        c: CustomerId,
        limit: Option<usize>,
    ) -> Result<Vec<Message>> {
        let limit = limit.map(|n| i64::try_from(n).unwrap_or(i64::MAX));
        let mut newest: Vec<Message> = self.decoded(
            "message",
            TIMELINE,
            &[&id(tenant.as_uuid()), &id(c.as_uuid()), &limit],
        )?;
        newest.reverse();
        Ok(newest)
    }

    fn thread(&self, tenant: TenantId, key: &str) -> Result<Option<ConversationId>> {
        let rows = self.rows("a thread key", THREAD, &[&id(tenant.as_uuid()), &key])?;
        rows.first()
            .map(|r| uuid_of(r, 0).map(ConversationId::from_uuid))
            .transpose()
    }

    fn outbox(&self, tenant: TenantId) -> Result<Vec<Message>> {
        self.decoded("message", OUTBOX, &[&id(tenant.as_uuid())])
    }

    fn record(&self, tenant: TenantId, kind: &str, key: &str) -> Result<Option<Record>> {
        self.rows("a record", RECORD, &[&id(tenant.as_uuid()), &kind, &key])?
            .first()
            .map(|r| record_of(r, 0))
            .transpose()
    }

    fn records(&self, tenant: TenantId, kind: &str) -> Result<Vec<Record>> {
        self.rows("records", RECORDS, &[&id(tenant.as_uuid()), &kind])?
            .iter()
            .map(|r| record_of(r, 0))
            .collect()
    }

    fn records_by(&self, tenant: TenantId, kind: &str, secondary: &str) -> Result<Vec<Record>> {
        self.rows(
            "records",
            RECORDS_BY,
            &[&id(tenant.as_uuid()), &kind, &secondary],
        )?
        .iter()
        .map(|r| record_of(r, 0))
        .collect()
    }

    fn due_records(
        &self,
        kind: &str,
        until: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<(TenantId, Record)>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.rows("due records", DUE_RECORDS, &[&kind, &bound(until), &limit])?
            .iter()
            .map(|r| Ok((TenantId::from_uuid(uuid_of(r, 0)?), record_of(r, 1)?)))
            .collect()
    }

    fn next_due(&self, kind: &str) -> Result<Option<DateTime<Utc>>> {
        let rows = self.rows("the next due time", NEXT_DUE, &[&kind])?;
        let v: Option<i64> = rows.first().and_then(|r| r.get(0));
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

    fn end_batch(&mut self, commit: bool) -> Result<()> {
        self.finish_batch(commit)
    }
}
