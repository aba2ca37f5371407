//! Threading: which conversation an inbound message joins, reopens or follows, and what
//! arriving does to that conversation.
//!
//! Pure functions of what the store knows ([`ThreadSnapshot`]), the reopen window and
//! `now`. The invariants they keep:
//! - threading headers are untrusted: a hint only leads into the sender's own
//!   conversations, or into the conversation of one of our own outbound messages it names
//!   (the sender quoted our mail; see [`follow_our_message`]);
//! - a machine-sent message (an out-of-office, a list auto-response) never reopens a
//!   conversation and never changes its status;
//! - a customer has one conversation in play: an active one is joined on any channel (a
//!   channel switch is recorded, not a new ticket), a solved one reopens within the
//!   window, and otherwise a new conversation opens, linked to the one before it, and a
//!   solved one left behind is closed;
//! - under [`ThreadingPolicy::PerTopic`] a customer may have several conversations in
//!   play: a new topic (an e-mail starting a new thread, a topic the host marks as new)
//!   opens one beside the open one, linked to it; a machine-sent message never starts a
//!   topic.

use chrono::{DateTime, TimeDelta, Utc};

use crate::channel::Channel;
use crate::conversation::{Conversation, Status, ThreadingPolicy};
use crate::id::{ConversationId, CustomerId};

/// What an inbound message does to the customer's latest conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Threading {
    /// Append to it (it is new, open, pending or on hold).
    Join,
    /// Append and reopen it (solved, within the reopen window).
    Reopen,
    /// Start a new conversation, linked to it (closed, or solved too long ago).
    NewLinked,
}

/// The threading rule for a conversation that is not closed on any channel: join it when
/// active, reopen it when solved within `reopen_window`, else start a new linked one.
pub(crate) fn threading_for(
    conv: &Conversation,
    now: DateTime<Utc>,
    reopen_window: TimeDelta,
) -> Threading {
    match conv.status {
        Status::New | Status::Open | Status::Pending | Status::OnHold => Threading::Join,
        Status::Solved => match conv.solved_at {
            Some(at) if now - at <= reopen_window => Threading::Reopen,
            _ => Threading::NewLinked,
        },
        Status::Closed => Threading::NewLinked,
    }
}

/// What the store knows for threading one message of a customer, read in this order and
/// each only when the ones before it gave nothing.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct ThreadSnapshot {
    /// The conversation the message's thread hint leads to (see [`follow_hint`]).
    pub hinted: Option<Conversation>,
    /// The customer's newest conversation that is not closed.
    pub open: Option<Conversation>,
    /// The customer's newest conversation of all.
    pub latest: Option<ConversationId>,
    /// The message starts a new topic (see [`new_topic`]): unless its hint led somewhere,
    /// it opens a new conversation beside `open`.
    pub new_topic: bool,
}

/// Where a message goes.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Placement {
    /// Into this conversation (`reopened`: it was solved and reopens).
    Existing {
        /// The conversation, as read.
        conversation: Conversation,
        /// Whether the message reopens it.
        reopened: bool,
    },
    /// Into a new conversation that follows `previous`, or is started beside `related`.
    New {
        /// The conversation the new one follows up, if any.
        previous: Option<ConversationId>,
        /// The open conversation the new topic is started beside, if any.
        related: Option<ConversationId>,
        /// The solved conversation left behind, closed now (to be written).
        closed: Option<Conversation>,
    },
}

/// The conversation a thread hint leads to, when it belongs to `customer`: threading
/// headers are untrusted and never lead into another customer's conversation.
pub(crate) fn follow_hint(
    hinted: Option<Conversation>,
    customer: CustomerId,
) -> Option<Conversation> {
    hinted.filter(|c| c.customer == customer)
}

/// The conversation a hint naming one of our own outbound messages leads to: whoever
/// sends it quoted our message, so it joins that conversation (a sender who is not its
/// customer becomes a merge suggestion, never a silent merge). A closed one is not
/// followed.
pub(crate) fn follow_our_message(hinted: Option<Conversation>) -> Option<Conversation> {
    hinted.filter(|c| c.status != Status::Closed)
}

