//! Enrollment profiles, device identities and the self-service portal.
//!
//! * [`DeviceCa`]: the built-in device CA issuing identity certificates as PKCS#12.
//! * [`enrollment_profile`]: the MDM, identity and CA root payloads, validated.
//! * [`Enroller`]: one-time expiring enrollment tokens tying a device to a portal user,
//!   and the signed enrollment profile; [`OwnerBinding`] binds the device at Authenticate.
//! * [`Portal`]: sign-in (argon2, rate-limited) and the user's own devices.
//! * [`privacy`]: server-wide, per-user and per-device privacy settings.
//! * [`branding`]: the portal's name, colours and logo, checked.
//! * [`webclip`]: a Web Clip of the portal pushed to a user's iOS and iPadOS devices.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod branding;
pub mod ca;
pub mod enroller;
pub mod error;
pub mod portal;
pub mod privacy;
pub mod profile;
pub mod webclip;

pub use branding::{set_branding, MAX_LOGO_BYTES};
pub use ca::{DeviceCa, IssuedIdentity};
pub use enroller::{token_hash, Enroller, IssuedToken, OwnerBinding, SignedEnrollment};
pub use error::{Error, Result};
pub use portal::{
    add_user, hash_password, set_password, Portal, PortalConfig, PortalDevice, Session,
};
pub use privacy::{clear_privacy, privacy_of, set_privacy, PrivacyChange};
pub use profile::{enrollment_profile, EnrollmentProfileSettings, ALL_ACCESS_RIGHTS};
pub use webclip::{push_web_clip, web_clip_profile, WebClipReport, WebClipSettings};
