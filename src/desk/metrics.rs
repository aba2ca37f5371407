//! Metrics on the Desk: conversation facts kept current per event, CSAT and NPS answers,
//! and reports computed live or rebuilt from the store.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};

use crate::desk::identity::{from_json, to_json};
use crate::desk::{ConversationRef, Desk};
use crate::effect::Effect;
use crate::error::{Error, Result};
use crate::id::{ConversationId, CustomerId, TenantId};
use crate::message::Message;
use crate::metrics::{
    check_comment, report_on, ConversationFacts, Csat, Feedback, FeedbackAnswer, Filter, Nps,
    Report,
};
use crate::store::{ChangeSet, Op, Record, Store};

const CSAT_KIND: &str = "csat";
const NPS_KIND: &str = "nps";

/// A stored CSAT answer: the answer (as `Csat` serialises, so older records that hold
/// only that still read), the customer's comment and when.
#[derive(serde::Serialize, serde::Deserialize)]
struct StoredCsat {
    #[serde(flatten)]
    answer: Csat,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    comment: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    at: Option<DateTime<Utc>>,
}

/// Conversation facts per tenant, kept current as events happen. A cache of what the store
/// holds: `Desk::load_metrics` or `Desk::report_from_store` rebuild it.
#[derive(Debug, Default)]
pub(crate) struct MetricsCache {
    facts: HashMap<TenantId, HashMap<ConversationId, ConversationFacts>>,
    /// Conversations whose cached facts were dropped because a store read failed after
    /// their operation committed: reports rebuild them from the store until refreshed.
    stale: HashMap<TenantId, HashSet<ConversationId>>,
    /// Tenants whose cache cannot be trusted at all (a committed operation could not tell
    /// which conversations it changed): reports come from the store until reloaded.
    untrusted: HashSet<TenantId>,
}

impl MetricsCache {
    fn fresh(&mut self, tenant: TenantId, c: ConversationId) {
        if let Some(s) = self.stale.get_mut(&tenant) {
            s.remove(&c);
        }
    }

    fn drop_facts(&mut self, tenant: TenantId, c: ConversationId) {
        if let Some(m) = self.facts.get_mut(&tenant) {
            m.remove(&c);
        }
        self.stale.entry(tenant).or_default().insert(c);
    }
}

impl<S: Store> Desk<S> {
    /// After a committed operation whose follow-up reads failed: the tenant's reports are
    /// computed from the store until [`Desk::load_metrics`] reloads the cache.
    pub(crate) fn metrics_untrusted(&mut self, tenant: TenantId) {
        self.metrics.untrusted.insert(tenant);
    }

    /// After a batch that did not land: the tenant's cached facts may count its work, so
    /// they go, and reports come from the store until [`Desk::load_metrics`].
    pub(crate) fn metrics_forget(&mut self, tenant: TenantId) {
        self.metrics.facts.remove(&tenant);
        self.metrics.stale.remove(&tenant);
        self.metrics.untrusted.insert(tenant);
    }

    fn facts_from_store(
        &self,
        tenant: TenantId,
        id: ConversationId,
    ) -> Result<Option<ConversationFacts>> {
        let Some(conv) = self.store.conversation(tenant, id)? else {
            return Ok(None);
        };
        let messages = self.store.messages_of(tenant, id)?;
        let csat = self.csat_of(tenant, id)?;
        Ok(Some(ConversationFacts::from_messages(
            &conv, &messages, csat,
        )))
    }

    fn csat_of(&self, tenant: TenantId, id: ConversationId) -> Result<Option<Csat>> {
        match self.store.record(tenant, CSAT_KIND, &id.to_string())? {
            Some(r) => Ok(Some(from_json::<StoredCsat>(&r)?.answer)),
            None => Ok(None),
        }
    }

