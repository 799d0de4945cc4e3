//! The deployment handle and its sub-handles: every method doing I/O returns a Promise.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use mdmkit_core::EnrollmentId;
use mdmkit_service::{MdmConfig, MdmRequestParts};
use napi::bindgen_prelude::{AsyncGenerator, Buffer, Function, PromiseRaw, Unknown};
use napi::threadsafe_function::ThreadsafeFunctionCallMode;
use napi::Env;
use napi_derive::napi;
use tokio::sync::Mutex;

use crate::convert::{arg, date, dictionary, opt_arg, opt_date, text};
use crate::errors::promise;
use crate::protocol::{name_of, CertificateInfo};

/// How to open a deployment.
#[napi(object)]
pub struct OpenOptions {
    /// The store's at-rest key, 64 hex digits (required for SQL stores).
    pub key: Option<String>,
    /// Settings overriding the stored ones for this handle only.
    pub settings: Option<std::collections::HashMap<String, String>>,
}

/// One mdmkit deployment: its store and everything assembled over it.
#[napi]
pub struct Mdm {
    inner: mdmkit_service::Mdm,
}

#[napi]
impl Mdm {
    /// Opens the store (`memory:`, an SQLite path or `sqlite:` URL), applying migrations and
    /// checking the key, and assembles the deployment from its settings.
    #[napi(ts_return_type = "Promise<Mdm>")]
    pub fn open<'env>(
        env: &'env Env,
        #[napi(ts_arg_type = "string")] store_url: Unknown<'_>,
        #[napi(ts_arg_type = "OpenOptions | undefined | null")] options: Option<Unknown<'_>>,
    ) -> napi::Result<PromiseRaw<'env, Mdm>> {
        let config = (|| -> mdmkit_service::Result<MdmConfig> {
            let mut config = MdmConfig::new(arg::<String>(store_url, "storeUrl")?);
            if let Some(options) = opt_arg::<OpenOptions>(options, "options")? {
                if let Some(key) = options.key {
                    config = config.key_hex(key);
                }
                for (name, value) in options.settings.unwrap_or_default() {
                    config = config.setting(name, value);
                }
            }
            Ok(config)
        })();
        // Opening an SQL store is a future the compiler cannot prove `Send` through a
        // generic bound (higher-ranked lifetimes in sqlx); it runs on a blocking thread of
        // the runtime instead, still off the event loop.
        let opening = async move {
            let config = config?;
            let runtime = tokio::runtime::Handle::current();
            tokio::task::spawn_blocking(move || runtime.block_on(mdmkit_service::Mdm::open(config)))
                .await
                .map_err(|e| crate::errors::usage(format!("opening the store failed: {e}")))?
        };
        promise(env, opening, |inner| Ok(Mdm { inner }))
    }

    /// Devices, their actions, queues and command results.
    #[napi(getter)]
    pub fn devices(&self) -> Devices {
        Devices {
            inner: self.inner.devices(),
            mdm: self.inner.clone(),
        }
    }

    /// Push certificates: CSR, install and renew, status, edit, delete.
    #[napi(getter)]
    pub fn push_certs(&self) -> PushCerts {
        PushCerts {
            inner: self.inner.push_certs(),
        }
    }

    /// Enrollment: `init`, the device CA, enrollment links and profiles, invitations.
    #[napi(getter)]
    pub fn enrollment(&self) -> Enrollment {
        Enrollment {
            inner: self.inner.enrollment(),
        }
    }

    /// Administrators' accounts and sessions.
    #[napi(getter)]
    pub fn admins(&self) -> crate::portal::Admins {
        crate::portal::Admins {
            inner: self.inner.admins(),
        }
    }

    /// The self-service portal: sign-in, and sessions acting for their user.
    #[napi(getter)]
    pub fn portal(&self) -> crate::portal::Portal {
        crate::portal::Portal {
            inner: self.inner.portal(),
        }
    }

    /// Users' certificates (PKCS#12) and the kinds they may upload, for administrators.
    #[napi(getter)]
    pub fn user_certs(&self) -> crate::portal::UserCertificates {
        crate::portal::UserCertificates {
            inner: self.inner.user_certs(),
        }
    }

    /// The settings kept in the store.
    #[napi(getter)]
    pub fn settings(&self) -> Settings {
        Settings {
            inner: self.inner.settings(),
        }
    }

    /// The sans-IO MDM endpoint: a device's request (`method`, `path`, `headers`, `body`, the
    /// TLS client certificate `peerCertificate` as DER when the caller terminates TLS) in,
    /// `{ status, headers, body }` out.
    #[napi(ts_return_type = "Promise<MdmResponse>")]
    pub fn handle<'env>(
        &self,
        env: &'env Env,
        #[napi(ts_arg_type = "MdmRequest")] request: Unknown<'_>,
    ) -> napi::Result<PromiseRaw<'env, MdmResponse>> {
        let parts = arg::<MdmRequest>(request, "request").map(|request| {
            let mut parts =
                MdmRequestParts::new(request.method, request.path, request.body.to_vec());
            for (name, value) in request.headers.unwrap_or_default() {
                parts = parts.header(name, value);
            }
            if let Some(der) = request.peer_certificate {
                parts = parts.peer_certificate(der.to_vec());
            }
            parts
        });
        let mdm = self.inner.clone();
        promise(env, async move { mdm.handle(parts?).await }, |response| {
            Ok(MdmResponse {
                status: u32::from(response.status),
                headers: response.headers.into_iter().collect(),
                body: response.body.into(),
                error: response.error,
            })
        })
    }

    /// The portal's branding; `null` until an administrator sets it.
    #[napi(ts_return_type = "Promise<PortalBranding | null>")]
    pub fn branding<'env>(
        &self,
        env: &'env Env,
    ) -> napi::Result<PromiseRaw<'env, Option<crate::portal::PortalBranding>>> {
        let mdm = self.inner.clone();
        promise(env, async move { mdm.branding().await }, |b| {
            Ok(b.map(crate::portal::PortalBranding::from))
        })
    }

    /// Sets the portal's branding (audited as `admin`): `name`, optional `#RRGGBB`
    /// `primaryColour` and `accentColour`, an optional `logo` (PNG, JPEG or SVG bytes, at
    /// most 512 KiB). Bad input rejects with `invalid_input` and stores nothing. Resolves
    /// to what was stored.
    #[napi(ts_return_type = "Promise<PortalBranding>")]
    pub fn set_branding<'env>(
        &self,
        env: &'env Env,
        #[napi(ts_arg_type = "BrandingInput")] branding: Unknown<'_>,
    ) -> napi::Result<PromiseRaw<'env, crate::portal::PortalBranding>> {
        let input = arg::<BrandingInput>(branding, "branding");
        let mdm = self.inner.clone();
        promise(
            env,
            async move {
                let input = input?;
                mdm.set_branding(
                    &input.name,
                    input.primary_colour.as_deref(),
                    input.accent_colour.as_deref(),
                    input.logo.map(|logo| logo.to_vec()),
                )
                .await
            },
            |b| Ok(b.into()),
        )
    }

    /// The engine's events (check-ins, command results) published from now on, as an async
    /// iterator: `for await (const event of mdm.events()) …`. The engine never waits for
    /// JavaScript: a reader that falls behind by more than 1024 events skips them.
    #[napi]
    pub fn events(&self) -> EventStream {
        EventStream {
            feed: Arc::new(Mutex::new(self.inner.events())),
        }
    }

    /// Calls `callback` with each event published from now on, until `close()` is called on
    /// the returned subscription (it keeps the process alive until then). Events are
    /// queued to the callback; the engine never waits for it.
    #[napi]
    pub fn on_event(
        &self,
        #[napi(ts_arg_type = "(event: MdmEvent) => void")] callback: Function<'_, MdmEvent, ()>,
    ) -> napi::Result<EventSubscription> {
        let tsfn = callback.build_threadsafe_function::<MdmEvent>().build()?;
        let mut feed = self.inner.events();
        let task = napi::bindgen_prelude::spawn(async move {
            while let Some(event) = feed.next().await {
                tsfn.call(js_event(event), ThreadsafeFunctionCallMode::NonBlocking);
            }
        });
        Ok(EventSubscription { task: Some(task) })
    }
}

