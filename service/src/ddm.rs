//! Declarative Device Management through the service: declarations in sets, their
//! assignment to enrollments, synchronisation, and what devices report. Declarations and
//! status cross as JSON (Apple's exact key names), so a binding mirrors no declaration type.

use mdmkit_core::ddm::serve::{declaration_states, typed_status_value};
use mdmkit_core::ddm::{Declaration, EffectiveDeclarations};
use mdmkit_core::engine::SyncOutcome;
use mdmkit_core::store::{DeclarationRecord, DeclarativeStatus};
use mdmkit_core::EnrollmentId;
use serde::Serialize;
use time::OffsetDateTime;

use crate::devices::ActionOutcome;
use crate::{Error, Mdm, Result};

/// A stored declaration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct DeclarationEntry {
    /// Its Identifier.
    pub identifier: String,
    /// Its Type (`com.apple.configuration.passcode.settings`...).
    pub declaration_type: String,
    /// The set it belongs to.
    pub set_name: String,
    /// Its ServerToken (derived from its content).
    pub server_token: String,
    /// The declaration as a device fetches it (JSON).
    pub json: String,
    /// When it was last stored with a new content (UTC).
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

impl From<DeclarationRecord> for DeclarationEntry {
    fn from(record: DeclarationRecord) -> Self {
        DeclarationEntry {
            identifier: record.identifier,
            declaration_type: record.declaration_type,
            set_name: record.set_name,
            server_token: record.server_token,
            json: record.json,
            updated_at: record.updated_at,
        }
    }
}

/// A declaration an enrollment gets, with the state its device last reported for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct EffectiveDeclaration {
    /// The declaration.
    pub declaration: DeclarationEntry,
    /// Whether the device reported it active (`None`: not reported).
    pub active: Option<bool>,
    /// Its validity as the device reported it (`valid`, `invalid`, `unknown`; `None`: not
    /// reported).
    pub valid: Option<String>,
}

/// What a synchronisation did for one enrollment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct SyncEntry {
    /// The enrollment.
    pub enrollment_id: String,
    /// `unchanged` (the device has the current token), `queued` or `refused`.
    pub outcome: String,
    /// The queued DeclarativeManagement command, when one was queued.
    pub command_uuid: Option<String>,
    /// Whether it was pushed.
    pub pushed: bool,
    /// Why it was refused or not pushed, in words.
    pub detail: Option<String>,
    /// The stable error code of a refusal.
    pub code: Option<String>,
}

impl SyncEntry {
    fn of(enrollment: &EnrollmentId, outcome: SyncOutcome) -> Self {
        let enrollment_id = enrollment.to_string();
        match outcome {
            SyncOutcome::Queued(queued) => {
                let action = ActionOutcome::from(queued);
                SyncEntry {
                    enrollment_id,
                    outcome: "queued".into(),
                    command_uuid: action.command_uuid,
                    pushed: action.pushed,
                    detail: (!action.pushed).then_some(action.push),
                    code: None,
                }
            }
            SyncOutcome::Refused(code, message) => SyncEntry {
                enrollment_id,
                outcome: "refused".into(),
                command_uuid: None,
                pushed: false,
                detail: Some(message),
                code: Some(code.to_owned()),
            },
            _ => SyncEntry {
                enrollment_id,
                outcome: "unchanged".into(),
                command_uuid: None,
                pushed: false,
                detail: None,
                code: None,
            },
        }
    }
}

/// What [`Declarations::declare`] did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct DeclareReport {
    /// The Identifiers stored.
    pub declared: Vec<String>,
    /// Those that are new or changed (a new ServerToken).
    pub changed: Vec<String>,
    /// The declarations as stored (the set's given ones, each with its ServerToken).
    pub records: Vec<DeclarationEntry>,
    /// The sets whose declarations changed (their enrollments need a synchronisation).
    pub changed_sets: Vec<String>,
    /// Whether the enrollments of those sets were synchronised: `false` when the
    /// deployment has no device CA (stored only; [`Declarations::sync`] them later).
    pub synchronised: bool,
    /// The enrollments of the sets that changed, synchronised.
    pub synced: Vec<SyncEntry>,
}

/// What [`Declarations::assign`], [`Declarations::unassign`] and
/// [`Declarations::delete`] did beyond storing the change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ChangeReport {
    /// Whether the enrollments concerned were synchronised: `false` when the deployment
    /// has no device CA (stored only; [`Declarations::sync`] them later).
    pub synchronised: bool,
    /// The enrollments synchronised (empty when not synchronised).
    pub synced: Vec<SyncEntry>,
}

impl ChangeReport {
    fn stored_only() -> Self {
        ChangeReport {
            synchronised: false,
            synced: Vec::new(),
        }
    }

    fn synced(entries: Vec<SyncEntry>) -> Self {
        ChangeReport {
            synchronised: true,
            synced: entries,
        }
    }
}

