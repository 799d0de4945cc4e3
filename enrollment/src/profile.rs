//! The enrollment profile: the MDM payload, the device identity (a PKCS#12 from the
//! built-in CA, or a SCEP payload for an external CA) and the CA's root certificate, built
//! from core's typed payloads.

use mdmkit_core::profile::payloads::{
    Mdm, MdmServerCapabilitiesItem, SecurityPkcs12, SecurityRoot, SecurityScep,
    SecurityScepPayloadContent,
};
use mdmkit_core::profile::{Payload, Profile};
use mdmkit_core::{Data, Secret};

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
    /// Where the device's identity certificate comes from.
    pub identity_source: IdentitySource,
}

/// Where an enrolling device's identity certificate comes from.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum IdentitySource {
    /// The built-in [`DeviceCa`](crate::DeviceCa) issues it; the profile carries it as a
    /// `com.apple.security.pkcs12` payload, and the enroller records its fingerprint so
    /// the device is bound to its user when it authenticates.
    #[default]
    BuiltInCa,
    /// The device requests it from an external SCEP server (`com.apple.security.scep`
    /// payload); the profile carries the external CA's root certificate.
    ///
    /// The certificate is made on the device, so the enroller cannot know its fingerprint
    /// and cannot bind the enrollment to the user: the application does it (for example
    /// from the certificate's subject, or by asking the user in the portal) with the
    /// store's `set_owner`. The engine must trust the external CA (`device_ca`).
    Scep(ScepSettings),
}

/// The SCEP payload of an enrollment profile using an external CA. `Debug` never shows
/// the challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ScepSettings {
    /// The SCEP server's URL (`URL`), http or https (SCEP protects its own messages).
    pub url: String,
    /// The CA name the SCEP server understands (`Name`), if it serves several.
    pub name: Option<String>,
    /// The pre-shared challenge (`Challenge`).
    pub challenge: Option<Secret>,
    /// The certificate subject (`Subject`) as (attribute, value) pairs in order, such as
    /// `("O", "Example")`, `("CN", "device")`; the attribute is a short name or a dotted
    /// OID. At least one.
    pub subject: Vec<(String, String)>,
    /// The RSA key size (`Keysize`): 2048 or 4096 (Apple also accepts 1024, which is too
    /// weak to offer).
    pub key_size: u32,
    /// `Key Usage`: a mask of [`KEY_USAGE_SIGNING`](Self::KEY_USAGE_SIGNING) and
    /// [`KEY_USAGE_ENCRYPTION`](Self::KEY_USAGE_ENCRYPTION); signing is required (the MDM
    /// identity signs TLS handshakes and messages).
    pub key_usage: i64,
    /// The CA certificate's fingerprint (`CAFingerprint`), as the SCEP server's CA hash.
    pub ca_fingerprint: Option<Vec<u8>>,
    /// The external CA's root certificate, DER: the profile's `com.apple.security.root`
    /// payload.
    pub ca_certificate_der: Vec<u8>,
}

impl ScepSettings {
    /// `Key Usage` bit: the key signs.
    pub const KEY_USAGE_SIGNING: i64 = 1;
    /// `Key Usage` bit: the key encrypts.
    pub const KEY_USAGE_ENCRYPTION: i64 = 4;
    /// Key sizes offered (`Keysize`).
    pub const KEY_SIZES: [u32; 2] = [2048, 4096];

    /// Settings for the SCEP server at `url` issuing under the CA whose root certificate
    /// (DER) is given, with this subject; RSA 2048, signing and encryption, no challenge.
    pub fn new(
        url: impl Into<String>,
        subject: Vec<(String, String)>,
        ca_certificate_der: Vec<u8>,
    ) -> Self {
        Self {
            url: url.into(),
            name: None,
            challenge: None,
            subject,
            key_size: 2048,
            key_usage: Self::KEY_USAGE_SIGNING | Self::KEY_USAGE_ENCRYPTION,
            ca_fingerprint: None,
            ca_certificate_der,
        }
    }

    /// Sets the challenge.
    pub fn with_challenge(mut self, challenge: Secret) -> Self {
        self.challenge = Some(challenge);
        self
    }

