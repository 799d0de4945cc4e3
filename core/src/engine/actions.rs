//! Device actions: what administrators and the self-service portal do to a device.
//!
//! Every action checks first what the device can do (platform and OS version,
//! supervision, User Enrollment, channel, required tokens) and fails with a typed error
//! before anything is queued. Then it queues the typed command and pushes the device; the
//! push outcome is reported, but a push that fails does not undo the queueing (the device
//! gets the command at its next check-in).

use std::collections::HashMap;

use plist::Value;

use super::Engine;
use crate::command::{
    ClearPasscode, Command, CommandEnvelope, DeviceInformation, DeviceLocation, DeviceLock,
    DisableLostMode, EnableLostMode, EraseDevice, InstallProfile, PlayLostModeSound, RemoveProfile,
};
use crate::plist_io;
use crate::profile::{self, Profile, SigningIdentity};
use crate::push::{push_and_mark_invalid, ProgressCallback, PushOutcome, PushResult, PushTarget};
use crate::schema::{Channel, DeviceFacts, Platform};
use crate::store::{DeviceRecord, EnrollmentRecord, QueuedCommand};
use crate::{Data, EnrollmentId, Error, Result};

/// A command an action queued, and how the push that followed went.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Queued {
    /// The CommandUUID of the queued command.
    pub command_uuid: String,
    /// The push outcome; `None` when the enrollment has no valid push token (the device
    /// gets the command at its next check-in).
    pub push: Option<PushOutcome>,
}

/// The outcome of one command queued to many enrollments.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct BulkOutcome {
    /// The CommandUUID (one command, referenced per target).
    pub command_uuid: String,
    /// The enrollments the command was queued to.
    pub queued: Vec<EnrollmentId>,
    /// The enrollments refused before queueing, with the error's code and message.
    pub refused: Vec<(EnrollmentId, &'static str, String)>,
    /// One push result per queued enrollment that had a valid push token.
    pub pushes: Vec<PushResult>,
}

/// The options of [`Engine::lock`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct LockOptions {
    /// The message shown on the lock screen.
    pub message: Option<String>,
    /// The phone number shown on the lock screen.
    pub phone_number: Option<String>,
    /// The six-digit PIN that unlocks a Mac (required on macOS, not used elsewhere).
    pub pin: Option<String>,
}

/// The options of [`Engine::enable_lost_mode`]: a message or a phone number is required.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct LostModeOptions {
    /// The message shown on the lock screen.
    pub message: Option<String>,
    /// The phone number shown on the lock screen.
    pub phone_number: Option<String>,
    /// A footnote shown on the lock screen.
    pub footnote: Option<String>,
}

/// Whether an OS version reads as one: one to four dot-separated numbers ("17.4.1").
fn is_version(text: &str) -> bool {
    let parts: Vec<&str> = text.split('.').collect();
    (1..=4).contains(&parts.len())
        && parts.iter().all(|part| {
            !part.is_empty() && part.len() <= 6 && part.bytes().all(|b| b.is_ascii_digit())
        })
}

/// The platform a model or product name belongs to ("iPhone15,2", "MacBookPro18,3").
pub fn platform_of_model(name: &str) -> Option<Platform> {
    const PREFIXES: [(&str, Platform); 8] = [
        ("iPhone", Platform::Ios),
        ("iPad", Platform::Ios),
        ("iPod", Platform::Ios),
        ("AppleTV", Platform::TvOs),
        ("Watch", Platform::WatchOs),
        ("RealityDevice", Platform::VisionOs),
        ("Mac", Platform::MacOs),
        ("iMac", Platform::MacOs),
    ];
    PREFIXES
        .iter()
        .find(|(prefix, _)| name.starts_with(prefix))
        .map(|(_, platform)| *platform)
}

/// How many enrollments [`Engine::enqueue_command_many`] reads in one store round trip
/// (and as many devices in another).
const BULK_READ_BATCH: usize = 1000;

