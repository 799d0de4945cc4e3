//! The server side of the `DeclarativeManagement` check-in: which declarations an
//! enrollment gets, its tokens, its manifest, one declaration, and its status reports.

use std::collections::BTreeMap;

use plist::Value;
use serde_json::{Map, Value as Json};
use time::OffsetDateTime;

use super::protocol::{
    DeclarationItemsResponse, DeclarationItemsResponseDeclarations,
    DeclarationItemsResponseDeclarationsActivationsItem, StatusReport,
};
use super::{category_of, value_from_json_lenient, DeclarationCategory, STATUS_ITEMS};
use crate::codec::{KeyPath, PlistCodec};
use crate::store::{DeclarationRecord, DeclarationStore, StatusItemRecord, StatusUpdate, Store};
use crate::{EnrollmentId, Error, Result};

/// One entry of the declaration-items manifest (Identifier and ServerToken).
pub type DeclarationItem = DeclarationItemsResponseDeclarationsActivationsItem;

/// The status item a device reports its protocol capabilities in.
pub const CLIENT_CAPABILITIES: &str = "management.client-capabilities";

/// The status item a device reports its declarations' states in.
pub const DECLARATIONS_STATUS: &str = "management.declarations";

/// How deep a status report may nest (serde_json refuses more than 128 levels anyway).
pub const MAX_STATUS_DEPTH: usize = 64;

/// The declarations an enrollment gets: those of its assigned sets, less those whose Type
/// the device said (in its client capabilities) it does not support.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct EffectiveDeclarations {
    /// The declarations served, by Identifier.
    pub declarations: Vec<DeclarationRecord>,
    /// The declarations held back, with why.
    pub refused: Vec<(DeclarationRecord, String)>,
}

impl EffectiveDeclarations {
    /// Reads an enrollment's declarations and capabilities from the store.
    pub async fn of<S: DeclarationStore + ?Sized>(
        store: &S,
        enrollment: &EnrollmentId,
    ) -> Result<Self> {
        let assigned = store.declarations_for_enrollment(enrollment).await?;
        let capabilities = match store.get_status(enrollment).await? {
            Some(status) => status
                .items
                .into_iter()
                .find(|i| i.item == CLIENT_CAPABILITIES)
                .and_then(|i| serde_json::from_str::<Json>(&i.value).ok()),
            None => None,
        };
        Ok(Self::filter(assigned, capabilities.as_ref()))
    }

    /// Splits `assigned` by what `capabilities` (the client-capabilities status item's
    /// value, when the device reported one) says the device supports.
    pub fn filter(assigned: Vec<DeclarationRecord>, capabilities: Option<&Json>) -> Self {
        let supported = capabilities
            .and_then(|c| c.pointer("/supported-payloads/declarations"))
            .and_then(Json::as_object);
        let mut out = Self::default();
        for record in assigned {
            let category = category_of(&record.declaration_type);
            let list = match (supported, category) {
                (Some(supported), Some(category)) => supported
                    .get(&format!("{}s", category.as_str()))
                    .or_else(|| supported.get(category.as_str()))
                    .and_then(Json::as_array),
                _ => None,
            };
            match list {
                Some(types)
                    if !types
                        .iter()
                        .any(|t| t.as_str() == Some(record.declaration_type.as_str())) =>
                {
                    let why = format!(
                        "the device does not support {} declarations",
                        record.declaration_type
                    );
                    out.refused.push((record, why));
                }
                _ => out.declarations.push(record),
            }
        }
        out
    }

    /// The DeclarationsToken: the SHA-256 (hex) of the Identifiers and ServerTokens,
    /// sorted. It changes exactly when the set of declarations or one of them changes.
    pub fn declarations_token(&self) -> String {
        let mut pairs: Vec<(&str, &str)> = self
            .declarations
            .iter()
            .map(|d| (d.identifier.as_str(), d.server_token.as_str()))
            .collect();
        pairs.sort_unstable();
        let mut text = String::new();
        for (identifier, token) in pairs {
            text.push_str(identifier);
            text.push('\0');
            text.push_str(token);
            text.push('\n');
        }
        hex::encode(openssl::sha::sha256(text.as_bytes()))
    }

