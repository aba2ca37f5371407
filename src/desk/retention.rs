//! Retention on the Desk: per-tenant policies and `purge_expired`.

use chrono::{DateTime, TimeDelta, Utc};

use crate::conversation::{Conversation, Status};
use crate::desk::identity::{from_json, to_json};
use crate::desk::knowledge::ACTIVITY_KIND;
use crate::desk::privacy::redacted;
use crate::desk::Desk;
use crate::error::{Error, Result};
use crate::id::{CustomerId, TenantId};
use crate::privacy::{expires_at, PurgeReport, RetentionPolicy, PURGED_TAG};
use crate::store::{ChangeSet, Op, Record, Store};

const RETENTION_KIND: &str = "retention";
const POLICY_KEY: &str = "policy";
/// How often a tenant's policy is applied again.
const EVERY: TimeDelta = TimeDelta::hours(24);

impl<S: Store> Desk<S> {
    /// Sets (or replaces) the tenant's retention policy; [`Desk::purge_expired`] applies it
    /// from `now` on.
    ///
    /// ```
    /// use chrono::TimeDelta;
    /// use throughline::{privacy::RetentionPolicy, Desk, DeskConfig, TenantId, store::MemoryStore};
    /// let now = chrono::DateTime::parse_from_rfc3339("2026-03-02T09:00:00Z")?.to_utc();
    /// let mut desk = Desk::new(MemoryStore::new(), DeskConfig::default());
    /// desk.set_retention(TenantId::new_v7(), RetentionPolicy::new(TimeDelta::days(365)), now)?;
    /// assert_eq!(desk.purge_expired(now)?.tenants, 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] for a negative period; store failures.
    pub fn set_retention(
        &mut self,
        tenant: TenantId,
        policy: RetentionPolicy,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let _span = super::trace::op_span!("desk.set_retention", tenant = tenant);
        if policy.after_close < TimeDelta::zero()
            || policy.channels.values().any(|d| *d < TimeDelta::zero())
        {
            return Err(Error::invalid("retention", "a period cannot be negative"));
        }
        let value = to_json(&policy)?;
        self.retrying(|desk| {
            let mut changes = ChangeSet::new(tenant);
            let record = match desk.store.record(tenant, RETENTION_KIND, POLICY_KEY)? {
                Some(old) => Record {
                    value: value.clone(),
                    due: Some(now),
                    version: old.version + 1,
                    ..old
                },
                None => {
                    let mut r = Record::raw(RETENTION_KIND, POLICY_KEY, value.clone());
                    r.due = Some(now);
                    r
                }
            };
            changes.push(Op::PutRecord(record));
            desk.apply_changes(changes)
        })
    }

    /// The tenant's retention policy, if one is set.
    ///
    /// # Errors
    ///
    /// Store failures.
    pub fn retention(&self, tenant: TenantId) -> Result<Option<RetentionPolicy>> {
        self.store
            .record(tenant, RETENTION_KIND, POLICY_KEY)?
            .map(|r| from_json(&r))
            .transpose()
    }

    /// Applies every tenant's retention policy that is due: the content of conversations
    /// closed longer ago than the policy's period (per opening channel) is redacted like
    /// an erasure (bodies, attachments, counterparts; provider ids kept as keyed hashes),
    /// each conversation in its own change set, tagged [`PURGED_TAG`]. Idempotent; each
    /// tenant's policy then comes due again a day later. Cost: one pass over the tenant's
    /// conversations per run.
    ///
    /// # Errors
    ///
    /// Store failures (what was purged before stays purged); [`Error::Invalid`] inside a
    /// batch ([`Desk::begin_batch`]).
    pub fn purge_expired(&mut self, now: DateTime<Utc>) -> Result<PurgeReport> {
        let _span = super::trace::op_span!("desk.purge_expired");
        self.outside_batch("purge_expired")?;
        let mut report = PurgeReport::default();
        for (tenant, record) in self.store.due_records(RETENTION_KIND, now, 10_000)? {
            let policy: RetentionPolicy = from_json(&record)?;
            report.tenants += 1;
            // The tenant's conversations are read a page at a time; only the expired
            // ones' ids are kept.
            let mut expired = Vec::new();
            let mut accounts = Accounts::default();
            self.each_conversation_in(tenant, DateTime::<Utc>::MIN_UTC, now, |conv| {
                if has_expired(&conv, &policy, now) {
                    expired.push(conv.id);
                }
                accounts.see(&conv);
                Ok(())
            })?;
            for conv in expired {
                let n = self.retrying(|desk| desk.purge_one(tenant, conv, now))?;
                report.messages += n;
                report.conversations.push((tenant, conv));
            }
            report.activities += self.purge_activity(tenant, &policy, now)?;
            report.comments += self.purge_comments(tenant, &policy, now)?;
            if let Some(keep) = policy.accounts {
                for customer in accounts.closed_before(now - keep) {
                    if self.erase_closed_account(tenant, customer, now)? {
                        report.customers.push((tenant, customer));
                    }
                }
            }
            let mut changes = ChangeSet::new(tenant);
            changes.push(Op::PutRecord(Record {
                due: Some(now + EVERY),
                version: record.version + 1,
                ..record
            }));
            match self.apply_changes(changes) {
                Ok(()) | Err(Error::Conflict(_)) => {}
                Err(e) => return Err(e),
            }
        }
        if !report.conversations.is_empty()
            || !report.customers.is_empty()
            || report.activities + report.comments > 0
        {
            self.store.scrub()?;
        }
        Ok(report)
    }

