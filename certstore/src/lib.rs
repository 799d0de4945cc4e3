//! The PKCS#12 store of user-provided e-mail signing and encryption certificates.
//!
//! End users upload their S/MIME certificates as PKCS#12 files for a kind the
//! administrator defined ("Signing", "Encryption"). [`CertStore`] checks each upload
//! ([`check_pkcs12`]: format, caps, MAC, password, one key and its certificate, validity,
//! e-mail use), stores it through core's store, lists, edits, clears private keys, deletes
//! and exports; after an upload it re-pushes every configuration using that kind to the
//! user's devices through a [`ProfileInstaller`] (the engine). [`CertStore::for_owner`]
//! is the self-service portal's certificates tab: one user's certificates, audited.
//!
//! ```no_run
//! # async fn demo(store: mdmkit_core::store::SharedStore, p12: Vec<u8>) -> Result<(), mdmkit_certstore::Error> {
//! use mdmkit_certstore::{CertStore, ImportRequest};
//! use mdmkit_core::store::CertificatePurpose;
//!
//! let certs = CertStore::new(store);
//! certs.add_kind("Signing", CertificatePurpose::Signing).await?;
//! let outcome = certs
//!     .import(ImportRequest::new("alice", "Signing", p12).with_password("secret"))
//!     .await?;
//! println!("{} expires {}", outcome.certificate.subject, outcome.certificate.expires_at);
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod encrypted_safe;
mod error;
pub mod import;
pub mod portal;
pub mod repush;
mod store;
#[cfg(feature = "testing")]
pub mod testing;

pub use error::{Error, Result};
pub use import::{check_pkcs12, CertificateInfo, CheckedPkcs12, ImportLimits};
pub use portal::OwnCertificates;
pub use repush::{
    InstallFailure, ProfileInstall, ProfileInstaller, RecordingInstaller, RepushReport,
};
pub use store::{CertStore, CertificateEdit, ImportOutcome, ImportRequest, UserCertificate};
