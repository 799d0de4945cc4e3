//! Storing declarations: validation, references and server tokens before anything is
//! written.

use std::collections::{BTreeMap, BTreeSet};

use super::{check_references, Declaration};
use crate::store::{DeclarationRecord, DeclarationStore};
use crate::{Error, Result};

/// What [`put_declarations`] did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Declared {
    /// The records as stored.
    pub records: Vec<DeclarationRecord>,
    /// The Identifiers whose content (ServerToken) or set changed, or that are new.
    pub changed: Vec<String>,
    /// The sets whose declarations changed (their enrollments need a sync).
    pub sets: Vec<String>,
}

/// Validates `declarations` (schema, predicate, references against what the store holds
/// plus these) and stores them in `set_name`, all or none. An unchanged declaration keeps
/// its ServerToken and its time; nothing is written for it.
pub async fn put_declarations<S: DeclarationStore + ?Sized>(
    store: &S,
    set_name: &str,
    declarations: &[Declaration],
) -> Result<Declared> {
    if set_name.trim().is_empty() {
        return Err(Error::StoreInput("a declaration set needs a name".into()));
    }
    let mut seen = BTreeSet::new();
    for d in declarations {
        d.validate()?;
        if !seen.insert(d.identifier.as_str()) {
            return Err(Error::DeclarationInvalid {
                identifier: d.identifier.clone(),
                message: "the Identifier appears twice".into(),
            });
        }
    }
    let stored = store.list_declarations(None).await?;
    let existing: BTreeMap<String, String> = stored
        .iter()
        .map(|r| (r.identifier.clone(), r.declaration_type.clone()))
        .collect();
    check_references(declarations, &existing)?;
    let by_id: BTreeMap<&str, &DeclarationRecord> =
        stored.iter().map(|r| (r.identifier.as_str(), r)).collect();
    let mut out = Declared::default();
    let mut to_write = Vec::new();
    let mut sets = BTreeSet::new();
    for d in declarations {
        let token = d.server_token();
        let json = d.to_json().to_string();
        match by_id.get(d.identifier.as_str()) {
            Some(old) if old.server_token == token && old.set_name == set_name => {
                out.records.push((*old).clone());
            }
            old => {
                if let Some(old) = old {
                    sets.insert(old.set_name.clone());
                }
                sets.insert(set_name.to_owned());
                let record = DeclarationRecord::new(
                    &d.identifier,
                    d.declaration_type(),
                    set_name,
                    token,
                    json,
                );
                out.changed.push(d.identifier.clone());
                to_write.push(record.clone());
                out.records.push(record);
            }
        }
    }
    if !to_write.is_empty() {
        store.put_declarations(&to_write).await?;
    }
    out.sets = sets.into_iter().collect();
    Ok(out)
}

/// Deletes a declaration, refused with [`Error::DeclarationReference`] while another
/// declaration refers to it. Returns its set when it existed.
pub async fn delete_declaration<S: DeclarationStore + ?Sized>(
    store: &S,
    identifier: &str,
) -> Result<Option<String>> {
    let stored = store.list_declarations(None).await?;
    let Some(record) = stored.iter().find(|r| r.identifier == identifier) else {
        return Ok(None);
    };
    for other in stored.iter().filter(|r| r.identifier != identifier) {
        let json: serde_json::Value = serde_json::from_str(&other.json)
            .map_err(|e| Error::StoreBackend(format!("stored declaration unreadable: {e}")))?;
        let declaration = Declaration::from_json(&json)?;
        if let Some(reference) = declaration
            .references()
            .into_iter()
            .find(|r| r.target == identifier)
        {
            return Err(Error::DeclarationReference {
                identifier: other.identifier.clone(),
                key: reference.key,
                target: identifier.to_owned(),
                reason: "would no longer exist".into(),
            });
        }
    }
    store.delete_declaration(identifier).await?;
    Ok(Some(record.set_name.clone()))
}

/// An asset declaration (`com.apple.asset.data`, Identifier = the record's) for data the
/// server serves itself at `url` to devices authenticated as for MDM requests
/// (`Authentication.Type` `MDM`; see `Engine::handle_asset`), with the data's media type,
/// size and SHA-256 so the device can check what it downloads.
pub fn served_data_asset(
    url: impl Into<String>,
    data: &crate::store::AssetDataRecord,
) -> Result<Declaration> {
    use super::declarations::{
        AssetData, AssetDataAuthentication, AssetDataAuthenticationType, AssetDataReference,
    };
    let size = i64::try_from(data.data.len())
        .map_err(|_| Error::StoreInput("asset data too large".into()))?;
    let reference = AssetDataReference::new(url)
        .with_content_type(&data.content_type)
        .with_size(size)
        .with_hash_sha_256(&data.sha256);
    let asset = AssetData::new(reference).with_authentication(AssetDataAuthentication::new(
        AssetDataAuthenticationType::Mdm,
    ));
    Declaration::new(&data.identifier, asset)
}
