//! The identity graph on the Desk: merge, unmerge, suggestions, profiles.

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::conversation::Conversation;
use crate::desk::Desk;
use crate::effect::Effect;
use crate::error::{Error, Result};
use crate::id::{AgentId, CustomerId, MergeId, TenantId};
use crate::identity::{
    merge_profiles, unfill_profile, Customer, IdentifierRecord, MergeRecord, MergeSuggestion,
};
use crate::message::Direction;
use crate::store::{ChangeSet, Op, Record, Store};

/// Record kind of merge logs (secondary key: the receiving customer).
pub(crate) const MERGE_KIND: &str = "merge";
/// Record kind of merge suggestions (secondary key: the primary customer).
pub(crate) const SUGGESTION_KIND: &str = "merge_suggestion";

pub(crate) fn to_json<T: Serialize>(v: &T) -> Result<serde_json::Value> {
    serde_json::to_value(v).map_err(|e| Error::store("cannot encode a record", e))
}

pub(crate) fn from_json<T: DeserializeOwned>(r: &Record) -> Result<T> {
    serde_json::from_value(r.value.clone())
        .map_err(|e| Error::store(format!("cannot decode {} record {}", r.kind, r.key), e))
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
    /// customer (two different host user ids are two people). [`Error::NotFound`] for an
    /// id that is not a customer of this tenant.
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
        let reason = reason.into();
        if reason.len() > 4096 {
            return Err(Error::invalid(
                "reason",
                format!("{} bytes, the maximum is 4096", reason.len()),
            ));
        }
        self.retrying(|desk| desk.merge_once(tenant, from, into, &reason, actor, now))
            .map(|(id, _)| id)
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
        if from == into {
            return Err(Error::MergeRefused(format!(
                "customer {from} cannot be merged into itself"
            )));
        }
        let mut f = self.customer(tenant, from)?;
        let mut i = self.customer(tenant, into)?;
        if let Some(x) = f.merged_into {
            return Err(Error::MergeRefused(format!(
                "customer {from} was already merged into {x}"
            )));
        }
        if let Some(x) = i.merged_into {
            let live = self.live_customer(tenant, x)?.id;
            return Err(Error::MergeRefused(format!(
                "customer {into} was merged into {x}; merge into the live customer {live} instead"
            )));
        }
        let f_ids = self.store.identifiers_of(tenant, from)?;
        let i_ids = self.store.identifiers_of(tenant, into)?;
        for r in &f_ids {
            if let Some(limit) = self.config.identity.limit(r.identifier.kind()) {
                let kind = r.identifier.kind();
                let count = |v: &[IdentifierRecord]| {
                    v.iter().filter(|x| x.identifier.kind() == kind).count()
                };
                if count(&f_ids) + count(&i_ids) > limit {
                    let theirs: Vec<String> = i_ids
                        .iter()
                        .filter(|x| x.identifier.kind() == kind)
                        .map(|x| x.identifier.value().to_string())
                        .collect();
                    return Err(Error::MergeRefused(format!(
                        "customers may hold at most {limit} {kind} identifier(s); {from} has {} and {into} has {}",
                        r.identifier.value(),
                        theirs.join(", ")
                    )));
                }
            }
        }
        let conversations = self.store.conversations_of(tenant, from)?;
        let id = MergeId::from_uuid(self.next_uuid(now));
        let from_profile = f.clone();
        let (filled, conflicts) = merge_profiles(&f, &mut i);
        let mut changes = ChangeSet::new(tenant);
        for r in &f_ids {
            changes.push(Op::PutIdentifier {
                record: IdentifierRecord {
                    customer: into,
                    ..r.clone()
                },
                expected_owner: Some(from),
            });
        }
        for c in &conversations {
            changes.push(Op::PutConversation(Conversation {
                customer: into,
                version: c.version + 1,
                updated_at: now,
                ..c.clone()
            }));
        }
        i.updated_at = now;
        i.version += 1;
        changes.push(Op::PutCustomer(i));
        f.merged_into = Some(into);
        f.updated_at = now;
        f.version += 1;
        changes.push(Op::PutCustomer(f));
        let record = MergeRecord {
            id,
            tenant,
            from,
            into,
            reason: reason.to_string(),
            actor,
            at: now,
            identifiers: f_ids.iter().map(|r| r.identifier.clone()).collect(),
            conversations: conversations.iter().map(|c| c.id).collect(),
            filled,
            conflicts,
            from_profile,
            undone_at: None,
        };
        let mut rec = Record::new(MERGE_KIND, id.to_string(), to_json(&record)?);
        rec.secondary = Some(into.to_string());
        changes.push(Op::PutRecord(rec));
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
        self.store.apply(changes)?;
        Ok((
            id,
            vec![Effect::CustomersMerged {
                tenant,
                merge: id,
                from,
                into,
            }],
        ))
    }

    /// Undoes a merge: `from` is a customer of its own again, with the identifiers and
    /// conversations that came from it (wherever they sit now along `into`'s merge chain)
    /// and its profile; profile fields filled into `into` from `from` are cleared unless
    /// they changed since. Conversations that started after the merge follow the
    /// customer their first message's identifier resolves to after the undo.
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
        self.retrying(|desk| desk.unmerge_once(tenant, merge, now))
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
        let mut m: MergeRecord = from_json(&rec)?;
        if let Some(at) = m.undone_at {
            return Err(Error::MergeRefused(format!(
                "merge {merge} was already undone at {at}"
            )));
        }
        let mut f = self.customer(tenant, m.from)?;
        if f.merged_into != Some(m.into) {
            return Err(Error::MergeRefused(format!(
                "customer {} no longer points at {}; the merge cannot be undone",
                m.from, m.into
            )));
        }
        // Everything that sits on any customer of `into`'s chain counts as "on into".
        let live = self.live_customer(tenant, m.into)?.id;
        let on_into = |desk: &Self, c: CustomerId| -> Result<bool> {
            Ok(c == m.into || c == live || desk.live_customer(tenant, c)?.id == live)
        };
        let mut changes = ChangeSet::new(tenant);
        let mut back: Vec<&crate::Identifier> = Vec::new();
        for ident in &m.identifiers {
            if let Some(r) = self.store.identifier(tenant, ident)? {
                if on_into(self, r.customer)? {
                    back.push(ident);
                    changes.push(Op::PutIdentifier {
                        record: IdentifierRecord {
                            customer: m.from,
                            ..r.clone()
                        },
                        expected_owner: Some(r.customer),
                    });
                }
            }
        }
        let mut moved = std::collections::HashSet::new();
        for id in &m.conversations {
            if let Some(c) = self.store.conversation(tenant, *id)? {
                if on_into(self, c.customer)? {
                    moved.insert(c.id);
                    changes.push(Op::PutConversation(Conversation {
                        customer: m.from,
                        version: c.version + 1,
                        updated_at: now,
                        ..c
                    }));
                }
            }
        }
        // Conversations opened after the merge by one of `from`'s identifiers go back too.
        for c in self.store.conversations_of(tenant, live)? {
            if c.created_at < m.at || moved.contains(&c.id) {
                continue;
            }
            let first = self
                .store
                .messages_of(tenant, c.id)?
                .into_iter()
                .find(|msg| msg.direction == Direction::Inbound);
            let theirs = first
                .and_then(|msg| msg.counterpart)
                .is_some_and(|who| back.contains(&&who));
            if theirs {
                changes.push(Op::PutConversation(Conversation {
                    customer: m.from,
                    version: c.version + 1,
                    updated_at: now,
                    ..c
                }));
            }
        }
        let mut into = self.customer(tenant, m.into)?;
        unfill_profile(&m.from_profile, &mut into, &m.filled);
        into.updated_at = now;
        into.version += 1;
        changes.push(Op::PutCustomer(into));
        f.merged_into = None;
        f.updated_at = now;
        f.version += 1;
        changes.push(Op::PutCustomer(f));
        m.undone_at = Some(now);
        changes.push(Op::PutRecord(Record {
            value: to_json(&m)?,
            version: rec.version + 1,
            ..rec
        }));
        self.store.apply(changes)?;
        Ok(vec![Effect::MergeUndone {
            tenant,
            merge,
            from: m.from,
            into: m.into,
        }])
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
            desk.store.apply(changes)
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