/// The error of an enrollment the store does not have.
fn enrollment_not_found(enrollment: &EnrollmentId) -> Error {
    Error::NotFound {
        kind: "enrollment",
        id: enrollment.to_string(),
    }
}

/// Whether an error ends a bulk action rather than refusing one target: the store's.
fn aborts_bulk(error: &Error) -> bool {
    matches!(error, Error::StoreBackend(_) | Error::StoreCrypto(_))
}

/// The rules of the command alone, the same for every device: whatever path queued it
/// (an action, a raw command), an InstallProfile's payload must be a profile the device
/// can read.
fn check_command(command: &Command) -> Result<()> {
    if let Command::InstallProfile(install) = command {
        Profile::read_maybe_encrypted(install.payload.as_bytes())?;
    }
    Ok(())
}

impl Engine {
    /// What the engine knows of an enrollment's device, for capability checks: the
    /// platform (from the model or product name of Authenticate or DeviceInformation),
    /// the OS version, supervision and Shared iPad (from the last DeviceInformation
    /// answer; false until one arrives), User Enrollment and the channel.
    pub async fn device_facts(&self, enrollment: &EnrollmentId) -> Result<DeviceFacts> {
        let record = self.enrollment(enrollment).await?;
        let device = self.store.get_device(enrollment.device_part()).await?;
        self.facts_of(enrollment, &record, device.as_ref())
    }

    /// [`Engine::device_facts`] from the records already read: the enrollment's and its
    /// device's (`None` when the device has no record yet).
    fn facts_of(
        &self,
        enrollment: &EnrollmentId,
        record: &EnrollmentRecord,
        device: Option<&DeviceRecord>,
    ) -> Result<DeviceFacts> {
        let platform = device
            .and_then(|d| {
                [&d.product_name, &d.model]
                    .into_iter()
                    .flatten()
                    .find_map(|name| platform_of_model(name))
            })
            .ok_or_else(|| Error::CommandNotSupported {
                request_type: "any".into(),
                reason: format!(
                    "the platform of {enrollment} is unknown (no model or product name yet)"
                ),
            })?;
        let answers = device
            .and_then(|d| d.device_information.as_deref())
            .and_then(|bytes| plist_io::parse_dictionary(bytes, self.config.limits).ok())
            .unwrap_or_default();
        let flag = |key: &str| {
            answers
                .get(key)
                .and_then(Value::as_boolean)
                .unwrap_or(false)
        };
        let mut facts = DeviceFacts::new(platform);
        // A version that does not read as one (a device's or a bug's garbage) is unknown:
        // it must not make every version-gated action refuse.
        facts.os_version = device
            .and_then(|d| d.os_version.clone())
            .filter(|version| is_version(version));
        facts.supervised = flag("IsSupervised");
        facts.shared_ipad = flag("IsMultiUser");
        facts.user_enrollment =
            record.enrollment_type.as_deref() == Some("User") || flag("IsUserEnrollment");
        facts.channel = if enrollment.is_user_channel() {
            Channel::User
        } else {
            Channel::Device
        };
        Ok(facts)
    }

    pub(super) async fn enrollment(&self, enrollment: &EnrollmentId) -> Result<EnrollmentRecord> {
        self.store
            .get_enrollment(enrollment)
            .await?
            .ok_or_else(|| enrollment_not_found(enrollment))
    }

    /// The enrollment, if it is managed (enabled) and can run `command`: one read of the
    /// enrollment, one of its device.
    async fn check(
        &self,
        enrollment: &EnrollmentId,
        command: &Command,
    ) -> Result<EnrollmentRecord> {
        let record = self.enrollment(enrollment).await?;
        let device = if record.enabled {
            self.store.get_device(enrollment.device_part()).await?
        } else {
            None
        };
        self.check_device(enrollment, &record, device.as_ref(), command)?;
        check_command(command)?;
        Ok(record)
    }

