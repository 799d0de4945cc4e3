//! `mdmkit enroll`: enrollment profiles for portal users.

use std::sync::Arc;
use std::time::Duration;

use clap::Subcommand;
use mdmkit_core::profile::SigningIdentity;
use mdmkit_core::Secret;
use mdmkit_enrollment::{
    certificate_der, DeviceCa, Enroller, EnrollmentProfileSettings, ScepSettings,
};

use crate::store_open::{block_on, open_store, GlobalOpts};
use crate::{print_out, read_input, read_secret_input, write_secret_output, CliError, CliResult};

/// Enrollment profiles for portal users.
#[derive(Debug, Subcommand)]
pub enum EnrollCommand {
    /// Issue a device identity for a user and write its enrollment profile, signed when
    /// --sign-cert and --sign-key are given (the device enrolled with it appears in that
    /// user's portal).
    Profile {
        /// The portal user the device will belong to.
        #[arg(long)]
        user: String,
        /// The device CA certificate (PEM); not with --scep-url.
        #[arg(
            long,
            value_name = "FILE",
            required_unless_present = "scep_url",
            conflicts_with = "scep_url"
        )]
        ca_cert: Option<String>,
        /// The device CA private key (PEM, unencrypted); not with --scep-url.
        #[arg(
            long,
            value_name = "FILE",
            required_unless_present = "scep_url",
            conflicts_with = "scep_url"
        )]
        ca_key: Option<String>,
        /// The profile signer's certificate (PEM or DER); without --sign-cert and
        /// --sign-key the profile is written unsigned (XML).
        #[arg(long, value_name = "FILE", requires = "sign_key")]
        sign_cert: Option<String>,
        /// The profile signer's private key (PEM or DER, unencrypted).
        #[arg(long, value_name = "FILE", requires = "sign_cert")]
        sign_key: Option<String>,
        /// The MDM command endpoint (ServerURL), https.
        #[arg(long, value_name = "URL")]
        server_url: String,
        /// The check-in endpoint (CheckInURL); default: ServerURL.
        #[arg(long, value_name = "URL")]
        check_in_url: Option<String>,
        /// The push topic of the registered push certificate.
        #[arg(long)]
        topic: String,
        /// The profile's PayloadIdentifier.
        #[arg(long, default_value = "com.example.mdm.enrollment")]
        identifier: String,
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
    /// The SCEP settings, when --scep-url is given.
    fn settings(&self, user: &str) -> CliResult<Option<ScepSettings>> {
        let Some(url) = &self.scep_url else {
            return Ok(None);
        };
        let Some(ca) = &self.scep_ca_cert else {
            return Err(CliError::input("--scep-url needs --scep-ca-cert"));
        };
        let mut subject = Vec::new();
        for entry in &self.scep_subject {
            let (attribute, value) = entry.split_once('=').ok_or_else(|| {
                CliError::input(format!("--scep-subject {entry:?}: want ATTRIBUTE=VALUE"))
            })?;
            subject.push((attribute.to_string(), value.to_string()));
        }
        if subject.is_empty() {
            subject.push(("CN".to_string(), user.to_string()));
        }
        let mut settings = ScepSettings::new(url, subject, certificate_der(&read_input(ca)?)?)
            .with_key_size(self.scep_key_size)
            .with_key_usage(self.scep_key_usage);
        if let Some(path) = &self.scep_challenge_file {
            let text = String::from_utf8(read_secret_input(path)?)
                .map_err(|_| CliError::input("the SCEP challenge is not UTF-8"))?;
            let challenge = text.lines().next().unwrap_or_default().to_string();
            settings = settings.with_challenge(Secret::from(challenge));
        }
        if let Some(name) = &self.scep_name {
            settings = settings.with_name(name.clone());
        }
        Ok(Some(settings))
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
        server_url,
        check_in_url,
        topic,
        identifier,
        output,
        scep,
    } = command;
    let signer = match (sign_cert, sign_key) {
        (Some(cert), Some(key)) => Some(Arc::new(SigningIdentity::from_bytes(
            &read_input(&cert)?,
            &read_input(&key)?,
            None,
        )?)),
        _ => None,
    };
    let mut settings = EnrollmentProfileSettings::new(identifier, server_url, topic);
    if let Some(url) = check_in_url {
        settings = settings.with_check_in_url(url);
    }
    let ca = match (scep.settings(&user)?, ca_cert, ca_key) {
        (Some(scep), _, _) => {
            settings = settings.with_scep(scep);
            None
        }
        (None, Some(cert), Some(key)) => {
            Some(DeviceCa::from_pem(&read_input(&cert)?, &read_input(&key)?)?)
        }
        (None, _, _) => return Err(CliError::input("--ca-cert and --ca-key are needed")),
    };
    let signed = block_on(async {
        let store = open_store(opts).await?;
        let enroller = match ca {
            Some(ca) => Enroller::new(store, Arc::new(ca), settings, signer),
            None => Enroller::scep(store, settings, signer)?,
        };
        // A one-minute token, redeemed at once: the same path as a registration link.
        let token = enroller
            .create_token(&user, Duration::from_secs(60))
            .await?;
        let value = token.value.expose_str().unwrap_or_default().to_owned();
        Ok::<_, CliError>(enroller.enroll(&value).await?)
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
