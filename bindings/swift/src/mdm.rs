//! The handles: [`Mdm`] and its sub-handles, objects over `mdmkit_service`'s. Every method
//! that touches the store or the network is async (Swift `async throws`) and runs on the
//! tokio runtime.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use mdmkit_service::{InitOptions, InstallInput, MdmConfig, MdmRequestParts};

use crate::records::{
    ActionOutcome, AdeToken, CommandStatus, DashboardEntry, Device, DevicePage, EnrollmentProfile,
    Header, HistoryEntry, InitReport, InstallReport, Invitation, MdmEvent, MdmRequest, MdmResponse,
    PendingCommand, PushCertificateStatus, Setting, TopicMismatch,
};
use crate::{MdmError, Result};

/// The handle on one mdmkit deployment: its store and everything assembled over it.
#[derive(Debug, uniffi::Object)]
pub struct Mdm(mdmkit_service::Mdm);

#[uniffi::export(async_runtime = "tokio")]
impl Mdm {
    /// Opens a store — an SQLite file (path or `sqlite:` URL) or `memory:` — with its at-rest
    /// key (64 hex digits; required for SQLite), applying pending migrations, and assembles
    /// the deployment from the settings kept in it. `settings` override stored settings for
    /// this handle only.
    #[uniffi::constructor]
    pub async fn open(
        store_url: String,
        key_hex: Option<String>,
        settings: HashMap<String, String>,
    ) -> Result<Arc<Self>> {
        // The module's own copy of `tracing` has no subscriber a program could set.
        mdmkit_service::quiet_tracing();
        let mut config = MdmConfig::new(store_url);
        if let Some(key) = key_hex {
            config = config.key_hex(key);
        }
        for (name, value) in settings {
            config = config.setting(name, value);
        }
        // Opening the store's pool is a future the compiler cannot prove `Send` for every
        // lifetime (sqlx's executors), which UniFFI's async exports require; it runs on a
        // blocking thread of the same runtime instead.
        let mdm = tokio::task::spawn_blocking(move || {
            tokio::runtime::Handle::current().block_on(mdmkit_service::Mdm::open(config))
        })
        .await
        .map_err(|e| MdmError::Failed {
            code: "store_backend".into(),
            message: format!("opening the store stopped: {e}"),
        })??;
        Ok(Arc::new(Self(mdm)))
    }

    /// Every setting, with its value unless it is secret.
    pub async fn settings(&self) -> Result<Vec<Setting>> {
        let list = self.0.settings().list().await?;
        Ok(list.into_iter().map(Setting::from).collect())
    }

    /// A setting's value (`nil` when unset); `setting_invalid` for a secret one.
    pub async fn setting(&self, name: String) -> Result<Option<String>> {
        Ok(self.0.settings().get(&name).await?)
    }

    /// Sets a setting, checked against its kind (URL, e-mail, PEM...).
    pub async fn set_setting(&self, name: String, value: String) -> Result<()> {
        Ok(self.0.settings().set(&name, &value).await?)
    }

    /// Removes a setting; returns whether it was set.
    pub async fn unset_setting(&self, name: String) -> Result<bool> {
        Ok(self.0.settings().unset(&name).await?)
    }

    /// The expiry dashboard: every installed push certificate, and the vendor certificate
    /// (PEM or DER) and ADE tokens given, soonest first, with days remaining and the
    /// 60-day flag.
    pub async fn expiry_dashboard(
        &self,
        vendor_certificate: Option<Vec<u8>>,
        ade_tokens: Vec<AdeToken>,
    ) -> Result<Vec<DashboardEntry>> {
        let mut others = mdmkit_service::OtherCredentials::default();
        others.vendor_certificate = vendor_certificate;
        others.ade_tokens = ade_tokens
            .into_iter()
            .map(|token| (token.name, time::OffsetDateTime::from(token.not_after)))
            .collect();
        let entries = self.0.expiry().dashboard(&others).await?;
        Ok(entries.into_iter().map(DashboardEntry::from).collect())
    }

    /// The portal's branding; `nil` until an administrator sets it.
    pub async fn branding(&self) -> Result<Option<crate::portal::PortalBranding>> {
        Ok(self.0.branding().await?.map(Into::into))
    }

