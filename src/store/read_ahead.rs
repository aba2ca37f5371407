//! The snapshot an ingest decides from, read in one go.
//!
//! An inbound message's ingest reads the message a redelivery would duplicate, the
//! sender's identifiers, their owners, the owners' open conversations and a few records
//! (the tenant's privacy secret, the customer's language evidence, the conversation's SLA
//! clocks). The `Desk` asks for all of them in one [`ReadPlan`] through
//! [`Store::read_ahead`] and decides from the [`ReadAhead`] it gets back; it goes to the
//! store again only for what the plan could not name (a customer merged into another, a
//! conversation a thread hint leads to). A store whose reads are round trips (a
//! database server) answers the plan in one; an embedded store answers nothing, and each
//! read goes to it when the ingest makes it (building the snapshot would cost more than
//! the reads: see `docs/performance.md`).
//!
//! Writes are still checked by version in [`Store::apply`], so a read-ahead that another
//! writer overtakes ends in a conflict and a retry, exactly like separate reads.

use crate::channel::Channel;
use crate::conversation::Conversation;
use crate::error::Result;
use crate::id::{CustomerId, TenantId};
use crate::identity::{Customer, Identifier, IdentifierRecord};
use crate::message::Message;
use crate::store::{Record, Store};

/// What an operation is about to read: the reads an inbound message's ingest needs,
/// answered at once by [`Store::read_ahead`] (on a database server, one round trip
/// instead of one per read).
///
/// ```
/// use throughline::store::{read_by_parts, MemoryStore, ReadPlan};
/// use throughline::{Channel, Identifier, TenantId};
/// let ana = Identifier::email("ana@example.com")?;
/// let plan = ReadPlan {
///     dedup: Some((&Channel::Sms, "SM123")),
///     identifiers: vec![&ana],
///     ..ReadPlan::default()
/// };
/// let ahead = read_by_parts(&MemoryStore::new(), TenantId::new_v7(), &plan)?;
/// assert_eq!(ahead.duplicate(&Channel::Sms, "SM123"), Some(None)); // read: no such message
/// assert_eq!(ahead.identifier(&ana), Some(None)); // read: unknown
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadPlan<'a> {
    /// The `(channel, external_id)` of the message a redelivery would duplicate.
    pub dedup: Option<(&'a Channel, &'a str)>,
    /// Identifiers to resolve. Their owners (as stored, merge tombstones included) and
    /// each owner's open conversation ([`Store::open_conversation`]) come with them.
    pub identifiers: Vec<&'a Identifier>,
    /// Records by `(kind, key)`.
    pub records: &'a [(&'a str, &'a str)],
    /// Kinds of records keyed by an owner's customer id (its `Display` form).
    pub owner_records: &'a [&'a str],
    /// Kinds of records keyed by an owner's open conversation id (its `Display` form).
    pub conversation_records: &'a [&'a str],
}

/// What a [`Store::read_ahead`] found: complete answers to the parts of a [`ReadPlan`]
/// it read, nothing for the parts it did not.
///
/// Each lookup returns `None` for "not read ahead: ask the store", and `Some(answer)`
/// otherwise, where the answer itself may be "does not exist".
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReadAhead {
    /// The planned duplicate lookup and its answer.
    pub duplicate: Option<((Channel, String), Option<Message>)>,
    /// Each planned identifier with its record, if it has one.
    pub identifiers: Vec<(Identifier, Option<IdentifierRecord>)>,
    /// The owners of the identifiers that have one.
    pub customers: Vec<Customer>,
    /// Each owner's open conversation, if it has one.
    pub open_conversations: Vec<(CustomerId, Option<Conversation>)>,
    /// Each record read, by `(kind, key)`, with the record if it exists.
    pub records: Vec<((String, String), Option<Record>)>,
}

impl ReadAhead {
    /// True when nothing was read ahead.
    pub fn is_empty(&self) -> bool {
        self.duplicate.is_none()
            && self.identifiers.is_empty()
            && self.customers.is_empty()
            && self.open_conversations.is_empty()
            && self.records.is_empty()
    }

