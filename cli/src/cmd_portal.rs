//! `mdmkit portal`: portal users, acting as an end user with the portal's checks (devices
//! and the certificates tab), the portal's branding and its Web Clip.

use std::path::PathBuf;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use clap::Subcommand;
use mdmkit_service::{ActionOutcome, OwnCerts, PortalBranding, WebClipInput};

use crate::cmd_certs::{import_text, list_text, read_password, timestamp, EditArgs};
use crate::store_open::{block_on, deployment, open_mdm, outcome_line, GlobalOpts};
use crate::{print_out, read_input, read_secret_input, CliError, CliResult};

/// Portal users, and the portal's device operations as a given user.
#[derive(Debug, Subcommand)]
pub enum PortalCommand {
    /// Manage portal users.
    #[command(subcommand)]
    User(UserCommand),
    /// Act as an end user: the same ownership checks and audit log as the portal.
    As {
        /// The portal user id.
        user: String,
        /// What to do.
        #[command(subcommand)]
        action: AsAction,
        /// The device CA certificate(s) the server trusts (PEM or DER), overriding the
        /// stored one (`mdmkit init`).
        #[arg(long, value_name = "FILE")]
        device_ca: Vec<String>,
        /// The enrollment profile's identifier (needed by `retire`).
        #[arg(long, value_name = "ID")]
        enrollment_profile_id: Option<String>,
    },
    /// The portal's branding (name, colours, logo) for its front end.
    #[command(subcommand)]
    Branding(BrandingCommand),
    /// Push a Web Clip of the portal to a user's iOS and iPadOS devices (others are
    /// skipped, with the reason).
    Webclip {
        /// The portal user.
        #[arg(long)]
        user: String,
        /// The portal's address (https; default: the `portal_url` setting).
        #[arg(long)]
        url: Option<String>,
        /// The name under the icon (default: the branding name, else "Portal").
        #[arg(long)]
        label: Option<String>,
        /// The icon, PNG or JPEG (default: the branding logo when it is a PNG).
        #[arg(long, value_name = "FILE")]
        icon: Option<String>,
        /// The profile's identifier (the same one replaces an earlier Web Clip).
        #[arg(long, value_name = "ID", default_value = "mdmkit.portal.webclip")]
        identifier: String,
        /// Open full screen, without Safari's interface.
        #[arg(long)]
        full_screen: bool,
        /// Do not let the user remove it.
        #[arg(long)]
        not_removable: bool,
        /// The device CA certificate(s) the server trusts (PEM or DER), overriding the
        /// stored one (`mdmkit init`).
        #[arg(long, value_name = "FILE")]
        device_ca: Vec<String>,
        /// Sign the profile with this certificate (PEM or DER; with --sign-key).
        #[arg(long, value_name = "FILE", requires = "sign_key")]
        sign_cert: Option<String>,
        /// The signer's private key (PEM or DER, unencrypted; with --sign-cert).
        #[arg(long, value_name = "FILE", requires = "sign_cert")]
        sign_key: Option<String>,
    },
}

/// The portal's branding.
#[derive(Debug, Subcommand)]
pub enum BrandingCommand {
    /// Set the branding (replacing it; colours are #RRGGBB, the logo PNG, JPEG or SVG of
    /// at most 512 KiB).
    Set {
        /// The portal's name.
        #[arg(long)]
        name: String,
        /// The primary colour, #RRGGBB.
        #[arg(long, value_name = "#RRGGBB")]
        primary: Option<String>,
        /// The accent colour, #RRGGBB.
        #[arg(long, value_name = "#RRGGBB")]
        accent: Option<String>,
        /// The logo file.
        #[arg(long, value_name = "FILE")]
        logo: Option<String>,
    },
    /// Show the branding.
    Show {
        /// Print JSON (the logo base64-encoded).
        #[arg(long)]
        json: bool,
        /// Write the logo to this file.
        #[arg(long, value_name = "FILE")]
        logo_out: Option<PathBuf>,
    },
}

/// Manage portal users.
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user (no password yet).
    Add {
        /// The user id.
        user: String,
        /// The e-mail address (unique).
        #[arg(long)]
        email: String,
        /// The display name.
        #[arg(long)]
        name: Option<String>,
    },
    /// Set a user's password, read from the first line of standard input (or a file).
    Passwd {
        /// The user id.
        user: String,
        /// Read the password from this file instead of standard input.
        #[arg(long, value_name = "FILE", default_value = "-")]
        password_file: String,
    },
}

