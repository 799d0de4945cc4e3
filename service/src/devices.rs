//! Devices through the service: listing, actions, queues and command results, in owned
//! types.

use mdmkit_core::command::EraseDevice;
use mdmkit_core::engine::{LockOptions, LostModeOptions, Queued};
use mdmkit_core::store::{EnrollmentQuery, EnrollmentRecord};
use mdmkit_core::EnrollmentId;
use serde::Serialize;
use time::OffsetDateTime;

use crate::push_certs::describe;
use crate::{Error, Mdm, Result};

pub use crate::paging::MAX_PAGE;

/// One enrollment (a device channel, or a user channel of a device) with its device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Device {
    /// The enrollment's identifier (the UDID, or `UDID:user` for a user channel).
    pub enrollment_id: String,
    /// The device's identifier (UDID or EnrollmentID).
    pub device_id: String,
    /// The portal user it belongs to.
    pub owner: Option<String>,
    /// Whether it can receive commands (TokenUpdate seen, not checked out).
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
    /// OS version as the device reported it.
    pub os_version: Option<String>,
    /// When it last checked in (UTC).
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_seen: Option<OffsetDateTime>,
    /// When it enrolled (UTC).
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// A page of devices; `next` is the cursor for the following page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct DevicePage {
    /// The devices, ordered by enrollment identifier.
    pub devices: Vec<Device>,
    /// Pass it as `after` for the next page; `None` on the last page.
    pub next: Option<String>,
}

/// What an action did: the command queued and whether it was pushed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ActionOutcome {
    /// The queued command's CommandUUID (`None` for a check-in request, which queues
    /// nothing).
    pub command_uuid: Option<String>,
    /// Whether the push was delivered to APNs.
    pub pushed: bool,
    /// `pushed`, or why not (`no push token`, `NoPushCertificate`, APNs's reason).
    pub push: String,
}

impl From<mdmkit_core::engine::ActionOutcome> for ActionOutcome {
    fn from(outcome: mdmkit_core::engine::ActionOutcome) -> Self {
        match outcome {
            mdmkit_core::engine::ActionOutcome::Queued(queued) => queued.into(),
            mdmkit_core::engine::ActionOutcome::Pushed(push) => ActionOutcome {
                command_uuid: None,
                pushed: push.is_delivered(),
                push: describe(&push),
            },
            other => ActionOutcome {
                command_uuid: None,
                pushed: false,
                push: format!("{other:?}"),
            },
        }
    }
}

impl From<Queued> for ActionOutcome {
    fn from(queued: Queued) -> Self {
        let (pushed, push) = match &queued.push {
            Some(outcome) => (outcome.is_delivered(), describe(outcome)),
            None => (false, "no push token".to_owned()),
        };
        Self {
            command_uuid: Some(queued.command_uuid),
            pushed,
            push,
        }
    }
}

/// A command waiting in an enrollment's queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct PendingCommandEntry {
    /// Its CommandUUID.
    pub command_uuid: String,
    /// Its RequestType.
    pub request_type: String,
    /// `NotNow` when the device deferred it, else `None` (not yet answered).
    pub status: Option<String>,
    /// When it was queued (UTC).
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When it was last sent (UTC).
    #[serde(with = "time::serde::rfc3339::option")]
    pub delivered_at: Option<OffsetDateTime>,
}

/// A command's state on one enrollment, with the device's answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct CommandStatusEntry {
    /// The enrollment.
    pub enrollment_id: String,
    /// The CommandUUID.
    pub command_uuid: String,
    /// `Acknowledged`, `Error`, `CommandFormatError`, `NotNow`, or `None` (not answered).
    pub status: Option<String>,
    /// When it was last sent (UTC).
    #[serde(with = "time::serde::rfc3339::option")]
    pub delivered_at: Option<OffsetDateTime>,
    /// The device's answer as JSON (plist types mapped: data as base64, dates as RFC 3339).
    pub result: Option<serde_json::Value>,
}

