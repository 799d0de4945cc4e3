//! `mdmkit ddm declare|assign|list|status|sync|delete|types`: Declarative Device
//! Management through the service's `Declarations` handle ([`Mdm::declarations`]): this
//! module parses arguments, calls one service method per command, and prints. The
//! deployment comes from the service ([`deployment`]). With a device CA (stored or
//! `--device-ca`) `declare`, `assign` and `delete` synchronise the enrollments concerned;
//! without one the service stores only and says so, and `sync` names the missing setting.
//! `list --enrollment` shows the effective declarations with the states reported; `status`
//! the items checked against Apple's schema. Every DeclarativeManagement command queued is
//! pushed and its line says so (`queued UUID, pushed` / `queued UUID, not pushed: REASON`).

use clap::Subcommand;
use mdmkit_core::codec::KeyPath;
use mdmkit_core::ddm::{declaration_type_info, Declaration, DECLARATION_TYPES};
use mdmkit_core::json;
use mdmkit_core::EnrollmentId;
use plist::Dictionary;
use serde_json::{json, Value as Json};

use crate::store_open::{block_on, deployment, outcome_line, GlobalOpts};
use crate::{print_out, read_input, CliError, CliResult};
use mdmkit_service::ddm::{DeclarationEntry, SyncEntry};
use mdmkit_service::Mdm;

