//! Apple Push Notification service support for mdmkit.
//!
//! This crate will own the push-certificate lifecycle (parsing, CSR generation, vendor
//! signing, install/renew/delete, expiry monitoring) and the HTTP/2 APNs client that
//! implements core's `Pusher`. It exposes no API yet: nothing here pretends to work before
//! it does.
#![forbid(unsafe_code)]
#![warn(missing_docs)]
