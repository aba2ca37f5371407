//! # throughline
//!
//! The embeddable core of an omnichannel customer-support system. A host application (a
//! helpdesk, a shop's back office, a bank's contact centre) links it in, feeds it what
//! arrives from its channels, and gets back decisions: who this customer is, which
//! conversation the message belongs to, and what to send where. Storage and transports
//! belong to the host, behind traits; an in-memory store, SQLite (feature `sqlite`) and
//! PostgreSQL (feature `postgres`) ship.
//!
//! The promise to the end customer: *one company, one conversation, whatever the channel*.
//!
//! ```
//! use chrono::{DateTime, TimeDelta};
//! use throughline::{AgentId, Channel, Desk, DeskConfig, Effect, Identifier, Inbound, TenantId};
//! use throughline::store::MemoryStore;
//!
//! let t0 = DateTime::parse_from_rfc3339("2026-03-02T09:00:00Z")?.to_utc();
//! let mut desk = Desk::new(MemoryStore::new(), DeskConfig::default());
//! let tenant = TenantId::new_v7(); // hosts create tenants
//!
//! // A customer opens a web chat ...
//! let chat = Inbound::new(tenant, Channel::WebChat, Identifier::email("ana@example.com")?,
//!                         "chat-1", "I want to return the shoes from order 1042").sent_at(t0);
//! let got = desk.ingest(chat.clone(), t0)?;
//! // ... the chat provider delivers its webhook twice: one message is stored.
//! assert!(desk.ingest(chat, t0)?.duplicate);
//!
//! // An hour later she e-mails from the same address.
//! let t1 = t0 + TimeDelta::hours(1);
//! let mail = desk.ingest(Inbound::new(tenant, Channel::Email, Identifier::email("ana@EXAMPLE.com")?,
//!                                     "<m1@mail.example>", "Any news on my return?").sent_at(t1), t1)?;
//! assert_eq!(mail.conversation, got.conversation); // same conversation, channel switch recorded
//!
//! // The next day she writes on WhatsApp from a number the shop linked to her profile.
//! let phone = Identifier::whatsapp("+31612345678", None)?;
//! desk.link_identifier(tenant, got.customer, phone.clone(), true, t1)?;
//! let t2 = t0 + TimeDelta::days(1);
//! let wa = desk.ingest(Inbound::new(tenant, Channel::WhatsApp, phone, "wamid.1", "Hello?").sent_at(t2), t2)?;
//! assert_eq!((wa.customer, wa.conversation), (got.customer, got.conversation));
//!
//! // The agent sees one history, in order, with channels ...
//! let channels: Vec<Channel> = desk.timeline(tenant, got.customer)?.into_iter().map(|m| m.channel).collect();
//! assert_eq!(channels, [Channel::WebChat, Channel::Email, Channel::WhatsApp]);
//!
//! // ... and the reply goes out on the channel she used last.
//! let effects = desk.reply((tenant, got.conversation), AgentId::new_v7(), "Your refund is on its way", t2)?;
//! assert!(matches!(&effects[0], Effect::Send(out) if out.channel == Channel::WhatsApp));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## Design
//!
//! * **Sans-IO and deterministic.** Nothing reads a clock, opens a socket or sleeps: every
//!   call takes `now`, ids come from one [`IdGen`] (seeded from the OS, or from
//!   [`DeskConfig::rng_seed()`] for replays), decisions come back as [`Effect`]s.
//! * **The store is the source of truth.** Each `Desk` operation reads through the
//!   [`store::Store`] trait and writes one atomic [`store::ChangeSet`]; ingestion is
//!   idempotent by a unique `(tenant, channel, external_id)` key.
//! * **Tenant in every key.** Every read is scoped by [`TenantId`]; another tenant's ids
//!   read as not found.
//! * **Untrusted input never panics.** Every public function returns [`Result`] with an
//!   [`Error`] that names what was wrong.
//!
//! See [`guide`] for the architecture, the semantics and the performance figures in full.
//!
//! ## Features
//!
//! * `sqlite` (default): the embedded SQLite store, `store::SqliteStore`.
//! * `postgres`: the PostgreSQL store, `store::PostgresStore`: several hosts, one database.
//! * `lingua`: `lang::LinguaDetector`, a high-accuracy fallback language detector (the
//!   `lingua` crate): better on short texts, slower, with large models and a long build.
//! * `email`, `twilio`, `whatsapp`, `messenger`: the channel adapters in [`channels`]
//!   (provider payloads in, provider requests out; off by default).
//! * `testkit`: the store conformance suite and store wrappers for tests (fault injection,
//!   timing).
//!
//! ## Index
//!
//! * Take in a message: [`Desk::ingest`], [`Inbound`]; prepared on another thread:
//!   [`Desk::preparer`], [`Preparer`], [`Desk::ingest_prepared`].
//! * Answer, note, change status: [`Desk::reply`], [`Desk::note`], [`Desk::set_status`].
//! * Confirm delivery: [`Desk::outbox`], [`Desk::mark_sent`], [`Desk::mark_failed`]
//!   (retried on [`delivery::RetryPolicy`]), [`Desk::record_receipt`],
//!   [`Desk::record_consent`].
//! * Provider payloads in, provider requests out: [`channels`] (features `email`,
//!   `twilio`, `whatsapp`, `messenger`).
//! * Look up: [`Desk::timeline`], [`Desk::conversation`], [`Desk::resolve`].
//! * Identify: [`Identifier`], [`Desk::link_identifier`], [`IdentityRules`].
//! * Merge and undo: [`Desk::merge_customers`], [`Desk::unmerge`], [`Desk::merge_suggestions`].
//! * Profiles: [`Desk::update_profile`], [`Desk::customer_view`].
//! * Channels: [`Channel`], [`ChannelProfile`], [`ChannelRegistry`].
//! * Language and channel text: [`lang::WhatlangDetector`], [`lang::LanguageEvidence`],
//!   [`Desk::reply_localized`], [`text::render`], [`text::sms_info`].
//! * SLA: [`sla::BusinessCalendar`], [`sla::SlaPolicies`], [`Desk::tick`],
//!   [`Desk::next_wakeup`], [`Desk::sla_clocks`].
//! * Measure: [`Desk::report`], [`Desk::report_from_store`], [`Desk::record_csat`],
//!   [`Desk::record_nps`], [`metrics`].
//! * Self-service context: [`Desk::article_viewed`], [`Desk::self_service_context`],
//!   [`Desk::article_report`].
//! * Persist: [`store::Store`], [`store::MemoryStore`]; test a store of your own with
//!   `testkit::conformance` (feature `testkit`).
//! * Where the time goes: [`DeskConfig::probe`], and `probe::StageTimes` with
//!   `testkit::TimedStore` (feature `testkit`).

