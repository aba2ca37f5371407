//! SLA clocks on the Desk: one record per conversation (kind `"sla"`), indexed by its next
//! due time, so `tick` costs what is due, not what is open.

use chrono::{DateTime, Utc};

use crate::conversation::Conversation;
use crate::desk::identity::{from_json, to_json};
use crate::desk::pipeline::{Event, Step};
use crate::desk::{ConversationRef, Desk};
use crate::effect::Effect;
use crate::error::Result;
use crate::id::ConversationId;
use crate::message::Author;
use crate::sla::{AuthorKind, ClockInput, PolicyInput, SlaClocks, SlaEventKind};
use crate::store::{ChangeSet, Op, Record, Store};

pub(crate) const SLA_KIND: &str = "sla";

/// How many due conversations one `tick` call handles per round.
const TICK_BATCH: usize = 1024;

fn author_kind(a: &Author) -> AuthorKind {
    match a {
        Author::Agent(_) => AuthorKind::Agent,
        Author::Bot(_) => AuthorKind::Bot,
        _ => AuthorKind::System,
    }
}

impl<S: Store> Desk<S> {
    fn policy_for(
        &self,
        conv: &Conversation,
        attributes: &std::collections::BTreeMap<String, serde_json::Value>,
    ) -> Option<String> {
        let channel = conv
            .last_inbound_channel
            .as_ref()
            .or(conv.channels.first())?;
        self.config
            .sla
            .select(&PolicyInput {
                channel,
                priority: conv.priority,
                tags: &conv.tags,
                attributes,
            })
            .map(|p| p.name.clone())
    }

    /// The pipeline step: feed the operation to the conversation's clocks.
    pub(crate) fn sla_step(&mut self, step: &mut Step<'_>) -> Result<()> {
        let sla = std::sync::Arc::clone(&self.config.sla);
        if sla.policies().is_empty() {
            return Ok(());
        }
        let key = step.conversation.id.to_string();
        let stored = self.read_record(step.tenant, SLA_KIND, &key)?;
        let mut clocks: SlaClocks = match &stored {
            Some(r) => from_json(r)?,
            None => SlaClocks::default(),
        };
        let now = step.now;
        let mut inputs = Vec::new();
        match &step.event {
            Event::Inbound {
                customer,
                status_before,
                ..
            } => {
                let policy = self.policy_for(step.conversation, &customer.attributes);
                inputs.push(ClockInput::Policy {
                    at: now,
                    policy,
                    priority: step.conversation.priority,
                });
                if *status_before != step.conversation.status {
                    inputs.push(ClockInput::Status {
                        at: now,
                        from: *status_before,
                        to: step.conversation.status,
                    });
                }
                inputs.push(ClockInput::Inbound { at: now });
            }
            Event::Reply { message } => inputs.push(ClockInput::Reply {
                at: now,
                by: author_kind(&message.author),
            }),
            Event::Status { from, to } => inputs.push(ClockInput::Status {
                at: now,
                from: *from,
                to: *to,
            }),
        }
        if stored.is_none() && !matches!(step.event, Event::Inbound { .. }) {
            // No clocks were ever started for this conversation (no policy at the time).
            return Ok(());
        }
        for i in &inputs {
            clocks.apply(&sla, i);
        }
        let value = to_json(&clocks)?;
        let record = match stored {
            Some(r) => Record {
                value,
                due: clocks.next_due(),
                version: r.version + 1,
                ..r
            },
            None => {
                let mut r = Record::raw(SLA_KIND, key, value);
                r.due = clocks.next_due();
                r
            }
        };
        step.changes.push(Op::PutRecord(record));
        Ok(())
    }

    pub(crate) fn sla_next_due(&self) -> Result<Option<DateTime<Utc>>> {
        self.store.next_due(SLA_KIND)
    }

