//! Merging two conversations of a customer and splitting messages off into a new one, as
//! decisions over what was read: the conversations changed, the messages moved, and the
//! timeline event each conversation records.
//!
//! Invariants:
//! - only conversations of one tenant and one customer take part, and none that is closed
//!   (a merge closes its source; a closed conversation takes no operation);
//! - a message moves with its id, times and content unchanged: only its conversation
//!   changes, so the timeline keeps its order;
//! - `message_count` stays the number of messages each conversation holds, the event
//!   each records included (the caller writes exactly one event message on each);
//! - a split takes at least one message and leaves at least one.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};

use crate::channel::Channel;
use crate::conversation::event::open_for_operations;
use crate::conversation::{Conversation, ConversationEvent, Status};
use crate::error::{Error, Result};
use crate::id::{AgentId, ConversationId, MessageId};
use crate::message::{Direction, Message};

/// A merge, decided: `source` closed and pointing at `target`, which took its messages.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Merge {
    /// The merged-away conversation, closed (to be written).
    pub source: Conversation,
    /// Its status before the merge.
    pub source_was: Status,
    /// The conversation that took the messages (to be written).
    pub target: Conversation,
    /// The source's messages, now in the target (to be written).
    pub moved: Vec<Message>,
    /// The source's timeline event.
    pub source_event: ConversationEvent,
    /// The target's timeline event.
    pub target_event: ConversationEvent,
}

/// Merges `source` into `target`; `messages` are every message of the source.
///
/// The target keeps its status, assignee and first subject; it takes the source's
/// channels and tags it lacks, the higher priority, the later inbound channel and time,
/// and the source's subject and language when it has none. The source is closed and
/// names the target in [`Conversation::merged_into`].
///
/// # Errors
///
/// [`Error::Invalid`] for one conversation twice, or conversations of two tenants or two
/// customers; [`Error::ConversationClosed`] when either is closed.
pub(crate) fn plan_merge(
    mut source: Conversation,
    mut target: Conversation,
    messages: Vec<Message>,
    by: AgentId,
    now: DateTime<Utc>,
) -> Result<Merge> {
    if source.id == target.id {
        return Err(Error::invalid(
            "conversation",
            format!("conversation {} cannot be merged into itself", source.id),
        ));
    }
    if source.tenant != target.tenant || source.customer != target.customer {
        return Err(Error::invalid(
            "conversation",
            format!(
                "conversations {} and {} belong to different customers: only one \
                 customer's conversations merge",
                source.id, target.id
            ),
        ));
    }
    open_for_operations(&target)?;
    open_for_operations(&source)?;
    let count = u32::try_from(messages.len()).unwrap_or(u32::MAX);
    let moved: Vec<Message> = messages
        .into_iter()
        .map(|mut m| {
            m.conversation = target.id;
            m
        })
        .collect();
    absorb(&mut target, &source);
    target.message_count = target.message_count.saturating_add(count).saturating_add(1);
    target.updated_at = now;
    target.version += 1;
    let source_was = source.status;
    source.set_status(Status::Closed, now);
    source.merged_into = Some(target.id);
    source.message_count = 1;
    source.updated_at = now;
    source.version += 1;
    Ok(Merge {
        source_event: ConversationEvent::MergedInto {
            into: target.id,
            messages: count,
            by,
        },
        target_event: ConversationEvent::MergedFrom {
            from: source.id,
            messages: count,
            by,
        },
        source,
        source_was,
        target,
        moved,
    })
}

/// What the target of a merge takes from its source.
fn absorb(target: &mut Conversation, source: &Conversation) {
    for ch in &source.channels {
        if !target.channels.contains(ch) {
            target.channels.push(ch.clone());
        }
    }
    for tag in &source.tags {
        if !target.tags.contains(tag) {
            target.tags.push(tag.clone());
        }
    }
    target.priority = target.priority.max(source.priority);
    if source.last_inbound_at > target.last_inbound_at {
        target.last_inbound_at = source.last_inbound_at;
        if source.last_inbound_channel.is_some() {
            target.last_inbound_channel = source.last_inbound_channel.clone();
        }
    }
    if target.last_inbound_channel.is_none() {
        target.last_inbound_channel = source.last_inbound_channel.clone();
    }
    if target.subject.is_none() {
        target.subject = source.subject.clone();
    }
    if target.language.is_none() {
        target.language = source.language.clone();
    }
}

/// A split, decided: `split` is a new conversation holding the `moved` messages, beside
/// `original`, which keeps the rest.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SplitPlan {
    /// The conversation the messages were split off (to be written).
    pub original: Conversation,
    /// The new conversation (version 1, to be written).
    pub split: Conversation,
    /// The messages that moved, in timeline order (to be written).
    pub moved: Vec<Message>,
    /// The original's timeline event.
    pub original_event: ConversationEvent,
    /// The new conversation's timeline event.
    pub split_event: ConversationEvent,
}

