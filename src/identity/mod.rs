//! Who a customer is: typed identifiers with normalised values.
//!
//! One identifier belongs to at most one customer per tenant. See `docs/identity.md`.

mod identifier;

pub use identifier::{Identifier, IdentifierKind};