/// The argument of `Mdm.setBranding`.
#[napi(object)]
pub struct BrandingInput {
    /// The organisation or portal name (1 to 200 characters, trimmed).
    pub name: String,
    /// The primary colour, `#RRGGBB`.
    pub primary_colour: Option<String>,
    /// The accent colour, `#RRGGBB`.
    pub accent_colour: Option<String>,
    /// The logo: PNG, JPEG or SVG bytes (at most 512 KiB).
    pub logo: Option<Buffer>,
}

/// A callback registered with `Mdm.onEvent`.
#[napi]
pub struct EventSubscription {
    task: Option<tokio::task::JoinHandle<()>>,
}

#[napi]
impl EventSubscription {
    /// Stops calling the callback (idempotent).
    #[napi]
    pub fn close(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

fn js_event(event: mdmkit_service::MdmEvent) -> MdmEvent {
    MdmEvent {
        kind: event.kind,
        enrollment_id: event.enrollment_id,
        message_type: event.message_type,
        command_uuid: event.command_uuid,
        request_type: event.request_type,
        status: event.status,
        at: date(event.at),
        body: event.body.into(),
    }
}

/// A device's HTTP request, for `Mdm.handle`.
#[napi(object)]
pub struct MdmRequest {
    /// The HTTP method (devices use `PUT`).
    pub method: String,
    /// The request path (`/mdm/checkin`, `/mdm/server`...).
    pub path: String,
    /// The headers (`Mdm-Signature` carries the device's signature).
    pub headers: Option<std::collections::HashMap<String, String>>,
    /// The body.
    pub body: Buffer,
    /// The device's TLS client certificate (DER).
    pub peer_certificate: Option<Buffer>,
}

/// The answer to a device, from `Mdm.handle`.
#[napi(object)]
pub struct MdmResponse {
    /// The HTTP status.
    pub status: u32,
    /// The headers to send.
    pub headers: std::collections::HashMap<String, String>,
    /// The body to send.
    pub body: Buffer,
    /// Why the request was refused, for logs (never sent to the device).
    pub error: Option<String>,
}

/// An accepted check-in or command result.
#[napi(object)]
pub struct MdmEvent {
    /// `checkin` or `command_result`.
    pub kind: String,
    /// The enrollment it came from.
    pub enrollment_id: String,
    /// The check-in's MessageType; `null` for results.
    pub message_type: Option<String>,
    /// The command the result answers; `null` for Idle and check-ins.
    pub command_uuid: Option<String>,
    /// The answered command's RequestType, when known.
    pub request_type: Option<String>,
    /// The result's status; `null` for check-ins.
    pub status: Option<String>,
    /// When it arrived.
    pub at: DateTime<Utc>,
    /// The body as the device sent it.
    pub body: Buffer,
}

/// The engine's events, pulled (see `Mdm.events`).
#[napi(async_iterator)]
pub struct EventStream {
    feed: Arc<Mutex<mdmkit_service::EventFeed>>,
}

#[napi]
impl AsyncGenerator for EventStream {
    type Yield = MdmEvent;
    type Next = ();
    type Return = ();

    fn next(
        &mut self,
        _value: Option<Self::Next>,
    ) -> impl std::future::Future<Output = napi::Result<Option<Self::Yield>>> + Send + 'static {
        let feed = self.feed.clone();
        async move {
            let event = feed.lock().await.next().await;
            Ok(event.map(js_event))
        }
    }
}

/// One enrollment (a device channel, or a user channel of a device) with its device.
#[napi(object)]
pub struct Device {
    /// The enrollment's identifier (the UDID, or `UDID:user` for a user channel).
    pub enrollment_id: String,
    /// The device's identifier (UDID or EnrollmentID).
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
    /// Model.
    pub model: Option<String>,
    /// Product name.
    pub product_name: Option<String>,
    /// OS version.
    pub os_version: Option<String>,
    /// When it last checked in.
    pub last_seen: Option<DateTime<Utc>>,
    /// When it enrolled.
    pub created_at: DateTime<Utc>,
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
            last_seen: opt_date(device.last_seen),
            created_at: date(device.created_at),
        }
    }
}

/// A page of devices.
#[napi(object)]
pub struct DevicePage {
    /// The devices, ordered by enrollment identifier.
    pub devices: Vec<Device>,
    /// The cursor for the next page (`after`); `null` on the last page.
    pub next: Option<String>,
}

/// Which devices `Devices.list` returns.
#[napi(object)]
pub struct ListOptions {
    /// Only this portal user's.
    pub owner: Option<String>,
    /// The cursor: the previous page's `next`.
    pub after: Option<String>,
    /// At most this many (1 to 500, default 100).
    pub limit: Option<u32>,
}

