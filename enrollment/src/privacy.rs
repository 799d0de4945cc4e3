//! The administrator's privacy settings: server-wide, per portal user and per enrollment.
//!
//! The store keeps the server-wide [`PrivacySettings`] and a [`PrivacyOverride`] per user
//! or enrollment; [`effective_privacy`] resolves
//! them (enrollment, else user, else server). These functions are the administration
//! side: each change is checked against the store (the user or enrollment must exist)
//! and written to the audit log (action `privacy.set` / `privacy.clear`, target the
//! scope such as `user:alice`, detail the new values).

use mdmkit_core::store::{
    effective_privacy, AuditEvent, EffectivePrivacy, PrivacyOverride, PrivacyScope,
    PrivacySettings, SharedStore,
};

use crate::Result;

/// A change to privacy settings: `None` leaves a field as it is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PrivacyChange {
    /// Whether devices may be located.
    pub allow_location: Option<bool>,
    /// Whether the installed-application inventory may be collected.
    pub allow_app_inventory: Option<bool>,
}

impl PrivacyChange {
    /// A change of nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets whether devices may be located.
    pub fn with_location(mut self, allowed: bool) -> Self {
        self.allow_location = Some(allowed);
        self
    }

    /// Sets whether the application inventory may be collected.
    pub fn with_app_inventory(mut self, allowed: bool) -> Self {
        self.allow_app_inventory = Some(allowed);
        self
    }
}

/// Checks that the user or enrollment a scope names exists.
async fn check_scope(store: &SharedStore, scope: &PrivacyScope) -> Result<()> {
    let exists = match scope {
        PrivacyScope::User(id) => store.get_portal_user(id).await?.is_some(),
        PrivacyScope::Enrollment(id) => store.get_enrollment(id).await?.is_some(),
        // A scope kind this version does not know cannot be checked: refuse it.
        _ => false,
    };
    if exists {
        Ok(())
    } else {
        Err(mdmkit_core::Error::NotFound {
            kind: if scope.kind() == "user" {
                "portal user"
            } else {
                "enrollment"
            },
            id: scope.id().to_owned(),
        }
        .into())
    }
}

async fn audit(
    store: &SharedStore,
    actor: &str,
    action: &str,
    scope: Option<&PrivacyScope>,
    detail: serde_json::Value,
) -> Result<()> {
    let mut event = AuditEvent::new(actor, action);
    event.target = Some(scope.map_or_else(|| "server".to_owned(), ToString::to_string));
    event.detail = Some(detail.to_string());
    store.append_audit_event(&event).await?;
    Ok(())
}

/// Applies `change` to the server-wide settings (`scope` `None`) or to the override of a
/// user or enrollment (which must exist; fields not changed keep their override or keep
/// inheriting). Audited with `actor`. Returns the effective settings of the scope.
pub async fn set_privacy(
    store: &SharedStore,
    actor: &str,
    scope: Option<&PrivacyScope>,
    change: PrivacyChange,
) -> Result<EffectivePrivacy> {
    if change == PrivacyChange::default() {
        return Err(crate::Error::InvalidInput(
            "a privacy change needs a location or app-inventory value".into(),
        ));
    }
    match scope {
        None => {
            let mut settings: PrivacySettings = store.get_privacy_settings().await?;
            if let Some(allowed) = change.allow_location {
                settings.allow_location = allowed;
            }
            if let Some(allowed) = change.allow_app_inventory {
                settings.allow_app_inventory = allowed;
            }
            store.put_privacy_settings(&settings).await?;
            audit(
                store,
                actor,
                "privacy.set",
                None,
                serde_json::json!({
                    "allow_location": settings.allow_location,
                    "allow_app_inventory": settings.allow_app_inventory,
                }),
            )
            .await?;
        }
        Some(scope) => {
            check_scope(store, scope).await?;
            let mut settings: PrivacyOverride =
                store.get_privacy_override(scope).await?.unwrap_or_default();
            if change.allow_location.is_some() {
                settings.allow_location = change.allow_location;
            }
            if change.allow_app_inventory.is_some() {
                settings.allow_app_inventory = change.allow_app_inventory;
            }
            store.put_privacy_override(scope, &settings).await?;
            audit(
                store,
                actor,
                "privacy.set",
                Some(scope),
                serde_json::json!({
                    "allow_location": settings.allow_location,
                    "allow_app_inventory": settings.allow_app_inventory,
                }),
            )
            .await?;
        }
    }
    privacy_of(store, scope).await
}

/// Removes the override of a user or enrollment, so it inherits again. Audited with
/// `actor`. Returns whether there was one.
pub async fn clear_privacy(store: &SharedStore, actor: &str, scope: &PrivacyScope) -> Result<bool> {
    let removed = store.delete_privacy_override(scope).await?;
    audit(
        store,
        actor,
        "privacy.clear",
        Some(scope),
        serde_json::json!({ "removed": removed }),
    )
    .await?;
    Ok(removed)
}

/// The effective settings of a scope and where each value comes from: for an enrollment,
/// its override, else its owner's, else the server's; for a user, theirs, else the
/// server's; with no scope, the server's. An unknown user or enrollment is
/// [`NotFound`](mdmkit_core::Error::NotFound).
pub async fn privacy_of(
    store: &SharedStore,
    scope: Option<&PrivacyScope>,
) -> Result<EffectivePrivacy> {
    let effective =
        match scope {
            None => effective_privacy(&**store, None, None).await?,
            Some(user_scope @ PrivacyScope::User(user)) => {
                check_scope(store, user_scope).await?;
                effective_privacy(&**store, None, Some(user)).await?
            }
            Some(PrivacyScope::Enrollment(id)) => {
                let record = store.get_enrollment(id).await?.ok_or_else(|| {
                    mdmkit_core::Error::NotFound {
                        kind: "enrollment",
                        id: id.to_string(),
                    }
                })?;
                effective_privacy(&**store, Some(id), record.owner.as_deref()).await?
            }
            Some(other) => {
                check_scope(store, other).await?;
                effective_privacy(&**store, None, None).await?
            }
        };
    Ok(effective)
}