    /// Erases a customer whose account closed, unless they were erased, merged away or
    /// restricted meanwhile; whether it did.
    fn erase_closed_account(
        &mut self,
        tenant: TenantId,
        customer: CustomerId,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let Some(c) = self.store.customer(tenant, customer)? else {
            return Ok(false);
        };
        if c.erased_at.is_some() || c.merged_into.is_some() || c.restricted_at.is_some() {
            return Ok(false);
        }
        self.erase_and_refresh(tenant, customer, now)?;
        Ok(true)
    }

    /// Deletes the tenant's self-service activity older than the policy keeps it.
    fn purge_activity(
        &mut self,
        tenant: TenantId,
        policy: &RetentionPolicy,
        now: DateTime<Utc>,
    ) -> Result<usize> {
        let Some(keep) = policy.activity else {
            return Ok(0);
        };
        let old: Vec<Op> = self
            .store
            .records(tenant, ACTIVITY_KIND)?
            .into_iter()
            .filter(|r| recorded_at(r).is_some_and(|at| at + keep <= now))
            .map(|r| Op::DeleteRecord {
                kind: r.kind,
                key: r.key,
                version: r.version,
            })
            .collect();
        self.apply_in_chunks(tenant, old)
    }

    /// Removes the words of the tenant's CSAT and NPS answers older than the policy keeps
    /// them; the scores stay.
    fn purge_comments(
        &mut self,
        tenant: TenantId,
        policy: &RetentionPolicy,
        now: DateTime<Utc>,
    ) -> Result<usize> {
        let Some(keep) = policy.comments else {
            return Ok(0);
        };
        let mut ops = Vec::new();
        for kind in ["csat", "nps"] {
            for r in self.store.records(tenant, kind)? {
                let mut value = r.value();
                let old = recorded_at(&r).is_some_and(|at| at + keep <= now);
                let said = value.get("comment").is_some();
                if let (true, true, Some(obj)) = (old, said, value.as_object_mut()) {
                    obj.remove("comment");
                    ops.push(Op::PutRecord(Record {
                        value: to_json(&value)?,
                        version: r.version + 1,
                        ..r
                    }));
                }
            }
        }
        self.apply_in_chunks(tenant, ops)
    }

    /// Applies `ops` in change sets of at most 500; how many were applied.
    fn apply_in_chunks(&mut self, tenant: TenantId, ops: Vec<Op>) -> Result<usize> {
        let n = ops.len();
        let mut ops = ops.into_iter().peekable();
        while ops.peek().is_some() {
            let mut changes = ChangeSet::new(tenant);
            for op in ops.by_ref().take(500) {
                changes.push(op);
            }
            self.apply_changes(changes)?;
        }
        Ok(n)
    }

    fn purge_one(
        &mut self,
        tenant: TenantId,
        id: crate::ConversationId,
        now: DateTime<Utc>,
    ) -> Result<usize> {
        let Some(mut conv) = self.store.conversation(tenant, id)? else {
            return Ok(0);
        };
        let mut changes = ChangeSet::new(tenant);
        let secret = self.privacy_secret_or_new(tenant, now, &mut changes)?;
        let mut n = 0;
        for m in self.store.messages_of(tenant, id)? {
            changes.push(Op::RedactMessage(redacted(m, Some(&secret))));
            n += 1;
        }
        // The thread index holds provider ids in plain text.
        changes.push(Op::DeleteThreadKeysOf { conversation: id });
        conv.subject = None;
        conv.tags.push(PURGED_TAG.to_string());
        conv.updated_at = now;
        conv.version += 1;
        changes.push(Op::PutConversation(conv));
        self.apply_changes(changes)?;
        Ok(n)
    }
}

/// When a record's content was recorded (its `at` field).
fn recorded_at(r: &Record) -> Option<DateTime<Utc>> {
    serde_json::from_value(r.value().get("at")?.clone()).ok()
}

/// Whether `conv` is closed, not purged yet, and past its retention under `policy` at
/// `now` (the policy of the channel it was opened on, or the tenant's default).
fn has_expired(conv: &Conversation, policy: &RetentionPolicy, now: DateTime<Utc>) -> bool {
    conv.status == Status::Closed
        && !conv.tags.iter().any(|t| t == PURGED_TAG)
        && conv
            .closed_at
            .is_some_and(|closed| match conv.channels.first() {
                Some(opened_on) => expires_at(policy, opened_on, closed) <= now,
                None => closed + policy.after_close <= now,
            })
}

/// Per customer, from one pass over a tenant's conversations: whether any is not closed,
/// and the latest change to any of them.
#[derive(Default)]
struct Accounts(std::collections::HashMap<CustomerId, (bool, DateTime<Utc>)>);

impl Accounts {
    fn see(&mut self, conv: &Conversation) {
        let e = self
            .0
            .entry(conv.customer)
            .or_insert((false, conv.updated_at));
        e.0 |= conv.status != Status::Closed;
        e.1 = e.1.max(conv.updated_at);
    }

    /// The customers with nothing open and nothing changed since `before`, in id order.
    fn closed_before(&self, before: DateTime<Utc>) -> Vec<CustomerId> {
        let mut v: Vec<CustomerId> = self
            .0
            .iter()
            .filter(|(_, (open, last))| !open && *last <= before)
            .map(|(c, _)| *c)
            .collect();
        v.sort();
        v
    }
}
