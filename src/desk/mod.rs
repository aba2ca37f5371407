//! [`Desk`]: the engine that ties identity, conversations and policies together.
//!
//! Every method takes `now` and never reads a clock; every state change is one
//! [`ChangeSet`](crate::store::ChangeSet) applied atomically by the [`Store`].

mod agent;
mod ahead;
pub(crate) mod batch;
mod close;
mod config;
mod delivery;
mod followups;
mod identity;
mod inbox;
mod ingest;
mod knowledge;
mod language;
mod metrics;
mod operations;
mod pages;
mod pipeline;
mod prepare;
mod privacy;
mod profile;
mod retention;
mod routing;
pub(crate) mod routing_due;
pub(crate) mod routing_store;
mod settings;
mod sla;
mod tags;
mod topics;
pub(crate) mod trace;
mod triage;

pub use agent::ReplyOptions;
pub use config::DeskConfig;
pub use ingest::Ingested;
pub use prepare::{Prepared, Preparer};
pub use profile::{ConversationSummary, CustomerView, ProfileUpdate, RecentContact};
pub use topics::Split;

use chrono::{DateTime, Utc};

use crate::channel::ChannelRegistry;
use crate::conversation::Conversation;
use crate::error::{Error, Result};
use crate::id::{ConversationId, CustomerId, IdGen, TenantId};
use crate::identity::{Customer, Identifier, IdentifierRecord};
use crate::message::Message;
use crate::store::Store;

/// Names a conversation by its tenant and id: every read takes its tenant, and an id of
/// another tenant is refused as not found.
///
/// Made from a `(TenantId, ConversationId)` pair, which is what the Desk's methods take.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ConversationRef {
    /// The tenant.
    pub tenant: TenantId,
    /// The conversation.
    pub id: ConversationId,
}

impl From<(TenantId, ConversationId)> for ConversationRef {
    fn from((tenant, id): (TenantId, ConversationId)) -> Self {
        ConversationRef { tenant, id }
    }
}

/// The support engine. See the crate docs for a tour.
///
/// ```
/// use throughline::{Channel, Desk, DeskConfig, Identifier, Inbound, TenantId, store::MemoryStore};
/// let t0 = chrono::DateTime::parse_from_rfc3339("2026-03-02T09:00:00Z")?.to_utc();
/// let tenant = TenantId::new_v7();
/// let mut desk = Desk::new(MemoryStore::new(), DeskConfig::default());
/// let got = desk.ingest(Inbound::new(tenant, Channel::Sms, Identifier::phone("+31612345678", None)?,
///                                    "sms-1", "Where is my parcel?"), t0)?;
/// assert!(!got.duplicate);
/// assert_eq!(desk.conversation((tenant, got.conversation))?.customer, got.customer);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Desk<S: Store> {
    store: S,
    config: DeskConfig,
    ids: Box<dyn IdGen>,
    metrics: metrics::MetricsCache,
    /// Work queued for after an operation's commit, and work a failure deferred.
    followups: followups::FollowUps,
    /// The routing engine, a cache of the routing state in the store (created on first
    /// use when routing is on).
    router: Option<crate::routing::Router>,
    /// The stored versions behind the router's cache.
    routing: routing_store::RoutingCache,
    /// The desk's own configuration and the tenants' configurations built over it
    /// (`config` is the one of the tenant the current operation entered).
    settings: settings::SettingsCache,
    /// The current ingest's read-ahead (see [`crate::store::ReadPlan`]).
    ahead: ahead::Ahead,
    /// Group commit: the open batch, if any (see [`Desk::begin_batch`]), and whether a
    /// lost batch left the router out of step with the store.
    batch: batch::Batching,
}

/// A desk moves to another thread (a worker's, [`crate::hosting`]'s) whenever its store
/// can: checked when the crate compiles.
#[allow(dead_code)]
fn desk_is_send<S: Store + Send>(desk: Desk<S>) -> impl Send {
    desk
}

