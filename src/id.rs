//! Identifiers: `Copy` newtypes over UUIDs, and the [`IdGen`] that makes them.
//!
//! Every entity id is a UUID (version 7 when made by [`SeededIdGen`] or `new_v7`), shown and
//! parsed in the usual hyphenated form. The core never calls a random source or a clock:
//! ids come from the [`IdGen`] in the `DeskConfig`, which receives the operation's `now`.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::Error;

macro_rules! id_type {
    ($(#[$meta:meta])* $name:ident, $kind:literal) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// Wraps an existing UUID.
            pub const fn from_uuid(uuid: Uuid) -> Self {
                Self(uuid)
            }

            /// The UUID inside.
            pub const fn as_uuid(&self) -> Uuid {
                self.0
            }

            /// A fresh random UUIDv7 id from the system clock and random source.
            ///
            /// For hosts (creating tenants, for example). The core itself never calls
            /// this; it uses the configured [`IdGen`].
            pub fn new_v7() -> Self {
                Self(Uuid::now_v7())
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0.hyphenated(), f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({})"), self.0.hyphenated())
            }
        }

        impl FromStr for $name {
            type Err = Error;
            fn from_str(s: &str) -> Result<Self, Error> {
                Uuid::parse_str(s.trim())
                    .map(Self)
                    .map_err(|e| Error::invalid($kind, format!("{s:?} is not a UUID: {e}")))
            }
        }

        impl From<Uuid> for $name {
            fn from(uuid: Uuid) -> Self {
                Self(uuid)
            }
        }
    };
}

id_type!(
    /// A tenant: one company using the host application. Every key is scoped by it.
    TenantId,
    "tenant id"
);
id_type!(
    /// A customer (a person or organisation contacting support) within a tenant.
    CustomerId,
    "customer id"
);
id_type!(
    /// A conversation (a ticket): one matter, possibly across several channels.
    ConversationId,
    "conversation id"
);
id_type!(
    /// One message, inbound, outbound or internal note.
    MessageId,
    "message id"
);
id_type!(
    /// A human agent (or a bot account) of the tenant.
    AgentId,
    "agent id"
);
id_type!(
    /// One recorded customer merge (see the identity graph).
    MergeId,
    "merge id"
);

/// Source of new ids. The core asks it for every id it creates, passing the operation's
/// `now`, so that a seeded generator makes every run reproducible.
///
/// # Contract
///
/// Implementations must never return the same UUID twice for one `Desk`. They may use
/// `now` (UUIDv7 embeds a millisecond timestamp) but must not read a clock themselves if
/// runs are to be replayable.
pub trait IdGen: fmt::Debug + Send {
    /// Returns a new, never-before-returned UUID.
    fn next_uuid(&mut self, now: DateTime<Utc>) -> Uuid;
}

/// The default [`IdGen`]: UUIDv7 ids whose timestamp is the operation's `now` and whose
/// random bits come from a seeded SplitMix64 stream.
///
/// Two desks built with the same seed and fed the same inputs produce the same ids.
///
/// ```
/// use throughline::{IdGen, SeededIdGen};
/// let now = chrono::Utc::now();
/// let (mut a, mut b) = (SeededIdGen::new(7), SeededIdGen::new(7));
/// assert_eq!(a.next_uuid(now), b.next_uuid(now));
/// assert_eq!(a.next_uuid(now).get_version_num(), 7);
/// ```
#[derive(Debug, Clone)]
pub struct SeededIdGen {
    state: u64,
    counter: u64,
}

impl SeededIdGen {
    /// A generator whose random bits are determined by `seed`.
    pub fn new(seed: u64) -> Self {
        Self {
            state: seed,
            counter: 0,
        }
    }

    fn next_u64(&mut self) -> u64 {
        // SplitMix64.
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

impl Default for SeededIdGen {
    fn default() -> Self {
        Self::new(0x7468_726f_7567_686c) // "throughl"
    }
}

impl IdGen for SeededIdGen {
    fn next_uuid(&mut self, now: DateTime<Utc>) -> Uuid {
        let millis = u64::try_from(now.timestamp_millis()).unwrap_or(0) & 0xFFFF_FFFF_FFFF;
        self.counter = self.counter.wrapping_add(1);
        // 48-bit timestamp, version 7, 12 bits of counter, variant, 62 random bits.
        let rand = self.next_u64();
        let hi = (millis << 16) | 0x7000 | (self.counter & 0x0FFF);
        let lo = (rand & 0x3FFF_FFFF_FFFF_FFFF) | 0x8000_0000_0000_0000;
        Uuid::from_u64_pair(hi, lo)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_through_text_and_serde() {
        let id = TenantId::new_v7();
        let parsed: TenantId = id.to_string().parse().unwrap();
        assert_eq!(parsed, id);
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, format!("\"{id}\""));
        assert_eq!(serde_json::from_str::<TenantId>(&json).unwrap(), id);
    }

    #[test]
    fn parsing_garbage_is_an_error_naming_the_kind() {
        let err = "not-a-uuid".parse::<CustomerId>().unwrap_err();
        assert!(err.to_string().contains("customer id"), "{err}");
    }

    #[test]
    fn seeded_ids_are_unique_and_reproducible() {
        let now = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let mut a = SeededIdGen::new(1);
        let ids: std::collections::HashSet<_> = (0..10_000).map(|_| a.next_uuid(now)).collect();
        assert_eq!(ids.len(), 10_000);
        let mut b = SeededIdGen::new(1);
        let mut c = SeededIdGen::new(1);
        assert_eq!(b.next_uuid(now), c.next_uuid(now));
        assert_ne!(
            SeededIdGen::new(2).next_uuid(now),
            SeededIdGen::new(3).next_uuid(now)
        );
    }
}