/// Splits the `selected` messages of `original` (whose messages, in timeline order, are
/// `messages`) off into a new conversation `id` of the same customer, linked to it
/// ([`Conversation::related`]). The new conversation is open and unassigned, with the
/// original's subject, priority, language and tags; each keeps the inbound channel and
/// time of its own latest customer message.
///
/// # Errors
///
/// [`Error::ConversationClosed`] for a closed original; [`Error::Invalid`] for an empty
/// selection, a message that is not one of the conversation's, or a selection of every
/// message (nothing would be left).
pub(crate) fn plan_split(
    mut original: Conversation,
    messages: Vec<Message>,
    selected: &[MessageId],
    id: ConversationId,
    by: AgentId,
    now: DateTime<Utc>,
) -> Result<SplitPlan> {
    open_for_operations(&original)?;
    let wanted: BTreeSet<MessageId> = selected.iter().copied().collect();
    if wanted.is_empty() {
        return Err(Error::invalid("messages", "select at least one message"));
    }
    let present: BTreeSet<MessageId> = messages.iter().map(|m| m.id).collect();
    if let Some(m) = wanted.iter().find(|w| !present.contains(w)) {
        return Err(Error::invalid(
            "messages",
            format!("message {m} is not in conversation {}", original.id),
        ));
    }
    let (mut moved, kept): (Vec<Message>, Vec<Message>) =
        messages.into_iter().partition(|m| wanted.contains(&m.id));
    if kept.is_empty() {
        return Err(Error::invalid(
            "messages",
            format!(
                "all {} messages of conversation {} are selected: at least one must stay",
                moved.len(),
                original.id
            ),
        ));
    }
    let Some(channel) = moved.first().map(|m| m.channel.clone()) else {
        return Err(Error::invalid("messages", "select at least one message"));
    };
    let mut split = Conversation::new(id, original.tenant, original.customer, channel, now);
    for m in &mut moved {
        m.conversation = id;
        if !split.channels.contains(&m.channel) {
            split.channels.push(m.channel.clone());
        }
    }
    split.status = Status::Open;
    split.related = Some(original.id);
    split.subject = original.subject.clone();
    split.priority = original.priority;
    split.language = original.language.clone();
    split.tags = original.tags.clone();
    (split.last_inbound_channel, split.last_inbound_at) = latest_inbound(&moved);
    let count = u32::try_from(moved.len()).unwrap_or(u32::MAX);
    split.message_count = count.saturating_add(1);
    split.version = 1;
    if let (Some(ch), at) = latest_inbound(&kept) {
        original.last_inbound_channel = Some(ch);
        original.last_inbound_at = at;
    }
    original.message_count = u32::try_from(kept.len())
        .unwrap_or(u32::MAX)
        .saturating_add(1);
    original.updated_at = now;
    original.version += 1;
    let ids: Vec<MessageId> = moved.iter().map(|m| m.id).collect();
    Ok(SplitPlan {
        original_event: ConversationEvent::SplitOff {
            into: id,
            messages: ids.clone(),
            by,
        },
        split_event: ConversationEvent::SplitFrom {
            from: original.id,
            messages: ids,
            by,
        },
        original,
        split,
        moved,
    })
}