    /// Updates the facts after an operation committed at `at`: every status change among
    /// the effects (each happened at `at`), then the message (if any). Constant work
    /// unless the conversation was not in the cache yet; for a conversation the operation
    /// opened, `opened` are its facts from what the operation stored, so they are not read
    /// back. Never fails: the operation is already committed, so on a store error the
    /// affected facts are dropped from the cache and rebuilt when next needed.
    pub(crate) fn metrics_after(
        &mut self,
        tenant: TenantId,
        conversation: ConversationId,
        at: DateTime<Utc>,
        message: Option<&Message>,
        effects: &[Effect],
        opened: Option<ConversationFacts>,
    ) {
        let _stage = self.stage(crate::probe::Stage::Metrics);
        self.batch_touched(tenant, conversation);
        for e in effects {
            if let Effect::StatusChanged {
                conversation: c, ..
            } = e
            {
                self.batch_touched(tenant, *c);
            }
        }
        if self
            .metrics_update(tenant, conversation, at, message, effects, opened)
            .is_err()
        {
            self.metrics.drop_facts(tenant, conversation);
            for e in effects {
                if let Effect::StatusChanged {
                    conversation: c, ..
                } = e
                {
                    self.metrics.drop_facts(tenant, *c);
                }
            }
        } else {
            self.metrics.fresh(tenant, conversation);
        }
    }

    /// Gives the cached facts of a conversation its current labels (after an ingest that
    /// may have settled its language or named its intent).
    pub(crate) fn metrics_relabel(
        &mut self,
        tenant: TenantId,
        conversation: ConversationId,
        labels: crate::metrics::Labels,
    ) {
        let _stage = self.stage(crate::probe::Stage::Metrics);
        if let Some(f) = self
            .metrics
            .facts
            .get_mut(&tenant)
            .and_then(|m| m.get_mut(&conversation))
        {
            f.relabel(labels);
        }
    }

    fn metrics_update(
        &mut self,
        tenant: TenantId,
        conversation: ConversationId,
        at: DateTime<Utc>,
        message: Option<&Message>,
        effects: &[Effect],
        opened: Option<ConversationFacts>,
    ) -> Result<()> {
        let known = self
            .metrics
            .facts
            .get(&tenant)
            .is_some_and(|m| m.contains_key(&conversation));
        let statuses = effects.iter().filter_map(|e| match e {
            Effect::StatusChanged {
                conversation: c,
                from,
                to,
                ..
            } => Some((*c, *from, *to)),
            _ => None,
        });
        for (c, from, to) in statuses {
            if c == conversation && !known {
                continue; // already part of the rebuilt facts
            }
            match self
                .metrics
                .facts
                .get_mut(&tenant)
                .and_then(|m| m.get_mut(&c))
            {
                Some(f) => f.on_status(from, to, at),
                None => {
                    if let Some(f) = self.facts_from_store(tenant, c)? {
                        self.metrics.facts.entry(tenant).or_default().insert(c, f);
                    }
                }
            }
        }
        if !known {
            // Rebuilt from the store, which already holds this operation's writes (or
            // from those writes themselves, for a conversation the operation opened).
            let facts = match opened {
                Some(f) => Some(f),
                None => self.facts_from_store(tenant, conversation)?,
            };
            if let Some(f) = facts {
                self.metrics
                    .facts
                    .entry(tenant)
                    .or_default()
                    .insert(conversation, f);
            }
        } else if let Some(f) = self
            .metrics
            .facts
            .get_mut(&tenant)
            .and_then(|m| m.get_mut(&conversation))
        {
            if let Some(m) = message {
                f.on_message(m);
            }
        }
        Ok(())
    }

    /// Rebuilds the cached facts of some conversations from the store (after a merge).
    pub(crate) fn metrics_refresh(
        &mut self,
        tenant: TenantId,
        conversations: &[ConversationId],
    ) -> Result<()> {
        let _stage = self.stage(crate::probe::Stage::Metrics);
        for &c in conversations {
            self.batch_touched(tenant, c);
            self.metrics.fresh(tenant, c);
            match self.facts_from_store(tenant, c)? {
                Some(f) => {
                    self.metrics.facts.entry(tenant).or_default().insert(c, f);
                }
                None => {
                    if let Some(m) = self.metrics.facts.get_mut(&tenant) {
                        m.remove(&c);
                    }
                }
            }
        }
        Ok(())
    }

