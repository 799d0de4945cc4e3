//! `mdmkit certs`: user-provided S/MIME certificates (PKCS#12) and their kinds.

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::store_open::{block_on, deployment, GlobalOpts};
use crate::{print_out, read_input, write_secret_output, CliError, CliResult};
use mdmkit_service::{ImportReport, Mdm, UserCertView};

/// User-provided e-mail signing and encryption certificates.
#[derive(Debug, Subcommand)]
pub enum CertsCommand {
    /// The certificate kinds users may upload.
    #[command(subcommand)]
    Kinds(KindsCommand),
    /// Import a user's PKCS#12 file; with --device-ca, the configurations using its kind
    /// are rebuilt and queued to the user's devices.
    Import {
        /// The portal user.
        #[arg(long)]
        user: String,
        /// The kind, by id or name.
        #[arg(long)]
        kind: String,
        /// A display name (default: the certificate's e-mail address).
        #[arg(long)]
        name: Option<String>,
        /// The file's password, read from this file (one trailing newline removed);
        /// without it the file is opened with no password.
        #[arg(long, value_name = "FILE")]
        password_file: Option<PathBuf>,
        /// The device CA certificate(s) of the server, overriding the stored one: the
        /// configurations using this kind are re-pushed (queued and pushed). Without a
        /// device CA (neither stored nor given) nothing is re-pushed.
        #[arg(long, value_name = "FILE")]
        device_ca: Vec<String>,
        /// The PKCS#12 file (`-` for standard input).
        file: String,
    },
    /// List a user's certificates.
    List {
        /// The portal user.
        #[arg(long)]
        user: String,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Change a certificate's display name or kind.
    Edit(EditArgs),
    /// Remove a certificate's private key for good (nothing is re-pushed).
    ClearKey {
        /// The certificate's id.
        id: String,
    },
    /// Delete a certificate (nothing is re-pushed).
    Delete {
        /// The certificate's id.
        id: String,
    },
    /// Write a certificate's PKCS#12 package to a file.
    Export {
        /// The certificate's id.
        id: String,
        /// Where to write it.
        #[arg(short = 'o', long = "output", value_name = "FILE")]
        output: PathBuf,
        /// Protect the written file with the password in this file (default: the
        /// package as stored, under the password it was uploaded with).
        #[arg(long, value_name = "FILE")]
        password_file: Option<PathBuf>,
    },
}

/// `mdmkit certs kinds ...`.
#[derive(Debug, Subcommand)]
pub enum KindsCommand {
    /// Define a kind users may upload.
    Add {
        /// Its display name ("Signing"); the id is derived from it.
        name: String,
        /// What its certificates are for.
        #[arg(long = "use", value_enum)]
        purpose: Use,
    },
    /// List the kinds.
    List,
}

/// What certificates of a kind are for.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Use {
    /// E-mail signing.
    Signing,
    /// E-mail encryption.
    Encryption,
}

/// Runs a `certs` subcommand.
pub fn run(command: CertsCommand, opts: &GlobalOpts) -> CliResult<()> {
    let text = block_on(async {
        let device_ca = match &command {
            CertsCommand::Import { device_ca, .. } => device_ca.clone(),
            _ => Vec::new(),
        };
        // An upload re-pushes the configurations using its kind, through the deployment's
        // engine (the stored device CA, or --device-ca).
        let mdm = deployment(opts, &device_ca, None).await?;
        execute(command, &mdm).await
    })??;
    print_out(&text);
    Ok(())
}

async fn execute(command: CertsCommand, mdm: &Mdm) -> CliResult<String> {
    let certs = mdm.user_certs();
    Ok(match command {
        CertsCommand::Kinds(KindsCommand::Add { name, purpose }) => {
            let usage = match purpose {
                Use::Signing => "signing",
                Use::Encryption => "encryption",
            };
            let kind = certs.add_kind(&name, usage).await?;
            format!("added kind {} ({}, {})\n", kind.id, kind.name, kind.usage)
        }
        CertsCommand::Kinds(KindsCommand::List) => {
            let mut out = String::new();
            for kind in certs.kinds().await? {
                out.push_str(&format!("{}\t{}\t{}\n", kind.id, kind.name, kind.usage));
            }
            if out.is_empty() {
                out.push_str("no certificate kinds\n");
            }
            out
        }
        CertsCommand::Import {
            user,
            kind,
            name,
            password_file,
            device_ca: _,
            file,
        } => {
            let password = password_file.as_deref().map(read_password).transpose()?;
            let report = certs
                .import(
                    &user,
                    &kind,
                    read_input(&file)?,
                    password.as_deref(),
                    name.as_deref(),
                )
                .await?;
            import_text(&report)
        }
        CertsCommand::List { user, json } => list_text(&certs.list(&user).await?, json, &user)?,
        CertsCommand::Edit(args) => {
            let (id, name, kind) = args.into_change()?;
            let cert = certs.change(&id, name.as_deref(), kind.as_deref()).await?;
            format!("edited {}: {} ({})\n", cert.id, cert.name, cert.kind_name)
        }
        CertsCommand::ClearKey { id } => {
            let cert = certs.clear_private_key(&id).await?;
            format!("cleared the private key of {}\n", cert.id)
        }
        CertsCommand::Delete { id } => {
            if !certs.delete(&id).await? {
                return Err(CliError::input(format!("no certificate {id:?}")));
            }
            format!("deleted {id}\n")
        }
        CertsCommand::Export {
            id,
            output,
            password_file,
        } => {
            let password = password_file.as_deref().map(read_password).transpose()?;
            let package = certs.export(&id, password.as_deref()).await?;
            write_secret_output(&output, package.expose())?;
            format!("wrote {}\n", output.display())
        }
    })
}

