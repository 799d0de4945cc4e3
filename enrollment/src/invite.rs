//! Invitations by e-mail: a portal link to set the first password and a registration link
//! to enroll a device, both single-use and expiring, sent through a [`Notifier`].
//!
//! An invitation is two stored tokens of the user, created together (same creation time,
//! same expiry, same address): a [`TokenKind::Invitation`] token (the portal link; its
//! SHA-256 is the invitation's public id) and a [`TokenKind::Enrollment`] token (the
//! registration link, redeemed by [`Enroller::enroll`](crate::Enroller::enroll)), which
//! records the invitation's id ([`TokenRecord::invitation`]). Only the hashes are stored;
//! the values exist in the sent message alone.
//!
//! When the message cannot be sent, both tokens are deleted before the error is returned:
//! a failed invitation leaves nothing usable behind, and can simply be made again.

use std::sync::Arc;
use std::time::Duration;

use mdmkit_core::notify::{EmailMessage, Notifier};
use mdmkit_core::store::{now_micros, AuditEvent, SharedStore, TokenKind, TokenRecord};
use mdmkit_core::Secret;
use time::OffsetDateTime;

use crate::enroller::{expiry, issue_token, token_hash};
use crate::portal::{add_user, set_password_as};
use crate::{Error, Result};

/// The placeholders an [`InvitationTemplate`] may use.
pub const PLACEHOLDERS: [&str; 5] = [
    "name",
    "email",
    "portal_link",
    "registration_link",
    "expires",
];

/// The invitation e-mail: a subject and a plain-text body in which `{name}`, `{email}`,
/// `{portal_link}`, `{registration_link}` and `{expires}` (`2026-11-21 09:42 UTC`) are
/// replaced.
/// Any other `{word}` is refused when the template is made, so a typo cannot reach users.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvitationTemplate {
    subject: String,
    body: String,
}

impl Default for InvitationTemplate {
    fn default() -> Self {
        Self {
            subject: "Your invitation to device management".into(),
            body: "Hello {name},\n\n\
                   You are invited to manage your devices.\n\n\
                   1. Choose your password in the self-service portal:\n   {portal_link}\n\n\
                   2. Open this link on the device you want to register and install the \
                   profile it offers:\n   {registration_link}\n\n\
                   Each link works once and expires at {expires}. If you did not expect \
                   this message, ignore it.\n"
                .into(),
        }
    }
}

impl InvitationTemplate {
    /// A template from the application's text. The body must contain
    /// `{registration_link}` or `{portal_link}` (an invitation without a link is useless);
    /// an unknown placeholder is [`Error::InvalidInput`].
    pub fn new(subject: impl Into<String>, body: impl Into<String>) -> Result<Self> {
        let template = Self {
            subject: subject.into(),
            body: body.into(),
        };
        if template.subject.trim().is_empty() {
            return Err(Error::InvalidInput("empty invitation subject".into()));
        }
        if template.subject.contains(['\r', '\n']) {
            return Err(Error::InvalidInput(
                "the invitation subject must be one line".into(),
            ));
        }
        for text in [&template.subject, &template.body] {
            render(text, |_| Some(""))?;
        }
        let names = placeholders(&template.body);
        if !names.contains(&"portal_link") && !names.contains(&"registration_link") {
            return Err(Error::InvalidInput(
                "the invitation body has neither {portal_link} nor {registration_link}".into(),
            ));
        }
        Ok(template)
    }

    /// The subject text, with its placeholders.
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// The body text, with its placeholders.
    pub fn body(&self) -> &str {
        &self.body
    }

    /// The message to `to`, placeholders replaced by `values` (a value is inserted as is:
    /// placeholders inside it are not expanded).
    fn message(&self, to: &str, values: &TemplateValues<'_>) -> Result<EmailMessage> {
        let lookup = |name: &str| values.get(name);
        // Values are one line in the subject: a name cannot add header lines.
        let subject = render(&self.subject, lookup)?.replace(['\r', '\n'], " ");
        let body = render(&self.body, lookup)?;
        Ok(EmailMessage::new(vec![to.to_string()], subject, body))
    }
}

