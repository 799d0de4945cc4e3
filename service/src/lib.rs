//! mdmkit's service layer: one [`Mdm`] handle over every capability.
//!
//! [`Mdm::open`] opens the store once and assembles, from the settings kept in it (see
//! [`settings`]), what a product runs: the engine with a pusher whose APNs identities are
//! the push certificates installed through the lifecycle, the push-certificate lifecycle,
//! the PKCS#12 store of user certificates, enrollment and invitations, and the portal.
//! Every front end (the `mdmkit` CLI, `mdmkit serve`'s web layer, the Python, Node and Swift
//! bindings) calls it and adds nothing.
//!
//! Its methods take and return owned types (strings, bytes, plain records, UTC
//! [`OffsetDateTime`](time::OffsetDateTime)s), have no lifetimes or generics, and fail with
//! one [`Error`] whose [`code`](Error::code) is the stable code of the crate below.
//!
//! ```no_run
//! # async fn demo() -> mdmkit_service::Result<()> {
//! use mdmkit_service::{Mdm, MdmConfig};
//!
//! let mdm = Mdm::open(MdmConfig::new("mdmkit.db").key_hex("…64 hex digits…")).await?;
//! for cert in mdm.push_certs().status().await? {
//!     println!("{} expires in {} days", cert.topic, cert.days_remaining);
//! }
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]

pub mod admins;
mod branding;
pub mod console;
pub mod ddm;
pub mod devices;
pub mod enroll;
mod error;
mod events;
pub mod invitations;
pub mod notices;
pub mod paging;
pub mod portal;
pub mod portal_users;
pub mod privacy;
pub mod protocol;
mod push;
pub mod push_certs;
pub mod sessions;
pub mod settings;
pub mod user_certs;

use std::collections::BTreeMap;
use std::sync::Arc;

use mdmkit_apns::{PushCertLifecycle, StorePusher};
use mdmkit_core::engine::{Engine, EventSink};
use mdmkit_core::push::Pusher;
use mdmkit_core::store::SharedStore;
use mdmkit_core::Secret;
use mdmkit_enrollment::OwnerBinding;

/// Gives this copy of `tracing` a dispatcher that records nothing, unless it has one.
///
/// For the bindings. A Python, Node or Swift module links its own copy of `tracing`, to
/// which no program can give a subscriber; with none, every span and event of h2 and sqlx
/// takes tracing's `log` fallback (on in this workspace through sqlx), about 11 % more
/// instructions per push (docs/performance.md). A Rust program installs its own
/// subscriber (`mdmkit serve` does) and has no need of this.
pub fn quiet_tracing() {
    // An error only says a dispatcher is installed already: nothing to do.
    let _ = tracing::dispatcher::set_global_default(tracing::Dispatch::new(
        tracing::subscriber::NoSubscriber::default(),
    ));
}

pub use admins::{AdminSession, AdminUser, Admins};
pub use console::AuditEntry;
pub use devices::{
    ActionOutcome, CommandStatusEntry, Device, DeviceCounts, DevicePage, Devices,
    PendingCommandEntry,
};
pub use enroll::{
    Enrollment, EnrollmentLink, EnrollmentProfile, InitOptions, InitReport, InvitationReport,
    ProfileRequest, ScepRequest,
};
pub use error::{Error, Result};
pub use events::{EventFeed, MdmEvent};
pub use invitations::{EnrollmentLinkEntry, InvitationEntry};
pub use notices::{DashboardEntry, Expiry, NoticeOptions, NoticeSent, OtherCredentials};
pub use paging::{Page, MAX_PAGE};
pub use portal::{
    registration_qr_svg, DeviceLocation, Portal, PortalAccount, PortalBranding, PortalDeviceView,
    PortalSession, WebClipInput, WebClipOutcome,
};
pub use portal_users::PortalUsers;
pub use privacy::{Privacy, PrivacySetting, PrivacyView};
pub use push_certs::{CertificateInfo, InstallInput, InstallReport, PushCerts};
pub use sessions::SignedIn;
pub use settings::{SettingEntry, Settings};
pub use user_certs::{
    CertKindView, ImportReport, OwnCerts, RepushEntry, RepushFailure, UserCertView, UserCerts,
};

