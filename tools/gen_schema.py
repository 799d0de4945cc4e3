#!/usr/bin/env python3
"""Generates mdmkit's typed MDM messages from Apple's device-management schema.

Usage:
    python3 tools/gen_schema.py SCHEMA_DIR [OUT_DIR]

SCHEMA_DIR is a checkout (or extract) of Apple's device-management repository: the folder
that holds `mdm/commands`, `mdm/checkin` (here: ../shared/reference/apple-device-management/yaml).
OUT_DIR defaults to `core/src` beside this script's parent. The generator writes:

    command/mod.rs          the Command and CommandResponse enums and the COMMANDS table
    command/<name>.rs       one module per RequestType: request type, response type, schema facts
    checkin/mod.rs          the CheckinMessage enum and the MESSAGES table
    checkin/<name>.rs       one module per MessageType
    profile/payloads/mod.rs the PayloadContent enum, PAYLOADS, TOP_LEVEL_KEYS and COMMON_KEYS
    profile/payloads/<name>.rs  one module per PayloadType (pages of one type are merged)
    ddm/declarations/mod.rs the DeclarationPayload enum and the DECLARATION_TYPES table
    ddm/declarations/<name>.rs  one module per declaration type (activations, assets,
                            configurations, management)
    ddm/status/mod.rs       the StatusValue enum and the STATUS_ITEMS table
    ddm/status/<name>.rs    one module per status item: the type of its value
    ddm/protocol/mod.rs, ddm/protocol/<name>.rs  the protocol messages (tokens,
                            declaration-items, status report)

and runs rustfmt on them. Hand-written code lives beside them (command/envelope.rs,
checkin/envelope.rs) and is never touched. Doc comments state the schema's facts (types,
allowed values, platforms, required or not) in our words; Apple's prose is not copied.

Needs PyYAML (`pip install pyyaml`).
"""

import glob
import os
import re
import subprocess
import sys

import yaml

PLATFORMS = [("iOS", "Ios"), ("macOS", "MacOs"), ("tvOS", "TvOs"), ("visionOS", "VisionOs"),
             ("watchOS", "WatchOs")]
RUST_KEYWORDS = {
    "as", "break", "const", "continue", "crate", "else", "enum", "extern", "false", "fn", "for",
    "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref", "return",
    "self", "static", "struct", "super", "trait", "true", "type", "unsafe", "use", "where",
    "while", "async", "await", "dyn", "abstract", "become", "box", "do", "final", "macro",
    "override", "priv", "typeof", "unsized", "virtual", "yield", "try", "gen",
}
# Words Apple writes with a lower-case prefix that should stay one word in Rust names.
PREFIX_WORDS = ["iOS", "macOS", "tvOS", "watchOS", "visionOS", "iTunes", "iCloud", "iPad",
                "iPhone", "iBooks", "iMessage", "eSIM", "iPod"]

# Check-in keys the schema marks required that devices legitimately omit: the identity keys
# differ between device channel, user channel and User Enrollment, and the first
# UserAuthenticate message carries no DigestResponse.
CHECKIN_FORCED_OPTIONAL = {"UDID", "EnrollmentID", "EnrollmentUserID", "UserID",
                           "UserLongName", "UserShortName", "DigestResponse", "NotOnConsole",
                           "DeviceName", "ModelName", "Model"}


def pascal(name):
    for word in PREFIX_WORDS:
        name = name.replace(word, word[0].upper() + word[1:].lower())
    parts = re.split(r"[^0-9A-Za-z]+", name)
    out = "".join(p[:1].upper() + p[1:] for p in parts if p)
    if not out or out[0].isdigit():
        out = "V" + out
    return out


def variant_name(value):
    text = str(value)
    if re.fullmatch(r"[A-Z0-9_]+", text) and len(re.findall(r"[A-Z]", text)) >= 2:
        # An all-capitals value (WPA2, LOWSPACE, MIGRATING_DATA) reads as words.
        text = "_".join(p.capitalize() for p in text.split("_"))
    return pascal(text)


def snake(name):
    for word in PREFIX_WORDS:
        name = name.replace(word, word[0].upper() + word[1:].lower())
    # A plural acronym (UUIDs, URLs) is one word.
    name = re.sub(r"([A-Z]{2,})s(?=[A-Z0-9_]|$)", lambda m: m.group(1).capitalize() + "s", name)
    s = re.sub(r"[^0-9A-Za-z]+", "_", name)
    s = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", s)
    s = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", s)
    s = s.lower().strip("_")
    s = re.sub(r"_+", "_", s)
    if not s or s[0].isdigit():
        s = "v_" + s
    if s in RUST_KEYWORDS:
        s = "r#" + s
    return s


def rust_str(text):
    return '"' + str(text).replace("\\", "\\\\").replace('"', '\\"') + '"'


def ktype(key):
    return str(key.get("type", "<any>")).strip("<>")


def version_text(value):
    return str(value) if value is not None else None


class Module:
    """The Rust items of one generated file."""

    def __init__(self, owner_label):
        self.items = []
        self.names = set()
        self.owner_label = owner_label
        self.recursive = {}

    def unique(self, name):
        base, n = name, 2
        while name in self.names:
            name = f"{base}{n}"
            n += 1
        self.names.add(name)
        return name


def os_notes(supported):
    """A short description of key-level platform narrowing, in our words."""
    if not supported:
        return ""
    notes = []
    for os_name, _ in PLATFORMS:
        entry = supported.get(os_name)
        if not isinstance(entry, dict):
            continue
        introduced = version_text(entry.get("introduced"))
        if introduced == "n/a":
            notes.append(f"not on {os_name}")
        elif introduced:
            notes.append(f"{os_name} {introduced}+")
    return "; ".join(notes)


def key_doc(key, lenient_required=False):
    t = ktype(key)
    presence = key.get("presence", "optional")
    bits = [f"`{key['key']}`: {t}, {presence}"]
    if lenient_required and presence == "required":
        bits[0] += " (kept optional here: devices do not always send it)"
    rl = key.get("rangelist")
    if rl:
        bits.append("allowed: " + ", ".join(f"`{v}`" for v in rl))
    if "default" in key:
        bits.append(f"default `{key['default']}`")
    rng = key.get("range")
    if isinstance(rng, dict) and (rng.get("min") is not None or rng.get("max") is not None):
        bits.append(f"range {rng.get('min', '')}..={rng.get('max', '')}")
    notes = os_notes(key.get("supportedOS"))
    if notes:
        bits.append(notes)
    return ". ".join(bits) + "."


