//! The check-in and command endpoints.

use plist::{Dictionary, Value};

use super::hooks::{device_channel, HookReply, IdentityChange};
use super::{DeviceIdentity, Engine, Event, MdmRequest, MdmResponse, SIGNATURE_HEADER};
use crate::checkin::{Authenticate, Checkin, CheckinMessage, TokenUpdate};
use crate::plist_io::{self, PlistFormat};
use crate::store::{
    now_micros, CommandResultRecord, DeviceRecord, EnrollmentQuery, EnrollmentRecord, NextCommand,
    PushInfo, TokenKind,
};
use crate::{CommandResult, CommandStatus, EnrollmentId, Error, Result, Secret};

impl Engine {
    /// Handles a request to one URL that serves both check-ins and commands (CheckInURL
    /// equal to ServerURL): a body with a `MessageType` is a check-in, anything else a
    /// command result.
    pub async fn handle(&self, request: MdmRequest) -> MdmResponse {
        let is_checkin = plist_io::parse_dictionary(&request.body, self.config.limits)
            .map(|dict| dict.contains_key("MessageType"))
            .unwrap_or(false);
        if is_checkin {
            self.handle_checkin(request).await
        } else {
            self.handle_command(request).await
        }
    }

    /// Handles a request to the check-in URL (Authenticate, TokenUpdate, CheckOut and the
    /// messages the [`CheckinHooks`](super::CheckinHooks) answer).
    pub async fn handle_checkin(&self, request: MdmRequest) -> MdmResponse {
        if let Some(refused) = refuse_method(&request) {
            return refused;
        }
        match self.checkin(&request).await {
            Ok(response) => response,
            Err(error) => refused("check-in", &error),
        }
    }

    /// Handles a request to the server URL: a command result or an Idle report, answered
    /// with the next pending command or an empty 200.
    pub async fn handle_command(&self, request: MdmRequest) -> MdmResponse {
        if let Some(refused) = refuse_method(&request) {
            return refused;
        }
        match self.command(&request).await {
            Ok(response) => response,
            Err(error) => refused("command", &error),
        }
    }

    /// The verified identity certificate of a request: its `Mdm-Signature`, else its TLS
    /// client certificate.
    pub(super) fn identify(&self, request: &MdmRequest) -> Result<DeviceIdentity> {
        if request.body.len() > self.config.limits.max_body_bytes {
            return Err(Error::BodyTooLarge {
                size: request.body.len(),
                limit: self.config.limits.max_body_bytes,
            });
        }
        match (request.header(SIGNATURE_HEADER), &request.peer_certificate) {
            (Some(signature), _) => self.auth.verify_signature(signature, &request.body),
            (None, Some(der)) => self.auth.verify_certificate(der),
            (None, None) => Err(Error::DeviceAuth(
                "no Mdm-Signature header and no client certificate".into(),
            )),
        }
    }

    /// Refuses a certificate already bound to a device other than `device`.
    pub(super) async fn ensure_not_bound_elsewhere(
        &self,
        identity: &DeviceIdentity,
        device: &EnrollmentId,
    ) -> Result<()> {
        let query = EnrollmentQuery {
            identity_cert_sha256: Some(identity.sha256.clone()),
            ..EnrollmentQuery::default()
        };
        let bound = self.store.list_enrollments(&query).await?;
        match bound
            .iter()
            .find(|record| record.id.device_part() != device.as_str())
        {
            Some(other) => Err(Error::DeviceAuth(format!(
                "the certificate is bound to another device ({})",
                other.id
            ))),
            None => Ok(()),
        }
    }

    /// Checks that `identity` is the certificate bound to the device channel of
    /// `enrollment`; returns that channel's record (read once: a request to the device
    /// channel itself needs no second read).
    async fn authorize(
        &self,
        identity: &DeviceIdentity,
        enrollment: &EnrollmentId,
    ) -> Result<EnrollmentRecord> {
        let device = device_channel(enrollment);
        let record = self.store.get_enrollment(&device).await?;
        match record {
            Some(record)
                if record.identity_cert_sha256.as_deref() == Some(identity.sha256.as_str()) =>
            {
                Ok(record)
            }
            Some(record) if record.identity_cert_sha256.is_some() => Err(Error::DeviceAuth(
                format!("the certificate is not the one bound to enrollment {device}"),
            )),
            _ => Err(Error::DeviceAuth(format!(
                "enrollment {device} has no bound identity certificate (no Authenticate)"
            ))),
        }
    }