/// The portal's operations on one of the user's devices.
#[derive(Debug, Subcommand)]
pub enum AsAction {
    /// List the user's devices and what each can do.
    Devices,
    /// Lock the device.
    Lock {
        /// The enrollment id.
        device: String,
        /// The lock-screen message.
        #[arg(long)]
        message: Option<String>,
    },
    /// Clear the device's passcode.
    Unlock {
        /// The enrollment id.
        device: String,
    },
    /// Ask the device for its location (when privacy settings allow it).
    Locate {
        /// The enrollment id.
        device: String,
    },
    /// Erase the device.
    Wipe {
        /// The enrollment id.
        device: String,
    },
    /// Unenroll the device (remove the enrollment profile).
    Retire {
        /// The enrollment id.
        device: String,
    },
    /// Make the device check in now.
    Checkin {
        /// The enrollment id.
        device: String,
    },
    /// The user's own certificates (the portal's certificates tab).
    #[command(subcommand)]
    Certs(CertsAction),
}

/// The portal's certificates tab: only the user's own certificates.
#[derive(Debug, Subcommand)]
pub enum CertsAction {
    /// List the user's certificates.
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Upload a PKCS#12 file; configurations using its kind are re-pushed (queued).
    Add {
        /// The kind, by id or name.
        #[arg(long)]
        kind: String,
        /// A display name (default: the certificate's e-mail address).
        #[arg(long)]
        name: Option<String>,
        /// The file's password, read from this file (one trailing newline removed).
        #[arg(long, value_name = "FILE")]
        password_file: Option<PathBuf>,
        /// The PKCS#12 file (`-` for standard input).
        file: String,
    },
    /// Change a certificate's display name or kind.
    Edit(EditArgs),
    /// Remove a certificate's private key for good.
    ClearKey {
        /// The certificate's id.
        id: String,
    },
    /// Delete a certificate.
    Delete {
        /// The certificate's id.
        id: String,
    },
}

/// Runs a `portal` subcommand.
pub fn run(command: PortalCommand, opts: &GlobalOpts) -> CliResult<()> {
    block_on(run_async(command, opts))?
}

async fn run_async(command: PortalCommand, opts: &GlobalOpts) -> CliResult<()> {
    match command {
        PortalCommand::User(UserCommand::Add { user, email, name }) => {
            open_mdm(opts, |config| config)
                .await?
                .portal_users()
                .add(&user, &email, name.as_deref())
                .await?;
            print_out(&format!("added portal user {user} <{email}>\n"));
        }
        PortalCommand::User(UserCommand::Passwd {
            user,
            password_file,
        }) => {
            let bytes = read_secret_input(&password_file)?;
            let text = String::from_utf8(bytes)
                .map_err(|_| CliError::input("the password is not UTF-8"))?;
            let password = text.lines().next().unwrap_or_default();
            open_mdm(opts, |config| config)
                .await?
                .portal_users()
                .set_password(&user, password)
                .await?;
            print_out(&format!("password set for {user}\n"));
        }
        PortalCommand::As {
            user,
            action,
            device_ca,
            enrollment_profile_id,
        } => {
            let mdm = deployment(opts, &device_ca, enrollment_profile_id).await?;
            let session = mdm.portal().act_as(&user).await?;
            let outcome: ActionOutcome = match action {
                AsAction::Certs(action) => {
                    print_out(
                        &certs_tab(&session.certificates(), session.user_id(), action).await?,
                    );
                    return Ok(());
                }
                AsAction::Devices => {
                    let mut text = String::new();
                    for device in session.devices().await? {
                        text.push_str(&format!(
                            "{}\t{}\t{}\t{}\n",
                            device.enrollment_id,
                            device.model.as_deref().unwrap_or("-"),
                            if device.enabled {
                                "enabled"
                            } else {
                                "disabled"
                            },
                            device.actions.join(",")
                        ));
                    }
                    print_out(&text);
                    return Ok(());
                }
                AsAction::Lock { device, message } => {
                    session.lock(&device, message.as_deref(), None).await?
                }
                AsAction::Unlock { device } => session.unlock(&device).await?,
                AsAction::Locate { device } => session.locate(&device).await?,
                AsAction::Wipe { device } => session.wipe(&device).await?,
                AsAction::Retire { device } => session.retire(&device).await?,
                AsAction::Checkin { device } => {
                    let outcome = session.check_in(&device).await?;
                    print_out(&format!("push: {}\n", outcome.push));
                    return Ok(());
                }
            };
            print_out(&outcome_line(&outcome));
        }
        PortalCommand::Branding(BrandingCommand::Set {
            name,
            primary,
            accent,
            logo,
        }) => {
            let logo = logo.as_deref().map(read_input).transpose()?;
            let branding = open_mdm(opts, |config| config)
                .await?
                .set_branding(&name, primary.as_deref(), accent.as_deref(), logo)
                .await?;
            print_out(&branding_text(&branding));
        }
        PortalCommand::Branding(BrandingCommand::Show { json, logo_out }) => {
            let portal = open_mdm(opts, |config| config).await?.portal();
            let Some(branding) = portal.branding().await? else {
                return Err(CliError::input(
                    "no branding set (mdmkit portal branding set)",
                ));
            };
            if let Some(path) = &logo_out {
                let logo = branding
                    .logo
                    .as_ref()
                    .ok_or_else(|| CliError::input("the branding has no logo"))?;
                std::fs::write(path, logo).map_err(|e| {
                    CliError::failure(format!("cannot write {}: {e}", path.display()))
                })?;
            }
            if json {
                let value = serde_json::json!({
                    "name": branding.name,
                    "primary_colour": branding.primary_colour,
                    "accent_colour": branding.accent_colour,
                    "logo_content_type": branding.logo_content_type,
                    "logo": branding.logo.as_ref().map(|logo| BASE64.encode(logo)),
                    "updated_at": timestamp(branding.updated_at),
                });
                let mut text = serde_json::to_string_pretty(&value)
                    .map_err(|e| CliError::failure(format!("cannot write JSON: {e}")))?;
                text.push('\n');
                print_out(&text);
            } else {
                print_out(&branding_text(&branding));
            }
        }
        PortalCommand::Webclip {
            user,
            url,
            label,
            icon,
            identifier,
            full_screen,
            not_removable,
            device_ca,
            sign_cert,
            sign_key,
        } => {
            let mut clip = WebClipInput::new(identifier);
            clip.url = url;
            clip.label = label;
            clip.icon = icon.as_deref().map(read_input).transpose()?;
            clip.full_screen = full_screen;
            clip.removable = !not_removable;
            clip.signing_certificate = sign_cert.as_deref().map(read_input).transpose()?;
            clip.signing_key = sign_key.as_deref().map(read_input).transpose()?;
            let mdm = deployment(opts, &device_ca, None).await?;
            let report = mdm.portal().push_web_clip(&user, &clip).await?;
            let mut text = String::new();
            for (id, outcome) in &report.queued {
                text.push_str(&format!(
                    "queued {id} (command {}), {}\n",
                    outcome.command_uuid.as_deref().unwrap_or("-"),
                    push_words(outcome)
                ));
            }
            for (id, why) in &report.skipped {
                text.push_str(&format!("skipped {id}: {why}\n"));
            }
            for (id, code, message) in &report.failed {
                text.push_str(&format!("failed {id}: {message} [{code}]\n"));
            }
            if text.is_empty() {
                text = format!("{user} has no devices\n");
            }
            print_out(&text);
        }
    }
    Ok(())
}

