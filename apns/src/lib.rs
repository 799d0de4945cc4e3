//! Apple Push Notification service support for mdmkit.
//!
//! [`client`] is the HTTP/2 APNs client that implements core's
//! [`Pusher`](mdmkit_core::push::Pusher); `mock` (feature `mock`) is a loopback APNs
//! server for tests, benchmarks and integrators.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod client;
pub mod error;
#[cfg(feature = "mock")]
pub mod mock;

pub use error::Error;
