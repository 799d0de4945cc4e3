//! Node.js bindings for mdmkit: the `mdmkit` npm package.
//!
//! A thin layer over `mdmkit-service`: each JavaScript method converts its arguments, calls
//! one Rust function and converts the answer. Everything doing I/O returns a Promise (run on
//! the tokio runtime, never on the event loop); pure work (render a command, decode a
//! check-in) is synchronous. Times are `Date`s, bytes `Buffer`s, and every failure is an
//! `Error` whose `code` is the stable Rust code (`Error::code()` of the crate below).

mod convert;
mod errors;
mod mdm;
mod portal;
mod protocol;

pub use errors::error_codes;

/// Runs once as the module loads: this module's own copy of `tracing`, to which no program
/// can give a subscriber, gets one that records nothing (`mdmkit_service::quiet_tracing`).
#[napi_derive::napi(module_exports)]
pub fn init(_exports: napi::bindgen_prelude::Object<'_>) -> napi::Result<()> {
    mdmkit_service::quiet_tracing();
    Ok(())
}
pub use mdm::{Devices, Enrollment, EventStream, EventSubscription, Mdm, PushCerts, Settings};
pub use portal::{
    registration_qr_svg, Admins, OwnCertificates, Portal, PortalSession, SignedIn, UserCertificates,
};
pub use protocol::{
    decode_checkin, decode_command, decode_result, inspect_push_certificate, profile_from_spec,
    profile_read, render_command, request_type, request_types, verify_profile,
};
