//! The server's settings, kept in the store: what `mdmkit init` records and every process
//! on the store (the server, the CLI, a binding) runs from, so that no command needs
//! `--device-ca`, `--server-url` or `--enrollment-profile-id` again.

use std::collections::BTreeMap;
use std::sync::Arc;

use mdmkit_core::store::{SettingValue, SharedStore};
use mdmkit_core::Secret;
use serde::Serialize;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::{Error, Result};

/// What a setting holds, and so how a value given as text is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum SettingKind {
    /// An `https://` URL (or `http://` to a loopback address, for tests and demos).
    Url,
    /// One line of text.
    Text,
    /// An e-mail address.
    Email,
    /// An `smtp://` or `smtps://` URL, which may carry `user:password@`: secret.
    SmtpUrl,
    /// A PEM certificate (or several).
    CertificatePem,
    /// A PEM private key: secret.
    PrivateKeyPem,
    /// A whole number of hours, 1 to 8760 (a year).
    Hours,
    /// Named expiry dates, comma-separated `NAME=RFC 3339 time` pairs
    /// (`school=2027-03-01T00:00:00Z, office=2027-06-30T00:00:00Z`).
    ExpiryList,
}

impl SettingKind {
    /// Whether values of this kind are secret (sealed at rest, never shown).
    pub fn is_secret(self) -> bool {
        matches!(self, SettingKind::PrivateKeyPem | SettingKind::SmtpUrl)
    }
}

/// One setting the service knows: its name, what it holds and what it is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SettingSpec {
    /// The name, as `mdmkit settings set NAME VALUE` takes it.
    pub name: &'static str,
    /// What it holds.
    pub kind: SettingKind,
    /// What it is for (one line).
    pub description: &'static str,
}

/// `ServerURL`: the command endpoint devices are enrolled with.
pub const SERVER_URL: &str = "server_url";
/// `CheckInURL`: the check-in endpoint (unset: check-ins go to the server URL).
pub const CHECKIN_URL: &str = "checkin_url";
/// The self-service portal's public URL (invitations link to it).
pub const PORTAL_URL: &str = "portal_url";
/// The public URL of the enrollment link (`.../enroll`; invitations link to it).
pub const ENROLLMENT_URL: &str = "enrollment_url";
/// The administrators' console URL (expiry notices link to it).
pub const CONSOLE_URL: &str = "console_url";
/// The enrollment profile's PayloadIdentifier (what `retire` removes).
pub const ENROLLMENT_PROFILE_ID: &str = "enrollment_profile_id";
/// The organisation's name (enrollment profiles, notices, the portal).
pub const ORGANISATION: &str = "organisation";
/// Where expiry notices go: the administrators' address.
pub const ADMIN_EMAIL: &str = "admin_email";
/// The SMTP server notices and invitations are sent through.
pub const SMTP_URL: &str = "smtp_url";
/// The sender address of notices and invitations.
pub const SMTP_FROM: &str = "smtp_from";
/// A PEM CA trusted for the SMTP server's certificate (a company mail server's own CA).
pub const SMTP_CA: &str = "smtp_ca";
/// The device CA's certificate (PEM): issues and authenticates device identities.
pub const DEVICE_CA_CERTIFICATE: &str = "device_ca_certificate";
/// The device CA's private key (PEM, secret).
pub const DEVICE_CA_KEY: &str = "device_ca_key";
/// A custom APNs endpoint, `https://host[:port]` (the mock server); unset: Apple's.
pub const APNS_ENDPOINT: &str = "apns_endpoint";
/// A PEM CA trusted for the custom APNs endpoint.
pub const APNS_SERVER_CA: &str = "apns_server_ca";

/// The MDM vendor certificate (PEM), watched for expiry on the dashboard and in the notices.
pub const VENDOR_CERTIFICATE: &str = "vendor_certificate";
/// ADE (Automated Device Enrollment) server tokens watched for expiry: `NAME=time` pairs
/// (see [`SettingKind::ExpiryList`]).
pub const ADE_TOKENS: &str = "ade_tokens";

/// How long a sign-in session lasts, in hours (unset: 12).
pub const SESSION_HOURS: &str = "session_hours";

