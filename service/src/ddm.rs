//! Declarative Device Management through the service: declarations in sets, their
//! assignment to enrollments, synchronisation, and what devices report. Declarations and
//! status cross as JSON (Apple's exact key names), so a binding mirrors no declaration type.

use mdmkit_core::ddm::Declaration;
use mdmkit_core::engine::SyncOutcome;
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
                }
            }
            SyncOutcome::Refused(code, message) => SyncEntry {
                enrollment_id,
                outcome: "refused".into(),
                command_uuid: None,
                pushed: false,
                detail: Some(format!("{code}: {message}")),
            },
            _ => SyncEntry {
                enrollment_id,
                outcome: "unchanged".into(),
                command_uuid: None,
                pushed: false,
                detail: None,
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
    /// The enrollments of the sets that changed, synchronised.
    pub synced: Vec<SyncEntry>,
}

/// One status item a device reported.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct StatusItem {
    /// The item (`softwareupdate.install-state`...).
    pub item: String,
    /// Its value, as the device reported it (JSON).
    pub value: serde_json::Value,
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
    /// type or an unbalanced predicate stores nothing — then synchronises the enrollments of
    /// every set that changed (the DeclarativeManagement command, queued and pushed).
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
        let done = self.mdm.engine()?.declare(set_name, &declarations).await?;
        Ok(DeclareReport {
            declared: done
                .declared
                .records
                .iter()
                .map(|record| record.identifier.clone())
                .collect(),
            changed: done.declared.changed,
            synced: done
                .synced
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
            .map(|record| DeclarationEntry {
                identifier: record.identifier,
                declaration_type: record.declaration_type,
                set_name: record.set_name,
                server_token: record.server_token,
                json: record.json,
            })
            .collect())
    }

    /// Deletes a declaration (refused while another refers to it) and synchronises its
    /// set's enrollments; `not_found` when there is none.
    pub async fn delete(&self, identifier: &str) -> Result<Vec<SyncEntry>> {
        match self.mdm.engine()?.delete_declaration(identifier).await? {
            Some(synced) => Ok(synced
                .into_iter()
                .map(|(id, outcome)| SyncEntry::of(&id, outcome))
                .collect()),
            None => Err(Error::Core(mdmkit_core::Error::NotFound {
                kind: "declaration",
                id: identifier.to_owned(),
            })),
        }
    }

    /// Assigns a set to an enrollment (device or user channel) and synchronises it.
    pub async fn assign(&self, set_name: &str, enrollment_id: &str) -> Result<SyncEntry> {
        let id = EnrollmentId::new(enrollment_id);
        let outcome = self
            .mdm
            .engine()?
            .assign_declaration_set(set_name, &id)
            .await?;
        Ok(SyncEntry::of(&id, outcome))
    }

    /// Removes a set's assignment and synchronises the enrollment.
    pub async fn unassign(&self, set_name: &str, enrollment_id: &str) -> Result<SyncEntry> {
        let id = EnrollmentId::new(enrollment_id);
        let outcome = self
            .mdm
            .engine()?
            .unassign_declaration_set(set_name, &id)
            .await?;
        Ok(SyncEntry::of(&id, outcome))
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
        let json = |text: &str| serde_json::from_str(text).unwrap_or(serde_json::Value::Null);
        Ok(status.map(|status| StatusReport {
            items: status
                .items
                .iter()
                .map(|item| StatusItem {
                    item: item.item.clone(),
                    value: json(&item.value),
                    reported_at: item.reported_at,
                })
                .collect(),
            errors: json(&status.errors),
            full_report_at: status.full_report_at,
        }))
    }
}
