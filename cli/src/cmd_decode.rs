//! `mdmkit checkin decode` and `mdmkit result decode`: what a device sent, as JSON.

use clap::Subcommand;
use mdmkit_core::json::{dictionary_to_json, plist_to_json};
use mdmkit_core::{Checkin, CommandResult};
use plist::{Dictionary, Value};
use serde_json::json;

use crate::{print_out, read_input, CliError, CliResult};

/// Keys whose values are credentials: shown only with --show-secrets.
const SECRET_KEYS: [&str; 3] = ["UnlockToken", "BootstrapToken", "TokenData"];

/// Subcommands of `mdmkit checkin`.
#[derive(Debug, Subcommand)]
pub enum CheckinCmd {
    /// Decode a check-in message (XML or binary plist) and print it as JSON.
    Decode {
        /// The file to read; `-` reads standard input.
        file: String,
        /// Print UnlockToken, BootstrapToken and TokenData instead of their size.
        #[arg(long)]
        show_secrets: bool,
    },
}

/// Subcommands of `mdmkit result`.
#[derive(Debug, Subcommand)]
pub enum ResultCmd {
    /// Decode a command result (XML or binary plist) and print it as JSON.
    Decode {
        /// The file to read; `-` reads standard input.
        file: String,
        /// The RequestType of the command answered, when the result does not say.
        #[arg(long)]
        request_type: Option<String>,
    },
}

/// Runs `mdmkit checkin ...`.
pub fn run_checkin(cmd: CheckinCmd) -> CliResult<()> {
    let CheckinCmd::Decode { file, show_secrets } = cmd;
    let bytes = read_input(&file)?;
    let checkin = Checkin::decode(&bytes).map_err(|e| decode_error(&file, e))?;
    let mut message = checkin.message.to_dictionary();
    message.remove("MessageType");
    if !show_secrets {
        redact(&mut message);
    }
    print_json(&json!({
        "message_type": checkin.message.message_type(),
        "enrollment_id": checkin.enrollment_id.as_str(),
        "message": dictionary_to_json(&message),
    }))
}

/// Runs `mdmkit result ...`.
pub fn run_result(cmd: ResultCmd) -> CliResult<()> {
    let ResultCmd::Decode { file, request_type } = cmd;
    let bytes = read_input(&file)?;
    let result = CommandResult::decode(&bytes, request_type.as_deref())
        .map_err(|e| decode_error(&file, e))?;
    let error_chain: Vec<_> = result
        .error_chain
        .iter()
        .map(|item| plist_to_json(&mdmkit_core::codec::PlistCodec::to_plist(item)))
        .collect();
    print_json(&json!({
        "status": result.status.as_str(),
        "command_uuid": result.command_uuid,
        "request_type": result.request_type,
        "enrollment_id": result.enrollment_id.as_str(),
        "error_chain": error_chain,
        "response": result.response.map(|r| dictionary_to_json(&r.to_dictionary())),
    }))
}

fn decode_error(file: &str, error: mdmkit_core::Error) -> CliError {
    CliError::input(format!("{file}: {error} [{}]", error.code()))
}

fn redact(dict: &mut Dictionary) {
    for key in SECRET_KEYS {
        if let Some(Value::Data(bytes)) = dict.get(key) {
            let note = format!(
                "<redacted: {} bytes; --show-secrets prints it>",
                bytes.len()
            );
            dict.insert(key.to_owned(), Value::String(note));
        }
    }
}

fn print_json(value: &serde_json::Value) -> CliResult<()> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| CliError::failure(format!("cannot write JSON: {e}")))?;
    print_out(&format!("{text}\n"));
    Ok(())
}
