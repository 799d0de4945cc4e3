//! mdmkit for Swift: one UniFFI component over `mdmkit-service`.
//!
//! Thin wrappers only (the logic is in the service layer and the crates below it): records
//! and enums mirroring the service's owned types, objects for the handles ([`Mdm`] and its
//! sub-handles), async exports on tokio, and one error, [`MdmError`], carrying the stable
//! `code` of the crate that refused and its message.
//!
//! Mapping to Swift: `SystemTime` is `Date`, `Vec<u8>` is `Data`, `Duration` is
//! `TimeInterval`, async methods are `async throws`. Values that are secrets (enrollment
//! and invitation links) are held by objects whose `description` redacts them; records
//! carry no secret (Swift's default `description` of a struct prints every field).
//!
//! The same cdylib is loaded by UniFFI's Python bindings in CI (`scripts/swift.sh`), which
//! is how this surface is tested on machines without a Swift compiler.

uniffi::setup_scaffolding!();

mod error;
mod mdm;
mod portal;
mod protocol;
mod records;

pub use error::MdmError;
pub use mdm::{Devices, Enrollment, EnrollmentLink, EventFeed, InvitationReport, Mdm, PushCerts};
pub use portal::{
    registration_qr_svg, AdminSession, AdminUser, Admins, CertificateKind, DeviceLocation,
    OwnCertificates, Portal, PortalAccount, PortalDevice, PortalSession, SignedIn, UserCertificate,
    UserCertificates,
};
pub use protocol::{
    decode_checkin, decode_command, decode_result, error_codes, inspect_push_certificate,
    profile_from_spec, profile_read, render_command, render_command_plist, request_type,
    request_types, verify_profile, Profile, VerifiedProfile,
};
pub use records::*;

/// The result of every export.
pub type Result<T, E = MdmError> = std::result::Result<T, E>;
