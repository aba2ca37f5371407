//! The change-set rules, written once: what [`Store::apply`](crate::store::Store::apply)
//! refuses, and with which error.
//!
//! Each op of a [`ChangeSet`](crate::store::ChangeSet) is checked against the rows as the
//! store holds them, overlaid with what the change set's earlier ops left (a change set
//! may create a customer and update it again, or insert a message and redact it). The
//! rules themselves are pure: a store answers a few questions about its rows through
//! [`Rows`] ("the stored version of customer X", "the owner of identifier I", "is this
//! deduplication key taken"), and [`Checker`] decides. [`MemoryStore`](crate::store::MemoryStore)
//! answers from its maps, `SqliteStore` from its batch cache and its queries, so both
//! refuse the same change sets with the same errors. (`PostgresStore` checks the same
//! rules in its server-side function; the conformance suite holds all of them to it.)
//!
//! The rules, each violation an [`Error::Conflict`]:
//!
//! * versions (customers, conversations, records): version 1 inserts and no row may
//!   exist; version `n` replaces the stored `n - 1` ([`check_version`]); a record is
//!   deleted only at its stored version;
//! * a conversation id is unique across tenants;
//! * an identifier is written only while its owner is the one the writer read
//!   (`expected_owner`, `None`: no owner), and deleted only while it belongs to `owner`;
//! * a message id is unique within the tenant, and so is its deduplication key
//!   `(channel, external_id)`; an update keeps the stored channel and external id; a
//!   redaction keeps the channel and conversation, and may move the external id only to
//!   a free key (freeing the old one);
//! * thread keys never conflict (a key that exists keeps its first conversation).

use std::borrow::Cow;
use std::collections::HashMap;

use crate::channel::Channel;
use crate::error::{Error, Result};
use crate::id::{ConversationId, CustomerId, MessageId};
use crate::identity::Identifier;
use crate::message::Message;
use crate::store::{Op, Record};

/// The version rule of every versioned write (customers, conversations, records):
/// version 1 inserts (no row may exist), version `n` replaces the stored `n - 1`. The
/// error, a conflict, names the row as `kind` and `id` (formatted only on failure).
pub(crate) fn check_version(
    kind: &dyn std::fmt::Display,
    id: &dyn std::fmt::Display,
    stored: Option<u64>,
    new: u64,
) -> Result<()> {
    match (stored, new) {
        (None, 1) => Ok(()),
        (Some(s), n) if n > 1 && s == n - 1 => Ok(()),
        (None, n) => Err(Error::Conflict(format!(
            "{kind} {id} version {n} written but no stored version exists"
        ))),
        (Some(s), n) => Err(Error::Conflict(format!(
            "{kind} {id} version {n} written over stored version {s}"
        ))),
    }
}

/// [`check_version`] for a record write.
pub(crate) fn check_record_version(r: &Record, stored: Option<u64>) -> Result<()> {
    check_version(
        &format_args!("{} record", r.kind),
        &r.key,
        stored,
        r.version,
    )
}

/// What the rules need to know of a stored message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MessageKey<'a> {
    /// Its channel's name.
    pub channel: Cow<'a, str>,
    /// Its provider id.
    pub external_id: Option<Cow<'a, str>>,
    /// Its conversation.
    pub conversation: ConversationId,
}

impl<'a> MessageKey<'a> {
    /// The key of `m`, borrowed from it.
    pub(crate) fn of(m: &'a Message) -> Self {
        MessageKey {
            channel: Cow::Borrowed(m.channel.name()),
            external_id: m.external_id.as_deref().map(Cow::Borrowed),
            conversation: m.conversation,
        }
    }
}

