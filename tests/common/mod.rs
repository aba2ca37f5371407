//! Checks shared by the store-specific test files.
#![allow(dead_code)]

pub mod faults;
pub mod isolation;
#[cfg(feature = "sqlite")]
pub mod lockstep;
pub mod processes;
