//! A Web Clip of the portal on users' home screens: a `com.apple.webClip.managed` profile
//! built from core's typed payload, signed when a signer is given, and pushed by an
//! administrator to one user's iOS and iPadOS devices.

use mdmkit_core::engine::{Engine, Queued};
use mdmkit_core::profile::payloads::WebClipManaged;
use mdmkit_core::profile::{sign, Payload, Profile, SigningIdentity};
use mdmkit_core::schema::Platform;
use mdmkit_core::store::{AuditEvent, EnrollmentQuery};
use mdmkit_core::{Data, EnrollmentId};

use crate::branding::{image_type, MAX_LOGO_BYTES};
use crate::{Error, Result};

/// What the Web Clip shows and opens.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct WebClipSettings {
    /// The profile's `PayloadIdentifier` (the same identifier replaces an earlier Web Clip
    /// on the device); the payload's is this with `.webclip` appended.
    pub identifier: String,
    /// `URL`: the portal's address (https).
    pub url: String,
    /// `Label`: the name under the icon.
    pub label: String,
    /// `Icon`: PNG or JPEG bytes. When `None`, the portal's branding logo is used if it
    /// is a PNG; otherwise the device draws its own.
    pub icon: Option<Vec<u8>>,
    /// `FullScreen`: open without Safari's interface.
    pub full_screen: bool,
    /// `IsRemovable`: whether the user may remove it.
    pub is_removable: bool,
}

impl WebClipSettings {
    /// A removable, not full-screen Web Clip of `url` labelled `label`.
    pub fn new(
        identifier: impl Into<String>,
        url: impl Into<String>,
        label: impl Into<String>,
    ) -> Self {
        Self {
            identifier: identifier.into(),
            url: url.into(),
            label: label.into(),
            icon: None,
            full_screen: false,
            is_removable: true,
        }
    }

    /// Sets the icon (PNG or JPEG).
    pub fn with_icon(mut self, icon: Vec<u8>) -> Self {
        self.icon = Some(icon);
        self
    }

    /// Sets `FullScreen`.
    pub fn with_full_screen(mut self, full_screen: bool) -> Self {
        self.full_screen = full_screen;
        self
    }

    /// Sets `IsRemovable`.
    pub fn with_removable(mut self, removable: bool) -> Self {
        self.is_removable = removable;
        self
    }
}

/// Builds the (unsigned) Web Clip profile, validated against Apple's schema. The URL must
/// be https with a host, the label and identifier non-empty, the icon PNG or JPEG of at
/// most [`MAX_LOGO_BYTES`].
pub fn web_clip_profile(settings: &WebClipSettings) -> Result<Profile> {
    let host = settings.url.strip_prefix("https://").unwrap_or_default();
    if host.is_empty() || host.starts_with('/') || settings.url.chars().any(char::is_whitespace) {
        return Err(Error::InvalidInput(format!(
            "the Web Clip URL must be an https URL: {:?}",
            settings.url
        )));
    }
    if settings.label.trim().is_empty() {
        return Err(Error::InvalidInput("the Web Clip label is empty".into()));
    }
    if settings.identifier.trim().is_empty() {
        return Err(Error::InvalidInput(
            "the Web Clip profile identifier is empty".into(),
        ));
    }
    let mut clip = WebClipManaged::new(settings.url.clone(), settings.label.trim())
        .with_full_screen(settings.full_screen)
        .with_is_removable(settings.is_removable);
    if let Some(icon) = &settings.icon {
        if icon.len() > MAX_LOGO_BYTES || image_type(icon).is_none() {
            return Err(Error::InvalidInput(format!(
                "the Web Clip icon must be a PNG or JPEG image of at most {MAX_LOGO_BYTES} bytes"
            )));
        }
        clip = clip.with_icon(Data::new(icon.clone()));
    }
    let payload = Payload::new(format!("{}.webclip", settings.identifier), clip)
        .with_display_name(settings.label.trim());
    let profile = Profile::new(settings.identifier.clone())
        .with_display_name(format!("{} (Web Clip)", settings.label.trim()))
        .with_payload(payload);
    profile.validate()?;
    Ok(profile)
}

/// What [`push_web_clip`] did, device by device.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct WebClipReport {
    /// Whether the pushed profile was signed.
    pub signed: bool,
    /// The enrollments an InstallProfile was queued to, with its CommandUUID.
    pub queued: Vec<(EnrollmentId, String)>,
    /// The same enrollments with the queued command and how its push went.
    pub pushes: Vec<(EnrollmentId, Queued)>,
    /// The user's enrollments left out, with why (not iOS/iPadOS, user channel,
    /// disabled, platform unknown).
    pub skipped: Vec<(EnrollmentId, String)>,
    /// The enrollments where queueing failed, with the error's code and message.
    pub failed: Vec<(EnrollmentId, &'static str, String)>,
}

