//! Privacy on the Desk: a person's export, erasure (following merges), erasure of one
//! identifier, and restriction of processing. Retention is in `retention.rs`.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};

use crate::desk::delivery::CONSENT_KIND;
use crate::desk::identity::{from_json, to_json, MergeRecords, MERGE_KIND, SUGGESTION_KIND};
use crate::desk::knowledge::ACTIVITY_KIND;
use crate::desk::language::LANG_KIND;
use crate::desk::sla::{decode_all_clocks, SLA_KIND};
use crate::desk::Desk;
use crate::error::{Error, Result};
use crate::id::{CustomerId, TenantId};
use crate::identity::{Customer, Identifier, MergeRecord, MergeSuggestion};
use crate::message::{Inbound, Message};
use crate::privacy::{dedup_hash, ConversationExport, CustomerExport, ErasureReport};
use crate::store::{ChangeSet, Op, Record, Store};

/// A person: the live customer and everyone merged into it; the merge records involved.
type Person = (Vec<Customer>, MergeRecords);

/// Per-tenant privacy state: the secret of the keyed dedup hash.
pub(crate) const PRIVACY_KIND: &str = "privacy";
pub(crate) const SECRET_KEY: &str = "dedup-secret";
/// Kinds whose records hold personal content and go with an erased person.
const PERSONAL_KINDS: &[&str] = &[
    ACTIVITY_KIND,
    SUGGESTION_KIND,
    crate::desk::delivery::CONSENT_KIND,
    crate::desk::delivery::RETRY_KIND,
];
/// Kinds whose records are kept (anonymous answers) but lose free text.
const ANSWER_KINDS: &[&str] = &["csat", "nps"];

/// A message without its content: body, quoted history, attachments, counterpart and
/// thread key gone; the provider id replaced by its keyed hash.
pub(crate) fn redacted(mut m: Message, secret: Option<&[u8]>) -> Message {
    m.body = String::new();
    m.quoted = None;
    if let Some(crate::conversation::ConversationEvent::Transferred { note, .. }) = &mut m.event {
        note.clear();
    }
    m.attachments.clear();
    m.counterpart = None;
    m.thread_key = None;
    if let (Some(ext), Some(secret)) = (&m.external_id, secret) {
        if !ext.starts_with("erased:") {
            m.external_id = Some(dedup_hash(secret, &m.channel, ext));
        }
    }
    m
}

impl<S: Store> Desk<S> {
    /// The tenant's dedup-hash secret, if an erasure ever created one.
    fn privacy_secret(&self, tenant: TenantId) -> Result<Option<Vec<u8>>> {
        Ok(match self.read_record(tenant, PRIVACY_KIND, SECRET_KEY)? {
            Some(r) => Some(from_json::<String>(&r)?.into_bytes()),
            None => None,
        })
    }

    /// The tenant's secret, creating it (in `changes`) when missing: 32 bytes from the
    /// desk's generator, kept as 64 hex digits.
    pub(crate) fn privacy_secret_or_new(
        &mut self,
        tenant: TenantId,
        now: DateTime<Utc>,
        changes: &mut ChangeSet,
    ) -> Result<Vec<u8>> {
        if let Some(s) = self.privacy_secret(tenant)? {
            return Ok(s);
        }
        let secret: String = self
            .next_secret(now)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        changes.push(Op::PutRecord(Record::raw(
            PRIVACY_KIND,
            SECRET_KEY,
            to_json(&secret)?,
        )));
        Ok(secret.into_bytes())
    }

    /// The stored (erased) message a redelivered webhook matches by its keyed hash.
    pub(crate) fn erased_duplicate(&self, inbound: &Inbound) -> Result<Option<Message>> {
        let Some(secret) = self.privacy_secret(inbound.tenant)? else {
            return Ok(None);
        };
        let hashed = dedup_hash(&secret, &inbound.channel, &inbound.external_id);
        self.store
            .message_by_external_id(inbound.tenant, &inbound.channel, &hashed)
    }

