//! What the administrators' console shows that no other handle has: the audit log.

use mdmkit_core::store::AuditQuery;
use serde::Serialize;
use time::OffsetDateTime;

use crate::{Mdm, Result};

/// One entry of the audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct AuditEntry {
    /// Its id (increasing).
    pub id: i64,
    /// When (UTC).
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// Who (a user id, an administrator id, `cli`...).
    pub actor: String,
    /// What (`portal.lock`, `privacy.set`...).
    pub action: String,
    /// On what (an enrollment id, a scope...).
    pub target: Option<String>,
    /// The outcome and details (JSON text).
    pub detail: Option<String>,
}

impl Mdm {
    /// The audit log, newest first: at most `limit` entries (at most 500) with an id below
    /// `before` when given (paging backwards).
    pub async fn audit_log(&self, before: Option<i64>, limit: u32) -> Result<Vec<AuditEntry>> {
        let mut query = AuditQuery::default();
        query.before_id = before;
        query.limit = Some(limit.clamp(1, 500));
        let events = self.store().list_audit_events(&query).await?;
        Ok(events
            .into_iter()
            .map(|event| AuditEntry {
                id: event.id,
                at: event.at,
                actor: event.actor,
                action: event.action,
                target: event.target,
                detail: event.detail,
            })
            .collect())
    }
}
