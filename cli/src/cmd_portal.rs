//! `mdmkit portal`: portal users, and acting as an end user with the portal's checks.

use std::sync::Arc;

use clap::Subcommand;
use mdmkit_core::command::EraseDevice;
use mdmkit_core::engine::{Engine, LockOptions};
use mdmkit_enrollment::{Portal, PortalConfig};

use crate::cmd_serve::NoPushCertificate;
use crate::store_open::{block_on, open_store, GlobalOpts};
use crate::{print_out, read_input, CliError, CliResult};

/// Portal users, and the portal's device operations as a given user.
#[derive(Debug, Subcommand)]
pub enum PortalCommand {
    /// Manage portal users.
    #[command(subcommand)]
    User(UserCommand),
    /// Act as an end user: the same ownership checks and audit log as the portal.
    As {
        /// The portal user id.
        user: String,
        /// What to do.
        #[command(subcommand)]
        action: AsAction,
        /// The device CA certificate(s) the server trusts (PEM or DER; as for `serve`).
        #[arg(long, required = true, value_name = "FILE")]
        device_ca: Vec<String>,
        /// The enrollment profile's identifier (needed by `retire`).
        #[arg(long, value_name = "ID")]
        enrollment_profile_id: Option<String>,
    },
}

/// Manage portal users.
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user (no password yet).
    Add {
        /// The user id.
        user: String,
        /// The e-mail address (unique).
        #[arg(long)]
        email: String,
        /// The display name.
        #[arg(long)]
        name: Option<String>,
    },
    /// Set a user's password, read from the first line of standard input (or a file).
    Passwd {
        /// The user id.
        user: String,
        /// Read the password from this file instead of standard input.
        #[arg(long, value_name = "FILE", default_value = "-")]
        password_file: String,
    },
}

/// The portal's operations on one of the user's devices.
#[derive(Debug, Subcommand)]
pub enum AsAction {
    /// List the user's devices and what each can do.
    Devices,
    /// Lock the device.
    Lock {
        /// The enrollment id.
        device: String,
        /// The lock-screen message.
        #[arg(long)]
        message: Option<String>,
    },
    /// Clear the device's passcode.
    Unlock {
        /// The enrollment id.
        device: String,
    },
    /// Ask the device for its location (when privacy settings allow it).
    Locate {
        /// The enrollment id.
        device: String,
    },
    /// Erase the device.
    Wipe {
        /// The enrollment id.
        device: String,
    },
    /// Unenroll the device (remove the enrollment profile).
    Retire {
        /// The enrollment id.
        device: String,
    },
    /// Make the device check in now.
    Checkin {
        /// The enrollment id.
        device: String,
    },
}

/// Runs a `portal` subcommand.
pub fn run(command: PortalCommand, opts: &GlobalOpts) -> CliResult<()> {
    block_on(run_async(command, opts))?
}

async fn run_async(command: PortalCommand, opts: &GlobalOpts) -> CliResult<()> {
    match command {
        PortalCommand::User(UserCommand::Add { user, email, name }) => {
            let store = open_store(opts).await?;
            mdmkit_enrollment::add_user(&store, &user, &email, name.as_deref()).await?;
            print_out(&format!("added portal user {user} <{email}>\n"));
        }
        PortalCommand::User(UserCommand::Passwd {
            user,
            password_file,
        }) => {
            let bytes = read_input(&password_file)?;
            let text = String::from_utf8(bytes)
                .map_err(|_| CliError::input("the password is not UTF-8"))?;
            let password = text.lines().next().unwrap_or_default();
            let store = open_store(opts).await?;
            mdmkit_enrollment::set_password(&store, &user, password).await?;
            print_out(&format!("password set for {user}\n"));
        }
        PortalCommand::As {
            user,
            action,
            device_ca,
            enrollment_profile_id,
        } => {
            let portal = portal(opts, &device_ca, enrollment_profile_id).await?;
            let session = portal.act_as(&user).await?;
            let queued = match action {
                AsAction::Devices => {
                    let devices = portal.devices(&session).await?;
                    let mut text = String::new();
                    for device in devices {
                        text.push_str(&format!(
                            "{}\t{}\t{}\t{}\n",
                            device.enrollment_id,
                            device.model.as_deref().unwrap_or("-"),
                            if device.enabled {
                                "enabled"
                            } else {
                                "disabled"
                            },
                            device.actions.join(",")
                        ));
                    }
                    print_out(&text);
                    return Ok(());
                }
                AsAction::Lock { device, message } => {
                    let mut options = LockOptions::default();
                    options.message = message;
                    portal.lock(&session, &device, options).await?
                }
                AsAction::Unlock { device } => portal.unlock(&session, &device).await?,
                AsAction::Locate { device } => portal.locate(&session, &device).await?,
                AsAction::Wipe { device } => {
                    portal.wipe(&session, &device, EraseDevice::new()).await?
                }
                AsAction::Retire { device } => portal.retire(&session, &device).await?,
                AsAction::Checkin { device } => {
                    let outcome = portal.check_in(&session, &device).await?;
                    print_out(&format!("push: {outcome:?}\n"));
                    return Ok(());
                }
            };
            print_out(&format!("queued {}\n", queued.command_uuid));
        }
    }
    Ok(())
}

async fn portal(
    opts: &GlobalOpts,
    device_ca: &[String],
    enrollment_profile_id: Option<String>,
) -> CliResult<Portal> {
    let store = open_store(opts).await?;
    // Commands are queued; the device gets them at its next check-in (no push from here).
    let mut builder = Engine::builder(store, Arc::new(NoPushCertificate));
    for path in device_ca {
        builder = builder.device_ca(read_input(path)?);
    }
    if let Some(id) = enrollment_profile_id {
        builder = builder.enrollment_profile_identifier(id);
    }
    let engine = builder
        .build()
        .map_err(|e| CliError::input(format!("--device-ca: {e}")))?;
    Ok(Portal::new(engine, PortalConfig::default()))
}