/// How many enrollments are in each state, for the console's dashboard.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct DeviceCounts {
    /// Every enrollment.
    pub total: u64,
    /// Enabled: they receive commands (TokenUpdate seen, not checked out).
    pub enabled: u64,
    /// Of the enabled ones, those with a valid push token.
    pub pushable: u64,
    /// Not enabled: enrolling (no TokenUpdate yet) or checked out.
    pub disabled: u64,
}

/// Devices of a deployment (`Mdm::devices`).
#[derive(Debug, Clone)]
pub struct Devices {
    mdm: Mdm,
}

impl Devices {
    pub(crate) fn new(mdm: Mdm) -> Self {
        Self { mdm }
    }

    /// A page of at most `limit` enrollments (at most [`MAX_PAGE`]) after the cursor
    /// `after`, optionally only those of one portal user.
    pub async fn list(
        &self,
        owner: Option<&str>,
        after: Option<&str>,
        limit: u32,
    ) -> Result<DevicePage> {
        let limit = limit.clamp(1, MAX_PAGE);
        let mut query = EnrollmentQuery::all();
        query.owner = owner.map(str::to_owned);
        query.after = after.map(EnrollmentId::new);
        query.limit = Some(limit + 1);
        let mut records = self.mdm.store().list_enrollments(&query).await?;
        let more = records.len() > limit as usize;
        records.truncate(limit as usize);
        let next = more
            .then(|| records.last().map(|record| record.id.to_string()))
            .flatten();
        let mut devices = Vec::with_capacity(records.len());
        for record in records {
            devices.push(self.device(record).await?);
        }
        Ok(DevicePage { devices, next })
    }

    /// How many enrollments are in each state (reads the enrollment records only, a page
    /// of [`MAX_PAGE`] at a time).
    pub async fn counts(&self) -> Result<DeviceCounts> {
        let mut counts = DeviceCounts::default();
        let mut query = EnrollmentQuery::all();
        query.limit = Some(MAX_PAGE);
        loop {
            let records = self.mdm.store().list_enrollments(&query).await?;
            for record in &records {
                counts.total += 1;
                if record.enabled {
                    counts.enabled += 1;
                    if record.push.as_ref().is_some_and(|push| push.is_valid()) {
                        counts.pushable += 1;
                    }
                } else {
                    counts.disabled += 1;
                }
            }
            match records.last() {
                Some(last) if records.len() == MAX_PAGE as usize => {
                    query.after = Some(last.id.clone());
                }
                _ => return Ok(counts),
            }
        }
    }

    /// One enrollment; `not_found` when unknown.
    pub async fn get(&self, enrollment_id: &str) -> Result<Device> {
        let record = self.record(enrollment_id).await?;
        self.device(record).await
    }

    async fn record(&self, enrollment_id: &str) -> Result<EnrollmentRecord> {
        let id = EnrollmentId::new(enrollment_id);
        self.mdm
            .store()
            .get_enrollment(&id)
            .await?
            .ok_or_else(|| not_found(enrollment_id))
    }

    async fn device(&self, record: EnrollmentRecord) -> Result<Device> {
        let device_id = record.id.device_part().to_owned();
        let info = self.mdm.store().get_device(&device_id).await?;
        let info = info.as_ref();
        Ok(Device {
            enrollment_id: record.id.to_string(),
            device_id,
            owner: record.owner,
            enabled: record.enabled,
            enrolled_topic: record.enrolled_topic,
            pushable: record.push.as_ref().is_some_and(|push| push.is_valid()),
            serial_number: info.and_then(|d| d.serial_number.clone()),
            model: info.and_then(|d| d.model.clone()),
            product_name: info.and_then(|d| d.product_name.clone()),
            os_version: info.and_then(|d| d.os_version.clone()),
            last_seen: record.last_seen,
            created_at: record.created_at,
        })
    }

    /// Locks the device (DeviceLock) with an optional message, phone number, and the PIN a
    /// Mac requires.
    pub async fn lock(
        &self,
        enrollment_id: &str,
        message: Option<String>,
        phone_number: Option<String>,
        pin: Option<String>,
    ) -> Result<ActionOutcome> {
        let mut options = LockOptions::default();
        options.message = message;
        options.phone_number = phone_number;
        options.pin = pin;
        let queued = self.mdm.engine()?.lock(&id(enrollment_id), options).await?;
        Ok(ActionOutcome::from(queued))
    }