class Generator:
    def __init__(self, module, lenient, forced_optional=(), by_value=False):
        self.m = module
        self.lenient = lenient
        self.forced_optional = set(forced_optional)
        # Also write `into_plist` (PlistCodec's by-value conversion, moving each field) and,
        # for structs, `move_keys_into` (the same keys into a dictionary that starts with
        # others): for the types decoded messages are turned back into dictionaries from
        # (check-ins; tested by core/tests/checkin.rs).
        self.by_value = by_value

    # ---- types -------------------------------------------------------------------------
    def field_type(self, key, type_name):
        """The Rust type of a key's value; registers nested types under `type_name`."""
        t = ktype(key)
        sub = key.get("subkeys")
        if t == "string":
            rl = key.get("rangelist")
            if rl and all(isinstance(v, str) for v in rl):
                return self.enum(type_name, key, rl)
            return "String"
        if t == "integer":
            return "i64"
        if t == "real":
            return "f64"
        if t == "boolean":
            return "bool"
        if t == "data":
            return "Data"
        if t == "date":
            return "SystemTime"
        if t == "dictionary":
            if not sub:
                return "Dictionary"
            if len(sub) == 1 and str(sub[0].get("key", "")).startswith("ANY"):
                if ktype(sub[0]) == "any":
                    return "Dictionary"
                inner = self.field_type(sub[0], type_name + "Value")
                return f"BTreeMap<String, {inner}>"
            return self.struct(type_name, sub, key)
        if t == "array":
            if not sub:
                return "Vec<Value>"
            if len(sub) > 1:
                return self.alternatives(type_name + "Item", key, sub)
            item = sub[0]
            if ktype(item) == "string" and item.get("subkeys"):
                # An array of names whose allowed names are listed as subkeys (DeviceInformation
                # queries): new OS versions add names, so they stay strings.
                return "Vec<String>"
            return f"Vec<{self.field_type(item, type_name + 'Item')}>"
        return "Value"

    def enum(self, name, key, values):
        if id(key) in self.m.recursive:
            return self.m.recursive[id(key)]
        name = self.m.unique(name)
        self.m.recursive[id(key)] = name
        variants = []
        seen = set()
        for v in values:
            vn = variant_name(v)
            while vn in seen or vn == "Other":
                vn += "Value"
            seen.add(vn)
            variants.append((vn, v))
        lines = [f"/// The values of `{key['key']}`."]
        if self.lenient:
            lines.append("#[derive(Debug, Clone, PartialEq, Eq, Hash)]")
        else:
            lines.append("#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]")
        lines.append("#[non_exhaustive]")
        lines.append(f"pub enum {name} {{")
        for vn, v in variants:
            lines.append(f"    /// `{v}`")
            lines.append(f"    {vn},")
        if self.lenient:
            lines.append("    /// A value this version of the schema does not list, kept as sent.")
            lines.append("    Other(String),")
        lines.append("}")
        lines.append("")
        lines.append(f"impl {name} {{")
        if not self.lenient:
            lines.append("    /// Every value, in the schema's order.")
            lines.append(f"    pub const ALL: &'static [{name}] = &[" +
                         ", ".join(f"{name}::{vn}" for vn, _ in variants) + "];")
            lines.append("")
        lines.append("    /// The value as Apple writes it.")
        lines.append("    pub fn as_str(&self) -> &str {")
        lines.append("        match self {")
        for vn, v in variants:
            lines.append(f"            {name}::{vn} => {rust_str(v)},")
        if self.lenient:
            lines.append(f"            {name}::Other(value) => value,")
        lines.append("        }")
        lines.append("    }")
        lines.append("}")
        lines.append("")
        lines.append(f"impl PlistCodec for {name} {{")
        lines.append("    fn to_plist(&self) -> Value {")
        lines.append("        Value::String(self.as_str().to_owned())")
        lines.append("    }")
        lines.append("")
        if self.by_value and self.lenient:
            lines.append("    fn into_plist(self) -> Value {")
            lines.append("        match self {")
            lines.append(f"            {name}::Other(value) => Value::String(value),")
            lines.append("            known => known.to_plist(),")
            lines.append("        }")
            lines.append("    }")
            lines.append("")
        lines.append("    fn from_plist(value: Value, path: &KeyPath<'_>) -> Result<Self, Error> {")
        if self.lenient:
            lines.append("        let text = String::from_plist(value, path)?;")
            lines.append("        Ok(match text.as_str() {")
            for vn, v in variants:
                lines.append(f"            {rust_str(v)} => {name}::{vn},")
            lines.append(f"            _ => {name}::Other(text),")
            lines.append("        })")
        else:
            lines.append("        codec::strict_enum(value, path, Self::ALL, |v| v.as_str())")
        lines.append("    }")
        lines.append("}")
        self.m.items.append("\n".join(lines))
        return name

    def struct_fields(self, type_name, keys, skip=()):
        fields = []
        used = set()
        for key in keys:
            kname = str(key["key"])
            if kname in skip:
                continue
            fname = snake(kname)
            base, n = fname, 2
            while fname in used or fname in ("extra",):
                fname = f"{base}_{n}"
                n += 1
            used.add(fname)
            rtype = self.field_type(key, type_name + pascal(kname))
            required = key.get("presence") == "required" and not self.lenient
            if key.get("presence") == "required" and kname in self.forced_optional:
                required = False
            if self.forced_optional and kname not in self.forced_optional and \
                    key.get("presence") == "required":
                required = True
            fields.append(dict(key=key, name=kname, field=fname, rtype=rtype, required=required))
        return fields

    def struct(self, name, keys, parent_key, doc=None, skip=(), discriminator=None,
               info_ref=None):
        if id(keys) in self.m.recursive:
            return self.m.recursive[id(keys)]
        name = self.m.unique(name)
        self.m.recursive[id(keys)] = name
        fields = self.struct_fields(name, keys, skip)
        all_optional = all(not f["required"] for f in fields)
        lines = []
        if doc:
            lines.extend(f"/// {line}".rstrip() for line in doc)
        else:
            lines.append(f"/// The `{parent_key['key']}` dictionary of {self.m.owner_label}.")
        lines.append("#[derive(Debug, Clone, PartialEq" + (", Default" if all_optional else "") + ")]")
        lines.append("#[non_exhaustive]")
        lines.append(f"pub struct {name} {{")
        for f in fields:
            relaxed = f["key"].get("presence") == "required" and not f["required"]
            lines.append(f"    /// {key_doc(f['key'], relaxed)}")
            t = f["rtype"] if f["required"] else f"Option<{f['rtype']}>"
            lines.append(f"    pub {f['field']}: {t},")
        lines.append("    /// Keys this version of mdmkit does not model, kept as they were.")
        lines.append("    pub extra: Dictionary,")
        lines.append("}")
        lines.append("")
        lines.append(f"impl {name} {{")
        req = [f for f in fields if f["required"]]
        args = []
        for f in req:
            if f["rtype"] == "String":
                args.append(f"{f['field']}: impl Into<String>")
            else:
                args.append(f"{f['field']}: {f['rtype']}")
        lines.append("    /// Creates the value from its required keys; optional keys start absent.")
        lines.append(f"    pub fn new({', '.join(args)}) -> Self {{")
        lines.append("        Self {")
        for f in fields:
            if f["required"]:
                if f["rtype"] == "String":
                    lines.append(f"            {f['field']}: {f['field']}.into(),")
                else:
                    lines.append(f"            {f['field']},")
            else:
                lines.append(f"            {f['field']}: None,")
        lines.append("            extra: Dictionary::new(),")
        lines.append("        }")
        lines.append("    }")
        for f in fields:
            if f["required"]:
                continue
            plain = f["field"].replace("r#", "")
            lines.append("")
            lines.append(f"    /// Sets `{f['name']}`.")
            if f["rtype"] == "String":
                lines.append(f"    pub fn with_{plain}(mut self, value: impl Into<String>) -> Self {{")
                lines.append(f"        self.{f['field']} = Some(value.into());")
            else:
                lines.append(f"    pub fn with_{plain}(mut self, value: {f['rtype']}) -> Self {{")
                lines.append(f"        self.{f['field']} = Some(value);")
            lines.append("        self")
            lines.append("    }")
        lines.append("}")
        lines.append("")
        if self.by_value:
            lines.append(f"impl {name} {{")
            lines.append("    /// Moves the keys into `dict`, after those it holds: the keys of")
            lines.append("    /// [`into_plist`](PlistCodec::into_plist), for a dictionary that starts with others.")
            lines.append("    pub(crate) fn move_keys_into(self, dict: &mut Dictionary) {")
            for f in fields:
                fn = "put_owned" if f["required"] else "put_optional_owned"
                lines.append(f"        codec::{fn}(dict, {rust_str(f['name'])}, self.{f['field']});")
            lines.append("        dict.extend(self.extra);")
            lines.append("    }")
            lines.append("}")
            lines.append("")
        lines.append(f"impl PlistCodec for {name} {{")
        lines.append("    fn to_plist(&self) -> Value {")
        lines.append("        let mut dict = Dictionary::new();")
        for f in fields:
            fn = "put" if f["required"] else "put_optional"
            lines.append(f"        codec::{fn}(&mut dict, {rust_str(f['name'])}, &self.{f['field']});")
        lines.append("        for (key, value) in &self.extra {")
        lines.append("            dict.insert(key.clone(), value.clone());")
        lines.append("        }")
        lines.append("        Value::Dictionary(dict)")
        lines.append("    }")
        lines.append("")
        if self.by_value:
            lines.append("    fn into_plist(self) -> Value {")
            lines.append("        let mut dict = Dictionary::new();")
            lines.append("        self.move_keys_into(&mut dict);")
            lines.append("        Value::Dictionary(dict)")
            lines.append("    }")
            lines.append("")
        lines.append("    fn from_plist(value: Value, path: &KeyPath<'_>) -> Result<Self, Error> {")
        binding = "mut dict" if fields else "dict"
        lines.append(f"        let {binding} = codec::expect_dictionary(value, path)?;")
        lines.append("        Ok(Self {")
        for f in fields:
            fn = "required" if f["required"] else "optional"
            lines.append(f"            {f['field']}: codec::{fn}(&mut dict, {rust_str(f['name'])}, path)?,")
        lines.append("            extra: dict,")
        lines.append("        })")
        lines.append("    }")
        lines.append("}")
        self.m.items.append("\n".join(lines))
        return name

    def alternatives(self, name, key, subs):
        """An array item that takes one of several dictionary shapes, chosen by a key."""
        disc = None
        for s in subs[0].get("subkeys") or []:
            if ktype(s) == "string" and s.get("presence") == "required" and \
                    len(s.get("rangelist") or []) == 1:
                disc = s["key"]
        if disc is None:
            return "Vec<Dictionary>"
        name = self.m.unique(name)
        variants = []
        for s in subs:
            tag = next(x["rangelist"][0] for x in s["subkeys"] if x["key"] == disc)
            vname = pascal(str(s["key"]))
            inner = self.struct(name.removesuffix("Item") + vname, s["subkeys"], s, skip=(disc,),
                                doc=[f"The `{tag}` item of `{key['key']}` (its `{disc}` is "
                                     f"`{tag}`)."])
            variants.append((vname, tag, inner))
        lines = [f"/// One item of `{key['key']}`, chosen by its `{disc}` key."]
        lines.append("#[derive(Debug, Clone, PartialEq)]")
        lines.append("#[non_exhaustive]")
        lines.append(f"pub enum {name} {{")
        for vname, tag, inner in variants:
            lines.append(f"    /// `{disc}` = `{tag}`.")
            lines.append(f"    {vname}({inner}),")
        if self.lenient:
            lines.append("    /// An item this version of the schema does not list, kept as sent.")
            lines.append("    Other(Dictionary),")
        lines.append("}")
        lines.append("")
        lines.append(f"impl {name} {{")
        lines.append(f"    /// The value of the item's `{disc}` key.")
        lines.append("    pub fn tag(&self) -> &str {")
        lines.append("        match self {")
        for vname, tag, _ in variants:
            lines.append(f"            {name}::{vname}(_) => {rust_str(tag)},")
        if self.lenient:
            lines.append(f"            {name}::Other(dict) => dict.get({rust_str(disc)}).and_then(Value::as_string).unwrap_or_default(),")
        lines.append("        }")
        lines.append("    }")
        lines.append("}")
        lines.append("")
        lines.append(f"impl PlistCodec for {name} {{")
        lines.append("    fn to_plist(&self) -> Value {")
        lines.append("        let inner = match self {")
        for vname, _, _ in variants:
            lines.append(f"            {name}::{vname}(item) => item.to_plist(),")
        if self.lenient:
            lines.append(f"            {name}::Other(dict) => return Value::Dictionary(dict.clone()),")
        lines.append("        };")
        lines.append(f"        codec::with_tag({rust_str(disc)}, self.tag(), inner)")
        lines.append("    }")
        lines.append("")
        if self.by_value:
            lines.append("    fn into_plist(self) -> Value {")
            lines.append("        match self {")
            for vname, tag, _ in variants:
                lines.append(f"            {name}::{vname}(item) => codec::with_tag({rust_str(disc)}, {rust_str(tag)}, item.into_plist()),")
            if self.lenient:
                lines.append(f"            {name}::Other(dict) => Value::Dictionary(dict),")
            lines.append("        }")
            lines.append("    }")
            lines.append("")
        lines.append("    fn from_plist(value: Value, path: &KeyPath<'_>) -> Result<Self, Error> {")
        lines.append("        let mut dict = codec::expect_dictionary(value, path)?;")
        allowed = ", ".join(tag for _, tag, _ in variants)
        lines.append(f"        let tag: String = codec::required(&mut dict, {rust_str(disc)}, path)?;")
        lines.append("        let rest = Value::Dictionary(dict);")
        lines.append("        Ok(match tag.as_str() {")
        for vname, tag, inner in variants:
            lines.append(f"            {rust_str(tag)} => {name}::{vname}({inner}::from_plist(rest, path)?),")
        if self.lenient:
            lines.append("            _ => {")
            lines.append("                let mut dict = codec::expect_dictionary(rest, path)?;")
            lines.append(f"                dict.insert({rust_str(disc)}.to_owned(), Value::String(tag));")
            lines.append(f"                {name}::Other(dict)")
            lines.append("            }")
        else:
            lines.append("            _ => {")
            lines.append("                return Err(Error::InvalidValue {")
            lines.append(f"                    path: path.key({rust_str(disc)}).to_string(),")
            lines.append("                    value: tag,")
            lines.append(f"                    allowed: {rust_str(allowed)}.to_owned(),")
            lines.append("                })")
            lines.append("            }")
        lines.append("        })")
        lines.append("    }")
        lines.append("}")
        self.m.items.append("\n".join(lines))
        return f"Vec<{name}>"


