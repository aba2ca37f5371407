//! The ingest's reads: one path, [`Desk::read_record`] and its siblings, served from the
//! store's answer to the ingest's [`crate::store::ReadPlan`] (read once per attempt) where
//! the store gave one, and from the store otherwise (a store that answers nothing ahead,
//! or what the plan cannot name: a merge's survivor, a conversation a hint leads to).

use std::cell::RefCell;

use crate::channel::Channel;
use crate::conversation::Conversation;
use crate::desk::language::LANG_KIND;
use crate::desk::privacy::{PRIVACY_KIND, SECRET_KEY};
use crate::desk::settings::{SETTINGS_KEY, SETTINGS_KIND};
use crate::desk::sla::SLA_KIND;
use crate::desk::triage::TRIAGE_KIND;
use crate::desk::Desk;
use crate::error::Result;
use crate::id::{ConversationId, CustomerId, TenantId};
use crate::identity::{Customer, Identifier, IdentifierRecord};
use crate::message::{Inbound, Message};
use crate::store::{ReadAhead, ReadPlan, Record, Store};

/// Records every ingest reads, by `(kind, key)`.
const INGEST_RECORDS: &[(&str, &str)] =
    &[(PRIVACY_KIND, SECRET_KEY), (SETTINGS_KIND, SETTINGS_KEY)];
/// Kinds of records an ingest reads keyed by the customer.
const CUSTOMER_RECORDS: &[&str] = &[LANG_KIND];
/// Kinds of records an ingest reads keyed by the conversation, by which steps are on:
/// SLA clocks when there are policies, the triage outcome when there is a catalogue.
fn conversation_records(sla: bool, triage: bool) -> &'static [&'static str] {
    match (sla, triage) {
        (true, true) => &[SLA_KIND, TRIAGE_KIND],
        (true, false) => &[SLA_KIND],
        (false, true) => &[TRIAGE_KIND],
        (false, false) => &[],
    }
}

/// The current ingest's snapshot: what the store answered for its [`ReadPlan`], plus
/// what the ingest knows without reading (records keyed by ids it has just minted).
///
/// Invariants: it holds the answers of one attempt of one ingest, for one tenant, and is
/// emptied before that attempt's change set is applied (answers are stale once it
/// lands); each answer is handed out once (moved, not copied: a second read of the same
/// thing goes to the store); a read for another tenant, or for something it does not
/// hold, goes to the store.
#[derive(Debug, Default)]
pub(crate) struct Ahead {
    current: RefCell<Option<(TenantId, ReadAhead)>>,
}

impl Ahead {
    /// Holds `ahead`, the store's answers for an ingest of `tenant`.
    fn hold(&mut self, tenant: TenantId, ahead: ReadAhead) {
        *self.current.get_mut() = Some((tenant, ahead));
    }

    /// Forgets the answers: later reads go to the store.
    fn forget(&mut self) {
        *self.current.get_mut() = None;
    }

    /// Takes an answer out of the snapshot of `tenant` with `take`; `None` when there is
    /// no snapshot of `tenant` or it does not hold that answer.
    fn take<T>(
        &self,
        tenant: TenantId,
        take: impl FnOnce(&mut ReadAhead) -> Option<T>,
    ) -> Option<T> {
        match &mut *self.current.borrow_mut() {
            Some((t, a)) if *t == tenant => take(a),
            _ => None,
        }
    }

    /// Notes that `key` is an id just minted in `tenant`: no record of `kinds` can be
    /// keyed by it yet, so their reads are answered "none" without asking the store.
    fn note_fresh(&mut self, tenant: TenantId, kinds: &[&str], key: String) {
        let Some((t, ahead)) = self.current.get_mut() else {
            return;
        };
        if *t != tenant {
            return;
        }
        for &kind in kinds {
            if ahead.record(kind, &key).is_none() {
                ahead.records.push(((kind.to_owned(), key.clone()), None));
            }
        }
    }
}

/// Removes the first entry of `entries` that `matches`, and returns its answer.
fn take_entry<K, V>(entries: &mut Vec<(K, V)>, matches: impl Fn(&K) -> bool) -> Option<V> {
    let i = entries.iter().position(|(k, _)| matches(k))?;
    Some(entries.swap_remove(i).1)
}