    /// Clears the passcode (ClearPasscode with the stored UnlockToken).
    pub async fn unlock(&self, enrollment_id: &str) -> Result<ActionOutcome> {
        let queued = self.mdm.engine()?.unlock(&id(enrollment_id)).await?;
        Ok(ActionOutcome::from(queued))
    }

    /// Asks a device in Lost Mode for its location (DeviceLocation).
    pub async fn locate(&self, enrollment_id: &str) -> Result<ActionOutcome> {
        let queued = self.mdm.engine()?.locate(&id(enrollment_id)).await?;
        Ok(ActionOutcome::from(queued))
    }

    /// Erases the device (EraseDevice), with the six-digit PIN a Mac requires.
    pub async fn wipe(&self, enrollment_id: &str, pin: Option<String>) -> Result<ActionOutcome> {
        let mut erase = EraseDevice::new();
        if let Some(pin) = pin {
            erase = erase.with_pin(pin);
        }
        let queued = self.mdm.engine()?.wipe(&id(enrollment_id), erase).await?;
        Ok(ActionOutcome::from(queued))
    }

    /// Removes the device from management (RemoveProfile of the enrollment profile).
    pub async fn retire(&self, enrollment_id: &str) -> Result<ActionOutcome> {
        let queued = self.mdm.engine()?.retire(&id(enrollment_id)).await?;
        Ok(ActionOutcome::from(queued))
    }

    /// Enables Lost Mode with a message and/or a phone number and footnote.
    pub async fn enable_lost_mode(
        &self,
        enrollment_id: &str,
        message: Option<String>,
        phone_number: Option<String>,
        footnote: Option<String>,
    ) -> Result<ActionOutcome> {
        let mut options = LostModeOptions::default();
        options.message = message;
        options.phone_number = phone_number;
        options.footnote = footnote;
        let queued = self
            .mdm
            .engine()?
            .enable_lost_mode(&id(enrollment_id), options)
            .await?;
        Ok(ActionOutcome::from(queued))
    }

    /// Disables Lost Mode.
    pub async fn disable_lost_mode(&self, enrollment_id: &str) -> Result<ActionOutcome> {
        let queued = self
            .mdm
            .engine()?
            .disable_lost_mode(&id(enrollment_id))
            .await?;
        Ok(ActionOutcome::from(queued))
    }

    /// Pushes the device so it checks in now (queues nothing).
    pub async fn check_in_now(&self, enrollment_id: &str) -> Result<ActionOutcome> {
        let outcome = self.mdm.engine()?.check_in_now(&id(enrollment_id)).await?;
        Ok(ActionOutcome {
            command_uuid: None,
            pushed: outcome.is_delivered(),
            push: describe(&outcome),
        })
    }

    /// Asks for DeviceInformation keys (Apple's names: `OSVersion`, `SerialNumber`...);
    /// empty: the usual set.
    pub async fn device_information(
        &self,
        enrollment_id: &str,
        queries: Vec<String>,
    ) -> Result<ActionOutcome> {
        let queued = self
            .mdm
            .engine()?
            .query_device_information(&id(enrollment_id), queries)
            .await?;
        Ok(ActionOutcome::from(queued))
    }

    /// Installs a profile (`.mobileconfig` bytes, signed or not).
    pub async fn install_profile(
        &self,
        enrollment_id: &str,
        profile: Vec<u8>,
    ) -> Result<ActionOutcome> {
        let queued = self
            .mdm
            .engine()?
            .install_profile(&id(enrollment_id), profile)
            .await?;
        Ok(ActionOutcome::from(queued))
    }

    /// Removes the profile with this PayloadIdentifier.
    pub async fn remove_profile(
        &self,
        enrollment_id: &str,
        identifier: &str,
    ) -> Result<ActionOutcome> {
        let queued = self
            .mdm
            .engine()?
            .remove_profile(&id(enrollment_id), identifier)
            .await?;
        Ok(ActionOutcome::from(queued))
    }

