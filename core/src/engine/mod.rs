//! The MDM engine: the check-in and command endpoints, device authentication and the
//! device actions, over any [`Store`](crate::store::Store) and any
//! [`Pusher`].
//!
//! The engine is sans-IO: [`Engine::handle_checkin`], [`Engine::handle_command`] and
//! [`Engine::handle`] (one URL for both) take an owned [`MdmRequest`] (method, headers,
//! body, optional TLS client certificate) and return an [`MdmResponse`]; an HTTP framework
//! only adapts (the `axum` feature has a ready router in `engine::http`).
//!
//! # The engine's model of a device
//!
//! * `Authenticate` records the enrollment (disabled), binds the SHA-256 of the identity
//!   certificate that sent it, records the device and clears any pending commands.
//! * `TokenUpdate` stores the push token, PushMagic, topic and UnlockToken and enables the
//!   enrollment. A user channel's first TokenUpdate creates its enrollment (ask
//!   [`CheckinHooks::accept_user_channel`]).
//! * Results are stored and answered with the next pending command (the store's queue
//!   semantics: NotNow is not resent on the same connection, Idle starts over).
//! * `CheckOut` disables the enrollment.
//!
//! # Device authentication
//!
//! Every message must come with an identity certificate that chains to a configured CA:
//! the `Mdm-Signature` header (a base64 CMS detached signature over the body) or, when
//! the header is absent, the TLS client certificate the HTTP layer passes in. Then:
//!
//! * `Authenticate` binds the certificate to the device channel. A certificate already
//!   bound to *another* device is refused (UDID spoofing). A certificate other than the
//!   bound one is accepted only for the same owner (the user the identity was issued
//!   for, from its [`TokenKind::DeviceIdentity`](crate::store::TokenKind::DeviceIdentity)
//!   record) or where [`CheckinHooks::allow_identity_change`] allows it; then every
//!   secret of the old binding (push token, UnlockToken, bootstrap token) and the queue
//!   are dropped. See docs/engine.md, "Who may re-bind an enrollment".
//! * Every other message must present the certificate bound to its device channel (user
//!   channels are signed with the device's identity); an enrollment with no bound
//!   certificate is refused.
//! * **Renewed identity certificates**: a device whose identity certificate was renewed
//!   re-enrolls, and its new `Authenticate` binds the new certificate (clearing its
//!   queue, as any re-Authenticate does). When the application renewed the certificate by
//!   other means and the device will not re-Authenticate, it calls
//!   [`Engine::rebind_identity`] with the new certificate; until one of the two happens,
//!   messages signed with the new certificate are refused.
//!
//! Authentication failures and malformed bodies answer HTTP 400 (never 401, which can make
//! a device unenroll) and store nothing.

use std::sync::Arc;

use crate::plist_io::DecodeLimits;
use crate::push::Pusher;
use crate::store::SharedStore;
use crate::{EnrollmentId, Error, Result};

mod action;
mod actions;
pub mod auth;
mod ddm;
mod endpoints;
pub mod events;
pub mod hooks;
#[cfg(feature = "axum")]
pub mod http;
#[cfg(feature = "webhook")]
pub mod webhook;

pub use action::{
    strict_object, Action, ActionOutcome, DEFAULT_QUERIES, MAX_COMMAND_STRING_CHARS,
    MAX_MESSAGE_CHARS, MAX_PROFILE_BYTES, MAX_QUERIES, MAX_SHORT_CHARS,
};
pub use actions::{platform_of_model, BulkOutcome, LockOptions, LostModeOptions, Queued};
pub use auth::{DeviceAuthenticator, DeviceIdentity, SIGNATURE_HEADER};
pub use ddm::{Declare, SyncOutcome};
pub use endpoints::MAX_IDENTIFIER_CHARS;
pub use events::{Event, EventSink, NoEvents, RecordingSink};
pub use hooks::{CheckinHooks, DefaultHooks, HookReply, IdentityChange};

/// A request to an MDM endpoint, as the HTTP layer received it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct MdmRequest {
    /// The HTTP method (devices use `PUT`).
    pub method: String,
    /// The headers, names in any case.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
    /// The TLS client certificate (DER), when the connection presented one.
    pub peer_certificate: Option<Vec<u8>>,
}

impl MdmRequest {
    /// A `PUT` with this body and no headers.
    pub fn put(body: impl Into<Vec<u8>>) -> Self {
        Self {
            method: "PUT".into(),
            headers: Vec::new(),
            body: body.into(),
            peer_certificate: None,
        }
    }

    /// The same request with one more header.
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// The same request with a TLS client certificate (DER).
    pub fn with_peer_certificate(mut self, der: Vec<u8>) -> Self {
        self.peer_certificate = Some(der);
        self
    }

    /// The first value of a header (names compared case-insensitively).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// The engine's answer to an [`MdmRequest`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct MdmResponse {
    /// The HTTP status.
    pub status: u16,
    /// The headers to send.
    pub headers: Vec<(String, String)>,
    /// The body (empty for most answers).
    pub body: Vec<u8>,
    /// Why the request was refused, for logs (never sent to the device).
    pub error: Option<String>,
}

impl MdmResponse {
    /// 200 with an empty body.
    pub fn empty() -> Self {
        Self::status(200)
    }

