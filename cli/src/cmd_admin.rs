//! `mdmkit admin`: the administrators' accounts (console and admin API), one service call
//! per command; `admin add` creates a deployment's first administrator.

use clap::Subcommand;

use crate::store_open::{block_on, open_mdm, GlobalOpts};
use crate::{print_out, read_secret_input, CliError, CliResult};

/// Manage administrators.
#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Add an administrator; the password is read from the first line of standard input
    /// (or a file).
    Add {
        /// The e-mail address they sign in with (unique among administrators).
        email: String,
        /// The display name.
        #[arg(long)]
        name: Option<String>,
        /// Read the password from this file instead of standard input.
        #[arg(long, value_name = "FILE", default_value = "-")]
        password_file: String,
    },
    /// List the administrators.
    List {
        /// As JSON.
        #[arg(long)]
        json: bool,
    },
    /// Delete an administrator (their sessions end).
    Delete {
        /// The administrator's id (`admin list` shows it).
        id: String,
    },
    /// Set an administrator's password, read from the first line of standard input (or a
    /// file); their sessions end.
    Passwd {
        /// The administrator's id (`admin list` shows it).
        id: String,
        /// Read the password from this file instead of standard input.
        #[arg(long, value_name = "FILE", default_value = "-")]
        password_file: String,
    },
}

/// Runs an `admin` subcommand.
pub fn run(command: AdminCommand, opts: &GlobalOpts) -> CliResult<()> {
    block_on(run_async(command, opts))?
}

async fn run_async(command: AdminCommand, opts: &GlobalOpts) -> CliResult<()> {
    let mdm = open_mdm(opts, |config| config).await?;
    match command {
        AdminCommand::Add {
            email,
            name,
            password_file,
        } => {
            let password = read_password_line(&password_file)?;
            let admin = mdm.admins().add(&email, name.as_deref(), &password).await?;
            print_out(&format!(
                "added administrator {} <{}>\n",
                admin.id, admin.email
            ));
        }
        AdminCommand::List { json } => {
            let admins = mdm.admins().list().await?;
            if json {
                let text = serde_json::to_string_pretty(&admins)
                    .map_err(|e| CliError::failure(format!("JSON: {e}")))?;
                print_out(&format!("{text}\n"));
            } else {
                let mut text = String::new();
                for admin in admins {
                    text.push_str(&format!(
                        "{}\t{}\t{}\t{}\n",
                        admin.id,
                        admin.email,
                        admin.name.as_deref().unwrap_or("-"),
                        if admin.enabled { "enabled" } else { "disabled" }
                    ));
                }
                print_out(&text);
            }
        }
        AdminCommand::Delete { id } => {
            if mdm.admins().delete(&id).await? {
                print_out(&format!("deleted administrator {id}\n"));
            } else {
                return Err(CliError::input(format!(
                    "no administrator {id} [not_found]"
                )));
            }
        }
        AdminCommand::Passwd { id, password_file } => {
            let password = read_password_line(&password_file)?;
            mdm.admins().set_password(&id, &password).await?;
            print_out(&format!("password set for administrator {id}\n"));
        }
    }
    Ok(())
}

/// The first line of a password file (`-`: standard input).
fn read_password_line(path: &str) -> CliResult<String> {
    let bytes = read_secret_input(path)?;
    let text =
        String::from_utf8(bytes).map_err(|_| CliError::input("the password is not UTF-8"))?;
    Ok(text.lines().next().unwrap_or_default().to_owned())
}