# ---- schema tables ---------------------------------------------------------------------

# Statics for self-referential structures (an array whose items contain the same array),
# by id of the repeated subkey list: name and body. Reset for every generated file.
RECURSIVE_STATICS = {}


def recursive_static(sub):
    """The name of a static `[KeyInfo; 1]` describing the item of a self-referential array."""
    if id(sub) not in RECURSIVE_STATICS:
        name = f"RECURSIVE_ITEM_{len(RECURSIVE_STATICS) + 1}"
        RECURSIVE_STATICS[id(sub)] = [name, None]
        RECURSIVE_STATICS[id(sub)][1] = key_info(sub[0], (id(sub),))
    return RECURSIVE_STATICS[id(sub)][0]


def recursive_statics_text():
    lines = []
    for name, body in RECURSIVE_STATICS.values():
        lines.append("/// The item of an array that contains itself, described once.")
        lines.append(f"static {name}: [KeyInfo; 1] = [{body}];")
    RECURSIVE_STATICS.clear()
    return "\n".join(lines)


def key_info(key, seen=()):
    """A `KeyInfo { .. }` expression for a key."""
    t = ktype(key)
    kind = {"string": "String", "integer": "Integer", "real": "Real", "boolean": "Boolean",
            "data": "Data", "date": "Date", "array": "Array", "dictionary": "Dictionary"}.get(t, "Any")
    sub = key.get("subkeys") or []
    recursive_item = None
    if id(sub) in seen:
        if t == "array" and len(sub) == 1:
            recursive_item = recursive_static(sub)
        sub = []  # recursive structure: described once, by the static
    seen = seen + (id(sub),)
    allowed = [str(v) for v in key.get("rangelist") or []]
    keys, item, map_value, disc = "&[]", "None", "None", "None"
    if t == "dictionary" and sub:
        if len(sub) == 1 and str(sub[0].get("key", "")).startswith("ANY"):
            if ktype(sub[0]) != "any":
                map_value = f"Some(&{key_info(sub[0], seen)})"
        else:
            keys = "&[" + ", ".join(key_info(s, seen) for s in sub) + "]"
    elif recursive_item:
        item = f"Some(&{recursive_item}[0])"
    elif t == "array" and sub:
        if len(sub) > 1:
            d = None
            for s in sub[0].get("subkeys") or []:
                if ktype(s) == "string" and s.get("presence") == "required" and \
                        len(s.get("rangelist") or []) == 1:
                    d = s["key"]
            alts = ", ".join(key_info(s, seen) for s in sub)
            item = ("Some(&KeyInfo { name: \"item\", kind: ValueKind::Dictionary, required: false, "
                    f"allowed: &[], range: None, not_on: &[], keys: &[{alts}], item: None, map_value: None, "
                    f"discriminator: {'Some(' + rust_str(d) + ')' if d else 'None'} }})")
        else:
            it = sub[0]
            if ktype(it) == "string" and it.get("subkeys"):
                it = dict(it)
                del it["subkeys"]
            item = f"Some(&{key_info(it, seen)})"
    rng = key.get("range")
    range_text = "None"
    if isinstance(rng, dict) and (rng.get("min") is not None or rng.get("max") is not None):
        lo = f"{float(rng['min'])!r}" if rng.get("min") is not None else "f64::NEG_INFINITY"
        hi = f"{float(rng['max'])!r}" if rng.get("max") is not None else "f64::INFINITY"
        range_text = f"Some(({lo}, {hi}))"
    not_on = []
    for os_name, variant in PLATFORMS:
        entry = (key.get("supportedOS") or {}).get(os_name)
        if isinstance(entry, dict) and str(entry.get("introduced")) == "n/a":
            not_on.append(f"Platform::{variant}")
    return (f"KeyInfo {{ name: {rust_str(key['key'])}, kind: ValueKind::{kind}, "
            f"required: {'true' if key.get('presence') == 'required' else 'false'}, "
            f"allowed: &[{', '.join(rust_str(a) for a in allowed)}], range: {range_text}, "
            f"not_on: &[{', '.join(not_on)}], keys: {keys}, item: {item}, "
            f"map_value: {map_value}, discriminator: {disc} }}")


def enrollment_mode(entry):
    mode = (entry or {}).get("mode", "allowed") if isinstance(entry, dict) else "allowed"
    return {"allowed": "Allowed", "forbidden": "Forbidden", "ignored": "Ignored"}.get(mode, "Allowed")


def platform_support(supported):
    out = []
    for os_name, variant in PLATFORMS:
        e = (supported or {}).get(os_name)
        if not isinstance(e, dict):
            continue
        introduced = version_text(e.get("introduced"))
        if not introduced or introduced == "n/a":
            continue
        shared = "None"
        if os_name == "iOS" and isinstance(e.get("sharedipad"), dict):
            s = e["sharedipad"]
            shared = (f"Some(SharedIpadSupport {{ mode: EnrollmentMode::{enrollment_mode(s)}, "
                      f"device_channel: {str(s.get('devicechannel', True)).lower()}, "
                      f"user_channel: {str(s.get('userchannel', False)).lower()} }})")
        opt = lambda v: f"Some({rust_str(v)})" if v is not None else "None"
        device_channel = e.get("devicechannel", True)
        user_channel = e.get("userchannel", False)
        out.append(
            f"PlatformSupport {{ platform: Platform::{variant}, introduced: {rust_str(introduced)}, "
            f"deprecated: {opt(version_text(e.get('deprecated')))}, removed: {opt(version_text(e.get('removed')))}, "
            f"supervised_only: {str(bool(e.get('supervised', False))).lower()}, "
            f"requires_dep: {str(bool(e.get('requiresdep', False))).lower()}, "
            f"requires_user_approved_mdm: {str(bool(e.get('userapprovedmdm', False))).lower()}, "
            f"device_channel: {str(bool(device_channel)).lower()}, user_channel: {str(bool(user_channel)).lower()}, "
            f"user_enrollment: EnrollmentMode::{enrollment_mode(e.get('userenrollment'))}, "
            f"shared_ipad: {shared}, access_rights: {opt(e.get('accessrights'))} }}")
    return out


