//! Enrollment through the service: `init` (the device CA and the public URLs), enrollment
//! links and the profiles they serve, invitations.

use std::sync::Arc;
use std::time::Duration;

use mdmkit_apns::SmtpNotifier;
use mdmkit_core::notify::Notifier;
use mdmkit_core::profile::SigningIdentity;
use mdmkit_enrollment::{
    DeviceCa, Enroller, EnrollmentLinks, EnrollmentProfileSettings, Invitation, Invitations,
};
use serde::Serialize;
use time::OffsetDateTime;

use crate::settings::{self, Settings};
use crate::{Error, Mdm, Result};

/// How long a device CA made by `init` is valid.
pub const DEVICE_CA_VALIDITY_DAYS: u32 = 3650;

/// What `mdmkit init` records. Every field left `None` keeps the stored value.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct InitOptions {
    /// The public base URL of the server (`https://mdm.example.com`): the MDM endpoint is
    /// `<base>/mdm`, the enrollment link `<base>/enroll`, the portal `<base>/portal`, the
    /// console `<base>/console`, unless set one by one.
    pub base_url: Option<String>,
    /// The enrollment profile's PayloadIdentifier.
    pub enrollment_profile_id: Option<String>,
    /// The organisation's name.
    pub organisation: Option<String>,
    /// The administrators' address for expiry notices.
    pub admin_email: Option<String>,
    /// The SMTP server URL (`smtp[s]://[user:password@]host[:port]`).
    pub smtp_url: Option<String>,
    /// The sender address.
    pub smtp_from: Option<String>,
    /// An existing device CA to import (certificate PEM, key PEM); `None` makes one when
    /// none is stored.
    pub device_ca: Option<(Vec<u8>, Vec<u8>)>,
}

/// What `init` did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct InitReport {
    /// `created`, `imported` or `kept` (a device CA was already stored).
    pub device_ca: String,
    /// The device CA's subject.
    pub device_ca_subject: String,
    /// The settings written.
    pub written: Vec<String>,
}

/// An enrollment link for a user: the URL to open on the device, once, before it expires.
#[derive(Clone, Serialize)]
#[non_exhaustive]
pub struct EnrollmentLink {
    /// The URL (carries the one-time token: treat it as a secret).
    pub url: String,
    /// The user the device will belong to.
    pub user_id: String,
    /// When it stops working (UTC).
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

impl std::fmt::Debug for EnrollmentLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EnrollmentLink")
            .field("user_id", &self.user_id)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// A device's enrollment profile, as `GET /enroll?token=…` serves it.
#[derive(Clone)]
#[non_exhaustive]
pub struct EnrollmentProfile {
    /// The profile (`application/x-apple-aspen-config`): signed CMS (DER), or XML when
    /// [`ProfileRequest::unsigned`] asked for it.
    pub profile: Vec<u8>,
    /// The user the device will belong to.
    pub user_id: String,
    /// Whether `profile` is signed.
    pub signed: bool,
    /// Lowercase hex SHA-256 of the device identity's certificate when the device CA
    /// issued it; `None` with SCEP (the device is not bound to the user automatically).
    pub identity_sha256: Option<String>,
}

/// An enrollment profile made at once for a user ([`Enrollment::issue_profile`]): every
/// field left unset comes from the stored settings (`mdmkit init`), so these are the
/// overrides of `mdmkit enroll profile`'s flags.
#[derive(Clone, Default)]
#[non_exhaustive]
pub struct ProfileRequest {
    /// The device CA's certificate and unencrypted key (PEM), instead of the stored one.
    pub device_ca: Option<(Vec<u8>, Vec<u8>)>,
    /// The MDM endpoint (ServerURL), instead of `server_url`.
    pub server_url: Option<String>,
    /// The check-in endpoint (CheckInURL), instead of `checkin_url`.
    pub check_in_url: Option<String>,
    /// The push topic, instead of the installed push certificate's.
    pub topic: Option<String>,
    /// The profile's PayloadIdentifier, instead of `enrollment_profile_id`.
    pub identifier: Option<String>,
    /// A signer's certificate (PEM or DER) and unencrypted key (PEM or DER); without it
    /// the profile is signed with the device CA (when there is one).
    pub signer: Option<(Vec<u8>, Vec<u8>)>,
    /// Write the profile unsigned (XML) when no signer is given.
    pub unsigned: bool,
    /// The identity from an external SCEP server instead of the device CA.
    pub scep: Option<ScepRequest>,
}

impl std::fmt::Debug for ProfileRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProfileRequest")
            .field("server_url", &self.server_url)
            .field("topic", &self.topic)
            .field("identifier", &self.identifier)
            .field("unsigned", &self.unsigned)
            .field("scep", &self.scep.is_some())
            .finish_non_exhaustive()
    }
}

