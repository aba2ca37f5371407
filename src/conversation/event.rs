//! What agents do to a conversation (assign, transfer, unassign, change its priority or
//! status), as data: each operation is decided here from the conversation as read, and
//! recorded in its timeline as an event with its actor and time.
//!
//! Invariants: an operation that changes nothing is refused with a clear error rather
//! than recorded; a closed conversation takes no operation; every event names who did it.

use serde::{Deserialize, Serialize};

use crate::conversation::{Conversation, Priority, Status};
use crate::error::{Error, Result};
use crate::id::{AgentId, ConversationId, MessageId};

/// Where a transfer sends a conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "to", content = "id")]
#[non_exhaustive]
pub enum Transfer {
    /// To this agent.
    Agent(AgentId),
    /// Back to this queue, for the next agent who can take it.
    Queue(String),
}

/// An agent's operation on a conversation, as recorded in its timeline
/// ([`crate::message::Direction::Event`] messages carry one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "event")]
#[non_exhaustive]
pub enum ConversationEvent {
    /// Assigned to `agent` by `by` (`over_capacity`: a supervisor's override).
    Assigned {
        /// The new assignee.
        agent: AgentId,
        /// Who assigned it.
        by: AgentId,
        /// Assigned past the agent's capacity, by a supervisor.
        over_capacity: bool,
    },
    /// Transferred from its assignee (if any) to an agent or a queue, with a note.
    Transferred {
        /// The assignee before.
        from: Option<AgentId>,
        /// Where it went.
        to: Transfer,
        /// The agent's note for whoever picks it up.
        note: String,
        /// Who transferred it.
        by: AgentId,
    },
    /// No longer assigned.
    Unassigned {
        /// The assignee before.
        agent: AgentId,
        /// Who unassigned it.
        by: AgentId,
    },
    /// Its priority changed.
    PriorityChanged {
        /// Before.
        from: Priority,
        /// After.
        to: Priority,
        /// Who changed it.
        by: AgentId,
    },
    /// Its status changed by an agent.
    StatusChanged {
        /// Before.
        from: Status,
        /// After.
        to: Status,
        /// Who changed it.
        by: AgentId,
    },
    /// Merged into another conversation of the customer: its messages moved there, and
    /// it was closed ([`crate::Desk::merge_conversations`]).
    MergedInto {
        /// The conversation that took its messages.
        into: ConversationId,
        /// How many messages moved.
        messages: u32,
        /// Who merged it.
        by: AgentId,
    },
    /// Another conversation of the customer was merged into this one.
    MergedFrom {
        /// The merged-away conversation (now closed).
        from: ConversationId,
        /// How many messages moved in.
        messages: u32,
        /// Who merged it.
        by: AgentId,
    },
    /// Messages were split off into a new conversation
    /// ([`crate::Desk::split_conversation`]).
    SplitOff {
        /// The new conversation.
        into: ConversationId,
        /// The messages that moved there.
        messages: Vec<MessageId>,
        /// Who split them off.
        by: AgentId,
    },
    /// This conversation was made of messages split off another one.
    SplitFrom {
        /// The conversation they were split off.
        from: ConversationId,
        /// The messages that moved here.
        messages: Vec<MessageId>,
        /// Who split them off.
        by: AgentId,
    },
}

impl ConversationEvent {
    /// Who did it.
    pub fn actor(&self) -> AgentId {
        match self {
            ConversationEvent::Assigned { by, .. }
            | ConversationEvent::Transferred { by, .. }
            | ConversationEvent::Unassigned { by, .. }
            | ConversationEvent::PriorityChanged { by, .. }
            | ConversationEvent::StatusChanged { by, .. }
            | ConversationEvent::MergedInto { by, .. }
            | ConversationEvent::MergedFrom { by, .. }
            | ConversationEvent::SplitOff { by, .. }
            | ConversationEvent::SplitFrom { by, .. } => *by,
        }
    }