/// The rows of one tenant as a store holds them, before the change set: the questions
/// the rules ask. Each answer is what is stored now (an implementation may answer from
/// a cache that is known to hold the stored row).
pub(crate) trait Rows {
    /// The stored version of customer `id`, if it exists.
    fn customer_version(&self, id: CustomerId) -> Result<Option<u64>>;
    /// The stored version of conversation `id` in this tenant, if it exists.
    fn conversation_version(&self, id: ConversationId) -> Result<Option<u64>>;
    /// Whether conversation `id` exists in another tenant.
    fn conversation_elsewhere(&self, id: ConversationId) -> Result<bool>;
    /// The customer `identifier` belongs to, if it is stored.
    fn owner(&self, identifier: &Identifier) -> Result<Option<CustomerId>>;
    /// The stored message `id`'s key, if it exists.
    fn message(&self, id: MessageId) -> Result<Option<MessageKey<'_>>>;
    /// Whether a message with `external_id` on `channel` is stored.
    fn dedup_taken(&self, channel: &Channel, external_id: &str) -> Result<bool>;
    /// The stored version of the record `kind`/`key`, if it exists.
    fn record_version(&self, kind: &str, key: &str) -> Result<Option<u64>>;
}

/// A row a change set's ops may touch twice.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Row<'a> {
    Customer(CustomerId),
    Conversation(ConversationId),
    Identifier(&'a Identifier),
    Message(MessageId),
    /// A channel's name and an external id.
    Dedup(&'a str, Cow<'a, str>),
    Record(&'a str, &'a str),
}

/// What the ops before the current one left in a row (if they touched it).
#[derive(Debug, Clone, PartialEq)]
enum State<'a> {
    /// A versioned row (customer, conversation, record); `None`: no row.
    Version(Option<u64>),
    /// An identifier's owner; `None`: no row.
    Owner(Option<CustomerId>),
    /// A message's key; `None`: no row.
    Message(Option<MessageKey<'a>>),
    /// Whether a deduplication key is taken.
    Taken(bool),
}

/// The states a change set's earlier ops left. Most change sets have a handful of ops,
/// where a list costs less than a hash map's hashing; a tick's change set can touch
/// hundreds of rows, and past [`Seen::LIST_MAX`] rows a hash map finds them, so a change
/// set's checks never cost the square of its size.
#[derive(Debug, Default)]
struct Seen<'a> {
    list: Vec<(Row<'a>, State<'a>)>,
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

    fn get(&self, row: &Row<'a>) -> Option<&State<'a>> {
        self.position(row).map(|i| &self.list[i].1)
    }

    fn insert(&mut self, row: Row<'a>, state: State<'a>) {
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

fn conflict(msg: String) -> Error {
    Error::Conflict(msg)
}

/// Checks a change set's ops one after the other, each against the stored rows as the
/// ops checked (or [assumed](Checker::assume)) before it left them.
#[derive(Debug, Default)]
pub(crate) struct Checker<'a> {
    seen: Seen<'a>,
}

/// Checks `ops`, in order, against `rows`: the first violation, or `Ok`.
pub(crate) fn check_all<'a>(ops: impl IntoIterator<Item = &'a Op>, rows: &impl Rows) -> Result<()> {
    let mut checker = Checker::default();
    for op in ops {
        checker.check(op, rows)?;
    }
    Ok(())
}

impl<'a> Checker<'a> {
    /// Checks `op` against `rows` as the earlier ops left them, then notes its effect.
    pub(crate) fn check(&mut self, op: &'a Op, rows: &impl Rows) -> Result<()> {
        match op {
            Op::PutCustomer(c) => {
                let stored = self.version(Row::Customer(c.id), rows)?;
                check_version(&"customer", &c.id, stored, c.version)?;
            }
            Op::PutConversation(c) => {
                let stored = self.version(Row::Conversation(c.id), rows)?;
                if stored.is_none() && rows.conversation_elsewhere(c.id)? {
                    return Err(conflict(format!(
                        "conversation {} exists in another tenant",
                        c.id
                    )));
                }
                check_version(&"conversation", &c.id, stored, c.version)?;
            }
            Op::PutIdentifier {
                record,
                expected_owner,
            } => {
                let current = self.owner(&record.identifier, rows)?;
                if current != *expected_owner {
                    return Err(conflict(format!(
                        "identifier {} belongs to {current:?}, the writer expected {expected_owner:?}",
                        record.identifier
                    )));
                }
            }
            Op::DeleteIdentifier { identifier, owner } => {
                let current = self.owner(identifier, rows)?;
                if current != Some(*owner) {
                    return Err(conflict(format!(
                        "identifier {identifier} belongs to {current:?}, not {owner}"
                    )));
                }
            }
            Op::InsertMessage(m) => self.check_insert(m, rows)?,
            Op::UpdateMessage(m) => self.check_update(m, rows)?,
            Op::RedactMessage(m) => self.check_redaction(m, rows)?,
            Op::PutRecord(r) => {
                let stored = self.version(Row::Record(&r.kind, &r.key), rows)?;
                check_record_version(r, stored)?;
            }
            Op::DeleteRecord { kind, key, version } => {
                let stored = self.version(Row::Record(kind, key), rows)?;
                if stored != Some(*version) {
                    return Err(conflict(format!(
                        "{kind} record {key} version {version} deleted, but the stored version is {stored:?}"
                    )));
                }
            }
            // `INSERT OR IGNORE` and deletions of keys that may be missing: never fail.
            Op::PutThreadKey { .. }
            | Op::DeleteThreadKey { .. }
            | Op::DeleteThreadKeysOf { .. }
            | Op::MoveThreadKeys { .. } => {}
        }
        self.assume(op);
        Ok(())
    }

