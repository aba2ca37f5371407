//! Triage on the Desk: every inbound message of a conversation passes the triage step;
//! the bot's follow-up messages are sent after the message is stored.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::conversation::Status;
use crate::desk::identity::{from_json, to_json};
use crate::desk::pipeline::{Event, Step};
use crate::desk::routing_due::pending_route;
use crate::desk::{ConversationRef, Desk, ReplyOptions};
use crate::effect::Effect;
use crate::error::{Error, Result};
use crate::id::{ConversationId, MessageId, TenantId};
use crate::lang::Language;
use crate::store::{ChangeSet, Op, Record, Store};
use crate::triage::step::{self as decide, Advance, BotMessage, FirstTriage, MessageFacts};
use crate::triage::{irritant_report, IrritantReport, TriageOutcome};

pub(crate) const TRIAGE_KIND: &str = "triage";

/// Work to do after the operation committed.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum FollowUp {
    /// The bot sends `text`; `then_pending` sets the conversation pending afterwards.
    Bot {
        tenant: TenantId,
        conversation: ConversationId,
        text: String,
        then_pending: bool,
    },
    /// A human is needed: route it (when routing is on).
    Route {
        tenant: TenantId,
        conversation: ConversationId,
        skills: Vec<(String, u8)>,
    },
}

impl FollowUp {
    /// Route the conversation to a human with `skills`.
    fn route(tenant: TenantId, conversation: ConversationId, skills: Vec<(String, u8)>) -> Self {
        FollowUp::Route {
            tenant,
            conversation,
            skills,
        }
    }

    /// The bot sends `bot`.
    fn bot(tenant: TenantId, conversation: ConversationId, bot: BotMessage) -> Self {
        FollowUp::Bot {
            tenant,
            conversation,
            text: bot.text,
            then_pending: bot.then_pending,
        }
    }
}

impl<S: Store> Desk<S> {
    /// The triage step of the pipeline (inbound messages only): reads the conversation's
    /// stored outcome, lets `triage::step` decide, and writes what it decided.
    pub(crate) fn triage_step(&mut self, step: &mut Step<'_>) -> Result<()> {
        let Event::Inbound {
            message,
            customer,
            reopened,
            ..
        } = &step.event
        else {
            return Ok(());
        };
        let (tenant, conv_id) = (step.tenant, step.conversation.id);
        // Work routing may not hold yet is marked in this change set, so that it is
        // routed even if this process stops before its routing step.
        let mark = step.conversation.assignee.is_none() || *reopened;
        if self.config.triage.catalogue.is_empty() {
            if self.config.routing.is_some() {
                self.queue_route(step, mark, Vec::new())?;
            }
            return Ok(());
        }
        let key = conv_id.to_string();
        let Some(record) = self.read_record(tenant, TRIAGE_KIND, &key)? else {
            let cfg = &self.config.triage;
            let facts = MessageFacts {
                body: &message.body,
                language: message.language.as_deref().and_then(Language::from_code),
                live_channel: self.config.channels.profile(&message.channel).live,
                vip: decide::is_vip(customer.attributes.get(&cfg.vip_attribute)),
            };
            let decided = decide::first(cfg, facts, step.now);
            return self.apply_first_triage(step, key, decided);
        };
        let outcome: TriageOutcome = from_json(&record)?;
        let routing = self.config.routing.is_some();
        match decide::advance(
            &self.config.triage,
            outcome,
            &message.body,
            routing,
            step.now,
        ) {
            Advance::Unchanged { route } => {
                if let Some(skills) = route {
                    self.queue_route(step, mark, skills)?;
                }
                Ok(())
            }
            Advance::Changed {
                outcome,
                ask,
                hand_over,
            } => {
                let message = message.id;
                self.apply_triage_advance(step, message, record, outcome, ask, hand_over)
            }
        }
    }

    /// Queues routing for after the step's change set commits; `mark`: with a pending
    /// mark in the change set (see [`pending_route`]).
    fn queue_route(
        &mut self,
        step: &mut Step<'_>,
        mark: bool,
        skills: Vec<(String, u8)>,
    ) -> Result<()> {
        if mark && self.config.routing.is_some() {
            let mark = self.next_uuid(step.now);
            let op = pending_route(step.conversation.id, &skills, step.now, mark)?;
            step.changes.push(op);
        }
        self.followups
            .push(FollowUp::route(step.tenant, step.conversation.id, skills));
        Ok(())
    }