    /// The per-device rules of [`Engine::enqueue_command`] and
    /// [`Engine::enqueue_command_many`], on the records already read: the enrollment is
    /// managed (enabled) and its device can run `command`. The rules of the command alone
    /// are [`check_command`]'s.
    fn check_device(
        &self,
        enrollment: &EnrollmentId,
        record: &EnrollmentRecord,
        device: Option<&DeviceRecord>,
        command: &Command,
    ) -> Result<()> {
        if !record.enabled {
            return Err(Error::EnrollmentDisabled(enrollment.to_string()));
        }
        let mut facts = self.facts_of(enrollment, record, device)?;
        if matches!(command, Command::DeviceLock(_) | Command::EraseDevice(_)) {
            // Safety actions are never refused for an OS version: a device that reports
            // one oddly must still be lockable and erasable.
            facts.os_version = None;
        }
        command.info().check(&facts)?;
        if let Command::DeviceLock(lock) = command {
            if facts.platform == Platform::MacOs && lock.pin.is_none() {
                return Err(Error::CommandNotSupported {
                    request_type: "DeviceLock".into(),
                    reason: "macOS needs a six-digit PIN to lock".into(),
                });
            }
        }
        Ok(())
    }

    /// Queues any typed command to one enrollment after the capability check, then pushes
    /// it.
    pub async fn enqueue_command(
        &self,
        enrollment: &EnrollmentId,
        command: impl Into<Command>,
    ) -> Result<Queued> {
        let command = command.into();
        let record = self.check(enrollment, &command).await?;
        let envelope = CommandEnvelope::new(command);
        let queued = queued_command(&envelope)?;
        self.store
            .enqueue(&queued, std::slice::from_ref(enrollment))
            .await?;
        let push = match record.push.filter(|push| push.is_valid()) {
            Some(push) => Some(
                self.push_targets(vec![PushTarget::new(enrollment.clone(), push)], None)
                    .await?
                    .remove(0)
                    .outcome,
            ),
            None => None,
        };
        Ok(Queued {
            command_uuid: envelope.command_uuid,
            push,
        })
    }

    /// Queues one command to many enrollments (stored once, referenced per target) and
    /// pushes them; `progress` is called as pushes complete. Enrollments that cannot run
    /// it are refused and listed (in the order given); the others are queued.
    ///
    /// The enrollments and their devices are read a thousand at a time, one store round
    /// trip per batch each; the command itself (an InstallProfile's payload)
    /// is checked once. A store error aborts the whole call.
    pub async fn enqueue_command_many(
        &self,
        enrollments: &[EnrollmentId],
        command: impl Into<Command>,
        progress: Option<ProgressCallback>,
    ) -> Result<BulkOutcome> {
        let command = command.into();
        // The command's own check, once: its refusal is that of every device that passes
        // its own checks (as one device at a time would see it).
        let command_refusal = match check_command(&command) {
            Ok(()) => None,
            Err(error) if aborts_bulk(&error) => return Err(error),
            Err(error) => Some((error.code(), error.to_string())),
        };
        let mut queued = Vec::new();
        let mut refused = Vec::new();
        for batch in enrollments.chunks(BULK_READ_BATCH) {
            let records: HashMap<EnrollmentId, EnrollmentRecord> = self
                .store
                .get_enrollments(batch)
                .await?
                .into_iter()
                .map(|record| (record.id.clone(), record))
                .collect();
            let device_ids: Vec<&str> = records
                .values()
                .filter(|record| record.enabled)
                .map(|record| record.id.device_part())
                .collect();
            let devices: HashMap<String, DeviceRecord> = self
                .store
                .get_devices(&device_ids)
                .await?
                .into_iter()
                .map(|device| (device.device_id.clone(), device))
                .collect();
            for enrollment in batch {
                let checked = match records.get(enrollment) {
                    Some(record) => self.check_device(
                        enrollment,
                        record,
                        devices.get(enrollment.device_part()),
                        &command,
                    ),
                    None => Err(enrollment_not_found(enrollment)),
                };
                match (checked, &command_refusal) {
                    (Ok(()), None) => queued.push(enrollment.clone()),
                    (Ok(()), Some((code, message))) => {
                        refused.push((enrollment.clone(), *code, message.clone()));
                    }
                    (Err(error), _) if aborts_bulk(&error) => return Err(error),
                    (Err(error), _) => {
                        refused.push((enrollment.clone(), error.code(), error.to_string()));
                    }
                }
            }
        }
        let envelope = CommandEnvelope::new(command);
        let mut pushes = Vec::new();
        if !queued.is_empty() {
            self.store
                .enqueue(&queued_command(&envelope)?, &queued)
                .await?;
            let targets = self.store.push_targets_for(&queued).await?;
            pushes = self.push_targets(targets, progress).await?;
        }
        Ok(BulkOutcome {
            command_uuid: envelope.command_uuid,
            queued,
            refused,
            pushes,
        })
    }