    /// Notes `op`'s effect on the rows without checking it (a store whose write of `op`
    /// enforces the rules itself). The old deduplication key of a redaction is not known
    /// here and stays as the rows say.
    pub(crate) fn assume(&mut self, op: &'a Op) {
        match op {
            Op::PutCustomer(c) => self
                .seen
                .insert(Row::Customer(c.id), State::Version(Some(c.version))),
            Op::PutConversation(c) => self
                .seen
                .insert(Row::Conversation(c.id), State::Version(Some(c.version))),
            Op::PutIdentifier { record, .. } => self.seen.insert(
                Row::Identifier(&record.identifier),
                State::Owner(Some(record.customer)),
            ),
            Op::DeleteIdentifier { identifier, .. } => self
                .seen
                .insert(Row::Identifier(identifier), State::Owner(None)),
            Op::InsertMessage(m) | Op::UpdateMessage(m) | Op::RedactMessage(m) => {
                self.seen
                    .insert(Row::Message(m.id), State::Message(Some(MessageKey::of(m))));
                if let Some(ext) = &m.external_id {
                    self.seen.insert(
                        Row::Dedup(m.channel.name(), Cow::Borrowed(ext)),
                        State::Taken(true),
                    );
                }
            }
            Op::PutRecord(r) => self.seen.insert(
                Row::Record(&r.kind, &r.key),
                State::Version(Some(r.version)),
            ),
            Op::DeleteRecord { kind, key, .. } => self
                .seen
                .insert(Row::Record(kind, key), State::Version(None)),
            Op::PutThreadKey { .. }
            | Op::DeleteThreadKey { .. }
            | Op::DeleteThreadKeysOf { .. }
            | Op::MoveThreadKeys { .. } => {}
        }
    }

    /// A versioned row's version before the current op.
    fn version(&self, row: Row<'a>, rows: &impl Rows) -> Result<Option<u64>> {
        match self.seen.get(&row) {
            Some(State::Version(v)) => return Ok(*v),
            Some(_) => return Ok(None),
            None => {}
        }
        match row {
            Row::Customer(id) => rows.customer_version(id),
            Row::Conversation(id) => rows.conversation_version(id),
            Row::Record(kind, key) => rows.record_version(kind, key),
            _ => Ok(None),
        }
    }

    /// An identifier's owner before the current op.
    fn owner(&self, identifier: &'a Identifier, rows: &impl Rows) -> Result<Option<CustomerId>> {
        match self.seen.get(&Row::Identifier(identifier)) {
            Some(State::Owner(o)) => Ok(*o),
            Some(_) => Ok(None),
            None => rows.owner(identifier),
        }
    }

