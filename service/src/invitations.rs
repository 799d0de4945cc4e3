//! Invitations and enrollment links as an administrator manages them: paged lists,
//! resending an invitation, revoking a link.

use std::time::Duration;

use mdmkit_core::store::{TokenKind, TokenRecord};
use mdmkit_enrollment::Invitation;
use serde::Serialize;
use time::OffsetDateTime;

use crate::paging::{page, Page};
use crate::{Enrollment, Error, InvitationReport, Result};

/// An invitation as listed: no link, only its public id and state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct InvitationEntry {
    /// The public id (what `revoke` and `resend` take).
    pub id: String,
    /// The invited portal user.
    pub user_id: String,
    /// The address it was sent to.
    pub email: String,
    /// When it was made (UTC).
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When both links stop working (UTC).
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    /// When the user set their password through the portal link (UTC).
    #[serde(with = "time::serde::rfc3339::option")]
    pub accepted_at: Option<OffsetDateTime>,
    /// When a device enrolled through the registration link (UTC).
    #[serde(with = "time::serde::rfc3339::option")]
    pub registered_at: Option<OffsetDateTime>,
}

impl From<Invitation> for InvitationEntry {
    fn from(invitation: Invitation) -> Self {
        Self {
            id: invitation.id,
            user_id: invitation.user_id,
            email: invitation.email,
            created_at: invitation.created_at,
            expires_at: invitation.expires_at,
            accepted_at: invitation.accepted_at,
            registered_at: invitation.registered_at,
        }
    }
}

/// An enrollment link as listed: its public id (the SHA-256 of its token, never the token)
/// and state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct EnrollmentLinkEntry {
    /// The public id (what `revoke_link` takes).
    pub id: String,
    /// The user the device will belong to.
    pub user_id: String,
    /// When it was made (UTC).
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When it stops working (UTC).
    #[serde(with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
    /// When a device enrolled with it (UTC); a used link does not work again.
    #[serde(with = "time::serde::rfc3339::option")]
    pub used_at: Option<OffsetDateTime>,
    /// The invitation it was sent with, if any.
    pub invitation: Option<String>,
}

impl From<TokenRecord> for EnrollmentLinkEntry {
    fn from(record: TokenRecord) -> Self {
        Self {
            id: record.token_hash,
            user_id: record.user_id,
            created_at: record.created_at,
            expires_at: record.expires_at,
            used_at: record.used_at,
            invitation: record.invitation,
        }
    }
}

impl Enrollment {
    /// A page of invitations, optionally of one user, ordered by user then age.
    pub async fn invitations_page(
        &self,
        user_id: Option<&str>,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Page<InvitationEntry>> {
        let all = self.invitations_list(user_id).await?;
        page(
            all.into_iter().map(InvitationEntry::from).collect(),
            after,
            limit,
        )
    }

    /// Sends an invitation again: the old links stop working, new ones valid for `ttl` go to
    /// the same user and address (without SMTP they are returned, not sent). An unknown
    /// invitation is `not_found`.
    pub async fn resend_invitation(&self, id: &str, ttl: Duration) -> Result<InvitationReport> {
        let invitation = self
            .invitations_list(None)
            .await?
            .into_iter()
            .find(|invitation| invitation.id == id)
            .ok_or_else(|| not_found("invitation", id))?;
        if ttl.is_zero() {
            return Err(Error::input("the validity must be longer than zero"));
        }
        // Checked before the old links go: a deployment without the URLs keeps them.
        self.invitations().await?;
        self.revoke_invitation(id).await?;
        self.invite(&invitation.user_id, &invitation.email, ttl)
            .await
    }

    /// A page of enrollment links (made by `create_link` or with an invitation), optionally
    /// of one user, ordered by user then age.
    pub async fn links_page(
        &self,
        user_id: Option<&str>,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Page<EnrollmentLinkEntry>> {
        let store = self.store();
        let users = match user_id {
            Some(user) => vec![user.to_owned()],
            None => store
                .list_portal_users()
                .await?
                .into_iter()
                .map(|user| user.id)
                .collect(),
        };
        let mut links = Vec::new();
        for user in users {
            let mut tokens: Vec<TokenRecord> = store
                .list_tokens(&user)
                .await?
                .into_iter()
                .filter(|token| token.kind == TokenKind::Enrollment)
                .collect();
            tokens.sort_by_key(|token| token.created_at);
            links.extend(tokens.into_iter().map(EnrollmentLinkEntry::from));
        }
        page(links, after, limit)
    }

    /// Revokes an enrollment link by its public id, so it enrolls nothing; a device already
    /// enrolled with it stays. An unknown id (or one that is not an enrollment link) is
    /// `not_found`.
    pub async fn revoke_link(&self, id: &str) -> Result<()> {
        let store = self.store();
        match store.get_token(id).await? {
            Some(record) if record.kind == TokenKind::Enrollment => {
                store.delete_token(id).await?;
                let mut event =
                    mdmkit_core::store::AuditEvent::new(self.actor(), "enrollment_link.revoke");
                event.target = Some(record.user_id);
                store.append_audit_event(&event).await?;
                Ok(())
            }
            _ => Err(not_found("enrollment link", id)),
        }
    }
}

fn not_found(kind: &'static str, id: &str) -> Error {
    Error::Core(mdmkit_core::Error::NotFound {
        kind,
        id: id.to_owned(),
    })
}
