//! `mdmkit push-cert`: the Apple Push certificate lifecycle (see docs/push-certificates.md).

use clap::{Args, Subcommand};
use serde_json::json;
use time::OffsetDateTime;

use crate::cli_error::{read_input, read_secret_input, CliError, CliResult};
use crate::store_open::{block_on, open_mdm, GlobalOpts};
use mdmkit_service::push_certs::{
    ExpiryStatus, InstallAction, InstallInput, RequestSubject, VendorInput,
};
use mdmkit_service::{Mdm, NoticeOptions};

/// The push certificate subcommands.
#[derive(Debug, Subcommand)]
pub enum PushCertCommand {
    /// Generate the key and certificate request (CSR); the key stays in the store (pending)
    /// until Apple's certificate is installed.
    Csr(CsrArgs),
    /// Sign a customer's CSR with the MDM vendor certificate, producing the file to upload to
    /// Apple's Push Certificates Portal.
    VendorSign(VendorSignArgs),
    /// Install Apple's certificate (first install, or renewal of the same topic).
    Install(InstallArgs),
    /// Show the registered certificates: topic, valid until, days remaining, Apple ID, note.
    Status(StatusArgs),
    /// Show a push certificate file: topic, subject, issuer, serial, validity, status.
    Inspect(InspectArgs),
    /// Change the Apple ID and/or note of a registered certificate.
    Edit(EditArgs),
    /// Delete a registered certificate (management stops until a new one is installed; the
    /// note is kept).
    Delete(TopicArgs),
    /// Show a topic's history: installs, renewals, edits, deletions.
    History(HistoryArgs),
    /// List enrollments whose enrolled topic is not a registered one, or is unknown.
    MismatchedDevices(JsonArgs),
    /// Send the expiry notices that are due (from 60 days before expiry, once per interval).
    Notify(NotifyArgs),
}

/// Arguments of `push-cert csr`.
#[derive(Debug, Args)]
pub struct CsrArgs {
    /// The administrator's e-mail address (emailAddress of the request).
    #[arg(long)]
    email: String,
    /// The organisation (O).
    #[arg(long)]
    org: Option<String>,
    /// The common name (CN).
    #[arg(long)]
    cn: Option<String>,
    /// Where to write the CSR (PEM).
    #[arg(short = 'o', long = "output")]
    output: String,
}

/// Arguments of `push-cert install`.
#[derive(Debug, Args)]
pub struct InstallArgs {
    /// Apple's certificate: PEM, DER, PKCS#12 or a PEM chain file.
    file: String,
    /// The Apple ID used at Apple's Push Certificates Portal.
    #[arg(long)]
    apple_id: String,
    /// A free-text note (the date obtained is recommended).
    #[arg(long)]
    note: Option<String>,
    /// The certificate's private key (PEM), when the request was not made here.
    #[arg(long)]
    key: Option<String>,
    /// A file holding the PKCS#12 or key password (its first line).
    #[arg(long)]
    password_file: Option<String>,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

/// Arguments of `push-cert edit`.
#[derive(Debug, Args)]
pub struct EditArgs {
    /// The topic of the registered certificate (or of a deleted one: its kept Apple ID and
    /// note are edited).
    #[arg(long)]
    topic: String,
    /// The new Apple ID.
    #[arg(long)]
    apple_id: Option<String>,
    /// The new note.
    #[arg(long)]
    note: Option<String>,
}

/// A topic argument.
#[derive(Debug, Args)]
pub struct TopicArgs {
    /// The topic of the registered certificate.
    #[arg(long)]
    topic: String,
}

/// Arguments of `push-cert history`.
#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// The topic.
    #[arg(long)]
    topic: String,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

/// Other expiring credentials for `status` and `notify`.
#[derive(Debug, Args)]
pub struct OtherCredentials {
    /// The MDM vendor certificate (PEM or DER), to watch its expiry too.
    #[arg(long)]
    vendor_cert: Option<String>,
    /// An ADE/DEP server token's expiry, as NAME=2027-01-31T00:00:00Z (repeatable).
    #[arg(long, value_name = "NAME=TIME")]
    dep_token: Vec<String>,
}

impl OtherCredentials {
    /// The credentials as the service takes them.
    fn to_service(&self) -> CliResult<mdmkit_service::OtherCredentials> {
        let mut others = mdmkit_service::OtherCredentials::default();
        if let Some(path) = &self.vendor_cert {
            others.vendor_certificate = Some(read_input(path)?);
        }
        others.ade_tokens = self.dep_tokens()?;
        Ok(others)
    }