/// A SCEP payload for [`ProfileRequest::scep`]: the device gets its identity from an
/// external SCEP server.
#[derive(Clone, Default)]
#[non_exhaustive]
pub struct ScepRequest {
    /// The SCEP server's URL.
    pub url: String,
    /// The external CA's root certificate (PEM or DER), installed by the profile.
    pub ca_certificate: Vec<u8>,
    /// The challenge (a secret).
    pub challenge: Option<String>,
    /// The subject, attribute and value in order; empty: `CN` = the user id.
    pub subject: Vec<(String, String)>,
    /// The RSA key size (2048 or 4096; 0: 2048).
    pub key_size: u32,
    /// Key Usage: 1 (signing) or 5 (signing and encryption; 0: 5).
    pub key_usage: i64,
    /// The CA name the SCEP server expects.
    pub name: Option<String>,
}

impl ScepRequest {
    /// A SCEP payload for `url`, with the external CA's root certificate.
    pub fn new(url: impl Into<String>, ca_certificate: Vec<u8>) -> Self {
        Self {
            url: url.into(),
            ca_certificate,
            ..Self::default()
        }
    }
}

impl From<mdmkit_enrollment::SignedEnrollment> for EnrollmentProfile {
    fn from(signed: mdmkit_enrollment::SignedEnrollment) -> Self {
        Self {
            profile: signed.profile,
            user_id: signed.user_id,
            signed: signed.signed,
            identity_sha256: signed.identity_sha256,
        }
    }
}

impl std::fmt::Debug for EnrollmentProfile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EnrollmentProfile")
            .field("user_id", &self.user_id)
            .field("profile", &format_args!("<{} bytes>", self.profile.len()))
            .finish()
    }
}

/// An invitation that was sent (or, without SMTP, made and returned for the caller to
/// deliver).
#[derive(Clone)]
#[non_exhaustive]
pub struct InvitationReport {
    /// The invitation.
    pub invitation: Invitation,
    /// The portal link (sets the first password); secret.
    pub portal_link: String,
    /// The registration link (enrolls one device); secret.
    pub registration_link: String,
    /// Whether it was e-mailed (SMTP configured).
    pub sent: bool,
}

impl std::fmt::Debug for InvitationReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InvitationReport")
            .field("invitation", &self.invitation)
            .field("sent", &self.sent)
            .finish_non_exhaustive()
    }
}

/// Enrollment of a deployment (`Mdm::enrollment`).
#[derive(Debug, Clone)]
pub struct Enrollment {
    mdm: Mdm,
}

impl Enrollment {
    pub(crate) fn new(mdm: Mdm) -> Self {
        Self { mdm }
    }

    pub(crate) fn store(&self) -> &mdmkit_core::store::SharedStore {
        self.mdm.store()
    }

    /// Who the audit log names for what is done through this handle.
    pub(crate) fn actor(&self) -> &str {
        self.mdm.actor()
    }

    /// Records the device CA (made, imported, or kept) and the public URLs and names:
    /// after it no command needs `--device-ca`, `--server-url` or
    /// `--enrollment-profile-id`. Open the store again to use the new settings.
    pub async fn init(&self, options: InitOptions) -> Result<InitReport> {
        init(&self.mdm.settings(), options).await
    }

    /// The device CA's certificate (PEM).
    pub async fn device_ca_pem(&self) -> Result<String> {
        self.mdm
            .settings()
            .require(settings::DEVICE_CA_CERTIFICATE)
            .await
    }