    /// A status with an empty body.
    pub fn status(status: u16) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: Vec::new(),
            error: None,
        }
    }

    /// 200 with a plist body.
    pub fn plist(body: Vec<u8>) -> Self {
        Self {
            status: 200,
            headers: vec![(
                "Content-Type".into(),
                "application/xml; charset=UTF-8".into(),
            )],
            body,
            error: None,
        }
    }

    /// 200 with a JSON body (declarative-management answers).
    pub fn json(body: Vec<u8>) -> Self {
        Self {
            status: 200,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body,
            error: None,
        }
    }

    /// The answer to an error: 400 for anything the device got wrong (authentication,
    /// a malformed body, a result for a command it was not sent), 500 for the server's
    /// own failures (the store).
    pub fn from_error(error: &Error) -> Self {
        let status = match error {
            Error::StoreBackend(_) | Error::StoreCrypto(_) | Error::Encode(_) => 500,
            _ => 400,
        };
        Self {
            error: Some(format!("{} ({})", error, error.code())),
            ..Self::status(status)
        }
    }
}

/// The engine's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct EngineConfig {
    /// Limits on device bodies.
    pub limits: DecodeLimits,
    /// The `PayloadIdentifier` of the enrollment (MDM) profile: [`Engine::retire`]
    /// removes it.
    pub enrollment_profile_identifier: Option<String>,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            limits: DecodeLimits::DEFAULT,
            enrollment_profile_identifier: None,
        }
    }
}

/// The MDM engine. Cheap to clone; share one per server.
#[derive(Clone)]
pub struct Engine {
    store: SharedStore,
    pusher: Arc<dyn Pusher>,
    auth: Arc<DeviceAuthenticator>,
    hooks: Arc<dyn CheckinHooks>,
    events: Arc<dyn EventSink>,
    config: EngineConfig,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("auth", &self.auth)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// Builds an [`Engine`].
pub struct EngineBuilder {
    store: SharedStore,
    pusher: Arc<dyn Pusher>,
    device_cas: Vec<Vec<u8>>,
    hooks: Arc<dyn CheckinHooks>,
    events: Arc<dyn EventSink>,
    config: EngineConfig,
}

impl std::fmt::Debug for EngineBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineBuilder")
            .field("device_cas", &self.device_cas.len())
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl EngineBuilder {
    /// Trusts the CA certificates in `pem_or_der` for device identities (call once per
    /// file; at least one is required).
    pub fn device_ca(mut self, pem_or_der: impl Into<Vec<u8>>) -> Self {
        self.device_cas.push(pem_or_der.into());
        self
    }

    /// The application's check-in hooks (default: [`DefaultHooks`]).
    pub fn hooks(mut self, hooks: Arc<dyn CheckinHooks>) -> Self {
        self.hooks = hooks;
        self
    }

    /// Where events go (default: [`NoEvents`]).
    pub fn events(mut self, events: Arc<dyn EventSink>) -> Self {
        self.events = events;
        self
    }

    /// Limits on device bodies (default: [`DecodeLimits::DEFAULT`]).
    pub fn limits(mut self, limits: DecodeLimits) -> Self {
        self.config.limits = limits;
        self
    }

    /// The `PayloadIdentifier` of the enrollment profile, which [`Engine::retire`]
    /// removes.
    pub fn enrollment_profile_identifier(mut self, identifier: impl Into<String>) -> Self {
        self.config.enrollment_profile_identifier = Some(identifier.into());
        self
    }

    /// The engine; fails when no device CA was given or one cannot be read.
    pub fn build(self) -> Result<Engine> {
        Ok(Engine {
            store: self.store,
            pusher: self.pusher,
            auth: Arc::new(DeviceAuthenticator::new(&self.device_cas)?),
            hooks: self.hooks,
            events: self.events,
            config: self.config,
        })
    }
}

impl Engine {
    /// Starts building an engine over `store`, pushing through `pusher`.
    pub fn builder(store: SharedStore, pusher: Arc<dyn Pusher>) -> EngineBuilder {
        EngineBuilder {
            store,
            pusher,
            device_cas: Vec::new(),
            hooks: Arc::new(DefaultHooks),
            events: Arc::new(NoEvents),
            config: EngineConfig::default(),
        }
    }

    /// The store the engine works on.
    pub fn store(&self) -> &SharedStore {
        &self.store
    }

    /// The engine's settings.
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// Binds a renewed identity certificate (DER) to a device's enrollment, for devices
    /// whose certificate the application renewed without a new `Authenticate`. The
    /// certificate must chain to a configured CA and must not be bound to another device.
    /// Later messages must be signed with it; the old certificate is refused.
    pub async fn rebind_identity(
        &self,
        enrollment: &EnrollmentId,
        certificate_der: &[u8],
    ) -> Result<DeviceIdentity> {
        let identity = self.auth.verify_certificate(certificate_der)?;
        let device = hooks::device_channel(enrollment);
        self.ensure_not_bound_elsewhere(&identity, &device).await?;
        let mut record =
            self.store
                .get_enrollment(&device)
                .await?
                .ok_or_else(|| Error::NotFound {
                    kind: "enrollment",
                    id: device.to_string(),
                })?;
        record.identity_cert_sha256 = Some(identity.sha256.clone());
        record.identity_certificate = Some(identity.certificate_der.clone());
        record.updated_at = crate::store::now_micros();
        self.store.put_enrollment(&record).await?;
        Ok(identity)
    }
}
