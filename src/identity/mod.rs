//! Who a customer is: typed identifiers with normalised values, customer profiles, the
//! records that link the two, resolution rules, and merges.
//!
//! One identifier belongs to at most one customer per tenant. See `docs/identity.md`.

mod identifier;
mod merge;
mod merge_plan;
mod record;
pub(crate) mod resolve;
mod rules;
pub(crate) mod similar;
mod unmerge_plan;

pub use identifier::{Identifier, IdentifierKind, MAX_IDENTIFIER_LEN};
pub use merge::{
    merge_profiles, profile_diff, unfill_profile, FieldDiff, MergeRecord, MergeSuggestion,
};
pub(crate) use merge_plan::{plan_merge, refuse_self_merge, MergeSnapshot};
pub use record::{Customer, IdentifierRecord};
pub use rules::IdentityRules;
pub(crate) use unmerge_plan::{plan_unmerge, refuse_undone, refuse_unmerge, UnmergeSnapshot};
