//! `mdmkit privacy`: the privacy settings the portal obeys.

use clap::{Subcommand, ValueEnum};
use mdmkit_core::store::AuditEvent;

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

/// The privacy settings (server-wide: the store keeps one set).
#[derive(Debug, Subcommand)]
pub enum PrivacyCommand {
    /// Change the settings; options not given keep their value.
    Set {
        /// Whether end users may locate their devices.
        #[arg(long)]
        location: Option<Switch>,
        /// Whether the installed-application inventory may be collected.
        #[arg(long)]
        app_inventory: Option<Switch>,
    },
    /// Show the settings.
    Show,
}

/// Runs a `privacy` subcommand.
pub fn run(command: PrivacyCommand, opts: &GlobalOpts) -> CliResult<()> {
    let settings = block_on(async {
        let store = open_store(opts).await?;
        let mut settings = store.get_privacy_settings().await?;
        if let PrivacyCommand::Set {
            location,
            app_inventory,
        } = command
        {
            if location.is_none() && app_inventory.is_none() {
                return Err(CliError::input("give --location and/or --app-inventory"));
            }
            if let Some(switch) = location {
                settings.allow_location = switch == Switch::On;
            }
            if let Some(switch) = app_inventory {
                settings.allow_app_inventory = switch == Switch::On;
            }
            store.put_privacy_settings(&settings).await?;
            let mut event = AuditEvent::new("admin", "privacy.set");
            event.detail = Some(
                serde_json::json!({
                    "allow_location": settings.allow_location,
                    "allow_app_inventory": settings.allow_app_inventory,
                })
                .to_string(),
            );
            store.append_audit_event(&event).await?;
        }
        Ok::<_, CliError>(settings)
    })??;
    print_out(&format!(
        "location: {}\napp inventory: {}\n",
        if settings.allow_location { "on" } else { "off" },
        if settings.allow_app_inventory {
            "on"
        } else {
            "off"
        },
    ));
    Ok(())
}
