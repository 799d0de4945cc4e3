//! Apple Push Notification service support for mdmkit.
//!
//! This crate owns the push-certificate lifecycle: parsing push certificates
//! ([`PushCertificate`]), the customer's key and CSR ([`CertificateRequest`]), MDM-vendor
//! signing for Apple's Push Certificates Portal ([`VendorSigner`]), install / renew / edit /
//! delete over core's store ([`PushCertLifecycle`]), expiry status ([`ExpiryStatus`]) and
//! monitoring ([`ExpiryMonitor`]), and notification by e-mail ([`SmtpNotifier`]).
//!
//! [`client`] is the HTTP/2 APNs client that implements core's
//! [`Pusher`](mdmkit_core::push::Pusher) for one certificate; [`StorePusher`] implements it
//! over the certificates installed in the store (one client per topic, renewals picked up
//! without restart); `mock` (feature `mock`) is a loopback APNs server for tests,
//! benchmarks and integrators (`docs/apns.md`).
//!
//! The flows and the command line are described in `docs/push-certificates.md`.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod client;
pub mod csr;
pub mod error;
pub mod expiry;
pub mod key;
pub mod lifecycle;
#[cfg(feature = "mock")]
pub mod mock;
pub mod monitor;
pub mod push_cert;
pub mod pusher;
pub mod smtp;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod vendor;

pub use csr::{CertificateRequest, CsrSubject};
pub use error::{Error, Result};
pub use expiry::{ExpiryStatus, DEFAULT_WARNING_DAYS};
pub use key::PrivateKey;
pub use lifecycle::{
    DeletedTopic, FollowUp, InstallAction, InstallOutcome, InstallRequest, PushCertLifecycle,
};
pub use monitor::{Credential, CredentialKind, CredentialReport, ExpiryMonitor};
pub use push_cert::PushCertificate;
pub use pusher::{PusherTopic, StorePusher, StorePusherOptions};
pub use smtp::SmtpNotifier;
pub use vendor::{PushCertUpload, VendorFiles, VendorSigner};