/// What an action did: the command queued and whether it was pushed.
#[napi(object)]
pub struct ActionOutcome {
    /// The queued command's CommandUUID (`null` for a check-in request).
    pub command_uuid: Option<String>,
    /// Whether the push was delivered to APNs.
    pub pushed: bool,
    /// `pushed`, or why not (`no push token`, `NoPushCertificate`, APNs's reason).
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

/// Options of `Devices.lock`.
#[napi(object)]
pub struct LockOptions {
    /// The message shown on the lock screen.
    pub message: Option<String>,
    /// The phone number shown on the lock screen.
    pub phone_number: Option<String>,
    /// The six-digit PIN a Mac requires.
    pub pin: Option<String>,
}

/// Options of `Devices.enableLostMode`.
#[napi(object)]
pub struct LostModeOptions {
    /// The message shown.
    pub message: Option<String>,
    /// The phone number shown.
    pub phone_number: Option<String>,
    /// The footnote shown.
    pub footnote: Option<String>,
}

/// A command waiting in an enrollment's queue.
#[napi(object)]
pub struct PendingCommand {
    /// Its CommandUUID.
    pub command_uuid: String,
    /// Its RequestType.
    pub request_type: String,
    /// `NotNow` when the device deferred it, else `null`.
    pub status: Option<String>,
    /// When it was queued.
    pub created_at: DateTime<Utc>,
    /// When it was last sent.
    pub delivered_at: Option<DateTime<Utc>>,
}

/// A command's state on one enrollment, with the device's answer.
#[napi(object)]
pub struct CommandStatus {
    /// The enrollment.
    pub enrollment_id: String,
    /// The CommandUUID.
    pub command_uuid: String,
    /// `Acknowledged`, `Error`, `CommandFormatError`, `NotNow`, or `null` (not answered).
    pub status: Option<String>,
    /// When it was last sent.
    pub delivered_at: Option<DateTime<Utc>>,
    /// The device's answer as JSON (data as base64 strings, dates as RFC 3339 strings).
    #[napi(ts_type = "any")]
    pub result: Option<crate::convert::Json>,
}

/// Devices of a deployment (`mdm.devices`).
#[napi]
pub struct Devices {
    inner: mdmkit_service::Devices,
    mdm: mdmkit_service::Mdm,
}

fn outcome(queued: mdmkit_service::ActionOutcome) -> mdmkit_service::Result<ActionOutcome> {
    Ok(ActionOutcome::from(queued))
}

#[napi]
impl Devices {
    /// A page of enrollments (at most 500), optionally only one user's.
    #[napi(ts_return_type = "Promise<DevicePage>")]
    pub fn list<'env>(
        &self,
        env: &'env Env,
        #[napi(ts_arg_type = "ListOptions | undefined | null")] options: Option<Unknown<'_>>,
    ) -> napi::Result<PromiseRaw<'env, DevicePage>> {
        let devices = self.inner.clone();
        let options = opt_arg::<ListOptions>(options, "options").map(|options| {
            options.unwrap_or(ListOptions {
                owner: None,
                after: None,
                limit: None,
            })
        });
        promise(
            env,
            async move {
                let options = options?;
                devices
                    .list(
                        options.owner.as_deref(),
                        options.after.as_deref(),
                        options.limit.unwrap_or(100),
                    )
                    .await
            },
            |page| {
                Ok(DevicePage {
                    devices: page.devices.into_iter().map(Device::from).collect(),
                    next: page.next,
                })
            },
        )
    }

    /// One enrollment; `not_found` when unknown.
    #[napi(ts_return_type = "Promise<Device>")]
    pub fn get<'env>(
        &self,
        env: &'env Env,
        #[napi(ts_arg_type = "string")] enrollment_id: Unknown<'_>,
    ) -> napi::Result<PromiseRaw<'env, Device>> {
        let enrollment_id = text(&enrollment_id, "enrollmentId");
        let devices = self.inner.clone();
        promise(
            env,
            async move {
                let enrollment_id = enrollment_id?;
                devices.get(&enrollment_id).await
            },
            |device| Ok(Device::from(device)),
        )
    }

    /// Locks the device (DeviceLock): queued, then pushed.
    #[napi(ts_return_type = "Promise<ActionOutcome>")]
    pub fn lock<'env>(
        &self,
        env: &'env Env,
        #[napi(ts_arg_type = "string")] enrollment_id: Unknown<'_>,
        #[napi(ts_arg_type = "LockOptions | undefined | null")] options: Option<Unknown<'_>>,
    ) -> napi::Result<PromiseRaw<'env, ActionOutcome>> {
        let enrollment_id = text(&enrollment_id, "enrollmentId");
        let devices = self.inner.clone();
        let options = opt_arg::<LockOptions>(options, "options");
        promise(
            env,
            async move {
                let enrollment_id = enrollment_id?;
                let (message, phone_number, pin) = match options? {
                    Some(o) => (o.message, o.phone_number, o.pin),
                    None => (None, None, None),
                };
                devices
                    .lock(&enrollment_id, message, phone_number, pin)
                    .await
            },
            outcome,
        )
    }

    /// Clears the passcode (ClearPasscode with the stored UnlockToken).
    #[napi(ts_return_type = "Promise<ActionOutcome>")]
    pub fn unlock<'env>(
        &self,
        env: &'env Env,
        #[napi(ts_arg_type = "string")] enrollment_id: Unknown<'_>,
    ) -> napi::Result<PromiseRaw<'env, ActionOutcome>> {
        let enrollment_id = text(&enrollment_id, "enrollmentId");
        let devices = self.inner.clone();
        promise(
            env,
            async move {
                let enrollment_id = enrollment_id?;
                devices.unlock(&enrollment_id).await
            },
            outcome,
        )
    }

    /// Asks a device in Lost Mode for its location (DeviceLocation).
    #[napi(ts_return_type = "Promise<ActionOutcome>")]
    pub fn locate<'env>(
        &self,
        env: &'env Env,
        #[napi(ts_arg_type = "string")] enrollment_id: Unknown<'_>,
    ) -> napi::Result<PromiseRaw<'env, ActionOutcome>> {
        let enrollment_id = text(&enrollment_id, "enrollmentId");
        let devices = self.inner.clone();
        promise(
            env,
            async move {
                let enrollment_id = enrollment_id?;
                devices.locate(&enrollment_id).await
            },
            outcome,
        )
    }

    /// Erases the device (EraseDevice), with the six-digit PIN a Mac requires.
    #[napi(ts_return_type = "Promise<ActionOutcome>")]
    pub fn wipe<'env>(
        &self,
        env: &'env Env,
        #[napi(ts_arg_type = "string")] enrollment_id: Unknown<'_>,
        pin: Option<String>,
    ) -> napi::Result<PromiseRaw<'env, ActionOutcome>> {
        let enrollment_id = text(&enrollment_id, "enrollmentId");
        let devices = self.inner.clone();
        promise(
            env,
            async move {
                let enrollment_id = enrollment_id?;
                devices.wipe(&enrollment_id, pin).await
            },
            outcome,
        )
    }

    /// Removes the device from management (RemoveProfile of the enrollment profile).
    #[napi(ts_return_type = "Promise<ActionOutcome>")]
    pub fn retire<'env>(
        &self,
        env: &'env Env,
        #[napi(ts_arg_type = "string")] enrollment_id: Unknown<'_>,
    ) -> napi::Result<PromiseRaw<'env, ActionOutcome>> {
        let enrollment_id = text(&enrollment_id, "enrollmentId");
        let devices = self.inner.clone();
        promise(
            env,
            async move {
                let enrollment_id = enrollment_id?;
                devices.retire(&enrollment_id).await
            },
            outcome,
        )
    }

    /// Enables Lost Mode with a message and/or a phone number and footnote.
    #[napi(ts_return_type = "Promise<ActionOutcome>")]
    pub fn enable_lost_mode<'env>(
        &self,
        env: &'env Env,
        #[napi(ts_arg_type = "string")] enrollment_id: Unknown<'_>,
        #[napi(ts_arg_type = "LostModeOptions")] options: Unknown<'_>,
    ) -> napi::Result<PromiseRaw<'env, ActionOutcome>> {
        let enrollment_id = text(&enrollment_id, "enrollmentId");
        let devices = self.inner.clone();
        let options = arg::<LostModeOptions>(options, "options");
        promise(
            env,
            async move {
                let enrollment_id = enrollment_id?;
                let options = options?;
                devices
                    .enable_lost_mode(
                        &enrollment_id,
                        options.message,
                        options.phone_number,
                        options.footnote,
                    )
                    .await
            },
            outcome,
        )
    }

    /// Disables Lost Mode.
    #[napi(ts_return_type = "Promise<ActionOutcome>")]
    pub fn disable_lost_mode<'env>(
        &self,
        env: &'env Env,
        #[napi(ts_arg_type = "string")] enrollment_id: Unknown<'_>,
    ) -> napi::Result<PromiseRaw<'env, ActionOutcome>> {
        let enrollment_id = text(&enrollment_id, "enrollmentId");
        let devices = self.inner.clone();
        promise(
            env,
            async move {
                let enrollment_id = enrollment_id?;
                devices.disable_lost_mode(&enrollment_id).await
            },
            outcome,
        )
    }

    /// Pushes the device so it checks in now (queues nothing).
    #[napi(ts_return_type = "Promise<ActionOutcome>")]
    pub fn check_in_now<'env>(
        &self,
        env: &'env Env,
        #[napi(ts_arg_type = "string")] enrollment_id: Unknown<'_>,
    ) -> napi::Result<PromiseRaw<'env, ActionOutcome>> {
        let enrollment_id = text(&enrollment_id, "enrollmentId");
        let devices = self.inner.clone();
        promise(
            env,
            async move {
                let enrollment_id = enrollment_id?;
                devices.check_in_now(&enrollment_id).await
            },
            outcome,
        )
    }

    /// Asks for DeviceInformation keys (Apple's names); none: the usual set.
    #[napi(ts_return_type = "Promise<ActionOutcome>")]
    pub fn device_information<'env>(
        &self,
        env: &'env Env,
        #[napi(ts_arg_type = "string")] enrollment_id: Unknown<'_>,
        #[napi(ts_arg_type = "Array<string> | undefined | null")] queries: Option<Unknown<'_>>,
    ) -> napi::Result<PromiseRaw<'env, ActionOutcome>> {
        let enrollment_id = text(&enrollment_id, "enrollmentId");
        let devices = self.inner.clone();
        let queries = opt_arg::<Vec<String>>(queries, "queries");
        promise(
            env,
            async move {
                let enrollment_id = enrollment_id?;
                devices
                    .device_information(&enrollment_id, queries?.unwrap_or_default())
                    .await
            },
            outcome,
        )
    }

    /// Installs a profile (`.mobileconfig` bytes, signed or not).
    #[napi(ts_return_type = "Promise<ActionOutcome>")]
    pub fn install_profile<'env>(
        &self,
        env: &'env Env,
        #[napi(ts_arg_type = "string")] enrollment_id: Unknown<'_>,
        #[napi(ts_arg_type = "Buffer")] profile: Unknown<'_>,
    ) -> napi::Result<PromiseRaw<'env, ActionOutcome>> {
        let enrollment_id = text(&enrollment_id, "enrollmentId");
        let devices = self.inner.clone();
        let profile = arg::<Buffer>(profile, "profile").map(|profile| profile.to_vec());
        promise(
            env,
            async move {
                let enrollment_id = enrollment_id?;
                devices.install_profile(&enrollment_id, profile?).await
            },
            outcome,
        )
    }

    /// Removes the profile with this PayloadIdentifier.
    #[napi(ts_return_type = "Promise<ActionOutcome>")]
    pub fn remove_profile<'env>(
        &self,
        env: &'env Env,
        #[napi(ts_arg_type = "string")] enrollment_id: Unknown<'_>,
        #[napi(ts_arg_type = "string")] identifier: Unknown<'_>,
    ) -> napi::Result<PromiseRaw<'env, ActionOutcome>> {
        let enrollment_id = text(&enrollment_id, "enrollmentId");
        let devices = self.inner.clone();
        let identifier = text(&identifier, "identifier");
        promise(
            env,
            async move {
                let enrollment_id = enrollment_id?;
                devices.remove_profile(&enrollment_id, &identifier?).await
            },
            outcome,
        )
    }

    /// Queues any command, given as an object with Apple's key names and its `RequestType`
    /// (`Buffer`s for data, `Date`s for dates), checked against Apple's schema and the
    /// device.
    #[napi(ts_return_type = "Promise<ActionOutcome>")]
    pub fn enqueue<'env>(
        &self,
        env: &'env Env,
        #[napi(ts_arg_type = "string")] enrollment_id: Unknown<'_>,
        #[napi(ts_arg_type = "object")] command: Unknown<'_>,
    ) -> napi::Result<PromiseRaw<'env, ActionOutcome>> {
        let enrollment_id = text(&enrollment_id, "enrollmentId");
        let mdm = self.mdm.clone();
        let dict = dictionary(command, "command");
        promise(
            env,
            async move {
                let enrollment_id = enrollment_id?;
                let command = mdmkit_core::command::command_from_dictionary(dict?)?;
                let queued = mdm
                    .engine()?
                    .enqueue_command(&EnrollmentId::new(enrollment_id), command)
                    .await?;
                Ok(mdmkit_service::ActionOutcome::from(queued))
            },
            outcome,
        )
    }

    /// Queues one command to many enrollments (stored once) and pushes them; `onProgress`
    /// is called as pushes complete (never waited for). Enrollments that cannot run it are
    /// refused and listed with their code; the others are queued.
    #[napi(ts_return_type = "Promise<BulkOutcome>")]
    pub fn enqueue_many<'env>(
        &self,
        env: &'env Env,
        #[napi(ts_arg_type = "Array<string>")] enrollment_ids: Unknown<'_>,
        #[napi(ts_arg_type = "object")] command: Unknown<'_>,
        #[napi(ts_arg_type = "((progress: BulkProgress) => void) | undefined | null")]
        on_progress: Option<Function<'_, BulkProgress, ()>>,
    ) -> napi::Result<PromiseRaw<'env, BulkOutcome>> {
        let mdm = self.mdm.clone();
        let enrollment_ids = arg::<Vec<String>>(enrollment_ids, "enrollmentIds");
        let dict = dictionary(command, "command");
        let progress: Option<mdmkit_core::push::ProgressCallback> = match on_progress {
            Some(callback) => {
                let tsfn = callback
                    .build_threadsafe_function::<BulkProgress>()
                    .weak::<true>()
                    .build()?;
                Some(Arc::new(move |p: mdmkit_core::push::PushProgress| {
                    let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
                    tsfn.call(
                        BulkProgress {
                            done: count(p.done),
                            total: count(p.total),
                            delivered: count(p.delivered),
                            rejected: count(p.rejected),
                            failed: count(p.failed),
                        },
                        ThreadsafeFunctionCallMode::NonBlocking,
                    );
                }))
            }
            None => None,
        };
        promise(
            env,
            async move {
                let command = mdmkit_core::command::command_from_dictionary(dict?)?;
                let ids: Vec<EnrollmentId> =
                    enrollment_ids?.into_iter().map(EnrollmentId::new).collect();
                Ok(mdm
                    .engine()?
                    .enqueue_command_many(&ids, command, progress)
                    .await?)
            },
            |bulk| {
                Ok(BulkOutcome {
                    command_uuid: bulk.command_uuid,
                    queued: bulk.queued.iter().map(ToString::to_string).collect(),
                    refused: bulk
                        .refused
                        .into_iter()
                        .map(|(id, code, message)| RefusedEnrollment {
                            enrollment_id: id.to_string(),
                            code: code.to_owned(),
                            message,
                        })
                        .collect(),
                    pushes: bulk
                        .pushes
                        .iter()
                        .map(|push| BulkPush {
                            enrollment_id: push.enrollment_id.to_string(),
                            pushed: push.outcome.is_delivered(),
                            push: mdmkit_service::push_certs::describe(&push.outcome),
                        })
                        .collect(),
                })
            },
        )
    }

    /// The commands waiting in an enrollment's queue, in delivery order.
    #[napi(ts_return_type = "Promise<PendingCommand[]>")]
    pub fn queue<'env>(
        &self,
        env: &'env Env,
        #[napi(ts_arg_type = "string")] enrollment_id: Unknown<'_>,
    ) -> napi::Result<PromiseRaw<'env, Vec<PendingCommand>>> {
        let enrollment_id = text(&enrollment_id, "enrollmentId");
        let devices = self.inner.clone();
        promise(
            env,
            async move {
                let enrollment_id = enrollment_id?;
                devices.queue(&enrollment_id).await
            },
            |pending| {
                Ok(pending
                    .into_iter()
                    .map(|p| PendingCommand {
                        command_uuid: p.command_uuid,
                        request_type: p.request_type,
                        status: p.status,
                        created_at: date(p.created_at),
                        delivered_at: opt_date(p.delivered_at),
                    })
                    .collect())
            },
        )
    }

    /// A command's state on each enrollment it was queued to, with the device's answers;
    /// `not_found` for an unknown CommandUUID.
    #[napi(ts_return_type = "Promise<CommandStatus[]>")]
    pub fn command_status<'env>(
        &self,
        env: &'env Env,
        #[napi(ts_arg_type = "string")] command_uuid: Unknown<'_>,
    ) -> napi::Result<PromiseRaw<'env, Vec<CommandStatus>>> {
        let devices = self.inner.clone();
        let command_uuid = text(&command_uuid, "commandUuid");
        promise(
            env,
            async move { devices.command_status(&command_uuid?).await },
            |statuses| {
                Ok(statuses
                    .into_iter()
                    .map(|s| CommandStatus {
                        enrollment_id: s.enrollment_id,
                        command_uuid: s.command_uuid,
                        status: s.status,
                        delivered_at: opt_date(s.delivered_at),
                        result: s.result.map(crate::convert::Json),
                    })
                    .collect())
            },
        )
    }
}