    /// A line for the timeline, in English (hosts render the structured event in their
    /// own words).
    pub fn text(&self) -> String {
        match self {
            ConversationEvent::Assigned {
                agent,
                by,
                over_capacity,
            } => {
                let over = if *over_capacity { " over capacity" } else { "" };
                format!("Assigned to {agent}{over} by {by}")
            }
            ConversationEvent::Transferred { to, note, by, .. } => {
                let to = match to {
                    Transfer::Agent(a) => format!("agent {a}"),
                    Transfer::Queue(q) => format!("queue {q}"),
                };
                format!("Transferred to {to} by {by}: {note}")
            }
            ConversationEvent::Unassigned { agent, by } => {
                format!("Unassigned from {agent} by {by}")
            }
            ConversationEvent::PriorityChanged { from, to, by } => {
                format!("Priority {from:?} → {to:?} by {by}")
            }
            ConversationEvent::StatusChanged { from, to, by } => {
                format!("Status {from} → {to} by {by}")
            }
            ConversationEvent::MergedInto { into, messages, by } => {
                format!("Merged into {into} by {by} ({messages} messages moved)")
            }
            ConversationEvent::MergedFrom { from, messages, by } => {
                format!("Merged {from} in by {by} ({messages} messages moved)")
            }
            ConversationEvent::SplitOff { into, messages, by } => {
                let n = messages.len();
                format!("{n} messages split off into {into} by {by}")
            }
            ConversationEvent::SplitFrom { from, messages, by } => {
                let n = messages.len();
                format!("Split off {from} by {by} ({n} messages)")
            }
        }
    }
}

/// Refuses any operation on a closed conversation.
pub(super) fn open_for_operations(conv: &Conversation) -> Result<()> {
    if conv.status == Status::Closed {
        return Err(Error::ConversationClosed(conv.id.to_string()));
    }
    Ok(())
}

/// Assigns `conv` to `agent`: the event, with the conversation changed.
///
/// # Errors
///
/// [`Error::ConversationClosed`]; [`Error::Invalid`] when it is already theirs.
pub(crate) fn assign(
    conv: &mut Conversation,
    agent: AgentId,
    by: AgentId,
    over_capacity: bool,
) -> Result<ConversationEvent> {
    open_for_operations(conv)?;
    if conv.assignee == Some(agent) {
        return Err(Error::invalid(
            "agent",
            format!("conversation {} is already assigned to {agent}", conv.id),
        ));
    }
    conv.assignee = Some(agent);
    Ok(ConversationEvent::Assigned {
        agent,
        by,
        over_capacity,
    })
}

/// Transfers `conv`: to an agent (assigned to them) or to a queue (unassigned, to wait).
///
/// # Errors
///
/// [`Error::ConversationClosed`]; [`Error::Invalid`] for a transfer to its own assignee,
/// an empty queue name or an empty note.
pub(crate) fn transfer(
    conv: &mut Conversation,
    to: Transfer,
    note: &str,
    by: AgentId,
) -> Result<ConversationEvent> {
    open_for_operations(conv)?;
    let note = note.trim();
    if note.is_empty() || note.len() > 4096 {
        return Err(Error::invalid(
            "note",
            "a transfer needs a note of 1 to 4096 bytes for whoever picks it up",
        ));
    }
    let from = conv.assignee;
    match &to {
        Transfer::Agent(a) if from == Some(*a) => {
            return Err(Error::invalid(
                "agent",
                format!("conversation {} is already assigned to {a}", conv.id),
            ));
        }
        Transfer::Agent(a) => conv.assignee = Some(*a),
        Transfer::Queue(q) if q.trim().is_empty() => {
            return Err(Error::invalid("queue", "empty queue name"));
        }
        Transfer::Queue(_) => conv.assignee = None,
    }
    Ok(ConversationEvent::Transferred {
        from,
        to,
        note: note.to_string(),
        by,
    })
}