struct TemplateValues<'a> {
    name: &'a str,
    email: &'a str,
    portal_link: &'a str,
    registration_link: &'a str,
    expires: &'a str,
}

impl TemplateValues<'_> {
    fn get(&self, name: &str) -> Option<&str> {
        match name {
            "name" => Some(self.name),
            "email" => Some(self.email),
            "portal_link" => Some(self.portal_link),
            "registration_link" => Some(self.registration_link),
            "expires" => Some(self.expires),
            _ => None,
        }
    }
}

/// The `{word}` names in `text` (word = lowercase letters and `_`).
fn placeholders(text: &str) -> Vec<&str> {
    let mut names = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find('{') {
        let after = &rest[start + 1..];
        match after.find('}') {
            Some(end) if is_word(&after[..end]) => {
                names.push(&after[..end]);
                rest = &after[end + 1..];
            }
            _ => rest = after,
        }
    }
    names
}

fn is_word(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
}

/// Replaces every `{word}` in one pass; braces around anything else stay as they are.
fn render<'v>(text: &str, lookup: impl Fn(&str) -> Option<&'v str>) -> Result<String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        match after.find('}') {
            Some(end) if is_word(&after[..end]) => {
                let name = &after[..end];
                let value = lookup(name)
                    .filter(|_| PLACEHOLDERS.contains(&name))
                    .ok_or_else(|| {
                        Error::InvalidInput(format!(
                            "unknown placeholder {{{name}}} in the invitation template"
                        ))
                    })?;
                out.push_str(value);
                rest = &after[end + 1..];
            }
            _ => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// Where the links of invitations point: the portal page that accepts an invitation and
/// the registration page that serves the enrollment profile. The token value is appended
/// as the `token` query parameter (`https://portal.example.com/accept?token=...`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnrollmentLinks {
    portal_url: String,
    registration_url: String,
}

impl EnrollmentLinks {
    /// Links under these base URLs, which must be https (`http://localhost` and
    /// `http://127.0.0.1` are accepted for development) and have no fragment.
    pub fn new(portal_url: impl Into<String>, registration_url: impl Into<String>) -> Result<Self> {
        let links = Self {
            portal_url: portal_url.into(),
            registration_url: registration_url.into(),
        };
        for (what, url) in [
            ("portal URL", &links.portal_url),
            ("registration URL", &links.registration_url),
        ] {
            check_link_base(what, url)?;
        }
        Ok(links)
    }

    /// The portal link carrying an invitation token.
    pub fn portal_link(&self, token: &str) -> String {
        with_token(&self.portal_url, token)
    }

    /// The registration link carrying an enrollment token.
    pub fn registration_link(&self, token: &str) -> String {
        with_token(&self.registration_url, token)
    }
}

fn check_link_base(what: &str, url: &str) -> Result<()> {
    let rest = url.strip_prefix("https://").or_else(|| {
        url.strip_prefix("http://")
            .filter(|rest| ["localhost", "127.0.0.1"].contains(&host_port(rest).0))
    });
    let valid = rest.is_some_and(|rest| !host_port(rest).0.is_empty())
        && !url.contains('#')
        && !url.chars().any(|c| c.is_whitespace() || c.is_control());
    if valid {
        Ok(())
    } else {
        Err(Error::InvalidInput(format!(
            "the {what} must be an https URL without fragment: {url:?}"
        )))
    }
}

/// The host (without port) and the rest of a URL after its scheme.
fn host_port(rest: &str) -> (&str, &str) {
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    let host = authority.split(':').next().unwrap_or_default();
    (host, authority)
}

fn with_token(base: &str, token: &str) -> String {
    // Token values are base64url: nothing to escape.
    let separator = if base.contains('?') { '&' } else { '?' };
    format!("{base}{separator}token={token}")
}