/// How far a bulk push is.
#[napi(object)]
pub struct BulkProgress {
    /// Targets finished so far (delivered, rejected or failed).
    pub done: u32,
    /// Targets in the bulk push.
    pub total: u32,
    /// Delivered so far.
    pub delivered: u32,
    /// Rejected by APNs so far.
    pub rejected: u32,
    /// Failed so far.
    pub failed: u32,
}

/// An enrollment a bulk command was refused for.
#[napi(object)]
pub struct RefusedEnrollment {
    /// The enrollment.
    pub enrollment_id: String,
    /// The stable code (`not_found`, `command_not_supported`...).
    pub code: String,
    /// Why.
    pub message: String,
}

/// One push of a bulk command.
#[napi(object)]
pub struct BulkPush {
    /// The enrollment.
    pub enrollment_id: String,
    /// Whether the push was delivered to APNs.
    pub pushed: bool,
    /// `pushed`, or why not.
    pub push: String,
}

/// What `Devices.enqueueMany` did.
#[napi(object)]
pub struct BulkOutcome {
    /// The CommandUUID (one command, referenced per enrollment).
    pub command_uuid: String,
    /// The enrollments it was queued to.
    pub queued: Vec<String>,
    /// The enrollments refused before queueing.
    pub refused: Vec<RefusedEnrollment>,
    /// One push per queued enrollment with a valid push token.
    pub pushes: Vec<BulkPush>,
}