    async fn checkin(&self, request: &MdmRequest) -> Result<MdmResponse> {
        let identity = self.identify(request)?;
        let checkin = Checkin::decode_with_limits(&request.body, self.config.limits)?;
        let id = checkin.enrollment_id.clone();
        let response = match &checkin.message {
            CheckinMessage::Authenticate(message) => {
                self.authenticate(&identity, &id, message, &request.body)
                    .await?;
                MdmResponse::empty()
            }
            message => {
                self.authorize(&identity, &id).await?;
                self.after_authenticate(&id, message, &request.body).await?
            }
        };
        if response.status == 200 {
            self.touch(&id).await?;
        }
        self.events
            .publish(&Event::Checkin {
                enrollment_id: id,
                message_type: checkin.message.message_type().to_owned(),
                body: request.body.clone(),
                at: now_micros(),
            })
            .await;
        Ok(response)
    }

    async fn authenticate(
        &self,
        identity: &DeviceIdentity,
        id: &EnrollmentId,
        message: &Authenticate,
        body: &[u8],
    ) -> Result<()> {
        if id.is_user_channel() {
            return Err(Error::InvalidValue {
                path: "Authenticate".into(),
                value: id.to_string(),
                allowed: "a device channel (user channels send no Authenticate)".into(),
            });
        }
        for (key, value) in [
            ("UDID", message.udid.as_deref()),
            ("EnrollmentID", message.enrollment_id.as_deref()),
        ] {
            if let Some(value) = value {
                plausible_identifier(key, value)?;
            }
        }
        plausible_identifier("enrollment", id.as_str())?;
        self.ensure_not_bound_elsewhere(identity, id).await?;
        let now = now_micros();
        let mut record = match self.store.get_enrollment(id).await? {
            Some(record) => {
                let mut record = record;
                if record.identity_cert_sha256.as_deref() != Some(identity.sha256.as_str()) {
                    self.allow_identity_change(&record, identity).await?;
                    if record.identity_cert_sha256.is_some() {
                        self.drop_old_binding(&mut record).await?;
                    }
                }
                record
            }
            None => EnrollmentRecord::new(id.clone()),
        };
        record.enrollment_type = Some(
            if message.udid.is_none() && message.enrollment_id.is_some() {
                "User"
            } else {
                "Device"
            }
            .to_owned(),
        );
        record.enrolled_topic = Some(message.topic.clone());
        record.identity_cert_sha256 = Some(identity.sha256.clone());
        record.identity_certificate = Some(identity.certificate_der.clone());
        record.enabled = false;
        record.authenticate_message = Some(body.to_vec());
        record.last_seen = Some(now);
        record.updated_at = now;
        self.store.put_enrollment(&record).await?;

        let mut device = match self.store.get_device(id.device_part()).await? {
            Some(device) => device,
            None => DeviceRecord::new(id.device_part()),
        };
        let keep = |new: &Option<String>, old: &mut Option<String>| {
            if new.is_some() {
                old.clone_from(new);
            }
        };
        keep(&message.serial_number, &mut device.serial_number);
        keep(&message.model, &mut device.model);
        keep(&message.product_name, &mut device.product_name);
        keep(&message.os_version, &mut device.os_version);
        keep(&message.build_version, &mut device.build_version);
        device.updated_at = now;
        self.store.put_device(&device).await?;
        self.store.clear_pending(id).await?;
        Ok(())
    }

    /// The user a device identity certificate was issued for: its
    /// [`TokenKind::DeviceIdentity`] record (keyed by the certificate's SHA-256), written
    /// by the enroller that issued it. `None` for certificates from elsewhere.
    async fn issued_for(&self, sha256: &str) -> Result<Option<String>> {
        Ok(self
            .store
            .get_token(sha256)
            .await?
            .filter(|record| record.kind == TokenKind::DeviceIdentity)
            .map(|record| record.user_id))
    }

