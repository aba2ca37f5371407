//! Delivery after the send: the host's transport failing (retries on the
//! [`RetryPolicy`](crate::delivery::RetryPolicy) schedule), a provider's receipts, and a
//! customer's opt-out of a channel.
//!
//! A retry is a record (`send-retry`, keyed by the message id) whose due time is the
//! next try: [`Desk::next_wakeup`] includes it and [`Desk::tick`] sends again. An opt-out
//! is a record (`consent`, keyed by the identifier) that [`Desk::reply`] checks.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::channel::Channel;
use crate::channels::{ConsentChange, Receipt};
use crate::delivery::after_receipt;
use crate::desk::identity::from_json;
use crate::desk::ingest::thread_key;
use crate::desk::Desk;
use crate::effect::Effect;
use crate::error::{Error, Result};
use crate::id::{MessageId, TenantId};
use crate::identity::Identifier;
use crate::message::{Delivery, Direction, Message, Outbound};
use crate::store::{ChangeSet, Op, Record, Store};

/// Records of sends to try again, due at the next try.
pub(crate) const RETRY_KIND: &str = "send-retry";
/// Records of identifiers whose owner opted out of messages.
pub(crate) const CONSENT_KIND: &str = "consent";
/// Retries sent again per tick.
const RETRY_BATCH: usize = 256;

/// A send to try again: what to send, and how often it failed.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Retry {
    failures: u32,
    outbound: Outbound,
}

/// A customer's opt-out of messages on one identifier.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct OptOut {
    keyword: String,
    at: DateTime<Utc>,
}

impl<S: Store> Desk<S> {
    /// The host's transport could not send an outbound message: it is sent again on the
    /// [`DeskConfig::send_retries`](crate::DeskConfig::send_retries) schedule (the message
    /// waits as [`Delivery::Retrying`], [`Desk::next_wakeup`] names the next try and
    /// [`Desk::tick`] returns the [`Effect::Send`]); after the last try it is failed and
    /// the returned [`Effect::DeliveryFailed`] tells the agent.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] for an unknown message, [`Error::Invalid`] for a message that
    /// is not outbound or not pending (already sent, waiting for its retry, or failed).
    pub fn mark_failed(
        &mut self,
        tenant: TenantId,
        message: MessageId,
        reason: impl Into<String>,
        now: DateTime<Utc>,
    ) -> Result<Vec<Effect>> {
        let _span = super::trace::op_span!("desk.mark_failed", tenant = tenant, message = message);
        let reason = reason.into();
        self.enter(tenant)?;
        self.retrying(|desk| {
            let m = desk.outbound_message(tenant, message)?;
            if !matches!(m.delivery, Some(Delivery::Pending)) {
                return Err(Error::invalid(
                    "message",
                    format!(
                        "{message} is not waiting to be sent (its delivery is {:?}); only a \
                         pending send can fail",
                        m.delivery
                    ),
                ));
            }
            let key = message.to_string();
            let stored = desk.store.record(tenant, RETRY_KIND, &key)?;
            let failures = match &stored {
                Some(r) => from_json::<Retry>(r)?.failures + 1,
                None => 1,
            };
            let next = desk.config.send_retries.next_try(failures, now);
            desk.commit_failure(m, stored, failures, next, &reason, now)
        })
    }