/// Every setting the service knows, in the order `settings show` lists them.
pub const SETTINGS: &[SettingSpec] = &[
    SettingSpec {
        name: SERVER_URL,
        kind: SettingKind::Url,
        description: "ServerURL: the command endpoint devices are enrolled with",
    },
    SettingSpec {
        name: CHECKIN_URL,
        kind: SettingKind::Url,
        description: "CheckInURL: the check-in endpoint (unset: the server URL)",
    },
    SettingSpec {
        name: PORTAL_URL,
        kind: SettingKind::Url,
        description: "the self-service portal's public URL",
    },
    SettingSpec {
        name: ENROLLMENT_URL,
        kind: SettingKind::Url,
        description: "the public URL of the enrollment link (/enroll)",
    },
    SettingSpec {
        name: CONSOLE_URL,
        kind: SettingKind::Url,
        description: "the administrators' console URL (in expiry notices)",
    },
    SettingSpec {
        name: ENROLLMENT_PROFILE_ID,
        kind: SettingKind::Text,
        description: "the enrollment profile's PayloadIdentifier",
    },
    SettingSpec {
        name: ORGANISATION,
        kind: SettingKind::Text,
        description: "the organisation's name",
    },
    SettingSpec {
        name: ADMIN_EMAIL,
        kind: SettingKind::Email,
        description: "the administrators' address for expiry notices",
    },
    SettingSpec {
        name: SMTP_URL,
        kind: SettingKind::SmtpUrl,
        description: "the SMTP server: smtp[s]://[user:password@]host[:port]",
    },
    SettingSpec {
        name: SMTP_FROM,
        kind: SettingKind::Email,
        description: "the sender of notices and invitations",
    },
    SettingSpec {
        name: SMTP_CA,
        kind: SettingKind::CertificatePem,
        description: "a CA trusted for the SMTP server (PEM)",
    },
    SettingSpec {
        name: DEVICE_CA_CERTIFICATE,
        kind: SettingKind::CertificatePem,
        description: "the device CA's certificate (PEM)",
    },
    SettingSpec {
        name: DEVICE_CA_KEY,
        kind: SettingKind::PrivateKeyPem,
        description: "the device CA's private key (PEM)",
    },
    SettingSpec {
        name: APNS_ENDPOINT,
        kind: SettingKind::Url,
        description: "a custom APNs endpoint (unset: Apple's)",
    },
    SettingSpec {
        name: APNS_SERVER_CA,
        kind: SettingKind::CertificatePem,
        description: "a CA trusted for the custom APNs endpoint (PEM)",
    },
    SettingSpec {
        name: VENDOR_CERTIFICATE,
        kind: SettingKind::CertificatePem,
        description: "the MDM vendor certificate (PEM), watched for expiry",
    },
    SettingSpec {
        name: ADE_TOKENS,
        kind: SettingKind::ExpiryList,
        description: "ADE server tokens watched for expiry: NAME=2027-03-01T00:00:00Z, ...",
    },
    SettingSpec {
        name: SESSION_HOURS,
        kind: SettingKind::Hours,
        description: "how long a portal or administrator sign-in lasts, in hours (unset: 12)",
    },
];

/// The largest value of an [`SettingKind::Hours`] setting: a year.
pub const MAX_HOURS: u32 = 8760;

/// The spec of a known setting.
pub fn spec(name: &str) -> Result<&'static SettingSpec> {
    SETTINGS
        .iter()
        .find(|spec| spec.name == name)
        .ok_or_else(|| Error::InvalidSetting {
            name: name.to_owned(),
            reason: format!(
                "unknown setting; known: {}",
                SETTINGS
                    .iter()
                    .map(|spec| spec.name)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        })
}

/// One setting as `settings show` lists it: secrets are never shown, only whether set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct SettingEntry {
    /// The name.
    pub name: String,
    /// What it holds.
    pub kind: SettingKind,
    /// What it is for.
    pub description: String,
    /// Whether it is secret.
    pub secret: bool,
    /// Whether it is set.
    pub is_set: bool,
    /// Its value; `None` when unset or secret.
    pub value: Option<String>,
}

/// The settings of a store (`Mdm::settings`), with the overrides the handle was opened
/// with (command-line flags): an override wins over the stored value and is never stored.
#[derive(Clone)]
pub struct Settings {
    store: SharedStore,
    overrides: Arc<BTreeMap<String, String>>,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings").finish_non_exhaustive()
    }
}