    /// Writes how a later message advanced the bot's flow: the bot's next question, or
    /// the hand-over (its effect with the whole history up to `message`, and routing),
    /// and the outcome.
    fn apply_triage_advance(
        &mut self,
        step: &mut Step<'_>,
        message: MessageId,
        mut record: Record,
        outcome: TriageOutcome,
        ask: Option<BotMessage>,
        hand_over: Option<String>,
    ) -> Result<()> {
        let (tenant, conv_id) = (step.tenant, step.conversation.id);
        if let Some(bot) = ask {
            self.followups.push(FollowUp::bot(tenant, conv_id, bot));
        }
        if let Some(reason) = hand_over {
            let mut history = self.store.message_ids_of(tenant, conv_id)?;
            history.push(message);
            step.effects.push(Effect::HandedOver {
                tenant,
                conversation: conv_id,
                reason,
                collected: outcome.collected.clone(),
                history,
            });
            self.queue_route(step, true, outcome.skills.clone())?;
        }
        record.set(&outcome)?;
        record.version += 1;
        step.changes.push(Op::PutRecord(record));
        Ok(())
    }

    /// Writes the triage of a conversation's first message: its priority and tags, the
    /// `Triaged` effect, the stored outcome, and the bot's answer or routing after commit.
    fn apply_first_triage(
        &mut self,
        step: &mut Step<'_>,
        key: String,
        decided: FirstTriage,
    ) -> Result<()> {
        let (tenant, conv_id) = (step.tenant, step.conversation.id);
        let route = decided.route();
        let FirstTriage { outcome, tags, bot } = decided;
        if let Some(bot) = bot {
            self.followups.push(FollowUp::bot(tenant, conv_id, bot));
        }
        step.conversation.tags.extend(tags);
        step.conversation.priority = outcome.priority;
        step.effects.push(Effect::Triaged {
            tenant,
            conversation: conv_id,
            intent: outcome.intent.clone(),
            disposition: outcome.disposition,
            priority: outcome.priority,
            needs_human: outcome.needs_human,
        });
        if route {
            self.queue_route(step, true, outcome.skills.clone())?;
        }
        let mut r = Record::encode(TRIAGE_KIND, key, &outcome)?;
        r.secondary = outcome.intent.clone();
        step.changes.push(Op::PutRecord(r));
        Ok(())
    }

    /// Runs the work queued by the operation's steps, after it committed: bot messages
    /// (and pending status), then routing. Their effects are appended. When one fails,
    /// it and the ones after it are deferred to the next `tick` (the operation itself has
    /// landed; a retry would find it done) and the error is returned.
    pub(crate) fn run_followups(
        &mut self,
        now: DateTime<Utc>,
        effects: &mut Vec<Effect>,
    ) -> Result<()> {
        let todo = self.followups.take_pending();
        self.run_in_order(todo, now, effects, false)
            .map_err(|(e, rest)| {
                self.followups.defer(rest, now);
                e
            })
    }

    /// At `tick`: the follow-ups deferred by a store failure, in order. One whose
    /// conversation is gone (a batch that did not land) is dropped; on another failure it
    /// and the rest stay deferred.
    pub(crate) fn run_deferred(
        &mut self,
        now: DateTime<Utc>,
        effects: &mut Vec<Effect>,
    ) -> Result<()> {
        let (todo, due) = self.followups.take_deferred();
        self.run_in_order(todo, now, effects, true)
            .map_err(|(e, rest)| {
                self.followups.keep_deferred(rest, due);
                e
            })
    }

    /// Runs follow-ups in order (skipping, with `drop_missing`, one whose conversation is
    /// gone); on a failure, the error and the follow-ups not done, the failed one first.
    fn run_in_order(
        &mut self,
        todo: Vec<FollowUp>,
        now: DateTime<Utc>,
        effects: &mut Vec<Effect>,
        drop_missing: bool,
    ) -> std::result::Result<(), (Error, Vec<FollowUp>)> {
        let mut todo = todo.into_iter();
        while let Some(f) = todo.next() {
            match self.run_followup(&f, now, effects) {
                Ok(()) => {}
                Err(Error::NotFound { .. }) if drop_missing => {}
                Err(e) => return Err((e, std::iter::once(f).chain(todo).collect())),
            }
        }
        Ok(())
    }

    fn run_followup(
        &mut self,
        f: &FollowUp,
        now: DateTime<Utc>,
        effects: &mut Vec<Effect>,
    ) -> Result<()> {
        match f {
            FollowUp::Bot {
                tenant,
                conversation,
                text,
                then_pending,
            } => {
                // The answer and, when the bot waits on the customer, the pending status:
                // one operation.
                let _stage = self.stage(crate::probe::Stage::Triage);
                let mut reply = ReplyOptions::bot(self.config.triage.bot, text.clone());
                if *then_pending {
                    reply = reply.submit_as(Status::Pending);
                }
                effects.extend(self.reply_with((*tenant, *conversation), reply, now)?);
            }
            FollowUp::Route {
                tenant,
                conversation,
                skills,
            } => {
                let _stage = self.stage(crate::probe::Stage::Routing);
                effects.extend(self.route_automatically(*tenant, *conversation, skills, now)?);
            }
        }
        Ok(())
    }

