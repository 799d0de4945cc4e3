//! `mdmkit invite`: invite portal users by e-mail, list and revoke invitations.

use std::time::Duration;

use clap::{Args, Subcommand};
use mdmkit_service::invitations::InvitationEntry;
use mdmkit_service::settings;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::store_open::{block_on, open_mdm, GlobalOpts};
use crate::{print_out, read_input, CliError, CliResult};

/// `mdmkit invite --user U --email E ...`, or one of its subcommands.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct InviteArgs {
    #[command(subcommand)]
    command: Option<InviteCommand>,
    #[command(flatten)]
    send: SendArgs,
}

/// The invitation subcommands.
#[derive(Debug, Subcommand)]
enum InviteCommand {
    /// Revoke an invitation: neither of its links works any more.
    Revoke {
        /// The invitation id (as printed by `invite` and `invite list`).
        id: String,
    },
    /// List invitations: id, user, e-mail, expiry, state, whether a device registered.
    List {
        /// Only this user's invitations.
        #[arg(long)]
        user: Option<String>,
    },
}

/// Arguments of `mdmkit invite` itself (sending an invitation).
#[derive(Debug, Args)]
struct SendArgs {
    /// The portal user invited (created with this e-mail address when absent).
    #[arg(long, required = true)]
    user: Option<String>,
    /// The address the invitation is sent to.
    #[arg(long, required = true)]
    email: Option<String>,
    /// The portal page that accepts invitations (https); the token is added as `?token=`.
    /// Default: the stored `portal_url` setting (`mdmkit init`). Like every flag below, it
    /// overrides the stored setting for this run only.
    #[arg(long, value_name = "URL")]
    portal_url: Option<String>,
    /// The page serving the enrollment profile for a registration token (https);
    /// default: `/enroll` on --portal-url's host with --portal-url, else the stored
    /// `enrollment_url` setting.
    #[arg(long, value_name = "URL")]
    registration_url: Option<String>,
    /// How long both links work, in hours.
    #[arg(long, value_name = "N", default_value_t = 72)]
    ttl_hours: u64,
    /// The SMTP server (smtp://host:port, smtp://host:port?tls=required, smtps://host:port,
    /// with user:password@ to log in); default: the stored `smtp_url` setting. Without
    /// either, the links are printed, not sent.
    #[arg(long, value_name = "URL", requires = "from")]
    smtp: Option<String>,
    /// The sender address (with --smtp).
    #[arg(long, value_name = "ADDRESS", requires = "smtp")]
    from: Option<String>,
    /// A CA certificate (PEM) to trust for the SMTP server's TLS certificate.
    #[arg(long, value_name = "FILE", requires = "smtp")]
    smtp_ca: Option<String>,
}

/// Runs `mdmkit invite`.
pub fn run(args: InviteArgs, opts: &GlobalOpts) -> CliResult<()> {
    block_on(run_async(args, opts))?
}

async fn run_async(args: InviteArgs, opts: &GlobalOpts) -> CliResult<()> {
    match args.command {
        Some(InviteCommand::Revoke { id }) => {
            let mdm = open_mdm(opts, |config| config).await?;
            if !mdm.enrollment().revoke_invitation(&id).await? {
                return Err(CliError::input(format!("no invitation {id}")));
            }
            print_out(&format!("revoked invitation {id}\n"));
        }
        Some(InviteCommand::List { user }) => {
            let mdm = open_mdm(opts, |config| config).await?;
            let now = OffsetDateTime::now_utc();
            let mut text = String::new();
            for invitation in mdm.enrollment().invitations_list(user.as_deref()).await? {
                let invitation = InvitationEntry::from(invitation);
                text.push_str(&format!(
                    "{}\t{}\t{}\t{}\t{}\t{}\n",
                    invitation.id,
                    invitation.user_id,
                    invitation.email,
                    rfc3339(invitation.expires_at),
                    state(&invitation, now),
                    if invitation.registered_at.is_some() {
                        "device registered"
                    } else {
                        "no device"
                    }
                ));
            }
            print_out(&text);
        }
        None => send(args.send, opts).await?,
    }
    Ok(())
}

async fn send(args: SendArgs, opts: &GlobalOpts) -> CliResult<()> {
    // clap makes these present when no subcommand is given.
    let (Some(user), Some(email)) = (args.user, args.email) else {
        return Err(CliError::input("--user and --email are needed"));
    };
    let ttl = Duration::from_secs(args.ttl_hours.saturating_mul(3600));
    // The flags override the stored settings for this run.
    let registration_url = match (&args.registration_url, &args.portal_url) {
        (Some(url), _) => Some(url.clone()),
        (None, Some(portal)) => Some(default_registration_url(portal)?),
        (None, None) => None,
    };
    let smtp_ca = args
        .smtp_ca
        .as_deref()
        .map(read_input)
        .transpose()?
        .map(|pem| {
            String::from_utf8(pem)
                .map_err(|_| CliError::input("--smtp-ca: not a PEM certificate (not text)"))
        })
        .transpose()?;
    let overrides = [
        (settings::PORTAL_URL, args.portal_url),
        (settings::ENROLLMENT_URL, registration_url),
        (settings::SMTP_URL, args.smtp),
        (settings::SMTP_FROM, args.from),
        (settings::SMTP_CA, smtp_ca),
    ];
    let mdm = open_mdm(opts, |mut config| {
        for (name, value) in overrides {
            if let Some(value) = value {
                config = config.setting(name, value);
            }
        }
        config
    })
    .await?;
    let report = mdm
        .enrollment()
        .invite(&user, &email, ttl)
        .await
        .map_err(|error| match error.code() {
            // The mail server failed, not the user's input.
            "notify_failed" => CliError::failure(format!(
                "{error} [notify_failed]; nothing was kept, the invitation can be made again"
            )),
            _ => error.into(),
        })?;
    let mut text = String::new();
    if !report.sent {
        text.push_str(&format!(
            "not sent (no SMTP settings: set smtp_url and smtp_from, or give --smtp and \
             --from); deliver these links to {email}:\nportal link: {}\n\
             registration link: {}\n",
            report.portal_link, report.registration_link
        ));
    }
    text.push_str(&format!(
        "invitation {} {} {email} (expires {})\n",
        report.invitation.id,
        if report.sent { "sent to" } else { "made for" },
        rfc3339(report.invitation.expires_at)
    ));
    print_out(&text);
    Ok(())
}

/// `https://host[:port]/enroll` for a portal URL `https://host[:port]/...`.
fn default_registration_url(portal_url: &str) -> CliResult<String> {
    let (scheme, rest) = portal_url
        .split_once("://")
        .ok_or_else(|| CliError::input(format!("--portal-url {portal_url:?} is not a URL")))?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    Ok(format!("{scheme}://{authority}/enroll"))
}

fn state(invitation: &InvitationEntry, now: OffsetDateTime) -> &'static str {
    if invitation.accepted_at.is_some() {
        "accepted"
    } else if invitation.expires_at <= now {
        "expired"
    } else {
        "pending"
    }
}

/// RFC 3339 to the second.
fn rfc3339(at: OffsetDateTime) -> String {
    let at = at.replace_nanosecond(0).unwrap_or(at);
    at.format(&Rfc3339).unwrap_or_else(|_| at.to_string())
}