    /// The person: the live customer, then everyone merged into it (not undone), oldest
    /// merge first; and every merge record that names one of them, on either side (an
    /// undone merge's record still holds the merged-away profile). Cost: one pass over
    /// the tenant's merge records.
    fn person(&self, tenant: TenantId, customer: CustomerId) -> Result<Person> {
        let live = self.live_customer(tenant, customer)?;
        let (ids, mut merges) = self.merge_tree(tenant, live.id)?;
        let mut people = vec![live];
        for id in &ids[1..] {
            if let Some(c) = self.store.customer(tenant, *id)? {
                people.push(c);
            }
        }
        let seen: BTreeSet<CustomerId> = ids.into_iter().collect();
        // Merges that took one of them away and were undone: found by `from`.
        let found: BTreeSet<String> = merges.iter().map(|(r, _)| r.key.clone()).collect();
        for r in self.store.records(tenant, MERGE_KIND)? {
            if found.contains(&r.key) {
                continue;
            }
            let m: MergeRecord = from_json(&r)?;
            if seen.contains(&m.from) {
                merges.push((r, m));
            }
        }
        merges.sort_by_key(|(_, m)| (m.at, m.id));
        Ok((people, merges))
    }

    /// The records of kinds that hold a person's personal content (self-service
    /// activity, merge suggestions, opt-outs, sends waiting for a retry), whichever side
    /// of a suggestion they are on; opt-outs also by their identifiers (one recorded
    /// before its owner was known has no owner on it). Cost: one pass over the tenant's
    /// merge suggestions.
    fn personal_records(&self, tenant: TenantId, people: &[Customer]) -> Result<Vec<Record>> {
        let mut out: BTreeMap<(String, String), Record> = BTreeMap::new();
        for c in people {
            for kind in PERSONAL_KINDS {
                for r in self.store.records_by(tenant, kind, &c.id.to_string())? {
                    out.insert((r.kind.clone(), r.key.clone()), r);
                }
            }
            for rec in self.store.identifiers_of(tenant, c.id)? {
                let key = rec.identifier.to_string();
                if let Some(r) = self.store.record(tenant, CONSENT_KIND, &key)? {
                    out.insert((r.kind.clone(), r.key.clone()), r);
                }
            }
        }
        for r in self.store.records(tenant, SUGGESTION_KIND)? {
            let s: MergeSuggestion = from_json(&r)?;
            if people.iter().any(|c| c.id == s.other || c.id == s.primary) {
                out.insert((r.kind.clone(), r.key.clone()), r);
            }
        }
        Ok(out.into_values().collect())
    }

    /// Everything stored about a person (the customer, everyone merged into it, every
    /// identifier, conversation, message, merge record, SLA clock, language evidence,
    /// self-service activity and survey answer) as one deterministic document.
    ///
    /// ```
    /// use throughline::{Channel, Desk, DeskConfig, Identifier, Inbound, TenantId, store::MemoryStore};
    /// let t0 = chrono::DateTime::parse_from_rfc3339("2026-03-02T09:00:00Z")?.to_utc();
    /// let tenant = TenantId::new_v7();
    /// let mut desk = Desk::new(MemoryStore::new(), DeskConfig::default());
    /// let got = desk.ingest(Inbound::new(tenant, Channel::Email, Identifier::email("ana@example.com")?,
    ///                                    "<m1@x>", "Where is my refund?"), t0)?;
    /// let export = desk.export_customer(tenant, got.customer)?;
    /// assert_eq!(export.conversations[0].messages[0].body, "Where is my refund?");
    /// assert_eq!(export.to_json_pretty()?, desk.export_customer(tenant, got.customer)?.to_json_pretty()?);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] for a customer the tenant does not have.
    pub fn export_customer(
        &self,
        tenant: TenantId,
        customer: CustomerId,
    ) -> Result<CustomerExport> {
        let _span =
            super::trace::op_span!("desk.export_customer", tenant = tenant, customer = customer);
        let (people, merges) = self.person(tenant, customer)?;
        let mut identifiers = Vec::new();
        let mut conversations = Vec::new();
        let mut records: BTreeMap<String, BTreeMap<String, serde_json::Value>> = BTreeMap::new();
        let mut put = |r: Record| {
            let value = r.value();
            records.entry(r.kind).or_default().insert(r.key, value);
        };
        for c in &people {
            identifiers.extend(self.store.identifiers_of(tenant, c.id)?);
            for conv in self.store.conversations_of(tenant, c.id)? {
                if let Some(mut r) = self.store.record(tenant, SLA_KIND, &conv.id.to_string())? {
                    // The export shows the clocks in their readable form, not the
                    // compact stored one.
                    r.value = crate::store::raw_json(&decode_all_clocks(&r)?)?;
                    put(r);
                }
                let messages = self.store.messages_of(tenant, conv.id)?;
                conversations.push(ConversationExport {
                    conversation: conv,
                    messages,
                });
            }
            if let Some(r) = self.store.record(tenant, LANG_KIND, &c.id.to_string())? {
                put(r);
            }
            for kind in ANSWER_KINDS {
                for r in self.store.records_by(tenant, kind, &c.id.to_string())? {
                    put(r);
                }
            }
        }
        for r in self.personal_records(tenant, &people)? {
            put(r);
        }
        identifiers.sort_by(|a, b| {
            (a.first_seen, a.identifier.to_string()).cmp(&(b.first_seen, b.identifier.to_string()))
        });
        conversations.sort_by_key(|c| (c.conversation.created_at, c.conversation.id));
        Ok(CustomerExport {
            format: 1,
            tenant,
            customer: people[0].id,
            customers: people,
            identifiers,
            conversations,
            merges: merges.into_iter().map(|(_, m)| m).collect(),
            records,
        })
    }

