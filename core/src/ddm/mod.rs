//! Declarative Device Management (DDM): typed declarations and status items generated from
//! Apple's schema, the protocol messages, validation, server tokens and the engine's
//! answers to the `DeclarativeManagement` check-in.

pub mod declarations;
pub mod protocol;
pub mod status;

pub use declarations::{declaration_type_info, DeclarationPayload, DECLARATION_TYPES};
pub use status::{status_item_info, StatusValue, STATUS_ITEMS};

use crate::schema::MessageInfo;

/// The four kinds of declarations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DeclarationCategory {
    /// `com.apple.activation.*`: which configurations to apply, and when.
    Activation,
    /// `com.apple.asset.*`: data configurations refer to (credentials, files).
    Asset,
    /// `com.apple.configuration.*`: settings and policies.
    Configuration,
    /// `com.apple.management.*`: facts about the management relationship.
    Management,
}

/// A payload key whose value names an asset declaration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AssetReference {
    /// The key's path in the payload: names joined by `.`, `*` for every item of an array.
    pub key_path: &'static str,
    /// The asset types the referenced declaration may have.
    pub asset_types: &'static [&'static str],
}

/// What Apple's schema says about one declaration type.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DeclarationTypeInfo {
    /// The type's name (`info.name`), title, platforms and payload keys.
    pub info: &'static MessageInfo,
    /// The type's category.
    pub category: DeclarationCategory,
    /// The payload keys that name assets.
    pub asset_references: &'static [AssetReference],
}

mod declaration;
pub use declaration::{
    canonical_json, category_of, check_predicate, check_references, dictionary_from_json_lenient,
    value_from_json_lenient, Allowed, Declaration, Reference, MAX_IDENTIFIER_BYTES,
};

mod manage;
pub mod serve;
pub use manage::{delete_declaration, put_declarations, served_data_asset, Declared};
pub use serve::{
    parse_status_report, DeclarationItem, DeclarativeReply, EffectiveDeclarations,
    CLIENT_CAPABILITIES, DECLARATIONS_STATUS,
};

#[cfg(test)]
mod tests;