    /// Sets the CA name.
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Sets the key size.
    pub fn with_key_size(mut self, key_size: u32) -> Self {
        self.key_size = key_size;
        self
    }

    /// Sets the key usage mask.
    pub fn with_key_usage(mut self, key_usage: i64) -> Self {
        self.key_usage = key_usage;
        self
    }

    /// Sets the CA fingerprint.
    pub fn with_ca_fingerprint(mut self, fingerprint: Vec<u8>) -> Self {
        self.ca_fingerprint = Some(fingerprint);
        self
    }

    fn check(&self) -> Result<()> {
        let rest = self
            .url
            .strip_prefix("https://")
            .or_else(|| self.url.strip_prefix("http://"));
        let host = rest.map(|rest| rest.split(['/', '?', '#']).next().unwrap_or_default());
        if host.is_none_or(str::is_empty) || self.url.chars().any(char::is_whitespace) {
            return Err(Error::InvalidInput(format!(
                "SCEP URL must be an http or https URL: {}",
                self.url
            )));
        }
        if !Self::KEY_SIZES.contains(&self.key_size) {
            return Err(Error::InvalidInput(format!(
                "SCEP key size {} is not one of 2048, 4096",
                self.key_size
            )));
        }
        let all = Self::KEY_USAGE_SIGNING | Self::KEY_USAGE_ENCRYPTION;
        if self.key_usage & !all != 0 || self.key_usage & Self::KEY_USAGE_SIGNING == 0 {
            return Err(Error::InvalidInput(format!(
                "SCEP key usage {} must be 1 (signing) or 5 (signing and encryption)",
                self.key_usage
            )));
        }
        if self.subject.is_empty() {
            return Err(Error::InvalidInput("empty SCEP subject".into()));
        }
        for (attribute, value) in &self.subject {
            let short_name = attribute.chars().all(|c| c.is_ascii_alphabetic());
            let oid = attribute.split('.').count() > 1
                && attribute
                    .split('.')
                    .all(|arc| !arc.is_empty() && arc.bytes().all(|b| b.is_ascii_digit()));
            if attribute.is_empty() || !(short_name || oid) || value.is_empty() {
                return Err(Error::InvalidInput(format!(
                    "SCEP subject entry {attribute:?}={value:?}: want a short name or dotted OID and a value"
                )));
            }
        }
        if self.challenge.as_ref().is_some_and(Secret::is_empty) {
            return Err(Error::InvalidInput("empty SCEP challenge".into()));
        }
        if self.name.as_deref().is_some_and(str::is_empty) {
            return Err(Error::InvalidInput("empty SCEP CA name".into()));
        }
        if self.ca_fingerprint.as_ref().is_some_and(Vec::is_empty) {
            return Err(Error::InvalidInput("empty SCEP CA fingerprint".into()));
        }
        openssl::x509::X509::from_der(&self.ca_certificate_der).map_err(|e| {
            Error::Certificate(format!("the SCEP CA certificate is not DER X.509: {e}"))
        })?;
        Ok(())
    }

    fn payload(&self, identifier: &str) -> Result<Payload> {
        let mut content = SecurityScepPayloadContent::new(self.url.clone())
            .with_subject(
                self.subject
                    .iter()
                    .map(|(attribute, value)| vec![vec![attribute.clone(), value.clone()]])
                    .collect(),
            )
            .with_keysize(i64::from(self.key_size))
            .with_key_type("RSA")
            .with_key_usage(self.key_usage);
        if let Some(name) = &self.name {
            content = content.with_name(name.clone());
        }
        if let Some(challenge) = &self.challenge {
            let challenge = challenge
                .expose_str()
                .ok_or_else(|| Error::InvalidInput("the SCEP challenge is not UTF-8".into()))?;
            content = content.with_challenge(challenge);
        }
        if let Some(fingerprint) = &self.ca_fingerprint {
            content = content.with_ca_fingerprint(Data::new(fingerprint.clone()));
        }
        Ok(
            Payload::new(format!("{identifier}.scep"), SecurityScep::new(content))
                .with_display_name("Device identity (SCEP)"),
        )
    }
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
            identity_source: IdentitySource::BuiltInCa,
        }
    }

    /// Makes devices request their identity from an external SCEP server instead of the
    /// built-in CA.
    pub fn with_scep(mut self, scep: ScepSettings) -> Self {
        self.identity_source = IdentitySource::Scep(scep);
        self
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
        if let IdentitySource::Scep(scep) = &self.identity_source {
            scep.check()?;
        }
        Ok(())
    }
}

