//! Enrollment profiles, device identities and the self-service portal.
//!
//! * [`DeviceCa`]: the built-in device CA issuing identity certificates as PKCS#12.
//! * [`enrollment_profile`] / [`scep_enrollment_profile`]: the MDM, identity (built-in CA
//!   PKCS#12 or external SCEP) and CA root payloads, validated.
//! * [`Enroller`]: one-time expiring enrollment tokens tying a device to a portal user,
//!   and the signed enrollment profile; [`OwnerBinding`] binds the device at Authenticate.
//! * [`Invitations`]: invitations by e-mail (portal and registration links) through a
//!   [`Notifier`](mdmkit_core::notify::Notifier), revocable, with a replaceable template.
//! * [`Portal`]: sign-in (argon2, rate-limited), the user's own devices and registration
//!   links for more devices.
//! * [`session`]: sign-in sessions of portal users and administrators, kept in the store.
//! * [`privacy`]: server-wide, per-user and per-device privacy settings.
//! * [`branding`]: the portal's name, colours and logo, checked.
//! * [`webclip`]: a Web Clip of the portal pushed to a user's iOS and iPadOS devices.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod branding;
pub mod ca;
pub mod enroller;
pub mod error;
pub mod invite;
pub mod portal;
pub mod privacy;
pub mod profile;
pub mod session;
pub mod webclip;

pub use branding::{set_branding, MAX_LOGO_BYTES};
pub use ca::{certificate_der, DeviceCa, IssuedIdentity};
pub use enroller::{token_hash, Enroller, IssuedToken, OwnerBinding, SignedEnrollment};
pub use error::{Error, Result};
pub use invite::{
    accept_invitation, check_email, list_invitations, revoke_invitation, revoke_invitation_as,
    EnrollmentLinks, Invitation, InvitationTemplate, Invitations, SentInvitation,
};
pub use portal::{
    add_user, audit_outcome, check_sign_in, hash_password, set_password, sign_in, verify_password,
    LastLocation, Portal, PortalConfig, PortalDevice, Session,
};
pub use privacy::{clear_privacy, privacy_of, set_privacy, PrivacyChange};
pub use profile::{
    enrollment_profile, scep_enrollment_profile, EnrollmentProfileSettings, IdentitySource,
    ScepSettings, ALL_ACCESS_RIGHTS,
};
pub use session::{
    end_session, end_sessions, find_session, start_session, DEFAULT_SESSION_LIFETIME,
};
pub use webclip::{push_web_clip, web_clip_profile, WebClipReport, WebClipSettings};