    /// Decides whether `identity` may replace the certificate bound to `record` (or be
    /// bound to a record that has none); a refusal is logged and is an authentication
    /// error (HTTP 400).
    async fn allow_identity_change(
        &self,
        record: &EnrollmentRecord,
        identity: &DeviceIdentity,
    ) -> Result<()> {
        let issued_for = self.issued_for(&identity.sha256).await?;
        let owner = match (&record.owner, &record.identity_cert_sha256) {
            (Some(owner), _) => Some(owner.clone()),
            (None, Some(bound)) => self.issued_for(bound).await?,
            (None, None) => None,
        };
        let refusal = match (&owner, &issued_for) {
            (Some(owner), Some(user)) if owner != user => Some(format!(
                "the identity certificate was issued for another user than the enrollment's \
                 owner ({user} vs {owner})"
            )),
            (Some(_), Some(_)) => None,
            _ => {
                let change = IdentityChange {
                    enrollment: record.id.clone(),
                    bound_sha256: record.identity_cert_sha256.clone(),
                    new_sha256: identity.sha256.clone(),
                    owner: owner.clone(),
                    issued_for: issued_for.clone(),
                };
                if self
                    .hooks
                    .allow_identity_change(&self.store, &change)
                    .await?
                {
                    None
                } else {
                    Some(match (&owner, &issued_for) {
                        (Some(owner), None) => format!(
                            "an identity certificate with no recorded user may not take over \
                             an enrollment owned by {owner} (application policy)"
                        ),
                        (None, Some(user)) => format!(
                            "an identity certificate issued for {user} may not take over an \
                             enrollment bound to another certificate with no known owner \
                             (application policy)"
                        ),
                        _ => "the application's policy refused a new identity certificate for \
                              this enrollment"
                            .to_owned(),
                    })
                }
            }
        };
        match refusal {
            None => {
                tracing::info!(
                    enrollment = %record.id,
                    new_identity = %identity.sha256,
                    previous_identity = record.identity_cert_sha256.as_deref().unwrap_or("none"),
                    "a new identity certificate is bound to the enrollment"
                );
                Ok(())
            }
            Some(reason) => {
                tracing::warn!(
                    enrollment = %record.id,
                    identity = %identity.sha256,
                    reason = %reason,
                    "Authenticate refused: identity takeover"
                );
                Err(Error::DeviceAuth(reason))
            }
        }
    }

    /// Forgets every secret of an enrollment's previous binding before a new certificate
    /// is bound: the push token and PushMagic, the UnlockToken, the bootstrap token and
    /// the raw TokenUpdate; the same for the device's user channels, whose pending
    /// commands go too (the device channel's queue is cleared by Authenticate itself).
    async fn drop_old_binding(&self, record: &mut EnrollmentRecord) -> Result<()> {
        fn forget(record: &mut EnrollmentRecord) {
            record.push = None;
            record.unlock_token = None;
            record.bootstrap_token = None;
            record.token_update_message = None;
            record.enabled = false;
            record.updated_at = now_micros();
        }
        forget(record);
        let query = EnrollmentQuery {
            device_id: Some(record.id.device_part().to_owned()),
            ..EnrollmentQuery::default()
        };
        for mut channel in self.store.list_enrollments(&query).await? {
            if channel.id == record.id {
                continue;
            }
            forget(&mut channel);
            self.store.put_enrollment(&channel).await?;
            self.store.clear_pending(&channel.id).await?;
        }
        Ok(())
    }

