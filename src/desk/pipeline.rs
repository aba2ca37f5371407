//! The capability pipeline: every Desk operation that changes a conversation hands a
//! [`Step`] to each capability (language, triage, SLA, routing) in a fixed order, and
//! each adds its writes to the operation's one change set and its effects to the result.
//! `tick` asks each capability for what fell due.

use chrono::{DateTime, Utc};

use crate::conversation::{Conversation, Status};
use crate::desk::Desk;
use crate::effect::Effect;
use crate::error::{Error, Result};
use crate::id::TenantId;
use crate::identity::Customer;
use crate::lang::Detection;
use crate::message::{Inbound, Message};
use crate::store::{ChangeSet, Store};

/// What happened to the conversation in this operation.
#[allow(dead_code)] // variants are read by the capability steps
pub(crate) enum Event<'a> {
    /// A customer message arrived (`opened`: it opened the conversation; `reopened`: it
    /// reopened a solved one).
    Inbound {
        inbound: &'a Inbound,
        /// The language detection made ahead ([`crate::Prepared`]), if any.
        detected: Option<Option<Detection>>,
        message: &'a mut Message,
        customer: &'a Customer,
        opened: bool,
        reopened: bool,
        /// The conversation's status before this message.
        status_before: Status,
    },
    /// An agent, bot or the system answered.
    Reply { message: &'a mut Message },
    /// The status changed.
    Status { from: Status, to: Status },
}

/// One operation's state, handed to each capability step.
#[allow(dead_code)] // fields are read by the capability steps
pub(crate) struct Step<'a> {
    pub tenant: TenantId,
    pub now: DateTime<Utc>,
    pub event: Event<'a>,
    pub conversation: &'a mut Conversation,
    pub changes: &'a mut ChangeSet,
    pub effects: &'a mut Vec<Effect>,
}

impl<S: Store> Desk<S> {
    /// Runs every capability step, in order, for one operation.
    pub(crate) fn run_steps(&mut self, step: &mut Step<'_>) -> Result<()> {
        // First: a reopen cancels a scheduled close even when nothing else runs.
        self.close_step(step)?;
        let mut automated = false;
        if let Event::Inbound {
            customer, inbound, ..
        } = &step.event
        {
            if customer.restricted_at.is_some() {
                // Restricted processing: the message is stored, nothing else is done.
                return Ok(());
            }
            automated = inbound.automated.is_some();
        }
        {
            let _stage = self.stage(crate::probe::Stage::Language);
            self.language_step(step)?;
        }
        if automated {
            // A machine wrote it (an out-of-office, a list auto-response): no bot answer
            // (no mail loops), no routing, and no SLA clock stops or starts.
            return Ok(());
        }
        {
            let _stage = self.stage(crate::probe::Stage::Triage);
            self.triage_step(step)?;
        }
        let _stage = self.stage(crate::probe::Stage::Sla);
        self.sla_step(step)
    }

    /// The earliest instant at which [`Desk::tick`] has something to do (an SLA warning
    /// or breach, a routing escalation or an agent's shift start, a send to retry, a
    /// solved conversation to close, follow-ups of an ingest deferred by a store failure), or `None`
    /// when nothing is scheduled. Hosts sleep until then (or until the next message), then
    /// call `tick`.
    ///
    /// # Errors
    ///
    /// Store failures only.
    pub fn next_wakeup(&self) -> Result<Option<DateTime<Utc>>> {
        let sla = self.sla_next_due()?;
        let routing = self.routing_next_due()?;
        let retry = self.retry_next_due()?;
        let close = self.close_next_due()?;
        Ok([sla, routing, retry, close, self.followups.due()]
            .into_iter()
            .flatten()
            .min())
    }

    /// Does what fell due by `now` and returns the effects: first the follow-ups of
    /// ingests that a store failure deferred (the triage bot's answer, routing), then SLA
    /// warnings and breaches, then routing escalations and waiting work offered to agents,
    /// then sends whose retry is due ([`Desk::mark_failed`]), then solved conversations
    /// whose [`DeskConfig::close_solved_after`](crate::DeskConfig::close_solved_after)
    /// has passed.
    /// The cost is proportional to what is due (deadline indexes), not to the number of
    /// open conversations. Calling it early or twice does nothing extra. When the store
    /// fails midway, the effects of what was committed are returned and the rest stays
    /// due for the next call.
    ///
    /// # Errors
    ///
    /// Store failures before anything was committed.
    pub fn tick(&mut self, now: DateTime<Utc>) -> Result<Vec<Effect>> {
        let _span = super::trace::op_span!("desk.tick");
        let mut effects = Vec::new();
        // A failure after some effects returns them; the rest stays due.
        let stop = |effects: Vec<Effect>, e: Error| {
            if effects.is_empty() {
                Err(e)
            } else {
                Ok(effects)
            }
        };
        if let Err(e) = self.run_deferred(now, &mut effects) {
            return stop(effects, e);
        }
        let stage = self.stage(crate::probe::Stage::Sla);
        let sla = self.sla_tick(now);
        drop(stage);
        match sla {
            Ok(more) => effects.extend(more),
            Err(e) => return stop(effects, e),
        }
        match self.routing_tick(now) {
            Ok(more) => effects.extend(more),
            Err(e) => return stop(effects, e),
        }
        match self.retry_tick(now) {
            Ok(more) => effects.extend(more),
            Err(e) => return stop(effects, e),
        }
        match self.close_tick(now) {
            Ok(more) => effects.extend(more),
            Err(e) => return stop(effects, e),
        }
        Ok(effects)
    }
}