/// How to open a [`Mdm`]: where the store is, its at-rest key, and settings that override
/// the stored ones for this handle only (command-line flags).
#[derive(Clone)]
pub struct MdmConfig {
    store_url: String,
    key: Option<Secret>,
    overrides: BTreeMap<String, String>,
    extra_events: Vec<Arc<dyn EventSink>>,
    pusher: Option<Arc<dyn Pusher>>,
}

impl std::fmt::Debug for MdmConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MdmConfig")
            .field("store_url", &self.store_url)
            .field("overrides", &self.overrides)
            .finish_non_exhaustive()
    }
}

impl MdmConfig {
    /// A store location: an SQLite file (path or `sqlite:` URL), `postgres://…` (feature
    /// `postgres`), or `memory:` (a new, empty in-memory store).
    pub fn new(store_url: impl Into<String>) -> Self {
        Self {
            store_url: store_url.into(),
            key: None,
            overrides: BTreeMap::new(),
            extra_events: Vec::new(),
            pusher: None,
        }
    }

    /// The at-rest key as 64 hex digits (required for SQL stores).
    pub fn key_hex(mut self, hex: impl Into<String>) -> Self {
        self.key = Some(Secret::new(hex.into().trim().as_bytes().to_vec()));
        self
    }

    /// Overrides a stored setting for this handle only (not stored).
    pub fn setting(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.overrides.insert(name.into(), value.into());
        self
    }

    /// Another sink for the engine's events (a webhook), beside the service's own.
    pub fn events(mut self, sink: Arc<dyn EventSink>) -> Self {
        self.extra_events.push(sink);
        self
    }

    /// Pushes through `pusher` instead of the store-backed one (tests, custom transports).
    pub fn pusher(mut self, pusher: Arc<dyn Pusher>) -> Self {
        self.pusher = Some(pusher);
        self
    }

    /// The store location.
    pub fn store_url(&self) -> &str {
        &self.store_url
    }
}

/// The handle on one mdmkit deployment: its store and everything assembled over it.
/// Cheap to clone; every sub-handle shares it.
#[derive(Clone)]
pub struct Mdm {
    inner: Arc<Inner>,
    /// Who the audit log names for what is done through this handle (see
    /// [`Mdm::acting_as`]).
    actor: Arc<str>,
}

/// The audit log's actor for administrators' actions through a handle that was not given
/// one ([`Mdm::acting_as`]): the CLI's, and a library's by default.
pub const DEFAULT_ACTOR: &str = "admin";

struct Inner {
    store: SharedStore,
    /// `None` until a device CA is configured (`mdmkit init`).
    engine: Option<Engine>,
    pusher: Arc<dyn Pusher>,
    /// The store-backed pusher, unless the config gave another.
    store_pusher: Option<StorePusher>,
    lifecycle: PushCertLifecycle,
    settings: Settings,
    feed: events::FeedSink,
}

impl std::fmt::Debug for Mdm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mdm").finish_non_exhaustive()
    }
}

impl Mdm {
    /// Opens the store (applying pending migrations, verifying the key) and assembles the
    /// deployment from its settings.
    pub async fn open(config: MdmConfig) -> Result<Self> {
        let store = open_store(&config).await?;
        Self::assemble(store, config).await
    }

    /// Assembles a deployment over a store that is already open.
    pub async fn with_store(store: SharedStore, config: MdmConfig) -> Result<Self> {
        Self::assemble(store, config).await
    }