    async fn push_targets(
        &self,
        targets: Vec<PushTarget>,
        progress: Option<ProgressCallback>,
    ) -> Result<Vec<PushResult>> {
        push_and_mark_invalid(self.store.as_ref(), self.pusher.as_ref(), targets, progress).await
    }

    /// Locks the device (`DeviceLock`) with an optional message and phone number; on
    /// macOS a six-digit PIN is required.
    pub async fn lock(&self, enrollment: &EnrollmentId, options: LockOptions) -> Result<Queued> {
        let mut lock = DeviceLock::new();
        lock.message = options.message;
        lock.phone_number = options.phone_number;
        lock.pin = options.pin;
        self.enqueue_command(enrollment, lock).await
    }

    /// Clears the passcode (`ClearPasscode`) with the UnlockToken the device sent in its
    /// TokenUpdate; refused with [`Error::UnlockTokenMissing`] when there is none.
    pub async fn unlock(&self, enrollment: &EnrollmentId) -> Result<Queued> {
        let record = self.enrollment(enrollment).await?;
        let token = record
            .unlock_token
            .filter(|token| !token.is_empty())
            .ok_or_else(|| Error::UnlockTokenMissing(enrollment.to_string()))?;
        let clear = ClearPasscode::new(Data::new(token.expose().to_vec()));
        self.enqueue_command(enrollment, clear).await
    }

    /// Enables lost mode (`EnableLostMode`; supervised iOS). A message or a phone number
    /// is required.
    pub async fn enable_lost_mode(
        &self,
        enrollment: &EnrollmentId,
        options: LostModeOptions,
    ) -> Result<Queued> {
        if options.message.is_none() && options.phone_number.is_none() {
            return Err(Error::MissingKey {
                path: "EnableLostMode.Message (or PhoneNumber)".into(),
            });
        }
        let mut lost = EnableLostMode::new();
        lost.message = options.message;
        lost.phone_number = options.phone_number;
        lost.footnote = options.footnote;
        self.enqueue_command(enrollment, lost).await
    }

    /// Disables lost mode (`DisableLostMode`).
    pub async fn disable_lost_mode(&self, enrollment: &EnrollmentId) -> Result<Queued> {
        self.enqueue_command(enrollment, DisableLostMode::new())
            .await
    }

    /// Asks a device in lost mode for its location (`DeviceLocation`).
    pub async fn locate(&self, enrollment: &EnrollmentId) -> Result<Queued> {
        self.enqueue_command(enrollment, DeviceLocation::new())
            .await
    }

    /// Plays the lost-mode sound (`PlayLostModeSound`).
    pub async fn play_lost_mode_sound(&self, enrollment: &EnrollmentId) -> Result<Queued> {
        self.enqueue_command(enrollment, PlayLostModeSound::new())
            .await
    }

    /// Erases the device (`EraseDevice`) with the given options.
    pub async fn wipe(&self, enrollment: &EnrollmentId, options: EraseDevice) -> Result<Queued> {
        self.enqueue_command(enrollment, options).await
    }

    /// Retires the device: removes the enrollment profile (`RemoveProfile` of
    /// [`EngineConfig::enrollment_profile_identifier`](super::EngineConfig)); the device
    /// then checks out and its enrollment is disabled.
    pub async fn retire(&self, enrollment: &EnrollmentId) -> Result<Queued> {
        let identifier = self
            .config
            .enrollment_profile_identifier
            .clone()
            .ok_or_else(|| Error::CommandNotSupported {
                request_type: "RemoveProfile".into(),
                reason: "no enrollment profile identifier is configured".into(),
            })?;
        self.remove_profile(enrollment, &identifier).await
    }

