//! The decisions of a reply to the customer, as values: which channel it goes out on and
//! how its body is cut for that channel, then the stored message, the [`Effect::Send`]
//! the host delivers, the status the conversation takes, and the status submitted with
//! it. The Desk reads the conversation and the customer's address, calls these, and runs
//! the capability steps on what they return.

use chrono::{DateTime, Utc};

use crate::channel::{Channel, ChannelRegistry};
use crate::conversation::{Conversation, Status};
use crate::effect::Effect;
use crate::error::{Error, Result};
use crate::id::MessageId;
use crate::identity::Identifier;
use crate::message::{Attachment, Author, Delivery, Direction, Message, Outbound};

/// The channel a reply goes out on (the requested one, else the customer's latest
/// inbound channel, else the conversation's first) and its body in the parts that
/// channel carries.
///
/// # Errors
///
/// [`Error::Invalid`] when the conversation has no channel to answer on or the body does
/// not fit the channel ([`Error::BodyTooLarge`] when it is too long);
/// [`Error::ChannelDisabled`] for a channel the tenant cannot use.
pub(crate) fn channel_and_parts(
    conv: &Conversation,
    requested: Option<&Channel>,
    body: &str,
    channels: &ChannelRegistry,
) -> Result<(Channel, Vec<String>)> {
    let channel = match requested {
        Some(c) => c.clone(),
        None => conv
            .last_inbound_channel
            .clone()
            .or_else(|| conv.channels.first().cloned())
            .ok_or_else(|| {
                Error::invalid("channel", "the conversation has no channel to answer on")
            })?,
    };
    channels.check(conv.tenant, &channel)?;
    let parts = crate::text::render(body, &channel, &channels.profile(&channel))?;
    Ok((channel, parts))
}

/// A reply with its channel and address settled.
#[derive(Debug, Clone)]
pub(crate) struct Draft<'a> {
    /// The new message's id.
    pub id: MessageId,
    /// Who writes.
    pub author: Author,
    /// The text.
    pub body: &'a str,
    /// Attachment references.
    pub attachments: &'a [Attachment],
    /// The channel ([`channel_and_parts`]).
    pub channel: Channel,
    /// The body cut for it.
    pub parts: Vec<String>,
    /// The customer's address on it.
    pub to: Identifier,
    /// The thread key of the customer's message it answers.
    pub in_reply_to: Option<String>,
    /// The inbox the customer's message was sent to.
    pub from: Option<String>,
    /// When the customer last wrote on the channel.
    pub customer_wrote_at: Option<DateTime<Utc>>,
    /// The status submitted with the reply.
    pub submit_as: Option<Status>,
}

/// What a reply writes and returns.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Reply {
    /// The conversation after the reply (opened if new, the channel added, counted).
    pub conversation: Conversation,
    /// The outbound message, pending delivery (the outbox).
    pub message: Message,
    /// [`Effect::Send`], then the status change a new conversation takes.
    pub effects: Vec<Effect>,
    /// The status change submitted with the reply (from, to), to apply after it.
    pub submitted: Option<(Status, Status)>,
}