    /// Writes a failed try: the retry and the waiting state, or the failed message.
    fn commit_failure(
        &mut self,
        mut m: Message,
        stored: Option<Record>,
        failures: u32,
        next: Option<DateTime<Utc>>,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<Effect>> {
        let mut changes = ChangeSet::new(m.tenant);
        let mut effects = Vec::new();
        match next {
            Some(next_at) => {
                let (outbound, customer) = self.resend_of(&m)?;
                let mut record =
                    Record::encode(RETRY_KIND, m.id.to_string(), &Retry { failures, outbound })?;
                record.due = Some(next_at);
                // Keyed by its customer too: the send goes with an erased customer.
                record.secondary = Some(customer.to_string());
                record.version = stored.as_ref().map_or(1, |r| r.version + 1);
                changes.push(Op::PutRecord(record));
                m.delivery = Some(Delivery::Retrying {
                    failures,
                    reason: reason.to_string(),
                    next_at,
                });
            }
            None => {
                if let Some(r) = stored {
                    changes.push(Op::DeleteRecord {
                        kind: r.kind,
                        key: r.key,
                        version: r.version,
                    });
                }
                effects.push(failed_effect(&m, reason));
                m.delivery = Some(Delivery::Failed {
                    reason: reason.to_string(),
                    at: now,
                });
            }
        }
        changes.push(Op::UpdateMessage(m));
        self.apply_changes(changes)?;
        Ok(effects)
    }

    /// What to send again for `m`: the pending send's effect, rebuilt from the message;
    /// and the conversation's customer.
    fn resend_of(&self, m: &Message) -> Result<(Outbound, crate::id::CustomerId)> {
        let conv = self
            .store
            .conversation(m.tenant, m.conversation)?
            .ok_or_else(|| Error::not_found("conversation", m.conversation))?;
        let to = m
            .counterpart
            .clone()
            .ok_or_else(|| Error::invalid("message", format!("{} has no recipient", m.id)))?;
        let parts = crate::text::render(
            &m.body,
            &m.channel,
            &self.config.channels.profile(&m.channel),
        )?;
        let latest = self
            .store
            .latest_inbound(m.tenant, m.conversation, &m.channel)?;
        let customer = conv.customer;
        let outbound = Outbound {
            tenant: m.tenant,
            conversation: m.conversation,
            message: m.id,
            channel: m.channel.clone(),
            to,
            body: m.body.clone(),
            parts,
            attachments: m.attachments.clone(),
            in_reply_to: latest.as_ref().and_then(|l| l.thread_key.clone()),
            subject: conv.subject,
            from: latest.as_ref().and_then(|l| l.inbox.clone()),
            customer_wrote_at: latest.map(|l| l.sent_at),
        };
        Ok((outbound, customer))
    }

    /// Sends again what is due by `now`: each waiting message becomes pending, its
    /// [`Effect::Send`] is returned. A send whose message is gone, erased or no longer
    /// waiting is dropped; one to an identifier that opted out since is failed.
    pub(crate) fn retry_tick(&mut self, now: DateTime<Utc>) -> Result<Vec<Effect>> {
        let mut effects = Vec::new();
        for (tenant, mut record) in self.store.due_records(RETRY_KIND, now, RETRY_BATCH)? {
            let retry: Retry = from_json(&record)?;
            let mut changes = ChangeSet::new(tenant);
            let waiting = self
                .store
                .message(tenant, retry.outbound.message)?
                .filter(|m| m.counterpart.is_some())
                .filter(|m| matches!(m.delivery, Some(Delivery::Retrying { .. })));
            let Some(mut m) = waiting else {
                changes.push(delete_op(record));
                self.apply_changes(changes)?;
                continue;
            };
            if let Err(refused) = self.check_consent(tenant, &retry.outbound.to) {
                let reason = refused.to_string();
                effects.push(failed_effect(&m, &reason));
                m.delivery = Some(Delivery::Failed { reason, at: now });
                changes.push(delete_op(record));
            } else {
                m.delivery = Some(Delivery::Pending);
                effects.push(Effect::Send(retry.outbound));
                record.due = None;
                record.version += 1;
                changes.push(Op::PutRecord(record));
            }
            changes.push(Op::UpdateMessage(m));
            self.apply_changes(changes)?;
        }
        Ok(effects)
    }

    /// The next try of a send, across tenants.
    pub(crate) fn retry_next_due(&self) -> Result<Option<DateTime<Utc>>> {
        self.store.next_due(RETRY_KIND)
    }

    /// A provider's report on an outbound message (a channel adapter's
    /// [`crate::channels::Event::Receipt`]): sent, delivered and read move the message's
    /// [`Delivery`] forward (never back: late and repeated receipts change nothing); a
    /// failure before delivery fails it and returns [`Effect::DeliveryFailed`]. The
    /// message is the one the receipt names, else the one sent on `channel` under its
    /// provider id ([`Desk::mark_sent`]).
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] when no outbound message of the tenant matches the receipt.
    pub fn record_receipt(
        &mut self,
        tenant: TenantId,
        channel: &Channel,
        receipt: &Receipt,
        now: DateTime<Utc>,
    ) -> Result<Vec<Effect>> {
        let _span = super::trace::op_span!("desk.record_receipt", tenant = tenant);
        self.retrying(|desk| {
            let mut m = desk.receipt_message(tenant, channel, receipt)?;
            let Some(next) = after_receipt(m.delivery.as_ref(), receipt, now) else {
                return Ok(Vec::new());
            };
            let mut effects = Vec::new();
            let mut changes = ChangeSet::new(tenant);
            if let Delivery::Failed { reason, .. } = &next {
                effects.push(failed_effect(&m, reason));
            }
            if let Some(r) = desk.store.record(tenant, RETRY_KIND, &m.id.to_string())? {
                changes.push(Op::DeleteRecord {
                    kind: r.kind,
                    key: r.key,
                    version: r.version,
                });
            }
            m.delivery = Some(next);
            changes.push(Op::UpdateMessage(m));
            desk.apply_changes(changes)?;
            Ok(effects)
        })
    }

