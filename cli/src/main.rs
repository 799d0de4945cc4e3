//! `mdmkit`: the administrators' command-line tool, thin over the mdmkit crates.
//!
//! Every subcommand group lives in its own module (`cmd_<group>.rs`) with a clap
//! `Subcommand` enum and a `run` function; this file only dispatches. A refusal prints one
//! line on standard error and exits non-zero (2 for bad input).

mod cli_error;
mod cmd_push;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub use cli_error::{CliError, CliResult};

/// mdmkit: Apple Mobile Device Management from the command line.
#[derive(Debug, Parser)]
#[command(name = "mdmkit", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Commands,
}

#[derive(Debug, Subcommand)]
enum Commands {
    /// APNs pushes and the mock APNs server.
    #[command(subcommand)]
    Push(cmd_push::PushCommand),
}

fn run(cli: Cli) -> CliResult<()> {
    match cli.command {
        Commands::Push(command) => cmd_push::run(command),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("mdmkit: {error}");
            ExitCode::from(error.exit_code())
        }
    }
}
