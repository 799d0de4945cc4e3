//! `mdmkit certs`: user-provided S/MIME certificates (PKCS#12) and their kinds.

use std::path::PathBuf;
use std::sync::Arc;

use clap::{Args, Subcommand, ValueEnum};
use mdmkit_certstore::{CertStore, CertificateEdit, ImportOutcome, ImportRequest, UserCertificate};
use mdmkit_core::store::CertificatePurpose;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::store_open::{block_on, deployment, GlobalOpts};
use crate::{print_out, read_input, write_secret_output, CliError, CliResult};
use mdmkit_service::Mdm;

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
        let mdm = deployment(opts, &device_ca, None).await?;
        let mut certs = CertStore::new(mdm.store().clone());
        // An upload re-pushes the configurations using its kind, through the deployment's
        // engine (the stored device CA, or --device-ca).
        if matches!(command, CertsCommand::Import { .. }) {
            if let Ok(engine) = mdm.engine() {
                certs = certs.with_installer(Arc::new(engine.clone()));
            }
        }
        execute(command, &mdm, &certs).await
    })??;
    print_out(&text);
    Ok(())
}

async fn execute(command: CertsCommand, mdm: &Mdm, certs: &CertStore) -> CliResult<String> {
    Ok(match command {
        CertsCommand::Kinds(KindsCommand::Add { name, purpose }) => {
            let usage = match purpose {
                Use::Signing => CertificatePurpose::Signing,
                Use::Encryption => CertificatePurpose::Encryption,
            };
            let kind = mdm.user_certs().add_kind(&name, usage.as_str()).await?;
            format!("added kind {} ({}, {})\n", kind.id, kind.name, kind.usage)
        }
        CertsCommand::Kinds(KindsCommand::List) => {
            let mut out = String::new();
            for kind in mdm.user_certs().kinds().await? {
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
            device_ca,
            file,
        } => {
            let mut request = ImportRequest::new(user, kind, read_input(&file)?);
            if let Some(path) = password_file {
                request = request.with_password(read_password(&path)?);
            }
            if let Some(name) = name {
                request = request.with_name(name);
            }
            let outcome = certs.import(request).await.map_err(refusal)?;
            let mut text = import_text(&outcome);
            if device_ca.is_empty() {
                let using = certs
                    .configurations_using(&outcome.certificate.kind_id)
                    .await
                    .map_err(refusal)?
                    .len();
                if using > 0 {
                    text.push_str(&format!(
                        "{using} configuration(s) use this kind and were not re-pushed \
                         (give --device-ca to queue them)\n"
                    ));
                }
            }
            text
        }
        CertsCommand::List { user, json } => {
            let list = certs.list(&user).await.map_err(refusal)?;
            list_text(&list, json, &user)?
        }
        CertsCommand::Edit(args) => {
            let (id, edit) = args.into_edit()?;
            let cert = certs.edit(&id, &edit).await.map_err(refusal)?;
            format!("edited {}: {} ({})\n", cert.id, cert.name, cert.kind_name)
        }
        CertsCommand::ClearKey { id } => {
            let cert = mdm.user_certs().clear_private_key(&id).await?;
            format!("cleared the private key of {}\n", cert.id)
        }
        CertsCommand::Delete { id } => {
            if !mdm.user_certs().delete(&id).await? {
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
            let package = certs
                .export(&id, password.as_deref())
                .await
                .map_err(refusal)?;
            write_secret_output(&output, package.expose())?;
            format!("wrote {}\n", output.display())
        }
    })
}

/// A library refusal as one line with its code; store failures exit 1, the rest 2.
pub(crate) fn refusal(error: mdmkit_certstore::Error) -> CliError {
    match error {
        mdmkit_certstore::Error::Core(core) => CliError::from(core),
        other => CliError::input(format!("{other} [{}]", other.code())),
    }
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

fn to_json(cert: &UserCertificate) -> serde_json::Value {
    serde_json::json!({
        "id": cert.id,
        "name": cert.name,
        "kind": cert.kind_id,
        "kind_name": cert.kind_name,
        "subject": cert.subject,
        "issuer": cert.issuer,
        "serial": cert.serial,
        "emails": cert.emails,
        "uploaded_at": timestamp(cert.uploaded_at),
        "expires_at": timestamp(cert.expires_at),
        "has_private_key": cert.has_private_key,
    })
}

/// What an import did, one line for the certificate and one per re-push.
pub(crate) fn import_text(outcome: &ImportOutcome) -> String {
    let cert = &outcome.certificate;
    let mut out = format!(
        "imported {}: {} ({}), expires {}\n",
        cert.id,
        cert.name,
        cert.kind_name,
        timestamp(cert.expires_at)
    );
    for install in &outcome.repush.installs {
        out.push_str(&format!(
            "re-pushed {} to {} (command {})\n",
            install.configuration_id, install.enrollment_id, install.command_uuid
        ));
    }
    for failure in &outcome.repush.failures {
        out.push_str(&format!(
            "re-push of {} to {} failed: {}\n",
            failure.configuration_id,
            failure
                .enrollment_id
                .as_ref()
                .map(|id| id.as_str())
                .unwrap_or("-"),
            failure.error
        ));
    }
    out
}

/// A user's certificates as a table (or JSON).
pub(crate) fn list_text(list: &[UserCertificate], json: bool, user: &str) -> CliResult<String> {
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
                timestamp(cert.expires_at),
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
    /// The certificate's id and the change: at least one of a new name and a new kind.
    pub(crate) fn into_edit(self) -> CliResult<(String, CertificateEdit)> {
        if self.name.is_none() && self.kind.is_none() {
            return Err(CliError::input(
                "nothing to change: give --name and/or --kind",
            ));
        }
        let mut edit = CertificateEdit::new();
        if let Some(name) = self.name {
            edit = edit.with_name(name);
        }
        if let Some(kind) = self.kind {
            edit = edit.with_kind(kind);
        }
        Ok((self.id, edit))
    }
}
