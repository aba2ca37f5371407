//! The identity graph on the Desk: merge, unmerge, suggestions, profiles.

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;

use crate::conversation::Conversation;
use crate::desk::Desk;
use crate::effect::Effect;
use crate::error::{Error, Result};
use crate::id::{AgentId, CustomerId, MergeId, TenantId};
use crate::identity::{
    plan_merge, refuse_self_merge, unfill_profile, Customer, IdentifierRecord, MergeRecord,
    MergeSnapshot, MergeSuggestion,
};
use crate::message::Direction;
use crate::store::{ChangeSet, Op, Record, Store};

/// Record kind of merge logs (secondary key: the receiving customer).
/// Merge records with their stored form.
pub(crate) type MergeRecords = Vec<(Record, MergeRecord)>;

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
        let _stage = self.stage(crate::probe::Stage::Identity);
        let reason = reason.into();
        if reason.len() > 4096 {
            return Err(Error::invalid(
                "reason",
                format!("{} bytes, the maximum is 4096", reason.len()),
            ));
        }
        let (id, _) =
            self.retrying(|desk| desk.merge_once(tenant, from, into, &reason, actor, now))?;
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
        // Conversations that go back: those that came from `from`, and those opened after
        // the merge by one of `from`'s identifiers.
        let mut back_convs: Vec<Conversation> = Vec::new();
        for id in &m.conversations {
            if let Some(c) = self.store.conversation(tenant, *id)? {
                if on_into(self, c.customer)? {
                    back_convs.push(c);
                }
            }
        }
        let mut staying: Vec<Conversation> = Vec::new();
        for c in self.store.conversations_of(tenant, live)? {
            if back_convs.iter().any(|b| b.id == c.id) {
                continue;
            }
            let first = self
                .store
                .messages_of(tenant, c.id)?
                .into_iter()
                .find(|msg| msg.direction == Direction::Inbound);
            let theirs = c.created_at >= m.at
                && first
                    .and_then(|msg| msg.counterpart)
                    .is_some_and(|who| back.contains(&&who));
            if theirs {
                back_convs.push(c);
            } else {
                staying.push(c);
            }
        }
        // Messages sent after the merge follow their sender: `from`'s identifiers into a
        // conversation that stays go to `from`'s newest conversation that is not closed,
        // and the others' into a conversation that goes back stay with `into`'s newest.
        let newest_open = |v: &[Conversation]| {
            v.iter()
                .enumerate()
                .filter(|(_, c)| c.status != crate::Status::Closed)
                .max_by_key(|(_, c)| (c.created_at, c.id))
                .map(|(i, _)| i)
        };
        // `into`'s own conversations: those it holds itself, or, when it was merged on,
        // those its own merge record lists; the others on the chain belong to further
        // merges and are no home for its messages.
        let into_record = self.customer(tenant, m.into)?;
        let own: Option<Vec<crate::ConversationId>> = match into_record.merged_into {
            None => None,
            Some(next) => {
                let mut own = Vec::new();
                for r in self
                    .store
                    .records_by(tenant, MERGE_KIND, &next.to_string())?
                {
                    let later: MergeRecord = from_json(&r)?;
                    if later.from == m.into && later.undone_at.is_none() {
                        own = later.conversations;
                    }
                }
                Some(own)
            }
        };
        // ... minus what other merges into `into` brought.
        let mut brought: Vec<crate::ConversationId> = Vec::new();
        for r in self
            .store
            .records_by(tenant, MERGE_KIND, &m.into.to_string())?
        {
            let earlier: MergeRecord = from_json(&r)?;
            if earlier.undone_at.is_none() {
                brought.extend(earlier.conversations);
            }
        }
        let home: Vec<Conversation> = staying
            .iter()
            .filter(|c| {
                own.as_ref()
                    .map_or(c.customer == m.into, |o| o.contains(&c.id))
            })
            .filter(|c| !brought.contains(&c.id))
            .cloned()
            .collect();
        let stay_target = newest_open(&home)
            .and_then(|i| staying.iter().position(|c| c.id == home[i].id))
            .or_else(|| newest_open(&staying));
        let back_target = newest_open(&back_convs);
        let mut touched_back = vec![false; back_convs.len()];
        let mut touched_stay = vec![false; staying.len()];
        for going_back in [false, true] {
            let (sources, target) = if going_back {
                (&back_convs, stay_target)
            } else {
                (&staying, back_target)
            };
            let Some(ti) = target else { continue };
            let mut moves = Vec::new();
            for (si, c) in sources.iter().enumerate() {
                for msg in self.store.messages_of(tenant, c.id)? {
                    let from_theirs = msg
                        .counterpart
                        .as_ref()
                        .is_some_and(|who| back.contains(&who));
                    let misplaced = msg.direction == Direction::Inbound
                        && msg.received_at >= m.at
                        && msg.counterpart.is_some()
                        && from_theirs != going_back;
                    if misplaced {
                        moves.push((si, msg));
                    }
                }
            }
            for (si, mut msg) in moves {
                let (src, dst, src_touched, dst_touched) = if going_back {
                    (
                        &mut back_convs[si],
                        &mut staying[ti],
                        &mut touched_back[si],
                        &mut touched_stay[ti],
                    )
                } else {
                    (
                        &mut staying[si],
                        &mut back_convs[ti],
                        &mut touched_stay[si],
                        &mut touched_back[ti],
                    )
                };
                msg.conversation = dst.id;
                src.message_count = src.message_count.saturating_sub(1);
                dst.message_count += 1;
                *src_touched = true;
                *dst_touched = true;
                changes.push(Op::UpdateMessage(msg));
            }
        }
        for (c, touched) in staying.iter().zip(touched_stay) {
            if touched {
                changes.push(Op::PutConversation(Conversation {
                    version: c.version + 1,
                    updated_at: now,
                    ..c.clone()
                }));
            }
        }
        for c in back_convs {
            changes.push(Op::PutConversation(Conversation {
                customer: m.from,
                version: c.version + 1,
                updated_at: now,
                ..c
            }));
        }
        // Merges further along `into`'s chain recorded what now goes back as theirs; drop
        // it from their records so undoing them later moves only what is really theirs.
        let gone_convs: Vec<crate::ConversationId> = changes
            .ops
            .iter()
            .filter_map(|op| match op {
                Op::PutConversation(c) if c.customer == m.from => Some(c.id),
                _ => None,
            })
            .collect();
        let mut hop = self.customer(tenant, m.into)?;
        let mut guard = 0;
        while let Some(next) = hop.merged_into {
            guard += 1;
            if guard > 1024 {
                break;
            }
            for r in self
                .store
                .records_by(tenant, MERGE_KIND, &next.to_string())?
            {
                let mut later: MergeRecord = from_json(&r)?;
                if later.from != hop.id || later.undone_at.is_some() {
                    continue;
                }
                let before = (later.identifiers.len(), later.conversations.len());
                later.identifiers.retain(|i| !back.contains(&i));
                later.conversations.retain(|c| !gone_convs.contains(c));
                if before != (later.identifiers.len(), later.conversations.len()) {
                    changes.push(Op::PutRecord(Record {
                        value: to_json(&later)?,
                        version: r.version + 1,
                        ..r
                    }));
                }
            }
            hop = self.customer(tenant, next)?;
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
        self.apply_changes(changes)?;
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
