//! Records and enums: the service's owned types as UniFFI values (Swift structs and enums).
//! None of them carries a secret: Swift prints every field of a struct.

use std::time::SystemTime;

use mdmkit_service::push_certs::{ExpiryStatus, PushCertStatus, TopicMismatchEntry};

fn date(at: time::OffsetDateTime) -> SystemTime {
    SystemTime::from(at)
}

/// Valid, expiring soon (60 days or fewer: the 60-day flag) or expired.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum CertificateExpiry {
    /// More than 60 days remain.
    Valid,
    /// 60 days or fewer remain: renew now.
    ExpiringSoon,
    /// Expired.
    Expired,
}

impl From<ExpiryStatus> for CertificateExpiry {
    fn from(status: ExpiryStatus) -> Self {
        match status {
            ExpiryStatus::Valid => CertificateExpiry::Valid,
            ExpiryStatus::ExpiringSoon => CertificateExpiry::ExpiringSoon,
            // ExpiryStatus is non-exhaustive: anything new is treated as the worst case.
            _ => CertificateExpiry::Expired,
        }
    }
}

/// A push certificate file as read, before anything is stored.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct CertificateInfo {
    /// The push topic (`com.apple.mgmt.External.…`).
    pub topic: String,
    /// The subject.
    pub subject: String,
    /// The issuer.
    pub issuer: String,
    /// The serial number (hex).
    pub serial: String,
    /// Valid from.
    pub not_before: SystemTime,
    /// Valid until.
    pub not_after: SystemTime,
    /// Whole days remaining (negative once expired).
    pub days_remaining: i64,
    /// The expiry status (the 60-day flag is `ExpiringSoon`).
    pub status: CertificateExpiry,
    /// Whether 60 days or fewer remain (or it expired): time to renew.
    pub renew_now: bool,
    /// Whether the file carried the private key too.
    pub has_private_key: bool,
}

impl From<mdmkit_service::CertificateInfo> for CertificateInfo {
    fn from(info: mdmkit_service::CertificateInfo) -> Self {
        let status = CertificateExpiry::from(info.status);
        Self {
            topic: info.topic,
            subject: info.subject,
            issuer: info.issuer,
            serial: info.serial,
            not_before: date(info.not_before),
            not_after: date(info.not_after),
            days_remaining: info.days_remaining,
            status,
            renew_now: status != CertificateExpiry::Valid,
            has_private_key: info.has_private_key,
        }
    }
}

/// An installed push certificate on the dashboard.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct PushCertificateStatus {
    /// The topic.
    pub topic: String,
    /// The serial number (hex).
    pub serial: String,
    /// Valid until.
    pub not_after: SystemTime,
    /// Whole days remaining (negative once expired).
    pub days_remaining: i64,
    /// The expiry status (the 60-day flag is `ExpiringSoon`).
    pub status: CertificateExpiry,
    /// Whether 60 days or fewer remain (or it expired): time to renew.
    pub renew_now: bool,
    /// The Apple ID it was obtained with (renew with the same one).
    pub apple_id: Option<String>,
    /// The administrator's note.
    pub note: Option<String>,
}

impl From<PushCertStatus> for PushCertificateStatus {
    fn from(status: PushCertStatus) -> Self {
        let expiry = CertificateExpiry::from(status.status);
        Self {
            topic: status.topic,
            serial: status.serial,
            not_after: date(status.not_after),
            days_remaining: status.days_remaining,
            status: expiry,
            renew_now: expiry != CertificateExpiry::Valid,
            apple_id: status.apple_id,
            note: status.note,
        }
    }
}

/// An enrollment whose push could not be delivered after a renewal, and why.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct PushFailure {
    /// The enrollment.
    pub enrollment_id: String,
    /// Why the push was not delivered.
    pub reason: String,
}

/// What an install did.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct InstallReport {
    /// The topic.
    pub topic: String,
    /// Whether it was a renewal of an installed topic (else a first install).
    pub renewed: bool,
    /// Valid until.
    pub not_after: SystemTime,
    /// After renewing an expired certificate: the enrollments pushed so they synchronise.
    pub synchronised: Vec<String>,
    /// Of those, the ones whose push was not delivered.
    pub not_synchronised: Vec<PushFailure>,
}