    /// Records the customer's satisfaction answer for a solved (or closed) conversation,
    /// within [`crate::DeskConfig::csat_window`] of solving. A second answer replaces the
    /// first.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`]; [`Error::Invalid`] for a score out of range, a conversation
    /// that is not solved, or an answer after the window.
    pub fn record_csat(
        &mut self,
        conversation: impl Into<ConversationRef>,
        answer: Csat,
        now: DateTime<Utc>,
    ) -> Result<()> {
        self.record_csat_with(conversation, answer, None, now)
    }

    /// [`Desk::record_csat`] with the customer's comment ("the agent was kind, the refund
    /// slow"), kept with the answer and listed by [`Desk::feedback`]; erasing the customer
    /// removes the comment and keeps the score.
    ///
    /// # Errors
    ///
    /// As [`Desk::record_csat`]; [`Error::Invalid`] (field `"comment"`) for a comment over
    /// [`crate::metrics::MAX_COMMENT_CHARS`] characters or with a NUL.
    pub fn record_csat_with(
        &mut self,
        conversation: impl Into<ConversationRef>,
        answer: Csat,
        comment: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let answer = answer.validate()?;
        let comment = check_comment(comment)?;
        let r: super::ConversationRef = conversation.into();
        let _span =
            super::trace::op_span!("desk.record_csat", tenant = r.tenant, conversation = r.id);
        let window = self.config.csat_window;
        let (tenant, id) = self.retrying(|desk| {
            let conv = desk.load_conversation(r)?;
            let Some(solved) = conv.solved_at.filter(|_| !conv.status.is_active()) else {
                return Err(Error::invalid(
                    "csat",
                    format!("conversation {} is {}, not solved", conv.id, conv.status),
                ));
            };
            if now - solved > window {
                return Err(Error::invalid(
                    "csat",
                    format!(
                        "answer {} after solving; the window is {}",
                        now - solved,
                        window
                    ),
                ));
            }
            let key = conv.id.to_string();
            let mut changes = ChangeSet::new(conv.tenant);
            let value = to_json(&StoredCsat {
                answer,
                comment: comment.clone(),
                at: Some(now),
            })?;
            changes.push(Op::PutRecord(
                match desk.store.record(conv.tenant, CSAT_KIND, &key)? {
                    Some(old) => Record {
                        value,
                        version: old.version + 1,
                        ..old
                    },
                    None => {
                        let mut rec = Record::raw(CSAT_KIND, key, value);
                        rec.secondary = Some(conv.customer.to_string());
                        rec
                    }
                },
            ));
            desk.apply_changes(changes)?;
            Ok((conv.tenant, conv.id))
        })?;
        self.batch_touched(tenant, id);
        if let Some(f) = self
            .metrics
            .facts
            .get_mut(&tenant)
            .and_then(|m| m.get_mut(&id))
        {
            f.csat = Some(answer);
        } else {
            self.metrics_refresh(tenant, &[id])?;
        }
        Ok(())
    }

    /// Records a Net Promoter Score answer (0 to 10) of a customer.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] for a score above 10, [`Error::NotFound`] for an unknown customer.
    pub fn record_nps(
        &mut self,
        tenant: TenantId,
        customer: CustomerId,
        score: u8,
        now: DateTime<Utc>,
    ) -> Result<()> {
        self.record_nps_with(tenant, customer, score, None, now)
    }

    /// [`Desk::record_nps`] with the customer's comment, listed by [`Desk::feedback`] and
    /// removed by erasing the customer (the score stays).
    ///
    /// # Errors
    ///
    /// As [`Desk::record_nps`]; [`Error::Invalid`] (field `"comment"`) as for
    /// [`Desk::record_csat_with`].
    pub fn record_nps_with(
        &mut self,
        tenant: TenantId,
        customer: CustomerId,
        score: u8,
        comment: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let _span = super::trace::op_span!("desk.record_nps", tenant = tenant, customer = customer);
        Nps::of([score])?;
        let comment = check_comment(comment)?;
        self.retrying(|desk| {
            let c = desk.live_customer(tenant, customer)?;
            let key = desk.next_uuid(now).to_string();
            let mut value = serde_json::json!({ "score": score, "at": now });
            if let Some(c) = &comment {
                value["comment"] = serde_json::Value::String(c.clone());
            }
            let mut rec = Record::new(NPS_KIND, key, value);
            rec.secondary = Some(c.id.to_string());
            let mut changes = ChangeSet::new(tenant);
            changes.push(Op::PutRecord(rec));
            desk.apply_changes(changes)
        })
    }