    /// Erases a person's personal data: every identifier is deleted; every message of
    /// every conversation loses its body, attachments, counterpart and thread key, and its
    /// provider id is replaced by a keyed hash (a redelivered webhook is still recognised
    /// as a duplicate and stores nothing); profiles (the live customer and everyone merged
    /// into it) keep only their ids and times; language evidence, self-service activity,
    /// merge suggestions and merge records (which hold profile snapshots) are deleted;
    /// survey answers keep their scores only. Conversations, their timings and SLA clocks
    /// stay, so metrics still add up. One atomic change set; then the store scrubs its
    /// files ([`Store::scrub`]). What the library cannot reach — host backups, logs,
    /// transports, copies in the host's own database — is listed in `docs/privacy.md`.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] for a customer the tenant does not have; store failures
    /// (nothing erased); [`Error::Invalid`] inside a batch ([`Desk::begin_batch`]). A
    /// scrub that fails after the erasure committed is no error: the report's
    /// `scrub_failed` says so.
    pub fn erase_customer(
        &mut self,
        tenant: TenantId,
        customer: CustomerId,
        now: DateTime<Utc>,
    ) -> Result<ErasureReport> {
        let _span =
            super::trace::op_span!("desk.erase_customer", tenant = tenant, customer = customer);
        self.outside_batch("erase_customer")?;
        let mut report = self.erase_and_refresh(tenant, customer, now)?;
        // The erasure has committed: a failed scrub is reported, not an error (a retry
        // would find the customer erased already).
        report.scrub_failed = self.store.scrub().err().map(|e| e.to_string());
        Ok(report)
    }

    /// Has the store scrub its files now ([`Store::scrub`]): overwrites what erasures
    /// left in its log. For an erasure whose report says `scrub_failed`.
    ///
    /// # Errors
    ///
    /// The store's failure; [`Error::Invalid`] inside a batch.
    pub fn scrub(&mut self) -> Result<()> {
        self.outside_batch("scrub")?;
        self.store.scrub()
    }

    /// Erases (retrying conflicts) and brings the live metrics up to date with what the
    /// erasure touched; the store's files are not scrubbed yet.
    pub(crate) fn erase_and_refresh(
        &mut self,
        tenant: TenantId,
        customer: CustomerId,
        now: DateTime<Utc>,
    ) -> Result<ErasureReport> {
        let (report, touched) = self.retrying(|desk| desk.erase_once(tenant, customer, now))?;
        if self.metrics_refresh(tenant, &touched).is_err() {
            self.metrics_untrusted(tenant);
        }
        Ok(report)
    }