impl<S: Store> Desk<S> {
    /// A desk on `store` with `config`.
    ///
    /// # Panics
    ///
    /// When `config` is invalid (see [`DeskConfig::validate`]) or, without a
    /// [`DeskConfig::rng_seed`], when the operating system's random source fails; use
    /// [`Desk::try_new`] to get an error instead.
    pub fn new(store: S, config: DeskConfig) -> Self {
        match Self::try_new(store, config) {
            Ok(desk) => desk,
            Err(e) => panic!("invalid DeskConfig: {e}"),
        }
    }

    /// A desk on `store` with `config`, or an error when the configuration cannot work.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] from [`DeskConfig::validate`], or when no
    /// [`DeskConfig::rng_seed`] is set and the operating system's random source fails.
    pub fn try_new(store: S, config: DeskConfig) -> Result<Self> {
        config.validate()?;
        let ids = config.make_id_gen()?;
        Ok(Desk {
            store,
            settings: settings::SettingsCache::new(config.clone()),
            config,
            ids,
            metrics: metrics::MetricsCache::default(),
            followups: followups::FollowUps::default(),
            router: None,
            routing: routing_store::RoutingCache::default(),
            ahead: ahead::Ahead::default(),
            batch: batch::Batching::default(),
        })
    }

    /// The store (for reads and for tests).
    pub fn store(&self) -> &S {
        &self.store
    }

    /// Consumes the desk and returns its store. An open batch ([`Desk::begin_batch`]) is
    /// rolled back first, so the store comes back with no transaction open.
    pub fn into_store(mut self) -> S {
        if self.batch.take().is_some() {
            // Only a discard: if it fails, the store's own drop rolls the transaction back.
            let _ = self.store.end_batch(false);
        }
        self.store
    }

    /// The configuration: every tenant's defaults (a tenant's own settings are read with
    /// [`Desk::tenant_settings`]).
    pub fn config(&self) -> &DeskConfig {
        &self.settings.base
    }

    /// The channel registry, to enable and disable channels at run time (for every
    /// tenant; a tenant's own settings still apply over it).
    pub fn channels_mut(&mut self) -> &mut ChannelRegistry {
        self.settings.reset();
        &mut self.settings.base.channels
    }

    /// Replaces the desk's generator of ids and erasure keys (for example with one of
    /// your own).
    pub fn set_id_gen(&mut self, ids: Box<dyn IdGen>) {
        self.ids = ids;
    }

    /// Enters `stage` for the configured probe, if any, until the guard drops.
    pub(crate) fn stage(&self, stage: crate::probe::Stage) -> crate::probe::StageGuard {
        crate::probe::StageGuard::enter(self.config.probe.as_ref(), stage)
    }

    pub(crate) fn next_uuid(&mut self, now: DateTime<Utc>) -> uuid::Uuid {
        self.ids.next_uuid(now)
    }

    /// 32 secret bytes from the desk's generator (an erasure key).
    pub(crate) fn next_secret(&mut self, now: DateTime<Utc>) -> [u8; 32] {
        self.ids.secret(now)
    }

    /// Runs `op` again when it lost a race with another writer.
    pub(crate) fn retrying<T>(&mut self, mut op: impl FnMut(&mut Self) -> Result<T>) -> Result<T> {
        let mut attempt = 0;
        loop {
            match op(self) {
                Err(Error::Conflict(_)) if attempt < self.config.conflict_retries => attempt += 1,
                other => return other,
            }
        }
    }

    /// Looks a conversation up in its tenant.
    pub(crate) fn load_conversation(&self, r: ConversationRef) -> Result<Conversation> {
        self.store
            .conversation(r.tenant, r.id)?
            .ok_or_else(|| Error::not_found("conversation", r.id))
    }

    /// A conversation.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] when the tenant has no such conversation.
    pub fn conversation(&self, conversation: impl Into<ConversationRef>) -> Result<Conversation> {
        let r: ConversationRef = conversation.into();
        let _span = trace::op_span!("desk.conversation", tenant = r.tenant, conversation = r.id);
        self.load_conversation(r)
    }