/// Whether a message starts a new topic under `policy`: never under
/// [`ThreadingPolicy::Bundle`] and never when a machine sent it; under
/// [`ThreadingPolicy::PerTopic`] when the host says so (`marked`) or it is an e-mail (one
/// whose thread hint leads into a conversation joins it, see [`place`]).
pub(crate) fn new_topic(
    policy: ThreadingPolicy,
    channel: &Channel,
    marked: bool,
    automated: bool,
) -> bool {
    match policy {
        ThreadingPolicy::Bundle => false,
        ThreadingPolicy::PerTopic => !automated && (marked || *channel == Channel::Email),
    }
}

/// The conversation a message without a thread joins when a customer may have several
/// in play: the most recently active of those still active (new, open, pending, on
/// hold), else the most recently active solved one; closed ones never.
pub(crate) fn most_recent_open(conversations: &[Conversation]) -> Option<Conversation> {
    let newest = |active: bool| {
        conversations
            .iter()
            .filter(|c| c.status != Status::Closed && c.status.is_active() == active)
            .max_by_key(|c| (c.updated_at, c.id))
    };
    newest(true).or_else(|| newest(false)).cloned()
}

/// Where a message goes, from what the store knows; `automated`: a machine sent it, so it
/// joins a conversation that is not closed without reopening it.
pub(crate) fn place(
    snapshot: ThreadSnapshot,
    now: DateTime<Utc>,
    reopen_window: TimeDelta,
    automated: bool,
) -> Placement {
    if snapshot.new_topic && snapshot.hinted.is_none() {
        if let Some(open) = &snapshot.open {
            return Placement::New {
                previous: None,
                related: Some(open.id),
                closed: None,
            };
        }
    }
    let Some(candidate) = snapshot.hinted.or(snapshot.open) else {
        return Placement::New {
            previous: snapshot.latest,
            related: None,
            closed: None,
        };
    };
    let threading = match threading_for(&candidate, now, reopen_window) {
        Threading::Reopen | Threading::NewLinked
            if automated && candidate.status != Status::Closed =>
        {
            Threading::Join
        }
        threading => threading,
    };
    match threading {
        Threading::Join => Placement::Existing {
            conversation: candidate,
            reopened: false,
        },
        Threading::Reopen => Placement::Existing {
            conversation: candidate,
            reopened: true,
        },
        Threading::NewLinked => Placement::New {
            previous: Some(candidate.id),
            related: None,
            closed: (candidate.status == Status::Solved).then(|| {
                let mut old = candidate;
                old.set_status(Status::Closed, now);
                old.updated_at = now;
                old.version += 1;
                old
            }),
        },
    }
}

/// What a customer message changed on its conversation.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Arrived {
    /// The previous inbound channel, when the customer switched channel.
    pub switched_from: Option<Channel>,
    /// The status change, when there was one (`(from, to)`).
    pub status: Option<(Status, Status)>,
}