    /// Runs a device action by name with its options as JSON, from the engine's one action
    /// table (`lock`, `unlock`, `locate`, `wipe`, `retire`, `enable-lost-mode`,
    /// `disable-lost-mode`, `play-lost-mode-sound`, `check-in-now`, `device-information`,
    /// `install-profile`, `remove-profile`, `command`): unknown or duplicate keys, wrong
    /// types and empty identifiers are refused before anything is queued. The action is
    /// audited with `actor` as who did it.
    pub async fn action(
        &self,
        actor: &str,
        enrollment_id: &str,
        name: &str,
        options_json: &[u8],
    ) -> Result<ActionOutcome> {
        let engine = self.mdm.engine()?;
        let action = match mdmkit_core::engine::Action::parse(name, options_json) {
            Ok(action) => action,
            Err(error) => {
                // A refused request for a known action is audited like a refused run; an
                // unknown name is not an action, so nothing was attempted.
                if mdmkit_core::engine::Action::NAMES.contains(&name) {
                    let mut event =
                        mdmkit_core::store::AuditEvent::new(actor, format!("device.{name}"));
                    event.target = Some(enrollment_id.to_owned());
                    event.detail = Some(
                        serde_json::json!({"outcome": "refused", "error": error.code()})
                            .to_string(),
                    );
                    self.mdm.store().append_audit_event(&event).await?;
                }
                return Err(error.into());
            }
        };
        let outcome = engine
            .run_action_as(actor, &id(enrollment_id), action)
            .await?;
        Ok(outcome.into())
    }

    /// The names of every device action [`Devices::action`] takes.
    pub fn action_names() -> Vec<String> {
        mdmkit_core::engine::Action::NAMES
            .iter()
            .map(|name| (*name).to_owned())
            .collect()
    }

    /// Queues any command, given as JSON with Apple's key names (`{"RequestType":
    /// "DeviceLock", "Message": "…"}`), checked against Apple's schema and the device.
    pub async fn enqueue_json(&self, enrollment_id: &str, command: &str) -> Result<ActionOutcome> {
        let command = crate::protocol::command_from_json_text(command)?;
        let queued = self
            .mdm
            .engine()?
            .enqueue_command(&id(enrollment_id), command)
            .await?;
        Ok(ActionOutcome::from(queued))
    }

    /// The commands waiting in an enrollment's queue, in delivery order; `not_found` for an
    /// unknown enrollment.
    pub async fn queue(&self, enrollment_id: &str) -> Result<Vec<PendingCommandEntry>> {
        self.record(enrollment_id).await?;
        let pending = self
            .mdm
            .store()
            .pending_commands(&id(enrollment_id))
            .await?;
        Ok(pending
            .into_iter()
            .map(|pending| PendingCommandEntry {
                command_uuid: pending.command.command_uuid,
                request_type: pending.command.request_type,
                status: pending.status.map(|status| status.to_string()),
                created_at: pending.command.created_at,
                delivered_at: pending.delivered_at,
            })
            .collect())
    }

    /// A command's state on each enrollment it was queued to, with the device's answers;
    /// `not_found` for an unknown CommandUUID.
    pub async fn command_status(&self, command_uuid: &str) -> Result<Vec<CommandStatusEntry>> {
        let statuses = self.mdm.store().command_status(command_uuid).await?;
        if statuses.is_empty() {
            return Err(Error::Core(mdmkit_core::Error::NotFound {
                kind: "command",
                id: command_uuid.to_owned(),
            }));
        }
        statuses
            .into_iter()
            .map(|status| {
                let result = status
                    .result
                    .as_ref()
                    .map(|result| crate::protocol::plist_bytes_to_json(&result.payload))
                    .transpose()?;
                Ok(CommandStatusEntry {
                    enrollment_id: status.enrollment_id.to_string(),
                    command_uuid: status.command_uuid,
                    status: status.status.map(|status| status.to_string()),
                    delivered_at: status.delivered_at,
                    result,
                })
            })
            .collect()
    }
}

fn id(enrollment_id: &str) -> EnrollmentId {
    EnrollmentId::new(enrollment_id)
}

fn not_found(enrollment_id: &str) -> Error {
    Error::Core(mdmkit_core::Error::NotFound {
        kind: "enrollment",
        id: enrollment_id.to_owned(),
    })
}