/// A registered push certificate on the dashboard.
#[napi(object)]
pub struct PushCertStatus {
    /// The topic.
    pub topic: String,
    /// Serial number (hex).
    pub serial: String,
    /// Valid until.
    pub not_after: DateTime<Utc>,
    /// Whole days remaining (negative once expired).
    pub days_remaining: i64,
    /// `valid`, `expiring_soon` or `expired`.
    pub status: String,
    /// The 60-day flag: 60 days or fewer remain (or it expired): renew it.
    pub renew_soon: bool,
    /// The Apple ID used at Apple's portal.
    pub apple_id: Option<String>,
    /// The administrator's note.
    pub note: Option<String>,
}

impl From<mdmkit_service::push_certs::PushCertStatus> for PushCertStatus {
    fn from(status: mdmkit_service::push_certs::PushCertStatus) -> Self {
        let name = name_of(status.status);
        Self {
            topic: status.topic,
            serial: status.serial,
            not_after: date(status.not_after),
            days_remaining: status.days_remaining,
            renew_soon: name != "valid",
            status: name,
            apple_id: status.apple_id,
            note: status.note,
        }
    }
}

/// What to install: Apple's certificate file, the Apple ID used and a note.
#[napi(object)]
pub struct InstallOptions {
    /// The certificate: PEM, DER, or PKCS#12 (with `password`).
    pub certificate: Buffer,
    /// The PKCS#12 (or encrypted PEM key) password.
    pub password: Option<String>,
    /// The Apple ID used at Apple's Push Certificates Portal.
    pub apple_id: String,
    /// The administrator's note.
    pub note: Option<String>,
    /// The private key (PEM), when the CSR was not made here.
    pub key_pem: Option<Buffer>,
}