    /// Every CSAT and NPS answer given in `[from, to)`, oldest first, with its comment:
    /// what customers said, for the supervisor to read. (CSAT answers recorded before
    /// answers kept their time are not listed.)
    ///
    /// # Errors
    ///
    /// Store failures only.
    pub fn feedback(
        &self,
        tenant: TenantId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Feedback>> {
        let _span = super::trace::op_span!("desk.feedback", tenant = tenant);
        let mut out = Vec::new();
        let customer_of = |r: &Record| r.secondary.as_deref().and_then(|s| s.parse().ok());
        for r in self.store.records(tenant, CSAT_KIND)? {
            let stored: StoredCsat = from_json(&r)?;
            if let (Some(at), Some(customer)) = (stored.at, customer_of(&r)) {
                out.push(Feedback {
                    answer: FeedbackAnswer::Csat(stored.answer),
                    customer,
                    conversation: r.key.parse().ok(),
                    comment: stored.comment,
                    at,
                });
            }
        }
        for r in self.store.records(tenant, NPS_KIND)? {
            let value = r.value();
            let at = value
                .get("at")
                .and_then(|v| serde_json::from_value(v.clone()).ok());
            let score = value.get("score").and_then(|v| v.as_u64());
            let score = score.and_then(|v| u8::try_from(v).ok());
            if let (Some(at), Some(score), Some(customer)) = (at, score, customer_of(&r)) {
                out.push(Feedback {
                    answer: FeedbackAnswer::Nps(score),
                    customer,
                    conversation: None,
                    comment: value
                        .get("comment")
                        .and_then(|c| c.as_str())
                        .map(str::to_string),
                    at,
                });
            }
        }
        out.retain(|f| f.at >= from && f.at < to);
        out.sort_by_key(|f| f.at);
        Ok(out)
    }

    /// NPS of the answers given in `[from, to)`.
    ///
    /// # Errors
    ///
    /// Store failures only.
    pub fn nps(&self, tenant: TenantId, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Nps> {
        let mut scores = Vec::new();
        for r in self.store.records(tenant, NPS_KIND)? {
            let value = r.value();
            let at: Option<DateTime<Utc>> = value
                .get("at")
                .and_then(|v| serde_json::from_value(v.clone()).ok());
            let score = value
                .get("score")
                .and_then(|v| v.as_u64())
                .and_then(|v| u8::try_from(v).ok());
            if let (Some(at), Some(score)) = (at, score) {
                if at >= from && at < to {
                    scores.push(score);
                }
            }
        }
        Nps::of(scores)
    }

    /// The metrics of the conversations this desk has seen (kept current per event; load
    /// older ones with [`Desk::load_metrics`]).
    ///
    /// # Errors
    ///
    /// None today; the `Result` leaves room for stores that page facts in.
    pub fn report(&self, tenant: TenantId, filter: &Filter) -> Result<Report> {
        if self.metrics.untrusted.contains(&tenant) {
            return self.report_from_store(tenant, filter);
        }
        let empty = HashMap::new();
        let facts = self.metrics.facts.get(&tenant).unwrap_or(&empty);
        let no_stale = HashSet::new();
        let stale = self.metrics.stale.get(&tenant).unwrap_or(&no_stale);
        let calendar = self.report_calendar(tenant, filter)?;
        let calendar = calendar.as_deref();
        if stale.is_empty() {
            return Ok(report_on(
                facts.values(),
                filter,
                self.config.fcr_window,
                calendar,
            ));
        }
        let mut rebuilt = Vec::with_capacity(stale.len());
        for &c in stale {
            rebuilt.extend(self.facts_from_store(tenant, c)?);
        }
        let current = facts
            .iter()
            .filter(|(c, _)| !stale.contains(c))
            .map(|(_, f)| f);
        Ok(report_on(
            current.chain(rebuilt.iter()),
            filter,
            self.config.fcr_window,
            calendar,
        ))
    }

    /// The business calendar a report's filter names, from the tenant's SLA policies.
    fn report_calendar(
        &self,
        tenant: TenantId,
        filter: &Filter,
    ) -> Result<Option<Box<crate::sla::BusinessCalendar>>> {
        let Some(name) = filter.business_calendar.as_deref() else {
            return Ok(None);
        };
        let config = self.config_of(tenant)?;
        let calendar = config.sla.calendar_named(name).ok_or_else(|| {
            Error::invalid(
                "business_calendar",
                format!("the tenant's SLA policies have no calendar named {name:?}"),
            )
        })?;
        Ok(Some(Box::new(calendar.clone())))
    }

    /// Loads the facts of the conversations opened in `[from, to)` from the store into the
    /// live metrics.
    ///
    /// # Errors
    ///
    /// Store failures only.
    pub fn load_metrics(
        &mut self,
        tenant: TenantId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<usize> {
        let mut ids: Vec<ConversationId> = Vec::new();
        self.each_conversation_in(tenant, from, to, |c| {
            ids.push(c.id);
            Ok(())
        })?;
        self.metrics_refresh(tenant, &ids)?;
        self.metrics.untrusted.remove(&tenant);
        Ok(ids.len())
    }

    /// The same report, recomputed from the store alone (conversations opened in the
    /// filter's period, plus the FCR window after it for repeat contacts).
    ///
    /// # Errors
    ///
    /// Store failures only.
    pub fn report_from_store(&self, tenant: TenantId, filter: &Filter) -> Result<Report> {
        let from = filter.from.unwrap_or(DateTime::<Utc>::MIN_UTC);
        let to = filter.to.map_or(DateTime::<Utc>::MAX_UTC, |t| {
            t.checked_add_signed(self.config.fcr_window).unwrap_or(t)
        });
        let mut facts = Vec::new();
        self.facts_of_period(tenant, from, to, &mut facts)?;
        // A conversation solved long after the period needs the repeat contacts of its
        // own window, however late that is.
        let window = self.config.fcr_window;
        let latest = facts
            .iter()
            .filter(|f| filter.matches(f))
            .filter_map(|f| f.solved_at)
            .max();
        if let Some(end) = latest.and_then(|s| s.checked_add_signed(window)) {
            if end > to {
                self.facts_of_period(tenant, to, end, &mut facts)?;
            }
        }
        let calendar = self.report_calendar(tenant, filter)?;
        Ok(report_on(facts.iter(), filter, window, calendar.as_deref()))
    }

    /// The facts of the conversations opened in `[from, to)`, rebuilt from the store.
    fn facts_of_period(
        &self,
        tenant: TenantId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        facts: &mut Vec<ConversationFacts>,
    ) -> Result<()> {
        self.each_conversation_in(tenant, from, to, |conv| {
            let messages = self.store.messages_of(tenant, conv.id)?;
            let csat = self.csat_of(tenant, conv.id)?;
            facts.push(ConversationFacts::from_messages(&conv, &messages, csat));
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_csat_record_from_before_comments_still_reads_and_a_new_one_round_trips() {
        let old: StoredCsat = serde_json::from_str(r#"{"scale":"five_point","score":4}"#).unwrap();
        assert_eq!(
            (old.answer, old.comment, old.at),
            (Csat::FivePoint(4), None, None)
        );
        let at = DateTime::from_timestamp(1_772_442_000, 0).unwrap();
        let new = StoredCsat {
            answer: Csat::GoodBad(false),
            comment: Some("slow".into()),
            at: Some(at),
        };
        let text = serde_json::to_string(&new).unwrap();
        let back: StoredCsat = serde_json::from_str(&text).unwrap();
        assert_eq!(
            (back.answer, back.comment.as_deref(), back.at),
            (Csat::GoodBad(false), Some("slow"), Some(at))
        );
        // Read as the bare answer too (what the metrics facts decode).
        let bare: Csat = serde_json::from_str(r#"{"scale":"good_bad","score":false}"#).unwrap();
        assert_eq!(bare, Csat::GoodBad(false));
    }
}