    /// The message stored under `(channel, external_id)`, if that lookup was read ahead.
    pub fn duplicate(&self, channel: &Channel, external_id: &str) -> Option<Option<&Message>> {
        match &self.duplicate {
            Some(((c, e), m)) if c == channel && e == external_id => Some(m.as_ref()),
            _ => None,
        }
    }

    /// The record of `identifier`, if it was read ahead.
    pub fn identifier(&self, identifier: &Identifier) -> Option<Option<&IdentifierRecord>> {
        self.identifiers
            .iter()
            .find(|(i, _)| i == identifier)
            .map(|(_, r)| r.as_ref())
    }

    /// The customer `id`, if it was read ahead (a customer that does not exist is never
    /// "read ahead": ask the store).
    pub fn customer(&self, id: CustomerId) -> Option<&Customer> {
        self.customers.iter().find(|c| c.id == id)
    }

    /// The open conversation of `customer`, if it was read ahead.
    pub fn open_conversation(&self, customer: CustomerId) -> Option<Option<&Conversation>> {
        self.open_conversations
            .iter()
            .find(|(c, _)| *c == customer)
            .map(|(_, conv)| conv.as_ref())
    }

    /// The record `(kind, key)`, if it was read ahead.
    pub fn record(&self, kind: &str, key: &str) -> Option<Option<&Record>> {
        self.records
            .iter()
            .find(|((k, n), _)| k == kind && n == key)
            .map(|(_, r)| r.as_ref())
    }
}

/// Answers a whole [`ReadPlan`] with the store's ordinary reads, one after another: the
/// reference a store's own [`Store::read_ahead`] must agree with (the conformance suite
/// checks it), and a ready implementation for a store that wants one.
///
/// # Errors
///
/// The first read's error.
pub fn read_by_parts<S: Store + ?Sized>(
    store: &S,
    tenant: TenantId,
    plan: &ReadPlan<'_>,
) -> Result<ReadAhead> {
    let n = plan.identifiers.len();
    let mut ahead = ReadAhead {
        duplicate: None,
        identifiers: Vec::with_capacity(n),
        customers: Vec::with_capacity(n),
        open_conversations: Vec::with_capacity(n),
        records: Vec::with_capacity(
            plan.records.len()
                + n * (plan.owner_records.len() + plan.conversation_records.len())
                + plan.conversation_records.len(),
        ),
    };
    if let Some((channel, external_id)) = plan.dedup {
        let found = store.message_by_external_id(tenant, channel, external_id)?;
        ahead.duplicate = Some((((*channel).clone(), external_id.to_owned()), found));
    }
    for &(kind, key) in plan.records {
        let found = store.record(tenant, kind, key)?;
        ahead
            .records
            .push(((kind.to_owned(), key.to_owned()), found));
    }
    for &ident in &plan.identifiers {
        if ahead.identifier(ident).is_some() {
            continue;
        }
        let rec = store.identifier(tenant, ident)?;
        if let Some(r) = &rec {
            if ahead.customer(r.customer).is_none() {
                if let Some(owner) = store.customer(tenant, r.customer)? {
                    let open = store.open_conversation(tenant, owner.id)?;
                    if !plan.owner_records.is_empty() {
                        let key = owner.id.to_string();
                        for &kind in plan.owner_records {
                            let found = store.record(tenant, kind, &key)?;
                            ahead.records.push(((kind.to_owned(), key.clone()), found));
                        }
                    }
                    if let (Some(conv), false) = (&open, plan.conversation_records.is_empty()) {
                        let key = conv.id.to_string();
                        for &kind in plan.conversation_records {
                            let found = store.record(tenant, kind, &key)?;
                            ahead.records.push(((kind.to_owned(), key.clone()), found));
                        }
                    }
                    ahead.open_conversations.push((owner.id, open));
                    ahead.customers.push(owner);
                }
            }
        }
        ahead.identifiers.push((ident.clone(), rec));
    }
    Ok(ahead)
}