/// The result of an install.
#[napi(object)]
pub struct InstallReport {
    /// The topic.
    pub topic: String,
    /// `installed` (first install) or `renewed`.
    pub action: String,
    /// Valid until.
    pub not_after: DateTime<Utc>,
    /// After renewing an expired certificate: the enrollments pushed so they synchronise.
    pub synchronised: Vec<String>,
    /// Of those, the ones whose push was not delivered, with the reason.
    pub not_synchronised: Vec<Vec<String>>,
}

/// What `PushCerts.edit` changes.
#[napi(object)]
pub struct EditOptions {
    /// The new Apple ID.
    pub apple_id: Option<String>,
    /// The new note.
    pub note: Option<String>,
}

/// The MDM vendor's signing files, for `PushCerts.createSignedRequest`.
#[napi(object)]
pub struct VendorOptions {
    /// The MDM vendor certificate (PEM or DER).
    pub certificate: Buffer,
    /// Its private key (PEM).
    pub key: Buffer,
    /// The key's password, when encrypted.
    pub key_password: Option<String>,
    /// Apple's WWDR intermediate (PEM or DER).
    pub wwdr_certificate: Buffer,
    /// Apple's root (PEM or DER).
    pub apple_root_certificate: Buffer,
}

/// Push certificates of a deployment (`mdm.pushCerts`).
#[napi]
pub struct PushCerts {
    inner: mdmkit_service::PushCerts,
}

#[napi]
impl PushCerts {
    /// Every registered certificate with its expiry, days remaining and the 60-day flag
    /// (the dashboard), ordered by topic.
    #[napi(ts_return_type = "Promise<PushCertStatus[]>")]
    pub fn status<'env>(
        &self,
        env: &'env Env,
    ) -> napi::Result<PromiseRaw<'env, Vec<PushCertStatus>>> {
        let certs = self.inner.clone();
        promise(env, async move { certs.status().await }, |list| {
            Ok(list.into_iter().map(PushCertStatus::from).collect())
        })
    }

    /// Reads a certificate file without storing anything.
    #[napi]
    pub fn inspect(
        &self,
        #[napi(ts_arg_type = "Buffer")] file: Unknown<'_>,
        #[napi(ts_arg_type = "string | undefined | null")] password: Option<Unknown<'_>>,
    ) -> napi::Result<CertificateInfo, String> {
        crate::protocol::inspect_push_certificate(file, password)
    }

    /// Step 1: a new key (kept, sealed, until Apple's certificate comes back) and its CSR
    /// (PEM), to be signed by the MDM vendor.
    #[napi(ts_return_type = "Promise<string>")]
    pub fn create_request<'env>(
        &self,
        env: &'env Env,
        #[napi(ts_arg_type = "string")] email: Unknown<'_>,
        #[napi(ts_arg_type = "string | undefined | null")] common_name: Option<Unknown<'_>>,
    ) -> napi::Result<PromiseRaw<'env, String>> {
        let certs = self.inner.clone();
        let email = text(&email, "email");
        let common_name = opt_arg::<String>(common_name, "commonName");
        promise(
            env,
            async move { certs.create_request(&email?, common_name?.as_deref()).await },
            Ok,
        )
    }

    /// Step 1 when this deployment is the MDM vendor: key, CSR and vendor signature at once;
    /// resolves with the file to upload at Apple's Push Certificates Portal (base64 plist).
    #[napi(ts_return_type = "Promise<string>")]
    pub fn create_signed_request<'env>(
        &self,
        env: &'env Env,
        #[napi(ts_arg_type = "string")] email: Unknown<'_>,
        #[napi(ts_arg_type = "VendorOptions")] vendor: Unknown<'_>,
        #[napi(ts_arg_type = "string | undefined | null")] common_name: Option<Unknown<'_>>,
    ) -> napi::Result<PromiseRaw<'env, String>> {
        let certs = self.inner.clone();
        let args = (|| -> mdmkit_service::Result<_> {
            let vendor = arg::<VendorOptions>(vendor, "vendor")?;
            let mut input = mdmkit_service::push_certs::VendorInput::default();
            input.certificate = vendor.certificate.to_vec();
            input.key = vendor.key.to_vec();
            input.key_password = vendor.key_password;
            input.wwdr_certificate = vendor.wwdr_certificate.to_vec();
            input.apple_root_certificate = vendor.apple_root_certificate.to_vec();
            Ok((
                text(&email, "email")?,
                opt_arg::<String>(common_name, "commonName")?,
                input,
            ))
        })();
        promise(
            env,
            async move {
                let (email, common_name, input) = args?;
                certs
                    .create_signed_request(&email, common_name.as_deref(), &input)
                    .await
            },
            Ok,
        )
    }

    /// Step 3: installs Apple's certificate (first install or renewal of the same topic).
    #[napi(ts_return_type = "Promise<InstallReport>")]
    pub fn install<'env>(
        &self,
        env: &'env Env,
        #[napi(ts_arg_type = "InstallOptions")] options: Unknown<'_>,
    ) -> napi::Result<PromiseRaw<'env, InstallReport>> {
        let certs = self.inner.clone();
        let input = arg::<InstallOptions>(options, "options").map(|options| {
            let mut input =
                mdmkit_service::InstallInput::new(options.certificate.to_vec(), options.apple_id);
            input.password = options.password;
            input.note = options.note;
            input.key_pem = options.key_pem.map(|key| key.to_vec());
            input
        });
        promise(env, async move { certs.install(input?).await }, |report| {
            Ok(InstallReport {
                topic: report.topic,
                action: name_of(report.action),
                not_after: date(report.not_after),
                synchronised: report.synchronised,
                not_synchronised: report
                    .not_synchronised
                    .into_iter()
                    .map(|(id, why)| vec![id, why])
                    .collect(),
            })
        })
    }

    /// Changes the Apple ID and/or the note of a registered certificate.
    #[napi(ts_return_type = "Promise<PushCertStatus>")]
    pub fn edit<'env>(
        &self,
        env: &'env Env,
        #[napi(ts_arg_type = "string")] topic: Unknown<'_>,
        #[napi(ts_arg_type = "EditOptions")] options: Unknown<'_>,
    ) -> napi::Result<PromiseRaw<'env, PushCertStatus>> {
        let certs = self.inner.clone();
        let topic = text(&topic, "topic");
        let options = arg::<EditOptions>(options, "options");
        promise(
            env,
            async move {
                let options = options?;
                certs.edit(&topic?, options.apple_id, options.note).await
            },
            |status| Ok(PushCertStatus::from(status)),
        )
    }

    /// Deletes a topic's certificate and key; resolves with the kept note.
    #[napi(ts_return_type = "Promise<string | null>")]
    pub fn delete<'env>(
        &self,
        env: &'env Env,
        #[napi(ts_arg_type = "string")] topic: Unknown<'_>,
    ) -> napi::Result<PromiseRaw<'env, Option<String>>> {
        let certs = self.inner.clone();
        let topic = text(&topic, "topic");
        promise(env, async move { certs.delete(&topic?).await }, Ok)
    }
}