    /// The SyncTokens the device gets from the `tokens` endpoint and in the
    /// `DeclarativeManagement` command: the DeclarationsToken and the time of the newest
    /// change (the Unix epoch when there is none).
    pub fn sync_tokens(&self) -> Json {
        let newest = self
            .declarations
            .iter()
            .map(|d| d.updated_at)
            .max()
            .unwrap_or(OffsetDateTime::UNIX_EPOCH);
        let timestamp = newest
            .replace_nanosecond(0)
            .unwrap_or(newest)
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        serde_json::json!({
            "SyncTokens": {
                "DeclarationsToken": self.declarations_token(),
                "Timestamp": timestamp,
            }
        })
    }

    /// The declaration-items manifest.
    pub fn manifest(&self) -> DeclarationItemsResponse {
        let mut by_category: BTreeMap<DeclarationCategory, Vec<DeclarationItem>> = BTreeMap::new();
        for d in &self.declarations {
            if let Some(category) = category_of(&d.declaration_type) {
                by_category
                    .entry(category)
                    .or_default()
                    .push(DeclarationItem::new(&d.identifier, &d.server_token));
            }
        }
        let mut take = |c| by_category.remove(&c).unwrap_or_default();
        let declarations = DeclarationItemsResponseDeclarations::new(
            take(DeclarationCategory::Activation),
            take(DeclarationCategory::Configuration),
            take(DeclarationCategory::Asset),
            take(DeclarationCategory::Management),
        );
        DeclarationItemsResponse::new(declarations, self.declarations_token())
    }

    /// The declaration served at `declaration/<category>/<identifier>`, if the enrollment
    /// gets it.
    pub fn find(&self, category: &str, identifier: &str) -> Option<&DeclarationRecord> {
        let category = DeclarationCategory::parse(category)?;
        self.declarations.iter().find(|d| {
            d.identifier == identifier && category_of(&d.declaration_type) == Some(category)
        })
    }
}

/// A JSON value as bytes (serde_json cannot fail on a `Value`).
pub fn json_bytes(json: &Json) -> Vec<u8> {
    serde_json::to_vec(json).unwrap_or_default()
}

/// A plist value written with the protocol's JSON conventions.
pub fn protocol_json<T: PlistCodec>(message: &T) -> Json {
    crate::json::plist_to_json(&message.to_plist())
}

/// What the engine answers a `DeclarativeManagement` request.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DeclarativeReply {
    /// 200 with a JSON body.
    Json(Vec<u8>),
    /// 200 with no body (a status report was stored).
    Empty,
    /// 404: no such endpoint, or a declaration the enrollment does not get (a missing
    /// declaration and another enrollment's look the same).
    NotFound,
}

/// Answers one `DeclarativeManagement` request of `enrollment`: `tokens`,
/// `declaration-items`, `declaration/<category>/<identifier>` or `status` (whose body,
/// `data`, is the status report).
pub async fn respond(
    store: &dyn Store,
    enrollment: &EnrollmentId,
    endpoint: &str,
    data: Option<&[u8]>,
) -> Result<DeclarativeReply> {
    let endpoint = endpoint.trim_start_matches('/');
    if endpoint == "status" {
        let body = data.ok_or_else(|| {
            Error::DeclarativeRequest("the status endpoint needs a status report".into())
        })?;
        let mut update = parse_status_report(body)?;
        if !update.full_report {
            merge_removable_lists(store, enrollment, &mut update).await?;
        }
        store.record_status(enrollment, &update).await?;
        return Ok(DeclarativeReply::Empty);
    }
    let effective = EffectiveDeclarations::of(store, enrollment).await?;
    Ok(match endpoint.split('/').collect::<Vec<_>>().as_slice() {
        ["tokens"] => DeclarativeReply::Json(json_bytes(&effective.sync_tokens())),
        ["declaration-items"] => {
            DeclarativeReply::Json(json_bytes(&protocol_json(&effective.manifest())))
        }
        ["declaration", category, identifier] => match effective.find(category, identifier) {
            Some(record) => DeclarativeReply::Json(record.json.clone().into_bytes()),
            None => DeclarativeReply::NotFound,
        },
        _ => DeclarativeReply::NotFound,
    })
}

