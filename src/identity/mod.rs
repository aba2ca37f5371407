//! Who a customer is: typed identifiers with normalised values, customer profiles and
//! the records that link the two.
//!
//! One identifier belongs to at most one customer per tenant. See `docs/identity.md`.

mod identifier;
mod record;

pub use identifier::{Identifier, IdentifierKind, MAX_IDENTIFIER_LEN};
pub use record::{Customer, IdentifierRecord};
