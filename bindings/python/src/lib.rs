//! The native module of the `mdmkit` Python package (`mdmkit._mdmkit`).
//!
//! Thin by rule: each Python-visible function converts Python values to the crates' types,
//! calls one function of mdmkit's Rust crates, and converts the answer back. Errors become
//! the `mdmkit.MdmError` subclass of their stable code (see `python/mdmkit/errors.py`).

mod awaitable;
mod convert;
mod mdm;
mod portal;
mod profiles;
mod protocol;
mod push_cert;
mod records;

use pyo3::prelude::*;

/// Every stable error code mdmkit's Rust crates can raise, sorted: the list the Python
/// exception table (`mdmkit.errors`) must cover.
#[pyfunction]
fn error_codes() -> Vec<&'static str> {
    mdmkit_service::Error::all_codes()
}

#[pymodule]
fn _mdmkit(m: &Bound<'_, PyModule>) -> PyResult<()> {
    mdmkit_service::quiet_tracing();
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_function(wrap_pyfunction!(error_codes, m)?)?;
    m.add_function(wrap_pyfunction!(protocol::render_command, m)?)?;
    m.add_function(wrap_pyfunction!(protocol::decode_checkin, m)?)?;
    m.add_function(wrap_pyfunction!(protocol::decode_result, m)?)?;
    m.add_function(wrap_pyfunction!(protocol::request_types, m)?)?;
    m.add_function(wrap_pyfunction!(protocol::request_type, m)?)?;
    m.add_class::<protocol::PyCheckin>()?;
    m.add_class::<protocol::PyCommandResult>()?;
    m.add_class::<protocol::PyRequestType>()?;
    m.add_function(wrap_pyfunction!(push_cert::inspect_push_certificate, m)?)?;
    m.add_function(wrap_pyfunction!(push_cert::vendor_sign_request, m)?)?;
    m.add_function(wrap_pyfunction!(profiles::verify_profile, m)?)?;
    m.add_class::<profiles::PyProfile>()?;
    m.add_class::<profiles::PyVerifiedProfile>()?;
    m.add_function(wrap_pyfunction!(mdm::open, m)?)?;
    m.add_class::<mdm::PyMdm>()?;
    m.add_class::<mdm::SettingsHandle>()?;
    m.add_class::<mdm::PushCerts>()?;
    m.add_class::<mdm::Devices>()?;
    m.add_class::<mdm::AsyncDevices>()?;
    m.add_class::<mdm::EnrollmentHandle>()?;
    m.add_class::<mdm::ExpiryHandle>()?;
    m.add_function(wrap_pyfunction!(portal::registration_qr_svg, m)?)?;
    m.add_class::<portal::Admins>()?;
    m.add_class::<portal::Portal>()?;
    m.add_class::<portal::PortalSession>()?;
    m.add_class::<portal::OwnCertificates>()?;
    m.add_class::<portal::UserCertificates>()?;
    m.add_class::<records::SignedIn>()?;
    m.add_class::<records::AdminUser>()?;
    m.add_class::<records::AdminSession>()?;
    m.add_class::<records::PortalAccount>()?;
    m.add_class::<records::PortalDevice>()?;
    m.add_class::<records::DeviceLocation>()?;
    m.add_class::<records::PortalBranding>()?;
    m.add_class::<records::CertificateKind>()?;
    m.add_class::<records::UserCertificate>()?;
    m.add_class::<records::DashboardEntry>()?;
    m.add_class::<records::NoticeSent>()?;
    m.add_class::<records::CertificateInfo>()?;
    m.add_class::<records::PushCertStatus>()?;
    m.add_class::<records::InstallReport>()?;
    m.add_class::<records::HistoryEntry>()?;
    m.add_class::<records::TopicMismatchEntry>()?;
    m.add_class::<records::Device>()?;
    m.add_class::<records::DevicePage>()?;
    m.add_class::<records::ActionOutcome>()?;
    m.add_class::<records::BulkOutcome>()?;
    m.add_class::<records::PendingCommand>()?;
    m.add_class::<records::CommandStatus>()?;
    m.add_class::<records::Setting>()?;
    m.add_class::<records::InitReport>()?;
    m.add_class::<records::EnrollmentLink>()?;
    m.add_class::<records::EnrollmentProfile>()?;
    m.add_class::<records::Invitation>()?;
    m.add_class::<records::InvitationReport>()?;
    m.add_class::<records::MdmResponse>()?;
    Ok(())
}
