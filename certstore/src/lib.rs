//! The PKCS#12 store of user-provided e-mail signing and encryption certificates.
//!
//! This crate exposes no API yet; it is filled by the certificate-store work.
#![forbid(unsafe_code)]
#![warn(missing_docs)]
