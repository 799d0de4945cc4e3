//! [`MemoryStore`]: every store trait in process memory, for tests and demos.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;
use time::OffsetDateTime;

use super::model::*;
use super::{
    AdminStore, CommandQueue, ConfigurationStore, DeclarationStore, EnrollmentStore, PortalStore,
    PushCertificateStore, SettingsStore, UserCertificateStore,
};
use crate::{CommandStatus, EnrollmentId, Error, Result, Secret};

/// Every store trait in process memory. Secrets are kept in plain memory (wrapped in
/// [`Secret`], so never printed). Nothing survives the process.
#[derive(Debug, Default)]
pub struct MemoryStore {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    enrollments: BTreeMap<EnrollmentId, EnrollmentRecord>,
    devices: BTreeMap<String, DeviceRecord>,
    commands: HashMap<String, QueuedCommand>,
    targets: BTreeMap<(EnrollmentId, String), Target>,
    next_seq: u64,
    push_certificates: BTreeMap<String, PushCertificateRecord>,
    push_history: Vec<PushCertificateEvent>,
    notices: HashMap<String, OffsetDateTime>,
    csr_keys: BTreeMap<String, PendingCsrKey>,
    kinds: BTreeMap<String, CertificateKind>,
    user_certificates: BTreeMap<String, UserCertificateRecord>,
    configurations: BTreeMap<String, ConfigurationRecord>,
    assignments: BTreeMap<(String, AssignmentTarget), Assignment>,
    users: BTreeMap<String, PortalUser>,
    admins: BTreeMap<String, AdminUserRecord>,
    tokens: BTreeMap<String, TokenRecord>,
    privacy: PrivacySettings,
    privacy_overrides: BTreeMap<PrivacyScope, PrivacyOverride>,
    branding: Option<Branding>,
    sign_in_failures: HashMap<String, SignInFailures>,
    audit: Vec<AuditEvent>,
    settings: BTreeMap<String, SettingValue>,
    declarations: BTreeMap<String, DeclarationRecord>,
    declaration_sets: std::collections::BTreeSet<(EnrollmentId, String)>,
    statuses: BTreeMap<EnrollmentId, DeclarativeStatus>,
    synced_tokens: BTreeMap<EnrollmentId, String>,
    asset_data: BTreeMap<String, AssetDataRecord>,
}

/// Failed sign-ins of one account.
#[derive(Debug, Clone, Copy)]
struct SignInFailures {
    count: u32,
    locked_until: Option<OffsetDateTime>,
    last: OffsetDateTime,
}

/// One command queued to one enrollment.
#[derive(Debug, Clone)]
struct Target {
    seq: u64,
    priority: i32,
    status: Option<CommandStatus>,
    delivered_at: Option<OffsetDateTime>,
    result: Option<CommandResultRecord>,
    finished_at: Option<OffsetDateTime>,
}

impl Target {
    fn is_finished(&self) -> bool {
        self.status.is_some_and(CommandStatus::is_final)
    }
}

fn not_found(kind: &'static str, id: impl Into<String>) -> Error {
    Error::NotFound {
        kind,
        id: id.into(),
    }
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave a half-written record behind (every
        // method validates before it writes), so a poisoned lock is still usable.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn with_enrollment(
        &self,
        id: &EnrollmentId,
        change: impl FnOnce(&mut EnrollmentRecord),
    ) -> Result<()> {
        let mut inner = self.lock();
        let record = inner
            .enrollments
            .get_mut(id)
            .ok_or_else(|| not_found("enrollment", id.as_str()))?;
        change(record);
        record.updated_at = now_micros();
        Ok(())
    }
}

impl Inner {
    fn targets_of<'a>(
        &'a self,
        id: &'a EnrollmentId,
    ) -> impl Iterator<Item = (&'a String, &'a Target)> + 'a {
        self.targets
            .range((id.clone(), String::new())..)
            .take_while(move |((enrollment, _), _)| enrollment == id)
            .map(|((_, uuid), target)| (uuid, target))
    }
}

#[async_trait]
impl EnrollmentStore for MemoryStore {
    async fn put_enrollment(&self, record: &EnrollmentRecord) -> Result<()> {
        self.lock()
            .enrollments
            .insert(record.id.clone(), record.clone());
        Ok(())
    }

    async fn get_enrollment(&self, id: &EnrollmentId) -> Result<Option<EnrollmentRecord>> {
        Ok(self.lock().enrollments.get(id).cloned())
    }

    async fn get_enrollments(&self, ids: &[EnrollmentId]) -> Result<Vec<EnrollmentRecord>> {
        let inner = self.lock();
        let mut ids: Vec<&EnrollmentId> = ids.iter().collect();
        ids.sort();
        ids.dedup();
        Ok(ids
            .into_iter()
            .filter_map(|id| inner.enrollments.get(id).cloned())
            .collect())
    }