/// One status item a device reported.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct StatusItem {
    /// The item (`softwareupdate.install-state`...).
    pub item: String,
    /// Its value, as the device reported it (JSON).
    pub value: serde_json::Value,
    /// Its value as stored (JSON text, as the device sent it).
    pub value_json: String,
    /// Why the stored value does not fit Apple's schema for the item (`None`: it fits).
    pub schema_error: Option<String>,
    /// When (UTC).
    #[serde(with = "time::serde::rfc3339")]
    pub reported_at: OffsetDateTime,
}

/// What an enrollment reported through the status channel.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct StatusReport {
    /// Its status items.
    pub items: Vec<StatusItem>,
    /// The errors it reported (JSON).
    pub errors: serde_json::Value,
    /// The errors as stored (JSON text; `[]` when none).
    pub errors_json: String,
    /// When its last full report arrived (UTC).
    #[serde(with = "time::serde::rfc3339::option")]
    pub full_report_at: Option<OffsetDateTime>,
}

/// Declarative Device Management of a deployment (`Mdm::declarations`).
#[derive(Debug, Clone)]
pub struct Declarations {
    mdm: Mdm,
}

impl Mdm {
    /// Declarative Device Management: declarations, sets, synchronisation, status.
    pub fn declarations(&self) -> Declarations {
        Declarations { mdm: self.clone() }
    }
}

impl Declarations {
    /// Validates and stores declarations (one JSON object, or an array of them, each with
    /// Type, Identifier and Payload) in a set — all or none: a missing reference, a wrong
    /// type or an unbalanced predicate stores nothing — then, when the deployment has a
    /// device CA, synchronises the enrollments of every set that changed (the
    /// DeclarativeManagement command, queued and pushed). Without one they are stored only
    /// ([`DeclareReport::synchronised`] is `false`).
    pub async fn declare(&self, set_name: &str, json: &str) -> Result<DeclareReport> {
        let value: serde_json::Value = serde_json::from_str(json)
            .map_err(|e| Error::input(format!("the declarations are not JSON: {e}")))?;
        let list = match value {
            serde_json::Value::Array(items) => items,
            object => vec![object],
        };
        let declarations = list
            .iter()
            .map(Declaration::from_json)
            .collect::<std::result::Result<Vec<_>, _>>()?;
        self.declare_all(set_name, &declarations).await
    }

    /// As [`declare`](Self::declare), for declarations already parsed.
    pub async fn declare_all(
        &self,
        set_name: &str,
        declarations: &[Declaration],
    ) -> Result<DeclareReport> {
        let (declared, synced) = match self.mdm.engine() {
            Ok(engine) => {
                let done = engine.declare(set_name, declarations).await?;
                (done.declared, Some(done.synced))
            }
            Err(_) => (
                mdmkit_core::ddm::put_declarations(
                    self.mdm.store().as_ref(),
                    set_name,
                    declarations,
                )
                .await?,
                None,
            ),
        };
        Ok(DeclareReport {
            declared: declared
                .records
                .iter()
                .map(|record| record.identifier.clone())
                .collect(),
            changed: declared.changed,
            records: declared
                .records
                .into_iter()
                .map(DeclarationEntry::from)
                .collect(),
            changed_sets: declared.sets,
            synchronised: synced.is_some(),
            synced: synced
                .unwrap_or_default()
                .into_iter()
                .map(|(id, outcome)| SyncEntry::of(&id, outcome))
                .collect(),
        })
    }

    /// Every declaration, or one set's, by Identifier.
    pub async fn list(&self, set_name: Option<&str>) -> Result<Vec<DeclarationEntry>> {
        Ok(self
            .mdm
            .store()
            .list_declarations(set_name)
            .await?
            .into_iter()
            .map(DeclarationEntry::from)
            .collect())
    }

    /// The declarations an enrollment gets (its sets', less what its device does not
    /// support), by Identifier, each with the state its device last reported.
    pub async fn list_for(&self, enrollment_id: &str) -> Result<Vec<EffectiveDeclaration>> {
        let store = self.mdm.store();
        let id = EnrollmentId::new(enrollment_id);
        let effective = EffectiveDeclarations::of(store.as_ref(), &id).await?;
        let mut states = store
            .get_status(&id)
            .await?
            .map(|status| declaration_states(&status.items))
            .unwrap_or_default();
        Ok(effective
            .declarations
            .into_iter()
            .map(|record| {
                let state = states.remove(&record.identifier);
                EffectiveDeclaration {
                    declaration: record.into(),
                    active: state.as_ref().map(|(active, _)| *active),
                    valid: state.map(|(_, valid)| valid),
                }
            })
            .collect())
    }

    /// Deletes a declaration (refused while another refers to it) and, when the deployment
    /// has a device CA, synchronises its set's enrollments; `not_found` when there is none.
    pub async fn delete(&self, identifier: &str) -> Result<ChangeReport> {
        let not_found = || {
            Error::Core(mdmkit_core::Error::NotFound {
                kind: "declaration",
                id: identifier.to_owned(),
            })
        };
        match self.mdm.engine() {
            Ok(engine) => match engine.delete_declaration(identifier).await? {
                Some(synced) => Ok(ChangeReport::synced(
                    synced
                        .into_iter()
                        .map(|(id, outcome)| SyncEntry::of(&id, outcome))
                        .collect(),
                )),
                None => Err(not_found()),
            },
            Err(_) => {
                match mdmkit_core::ddm::delete_declaration(self.mdm.store().as_ref(), identifier)
                    .await?
                {
                    Some(_) => Ok(ChangeReport::stored_only()),
                    None => Err(not_found()),
                }
            }
        }
    }

