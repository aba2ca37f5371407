//! [`Effect`]s: what the core asks the host to do or tells it happened.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::channel::Channel;
use crate::conversation::Status;
use crate::id::{ConversationId, CustomerId, MergeId, MessageId, TenantId};
use crate::message::Outbound;
use crate::sla::Metric;

/// A decision for the host. The core performs no I/O: it returns effects and the host acts
/// on them (sends messages, notifies agents, updates dashboards).
///
/// `#[non_exhaustive]`: later versions add effects; hosts ignore the ones they do not use.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "effect")]
#[non_exhaustive]
pub enum Effect {
    /// Send this message through the host's transport, then confirm with
    /// `Desk::mark_sent` or `Desk::mark_failed`.
    Send(Outbound),
    /// An outbound message could not be delivered (the retries are used up, or the
    /// provider reported it failed): tell the agent.
    DeliveryFailed {
        /// Tenant.
        tenant: TenantId,
        /// The conversation.
        conversation: ConversationId,
        /// The outbound message.
        message: MessageId,
        /// What the transport or the provider reported.
        reason: String,
    },
    /// A customer was seen for the first time.
    CustomerCreated {
        /// Tenant.
        tenant: TenantId,
        /// The new customer.
        customer: CustomerId,
    },
    /// A new conversation was opened.
    ConversationOpened {
        /// Tenant.
        tenant: TenantId,
        /// The new conversation.
        conversation: ConversationId,
        /// Its customer.
        customer: CustomerId,
        /// The channel it was opened on.
        channel: Channel,
        /// The customer's earlier conversation this one follows up, if any.
        previous: Option<ConversationId>,
    },
    /// A solved conversation was reopened by a new customer message.
    ConversationReopened {
        /// Tenant.
        tenant: TenantId,
        /// The conversation.
        conversation: ConversationId,
    },
    /// The customer continued the conversation on another channel.
    ChannelSwitched {
        /// Tenant.
        tenant: TenantId,
        /// The conversation.
        conversation: ConversationId,
        /// The channel of the previous inbound message.
        from: Channel,
        /// The channel of this one.
        to: Channel,
    },
    /// A conversation's status changed.
    StatusChanged {
        /// Tenant.
        tenant: TenantId,
        /// The conversation.
        conversation: ConversationId,
        /// The old status.
        from: Status,
        /// The new status.
        to: Status,
    },
    /// An agent merged conversation `from` into `into` (same customer): `from`'s messages
    /// are now in `into`, and `from` is closed ([`crate::Desk::merge_conversations`]).
    ConversationsMerged {
        /// Tenant.
        tenant: TenantId,
        /// The merged-away conversation, now closed.
        from: ConversationId,
        /// The conversation that took its messages.
        into: ConversationId,
    },
    /// An agent split messages off conversation `from` into the new conversation `into`
    /// ([`crate::Desk::split_conversation`]).
    ConversationSplit {
        /// Tenant.
        tenant: TenantId,
        /// The conversation the messages left.
        from: ConversationId,
        /// The new conversation.
        into: ConversationId,
        /// The messages that moved.
        messages: Vec<MessageId>,
    },
    /// Two customers were merged: `from` is now a tombstone that resolves to `into`.
    CustomersMerged {
        /// Tenant.
        tenant: TenantId,
        /// The merge (undo it with `Desk::unmerge`).
        merge: MergeId,
        /// The merged-away customer.
        from: CustomerId,
        /// The customer that received everything.
        into: CustomerId,
    },
    /// A merge was undone: `from` is a customer of its own again.
    MergeUndone {
        /// Tenant.
        tenant: TenantId,
        /// The merge.
        merge: MergeId,
        /// The restored customer.
        from: CustomerId,
        /// The customer it had been merged into.
        into: CustomerId,
    },
    /// One message carried identifiers of two customers; they were not merged, a
    /// suggestion was recorded for review (`Desk::merge_suggestions`).
    MergeSuggested {
        /// Tenant.
        tenant: TenantId,
        /// The customer the message was attributed to.
        primary: CustomerId,
        /// The other customer.
        other: CustomerId,
    },
    /// An SLA target is close to its deadline (a warning threshold passed).
    SlaWarning {
        /// Tenant.
        tenant: TenantId,
        /// The conversation.
        conversation: ConversationId,
        /// The metric.
        metric: Metric,
        /// The fraction of the target that has passed (e.g. 0.75).
        fraction: f64,
        /// When it breaches.
        deadline: DateTime<Utc>,
    },
    /// An SLA target was missed.
    SlaBreached {
        /// Tenant.
        tenant: TenantId,
        /// The conversation.
        conversation: ConversationId,
        /// The metric.
        metric: Metric,
        /// The deadline that passed.
        deadline: DateTime<Utc>,
        /// When the breach is recorded (the deadline, or a later policy change).
        at: DateTime<Utc>,
    },
    /// Triage decided what a new conversation is about and what to do with it.
    Triaged {
        /// Tenant.
        tenant: TenantId,
        /// The conversation.
        conversation: ConversationId,
        /// The recognised intent, if any.
        intent: Option<String>,
        /// Its disposition.
        disposition: Option<crate::triage::Disposition>,
        /// The priority given.
        priority: crate::conversation::Priority,
        /// Whether a human must handle it now.
        needs_human: bool,
    },
    /// The bot handed the conversation to a human, with the whole history.
    HandedOver {
        /// Tenant.
        tenant: TenantId,
        /// The conversation (its messages are the history, in order).
        conversation: ConversationId,
        /// Why.
        reason: String,
        /// What the automated flow collected.
        collected: std::collections::BTreeMap<String, String>,
        /// The ids of every message so far, oldest first.
        history: Vec<crate::MessageId>,
    },
    /// Routing assigned the conversation to an agent.
    Assigned {
        /// Tenant.
        tenant: TenantId,
        /// The conversation.
        conversation: ConversationId,
        /// The agent.
        agent: crate::AgentId,
        /// Why this agent (candidates, scores, exclusions).
        explanation: String,
    },
    /// Nobody qualified or had capacity: the conversation waits in the queue.
    Queued {
        /// Tenant.
        tenant: TenantId,
        /// The conversation.
        conversation: ConversationId,
        /// Why nobody took it.
        explanation: String,
    },
    /// An escalation step widened a waiting conversation's target.
    Escalated {
        /// Tenant.
        tenant: TenantId,
        /// The conversation.
        conversation: ConversationId,
        /// Which step (0-based) fired.
        step: usize,
    },
}
