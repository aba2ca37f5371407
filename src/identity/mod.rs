//! Who a customer is: typed identifiers with normalised values, customer profiles, the
//! records that link the two, resolution rules, and merges.
//!
//! One identifier belongs to at most one customer per tenant. See `docs/identity.md`.

mod identifier;
mod merge;
mod record;
pub mod resolve;
mod rules;

pub use identifier::{Identifier, IdentifierKind, MAX_IDENTIFIER_LEN};
pub use merge::{
    merge_profiles, profile_diff, unfill_profile, FieldDiff, MergeRecord, MergeSuggestion,
};
pub use record::{Customer, IdentifierRecord};
pub use rules::IdentityRules;