    /// A message's key before the current op.
    fn message<'s, R: Rows>(
        &'s self,
        id: MessageId,
        rows: &'s R,
    ) -> Result<Option<MessageKey<'s>>> {
        match self.seen.get(&Row::Message(id)) {
            Some(State::Message(key)) => Ok(key.clone()),
            Some(_) => Ok(None),
            None => rows.message(id),
        }
    }

    /// Whether a deduplication key is taken before the current op.
    fn taken(&self, channel: &'a Channel, ext: &'a str, rows: &impl Rows) -> Result<bool> {
        match self
            .seen
            .get(&Row::Dedup(channel.name(), Cow::Borrowed(ext)))
        {
            Some(State::Taken(t)) => Ok(*t),
            Some(_) => Ok(false),
            None => rows.dedup_taken(channel, ext),
        }
    }

    fn check_insert(&self, m: &'a Message, rows: &impl Rows) -> Result<()> {
        if self.message(m.id, rows)?.is_some() {
            return Err(conflict(format!("message {} already exists", m.id)));
        }
        self.check_free(m, rows)
    }

    /// The deduplication key `m` takes is free (or `m` has none).
    fn check_free(&self, m: &'a Message, rows: &impl Rows) -> Result<()> {
        match &m.external_id {
            Some(ext) if self.taken(&m.channel, ext, rows)? => Err(conflict(format!(
                "message {ext:?} on {} is already stored",
                m.channel
            ))),
            _ => Ok(()),
        }
    }

    fn check_update(&self, m: &'a Message, rows: &impl Rows) -> Result<()> {
        let Some(stored) = self.message(m.id, rows)? else {
            return Err(conflict(format!("message {} does not exist", m.id)));
        };
        if stored.channel != m.channel.name()
            || stored.external_id.as_deref() != m.external_id.as_deref()
        {
            return Err(conflict(format!(
                "message {} update changes its deduplication key",
                m.id
            )));
        }
        Ok(())
    }

    /// A redaction keeps the message's channel and conversation; a new external id must
    /// be free, and the old one is freed.
    fn check_redaction(&mut self, m: &'a Message, rows: &impl Rows) -> Result<()> {
        let old: Option<String> = {
            let Some(stored) = self.message(m.id, rows)? else {
                return Err(conflict(format!("message {} does not exist", m.id)));
            };
            if stored.channel != m.channel.name() || stored.conversation != m.conversation {
                return Err(conflict(format!(
                    "message {} redaction changes its channel or conversation",
                    m.id
                )));
            }
            if stored.external_id.as_deref() == m.external_id.as_deref() {
                return Ok(());
            }
            stored.external_id.map(Cow::into_owned)
        };
        self.check_free(m, rows)?;
        if let Some(old) = old {
            self.seen.insert(
                Row::Dedup(m.channel.name(), Cow::Owned(old)),
                State::Taken(false),
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use chrono::{DateTime, Utc};

    use super::*;
    use crate::conversation::Conversation;
    use crate::id::TenantId;
    use crate::identity::{Customer, IdentifierRecord};
    use crate::message::{Author, Direction};

    /// A tenant's rows, as plainly as they can be held.
    #[derive(Default)]
    struct Tiny {
        customers: HashMap<CustomerId, u64>,
        conversations: HashMap<ConversationId, u64>,
        elsewhere: Vec<ConversationId>,
        owners: HashMap<Identifier, CustomerId>,
        messages: Vec<Message>,
        records: HashMap<(String, String), u64>,
    }

    impl Rows for Tiny {
        fn customer_version(&self, id: CustomerId) -> Result<Option<u64>> {
            Ok(self.customers.get(&id).copied())
        }
        fn conversation_version(&self, id: ConversationId) -> Result<Option<u64>> {
            Ok(self.conversations.get(&id).copied())
        }
        fn conversation_elsewhere(&self, id: ConversationId) -> Result<bool> {
            Ok(self.elsewhere.contains(&id))
        }
        fn owner(&self, identifier: &Identifier) -> Result<Option<CustomerId>> {
            Ok(self.owners.get(identifier).copied())
        }
        fn message(&self, id: MessageId) -> Result<Option<MessageKey<'_>>> {
            Ok(self
                .messages
                .iter()
                .find(|m| m.id == id)
                .map(MessageKey::of))
        }
        fn dedup_taken(&self, channel: &Channel, external_id: &str) -> Result<bool> {
            Ok(self
                .messages
                .iter()
                .any(|m| m.channel == *channel && m.external_id.as_deref() == Some(external_id)))
        }
        fn record_version(&self, kind: &str, key: &str) -> Result<Option<u64>> {
            Ok(self.records.get(&(kind.into(), key.into())).copied())
        }
    }

    fn tenant() -> TenantId {
        TenantId::from_uuid(uuid::Uuid::from_u128(1))
    }

    fn t0() -> DateTime<Utc> {
        DateTime::from_timestamp(1_772_442_000, 0).expect("time")
    }

    fn customer_id(n: u128) -> CustomerId {
        CustomerId::from_uuid(uuid::Uuid::from_u128(0x100 + n))
    }

    fn conversation_id(n: u128) -> ConversationId {
        ConversationId::from_uuid(uuid::Uuid::from_u128(0x200 + n))
    }

    fn customer(n: u128, version: u64) -> Op {
        let mut c = Customer::new(customer_id(n), tenant(), t0());
        c.version = version;
        Op::PutCustomer(c)
    }

    fn conversation(n: u128, version: u64) -> Op {
        let mut c = Conversation::new(
            conversation_id(n),
            tenant(),
            customer_id(0),
            Channel::Email,
            t0(),
        );
        c.version = version;
        Op::PutConversation(c)
    }

    fn identifier(n: u8) -> Identifier {
        Identifier::email(&format!("p{n}@example.com")).expect("identifier")
    }

    fn put_identifier(n: u8, owner: u128, expected: Option<u128>) -> Op {
        Op::PutIdentifier {
            record: IdentifierRecord {
                tenant: tenant(),
                identifier: identifier(n),
                customer: customer_id(owner),
                source: None,
                verified: false,
                first_seen: t0(),
                last_seen: t0(),
            },
            expected_owner: expected.map(customer_id),
        }
    }

    fn message(n: u128, ext: Option<&str>) -> Message {
        Message {
            id: MessageId::from_uuid(uuid::Uuid::from_u128(0x300 + n)),
            tenant: tenant(),
            conversation: conversation_id(0),
            channel: Channel::WhatsApp,
            direction: Direction::Inbound,
            author: Author::System,
            body: "hello".into(),
            attachments: Vec::new(),
            counterpart: None,
            external_id: ext.map(str::to_string),
            thread_key: None,
            inbox: None,
            quoted: None,
            automated: None,
            event: None,
            sent_at: t0(),
            received_at: t0(),
            language: None,
            delivery: None,
        }
    }

    fn record(key: &str, version: u64) -> Op {
        let mut r = Record::new("clock", key, serde_json::json!(1));
        r.version = version;
        Op::PutRecord(r)
    }

    /// The conflict's message, or `"ok"`.
    fn outcome(rows: &Tiny, ops: &[Op]) -> String {
        match check_all(ops, rows) {
            Ok(()) => "ok".into(),
            Err(Error::Conflict(m)) => m,
            Err(e) => panic!("not a conflict: {e}"),
        }
    }

    #[test]
    fn versions_insert_at_one_and_follow_the_stored_or_earlier_one() {
        let mut rows = Tiny::default();
        rows.customers.insert(customer_id(1), 1);
        assert_eq!(outcome(&rows, &[customer(0, 1), customer(1, 2)]), "ok");
        let id = customer_id(0);
        assert_eq!(
            outcome(&rows, &[customer(0, 2)]),
            format!("customer {id} version 2 written but no stored version exists")
        );
        let id1 = customer_id(1);
        assert_eq!(
            outcome(&rows, &[customer(1, 1)]),
            format!("customer {id1} version 1 written over stored version 1")
        );
        // The change set's own earlier write is the one to follow.
        assert_eq!(outcome(&rows, &[customer(0, 1), customer(0, 2)]), "ok");
        assert_eq!(
            outcome(&rows, &[customer(0, 1), customer(0, 1)]),
            format!("customer {id} version 1 written over stored version 1")
        );
        assert_eq!(outcome(&rows, &[record("k", 1), record("k", 2)]), "ok");
        assert_eq!(
            outcome(&rows, &[record("k", 2)]),
            "clock record k version 2 written but no stored version exists"
        );
    }

    #[test]
    fn a_conversation_id_of_another_tenant_is_taken() {
        let mut rows = Tiny::default();
        rows.elsewhere.push(conversation_id(1));
        rows.conversations.insert(conversation_id(2), 4);
        let id = conversation_id(1);
        for version in [1, 2] {
            assert_eq!(
                outcome(&rows, &[conversation(1, version)]),
                format!("conversation {id} exists in another tenant")
            );
        }
        assert_eq!(
            outcome(&rows, &[conversation(2, 5), conversation(0, 1)]),
            "ok"
        );
        let id2 = conversation_id(2);
        assert_eq!(
            outcome(&rows, &[conversation(2, 4)]),
            format!("conversation {id2} version 4 written over stored version 4")
        );
    }

    #[test]
    fn identifiers_move_only_from_the_owner_the_writer_read() {
        let mut rows = Tiny::default();
        rows.owners.insert(identifier(1), customer_id(1));
        assert_eq!(
            outcome(
                &rows,
                &[put_identifier(0, 1, None), put_identifier(1, 2, Some(1))]
            ),
            "ok"
        );
        let (i1, c1, c2) = (identifier(1), customer_id(1), customer_id(2));
        assert_eq!(
            outcome(&rows, &[put_identifier(1, 2, None)]),
            format!("identifier {i1} belongs to Some({c1:?}), the writer expected None")
        );
        // Moved, deleted and taken again within one change set.
        let delete = |owner: u128| Op::DeleteIdentifier {
            identifier: identifier(1),
            owner: customer_id(owner),
        };
        assert_eq!(
            outcome(
                &rows,
                &[
                    put_identifier(1, 2, Some(1)),
                    delete(2),
                    put_identifier(1, 3, None)
                ]
            ),
            "ok"
        );
        assert_eq!(
            outcome(&rows, &[delete(2)]),
            format!("identifier {i1} belongs to Some({c1:?}), not {c2}")
        );
        assert_eq!(
            outcome(&rows, &[delete(1), delete(1)]),
            format!("identifier {i1} belongs to None, not {c1}")
        );
    }

    #[test]
    fn message_ids_and_deduplication_keys_are_unique() {
        let mut rows = Tiny::default();
        rows.messages.push(message(1, Some("wamid-1")));
        let m1 = message(1, None).id;
        assert_eq!(
            outcome(&rows, &[Op::InsertMessage(message(1, None))]),
            format!("message {m1} already exists")
        );
        assert_eq!(
            outcome(&rows, &[Op::InsertMessage(message(2, Some("wamid-1")))]),
            "message \"wamid-1\" on whatsapp is already stored"
        );
        assert_eq!(
            outcome(
                &rows,
                &[
                    Op::InsertMessage(message(2, Some("wamid-2"))),
                    Op::InsertMessage(message(3, Some("wamid-2"))),
                ]
            ),
            "message \"wamid-2\" on whatsapp is already stored"
        );
        let mut email = message(2, Some("wamid-1"));
        email.channel = Channel::Email;
        assert_eq!(outcome(&rows, &[Op::InsertMessage(email)]), "ok");
    }

    #[test]
    fn an_update_keeps_the_deduplication_key() {
        let mut rows = Tiny::default();
        rows.messages.push(message(1, Some("wamid-1")));
        let mut moved = message(1, Some("wamid-1"));
        moved.conversation = conversation_id(9);
        assert_eq!(outcome(&rows, &[Op::UpdateMessage(moved)]), "ok");
        let m1 = message(1, None).id;
        assert_eq!(
            outcome(&rows, &[Op::UpdateMessage(message(1, Some("wamid-9")))]),
            format!("message {m1} update changes its deduplication key")
        );
        let m2 = message(2, None).id;
        assert_eq!(
            outcome(&rows, &[Op::UpdateMessage(message(2, None))]),
            format!("message {m2} does not exist")
        );
        // A message inserted earlier in the change set can be updated.
        assert_eq!(
            outcome(
                &rows,
                &[
                    Op::InsertMessage(message(2, None)),
                    Op::UpdateMessage(message(2, None))
                ]
            ),
            "ok"
        );
    }

    #[test]
    fn a_redaction_moves_the_key_to_a_free_one_and_frees_the_old() {
        let mut rows = Tiny::default();
        rows.messages.push(message(1, Some("wamid-1")));
        rows.messages.push(message(2, Some("wamid-2")));
        assert_eq!(
            outcome(
                &rows,
                &[
                    Op::RedactMessage(message(1, Some("hash-1"))),
                    Op::InsertMessage(message(3, Some("wamid-1"))),
                ]
            ),
            "ok"
        );
        assert_eq!(
            outcome(&rows, &[Op::RedactMessage(message(1, Some("wamid-2")))]),
            "message \"wamid-2\" on whatsapp is already stored"
        );
        let mut elsewhere = message(1, Some("hash-1"));
        elsewhere.conversation = conversation_id(9);
        let m1 = elsewhere.id;
        assert_eq!(
            outcome(&rows, &[Op::RedactMessage(elsewhere)]),
            format!("message {m1} redaction changes its channel or conversation")
        );
        let m4 = message(4, None).id;
        assert_eq!(
            outcome(&rows, &[Op::RedactMessage(message(4, None))]),
            format!("message {m4} does not exist")
        );
        assert_eq!(
            outcome(
                &rows,
                &[
                    Op::InsertMessage(message(4, Some("wamid-4"))),
                    Op::RedactMessage(message(4, Some("hash-4"))),
                    Op::InsertMessage(message(5, Some("wamid-4"))),
                ]
            ),
            "ok"
        );
    }

    #[test]
    fn a_record_is_deleted_at_its_stored_version_only() {
        let mut rows = Tiny::default();
        rows.records.insert(("clock".into(), "k".into()), 3);
        let delete = |version| Op::DeleteRecord {
            kind: "clock".into(),
            key: "k".into(),
            version,
        };
        assert_eq!(outcome(&rows, &[delete(3), record("k", 1)]), "ok");
        assert_eq!(
            outcome(&rows, &[delete(2)]),
            "clock record k version 2 deleted, but the stored version is Some(3)"
        );
        assert_eq!(
            outcome(&rows, &[delete(3), delete(3)]),
            "clock record k version 3 deleted, but the stored version is None"
        );
        assert_eq!(
            outcome(&rows, &[record("k", 4), delete(4)]),
            "ok",
            "a change set may delete what it wrote"
        );
    }

    #[test]
    fn thread_keys_never_conflict() {
        let rows = Tiny::default();
        let key = || "<a@b>".to_string();
        let ops = [
            Op::PutThreadKey {
                key: key(),
                conversation: conversation_id(1),
            },
            Op::PutThreadKey {
                key: key(),
                conversation: conversation_id(2),
            },
            Op::DeleteThreadKey { key: key() },
            Op::DeleteThreadKey { key: key() },
            Op::DeleteThreadKeysOf {
                conversation: conversation_id(3),
            },
        ];
        assert_eq!(outcome(&rows, &ops), "ok");
    }

    /// Past the short list, the rows an op left are still found (through the index).
    #[test]
    fn a_large_change_set_sees_its_own_earlier_ops() {
        let rows = Tiny::default();
        let mut ops: Vec<Op> = (0..40).map(|i| record(&format!("k{i}"), 1)).collect();
        ops.push(record("k3", 2));
        ops.push(record("k35", 2));
        assert_eq!(outcome(&rows, &ops), "ok");
        ops.push(record("k20", 1));
        assert_eq!(
            outcome(&rows, &ops),
            "clock record k20 version 1 written over stored version 1"
        );
    }

    /// An assumed op is not checked, but what it leaves is seen by the ops after it.
    #[test]
    fn an_assumed_op_is_not_checked_but_counts() {
        let mut rows = Tiny::default();
        rows.customers.insert(customer_id(0), 7);
        let (first, second) = (customer(0, 1), customer(0, 2));
        let mut checker = Checker::default();
        checker.assume(&first);
        assert!(checker.check(&second, &rows).is_ok());
        let mut checker = Checker::default();
        assert!(checker.check(&first, &rows).is_err());
    }
}