    /// A one-time enrollment link for a portal user, valid for `ttl`.
    pub async fn create_link(&self, user_id: &str, ttl: Duration) -> Result<EnrollmentLink> {
        let settings = self.mdm.settings();
        let base = settings.require(settings::ENROLLMENT_URL).await?;
        let enroller = self.enroller().await?;
        let issued = enroller.create_token(user_id, ttl).await?;
        let token = issued.value.expose_str().unwrap_or_default();
        Ok(EnrollmentLink {
            url: link_with_token(&base, token),
            user_id: issued.record.user_id.clone(),
            expires_at: issued.record.expires_at.unwrap_or(issued.record.created_at),
        })
    }

    /// Redeems an enrollment link's token: the signed enrollment profile for its user. The
    /// token is spent only when the profile was built; a used, expired or unknown token is
    /// `token_invalid`.
    pub async fn enroll(&self, token: &str) -> Result<EnrollmentProfile> {
        let signed = self.enroller().await?.enroll(token).await?;
        Ok(signed.into())
    }

    /// An enrollment profile for `user_id` made at once, by the same path as an
    /// enrollment link (a one-minute token redeemed at once), with `request` overriding
    /// the stored settings. The profile holds the device identity's PKCS#12 and its
    /// password: write it to a file only its owner reads.
    pub async fn issue_profile(
        &self,
        user_id: &str,
        request: &ProfileRequest,
    ) -> Result<EnrollmentProfile> {
        let enroller = self.enroller_with(user_id, request).await?;
        let token = enroller
            .create_token(user_id, Duration::from_secs(60))
            .await?;
        let value = token.value.expose_str().unwrap_or_default().to_owned();
        Ok(enroller.enroll(&value).await?.into())
    }

    /// Invites a portal user (created when new) by e-mail: a portal link that sets the first
    /// password and a registration link that enrolls one device, valid for `ttl`. Without
    /// SMTP settings the links are returned, not sent (`sent: false`).
    pub async fn invite(
        &self,
        user_id: &str,
        email: &str,
        ttl: Duration,
    ) -> Result<InvitationReport> {
        let (invitations, sent) = self.invitations().await?;
        let made = invitations.invite(user_id, email, ttl).await?;
        Ok(InvitationReport {
            invitation: made.invitation,
            portal_link: made.portal_link.expose_str().unwrap_or_default().to_owned(),
            registration_link: made
                .registration_link
                .expose_str()
                .unwrap_or_default()
                .to_owned(),
            sent,
        })
    }

    /// Invitations, optionally of one user, newest first.
    pub async fn invitations_list(&self, user_id: Option<&str>) -> Result<Vec<Invitation>> {
        Ok(mdmkit_enrollment::list_invitations(self.mdm.store(), user_id).await?)
    }

    /// Revokes an invitation (both its links); returns whether it existed. Audited with
    /// the handle's actor ([`Mdm::acting_as`](crate::Mdm::acting_as)).
    pub async fn revoke_invitation(&self, id: &str) -> Result<bool> {
        Ok(mdmkit_enrollment::revoke_invitation_as(self.mdm.store(), self.mdm.actor(), id).await?)
    }

    pub(crate) async fn invitations(&self) -> Result<(Invitations, bool)> {
        let settings = self.mdm.settings();
        let links = links(&settings).await?;
        let (notifier, sent): (Arc<dyn Notifier>, bool) = match notifier(&settings).await? {
            Some(notifier) => (notifier, true),
            None => (Arc::new(Unsent), false),
        };
        Ok((
            Invitations::new(self.mdm.store().clone(), notifier, links)
                .with_actor(self.mdm.actor()),
            sent,
        ))
    }

    /// The enroller for the stored settings: the device CA issues identities, the profile
    /// names the server URL, the topic of the installed push certificate, and is signed
    /// with the device CA.
    async fn enroller(&self) -> Result<Enroller> {
        self.enroller_with("", &ProfileRequest::default()).await
    }

