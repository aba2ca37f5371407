//! Identifiers: `Copy` newtypes over UUIDs, and the [`IdGen`] that makes them.
//!
//! Every entity id is a UUID (version 7 when made by [`SeededIdGen`] or `new_v7`), shown and
//! parsed in the usual hyphenated form. The core never reads a clock and never calls a
//! random source of its own: ids (and the tenant's erasure key) come from the one
//! [`IdGen`] of the `Desk`, which receives the operation's `now`. By default that is a
//! [`SeededIdGen`] seeded from the operating system once, when the desk is made
//! ([`DeskConfig::rng_seed`](crate::DeskConfig::rng_seed) sets the seed instead).

use std::fmt;
use std::str::FromStr;

use chacha20::rand_core::{Rng, SeedableRng};
use chacha20::ChaCha20Rng;
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

            /// A fresh random UUIDv7 id from the system clock and the operating system's
            /// random source.
            ///
            /// For hosts (creating tenants and agents, for example). The library itself
            /// never calls this: its operations take `now` and mint ids with the desk's
            /// [`IdGen`].
            // The one sanctioned clock read: a host-side constructor, outside every operation.
            #[allow(clippy::disallowed_methods)]
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

/// Source of new ids and secrets. The core asks it for every id it creates, passing the
/// operation's `now`, so that a seeded generator makes every run reproducible.
///
/// # Contract
///
/// Implementations must never return the same UUID twice for one `Desk`. They may use
/// `now` (UUIDv7 embeds a millisecond timestamp) but must not read a clock themselves if
/// runs are to be replayable. Secrets ([`IdGen::secret`]) must be unguessable by anyone
/// who does not know the generator's seed.
pub trait IdGen: fmt::Debug + Send {
    /// Returns a new, never-before-returned UUID.
    fn next_uuid(&mut self, now: DateTime<Utc>) -> Uuid;

    /// Returns 32 secret random bytes (the key of a tenant's erasure hashes).
    ///
    /// The default takes the 62 random bits of each of four fresh UUIDv7 ids from
    /// [`IdGen::next_uuid`]; a generator with a random source of its own should override
    /// it.
    fn secret(&mut self, now: DateTime<Utc>) -> [u8; 32] {
        let mut out = [0u8; 32];
        for chunk in out.chunks_exact_mut(8) {
            let (_, low) = self.next_uuid(now).as_u64_pair();
            chunk.copy_from_slice(&low.to_le_bytes());
        }
        out
    }
}

/// The default [`IdGen`]: UUIDv7 ids whose timestamp is the operation's `now` and whose
/// random bits, like its secrets, come from one ChaCha20 stream (a cryptographically
/// secure generator).
///
/// Seeded from the operating system ([`SeededIdGen::from_os`], what a `Desk` does unless
/// its config sets [`rng_seed`](crate::DeskConfig::rng_seed)), its ids are unguessable and
/// two desks never mint the same ones. Two generators built with the same seed and fed
/// the same `now`s produce the same ids and secrets, for deterministic replays and tests.
///
/// ```
/// use throughline::{IdGen, SeededIdGen};
/// let now = chrono::DateTime::parse_from_rfc3339("2026-03-02T09:00:00Z")?.to_utc();
/// let (mut a, mut b) = (SeededIdGen::from_seed([7; 32]), SeededIdGen::from_seed([7; 32]));
/// assert_eq!(a.next_uuid(now), b.next_uuid(now));
/// assert_eq!(a.next_uuid(now).get_version_num(), 7);
/// let mut os = SeededIdGen::from_os()?;
/// assert_ne!(os.next_uuid(now), SeededIdGen::from_seed([7; 32]).next_uuid(now));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct SeededIdGen {
    rng: ChaCha20Rng,
    counter: u64,
}

impl SeededIdGen {
    /// A generator whose stream is determined by `seed`: the same as
    /// [`SeededIdGen::from_seed`] with `seed`'s little-endian bytes first and zeros after.
    pub fn new(seed: u64) -> Self {
        Self::from_seed(seed_from_u64(seed))
    }

    /// A generator whose stream is determined by the 32-byte `seed`.
    pub fn from_seed(seed: [u8; 32]) -> Self {
        Self {
            rng: ChaCha20Rng::from_seed(seed),
            counter: 0,
        }
    }

    /// A generator seeded from the operating system's random source.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] when the operating system has no random source to give.
    pub fn from_os() -> Result<Self, Error> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| {
            Error::Config(format!(
                "no id seed: the operating system's random source failed ({e}); set rng_seed"
            ))
        })?;
        Ok(Self::from_seed(seed))
    }
}