/// Subcommands of `mdmkit ddm`.
#[derive(Debug, Subcommand)]
pub enum DdmCommand {
    /// Validate and store declarations in a set (all or none). From a JSON file holding
    /// one declaration object (Type, Identifier, Payload) or an array of them, or from
    /// --type, --identifier and --key. An unchanged declaration keeps its ServerToken.
    Declare {
        /// The JSON file (`-` reads standard input).
        file: Option<String>,
        /// The declaration set to store them in.
        #[arg(long = "set", value_name = "SET")]
        set_name: String,
        /// The declaration's Type (instead of a file), e.g.
        /// com.apple.configuration.passcode.settings.
        #[arg(long = "type", value_name = "TYPE", conflicts_with = "file")]
        declaration_type: Option<String>,
        /// The declaration's Identifier (with --type).
        #[arg(long, requires = "declaration_type")]
        identifier: Option<String>,
        /// A payload key and its value (with --type), with Apple's key name; nested keys
        /// dotted; arrays and dictionaries as JSON. Repeatable.
        #[arg(long = "key", value_name = "KEY=VALUE", requires = "declaration_type")]
        keys: Vec<String>,
        /// The server's device CA certificate(s), overriding the stored one: the
        /// enrollments of the sets that changed are synchronised (the DeclarativeManagement
        /// command is queued and pushed). Without a device CA (neither stored nor given)
        /// nothing is queued: run `mdmkit ddm sync` later.
        #[arg(long, value_name = "FILE")]
        device_ca: Vec<String>,
    },
    /// Assign a declaration set to an enrollment (or remove the assignment).
    Assign {
        /// The set.
        set_name: String,
        /// The enrollment (a UDID, or UDID:user for a user channel).
        enrollment: String,
        /// Remove the assignment instead.
        #[arg(long)]
        remove: bool,
        /// As for `declare`: synchronise the enrollment.
        #[arg(long, value_name = "FILE")]
        device_ca: Vec<String>,
    },
    /// List declarations: all, one set's, or those an enrollment gets.
    List {
        /// Only this set's.
        #[arg(long = "set", value_name = "SET", conflicts_with = "enrollment")]
        set_name: Option<String>,
        /// Only those this enrollment gets (its sets', less what its device does not
        /// support), with the state its device reported.
        #[arg(long)]
        enrollment: Option<String>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Show what an enrollment reported in its status reports.
    Status {
        /// The enrollment.
        enrollment: String,
        /// Only this status item, e.g. softwareupdate.install-state.
        #[arg(long)]
        item: Option<String>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Queue the DeclarativeManagement command to enrollments whose declarations changed
    /// since they were last told (with --enable: to every one given).
    Sync {
        /// The enrollments.
        #[arg(required = true)]
        enrollments: Vec<String>,
        /// Send it even when nothing changed (turns declarative management on).
        #[arg(long)]
        enable: bool,
        /// The server's device CA certificate(s), overriding the stored one.
        #[arg(long, value_name = "FILE")]
        device_ca: Vec<String>,
    },
    /// Delete a declaration (refused while another refers to it).
    Delete {
        /// Its Identifier.
        identifier: String,
        /// As for `declare`: synchronise the enrollments of its set.
        #[arg(long, value_name = "FILE")]
        device_ca: Vec<String>,
    },
    /// List every declaration type of Apple's schema with its category and platforms.
    Types,
}

/// Runs `mdmkit ddm ...`.
pub fn run(command: DdmCommand, opts: &GlobalOpts) -> CliResult<()> {
    if let DdmCommand::Types = command {
        let mut out = String::new();
        for t in DECLARATION_TYPES {
            let platforms = t
                .info
                .platforms
                .iter()
                .map(|p| format!("{} {}", p.platform, p.introduced))
                .collect::<Vec<_>>()
                .join(", ");
            out.push_str(&format!(
                "{:<62} {:<13} {platforms}\n",
                t.info.name,
                t.category.as_str()
            ));
        }
        print_out(&out);
        return Ok(());
    }
    let device_ca = match &command {
        DdmCommand::Declare { device_ca, .. }
        | DdmCommand::Assign { device_ca, .. }
        | DdmCommand::Sync { device_ca, .. }
        | DdmCommand::Delete { device_ca, .. } => device_ca.clone(),
        _ => Vec::new(),
    };
    let text = block_on(async {
        // The deployment's engine (the stored device CA, or --device-ca) queues and pushes
        // the DeclarativeManagement command; without a device CA the service stores only.
        let mdm = deployment(opts, &device_ca, None).await?;
        execute(command, &mdm).await
    })??;
    print_out(&text);
    Ok(())
}

async fn execute(command: DdmCommand, mdm: &Mdm) -> CliResult<String> {
    let declarations = mdm.declarations();
    Ok(match command {
        DdmCommand::Declare {
            file,
            set_name,
            declaration_type,
            identifier,
            keys,
            device_ca: _,
        } => {
            let parsed = match (file, declaration_type) {
                (Some(file), None) => read_declarations(&file)?,
                (None, Some(declaration_type)) => {
                    let identifier =
                        identifier.ok_or_else(|| CliError::input("--type needs --identifier"))?;
                    vec![from_keys(&declaration_type, &identifier, &keys)?]
                }
                _ => return Err(CliError::input("give a JSON file or --type")),
            };
            let report = declarations.declare_all(&set_name, &parsed).await?;
            let mut out = format!(
                "{} declaration(s) in set {set_name}, {} changed\n",
                report.records.len(),
                report.changed.len()
            );
            for record in &report.records {
                out.push_str(&format!(
                    "{}  {}  {}\n",
                    record.identifier, record.declaration_type, record.server_token
                ));
            }
            if report.synchronised {
                out.push_str(&declare_lines(&report.synced));
            } else if !report.changed_sets.is_empty() {
                out.push_str(
                    "not synchronised (no --device-ca): run `mdmkit ddm sync` for the \
                     enrollments of the changed sets\n",
                );
            }
            out
        }
        DdmCommand::Assign {
            set_name,
            enrollment,
            remove,
            device_ca: _,
        } => {
            let report = if remove {
                declarations.unassign(&set_name, &enrollment).await?
            } else {
                declarations.assign(&set_name, &enrollment).await?
            };
            let verb = if remove {
                "removed from"
            } else {
                "assigned to"
            };
            let id = EnrollmentId::new(enrollment);
            format!(
                "set {set_name} {verb} {id}\n{}",
                entry_lines(&report.synced)
            )
        }
        DdmCommand::List {
            set_name,
            enrollment,
            json,
        } => {
            let rows: Vec<(DeclarationEntry, Option<(bool, String)>)> = match &enrollment {
                Some(enrollment) => declarations
                    .list_for(enrollment)
                    .await?
                    .into_iter()
                    .map(|effective| {
                        let state = effective.active.zip(effective.valid);
                        (effective.declaration, state)
                    })
                    .collect(),
                None => declarations
                    .list(set_name.as_deref())
                    .await?
                    .into_iter()
                    .map(|entry| (entry, None))
                    .collect(),
            };
            if json {
                let rows: Vec<Json> = rows
                    .iter()
                    .map(|(r, state)| {
                        let mut row = json!({
                            "identifier": r.identifier,
                            "type": r.declaration_type,
                            "set": r.set_name,
                            "server_token": r.server_token,
                            "updated_at": json::format_date(r.updated_at.into()),
                        });
                        if let Some((active, valid)) = state {
                            row["active"] = json!(active);
                            row["valid"] = json!(valid);
                        }
                        row
                    })
                    .collect();
                format!("{:#}\n", Json::Array(rows))
            } else {
                let mut out = String::new();
                for (r, state) in &rows {
                    let state = match state {
                        Some((active, valid)) => {
                            format!("  {} {valid}", if *active { "active" } else { "inactive" })
                        }
                        None => String::new(),
                    };
                    out.push_str(&format!(
                        "{:<32} {:<56} {}{state}\n",
                        r.identifier, r.declaration_type, r.set_name
                    ));
                }
                out
            }
        }
        DdmCommand::Status {
            enrollment,
            item,
            json,
        } => {
            let report = declarations
                .status_report(&enrollment, item.as_deref())
                .await?;
            if json {
                let mut object = serde_json::Map::new();
                for i in &report.items {
                    object.insert(i.item.clone(), i.value.clone());
                }
                let mut out = json!({ "items": object });
                if item.is_none() {
                    out["errors"] = report.errors.clone();
                    out["full_report_at"] =
                        json!(report.full_report_at.map(|at| json::format_date(at.into())));
                }
                format!("{out:#}\n")
            } else {
                let mut out = String::new();
                for i in &report.items {
                    // Checked against the schema: a stored value that no longer fits is
                    // shown with the error.
                    let note = match &i.schema_error {
                        None => String::new(),
                        Some(e) => format!("  ({e})"),
                    };
                    out.push_str(&format!("{:<50} {}{note}\n", i.item, i.value_json));
                }
                if item.is_none() && report.errors_json != "[]" {
                    out.push_str(&format!("errors: {}\n", report.errors_json));
                }
                out
            }
        }
        DdmCommand::Sync {
            enrollments,
            enable,
            device_ca: _,
        } => {
            // Without a device CA the service says which setting is missing.
            if enable {
                let mut out = String::new();
                for id in &enrollments {
                    let outcome = declarations.enable(id).await?;
                    out.push_str(&format!("{id}: {}", outcome_line(&outcome)));
                }
                out
            } else {
                entry_lines(&declarations.sync(&enrollments).await?)
            }
        }
        DdmCommand::Delete {
            identifier,
            device_ca: _,
        } => {
            let report = declarations.delete(&identifier).await?;
            format!("deleted {identifier}\n{}", entry_lines(&report.synced))
        }
        DdmCommand::Types => String::new(),
    })
}

/// One line per enrollment of a synchronisation through the service: `ID: unchanged`,
/// `ID: queued UUID, pushed`, `ID: queued UUID, not pushed: REASON`,
/// `ID: refused: CODE: WHY`.
fn entry_lines(entries: &[SyncEntry]) -> String {
    lines(entries, |code, why| format!("refused: {code}: {why}"))
}

/// As [`entry_lines`], with `declare`'s refusals: `ID: refused: WHY [CODE]`.
fn declare_lines(entries: &[SyncEntry]) -> String {
    lines(entries, |code, why| format!("refused: {why} [{code}]"))
}

fn lines(entries: &[SyncEntry], refused: impl Fn(&str, &str) -> String) -> String {
    let mut out = String::new();
    for entry in entries {
        let detail = entry.detail.as_deref().unwrap_or("-");
        let line = match (entry.outcome.as_str(), &entry.command_uuid) {
            ("queued", Some(uuid)) if entry.pushed => format!("queued {uuid}, pushed"),
            ("queued", Some(uuid)) => format!("queued {uuid}, not pushed: {detail}"),
            ("refused", _) => refused(entry.code.as_deref().unwrap_or("-"), detail),
            (other, _) => other.to_owned(),
        };
        out.push_str(&format!("{}: {line}\n", entry.enrollment_id));
    }
    out
}

fn read_declarations(file: &str) -> CliResult<Vec<Declaration>> {
    let bytes = read_input(file)?;
    let json: Json = serde_json::from_slice(&bytes)
        .map_err(|e| CliError::input(format!("{file}: not JSON: {e}")))?;
    let list = match json {
        Json::Array(items) => items,
        object => vec![object],
    };
    list.iter()
        .map(|d| Declaration::from_json(d).map_err(CliError::from))
        .collect()
}

fn from_keys(declaration_type: &str, identifier: &str, keys: &[String]) -> CliResult<Declaration> {
    let info = declaration_type_info(declaration_type).ok_or_else(|| {
        CliError::input(format!(
            "unknown declaration type {declaration_type:?} (`mdmkit ddm types` lists them; \
             give a newer OS's type in a JSON file)"
        ))
    })?;
    let root = KeyPath::named(info.info.name);
    let mut dict = Dictionary::new();
    for assignment in keys {
        let (key, value) = assignment
            .split_once('=')
            .ok_or_else(|| CliError::input(format!("--key {assignment:?}: expected KEY=VALUE")))?;
        crate::cmd_command::set_path(&mut dict, info.info.keys, key, value, &root)?;
    }
    let payload = json::dictionary_to_json(&dict);
    Ok(
        Declaration::from_parts(identifier, declaration_type, &payload)
            .and_then(|d| d.validate().map(|()| d))?,
    )
}