/// `pushed`, or `not pushed: REASON`.
fn push_words(outcome: &ActionOutcome) -> String {
    if outcome.pushed {
        "pushed".to_owned()
    } else {
        format!("not pushed: {}", outcome.push)
    }
}

fn branding_text(branding: &PortalBranding) -> String {
    format!(
        "name: {}\nprimary colour: {}\naccent colour: {}\nlogo: {}\n",
        branding.name,
        branding.primary_colour.as_deref().unwrap_or("-"),
        branding.accent_colour.as_deref().unwrap_or("-"),
        match (&branding.logo, &branding.logo_content_type) {
            (Some(logo), Some(kind)) => format!("{kind}, {} bytes", logo.len()),
            (Some(logo), None) => format!("{} bytes", logo.len()),
            _ => "-".to_owned(),
        }
    )
}

async fn certs_tab(certs: &OwnCerts, user: &str, action: CertsAction) -> CliResult<String> {
    Ok(match action {
        CertsAction::List { json } => list_text(&certs.list().await?, json, user)?,
        CertsAction::Add {
            kind,
            name,
            password_file,
            file,
        } => {
            let password = password_file.as_deref().map(read_password).transpose()?;
            let report = certs
                .import(
                    &kind,
                    read_input(&file)?,
                    password.as_deref(),
                    name.as_deref(),
                )
                .await?;
            import_text(&report)
        }
        CertsAction::Edit(args) => {
            let (id, name, kind) = args.into_change()?;
            let cert = certs.change(&id, name.as_deref(), kind.as_deref()).await?;
            format!("edited {}: {} ({})\n", cert.id, cert.name, cert.kind_name)
        }
        CertsAction::ClearKey { id } => {
            let cert = certs.clear_private_key(&id).await?;
            format!("cleared the private key of {}\n", cert.id)
        }
        CertsAction::Delete { id } => {
            if !certs.delete(&id).await? {
                return Err(CliError::input(format!(
                    "no certificate {id:?} [unknown_certificate]"
                )));
            }
            format!("deleted {id}\n")
        }
    })
}
