//! The enrollment profile: the MDM payload, the device identity (PKCS#12) and the device
//! CA's root certificate, built from core's typed payloads.

use mdmkit_core::profile::payloads::{
    Mdm, MdmServerCapabilitiesItem, SecurityPkcs12, SecurityRoot,
};
use mdmkit_core::profile::{Payload, Profile};
use mdmkit_core::Data;

use crate::ca::IssuedIdentity;
use crate::{Error, Result};

/// Every MDM access right (AccessRights bit mask 1 through 4096).
pub const ALL_ACCESS_RIGHTS: i64 = 8191;

/// What every enrollment profile of a server has in common.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct EnrollmentProfileSettings {
    /// The profile's PayloadIdentifier (what the engine's `retire` removes).
    pub identifier: String,
    /// The organization shown on the device.
    pub organization: String,
    /// The command endpoint (`ServerURL`), https.
    pub server_url: String,
    /// The check-in endpoint (`CheckInURL`); `None` sends check-ins to `ServerURL`.
    pub check_in_url: Option<String>,
    /// The push topic of the registered push certificate (`Topic`).
    pub topic: String,
    /// `AccessRights` bit mask.
    pub access_rights: i64,
    /// `SignMessage`: the device signs every message with its identity (`Mdm-Signature`).
    pub sign_message: bool,
    /// `CheckOutWhenRemoved`.
    pub check_out_when_removed: bool,
    /// `ServerCapabilities`.
    pub server_capabilities: Vec<MdmServerCapabilitiesItem>,
}

impl EnrollmentProfileSettings {
    /// Settings with every access right, signed messages, check-out on removal and the
    /// per-user-connections and bootstrap-token capabilities.
    pub fn new(
        identifier: impl Into<String>,
        server_url: impl Into<String>,
        topic: impl Into<String>,
    ) -> Self {
        Self {
            identifier: identifier.into(),
            organization: "mdmkit".into(),
            server_url: server_url.into(),
            check_in_url: None,
            topic: topic.into(),
            access_rights: ALL_ACCESS_RIGHTS,
            sign_message: true,
            check_out_when_removed: true,
            server_capabilities: vec![
                MdmServerCapabilitiesItem::ComAppleMdmPerUserConnections,
                MdmServerCapabilitiesItem::ComAppleMdmBootstraptoken,
            ],
        }
    }

    /// Sets the `CheckInURL`.
    pub fn with_check_in_url(mut self, url: impl Into<String>) -> Self {
        self.check_in_url = Some(url.into());
        self
    }

    /// Sets the organization shown on the device.
    pub fn with_organization(mut self, organization: impl Into<String>) -> Self {
        self.organization = organization.into();
        self
    }

    fn check(&self) -> Result<()> {
        for (name, url) in [
            ("ServerURL", Some(&self.server_url)),
            ("CheckInURL", self.check_in_url.as_ref()),
        ] {
            if let Some(url) = url {
                if !url.starts_with("https://") || url.len() <= "https://".len() {
                    return Err(Error::InvalidInput(format!(
                        "{name} must be an https URL: {url}"
                    )));
                }
            }
        }
        if self.topic.is_empty() {
            return Err(Error::InvalidInput("empty push topic".into()));
        }
        if !(1..=ALL_ACCESS_RIGHTS).contains(&self.access_rights) {
            return Err(Error::InvalidInput(format!(
                "AccessRights {} is outside 1..=8191",
                self.access_rights
            )));
        }
        Ok(())
    }
}

/// Builds the (unsigned) enrollment profile for one device: the MDM payload referring to
/// the identity payload, the identity and the CA root. The profile is validated against
/// Apple's schema before it is returned.
pub fn enrollment_profile(
    settings: &EnrollmentProfileSettings,
    identity: &IssuedIdentity,
    ca_certificate_der: &[u8],
) -> Result<Profile> {
    settings.check()?;
    let password = identity
        .password
        .expose_str()
        .ok_or_else(|| Error::Certificate("PKCS#12 password is not UTF-8".into()))?;
    let identity_payload = Payload::new(
        format!("{}.identity", settings.identifier),
        SecurityPkcs12::new(Data::new(identity.pkcs12.expose().to_vec()))
            .with_password(password)
            .with_payload_certificate_file_name("identity.p12"),
    )
    .with_display_name("Device identity");
    let root_payload = Payload::new(
        format!("{}.ca", settings.identifier),
        SecurityRoot::new(Data::new(ca_certificate_der.to_vec()))
            .with_payload_certificate_file_name("device-ca.cer"),
    )
    .with_display_name("Device CA");

    let mut mdm = Mdm::new(
        identity_payload.common.uuid.clone(),
        settings.topic.clone(),
        settings.server_url.clone(),
    )
    .with_sign_message(settings.sign_message)
    .with_access_rights(settings.access_rights);
    if let Some(url) = &settings.check_in_url {
        mdm = mdm.with_check_in_url(url.clone());
    }
    mdm.check_out_when_removed = Some(settings.check_out_when_removed);
    if !settings.server_capabilities.is_empty() {
        mdm.server_capabilities = Some(settings.server_capabilities.clone());
    }
    let mdm_payload = Payload::new(format!("{}.mdm", settings.identifier), mdm)
        .with_display_name("Device management");

    let profile = Profile::new(settings.identifier.clone())
        .with_display_name(format!("{} device management", settings.organization))
        .with_organization(settings.organization.clone())
        .with_payload(mdm_payload)
        .with_payload(identity_payload)
        .with_payload(root_payload);
    profile.validate()?;
    Ok(profile)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DeviceCa;

    #[test]
    fn bad_settings_are_refused_before_anything_is_built() {
        let ca = DeviceCa::generate("CA", 30).unwrap();
        let identity = ca.issue("device").unwrap();
        let root = ca.certificate_der().unwrap();
        let good =
            EnrollmentProfileSettings::new("com.example.mdm", "https://mdm.example.com", "topic");
        assert!(enrollment_profile(&good, &identity, &root).is_ok());
        let http =
            EnrollmentProfileSettings::new("com.example.mdm", "http://mdm.example.com", "topic");
        let bad_check_in = good.clone().with_check_in_url("ftp://x");
        let no_topic =
            EnrollmentProfileSettings::new("com.example.mdm", "https://mdm.example.com", "");
        let mut rights = good.clone();
        rights.access_rights = 0;
        for settings in [http, bad_check_in, no_topic, rights] {
            let error = enrollment_profile(&settings, &identity, &root).unwrap_err();
            assert_eq!(error.code(), "invalid_input", "{settings:?}");
        }
    }
}
