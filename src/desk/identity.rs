//! The identity graph on the Desk: merge, unmerge, suggestions, profiles.

use std::collections::hash_map::{Entry, HashMap};

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;

use crate::desk::Desk;
use crate::effect::Effect;
use crate::error::{Error, Result};
use crate::id::{AgentId, CustomerId, MergeId, TenantId};
use crate::identity::{
    plan_merge, plan_unmerge, refuse_self_merge, refuse_undone, refuse_unmerge, Customer,
    MergeRecord, MergeSnapshot, MergeSuggestion, UnmergeSnapshot,
};
use crate::store::{ChangeSet, Op, Record, Store};

/// Merge records with their stored form.
pub(crate) type MergeRecords = Vec<(Record, MergeRecord)>;

/// Record kind of merge logs (secondary key: the receiving customer).
pub(crate) const MERGE_KIND: &str = "merge";
/// Record kind of merge suggestions (secondary key: the primary customer).
pub(crate) const SUGGESTION_KIND: &str = "merge_suggestion";

pub(crate) use crate::store::raw_json as to_json;

pub(crate) fn from_json<T: DeserializeOwned>(r: &Record) -> Result<T> {
    r.decode()
}

impl<S: Store> Desk<S> {
    /// Merges customer `from` into `into`: every identifier and conversation (with its
    /// messages) of `from` moves to `into`; profile fields empty on `into` are filled from
    /// `from`, conflicting ones keep `into`'s value and are recorded; `from` becomes a
    /// tombstone that resolves to `into`, so later messages on its identifiers land on
    /// `into`. The merge is recorded (who, when, why, what moved) and can be undone with
    /// [`Desk::unmerge`].
    ///
    /// # Errors
    ///
    /// Nothing changes on any error. [`Error::MergeRefused`] for a self-merge, a customer
    /// that was already merged away (on either side: merge into the live customer
    /// instead), or when the two hold different identifiers of a kind limited to one per
    /// customer (a strong identifier: two different host user ids are two people; larger
    /// per-kind limits only bound what ingest attaches, never an explicit merge), for an
    /// erased customer (a merge would put personal data back on the erased profile), and
    /// for a restricted one (merging is processing: lift the restriction first).
    /// [`Error::NotFound`] for an id that is not a customer of this tenant.
    ///
    /// # Example
    ///
    /// ```
    /// use throughline::{Channel, Desk, DeskConfig, Identifier, Inbound, TenantId, store::MemoryStore};
    /// let t0 = chrono::DateTime::parse_from_rfc3339("2026-03-02T09:00:00Z")?.to_utc();
    /// let tenant = TenantId::new_v7();
    /// let mut desk = Desk::new(MemoryStore::new(), DeskConfig::default());
    /// let visitor = Identifier::handle(throughline::IdentifierKind::WebVisitor, "cookie-77")?;
    /// let chat = desk.ingest(Inbound::new(tenant, Channel::WebChat, visitor.clone(), "c1", "Hi"), t0)?;
    /// let mail = desk.ingest(Inbound::new(tenant, Channel::Email, Identifier::email("ana@example.com")?, "m1", "Hello"), t0)?;
    /// let merge = desk.merge_customers(tenant, chat.customer, mail.customer, "visitor logged in", t0)?;
    /// assert_eq!(desk.resolve(tenant, &visitor)?, Some(mail.customer));
    /// desk.unmerge(tenant, merge, t0)?;
    /// assert_eq!(desk.resolve(tenant, &visitor)?, Some(chat.customer));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn merge_customers(
        &mut self,
        tenant: TenantId,
        from: CustomerId,
        into: CustomerId,
        reason: impl Into<String>,
        now: DateTime<Utc>,
    ) -> Result<MergeId> {
        self.merge_customers_as(tenant, from, into, reason, None, now)
    }

    /// [`Desk::merge_customers`], recording the agent who merged.
    ///
    /// # Errors
    ///
    /// As [`Desk::merge_customers`].
    pub fn merge_customers_as(
        &mut self,
        tenant: TenantId,
        from: CustomerId,
        into: CustomerId,
        reason: impl Into<String>,
        actor: Option<AgentId>,
        now: DateTime<Utc>,
    ) -> Result<MergeId> {
        let _span = super::trace::op_span!(
            "desk.merge_customers",
            tenant = tenant,
            from = from,
            into = into
        );
        let _stage = self.stage(crate::probe::Stage::Identity);
        let reason = reason.into();
        if reason.len() > 4096 {
            return Err(Error::invalid(
                "reason",
                format!("{} bytes, the maximum is 4096", reason.len()),
            ));
        }
        let (id, _) = {
            self.enter(tenant)?;
            self.retrying(|desk| desk.merge_once(tenant, from, into, &reason, actor, now))?
        };
        // The merge is committed: what follows only refreshes the live metrics, and a
        // failure there must not report the merge as failed.
        let refreshed = self
            .merge_record(tenant, id)
            .and_then(|m| self.metrics_refresh(tenant, &m.conversations));
        if refreshed.is_err() {
            self.metrics_untrusted(tenant);
        }
        Ok(id)
    }

    /// Reads what a merge of `from` into `into` decides on.
    fn merge_snapshot(
        &self,
        tenant: TenantId,
        from: CustomerId,
        into: CustomerId,
    ) -> Result<MergeSnapshot> {
        let f = self.customer(tenant, from)?;
        let i = self.customer(tenant, into)?;
        // The live end is read only where the refusal names it.
        let into_live = match (f.merged_into, i.merged_into) {
            (None, Some(x)) => Some(self.live_customer(tenant, x)?.id),
            _ => None,
        };
        Ok(MergeSnapshot {
            tenant,
            from: f,
            into: i,
            into_live,
            from_identifiers: self.store.identifiers_of(tenant, from)?,
            into_identifiers: self.store.identifiers_of(tenant, into)?,
            conversations: self.store.conversations_of(tenant, from)?,
        })
    }

    pub(crate) fn merge_once(
        &mut self,
        tenant: TenantId,
        from: CustomerId,
        into: CustomerId,
        reason: &str,
        actor: Option<AgentId>,
        now: DateTime<Utc>,
    ) -> Result<(MergeId, Vec<Effect>)> {
        refuse_self_merge(from, into)?;
        let snapshot = self.merge_snapshot(tenant, from, into)?;
        let rules = self.config.identity.clone();
        let plan = plan_merge(
            &snapshot,
            &rules,
            reason,
            actor,
            &mut || MergeId::from_uuid(self.next_uuid(now)),
            now,
        )?;
        let id = plan.record.id;
        let mut changes = ChangeSet::new(tenant);
        for record in plan.identifiers {
            changes.push(Op::PutIdentifier {
                record,
                expected_owner: Some(from),
            });
        }
        for c in plan.conversations {
            changes.push(Op::PutConversation(c));
        }
        changes.push(Op::PutCustomer(plan.into));
        changes.push(Op::PutCustomer(plan.from));
        let mut rec = Record::encode(MERGE_KIND, id.to_string(), &plan.record)?;
        rec.secondary = Some(into.to_string());
        changes.push(Op::PutRecord(rec));
        // The merge answers any suggestion for the pair.
        if let Some(s) =
            self.store
                .record(tenant, SUGGESTION_KIND, &MergeSuggestion::key(from, into))?
        {
            changes.push(Op::DeleteRecord {
                kind: s.kind,
                key: s.key,
                version: s.version,
            });
        }
        self.apply_changes(changes)?;
        Ok((id, plan.effects))
    }

    /// Undoes a merge: `from` is a customer of its own again, with the identifiers and
    /// conversations that came from it (wherever they sit now along `into`'s merge chain)
    /// and its profile; profile fields filled into `into` from `from` are cleared unless
    /// they changed since. What arrived after the merge follows the customer its
    /// identifier resolves to after the undo: conversations opened by one of `from`'s
    /// identifiers go back to `from`; a message `from`'s identifiers wrote into one of
    /// `into`'s conversations moves to `from`'s newest conversation that is not closed,
    /// and a message `into`'s identifiers wrote into a conversation that goes back moves
    /// to `into`'s newest one.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] for an unknown merge, [`Error::MergeRefused`] for a merge
    /// already undone. Nothing changes on any error.
    pub fn unmerge(
        &mut self,
        tenant: TenantId,
        merge: MergeId,
        now: DateTime<Utc>,
    ) -> Result<Vec<Effect>> {
        let _span = super::trace::op_span!("desk.unmerge", tenant = tenant, merge = merge);
        let _stage = self.stage(crate::probe::Stage::Identity);
        let effects = self.retrying(|desk| desk.unmerge_once(tenant, merge, now))?;
        // Committed. Conversations of both sides may have changed owner or messages:
        // refresh their live metrics; a failure there must not report the unmerge failed.
        let refreshed = (|| -> Result<()> {
            let m = self.merge_record(tenant, merge)?;
            let mut touched: Vec<crate::ConversationId> = Vec::new();
            for c in [m.from, m.into] {
                if let Ok(live) = self.live_customer(tenant, c) {
                    touched.extend(
                        self.store
                            .conversations_of(tenant, live.id)?
                            .into_iter()
                            .map(|c| c.id),
                    );
                }
            }
            self.metrics_refresh(tenant, &touched)
        })();
        if refreshed.is_err() {
            self.metrics_untrusted(tenant);
        }
        Ok(effects)
    }

    /// `customer` and the customers it was merged into since, in order (the live one
    /// last), after `customer` itself.
    fn merge_chain(&self, tenant: TenantId, customer: &Customer) -> Result<Vec<Customer>> {
        let mut chain: Vec<Customer> = Vec::new();
        let mut next = customer.merged_into;
        while let Some(id) = next {
            // Merge chains are short; the bound only guards against a corrupted cycle.
            if chain.len() >= 1024 {
                return Err(Error::Store {
                    message: format!("merge chain from customer {} does not end", customer.id),
                    source: None,
                });
            }
            let c = self.customer(tenant, id)?;
            next = c.merged_into;
            chain.push(c);
        }
        Ok(chain)
    }

    /// Reads what undoing `merge` decides on, with the stored merge records into `into`
    /// and the customers after it on its chain (to write back the ones the plan changes).
    fn unmerge_snapshot(
        &self,
        tenant: TenantId,
        merge: MergeRecord,
        from: Customer,
    ) -> Result<(UnmergeSnapshot, Vec<Record>)> {
        let into = self.customer(tenant, merge.into)?;
        let chain = self.merge_chain(tenant, &into)?;
        let live = chain.last().map_or(into.id, |c| c.id);
        let mut records = Vec::new();
        let mut merges_into = HashMap::new();
        for c in std::iter::once(&into).chain(&chain) {
            let mut merges = Vec::new();
            for r in self
                .store
                .records_by(tenant, MERGE_KIND, &c.id.to_string())?
            {
                merges.push(from_json::<MergeRecord>(&r)?);
                records.push(r);
            }
            merges_into.insert(c.id, merges);
        }
        let mut identifiers = Vec::new();
        for ident in &merge.identifiers {
            identifiers.extend(self.store.identifier(tenant, ident)?);
        }
        let mut conversations = Vec::new();
        for id in &merge.conversations {
            conversations.extend(self.store.conversation(tenant, *id)?);
        }
        let mut live_of = HashMap::new();
        let owners = identifiers.iter().map(|r| r.customer);
        for c in owners.chain(conversations.iter().map(|c| c.customer)) {
            if c != merge.into && c != live && !live_of.contains_key(&c) {
                live_of.insert(c, self.live_customer(tenant, c)?.id);
            }
        }
        let live_conversations = self.store.conversations_of(tenant, live)?;
        let mut messages = HashMap::new();
        for c in conversations.iter().chain(&live_conversations) {
            if let Entry::Vacant(e) = messages.entry(c.id) {
                e.insert(self.store.messages_of(tenant, c.id)?);
            }
        }
        let snapshot = UnmergeSnapshot {
            tenant,
            merge,
            from,
            into,
            chain,
            live_of,
            identifiers,
            conversations,
            live_conversations,
            messages,
            merges_into,
        };
        Ok((snapshot, records))
    }

    fn unmerge_once(
        &mut self,
        tenant: TenantId,
        merge: MergeId,
        now: DateTime<Utc>,
    ) -> Result<Vec<Effect>> {
        let rec = self
            .store
            .record(tenant, MERGE_KIND, &merge.to_string())?
            .ok_or_else(|| Error::not_found("merge", merge))?;
        let m: MergeRecord = from_json(&rec)?;
        refuse_undone(&m)?;
        let from = self.customer(tenant, m.from)?;
        refuse_unmerge(&m, &from)?;
        let (snapshot, records) = self.unmerge_snapshot(tenant, m, from)?;
        let plan = plan_unmerge(&snapshot, now)?;
        let mut changes = ChangeSet::new(tenant);
        for (record, owner) in plan.identifiers {
            changes.push(Op::PutIdentifier {
                record,
                expected_owner: Some(owner),
            });
        }
        for msg in plan.messages {
            changes.push(Op::UpdateMessage(msg));
        }
        for c in plan.conversations {
            changes.push(Op::PutConversation(c));
        }
        for later in &plan.merges {
            let key = later.id.to_string();
            let Some(r) = records.iter().find(|r| r.key == key) else {
                continue;
            };
            changes.push(Op::PutRecord(Record {
                value: to_json(later)?,
                version: r.version + 1,
                ..r.clone()
            }));
        }
        changes.push(Op::PutCustomer(plan.into));
        changes.push(Op::PutCustomer(plan.from));
        changes.push(Op::PutRecord(Record {
            value: to_json(&plan.merge)?,
            version: rec.version + 1,
            ..rec
        }));
        self.apply_changes(changes)?;
        Ok(plan.effects)
    }

    /// The merges into a customer and, recursively, into the customers merged into it,
    /// oldest first (undone merges included, marked by `undone_at`).
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] for an unknown customer.
    pub fn merges(&self, tenant: TenantId, customer: CustomerId) -> Result<Vec<MergeRecord>> {
        self.customer(tenant, customer)?;
        let mut out: Vec<MergeRecord> = Vec::new();
        let mut todo = vec![customer];
        let mut seen = std::collections::HashSet::new();
        while let Some(c) = todo.pop() {
            if !seen.insert(c) {
                continue;
            }
            for r in self.store.records_by(tenant, MERGE_KIND, &c.to_string())? {
                let m: MergeRecord = from_json(&r)?;
                todo.push(m.from);
                out.push(m);
            }
        }
        out.sort_by_key(|m| (m.at, m.id));
        Ok(out)
    }

    /// The live customer `live` and everyone merged into it by merges still in effect (an
    /// undone merge, and everything merged into its `from` before, are not part of it).
    pub(crate) fn person_ids(&self, tenant: TenantId, live: CustomerId) -> Result<Vec<CustomerId>> {
        Ok(self.merge_tree(tenant, live)?.0)
    }

    /// [`Desk::person_ids`], with every merge record found on the way: those of merges
    /// into any of them, undone or not.
    pub(crate) fn merge_tree(
        &self,
        tenant: TenantId,
        live: CustomerId,
    ) -> Result<(Vec<CustomerId>, MergeRecords)> {
        let mut ids = vec![live];
        let mut records = Vec::new();
        let mut i = 0;
        while i < ids.len() {
            for r in self
                .store
                .records_by(tenant, MERGE_KIND, &ids[i].to_string())?
            {
                let m: MergeRecord = from_json(&r)?;
                if m.undone_at.is_none() && !ids.contains(&m.from) {
                    ids.push(m.from);
                }
                records.push((r, m));
            }
            i += 1;
        }
        Ok((ids, records))
    }

    /// A merge record.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] for an unknown merge.
    pub fn merge_record(&self, tenant: TenantId, merge: MergeId) -> Result<MergeRecord> {
        let r = self
            .store
            .record(tenant, MERGE_KIND, &merge.to_string())?
            .ok_or_else(|| Error::not_found("merge", merge))?;
        from_json(&r)
    }

    /// Merge suggestions waiting for review, oldest first.
    ///
    /// # Errors
    ///
    /// Store failures only.
    pub fn merge_suggestions(&self, tenant: TenantId) -> Result<Vec<MergeSuggestion>> {
        let mut out: Vec<MergeSuggestion> = self
            .store
            .records(tenant, SUGGESTION_KIND)?
            .iter()
            .map(from_json)
            .collect::<Result<_>>()?;
        out.sort_by_key(|s| (s.at, s.primary, s.other));
        Ok(out)
    }

    /// Dismisses a merge suggestion (the two are different people). A later message tying
    /// them together records a new one.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] when there is no suggestion for the pair.
    pub fn dismiss_suggestion(
        &mut self,
        tenant: TenantId,
        a: CustomerId,
        b: CustomerId,
    ) -> Result<()> {
        let _span = super::trace::op_span!(
            "desk.dismiss_suggestion",
            tenant = tenant,
            customer = a,
            other = b
        );
        self.retrying(|desk| {
            let r = desk
                .store
                .record(tenant, SUGGESTION_KIND, &MergeSuggestion::key(a, b))?
                .ok_or_else(|| Error::not_found("merge suggestion", MergeSuggestion::key(a, b)))?;
            let mut changes = ChangeSet::new(tenant);
            changes.push(Op::DeleteRecord {
                kind: r.kind,
                key: r.key,
                version: r.version,
            });
            desk.apply_changes(changes)
        })
    }

    /// Follows tombstones; a public form of the live lookup.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] for an unknown customer.
    pub fn live(&self, tenant: TenantId, customer: CustomerId) -> Result<Customer> {
        self.live_customer(tenant, customer)
    }
}
