//! Conversations (tickets), their status lifecycle and the threading rules.
//!
//! A conversation belongs to one customer and may span several channels: when the
//! customer switches channel the conversation continues and the switch is recorded.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::channel::Channel;
use crate::error::{Error, Result};
use crate::id::{AgentId, ConversationId, CustomerId, TenantId};

mod event;
mod threading;
mod topics;

pub(crate) use event::{assign, set_priority, transfer, unassign};
pub use event::{ConversationEvent, Transfer};

pub(crate) use threading::{
    follow_hint, follow_our_message, most_recent_open, new_topic, place, Placement, ThreadSnapshot,
};
pub(crate) use topics::{plan_merge, plan_split};

/// How a tenant's customer messages are bundled into conversations.
///
/// - `Bundle` (the default): one conversation in play per customer. A message joins the
///   conversation its thread hint leads to, else the customer's open conversation on
///   any channel; a new conversation opens only when none is open.
/// - `PerTopic`: a conversation per topic, as e-mail threads are. An e-mail that starts a
///   new thread (its thread hint, if any, leads to none of the customer's conversations),
///   or a message the host marks as a new topic ([`crate::Inbound::new_topic`]), opens
///   a new conversation beside the open one, linked to it
///   ([`Conversation::related`]); other messages (chat, SMS, WhatsApp, an e-mail reply
///   in its thread) join the conversation their thread leads to, else the customer's
///   most recently active open conversation.
///
/// Under `Bundle`, [`crate::Inbound::new_topic`] is ignored: the tenant asked for one
/// conversation per customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ThreadingPolicy {
    /// Everything into the customer's open conversation.
    #[default]
    Bundle,
    /// A new e-mail thread or an explicit new topic starts a new, linked conversation.
    PerTopic,
}

/// Where a conversation is in its life.
///
/// ```text
///  new ──► open ◄──► pending / on_hold
///   │        │            │
///   └────────┴──► solved ─┴──► closed (final)
///                  │  ▲
///       reopen ◄───┘  └── customer writes within the reopen window
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Status {
    /// Created, nobody has acted on it yet.
    New,
    /// Someone at the company has to act.
    Open,
    /// Waiting for the customer.
    Pending,
    /// Waiting for a third party or another team.
    OnHold,
    /// Answered; reopens when the customer writes within the reopen window.
    Solved,
    /// Final: a new message from the customer opens a new, linked conversation.
    Closed,
}

impl Status {
    /// Every status, in lifecycle order.
    pub const ALL: [Status; 6] = [
        Status::New,
        Status::Open,
        Status::Pending,
        Status::OnHold,
        Status::Solved,
        Status::Closed,
    ];

    /// The stable name (`"on_hold"`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Status::New => "new",
            Status::Open => "open",
            Status::Pending => "pending",
            Status::OnHold => "on_hold",
            Status::Solved => "solved",
            Status::Closed => "closed",
        }
    }

    /// Not solved and not closed: the company still owes the customer something.
    pub fn is_active(self) -> bool {
        !matches!(self, Status::Solved | Status::Closed)
    }

    /// Whether a host or agent may move a conversation from `self` to `to`.
    ///
    /// Everything may move between new, open, pending, on hold and solved, except back to
    /// new; solved may be closed or reopened (to open, pending or on hold); closed is final.
    /// Setting the current status again is allowed and changes nothing.
    pub fn can_become(self, to: Status) -> bool {
        if self == to {
            return true;
        }
        match (self, to) {
            (Status::Closed, _) => false,
            (_, Status::New) => false,
            (Status::Solved, _) => true,
            (_, Status::Closed) => false, // close only what was solved first
            _ => true,
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Status {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Status::ALL
            .into_iter()
            .find(|st| st.name() == s)
            .ok_or_else(|| Error::invalid("status", format!("unknown status {s:?}")))
    }
}

/// How urgent a conversation is. Ordered: `Low < Normal < High < Urgent`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Priority {
    /// Can wait.
    Low,
    /// The default.
    #[default]
    Normal,
    /// Ahead of normal work.
    High,
    /// First.
    Urgent,
}

impl Priority {
    /// Every priority, lowest first.
    pub const ALL: [Priority; 4] = [
        Priority::Low,
        Priority::Normal,
        Priority::High,
        Priority::Urgent,
    ];

    /// The stable name (`"urgent"`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Priority::Low => "low",
            Priority::Normal => "normal",
            Priority::High => "high",
            Priority::Urgent => "urgent",
        }
    }
}

impl fmt::Display for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.name())
    }
}