/// Unassigns `conv`.
///
/// # Errors
///
/// [`Error::ConversationClosed`]; [`Error::Invalid`] when it has no assignee.
pub(crate) fn unassign(conv: &mut Conversation, by: AgentId) -> Result<ConversationEvent> {
    open_for_operations(conv)?;
    let agent = conv
        .assignee
        .take()
        .ok_or_else(|| Error::invalid("conversation", format!("{} has no assignee", conv.id)))?;
    Ok(ConversationEvent::Unassigned { agent, by })
}

/// Sets the priority of `conv`.
///
/// # Errors
///
/// [`Error::ConversationClosed`]; [`Error::Invalid`] when it already has it.
pub(crate) fn set_priority(
    conv: &mut Conversation,
    to: Priority,
    by: AgentId,
) -> Result<ConversationEvent> {
    open_for_operations(conv)?;
    let from = conv.priority;
    if from == to {
        return Err(Error::invalid(
            "priority",
            format!("conversation {} already has priority {to:?}", conv.id),
        ));
    }
    conv.priority = to;
    Ok(ConversationEvent::PriorityChanged { from, to, by })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::channel::Channel;
    use crate::id::{ConversationId, CustomerId, TenantId};
    use chrono::DateTime;

    fn conv(status: Status) -> Conversation {
        let t0 = DateTime::from_timestamp(1_772_442_000, 0).unwrap();
        let mut c = Conversation::new(
            ConversationId::new_v7(),
            TenantId::new_v7(),
            CustomerId::new_v7(),
            Channel::Email,
            t0,
        );
        if status != Status::New {
            c.set_status(status, t0);
        }
        c
    }

    #[test]
    fn assign_transfer_and_unassign_move_the_assignee() {
        let (ana, bo, sup) = (AgentId::new_v7(), AgentId::new_v7(), AgentId::new_v7());
        let mut c = conv(Status::Open);
        let e = assign(&mut c, ana, sup, false).unwrap();
        assert_eq!(c.assignee, Some(ana));
        assert_eq!(e.actor(), sup);
        assert!(assign(&mut c, ana, sup, false).is_err(), "already hers");
        let e = transfer(&mut c, Transfer::Agent(bo), "billing question", ana).unwrap();
        assert_eq!(c.assignee, Some(bo));
        assert!(matches!(e, ConversationEvent::Transferred { from: Some(a), .. } if a == ana));
        assert!(transfer(&mut c, Transfer::Agent(bo), "again", ana).is_err());
        assert!(
            transfer(&mut c, Transfer::Queue("vip".into()), "  ", bo).is_err(),
            "a note"
        );
        transfer(
            &mut c,
            Transfer::Queue("vip".into()),
            "needs a specialist",
            bo,
        )
        .unwrap();
        assert_eq!(c.assignee, None);
        assert!(unassign(&mut c, bo).is_err(), "nobody to unassign");
        assign(&mut c, ana, sup, true).unwrap();
        let e = unassign(&mut c, sup).unwrap();
        assert_eq!(
            e,
            ConversationEvent::Unassigned {
                agent: ana,
                by: sup
            }
        );
        assert_eq!(c.assignee, None);
    }

    #[test]
    fn a_closed_conversation_takes_no_operation_and_no_op_is_refused() {
        let by = AgentId::new_v7();
        let mut c = conv(Status::Open);
        assert!(
            set_priority(&mut c, Priority::Normal, by).is_err(),
            "unchanged"
        );
        let e = set_priority(&mut c, Priority::Urgent, by).unwrap();
        assert!(e.text().contains("Urgent"));
        assert_eq!(c.priority, Priority::Urgent);
        let mut closed = conv(Status::Solved);
        closed.set_status(Status::Closed, closed.created_at);
        assert!(matches!(
            assign(&mut closed, by, by, false),
            Err(Error::ConversationClosed(_))
        ));
        assert!(set_priority(&mut closed, Priority::Low, by).is_err());
        assert_eq!(closed.assignee, None);
    }
}