    /// The enroller for the stored settings with `request`'s overrides (`user_id` names
    /// the default SCEP subject).
    async fn enroller_with(&self, user_id: &str, request: &ProfileRequest) -> Result<Enroller> {
        let settings = self.mdm.settings();
        // The device CA: given, stored, or none (SCEP without a signer of its own).
        let device_ca = match &request.device_ca {
            Some((certificate, key)) => Some((certificate.clone(), key.clone())),
            None => match (
                settings.get(settings::DEVICE_CA_CERTIFICATE).await?,
                settings.secret(settings::DEVICE_CA_KEY).await?,
            ) {
                (Some(certificate), Some(key)) => {
                    Some((certificate.into_bytes(), key.expose().to_vec()))
                }
                _ if request.scep.is_some() => None,
                (None, _) => return Err(settings::missing(settings::DEVICE_CA_CERTIFICATE)),
                (Some(_), None) => return Err(settings::missing(settings::DEVICE_CA_KEY)),
            },
        };
        let topic = match &request.topic {
            Some(topic) => topic.clone(),
            None => self.mdm.push_certs().topic().await?,
        };
        let identifier = match &request.identifier {
            Some(identifier) => identifier.clone(),
            None => settings.require(settings::ENROLLMENT_PROFILE_ID).await?,
        };
        let server_url = match &request.server_url {
            Some(url) => url.clone(),
            None => settings.require(settings::SERVER_URL).await?,
        };
        let mut profile = EnrollmentProfileSettings::new(identifier, server_url, topic);
        let check_in_url = match &request.check_in_url {
            Some(url) => Some(url.clone()),
            None => settings.get(settings::CHECKIN_URL).await?,
        };
        if let Some(url) = check_in_url {
            profile = profile.with_check_in_url(url);
        }
        if let Some(name) = settings.get(settings::ORGANISATION).await? {
            profile = profile.with_organization(name);
        }
        let signer = match (&request.signer, &device_ca) {
            (Some((certificate, key)), _) => Some(Arc::new(SigningIdentity::from_bytes(
                certificate,
                key,
                None,
            )?)),
            (None, _) if request.unsigned => None,
            (None, Some((certificate, key))) => Some(Arc::new(SigningIdentity::from_bytes(
                certificate,
                key,
                None,
            )?)),
            (None, None) => None,
        };
        let store = self.mdm.store().clone();
        if let Some(scep) = &request.scep {
            let mut subject = scep.subject.clone();
            if subject.is_empty() {
                subject.push(("CN".to_owned(), user_id.to_owned()));
            }
            let mut scep_settings = mdmkit_enrollment::ScepSettings::new(
                scep.url.clone(),
                subject,
                mdmkit_enrollment::certificate_der(&scep.ca_certificate)?,
            )
            .with_key_size(if scep.key_size == 0 {
                2048
            } else {
                scep.key_size
            })
            .with_key_usage(if scep.key_usage == 0 {
                5
            } else {
                scep.key_usage
            });
            if let Some(challenge) = &scep.challenge {
                scep_settings =
                    scep_settings.with_challenge(mdmkit_core::Secret::from(challenge.clone()));
            }
            if let Some(name) = &scep.name {
                scep_settings = scep_settings.with_name(name.clone());
            }
            return Ok(Enroller::scep(
                store,
                profile.with_scep(scep_settings),
                signer,
            )?);
        }
        let (certificate, key) =
            device_ca.ok_or_else(|| settings::missing(settings::DEVICE_CA_CERTIFICATE))?;
        let ca = DeviceCa::from_pem(&certificate, &key)?;
        Ok(Enroller::new(store, Arc::new(ca), profile, signer))
    }
}

/// The portal and registration links' bases of the stored settings.
pub(crate) async fn links(settings: &Settings) -> Result<EnrollmentLinks> {
    Ok(EnrollmentLinks::new(
        settings.require(settings::PORTAL_URL).await?,
        settings.require(settings::ENROLLMENT_URL).await?,
    )?)
}

/// The SMTP notifier of the stored settings, when `smtp_url` and `smtp_from` are set.
pub(crate) async fn notifier(settings: &Settings) -> Result<Option<Arc<dyn Notifier>>> {
    let Some(url) = settings.secret(settings::SMTP_URL).await? else {
        return Ok(None);
    };
    let from = settings.require(settings::SMTP_FROM).await?;
    let url = url
        .expose_str()
        .ok_or_else(|| Error::input("the SMTP URL is not text"))?;
    let notifier = match settings.get(settings::SMTP_CA).await? {
        Some(ca) => SmtpNotifier::with_root_certificate(url, &from, ca.as_bytes())?,
        None => SmtpNotifier::new(url, &from)?,
    };
    Ok(Some(Arc::new(notifier)))
}

/// Accepts every message without sending it: invitations made without SMTP settings are
/// returned to the caller, who delivers the links.
struct Unsent;