    /// Fires the SLA warnings and breaches due by `now`, across tenants.
    pub(crate) fn sla_tick(&mut self, now: DateTime<Utc>) -> Result<Vec<Effect>> {
        let mut effects = Vec::new();
        // Each round handles a batch; a record whose write lost a race is simply due
        // again in the next round or the next tick.
        // A store failure midway keeps what was committed: its effects are returned and
        // the rest stays due for the next tick (which reports the failure if it recurs
        // before anything is done).
        let mut committed = false;
        for _ in 0..1024 {
            let due = match self.store.due_records(SLA_KIND, now, TICK_BATCH) {
                Ok(due) => due,
                Err(e) if !committed => return Err(e),
                Err(_) => return Ok(effects),
            };
            if due.is_empty() {
                break;
            }
            let mut progressed = false;
            for (tenant, record) in due {
                let mut clocks: SlaClocks = from_json(&record)?;
                let fired = clocks.poll(now);
                let conversation: ConversationId = match record.key.parse() {
                    Ok(c) => c,
                    Err(_) => continue,
                };
                let mut changes = ChangeSet::new(tenant);
                changes.push(Op::PutRecord(Record {
                    value: to_json(&clocks)?,
                    due: clocks.next_due(),
                    version: record.version + 1,
                    ..record
                }));
                // SLA pressure: a warning at 75% or more raises the conversation's
                // priority one step, once (`sla:pressure` tag).
                let pressed = fired.iter().any(
                    |e| matches!(e.kind, SlaEventKind::Warn { fraction, .. } if fraction >= 0.75),
                );
                let mut raised = None;
                if pressed {
                    let conv = match self.store.conversation(tenant, conversation) {
                        Ok(c) => c,
                        Err(e) if !committed => return Err(e),
                        Err(_) => return Ok(effects),
                    };
                    if let Some(mut conv) = conv {
                        if conv.status.is_active() && !conv.tags.iter().any(|t| t == PRESSURE_TAG) {
                            conv.priority = raise(conv.priority);
                            conv.tags.push(PRESSURE_TAG.to_string());
                            conv.updated_at = now;
                            conv.version += 1;
                            raised = Some(conv.priority);
                            changes.push(Op::PutConversation(conv));
                        }
                    }
                }
                match self.store.apply(changes) {
                    Ok(()) => {
                        progressed = true;
                        committed = true;
                    }
                    Err(crate::Error::Conflict(_)) => continue,
                    Err(e) if !committed => return Err(e),
                    Err(_) => return Ok(effects),
                }
                if let (Some(p), Some(router)) = (raised, self.router.as_mut()) {
                    router.reprioritize(tenant, conversation, p);
                }
                for e in fired {
                    let Some(metric) = e.metric else { continue };
                    match e.kind {
                        SlaEventKind::Warn { fraction, deadline } => {
                            effects.push(Effect::SlaWarning {
                                tenant,
                                conversation,
                                metric,
                                fraction,
                                deadline,
                            })
                        }
                        SlaEventKind::Breach { deadline } => effects.push(Effect::SlaBreached {
                            tenant,
                            conversation,
                            metric,
                            deadline,
                            at: e.at,
                        }),
                        _ => {}
                    }
                }
            }
            if !progressed {
                break;
            }
        }
        Ok(effects)
    }

    /// The SLA clocks of a conversation (with their event log), if any ever ran.
    ///
    /// # Errors
    ///
    /// [`crate::Error::NotFound`] for an unknown conversation.
    pub fn sla_clocks(
        &self,
        conversation: impl Into<ConversationRef>,
    ) -> Result<Option<SlaClocks>> {
        let c = self.load_conversation(conversation.into())?;
        match self.store.record(c.tenant, SLA_KIND, &c.id.to_string())? {
            Some(r) => Ok(Some(from_json(&r)?)),
            None => Ok(None),
        }
    }
}

/// The tag a conversation gets when SLA pressure raised its priority.
const PRESSURE_TAG: &str = "sla:pressure";

fn raise(p: crate::conversation::Priority) -> crate::conversation::Priority {
    use crate::conversation::Priority;
    match p {
        Priority::Low => Priority::Normal,
        Priority::Normal => Priority::High,
        _ => Priority::Urgent,
    }
}