    /// Assigns a set to an enrollment (device or user channel) and, when the deployment has
    /// a device CA, synchronises it (without one the assignment is stored only).
    pub async fn assign(&self, set_name: &str, enrollment_id: &str) -> Result<ChangeReport> {
        let id = EnrollmentId::new(enrollment_id);
        match self.mdm.engine() {
            Ok(engine) => {
                let outcome = engine.assign_declaration_set(set_name, &id).await?;
                Ok(ChangeReport::synced(vec![SyncEntry::of(&id, outcome)]))
            }
            Err(_) => {
                self.mdm
                    .store()
                    .assign_declaration_set(set_name, &id)
                    .await?;
                Ok(ChangeReport::stored_only())
            }
        }
    }

    /// Removes a set's assignment and, when the deployment has a device CA, synchronises
    /// the enrollment. Without one the removal is stored only, and a set that was not
    /// assigned is `invalid_input`.
    pub async fn unassign(&self, set_name: &str, enrollment_id: &str) -> Result<ChangeReport> {
        let id = EnrollmentId::new(enrollment_id);
        match self.mdm.engine() {
            Ok(engine) => {
                let outcome = engine.unassign_declaration_set(set_name, &id).await?;
                Ok(ChangeReport::synced(vec![SyncEntry::of(&id, outcome)]))
            }
            Err(_) => {
                if self
                    .mdm
                    .store()
                    .unassign_declaration_set(set_name, &id)
                    .await?
                {
                    Ok(ChangeReport::stored_only())
                } else {
                    Err(Error::input(format!(
                        "set {set_name} is not assigned to {id}"
                    )))
                }
            }
        }
    }

    /// Synchronises enrollments: each whose DeclarationsToken changed gets the
    /// DeclarativeManagement command and a push.
    pub async fn sync(&self, enrollment_ids: &[String]) -> Result<Vec<SyncEntry>> {
        let ids: Vec<EnrollmentId> = enrollment_ids.iter().map(EnrollmentId::new).collect();
        Ok(self
            .mdm
            .engine()?
            .sync_declarations(&ids)
            .await?
            .into_iter()
            .map(|(id, outcome)| SyncEntry::of(&id, outcome))
            .collect())
    }

    /// Turns declarative management on for an enrollment (the DeclarativeManagement
    /// command even when nothing changed).
    pub async fn enable(&self, enrollment_id: &str) -> Result<ActionOutcome> {
        let queued = self
            .mdm
            .engine()?
            .enable_declarative_management(&EnrollmentId::new(enrollment_id))
            .await?;
        Ok(queued.into())
    }

    /// What an enrollment reported (`None` before its first status report).
    pub async fn status(&self, enrollment_id: &str) -> Result<Option<StatusReport>> {
        let status = self
            .mdm
            .store()
            .get_status(&EnrollmentId::new(enrollment_id))
            .await?;
        Ok(status.map(|status| StatusReport::of(&status, None)))
    }

    /// What an enrollment reported, all of it or only one status item (e.g.
    /// `softwareupdate.install-state`), each value checked against Apple's schema.
    /// `not_found` before its first status report, or when it reported no such item.
    pub async fn status_report(
        &self,
        enrollment_id: &str,
        item: Option<&str>,
    ) -> Result<StatusReport> {
        let id = EnrollmentId::new(enrollment_id);
        let status = self.mdm.store().get_status(&id).await?.ok_or_else(|| {
            Error::Core(mdmkit_core::Error::NotFound {
                kind: "status report",
                id: id.to_string(),
            })
        })?;
        let report = StatusReport::of(&status, item);
        match item {
            Some(name) if report.items.is_empty() => {
                Err(Error::Core(mdmkit_core::Error::NotFound {
                    kind: "status item",
                    id: format!("{name} of {id}"),
                }))
            }
            _ => Ok(report),
        }
    }
}

impl StatusReport {
    /// The report of a stored status, only `item`'s when one is named.
    fn of(status: &DeclarativeStatus, item: Option<&str>) -> Self {
        let json = |text: &str| serde_json::from_str(text).unwrap_or(serde_json::Value::Null);
        StatusReport {
            items: status
                .items
                .iter()
                .filter(|record| item.is_none_or(|name| record.item == name))
                .map(|record| StatusItem {
                    item: record.item.clone(),
                    value: json(&record.value),
                    value_json: record.value.clone(),
                    schema_error: typed_status_value(record).err().map(|e| e.to_string()),
                    reported_at: record.reported_at,
                })
                .collect(),
            errors: json(&status.errors),
            errors_json: status.errors.clone(),
            full_report_at: status.full_report_at,
        }
    }
}