/// Checks an e-mail address well enough to refuse typos and header tricks: one `@`, a
/// non-empty local part, a dotted domain, no spaces, controls, quotes or angle brackets.
pub fn check_email(email: &str) -> Result<()> {
    let refused = || Error::InvalidInput(format!("e-mail address {email:?}"));
    if email.len() > 254 {
        return Err(refused());
    }
    let (local, domain) = email.split_once('@').ok_or_else(refused)?;
    let forbidden = |c: char| {
        c.is_whitespace() || c.is_control() || "<>()[],;:\\\"@".contains(c) || !c.is_ascii()
    };
    let domain_ok = domain.split('.').count() >= 2
        && domain.split('.').all(|label| {
            !label.is_empty()
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    if local.is_empty() || local.len() > 64 || local.chars().any(forbidden) || !domain_ok {
        return Err(refused());
    }
    Ok(())
}

/// An invitation as stored: no token values, only its public id and state.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Invitation {
    /// The public id (the SHA-256 of the portal link's token): what `revoke` takes.
    pub id: String,
    /// The invited portal user.
    pub user_id: String,
    /// The address it was sent to.
    pub email: String,
    /// When it was made.
    pub created_at: OffsetDateTime,
    /// When both links stop working.
    pub expires_at: OffsetDateTime,
    /// When the user set their password through the portal link.
    pub accepted_at: Option<OffsetDateTime>,
    /// When a device enrolled through the registration link.
    pub registered_at: Option<OffsetDateTime>,
}

impl Invitation {
    /// Whether the links have expired at `at`.
    pub fn is_expired(&self, at: OffsetDateTime) -> bool {
        self.expires_at <= at
    }

    fn from_records(invitation: &TokenRecord, registration: Option<&TokenRecord>) -> Self {
        Self {
            id: invitation.token_hash.clone(),
            user_id: invitation.user_id.clone(),
            email: invitation.email.clone().unwrap_or_default(),
            created_at: invitation.created_at,
            expires_at: invitation.expires_at.unwrap_or(invitation.created_at),
            accepted_at: invitation.used_at,
            registered_at: registration.and_then(|r| r.used_at),
        }
    }
}

/// A just-sent invitation with its two links (secret: each lets its holder act once).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SentInvitation {
    /// The stored invitation.
    pub invitation: Invitation,
    /// The portal link (sets the first password).
    pub portal_link: Secret,
    /// The registration link (enrolls one device).
    pub registration_link: Secret,
}

/// Makes, sends, lists, revokes and accepts invitations. Every invitation and revocation
/// is written to the audit log (actor "admin" unless [`Invitations::with_actor`] names
/// another, actions `invitation.create` / `invitation.revoke`; `invitation.accept` with
/// the user as actor).
#[derive(Clone)]
pub struct Invitations {
    store: SharedStore,
    notifier: Arc<dyn Notifier>,
    links: EnrollmentLinks,
    template: InvitationTemplate,
    actor: String,
}

impl std::fmt::Debug for Invitations {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Invitations")
            .field("links", &self.links)
            .field("template", &self.template)
            .finish_non_exhaustive()
    }
}

impl Invitations {
    /// Invitations stored in `store`, sent through `notifier`, with links under `links`
    /// and the default template.
    pub fn new(store: SharedStore, notifier: Arc<dyn Notifier>, links: EnrollmentLinks) -> Self {
        Self {
            store,
            notifier,
            links,
            template: InvitationTemplate::default(),
            actor: "admin".to_owned(),
        }
    }

    /// Names `actor` (the signed-in administrator) in the audit log of the invitations
    /// made and revoked through this handle, instead of "admin".
    pub fn with_actor(mut self, actor: impl Into<String>) -> Self {
        self.actor = actor.into();
        self
    }

    /// Replaces the e-mail template.
    pub fn with_template(mut self, template: InvitationTemplate) -> Self {
        self.template = template;
        self
    }

