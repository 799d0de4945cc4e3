//! Declarative Device Management actions: declaring, assigning and synchronising.
//!
//! The check-in side (tokens, declaration-items, declarations, status) is answered by
//! [`CheckinHooks::declarative_management`](super::CheckinHooks::declarative_management)'s
//! default from the store. These actions change what the store holds and tell the devices
//! concerned: a device whose effective declarations changed (its DeclarationsToken is not
//! the one last sent) gets the `DeclarativeManagement` command with its new SyncTokens and
//! a push; a device whose declarations did not change gets nothing.

use std::collections::BTreeSet;

use super::{Engine, MdmRequest, MdmResponse, Queued};
use crate::ddm::serve::sync_command;
use crate::ddm::{Declaration, Declared, EffectiveDeclarations};
use crate::store::EnrollmentQuery;
use crate::{EnrollmentId, Error, Result};

/// What a synchronisation did for one enrollment.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SyncOutcome {
    /// The device already has the current DeclarationsToken: nothing queued or pushed.
    Unchanged,
    /// The `DeclarativeManagement` command was queued (and pushed when the device has a
    /// valid push token).
    Queued(Queued),
    /// The command could not be queued (the enrollment is disabled, or its device does
    /// not support declarative management): the error's code and message.
    Refused(&'static str, String),
}

/// What [`Engine::declare`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Declare {
    /// The declarations stored and which changed.
    pub declared: Declared,
    /// The enrollments of the sets that changed, and what their synchronisation did.
    pub synced: Vec<(EnrollmentId, SyncOutcome)>,
}

impl Engine {
    /// Validates and stores declarations in a set (see [`crate::ddm::put_declarations`]:
    /// nothing is stored when one is invalid or refers to a declaration that does not
    /// exist), then synchronises the enrollments of every set that changed.
    pub async fn declare(&self, set_name: &str, declarations: &[Declaration]) -> Result<Declare> {
        let declared =
            crate::ddm::put_declarations(self.store.as_ref(), set_name, declarations).await?;
        let synced = self.sync_sets(&declared.sets).await?;
        Ok(Declare { declared, synced })
    }

    /// Deletes a declaration (refused while another refers to it) and synchronises the
    /// enrollments of its set. `None` when it did not exist.
    pub async fn delete_declaration(
        &self,
        identifier: &str,
    ) -> Result<Option<Vec<(EnrollmentId, SyncOutcome)>>> {
        match crate::ddm::delete_declaration(self.store.as_ref(), identifier).await? {
            Some(set) => Ok(Some(self.sync_sets(&[set]).await?)),
            None => Ok(None),
        }
    }

    /// Assigns a declaration set to an enrollment and synchronises it.
    pub async fn assign_declaration_set(
        &self,
        set_name: &str,
        enrollment: &EnrollmentId,
    ) -> Result<SyncOutcome> {
        if set_name.trim().is_empty() {
            return Err(Error::StoreInput("a declaration set needs a name".into()));
        }
        self.enrollment(enrollment).await?;
        self.store
            .assign_declaration_set(set_name, enrollment)
            .await?;
        self.sync_one(enrollment).await
    }

    /// Removes a set's assignment and synchronises the enrollment.
    pub async fn unassign_declaration_set(
        &self,
        set_name: &str,
        enrollment: &EnrollmentId,
    ) -> Result<SyncOutcome> {
        self.store
            .unassign_declaration_set(set_name, enrollment)
            .await?;
        self.sync_one(enrollment).await
    }

    /// Synchronises enrollments: each whose DeclarationsToken differs from the one last
    /// sent gets the `DeclarativeManagement` command and a push.
    pub async fn sync_declarations(
        &self,
        enrollments: &[EnrollmentId],
    ) -> Result<Vec<(EnrollmentId, SyncOutcome)>> {
        let mut out = Vec::with_capacity(enrollments.len());
        for enrollment in enrollments {
            out.push((enrollment.clone(), self.sync_one(enrollment).await?));
        }
        Ok(out)
    }