/// Builds the (unsigned) enrollment profile for one device with a built-in CA identity:
/// the MDM payload referring to the identity payload, the identity and the CA root. The
/// settings must choose [`IdentitySource::BuiltInCa`]. The profile is validated against
/// Apple's schema before it is returned.
pub fn enrollment_profile(
    settings: &EnrollmentProfileSettings,
    identity: &IssuedIdentity,
    ca_certificate_der: &[u8],
) -> Result<Profile> {
    settings.check()?;
    if settings.identity_source != IdentitySource::BuiltInCa {
        return Err(Error::InvalidInput(
            "the settings choose SCEP: use scep_enrollment_profile".into(),
        ));
    }
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
    assemble(
        settings,
        identity_payload,
        ca_certificate_der,
        "device-ca.cer",
    )
}

/// Builds the (unsigned) enrollment profile with an external SCEP identity: the MDM
/// payload whose IdentityCertificateUUID is the `com.apple.security.scep` payload's, that
/// payload, and the external CA's root. The settings must choose
/// [`IdentitySource::Scep`]; the profile is the same for every device (the certificate is
/// requested by the device), validated against Apple's schema.
pub fn scep_enrollment_profile(settings: &EnrollmentProfileSettings) -> Result<Profile> {
    settings.check()?;
    let IdentitySource::Scep(scep) = &settings.identity_source else {
        return Err(Error::InvalidInput(
            "the settings choose the built-in CA: use enrollment_profile".into(),
        ));
    };
    let identity_payload = scep.payload(&settings.identifier)?;
    assemble(
        settings,
        identity_payload,
        &scep.ca_certificate_der,
        "scep-ca.cer",
    )
}

