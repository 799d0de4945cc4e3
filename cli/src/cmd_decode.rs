//! `mdmkit checkin decode` and `mdmkit result decode`: what a device sent, as JSON.

use clap::Subcommand;
use mdmkit_service::protocol;
use serde::Serialize;

use crate::{print_out, read_input, CliError, CliResult};

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
    let decoded =
        protocol::decode_checkin(&bytes, show_secrets).map_err(|e| decode_error(&file, e))?;
    print_json(&decoded)
}

/// Runs `mdmkit result ...`.
pub fn run_result(cmd: ResultCmd) -> CliResult<()> {
    let ResultCmd::Decode { file, request_type } = cmd;
    let bytes = read_input(&file)?;
    let decoded = protocol::decode_result(&bytes, request_type.as_deref())
        .map_err(|e| decode_error(&file, e))?;
    print_json(&decoded)
}

fn decode_error(file: &str, error: mdmkit_service::Error) -> CliError {
    CliError::input(format!("{file}: {error} [{}]", error.code()))
}

fn print_json(value: &impl Serialize) -> CliResult<()> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| CliError::failure(format!("cannot write JSON: {e}")))?;
    print_out(&format!("{text}\n"));
    Ok(())
}