    /// Turns declarative management on for an enrollment: sends the
    /// `DeclarativeManagement` command with its SyncTokens even when nothing changed (a
    /// device starts fetching declarations and sending status when it gets it).
    pub async fn enable_declarative_management(&self, enrollment: &EnrollmentId) -> Result<Queued> {
        let effective = EffectiveDeclarations::of(self.store.as_ref(), enrollment).await?;
        let queued = self
            .enqueue_command(enrollment, sync_command(&effective))
            .await?;
        self.store
            .set_synced_declarations_token(enrollment, &effective.declarations_token())
            .await?;
        Ok(queued)
    }

    async fn sync_sets(&self, sets: &[String]) -> Result<Vec<(EnrollmentId, SyncOutcome)>> {
        let mut enrollments = BTreeSet::new();
        for set in sets {
            enrollments.extend(self.store.enrollments_of_declaration_set(set).await?);
        }
        let enrollments: Vec<EnrollmentId> = enrollments.into_iter().collect();
        self.sync_declarations(&enrollments).await
    }

    async fn sync_one(&self, enrollment: &EnrollmentId) -> Result<SyncOutcome> {
        let effective = EffectiveDeclarations::of(self.store.as_ref(), enrollment).await?;
        let token = effective.declarations_token();
        let synced = self.store.synced_declarations_token(enrollment).await?;
        if synced.as_deref() == Some(token.as_str()) {
            return Ok(SyncOutcome::Unchanged);
        }
        match self
            .enqueue_command(enrollment, sync_command(&effective))
            .await
        {
            Ok(queued) => {
                self.store
                    .set_synced_declarations_token(enrollment, &token)
                    .await?;
                Ok(SyncOutcome::Queued(queued))
            }
            Err(error @ (Error::StoreBackend(_) | Error::StoreCrypto(_))) => Err(error),
            Err(error) => Ok(SyncOutcome::Refused(error.code(), error.to_string())),
        }
    }
}

impl Engine {
    /// Serves the data of an asset declaration the server stores itself
    /// ([`AssetDataRecord`](crate::store::AssetDataRecord)) to a device: a `GET`
    /// authenticated like an MDM request (an `Mdm-Signature` over the empty body, or the
    /// TLS client certificate). Only an asset among the effective declarations of one of
    /// the device's enrollments is served; any other (missing, or another device's) is
    /// the same 404. Authentication failures answer 400, never 401.
    ///
    /// The HTTP layer routes the asset URLs it gave in the declarations
    /// ([`served_data_asset`](crate::ddm::served_data_asset)) here with the Identifier.
    pub async fn handle_asset(&self, request: MdmRequest, identifier: &str) -> MdmResponse {
        if !request.method.eq_ignore_ascii_case("GET") {
            return MdmResponse::status(405);
        }
        match self.asset(&request, identifier).await {
            Ok(Some(record)) => MdmResponse {
                status: 200,
                headers: vec![("Content-Type".into(), record.content_type)],
                body: record.data,
                error: None,
            },
            Ok(None) => MdmResponse::status(404),
            Err(error) => MdmResponse::from_error(&error),
        }
    }

    async fn asset(
        &self,
        request: &MdmRequest,
        identifier: &str,
    ) -> Result<Option<crate::store::AssetDataRecord>> {
        let identity = self.identify(request)?;
        let query = EnrollmentQuery {
            identity_cert_sha256: Some(identity.sha256.clone()),
            ..EnrollmentQuery::default()
        };
        let Some(device) = self
            .store
            .list_enrollments(&query)
            .await?
            .into_iter()
            .next()
        else {
            return Err(Error::DeviceAuth(
                "the certificate is not bound to any enrollment".into(),
            ));
        };
        let query = EnrollmentQuery {
            device_id: Some(device.id.device_part().to_owned()),
            ..EnrollmentQuery::default()
        };
        for enrollment in self.store.list_enrollments(&query).await? {
            let effective = EffectiveDeclarations::of(self.store.as_ref(), &enrollment.id).await?;
            if effective.find("asset", identifier).is_some() {
                return self.store.get_asset_data(identifier).await;
            }
        }
        Ok(None)
    }
}