impl<S: Store> Desk<S> {
    /// Asks the store to read ahead what ingesting `inbound` will read; the answers serve
    /// this operation's reads until [`Desk::forget_read_ahead`].
    pub(crate) fn read_ahead_for(&mut self, inbound: &Inbound) -> Result<()> {
        let rules = &self.config.identity;
        let mut identifiers: Vec<&Identifier> = Vec::with_capacity(1 + inbound.also.len());
        for ident in std::iter::once(&inbound.from).chain(inbound.also.iter()) {
            if !identifiers.contains(&ident) && !rules.is_blocked(ident) {
                identifiers.push(ident);
            }
        }
        let plan = ReadPlan {
            dedup: Some((&inbound.channel, &inbound.external_id)),
            identifiers,
            records: INGEST_RECORDS,
            owner_records: CUSTOMER_RECORDS,
            conversation_records: self.conversation_records(),
        };
        let ahead = {
            let _span = super::trace::store_span!("store.read_ahead", tenant = inbound.tenant);
            self.store.read_ahead(inbound.tenant, &plan)?
        };
        // Kept even when empty: it also holds what this ingest knows without reading
        // (see `Ahead::note_fresh`).
        self.ahead.hold(inbound.tenant, ahead);
        Ok(())
    }

    /// Notes that `customer` was minted by this ingest: see [`Ahead::note_fresh`].
    pub(crate) fn note_new_customer(&mut self, tenant: TenantId, customer: CustomerId) {
        // Forgotten with the read-ahead, before the changes are applied; on a database
        // server each skipped read is a round trip.
        self.ahead
            .note_fresh(tenant, CUSTOMER_RECORDS, customer.to_string());
    }

    /// Notes that `conversation` was minted by this ingest: see [`Ahead::note_fresh`].
    pub(crate) fn note_new_conversation(&mut self, tenant: TenantId, conversation: ConversationId) {
        let kinds = self.conversation_records();
        self.ahead
            .note_fresh(tenant, kinds, conversation.to_string());
    }