    fn erase_once(
        &mut self,
        tenant: TenantId,
        customer: CustomerId,
        now: DateTime<Utc>,
    ) -> Result<(ErasureReport, Vec<crate::ConversationId>)> {
        let (people, merges) = self.person(tenant, customer)?;
        let mut changes = ChangeSet::new(tenant);
        let secret = self.privacy_secret_or_new(tenant, now, &mut changes)?;
        let mut report = ErasureReport::default();
        let mut touched = Vec::new();
        for c in &people {
            report.customers.push(c.id);
            for rec in self.store.identifiers_of(tenant, c.id)? {
                changes.push(Op::DeleteIdentifier {
                    identifier: rec.identifier,
                    owner: c.id,
                });
                report.identifiers += 1;
            }
            for mut conv in self.store.conversations_of(tenant, c.id)? {
                for m in self.store.messages_of(tenant, conv.id)? {
                    if let Some(key) = &m.thread_key {
                        changes.push(Op::DeleteThreadKey {
                            key: crate::desk::ingest::thread_key(&m.channel, key),
                        });
                    }
                    if let Some(ext) = &m.external_id {
                        changes.push(Op::DeleteThreadKey {
                            key: crate::desk::ingest::thread_key(&m.channel, ext),
                        });
                    }
                    changes.push(Op::RedactMessage(redacted(m, Some(&secret))));
                    report.messages += 1;
                }
                // Thread hints' keys name no message: deleted by conversation.
                changes.push(Op::DeleteThreadKeysOf {
                    conversation: conv.id,
                });
                conv.subject = None;
                conv.updated_at = now;
                conv.version += 1;
                touched.push(conv.id);
                changes.push(Op::PutConversation(conv));
                report.conversations += 1;
            }
            if let Some(r) = self.store.record(tenant, LANG_KIND, &c.id.to_string())? {
                changes.push(delete(&r));
                report.records += 1;
            }
            for kind in ANSWER_KINDS {
                for r in self.store.records_by(tenant, kind, &c.id.to_string())? {
                    if let Some(stripped) = strip_text(&r.value()) {
                        changes.push(Op::PutRecord(Record {
                            value: to_json(&stripped)?,
                            version: r.version + 1,
                            ..r
                        }));
                        report.records += 1;
                    }
                }
            }
            let mut anon = Customer::new(c.id, tenant, c.created_at);
            anon.merged_into = c.merged_into;
            anon.erased_at = Some(now);
            anon.updated_at = now;
            anon.version = c.version + 1;
            changes.push(Op::PutCustomer(anon));
        }
        for r in self.personal_records(tenant, &people)? {
            changes.push(delete(&r));
            report.records += 1;
        }
        for (r, _) in &merges {
            changes.push(delete(r));
            report.records += 1;
        }
        self.apply_changes(changes)?;
        Ok((report, touched))
    }