impl Settings {
    pub(crate) fn with_overrides(
        store: SharedStore,
        overrides: BTreeMap<String, String>,
    ) -> Result<Self> {
        for (name, value) in &overrides {
            check_value(spec(name)?, value)?;
        }
        Ok(Self {
            store,
            overrides: Arc::new(overrides),
        })
    }

    async fn effective(&self, name: &str) -> Result<Option<SettingValue>> {
        if let Some(value) = self.overrides.get(name) {
            return Ok(Some(if spec(name)?.kind.is_secret() {
                SettingValue::Secret(Secret::new(value.as_bytes().to_vec()))
            } else {
                SettingValue::Plain(value.clone())
            }));
        }
        Ok(self.store.get_setting(name).await?)
    }

    /// Every known setting, set or not, in [`SETTINGS`] order.
    pub async fn list(&self) -> Result<Vec<SettingEntry>> {
        let mut stored = self.store.list_settings().await?;
        for (name, value) in self.overrides.iter() {
            stored.retain(|(stored_name, _)| stored_name != name);
            stored.push((name.clone(), SettingValue::Plain(value.clone())));
        }
        Ok(SETTINGS
            .iter()
            .map(|spec| {
                let value = stored
                    .iter()
                    .find(|(name, _)| name == spec.name)
                    .map(|(_, v)| v);
                SettingEntry {
                    name: spec.name.to_owned(),
                    kind: spec.kind,
                    description: spec.description.to_owned(),
                    secret: spec.kind.is_secret(),
                    is_set: value.is_some(),
                    value: value
                        .filter(|_| !spec.kind.is_secret())
                        .and_then(SettingValue::as_plain)
                        .map(str::to_owned),
                }
            })
            .collect())
    }

    /// A plain setting's value (`None` when unset). A secret setting is refused: read it
    /// with [`Settings::secret`].
    pub async fn get(&self, name: &str) -> Result<Option<String>> {
        let spec = spec(name)?;
        if spec.kind.is_secret() {
            return Err(Error::InvalidSetting {
                name: name.to_owned(),
                reason: "a secret setting is never shown".into(),
            });
        }
        Ok(self
            .effective(name)
            .await?
            .and_then(|value| value.as_plain().map(str::to_owned)))
    }

    /// A secret setting's value (`None` when unset).
    pub async fn secret(&self, name: &str) -> Result<Option<Secret>> {
        spec(name)?;
        Ok(self
            .effective(name)
            .await?
            .and_then(|value| value.as_secret().cloned()))
    }

    /// A plain setting's value, or [`Error::SettingMissing`] saying how to set it.
    pub async fn require(&self, name: &str) -> Result<String> {
        self.get(name).await?.ok_or_else(|| missing(name))
    }

    /// A secret setting's value, or [`Error::SettingMissing`] saying how to set it.
    pub async fn require_secret(&self, name: &str) -> Result<Secret> {
        self.secret(name).await?.ok_or_else(|| missing(name))
    }

    /// Checks `value` against the setting's kind and stores it (sealed when secret).
    pub async fn set(&self, name: &str, value: &str) -> Result<()> {
        let spec = spec(name)?;
        check_value(spec, value)?;
        let stored = if spec.kind.is_secret() {
            SettingValue::Secret(Secret::new(value.as_bytes().to_vec()))
        } else {
            SettingValue::Plain(value.to_owned())
        };
        Ok(self.store.put_setting(name, &stored).await?)
    }

    /// Removes a setting; returns whether it was set.
    pub async fn unset(&self, name: &str) -> Result<bool> {
        spec(name)?;
        Ok(self.store.delete_setting(name).await?)
    }
}

/// The error for a setting that is needed and absent: one line naming it and the command
/// that sets it.
pub fn missing(name: &str) -> Error {
    let how = match name {
        DEVICE_CA_CERTIFICATE | DEVICE_CA_KEY => {
            "run `mdmkit init` (it creates or imports the device CA)".to_owned()
        }
        _ => format!("set it with `mdmkit settings set {name} VALUE` (or `mdmkit init`)"),
    };
    Error::SettingMissing {
        name: name.to_owned(),
        hint: how,
    }
}

