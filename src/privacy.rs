//! Privacy: what a data-subject export holds, what an erasure did, retention policies,
//! and the keyed hash that keeps erased webhooks from coming back.
//!
//! The `Desk` side is `Desk::export_customer`, `Desk::erase_customer`,
//! `Desk::erase_identifier`, `Desk::restrict_customer`, `Desk::set_retention` and
//! `Desk::purge_expired`; `docs/privacy.md` states the guarantees and their limits.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeDelta, Utc};
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::channel::Channel;
use crate::conversation::Conversation;
use crate::id::{ConversationId, CustomerId, TenantId};
use crate::identity::{Customer, IdentifierRecord, MergeRecord};
use crate::message::Message;

/// Everything the store holds about one person: one deterministic JSON document (the same
/// state gives byte-identical output).
///
/// `customers` is the live customer first, then every customer merged into it (directly
/// or through a chain), oldest first; the other lists are sorted by time, then id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CustomerExport {
    /// Format version of this document (1).
    pub format: u32,
    /// The tenant.
    pub tenant: TenantId,
    /// The customer asked for, resolved through merges.
    pub customer: CustomerId,
    /// The profiles: the live one, then the merged-away ones.
    pub customers: Vec<Customer>,
    /// Every identifier of the person.
    pub identifiers: Vec<IdentifierRecord>,
    /// Every conversation with its messages (internal notes included).
    pub conversations: Vec<ConversationExport>,
    /// Merge records involving the person.
    pub merges: Vec<MergeRecord>,
    /// Other stored state about the person, by kind (`"sla"`, `"language"`,
    /// `"activity"`, `"csat"`, `"nps"`, ...), each the stored JSON under its key.
    pub records: BTreeMap<String, BTreeMap<String, serde_json::Value>>,
}

impl CustomerExport {
    /// The export as pretty-printed JSON.
    ///
    /// # Errors
    ///
    /// Never in practice (every part is plain data); a serialisation error otherwise.
    pub fn to_json_pretty(&self) -> serde_json::Result<String> {
        serde_json::to_string_pretty(self)
    }
}

/// One conversation of an export.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ConversationExport {
    /// The conversation.
    pub conversation: Conversation,
    /// Its messages, in order.
    pub messages: Vec<Message>,
}

/// What `Desk::erase_customer` removed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ErasureReport {
    /// The customers erased (the live one and everyone merged into it).
    pub customers: Vec<CustomerId>,
    /// Identifiers deleted.
    pub identifiers: usize,
    /// Messages whose content was removed.
    pub messages: usize,
    /// Conversations whose subject and thread keys were removed.
    pub conversations: usize,
    /// Records deleted or stripped of personal content.
    pub records: usize,
    /// Set when the erasure committed but the store could not scrub its files afterwards
    /// ([`crate::store::Store::scrub`]): the reason. The erased data is gone from every
    /// read, but its old bytes may stay in the store's log until a scrub succeeds: call
    /// [`crate::Desk::scrub`] (the next erasure scrubs too).
    #[serde(default)]
    pub scrub_failed: Option<String>,
}

/// What happens to a conversation's content when its retention ends.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum RetentionAction {
    /// Message bodies, attachments and counterparts are removed; the conversation, its
    /// timings and metrics stay (default).
    #[default]
    Redact,
}

/// How long a tenant keeps message content after a conversation is closed.
///
/// ```
/// use chrono::TimeDelta;
/// use throughline::{privacy::RetentionPolicy, Channel};
/// let policy = RetentionPolicy::new(TimeDelta::days(365)).channel(Channel::Sms, TimeDelta::days(30));
/// assert_eq!(policy.period_for(&Channel::Sms), TimeDelta::days(30));
/// assert_eq!(policy.period_for(&Channel::Email), TimeDelta::days(365));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RetentionPolicy {
    /// Content of conversations closed longer ago than this is purged.
    pub after_close: TimeDelta,
    /// Shorter or longer periods for conversations opened on these channels.
    pub channels: BTreeMap<Channel, TimeDelta>,
    /// What purging does.
    pub action: RetentionAction,
    /// Self-service activity (article views, searches, bot transcripts) older than this
    /// is deleted; `None`: kept.
    #[serde(default)]
    pub activity: Option<TimeDelta>,
    /// The customers' words with CSAT and NPS answers older than this are removed (the
    /// scores stay); `None`: kept.
    #[serde(default)]
    pub comments: Option<TimeDelta>,
    /// Closed accounts: a customer with no conversation that is not closed, none changed
    /// for this long and at least one conversation, is erased as by
    /// [`crate::Desk::erase_customer`] (identifiers deleted, profile emptied), unless their
    /// processing is restricted; `None`: kept.
    #[serde(default)]
    pub accounts: Option<TimeDelta>,
}