    /// The conversation-keyed records this Desk's ingest steps read.
    fn conversation_records(&self) -> &'static [&'static str] {
        conversation_records(
            !self.config.sla.policies().is_empty(),
            !self.config.triage.catalogue.is_empty(),
        )
    }

    /// Ends the read-ahead: later reads go to the store.
    pub(crate) fn forget_read_ahead(&mut self) {
        self.ahead.forget();
    }

    /// [`Store::record`], through the read-ahead.
    pub(crate) fn read_record(
        &self,
        tenant: TenantId,
        kind: &str,
        key: &str,
    ) -> Result<Option<Record>> {
        let taken = self.ahead.take(tenant, |a| {
            take_entry(&mut a.records, |(k, n)| k == kind && n == key)
        });
        match taken {
            Some(r) => Ok(r),
            None => self.store.record(tenant, kind, key),
        }
    }

    /// [`Store::identifier`], through the read-ahead.
    pub(crate) fn read_identifier(
        &self,
        tenant: TenantId,
        identifier: &Identifier,
    ) -> Result<Option<IdentifierRecord>> {
        let taken = self.ahead.take(tenant, |a| {
            take_entry(&mut a.identifiers, |i| i == identifier)
        });
        match taken {
            Some(r) => Ok(r),
            None => self.store.identifier(tenant, identifier),
        }
    }

    /// [`Store::customer`], through the read-ahead.
    pub(crate) fn read_customer(
        &self,
        tenant: TenantId,
        id: CustomerId,
    ) -> Result<Option<Customer>> {
        let taken = self.ahead.take(tenant, |a| {
            let i = a.customers.iter().position(|c| c.id == id)?;
            Some(a.customers.swap_remove(i))
        });
        match taken {
            Some(c) => Ok(Some(c)),
            None => self.store.customer(tenant, id),
        }
    }

    /// [`Store::open_conversation`], through the read-ahead.
    pub(crate) fn read_open_conversation(
        &self,
        tenant: TenantId,
        customer: CustomerId,
    ) -> Result<Option<Conversation>> {
        let taken = self.ahead.take(tenant, |a| {
            take_entry(&mut a.open_conversations, |c| *c == customer)
        });
        match taken {
            Some(c) => Ok(c),
            None => self.store.open_conversation(tenant, customer),
        }
    }

    /// [`Store::message_by_external_id`], through the read-ahead.
    pub(crate) fn read_by_external_id(
        &self,
        tenant: TenantId,
        channel: &Channel,
        external_id: &str,
    ) -> Result<Option<Message>> {
        let taken = self.ahead.take(tenant, |a| match &a.duplicate {
            Some(((c, e), _)) if c == channel && e == external_id => {
                a.duplicate.take().map(|(_, m)| m)
            }
            _ => None,
        });
        match taken {
            Some(m) => Ok(m),
            None => self
                .store
                .message_by_external_id(tenant, channel, external_id),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::store::MemoryStore;
    use crate::testkit::{FaultMode, FaultyStore};
    use crate::{Channel, Desk, DeskConfig, Identifier, Inbound, TenantId};

    fn t(secs: i64) -> chrono::DateTime<chrono::Utc> {
        chrono::DateTime::from_timestamp(1_772_442_000 + secs, 0).expect("valid")
    }

    /// The component answers only for the tenant it holds, notes fresh ids only there,
    /// hands each answer out once, and answers nothing once forgotten.
    #[test]
    fn the_snapshot_answers_once_for_its_tenant_until_forgotten() {
        use super::{take_entry, Ahead};
        use crate::store::ReadAhead;
        let (a, b) = (TenantId::new_v7(), TenantId::new_v7());
        let record = |ahead: &Ahead, t: TenantId, kind: &str, key: &str| {
            ahead.take(t, |r| {
                take_entry(&mut r.records, |(k, n)| k == kind && n == key)
            })
        };
        let mut ahead = Ahead::default();
        ahead.note_fresh(a, &["sla"], "c1".into());
        assert_eq!(
            record(&ahead, a, "sla", "c1"),
            None,
            "nothing held, nothing noted"
        );
        ahead.hold(a, ReadAhead::default());
        ahead.note_fresh(b, &["sla"], "c1".into());
        ahead.note_fresh(a, &["sla", "triage"], "c1".into());
        assert_eq!(
            record(&ahead, b, "sla", "c1"),
            None,
            "another tenant: the store"
        );
        assert_eq!(record(&ahead, a, "sla", "c2"), None, "not known: the store");
        assert_eq!(
            record(&ahead, a, "sla", "c1"),
            Some(None),
            "known to be missing"
        );
        assert_eq!(record(&ahead, a, "sla", "c1"), None, "handed out once");
        ahead.forget();
        assert_eq!(record(&ahead, a, "triage", "c1"), None, "forgotten");
    }

    /// Store calls made by the second message of a returning customer (and its
    /// redelivery).
    fn calls_for_second_message(store: MemoryStore) -> u64 {
        let tenant = TenantId::new_v7();
        let mut desk = Desk::new(
            FaultyStore::new(store, 0, FaultMode::Once),
            DeskConfig::default(),
        );
        let from = Identifier::email("ana@example.com").expect("valid");
        let msg = |n: u32| {
            Inbound::new(
                tenant,
                Channel::WhatsApp,
                from.clone(),
                format!("m{n}"),
                "hello",
            )
        };
        desk.ingest(msg(1), t(0)).expect("first");
        let before = desk.store().calls();
        let got = desk.ingest(msg(2), t(120)).expect("second");
        assert!(!got.duplicate);
        let again = desk.ingest(msg(2), t(130)).expect("redelivery");
        assert!(again.duplicate && again.message.id == got.message.id);
        desk.store().calls() - before
    }

    /// A new customer's first message: the records keyed by the customer and the
    /// conversation it creates cannot exist, so they are not read — one read-ahead and
    /// one write, where reading them cost a round trip each.
    #[test]
    fn a_first_message_does_not_read_records_of_ids_it_mints() {
        let tenant = TenantId::new_v7();
        let mut desk = Desk::new(
            FaultyStore::new(MemoryStore::reading_ahead(), 0, FaultMode::Once),
            DeskConfig::default(),
        );
        let from = Identifier::email("ana@example.com").expect("valid");
        let first = Inbound::new(
            tenant,
            Channel::WhatsApp,
            from,
            "m1",
            "Hello, my parcel never arrived and I would like a refund please. I ordered it \
             two weeks ago and the tracking page has not changed since then.",
        );
        let got = desk.ingest(first, t(0)).expect("first");
        assert!(!got.duplicate);
        assert_eq!(got.message.language.as_deref(), Some("en"));
        assert_eq!(desk.store().calls(), 2, "read_ahead and apply only");
        // What the skipped reads would have started from was written as new: the
        // customer's language evidence and the conversation's clocks exist now.
        let evidence = desk
            .language_evidence(tenant, got.customer)
            .expect("evidence");
        assert!(!evidence.guesses.is_empty() || !evidence.detections.is_empty());
        assert!(desk
            .sla_clocks((tenant, got.conversation))
            .expect("clocks")
            .is_some());
    }

    /// With a store that reads ahead, a returning customer's message is one read-ahead
    /// and one apply, its redelivery one read-ahead and the stored conversation; without,
    /// each read is its own call.
    #[test]
    fn an_ingest_reads_through_the_read_ahead() {
        let ahead = calls_for_second_message(MemoryStore::reading_ahead());
        let parts = calls_for_second_message(MemoryStore::new());
        assert!(ahead <= 4, "{ahead} store calls with read-ahead");
        assert!(parts >= ahead + 5, "{parts} calls without vs {ahead} with");
    }
}