    /// The links invitations point to.
    pub fn links(&self) -> &EnrollmentLinks {
        &self.links
    }

    /// Invites `user_id` at `email`: makes the portal and registration tokens (valid for
    /// `ttl`), sends the message and audits it. A user that does not exist yet is created
    /// with this address (no password); an existing user must have this address. When
    /// sending fails, both tokens are deleted and the notifier's error is returned
    /// (`notify_failed`); the user created, if any, stays.
    pub async fn invite(
        &self,
        user_id: &str,
        email: &str,
        ttl: Duration,
    ) -> Result<SentInvitation> {
        check_email(email)?;
        if ttl.is_zero() {
            return Err(Error::InvalidInput("invitation lifetime is zero".into()));
        }
        let user = match self.store.get_portal_user(user_id).await? {
            Some(user) => user,
            None => add_user(&self.store, user_id, email, None).await?,
        };
        if !user.email.eq_ignore_ascii_case(email) {
            return Err(Error::InvalidInput(format!(
                "portal user {user_id} has another e-mail address"
            )));
        }
        if !user.enabled {
            return Err(Error::InvalidInput(format!(
                "portal user {user_id} is disabled"
            )));
        }
        let created_at = now_micros();
        let expires_at = expiry(created_at, ttl)?;
        let invitation = issue_token(
            &self.store,
            TokenKind::Invitation,
            user_id,
            Some(email),
            None,
            created_at,
            expires_at,
        )
        .await?;
        let registration = match issue_token(
            &self.store,
            TokenKind::Enrollment,
            user_id,
            Some(email),
            Some(&invitation.record.token_hash),
            created_at,
            expires_at,
        )
        .await
        {
            Ok(token) => token,
            Err(error) => {
                self.store
                    .delete_token(&invitation.record.token_hash)
                    .await?;
                return Err(error);
            }
        };
        let portal_link = self
            .links
            .portal_link(invitation.value.expose_str().unwrap_or_default());
        let registration_link = self
            .links
            .registration_link(registration.value.expose_str().unwrap_or_default());
        let expires = expires_at
            .format(time::macros::format_description!(
                "[year]-[month]-[day] [hour]:[minute] UTC"
            ))
            .map_err(|e| Error::InvalidInput(format!("expiry: {e}")))?;
        let values = TemplateValues {
            name: user.name.as_deref().unwrap_or(&user.id),
            email,
            portal_link: &portal_link,
            registration_link: &registration_link,
            expires: &expires,
        };
        let id = invitation.record.token_hash.clone();
        let sent = match self.template.message(email, &values) {
            Ok(message) => self.notifier.send(message).await.map_err(Error::from),
            Err(error) => Err(error),
        };
        if let Err(error) = sent {
            self.store.delete_token(&id).await?;
            self.store
                .delete_token(&registration.record.token_hash)
                .await?;
            self.audit(&self.actor, "invitation.create", &id, user_id, error.code())
                .await?;
            return Err(error);
        }
        self.audit(&self.actor, "invitation.create", &id, user_id, "ok")
            .await?;
        Ok(SentInvitation {
            invitation: Invitation::from_records(&invitation.record, Some(&registration.record)),
            portal_link: Secret::from(portal_link),
            registration_link: Secret::from(registration_link),
        })
    }

    /// Revokes an invitation by id; see [`revoke_invitation`].
    pub async fn revoke(&self, id: &str) -> Result<bool> {
        revoke_invitation_as(&self.store, &self.actor, id).await
    }

    /// The invitations of one user, or of every user; see [`list_invitations`].
    pub async fn list(&self, user_id: Option<&str>) -> Result<Vec<Invitation>> {
        list_invitations(&self.store, user_id).await
    }

    /// Accepts an invitation from its portal link: sets the user's password (argon2id)
    /// and spends the token. An unknown, used, expired or revoked token is
    /// [`Error::TokenInvalid`]; an empty password is refused before the token is spent.
    /// Returns the user id.
    pub async fn accept(&self, invitation_token: &str, password: &str) -> Result<String> {
        accept_invitation(&self.store, invitation_token, password).await
    }