impl From<mdmkit_service::InstallReport> for InstallReport {
    fn from(report: mdmkit_service::InstallReport) -> Self {
        Self {
            topic: report.topic,
            renewed: matches!(report.action, mdmkit_apns::InstallAction::Renewed),
            not_after: date(report.not_after),
            synchronised: report.synchronised,
            not_synchronised: report
                .not_synchronised
                .into_iter()
                .map(|(enrollment_id, reason)| PushFailure {
                    enrollment_id,
                    reason,
                })
                .collect(),
        }
    }
}

/// One entry of a topic's history.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct HistoryEntry {
    /// `installed`, `renewed`, `edited` or `deleted`.
    pub action: String,
    /// The certificate's serial (hex).
    pub serial: Option<String>,
    /// Its expiry.
    pub not_after: Option<SystemTime>,
    /// The Apple ID at the time.
    pub apple_id: Option<String>,
    /// The note at the time.
    pub note: Option<String>,
    /// When.
    pub at: SystemTime,
}

impl From<mdmkit_service::push_certs::HistoryEntry> for HistoryEntry {
    fn from(entry: mdmkit_service::push_certs::HistoryEntry) -> Self {
        Self {
            action: entry.action,
            serial: entry.serial,
            not_after: entry.not_after.map(date),
            apple_id: entry.apple_id,
            note: entry.note,
            at: date(entry.at),
        }
    }
}

/// An enrollment whose topic differs from every installed certificate's.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct TopicMismatch {
    /// The enrollment.
    pub enrollment_id: String,
    /// The topic it enrolled with.
    pub enrolled_topic: Option<String>,
}

impl From<TopicMismatchEntry> for TopicMismatch {
    fn from(entry: TopicMismatchEntry) -> Self {
        Self {
            enrollment_id: entry.enrollment,
            enrolled_topic: entry.enrolled_topic,
        }
    }
}

/// One enrollment (a device channel, or a user channel) with its device.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Device {
    /// The enrollment (the UDID, or `UDID:user` for a user channel).
    pub enrollment_id: String,
    /// The device (UDID or EnrollmentID).
    pub device_id: String,
    /// The portal user it belongs to.
    pub owner: Option<String>,
    /// Whether it can receive commands.
    pub enabled: bool,
    /// The push topic it enrolled with.
    pub enrolled_topic: Option<String>,
    /// Whether a valid push token is known.
    pub pushable: bool,
    /// Serial number.
    pub serial_number: Option<String>,
    /// Model (`iPhone15,2`...).
    pub model: Option<String>,
    /// Product name.
    pub product_name: Option<String>,
    /// OS version.
    pub os_version: Option<String>,
    /// When it last checked in.
    pub last_seen: Option<SystemTime>,
    /// When it enrolled.
    pub created_at: SystemTime,
}

impl From<mdmkit_service::Device> for Device {
    fn from(device: mdmkit_service::Device) -> Self {
        Self {
            enrollment_id: device.enrollment_id,
            device_id: device.device_id,
            owner: device.owner,
            enabled: device.enabled,
            enrolled_topic: device.enrolled_topic,
            pushable: device.pushable,
            serial_number: device.serial_number,
            model: device.model,
            product_name: device.product_name,
            os_version: device.os_version,
            last_seen: device.last_seen.map(date),
            created_at: date(device.created_at),
        }
    }
}

/// A page of devices.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct DevicePage {
    /// The devices, ordered by enrollment.
    pub devices: Vec<Device>,
    /// The cursor of the next page (`after`); `nil` on the last page.
    pub next: Option<String>,
}

impl From<mdmkit_service::DevicePage> for DevicePage {
    fn from(page: mdmkit_service::DevicePage) -> Self {
        Self {
            devices: page.devices.into_iter().map(Device::from).collect(),
            next: page.next,
        }
    }
}

/// What a device action did: the command queued and whether it was pushed.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ActionOutcome {
    /// The queued command (`nil` for check-in-now, which queues nothing).
    pub command_uuid: Option<String>,
    /// Whether APNs accepted the push.
    pub pushed: bool,
    /// `pushed`, or why not.
    pub push: String,
}

impl From<mdmkit_service::ActionOutcome> for ActionOutcome {
    fn from(outcome: mdmkit_service::ActionOutcome) -> Self {
        Self {
            command_uuid: outcome.command_uuid,
            pushed: outcome.pushed,
            push: outcome.push,
        }
    }
}

/// A command waiting in an enrollment's queue.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct PendingCommand {
    /// Its CommandUUID.
    pub command_uuid: String,
    /// Its RequestType.
    pub request_type: String,
    /// `NotNow` when the device deferred it.
    pub status: Option<String>,
    /// When it was queued.
    pub created_at: SystemTime,
    /// When it was last sent.
    pub delivered_at: Option<SystemTime>,
}