/// An enrollment link for a user.
#[napi(object)]
pub struct EnrollmentLink {
    /// The URL (carries the one-time token: treat it as a secret).
    pub url: String,
    /// The user the device will belong to.
    pub user_id: String,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
}

/// A device's enrollment profile, as `GET /enroll?token=…` serves it.
#[napi(object)]
pub struct EnrollmentProfile {
    /// The signed profile (`application/x-apple-aspen-config`, CMS DER).
    pub profile: Buffer,
    /// The user the device will belong to.
    pub user_id: String,
}

/// An invitation.
#[napi(object)]
pub struct Invitation {
    /// Its identifier.
    pub id: String,
    /// The portal user.
    pub user_id: String,
    /// The address it was sent to.
    pub email: String,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// When its links stop working.
    pub expires_at: DateTime<Utc>,
    /// When the portal link was used.
    pub accepted_at: Option<DateTime<Utc>>,
    /// When the registration link enrolled a device.
    pub registered_at: Option<DateTime<Utc>>,
}

impl From<mdmkit_enrollment::Invitation> for Invitation {
    fn from(invitation: mdmkit_enrollment::Invitation) -> Self {
        Self {
            id: invitation.id,
            user_id: invitation.user_id,
            email: invitation.email,
            created_at: date(invitation.created_at),
            expires_at: date(invitation.expires_at),
            accepted_at: opt_date(invitation.accepted_at),
            registered_at: opt_date(invitation.registered_at),
        }
    }
}

/// An invitation made (and e-mailed when SMTP is configured).
#[napi(object)]
pub struct InvitationReport {
    /// The invitation.
    pub invitation: Invitation,
    /// The portal link (sets the first password); secret.
    pub portal_link: String,
    /// The registration link (enrolls one device); secret.
    pub registration_link: String,
    /// Whether it was e-mailed.
    pub sent: bool,
}

/// What `Enrollment.init` records; every field left out keeps the stored value.
#[napi(object)]
pub struct InitOptions {
    /// The public base URL (`https://mdm.example.com`).
    pub base_url: Option<String>,
    /// The enrollment profile's PayloadIdentifier.
    pub enrollment_profile_id: Option<String>,
    /// The organisation's name.
    pub organisation: Option<String>,
    /// The administrators' address for expiry notices.
    pub admin_email: Option<String>,
    /// An existing device CA to import: its certificate (PEM), with `deviceCaKey`.
    pub device_ca_certificate: Option<Buffer>,
    /// The imported device CA's private key (PEM).
    pub device_ca_key: Option<Buffer>,
}

/// What `init` did.
#[napi(object)]
pub struct InitReport {
    /// `created`, `imported` or `kept`.
    pub device_ca: String,
    /// The device CA's subject.
    pub device_ca_subject: String,
    /// The settings written.
    pub written: Vec<String>,
}

/// Enrollment of a deployment (`mdm.enrollment`).
#[napi]
pub struct Enrollment {
    inner: mdmkit_service::Enrollment,
}

fn ttl(seconds: f64) -> mdmkit_service::Result<Duration> {
    if seconds.is_finite() && seconds > 0.0 {
        Ok(Duration::from_secs_f64(seconds))
    } else {
        Err(crate::errors::usage("ttlSeconds must be a positive number"))
    }
}