#[async_trait::async_trait]
impl Notifier for Unsent {
    async fn send(
        &self,
        _message: mdmkit_core::notify::EmailMessage,
    ) -> std::result::Result<(), mdmkit_core::Error> {
        Ok(())
    }
}

fn link_with_token(base: &str, token: &str) -> String {
    let separator = if base.contains('?') { '&' } else { '?' };
    format!("{base}{separator}token={token}")
}

/// `init` over a store's settings.
pub(crate) async fn init(settings: &Settings, options: InitOptions) -> Result<InitReport> {
    let mut written = Vec::new();
    let put = |name: &'static str, value: Option<String>| value.map(|value| (name, value));
    let base = options
        .base_url
        .as_deref()
        .map(|url| url.trim_end_matches('/').to_owned());
    let mut values: Vec<(&'static str, String)> = Vec::new();
    if let Some(base) = &base {
        values.push((settings::SERVER_URL, format!("{base}/mdm")));
        values.push((settings::ENROLLMENT_URL, format!("{base}/enroll")));
        values.push((settings::PORTAL_URL, format!("{base}/portal")));
        values.push((settings::CONSOLE_URL, format!("{base}/console")));
    }
    values.extend(put(
        settings::ENROLLMENT_PROFILE_ID,
        options.enrollment_profile_id,
    ));
    values.extend(put(settings::ORGANISATION, options.organisation));
    values.extend(put(settings::ADMIN_EMAIL, options.admin_email));
    values.extend(put(settings::SMTP_URL, options.smtp_url));
    values.extend(put(settings::SMTP_FROM, options.smtp_from));
    // Check every value before writing any: a refused value leaves the store as it was.
    for (name, value) in &values {
        settings::check_value(settings::spec(name)?, value)?;
    }
    let (device_ca, subject) = match options.device_ca {
        Some((certificate, key)) => {
            let ca = DeviceCa::from_pem(&certificate, &key)?;
            let certificate = String::from_utf8(ca.certificate_pem()?)
                .map_err(|_| Error::input("the device CA certificate is not PEM text"))?;
            let key = ca.private_key_pem()?;
            let key = key
                .expose_str()
                .ok_or_else(|| Error::input("the device CA key is not PEM text"))?
                .to_owned();
            values.push((settings::DEVICE_CA_CERTIFICATE, certificate));
            values.push((settings::DEVICE_CA_KEY, key));
            ("imported", subject_of(&ca)?)
        }
        None => match settings.get(settings::DEVICE_CA_CERTIFICATE).await? {
            Some(pem) => ("kept", subject_of_pem(pem.as_bytes())?),
            None => {
                let organisation = values
                    .iter()
                    .find(|(name, _)| *name == settings::ORGANISATION)
                    .map(|(_, value)| value.clone())
                    .or(settings.get(settings::ORGANISATION).await?)
                    .unwrap_or_else(|| "mdmkit".to_owned());
                let ca = DeviceCa::generate(
                    &format!("{organisation} device CA"),
                    DEVICE_CA_VALIDITY_DAYS,
                )?;
                let certificate = String::from_utf8(ca.certificate_pem()?)
                    .map_err(|_| Error::input("the device CA certificate is not PEM text"))?;
                let key = ca.private_key_pem()?;
                let key = key
                    .expose_str()
                    .ok_or_else(|| Error::input("the device CA key is not PEM text"))?
                    .to_owned();
                values.push((settings::DEVICE_CA_CERTIFICATE, certificate));
                values.push((settings::DEVICE_CA_KEY, key));
                ("created", subject_of(&ca)?)
            }
        },
    };
    for (name, value) in values {
        settings.set(name, &value).await?;
        written.push(name.to_owned());
    }
    Ok(InitReport {
        device_ca: device_ca.to_owned(),
        device_ca_subject: subject,
        written,
    })
}

fn subject_of(ca: &DeviceCa) -> Result<String> {
    subject_of_pem(&ca.certificate_pem()?)
}

fn subject_of_pem(pem: &[u8]) -> Result<String> {
    let certificate = openssl::x509::X509::from_pem(pem)
        .map_err(|e| Error::input(format!("the device CA certificate: {e}")))?;
    Ok(certificate
        .subject_name()
        .entries()
        .filter_map(|entry| entry.data().to_string().ok())
        .collect::<Vec<_>>()
        .join(", "))
}