    /// Sets the portal's branding (audited as `admin`): a name, optional `#RRGGBB`
    /// colours and an optional logo (PNG, JPEG or SVG bytes, at most 512 KiB). Bad input
    /// is `invalid_input` and stores nothing. Returns what was stored.
    pub async fn set_branding(
        &self,
        name: String,
        primary_colour: Option<String>,
        accent_colour: Option<String>,
        logo: Option<Vec<u8>>,
    ) -> Result<crate::portal::PortalBranding> {
        let stored = self
            .0
            .set_branding(
                &name,
                primary_colour.as_deref(),
                accent_colour.as_deref(),
                logo,
            )
            .await?;
        Ok(stored.into())
    }

    /// Push certificates: CSR, vendor signing, install and renew, status, history.
    pub fn push_certs(&self) -> Arc<PushCerts> {
        Arc::new(PushCerts(self.0.push_certs()))
    }

    /// Devices, their actions, queues and command results.
    pub fn devices(&self) -> Arc<Devices> {
        Arc::new(Devices(self.0.devices()))
    }

    /// Administrators' accounts and sessions.
    pub fn admins(&self) -> Arc<crate::portal::Admins> {
        Arc::new(crate::portal::Admins(self.0.admins()))
    }

    /// The self-service portal: sign-in, and sessions acting for their user.
    pub fn portal(&self) -> Arc<crate::portal::Portal> {
        Arc::new(crate::portal::Portal(self.0.portal()))
    }

    /// Users' certificates (PKCS#12) and the kinds they may upload, for administrators.
    pub fn user_certs(&self) -> Arc<crate::portal::UserCertificates> {
        Arc::new(crate::portal::UserCertificates(self.0.user_certs()))
    }

    /// Enrollment: `init`, the device CA, enrollment links and profiles, invitations.
    pub fn enrollment(&self) -> Arc<Enrollment> {
        Arc::new(Enrollment(self.0.enrollment()))
    }

    /// The engine's check-ins and results from now on, as a feed to pull from.
    pub fn events(&self) -> Arc<EventFeed> {
        Arc::new(EventFeed(tokio::sync::Mutex::new(self.0.events())))
    }

    /// The sans-IO MDM endpoint: one request of a device in, the answer out (for a front
    /// end that serves devices itself). Needs the device CA (`init`).
    pub async fn handle(&self, request: MdmRequest) -> Result<MdmResponse> {
        let mut parts = MdmRequestParts::new(request.method, request.path, request.body);
        for header in request.headers {
            parts = parts.header(header.name, header.value);
        }
        if let Some(der) = request.peer_certificate {
            parts = parts.peer_certificate(der);
        }
        let response = self.0.handle(parts).await?;
        Ok(MdmResponse {
            status: response.status,
            headers: response
                .headers
                .into_iter()
                .map(|(name, value)| Header { name, value })
                .collect(),
            body: response.body,
            error: response.error,
        })
    }
}

/// Push certificates of a deployment.
#[derive(Debug, uniffi::Object)]
pub struct PushCerts(mdmkit_service::PushCerts);

#[uniffi::export(async_runtime = "tokio")]
impl PushCerts {
    /// Step 1: a new key (kept, sealed, until Apple's certificate comes back) and its CSR
    /// (PEM), for the MDM vendor to sign.
    pub async fn create_request(
        &self,
        email: String,
        common_name: Option<String>,
    ) -> Result<String> {
        Ok(self
            .0
            .create_request(&email, common_name.as_deref())
            .await?)
    }

    /// Step 1 when this deployment is the vendor: key, CSR and vendor signature at once;
    /// returns the file to upload at Apple's Push Certificates Portal (base64 plist).
    #[allow(clippy::too_many_arguments)]
    pub async fn create_signed_request(
        &self,
        email: String,
        common_name: Option<String>,
        vendor_certificate: Vec<u8>,
        vendor_key: Vec<u8>,
        vendor_key_password: Option<String>,
        wwdr_certificate: Vec<u8>,
        apple_root_certificate: Vec<u8>,
    ) -> Result<String> {
        let mut vendor = mdmkit_service::push_certs::VendorInput::default();
        vendor.certificate = vendor_certificate;
        vendor.key = vendor_key;
        vendor.key_password = vendor_key_password;
        vendor.wwdr_certificate = wwdr_certificate;
        vendor.apple_root_certificate = apple_root_certificate;
        Ok(self
            .0
            .create_signed_request(&email, common_name.as_deref(), &vendor)
            .await?)
    }

