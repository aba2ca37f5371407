//! # throughline
//!
//! The embeddable core of an omnichannel customer-support system (crate docs are
//! completed with the conversation core).

#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod channel;
pub mod error;
pub mod id;
pub mod identity;
pub mod lang;
pub mod routing;
pub mod sla;
pub mod text;
pub mod triage;

pub use channel::{Channel, ChannelProfile, ChannelRegistry, Reach};
pub use error::{Error, Result};
pub use id::{
    AgentId, ConversationId, CustomerId, IdGen, MergeId, MessageId, SeededIdGen, TenantId,
};
pub use identity::{Identifier, IdentifierKind};