/// Reads a status report (JSON) into what the store keeps: one record per status item
/// (the nested `StatusItems` object flattened to dotted names, each value checked against
/// its item's schema when the item is known), and the `Errors` array.
pub fn parse_status_report(body: &[u8]) -> Result<StatusUpdate> {
    let bad = |message: String| Error::DeclarativeRequest(message);
    let json: Json = serde_json::from_slice(body)
        .map_err(|e| bad(format!("the status report is not JSON: {e}")))?;
    let depth = json_depth(&json);
    if depth > MAX_STATUS_DEPTH {
        return Err(bad(format!(
            "the status report nests {depth} levels (at most {MAX_STATUS_DEPTH})"
        )));
    }
    let Json::Object(object) = &json else {
        return Err(bad("the status report is not a JSON object".into()));
    };
    // Types are checked (a device's report may lack keys the schema calls required).
    let report_keys = super::protocol::status_report::INFO.keys;
    let dict =
        super::dictionary_from_json_lenient(object, report_keys, &KeyPath::named("StatusReport"))?;
    let report =
        StatusReport::from_plist(Value::Dictionary(dict), &KeyPath::named("StatusReport"))?;
    let mut items = Vec::new();
    if let Some(Json::Object(status_items)) = object.get("StatusItems") {
        flatten_items(status_items, "", &mut items)?;
    }
    let errors = object
        .get("Errors")
        .cloned()
        .unwrap_or_else(|| Json::Array(Vec::new()));
    Ok(StatusUpdate::new(
        items,
        errors.to_string(),
        report.full_report.unwrap_or(false),
    ))
}

fn json_depth(json: &Json) -> usize {
    // Iterative, so a deep value cannot exhaust the stack here.
    let mut deepest = 0;
    let mut stack = vec![(json, 1usize)];
    while let Some((value, depth)) = stack.pop() {
        deepest = deepest.max(depth);
        match value {
            Json::Array(items) => stack.extend(items.iter().map(|v| (v, depth + 1))),
            Json::Object(object) => stack.extend(object.values().map(|v| (v, depth + 1))),
            _ => {}
        }
    }
    deepest
}

fn flatten_items(
    object: &Map<String, Json>,
    prefix: &str,
    out: &mut Vec<StatusItemRecord>,
) -> Result<()> {
    for (key, value) in object {
        let name = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        let known = STATUS_ITEMS.iter().find(|info| info.name == name);
        match (known, value) {
            (Some(info), _) => {
                // Typed, so values of the wrong type are refused; values a newer OS adds
                // to a list and unknown keys are kept.
                let key_info = &info.keys[0];
                let path = KeyPath::named(info.name);
                let plist = value_from_json_lenient(value, Some(key_info), &path)?;
                super::StatusValue::from_value(info.name, plist)?;
                out.push(StatusItemRecord::new(name, value.to_string()));
            }
            (None, Json::Object(inner))
                if STATUS_ITEMS
                    .iter()
                    .any(|info| info.name.starts_with(&format!("{name}."))) =>
            {
                flatten_items(inner, &name, out)?;
            }
            (None, _) => out.push(StatusItemRecord::new(name, value.to_string())),
        }
    }
    Ok(())
}

