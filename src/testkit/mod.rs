//! Tools for testing stores and the code above them (feature `testkit`, off by default):
//! the [`conformance`] suite every [`Store`](crate::store::Store) must pass, the
//! fault-injecting [`FaultyStore`] and the timing [`TimedStore`].
//!
//! None of it is needed to run a desk, so a host's build leaves it out. A host that
//! implements its own store turns the feature on for its tests:
//!
//! ```toml
//! [dev-dependencies]
//! throughline = { version = "0.1", features = ["testkit"] }
//! ```
//!
//! This module sits above both the store and the desk: the conformance suite drives a
//! [`Desk`](crate::Desk) over the store it checks.

pub mod conformance;
mod faulty;
mod timed;

pub use faulty::{FaultMode, FaultyStore};
pub use timed::TimedStore;
