//! The protocol without a deployment: synchronous, pure functions.

use chrono::{DateTime, Utc};
use mdmkit_core::command::{self, CommandEnvelope};
use mdmkit_core::{Checkin, CommandResult, PlistFormat};
use napi::bindgen_prelude::{Buffer, BufferSlice, Object, Unknown};
use napi::Env;
use napi_derive::napi;

use crate::convert::{arg, checkin_object, date, dict_to_js, dictionary, opt_arg, to_js};
use crate::errors::{sync_error, usage};

fn napi_error(error: napi::Error) -> napi::Error<String> {
    sync_error(&crate::errors::from_napi(error))
}

/// A synchronous function's argument, as [`arg`]; a wrong type throws `invalid_input`.
fn sync_arg<V: napi::bindgen_prelude::FromNapiValue + napi::bindgen_prelude::TypeName>(
    js: Unknown<'_>,
    name: &str,
) -> napi::Result<V, String> {
    arg(js, name).map_err(|e| sync_error(&e))
}

/// An optional argument of a synchronous function, as [`opt_arg`].
fn sync_opt_arg<V: napi::bindgen_prelude::FromNapiValue + napi::bindgen_prelude::TypeName>(
    js: Option<Unknown<'_>>,
    name: &str,
) -> napi::Result<Option<V>, String> {
    opt_arg(js, name).map_err(|e| sync_error(&e))
}

fn core(error: mdmkit_core::Error) -> napi::Error<String> {
    sync_error(&mdmkit_service::Error::from(error))
}

/// Renders a command given as an object with Apple's key names and its `RequestType`
/// (`Buffer`s for data, `Date`s for dates) as the plist a device receives
/// (`{CommandUUID, Command}`); checked against Apple's schema. `format`: `xml` (default) or
/// `binary`; a CommandUUID is made when none is given.
#[napi]
pub fn render_command(
    #[napi(ts_arg_type = "object")] command: Unknown<'_>,
    #[napi(ts_arg_type = "string | undefined | null")] command_uuid: Option<Unknown<'_>>,
    #[napi(ts_arg_type = "string | undefined | null")] format: Option<Unknown<'_>>,
) -> napi::Result<Buffer, String> {
    let command_uuid = sync_opt_arg::<String>(command_uuid, "commandUuid")?;
    let format = match sync_opt_arg::<String>(format, "format")?.as_deref() {
        None | Some("xml") => PlistFormat::Xml,
        Some("binary") => PlistFormat::Binary,
        Some(other) => {
            return Err(sync_error(&usage(format!(
                "format must be \"xml\" or \"binary\", not {other:?}"
            ))))
        }
    };
    let dict = dictionary(command, "command").map_err(|e| sync_error(&e))?;
    let typed = command::command_from_dictionary(dict).map_err(core)?;
    let envelope = match command_uuid {
        Some(uuid) => CommandEnvelope::with_uuid(uuid, typed),
        None => CommandEnvelope::new(typed),
    };
    Ok(envelope.encode(format).map_err(core)?.into())
}

/// Decodes a command plist: `{ commandUuid, requestType, command }`.
#[napi(
    ts_return_type = "{ commandUuid: string; requestType: string; command: Record<string, unknown> }"
)]
pub fn decode_command<'env>(
    env: &'env Env,
    #[napi(ts_arg_type = "Buffer")] body: Unknown<'_>,
) -> napi::Result<Object<'env>, String> {
    let body = sync_arg::<Buffer>(body, "body")?;
    let envelope = CommandEnvelope::decode(&body).map_err(core)?;
    let mut object = Object::new(env).map_err(napi_error)?;
    object
        .set("commandUuid", envelope.command_uuid.as_str())
        .map_err(napi_error)?;
    object
        .set("requestType", envelope.request_type())
        .map_err(napi_error)?;
    object
        .set(
            "command",
            dict_to_js(env, &envelope.command.to_dictionary()).map_err(napi_error)?,
        )
        .map_err(napi_error)?;
    Ok(object)
}