    async fn assemble(store: SharedStore, config: MdmConfig) -> Result<Self> {
        let settings = Settings::with_overrides(store.clone(), config.overrides.clone())?;
        let lifecycle = PushCertLifecycle::new(store.clone());
        let (pusher, store_pusher): (Arc<dyn Pusher>, Option<StorePusher>) = match &config.pusher {
            Some(pusher) => (pusher.clone(), None),
            None => {
                let store_pusher = push::store_pusher(store.clone(), &settings).await?;
                (Arc::new(store_pusher.clone()), Some(store_pusher))
            }
        };
        let feed = events::FeedSink::new();
        let mut sinks: Vec<Arc<dyn EventSink>> = vec![
            Arc::new(OwnerBinding::new(store.clone())),
            Arc::new(feed.clone()),
        ];
        sinks.extend(config.extra_events.iter().cloned());
        let engine = match settings.get(settings::DEVICE_CA_CERTIFICATE).await? {
            Some(ca) => {
                let mut builder = Engine::builder(store.clone(), pusher.clone())
                    .events(Arc::new(events::FanOut::new(sinks)))
                    .device_ca(ca.into_bytes());
                if let Some(id) = settings.get(settings::ENROLLMENT_PROFILE_ID).await? {
                    builder = builder.enrollment_profile_identifier(id);
                }
                Some(builder.build()?)
            }
            None => None,
        };
        Ok(Self {
            inner: Arc::new(Inner {
                store,
                engine,
                pusher,
                store_pusher,
                lifecycle,
                settings,
                feed,
            }),
            actor: Arc::from(DEFAULT_ACTOR),
        })
    }

    /// The same deployment, with what is done through the returned handle (and its
    /// sub-handles) audited with `actor` as who did it: the console passes its signed-in
    /// administrator's id (`adm_…`), the admin API `api-key:<name>`. Without it the actor
    /// is [`DEFAULT_ACTOR`] (`admin`), as for the CLI.
    pub fn acting_as(&self, actor: impl Into<String>) -> Mdm {
        Mdm {
            inner: self.inner.clone(),
            actor: Arc::from(actor.into()),
        }
    }

    /// Who the audit log names for administrators' actions through this handle.
    pub fn actor(&self) -> &str {
        &self.actor
    }

    /// The store.
    pub fn store(&self) -> &SharedStore {
        &self.inner.store
    }

    /// The engine: the MDM endpoints (sans-IO) and device actions. It needs the device CA
    /// (`mdmkit init`); without one this is [`Error::SettingMissing`].
    pub fn engine(&self) -> Result<&Engine> {
        self.inner
            .engine
            .as_ref()
            .ok_or_else(|| settings::missing(settings::DEVICE_CA_CERTIFICATE))
    }

    /// The push-certificate lifecycle.
    pub(crate) fn lifecycle(&self) -> &PushCertLifecycle {
        &self.inner.lifecycle
    }

    /// Applies a push-certificate change made through this handle to its pusher before the
    /// call that made it returns (changes made by other processes are picked up by the
    /// pusher's poll). Done in the caller's task rather than by a background follower, so
    /// no TLS client is being built when a short-lived process (a script) exits.
    pub(crate) async fn reload_pusher(&self) -> Result<()> {
        if let Some(pusher) = &self.inner.store_pusher {
            pusher.reload().await?;
        }
        Ok(())
    }

    /// The pusher the engine pushes through.
    pub fn pusher(&self) -> &Arc<dyn Pusher> {
        &self.inner.pusher
    }

    /// The settings kept in the store (with this handle's overrides).
    pub fn settings(&self) -> Settings {
        self.inner.settings.clone()
    }

    /// Push certificates: CSR, vendor signing, install and renew, status, notices.
    pub fn push_certs(&self) -> PushCerts {
        PushCerts::new(self.clone())
    }

    /// Devices, their actions, queues and command results.
    pub fn devices(&self) -> Devices {
        Devices::new(self.clone())
    }

    /// Enrollment: the device CA, enrollment links and profiles, invitations.
    pub fn enrollment(&self) -> Enrollment {
        Enrollment::new(self.clone())
    }

    /// The administrators' accounts and sessions.
    pub fn admins(&self) -> Admins {
        Admins::new(self.clone())
    }

    /// The self-service portal: end users' sign-in and sessions, and what a signed-in user
    /// does ([`PortalSession`]).
    pub fn portal(&self) -> Portal {
        Portal::new(self.clone())
    }

    /// Users' certificates (S/MIME PKCS#12) and their kinds, for administrators.
    pub fn user_certs(&self) -> UserCerts {
        UserCerts::new(self.clone())
    }