#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod channel;
pub mod channels;
pub mod conversation;
pub mod delivery;
mod desk;
pub mod effect;
pub mod error;
#[cfg(feature = "tokio")]
pub mod hosting;
pub mod id;
pub mod identity;
pub mod knowledge;
pub mod lang;
pub mod message;
pub mod metrics;
mod outbound;
pub mod privacy;
pub mod probe;
pub mod profile;
pub mod routing;
mod serde_time;
pub mod settings;
pub mod sla;
pub mod store;
#[cfg(any(test, feature = "testkit"))]
pub mod testkit;
pub mod text;
pub mod triage;

pub mod guide {
    //! Long-form documentation, from `docs/`.

    pub mod architecture {
        #![doc = include_str!("../docs/architecture.md")]
    }
    pub mod identity {
        #![doc = include_str!("../docs/identity.md")]
    }
    pub mod sla {
        #![doc = include_str!("../docs/sla.md")]
    }
    pub mod routing {
        #![doc = include_str!("../docs/routing.md")]
    }
    pub mod triage {
        #![doc = include_str!("../docs/triage.md")]
    }
    pub mod language {
        #![doc = include_str!("../docs/language.md")]
    }
    pub mod metrics {
        #![doc = include_str!("../docs/metrics.md")]
    }
    pub mod privacy {
        #![doc = include_str!("../docs/privacy.md")]
    }
    pub mod storage {
        #![doc = include_str!("../docs/storage.md")]
    }
    pub mod channels {
        #![doc = include_str!("../docs/channels.md")]
    }
    pub mod hosting {
        #![doc = include_str!("../docs/hosting.md")]
    }
    pub mod performance {
        #![doc = include_str!("../docs/performance.md")]
    }
    pub mod testing {
        #![doc = include_str!("../docs/testing.md")]
    }
}

pub use channel::{Channel, ChannelProfile, ChannelRegistry, Reach};
pub use conversation::{Conversation, Priority, Status, ThreadingPolicy};
pub use desk::{
    ConversationRef, ConversationSummary, CustomerView, Desk, DeskConfig, Ingested, Prepared,
    Preparer, ProfileUpdate, RecentContact, ReplyOptions, Split,
};
pub use effect::Effect;
pub use error::{Error, Result};
pub use id::{
    AgentId, ConversationId, CustomerId, IdGen, MergeId, MessageId, SeededIdGen, TenantId,
};
pub use identity::{
    Customer, Identifier, IdentifierKind, IdentifierRecord, IdentityRules, MergeRecord,
    MergeSuggestion,
};
pub use message::{Attachment, Author, Automated, Delivery, Direction, Inbound, Message, Outbound};