    async fn list_enrollments(&self, query: &EnrollmentQuery) -> Result<Vec<EnrollmentRecord>> {
        let inner = self.lock();
        let limit = query.limit.map_or(usize::MAX, |limit| limit as usize);
        Ok(inner
            .enrollments
            .values()
            .filter(|record| query.after.as_ref().is_none_or(|after| &record.id > after))
            .filter(|record| {
                query
                    .owner
                    .as_ref()
                    .is_none_or(|owner| record.owner.as_ref() == Some(owner))
            })
            .filter(|record| {
                query
                    .device_id
                    .as_ref()
                    .is_none_or(|device| record.id.device_part() == device)
            })
            .filter(|record| {
                query
                    .enabled
                    .is_none_or(|enabled| record.enabled == enabled)
            })
            .filter(|record| {
                query.identity_cert_sha256.as_ref().is_none_or(|hash| {
                    record.identity_cert_sha256.as_deref() == Some(hash.as_str())
                })
            })
            .take(limit)
            .cloned()
            .collect())
    }

    async fn delete_enrollment(&self, id: &EnrollmentId) -> Result<bool> {
        Ok(self.lock().enrollments.remove(id).is_some())
    }

    async fn set_push_info(&self, id: &EnrollmentId, push: &PushInfo) -> Result<()> {
        self.with_enrollment(id, |record| {
            let mut push = push.clone();
            push.invalid_since = None;
            record.push = Some(push);
            record.enabled = true;
        })
    }

    async fn get_push_info(&self, id: &EnrollmentId) -> Result<Option<PushInfo>> {
        Ok(self
            .lock()
            .enrollments
            .get(id)
            .and_then(|record| record.push.clone()))
    }

