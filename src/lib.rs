//! # throughline
//!
//! The embeddable core of an omnichannel customer-support system (crate docs are
//! completed with the conversation core).

#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod channel;
pub mod conversation;
mod desk;
pub mod effect;
pub mod error;
pub mod id;
pub mod identity;
pub mod lang;
pub mod message;
pub mod routing;
pub mod sla;
pub mod store;
pub mod text;
pub mod triage;

pub use channel::{Channel, ChannelProfile, ChannelRegistry, Reach};
pub use conversation::{Conversation, Status};
pub use desk::{ConversationRef, Desk, DeskConfig, Ingested, ReplyOptions};
pub use effect::Effect;
pub use error::{Error, Result};
pub use id::{
    AgentId, ConversationId, CustomerId, IdGen, MergeId, MessageId, SeededIdGen, TenantId,
};
pub use identity::{Customer, Identifier, IdentifierKind, IdentifierRecord};
pub use message::{Attachment, Author, Delivery, Direction, Inbound, Message, Outbound};
