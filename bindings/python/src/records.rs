//! The plain records the `Mdm` handle returns: read-only attributes, `to_dict()`, and a
//! `repr` that never shows a secret (fields that carry one print as `<redacted>`).

use mdmkit_service as service;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList};
use time::{OffsetDateTime, UtcOffset};

use crate::convert::json_to_python;

fn utc(at: OffsetDateTime) -> OffsetDateTime {
    at.to_offset(UtcOffset::UTC)
}

fn utc_opt(at: Option<OffsetDateTime>) -> Option<OffsetDateTime> {
    at.map(utc)
}

/// Defines a frozen pyclass with read-only fields, `to_dict()` and a redacting `repr`;
/// fields listed in `summarised` (large bytes such as a logo) print as their length.
macro_rules! record {
    (
        $(#[$meta:meta])*
        $name:ident { $($(#[$fmeta:meta])* $field:ident : $ty:ty),* $(,)? }
        secret [$($secret:ident),*]
        $(summarised [$($summarised:ident),*])?
    ) => {
        $(#[$meta])*
        #[pyclass(module = "mdmkit", frozen, get_all)]
        pub struct $name {
            $($(#[$fmeta])* pub $field: $ty,)*
        }

        #[pymethods]
        impl $name {
            /// The record as a dict (secrets included: it is the caller's data).
            fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
                let dict = PyDict::new(py);
                $(dict.set_item(stringify!($field), (&self.$field).into_pyobject(py)?)?;)*
                Ok(dict)
            }

            fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
                const SECRET: &[&str] = &[$(stringify!($secret)),*];
                const SUMMARISED: &[&str] = &[$($(stringify!($summarised)),*)?];
                let mut parts = Vec::new();
                $(
                    let name = stringify!($field);
                    if SECRET.contains(&name) {
                        parts.push(format!("{name}=<redacted>"));
                    } else {
                        let value = pyo3::IntoPyObjectExt::into_bound_py_any(&self.$field, py)?;
                        if SUMMARISED.contains(&name) && !value.is_none() {
                            parts.push(format!("{name}=<{} bytes>", value.len()?));
                        } else {
                            parts.push(format!("{name}={}", value.repr()?));
                        }
                    }
                )*
                Ok(format!("{}({})", stringify!($name), parts.join(", ")))
            }
        }
    };
}

record! {
    /// A push certificate as read from a file (nothing stored).
    CertificateInfo {
        /// The push topic (`com.apple.mgmt.External.…`).
        topic: String,
        /// The subject.
        subject: String,
        /// The issuer.
        issuer: String,
        /// The serial number (hex).
        serial: String,
        /// Start of validity (UTC).
        not_before: OffsetDateTime,
        /// End of validity (UTC).
        not_after: OffsetDateTime,
        /// Whole days remaining (negative once expired).
        days_remaining: i64,
        /// `valid`, `expiring_soon` (60 days or fewer) or `expired`.
        status: &'static str,
        /// Whether the file held the private key too.
        has_private_key: bool,
    }
    secret []
}

impl From<service::CertificateInfo> for CertificateInfo {
    fn from(c: service::CertificateInfo) -> Self {
        Self {
            topic: c.topic,
            subject: c.subject,
            issuer: c.issuer,
            serial: c.serial,
            not_before: utc(c.not_before),
            not_after: utc(c.not_after),
            days_remaining: c.days_remaining,
            status: c.status.as_str(),
            has_private_key: c.has_private_key,
        }
    }
}

record! {
    /// A registered push certificate on the dashboard.
    PushCertStatus {
        /// The topic.
        topic: String,
        /// The serial number (hex).
        serial: String,
        /// End of validity (UTC).
        not_after: OffsetDateTime,
        /// Whole days remaining (negative once expired).
        days_remaining: i64,
        /// `valid`, `expiring_soon` or `expired`.
        status: &'static str,
        /// Whether 60 days or fewer remain (or it expired): time to renew.
        renew_now: bool,
        /// The Apple ID used at Apple's portal.
        apple_id: Option<String>,
        /// The administrator's note.
        note: Option<String>,
    }
    secret []
}

impl From<mdmkit_apns::lifecycle::PushCertStatus> for PushCertStatus {
    fn from(s: mdmkit_apns::lifecycle::PushCertStatus) -> Self {
        Self {
            topic: s.topic,
            serial: s.serial,
            not_after: utc(s.not_after),
            days_remaining: s.days_remaining,
            status: s.status.as_str(),
            renew_now: s.status.is_urgent(),
            apple_id: s.apple_id,
            note: s.note,
        }
    }
}

record! {
    /// What an install did.
    InstallReport {
        /// The topic.
        topic: String,
        /// `installed` (first certificate of the topic) or `renewed`.
        action: &'static str,
        /// The new certificate's end of validity (UTC).
        not_after: OffsetDateTime,
        /// Devices pushed to synchronise after renewing an expired certificate.
        synchronised: Vec<String>,
        /// Devices whose synchronising push failed, with the reason.
        not_synchronised: Vec<(String, String)>,
    }
    secret []
}

impl From<service::InstallReport> for InstallReport {
    fn from(r: service::InstallReport) -> Self {
        Self {
            topic: r.topic,
            action: match r.action {
                mdmkit_apns::InstallAction::Installed => "installed",
                _ => "renewed",
            },
            not_after: utc(r.not_after),
            synchronised: r.synchronised,
            not_synchronised: r.not_synchronised,
        }
    }
}

record! {
    /// One entry of a topic's history.
    HistoryEntry {
        /// `installed`, `renewed`, `edited` or `deleted`.
        action: String,
        /// The certificate's serial (hex).
        serial: Option<String>,
        /// Its end of validity (UTC).
        not_after: Option<OffsetDateTime>,
        /// The Apple ID at the time.
        apple_id: Option<String>,
        /// The note at the time.
        note: Option<String>,
        /// When (UTC).
        at: OffsetDateTime,
    }
    secret []
}

impl From<service::push_certs::HistoryEntry> for HistoryEntry {
    fn from(h: service::push_certs::HistoryEntry) -> Self {
        Self {
            action: h.action,
            serial: h.serial,
            not_after: utc_opt(h.not_after),
            apple_id: h.apple_id,
            note: h.note,
            at: utc(h.at),
        }
    }
}

record! {
    /// An enrollment whose push topic differs from every registered certificate's.
    TopicMismatchEntry {
        /// The enrollment.
        enrollment_id: String,
        /// The topic it enrolled with (`None` when unknown).
        enrolled_topic: Option<String>,
    }
    secret []
}

impl From<mdmkit_apns::lifecycle::TopicMismatchEntry> for TopicMismatchEntry {
    fn from(t: mdmkit_apns::lifecycle::TopicMismatchEntry) -> Self {
        Self {
            enrollment_id: t.enrollment,
            enrolled_topic: t.enrolled_topic,
        }
    }
}

record! {
    /// An enrolled device (or user channel).
    Device {
        /// The enrollment identifier.
        enrollment_id: String,
        /// The device's identifier (UDID or EnrollmentID).
        device_id: String,
        /// The portal user it belongs to.
        owner: Option<String>,
        /// Whether it is managed (TokenUpdate received, not checked out).
        enabled: bool,
        /// The push topic it enrolled with.
        enrolled_topic: Option<String>,
        /// Whether it can be pushed.
        pushable: bool,
        /// Serial number, when reported.
        serial_number: Option<String>,
        /// Model, when reported.
        model: Option<String>,
        /// Product name, when reported.
        product_name: Option<String>,
        /// OS version, when reported.
        os_version: Option<String>,
        /// Last contact (UTC).
        last_seen: Option<OffsetDateTime>,
        /// Enrolled at (UTC).
        created_at: OffsetDateTime,
    }
    secret []
}

impl From<service::Device> for Device {
    fn from(d: service::Device) -> Self {
        Self {
            enrollment_id: d.enrollment_id,
            device_id: d.device_id,
            owner: d.owner,
            enabled: d.enabled,
            enrolled_topic: d.enrolled_topic,
            pushable: d.pushable,
            serial_number: d.serial_number,
            model: d.model,
            product_name: d.product_name,
            os_version: d.os_version,
            last_seen: utc_opt(d.last_seen),
            created_at: utc(d.created_at),
        }
    }
}

record! {
    /// A page of devices; `next` is the cursor of the following page (`None`: last page).
    DevicePage {
        /// The devices.
        devices: Vec<Py<Device>>,
        /// The cursor for `list(after=...)`.
        next: Option<String>,
    }
    secret []
}

impl DevicePage {
    pub fn new(py: Python<'_>, page: service::DevicePage) -> PyResult<Self> {
        Ok(Self {
            devices: page
                .devices
                .into_iter()
                .map(|d| Py::new(py, Device::from(d)))
                .collect::<PyResult<_>>()?,
            next: page.next,
        })
    }
}

record! {
    /// What an action did: the command queued and whether the device was pushed.
    ActionOutcome {
        /// The queued command's CommandUUID (`None` for check-in-now, which queues nothing).
        command_uuid: Option<String>,
        /// Whether the push reached APNs.
        pushed: bool,
        /// `pushed`, or why not.
        push: String,
    }
    secret []
}

impl From<service::ActionOutcome> for ActionOutcome {
    fn from(a: service::ActionOutcome) -> Self {
        Self {
            command_uuid: a.command_uuid,
            pushed: a.pushed,
            push: a.push,
        }
    }
}

record! {
    /// A command waiting in a device's queue.
    PendingCommand {
        /// Its CommandUUID.
        command_uuid: String,
        /// Its RequestType.
        request_type: String,
        /// `NotNow` when the device deferred it, else `None`.
        status: Option<String>,
        /// Queued at (UTC).
        created_at: OffsetDateTime,
        /// Last delivered at (UTC).
        delivered_at: Option<OffsetDateTime>,
    }
    secret []
}

impl From<service::PendingCommandEntry> for PendingCommand {
    fn from(p: service::PendingCommandEntry) -> Self {
        Self {
            command_uuid: p.command_uuid,
            request_type: p.request_type,
            status: p.status,
            created_at: utc(p.created_at),
            delivered_at: utc_opt(p.delivered_at),
        }
    }
}

record! {
    /// A command's state on one device, with the device's decoded answer.
    CommandStatus {
        /// The enrollment.
        enrollment_id: String,
        /// The CommandUUID.
        command_uuid: String,
        /// `Acknowledged`, `Error`, `CommandFormatError`, `NotNow`, or `None` (not answered).
        status: Option<String>,
        /// Last delivered at (UTC).
        delivered_at: Option<OffsetDateTime>,
        /// The device's answer, decoded (data as base64 text, dates as RFC 3339 text).
        result: Option<Py<PyAny>>,
    }
    secret []
}

impl CommandStatus {
    pub fn new(py: Python<'_>, c: service::CommandStatusEntry) -> PyResult<Self> {
        Ok(Self {
            enrollment_id: c.enrollment_id,
            command_uuid: c.command_uuid,
            status: c.status,
            delivered_at: utc_opt(c.delivered_at),
            result: c
                .result
                .as_ref()
                .map(|r| json_to_python(py, r).map(Bound::unbind))
                .transpose()?,
        })
    }
}

record! {
    /// One credential on the expiry dashboard.
    DashboardEntry {
        /// `push_certificate`, `vendor_certificate` or `dep_server_token`.
        kind: String,
        /// The topic, the vendor certificate's subject, or the token's name.
        name: String,
        /// End of validity (UTC).
        not_after: OffsetDateTime,
        /// Whole days remaining (negative once expired).
        days_remaining: i64,
        /// `valid`, `expiring_soon` or `expired`.
        status: String,
        /// Whether 60 days or fewer remain (or it expired): time to renew.
        renew_now: bool,
        /// The Apple ID to renew it with, when known.
        apple_id: Option<String>,
    }
    secret []
}

impl From<service::DashboardEntry> for DashboardEntry {
    fn from(d: service::DashboardEntry) -> Self {
        Self {
            kind: d.kind,
            name: d.name,
            not_after: utc(d.not_after),
            days_remaining: d.days_remaining,
            status: d.status,
            renew_now: d.renew_now,
            apple_id: d.apple_id,
        }
    }
}

record! {
    /// An expiry notice that was sent.
    NoticeSent {
        /// The credential (`kind:name`).
        key: String,
        /// The e-mail's subject.
        subject: String,
    }
    secret []
}

impl From<service::NoticeSent> for NoticeSent {
    fn from(n: service::NoticeSent) -> Self {
        Self {
            key: n.key,
            subject: n.subject,
        }
    }
}

record! {
    /// One setting: secrets are never shown, only whether they are set.
    Setting {
        /// The name.
        name: String,
        /// What it holds (`url`, `text`, `email`, `smtp_url`, `certificate_pem`,
        /// `private_key_pem`).
        kind: String,
        /// What it is for.
        description: String,
        /// Whether it is secret.
        secret: bool,
        /// Whether it is set.
        is_set: bool,
        /// Its value (`None` when unset or secret).
        value: Option<String>,
    }
    secret []
}

impl From<service::SettingEntry> for Setting {
    fn from(s: service::SettingEntry) -> Self {
        let kind = serde_json::to_value(s.kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        Self {
            name: s.name,
            kind,
            description: s.description,
            secret: s.secret,
            is_set: s.is_set,
            value: s.value,
        }
    }
}

record! {
    /// What `enrollment.init` did.
    InitReport {
        /// `created`, `imported` or `kept`.
        device_ca: String,
        /// The device CA's subject.
        device_ca_subject: String,
        /// The settings written.
        written: Vec<String>,
    }
    secret []
}

impl From<service::InitReport> for InitReport {
    fn from(r: service::InitReport) -> Self {
        Self {
            device_ca: r.device_ca,
            device_ca_subject: r.device_ca_subject,
            written: r.written,
        }
    }
}

record! {
    /// A one-time enrollment link (its URL carries a secret token).
    EnrollmentLink {
        /// The URL to open on the device.
        url: String,
        /// The user the device will belong to.
        user_id: String,
        /// When it stops working (UTC).
        expires_at: OffsetDateTime,
    }
    secret [url]
}

impl From<service::EnrollmentLink> for EnrollmentLink {
    fn from(l: service::EnrollmentLink) -> Self {
        Self {
            url: l.url,
            user_id: l.user_id,
            expires_at: utc(l.expires_at),
        }
    }
}

record! {
    /// A device's signed enrollment profile.
    EnrollmentProfile {
        /// The profile (signed CMS, DER), served as `application/x-apple-aspen-config`.
        profile: Py<PyBytes>,
        /// The user the device will belong to.
        user_id: String,
    }
    secret []
}

impl EnrollmentProfile {
    pub fn new(py: Python<'_>, p: service::EnrollmentProfile) -> Self {
        Self {
            profile: PyBytes::new(py, &p.profile).unbind(),
            user_id: p.user_id,
        }
    }
}

record! {
    /// An invitation to the portal.
    Invitation {
        /// Its id (what `revoke_invitation` takes).
        id: String,
        /// The invited user.
        user_id: String,
        /// The address it was sent to.
        email: String,
        /// Made at (UTC).
        created_at: OffsetDateTime,
        /// When its links stop working (UTC).
        expires_at: OffsetDateTime,
        /// When the user set their password (UTC).
        accepted_at: Option<OffsetDateTime>,
        /// When a device enrolled through it (UTC).
        registered_at: Option<OffsetDateTime>,
    }
    secret []
}

impl From<mdmkit_enrollment::invite::Invitation> for Invitation {
    fn from(i: mdmkit_enrollment::invite::Invitation) -> Self {
        Self {
            id: i.id,
            user_id: i.user_id,
            email: i.email,
            created_at: utc(i.created_at),
            expires_at: utc(i.expires_at),
            accepted_at: utc_opt(i.accepted_at),
            registered_at: utc_opt(i.registered_at),
        }
    }
}

record! {
    /// An invitation made (and e-mailed when SMTP is configured); its links are secrets.
    InvitationReport {
        /// The invitation.
        invitation: Py<Invitation>,
        /// The portal link (sets the first password).
        portal_link: String,
        /// The registration link (enrolls one device).
        registration_link: String,
        /// Whether it was e-mailed.
        sent: bool,
    }
    secret [portal_link, registration_link]
}

impl InvitationReport {
    pub fn new(py: Python<'_>, r: service::InvitationReport) -> PyResult<Self> {
        Ok(Self {
            invitation: Py::new(py, Invitation::from(r.invitation))?,
            portal_link: r.portal_link,
            registration_link: r.registration_link,
            sent: r.sent,
        })
    }
}

record! {
    /// The answer to a device's request, for the web framework to send.
    MdmResponse {
        /// The HTTP status.
        status: u16,
        /// The headers.
        headers: Vec<(String, String)>,
        /// The body.
        body: Py<PyBytes>,
        /// Why the request was refused, for logs (never sent to the device).
        error: Option<String>,
    }
    secret []
}

impl MdmResponse {
    pub fn new(py: Python<'_>, r: service::MdmResponseParts) -> Self {
        Self {
            status: r.status,
            headers: r.headers,
            body: PyBytes::new(py, &r.body).unbind(),
            error: r.error,
        }
    }
}

/// A list of records as a Python list.
pub fn list<'py, T, R>(py: Python<'py>, items: Vec<T>) -> PyResult<Bound<'py, PyList>>
where
    R: From<T> + pyo3::PyClass + Into<pyo3::PyClassInitializer<R>>,
{
    let list = PyList::empty(py);
    for item in items {
        list.append(Py::new(py, R::from(item))?)?;
    }
    Ok(list)
}

record! {
    /// A new session (sign-in): its value is the bearer secret, shown once (set it as a
    /// cookie); `repr` never shows it.
    SignedIn {
        /// The session's value (secret).
        token: String,
        /// The signed-in user's (or administrator's) id.
        user_id: String,
        /// When the session ends (UTC).
        expires_at: OffsetDateTime,
    }
    secret [token]
}

impl From<service::SignedIn> for SignedIn {
    fn from(s: service::SignedIn) -> Self {
        Self {
            token: s.token,
            user_id: s.user_id,
            expires_at: utc(s.expires_at),
        }
    }
}

record! {
    /// An administrator's account (never its password).
    AdminUser {
        /// The administrator's id.
        id: String,
        /// The e-mail address they sign in with.
        email: String,
        /// The display name.
        name: Option<String>,
        /// Whether they may sign in.
        enabled: bool,
        /// When they were added (UTC).
        created_at: OffsetDateTime,
    }
    secret []
}

impl From<service::AdminUser> for AdminUser {
    fn from(a: service::AdminUser) -> Self {
        Self {
            id: a.id,
            email: a.email,
            name: a.name,
            enabled: a.enabled,
            created_at: utc(a.created_at),
        }
    }
}

record! {
    /// The signed-in administrator of a session.
    AdminSession {
        /// The administrator's id.
        admin_id: String,
        /// Their e-mail address.
        email: String,
        /// Their display name.
        name: Option<String>,
        /// When the session ends (UTC).
        expires_at: OffsetDateTime,
    }
    secret []
}

impl From<service::AdminSession> for AdminSession {
    fn from(a: service::AdminSession) -> Self {
        Self {
            admin_id: a.admin_id,
            email: a.email,
            name: a.name,
            expires_at: utc(a.expires_at),
        }
    }
}

record! {
    /// A portal user's account, as the portal shows it.
    PortalAccount {
        /// The user's id.
        id: String,
        /// The e-mail address they sign in with.
        email: String,
        /// The display name.
        name: Option<String>,
    }
    secret []
}

impl From<service::PortalAccount> for PortalAccount {
    fn from(a: service::PortalAccount) -> Self {
        Self {
            id: a.id,
            email: a.email,
            name: a.name,
        }
    }
}

record! {
    /// One of the signed-in user's devices, with what the portal can do to it now.
    PortalDevice {
        /// The enrollment's id (what the device operations take).
        enrollment_id: String,
        /// The device's name, when known.
        name: Option<String>,
        /// Serial number, when known.
        serial_number: Option<String>,
        /// Product name or model, when known.
        model: Option<String>,
        /// OS version, when known.
        os_version: Option<String>,
        /// When it last checked in (UTC).
        last_seen: Option<OffsetDateTime>,
        /// Whether the enrollment is active.
        enabled: bool,
        /// The operations allowed now: `lock`, `unlock`, `locate`, `wipe`, `retire`, `checkin`.
        actions: Vec<String>,
    }
    secret []
}

impl From<service::PortalDeviceView> for PortalDevice {
    fn from(d: service::PortalDeviceView) -> Self {
        Self {
            enrollment_id: d.enrollment_id,
            name: d.name,
            serial_number: d.serial_number,
            model: d.model,
            os_version: d.os_version,
            last_seen: utc_opt(d.last_seen),
            enabled: d.enabled,
            actions: d.actions,
        }
    }
}

record! {
    /// A device's last reported location.
    DeviceLocation {
        /// Latitude, degrees.
        latitude: f64,
        /// Longitude, degrees.
        longitude: f64,
        /// Horizontal accuracy, metres, when the device sent it.
        horizontal_accuracy: Option<f64>,
        /// When the device's answer arrived (UTC).
        at: OffsetDateTime,
    }
    secret []
}

impl From<service::DeviceLocation> for DeviceLocation {
    fn from(l: service::DeviceLocation) -> Self {
        Self {
            latitude: l.latitude,
            longitude: l.longitude,
            horizontal_accuracy: l.horizontal_accuracy,
            at: utc(l.at),
        }
    }
}

record! {
    /// The portal's branding (name, colours, logo), as an administrator set it.
    PortalBranding {
        /// The organisation or portal name.
        name: String,
        /// The primary colour, `#RRGGBB`.
        primary_colour: Option<String>,
        /// The accent colour, `#RRGGBB`.
        accent_colour: Option<String>,
        /// The logo (PNG, JPEG or SVG bytes).
        logo: Option<Py<PyBytes>>,
        /// The logo's media type (`image/png`, `image/jpeg`, `image/svg+xml`).
        logo_content_type: Option<String>,
        /// When it was last changed (UTC).
        updated_at: OffsetDateTime,
    }
    secret []
    summarised [logo]
}

impl PortalBranding {
    pub fn new(py: Python<'_>, b: service::PortalBranding) -> Self {
        Self {
            name: b.name,
            primary_colour: b.primary_colour,
            accent_colour: b.accent_colour,
            logo: b.logo.map(|logo| PyBytes::new(py, &logo).unbind()),
            logo_content_type: b.logo_content_type,
            updated_at: utc(b.updated_at),
        }
    }
}

record! {
    /// A certificate kind users may upload ("Signing", "Encryption").
    CertificateKind {
        /// The kind's id (uploads take it, or its name).
        id: String,
        /// The display name.
        name: String,
        /// `signing`, `encryption` or `other`.
        usage: String,
    }
    secret []
}

impl From<service::CertKindView> for CertificateKind {
    fn from(k: service::CertKindView) -> Self {
        Self {
            id: k.id,
            name: k.name,
            usage: k.usage,
        }
    }
}

record! {
    /// A user's certificate as listed (the file and its password never leave the store).
    UserCertificate {
        /// The certificate's id.
        id: String,
        /// The display name.
        name: String,
        /// The kind's id.
        kind: String,
        /// The kind's display name.
        kind_name: String,
        /// The user it belongs to.
        owner: String,
        /// The certificate's subject.
        subject: String,
        /// The certificate's issuer.
        issuer: String,
        /// The serial number (hex).
        serial: String,
        /// The e-mail addresses it names.
        emails: Vec<String>,
        /// When it was uploaded (UTC).
        uploaded_at: OffsetDateTime,
        /// The end of its validity (UTC).
        not_after: OffsetDateTime,
        /// Whether the stored file still holds the private key.
        has_private_key: bool,
    }
    secret []
}

impl From<service::UserCertView> for UserCertificate {
    fn from(c: service::UserCertView) -> Self {
        Self {
            id: c.id,
            name: c.name,
            kind: c.kind,
            kind_name: c.kind_name,
            owner: c.owner,
            subject: c.subject,
            issuer: c.issuer,
            serial: c.serial,
            emails: c.emails,
            uploaded_at: utc(c.uploaded_at),
            not_after: utc(c.not_after),
            has_private_key: c.has_private_key,
        }
    }
}

record! {
    /// What `Devices.enqueue_many` did: one command queued to many devices.
    BulkOutcome {
        /// The CommandUUID (one command, referenced per device).
        command_uuid: String,
        /// The devices it was queued to.
        queued: Vec<String>,
        /// The devices refused before queueing: (enrollment id, code, message).
        refused: Vec<(String, String, String)>,
        /// One (enrollment id, `pushed` or why not) per device that had a push token.
        pushes: Vec<(String, String)>,
    }
    secret []
}

impl From<mdmkit_core::engine::BulkOutcome> for BulkOutcome {
    fn from(b: mdmkit_core::engine::BulkOutcome) -> Self {
        Self {
            command_uuid: b.command_uuid,
            queued: b.queued.iter().map(ToString::to_string).collect(),
            refused: b
                .refused
                .into_iter()
                .map(|(id, code, message)| (id.to_string(), code.to_owned(), message))
                .collect(),
            pushes: b
                .pushes
                .iter()
                .map(|p| {
                    (
                        p.enrollment_id.to_string(),
                        service::push_certs::describe(&p.outcome),
                    )
                })
                .collect(),
        }
    }
}