def platform_doc(supported):
    lines = []
    for os_name, _ in PLATFORMS:
        e = (supported or {}).get(os_name)
        if not isinstance(e, dict):
            continue
        introduced = version_text(e.get("introduced"))
        if not introduced or introduced == "n/a":
            continue
        flags = []
        if e.get("supervised"):
            flags.append("supervised only")
        if e.get("requiresdep"):
            flags.append("Automated Device Enrollment only")
        if e.get("userapprovedmdm"):
            flags.append("user-approved MDM only")
        ue = enrollment_mode(e.get("userenrollment"))
        if ue != "Allowed":
            flags.append(f"User Enrollment: {ue.lower()}")
        if os_name == "macOS":
            ch = [c for c, on in (("device", e.get("devicechannel", True)),
                                  ("user", e.get("userchannel", False))) if on]
            flags.append("channel: " + (" and ".join(ch) if ch else "none"))
        if e.get("deprecated"):
            flags.append(f"deprecated in {e['deprecated']}")
        if e.get("removed"):
            flags.append(f"removed in {e['removed']}")
        if e.get("accessrights"):
            flags.append(f"access right {e['accessrights']}")
        lines.append(f"- {os_name} {introduced}" + (f" ({'; '.join(flags)})" if flags else ""))
    return lines


HEADER = "// @generated by tools/gen_schema.py from Apple's device-management schema. Do not edit.\n"


def write(path, text):
    with open(path, "w") as f:
        f.write(text)


def gen_commands(schema, out):
    files = sorted(glob.glob(os.path.join(schema, "mdm", "commands", "*.yaml")))
    cmds = []
    for path in files:
        y = yaml.safe_load(open(path))
        payload = y["payload"]
        rt = payload["requesttype"]
        mod_name = snake(rt)
        type_name = pascal(rt)
        m = Module(f"the `{rt}` command")
        g = Generator(m, lenient=False)
        req_keys = y.get("payloadkeys") or []
        resp_keys = y.get("responsekeys") or []
        doc = [f"The `{rt}` command ({y.get('title', rt)}).", "", "Platforms:"]
        doc += platform_doc(payload.get("supportedOS"))
        doc += ["", f"Converts to the command dictionary without `RequestType`; wrap it in "
                f"[`Command::{type_name}`](crate::command::Command) to send it."]
        g.struct(type_name, req_keys, {"key": rt}, doc=doc)
        resp_type = None
        if resp_keys:
            rg = Generator(m, lenient=True)
            resp_type = rg.struct(type_name + "Response", resp_keys, {"key": rt},
                                  doc=[f"What a device returns for `{rt}`, beside the result's "
                                       "`UDID`, `CommandUUID` and `Status`.", "",
                                       "Every key is optional here: a device may leave out "
                                       "keys it cannot answer."])
        info = []
        info.append(f"/// What Apple's schema says about `{rt}`.")
        info.append("pub static INFO: MessageInfo = MessageInfo {")
        info.append(f"    name: {rust_str(rt)},")
        info.append(f"    title: {rust_str(y.get('title', rt))},")
        info.append("    platforms: &[" + ", ".join(platform_support(payload.get("supportedOS"))) + "],")
        info.append("    keys: &[" + ", ".join(key_info(k) for k in req_keys) + "],")
        info.append("    response_keys: &[" + ", ".join(key_info(k) for k in resp_keys) + "],")
        info.append("};")
        info.append("")
        info.append(f"impl {type_name} {{")
        info.append("    /// The command's RequestType.")
        info.append(f"    pub const REQUEST_TYPE: &'static str = {rust_str(rt)};")
        info.append("}")
        uses = used_imports("\n".join(m.items + info))
        text = HEADER + f"//! The `{rt}` command.\n\n" + uses + "\n\n" + "\n\n".join(m.items) + "\n\n" + "\n".join(info) + "\n"
        write(os.path.join(out, "command", mod_name + ".rs"), text)
        cmds.append((rt, mod_name, type_name, resp_type, sorted(m.names)))

    lines = [HEADER, "//! Typed MDM commands: one module per RequestType of Apple's schema.",
             "//!",
             "//! A [`Command`] with its CommandUUID is a [`CommandEnvelope`], which writes the plist",
             "//! a device expects: `{CommandUUID, Command: {RequestType, ...keys}}`.",
             "",
             "use plist::{Dictionary, Value};",
             "",
             "use crate::codec::{self, KeyPath, PlistCodec};",
             "use crate::schema::MessageInfo;",
             "use crate::Error;",
             "",
             "mod envelope;",
             "pub use envelope::*;",
             ""]
    for rt, mod_name, type_name, resp_type, title in cmds:
        lines.append(f"pub mod {mod_name};")
    lines.append("")
    for rt, mod_name, type_name, resp_type, names in cmds:
        lines.append(f"pub use {mod_name}::{{{', '.join(names)}}};")
    lines.append("")
    lines.append("/// What Apple's schema says about every command, in RequestType order.")
    lines.append("pub static COMMANDS: &[&MessageInfo] = &[" +
                 ", ".join(f"&{m}::INFO" for _, m, _, _, _ in sorted(cmds)) + "];")
    lines.append("")
    lines.append("/// Any MDM command, typed.")
    lines.append("// Variants differ in size (Settings is large); commands are built once and moved")
    lines.append("// rarely, so boxing every variant would cost callers more than it saves.")
    lines.append("#[allow(clippy::large_enum_variant)]")
    lines.append("#[derive(Debug, Clone, PartialEq)]")
    lines.append("#[non_exhaustive]")
    lines.append("pub enum Command {")
    for rt, mod_name, type_name, _, title in cmds:
        lines.append(f"    /// `{rt}`.")
        lines.append(f"    {type_name}({type_name}),")
    lines.append("}")
    lines.append("")
    lines.append("impl Command {")
    lines.append("    /// The command's RequestType.")
    lines.append("    pub fn request_type(&self) -> &'static str {")
    lines.append("        self.info().name")
    lines.append("    }")
    lines.append("")
    lines.append("    /// What the schema says about the command (platforms, keys).")
    lines.append("    pub fn info(&self) -> &'static MessageInfo {")
    lines.append("        match self {")
    for rt, mod_name, type_name, _, _ in cmds:
        lines.append(f"            Command::{type_name}(_) => &{mod_name}::INFO,")
    lines.append("        }")
    lines.append("    }")
    lines.append("")
    lines.append("    /// The command dictionary: `RequestType` first, then the command's keys.")
    lines.append("    pub fn to_dictionary(&self) -> Dictionary {")
    lines.append("        let keys = match self {")
    for rt, mod_name, type_name, _, _ in cmds:
        lines.append(f"            Command::{type_name}(c) => c.to_plist(),")
    lines.append("        };")
    lines.append("        codec::into_tagged_dictionary(\"RequestType\", self.request_type(), keys)")
    lines.append("    }")
    lines.append("")
    lines.append("    /// Reads a command dictionary (with its `RequestType`).")
    lines.append("    pub fn from_dictionary(mut dict: Dictionary) -> Result<Self, Error> {")
    lines.append("        let request_type: String = codec::required(&mut dict, \"RequestType\", &KeyPath::named(\"Command\"))?;")
    lines.append("        let path = KeyPath::named(&request_type);")
    lines.append("        let value = Value::Dictionary(dict);")
    lines.append("        Ok(match request_type.as_str() {")
    for rt, mod_name, type_name, _, _ in cmds:
        lines.append(f"            {rust_str(rt)} => Command::{type_name}({type_name}::from_plist(value, &path)?),")
    lines.append("            _ => return Err(Error::UnknownRequestType(request_type)),")
    lines.append("        })")
    lines.append("    }")
    lines.append("}")
    lines.append("")
    for rt, mod_name, type_name, _, _ in cmds:
        lines.append(f"impl From<{type_name}> for Command {{")
        lines.append(f"    fn from(command: {type_name}) -> Self {{")
        lines.append(f"        Command::{type_name}(command)")
        lines.append("    }")
        lines.append("}")
        lines.append("")
    lines.append("/// The typed answer of a device to a command, beside its status.")
    lines.append("#[allow(clippy::large_enum_variant)]")
    lines.append("#[derive(Debug, Clone, PartialEq)]")
    lines.append("#[non_exhaustive]")
    lines.append("pub enum CommandResponse {")
    for rt, mod_name, type_name, resp_type, _ in cmds:
        if resp_type:
            lines.append(f"    /// The answer to `{rt}`.")
            lines.append(f"    {type_name}({resp_type}),")
    lines.append("    /// The answer to a command whose answer has no keys in the schema, or whose")
    lines.append("    /// RequestType is not known: the result's keys beside the status, as sent.")
    lines.append("    Other(Dictionary),")
    lines.append("}")
    lines.append("")
    lines.append("impl CommandResponse {")
    lines.append("    /// Decodes the keys of a result (without `UDID`, `CommandUUID`, `Status`,")
    lines.append("    /// `ErrorChain`) as the answer to a command of `request_type`.")
    lines.append("    pub fn decode(request_type: &str, keys: Dictionary) -> Result<Self, Error> {")
    lines.append("        let path = KeyPath::named(request_type);")
    lines.append("        let value = Value::Dictionary(keys);")
    lines.append("        Ok(match request_type {")
    for rt, mod_name, type_name, resp_type, _ in cmds:
        if resp_type:
            lines.append(f"            {rust_str(rt)} => CommandResponse::{type_name}({resp_type}::from_plist(value, &path)?),")
    lines.append("            _ => CommandResponse::Other(codec::expect_dictionary(value, &path)?),")
    lines.append("        })")
    lines.append("    }")
    lines.append("")
    lines.append("    /// The answer's keys as a dictionary.")
    lines.append("    pub fn to_dictionary(&self) -> Dictionary {")
    lines.append("        let value = match self {")
    for rt, mod_name, type_name, resp_type, _ in cmds:
        if resp_type:
            lines.append(f"            CommandResponse::{type_name}(r) => r.to_plist(),")
    lines.append("            CommandResponse::Other(dict) => return dict.clone(),")
    lines.append("        };")
    lines.append("        match value {")
    lines.append("            Value::Dictionary(dict) => dict,")
    lines.append("            _ => Dictionary::new(),")
    lines.append("        }")
    lines.append("    }")
    lines.append("}")
    write(os.path.join(out, "command", "mod.rs"), "\n".join(lines) + "\n")
    return [os.path.join(out, "command", "mod.rs")] + \
        [os.path.join(out, "command", m + ".rs") for _, m, _, _, _ in cmds]


