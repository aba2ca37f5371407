//! The SLA decisions of one conversation operation, as values: which policy applies,
//! which clock inputs the operation means, the breaches it finds overdue, and what SLA
//! pressure does at a tick. The Desk reads the stored clocks, calls these, and writes the
//! record they leave.

use chrono::{DateTime, Utc};

use crate::channel::Channel;
use crate::conversation::{Priority, Status};
use crate::effect::Effect;
use crate::id::{ConversationId, TenantId};
use crate::sla::clock::{ClockInput, SlaClocks, SlaEvent, SlaEventKind};
use crate::sla::policy::{AuthorKind, PolicyInput, SlaPolicies};

/// The tag a conversation gets when SLA pressure raised its priority.
pub(crate) const PRESSURE_TAG: &str = "sla:pressure";

/// A warning at this share of a target or more is SLA pressure.
const PRESSURE: f64 = 0.75;

/// What the operation did to the conversation, as the clocks see it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ClockEvent {
    /// A customer message.
    Inbound {
        /// The policy that applies now ([`select`]).
        policy: Option<String>,
        /// The conversation's priority now.
        priority: Priority,
        /// Whether it carries the [`PRESSURE_TAG`].
        pressed: bool,
        /// Its status before the message, and after.
        status: (Status, Status),
    },
    /// A reply by `by`; `active`: the conversation is in an active status.
    Reply {
        /// Who replied.
        by: AuthorKind,
        /// Whether the conversation is active (solved and closed ones start no clock).
        active: bool,
    },
    /// A status change.
    Status {
        /// From.
        from: Status,
        /// To.
        to: Status,
    },
}

/// The policy for a conversation on `channel` (its latest inbound channel, else its
/// first), at `priority`, with `tags`, for a customer with `attributes`.
pub(crate) fn select(
    sla: &SlaPolicies,
    channel: Option<&Channel>,
    priority: Priority,
    tags: &[String],
    attributes: &std::collections::BTreeMap<String, serde_json::Value>,
) -> Option<String> {
    sla.select(&PolicyInput {
        channel: channel?,
        priority,
        tags,
        attributes,
    })
    .map(|p| p.name.clone())
}

/// The priority one step up (SLA pressure).
pub(crate) fn raise(p: Priority) -> Priority {
    match p {
        Priority::Low => Priority::Normal,
        Priority::Normal => Priority::High,
        _ => Priority::Urgent,
    }
}

/// The clock inputs an operation means at `now`. `stored` is the clocks' priority when
/// clocks were stored before. SLA pressure raises the priority to draw an agent's
/// attention, not to shorten the targets it warned about: the clocks keep the priority
/// the raise started from.
pub(crate) fn inputs(
    event: &ClockEvent,
    stored: Option<Priority>,
    now: DateTime<Utc>,
) -> Vec<ClockInput> {
    match event {
        ClockEvent::Inbound {
            policy,
            priority,
            pressed,
            status: (before, after),
        } => {
            let priority = match stored {
                Some(p) if *pressed && raise(p) == *priority => p,
                _ => *priority,
            };
            let mut out = vec![ClockInput::Policy {
                at: now,
                policy: policy.clone(),
                priority,
            }];
            if before != after {
                out.push(ClockInput::Status {
                    at: now,
                    from: *before,
                    to: *after,
                });
            }
            out.push(ClockInput::Inbound { at: now });
            out
        }
        // On a solved or closed conversation every clock has stopped: a reply (an
        // afterthought, an invoice) starts none.
        ClockEvent::Reply { by, active: true } => vec![ClockInput::Reply { at: now, by: *by }],
        ClockEvent::Reply { active: false, .. } => Vec::new(),
        ClockEvent::Status { from, to } => vec![ClockInput::Status {
            at: now,
            from: *from,
            to: *to,
        }],
    }
}

/// Feeds an operation to a conversation's clocks (`stored`: clocks were stored before)
/// and returns the breaches of deadlines that passed before it, which the operation
/// reports (a late reply does not erase the breach it ends). `None` when the operation
/// starts no clocks: no clocks were ever stored and it is not a customer message.
pub(crate) fn feed(
    sla: &SlaPolicies,
    clocks: &mut SlaClocks,
    stored: bool,
    event: &ClockEvent,
    now: DateTime<Utc>,
) -> Option<Vec<SlaEvent>> {
    if !stored && !matches!(event, ClockEvent::Inbound { .. }) {
        return None;
    }
    let inputs = inputs(event, stored.then_some(clocks.priority), now);
    let breaches = clocks.overdue(now);
    for i in &inputs {
        clocks.apply(sla, i);
    }
    Some(breaches)
}