impl From<mdmkit_service::PendingCommandEntry> for PendingCommand {
    fn from(entry: mdmkit_service::PendingCommandEntry) -> Self {
        Self {
            command_uuid: entry.command_uuid,
            request_type: entry.request_type,
            status: entry.status,
            created_at: date(entry.created_at),
            delivered_at: entry.delivered_at.map(date),
        }
    }
}

/// A command's state on one enrollment, with the device's answer.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct CommandStatus {
    /// The enrollment.
    pub enrollment_id: String,
    /// The CommandUUID.
    pub command_uuid: String,
    /// `Acknowledged`, `Error`, `CommandFormatError`, `NotNow`, or `nil` (not answered).
    pub status: Option<String>,
    /// When it was last sent.
    pub delivered_at: Option<SystemTime>,
    /// The device's answer as JSON text (data as base64, dates as RFC 3339).
    pub result_json: Option<String>,
}

impl From<mdmkit_service::CommandStatusEntry> for CommandStatus {
    fn from(entry: mdmkit_service::CommandStatusEntry) -> Self {
        Self {
            enrollment_id: entry.enrollment_id,
            command_uuid: entry.command_uuid,
            status: entry.status,
            delivered_at: entry.delivered_at.map(date),
            result_json: entry.result.map(|json| json.to_string()),
        }
    }
}

/// A setting kept in the store.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Setting {
    /// The name (`server_url`...).
    pub name: String,
    /// What it is for.
    pub description: String,
    /// Whether it is secret (sealed at rest, never returned).
    pub secret: bool,
    /// Whether it is set.
    pub is_set: bool,
    /// Its value; `nil` when unset or secret.
    pub value: Option<String>,
}

impl From<mdmkit_service::SettingEntry> for Setting {
    fn from(entry: mdmkit_service::SettingEntry) -> Self {
        Self {
            name: entry.name,
            description: entry.description,
            secret: entry.secret,
            is_set: entry.is_set,
            value: entry.value,
        }
    }
}

/// What `init` did.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct InitReport {
    /// `created`, `imported` or `kept`.
    pub device_ca: String,
    /// The device CA's subject.
    pub device_ca_subject: String,
    /// The settings written.
    pub written: Vec<String>,
}

impl From<mdmkit_service::InitReport> for InitReport {
    fn from(report: mdmkit_service::InitReport) -> Self {
        Self {
            device_ca: report.device_ca,
            device_ca_subject: report.device_ca_subject,
            written: report.written,
        }
    }
}

/// An invitation (without its links, which are secrets).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Invitation {
    /// Its identifier (what revoking takes).
    pub id: String,
    /// The portal user.
    pub user_id: String,
    /// The address it was sent to.
    pub email: String,
    /// When it was made.
    pub created_at: SystemTime,
    /// When its links stop working.
    pub expires_at: SystemTime,
    /// When the user set a password through it.
    pub accepted_at: Option<SystemTime>,
    /// When a device enrolled through it.
    pub registered_at: Option<SystemTime>,
}

impl From<mdmkit_enrollment::Invitation> for Invitation {
    fn from(invitation: mdmkit_enrollment::Invitation) -> Self {
        Self {
            id: invitation.id,
            user_id: invitation.user_id,
            email: invitation.email,
            created_at: date(invitation.created_at),
            expires_at: date(invitation.expires_at),
            accepted_at: invitation.accepted_at.map(date),
            registered_at: invitation.registered_at.map(date),
        }
    }
}

/// A signed enrollment profile for a device, as `GET /enroll?token=…` serves it.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct EnrollmentProfile {
    /// The profile (`application/x-apple-aspen-config`, signed CMS).
    pub profile: Vec<u8>,
    /// The user the device will belong to.
    pub user_id: String,
}

/// A device's HTTP request, for the sans-IO [`Mdm::handle`](crate::Mdm::handle).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct MdmRequest {
    /// The method (devices use `PUT`).
    pub method: String,
    /// The path: `…/checkin` for check-ins, anything else the combined endpoint.
    pub path: String,
    /// The headers (`Mdm-Signature` carries the device's signature).
    pub headers: Vec<Header>,
    /// The body.
    pub body: Vec<u8>,
    /// The device's TLS client certificate (DER) when the caller terminates TLS.
    pub peer_certificate: Option<Vec<u8>>,
}