    /// Makes the device check in now: a push only, nothing queued.
    pub async fn check_in_now(&self, enrollment: &EnrollmentId) -> Result<PushOutcome> {
        let record = self.enrollment(enrollment).await?;
        if !record.enabled {
            return Err(Error::EnrollmentDisabled(enrollment.to_string()));
        }
        let push = record
            .push
            .filter(|push| push.is_valid())
            .ok_or_else(|| Error::NotFound {
                kind: "valid push token of enrollment",
                id: enrollment.to_string(),
            })?;
        Ok(self
            .push_targets(vec![PushTarget::new(enrollment.clone(), push)], None)
            .await?
            .remove(0)
            .outcome)
    }

    /// Queries device information (`DeviceInformation`) for the given keys; the answer
    /// updates the device record (and so the capability checks).
    pub async fn query_device_information(
        &self,
        enrollment: &EnrollmentId,
        queries: Vec<String>,
    ) -> Result<Queued> {
        self.enqueue_command(enrollment, DeviceInformation::new(queries))
            .await
    }

    /// Installs a configuration profile (`InstallProfile`): an XML or binary plist, or a
    /// signed profile, possibly already encrypted (`EncryptedPayloadContent`). Bytes that
    /// are not a readable profile are refused.
    pub async fn install_profile(
        &self,
        enrollment: &EnrollmentId,
        profile: Vec<u8>,
    ) -> Result<Queued> {
        Profile::read_maybe_encrypted(&profile)?;
        self.enqueue_command(enrollment, InstallProfile::new(Data::new(profile)))
            .await
    }

    /// Installs a configuration profile whose payloads are encrypted to the device's
    /// identity certificate (see [`profile::encrypt`]), signed with `signer` when given.
    /// The certificate is the one the device authenticated with (or that
    /// [`Engine::rebind_identity`] bound); for a user channel, its device channel's.
    ///
    /// Refused before anything is queued: [`Error::IdentityCertificateMissing`] when no
    /// certificate is stored for the device, [`Error::KeyNotSupported`] when its key is not
    /// RSA, the profile's validation error, and what [`Engine::install_profile`] refuses.
    pub async fn install_profile_encrypted(
        &self,
        enrollment: &EnrollmentId,
        profile: &Profile,
        signer: Option<&SigningIdentity>,
    ) -> Result<Queued> {
        let device = super::hooks::device_channel(enrollment);
        let certificate = self
            .enrollment(&device)
            .await?
            .identity_certificate
            .ok_or_else(|| Error::IdentityCertificateMissing(device.to_string()))?;
        let encrypted = profile::encrypt(profile, &certificate)?;
        let bytes = match signer {
            Some(signer) => profile::sign(&encrypted, signer)?,
            None => encrypted.to_xml()?,
        };
        self.install_profile(enrollment, bytes).await
    }

    /// Removes the profile with this `PayloadIdentifier` (`RemoveProfile`).
    pub async fn remove_profile(
        &self,
        enrollment: &EnrollmentId,
        identifier: &str,
    ) -> Result<Queued> {
        self.enqueue_command(enrollment, RemoveProfile::new(identifier))
            .await
    }

    /// Pushes every enrolled device of a topic (after a push certificate was renewed,
    /// for example), calling `progress` as pushes complete.
    pub async fn sync_topic(
        &self,
        topic: &str,
        progress: Option<ProgressCallback>,
    ) -> Result<Vec<PushResult>> {
        let targets = self.store.push_targets_for_topic(topic).await?;
        self.push_targets(targets, progress).await
    }
}

fn queued_command(envelope: &CommandEnvelope) -> Result<QueuedCommand> {
    Ok(QueuedCommand::new(
        envelope.command_uuid.clone(),
        envelope.request_type(),
        envelope.to_xml()?,
    ))
}
