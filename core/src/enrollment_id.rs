//! The canonical identifier of an MDM enrollment.

use std::fmt;

/// The canonical identifier of one enrollment: one device channel or one user channel.
///
/// Apple identifies the sender of a message with several keys (`UDID`, `EnrollmentID`,
/// `UserID`, `EnrollmentUserID`, `UserShortName`). mdmkit folds them into one string:
///
/// * a device channel is its `UDID`, or its `EnrollmentID` for a User Enrollment;
/// * a user channel is the device's identifier, a colon, and the user's `UserID`
///   (or `EnrollmentUserID` for a User Enrollment, or `UserShortName` when the user
///   channel belongs to a network user with no `UserID`).
///
/// The value is opaque to the rest of the library: compare and store it as it is.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EnrollmentId(String);

impl EnrollmentId {
    /// Wraps an identifier that is already canonical (for example one read from a store).
    pub fn new(id: impl Into<String>) -> Self {
        Self(id.into())
    }

    /// The identifier of a device channel.
    pub fn device(device_id: &str) -> Self {
        Self(device_id.to_owned())
    }

    /// The identifier of a user channel on the given device.
    pub fn user(device_id: &str, user_id: &str) -> Self {
        Self(format!("{device_id}:{user_id}"))
    }

    /// The identifier as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The identifier of the device channel this enrollment belongs to (itself for a device
    /// channel).
    pub fn device_part(&self) -> &str {
        self.0.split(':').next().unwrap_or(&self.0)
    }

    /// Whether this is a user channel.
    pub fn is_user_channel(&self) -> bool {
        self.0.contains(':')
    }
}

impl fmt::Display for EnrollmentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for EnrollmentId {
    fn from(value: &str) -> Self {
        Self::new(value)
    }
}

impl From<String> for EnrollmentId {
    fn from(value: String) -> Self {
        Self(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_and_user_channels() {
        let device = EnrollmentId::device("UDID-1");
        assert!(!device.is_user_channel());
        assert_eq!(device.device_part(), "UDID-1");
        let user = EnrollmentId::user("UDID-1", "USER-9");
        assert_eq!(user.as_str(), "UDID-1:USER-9");
        assert!(user.is_user_channel());
        assert_eq!(user.device_part(), "UDID-1");
    }
}