#[napi]
impl Enrollment {
    /// Records the device CA (made, or kept) and the public URLs and names. Open the store
    /// again to use the new settings.
    #[napi(ts_return_type = "Promise<InitReport>")]
    pub fn init<'env>(
        &self,
        env: &'env Env,
        #[napi(ts_arg_type = "InitOptions")] options: Unknown<'_>,
    ) -> napi::Result<PromiseRaw<'env, InitReport>> {
        let enrollment = self.inner.clone();
        let init = arg::<InitOptions>(options, "options").map(|options| {
            let mut init = mdmkit_service::InitOptions::default();
            init.base_url = options.base_url;
            init.enrollment_profile_id = options.enrollment_profile_id;
            init.organisation = options.organisation;
            init.admin_email = options.admin_email;
            init.device_ca = match (options.device_ca_certificate, options.device_ca_key) {
                (Some(certificate), Some(key)) => Some((certificate.to_vec(), key.to_vec())),
                _ => None,
            };
            init
        });
        promise(env, async move { enrollment.init(init?).await }, |report| {
            Ok(InitReport {
                device_ca: report.device_ca,
                device_ca_subject: report.device_ca_subject,
                written: report.written,
            })
        })
    }

    /// The device CA's certificate (PEM).
    #[napi(ts_return_type = "Promise<string>")]
    pub fn device_ca_pem<'env>(&self, env: &'env Env) -> napi::Result<PromiseRaw<'env, String>> {
        let enrollment = self.inner.clone();
        promise(env, async move { enrollment.device_ca_pem().await }, Ok)
    }

    /// A one-time enrollment link for a portal user, valid for `ttlSeconds`.
    #[napi(ts_return_type = "Promise<EnrollmentLink>")]
    pub fn create_link<'env>(
        &self,
        env: &'env Env,
        #[napi(ts_arg_type = "string")] user_id: Unknown<'_>,
        #[napi(ts_arg_type = "number")] ttl_seconds: Unknown<'_>,
    ) -> napi::Result<PromiseRaw<'env, EnrollmentLink>> {
        let enrollment = self.inner.clone();
        let user_id = text(&user_id, "userId");
        let ttl_seconds = arg::<f64>(ttl_seconds, "ttlSeconds");
        promise(
            env,
            async move { enrollment.create_link(&user_id?, ttl(ttl_seconds?)?).await },
            |link| {
                Ok(EnrollmentLink {
                    url: link.url,
                    user_id: link.user_id,
                    expires_at: date(link.expires_at),
                })
            },
        )
    }

    /// Redeems an enrollment link's token: the signed enrollment profile for its user
    /// (`token_invalid` when used, expired or unknown).
    #[napi(ts_return_type = "Promise<EnrollmentProfile>")]
    pub fn enroll<'env>(
        &self,
        env: &'env Env,
        #[napi(ts_arg_type = "string")] token: Unknown<'_>,
    ) -> napi::Result<PromiseRaw<'env, EnrollmentProfile>> {
        let enrollment = self.inner.clone();
        let token = text(&token, "token");
        promise(
            env,
            async move { enrollment.enroll(&token?).await },
            |profile| {
                Ok(EnrollmentProfile {
                    profile: profile.profile.into(),
                    user_id: profile.user_id,
                })
            },
        )
    }

    /// Invites a portal user by e-mail (without SMTP settings the links are returned, not
    /// sent).
    #[napi(ts_return_type = "Promise<InvitationReport>")]
    pub fn invite<'env>(
        &self,
        env: &'env Env,
        #[napi(ts_arg_type = "string")] user_id: Unknown<'_>,
        #[napi(ts_arg_type = "string")] email: Unknown<'_>,
        #[napi(ts_arg_type = "number")] ttl_seconds: Unknown<'_>,
    ) -> napi::Result<PromiseRaw<'env, InvitationReport>> {
        let enrollment = self.inner.clone();
        let args = (|| -> mdmkit_service::Result<_> {
            Ok((
                text(&user_id, "userId")?,
                text(&email, "email")?,
                arg::<f64>(ttl_seconds, "ttlSeconds")?,
            ))
        })();
        promise(
            env,
            async move {
                let (user_id, email, ttl_seconds) = args?;
                enrollment.invite(&user_id, &email, ttl(ttl_seconds)?).await
            },
            |report| {
                Ok(InvitationReport {
                    invitation: Invitation::from(report.invitation),
                    portal_link: report.portal_link,
                    registration_link: report.registration_link,
                    sent: report.sent,
                })
            },
        )
    }

    /// Invitations, optionally of one user, newest first.
    #[napi(ts_return_type = "Promise<Invitation[]>")]
    pub fn invitations<'env>(
        &self,
        env: &'env Env,
        #[napi(ts_arg_type = "string | undefined | null")] user_id: Option<Unknown<'_>>,
    ) -> napi::Result<PromiseRaw<'env, Vec<Invitation>>> {
        let enrollment = self.inner.clone();
        let user_id = opt_arg::<String>(user_id, "userId");
        promise(
            env,
            async move { enrollment.invitations_list(user_id?.as_deref()).await },
            |list| Ok(list.into_iter().map(Invitation::from).collect()),
        )
    }

    /// Revokes an invitation (both its links); resolves with whether it existed.
    #[napi(ts_return_type = "Promise<boolean>")]
    pub fn revoke_invitation<'env>(
        &self,
        env: &'env Env,
        #[napi(ts_arg_type = "string")] id: Unknown<'_>,
    ) -> napi::Result<PromiseRaw<'env, bool>> {
        let enrollment = self.inner.clone();
        let id = text(&id, "id");
        promise(
            env,
            async move { enrollment.revoke_invitation(&id?).await },
            Ok,
        )
    }
}

/// One setting.
#[napi(object)]
pub struct SettingEntry {
    /// The name.
    pub name: String,
    /// What it is for.
    pub description: String,
    /// Whether it is secret (its value is never shown).
    pub secret: bool,
    /// Whether it is set.
    pub is_set: bool,
    /// Its value; `null` when unset or secret.
    pub value: Option<String>,
}

/// The settings kept in the store (`mdm.settings`).
#[napi]
pub struct Settings {
    inner: mdmkit_service::Settings,
}

#[napi]
impl Settings {
    /// Every known setting, with its value unless secret.
    #[napi(ts_return_type = "Promise<SettingEntry[]>")]
    pub fn list<'env>(&self, env: &'env Env) -> napi::Result<PromiseRaw<'env, Vec<SettingEntry>>> {
        let settings = self.inner.clone();
        promise(env, async move { settings.list().await }, |list| {
            Ok(list
                .into_iter()
                .map(|s| SettingEntry {
                    name: s.name,
                    description: s.description,
                    secret: s.secret,
                    is_set: s.is_set,
                    value: s.value,
                })
                .collect())
        })
    }

    /// Sets a setting (checked against its kind; `setting_invalid` when refused).
    #[napi(ts_return_type = "Promise<void>")]
    pub fn set<'env>(
        &self,
        env: &'env Env,
        #[napi(ts_arg_type = "string")] name: Unknown<'_>,
        #[napi(ts_arg_type = "string")] value: Unknown<'_>,
    ) -> napi::Result<PromiseRaw<'env, ()>> {
        let settings = self.inner.clone();
        let name = text(&name, "name");
        let value = text(&value, "value");
        promise(env, async move { settings.set(&name?, &value?).await }, Ok)
    }

    /// A setting's value (`null` when unset; secret settings are refused).
    #[napi(ts_return_type = "Promise<string | null>")]
    pub fn get<'env>(
        &self,
        env: &'env Env,
        #[napi(ts_arg_type = "string")] name: Unknown<'_>,
    ) -> napi::Result<PromiseRaw<'env, Option<String>>> {
        let settings = self.inner.clone();
        let name = text(&name, "name");
        promise(env, async move { settings.get(&name?).await }, Ok)
    }
}