    /// Step 3: installs Apple's certificate (PEM, DER, or PKCS#12 with `password`), first
    /// install or renewal of the same topic, recording the Apple ID used and a note.
    /// `key_pem`: the private key, when the CSR was not made here. After renewing an
    /// expired certificate the topic's devices are pushed; the report lists them.
    pub async fn install(
        &self,
        certificate: Vec<u8>,
        password: Option<String>,
        apple_id: String,
        note: Option<String>,
        key_pem: Option<Vec<u8>>,
    ) -> Result<InstallReport> {
        let mut input = InstallInput::new(certificate, apple_id);
        input.password = password;
        input.note = note;
        input.key_pem = key_pem;
        Ok(self.0.install(input).await?.into())
    }

    /// Every installed certificate with days remaining and the 60-day flag, by topic.
    pub async fn status(&self) -> Result<Vec<PushCertificateStatus>> {
        let status = self.0.status().await?;
        Ok(status
            .into_iter()
            .map(PushCertificateStatus::from)
            .collect())
    }

    /// Changes the Apple ID and/or the note of an installed certificate.
    pub async fn edit(
        &self,
        topic: String,
        apple_id: Option<String>,
        note: Option<String>,
    ) -> Result<PushCertificateStatus> {
        Ok(self.0.edit(&topic, apple_id, note).await?.into())
    }

    /// Deletes a topic's certificate and key (its devices cannot be managed until one is
    /// installed again); returns the note, which is kept.
    pub async fn delete(&self, topic: String) -> Result<Option<String>> {
        Ok(self.0.delete(&topic).await?)
    }

    /// A topic's history, oldest first.
    pub async fn history(&self, topic: String) -> Result<Vec<HistoryEntry>> {
        let history = self.0.history(&topic).await?;
        Ok(history.into_iter().map(HistoryEntry::from).collect())
    }

    /// Enrollments whose topic differs from every installed certificate's.
    pub async fn mismatched_enrollments(&self) -> Result<Vec<TopicMismatch>> {
        let entries = self.0.mismatched_enrollments().await?;
        Ok(entries.into_iter().map(TopicMismatch::from).collect())
    }
}

/// Devices of a deployment.
#[derive(Debug, uniffi::Object)]
pub struct Devices(mdmkit_service::Devices);

#[uniffi::export(async_runtime = "tokio")]
impl Devices {
    /// A page of at most `limit` (1 to 500) enrollments after the cursor `after`,
    /// optionally only those of one portal user.
    pub async fn list(
        &self,
        owner: Option<String>,
        after: Option<String>,
        limit: u32,
    ) -> Result<DevicePage> {
        Ok(self
            .0
            .list(owner.as_deref(), after.as_deref(), limit)
            .await?
            .into())
    }

    /// One enrollment; `not_found` when unknown.
    pub async fn get(&self, enrollment_id: String) -> Result<Device> {
        Ok(self.0.get(&enrollment_id).await?.into())
    }

    /// Locks the device (DeviceLock), with a message, a phone number and the PIN a Mac
    /// requires.
    pub async fn lock(
        &self,
        enrollment_id: String,
        message: Option<String>,
        phone_number: Option<String>,
        pin: Option<String>,
    ) -> Result<ActionOutcome> {
        let outcome = self
            .0
            .lock(&enrollment_id, message, phone_number, pin)
            .await?;
        Ok(outcome.into())
    }

    /// Clears the passcode (ClearPasscode with the stored UnlockToken).
    pub async fn unlock(&self, enrollment_id: String) -> Result<ActionOutcome> {
        Ok(self.0.unlock(&enrollment_id).await?.into())
    }

    /// Asks a device in Lost Mode for its location.
    pub async fn locate(&self, enrollment_id: String) -> Result<ActionOutcome> {
        Ok(self.0.locate(&enrollment_id).await?.into())
    }

    /// Erases the device (EraseDevice), with the six-digit PIN a Mac requires.
    pub async fn wipe(&self, enrollment_id: String, pin: Option<String>) -> Result<ActionOutcome> {
        Ok(self.0.wipe(&enrollment_id, pin).await?.into())
    }

    /// Removes the device from management (RemoveProfile of the enrollment profile).
    pub async fn retire(&self, enrollment_id: String) -> Result<ActionOutcome> {
        Ok(self.0.retire(&enrollment_id).await?.into())
    }

    /// Enables Lost Mode with a message and/or a phone number and footnote.
    pub async fn enable_lost_mode(
        &self,
        enrollment_id: String,
        message: Option<String>,
        phone_number: Option<String>,
        footnote: Option<String>,
    ) -> Result<ActionOutcome> {
        let outcome = self
            .0
            .enable_lost_mode(&enrollment_id, message, phone_number, footnote)
            .await?;
        Ok(outcome.into())
    }