/// One HTTP header.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Header {
    /// Its name.
    pub name: String,
    /// Its value.
    pub value: String,
}

/// The answer to a device.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct MdmResponse {
    /// The HTTP status.
    pub status: u16,
    /// The headers to send.
    pub headers: Vec<Header>,
    /// The body to send.
    pub body: Vec<u8>,
    /// Why the request was refused, for logs (never sent to the device).
    pub error: Option<String>,
}

/// A check-in or command result the engine handled.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct MdmEvent {
    /// `checkin` or `command_result`.
    pub kind: String,
    /// The enrollment.
    pub enrollment_id: String,
    /// The check-in's MessageType.
    pub message_type: Option<String>,
    /// The command a result answers.
    pub command_uuid: Option<String>,
    /// The answered command's RequestType, when known.
    pub request_type: Option<String>,
    /// The result's status.
    pub status: Option<String>,
    /// When it arrived.
    pub at: SystemTime,
    /// The body as the device sent it (Swift prints only its size).
    pub body: Vec<u8>,
}

impl From<mdmkit_service::MdmEvent> for MdmEvent {
    fn from(event: mdmkit_service::MdmEvent) -> Self {
        Self {
            kind: event.kind,
            enrollment_id: event.enrollment_id,
            message_type: event.message_type,
            command_uuid: event.command_uuid,
            request_type: event.request_type,
            status: event.status,
            at: date(event.at),
            body: event.body,
        }
    }
}

/// A command plist decoded.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct DecodedCommand {
    /// The CommandUUID.
    pub command_uuid: String,
    /// The RequestType.
    pub request_type: String,
    /// The command's keys (without RequestType) as JSON text.
    pub command_json: String,
}

/// A check-in message decoded; UnlockToken, BootstrapToken and TokenData are redacted.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct DecodedCheckin {
    /// The MessageType (`Authenticate`, `TokenUpdate`...).
    pub message_type: String,
    /// The enrollment (`UDID`, or `UDID:user` on a user channel).
    pub enrollment_id: String,
    /// The message's keys (without MessageType) as JSON text; data as base64.
    pub message_json: String,
}

/// A command result decoded.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct DecodedResult {
    /// `Acknowledged`, `Error`, `CommandFormatError`, `NotNow` or `Idle`.
    pub status: String,
    /// The CommandUUID (`nil` for Idle).
    pub command_uuid: Option<String>,
    /// The RequestType, when known.
    pub request_type: Option<String>,
    /// The enrollment.
    pub enrollment_id: String,
    /// The ErrorChain entries, each as JSON text.
    pub error_chain_json: Vec<String>,
    /// The typed answer's keys as JSON text, when the RequestType is known.
    pub response_json: Option<String>,
}

/// One command of Apple's schema.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct RequestTypeInfo {
    /// The RequestType.
    pub name: String,
    /// Where it runs: `iOS 4.0`, `macOS 10.7 (supervised)`...
    pub platforms: Vec<String>,
}

impl From<mdmkit_service::protocol::RequestTypeInfo> for RequestTypeInfo {
    fn from(info: mdmkit_service::protocol::RequestTypeInfo) -> Self {
        Self {
            name: info.name,
            platforms: info.platforms,
        }
    }
}

/// An ADE (DEP) server token the dashboard should watch: its name and end of validity.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct AdeToken {
    /// The token's name.
    pub name: String,
    /// When it stops being valid.
    pub not_after: SystemTime,
}

/// One credential on the expiry dashboard.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct DashboardEntry {
    /// `push_certificate`, `vendor_certificate` or `dep_server_token`.
    pub kind: String,
    /// The topic, the vendor certificate's subject, or the token's name.
    pub name: String,
    /// End of validity.
    pub not_after: SystemTime,
    /// Whole days remaining (negative once expired).
    pub days_remaining: i64,
    /// `valid`, `expiring_soon` or `expired`.
    pub status: String,
    /// Whether 60 days or fewer remain (or it expired): time to renew.
    pub renew_now: bool,
    /// The Apple ID to renew it with, when known.
    pub apple_id: Option<String>,
}

impl From<mdmkit_service::DashboardEntry> for DashboardEntry {
    fn from(entry: mdmkit_service::DashboardEntry) -> Self {
        Self {
            kind: entry.kind,
            name: entry.name,
            not_after: date(entry.not_after),
            days_remaining: entry.days_remaining,
            status: entry.status,
            renew_now: entry.renew_now,
            apple_id: entry.apple_id,
        }
    }
}