    async fn mark_push_token_invalid(
        &self,
        id: &EnrollmentId,
        token: &[u8],
        at: OffsetDateTime,
    ) -> Result<bool> {
        let mut inner = self.lock();
        let Some(record) = inner.enrollments.get_mut(id) else {
            return Ok(false);
        };
        match record.push.as_mut() {
            Some(push) if push.token == token => {
                push.invalid_since = Some(truncate_to_micros(at));
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn push_targets_for_topic(&self, topic: &str) -> Result<Vec<PushTarget>> {
        Ok(self
            .lock()
            .enrollments
            .values()
            .filter(|record| record.enabled)
            .filter_map(|record| {
                record
                    .push
                    .as_ref()
                    .filter(|push| push.topic == topic && push.is_valid())
                    .map(|push| PushTarget::new(record.id.clone(), push.clone()))
            })
            .collect())
    }

    async fn push_targets_for(&self, ids: &[EnrollmentId]) -> Result<Vec<PushTarget>> {
        let inner = self.lock();
        let mut ids: Vec<&EnrollmentId> = ids.iter().collect();
        ids.sort();
        ids.dedup();
        Ok(ids
            .into_iter()
            .filter_map(|id| inner.enrollments.get(id))
            .filter(|record| record.enabled)
            .filter_map(|record| {
                record
                    .push
                    .as_ref()
                    .filter(|push| push.is_valid())
                    .map(|push| PushTarget::new(record.id.clone(), push.clone()))
            })
            .collect())
    }

    async fn set_enabled(&self, id: &EnrollmentId, enabled: bool) -> Result<()> {
        self.with_enrollment(id, |record| record.enabled = enabled)
    }

    async fn set_unlock_token(&self, id: &EnrollmentId, token: Option<&Secret>) -> Result<()> {
        self.with_enrollment(id, |record| record.unlock_token = token.cloned())
    }

    async fn set_bootstrap_token(&self, id: &EnrollmentId, token: Option<&Secret>) -> Result<()> {
        self.with_enrollment(id, |record| record.bootstrap_token = token.cloned())
    }

    async fn set_owner(&self, id: &EnrollmentId, owner: Option<&str>) -> Result<()> {
        self.with_enrollment(id, |record| record.owner = owner.map(str::to_owned))
    }

    async fn touch_enrollment(&self, id: &EnrollmentId, at: OffsetDateTime) -> Result<()> {
        // Contact is not an edit of the record: `updated_at` stays.
        let mut inner = self.lock();
        let record = inner
            .enrollments
            .get_mut(id)
            .ok_or_else(|| not_found("enrollment", id.as_str()))?;
        record.last_seen = Some(truncate_to_micros(at));
        Ok(())
    }

    async fn put_device(&self, record: &DeviceRecord) -> Result<()> {
        self.lock()
            .devices
            .insert(record.device_id.clone(), record.clone());
        Ok(())
    }

    async fn get_device(&self, device_id: &str) -> Result<Option<DeviceRecord>> {
        Ok(self.lock().devices.get(device_id).cloned())
    }

    async fn get_devices(&self, device_ids: &[&str]) -> Result<Vec<DeviceRecord>> {
        let inner = self.lock();
        let mut device_ids = device_ids.to_vec();
        device_ids.sort_unstable();
        device_ids.dedup();
        Ok(device_ids
            .into_iter()
            .filter_map(|id| inner.devices.get(id).cloned())
            .collect())
    }
}

#[async_trait]
impl CommandQueue for MemoryStore {
    async fn enqueue(&self, command: &QueuedCommand, targets: &[EnrollmentId]) -> Result<()> {
        if targets.is_empty() {
            return Err(Error::StoreInput(format!(
                "command {:?} has no target",
                command.command_uuid
            )));
        }
        let mut inner = self.lock();
        match inner.commands.get(&command.command_uuid) {
            Some(existing) => {
                if existing.request_type != command.request_type
                    || existing.payload != command.payload
                    || existing.priority != command.priority
                {
                    return Err(Error::StoreConflict(format!(
                        "command {:?} is already queued with a different payload",
                        command.command_uuid
                    )));
                }
            }
            None => {
                let mut stored = command.clone();
                stored.created_at = truncate_to_micros(stored.created_at);
                inner.commands.insert(command.command_uuid.clone(), stored);
            }
        }
        for target in targets {
            let key = (target.clone(), command.command_uuid.clone());
            if inner.targets.contains_key(&key) {
                continue;
            }
            inner.next_seq += 1;
            let seq = inner.next_seq;
            inner.targets.insert(
                key,
                Target {
                    seq,
                    priority: command.priority,
                    status: None,
                    delivered_at: None,
                    result: None,
                    finished_at: None,
                },
            );
        }
        Ok(())
    }

    async fn next_command(
        &self,
        id: &EnrollmentId,
        request: &NextCommand,
    ) -> Result<Option<QueuedCommand>> {
        let mut inner = self.lock();
        let chosen = inner
            .targets_of(id)
            .filter(|(_, target)| !target.is_finished())
            .filter(|(_, target)| {
                !(request.skip_not_now && target.status == Some(CommandStatus::NotNow))
            })
            .filter(|(_, target)| {
                target
                    .delivered_at
                    .is_none_or(|delivered| delivered + request.redeliver_after <= request.at)
            })
            .min_by_key(|(_, target)| (std::cmp::Reverse(target.priority), target.seq))
            .map(|(uuid, _)| uuid.clone());
        let Some(uuid) = chosen else {
            return Ok(None);
        };
        if let Some(target) = inner.targets.get_mut(&(id.clone(), uuid.clone())) {
            target.delivered_at = Some(truncate_to_micros(request.at));
        }
        inner
            .commands
            .get(&uuid)
            .cloned()
            .map(Some)
            .ok_or_else(|| not_found("command", uuid))
    }

    async fn record_result(&self, id: &EnrollmentId, result: &CommandResultRecord) -> Result<()> {
        if result.status == CommandStatus::Idle {
            return Err(Error::StoreInput(
                "an Idle status carries no command result".to_owned(),
            ));
        }
        let mut inner = self.lock();
        let target = inner
            .targets
            .get_mut(&(id.clone(), result.command_uuid.clone()))
            .ok_or_else(|| Error::CommandNotQueued {
                command_uuid: result.command_uuid.clone(),
                enrollment: id.to_string(),
            })?;
        if target.is_finished() && !result.status.is_final() {
            return Ok(());
        }
        let mut stored = result.clone();
        stored.received_at = truncate_to_micros(stored.received_at);
        target.status = Some(result.status);
        target.delivered_at = None;
        target.finished_at = result.status.is_final().then_some(stored.received_at);
        target.result = Some(stored);
        Ok(())
    }

    async fn clear_pending(&self, id: &EnrollmentId) -> Result<u64> {
        let mut inner = self.lock();
        let before = inner.targets.len();
        inner
            .targets
            .retain(|(target_id, _), target| target_id != id || target.is_finished());
        Ok((before - inner.targets.len()) as u64)
    }

    async fn pending_commands(&self, id: &EnrollmentId) -> Result<Vec<PendingCommand>> {
        let inner = self.lock();
        let mut pending: Vec<(i32, u64, PendingCommand)> = inner
            .targets_of(id)
            .filter(|(_, target)| !target.is_finished())
            .filter_map(|(uuid, target)| {
                inner.commands.get(uuid).map(|command| {
                    (
                        target.priority,
                        target.seq,
                        PendingCommand {
                            command: command.clone(),
                            status: target.status,
                            delivered_at: target.delivered_at,
                        },
                    )
                })
            })
            .collect();
        pending.sort_by_key(|(priority, seq, _)| (std::cmp::Reverse(*priority), *seq));
        Ok(pending.into_iter().map(|(_, _, entry)| entry).collect())
    }

    async fn get_command(&self, command_uuid: &str) -> Result<Option<QueuedCommand>> {
        Ok(self.lock().commands.get(command_uuid).cloned())
    }

    async fn command_status(&self, command_uuid: &str) -> Result<Vec<CommandTargetStatus>> {
        Ok(self
            .lock()
            .targets
            .iter()
            .filter(|((_, uuid), _)| uuid == command_uuid)
            .map(|((enrollment, uuid), target)| CommandTargetStatus {
                enrollment_id: enrollment.clone(),
                command_uuid: uuid.clone(),
                status: target.status,
                delivered_at: target.delivered_at,
                result: target.result.clone(),
            })
            .collect())
    }

    async fn purge_finished(&self, finished_before: OffsetDateTime) -> Result<u64> {
        let mut inner = self.lock();
        let before = inner.targets.len();
        inner.targets.retain(|_, target| {
            target
                .finished_at
                .is_none_or(|finished| finished >= finished_before)
        });
        let removed = (before - inner.targets.len()) as u64;
        let still_referenced: std::collections::HashSet<String> =
            inner.targets.keys().map(|(_, uuid)| uuid.clone()).collect();
        inner
            .commands
            .retain(|uuid, _| still_referenced.contains(uuid));
        Ok(removed)
    }
}

#[async_trait]
impl PushCertificateStore for MemoryStore {
    async fn put_push_certificate(&self, record: &PushCertificateRecord) -> Result<()> {
        self.lock()
            .push_certificates
            .insert(record.topic.clone(), record.clone());
        Ok(())
    }

    async fn get_push_certificate(&self, topic: &str) -> Result<Option<PushCertificateRecord>> {
        Ok(self.lock().push_certificates.get(topic).cloned())
    }

    async fn list_push_certificates(&self) -> Result<Vec<PushCertificateRecord>> {
        Ok(self.lock().push_certificates.values().cloned().collect())
    }

    async fn delete_push_certificate(&self, topic: &str) -> Result<bool> {
        Ok(self.lock().push_certificates.remove(topic).is_some())
    }

    async fn append_push_certificate_event(&self, event: &PushCertificateEvent) -> Result<()> {
        self.lock().push_history.push(event.clone());
        Ok(())
    }

    async fn push_certificate_history(&self, topic: &str) -> Result<Vec<PushCertificateEvent>> {
        Ok(self
            .lock()
            .push_history
            .iter()
            .filter(|event| event.topic == topic)
            .cloned()
            .collect())
    }

    async fn put_pending_csr_key(&self, key: &PendingCsrKey) -> Result<()> {
        self.lock().csr_keys.insert(key.id.clone(), key.clone());
        Ok(())
    }

    async fn get_pending_csr_key(&self, id: &str) -> Result<Option<PendingCsrKey>> {
        Ok(self.lock().csr_keys.get(id).cloned())
    }

    async fn list_pending_csr_keys(&self) -> Result<Vec<PendingCsrKey>> {
        let mut keys: Vec<PendingCsrKey> = self.lock().csr_keys.values().cloned().collect();
        keys.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(keys)
    }

    async fn delete_pending_csr_key(&self, id: &str) -> Result<bool> {
        Ok(self.lock().csr_keys.remove(id).is_some())
    }

    async fn latest_push_certificate_events(&self) -> Result<Vec<PushCertificateEvent>> {
        let mut latest: BTreeMap<String, PushCertificateEvent> = BTreeMap::new();
        for event in &self.lock().push_history {
            latest.insert(event.topic.clone(), event.clone());
        }
        Ok(latest.into_values().collect())
    }

    async fn claim_notice(
        &self,
        key: &str,
        now: OffsetDateTime,
        min_interval: time::Duration,
    ) -> Result<bool> {
        let now = truncate_to_micros(now);
        let mut inner = self.lock();
        let quiet =
            inner
                .notices
                .get(key)
                .is_some_and(|claimed| match now.checked_sub(min_interval) {
                    Some(threshold) => *claimed > threshold,
                    None => true,
                });
        if quiet {
            return Ok(false);
        }
        inner.notices.insert(key.to_owned(), now);
        Ok(true)
    }

    async fn release_notice(&self, key: &str, claimed_at: OffsetDateTime) -> Result<bool> {
        let claimed_at = truncate_to_micros(claimed_at);
        let mut inner = self.lock();
        if inner.notices.get(key) == Some(&claimed_at) {
            inner.notices.remove(key);
            return Ok(true);
        }
        Ok(false)
    }
}

#[async_trait]
impl UserCertificateStore for MemoryStore {
    async fn put_certificate_kind(&self, kind: &CertificateKind) -> Result<()> {
        self.lock().kinds.insert(kind.id.clone(), kind.clone());
        Ok(())
    }

    async fn get_certificate_kind(&self, id: &str) -> Result<Option<CertificateKind>> {
        Ok(self.lock().kinds.get(id).cloned())
    }

    async fn list_certificate_kinds(&self) -> Result<Vec<CertificateKind>> {
        Ok(self.lock().kinds.values().cloned().collect())
    }

    async fn delete_certificate_kind(&self, id: &str) -> Result<bool> {
        Ok(self.lock().kinds.remove(id).is_some())
    }

    async fn put_user_certificate(&self, record: &UserCertificateRecord) -> Result<()> {
        self.lock()
            .user_certificates
            .insert(record.id.clone(), record.clone());
        Ok(())
    }

    async fn get_user_certificate(&self, id: &str) -> Result<Option<UserCertificateRecord>> {
        Ok(self.lock().user_certificates.get(id).cloned())
    }

    async fn list_user_certificates(&self, owner: &str) -> Result<Vec<UserCertificateRecord>> {
        let mut certificates: Vec<UserCertificateRecord> = self
            .lock()
            .user_certificates
            .values()
            .filter(|record| record.owner == owner)
            .cloned()
            .collect();
        certificates.sort_by(|a, b| (a.uploaded_at, &a.id).cmp(&(b.uploaded_at, &b.id)));
        Ok(certificates)
    }

    async fn delete_user_certificate(&self, id: &str) -> Result<bool> {
        Ok(self.lock().user_certificates.remove(id).is_some())
    }
}

#[async_trait]
impl ConfigurationStore for MemoryStore {
    async fn put_configuration(&self, record: &ConfigurationRecord) -> Result<()> {
        self.lock()
            .configurations
            .insert(record.id.clone(), record.clone());
        Ok(())
    }

    async fn get_configuration(&self, id: &str) -> Result<Option<ConfigurationRecord>> {
        Ok(self.lock().configurations.get(id).cloned())
    }

    async fn list_configurations(&self) -> Result<Vec<ConfigurationRecord>> {
        Ok(self.lock().configurations.values().cloned().collect())
    }

    async fn configurations_using_kind(&self, kind_id: &str) -> Result<Vec<ConfigurationRecord>> {
        Ok(self
            .lock()
            .configurations
            .values()
            .filter(|record| record.certificate_kinds.iter().any(|kind| kind == kind_id))
            .cloned()
            .collect())
    }

    async fn delete_configuration(&self, id: &str) -> Result<bool> {
        let mut inner = self.lock();
        inner
            .assignments
            .retain(|(configuration, _), _| configuration != id);
        Ok(inner.configurations.remove(id).is_some())
    }

    async fn assign_configuration(&self, assignment: &Assignment) -> Result<()> {
        let mut inner = self.lock();
        if !inner
            .configurations
            .contains_key(&assignment.configuration_id)
        {
            return Err(not_found(
                "configuration",
                assignment.configuration_id.as_str(),
            ));
        }
        let mut stored = assignment.clone();
        stored.assigned_at = truncate_to_micros(stored.assigned_at);
        inner
            .assignments
            .entry((
                assignment.configuration_id.clone(),
                assignment.target.clone(),
            ))
            .or_insert(stored);
        Ok(())
    }

    async fn unassign_configuration(
        &self,
        configuration_id: &str,
        target: &AssignmentTarget,
    ) -> Result<bool> {
        Ok(self
            .lock()
            .assignments
            .remove(&(configuration_id.to_owned(), target.clone()))
            .is_some())
    }

    async fn assignments_of_configuration(
        &self,
        configuration_id: &str,
    ) -> Result<Vec<Assignment>> {
        let mut assignments: Vec<Assignment> = self
            .lock()
            .assignments
            .values()
            .filter(|assignment| assignment.configuration_id == configuration_id)
            .cloned()
            .collect();
        assignments.sort_by(|a, b| {
            (a.target.kind(), a.target.id()).cmp(&(b.target.kind(), b.target.id()))
        });
        Ok(assignments)
    }

    async fn assignments_of_target(&self, target: &AssignmentTarget) -> Result<Vec<Assignment>> {
        Ok(self
            .lock()
            .assignments
            .values()
            .filter(|assignment| &assignment.target == target)
            .cloned()
            .collect())
    }
}

#[async_trait]
impl PortalStore for MemoryStore {
    async fn put_portal_user(&self, user: &PortalUser) -> Result<()> {
        put_account(&mut self.lock().users, user)
    }

    async fn get_portal_user(&self, id: &str) -> Result<Option<PortalUser>> {
        Ok(self.lock().users.get(id).cloned())
    }

    async fn find_portal_user_by_email(&self, email: &str) -> Result<Option<PortalUser>> {
        Ok(find_account_by_email(&self.lock().users, email))
    }

    async fn list_portal_users(&self) -> Result<Vec<PortalUser>> {
        Ok(self.lock().users.values().cloned().collect())
    }

    async fn delete_portal_user(&self, id: &str) -> Result<bool> {
        let inner = &mut *self.lock();
        Ok(delete_account(&mut inner.users, &mut inner.tokens, id))
    }

    async fn put_token(&self, token: &TokenRecord) -> Result<()> {
        let mut inner = self.lock();
        if inner.tokens.contains_key(&token.token_hash) {
            return Err(Error::StoreConflict(
                "a token with this hash is already stored".to_owned(),
            ));
        }
        inner.tokens.insert(token.token_hash.clone(), token.clone());
        Ok(())
    }

    async fn get_token(&self, token_hash: &str) -> Result<Option<TokenRecord>> {
        Ok(self.lock().tokens.get(token_hash).cloned())
    }

    async fn use_token(&self, token_hash: &str, at: OffsetDateTime) -> Result<Option<TokenRecord>> {
        let mut inner = self.lock();
        let Some(token) = inner.tokens.get_mut(token_hash) else {
            return Ok(None);
        };
        let expired = token.expires_at.is_some_and(|expires| expires <= at);
        if token.used_at.is_some() || expired {
            return Ok(None);
        }
        token.used_at = Some(truncate_to_micros(at));
        Ok(Some(token.clone()))
    }

    async fn list_tokens(&self, user_id: &str) -> Result<Vec<TokenRecord>> {
        let mut tokens: Vec<TokenRecord> = self
            .lock()
            .tokens
            .values()
            .filter(|token| token.user_id == user_id)
            .cloned()
            .collect();
        tokens.sort_by(|a, b| (a.created_at, &a.token_hash).cmp(&(b.created_at, &b.token_hash)));
        Ok(tokens)
    }

    async fn delete_token(&self, token_hash: &str) -> Result<bool> {
        Ok(self.lock().tokens.remove(token_hash).is_some())
    }

    async fn get_privacy_settings(&self) -> Result<PrivacySettings> {
        Ok(self.lock().privacy.clone())
    }

    async fn put_privacy_settings(&self, settings: &PrivacySettings) -> Result<()> {
        self.lock().privacy = settings.clone();
        Ok(())
    }

    async fn get_privacy_override(&self, scope: &PrivacyScope) -> Result<Option<PrivacyOverride>> {
        Ok(self.lock().privacy_overrides.get(scope).copied())
    }

    async fn put_privacy_override(
        &self,
        scope: &PrivacyScope,
        settings: &PrivacyOverride,
    ) -> Result<()> {
        self.lock()
            .privacy_overrides
            .insert(scope.clone(), *settings);
        Ok(())
    }

    async fn delete_privacy_override(&self, scope: &PrivacyScope) -> Result<bool> {
        Ok(self.lock().privacy_overrides.remove(scope).is_some())
    }

    async fn get_branding(&self) -> Result<Option<Branding>> {
        Ok(self.lock().branding.clone())
    }

    async fn put_branding(&self, branding: &Branding) -> Result<()> {
        let mut stored = branding.clone();
        stored.updated_at = truncate_to_micros(stored.updated_at);
        self.lock().branding = Some(stored);
        Ok(())
    }

    async fn record_sign_in_failure(
        &self,
        account: &str,
        at: OffsetDateTime,
        max_failures: u32,
        lockout: time::Duration,
    ) -> Result<Option<OffsetDateTime>> {
        let at = truncate_to_micros(at);
        let mut inner = self.lock();
        // Forget what has passed, as the SQL stores do.
        inner
            .sign_in_failures
            .retain(|_, f| f.last > at - lockout || f.locked_until.is_some_and(|u| u > at));
        let entry = inner
            .sign_in_failures
            .entry(account.to_owned())
            .or_insert(SignInFailures {
                count: 0,
                locked_until: None,
                last: at,
            });
        if entry.last <= at - lockout || entry.locked_until.is_some_and(|u| u <= at) {
            entry.count = 0;
            entry.locked_until = None;
        }
        entry.count += 1;
        entry.last = at;
        if entry.locked_until.is_none() && entry.count >= max_failures {
            entry.locked_until = Some(at + lockout);
        }
        Ok(entry.locked_until)
    }

    async fn sign_in_locked_until(
        &self,
        account: &str,
        at: OffsetDateTime,
    ) -> Result<Option<OffsetDateTime>> {
        Ok(self
            .lock()
            .sign_in_failures
            .get(account)
            .and_then(|f| f.locked_until)
            .filter(|until| *until > at))
    }

    async fn clear_sign_in_failures(&self, account: &str) -> Result<()> {
        self.lock().sign_in_failures.remove(account);
        Ok(())
    }

    async fn append_audit_event(&self, event: &AuditEvent) -> Result<i64> {
        let mut inner = self.lock();
        let id = inner.audit.len() as i64 + 1;
        let mut stored = event.clone();
        stored.id = id;
        stored.at = truncate_to_micros(stored.at);
        inner.audit.push(stored);
        Ok(id)
    }

    async fn list_audit_events(&self, query: &AuditQuery) -> Result<Vec<AuditEvent>> {
        let limit = query.limit.unwrap_or(100) as usize;
        Ok(self
            .lock()
            .audit
            .iter()
            .rev()
            .filter(|event| query.before_id.is_none_or(|before| event.id < before))
            .filter(|event| {
                query
                    .actor
                    .as_ref()
                    .is_none_or(|actor| &event.actor == actor)
            })
            .filter(|event| {
                query
                    .target
                    .as_ref()
                    .is_none_or(|target| event.target.as_ref() == Some(target))
            })
            .take(limit)
            .cloned()
            .collect())
    }
}

#[async_trait]
impl AdminStore for MemoryStore {
    async fn put_admin_user(&self, user: &AdminUserRecord) -> Result<()> {
        put_account(&mut self.lock().admins, user)
    }

    async fn get_admin_user(&self, id: &str) -> Result<Option<AdminUserRecord>> {
        Ok(self.lock().admins.get(id).cloned())
    }

    async fn find_admin_user_by_email(&self, email: &str) -> Result<Option<AdminUserRecord>> {
        Ok(find_account_by_email(&self.lock().admins, email))
    }

    async fn list_admin_users(&self) -> Result<Vec<AdminUserRecord>> {
        Ok(self.lock().admins.values().cloned().collect())
    }

    async fn delete_admin_user(&self, id: &str) -> Result<bool> {
        let inner = &mut *self.lock();
        Ok(delete_account(&mut inner.admins, &mut inner.tokens, id))
    }
}

/// Stores a portal user or an administrator; its e-mail address must not be another's of
/// the same kind (compared case-insensitively).
fn put_account<A: Account>(accounts: &mut BTreeMap<String, A>, account: &A) -> Result<()> {
    let view = account.view();
    let email = view.email.to_lowercase();
    if accounts.values().any(|other| {
        let other = other.view();
        other.id != view.id && other.email.to_lowercase() == email
    }) {
        return Err(Error::StoreConflict(format!(
            "another {} has the e-mail address {:?}",
            A::WHO,
            view.email
        )));
    }
    accounts.insert(view.id.to_owned(), account.clone());
    Ok(())
}

/// The account of this kind with the e-mail address, compared case-insensitively.
fn find_account_by_email<A: Account>(accounts: &BTreeMap<String, A>, email: &str) -> Option<A> {
    let email = email.to_lowercase();
    accounts
        .values()
        .find(|account| account.view().email.to_lowercase() == email)
        .cloned()
}

/// Deletes an account and the tokens of its kind (sessions, invitations) it owns.
fn delete_account<A: Account>(
    accounts: &mut BTreeMap<String, A>,
    tokens: &mut BTreeMap<String, TokenRecord>,
    id: &str,
) -> bool {
    tokens.retain(|_, token| token.user_id != id || !A::owns_token(token.kind));
    accounts.remove(id).is_some()
}

#[async_trait]
impl SettingsStore for MemoryStore {
    async fn get_setting(&self, name: &str) -> Result<Option<SettingValue>> {
        Ok(self.lock().settings.get(name).cloned())
    }

    async fn put_setting(&self, name: &str, value: &SettingValue) -> Result<()> {
        self.lock().settings.insert(name.to_owned(), value.clone());
        Ok(())
    }

    async fn delete_setting(&self, name: &str) -> Result<bool> {
        Ok(self.lock().settings.remove(name).is_some())
    }

    async fn list_settings(&self) -> Result<Vec<(String, SettingValue)>> {
        Ok(self
            .lock()
            .settings
            .iter()
            .map(|(name, value)| (name.clone(), value.clone()))
            .collect())
    }
}

#[async_trait]
impl DeclarationStore for MemoryStore {
    async fn put_declarations(&self, records: &[DeclarationRecord]) -> Result<()> {
        let mut inner = self.lock();
        for record in records {
            let mut stored = record.clone();
            stored.updated_at = truncate_to_micros(stored.updated_at);
            inner.declarations.insert(record.identifier.clone(), stored);
        }
        Ok(())
    }

    async fn get_declaration(&self, identifier: &str) -> Result<Option<DeclarationRecord>> {
        Ok(self.lock().declarations.get(identifier).cloned())
    }

    async fn list_declarations(&self, set_name: Option<&str>) -> Result<Vec<DeclarationRecord>> {
        Ok(self
            .lock()
            .declarations
            .values()
            .filter(|d| set_name.is_none_or(|set| d.set_name == set))
            .cloned()
            .collect())
    }

    async fn delete_declaration(&self, identifier: &str) -> Result<bool> {
        Ok(self.lock().declarations.remove(identifier).is_some())
    }

    async fn assign_declaration_set(
        &self,
        set_name: &str,
        enrollment: &EnrollmentId,
    ) -> Result<()> {
        self.lock()
            .declaration_sets
            .insert((enrollment.clone(), set_name.to_owned()));
        Ok(())
    }

    async fn unassign_declaration_set(
        &self,
        set_name: &str,
        enrollment: &EnrollmentId,
    ) -> Result<bool> {
        Ok(self
            .lock()
            .declaration_sets
            .remove(&(enrollment.clone(), set_name.to_owned())))
    }

    async fn declaration_sets_of(&self, enrollment: &EnrollmentId) -> Result<Vec<String>> {
        Ok(self
            .lock()
            .declaration_sets
            .iter()
            .filter(|(id, _)| id == enrollment)
            .map(|(_, set)| set.clone())
            .collect())
    }

    async fn enrollments_of_declaration_set(&self, set_name: &str) -> Result<Vec<EnrollmentId>> {
        Ok(self
            .lock()
            .declaration_sets
            .iter()
            .filter(|(_, set)| set == set_name)
            .map(|(id, _)| id.clone())
            .collect())
    }

    async fn declarations_for_enrollment(
        &self,
        enrollment: &EnrollmentId,
    ) -> Result<Vec<DeclarationRecord>> {
        let inner = self.lock();
        let sets: Vec<&String> = inner
            .declaration_sets
            .iter()
            .filter(|(id, _)| id == enrollment)
            .map(|(_, set)| set)
            .collect();
        Ok(inner
            .declarations
            .values()
            .filter(|d| sets.contains(&&d.set_name))
            .cloned()
            .collect())
    }

    async fn record_status(&self, enrollment: &EnrollmentId, update: &StatusUpdate) -> Result<()> {
        let mut inner = self.lock();
        let status = inner.statuses.entry(enrollment.clone()).or_default();
        if update.full_report {
            status.items.clear();
            status.full_report_at = Some(truncate_to_micros(update.received_at));
        }
        for item in &update.items {
            let mut stored = item.clone();
            stored.reported_at = truncate_to_micros(stored.reported_at);
            match status.items.iter_mut().find(|i| i.item == item.item) {
                Some(existing) => *existing = stored,
                None => status.items.push(stored),
            }
        }
        status.items.sort_by(|a, b| a.item.cmp(&b.item));
        status.errors = update.errors.clone();
        Ok(())
    }

    async fn get_status(&self, enrollment: &EnrollmentId) -> Result<Option<DeclarativeStatus>> {
        Ok(self.lock().statuses.get(enrollment).cloned())
    }

    async fn set_synced_declarations_token(
        &self,
        enrollment: &EnrollmentId,
        token: &str,
    ) -> Result<()> {
        self.lock()
            .synced_tokens
            .insert(enrollment.clone(), token.to_owned());
        Ok(())
    }

    async fn synced_declarations_token(&self, enrollment: &EnrollmentId) -> Result<Option<String>> {
        Ok(self.lock().synced_tokens.get(enrollment).cloned())
    }

    async fn put_asset_data(&self, record: &AssetDataRecord) -> Result<()> {
        let mut stored = record.clone();
        stored.updated_at = truncate_to_micros(stored.updated_at);
        self.lock()
            .asset_data
            .insert(record.identifier.clone(), stored);
        Ok(())
    }

    async fn get_asset_data(&self, identifier: &str) -> Result<Option<AssetDataRecord>> {
        Ok(self.lock().asset_data.get(identifier).cloned())
    }

    async fn delete_asset_data(&self, identifier: &str) -> Result<bool> {
        Ok(self.lock().asset_data.remove(identifier).is_some())
    }
}