/// The reply `draft` to `conv` at `now`: a new conversation becomes open; a status
/// submitted with it must be one the lifecycle allows from there.
///
/// # Errors
///
/// [`Error::InvalidTransition`] for a submitted status the conversation cannot take.
pub(crate) fn reply(mut conv: Conversation, draft: Draft<'_>, now: DateTime<Utc>) -> Result<Reply> {
    let message = Message {
        id: draft.id,
        tenant: conv.tenant,
        conversation: conv.id,
        channel: draft.channel.clone(),
        direction: Direction::Outbound,
        author: draft.author,
        body: draft.body.to_string(),
        attachments: draft.attachments.to_vec(),
        counterpart: Some(draft.to.clone()),
        external_id: None,
        thread_key: None,
        inbox: None,
        quoted: None,
        automated: None,
        event: None,
        sent_at: now,
        received_at: now,
        language: conv.language.clone(),
        delivery: Some(Delivery::Pending),
    };
    let mut effects = vec![Effect::Send(Outbound {
        tenant: conv.tenant,
        conversation: conv.id,
        message: message.id,
        channel: draft.channel.clone(),
        to: draft.to,
        body: message.body.clone(),
        parts: draft.parts,
        attachments: message.attachments.clone(),
        in_reply_to: draft.in_reply_to,
        subject: conv.subject.clone(),
        from: draft.from,
        customer_wrote_at: draft.customer_wrote_at,
    })];
    if conv.status == Status::New {
        conv.set_status(Status::Open, now);
        effects.push(Effect::StatusChanged {
            tenant: conv.tenant,
            conversation: conv.id,
            from: Status::New,
            to: Status::Open,
        });
    }
    let submitted = match draft.submit_as {
        Some(to) if to != conv.status => {
            if !conv.status.can_become(to) {
                return Err(Error::InvalidTransition {
                    conversation: conv.id.to_string(),
                    from: conv.status.to_string(),
                    to: to.to_string(),
                });
            }
            Some((conv.status, to))
        }
        _ => None,
    };
    if !conv.channels.contains(&draft.channel) {
        conv.channels.push(draft.channel);
    }
    conv.message_count += 1;
    conv.updated_at = now;
    conv.version += 1;
    Ok(Reply {
        conversation: conv,
        message,
        effects,
        submitted,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::{AgentId, ConversationId, CustomerId, TenantId};

    fn t0() -> DateTime<Utc> {
        "2026-03-02T09:00:00Z".parse().expect("valid")
    }

    fn id(n: u128) -> uuid::Uuid {
        uuid::Uuid::from_u128(n)
    }

    fn conversation() -> Conversation {
        let mut c = Conversation::new(
            ConversationId::from_uuid(id(1)),
            TenantId::from_uuid(id(2)),
            CustomerId::from_uuid(id(3)),
            Channel::Email,
            t0(),
        );
        c.last_inbound_channel = Some(Channel::WhatsApp);
        c
    }

    fn draft(channel: Channel, submit_as: Option<Status>) -> Draft<'static> {
        Draft {
            id: MessageId::from_uuid(id(4)),
            author: Author::Agent(AgentId::from_uuid(id(5))),
            body: "It arrives tomorrow.",
            attachments: &[],
            channel,
            parts: vec!["It arrives tomorrow.".into()],
            to: Identifier::email("ana@example.com").expect("valid"),
            in_reply_to: Some("<m1@example.com>".into()),
            from: Some("support@shop.example".into()),
            customer_wrote_at: Some(t0()),
            submit_as,
        }
    }

    #[test]
    fn the_reply_goes_where_the_customer_last_wrote_unless_asked() {
        let conv = conversation();
        let channels = ChannelRegistry::default();
        let (c, parts) = channel_and_parts(&conv, None, "hi", &channels).expect("ok");
        assert_eq!((c, parts), (Channel::WhatsApp, vec!["hi".to_string()]));
        let (c, _) = channel_and_parts(&conv, Some(&Channel::Email), "hi", &channels).expect("ok");
        assert_eq!(c, Channel::Email);
        let mut first_only = conv.clone();
        first_only.last_inbound_channel = None;
        let (c, _) = channel_and_parts(&first_only, None, "hi", &channels).expect("ok");
        assert_eq!(c, Channel::Email);
        first_only.channels.clear();
        assert!(matches!(
            channel_and_parts(&first_only, None, "hi", &channels),
            Err(Error::Invalid { .. })
        ));
    }

    #[test]
    fn a_body_the_channel_cannot_carry_or_a_disabled_channel_is_refused() {
        let conv = conversation();
        let mut channels = ChannelRegistry::default();
        let two = "word ".repeat(80);
        let (_, parts) =
            channel_and_parts(&conv, Some(&Channel::Twitter), &two, &channels).expect("ok");
        assert_eq!(parts.len(), 2);
        let long = "word ".repeat(800);
        assert!(channel_and_parts(&conv, Some(&Channel::Twitter), &long, &channels).is_err());
        channels.disable(Channel::WhatsApp);
        assert!(matches!(
            channel_and_parts(&conv, None, "hi", &channels),
            Err(Error::ChannelDisabled { .. })
        ));
    }

    #[test]
    fn a_reply_opens_a_new_conversation_and_is_sent_pending() {
        let got = reply(conversation(), draft(Channel::WhatsApp, None), t0()).expect("ok");
        assert_eq!(got.conversation.status, Status::Open);
        assert_eq!(
            got.conversation.message_count,
            conversation().message_count + 1
        );
        assert_eq!(got.conversation.version, conversation().version + 1);
        assert!(got.conversation.channels.contains(&Channel::WhatsApp));
        assert_eq!(got.message.delivery, Some(Delivery::Pending));
        assert_eq!(got.message.direction, Direction::Outbound);
        assert!(
            matches!(&got.effects[0], Effect::Send(o) if o.in_reply_to.as_deref() == Some("<m1@example.com>") && o.message == got.message.id)
        );
        assert!(matches!(
            got.effects[1],
            Effect::StatusChanged {
                from: Status::New,
                to: Status::Open,
                ..
            }
        ));
        assert_eq!(got.submitted, None);
    }

    #[test]
    fn the_submitted_status_is_checked_against_the_lifecycle() {
        let got = reply(
            conversation(),
            draft(Channel::Email, Some(Status::Solved)),
            t0(),
        )
        .expect("ok");
        assert_eq!(got.submitted, Some((Status::Open, Status::Solved)));
        assert_eq!(got.effects.len(), 2);
        let same = reply(
            conversation(),
            draft(Channel::Email, Some(Status::Open)),
            t0(),
        );
        assert_eq!(same.expect("ok").submitted, None);
        let bad = reply(
            conversation(),
            draft(Channel::Email, Some(Status::New)),
            t0(),
        );
        assert!(matches!(bad, Err(Error::InvalidTransition { .. })));
    }
}