    async fn audit(
        &self,
        actor: &str,
        action: &str,
        id: &str,
        user_id: &str,
        outcome: &str,
    ) -> Result<()> {
        audit(&self.store, actor, action, id, user_id, outcome).await
    }
}

async fn audit(
    store: &SharedStore,
    actor: &str,
    action: &str,
    id: &str,
    user_id: &str,
    outcome: &str,
) -> Result<()> {
    let mut event = AuditEvent::new(actor, action);
    event.target = Some(id.to_string());
    event.detail = Some(serde_json::json!({ "outcome": outcome, "user": user_id }).to_string());
    store.append_audit_event(&event).await?;
    Ok(())
}

/// Accepts an invitation from its portal link (see [`Invitations::accept`]); needs only
/// the store. Returns the user id.
pub async fn accept_invitation(
    store: &SharedStore,
    invitation_token: &str,
    password: &str,
) -> Result<String> {
    if password.is_empty() {
        return Err(Error::InvalidInput("empty password".into()));
    }
    let hash = token_hash(invitation_token);
    match store.get_token(&hash).await? {
        Some(record) if record.kind == TokenKind::Invitation => {}
        _ => return Err(Error::TokenInvalid),
    }
    let record = store
        .use_token(&hash, OffsetDateTime::now_utc())
        .await?
        .ok_or(Error::TokenInvalid)?;
    set_password_as(store, &record.user_id, &record.user_id, password).await?;
    audit(
        store,
        &record.user_id,
        "invitation.accept",
        &hash,
        &record.user_id,
        "ok",
    )
    .await?;
    Ok(record.user_id)
}

/// Revokes an invitation by id: deletes its portal and registration tokens, so neither
/// link works any more (a device already enrolled through it stays enrolled, a password
/// already set stays). Returns whether there was such an invitation. Audited
/// (`invitation.revoke`, actor "admin"). Needs only the store (administration tools).
pub async fn revoke_invitation(store: &SharedStore, id: &str) -> Result<bool> {
    revoke_invitation_as(store, "admin", id).await
}

/// [`revoke_invitation`], audited with `actor` (the administrator who revoked it).
pub async fn revoke_invitation_as(store: &SharedStore, actor: &str, id: &str) -> Result<bool> {
    let Some(record) = store.get_token(id).await? else {
        return Ok(false);
    };
    if record.kind != TokenKind::Invitation {
        return Ok(false);
    }
    let registration = store
        .list_tokens(&record.user_id)
        .await?
        .into_iter()
        .find(|t| is_registration_of(t, &record));
    if let Some(registration) = registration {
        store.delete_token(&registration.token_hash).await?;
    }
    let deleted = store.delete_token(id).await?;
    audit(store, actor, "invitation.revoke", id, &record.user_id, "ok").await?;
    Ok(deleted)
}

/// The invitations of one user, or of every user (`None`), oldest first per user.
/// Needs only the store (administration tools).
pub async fn list_invitations(
    store: &SharedStore,
    user_id: Option<&str>,
) -> Result<Vec<Invitation>> {
    let users = match user_id {
        Some(user) => vec![user.to_string()],
        None => store
            .list_portal_users()
            .await?
            .into_iter()
            .map(|user| user.id)
            .collect(),
    };
    let mut invitations = Vec::new();
    for user in users {
        let tokens = store.list_tokens(&user).await?;
        for token in tokens.iter().filter(|t| t.kind == TokenKind::Invitation) {
            let registration = tokens.iter().find(|t| is_registration_of(t, token));
            invitations.push(Invitation::from_records(token, registration));
        }
    }
    Ok(invitations)
}