    /// The engine's events (check-ins, results) as a feed to pull from. Events published
    /// before the call are not in it; a feed that falls behind by more than its capacity
    /// skips (and counts) what it missed.
    pub fn events(&self) -> EventFeed {
        self.inner.feed.subscribe()
    }

    /// The sans-IO MDM endpoint: one request of a device (method, path, headers, body,
    /// and the TLS client certificate when the front end terminates TLS) in, the answer
    /// out. `path` chooses the endpoint: `…/checkin` check-ins, anything else the
    /// combined endpoint (check-ins and command results).
    pub async fn handle(&self, request: MdmRequestParts) -> Result<MdmResponseParts> {
        let engine = self.engine()?;
        let mut mdm_request = mdmkit_core::engine::MdmRequest::put(request.body);
        mdm_request.method = request.method;
        for (name, value) in request.headers {
            mdm_request = mdm_request.with_header(name, value);
        }
        if let Some(der) = request.peer_certificate {
            mdm_request = mdm_request.with_peer_certificate(der);
        }
        let response = if request.path.trim_end_matches('/').ends_with("/checkin") {
            engine.handle_checkin(mdm_request).await
        } else {
            engine.handle(mdm_request).await
        };
        Ok(MdmResponseParts {
            status: response.status,
            headers: response.headers,
            body: response.body,
            error: response.error,
        })
    }
}

/// A device's HTTP request, for [`Mdm::handle`].
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct MdmRequestParts {
    /// The HTTP method (devices use `PUT`).
    pub method: String,
    /// The request path (`/mdm/checkin`, `/mdm/server`, `/mdm`).
    pub path: String,
    /// The headers (the `Mdm-Signature` header carries the device's signature).
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
    /// The device's TLS client certificate (DER), when TLS is terminated by the caller.
    pub peer_certificate: Option<Vec<u8>>,
}

impl MdmRequestParts {
    /// A request with a method, path and body.
    pub fn new(method: impl Into<String>, path: impl Into<String>, body: Vec<u8>) -> Self {
        Self {
            method: method.into(),
            path: path.into(),
            headers: Vec::new(),
            body,
            peer_certificate: None,
        }
    }

    /// Adds a header.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Sets the TLS client certificate (DER).
    pub fn peer_certificate(mut self, der: Vec<u8>) -> Self {
        self.peer_certificate = Some(der);
        self
    }
}

/// The answer to a device, from [`Mdm::handle`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct MdmResponseParts {
    /// The HTTP status.
    pub status: u16,
    /// The headers to send.
    pub headers: Vec<(String, String)>,
    /// The body to send.
    pub body: Vec<u8>,
    /// Why a request was refused, for logs (never sent to the device).
    pub error: Option<String>,
}

async fn open_store(config: &MdmConfig) -> Result<SharedStore> {
    if config.store_url == "memory:" {
        return Ok(Arc::new(mdmkit_core::store::MemoryStore::new()));
    }
    #[cfg(any(feature = "sqlite", feature = "postgres"))]
    {
        let key = config
            .key
            .as_ref()
            .ok_or_else(|| Error::input("the store's at-rest key is required (64 hex digits)"))?;
        let hex = key
            .expose_str()
            .ok_or_else(|| Error::input("the at-rest key must be 64 hex digits"))?;
        let key = mdmkit_core::store::AtRestKey::from_hex(hex)?;
        Ok(mdmkit_core::store::open(&config.store_url, key).await?)
    }
    #[cfg(not(any(feature = "sqlite", feature = "postgres")))]
    Err(Error::input(
        "this build has no SQL store (features `sqlite`, `postgres`); use memory:",
    ))
}

#[cfg(test)]
mod tests {
    #[test]
    fn quiet_tracing_installs_a_dispatcher_once_and_may_be_called_again() {
        super::quiet_tracing();
        assert!(tracing::dispatcher::has_been_set());
        // A second call (a second `Mdm.open` in Swift) finds it installed and changes nothing.
        super::quiet_tracing();
        assert!(tracing::dispatcher::has_been_set());
    }
}