impl RetentionPolicy {
    /// Keep content for `after_close` after a conversation is closed.
    pub fn new(after_close: TimeDelta) -> Self {
        RetentionPolicy {
            after_close,
            channels: BTreeMap::new(),
            action: RetentionAction::Redact,
            activity: None,
            comments: None,
            accounts: None,
        }
    }

    /// Customers with nothing open and no change to any of their conversations for
    /// `keep` are erased (see [`RetentionPolicy::accounts`]).
    pub fn accounts(mut self, keep: TimeDelta) -> Self {
        self.accounts = Some(keep);
        self
    }

    /// Self-service activity is kept for `keep`, then deleted.
    pub fn activity(mut self, keep: TimeDelta) -> Self {
        self.activity = Some(keep);
        self
    }

    /// Survey comments are kept for `keep`, then removed (the scores stay).
    pub fn comments(mut self, keep: TimeDelta) -> Self {
        self.comments = Some(keep);
        self
    }

    /// A different period for conversations opened on `channel`.
    pub fn channel(mut self, channel: Channel, after_close: TimeDelta) -> Self {
        self.channels.insert(channel, after_close);
        self
    }

    /// The period for a conversation opened on `channel`.
    pub fn period_for(&self, channel: &Channel) -> TimeDelta {
        self.channels
            .get(channel)
            .copied()
            .unwrap_or(self.after_close)
    }
}

/// The tag `Desk::purge_expired` puts on a conversation whose content it purged (and the
/// reason it skips it next time).
pub const PURGED_TAG: &str = "retention:purged";

/// What `Desk::purge_expired` did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PurgeReport {
    /// Tenants whose policy was applied.
    pub tenants: usize,
    /// Conversations whose content was purged.
    pub conversations: Vec<(TenantId, ConversationId)>,
    /// Messages redacted.
    pub messages: usize,
    /// Self-service activity records deleted.
    #[serde(default)]
    pub activities: usize,
    /// Survey comments removed.
    #[serde(default)]
    pub comments: usize,
    /// Customers of closed accounts erased ([`RetentionPolicy::accounts`]).
    #[serde(default)]
    pub customers: Vec<(TenantId, CustomerId)>,
}

/// The keyed hash an erased message's provider id is kept as: HMAC-SHA256 of the channel
/// and the provider id under the tenant's secret, hex, prefixed `erased:`. A redelivery is
/// recognised by recomputing it; the original id cannot be recovered from it.
pub fn dedup_hash(secret: &[u8], channel: &Channel, external_id: &str) -> String {
    // HMAC accepts keys of any length.
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret).unwrap_or_else(|_| {
        <Hmac<Sha256> as KeyInit>::new_from_slice(b"throughline").expect("a constant key")
    });
    mac.update(channel.to_string().as_bytes());
    mac.update(&[0]);
    mac.update(external_id.as_bytes());
    let digest = mac.finalize().into_bytes();
    let mut out = String::with_capacity(7 + 64);
    out.push_str("erased:");
    for b in digest {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// When a conversation closed at `closed_at` expires under `policy`.
pub fn expires_at(
    policy: &RetentionPolicy,
    channel: &Channel,
    closed_at: DateTime<Utc>,
) -> DateTime<Utc> {
    closed_at
        .checked_add_signed(policy.period_for(channel))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}
