//! `mdmkit command list|render`: the typed MDM commands of Apple's schema.

use std::io::Write;
use std::path::PathBuf;

use clap::Subcommand;
use mdmkit_core::codec::KeyPath;
use mdmkit_core::command::{self, CommandEnvelope};
use mdmkit_core::json;
use mdmkit_core::schema::{KeyInfo, ValueKind};
use mdmkit_core::PlistFormat;
use plist::{Dictionary, Value};

use crate::{print_out, read_input, CliError, CliResult};

/// Subcommands of `mdmkit command`.
#[derive(Debug, Subcommand)]
pub enum CommandCmd {
    /// List every RequestType with the platforms that run it, one per line.
    List,
    /// Print a command's plist (XML, or binary with --binary).
    Render {
        /// The command's RequestType, e.g. DeviceLock.
        request_type: String,
        /// The CommandUUID (default: a new random UUID).
        #[arg(long)]
        uuid: Option<String>,
        /// A key and its value, with Apple's key name (nested keys dotted:
        /// Options.PurchaseMethod=1). Arrays and dictionaries take JSON. Repeatable.
        #[arg(long = "set", value_name = "KEY=VALUE")]
        set: Vec<String>,
        /// The command's keys as a JSON object (data as base64, dates as RFC 3339);
        /// --set values are applied on top. `-` reads standard input.
        #[arg(long, value_name = "FILE")]
        json: Option<PathBuf>,
        /// Write a binary plist instead of XML.
        #[arg(long)]
        binary: bool,
    },
    /// Decode a command plist (XML or binary) and print it as JSON.
    Decode {
        /// The file to read; `-` reads standard input.
        file: String,
    },
}

/// Runs `mdmkit command ...`.
pub fn run(cmd: CommandCmd) -> CliResult<()> {
    match cmd {
        CommandCmd::List => {
            let mut out = String::new();
            for info in mdmkit_service::protocol::request_types() {
                out.push_str(&format!(
                    "{:<40} {}\n",
                    info.name,
                    info.platforms.join(", ")
                ));
            }
            print_out(&out);
            Ok(())
        }
        CommandCmd::Render {
            request_type,
            uuid,
            set,
            json,
            binary,
        } => {
            let envelope = build(&request_type, uuid, &set, json)?;
            let format = if binary {
                PlistFormat::Binary
            } else {
                PlistFormat::Xml
            };
            let bytes = envelope.encode(format)?;
            let mut stdout = std::io::stdout().lock();
            stdout
                .write_all(&bytes)
                .and_then(|()| if binary { Ok(()) } else { writeln!(stdout) })
                .map_err(|e| CliError::failure(format!("cannot write output: {e}")))
        }
        CommandCmd::Decode { file } => {
            let bytes = read_input(&file)?;
            let decoded = mdmkit_service::protocol::decode_command(&bytes)
                .map_err(|e| CliError::input(format!("{file}: {e} [{}]", e.code())))?;
            let value = serde_json::to_value(&decoded)
                .map_err(|e| CliError::failure(format!("cannot write JSON: {e}")))?;
            print_out(&format!("{value:#}\n"));
            Ok(())
        }
    }
}

/// The platforms of a command as one line: `iOS 4.0, macOS 10.7 (supervised)`.
fn build(
    request_type: &str,
    uuid: Option<String>,
    set: &[String],
    json_file: Option<PathBuf>,
) -> CliResult<CommandEnvelope> {
    let info = command::command_info(request_type).ok_or_else(|| {
        CliError::input(format!(
            "unknown RequestType {request_type:?} (`mdmkit command list` shows them all)"
        ))
    })?;
    let root = KeyPath::named(info.name);
    let mut dict = match json_file {
        Some(path) => {
            let text = read_input(&path.to_string_lossy())?;
            let value: serde_json::Value = serde_json::from_slice(&text)
                .map_err(|e| CliError::input(format!("{}: not JSON: {e}", path.display())))?;
            let serde_json::Value::Object(object) = value else {
                return Err(CliError::input(format!(
                    "{}: expected a JSON object of the command's keys",
                    path.display()
                )));
            };
            json::dictionary_from_json(&object, info.keys, &root)?
        }
        None => Dictionary::new(),
    };
    for assignment in set {
        let (key, value) = assignment
            .split_once('=')
            .ok_or_else(|| CliError::input(format!("--set {assignment:?}: expected KEY=VALUE")))?;
        set_path(&mut dict, info.keys, key, value, &root)?;
    }
    let command = command::command_from_keys(info.name, dict)?;
    Ok(match uuid {
        Some(uuid) => CommandEnvelope::with_uuid(uuid, command),
        None => CommandEnvelope::new(command),
    })
}

/// Sets a dotted key path (`Options.PurchaseMethod`) to a value written as text.
pub(crate) fn set_path(
    dict: &mut Dictionary,
    keys: &'static [KeyInfo],
    dotted: &str,
    text: &str,
    root: &KeyPath<'_>,
) -> CliResult<()> {
    let (head, rest) = match dotted.split_once('.') {
        Some((head, rest)) => (head, Some(rest)),
        None => (dotted, None),
    };
    let path = root.key(head);
    let info = keys.iter().find(|k| k.name == head).ok_or_else(|| {
        CliError::input(format!(
            "unknown key {path} (known: {})",
            keys.iter().map(|k| k.name).collect::<Vec<_>>().join(", ")
        ))
    })?;
    match rest {
        None => {
            dict.insert(head.to_owned(), json::value_from_text(text, info, &path)?);
            Ok(())
        }
        Some(rest) => {
            if info.kind != ValueKind::Dictionary
                || info.keys.is_empty()
                || info.discriminator.is_some()
            {
                return Err(CliError::input(format!(
                    "{path} has no named sub-keys; give its value as JSON instead"
                )));
            }
            let entry = dict
                .entry(head.to_owned())
                .or_insert_with(|| Value::Dictionary(Dictionary::new()));
            let Value::Dictionary(inner) = entry else {
                return Err(CliError::input(format!("{path} is not a dictionary")));
            };
            set_path(inner, info.keys, rest, text, &path)
        }
    }
}