    /// What triage decided for a conversation (`None` when triage is off or has not run).
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] for an unknown conversation.
    pub fn triage_of(
        &self,
        conversation: impl Into<ConversationRef>,
    ) -> Result<Option<TriageOutcome>> {
        let c = self.load_conversation(conversation.into())?;
        self.store
            .record(c.tenant, TRIAGE_KIND, &c.id.to_string())?
            .map(|r| from_json(&r))
            .transpose()
    }

    /// Hands a conversation from the bot to a human now (an agent's or host's decision),
    /// with the whole history; routes it when routing is on.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] for an unknown conversation.
    pub fn hand_over(
        &mut self,
        conversation: impl Into<ConversationRef>,
        reason: impl Into<String>,
        now: DateTime<Utc>,
    ) -> Result<Vec<Effect>> {
        self.hand_over_with(conversation, reason, BTreeMap::new(), now)
    }

    /// [`Desk::hand_over`] with what the bot collected (order number, e-mail, ...), added
    /// to the conversation's triage outcome and returned in [`Effect::HandedOver`]. A host
    /// that runs its own bot instead of the crate's triage hands over the same way: the
    /// conversation gets an outcome with no intent, needing a human (read it with
    /// [`Desk::triage_of`]).
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] for an unknown conversation; [`Error::Invalid`] (field
    /// `"collected"`) for more than 50 answers, an empty or over-long name (100
    /// characters) or an over-long value (1,000 characters).
    pub fn hand_over_with(
        &mut self,
        conversation: impl Into<ConversationRef>,
        reason: impl Into<String>,
        collected: BTreeMap<String, String>,
        now: DateTime<Utc>,
    ) -> Result<Vec<Effect>> {
        check_collected(&collected)?;
        let r: super::ConversationRef = conversation.into();
        let _span =
            super::trace::op_span!("desk.hand_over", tenant = r.tenant, conversation = r.id);
        self.enter(r.tenant)?;
        let reason = reason.into();
        let mut effects = self.retrying(|desk| {
            let conv = desk.load_conversation(r)?;
            let key = conv.id.to_string();
            let rec = desk.store.record(conv.tenant, TRIAGE_KIND, &key)?;
            let mut outcome = match &rec {
                Some(r) => from_json(r)?,
                None => TriageOutcome::from_host(conv.priority, now),
            };
            outcome.collected.extend(collected.clone());
            outcome.hand_over(reason.clone(), now);
            let history = desk.store.message_ids_of(conv.tenant, conv.id)?;
            let mut changes = ChangeSet::new(conv.tenant);
            changes.push(Op::PutRecord(match rec {
                Some(rec) => Record {
                    value: to_json(&outcome)?,
                    version: rec.version + 1,
                    ..rec
                },
                None => Record::encode(TRIAGE_KIND, key, &outcome)?,
            }));
            if desk.config.routing.is_some() {
                let mark = desk.next_uuid(now);
                changes.push(pending_route(conv.id, &outcome.skills, now, mark)?);
            }
            desk.apply_changes(changes)?;
            desk.followups.push(FollowUp::route(
                conv.tenant,
                conv.id,
                outcome.skills.clone(),
            ));
            Ok(vec![Effect::HandedOver {
                tenant: conv.tenant,
                conversation: conv.id,
                reason: reason.clone(),
                collected: outcome.collected,
                history,
            }])
        })?;
        self.run_followups(now, &mut effects)?;
        Ok(effects)
    }

    /// The irritant report over the tenant's conversations opened in `[from, to)`.
    ///
    /// # Errors
    ///
    /// Store failures.
    pub fn irritant_report(
        &self,
        tenant: TenantId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<IrritantReport> {
        let mut outcomes = Vec::new();
        self.each_conversation_in(tenant, from, to, |conv| {
            if let Some(r) = self
                .store
                .record(tenant, TRIAGE_KIND, &conv.id.to_string())?
            {
                outcomes.push(from_json::<TriageOutcome>(&r)?);
            }
            Ok(())
        })?;
        Ok(irritant_report(
            outcomes.iter(),
            &self.config_of(tenant)?.triage.catalogue,
        ))
    }
}

/// Bounds on what a bot hands over.
fn check_collected(collected: &BTreeMap<String, String>) -> Result<()> {
    let bad = |why: String| Err(Error::invalid("collected", why));
    if collected.len() > 50 {
        return bad(format!("{} answers, at most 50", collected.len()));
    }
    for (k, v) in collected {
        if k.trim().is_empty() || k.chars().count() > 100 {
            return bad(format!("answer name {k:?} is empty or over 100 characters"));
        }
        if v.chars().count() > 1000 || v.contains('\0') {
            return bad(format!(
                "the answer to {k:?} is over 1,000 characters or has a NUL"
            ));
        }
    }
    Ok(())
}