/// Whether `candidate` is the registration token made with `invitation`.
fn is_registration_of(candidate: &TokenRecord, invitation: &TokenRecord) -> bool {
    candidate.kind == TokenKind::Enrollment
        && candidate.user_id == invitation.user_id
        && candidate.invitation.as_deref() == Some(invitation.token_hash.as_str())
}

/// A fresh registration link for another device of `user_id` (single-use, valid `ttl`).
pub(crate) async fn registration_link(
    store: &SharedStore,
    links: &EnrollmentLinks,
    user_id: &str,
    ttl: Duration,
) -> Result<Secret> {
    if ttl.is_zero() {
        return Err(Error::InvalidInput(
            "registration link lifetime is zero".into(),
        ));
    }
    let created_at = now_micros();
    let token = issue_token(
        store,
        TokenKind::Enrollment,
        user_id,
        None,
        None,
        created_at,
        expiry(created_at, ttl)?,
    )
    .await?;
    Ok(Secret::from(links.registration_link(
        token.value.expose_str().unwrap_or_default(),
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_refuse_unknown_placeholders_and_render_in_one_pass() {
        assert!(InvitationTemplate::new("Hi", "{registration_link}").is_ok());
        for (subject, body) in [
            ("Hi {nmae}", "{portal_link}"),
            ("Hi", "{portal_link} {expiry}"),
            ("Hi", "no link"),
            ("", "{portal_link}"),
            ("two\nlines", "{portal_link}"),
        ] {
            let error = InvitationTemplate::new(subject, body).unwrap_err();
            assert_eq!(error.code(), "invalid_input", "{subject:?} {body:?}");
        }
        let template =
            InvitationTemplate::new("For {name}", "{ json } {portal_link} {registration_link}")
                .unwrap();
        let values = TemplateValues {
            name: "{portal_link}\nBcc: x",
            email: "a@example.com",
            portal_link: "P",
            registration_link: "R",
            expires: "E",
        };
        let message = template.message("a@example.com", &values).unwrap();
        assert_eq!(message.subject, "For {portal_link} Bcc: x");
        assert_eq!(message.text_body, "{ json } P R");
        assert_eq!(message.to, vec!["a@example.com".to_string()]);
        let default = InvitationTemplate::default();
        let message = default.message("a@example.com", &values).unwrap();
        assert!(message.text_body.contains("\n   P\n"));
        assert!(message.text_body.contains("\n   R\n"));
        assert!(message.text_body.contains(" E."));
    }

    #[test]
    fn links_need_https_and_carry_the_token() {
        let links = EnrollmentLinks::new(
            "https://portal.example.com/accept",
            "https://mdm.example.com/enroll?org=1",
        )
        .unwrap();
        assert_eq!(
            links.portal_link("abc"),
            "https://portal.example.com/accept?token=abc"
        );
        assert_eq!(
            links.registration_link("abc"),
            "https://mdm.example.com/enroll?org=1&token=abc"
        );
        assert!(EnrollmentLinks::new("http://localhost:8080/a", "https://x.example/b").is_ok());
        for (portal, registration) in [
            ("http://portal.example.com", "https://x.example"),
            ("https://portal.example.com", "ftp://x.example"),
            ("https://", "https://x.example"),
            ("https://p.example/#frag", "https://x.example"),
            ("https://p.example/a b", "https://x.example"),
            ("http://localhost.evil.example", "https://x.example"),
        ] {
            assert!(
                EnrollmentLinks::new(portal, registration).is_err(),
                "{portal} {registration}"
            );
        }
    }

    #[test]
    fn email_addresses_are_checked() {
        for good in ["a@example.com", "first.last+tag@mail.example.org"] {
            assert!(check_email(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "alice",
            "@example.com",
            "alice@",
            "alice@localhost",
            "a b@example.com",
            "alice@example.com\r\nBcc: x@example.com",
            "<alice@example.com>",
            "a@b@example.com",
            "alice@-example.com",
            "alice@example..com",
        ] {
            assert!(check_email(bad).is_err(), "{bad:?}");
        }
    }
}
