//! The portal's branding as an administrator manages it: read it and set it (checked by
//! enrollment: a name, `#RRGGBB` colours, a PNG, JPEG or SVG logo recognised by its bytes).

use crate::portal::PortalBranding;
use crate::{Mdm, Result};

impl Mdm {
    /// The portal's branding; `None` until an administrator sets it.
    pub async fn branding(&self) -> Result<Option<PortalBranding>> {
        crate::portal::branding(self).await
    }

    /// Sets the portal's branding: a name (trimmed, 1 to 200 characters), optional
    /// `#RRGGBB` colours (stored in uppercase) and an optional logo (PNG, JPEG or SVG, at
    /// most [`MAX_LOGO_BYTES`](mdmkit_enrollment::MAX_LOGO_BYTES); its media type is
    /// recognised from its bytes). Replaces what was set before; bad input is
    /// `invalid_input` and stores nothing. Audited as `portal.branding_set` with the
    /// handle's actor ([`Mdm::acting_as`]). Returns what was stored.
    pub async fn set_branding(
        &self,
        name: &str,
        primary_colour: Option<&str>,
        accent_colour: Option<&str>,
        logo: Option<Vec<u8>>,
    ) -> Result<PortalBranding> {
        let branding =
            mdmkit_enrollment::branding::branding(name, primary_colour, accent_colour, logo)?;
        mdmkit_enrollment::set_branding(self.store(), self.actor(), &branding).await?;
        crate::portal::branding(self)
            .await?
            .ok_or_else(|| crate::Error::input("the branding was not stored"))
    }
}

#[cfg(test)]
mod tests {
    use crate::{Mdm, MdmConfig};

    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";

    #[tokio::test]
    async fn set_then_read_and_bad_input_stores_nothing() {
        let mdm = Mdm::open(MdmConfig::new("memory:")).await.unwrap();
        assert!(mdm.branding().await.unwrap().is_none());

        let error = mdm
            .set_branding("Example", Some("red"), None, None)
            .await
            .unwrap_err();
        assert_eq!(error.code(), "invalid_input");
        let error = mdm
            .set_branding("Example", None, None, Some(b"GIF89a".to_vec()))
            .await
            .unwrap_err();
        assert_eq!(error.code(), "invalid_input");
        let error = mdm.set_branding("  ", None, None, None).await.unwrap_err();
        assert_eq!(error.code(), "invalid_input");
        assert!(mdm.branding().await.unwrap().is_none(), "nothing stored");

        let set = mdm
            .set_branding(" Example Org ", Some("#a1b2c3"), None, Some(PNG.to_vec()))
            .await
            .unwrap();
        assert_eq!(set.name, "Example Org");
        assert_eq!(set.primary_colour.as_deref(), Some("#A1B2C3"));
        assert_eq!(set.accent_colour, None);
        assert_eq!(set.logo_content_type.as_deref(), Some("image/png"));
        assert_eq!(mdm.branding().await.unwrap(), Some(set.clone()));
        assert_eq!(mdm.portal().branding().await.unwrap(), Some(set));

        let events = mdm
            .store()
            .list_audit_events(&mdmkit_core::store::AuditQuery::default())
            .await
            .unwrap();
        assert!(events
            .iter()
            .any(|event| event.action == "portal.branding_set" && event.actor == "admin"));
    }
}