pub(crate) fn read_password(path: &std::path::Path) -> CliResult<String> {
    let bytes = crate::read_secret_input(&path.to_string_lossy())?;
    let mut text = String::from_utf8(bytes)
        .map_err(|_| CliError::input(format!("{} is not UTF-8 text", path.display())))?;
    if text.ends_with('\n') {
        text.pop();
        if text.ends_with('\r') {
            text.pop();
        }
    }
    Ok(text)
}

pub(crate) fn timestamp(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap_or_else(|_| at.to_string())
}

fn to_json(cert: &UserCertView) -> serde_json::Value {
    serde_json::json!({
        "id": cert.id,
        "name": cert.name,
        "kind": cert.kind,
        "kind_name": cert.kind_name,
        "subject": cert.subject,
        "issuer": cert.issuer,
        "serial": cert.serial,
        "emails": cert.emails,
        "uploaded_at": timestamp(cert.uploaded_at),
        "expires_at": timestamp(cert.not_after),
        "has_private_key": cert.has_private_key,
    })
}

/// What an import did: one line for the certificate, one per re-push (`…, pushed` or
/// `…, not pushed: REASON`), and what was not re-pushed for want of a device CA.
pub(crate) fn import_text(report: &ImportReport) -> String {
    let cert = &report.certificate;
    let mut out = format!(
        "imported {}: {} ({}), expires {}\n",
        cert.id,
        cert.name,
        cert.kind_name,
        timestamp(cert.not_after)
    );
    for entry in &report.repushed {
        let outcome = &entry.outcome;
        out.push_str(&format!(
            "re-pushed {} to {} (command {}), {}\n",
            entry.configuration_id,
            entry.enrollment_id,
            outcome.command_uuid.as_deref().unwrap_or("-"),
            if outcome.pushed {
                "pushed".to_owned()
            } else {
                format!("not pushed: {}", outcome.push)
            }
        ));
    }
    for failure in &report.failed {
        out.push_str(&format!(
            "re-push of {} to {} failed: {}\n",
            failure.configuration_id,
            failure.enrollment_id.as_deref().unwrap_or("-"),
            failure.error
        ));
    }
    if report.not_repushed > 0 {
        out.push_str(&format!(
            "{} configuration(s) use this kind and were not re-pushed (no device CA: run \
             `mdmkit init`, or give --device-ca to queue them)\n",
            report.not_repushed
        ));
    }
    out
}

/// A user's certificates as a table (or JSON).
pub(crate) fn list_text(list: &[UserCertView], json: bool, user: &str) -> CliResult<String> {
    Ok(if json {
        let entries: Vec<serde_json::Value> = list.iter().map(to_json).collect();
        let mut text = serde_json::to_string_pretty(&entries)
            .map_err(|e| CliError::failure(format!("cannot write JSON: {e}")))?;
        text.push('\n');
        text
    } else if list.is_empty() {
        format!("no certificates for {user}\n")
    } else {
        let mut out = String::from("ID\tNAME\tKIND\tSUBJECT\tEXPIRES\tKEY\n");
        for cert in list {
            out.push_str(&format!(
                "{}\t{}\t{}\t{}\t{}\t{}\n",
                cert.id,
                cert.name,
                cert.kind_name,
                cert.subject,
                timestamp(cert.not_after),
                if cert.has_private_key {
                    "yes"
                } else {
                    "cleared"
                }
            ));
        }
        out
    })
}

/// What `certs edit` (and the portal's `certs edit`) changes.
#[derive(Debug, Args)]
pub struct EditArgs {
    /// The certificate's id.
    id: String,
    /// The new display name.
    #[arg(long)]
    name: Option<String>,
    /// The new kind, by id or name.
    #[arg(long)]
    kind: Option<String>,
}

impl EditArgs {
    /// The certificate's id, new name and new kind: at least one of the two.
    pub(crate) fn into_change(self) -> CliResult<(String, Option<String>, Option<String>)> {
        if self.name.is_none() && self.kind.is_none() {
            return Err(CliError::input(
                "nothing to change: give --name and/or --kind",
            ));
        }
        Ok((self.id, self.name, self.kind))
    }
}
