//! `mdmkit enroll`: enrollment profiles for portal users.

use std::sync::Arc;
use std::time::Duration;

use clap::Subcommand;
use mdmkit_core::profile::SigningIdentity;
use mdmkit_enrollment::{DeviceCa, Enroller, EnrollmentProfileSettings};

use crate::store_open::{block_on, open_store, GlobalOpts};
use crate::{print_out, read_input, CliError, CliResult};

/// Enrollment profiles for portal users.
#[derive(Debug, Subcommand)]
pub enum EnrollCommand {
    /// Issue a device identity for a user and write the signed enrollment profile (the
    /// device enrolled with it appears in that user's portal).
    Profile {
        /// The portal user the device will belong to.
        #[arg(long)]
        user: String,
        /// The device CA certificate (PEM).
        #[arg(long, value_name = "FILE")]
        ca_cert: String,
        /// The device CA private key (PEM, unencrypted).
        #[arg(long, value_name = "FILE")]
        ca_key: String,
        /// The profile signer's certificate (PEM or DER).
        #[arg(long, value_name = "FILE")]
        sign_cert: String,
        /// The profile signer's private key (PEM or DER, unencrypted).
        #[arg(long, value_name = "FILE")]
        sign_key: String,
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
    },
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
    } = command;
    let ca = DeviceCa::from_pem(&read_input(&ca_cert)?, &read_input(&ca_key)?)?;
    let signer =
        SigningIdentity::from_bytes(&read_input(&sign_cert)?, &read_input(&sign_key)?, None)?;
    let mut settings = EnrollmentProfileSettings::new(identifier, server_url, topic);
    if let Some(url) = check_in_url {
        settings = settings.with_check_in_url(url);
    }
    let signed = block_on(async {
        let store = open_store(opts).await?;
        let enroller = Enroller::new(store, Arc::new(ca), settings, Arc::new(signer));
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
        std::fs::write(&output, &signed.profile)
            .map_err(|e| CliError::failure(format!("cannot write {output}: {e}")))?;
        print_out(&format!(
            "wrote {output}: enrollment profile for {} (identity sha256 {})\n",
            signed.user_id, signed.identity_sha256
        ));
    }
    Ok(())
}