    async fn after_authenticate(
        &self,
        id: &EnrollmentId,
        message: &CheckinMessage,
        body: &[u8],
    ) -> Result<MdmResponse> {
        let reply = match message {
            CheckinMessage::TokenUpdate(update) => {
                self.token_update(id, update, body).await?;
                HookReply::Empty
            }
            CheckinMessage::CheckOut(_) => {
                self.store.set_enabled(id, false).await?;
                HookReply::Empty
            }
            CheckinMessage::UserAuthenticate(m) => {
                self.hooks.user_authenticate(&self.store, id, m).await?
            }
            CheckinMessage::GetToken(m) => self.hooks.get_token(&self.store, id, m).await?,
            CheckinMessage::DeclarativeManagement(m) => {
                self.hooks
                    .declarative_management(&self.store, id, m)
                    .await?
            }
            CheckinMessage::SetBootstrapToken(m) => {
                self.hooks.set_bootstrap_token(&self.store, id, m).await?
            }
            CheckinMessage::GetBootstrapToken(m) => {
                self.hooks.get_bootstrap_token(&self.store, id, m).await?
            }
            other => {
                return Err(Error::UnknownMessageType(other.message_type().to_owned()));
            }
        };
        Ok(match reply {
            HookReply::Empty => MdmResponse::empty(),
            HookReply::Body(body) => MdmResponse::plist(body),
            HookReply::Json(body) => MdmResponse::json(body),
            HookReply::Status(status) => MdmResponse::status(status),
        })
    }

    async fn token_update(
        &self,
        id: &EnrollmentId,
        update: &TokenUpdate,
        body: &[u8],
    ) -> Result<()> {
        let mut record = match self.store.get_enrollment(id).await? {
            Some(record) => record,
            None => {
                // Only a user channel can get here without a record: the device channel
                // was authorized through its own record.
                if !self
                    .hooks
                    .accept_user_channel(&self.store, id, update)
                    .await?
                {
                    return Err(Error::DeviceAuth(format!(
                        "the application refused user channel {id}"
                    )));
                }
                let mut record = EnrollmentRecord::new(id.clone());
                record.enrollment_type = Some("UserChannel".into());
                record
            }
        };
        let now = now_micros();
        record
            .enrolled_topic
            .get_or_insert_with(|| update.topic.clone());
        record.push = Some(PushInfo::new(
            update.token.as_bytes().to_vec(),
            update.push_magic.clone(),
            update.topic.clone(),
        ));
        if let Some(unlock) = &update.unlock_token {
            record.unlock_token = Some(Secret::new(unlock.as_bytes().to_vec()));
        }
        record.token_update_message = Some(body.to_vec());
        record.enabled = true;
        record.last_seen = Some(now);
        record.updated_at = now;
        self.store.put_enrollment(&record).await
    }

    async fn touch(&self, id: &EnrollmentId) -> Result<()> {
        match self.store.touch_enrollment(id, now_micros()).await {
            Ok(()) | Err(Error::NotFound { .. }) => Ok(()),
            Err(error) => Err(error),
        }
    }

    async fn command(&self, request: &MdmRequest) -> Result<MdmResponse> {
        let identity = self.identify(request)?;
        let dict = plist_io::parse_dictionary(&request.body, self.config.limits)?;
        let id = EnrollmentId::from_message(&dict)?;
        let device = self.authorize(&identity, &id).await?;
        let record = if device.id == id {
            device
        } else {
            self.store
                .get_enrollment(&id)
                .await?
                .ok_or_else(|| Error::NotFound {
                    kind: "enrollment",
                    id: id.to_string(),
                })?
        };
        if !record.enabled {
            return Err(Error::EnrollmentDisabled(id.to_string()));
        }
        let request_type = match dict.get("CommandUUID").and_then(Value::as_string) {
            Some(uuid) => self
                .store
                .get_command(uuid)
                .await?
                .map(|command| command.request_type),
            None => None,
        };
        let query_responses = dict.get("QueryResponses").cloned();
        let result = CommandResult::from_dictionary(dict, request_type.as_deref())?;
        if let (Some(uuid), true) = (&result.command_uuid, result.status != CommandStatus::Idle) {
            let stored = CommandResultRecord::new(uuid, result.status, request.body.clone());
            self.store.record_result(&id, &stored).await?;
            if result.status == CommandStatus::Acknowledged
                && result.request_type.as_deref() == Some("DeviceInformation")
            {
                if let Some(Value::Dictionary(answers)) = query_responses {
                    self.store_device_information(&id, answers).await?;
                }
            }
        }
        let next = self
            .store
            .next_command(&id, &NextCommand::after_result(result.status))
            .await?;
        self.touch(&id).await?;
        self.events
            .publish(&Event::CommandResult {
                enrollment_id: id,
                command_uuid: result.command_uuid.clone(),
                request_type: result.request_type.clone(),
                status: result.status,
                body: request.body.clone(),
                at: now_micros(),
            })
            .await;
        Ok(match next {
            Some(command) => MdmResponse::plist(command.payload),
            None => MdmResponse::empty(),
        })
    }