def gen_checkin(schema, out):
    files = sorted(glob.glob(os.path.join(schema, "mdm", "checkin", "*.yaml")))
    msgs = []
    for path in files:
        y = yaml.safe_load(open(path))
        payload = y["payload"]
        mt = payload.get("requesttype") or payload.get("messagetype")
        if not mt:
            for k in y.get("payloadkeys") or []:
                if k["key"] == "MessageType":
                    mt = (k.get("rangelist") or [None])[0]
        mod_name = snake(mt)
        type_name = pascal(mt)
        m = Module(f"the `{mt}` check-in message")
        g = Generator(m, lenient=True, forced_optional=CHECKIN_FORCED_OPTIONAL, by_value=True)
        keys = [k for k in y.get("payloadkeys") or [] if k["key"] != "MessageType"]
        resp_keys = y.get("responsekeys") or []
        doc = [f"The `{mt}` check-in message ({y.get('title', mt)}), as a device sends it.", "",
               "Platforms:"] + platform_doc(payload.get("supportedOS"))
        g.struct(type_name, keys, {"key": mt}, doc=doc)
        resp_type = None
        if resp_keys:
            rg = Generator(m, lenient=False, by_value=True)
            resp_type = rg.struct(type_name + "Response", resp_keys, {"key": mt},
                                  doc=[f"The server's answer to `{mt}`."])
        info = [f"/// What Apple's schema says about `{mt}`.",
                "pub static INFO: MessageInfo = MessageInfo {",
                f"    name: {rust_str(mt)},",
                f"    title: {rust_str(y.get('title', mt))},",
                "    platforms: &[" + ", ".join(platform_support(payload.get("supportedOS"))) + "],",
                "    keys: &[" + ", ".join(key_info(k) for k in keys) + "],",
                "    response_keys: &[" + ", ".join(key_info(k) for k in resp_keys) + "],",
                "};", "",
                f"impl {type_name} {{",
                "    /// The message's MessageType.",
                f"    pub const MESSAGE_TYPE: &'static str = {rust_str(mt)};",
                "}"]
        uses = used_imports("\n".join(m.items + info))
        text = HEADER + f"//! The `{mt}` check-in message.\n\n" + uses + "\n\n" + "\n\n".join(m.items) + "\n\n" + "\n".join(info) + "\n"
        write(os.path.join(out, "checkin", mod_name + ".rs"), text)
        msgs.append((mt, mod_name, type_name, resp_type, sorted(m.names)))

    lines = [HEADER, "//! Check-in messages: what a device sends to the check-in URL.",
             "",
             "use plist::{Dictionary, Value};",
             "",
             "use crate::codec::{self, KeyPath, PlistCodec};",
             "use crate::schema::MessageInfo;",
             "use crate::Error;",
             "",
             "mod envelope;",
             "pub use envelope::*;",
             ""]
    for mt, mod_name, _, _, _ in msgs:
        lines.append(f"pub mod {mod_name};")
    lines.append("")
    for mt, mod_name, type_name, resp_type, names in msgs:
        lines.append(f"pub use {mod_name}::{{{', '.join(names)}}};")
    lines.append("")
    lines.append("/// What Apple's schema says about every check-in message, in MessageType order.")
    lines.append("pub static MESSAGES: &[&MessageInfo] = &[" +
                 ", ".join(f"&{m}::INFO" for _, m, _, _, _ in sorted(msgs)) + "];")
    lines.append("")
    lines.append("/// Any check-in message, typed.")
    lines.append("#[derive(Debug, Clone, PartialEq)]")
    lines.append("#[non_exhaustive]")
    lines.append("pub enum CheckinMessage {")
    for mt, mod_name, type_name, _, _ in msgs:
        lines.append(f"    /// `{mt}`.")
        lines.append(f"    {type_name}({type_name}),")
    lines.append("}")
    lines.append("")
    lines.append("impl CheckinMessage {")
    lines.append("    /// The message's MessageType.")
    lines.append("    pub fn message_type(&self) -> &'static str {")
    lines.append("        self.info().name")
    lines.append("    }")
    lines.append("")
    lines.append("    /// What the schema says about the message.")
    lines.append("    pub fn info(&self) -> &'static MessageInfo {")
    lines.append("        match self {")
    for mt, mod_name, type_name, _, _ in msgs:
        lines.append(f"            CheckinMessage::{type_name}(_) => &{mod_name}::INFO,")
    lines.append("        }")
    lines.append("    }")
    lines.append("")
    lines.append("    /// The message dictionary: `MessageType` first, then the message's keys.")
    lines.append("    pub fn to_dictionary(&self) -> Dictionary {")
    lines.append("        let keys = match self {")
    for mt, mod_name, type_name, _, _ in msgs:
        lines.append(f"            CheckinMessage::{type_name}(m) => m.to_plist(),")
    lines.append("        };")
    lines.append("        codec::into_tagged_dictionary(\"MessageType\", self.message_type(), keys)")
    lines.append("    }")
    lines.append("")
    lines.append("    /// [`to_dictionary`](Self::to_dictionary), moving the message's values instead of")
    lines.append("    /// cloning them.")
    lines.append("    pub fn into_dictionary(self) -> Dictionary {")
    lines.append("        let mut dict = Dictionary::new();")
    lines.append("        dict.insert(\"MessageType\".to_owned(), Value::String(self.message_type().to_owned()));")
    lines.append("        match self {")
    for mt, mod_name, type_name, _, _ in msgs:
        lines.append(f"            CheckinMessage::{type_name}(m) => m.move_keys_into(&mut dict),")
    lines.append("        }")
    lines.append("        dict")
    lines.append("    }")
    lines.append("")
    lines.append("    /// Reads a message dictionary (with its `MessageType`).")
    lines.append("    pub fn from_dictionary(mut dict: Dictionary) -> Result<Self, Error> {")
    lines.append("        let message_type: String = codec::required(&mut dict, \"MessageType\", &KeyPath::ROOT)?;")
    lines.append("        let path = KeyPath::named(&message_type);")
    lines.append("        let value = Value::Dictionary(dict);")
    lines.append("        Ok(match message_type.as_str() {")
    for mt, mod_name, type_name, _, _ in msgs:
        lines.append(f"            {rust_str(mt)} => CheckinMessage::{type_name}({type_name}::from_plist(value, &path)?),")
    lines.append("            _ => return Err(Error::UnknownMessageType(message_type)),")
    lines.append("        })")
    lines.append("    }")
    lines.append("}")
    write(os.path.join(out, "checkin", "mod.rs"), "\n".join(lines) + "\n")
    return [os.path.join(out, "checkin", "mod.rs")] + \
        [os.path.join(out, "checkin", m + ".rs") for _, m, _, _, _ in msgs]


COMMON_PAYLOAD_KEYS = {"PayloadType", "PayloadIdentifier", "PayloadUUID", "PayloadVersion",
                       "PayloadDisplayName", "PayloadDescription", "PayloadOrganization"}


RESERVED_TYPE_NAMES = {"Dictionary", "Value", "Data", "Error", "KeyPath", "SystemTime",
                       "BTreeMap", "String", "Vec", "Option", "Payload", "Profile"}


def payload_type_name(payload_type, taken):
    name = payload_type
    apple = name.startswith("com.apple.")
    if apple:
        name = name[len("com.apple."):]
    name = pascal(name)
    if name in RESERVED_TYPE_NAMES:
        name += "Payload"
    if name in taken:
        # A preference domain outside com.apple (loginwindow) beside Apple's own.
        name += "Domain" if not apple else "Apple"
    taken.add(name)
    return name


