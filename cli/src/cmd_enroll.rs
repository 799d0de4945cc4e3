//! `mdmkit enroll`: enrollment profiles for portal users.

use clap::Subcommand;
use mdmkit_service::{ProfileRequest, ScepRequest};

use crate::store_open::{block_on, open_mdm, GlobalOpts};
use crate::{print_out, read_input, read_secret_input, write_secret_output, CliError, CliResult};

/// Enrollment profiles for portal users.
#[derive(Debug, Subcommand)]
pub enum EnrollCommand {
    /// Issue a device identity for a user and write its enrollment profile (the device
    /// enrolled with it appears in that user's portal). Every option overrides a stored
    /// setting (`mdmkit init`) for this run; the profile is signed with --sign-cert and
    /// --sign-key, else with the device CA, unless --unsigned.
    Profile {
        /// The portal user the device will belong to.
        #[arg(long)]
        user: String,
        /// The device CA certificate (PEM), instead of the stored one; not with
        /// --scep-url.
        #[arg(
            long,
            value_name = "FILE",
            requires = "ca_key",
            conflicts_with = "scep_url"
        )]
        ca_cert: Option<String>,
        /// The device CA private key (PEM, unencrypted); not with --scep-url.
        #[arg(
            long,
            value_name = "FILE",
            requires = "ca_cert",
            conflicts_with = "scep_url"
        )]
        ca_key: Option<String>,
        /// The profile signer's certificate (PEM or DER); default: the device CA.
        #[arg(long, value_name = "FILE", requires = "sign_key")]
        sign_cert: Option<String>,
        /// The profile signer's private key (PEM or DER, unencrypted).
        #[arg(long, value_name = "FILE", requires = "sign_cert")]
        sign_key: Option<String>,
        /// Write the profile unsigned (XML) when no --sign-cert is given.
        #[arg(long, conflicts_with = "sign_cert")]
        unsigned: bool,
        /// The MDM command endpoint (ServerURL), https; default: the `server_url` setting.
        #[arg(long, value_name = "URL")]
        server_url: Option<String>,
        /// The check-in endpoint (CheckInURL); default: the `checkin_url` setting, else
        /// ServerURL.
        #[arg(long, value_name = "URL")]
        check_in_url: Option<String>,
        /// The push topic; default: the installed push certificate's (when there is one).
        #[arg(long)]
        topic: Option<String>,
        /// The profile's PayloadIdentifier; default: the `enrollment_profile_id` setting.
        #[arg(long)]
        identifier: Option<String>,
        /// Where to write the signed profile (`-` for standard output).
        #[arg(short, long, value_name = "FILE")]
        output: String,
        #[command(flatten)]
        scep: ScepArgs,
    },
}

/// The device identity from an external SCEP server instead of the built-in CA.
#[derive(Debug, clap::Args)]
pub struct ScepArgs {
    /// The SCEP server's URL (http or https): the profile carries a SCEP payload instead
    /// of a PKCS#12 identity. The device is not bound to the user automatically.
    #[arg(long, value_name = "URL", requires = "scep_ca_cert")]
    scep_url: Option<String>,
    /// The external CA's root certificate (PEM or DER), installed by the profile.
    #[arg(long, value_name = "FILE", requires = "scep_url")]
    scep_ca_cert: Option<String>,
    /// A file whose first line is the SCEP challenge.
    #[arg(long, value_name = "FILE", requires = "scep_url")]
    scep_challenge_file: Option<String>,
    /// A subject entry ATTRIBUTE=VALUE (repeat, in order); default: CN = the user id.
    #[arg(long, value_name = "ATTR=VALUE", requires = "scep_url")]
    scep_subject: Vec<String>,
    /// The RSA key size: 2048 or 4096.
    #[arg(
        long,
        value_name = "BITS",
        default_value_t = 2048,
        requires = "scep_url"
    )]
    scep_key_size: u32,
    /// Key Usage: 1 (signing) or 5 (signing and encryption).
    #[arg(long, value_name = "MASK", default_value_t = 5, requires = "scep_url")]
    scep_key_usage: i64,
    /// The CA name the SCEP server expects.
    #[arg(long, value_name = "NAME", requires = "scep_url")]
    scep_name: Option<String>,
}

impl ScepArgs {
    /// The SCEP payload, when --scep-url is given.
    fn request(&self) -> CliResult<Option<ScepRequest>> {
        let Some(url) = &self.scep_url else {
            return Ok(None);
        };
        let Some(ca) = &self.scep_ca_cert else {
            return Err(CliError::input("--scep-url needs --scep-ca-cert"));
        };
        let mut scep = ScepRequest::new(url, read_input(ca)?);
        for entry in &self.scep_subject {
            let (attribute, value) = entry.split_once('=').ok_or_else(|| {
                CliError::input(format!("--scep-subject {entry:?}: want ATTRIBUTE=VALUE"))
            })?;
            scep.subject
                .push((attribute.to_string(), value.to_string()));
        }
        scep.key_size = self.scep_key_size;
        scep.key_usage = self.scep_key_usage;
        if let Some(path) = &self.scep_challenge_file {
            let text = String::from_utf8(read_secret_input(path)?)
                .map_err(|_| CliError::input("the SCEP challenge is not UTF-8"))?;
            scep.challenge = Some(text.lines().next().unwrap_or_default().to_string());
        }
        scep.name = self.scep_name.clone();
        Ok(Some(scep))
    }
}

/// Runs an `enroll` subcommand.
pub fn run(command: EnrollCommand, opts: &GlobalOpts) -> CliResult<()> {
    let EnrollCommand::Profile {
        user,
        ca_cert,
        ca_key,
        sign_cert,
        sign_key,
        unsigned,
        server_url,
        check_in_url,
        topic,
        identifier,
        output,
        scep,
    } = command;
    let mut request = ProfileRequest::default();
    if let (Some(cert), Some(key)) = (ca_cert, ca_key) {
        request.device_ca = Some((read_input(&cert)?, read_input(&key)?));
    }
    if let (Some(cert), Some(key)) = (sign_cert, sign_key) {
        request.signer = Some((read_input(&cert)?, read_input(&key)?));
    }
    request.unsigned = unsigned;
    request.server_url = server_url;
    request.check_in_url = check_in_url;
    request.topic = topic;
    request.identifier = identifier;
    request.scep = scep.request()?;
    let signed = block_on(async {
        let mdm = open_mdm(opts, |config| config).await?;
        Ok::<_, CliError>(mdm.enrollment().issue_profile(&user, &request).await?)
    })??;
    if output == "-" {
        use std::io::Write;
        std::io::stdout()
            .write_all(&signed.profile)
            .map_err(|e| CliError::failure(format!("cannot write the profile: {e}")))?;
    } else {
        // It holds the device identity's PKCS#12 and its password.
        write_secret_output(std::path::Path::new(&output), &signed.profile)?;
        let identity = match &signed.identity_sha256 {
            Some(sha256) => format!("identity sha256 {sha256}"),
            None => "SCEP identity: the device is not bound to the user automatically".to_string(),
        };
        print_out(&format!(
            "wrote {output}: {} enrollment profile for {} ({identity})\n",
            if signed.signed { "signed" } else { "unsigned" },
            signed.user_id
        ));
    }
    Ok(())
}