    fn dep_tokens(&self) -> CliResult<Vec<(String, OffsetDateTime)>> {
        let mut tokens = Vec::new();
        for token in &self.dep_token {
            let (name, at) = token.split_once('=').ok_or_else(|| {
                CliError::input(format!("--dep-token {token:?}: expected NAME=TIME"))
            })?;
            let at = OffsetDateTime::parse(at, &time::format_description::well_known::Rfc3339)
                .map_err(|e| {
                    CliError::input(format!(
                        "--dep-token {token:?}: the time must be RFC 3339 ({e})"
                    ))
                })?;
            tokens.push((name.to_owned(), at));
        }
        Ok(tokens)
    }
}

/// Arguments of `push-cert status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    others: OtherCredentials,
}

/// Only `--json`.
#[derive(Debug, Args)]
pub struct JsonArgs {
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

/// Arguments of `push-cert notify`. Every flag overrides a stored setting (`mdmkit
/// settings`) for this run; without flags the stored SMTP settings, administrators'
/// address, organisation and console link are used.
#[derive(Debug, Args)]
pub struct NotifyArgs {
    /// The SMTP server (default: the `smtp_url` setting): smtp://host:port,
    /// smtp://host:port?tls=required (STARTTLS) or smtps://host:port, with
    /// user:password@ to log in.
    #[arg(long)]
    smtp: Option<String>,
    /// The sender address (default: the `smtp_from` setting).
    #[arg(long)]
    from: Option<String>,
    /// A recipient, repeat for several (default: the `admin_email` setting).
    #[arg(long)]
    to: Vec<String>,
    /// The company name written in the notice (default: the `organisation` setting).
    #[arg(long)]
    company: Option<String>,
    /// The link to the administration site written in the notice (default: the
    /// `console_url` setting).
    #[arg(long)]
    admin_url: Option<String>,
    /// Days between two notices for the same certificate.
    #[arg(long, default_value_t = 7)]
    interval_days: u32,
    /// A CA certificate (PEM) to trust for the SMTP server's TLS certificate (default:
    /// the `smtp_ca` setting).
    #[arg(long)]
    smtp_ca: Option<String>,
    #[command(flatten)]
    others: OtherCredentials,
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
pub fn run(command: PushCertCommand, opts: &GlobalOpts) -> CliResult<()> {
    match command {
        PushCertCommand::Inspect(args) => inspect(args),
        PushCertCommand::VendorSign(args) => vendor_sign(args),
        PushCertCommand::Csr(args) => block_on(csr(args, opts))?,
        PushCertCommand::Install(args) => block_on(install(args, opts))?,
        PushCertCommand::Status(args) => block_on(status(args, opts))?,
        PushCertCommand::Edit(args) => block_on(edit(args, opts))?,
        PushCertCommand::Delete(args) => block_on(delete(args, opts))?,
        PushCertCommand::History(args) => block_on(history(args, opts))?,
        PushCertCommand::MismatchedDevices(args) => block_on(mismatched(args, opts))?,
        PushCertCommand::Notify(args) => block_on(notify(args, opts))?,
    }
}

async fn mdm(opts: &GlobalOpts) -> CliResult<Mdm> {
    open_mdm(opts, |config| config).await
}

async fn csr(args: CsrArgs, opts: &GlobalOpts) -> CliResult<()> {
    let mut subject = RequestSubject::new(args.email);
    subject.organization = args.org;
    subject.common_name = args.cn;
    let pem = mdm(opts)
        .await?
        .push_certs()
        .create_request_for(&subject)
        .await
        .map_err(service_error)?;
    write_output(&args.output, pem.as_bytes())?;
    eprintln!(
        "wrote {}: have it signed by the MDM vendor (push-cert vendor-sign), upload it at \
         Apple's Push Certificates Portal, then install the certificate promptly; its key is \
         kept in the store until then",
        args.output
    );
    Ok(())
}

async fn install(args: InstallArgs, opts: &GlobalOpts) -> CliResult<()> {
    let mut input = InstallInput::new(read_input(&args.file)?, args.apple_id);
    input.password = read_password(args.password_file.as_deref())?;
    input.note = args.note;
    input.key_pem = args.key.as_deref().map(read_input).transpose()?;
    // Through the deployment: after renewing an expired certificate its pusher (the new
    // certificate) synchronises the topic's devices.
    let mdm = open_mdm(opts, |config| config).await?;
    let report = mdm
        .push_certs()
        .install(input)
        .await
        .map_err(service_error)?;
    let action = match report.action {
        InstallAction::Installed => "installed",
        _ => "renewed",
    };
    let mut pushed = report.synchronised.clone();
    pushed.extend(report.not_synchronised.iter().map(|(id, _)| id.clone()));
    if args.json {
        let value = json!({
            "topic": report.topic,
            "action": action,
            "serial": report.serial,
            "not_after": rfc3339(report.not_after),
            "days_remaining": report.days_remaining,
            "synchronise_devices": report.synchronise_devices,
            "devices_to_push": pushed,
            "devices_pushed": report.synchronised,
        });
        println!("{value}");
    } else {
        println!(
            "{action} the push certificate for {} (valid until {})",
            report.topic,
            human_time(report.not_after)
        );
        if report.synchronise_devices {
            println!(
                "the previous certificate had expired: synchronised the devices ({} of the {} \
                 enrollments on this topic pushed)",
                report.synchronised.len(),
                pushed.len()
            );
            for (id, reason) in &report.not_synchronised {
                println!("  not pushed: {id}: {reason}");
            }
        }
    }
    Ok(())
}

async fn status(args: StatusArgs, opts: &GlobalOpts) -> CliResult<()> {
    let others = args.others.to_service()?;
    let overview = mdm(opts)
        .await?
        .push_certs()
        .overview(&others)
        .await
        .map_err(service_error)?;
    if args.json {
        println!("{}", json!(overview));
        return Ok(());
    }
    let certificates = &overview.certificates;
    let deleted = &overview.deleted;
    let stale = &overview.stale_pending_keys;
    if certificates.is_empty() {
        println!("no push certificate is installed: devices cannot be managed");
    }
    for certificate in certificates {
        println!("topic:          {}", certificate.topic);
        println!("valid until:    {}", human_time(certificate.not_after));
        println!(
            "days remaining: {}{}",
            certificate.days_remaining,
            highlight(certificate.status)
        );
        println!(
            "Apple ID:       {}",
            certificate.apple_id.as_deref().unwrap_or("-")
        );
        println!(
            "note:           {}",
            certificate.note.as_deref().unwrap_or("-")
        );
        println!();
    }
    for topic in deleted {
        println!("topic:          {}", topic.topic);
        println!(
            "deleted:        {}: devices under this topic cannot be managed until a \
             certificate is installed again",
            human_time(topic.deleted_at)
        );
        println!(
            "Apple ID:       {}",
            topic.apple_id.as_deref().unwrap_or("-")
        );
        println!("note:           {}", topic.note.as_deref().unwrap_or("-"));
        println!();
    }
    let others = overview
        .credentials
        .iter()
        .filter(|r| r.kind != "push_certificate");
    for credential in others {
        println!(
            "{} {}: valid until {}, {} days remaining{}",
            credential.kind,
            credential.name,
            human_time(credential.not_after),
            credential.days_remaining,
            highlight_code(&credential.status)
        );
    }
    for key in stale {
        println!(
            "warning: a certificate request made {} days ago is still waiting for its \
             certificate (pending key {}); upload Apple's certificate promptly",
            key.age_days,
            key.id.chars().take(12).collect::<String>()
        );
    }
    Ok(())
}

async fn edit(args: EditArgs, opts: &GlobalOpts) -> CliResult<()> {
    if args.apple_id.is_none() && args.note.is_none() {
        return Err(CliError::input("give --apple-id and/or --note to change"));
    }
    let edited = mdm(opts)
        .await?
        .push_certs()
        .edit_any(&args.topic, args.apple_id, args.note)
        .await
        .map_err(service_error)?;
    let (topic, apple_id, note) = (edited.topic, edited.apple_id, edited.note);
    println!(
        "{topic}: Apple ID {}, note {}",
        apple_id.as_deref().unwrap_or("-"),
        note.as_deref().unwrap_or("-")
    );
    Ok(())
}

async fn delete(args: TopicArgs, opts: &GlobalOpts) -> CliResult<()> {
    let note = mdm(opts)
        .await?
        .push_certs()
        .delete(&args.topic)
        .await
        .map_err(service_error)?;
    println!(
        "deleted the push certificate for {}: devices cannot be managed until a certificate is \
         installed again",
        args.topic
    );
    if let Some(note) = note {
        println!("the note is kept: {note}");
    }
    Ok(())
}

async fn history(args: HistoryArgs, opts: &GlobalOpts) -> CliResult<()> {
    let events = mdm(opts)
        .await?
        .push_certs()
        .history(&args.topic)
        .await
        .map_err(service_error)?;
    if args.json {
        println!("{}", json!(events));
        return Ok(());
    }
    if events.is_empty() {
        println!("no history for {}", args.topic);
    }
    for event in &events {
        println!(
            "{}  {:<9}  serial {}  valid until {}  Apple ID {}  note {}",
            human_time(event.at),
            event.action,
            event.serial.as_deref().unwrap_or("-"),
            event
                .not_after
                .map(human_time)
                .unwrap_or_else(|| "-".into()),
            event.apple_id.as_deref().unwrap_or("-"),
            event.note.as_deref().unwrap_or("-"),
        );
    }
    Ok(())
}

async fn mismatched(args: JsonArgs, opts: &GlobalOpts) -> CliResult<()> {
    let entries = mdm(opts)
        .await?
        .push_certs()
        .mismatched_enrollments()
        .await
        .map_err(service_error)?;
    if args.json {
        println!("{}", json!(entries));
        return Ok(());
    }
    if entries.is_empty() {
        println!("every enrollment is on a registered topic");
    }
    for entry in &entries {
        println!(
            "{}  enrolled topic {}: reinstall its enrollment profile",
            entry.enrollment,
            entry.enrolled_topic.as_deref().unwrap_or("unknown")
        );
    }
    Ok(())
}

async fn notify(args: NotifyArgs, opts: &GlobalOpts) -> CliResult<()> {
    let others = args.others.to_service()?;
    let mut options = NoticeOptions::default();
    options.interval_days = Some(args.interval_days);
    options.smtp_url = args.smtp;
    options.smtp_from = args.from;
    options.smtp_ca = args.smtp_ca.as_deref().map(read_input).transpose()?;
    options.recipients = args.to;
    options.organisation = args.company;
    options.console_url = args.admin_url;
    let sent = mdm(opts)
        .await?
        .expiry()
        .send_due_notices_with(&others, &options)
        .await
        .map_err(service_error)?;
    println!("sent {} notice(s)", sent.len());
    for notice in &sent {
        println!("  {}: {}", notice.key, notice.subject);
    }
    Ok(())
}

fn inspect(args: InspectArgs) -> CliResult<()> {
    let bytes = read_input(&args.file)?;
    let password = read_password(args.password_file.as_deref())?;
    let info =
        mdmkit_service::push_certs::inspect(&bytes, password.as_deref()).map_err(service_error)?;
    if args.json {
        println!("{}", json!(info));
    } else {
        println!("topic:          {}", info.topic);
        println!("subject:        {}", info.subject);
        println!("issuer:         {}", info.issuer);
        println!("serial:         {}", info.serial);
        println!("valid from:     {}", human_time(info.not_before));
        println!("valid until:    {}", human_time(info.not_after));
        println!(
            "days remaining: {}{}",
            info.days_remaining,
            highlight(info.status)
        );
        println!("status:         {}", info.status.as_str());
        if info.has_private_key {
            println!("private key:    present");
        }
    }
    Ok(())
}

fn vendor_sign(args: VendorSignArgs) -> CliResult<()> {
    let mut vendor = VendorInput::default();
    vendor.certificate = read_input(&args.vendor_cert)?;
    vendor.key = read_input(&args.vendor_key)?;
    vendor.key_password = read_password(args.vendor_key_password_file.as_deref())?;
    vendor.wwdr_certificate = read_input(&args.wwdr)?;
    vendor.apple_root_certificate = read_input(&args.apple_root)?;
    let encoded = mdmkit_service::push_certs::vendor_sign(&read_input(&args.csr)?, &vendor)
        .map_err(service_error)?;
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
    let bytes = read_secret_input(path)?;
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

/// Maps a service error to one line with its code; bad input exits 2, the rest 1 (a
/// mail server, the database, OpenSSL).
fn service_error(error: mdmkit_service::Error) -> CliError {
    match error.code() {
        "smtp" | "crypto" | "notify_failed" => {
            CliError::failure(format!("{error} [{}]", error.code()))
        }
        _ => error.into(),
    }
}

fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| at.to_string())
}

fn human_time(at: OffsetDateTime) -> String {
    let format =
        time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second] UTC");
    at.format(&format).unwrap_or_else(|_| rfc3339(at))
}

/// [`highlight`] of a status given by its name (`valid`, `expiring_soon`, `expired`).
fn highlight_code(status: &str) -> &'static str {
    match status {
        "valid" => highlight(ExpiryStatus::Valid),
        "expiring_soon" => highlight(ExpiryStatus::ExpiringSoon),
        _ => highlight(ExpiryStatus::Expired),
    }
}

fn highlight(status: ExpiryStatus) -> &'static str {
    match status {
        ExpiryStatus::Valid => "",
        ExpiryStatus::ExpiringSoon => "  <-- URGENT: renew now",
        _ => "  <-- EXPIRED",
    }
}
