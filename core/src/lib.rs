//! The protocol core of mdmkit: Apple MDM commands, check-in messages, command results,
//! the data model and the persistence traits.
//!
//! Everything in this crate that parses or builds protocol messages is sans-IO: it never
//! touches the network or the disk.
//!
//! ```
//! use mdmkit_core::command::{CommandEnvelope, DeviceLock};
//!
//! let lock = DeviceLock::new().with_message("Call IT on 555-0100");
//! let envelope = CommandEnvelope::with_uuid("0001", lock);
//! let xml = envelope.to_xml().unwrap();
//! assert_eq!(CommandEnvelope::decode(&xml).unwrap(), envelope);
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod checkin;
pub mod codec;
pub mod command;
pub mod ddm;
pub mod engine;
pub mod enrollment_id;
pub mod error;
pub mod json;
pub mod notify;
pub mod openssl_legacy;
pub mod plist_io;
pub mod profile;
pub mod push;
pub mod result;
pub mod schema;
pub mod secret;
pub mod secret_file;
pub mod status;
pub mod store;

pub use checkin::{Checkin, CheckinMessage};
pub use codec::Data;
pub use command::{Command, CommandEnvelope, CommandResponse};
pub use enrollment_id::EnrollmentId;
pub use error::Error;
pub use plist_io::{DecodeLimits, PlistFormat};
pub use result::{CommandResult, ErrorChainItem};
pub use secret::Secret;
pub use status::CommandStatus;

/// The result type of the core crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