/// Pushes the Web Clip (an `InstallProfile` through the engine) to every enabled
/// device-channel enrollment of `user` on iOS or iPadOS; the others are reported as
/// skipped. Without an icon in `settings`, the branding logo is used when it is a PNG.
/// The profile is signed with `signer` when one is given. An unknown user is
/// [`NotFound`](mdmkit_core::Error::NotFound). Written to the audit log
/// (`portal.webclip_push` by `actor`, target the user).
pub async fn push_web_clip(
    engine: &Engine,
    actor: &str,
    user: &str,
    settings: &WebClipSettings,
    signer: Option<&SigningIdentity>,
) -> Result<WebClipReport> {
    let store = engine.store();
    if store.get_portal_user(user).await?.is_none() {
        return Err(mdmkit_core::Error::NotFound {
            kind: "portal user",
            id: user.to_owned(),
        }
        .into());
    }
    let mut settings = settings.clone();
    if settings.icon.is_none() {
        settings.icon = store
            .get_branding()
            .await?
            .filter(|b| b.logo_content_type.as_deref() == Some("image/png"))
            .and_then(|b| b.logo);
    }
    let profile = web_clip_profile(&settings)?;
    let bytes = match signer {
        Some(signer) => sign(&profile, signer)?,
        None => profile.to_xml()?,
    };
    let mut report = WebClipReport {
        signed: signer.is_some(),
        queued: Vec::new(),
        pushes: Vec::new(),
        skipped: Vec::new(),
        failed: Vec::new(),
    };
    let mut query = EnrollmentQuery::all();
    query.owner = Some(user.to_owned());
    for record in store.list_enrollments(&query).await? {
        let id = record.id;
        if id.is_user_channel() {
            report.skipped.push((
                id,
                "user channel (a Web Clip installs on the device channel)".into(),
            ));
            continue;
        }
        if !record.enabled {
            report.skipped.push((id, "enrollment disabled".into()));
            continue;
        }
        match engine.device_facts(&id).await {
            Ok(facts) if facts.platform == Platform::Ios => {}
            Ok(facts) => {
                let reason = format!(
                    "{} (the portal's Web Clip goes to iOS and iPadOS only)",
                    facts.platform
                );
                report.skipped.push((id, reason));
                continue;
            }
            Err(error) => {
                report.skipped.push((id, error.to_string()));
                continue;
            }
        }
        match engine.install_profile(&id, bytes.clone()).await {
            Ok(queued) => {
                report
                    .queued
                    .push((id.clone(), queued.command_uuid.clone()));
                report.pushes.push((id, queued));
            }
            Err(error) => report.failed.push((id, error.code(), error.to_string())),
        }
    }
    let mut event = AuditEvent::new(actor, "portal.webclip_push");
    event.target = Some(user.to_owned());
    let list = |items: Vec<(&EnrollmentId, &str)>| -> Vec<serde_json::Value> {
        items
            .into_iter()
            .map(|(id, why)| serde_json::json!({ "enrollment": id.as_str(), "reason": why }))
            .collect()
    };
    event.detail = Some(
        serde_json::json!({
            "outcome": if report.failed.is_empty() { "ok" } else { "partial" },
            "profile": profile.identifier,
            "signed": report.signed,
            "queued": report.queued.iter().map(|(id, _)| id.as_str()).collect::<Vec<_>>(),
            "skipped": list(report.skipped.iter().map(|(id, why)| (id, why.as_str())).collect()),
            "failed": list(report.failed.iter().map(|(id, code, _)| (id, *code)).collect()),
        })
        .to_string(),
    );
    store.append_audit_event(&event).await?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use mdmkit_core::profile::PayloadContent;

    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";

    #[test]
    fn the_profile_has_apples_web_clip_keys() {
        let settings = WebClipSettings::new(
            "com.example.portal",
            "https://portal.example.com/",
            "Portal",
        )
        .with_icon(PNG.to_vec())
        .with_full_screen(true)
        .with_removable(false);
        let profile = web_clip_profile(&settings).unwrap();
        let xml = String::from_utf8(profile.to_xml().unwrap()).unwrap();
        for key in [
            "<string>com.apple.webClip.managed</string>",
            "<key>URL</key>",
            "<string>https://portal.example.com/</string>",
            "<key>Label</key>",
            "<key>Icon</key>",
            "<key>IsRemovable</key>",
            "<key>FullScreen</key>",
        ] {
            assert!(xml.contains(key), "{key} missing from {xml}");
        }
        let read = Profile::read(xml.as_bytes()).unwrap();
        let PayloadContent::WebClipManaged(clip) = &read.payloads[0].content else {
            panic!("not a Web Clip: {:?}", read.payloads[0].content);
        };
        assert_eq!(clip.url, "https://portal.example.com/");
        assert_eq!(clip.label, "Portal");
        assert_eq!(
            clip.icon.as_ref().map(|d| d.as_bytes().to_vec()),
            Some(PNG.to_vec())
        );
        assert_eq!(clip.is_removable, Some(false));
        assert_eq!(clip.full_screen, Some(true));
        assert_eq!(
            read.payloads[0].common.identifier,
            "com.example.portal.webclip"
        );
    }

    #[test]
    fn bad_urls_labels_and_icons_are_refused() {
        let base = WebClipSettings::new("com.example.portal", "https://portal.example.com", "P");
        for url in [
            "http://portal.example.com",
            "https://",
            "portal.example.com",
            "https:// x",
        ] {
            let mut settings = base.clone();
            settings.url = url.into();
            assert_eq!(
                web_clip_profile(&settings).unwrap_err().code(),
                "invalid_input",
                "{url}"
            );
        }
        let mut settings = base.clone();
        settings.label = " ".into();
        assert!(web_clip_profile(&settings).is_err());
        let settings = base.clone().with_icon(b"<svg></svg>".to_vec());
        assert!(web_clip_profile(&settings).is_err());
        assert!(web_clip_profile(&base).is_ok());
    }
}