fn invalid(spec: &SettingSpec, reason: impl Into<String>) -> Error {
    Error::InvalidSetting {
        name: spec.name.to_owned(),
        reason: reason.into(),
    }
}

/// Reads an [`SettingKind::ExpiryList`] value: its `(name, end of validity)` pairs, or why
/// it cannot be read.
pub fn parse_expiry_list(
    value: &str,
) -> std::result::Result<Vec<(String, OffsetDateTime)>, String> {
    let mut entries: Vec<(String, OffsetDateTime)> = Vec::new();
    for item in value
        .split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
    {
        let (name, at) = item
            .split_once('=')
            .ok_or_else(|| format!("{item:?} is not NAME=2027-03-01T00:00:00Z"))?;
        let name = name.trim();
        if name.is_empty() || name.contains(['\r', '\n']) {
            return Err(format!("{item:?} has no name"));
        }
        let at = OffsetDateTime::parse(at.trim(), &Rfc3339).map_err(|_| {
            format!(
                "{:?} is not an RFC 3339 time such as 2027-03-01T00:00:00Z",
                at.trim()
            )
        })?;
        if entries.iter().any(|(seen, _)| seen == name) {
            return Err(format!("{name:?} is named twice"));
        }
        entries.push((name.to_owned(), at));
    }
    if entries.is_empty() {
        return Err("no NAME=time pair".into());
    }
    Ok(entries)
}

/// Whether `url`'s host is a loopback address (`http://` is accepted only there).
fn is_loopback_http(url: &str) -> bool {
    let rest = &url["http://".len()..];
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = host.rsplit_once('@').map_or(host, |(_, host)| host);
    let host = if let Some(stripped) = host.strip_prefix('[') {
        stripped.split(']').next().unwrap_or_default()
    } else {
        host.split(':').next().unwrap_or_default()
    };
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Checks a value given as text against its setting's kind.
pub fn check_value(spec: &SettingSpec, value: &str) -> Result<()> {
    if value.trim().is_empty() {
        return Err(invalid(
            spec,
            "the value is empty (use `settings unset` to remove it)",
        ));
    }
    let one_line = !value.contains(['\r', '\n']);
    match spec.kind {
        SettingKind::Url => {
            if !one_line || value.chars().any(char::is_whitespace) {
                return Err(invalid(spec, "a URL is one word"));
            }
            let https = value.starts_with("https://") && value.len() > "https://".len();
            if https || (value.starts_with("http://") && is_loopback_http(value)) {
                Ok(())
            } else {
                Err(invalid(
                    spec,
                    format!(
                        "{value:?} is not an https:// URL (http:// only to a loopback address)"
                    ),
                ))
            }
        }
        SettingKind::SmtpUrl => {
            if one_line && (value.starts_with("smtp://") || value.starts_with("smtps://")) {
                Ok(())
            } else {
                Err(invalid(
                    spec,
                    format!("{value:?} is not an smtp:// or smtps:// URL"),
                ))
            }
        }
        SettingKind::Text => {
            if one_line {
                Ok(())
            } else {
                Err(invalid(spec, "the value must be one line"))
            }
        }
        SettingKind::Email => {
            mdmkit_enrollment::check_email(value).map_err(|error| invalid(spec, error.to_string()))
        }
        SettingKind::ExpiryList => parse_expiry_list(value)
            .map(drop)
            .map_err(|reason| invalid(spec, reason)),
        SettingKind::Hours => match value.trim().parse::<u32>() {
            Ok(hours) if (1..=MAX_HOURS).contains(&hours) => Ok(()),
            _ => Err(invalid(
                spec,
                format!("{value:?} is not a whole number of hours from 1 to {MAX_HOURS}"),
            )),
        },
        SettingKind::CertificatePem => openssl::x509::X509::stack_from_pem(value.as_bytes())
            .ok()
            .filter(|certs| !certs.is_empty())
            .map(|_| ())
            .ok_or_else(|| invalid(spec, "not a PEM certificate")),
        SettingKind::PrivateKeyPem => openssl::pkey::PKey::private_key_from_pem(value.as_bytes())
            .map(|_| ())
            .map_err(|_| invalid(spec, "not a PEM private key (unencrypted)")),
    }
}
