//! `mdmkit init` and `mdmkit settings`: the settings a deployment runs from, kept in the
//! store. Thin over `mdmkit_service`.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use mdmkit_service::InitOptions;

use crate::store_open::{block_on, open_mdm, GlobalOpts};
use crate::{print_out, read_input, CliError, CliResult};

/// Arguments of `init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// The server's public base URL (`https://mdm.example.com`): sets server_url
    /// (`<base>/mdm`), enrollment_url (`/enroll`), portal_url (`/portal`) and console_url
    /// (`/console`).
    #[arg(long, value_name = "URL")]
    url: Option<String>,
    /// The enrollment profile's PayloadIdentifier.
    #[arg(long, value_name = "ID")]
    enrollment_profile_id: Option<String>,
    /// The organisation's name.
    #[arg(long, value_name = "NAME")]
    organisation: Option<String>,
    /// The administrators' address for expiry notices.
    #[arg(long, value_name = "ADDRESS")]
    admin_email: Option<String>,
    /// The SMTP server, `smtp[s]://[user:password@]host[:port]` (stored sealed).
    #[arg(long, value_name = "URL")]
    smtp_url: Option<String>,
    /// The sender of notices and invitations.
    #[arg(long, value_name = "ADDRESS")]
    smtp_from: Option<String>,
    /// Import this device CA certificate (PEM) instead of creating one.
    #[arg(long, value_name = "FILE", requires = "device_ca_key")]
    device_ca_cert: Option<PathBuf>,
    /// The imported device CA's private key (PEM, unencrypted).
    #[arg(long, value_name = "FILE", requires = "device_ca_cert")]
    device_ca_key: Option<PathBuf>,
}

/// `settings` subcommands.
#[derive(Debug, Subcommand)]
pub enum SettingsCommand {
    /// Every setting, with its value (secrets only say whether they are set).
    Show {
        /// As JSON.
        #[arg(long)]
        json: bool,
    },
    /// Sets one setting (`@FILE` reads the value from a file, `-` from standard input).
    Set {
        /// The setting's name (`settings show` lists them).
        name: String,
        /// The value.
        value: String,
    },
    /// Removes one setting.
    Unset {
        /// The setting's name.
        name: String,
    },
}

/// Runs `init`.
pub fn run_init(args: InitArgs, opts: &GlobalOpts) -> CliResult<()> {
    let device_ca = match (&args.device_ca_cert, &args.device_ca_key) {
        (Some(cert), Some(key)) => Some((
            read_input(&cert.to_string_lossy())?,
            read_input(&key.to_string_lossy())?,
        )),
        _ => None,
    };
    let mut options = InitOptions::default();
    options.base_url = args.url;
    options.enrollment_profile_id = args.enrollment_profile_id;
    options.organisation = args.organisation;
    options.admin_email = args.admin_email;
    options.smtp_url = args.smtp_url;
    options.smtp_from = args.smtp_from;
    options.device_ca = device_ca;
    let report = block_on(async {
        let mdm = open_mdm(opts, |config| config).await?;
        Ok::<_, CliError>(mdm.enrollment().init(options).await?)
    })??;
    let mut text = format!(
        "device CA {}: {}\n",
        report.device_ca, report.device_ca_subject
    );
    for name in &report.written {
        text.push_str(&format!("set {name}\n"));
    }
    print_out(&text);
    Ok(())
}

/// Runs a `settings` subcommand.
pub fn run_settings(command: SettingsCommand, opts: &GlobalOpts) -> CliResult<()> {
    let text = block_on(async {
        let mdm = open_mdm(opts, |config| config).await?;
        let settings = mdm.settings();
        Ok::<_, CliError>(match command {
            SettingsCommand::Show { json } => {
                let entries = settings.list().await?;
                if json {
                    let mut text = serde_json::to_string_pretty(&entries)
                        .map_err(|e| CliError::failure(format!("cannot write JSON: {e}")))?;
                    text.push('\n');
                    text
                } else {
                    let mut text = String::new();
                    for entry in entries {
                        let value = match (&entry.value, entry.is_set, entry.secret) {
                            (_, false, _) => "(unset)".to_owned(),
                            (_, true, true) => "(set, secret)".to_owned(),
                            (Some(value), true, false) => first_line(value),
                            (None, true, false) => "(set)".to_owned(),
                        };
                        text.push_str(&format!("{:<24} {value}\n", entry.name));
                    }
                    text
                }
            }
            SettingsCommand::Set { name, value } => {
                let value = match value.strip_prefix('@') {
                    Some(path) => String::from_utf8(read_input(path)?)
                        .map_err(|_| CliError::input(format!("{path}: not text")))?,
                    None if value == "-" => String::from_utf8(read_input("-")?)
                        .map_err(|_| CliError::input("standard input: not text"))?,
                    None => value,
                };
                let value = value.trim_end_matches(['\r', '\n']).to_owned();
                settings.set(&name, &value).await?;
                format!("set {name}\n")
            }
            SettingsCommand::Unset { name } => {
                if settings.unset(&name).await? {
                    format!("unset {name}\n")
                } else {
                    format!("{name} was not set\n")
                }
            }
        })
    })??;
    print_out(&text);
    Ok(())
}

/// A multi-line value (a PEM certificate) shown by its first line and line count.
fn first_line(value: &str) -> String {
    let lines = value.lines().count();
    match value.lines().next() {
        Some(first) if lines > 1 => format!("{first} … ({lines} lines)"),
        _ => value.to_owned(),
    }
}
