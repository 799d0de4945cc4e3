//! The protocol core of mdmkit: Apple MDM commands, check-in messages, command results,
//! the data model and the persistence traits.
//!
//! Everything in this crate that parses or builds protocol messages is sans-IO: it never
//! touches the network or the disk.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod enrollment_id;
pub mod error;
pub mod push;
pub mod secret;
pub mod status;
pub mod store;

pub use enrollment_id::EnrollmentId;
pub use error::Error;
pub use secret::Secret;
pub use status::CommandStatus;

/// The result type of the core crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
