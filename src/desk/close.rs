//! Solved conversations close themselves after [`DeskConfig::close_solved_after`]
//! (per tenant through [`crate::settings::TenantSettings::close_solved_after`]), as
//! Zendesk closes solved tickets: a closed conversation is final, and the customer's next
//! message starts a follow-up.
//!
//! Invariants: a conversation that becomes solved while a window is configured gets one
//! due record (`close-solved`, keyed by the conversation, no personal data) in the same
//! change set; leaving solved (a reopen, a close) deletes it in that change set; the tick
//! closes through the ordinary status change, so SLA clocks, metrics and routing see it as
//! any close. A record whose conversation is gone or no longer solved is dropped; a
//! window changed since the solve is applied at the tick (closing later, or not at all).

use chrono::{DateTime, Utc};

use crate::conversation::Status;
use crate::desk::pipeline::{Event, Step};
use crate::desk::Desk;
use crate::effect::Effect;
use crate::error::Result;
use crate::id::ConversationId;
use crate::store::{ChangeSet, Op, Record, Store};

#[cfg(doc)]
use crate::desk::DeskConfig;

/// The due record of a solved conversation's close.
pub(crate) const CLOSE_KIND: &str = "close-solved";

/// How many closes one tick does at most (the rest stay due).
const CLOSE_BATCH: usize = 256;

impl<S: Store> Desk<S> {
    /// The close step of an operation: schedules the close of a conversation that became
    /// solved, and cancels it when it leaves solved.
    pub(crate) fn close_step(&mut self, step: &mut Step<'_>) -> Result<()> {
        let before = match &step.event {
            Event::Status { from, .. } => *from,
            Event::Inbound { status_before, .. } => *status_before,
            Event::Reply { .. } => return Ok(()),
        };
        let after = step.conversation.status;
        if before != Status::Solved && after == Status::Solved {
            if let Some(window) = self.config.close_solved_after {
                let key = step.conversation.id.to_string();
                let stored = self.store.record(step.tenant, CLOSE_KIND, &key)?;
                let mut record = Record::new(CLOSE_KIND, key, serde_json::json!({}));
                record.due = Some(step.now + window);
                record.version = stored.map_or(1, |r| r.version + 1);
                step.changes.push(Op::PutRecord(record));
            }
        } else if before == Status::Solved && after != Status::Solved {
            let key = step.conversation.id.to_string();
            if let Some(r) = self.store.record(step.tenant, CLOSE_KIND, &key)? {
                step.changes.push(delete(r));
            }
        }
        Ok(())
    }

    /// Closes the solved conversations whose window has passed, across tenants.
    pub(crate) fn close_tick(&mut self, now: DateTime<Utc>) -> Result<Vec<Effect>> {
        let mut effects = Vec::new();
        for (tenant, record) in self.store.due_records(CLOSE_KIND, now, CLOSE_BATCH)? {
            self.enter(tenant)?;
            let id: Option<ConversationId> = record.key.parse().ok();
            let conv = match id {
                Some(id) => self.store.conversation(tenant, id)?,
                None => None,
            };
            let (Some(conv), Some(window)) = (conv, self.config.close_solved_after) else {
                self.drop_record(tenant, record)?;
                continue;
            };
            let Some(solved_at) = conv.solved_at.filter(|_| conv.status == Status::Solved) else {
                self.drop_record(tenant, record)?;
                continue;
            };
            if solved_at + window > now {
                // The window grew since the solve: due later.
                let mut changes = ChangeSet::new(tenant);
                let mut later = record;
                later.due = Some(solved_at + window);
                later.version += 1;
                changes.push(Op::PutRecord(later));
                self.apply_changes(changes)?;
                continue;
            }
            // The ordinary change: its close step deletes the record with it.
            effects.extend(self.change_status(
                (tenant, conv.id).into(),
                Status::Closed,
                None,
                now,
            )?);
        }
        Ok(effects)
    }

    /// The next close, across tenants.
    pub(crate) fn close_next_due(&self) -> Result<Option<DateTime<Utc>>> {
        self.store.next_due(CLOSE_KIND)
    }

    fn drop_record(&mut self, tenant: crate::id::TenantId, record: Record) -> Result<()> {
        let mut changes = ChangeSet::new(tenant);
        changes.push(delete(record));
        self.apply_changes(changes)
    }
}

fn delete(r: Record) -> Op {
    Op::DeleteRecord {
        kind: r.kind,
        key: r.key,
        version: r.version,
    }
}