def gen_profiles(schema, out):
    files = sorted(glob.glob(os.path.join(schema, "mdm", "profiles", "*.yaml")))
    groups = {}
    order = []
    special = {}
    for path in files:
        y = yaml.safe_load(open(path))
        pt = y["payload"].get("payloadtype")
        base = os.path.basename(path)
        if base in ("TopLevel.yaml", "CommonPayloadKeys.yaml"):
            special[base] = y
            continue
        if pt not in groups:
            groups[pt] = []
            order.append(pt)
        groups[pt].append(y)
    written = []
    entries = []
    taken = set()
    # Apple's own domains are named first, so that they keep the plain names.
    for pt in sorted(order, key=lambda t: (not t.startswith("com.apple."), t.lower())):
        docs = groups[pt]
        # Several schema pages may describe one PayloadType (com.apple.MCX has six): the
        # payload is one dictionary, so their keys are merged, first description first.
        keys, seen = [], set()
        supported = {}
        for y in docs:
            for k in y.get("payloadkeys") or []:
                if k["key"] in COMMON_PAYLOAD_KEYS or k["key"] in seen:
                    continue
                seen.add(k["key"])
                keys.append(k)
            for os_name, entry in (y["payload"].get("supportedOS") or {}).items():
                supported.setdefault(os_name, entry)
        type_name = payload_type_name(pt, taken)
        mod_name = snake(type_name)
        title = " / ".join(y.get("title", pt) for y in docs)
        m = Module(f"the `{pt}` payload")
        g = Generator(m, lenient=False)
        doc = [f"The `{pt}` payload ({title}).", "", "Platforms:"] + platform_doc(supported)
        doc += ["", "The common payload keys (PayloadIdentifier, PayloadUUID, ...) are in "
                "[`PayloadCommon`](crate::profile::PayloadCommon)."]
        g.struct(type_name, keys, {"key": pt}, doc=doc)
        info = [f"/// What Apple's schema says about the `{pt}` payload.",
                "pub static INFO: MessageInfo = MessageInfo {",
                f"    name: {rust_str(pt)},",
                f"    title: {rust_str(title)},",
                "    platforms: &[" + ", ".join(platform_support(supported)) + "],",
                "    keys: &[" + ", ".join(key_info(k) for k in keys) + "],",
                "    response_keys: &[],",
                "};", "",
                f"impl {type_name} {{",
                "    /// The payload's PayloadType.",
                f"    pub const PAYLOAD_TYPE: &'static str = {rust_str(pt)};",
                "}"]
        statics = recursive_statics_text()
        if statics:
            info += ["", statics]
        uses = used_imports("\n".join(m.items + info))
        text = HEADER + f"//! The `{pt}` payload.\n\n" + uses + "\n\n" + "\n\n".join(m.items) + "\n\n" + "\n".join(info) + "\n"
        path = os.path.join(out, "profile", "payloads", mod_name + ".rs")
        write(path, text)
        written.append(path)
        entries.append((pt, mod_name, type_name, sorted(m.names)))

    top = special["TopLevel.yaml"]
    common = special["CommonPayloadKeys.yaml"]
    lines = [HEADER, "//! Typed configuration-profile payloads: one module per PayloadType of Apple's schema.",
             "",
             "use plist::{Dictionary, Value};",
             "",
             "use crate::codec::{KeyPath, PlistCodec};",
             "use crate::schema::{KeyInfo, MessageInfo, Platform, ValueKind};",
             "use crate::Error;",
             ""]
    for pt, mod_name, _, _ in entries:
        lines.append(f"pub mod {mod_name};")
    lines.append("")
    for pt, mod_name, _, names in entries:
        lines.append(f"pub use {mod_name}::{{{', '.join(names)}}};")
    lines.append("")
    lines.append("/// What Apple's schema says about every payload type, in PayloadType order.")
    lines.append("pub static PAYLOADS: &[&MessageInfo] = &[" +
                 ", ".join(f"&{m}::INFO" for _, m, _, _ in entries) + "];")
    lines.append("")
    lines.append("/// The keys of the profile itself (the top level of a .mobileconfig).")
    lines.append("pub static TOP_LEVEL_KEYS: &[KeyInfo] = &[" +
                 ", ".join(key_info(k) for k in top.get("payloadkeys") or []) + "];")
    lines.append("")
    lines.append("/// The keys every payload has (PayloadType, PayloadIdentifier, PayloadUUID, ...).")
    lines.append("pub static COMMON_KEYS: &[KeyInfo] = &[" +
                 ", ".join(key_info(k) for k in common.get("payloadkeys") or []) + "];")
    lines.append("")
    lines.append("/// The keys of a payload of any type, beside the common keys.")
    lines.append("#[allow(clippy::large_enum_variant)]")
    lines.append("#[derive(Debug, Clone, PartialEq)]")
    lines.append("#[non_exhaustive]")
    lines.append("pub enum PayloadContent {")
    for pt, _, type_name, _ in entries:
        lines.append(f"    /// `{pt}`.")
        lines.append(f"    {type_name}({type_name}),")
    lines.append("    /// A payload type this version of mdmkit does not model, kept unchanged.")
    lines.append("    Other {")
    lines.append("        /// Its PayloadType.")
    lines.append("        payload_type: String,")
    lines.append("        /// Its keys beside the common ones.")
    lines.append("        keys: Dictionary,")
    lines.append("    },")
    lines.append("}")
    lines.append("")
    lines.append("impl PayloadContent {")
    lines.append("    /// The payload's PayloadType.")
    lines.append("    pub fn payload_type(&self) -> &str {")
    lines.append("        match self {")
    for pt, _, type_name, _ in entries:
        lines.append(f"            PayloadContent::{type_name}(_) => {rust_str(pt)},")
    lines.append("            PayloadContent::Other { payload_type, .. } => payload_type,")
    lines.append("        }")
    lines.append("    }")
    lines.append("")
    lines.append("    /// What the schema says about the payload type, when it is modelled.")
    lines.append("    pub fn info(&self) -> Option<&'static MessageInfo> {")
    lines.append("        payload_info(self.payload_type())")
    lines.append("    }")
    lines.append("")
    lines.append("    /// The payload's own keys (without the common keys).")
    lines.append("    pub fn to_dictionary(&self) -> Dictionary {")
    lines.append("        let value = match self {")
    for pt, _, type_name, _ in entries:
        lines.append(f"            PayloadContent::{type_name}(p) => p.to_plist(),")
    lines.append("            PayloadContent::Other { keys, .. } => return keys.clone(),")
    lines.append("        };")
    lines.append("        match value {")
    lines.append("            Value::Dictionary(dict) => dict,")
    lines.append("            _ => Dictionary::new(),")
    lines.append("        }")
    lines.append("    }")
    lines.append("")
    lines.append("    /// Reads a payload's own keys (without the common keys) for `payload_type`.")
    lines.append("    pub fn from_dictionary(payload_type: &str, keys: Dictionary, path: &KeyPath<'_>) -> Result<Self, Error> {")
    lines.append("        let value = Value::Dictionary(keys);")
    lines.append("        Ok(match payload_type {")
    for pt, _, type_name, _ in entries:
        lines.append(f"            {rust_str(pt)} => PayloadContent::{type_name}({type_name}::from_plist(value, path)?),")
    lines.append("            _ => PayloadContent::Other {")
    lines.append("                payload_type: payload_type.to_owned(),")
    lines.append("                keys: crate::codec::expect_dictionary(value, path)?,")
    lines.append("            },")
    lines.append("        })")
    lines.append("    }")
    lines.append("}")
    lines.append("")
    for pt, _, type_name, _ in entries:
        lines.append(f"impl From<{type_name}> for PayloadContent {{")
        lines.append(f"    fn from(payload: {type_name}) -> Self {{")
        lines.append(f"        PayloadContent::{type_name}(payload)")
        lines.append("    }")
        lines.append("}")
        lines.append("")
    lines.append("/// What the schema says about a payload type.")
    lines.append("pub fn payload_info(payload_type: &str) -> Option<&'static MessageInfo> {")
    lines.append("    PAYLOADS.iter().copied().find(|info| info.name == payload_type)")
    lines.append("}")
    path = os.path.join(out, "profile", "payloads", "mod.rs")
    text = "\n".join(lines) + "\n"
    if "Platform::" not in text:
        text = text.replace("use crate::schema::{KeyInfo, MessageInfo, Platform, ValueKind};",
                            "use crate::schema::{KeyInfo, MessageInfo, ValueKind};")
    write(path, text)
    return [path] + written


def used_imports(body):
    lines = []
    if "BTreeMap" in body:
        lines.append("use std::collections::BTreeMap;")
    if "SystemTime" in body:
        lines.append("use std::time::SystemTime;")
    if lines:
        lines.append("")
    lines.append("use plist::{Dictionary, Value};")
    lines.append("")
    imports = ["self", "KeyPath", "PlistCodec"]
    code = "\n".join(line for line in body.split("\n") if not line.strip().startswith("//"))
    if re.search(r"\bData\b", code):
        imports.insert(1, "Data")
    lines.append(f"use crate::codec::{{{', '.join(imports)}}};")
    schema = [n for n in ["EnrollmentMode", "KeyInfo", "MessageInfo", "Platform",
                          "PlatformSupport", "SharedIpadSupport", "ValueKind"]
              if re.search(r"\b" + n + r"\b", body)]
    lines.append(f"use crate::schema::{{{', '.join(schema)}}};")
    lines.append("use crate::Error;")
    return "\n".join(lines)


# ---- Declarative Device Management -------------------------------------------------------

DDM_CATEGORIES = [("activation", "Activation"), ("asset", "Asset"),
                  ("configuration", "Configuration"), ("management", "Management")]


def asset_references(keys, prefix=""):
    """(key path, asset types) of every key naming an asset declaration, depth first."""
    out = []
    for k in keys or []:
        path = prefix + str(k["key"])
        if k.get("assettypes"):
            out.append((path, [str(t) for t in k["assettypes"]]))
        sub = k.get("subkeys")
        if sub and ktype(k) == "dictionary":
            out += asset_references(sub, path + ".")
        elif sub and ktype(k) == "array" and len(sub) == 1 and sub[0].get("subkeys"):
            out += asset_references(sub[0]["subkeys"], path + ".*.")
    return out


