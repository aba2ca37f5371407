//! The crate's one error type.
//!
//! Errors come in three families (after rustls): bad input from a channel or host
//! ([`Error::Invalid`], [`Error::BodyTooLarge`], [`Error::ChannelDisabled`], ...),
//! a failing store ([`Error::Store`], [`Error::Conflict`]) and API misuse
//! ([`Error::NotFound`], [`Error::InvalidTransition`], ...). Every variant's message says
//! what was wrong and with which value.

use std::fmt;

/// Result alias used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in `throughline`.
///
/// The enum is `#[non_exhaustive]`: later versions add variants.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A value failed validation. `field` names what was checked (for example
    /// `"email"`, `"body"`, `"external_id"`), `reason` says what was wrong with it.
    #[error("invalid {field}: {reason}")]
    Invalid {
        /// What was checked.
        field: &'static str,
        /// What was wrong, quoting the offending value where that helps.
        reason: String,
    },
    /// A message body is larger than the configured limit.
    #[error("body too large: {len} bytes, the limit is {limit} bytes")]
    BodyTooLarge {
        /// Size of the rejected body in bytes.
        len: usize,
        /// The configured limit in bytes.
        limit: usize,
    },
    /// Inbound or outbound traffic on a channel the host has disabled.
    #[error("channel {channel} is disabled for tenant {tenant}")]
    ChannelDisabled {
        /// The channel's name.
        channel: String,
        /// The tenant, as text.
        tenant: String,
    },
    /// The referenced entity does not exist in this tenant. An id of another tenant is
    /// reported exactly like a missing one, so no API can reveal another tenant's data.
    #[error("{kind} {id} not found")]
    NotFound {
        /// What was looked up (`"conversation"`, `"customer"`, ...).
        kind: &'static str,
        /// The id that was not found.
        id: String,
    },
    /// A conversation status change that the lifecycle does not allow.
    #[error("cannot change conversation {conversation} from {from} to {to}")]
    InvalidTransition {
        /// The conversation.
        conversation: String,
        /// Its current status.
        from: String,
        /// The requested status.
        to: String,
    },
    /// An operation that needs a conversation that is not closed.
    #[error("conversation {0} is closed; a new message from the customer opens a new one")]
    ConversationClosed(String),
    /// A customer merge or unmerge that is not allowed (self-merge, merge into a tombstone,
    /// cross-tenant, ...). Nothing was changed.
    #[error("merge refused: {0}")]
    MergeRefused(String),
    /// A write lost a race with another writer (a uniqueness or version check failed).
    /// Nothing was written; the operation may be retried.
    #[error("write conflict: {0}")]
    Conflict(String),
    /// The store failed (I/O, a full disk, a locked or read-only database, ...).
    /// Nothing of the failed operation was written.
    #[error("store failure: {message}")]
    Store {
        /// What the store was doing and what failed.
        message: String,
        /// The underlying error, if any.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
    /// The store is locked by another writer for longer than its busy timeout; nothing
    /// was written and the operation may be retried.
    #[error("store busy: {0}")]
    Busy(String),
    /// The customer's processing is restricted (GDPR art. 18): the data is kept but may
    /// not be acted on (no replies) until the restriction is lifted.
    #[error("customer {0} is restricted: data is kept but not processed")]
    Restricted(String),
    /// A configuration value that cannot work (for example a zero limit).
    #[error("invalid configuration: {0}")]
    Config(String),
}

impl Error {
    /// Shorthand for [`Error::Invalid`].
    pub fn invalid(field: &'static str, reason: impl fmt::Display) -> Self {
        Error::Invalid {
            field,
            reason: reason.to_string(),
        }
    }

    /// Shorthand for [`Error::NotFound`].
    pub fn not_found(kind: &'static str, id: impl fmt::Display) -> Self {
        Error::NotFound {
            kind,
            id: id.to_string(),
        }
    }

    /// Shorthand for [`Error::Store`] with an underlying error.
    pub fn store(
        message: impl fmt::Display,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Error::Store {
            message: message.to_string(),
            source: Some(Box::new(source)),
        }
    }

    /// True for errors caused by the input or the call (retrying the same call cannot
    /// succeed), false for store failures, conflicts and a busy store (a retry may
    /// succeed).
    pub fn is_input_error(&self) -> bool {
        !matches!(
            self,
            Error::Store { .. } | Error::Conflict(_) | Error::Busy(_)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retryable_errors_are_not_input_errors() {
        assert!(!Error::Busy("locked".into()).is_input_error());
        assert!(!Error::Conflict("version".into()).is_input_error());
        let store = Error::Store {
            message: "disk full".into(),
            source: None,
        };
        assert!(!store.is_input_error());
    }

    #[test]
    fn bad_input_and_misuse_are_input_errors() {
        assert!(Error::invalid("email", "no @").is_input_error());
        assert!(Error::not_found("conversation", "x").is_input_error());
        assert!(Error::Config("zero".into()).is_input_error());
        assert!(Error::Restricted("c".into()).is_input_error());
    }
}
