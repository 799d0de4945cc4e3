//! The privacy settings the portal obeys, as an administrator manages them: server-wide,
//! overridden for one portal user, overridden for one device.

use mdmkit_core::store::{EffectivePrivacy, PrivacyScope, PrivacyValue};
use mdmkit_core::EnrollmentId;
use mdmkit_enrollment::PrivacyChange;
use serde::Serialize;

use crate::{Error, Mdm, Result};

/// One privacy setting in effect and where its value comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct PrivacySetting {
    /// Whether it is allowed.
    pub allowed: bool,
    /// `server`, `user` or `enrollment`: the scope whose value applies.
    pub source: String,
}

impl From<PrivacyValue> for PrivacySetting {
    fn from(value: PrivacyValue) -> Self {
        Self {
            allowed: value.allowed,
            source: value.source.as_str().to_owned(),
        }
    }
}

/// The privacy settings in effect for a scope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct PrivacyView {
    /// Whether end users may locate their devices.
    pub location: PrivacySetting,
    /// Whether the installed-application inventory may be collected.
    pub app_inventory: PrivacySetting,
}

impl From<EffectivePrivacy> for PrivacyView {
    fn from(effective: EffectivePrivacy) -> Self {
        Self {
            location: effective.location.into(),
            app_inventory: effective.app_inventory.into(),
        }
    }
}

impl Mdm {
    /// The privacy settings, for administrators.
    pub fn privacy(&self) -> Privacy {
        Privacy { mdm: self.clone() }
    }
}

/// The privacy settings of a deployment (`Mdm::privacy`). A scope is a device (its
/// enrollment id), else a portal user, else (neither) the server-wide settings.
#[derive(Debug, Clone)]
pub struct Privacy {
    mdm: Mdm,
}

impl Privacy {
    /// The settings in effect for the scope, with where each value comes from; an unknown
    /// user or device is `not_found`.
    pub async fn show(&self, user: Option<&str>, device: Option<&str>) -> Result<PrivacyView> {
        let scope = scope(user, device);
        Ok(
            mdmkit_enrollment::privacy_of(self.mdm.store(), scope.as_ref())
                .await?
                .into(),
        )
    }

    /// Changes the settings of the scope (`None` keeps a value); at least one is needed.
    /// Audited with the handle's actor ([`Mdm::acting_as`](crate::Mdm::acting_as)).
    pub async fn set(
        &self,
        user: Option<&str>,
        device: Option<&str>,
        location: Option<bool>,
        app_inventory: Option<bool>,
    ) -> Result<PrivacyView> {
        self.set_as(self.mdm.actor(), user, device, location, app_inventory)
            .await
    }

    /// [`set`](Self::set), audited with `actor` (the signed-in administrator's id).
    pub async fn set_as(
        &self,
        actor: &str,
        user: Option<&str>,
        device: Option<&str>,
        location: Option<bool>,
        app_inventory: Option<bool>,
    ) -> Result<PrivacyView> {
        let mut change = PrivacyChange::new();
        if let Some(allowed) = location {
            change = change.with_location(allowed);
        }
        if let Some(allowed) = app_inventory {
            change = change.with_app_inventory(allowed);
        }
        let scope = scope(user, device);
        Ok(
            mdmkit_enrollment::set_privacy(self.mdm.store(), actor, scope.as_ref(), change)
                .await?
                .into(),
        )
    }

    /// Removes the override of a device or a user (exactly one), so it inherits again;
    /// whether there was one.
    pub async fn clear(&self, user: Option<&str>, device: Option<&str>) -> Result<bool> {
        let scope = scope(user, device)
            .ok_or_else(|| Error::input("name the device or the user whose override to clear"))?;
        Ok(mdmkit_enrollment::clear_privacy(self.mdm.store(), self.mdm.actor(), &scope).await?)
    }
}

fn scope(user: Option<&str>, device: Option<&str>) -> Option<PrivacyScope> {
    match (device, user) {
        (Some(device), _) => Some(PrivacyScope::Enrollment(EnrollmentId::new(device))),
        (None, Some(user)) => Some(PrivacyScope::User(user.to_owned())),
        (None, None) => None,
    }
}

#[cfg(test)]
mod tests {
    use crate::{Mdm, MdmConfig};

    #[tokio::test]
    async fn server_and_user_settings_are_set_shown_and_cleared() {
        let mdm = Mdm::open(MdmConfig::new("memory:")).await.unwrap();
        mdm.portal_users()
            .add("alice", "alice@example.test", None)
            .await
            .unwrap();
        let privacy = mdm.privacy();
        let server = privacy.set(None, None, Some(false), None).await.unwrap();
        assert_eq!(
            (server.location.allowed, server.location.source.as_str()),
            (false, "server")
        );
        let alice = privacy
            .set(Some("alice"), None, Some(true), None)
            .await
            .unwrap();
        assert_eq!(
            (alice.location.allowed, alice.location.source.as_str()),
            (true, "user")
        );
        assert_eq!(
            alice.app_inventory.source,
            privacy.show(None, None).await.unwrap().app_inventory.source
        );
        assert!(privacy.clear(Some("alice"), None).await.unwrap());
        assert!(!privacy.clear(Some("alice"), None).await.unwrap());
        let shown = privacy.show(Some("alice"), None).await.unwrap();
        assert_eq!(
            (shown.location.allowed, shown.location.source.as_str()),
            (false, "server")
        );
        assert_eq!(
            privacy.clear(None, None).await.unwrap_err().code(),
            "invalid_input"
        );
        assert_eq!(
            privacy
                .set(None, None, None, None)
                .await
                .unwrap_err()
                .code(),
            "invalid_input"
        );
        assert_eq!(
            privacy.show(Some("nobody"), None).await.unwrap_err().code(),
            "not_found"
        );
    }
}