/// The 32-byte seed a `u64` seed stands for: its little-endian bytes, then zeros. Used by
/// [`SeededIdGen::new`] and [`DeskConfig::id_seed`](crate::DeskConfig::id_seed).
pub(crate) fn seed_from_u64(seed: u64) -> [u8; 32] {
    let mut out = [0u8; 32];
    out[..8].copy_from_slice(&seed.to_le_bytes());
    out
}

impl fmt::Debug for SeededIdGen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The stream's state would let a reader predict every later id and secret.
        f.debug_struct("SeededIdGen").finish_non_exhaustive()
    }
}

impl Clone for SeededIdGen {
    /// A generator at the same point of the same stream (the two then mint the same ids).
    fn clone(&self) -> Self {
        let mut rng = ChaCha20Rng::from_seed(self.rng.get_seed());
        rng.set_stream(self.rng.get_stream());
        rng.set_word_pos(self.rng.get_word_pos());
        Self {
            rng,
            counter: self.counter,
        }
    }
}

impl Default for SeededIdGen {
    /// The fixed seed `0x7468_726f_7567_686c` ("throughl"), for tests that want any
    /// reproducible stream; a `Desk` seeds from the operating system instead.
    fn default() -> Self {
        Self::new(0x7468_726f_7567_686c)
    }
}

impl IdGen for SeededIdGen {
    fn next_uuid(&mut self, now: DateTime<Utc>) -> Uuid {
        let millis = u64::try_from(now.timestamp_millis()).unwrap_or(0) & 0xFFFF_FFFF_FFFF;
        self.counter = self.counter.wrapping_add(1);
        // 48-bit timestamp, version 7, 12 bits of counter, variant, 62 random bits.
        let rand = self.rng.next_u64();
        let hi = (millis << 16) | 0x7000 | (self.counter & 0x0FFF);
        let lo = (rand & 0x3FFF_FFFF_FFFF_FFFF) | 0x8000_0000_0000_0000;
        Uuid::from_u64_pair(hi, lo)
    }

    fn secret(&mut self, _now: DateTime<Utc>) -> [u8; 32] {
        let mut out = [0u8; 32];
        self.rng.fill_bytes(&mut out);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_ids_are_v7_with_the_timestamp_of_now() {
        let now = DateTime::parse_from_rfc3339("2026-03-02T09:00:00.123Z")
            .unwrap()
            .to_utc();
        let mut ids = SeededIdGen::new(5);
        for _ in 0..3 {
            let id = ids.next_uuid(now);
            assert_eq!(id.get_version_num(), 7);
            assert_eq!(id.get_variant(), uuid::Variant::RFC4122);
            let (secs, nanos) = id.get_timestamp().unwrap().to_unix();
            assert_eq!((secs, nanos), (1_772_442_000, 123_000_000), "{id}");
        }
    }

    #[test]
    fn a_seed_fixes_ids_and_secrets_and_the_os_seed_differs() {
        let now = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let (mut a, mut b) = (
            SeededIdGen::from_seed([9; 32]),
            SeededIdGen::from_seed([9; 32]),
        );
        assert_eq!(a.next_uuid(now), b.next_uuid(now));
        assert_eq!(a.secret(now), b.secret(now));
        let mut c = a.clone();
        assert_eq!(
            a.next_uuid(now),
            c.next_uuid(now),
            "a clone continues the stream"
        );
        assert_ne!(a.secret(now), a.secret(now), "secrets are fresh");
        let mut os = SeededIdGen::from_os().unwrap();
        let mut other = SeededIdGen::from_os().unwrap();
        assert_ne!(os.next_uuid(now), other.next_uuid(now));
        assert_ne!(os.secret(now), other.secret(now));
        assert_eq!(
            SeededIdGen::new(3).next_uuid(now),
            SeededIdGen::from_seed(seed_from_u64(3)).next_uuid(now)
        );
    }

    #[test]
    fn the_default_secret_uses_the_random_bits_of_fresh_ids() {
        #[derive(Debug)]
        struct Fixed(u64);
        impl IdGen for Fixed {
            fn next_uuid(&mut self, _now: DateTime<Utc>) -> Uuid {
                self.0 += 1;
                Uuid::from_u64_pair(0x7000, 0x8000_0000_0000_0000 | self.0)
            }
        }
        let now = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let secret = Fixed(0).secret(now);
        assert_eq!(secret[..8], (0x8000_0000_0000_0001u64).to_le_bytes());
        assert_eq!(secret[24..], (0x8000_0000_0000_0004u64).to_le_bytes());
    }

    #[test]
    fn seed_text_is_not_in_the_debug_output() {
        assert_eq!(format!("{:?}", SeededIdGen::new(1)), "SeededIdGen { .. }");
    }

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