/// What the host hears of a conversation's fired clock events: warnings and breaches.
pub(crate) fn effects(
    tenant: TenantId,
    conversation: ConversationId,
    fired: impl IntoIterator<Item = SlaEvent>,
) -> Vec<Effect> {
    let mut out = Vec::new();
    for e in fired {
        let Some(metric) = e.metric else { continue };
        match e.kind {
            SlaEventKind::Warn { fraction, deadline } => out.push(Effect::SlaWarning {
                tenant,
                conversation,
                metric,
                fraction,
                deadline,
            }),
            SlaEventKind::Breach { deadline } => out.push(Effect::SlaBreached {
                tenant,
                conversation,
                metric,
                deadline,
                at: e.at,
            }),
            _ => {}
        }
    }
    out
}

/// Whether warnings fired at a tick put the conversation under SLA pressure (a warning
/// at 75% of a target or more).
pub(crate) fn pressed(fired: &[SlaEvent]) -> bool {
    fired
        .iter()
        .any(|e| matches!(e.kind, SlaEventKind::Warn { fraction, .. } if fraction >= PRESSURE))
}

/// The priority SLA pressure raises a conversation to, once: `None` when it is not active
/// or was raised before (it has the [`PRESSURE_TAG`]).
pub(crate) fn pressure_raise(
    status: Status,
    priority: Priority,
    tags: &[String],
) -> Option<Priority> {
    (status.is_active() && !tags.iter().any(|t| t == PRESSURE_TAG)).then(|| raise(priority))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sla::{Basis, Metric, SlaPolicy};
    use chrono::TimeDelta;

    fn t0() -> DateTime<Utc> {
        "2026-03-02T09:00:00Z".parse().expect("valid")
    }

    fn sla() -> SlaPolicies {
        SlaPolicies::new()
            .policy(
                SlaPolicy::new("chat")
                    .channels(&[Channel::WebChat])
                    .target_all(Metric::FirstReply, TimeDelta::minutes(5), Basis::Calendar),
            )
            .build()
            .expect("valid")
    }

    fn inbound(priority: Priority, pressed: bool) -> ClockEvent {
        ClockEvent::Inbound {
            policy: Some("chat".into()),
            priority,
            pressed,
            status: (Status::New, Status::New),
        }
    }

    #[test]
    fn the_policy_follows_the_channel() {
        let none = Default::default();
        let sla = sla();
        assert_eq!(
            select(&sla, Some(&Channel::WebChat), Priority::Normal, &[], &none).as_deref(),
            Some("chat")
        );
        assert_eq!(
            select(&sla, Some(&Channel::Email), Priority::Normal, &[], &none),
            None
        );
        assert_eq!(select(&sla, None, Priority::Normal, &[], &none), None);
    }

    #[test]
    fn an_inbound_applies_the_policy_then_the_status_then_the_message() {
        let mut event = inbound(Priority::High, false);
        if let ClockEvent::Inbound { status, .. } = &mut event {
            *status = (Status::Solved, Status::Open);
        }
        assert_eq!(
            inputs(&event, None, t0()),
            vec![
                ClockInput::Policy {
                    at: t0(),
                    policy: Some("chat".into()),
                    priority: Priority::High
                },
                ClockInput::Status {
                    at: t0(),
                    from: Status::Solved,
                    to: Status::Open
                },
                ClockInput::Inbound { at: t0() },
            ]
        );
    }

    #[test]
    fn pressure_keeps_the_clocks_priority() {
        let at = |inputs: Vec<ClockInput>| match &inputs[0] {
            ClockInput::Policy { priority, .. } => *priority,
            other => panic!("{other:?}"),
        };
        // Raised from normal by pressure: the clocks stay at normal.
        let raised = inbound(Priority::High, true);
        assert_eq!(
            at(inputs(&raised, Some(Priority::Normal), t0())),
            Priority::Normal
        );
        // Raised further by something else, or never stored: the conversation's.
        assert_eq!(
            at(inputs(&raised, Some(Priority::Low), t0())),
            Priority::High
        );
        assert_eq!(at(inputs(&raised, None, t0())), Priority::High);
        let plain = inbound(Priority::High, false);
        assert_eq!(
            at(inputs(&plain, Some(Priority::Normal), t0())),
            Priority::High
        );
    }

    #[test]
    fn replies_on_finished_conversations_start_nothing() {
        let reply = |active| ClockEvent::Reply {
            by: AuthorKind::Agent,
            active,
        };
        assert!(inputs(&reply(false), Some(Priority::Normal), t0()).is_empty());
        assert_eq!(inputs(&reply(true), Some(Priority::Normal), t0()).len(), 1);
    }

    #[test]
    fn feeding_reports_what_was_overdue_and_starts_only_on_inbound() {
        let sla = sla();
        let mut clocks = SlaClocks::default();
        let status = ClockEvent::Status {
            from: Status::New,
            to: Status::Open,
        };
        assert_eq!(feed(&sla, &mut clocks, false, &status, t0()), None);
        assert_eq!(clocks, SlaClocks::default());
        let found = feed(
            &sla,
            &mut clocks,
            false,
            &inbound(Priority::Normal, false),
            t0(),
        );
        assert_eq!(found, Some(Vec::new()));
        let deadline = t0() + TimeDelta::minutes(5);
        assert_eq!(clocks.next_due(), Some(t0() + TimeDelta::seconds(225)));
        let late = t0() + TimeDelta::minutes(9);
        let reply = ClockEvent::Reply {
            by: AuthorKind::Agent,
            active: true,
        };
        let found = feed(&sla, &mut clocks, true, &reply, late).expect("fed");
        let (tenant, conversation) = (
            TenantId::from_uuid(uuid::Uuid::from_u128(1)),
            ConversationId::from_uuid(uuid::Uuid::from_u128(2)),
        );
        assert_eq!(
            effects(tenant, conversation, found),
            vec![Effect::SlaBreached {
                tenant,
                conversation,
                metric: Metric::FirstReply,
                deadline,
                at: deadline
            }]
        );
        assert_eq!(clocks.next_due(), None);
    }

    #[test]
    fn a_tick_reports_warnings_and_breaches_only() {
        let (tenant, conversation) = (
            TenantId::from_uuid(uuid::Uuid::from_u128(1)),
            ConversationId::from_uuid(uuid::Uuid::from_u128(2)),
        );
        let event = |metric, kind| SlaEvent {
            at: t0(),
            metric,
            kind,
        };
        let fired = vec![
            event(
                Some(Metric::FirstReply),
                SlaEventKind::Warn {
                    fraction: 0.5,
                    deadline: t0(),
                },
            ),
            event(Some(Metric::FirstReply), SlaEventKind::Pause),
            event(None, SlaEventKind::Breach { deadline: t0() }),
            event(
                Some(Metric::NextReply),
                SlaEventKind::Breach { deadline: t0() },
            ),
        ];
        let got = effects(tenant, conversation, fired);
        assert_eq!(got.len(), 2);
        assert!(matches!(got[0], Effect::SlaWarning { fraction, .. } if fraction == 0.5));
        assert!(matches!(
            got[1],
            Effect::SlaBreached {
                metric: Metric::NextReply,
                ..
            }
        ));
    }

    #[test]
    fn pressure_raises_once_and_only_open_work() {
        let warn = |fraction| SlaEvent {
            at: t0(),
            metric: Some(Metric::FirstReply),
            kind: SlaEventKind::Warn {
                fraction,
                deadline: t0(),
            },
        };
        assert!(pressed(&[warn(0.5), warn(0.75)]));
        assert!(!pressed(&[warn(0.5)]));
        assert_eq!(
            pressure_raise(Status::Open, Priority::Normal, &[]),
            Some(Priority::High)
        );
        assert_eq!(
            pressure_raise(Status::Open, Priority::Normal, &[PRESSURE_TAG.to_string()]),
            None
        );
        assert_eq!(pressure_raise(Status::Solved, Priority::Normal, &[]), None);
        assert_eq!(raise(Priority::Urgent), Priority::Urgent);
    }
}