/// Decodes a check-in message (XML or binary plist), typed against Apple's schema:
/// `{ messageType, enrollmentId, message }` with the message's keys as the device sent them
/// (`Buffer`s for data). Unless `showSecrets`, UnlockToken, BootstrapToken and TokenData are
/// replaced by a note giving their length.
#[napi(
    ts_return_type = "{ messageType: string; enrollmentId: string; message: Record<string, unknown> }"
)]
pub fn decode_checkin<'env>(
    env: &'env Env,
    #[napi(ts_arg_type = "Buffer")] body: Unknown<'_>,
    #[napi(ts_arg_type = "boolean | undefined | null")] show_secrets: Option<Unknown<'_>>,
) -> napi::Result<Object<'env>, String> {
    // Read in place (no reference to the caller's Buffer is kept).
    let body = sync_arg::<BufferSlice>(body, "body")?;
    let show_secrets = sync_opt_arg::<bool>(show_secrets, "showSecrets")?;
    let checkin = Checkin::decode(&body).map_err(core)?;
    let message_type = checkin.message.message_type();
    // By value: the decoded message is not needed again, so its values move (no clones).
    let mut message = checkin.message.into_dictionary();
    if !show_secrets.unwrap_or(false) {
        for key in mdmkit_service::protocol::SECRET_KEYS {
            if let Some(plist::Value::Data(bytes)) = message.get(key) {
                let note = format!("<redacted: {} bytes>", bytes.len());
                message.insert(key.to_owned(), plist::Value::String(note));
            }
        }
    }
    checkin_object(env, message_type, checkin.enrollment_id.as_str(), &message).map_err(napi_error)
}

/// Decodes a command result (or Idle report); `requestType` types the answer when the result
/// does not name it: `{ status, commandUuid, requestType, enrollmentId, errorChain, result }`
/// with `result` the whole message as the device sent it.
#[napi(
    ts_return_type = "{ status: string; commandUuid: string | null; requestType: string | null; enrollmentId: string; errorChain: Array<Record<string, unknown>>; result: Record<string, unknown> }"
)]
pub fn decode_result<'env>(
    env: &'env Env,
    #[napi(ts_arg_type = "Buffer")] body: Unknown<'_>,
    #[napi(ts_arg_type = "string | undefined | null")] request_type: Option<Unknown<'_>>,
) -> napi::Result<Object<'env>, String> {
    let body = sync_arg::<Buffer>(body, "body")?;
    let request_type = sync_opt_arg::<String>(request_type, "requestType")?;
    let result = CommandResult::decode(&body, request_type.as_deref()).map_err(core)?;
    let whole = result.to_dictionary();
    let mut object = Object::new(env).map_err(napi_error)?;
    object
        .set("status", result.status.as_str())
        .map_err(napi_error)?;
    object
        .set("commandUuid", result.command_uuid.as_deref())
        .map_err(napi_error)?;
    object
        .set("requestType", result.request_type.as_deref())
        .map_err(napi_error)?;
    object
        .set("enrollmentId", result.enrollment_id.as_str())
        .map_err(napi_error)?;
    let chain = whole
        .get("ErrorChain")
        .cloned()
        .unwrap_or(plist::Value::Array(Vec::new()));
    object
        .set("errorChain", to_js(env, &chain).map_err(napi_error)?)
        .map_err(napi_error)?;
    object
        .set("result", dict_to_js(env, &whole).map_err(napi_error)?)
        .map_err(napi_error)?;
    Ok(object)
}

/// One command of Apple's schema.
#[napi(object)]
pub struct RequestTypeInfo {
    /// The RequestType.
    pub name: String,
    /// Where it runs: `iOS 4.0`, `macOS 10.7 (supervised)`...
    pub platforms: Vec<String>,
}

fn request_type_info(info: mdmkit_service::protocol::RequestTypeInfo) -> RequestTypeInfo {
    RequestTypeInfo {
        name: info.name,
        platforms: info.platforms,
    }
}

/// Every RequestType of Apple's schema, in the schema's order.
#[napi]
pub fn request_types() -> Vec<RequestTypeInfo> {
    mdmkit_service::protocol::request_types()
        .into_iter()
        .map(request_type_info)
        .collect()
}

/// The schema facts of one RequestType; `unknown_request_type` when there is none.
#[napi]
pub fn request_type(
    #[napi(ts_arg_type = "string")] name: Unknown<'_>,
) -> napi::Result<RequestTypeInfo, String> {
    let name = sync_arg::<String>(name, "name")?;
    mdmkit_service::protocol::request_type(&name)
        .map(request_type_info)
        .map_err(|e| sync_error(&e))
}

/// A push certificate file as read, before anything is stored.
#[napi(object)]
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
    pub not_before: DateTime<Utc>,
    /// Valid until.
    pub not_after: DateTime<Utc>,
    /// Whole days remaining (negative once expired).
    pub days_remaining: i64,
    /// `valid`, `expiring_soon` (60 days or fewer) or `expired`.
    pub status: String,
    /// Whether the file carried the private key too.
    pub has_private_key: bool,
}