    /// Every message of a conversation (including internal notes), oldest first.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] as for [`Desk::conversation`].
    pub fn messages(&self, conversation: impl Into<ConversationRef>) -> Result<Vec<Message>> {
        let r: ConversationRef = conversation.into();
        let _span = trace::op_span!("desk.messages", tenant = r.tenant, conversation = r.id);
        let c = self.load_conversation(r)?;
        self.store.messages_of(c.tenant, c.id)
    }

    /// The newest `limit` messages of a conversation (including internal notes), oldest of
    /// them first: the last page of a long history, read without the rest.
    ///
    /// ```
    /// use throughline::{Channel, Desk, DeskConfig, Identifier, Inbound, TenantId, store::MemoryStore};
    /// let t0 = chrono::DateTime::parse_from_rfc3339("2026-03-02T09:00:00Z")?.to_utc();
    /// let tenant = TenantId::new_v7();
    /// let ana = Identifier::email("ana@example.com")?;
    /// let mut desk = Desk::new(MemoryStore::new(), DeskConfig::pass_through());
    /// let mut conversation = None;
    /// for (n, body) in ["Hello", "My parcel is late", "Order 1234"].into_iter().enumerate() {
    ///     let at = t0 + chrono::TimeDelta::minutes(n as i64);
    ///     let inbound = Inbound::new(tenant, Channel::Email, ana.clone(), format!("m-{n}"), body);
    ///     conversation = Some(desk.ingest(inbound, at)?.conversation);
    /// }
    /// let last_two = desk.recent_messages((tenant, conversation.unwrap()), 2)?;
    /// let bodies: Vec<&str> = last_two.iter().map(|m| m.body.as_str()).collect();
    /// assert_eq!(bodies, ["My parcel is late", "Order 1234"]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] as for [`Desk::conversation`].
    pub fn recent_messages(
        &self,
        conversation: impl Into<ConversationRef>,
        limit: usize,
    ) -> Result<Vec<Message>> {
        let r: ConversationRef = conversation.into();
        let _span = trace::op_span!(
            "desk.recent_messages",
            tenant = r.tenant,
            conversation = r.id,
            limit = limit
        );
        let c = self.load_conversation(r)?;
        self.store.recent_messages(c.tenant, c.id, limit)
    }

    /// The `limit` messages of a conversation just before message `before`, oldest of
    /// them first: scrolling back from [`Desk::recent_messages`] a page at a time, each
    /// page one indexed read however long the history.
    ///
    /// ```
    /// use throughline::{Channel, Desk, DeskConfig, Identifier, Inbound, TenantId, store::MemoryStore};
    /// let t0 = chrono::DateTime::parse_from_rfc3339("2026-03-02T09:00:00Z")?.to_utc();
    /// let tenant = TenantId::new_v7();
    /// let ana = Identifier::email("ana@example.com")?;
    /// let mut desk = Desk::new(MemoryStore::new(), DeskConfig::pass_through());
    /// let mut conversation = None;
    /// for n in 0..5 {
    ///     let at = t0 + chrono::TimeDelta::minutes(n);
    ///     let inbound = Inbound::new(tenant, Channel::Email, ana.clone(), format!("m-{n}"), format!("message {n}"));
    ///     conversation = Some(desk.ingest(inbound, at)?.conversation);
    /// }
    /// let c = (tenant, conversation.unwrap());
    /// let last = desk.recent_messages(c, 2)?;
    /// let earlier = desk.messages_before(c, last[0].id, 2)?;
    /// let bodies: Vec<&str> = earlier.iter().map(|m| m.body.as_str()).collect();
    /// assert_eq!(bodies, ["message 1", "message 2"]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] for an unknown conversation, or a message `before` that is not
    /// one of the conversation's.
    pub fn messages_before(
        &self,
        conversation: impl Into<ConversationRef>,
        before: crate::id::MessageId,
        limit: usize,
    ) -> Result<Vec<Message>> {
        let r: ConversationRef = conversation.into();
        let _span = trace::op_span!(
            "desk.messages_before",
            tenant = r.tenant,
            conversation = r.id,
            limit = limit
        );
        let c = self.load_conversation(r)?;
        let anchor = self
            .store
            .message(c.tenant, before)?
            .filter(|m| m.conversation == c.id)
            .ok_or_else(|| Error::not_found("message", before))?;
        self.store
            .messages_before(c.tenant, c.id, anchor.order_key(), limit)
    }

