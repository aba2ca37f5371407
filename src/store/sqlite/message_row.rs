//! A message row's JSON: the fields its columns do not hold, encoded and decoded straight
//! from and into [`Message`] (no `serde_json::Value` in between).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::channel::Channel;
use crate::conversation::ConversationEvent;
use crate::error::{Error, Result};
use crate::id::{ConversationId, MessageId, TenantId};
use crate::identity::Identifier;
use crate::message::{Attachment, Author, Automated, Delivery, Direction, Message};

/// What the `data` column holds, borrowed from the message (fields in name order, as
/// earlier versions wrote them).
#[derive(Serialize)]
struct DataOut<'a> {
    attachments: &'a [Attachment],
    author: &'a Author,
    body: &'a str,
    channel: &'a Channel,
    counterpart: &'a Option<Identifier>,
    delivery: &'a Option<Delivery>,
    direction: &'a Direction,
    language: &'a Option<String>,
    thread_key: &'a Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    inbox: &'a Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    quoted: &'a Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    automated: &'a Option<Automated>,
    #[serde(skip_serializing_if = "Option::is_none")]
    event: &'a Option<ConversationEvent>,
}

/// The `data` column read back. Rows written before the columns took their fields out
/// still carry them; they are ignored (the columns are the truth).
#[derive(Deserialize)]
struct DataIn {
    attachments: Vec<Attachment>,
    author: Author,
    body: String,
    channel: Channel,
    counterpart: Option<Identifier>,
    delivery: Option<Delivery>,
    direction: Direction,
    language: Option<String>,
    thread_key: Option<String>,
    #[serde(default)]
    inbox: Option<String>,
    #[serde(default)]
    quoted: Option<String>,
    #[serde(default)]
    automated: Option<Automated>,
    #[serde(default)]
    event: Option<ConversationEvent>,
}

/// The columns of a message row besides `data`.
pub(super) struct Columns {
    pub(super) tenant: [u8; 16],
    pub(super) id: [u8; 16],
    pub(super) conversation: [u8; 16],
    pub(super) external_id: Option<String>,
    pub(super) sent: i64,
    pub(super) received: i64,
}

/// The `data` column of `m`.
pub(super) fn encode(m: &Message) -> Result<Vec<u8>> {
    serde_json::to_vec(&DataOut {
        attachments: &m.attachments,
        author: &m.author,
        body: &m.body,
        channel: &m.channel,
        counterpart: &m.counterpart,
        delivery: &m.delivery,
        direction: &m.direction,
        language: &m.language,
        thread_key: &m.thread_key,
        inbox: &m.inbox,
        quoted: &m.quoted,
        automated: &m.automated,
        event: &m.event,
    })
    .map_err(|e| Error::store("cannot encode a message", e))
}

/// The message of a row.
pub(super) fn decode(c: Columns, data: &[u8]) -> Result<Message> {
    let d: DataIn =
        serde_json::from_slice(data).map_err(|e| Error::store("cannot decode a message row", e))?;
    Ok(Message {
        id: MessageId::from_uuid(uuid::Uuid::from_bytes(c.id)),
        tenant: TenantId::from_uuid(uuid::Uuid::from_bytes(c.tenant)),
        conversation: ConversationId::from_uuid(uuid::Uuid::from_bytes(c.conversation)),
        channel: d.channel,
        direction: d.direction,
        author: d.author,
        body: d.body,
        attachments: d.attachments,
        counterpart: d.counterpart,
        external_id: c.external_id,
        thread_key: d.thread_key,
        inbox: d.inbox,
        quoted: d.quoted,
        automated: d.automated,
        event: d.event,
        sent_at: DateTime::<Utc>::from_timestamp_nanos(c.sent),
        received_at: DateTime::<Utc>::from_timestamp_nanos(c.received),
        language: d.language,
        delivery: d.delivery,
    })
}