    /// Disables Lost Mode.
    pub async fn disable_lost_mode(&self, enrollment_id: String) -> Result<ActionOutcome> {
        Ok(self.0.disable_lost_mode(&enrollment_id).await?.into())
    }

    /// Pushes the device so it checks in now (queues nothing).
    pub async fn check_in_now(&self, enrollment_id: String) -> Result<ActionOutcome> {
        Ok(self.0.check_in_now(&enrollment_id).await?.into())
    }

    /// Asks for DeviceInformation keys (Apple's names); empty: the usual set.
    pub async fn device_information(
        &self,
        enrollment_id: String,
        queries: Vec<String>,
    ) -> Result<ActionOutcome> {
        Ok(self
            .0
            .device_information(&enrollment_id, queries)
            .await?
            .into())
    }

    /// Installs a profile (`.mobileconfig` bytes, signed or not).
    pub async fn install_profile(
        &self,
        enrollment_id: String,
        profile: Vec<u8>,
    ) -> Result<ActionOutcome> {
        Ok(self
            .0
            .install_profile(&enrollment_id, profile)
            .await?
            .into())
    }

    /// Removes the profile with this PayloadIdentifier.
    pub async fn remove_profile(
        &self,
        enrollment_id: String,
        identifier: String,
    ) -> Result<ActionOutcome> {
        Ok(self
            .0
            .remove_profile(&enrollment_id, &identifier)
            .await?
            .into())
    }

    /// Queues any command given as JSON text with Apple's key names and its RequestType,
    /// checked against Apple's schema and the device.
    pub async fn enqueue_json(
        &self,
        enrollment_id: String,
        command_json: String,
    ) -> Result<ActionOutcome> {
        Ok(self
            .0
            .enqueue_json(&enrollment_id, &command_json)
            .await?
            .into())
    }

    /// The commands waiting in an enrollment's queue, in delivery order.
    pub async fn queue(&self, enrollment_id: String) -> Result<Vec<PendingCommand>> {
        let queue = self.0.queue(&enrollment_id).await?;
        Ok(queue.into_iter().map(PendingCommand::from).collect())
    }

    /// A command's state on each enrollment it was queued to, with the answers.
    pub async fn command_status(&self, command_uuid: String) -> Result<Vec<CommandStatus>> {
        let statuses = self.0.command_status(&command_uuid).await?;
        Ok(statuses.into_iter().map(CommandStatus::from).collect())
    }
}

/// Enrollment of a deployment.
#[derive(Debug, uniffi::Object)]
pub struct Enrollment(mdmkit_service::Enrollment);

#[uniffi::export(async_runtime = "tokio")]
impl Enrollment {
    /// Records the device CA (made, imported from `device_ca_certificate` and
    /// `device_ca_key` PEM, or kept) and the public URLs (`base_url` gives `/mdm`,
    /// `/enroll`, `/portal`, `/console`) and names; `nil` keeps a stored value. Every value
    /// is checked before any is written. Open the store again to use the new settings.
    /// (`mdmkit init`; named `initialize` because `init` is Swift's initialiser keyword.)
    #[allow(clippy::too_many_arguments)]
    pub async fn initialize(
        &self,
        base_url: Option<String>,
        enrollment_profile_id: Option<String>,
        organisation: Option<String>,
        admin_email: Option<String>,
        smtp_url: Option<String>,
        smtp_from: Option<String>,
        device_ca_certificate: Option<Vec<u8>>,
        device_ca_key: Option<Vec<u8>>,
    ) -> Result<InitReport> {
        let mut options = InitOptions::default();
        options.base_url = base_url;
        options.enrollment_profile_id = enrollment_profile_id;
        options.organisation = organisation;
        options.admin_email = admin_email;
        options.smtp_url = smtp_url;
        options.smtp_from = smtp_from;
        options.device_ca = match (device_ca_certificate, device_ca_key) {
            (Some(certificate), Some(key)) => Some((certificate, key)),
            (None, None) => None,
            _ => {
                return Err(MdmError::invalid_input(
                    "the device CA needs both its certificate and its key",
                ))
            }
        };
        Ok(self.0.init(options).await?.into())
    }

    /// The device CA's certificate (PEM).
    pub async fn device_ca_pem(&self) -> Result<String> {
        Ok(self.0.device_ca_pem().await?)
    }