    /// The outbound message a receipt is about.
    fn receipt_message(
        &self,
        tenant: TenantId,
        channel: &Channel,
        receipt: &Receipt,
    ) -> Result<Message> {
        if let Some(id) = receipt.message {
            return self.outbound_message(tenant, id);
        }
        let p = receipt.provider_id.trim();
        let missing = || Error::not_found("message with provider id", p);
        if p.is_empty() {
            return Err(missing());
        }
        let conversation = self
            .store
            .thread(tenant, &thread_key(channel, p))?
            .ok_or_else(missing)?;
        self.store
            .messages_of(tenant, conversation)?
            .into_iter()
            .rev()
            .find(|m| {
                m.direction == Direction::Outbound
                    && (m.thread_key.as_deref() == Some(p) || sent_as(m, p))
            })
            .ok_or_else(missing)
    }

    /// The outbound message `id` of `tenant`.
    pub(crate) fn outbound_message(&self, tenant: TenantId, id: MessageId) -> Result<Message> {
        let m = self
            .store
            .message(tenant, id)?
            .ok_or_else(|| Error::not_found("message", id))?;
        if m.direction != Direction::Outbound {
            return Err(Error::invalid(
                "message",
                format!("{id} is not an outbound message"),
            ));
        }
        Ok(m)
    }

    /// Records a customer's opt-out of, or back into, messages on an identifier (a
    /// channel adapter's [`crate::channels::Event::Consent`], SMS STOP and START): while
    /// opted out, [`Desk::reply`] to that identifier is refused.
    ///
    /// # Errors
    ///
    /// Store failures only.
    pub fn record_consent(
        &mut self,
        tenant: TenantId,
        change: &ConsentChange,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let _span = super::trace::op_span!("desk.record_consent", tenant = tenant);
        let key = change.identifier.to_string();
        self.retrying(|desk| {
            let stored = desk.store.record(tenant, CONSENT_KIND, &key)?;
            let mut changes = ChangeSet::new(tenant);
            match (change.opted_out, stored) {
                (true, stored) => {
                    let opt_out = OptOut {
                        keyword: change.keyword.clone(),
                        at: now,
                    };
                    let mut record = Record::encode(CONSENT_KIND, key.clone(), &opt_out)?;
                    record.version = stored.map_or(1, |r| r.version + 1);
                    // Keyed by its owner too, so the opt-out goes with an erased customer.
                    record.secondary = desk
                        .store
                        .identifier(tenant, &change.identifier)?
                        .map(|r| r.customer.to_string());
                    changes.push(Op::PutRecord(record));
                }
                (false, Some(r)) => changes.push(Op::DeleteRecord {
                    kind: r.kind,
                    key: r.key,
                    version: r.version,
                }),
                (false, None) => return Ok(()),
            }
            desk.apply_changes(changes)
        })
    }

    /// Refuses a message to `to` when its owner opted out of messages on it.
    pub(crate) fn check_consent(&self, tenant: TenantId, to: &Identifier) -> Result<()> {
        let Some(r) = self.store.record(tenant, CONSENT_KIND, &to.to_string())? else {
            return Ok(());
        };
        let opt_out: OptOut = from_json(&r)?;
        Err(Error::invalid(
            "recipient",
            format!(
                "{to} opted out of messages (they sent {:?} at {}); nothing can be sent to \
                 it until they opt back in",
                opt_out.keyword, opt_out.at
            ),
        ))
    }
}

/// Whether `m` was sent under provider id `p`.
fn sent_as(m: &Message, p: &str) -> bool {
    matches!(
        &m.delivery,
        Some(
            Delivery::Sent { provider_id: Some(id), .. }
                | Delivery::Delivered { provider_id: Some(id), .. }
                | Delivery::Read { provider_id: Some(id), .. }
        ) if id == p
    )
}

/// The op that deletes `r`.
fn delete_op(r: Record) -> Op {
    Op::DeleteRecord {
        kind: r.kind,
        key: r.key,
        version: r.version,
    }
}

/// The effect that tells the agent `m` was not delivered.
fn failed_effect(m: &Message, reason: &str) -> Effect {
    Effect::DeliveryFailed {
        tenant: m.tenant,
        conversation: m.conversation,
        message: m.id,
        reason: reason.to_string(),
    }
}
