//! Enrollment profiles, device identities, invitations and the self-service portal.
//!
//! This crate exposes no API yet; it is filled by the enrollment and portal work.
#![forbid(unsafe_code)]
#![warn(missing_docs)]