def ddm_imports(body):
    """The `use` lines a generated DDM module needs: only what its code names."""
    code = "\n".join(line for line in body.split("\n") if not line.strip().startswith("//"))
    code = re.sub(r'"(?:[^"\\]|\\.)*"', '""', code)
    used = lambda n: re.search(r"\b" + n + r"\b", code) is not None
    lines = []
    if used("BTreeMap"):
        lines.append("use std::collections::BTreeMap;")
    if used("SystemTime"):
        lines.append("use std::time::SystemTime;")
    if lines:
        lines.append("")
    plist = [n for n in ["Dictionary", "Value"] if used(n)]
    if plist:
        lines.append(f"use plist::{{{', '.join(plist)}}};")
        lines.append("")
    codec = [n for n, pat in [("self", "codec::"), ("Data", "Data"), ("KeyPath", "KeyPath"),
                              ("PlistCodec", "PlistCodec")] if used(pat)]
    if codec:
        lines.append(f"use crate::codec::{{{', '.join(codec)}}};")
    schema = [n for n in ["EnrollmentMode", "KeyInfo", "MessageInfo", "Platform",
                          "PlatformSupport", "SharedIpadSupport", "ValueKind"] if used(n)]
    if schema:
        lines.append(f"use crate::schema::{{{', '.join(schema)}}};")
    if used("Error"):
        lines.append("use crate::Error;")
    return "\n".join(lines)


def ddm_module_text(doc_line, m, info):
    statics = recursive_statics_text()
    if statics:
        info = info + ["", statics]
    body = "\n".join(m.items + info)
    uses = ddm_imports(body)
    if "AssetReference" in body or "DeclarationCategory" in body:
        uses += "\nuse crate::ddm::{" + ", ".join(
            n for n in ["AssetReference", "DeclarationCategory"] if n in body) + "};"
    return HEADER + f"//! {doc_line}\n\n" + uses + "\n\n" + "\n\n".join(m.items) + "\n\n" + \
        "\n".join(info) + "\n"


def gen_ddm_declarations(schema, out):
    base = os.path.join(schema, "declarative", "declarations")
    files = []
    for category, _ in DDM_CATEGORIES:
        files += sorted(glob.glob(os.path.join(base, category + "s", "*.yaml")))
        files += sorted(glob.glob(os.path.join(base, category, "*.yaml")))
    entries = []
    written = []
    for path in files:
        y = yaml.safe_load(open(path))
        dt = y["payload"]["declarationtype"]
        short = dt[len("com.apple."):] if dt.startswith("com.apple.") else dt
        category = next(v for c, v in DDM_CATEGORIES if short.startswith(c + "."))
        type_name = pascal(short)
        mod_name = snake(type_name)
        keys = y.get("payloadkeys") or []
        supported = y["payload"].get("supportedOS") or {}
        m = Module(f"the `{dt}` declaration")
        g = Generator(m, lenient=False)
        doc = [f"The payload of the `{dt}` declaration ({y.get('title', dt)}).", "",
               "Platforms:"] + platform_doc(supported)
        for os_name, _ in PLATFORMS:
            e = supported.get(os_name)
            if isinstance(e, dict) and e.get("allowed-enrollments"):
                doc.append(f"- {os_name} enrollments: {', '.join(e['allowed-enrollments'])}; "
                           f"scopes: {', '.join(e.get('allowed-scopes') or []) or 'none'}")
        g.struct(type_name, keys, {"key": dt}, doc=doc)
        refs = asset_references(keys)
        info = [f"/// What Apple's schema says about the `{dt}` declaration's payload.",
                "pub static INFO: MessageInfo = MessageInfo {",
                f"    name: {rust_str(dt)},",
                f"    title: {rust_str(y.get('title', dt))},",
                "    platforms: &[" + ", ".join(platform_support(supported)) + "],",
                "    keys: &[" + ", ".join(key_info(k) for k in keys) + "],",
                "    response_keys: &[],",
                "};", "",
                "/// The payload keys that name asset declarations, with the asset types allowed.",
                "pub static ASSET_REFERENCES: &[AssetReference] = &[" + ", ".join(
                    f"AssetReference {{ key_path: {rust_str(p)}, asset_types: &[{', '.join(rust_str(t) for t in ts)}] }}"
                    for p, ts in refs) + "];", "",
                f"impl {type_name} {{",
                "    /// The declaration's Type.",
                f"    pub const DECLARATION_TYPE: &'static str = {rust_str(dt)};",
                "    /// The declaration's category.",
                f"    pub const CATEGORY: DeclarationCategory = DeclarationCategory::{category};",
                "}"]
        text = ddm_module_text(f"The `{dt}` declaration.", m, info)
        p = os.path.join(out, "ddm", "declarations", mod_name + ".rs")
        write(p, text)
        written.append(p)
        entries.append((dt, mod_name, type_name, category, sorted(m.names)))

    lines = [HEADER, "//! Typed declaration payloads: one module per declaration type of Apple's schema.",
             "",
             "use plist::{Dictionary, Value};",
             "",
             "use crate::codec::{KeyPath, PlistCodec};",
             "use crate::ddm::{DeclarationCategory, DeclarationTypeInfo};",
             "use crate::Error;",
             ""]
    for _, mod_name, _, _, _ in entries:
        lines.append(f"pub mod {mod_name};")
    lines.append("")
    for _, mod_name, _, _, names in entries:
        lines.append(f"pub use {mod_name}::{{{', '.join(names)}}};")
    lines.append("")
    lines.append("/// What Apple's schema says about every declaration type, by category then Type.")
    lines.append("pub static DECLARATION_TYPES: &[DeclarationTypeInfo] = &[")
    for dt, mod_name, _, category, _ in entries:
        lines.append(f"    DeclarationTypeInfo {{ info: &{mod_name}::INFO, category: "
                     f"DeclarationCategory::{category}, asset_references: {mod_name}::ASSET_REFERENCES }},")
    lines.append("];")
    lines.append("")
    lines.append("/// The payload of a declaration of any type.")
    lines.append("#[allow(clippy::large_enum_variant)]")
    lines.append("#[derive(Debug, Clone, PartialEq)]")
    lines.append("#[non_exhaustive]")
    lines.append("pub enum DeclarationPayload {")
    for dt, _, type_name, _, _ in entries:
        lines.append(f"    /// `{dt}`.")
        lines.append(f"    {type_name}({type_name}),")
    lines.append("    /// A declaration type this version of mdmkit does not model (a newer OS's), kept unchanged.")
    lines.append("    Other {")
    lines.append("        /// Its Type.")
    lines.append("        declaration_type: String,")
    lines.append("        /// Its payload.")
    lines.append("        payload: Dictionary,")
    lines.append("    },")
    lines.append("}")
    lines.append("")
    lines.append("impl DeclarationPayload {")
    lines.append("    /// The declaration's Type.")
    lines.append("    pub fn declaration_type(&self) -> &str {")
    lines.append("        match self {")
    for dt, _, type_name, _, _ in entries:
        lines.append(f"            DeclarationPayload::{type_name}(_) => {rust_str(dt)},")
    lines.append("            DeclarationPayload::Other { declaration_type, .. } => declaration_type,")
    lines.append("        }")
    lines.append("    }")
    lines.append("")
    lines.append("    /// The payload dictionary.")
    lines.append("    pub fn to_dictionary(&self) -> Dictionary {")
    lines.append("        let value = match self {")
    for _, _, type_name, _, _ in entries:
        lines.append(f"            DeclarationPayload::{type_name}(p) => p.to_plist(),")
    lines.append("            DeclarationPayload::Other { payload, .. } => return payload.clone(),")
    lines.append("        };")
    lines.append("        match value {")
    lines.append("            Value::Dictionary(dict) => dict,")
    lines.append("            _ => Dictionary::new(),")
    lines.append("        }")
    lines.append("    }")
    lines.append("")
    lines.append("    /// Reads the payload of a declaration of `declaration_type`; an unknown type is kept as")
    lines.append("    /// [`DeclarationPayload::Other`].")
    lines.append("    pub fn from_dictionary(declaration_type: &str, payload: Dictionary, path: &KeyPath<'_>) -> Result<Self, Error> {")
    lines.append("        let value = Value::Dictionary(payload);")
    lines.append("        Ok(match declaration_type {")
    for dt, _, type_name, _, _ in entries:
        lines.append(f"            {rust_str(dt)} => DeclarationPayload::{type_name}({type_name}::from_plist(value, path)?),")
    lines.append("            _ => DeclarationPayload::Other {")
    lines.append("                declaration_type: declaration_type.to_owned(),")
    lines.append("                payload: crate::codec::expect_dictionary(value, path)?,")
    lines.append("            },")
    lines.append("        })")
    lines.append("    }")
    lines.append("}")
    lines.append("")
    for _, _, type_name, _, _ in entries:
        lines.append(f"impl From<{type_name}> for DeclarationPayload {{")
        lines.append(f"    fn from(payload: {type_name}) -> Self {{")
        lines.append(f"        DeclarationPayload::{type_name}(payload)")
        lines.append("    }")
        lines.append("}")
        lines.append("")
    lines.append("/// What the schema says about a declaration type.")
    lines.append("pub fn declaration_type_info(declaration_type: &str) -> Option<&'static DeclarationTypeInfo> {")
    lines.append("    DECLARATION_TYPES.iter().find(|t| t.info.name == declaration_type)")
    lines.append("}")
    p = os.path.join(out, "ddm", "declarations", "mod.rs")
    write(p, "\n".join(lines) + "\n")
    return [p] + written