/// The channel of the latest customer message, and when the customer (not a machine)
/// last wrote.
fn latest_inbound(messages: &[Message]) -> (Option<Channel>, Option<DateTime<Utc>>) {
    let inbound = || {
        messages
            .iter()
            .filter(|m| m.direction == Direction::Inbound)
    };
    let channel = inbound().next_back().map(|m| m.channel.clone());
    let at = inbound()
        .filter(|m| m.automated.is_none())
        .map(|m| m.received_at)
        .max();
    (channel, at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conversation::Priority;
    use crate::id::{CustomerId, TenantId};
    use crate::message::Author;

    fn t(mins: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000 + mins * 60, 0).unwrap()
    }

    fn conv(tenant: TenantId, customer: CustomerId, channel: Channel) -> Conversation {
        let mut c = Conversation::new(ConversationId::new_v7(), tenant, customer, channel, t(0));
        c.version = 3;
        c.status = Status::Open;
        c
    }

    fn msg(conv: &Conversation, channel: Channel, at: i64) -> Message {
        Message {
            id: MessageId::new_v7(),
            tenant: conv.tenant,
            conversation: conv.id,
            channel,
            direction: Direction::Inbound,
            author: Author::Customer(conv.customer),
            body: format!("at {at}"),
            attachments: Vec::new(),
            counterpart: None,
            external_id: None,
            thread_key: None,
            inbox: None,
            quoted: None,
            automated: None,
            event: None,
            sent_at: t(at),
            received_at: t(at),
            language: None,
            delivery: None,
        }
    }

    fn pair() -> (Conversation, Conversation) {
        let (tenant, customer) = (TenantId::new_v7(), CustomerId::new_v7());
        (
            conv(tenant, customer, Channel::Email),
            conv(tenant, customer, Channel::WebChat),
        )
    }

    #[test]
    fn a_merge_moves_everything_and_closes_the_source() {
        let (mut source, mut target) = pair();
        source.priority = Priority::High;
        source.tags = vec!["refund".into()];
        source.last_inbound_at = Some(t(9));
        source.last_inbound_channel = Some(Channel::Email);
        target.last_inbound_at = Some(t(5));
        target.last_inbound_channel = Some(Channel::WebChat);
        source.message_count = 2;
        target.message_count = 4;
        let messages = vec![
            msg(&source, Channel::Email, 1),
            msg(&source, Channel::Email, 9),
        ];
        let by = AgentId::new_v7();
        let m = plan_merge(source.clone(), target.clone(), messages, by, t(10)).unwrap();
        assert!(m.moved.iter().all(|x| x.conversation == target.id));
        assert_eq!(m.source.status, Status::Closed);
        assert_eq!(m.source.merged_into, Some(target.id));
        assert_eq!(m.source.closed_at, Some(t(10)));
        assert_eq!((m.source.message_count, m.target.message_count), (1, 7));
        assert_eq!(m.source_was, Status::Open);
        assert_eq!(m.target.status, Status::Open);
        assert_eq!(m.target.priority, Priority::High);
        assert_eq!(m.target.tags, vec!["refund".to_string()]);
        assert_eq!(m.target.channels, vec![Channel::WebChat, Channel::Email]);
        assert_eq!(m.target.last_inbound_channel, Some(Channel::Email));
        assert_eq!(m.target.version, target.version + 1);
        assert_eq!(
            m.target_event,
            ConversationEvent::MergedFrom {
                from: source.id,
                messages: 2,
                by
            }
        );
    }

    #[test]
    fn a_merge_is_refused_across_customers_onto_itself_and_when_closed() {
        let (source, target) = pair();
        let by = AgentId::new_v7();
        let same = plan_merge(source.clone(), source.clone(), vec![], by, t(1));
        assert!(matches!(same, Err(Error::Invalid { .. })));
        let mut stranger = target.clone();
        stranger.customer = CustomerId::new_v7();
        let other = plan_merge(source.clone(), stranger, vec![], by, t(1));
        assert!(matches!(other, Err(Error::Invalid { .. })));
        let mut elsewhere = target.clone();
        elsewhere.tenant = TenantId::new_v7();
        let other = plan_merge(source.clone(), elsewhere, vec![], by, t(1));
        assert!(matches!(other, Err(Error::Invalid { .. })));
        let mut closed = target.clone();
        closed.status = Status::Closed;
        let got = plan_merge(source.clone(), closed, vec![], by, t(1));
        assert!(matches!(got, Err(Error::ConversationClosed(_))));
        let mut closed = source;
        closed.status = Status::Closed;
        let got = plan_merge(closed, target, vec![], by, t(1));
        assert!(matches!(got, Err(Error::ConversationClosed(_))));
    }

    #[test]
    fn a_split_moves_the_selection_into_a_linked_conversation() {
        let (mut original, _) = pair();
        original.subject = Some("Two problems".into());
        let messages = vec![
            msg(&original, Channel::Email, 1),
            msg(&original, Channel::WebChat, 2),
            msg(&original, Channel::Email, 3),
        ];
        original.message_count = 3;
        let (id, by) = (ConversationId::new_v7(), AgentId::new_v7());
        let picked = [messages[1].id, messages[1].id];
        let s = plan_split(original.clone(), messages.clone(), &picked, id, by, t(4)).unwrap();
        assert_eq!(s.moved.len(), 1);
        assert_eq!(s.moved[0].conversation, id);
        assert_eq!(s.split.related, Some(original.id));
        assert_eq!(s.split.status, Status::Open);
        assert_eq!(s.split.subject.as_deref(), Some("Two problems"));
        assert_eq!(s.split.channels, vec![Channel::WebChat]);
        assert_eq!(s.split.last_inbound_at, Some(t(2)));
        assert_eq!((s.split.message_count, s.split.version), (2, 1));
        assert_eq!(s.original.message_count, 3);
        assert_eq!(s.original.last_inbound_channel, Some(Channel::Email));
        assert_eq!(s.original.version, original.version + 1);
        assert_eq!(
            s.original_event,
            ConversationEvent::SplitOff {
                into: id,
                messages: vec![messages[1].id],
                by
            }
        );
    }

    #[test]
    fn a_split_is_refused_when_empty_total_foreign_or_closed() {
        let (original, other) = pair();
        let messages = vec![
            msg(&original, Channel::Email, 1),
            msg(&original, Channel::Email, 2),
        ];
        let (id, by) = (ConversationId::new_v7(), AgentId::new_v7());
        let all: Vec<MessageId> = messages.iter().map(|m| m.id).collect();
        let foreign = [msg(&other, Channel::WebChat, 1).id];
        for picked in [&[][..], &all[..], &foreign[..]] {
            let got = plan_split(original.clone(), messages.clone(), picked, id, by, t(3));
            assert!(matches!(got, Err(Error::Invalid { .. })), "{picked:?}");
        }
        let mut closed = original;
        closed.status = Status::Closed;
        let got = plan_split(closed, messages, &all[..1], id, by, t(3));
        assert!(matches!(got, Err(Error::ConversationClosed(_))));
    }
}
