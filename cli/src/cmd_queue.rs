//! `mdmkit queue`: inspect the command queue.
//!
//! A diagnostic beneath the deployment: it reads the store's raw queue of any identifier,
//! also one without an enrollment record (commands queued before Authenticate, or left
//! after a deletion), with priorities and payload sizes. The service's
//! `Devices::queue` answers `not_found` for an unknown enrollment, which is right for the
//! API and the console but not for this tool; so it opens the store itself.

use clap::Subcommand;
use mdmkit_core::store::PendingCommand;
use mdmkit_core::EnrollmentId;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::store_open::{block_on, open_store, GlobalOpts};
use crate::{CliError, CliResult};

/// Inspect the command queue.
#[derive(Debug, Subcommand)]
pub enum QueueCommand {
    /// List the commands pending for an enrollment, in the order they will be sent.
    Show {
        /// The enrollment identifier (UDID, or UDID:UserID for a user channel).
        enrollment: String,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

/// Runs a `queue` subcommand.
pub fn run(command: QueueCommand, opts: &GlobalOpts) -> CliResult<()> {
    match command {
        QueueCommand::Show { enrollment, json } => {
            if enrollment.trim().is_empty() {
                return Err(CliError::input("the enrollment identifier is empty"));
            }
            let id = EnrollmentId::new(enrollment);
            let pending = block_on(async {
                let store = open_store(opts).await?;
                Ok::<_, CliError>(store.pending_commands(&id).await?)
            })??;
            if json {
                let entries: Vec<serde_json::Value> = pending.iter().map(to_json).collect();
                let text = serde_json::to_string_pretty(&entries)
                    .map_err(|e| CliError::failure(format!("cannot write JSON: {e}")))?;
                println!("{text}");
            } else if pending.is_empty() {
                println!("no pending commands for {id}");
            } else {
                println!(
                    "{:<36}  {:<28}  {:>8}  {:<8}  {:<20}  DELIVERED",
                    "COMMAND UUID", "REQUEST TYPE", "PRIORITY", "STATUS", "CREATED"
                );
                for entry in &pending {
                    println!(
                        "{:<36}  {:<28}  {:>8}  {:<8}  {:<20}  {}",
                        entry.command.command_uuid,
                        entry.command.request_type,
                        entry.command.priority,
                        status_name(entry),
                        timestamp(entry.command.created_at),
                        entry
                            .delivered_at
                            .map(timestamp)
                            .unwrap_or_else(|| "-".into())
                    );
                }
            }
            Ok(())
        }
    }
}

fn status_name(entry: &PendingCommand) -> &'static str {
    entry.status.map_or("Pending", |status| status.as_str())
}

fn timestamp(at: OffsetDateTime) -> String {
    at.replace_nanosecond(0)
        .unwrap_or(at)
        .format(&Rfc3339)
        .unwrap_or_else(|_| at.unix_timestamp().to_string())
}

fn to_json(entry: &PendingCommand) -> serde_json::Value {
    serde_json::json!({
        "command_uuid": entry.command.command_uuid,
        "request_type": entry.command.request_type,
        "priority": entry.command.priority,
        "status": status_name(entry),
        "created_at": entry.command.created_at.format(&Rfc3339).ok(),
        "delivered_at": entry.delivered_at.and_then(|at| at.format(&Rfc3339).ok()),
        "payload_bytes": entry.command.payload.len(),
    })
}
