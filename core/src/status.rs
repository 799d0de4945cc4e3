//! The status a device reports for a command.

use std::fmt;
use std::str::FromStr;

/// The `Status` of a command result, as a device sends it to the server URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CommandStatus {
    /// The device processed the command successfully.
    Acknowledged,
    /// The device tried the command and it failed; `ErrorChain` says why.
    Error,
    /// The command was malformed.
    CommandFormatError,
    /// The device is idle and asks for the next command.
    Idle,
    /// The device cannot process the command now; it stays queued.
    NotNow,
}

impl CommandStatus {
    /// Every status, in Apple's order.
    pub const ALL: [CommandStatus; 5] = [
        CommandStatus::Acknowledged,
        CommandStatus::Error,
        CommandStatus::CommandFormatError,
        CommandStatus::Idle,
        CommandStatus::NotNow,
    ];

    /// Apple's string for the status.
    pub fn as_str(self) -> &'static str {
        match self {
            CommandStatus::Acknowledged => "Acknowledged",
            CommandStatus::Error => "Error",
            CommandStatus::CommandFormatError => "CommandFormatError",
            CommandStatus::Idle => "Idle",
            CommandStatus::NotNow => "NotNow",
        }
    }

    /// Whether the status ends the command's life in the queue (Acknowledged, Error,
    /// CommandFormatError). NotNow keeps it queued; Idle carries no command at all.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            CommandStatus::Acknowledged | CommandStatus::Error | CommandStatus::CommandFormatError
        )
    }
}

impl fmt::Display for CommandStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for CommandStatus {
    type Err = crate::Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        CommandStatus::ALL
            .into_iter()
            .find(|status| status.as_str() == s)
            .ok_or_else(|| crate::Error::UnknownStatus(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_status() {
        for status in CommandStatus::ALL {
            assert_eq!(status.as_str().parse::<CommandStatus>().unwrap(), status);
        }
        assert!("Done".parse::<CommandStatus>().is_err());
        assert!(!CommandStatus::NotNow.is_final());
        assert!(CommandStatus::Error.is_final());
    }
}
