//! The reasons APNs gives when it refuses a push.

use std::fmt;

macro_rules! reasons {
    ($($(#[$doc:meta])* $variant:ident),* $(,)?) => {
        /// Why APNs refused a push: the `reason` of its JSON answer.
        ///
        /// A reason this version does not know is kept as text in [`Reason::Other`].
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum Reason {
            $($(#[$doc])* $variant,)*
            /// A reason this version of mdmkit does not know, as APNs spelled it.
            Other(String),
        }

        impl Reason {
            /// Parses APNs' spelling of a reason; never fails.
            pub fn parse(text: &str) -> Self {
                match text {
                    $(stringify!($variant) => Reason::$variant,)*
                    other => Reason::Other(other.to_owned()),
                }
            }

            /// APNs' spelling of the reason.
            pub fn as_str(&self) -> &str {
                match self {
                    $(Reason::$variant => stringify!($variant),)*
                    Reason::Other(text) => text,
                }
            }
        }
    };
}

reasons! {
    /// 400: the collapse identifier is too long.
    BadCollapseId,
    /// 400: the device token is not valid.
    BadDeviceToken,
    /// 400: the `apns-expiration` value is not valid.
    BadExpirationDate,
    /// 400: the `apns-id` value is not valid.
    BadMessageId,
    /// 400: the `apns-priority` value is not valid.
    BadPriority,
    /// 400: the `apns-topic` value is not valid.
    BadTopic,
    /// 400: the device token does not match the topic.
    DeviceTokenNotForTopic,
    /// 400: one or more headers were repeated.
    DuplicateHeaders,
    /// 400: idle timeout.
    IdleTimeout,
    /// 400: the `apns-push-type` value is not valid.
    InvalidPushType,
    /// 400: the path has no device token.
    MissingDeviceToken,
    /// 400: the `apns-topic` header is missing and required.
    MissingTopic,
    /// 400: the message payload is empty.
    PayloadEmpty,
    /// 400: pushing to this topic is not allowed.
    TopicDisallowed,
    /// 403: the certificate is not valid.
    BadCertificate,
    /// 403: the certificate is for the other environment (production / sandbox).
    BadCertificateEnvironment,
    /// 403: the provider token is stale.
    ExpiredProviderToken,
    /// 403: the action is not allowed.
    Forbidden,
    /// 403: the provider token is not valid.
    InvalidProviderToken,
    /// 403: no provider certificate or token was given.
    MissingProviderToken,
    /// 403: the key identifier in the provider token is not related to the topic.
    UnrelatedKeyIdInToken,
    /// 403: the key identifier in the provider token is for the other environment.
    BadEnvironmentKeyIdInToken,
    /// 404: the request path is not valid.
    BadPath,
    /// 405: the request method is not allowed.
    MethodNotAllowed,
    /// 410: the device token has expired.
    ExpiredToken,
    /// 410: the device token is no longer active for the topic.
    Unregistered,
    /// 413: the payload is too large.
    PayloadTooLarge,
    /// 429: the provider token is being updated too often.
    TooManyProviderTokenUpdates,
    /// 429: too many requests to the same device token.
    TooManyRequests,
    /// 500: an internal server error.
    InternalServerError,
    /// 503: the service is unavailable.
    ServiceUnavailable,
    /// 503: the APNs server is shutting down.
    Shutdown,
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_and_unknown_reasons() {
        assert_eq!(Reason::parse("Unregistered"), Reason::Unregistered);
        assert_eq!(Reason::parse("BadDeviceToken").as_str(), "BadDeviceToken");
        let other = Reason::parse("SomethingNew");
        assert_eq!(other, Reason::Other("SomethingNew".into()));
        assert_eq!(other.to_string(), "SomethingNew");
    }
}