    /// A customer's profile.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] when the tenant has no such customer.
    pub fn customer(&self, tenant: TenantId, customer: CustomerId) -> Result<Customer> {
        self.read_customer(tenant, customer)?
            .ok_or_else(|| Error::not_found("customer", customer))
    }

    /// Follows merge tombstones to the live customer.
    pub(crate) fn live_customer(&self, tenant: TenantId, customer: CustomerId) -> Result<Customer> {
        let mut c = self.customer(tenant, customer)?;
        // Merge chains are short; the bound only guards against a corrupted cycle.
        for _ in 0..1024 {
            match c.merged_into {
                Some(next) => c = self.customer(tenant, next)?,
                None => return Ok(c),
            }
        }
        Err(Error::Store {
            message: format!("merge chain from customer {customer} does not end"),
            source: None,
        })
    }

    /// The agent's view of a customer: every message across all conversations and
    /// channels, oldest first, each with its channel (internal notes included).
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] when the tenant has no such customer.
    pub fn timeline(&self, tenant: TenantId, customer: CustomerId) -> Result<Vec<Message>> {
        let _span = trace::op_span!("desk.timeline", tenant = tenant, customer = customer);
        let c = self.live_customer(tenant, customer)?;
        self.store.timeline(tenant, c.id, None)
    }

    /// The newest `limit` messages of the customer's timeline, oldest first.
    ///
    /// # Errors
    ///
    /// As [`Desk::timeline`].
    pub fn recent_timeline(
        &self,
        tenant: TenantId,
        customer: CustomerId,
        limit: usize,
    ) -> Result<Vec<Message>> {
        let _span = trace::op_span!(
            "desk.recent_timeline",
            tenant = tenant,
            customer = customer,
            limit = limit
        );
        let c = self.live_customer(tenant, customer)?;
        self.store.timeline(tenant, c.id, Some(limit))
    }

    /// Every conversation of a customer, oldest first.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] when the tenant has no such customer.
    pub fn conversations_of(
        &self,
        tenant: TenantId,
        customer: CustomerId,
    ) -> Result<Vec<Conversation>> {
        let _span = trace::op_span!(
            "desk.conversations_of",
            tenant = tenant,
            customer = customer
        );
        let c = self.live_customer(tenant, customer)?;
        self.store.conversations_of(tenant, c.id)
    }

    /// The customer an identifier belongs to, if any (following merges).
    ///
    /// # Errors
    ///
    /// Store failures only.
    pub fn resolve(&self, tenant: TenantId, identifier: &Identifier) -> Result<Option<CustomerId>> {
        let _span = trace::op_span!("desk.resolve", tenant = tenant);
        match self.store.identifier(tenant, identifier)? {
            Some(rec) => Ok(Some(self.live_customer(tenant, rec.customer)?.id)),
            None => Ok(None),
        }
    }

    /// Every identifier of a customer.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] when the tenant has no such customer.
    pub fn identifiers(
        &self,
        tenant: TenantId,
        customer: CustomerId,
    ) -> Result<Vec<IdentifierRecord>> {
        let _span = trace::op_span!("desk.identifiers", tenant = tenant, customer = customer);
        let c = self.live_customer(tenant, customer)?;
        self.store.identifiers_of(tenant, c.id)
    }
}