    /// Erases one identifier: it no longer resolves to the customer, and messages that
    /// came from it lose it as their counterpart. The customer keeps everything else. The
    /// report counts the identifier, the messages that lost it and the records deleted or
    /// scrubbed of it (`customers` stays empty: nobody was erased).
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] when the tenant has no such identifier; [`Error::Invalid`]
    /// inside a batch ([`Desk::begin_batch`]); store failures (nothing erased). A scrub
    /// that fails after the erasure committed is no error: the report's `scrub_failed`
    /// says so.
    pub fn erase_identifier(
        &mut self,
        tenant: TenantId,
        identifier: &Identifier,
        now: DateTime<Utc>,
    ) -> Result<ErasureReport> {
        let _span = super::trace::op_span!("desk.erase_identifier", tenant = tenant);
        let _ = now;
        self.outside_batch("erase_identifier")?;
        let mut report = self.retrying(|desk| {
            let mut report = ErasureReport {
                identifiers: 1,
                ..ErasureReport::default()
            };
            let rec = desk
                .store
                .identifier(tenant, identifier)?
                .ok_or_else(|| Error::not_found("identifier", identifier))?;
            let mut changes = ChangeSet::new(tenant);
            changes.push(Op::DeleteIdentifier {
                identifier: identifier.clone(),
                owner: rec.customer,
            });
            let live = desk.live_customer(tenant, rec.customer)?;
            // Records that name the identifier: merge records forget it (an unmerge then
            // leaves it with nobody), suggestions and activity naming it go.
            let value = identifier.value();
            let (people, merges) = desk.person(tenant, live.id)?;
            for (r, mut m) in merges {
                if m.identifiers.contains(identifier) || r.value.get().contains(value) {
                    m.identifiers.retain(|i| i != identifier);
                    report.records += 1;
                    changes.push(Op::PutRecord(Record {
                        value: to_json(&scrubbed(
                            serde_json::to_value(&m)
                                .map_err(|e| Error::store("cannot encode a merge record", e))?,
                            value,
                        ))?,
                        version: r.version + 1,
                        ..r
                    }));
                }
            }
            for r in desk.personal_records(tenant, &people)? {
                if r.value.get().contains(value) || r.key.contains(value) {
                    report.records += 1;
                    changes.push(delete(&r));
                }
            }
            for conv in desk.store.conversations_of(tenant, live.id)? {
                for mut m in desk.store.messages_of(tenant, conv.id)? {
                    if m.counterpart.as_ref() == Some(identifier) {
                        m.counterpart = None;
                        report.messages += 1;
                        changes.push(Op::UpdateMessage(m));
                    }
                }
            }
            desk.apply_changes(changes)?;
            Ok(report)
        })?;
        report.scrub_failed = self.store.scrub().err().map(|e| e.to_string());
        Ok(report)
    }

    /// Restricts processing of a customer's data (GDPR art. 18): the data is kept and new
    /// messages are still stored (nothing is lost), but replies to the customer are
    /// refused with [`Error::Restricted`], no language detection or SLA clock runs on
    /// their messages, and `tick` reports no SLA warning or breach of their conversations
    /// until [`Desk::lift_restriction`] (the next tick after it reports what fell due
    /// meanwhile, dated at its deadline).
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] for a customer the tenant does not have.
    pub fn restrict_customer(
        &mut self,
        tenant: TenantId,
        customer: CustomerId,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let _span = super::trace::op_span!(
            "desk.restrict_customer",
            tenant = tenant,
            customer = customer
        );
        self.set_restriction(tenant, customer, Some(now), now)
    }

    /// Lifts a restriction set by [`Desk::restrict_customer`].
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] for a customer the tenant does not have.
    pub fn lift_restriction(
        &mut self,
        tenant: TenantId,
        customer: CustomerId,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let _span = super::trace::op_span!(
            "desk.lift_restriction",
            tenant = tenant,
            customer = customer
        );
        self.set_restriction(tenant, customer, None, now)
    }

    /// Whether the customer's processing is restricted.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] for a customer the tenant does not have.
    pub fn is_restricted(&self, tenant: TenantId, customer: CustomerId) -> Result<bool> {
        Ok(self
            .live_customer(tenant, customer)?
            .restricted_at
            .is_some())
    }

    fn set_restriction(
        &mut self,
        tenant: TenantId,
        customer: CustomerId,
        at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        self.retrying(|desk| {
            let mut c = desk.live_customer(tenant, customer)?;
            if c.restricted_at.is_some() == at.is_some() {
                return Ok(());
            }
            c.restricted_at = at;
            c.updated_at = now;
            c.version += 1;
            let mut changes = ChangeSet::new(tenant);
            // The clocks of their conversations are not watched while restricted (no
            // warnings or breaches asking for replies that would be refused); after the
            // lift, the next tick reports what fell due meanwhile.
            for conv in desk.store.conversations_of(tenant, c.id)? {
                desk.sla_watch(tenant, conv.id, at.is_none(), &mut changes)?;
            }
            changes.push(Op::PutCustomer(c));
            desk.apply_changes(changes)
        })
    }
}

fn delete(r: &Record) -> Op {
    Op::DeleteRecord {
        kind: r.kind.clone(),
        key: r.key.clone(),
        version: r.version,
    }
}

/// A survey answer without free text (comments), or `None` when it has none.
fn strip_text(v: &serde_json::Value) -> Option<serde_json::Value> {
    let obj = v.as_object()?;
    let text: Vec<&String> = obj
        .keys()
        .filter(|k| matches!(k.as_str(), "comment" | "text" | "reason"))
        .collect();
    if text.is_empty() {
        return None;
    }
    let mut out = obj.clone();
    out.retain(|k, _| !matches!(k.as_str(), "comment" | "text" | "reason"));
    Some(serde_json::Value::Object(out))
}

/// `v` with every string equal to or containing `needle` emptied (profile snapshots in
/// merge records may carry the identifier in host attributes).
fn scrubbed(v: serde_json::Value, needle: &str) -> serde_json::Value {
    use serde_json::Value;
    match v {
        Value::String(s) if s.contains(needle) => Value::String(String::new()),
        Value::Array(a) => Value::Array(a.into_iter().map(|x| scrubbed(x, needle)).collect()),
        Value::Object(o) => Value::Object(
            o.into_iter()
                .map(|(k, x)| (k, scrubbed(x, needle)))
                .collect(),
        ),
        other => other,
    }
}
