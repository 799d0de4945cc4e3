//! `mdmkit privacy`: the privacy settings the portal obeys, server-wide or for one user or
//! device.

use clap::{Args, Subcommand, ValueEnum};
use mdmkit_core::store::{EffectivePrivacy, PrivacyScope, PrivacyValue};
use mdmkit_core::EnrollmentId;
use mdmkit_enrollment::PrivacyChange;

use crate::store_open::{block_on, open_store, GlobalOpts};
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

impl ScopeArgs {
    fn scope(&self) -> Option<PrivacyScope> {
        match (&self.device, &self.user) {
            (Some(device), _) => Some(PrivacyScope::Enrollment(EnrollmentId::new(device))),
            (None, Some(user)) => Some(PrivacyScope::User(user.clone())),
            (None, None) => None,
        }
    }
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

fn line(name: &str, value: PrivacyValue) -> String {
    format!(
        "{name}: {} ({})\n",
        if value.allowed { "on" } else { "off" },
        value.source.as_str()
    )
}

fn text(effective: &EffectivePrivacy) -> String {
    line("location", effective.location) + &line("app inventory", effective.app_inventory)
}

/// Runs a `privacy` subcommand.
pub fn run(command: PrivacyCommand, opts: &GlobalOpts) -> CliResult<()> {
    let output = block_on(async {
        let store = open_store(opts).await?;
        let output = match command {
            PrivacyCommand::Set {
                scope,
                location,
                app_inventory,
            } => {
                if location.is_none() && app_inventory.is_none() {
                    return Err(CliError::input("give --location and/or --app-inventory"));
                }
                let mut change = PrivacyChange::new();
                if let Some(switch) = location {
                    change = change.with_location(switch == Switch::On);
                }
                if let Some(switch) = app_inventory {
                    change = change.with_app_inventory(switch == Switch::On);
                }
                let effective =
                    mdmkit_enrollment::set_privacy(&store, "admin", scope.scope().as_ref(), change)
                        .await?;
                text(&effective)
            }
            PrivacyCommand::Show { scope } => {
                text(&mdmkit_enrollment::privacy_of(&store, scope.scope().as_ref()).await?)
            }
            PrivacyCommand::Clear { scope } => {
                let scope = match (scope.device, scope.user) {
                    (Some(device), _) => PrivacyScope::Enrollment(EnrollmentId::new(device)),
                    (None, Some(user)) => PrivacyScope::User(user),
                    (None, None) => return Err(CliError::input("give --device or --user")),
                };
                if mdmkit_enrollment::clear_privacy(&store, "admin", &scope).await? {
                    format!("cleared the privacy override of {scope}\n")
                } else {
                    format!("{scope} had no privacy override\n")
                }
            }
        };
        Ok::<_, CliError>(output)
    })??;
    print_out(&output);
    Ok(())
}