def gen_ddm_status(schema, out):
    files = sorted(glob.glob(os.path.join(schema, "declarative", "status", "*.yaml")))
    entries = []
    written = []
    for path in files:
        y = yaml.safe_load(open(path))
        item = y["payload"].get("statusitemtype")
        keys = y.get("payloadkeys") or []
        supported = y["payload"].get("supportedOS") or {}
        if item is None:
            # The status reason shared by the items: a plain dictionary type.
            name = pascal(str(y["payload"].get("declarationtype", "status-reason")))
            m = Module("a status reason")
            g = Generator(m, lenient=True)
            g.struct(name, keys, {"key": name}, doc=[f"A status reason ({y.get('title', name)}): a code, a description and details."])
            text = ddm_module_text("A status reason.", m, [])
            p = os.path.join(out, "ddm", "status", snake(name) + ".rs")
            write(p, text)
            written.append(p)
            entries.append((None, snake(name), name, sorted(m.names)))
            continue
        key = keys[0]
        type_name = pascal(item)
        mod_name = snake(type_name)
        m = Module(f"the `{item}` status item")
        g = Generator(m, lenient=True)
        rtype = g.field_type(key, type_name)
        if rtype != type_name:
            m.names.add(type_name)
            m.items.append(f"/// The value of the `{item}` status item: {ktype(key)}.\npub type {type_name} = {rtype};")
        info = [f"/// What Apple's schema says about the `{item}` status item (one key, the item).",
                "pub static INFO: MessageInfo = MessageInfo {",
                f"    name: {rust_str(item)},",
                f"    title: {rust_str(y.get('title', item))},",
                "    platforms: &[" + ", ".join(platform_support(supported)) + "],",
                "    keys: &[" + key_info(key) + "],",
                "    response_keys: &[],",
                "};"]
        text = ddm_module_text(f"The `{item}` status item.", m, info)
        p = os.path.join(out, "ddm", "status", mod_name + ".rs")
        write(p, text)
        written.append(p)
        entries.append((item, mod_name, type_name, sorted(m.names)))

    items = [e for e in entries if e[0] is not None]
    lines = [HEADER, "//! Typed status items: one module per status item of Apple's schema.",
             "",
             "use plist::Value;",
             "",
             "use crate::codec::{KeyPath, PlistCodec};",
             "use crate::schema::MessageInfo;",
             "use crate::Error;",
             ""]
    for _, mod_name, _, _ in entries:
        lines.append(f"pub mod {mod_name};")
    lines.append("")
    for _, mod_name, _, names in entries:
        lines.append(f"pub use {mod_name}::{{{', '.join(names)}}};")
    lines.append("")
    lines.append("/// What Apple's schema says about every status item, by name.")
    lines.append("pub static STATUS_ITEMS: &[&MessageInfo] = &[" +
                 ", ".join(f"&{m}::INFO" for _, m, _, _ in items) + "];")
    lines.append("")
    lines.append("/// The value of any status item, typed.")
    lines.append("#[allow(clippy::large_enum_variant)]")
    lines.append("#[derive(Debug, Clone, PartialEq)]")
    lines.append("#[non_exhaustive]")
    lines.append("pub enum StatusValue {")
    for item, _, type_name, _ in items:
        lines.append(f"    /// `{item}`.")
        lines.append(f"    {type_name}({type_name}),")
    lines.append("    /// An item this version of mdmkit does not model (a newer OS's), kept unchanged.")
    lines.append("    Other {")
    lines.append("        /// The item's name.")
    lines.append("        item: String,")
    lines.append("        /// Its value.")
    lines.append("        value: Value,")
    lines.append("    },")
    lines.append("}")
    lines.append("")
    lines.append("impl StatusValue {")
    lines.append("    /// The status item's name (`softwareupdate.install-state`).")
    lines.append("    pub fn item(&self) -> &str {")
    lines.append("        match self {")
    for item, _, type_name, _ in items:
        lines.append(f"            StatusValue::{type_name}(_) => {rust_str(item)},")
    lines.append("            StatusValue::Other { item, .. } => item,")
    lines.append("        }")
    lines.append("    }")
    lines.append("")
    lines.append("    /// The value as a plist value.")
    lines.append("    pub fn to_value(&self) -> Value {")
    lines.append("        match self {")
    for _, _, type_name, _ in items:
        lines.append(f"            StatusValue::{type_name}(v) => v.to_plist(),")
    lines.append("            StatusValue::Other { value, .. } => value.clone(),")
    lines.append("        }")
    lines.append("    }")
    lines.append("")
    lines.append("    /// Reads the value of status item `item`; an unknown item is kept as [`StatusValue::Other`].")
    lines.append("    pub fn from_value(item: &str, value: Value) -> Result<Self, Error> {")
    lines.append("        let path = KeyPath::named(item);")
    lines.append("        Ok(match item {")
    for item, _, type_name, _ in items:
        lines.append(f"            {rust_str(item)} => StatusValue::{type_name}(PlistCodec::from_plist(value, &path)?),")
    lines.append("            _ => StatusValue::Other { item: item.to_owned(), value },")
    lines.append("        })")
    lines.append("    }")
    lines.append("}")
    lines.append("")
    lines.append("/// What the schema says about a status item.")
    lines.append("pub fn status_item_info(item: &str) -> Option<&'static MessageInfo> {")
    lines.append("    STATUS_ITEMS.iter().copied().find(|info| info.name == item)")
    lines.append("}")
    p = os.path.join(out, "ddm", "status", "mod.rs")
    write(p, "\n".join(lines) + "\n")
    return [p] + written


def gen_ddm_protocol(schema, out):
    files = sorted(glob.glob(os.path.join(schema, "declarative", "protocol", "*.yaml")))
    entries = []
    written = []
    for path in files:
        y = yaml.safe_load(open(path))
        name = y["payload"]["requesttype"]
        keys = y.get("payloadkeys") or []
        supported = y["payload"].get("supportedOS") or {}
        mod_name = snake(name)
        m = Module(f"the `{name}` message")
        # The status report comes from devices: unknown enum values are kept.
        g = Generator(m, lenient=(name == "StatusReport"))
        doc = [f"The `{name}` message of the declarative-management protocol ({y.get('title', name)}).",
               "", "Platforms:"] + platform_doc(supported)
        g.struct(name, keys, {"key": name}, doc=doc)
        info = [f"/// What Apple's schema says about the `{name}` message.",
                "pub static INFO: MessageInfo = MessageInfo {",
                f"    name: {rust_str(name)},",
                f"    title: {rust_str(y.get('title', name))},",
                "    platforms: &[" + ", ".join(platform_support(supported)) + "],",
                "    keys: &[" + ", ".join(key_info(k) for k in keys) + "],",
                "    response_keys: &[],",
                "};"]
        text = ddm_module_text(f"The `{name}` protocol message.", m, info)
        p = os.path.join(out, "ddm", "protocol", mod_name + ".rs")
        write(p, text)
        written.append(p)
        entries.append((name, mod_name, sorted(m.names)))
    lines = [HEADER, "//! The declarative-management protocol messages (the JSON bodies of the",
             "//! `DeclarativeManagement` check-in's endpoints).", "",
             "use crate::schema::MessageInfo;", ""]
    for _, mod_name, _ in entries:
        lines.append(f"pub mod {mod_name};")
    lines.append("")
    for _, mod_name, names in entries:
        lines.append(f"pub use {mod_name}::{{{', '.join(names)}}};")
    lines.append("")
    lines.append("/// What Apple's schema says about every protocol message.")
    lines.append("pub static MESSAGES: &[&MessageInfo] = &[" +
                 ", ".join(f"&{m}::INFO" for _, m, _ in entries) + "];")
    p = os.path.join(out, "ddm", "protocol", "mod.rs")
    write(p, "\n".join(lines) + "\n")
    return [p] + written


def gen_ddm(schema, out):
    for sub in ("declarations", "status", "protocol"):
        os.makedirs(os.path.join(out, "ddm", sub), exist_ok=True)
    return gen_ddm_declarations(schema, out) + gen_ddm_status(schema, out) + \
        gen_ddm_protocol(schema, out)


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    schema = sys.argv[1]
    if os.path.isdir(os.path.join(schema, "yaml", "mdm")):
        schema = os.path.join(schema, "yaml")
    out = sys.argv[2] if len(sys.argv) > 2 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "core", "src")
    for sub in ("command", "checkin", os.path.join("profile", "payloads"),
                os.path.join("ddm", "declarations"), os.path.join("ddm", "status"),
                os.path.join("ddm", "protocol")):
        d = os.path.join(out, sub)
        os.makedirs(d, exist_ok=True)
        for old in glob.glob(os.path.join(d, "*.rs")):
            if open(old).read().startswith(HEADER.strip()):
                os.remove(old)
    written = gen_commands(schema, out) + gen_checkin(schema, out) + gen_profiles(schema, out) \
        + gen_ddm(schema, out)
    subprocess.run(["rustfmt", "--edition", "2021"] + written, check=True)
    print(f"wrote {len(written)} files under {out}")


if __name__ == "__main__":
    main()
