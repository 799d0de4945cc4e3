//! `mdmkit push-cert`: the Apple Push certificate lifecycle (see docs/push-certificates.md).

use clap::{Args, Subcommand};
use mdmkit_apns::{CertificateRequest, ExpiryStatus, PushCertificate, VendorFiles, VendorSigner};
use serde_json::json;
use time::OffsetDateTime;

use crate::cli_error::{read_input, CliError, CliResult};

/// The push certificate subcommands.
#[derive(Debug, Subcommand)]
pub enum PushCertCommand {
    /// Show a push certificate file: topic, subject, issuer, serial, validity, status.
    Inspect(InspectArgs),
    /// Sign a customer's CSR with the MDM vendor certificate, producing the file to upload to
    /// Apple's Push Certificates Portal.
    VendorSign(VendorSignArgs),
}

/// Arguments of `push-cert inspect`.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The certificate: PEM, DER, PKCS#12 or a PEM chain file (`-` for standard input).
    file: String,
    /// A file holding the PKCS#12 or key password (its first line).
    #[arg(long)]
    password_file: Option<String>,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

/// Arguments of `push-cert vendor-sign`.
#[derive(Debug, Args)]
pub struct VendorSignArgs {
    /// The customer's CSR (PEM or DER).
    #[arg(long)]
    csr: String,
    /// The MDM vendor certificate (PEM or DER).
    #[arg(long)]
    vendor_cert: String,
    /// The MDM vendor certificate's private key (PEM).
    #[arg(long)]
    vendor_key: String,
    /// A file holding the vendor key's password (its first line).
    #[arg(long)]
    vendor_key_password_file: Option<String>,
    /// Apple's WWDR intermediate certificate that issued the vendor certificate.
    #[arg(long)]
    wwdr: String,
    /// Apple's root certificate (Apple Root CA).
    #[arg(long)]
    apple_root: String,
    /// Where to write the upload file (base64 of the signed plist).
    #[arg(short = 'o', long = "output")]
    output: String,
}

/// Runs a push certificate subcommand.
pub fn run(command: PushCertCommand) -> CliResult<()> {
    match command {
        PushCertCommand::Inspect(args) => inspect(args),
        PushCertCommand::VendorSign(args) => vendor_sign(args),
    }
}

fn inspect(args: InspectArgs) -> CliResult<()> {
    let bytes = read_input(&args.file)?;
    let password = read_password(args.password_file.as_deref())?;
    let certificate = PushCertificate::parse(&bytes, password.as_deref()).map_err(apns_error)?;
    let now = OffsetDateTime::now_utc();
    let status = certificate.status(now);
    if args.json {
        let value = json!({
            "topic": certificate.topic(),
            "subject": certificate.subject(),
            "issuer": certificate.issuer(),
            "serial": certificate.serial(),
            "not_before": rfc3339(certificate.not_before()),
            "not_after": rfc3339(certificate.not_after()),
            "days_remaining": certificate.days_remaining(now),
            "status": status.as_str(),
            "has_private_key": certificate.private_key().is_some(),
        });
        println!("{value}");
    } else {
        println!("topic:          {}", certificate.topic());
        println!("subject:        {}", certificate.subject());
        println!("issuer:         {}", certificate.issuer());
        println!("serial:         {}", certificate.serial());
        println!("valid from:     {}", human_time(certificate.not_before()));
        println!("valid until:    {}", human_time(certificate.not_after()));
        println!(
            "days remaining: {}{}",
            certificate.days_remaining(now),
            highlight(status)
        );
        println!("status:         {}", status.as_str());
        if certificate.private_key().is_some() {
            println!("private key:    present");
        }
    }
    Ok(())
}

fn vendor_sign(args: VendorSignArgs) -> CliResult<()> {
    let request = CertificateRequest::parse(&read_input(&args.csr)?).map_err(apns_error)?;
    let files = VendorFiles {
        vendor_certificate: read_input(&args.vendor_cert)?,
        vendor_key: read_input(&args.vendor_key)?,
        vendor_key_password: read_password(args.vendor_key_password_file.as_deref())?,
        wwdr_certificate: read_input(&args.wwdr)?,
        apple_root_certificate: read_input(&args.apple_root)?,
    };
    let signer = VendorSigner::from_files(&files).map_err(apns_error)?;
    let upload = signer.sign(&request).map_err(apns_error)?;
    let encoded = upload.to_base64().map_err(apns_error)?;
    write_output(&args.output, encoded.as_bytes())?;
    eprintln!(
        "wrote {}: upload it at Apple's Push Certificates Portal",
        args.output
    );
    Ok(())
}

/// Reads the first line of a password file (without its line ending).
fn read_password(path: Option<&str>) -> CliResult<Option<String>> {
    let Some(path) = path else { return Ok(None) };
    let bytes = read_input(path)?;
    let text = String::from_utf8(bytes)
        .map_err(|_| CliError::input(format!("the password file {path} is not UTF-8")))?;
    Ok(Some(
        text.lines()
            .next()
            .unwrap_or("")
            .trim_end_matches('\r')
            .to_owned(),
    ))
}

fn write_output(path: &str, bytes: &[u8]) -> CliResult<()> {
    if path == "-" {
        use std::io::Write;
        std::io::stdout()
            .write_all(bytes)
            .map_err(|e| CliError::failure(format!("cannot write standard output: {e}")))
    } else {
        std::fs::write(path, bytes)
            .map_err(|e| CliError::input(format!("cannot write {path}: {e}")))
    }
}

/// Maps an apns error to one line with its code; bad input exits 2, the rest 1.
fn apns_error(error: mdmkit_apns::Error) -> CliError {
    let line = format!("{error} [{}]", error.code());
    match error.code() {
        "smtp" | "crypto" | "notify_failed" => CliError::failure(line),
        _ => CliError::input(line),
    }
}

fn rfc3339(at: OffsetDateTime) -> String {
    mdmkit_apns::expiry::rfc3339(at)
}

fn human_time(at: OffsetDateTime) -> String {
    let format =
        time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second] UTC");
    at.format(&format).unwrap_or_else(|_| rfc3339(at))
}

fn highlight(status: ExpiryStatus) -> &'static str {
    match status {
        ExpiryStatus::Valid => "",
        ExpiryStatus::ExpiringSoon => "  <-- URGENT: renew now",
        _ => "  <-- EXPIRED",
    }
}
