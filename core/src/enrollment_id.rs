//! The canonical identifier of an MDM enrollment.

use std::fmt;

use plist::{Dictionary, Value};

use crate::codec::kind_name;
use crate::Error;

/// The `UserID` a Shared iPad sends for its user channel: the user is then named by
/// `UserShortName` (the Managed Apple ID).
const SHARED_IPAD_USER_ID: &str = "FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF";

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

    /// Resolves the enrollment a device message (check-in message or command result) comes
    /// from, from its identity keys.
    ///
    /// The device part is `UDID`, or `EnrollmentID` for a User Enrollment. The user part,
    /// when there is one, is `UserID`, or `EnrollmentUserID` for a User Enrollment; a Shared
    /// iPad user (whose `UserID` is all `F`s) and a user with only a `UserShortName` are
    /// named by `UserShortName`.
    pub fn from_message(dict: &Dictionary) -> Result<Self, Error> {
        let text = |key: &str| -> Result<Option<&str>, Error> {
            match dict.get(key) {
                None => Ok(None),
                Some(Value::String(s)) if s.is_empty() => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.as_str())),
                Some(other) => Err(Error::WrongType {
                    path: key.to_owned(),
                    expected: "string",
                    found: kind_name(other),
                }),
            }
        };
        let device = match text("UDID")? {
            Some(udid) => udid,
            None => text("EnrollmentID")?.ok_or(Error::MissingEnrollmentId)?,
        };
        let short_name = text("UserShortName")?;
        let user = match (text("UserID")?, text("EnrollmentUserID")?) {
            (Some(SHARED_IPAD_USER_ID), _) => short_name.or(Some(SHARED_IPAD_USER_ID)),
            (Some(user_id), _) => Some(user_id),
            (None, Some(enrollment_user_id)) => Some(enrollment_user_id),
            (None, None) => short_name,
        };
        Ok(match user {
            Some(user) => Self::user(device, user),
            None => Self::device(device),
        })
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

    fn dict(pairs: &[(&str, &str)]) -> Dictionary {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), Value::String(v.to_string())))
            .collect()
    }

    #[test]
    fn resolves_every_kind_of_channel() {
        let id = |pairs: &[(&str, &str)]| EnrollmentId::from_message(&dict(pairs)).unwrap();
        assert_eq!(id(&[("UDID", "D")]).as_str(), "D");
        assert_eq!(id(&[("EnrollmentID", "E")]).as_str(), "E");
        assert_eq!(id(&[("UDID", "D"), ("UserID", "U")]).as_str(), "D:U");
        assert_eq!(
            id(&[("EnrollmentID", "E"), ("EnrollmentUserID", "EU")]).as_str(),
            "E:EU"
        );
        assert_eq!(
            id(&[
                ("UDID", "D"),
                ("UserID", SHARED_IPAD_USER_ID),
                ("UserShortName", "amy@example.com")
            ])
            .as_str(),
            "D:amy@example.com"
        );
        assert_eq!(
            id(&[("UDID", "D"), ("UserShortName", "net")]).as_str(),
            "D:net"
        );
        let err = EnrollmentId::from_message(&dict(&[("UserID", "U")])).unwrap_err();
        assert_eq!(err.code(), "missing_enrollment_id");
        let mut wrong = Dictionary::new();
        wrong.insert("UDID".into(), Value::Integer(1.into()));
        assert_eq!(
            EnrollmentId::from_message(&wrong).unwrap_err().code(),
            "wrong_type"
        );
    }
}
