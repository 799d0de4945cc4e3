//! `mdmkit`: the administrators' command-line tool, thin over the mdmkit crates.
//!
//! Every subcommand group lives in its own module (`cmd_<group>.rs`) with a clap
//! `Subcommand` enum and a `run` function; this file only dispatches. A refusal prints one
//! line on standard error and exits non-zero (2 for bad input).

mod cli_error;
mod cmd_admin;
mod cmd_certs;
mod cmd_command;
mod cmd_db;
mod cmd_ddm;
mod cmd_decode;
mod cmd_enroll;
mod cmd_init;
mod cmd_invite;
mod cmd_portal;
mod cmd_privacy;
mod cmd_profile;
mod cmd_push;
mod cmd_push_cert;
mod cmd_queue;
mod cmd_serve;
mod store_open;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub use cli_error::{
    print_out, read_input, read_secret_input, write_secret_output, CliError, CliResult,
};

/// mdmkit: Apple Mobile Device Management from the command line.
#[derive(Debug, Parser)]
#[command(name = "mdmkit", version, about)]
struct Cli {
    #[command(flatten)]
    global: store_open::GlobalOpts,
    #[command(subcommand)]
    command: Commands,
}

#[derive(Debug, Subcommand)]
enum Commands {
    /// Typed MDM commands: list them, render one as a plist.
    #[command(subcommand)]
    Command(cmd_command::CommandCmd),
    /// Check-in messages a device sends.
    #[command(subcommand)]
    Checkin(cmd_decode::CheckinCmd),
    /// Command results a device sends.
    #[command(subcommand)]
    Result(cmd_decode::ResultCmd),
    /// Configuration profiles: build, sign, verify, inspect.
    #[command(subcommand)]
    Profile(cmd_profile::ProfileCmd),
    /// Apple Push certificates: CSR, vendor signing, install, renew, status, notices.
    #[command(subcommand)]
    PushCert(cmd_push_cert::PushCertCommand),
    /// Manage the store's database.
    #[command(subcommand)]
    Db(cmd_db::DbCommand),
    /// Declarative Device Management: declarations, sets, status reports.
    #[command(subcommand)]
    Ddm(cmd_ddm::DdmCommand),
    /// Inspect the command queue.
    #[command(subcommand)]
    Queue(cmd_queue::QueueCommand),
    /// APNs pushes and the mock APNs server.
    #[command(subcommand)]
    Push(cmd_push::PushCommand),
    /// User-provided S/MIME certificates (PKCS#12) and their kinds.
    #[command(subcommand)]
    Certs(cmd_certs::CertsCommand),
    /// The server: MDM endpoints, enrollment links and the admin JSON API, from the store.
    Serve(cmd_serve::ServeArgs),
    /// Enrollment profiles for portal users.
    #[command(subcommand)]
    Enroll(cmd_enroll::EnrollCommand),
    /// The privacy settings the portal obeys (location, app inventory).
    #[command(subcommand)]
    Privacy(cmd_privacy::PrivacyCommand),
    /// Self-service portal users, and acting as one of them.
    #[command(subcommand)]
    Portal(cmd_portal::PortalCommand),
    /// Invite a portal user by e-mail (portal and registration links); list, revoke.
    Invite(cmd_invite::InviteArgs),
    /// Set up a deployment: the device CA and the public URLs, kept in the store.
    Init(cmd_init::InitArgs),
    /// The settings kept in the store: show, set, unset.
    #[command(subcommand)]
    Settings(cmd_init::SettingsCommand),
    /// Administrators' accounts (console and admin API): add, list, delete, passwd.
    #[command(subcommand)]
    Admin(cmd_admin::AdminCommand),
}

fn run(cli: Cli) -> CliResult<()> {
    match cli.command {
        Commands::Command(cmd) => cmd_command::run(cmd),
        Commands::Checkin(cmd) => cmd_decode::run_checkin(cmd),
        Commands::Result(cmd) => cmd_decode::run_result(cmd),
        Commands::Profile(cmd) => cmd_profile::run(cmd),
        Commands::PushCert(command) => cmd_push_cert::run(command, &cli.global),
        Commands::Db(command) => cmd_db::run(command, &cli.global),
        Commands::Ddm(command) => cmd_ddm::run(command, &cli.global),
        Commands::Queue(command) => cmd_queue::run(command, &cli.global),
        Commands::Push(command) => cmd_push::run(command, &cli.global),
        Commands::Certs(command) => cmd_certs::run(command, &cli.global),
        Commands::Serve(args) => cmd_serve::run(args, &cli.global),
        Commands::Enroll(command) => cmd_enroll::run(command, &cli.global),
        Commands::Privacy(command) => cmd_privacy::run(command, &cli.global),
        Commands::Portal(command) => cmd_portal::run(command, &cli.global),
        Commands::Invite(args) => cmd_invite::run(args, &cli.global),
        Commands::Init(args) => cmd_init::run_init(args, &cli.global),
        Commands::Settings(command) => cmd_init::run_settings(command, &cli.global),
        Commands::Admin(command) => cmd_admin::run(command, &cli.global),
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
