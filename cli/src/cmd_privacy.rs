//! `mdmkit privacy`: the privacy settings the portal obeys, server-wide or for one user or
//! device.

use clap::{Args, Subcommand, ValueEnum};
use mdmkit_service::{PrivacySetting, PrivacyView};

use crate::store_open::{block_on, open_mdm, GlobalOpts};
use crate::{print_out, CliError, CliResult};

/// On or off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Switch {
    /// Allowed.
    On,
    /// Forbidden.
    Off,
}

/// Which settings: one device, one user, or (neither) the server-wide ones.
#[derive(Debug, Clone, Args)]
#[group(multiple = false)]
pub struct ScopeArgs {
    /// One device (its enrollment id): overrides its owner's and the server's settings.
    #[arg(long, value_name = "ENROLLMENT")]
    device: Option<String>,
    /// One portal user (all their devices): overrides the server's settings.
    #[arg(long, value_name = "USER")]
    user: Option<String>,
}

/// The device or user whose override is cleared.
#[derive(Debug, Clone, Args)]
#[group(required = true, multiple = false)]
pub struct ClearScopeArgs {
    /// One device (its enrollment id).
    #[arg(long, value_name = "ENROLLMENT")]
    device: Option<String>,
    /// One portal user.
    #[arg(long, value_name = "USER")]
    user: Option<String>,
}

/// The privacy settings: server-wide, overridden per user, overridden per device.
#[derive(Debug, Subcommand)]
pub enum PrivacyCommand {
    /// Change the settings (server-wide, or the override of --device or --user); options
    /// not given keep their value.
    Set {
        /// Whose settings (default: server-wide).
        #[command(flatten)]
        scope: ScopeArgs,
        /// Whether end users may locate their devices.
        #[arg(long)]
        location: Option<Switch>,
        /// Whether the installed-application inventory may be collected.
        #[arg(long)]
        app_inventory: Option<Switch>,
    },
    /// Show the settings in effect and where each value comes from.
    Show {
        /// Whose settings (default: server-wide).
        #[command(flatten)]
        scope: ScopeArgs,
    },
    /// Remove the override of a device or user, so it inherits again.
    Clear {
        /// Whose override.
        #[command(flatten)]
        scope: ClearScopeArgs,
    },
}

fn line(name: &str, value: &PrivacySetting) -> String {
    format!(
        "{name}: {} ({})\n",
        if value.allowed { "on" } else { "off" },
        value.source
    )
}

fn text(view: &PrivacyView) -> String {
    line("location", &view.location) + &line("app inventory", &view.app_inventory)
}

/// Runs a `privacy` subcommand.
pub fn run(command: PrivacyCommand, opts: &GlobalOpts) -> CliResult<()> {
    let output = block_on(async {
        let privacy = open_mdm(opts, |config| config).await?.privacy();
        let output = match command {
            PrivacyCommand::Set {
                scope,
                location,
                app_inventory,
            } => {
                if location.is_none() && app_inventory.is_none() {
                    return Err(CliError::input("give --location and/or --app-inventory"));
                }
                let view = privacy
                    .set(
                        scope.user.as_deref(),
                        scope.device.as_deref(),
                        location.map(|switch| switch == Switch::On),
                        app_inventory.map(|switch| switch == Switch::On),
                    )
                    .await?;
                text(&view)
            }
            PrivacyCommand::Show { scope } => text(
                &privacy
                    .show(scope.user.as_deref(), scope.device.as_deref())
                    .await?,
            ),
            PrivacyCommand::Clear { scope } => {
                let named = match (&scope.device, &scope.user) {
                    (Some(device), _) => format!("enrollment:{device}"),
                    (None, Some(user)) => format!("user:{user}"),
                    (None, None) => return Err(CliError::input("give --device or --user")),
                };
                if privacy
                    .clear(scope.user.as_deref(), scope.device.as_deref())
                    .await?
                {
                    format!("cleared the privacy override of {named}\n")
                } else {
                    format!("{named} had no privacy override\n")
                }
            }
        };
        Ok::<_, CliError>(output)
    })??;
    print_out(&output);
    Ok(())
}