/// A status enum's stable name (`valid`, `expiring_soon`, `installed`...).
pub(crate) fn name_of(value: impl serde::Serialize) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(name)) => name,
        _ => String::new(),
    }
}

impl From<mdmkit_service::CertificateInfo> for CertificateInfo {
    fn from(info: mdmkit_service::CertificateInfo) -> Self {
        Self {
            topic: info.topic,
            subject: info.subject,
            issuer: info.issuer,
            serial: info.serial,
            not_before: date(info.not_before),
            not_after: date(info.not_after),
            days_remaining: info.days_remaining,
            status: name_of(info.status),
            has_private_key: info.has_private_key,
        }
    }
}

/// Reads a push certificate file (PEM, DER, or PKCS#12 with its password) without storing
/// anything.
#[napi]
pub fn inspect_push_certificate(
    #[napi(ts_arg_type = "Buffer")] file: Unknown<'_>,
    #[napi(ts_arg_type = "string | undefined | null")] password: Option<Unknown<'_>>,
) -> napi::Result<CertificateInfo, String> {
    let file = sync_arg::<Buffer>(file, "file")?;
    let password = sync_opt_arg::<String>(password, "password")?;
    mdmkit_service::push_certs::inspect(&file, password.as_deref())
        .map(CertificateInfo::from)
        .map_err(|e| sync_error(&e))
}

/// A configuration profile, summarised.
#[napi(object)]
pub struct ProfileInfo {
    /// PayloadIdentifier.
    pub identifier: String,
    /// PayloadUUID.
    pub uuid: String,
    /// The payload types, in order (empty when the payloads are encrypted).
    pub payload_types: Vec<String>,
    /// The profile as XML.
    pub xml: Buffer,
}

fn profile_info(profile: &mdmkit_core::profile::Profile) -> napi::Result<ProfileInfo, String> {
    Ok(ProfileInfo {
        identifier: profile.identifier.clone(),
        uuid: profile.uuid.clone(),
        payload_types: profile
            .payloads
            .iter()
            .map(|p| p.payload_type().to_owned())
            .collect(),
        xml: profile.to_xml().map_err(core)?.into(),
    })
}

/// Builds a profile from an object with Apple's key names (top-level keys and a
/// `PayloadContent` list of payloads); UUIDs, versions and payload identifiers may be left
/// out. Validated before it is returned.
#[napi]
pub fn profile_from_spec(
    #[napi(ts_arg_type = "any")] spec: Unknown<'_>,
) -> napi::Result<ProfileInfo, String> {
    let spec = crate::convert::json_object(spec, "spec").map_err(|e| sync_error(&e))?;
    let profile = mdmkit_core::profile::Profile::from_json_spec(&spec).map_err(core)?;
    profile_info(&profile)
}

/// Reads a `.mobileconfig` (XML or binary plist, not signed; see `verifyProfile`).
#[napi]
pub fn profile_read(
    #[napi(ts_arg_type = "Buffer")] body: Unknown<'_>,
) -> napi::Result<ProfileInfo, String> {
    let body = sync_arg::<Buffer>(body, "body")?;
    let profile = mdmkit_core::profile::Profile::read_maybe_encrypted(&body).map_err(core)?;
    profile_info(&profile)
}

/// A signed profile whose signature verified.
#[napi(object)]
pub struct VerifiedProfile {
    /// The profile.
    pub profile: ProfileInfo,
    /// The signer certificate's subject.
    pub signer_subject: String,
    /// The signer certificate (DER).
    pub signer_certificate: Buffer,
}

/// Verifies a signed profile; with `trusted` roots (PEM or DER) its signer must chain to
/// one.
#[napi]
pub fn verify_profile(
    #[napi(ts_arg_type = "Buffer")] body: Unknown<'_>,
    #[napi(ts_arg_type = "Buffer | undefined | null")] trusted: Option<Unknown<'_>>,
) -> napi::Result<VerifiedProfile, String> {
    let body = sync_arg::<Buffer>(body, "body")?;
    let trusted = sync_opt_arg::<Buffer>(trusted, "trusted")?;
    let verified = mdmkit_core::profile::verify(&body, trusted.as_deref()).map_err(core)?;
    Ok(VerifiedProfile {
        profile: profile_info(&verified.profile)?,
        signer_subject: verified.signer_subject,
        signer_certificate: verified.signer_der.into(),
    })
}