/// The profile around an identity payload: MDM payload, identity, CA root; validated.
fn assemble(
    settings: &EnrollmentProfileSettings,
    identity_payload: Payload,
    ca_certificate_der: &[u8],
    ca_file_name: &str,
) -> Result<Profile> {
    let root_payload = Payload::new(
        format!("{}.ca", settings.identifier),
        SecurityRoot::new(Data::new(ca_certificate_der.to_vec()))
            .with_payload_certificate_file_name(ca_file_name),
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

    fn scep(ca: &DeviceCa) -> ScepSettings {
        ScepSettings::new(
            "https://scep.example.com/scep",
            vec![
                ("O".to_string(), "Example".to_string()),
                ("CN".to_string(), "device".to_string()),
            ],
            ca.certificate_der().unwrap(),
        )
        .with_challenge(Secret::from("pre-shared"))
    }

    #[test]
    fn scep_profile_carries_apples_keys_and_points_the_identity_at_it() {
        use mdmkit_core::profile::PayloadContent;
        let ca = DeviceCa::generate("External CA", 30).unwrap();
        let settings =
            EnrollmentProfileSettings::new("com.example.mdm", "https://mdm.example.com", "topic")
                .with_scep(
                    scep(&ca)
                        .with_name("example-ca")
                        .with_key_size(4096)
                        .with_key_usage(ScepSettings::KEY_USAGE_SIGNING)
                        .with_ca_fingerprint(vec![0xab; 20]),
                );
        assert!(!format!("{settings:?}").contains("pre-shared"));
        let profile = scep_enrollment_profile(&settings).unwrap();
        let xml = String::from_utf8(profile.to_xml().unwrap()).unwrap();
        for key in [
            "<string>com.apple.security.scep</string>",
            "<key>URL</key>",
            "<string>https://scep.example.com/scep</string>",
            "<key>Challenge</key>",
            "<string>pre-shared</string>",
            "<key>Keysize</key>",
            "<integer>4096</integer>",
            "<key>Key Type</key>",
            "<string>RSA</string>",
            "<key>Key Usage</key>",
            "<key>Name</key>",
            "<key>CAFingerprint</key>",
            "<key>Subject</key>",
        ] {
            assert!(xml.contains(key), "{key} missing");
        }
        assert!(!xml.contains("com.apple.security.pkcs12"));
        let mut scep_uuid = None;
        let mut mdm_identity = None;
        let mut root = None;
        for payload in &profile.payloads {
            match &payload.content {
                PayloadContent::SecurityScep(p) => {
                    scep_uuid = Some(payload.common.uuid.clone());
                    let content = &p.payload_content;
                    assert_eq!(
                        content.subject,
                        Some(vec![
                            vec![vec!["O".to_string(), "Example".to_string()]],
                            vec![vec!["CN".to_string(), "device".to_string()]],
                        ])
                    );
                    assert_eq!(content.key_usage, Some(1));
                    assert_eq!(content.name.as_deref(), Some("example-ca"));
                }
                PayloadContent::Mdm(m) => mdm_identity = Some(m.identity_certificate_uuid.clone()),
                PayloadContent::SecurityRoot(r) => root = Some(r.payload_content.clone()),
                _ => {}
            }
        }
        assert!(scep_uuid.is_some());
        assert_eq!(mdm_identity, scep_uuid);
        assert_eq!(
            root.unwrap(),
            mdmkit_core::Data::new(ca.certificate_der().unwrap())
        );
        // The two builders refuse the other identity source.
        let identity = ca.issue("device").unwrap();
        let root = ca.certificate_der().unwrap();
        assert!(matches!(
            enrollment_profile(&settings, &identity, &root),
            Err(Error::InvalidInput(_))
        ));
        let built_in =
            EnrollmentProfileSettings::new("com.example.mdm", "https://mdm.example.com", "topic");
        assert!(matches!(
            scep_enrollment_profile(&built_in),
            Err(Error::InvalidInput(_))
        ));
    }

    #[test]
    fn bad_scep_settings_are_refused() {
        let ca = DeviceCa::generate("External CA", 30).unwrap();
        let good = scep(&ca);
        let base =
            EnrollmentProfileSettings::new("com.example.mdm", "https://mdm.example.com", "topic");
        assert!(scep_enrollment_profile(&base.clone().with_scep(good.clone())).is_ok());
        let http = ScepSettings {
            url: "http://scep.example.com/cgi-bin/pkiclient.exe".into(),
            ..good.clone()
        };
        assert!(scep_enrollment_profile(&base.clone().with_scep(http)).is_ok());
        let bad = [
            ScepSettings {
                url: "ftp://scep.example.com".into(),
                ..good.clone()
            },
            ScepSettings {
                url: "https:///path".into(),
                ..good.clone()
            },
            good.clone().with_key_size(1024),
            good.clone().with_key_size(3000),
            good.clone()
                .with_key_usage(ScepSettings::KEY_USAGE_ENCRYPTION),
            good.clone().with_key_usage(0),
            good.clone().with_key_usage(8 | 1),
            ScepSettings {
                subject: Vec::new(),
                ..good.clone()
            },
            ScepSettings {
                subject: vec![("C N".into(), "x".into())],
                ..good.clone()
            },
            ScepSettings {
                subject: vec![("CN".into(), String::new())],
                ..good.clone()
            },
            good.clone().with_challenge(Secret::from("")),
            good.clone().with_ca_fingerprint(Vec::new()),
        ];
        for scep in bad {
            let error = scep_enrollment_profile(&base.clone().with_scep(scep.clone())).unwrap_err();
            assert_eq!(error.code(), "invalid_input", "{scep:?}");
        }
        let not_a_certificate = ScepSettings {
            ca_certificate_der: b"junk".to_vec(),
            ..good.clone()
        };
        let error =
            scep_enrollment_profile(&base.clone().with_scep(not_a_certificate)).unwrap_err();
        assert_eq!(error.code(), "certificate_unreadable");
        let oid = ScepSettings {
            subject: vec![("2.5.4.3".into(), "device".into())],
            ..good
        };
        assert!(scep_enrollment_profile(&base.with_scep(oid)).is_ok());
    }
}