impl Conversation {
    /// Takes in a customer message on `channel`: notes the channel (and a switch), makes
    /// the conversation open (a new one stays new; a machine-sent message, `automated`,
    /// changes no status and is not the customer writing), keeps the first subject, counts
    /// the message and bumps the version.
    pub(crate) fn receive(
        &mut self,
        channel: &Channel,
        subject: Option<&String>,
        automated: bool,
        now: DateTime<Utc>,
    ) -> Arrived {
        let switched_from = self.note_inbound_channel(channel);
        let before = self.status;
        let after = match before {
            _ if automated => before,
            Status::New => Status::New,
            _ => Status::Open,
        };
        if before != after {
            self.set_status(after, now);
        }
        if self.subject.is_none() {
            self.subject = subject.cloned();
        }
        self.message_count += 1;
        if !automated {
            self.last_inbound_at = Some(now);
        }
        self.updated_at = now;
        self.version += 1;
        Arrived {
            switched_from,
            status: (before != after).then_some((before, after)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::TenantId;

    fn t0() -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000, 0).unwrap()
    }

    fn conversation(status: Status) -> Conversation {
        let mut c = Conversation::new(
            ConversationId::new_v7(),
            TenantId::new_v7(),
            CustomerId::new_v7(),
            Channel::WebChat,
            t0(),
        );
        c.version = 1;
        if status != Status::New {
            c.set_status(status, t0());
        }
        c
    }

    #[test]
    fn solved_reopens_within_the_window_only() {
        let mut c = conversation(Status::Solved);
        let week = TimeDelta::days(7);
        assert_eq!(
            threading_for(&c, t0() + TimeDelta::days(6), week),
            Threading::Reopen
        );
        assert_eq!(
            threading_for(&c, t0() + TimeDelta::days(8), week),
            Threading::NewLinked
        );
        c.set_status(Status::Open, t0());
        assert_eq!(c.reopen_count, 1);
        assert_eq!(
            threading_for(&c, t0() + TimeDelta::days(365), week),
            Threading::Join
        );
    }

    #[test]
    fn a_hint_leads_only_into_the_customer_s_own_conversation() {
        let c = conversation(Status::Open);
        assert_eq!(follow_hint(Some(c.clone()), c.customer), Some(c.clone()));
        assert_eq!(follow_hint(Some(c), CustomerId::new_v7()), None);
    }

    #[test]
    fn the_hinted_conversation_wins_over_the_open_one() {
        let hinted = conversation(Status::Pending);
        let open = conversation(Status::Open);
        let snapshot = ThreadSnapshot {
            hinted: Some(hinted.clone()),
            open: Some(open),
            latest: None,
            new_topic: false,
        };
        let got = place(snapshot, t0(), TimeDelta::days(7), false);
        assert_eq!(
            got,
            Placement::Existing {
                conversation: hinted,
                reopened: false
            }
        );
    }

    #[test]
    fn a_solved_conversation_past_the_window_is_closed_and_followed() {
        let solved = conversation(Status::Solved);
        let later = t0() + TimeDelta::days(8);
        let snapshot = ThreadSnapshot {
            open: Some(solved.clone()),
            ..ThreadSnapshot::default()
        };
        let Placement::New {
            previous, closed, ..
        } = place(snapshot, later, TimeDelta::days(7), false)
        else {
            panic!("expected a new conversation");
        };
        assert_eq!(previous, Some(solved.id));
        let closed = closed.expect("the solved one is closed");
        assert_eq!(closed.status, Status::Closed);
        assert_eq!(closed.closed_at, Some(later));
        assert_eq!(closed.version, solved.version + 1);
        // Within the window it reopens instead.
        let snapshot = ThreadSnapshot {
            open: Some(solved.clone()),
            ..ThreadSnapshot::default()
        };
        assert_eq!(
            place(
                snapshot,
                t0() + TimeDelta::days(1),
                TimeDelta::days(7),
                false
            ),
            Placement::Existing {
                conversation: solved,
                reopened: true
            }
        );
    }

    #[test]
    fn with_nothing_open_a_new_conversation_follows_the_latest() {
        let latest = ConversationId::new_v7();
        let snapshot = ThreadSnapshot {
            latest: Some(latest),
            ..ThreadSnapshot::default()
        };
        assert_eq!(
            place(snapshot, t0(), TimeDelta::days(7), false),
            Placement::New {
                previous: Some(latest),
                related: None,
                closed: None
            }
        );
    }

    #[test]
    fn arriving_opens_switches_and_counts() {
        let mut c = conversation(Status::Pending);
        c.note_inbound_channel(&Channel::WebChat);
        let now = t0() + TimeDelta::hours(1);
        let subject = "Return".to_string();
        let got = c.receive(&Channel::Email, Some(&subject), false, now);
        assert_eq!(got.switched_from, Some(Channel::WebChat));
        assert_eq!(got.status, Some((Status::Pending, Status::Open)));
        assert_eq!(c.subject.as_deref(), Some("Return"));
        assert_eq!((c.message_count, c.version), (1, 2));
        assert_eq!(c.last_inbound_at, Some(now));
        // A new conversation stays new; the first subject is kept.
        let mut fresh = conversation(Status::New);
        let other = "Other".to_string();
        fresh.subject = Some("First".into());
        let got = fresh.receive(&Channel::WebChat, Some(&other), false, now);
        assert_eq!(got, Arrived::default());
        assert_eq!(fresh.subject.as_deref(), Some("First"));
    }

    /// An out-of-office never reopens: it joins a solved conversation (within the window
    /// or past it) as it is, but a closed one is still followed by a new conversation.
    #[test]
    fn a_machine_sent_message_never_reopens() {
        let solved = conversation(Status::Solved);
        for later in [TimeDelta::days(1), TimeDelta::days(30)] {
            let snapshot = ThreadSnapshot {
                open: Some(solved.clone()),
                ..ThreadSnapshot::default()
            };
            assert_eq!(
                place(snapshot, t0() + later, TimeDelta::days(7), true),
                Placement::Existing {
                    conversation: solved.clone(),
                    reopened: false
                }
            );
        }
        let closed = conversation(Status::Closed);
        let snapshot = ThreadSnapshot {
            hinted: Some(closed.clone()),
            ..ThreadSnapshot::default()
        };
        assert!(matches!(
            place(snapshot, t0(), TimeDelta::days(7), true),
            Placement::New { previous, .. } if previous == Some(closed.id)
        ));
        // Arriving changes no status and is not the customer writing.
        let mut c = solved.clone();
        let got = c.receive(&Channel::Email, None, true, t0() + TimeDelta::hours(1));
        assert_eq!(got.status, None);
        assert_eq!(c.status, Status::Solved);
        assert_eq!(c.last_inbound_at, solved.last_inbound_at);
        assert_eq!(c.message_count, solved.message_count + 1);
    }

    /// A hint naming our own message leads into its conversation whoever sent it, unless
    /// that conversation is closed.
    #[test]
    fn a_hint_to_our_message_leads_into_its_conversation() {
        let open = conversation(Status::Open);
        assert_eq!(follow_our_message(Some(open.clone())), Some(open));
        assert_eq!(follow_our_message(Some(conversation(Status::Closed))), None);
        assert_eq!(follow_our_message(None), None);
    }

    /// Per topic, a new topic opens a conversation beside the open one; a hint that led
    /// somewhere wins; with nothing open it is an ordinary new conversation.
    #[test]
    fn a_new_topic_opens_beside_the_open_one() {
        let open = conversation(Status::Open);
        let snapshot = ThreadSnapshot {
            open: Some(open.clone()),
            new_topic: true,
            ..ThreadSnapshot::default()
        };
        assert_eq!(
            place(snapshot, t0(), TimeDelta::days(7), false),
            Placement::New {
                previous: None,
                related: Some(open.id),
                closed: None
            }
        );
        let hinted = conversation(Status::Pending);
        let snapshot = ThreadSnapshot {
            hinted: Some(hinted.clone()),
            new_topic: true,
            ..ThreadSnapshot::default()
        };
        assert!(matches!(
            place(snapshot, t0(), TimeDelta::days(7), false),
            Placement::Existing { conversation, .. } if conversation.id == hinted.id
        ));
        let latest = ConversationId::new_v7();
        let snapshot = ThreadSnapshot {
            latest: Some(latest),
            new_topic: true,
            ..ThreadSnapshot::default()
        };
        assert_eq!(
            place(snapshot, t0(), TimeDelta::days(7), false),
            Placement::New {
                previous: Some(latest),
                related: None,
                closed: None
            }
        );
    }

    #[test]
    fn only_per_topic_and_only_people_start_topics() {
        let (bundle, topic) = (ThreadingPolicy::Bundle, ThreadingPolicy::PerTopic);
        assert!(!new_topic(bundle, &Channel::Email, true, false));
        assert!(new_topic(topic, &Channel::Email, false, false));
        assert!(!new_topic(topic, &Channel::Email, false, true));
        assert!(!new_topic(topic, &Channel::WebChat, false, false));
        assert!(new_topic(topic, &Channel::WebChat, true, false));
    }

    #[test]
    fn the_most_recently_active_open_conversation_is_joined() {
        let mut older = conversation(Status::Open);
        let mut newer = conversation(Status::Pending);
        let mut solved = conversation(Status::Solved);
        let mut closed = conversation(Status::Closed);
        older.updated_at = t0() + TimeDelta::hours(2);
        newer.updated_at = t0() + TimeDelta::hours(1);
        solved.updated_at = t0() + TimeDelta::hours(3);
        closed.updated_at = t0() + TimeDelta::hours(4);
        let all = [newer.clone(), older.clone(), solved.clone(), closed.clone()];
        assert_eq!(most_recent_open(&all).map(|c| c.id), Some(older.id));
        assert_eq!(
            most_recent_open(&[solved.clone(), closed.clone()]).map(|c| c.id),
            Some(solved.id)
        );
        assert_eq!(most_recent_open(&[closed]), None);
    }
}