    /// A one-time enrollment link for a portal user, valid for `ttl`.
    pub async fn create_link(&self, user_id: String, ttl: Duration) -> Result<Arc<EnrollmentLink>> {
        let link = self.0.create_link(&user_id, ttl).await?;
        Ok(Arc::new(EnrollmentLink(link)))
    }

    /// Redeems an enrollment link's token: the signed enrollment profile for its user;
    /// `token_invalid` when used, expired or unknown.
    pub async fn enroll(&self, token: String) -> Result<EnrollmentProfile> {
        let profile = self.0.enroll(&token).await?;
        Ok(EnrollmentProfile {
            profile: profile.profile,
            user_id: profile.user_id,
        })
    }

    /// Invites a portal user (created when new) by e-mail, with links valid for `ttl`;
    /// without SMTP settings the links are returned, not sent.
    pub async fn invite(
        &self,
        user_id: String,
        email: String,
        ttl: Duration,
    ) -> Result<Arc<InvitationReport>> {
        let report = self.0.invite(&user_id, &email, ttl).await?;
        Ok(Arc::new(InvitationReport(report)))
    }

    /// Invitations, optionally of one user, newest first.
    pub async fn invitations(&self, user_id: Option<String>) -> Result<Vec<Invitation>> {
        let list = self.0.invitations_list(user_id.as_deref()).await?;
        Ok(list.into_iter().map(Invitation::from).collect())
    }

    /// Revokes an invitation (both its links); returns whether it existed.
    pub async fn revoke_invitation(&self, id: String) -> Result<bool> {
        Ok(self.0.revoke_invitation(&id).await?)
    }
}

/// An enrollment link: its URL carries a one-time token, so `description` leaves it out.
#[derive(uniffi::Object)]
#[uniffi::export(Display)]
pub struct EnrollmentLink(pub(crate) mdmkit_service::EnrollmentLink);

impl std::fmt::Debug for EnrollmentLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&self.0, f)
    }
}

impl std::fmt::Display for EnrollmentLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "EnrollmentLink(user_id: {:?}, url: <secret>)",
            self.0.user_id
        )
    }
}

#[uniffi::export]
impl EnrollmentLink {
    /// The URL to open on the device (secret: it enrolls one device).
    pub fn url(&self) -> String {
        self.0.url.clone()
    }

    /// The user the device will belong to.
    pub fn user_id(&self) -> String {
        self.0.user_id.clone()
    }

    /// When it stops working.
    pub fn expires_at(&self) -> SystemTime {
        SystemTime::from(self.0.expires_at)
    }
}

/// An invitation that was made: its links are secrets, so `description` leaves them out.
#[derive(uniffi::Object)]
#[uniffi::export(Display)]
pub struct InvitationReport(mdmkit_service::InvitationReport);

impl std::fmt::Debug for InvitationReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&self.0, f)
    }
}

impl std::fmt::Display for InvitationReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "InvitationReport(id: {:?}, user_id: {:?}, sent: {}, links: <secret>)",
            self.0.invitation.id, self.0.invitation.user_id, self.0.sent
        )
    }
}

#[uniffi::export]
impl InvitationReport {
    /// The invitation.
    pub fn invitation(&self) -> Invitation {
        Invitation::from(self.0.invitation.clone())
    }

    /// The portal link that sets the first password (secret).
    pub fn portal_link(&self) -> String {
        self.0.portal_link.clone()
    }

    /// The registration link that enrolls one device (secret).
    pub fn registration_link(&self) -> String {
        self.0.registration_link.clone()
    }

    /// Whether it was e-mailed (SMTP configured).
    pub fn sent(&self) -> bool {
        self.0.sent
    }
}

/// The engine's check-ins and results, pulled one at a time.
#[derive(Debug, uniffi::Object)]
pub struct EventFeed(tokio::sync::Mutex<mdmkit_service::EventFeed>);

#[uniffi::export(async_runtime = "tokio")]
impl EventFeed {
    /// The next event, waiting for one; `nil` once the deployment is gone.
    pub async fn next(&self) -> Option<MdmEvent> {
        self.0.lock().await.next().await.map(MdmEvent::from)
    }

    /// The next event if one is waiting.
    pub async fn try_next(&self) -> Option<MdmEvent> {
        self.0.lock().await.try_next().map(MdmEvent::from)
    }

    /// How many events this feed skipped because it fell behind.
    pub async fn missed(&self) -> u64 {
        self.0.lock().await.missed()
    }
}
