//! `mdmkit invite`: invite portal users by e-mail, list and revoke invitations.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use clap::{Args, Subcommand};
use mdmkit_apns::SmtpNotifier;
use mdmkit_core::notify::{EmailMessage, Notifier};
use mdmkit_enrollment::{
    list_invitations, revoke_invitation, EnrollmentLinks, Invitation, Invitations,
};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::store_open::{block_on, open_mdm, open_store, GlobalOpts};
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
    /// Without it the stored settings are used (`portal_url`, `enrollment_url` and the
    /// SMTP settings of `mdmkit init`).
    #[arg(long, value_name = "URL")]
    portal_url: Option<String>,
    /// The page serving the enrollment profile for a registration token (https);
    /// default: `/enroll` on the portal's host.
    #[arg(long, value_name = "URL")]
    registration_url: Option<String>,
    /// How long both links work, in hours.
    #[arg(long, value_name = "N", default_value_t = 72)]
    ttl_hours: u64,
    /// The SMTP server (smtp://host:port, smtp://host:port?tls=required, smtps://host:port,
    /// with user:password@ to log in). Without it the message is printed, not sent.
    #[arg(long, value_name = "URL", requires = "from")]
    smtp: Option<String>,
    /// The sender address (with --smtp).
    #[arg(long, value_name = "ADDRESS", requires = "smtp")]
    from: Option<String>,
    /// A CA certificate (PEM) to trust for the SMTP server's TLS certificate.
    #[arg(long, value_name = "FILE", requires = "smtp")]
    smtp_ca: Option<String>,
}

/// Prints the message on standard output instead of sending it (no `--smtp`).
struct PrintNotifier;

#[async_trait]
impl Notifier for PrintNotifier {
    async fn send(&self, message: EmailMessage) -> Result<(), mdmkit_core::Error> {
        print_out(&format!(
            "not sent (no --smtp given); the invitation message follows\n\
             To: {}\nSubject: {}\n\n{}\n",
            message.to.join(", "),
            message.subject,
            message.text_body
        ));
        Ok(())
    }
}

/// Runs `mdmkit invite`.
pub fn run(args: InviteArgs, opts: &GlobalOpts) -> CliResult<()> {
    block_on(run_async(args, opts))?
}

async fn run_async(args: InviteArgs, opts: &GlobalOpts) -> CliResult<()> {
    match args.command {
        Some(InviteCommand::Revoke { id }) => {
            let store = open_store(opts).await?;
            if !revoke_invitation(&store, &id).await? {
                return Err(CliError::input(format!("no invitation {id}")));
            }
            print_out(&format!("revoked invitation {id}\n"));
        }
        Some(InviteCommand::List { user }) => {
            let store = open_store(opts).await?;
            let now = OffsetDateTime::now_utc();
            let mut text = String::new();
            for invitation in list_invitations(&store, user.as_deref()).await? {
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
    let Some(portal_url) = args.portal_url else {
        if args.smtp.is_some() || args.registration_url.is_some() {
            return Err(CliError::input(
                "--smtp and --registration-url go with --portal-url; without it the stored \
                 settings are used",
            ));
        }
        // The deployment's settings: its links and, when configured, its mail server.
        let mdm = open_mdm(opts, |config| config).await?;
        let report = mdm.enrollment().invite(&user, &email, ttl).await?;
        let mut text = format!(
            "invitation {} {} {email} (expires {})\n",
            report.invitation.id,
            if report.sent { "sent to" } else { "made for" },
            rfc3339(report.invitation.expires_at)
        );
        if !report.sent {
            text.push_str(&format!(
                "not sent (no SMTP settings); deliver these links to {email}:\nportal link: {}\nregistration link: {}\n",
                report.portal_link, report.registration_link
            ));
        }
        print_out(&text);
        return Ok(());
    };
    let registration_url = match args.registration_url {
        Some(url) => url,
        None => default_registration_url(&portal_url)?,
    };
    let links = EnrollmentLinks::new(portal_url, registration_url)?;
    let notifier: Arc<dyn Notifier> = match (&args.smtp, &args.from) {
        (Some(url), Some(from)) => Arc::new(
            match &args.smtp_ca {
                Some(path) => SmtpNotifier::with_root_certificate(url, from, &read_input(path)?),
                None => SmtpNotifier::new(url, from),
            }
            .map_err(|e| CliError::input(format!("{e} [{}]", e.code())))?,
        ),
        _ => Arc::new(PrintNotifier),
    };
    let sent_by_smtp = args.smtp.is_some();
    let invitations = Invitations::new(open_store(opts).await?, notifier, links);
    let sent = invitations
        .invite(&user, &email, ttl)
        .await
        .map_err(|error| match error.code() {
            // The mail server failed, not the user's input.
            "notify_failed" => CliError::failure(format!(
                "{error} [notify_failed]; nothing was kept, the invitation can be made again"
            )),
            _ => error.into(),
        })?;
    print_out(&format!(
        "invitation {} {} {email} (expires {})\n",
        sent.invitation.id,
        if sent_by_smtp { "sent to" } else { "made for" },
        rfc3339(sent.invitation.expires_at)
    ));
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

fn state(invitation: &Invitation, now: OffsetDateTime) -> &'static str {
    if invitation.accepted_at.is_some() {
        "accepted"
    } else if invitation.is_expired(now) {
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