    async fn store_device_information(&self, id: &EnrollmentId, answers: Dictionary) -> Result<()> {
        let mut device = match self.store.get_device(id.device_part()).await? {
            Some(device) => device,
            None => DeviceRecord::new(id.device_part()),
        };
        let text = |key: &str| {
            answers
                .get(key)
                .and_then(Value::as_string)
                .map(str::to_owned)
        };
        for (key, field) in [
            ("SerialNumber", &mut device.serial_number),
            ("Model", &mut device.model),
            ("ProductName", &mut device.product_name),
            ("OSVersion", &mut device.os_version),
            ("BuildVersion", &mut device.build_version),
        ] {
            if let Some(value) = text(key) {
                *field = Some(value);
            }
        }
        // Merge with what earlier queries answered: a query names only some keys.
        let mut merged = device
            .device_information
            .as_deref()
            .and_then(|bytes| plist_io::parse_dictionary(bytes, self.config.limits).ok())
            .unwrap_or_default();
        for (key, value) in answers {
            merged.insert(key, value);
        }
        device.device_information = Some(plist_io::write(
            &Value::Dictionary(merged),
            PlistFormat::Binary,
        )?);
        device.updated_at = now_micros();
        self.store.put_device(&device).await
    }
}

/// Devices send `PUT`; anything else is answered 405 before any work.
/// The longest UDID or EnrollmentID accepted at Authenticate, in characters.
pub const MAX_IDENTIFIER_CHARS: usize = 128;

/// Refuses an identifier no device sends: empty, longer than [`MAX_IDENTIFIER_CHARS`],
/// with control or bidirectional-formatting characters, or with path separators. Such
/// values end up in logs, file names and admin pages.
fn plausible_identifier(key: &str, value: &str) -> Result<()> {
    let bidi = |c: char| matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}');
    let problem = if value.is_empty() {
        Some("is empty")
    } else if value.chars().count() > MAX_IDENTIFIER_CHARS {
        Some("is longer than 128 characters")
    } else if value.chars().any(char::is_control) {
        Some("contains a control character")
    } else if value.chars().any(bidi) {
        Some("contains a bidirectional formatting character")
    } else if value.contains(['/', '\\']) {
        Some("contains a path separator")
    } else {
        None
    };
    match problem {
        None => Ok(()),
        Some(problem) => Err(Error::InvalidValue {
            path: format!("Authenticate.{key}"),
            value: value
                .chars()
                .take(MAX_IDENTIFIER_CHARS)
                .collect::<String>()
                .escape_debug()
                .to_string(),
            allowed: format!("a plausible device identifier ({key} {problem})"),
        }),
    }
}

/// The answer to a failed request, logged with its reason: a device's mistake or an
/// authentication failure as a warning, the server's own failure as an error.
fn refused(endpoint: &str, error: &Error) -> MdmResponse {
    let response = MdmResponse::from_error(error);
    if response.status >= 500 {
        tracing::error!(endpoint, code = error.code(), reason = %error, "MDM request failed");
    } else if matches!(error, Error::DeviceAuth(_)) {
        tracing::warn!(endpoint, code = error.code(), reason = %error, "MDM authentication failed");
    } else {
        tracing::warn!(endpoint, code = error.code(), reason = %error, "MDM request refused");
    }
    response
}

fn refuse_method(request: &MdmRequest) -> Option<MdmResponse> {
    if request.method.eq_ignore_ascii_case("PUT") {
        None
    } else {
        let mut response = MdmResponse::status(405);
        response.headers.push(("Allow".into(), "PUT".into()));
        Some(response)
    }
}