/// Whether a status item is a list whose incremental reports carry only the changed
/// entries (keyed by `identifier`, removals marked `_removed`), as the schema says.
pub fn is_removable_list(item: &str) -> bool {
    STATUS_ITEMS
        .iter()
        .find(|info| info.name == item)
        .and_then(|info| info.keys[0].item)
        .is_some_and(|entry| entry.key("_removed").is_some())
}

/// Merges the list items of an incremental report into what is stored: entries replace
/// the stored entry with the same `identifier`, `_removed: true` removes it.
async fn merge_removable_lists(
    store: &dyn Store,
    enrollment: &EnrollmentId,
    update: &mut StatusUpdate,
) -> Result<()> {
    if !update.items.iter().any(|i| is_removable_list(&i.item)) {
        return Ok(());
    }
    let Some(stored) = store.get_status(enrollment).await? else {
        return Ok(());
    };
    for item in update
        .items
        .iter_mut()
        .filter(|i| is_removable_list(&i.item))
    {
        let Some(old) = stored.items.iter().find(|o| o.item == item.item) else {
            continue;
        };
        let (Ok(Json::Array(old)), Ok(Json::Array(new))) = (
            serde_json::from_str::<Json>(&old.value),
            serde_json::from_str::<Json>(&item.value),
        ) else {
            continue;
        };
        item.value = Json::Array(merge_entries(old, new)).to_string();
    }
    Ok(())
}

/// `old` with `new`'s entries applied by `identifier` (see [`is_removable_list`]).
pub fn merge_entries(mut old: Vec<Json>, new: Vec<Json>) -> Vec<Json> {
    for entry in new {
        let identifier = entry.get("identifier").cloned();
        let position = identifier
            .as_ref()
            .and_then(|id| old.iter().position(|o| o.get("identifier") == Some(id)));
        let removed = entry.get("_removed").and_then(Json::as_bool) == Some(true);
        match (position, removed) {
            (Some(at), true) => {
                old.remove(at);
            }
            (None, true) => {}
            (Some(at), false) => old[at] = entry,
            (None, false) => old.push(entry),
        }
    }
    old
}

/// The typed value of a stored status item (unknown items as
/// [`StatusValue::Other`](super::StatusValue::Other)).
pub fn typed_status_value(item: &StatusItemRecord) -> Result<super::StatusValue> {
    let json: Json = serde_json::from_str(&item.value)
        .map_err(|e| Error::DeclarativeRequest(format!("stored status {}: {e}", item.item)))?;
    let info = STATUS_ITEMS.iter().find(|info| info.name == item.item);
    let path = KeyPath::named(&item.item);
    let plist = value_from_json_lenient(&json, info.map(|i| &i.keys[0]), &path)?;
    super::StatusValue::from_value(&item.item, plist)
}

/// The declarations' states from a stored `management.declarations` item: Identifier to
/// (active, valid).
pub fn declaration_states(items: &[StatusItemRecord]) -> BTreeMap<String, (bool, String)> {
    let mut out = BTreeMap::new();
    let Some(item) = items.iter().find(|i| i.item == DECLARATIONS_STATUS) else {
        return out;
    };
    let Ok(Json::Object(object)) = serde_json::from_str::<Json>(&item.value) else {
        return out;
    };
    for list in object.values().filter_map(Json::as_array) {
        for d in list {
            if let Some(identifier) = d.get("identifier").and_then(Json::as_str) {
                let active = d.get("active").and_then(Json::as_bool).unwrap_or(false);
                let valid = d
                    .get("valid")
                    .and_then(Json::as_str)
                    .unwrap_or("unknown")
                    .to_owned();
                out.insert(identifier.to_owned(), (active, valid));
            }
        }
    }
    out
}

/// The `DeclarativeManagement` command that tells a device to synchronise, carrying its
/// SyncTokens.
pub fn sync_command(effective: &EffectiveDeclarations) -> crate::command::DeclarativeManagement {
    crate::command::DeclarativeManagement::new().with_data(crate::codec::Data::new(json_bytes(
        &effective.sync_tokens(),
    )))
}