/// A conversation (ticket).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Conversation {
    /// Its id.
    pub id: ConversationId,
    /// Its tenant.
    pub tenant: TenantId,
    /// The customer it belongs to.
    pub customer: CustomerId,
    /// Current status.
    pub status: Status,
    /// Every channel used in it, in order of first use.
    pub channels: Vec<Channel>,
    /// The channel of the latest inbound message (replies go there by default).
    pub last_inbound_channel: Option<Channel>,
    /// How many times the customer switched channel within it.
    pub channel_switches: u32,
    /// Subject line, from the first message that had one.
    pub subject: Option<String>,
    /// The agent who owns it, if any.
    pub assignee: Option<AgentId>,
    /// How urgent it is (set by triage or the host).
    pub priority: Priority,
    /// Language of the conversation (ISO 639-1 code where one exists), when known.
    pub language: Option<String>,
    /// Tags set by triage or the host.
    pub tags: Vec<String>,
    /// The closed conversation of the same customer that this one follows up, if any.
    pub previous: Option<ConversationId>,
    /// The conversation of the same customer this one was started beside, if any: the
    /// one that was open when a new topic began ([`ThreadingPolicy::PerTopic`]), or the
    /// one it was split from ([`crate::Desk::split_conversation`]).
    #[serde(default)]
    pub related: Option<ConversationId>,
    /// The conversation this one was merged into ([`crate::Desk::merge_conversations`]):
    /// it is closed, and its messages are there.
    #[serde(default)]
    pub merged_into: Option<ConversationId>,
    /// When it was opened.
    #[serde(with = "crate::serde_time::utc")]
    pub created_at: DateTime<Utc>,
    /// When anything last changed.
    #[serde(with = "crate::serde_time::utc")]
    pub updated_at: DateTime<Utc>,
    /// When the customer last wrote.
    #[serde(default, with = "crate::serde_time::utc_opt")]
    pub last_inbound_at: Option<DateTime<Utc>>,
    /// When it was last solved (cleared on reopen).
    #[serde(default, with = "crate::serde_time::utc_opt")]
    pub solved_at: Option<DateTime<Utc>>,
    /// When it was closed.
    #[serde(default, with = "crate::serde_time::utc_opt")]
    pub closed_at: Option<DateTime<Utc>>,
    /// How often it was reopened after being solved.
    pub reopen_count: u32,
    /// Number of messages (all directions).
    pub message_count: u32,
    /// Optimistic-concurrency version: 1 when created, +1 on every stored change.
    pub version: u64,
}

impl Conversation {
    /// A new conversation of `customer`, opened by a message on `channel`.
    pub fn new(
        id: ConversationId,
        tenant: TenantId,
        customer: CustomerId,
        channel: Channel,
        now: DateTime<Utc>,
    ) -> Self {
        Conversation {
            id,
            tenant,
            customer,
            status: Status::New,
            channels: vec![channel],
            last_inbound_channel: None,
            channel_switches: 0,
            subject: None,
            assignee: None,
            priority: Priority::Normal,
            language: None,
            tags: Vec::new(),
            previous: None,
            related: None,
            merged_into: None,
            created_at: now,
            updated_at: now,
            last_inbound_at: None,
            solved_at: None,
            closed_at: None,
            reopen_count: 0,
            message_count: 0,
            version: 0,
        }
    }

    /// Records a channel in use; returns the previous inbound channel when this is a switch.
    pub(crate) fn note_inbound_channel(&mut self, channel: &Channel) -> Option<Channel> {
        if !self.channels.contains(channel) {
            self.channels.push(channel.clone());
        }
        match &self.last_inbound_channel {
            Some(prev) if prev != channel => {
                let prev = prev.clone();
                self.channel_switches += 1;
                self.last_inbound_channel = Some(channel.clone());
                Some(prev)
            }
            Some(_) => None,
            None => {
                self.last_inbound_channel = Some(channel.clone());
                None
            }
        }
    }

    /// Applies a status change with its timestamps. The caller checked [`Status::can_become`].
    pub(crate) fn set_status(&mut self, to: Status, now: DateTime<Utc>) {
        if self.status == Status::Solved && to.is_active() {
            self.reopen_count += 1;
            self.solved_at = None;
        }
        match to {
            Status::Solved => self.solved_at = Some(now),
            Status::Closed => self.closed_at = Some(now),
            _ => {}
        }
        self.status = to;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closed_is_final_and_new_is_only_a_start() {
        for s in Status::ALL {
            assert!(!Status::Closed.can_become(s) || s == Status::Closed);
            assert!(!s.can_become(Status::New) || s == Status::New);
        }
        assert!(Status::Solved.can_become(Status::Closed));
        assert!(!Status::Open.can_become(Status::Closed));
        assert!(Status::Solved.can_become(Status::Open));
    }

    #[test]
    fn status_names_round_trip() {
        for s in Status::ALL {
            assert_eq!(s.name().parse::<Status>().unwrap(), s);
        }
        assert!("done".parse::<Status>().is_err());
    }

    #[test]
    fn channel_switches_are_counted() {
        let t0 = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let mut c = Conversation::new(
            ConversationId::new_v7(),
            TenantId::new_v7(),
            CustomerId::new_v7(),
            Channel::WebChat,
            t0,
        );
        assert_eq!(c.note_inbound_channel(&Channel::WebChat), None);
        assert_eq!(
            c.note_inbound_channel(&Channel::Email),
            Some(Channel::WebChat)
        );
        assert_eq!(c.note_inbound_channel(&Channel::Email), None);
        assert_eq!(c.channel_switches, 1);
        assert_eq!(c.channels, vec![Channel::WebChat, Channel::Email]);
    }
}
