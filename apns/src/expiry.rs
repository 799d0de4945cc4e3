//! Days remaining and the valid / expiring soon / expired status of any credential.

use serde::Serialize;
use time::OffsetDateTime;

/// How many days before expiry a credential counts as expiring soon, unless configured
/// otherwise (Apple's renewal manual highlights the push certificate at 60 days or fewer).
pub const DEFAULT_WARNING_DAYS: u32 = 60;

const SECONDS_PER_DAY: i64 = 86_400;

/// The state of a credential at a given time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ExpiryStatus {
    /// More days remain than the warning threshold.
    Valid,
    /// Not expired, and the warning threshold or fewer days remain.
    ExpiringSoon,
    /// The credential's end of validity is past.
    Expired,
}

impl ExpiryStatus {
    /// The status of a credential valid until `not_after`, at `now`, when `warning_days` or
    /// fewer days remaining count as expiring soon.
    pub fn at(not_after: OffsetDateTime, now: OffsetDateTime, warning_days: u32) -> Self {
        if now >= not_after {
            ExpiryStatus::Expired
        } else if days_remaining(not_after, now) <= i64::from(warning_days) {
            ExpiryStatus::ExpiringSoon
        } else {
            ExpiryStatus::Valid
        }
    }

    /// The stable name of the status, as written in JSON output: `valid`, `expiring_soon`
    /// or `expired`.
    pub fn as_str(self) -> &'static str {
        match self {
            ExpiryStatus::Valid => "valid",
            ExpiryStatus::ExpiringSoon => "expiring_soon",
            ExpiryStatus::Expired => "expired",
        }
    }

    /// Whether the administrator should act (expiring soon or expired).
    pub fn is_urgent(self) -> bool {
        !matches!(self, ExpiryStatus::Valid)
    }
}

/// Whole days from `now` until `not_after`, rounded down: 60 days and 5 hours is 60; half a
/// day past expiry is -1.
pub fn days_remaining(not_after: OffsetDateTime, now: OffsetDateTime) -> i64 {
    (not_after - now)
        .whole_seconds()
        .div_euclid(SECONDS_PER_DAY)
}

/// A time as RFC 3339 (`2026-03-31T09:30:00Z`), the form of every time mdmkit prints.
pub fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| at.to_string())
}

/// Serializes a time as RFC 3339 (`2026-03-31T09:30:00Z`), for serde's `serialize_with`.
pub fn serialize_rfc3339<S: serde::Serializer>(
    at: &OffsetDateTime,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&rfc3339(*at))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;
    use time::Duration;

    #[test]
    fn sixty_day_boundary() {
        let now = datetime!(2026-01-01 12:00 UTC);
        let at = |days| ExpiryStatus::at(now + Duration::days(days), now, DEFAULT_WARNING_DAYS);
        assert_eq!(at(59), ExpiryStatus::ExpiringSoon);
        assert_eq!(at(60), ExpiryStatus::ExpiringSoon);
        assert_eq!(at(61), ExpiryStatus::Valid);
        assert_eq!(at(0), ExpiryStatus::Expired);
        assert_eq!(at(-3), ExpiryStatus::Expired);
        assert_eq!(
            ExpiryStatus::at(now + Duration::days(61), now, 90),
            ExpiryStatus::ExpiringSoon
        );
    }

    #[test]
    fn days_round_down() {
        let now = datetime!(2026-01-01 12:00 UTC);
        assert_eq!(days_remaining(now + Duration::hours(60 * 24 + 5), now), 60);
        assert_eq!(days_remaining(now + Duration::hours(23), now), 0);
        assert_eq!(days_remaining(now - Duration::hours(12), now), -1);
    }
}
