//! What the mock server answers, per device token and per connection.

use std::collections::{HashMap, VecDeque};

use serde::Deserialize;

use crate::Error;

/// One answer to one push.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Answer {
    /// HTTP status (200, 400, 410, 429, 500, 503...).
    pub status: u16,
    /// The `reason` of the JSON body (none for 200; a default for the status otherwise).
    #[serde(default)]
    pub reason: Option<String>,
    /// The `timestamp` of a 410 answer, in milliseconds since the Unix epoch.
    #[serde(default)]
    pub timestamp: Option<i64>,
    /// Waits this long before answering (milliseconds).
    #[serde(default)]
    pub delay_ms: u64,
}

impl Answer {
    /// A 200 answer.
    pub fn ok() -> Self {
        Self::status(200)
    }

    /// An answer with this status and the usual reason for it.
    pub fn status(status: u16) -> Self {
        Self {
            status,
            reason: None,
            timestamp: None,
            delay_ms: 0,
        }
    }

    /// An error answer with this status and reason.
    pub fn error(status: u16, reason: impl Into<String>) -> Self {
        Self {
            reason: Some(reason.into()),
            ..Self::status(status)
        }
    }

    /// A 410 `Unregistered` answer with its timestamp.
    pub fn unregistered(timestamp_ms: i64) -> Self {
        Self {
            timestamp: Some(timestamp_ms),
            ..Self::error(410, "Unregistered")
        }
    }

    /// The same answer, given after `delay_ms` milliseconds.
    pub fn delayed(mut self, delay_ms: u64) -> Self {
        self.delay_ms = delay_ms;
        self
    }

    /// The reason to send: the scripted one or the usual one for the status.
    pub(crate) fn reason_text(&self) -> Option<&str> {
        if self.status == 200 {
            return None;
        }
        Some(self.reason.as_deref().unwrap_or(match self.status {
            400 => "BadDeviceToken",
            403 => "BadCertificate",
            404 => "BadPath",
            405 => "MethodNotAllowed",
            410 => "Unregistered",
            413 => "PayloadTooLarge",
            429 => "TooManyRequests",
            503 => "ServiceUnavailable",
            _ => "InternalServerError",
        }))
    }
}

/// How one accepted connection behaves.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct ConnectionPlan {
    /// `SETTINGS_MAX_CONCURRENT_STREAMS` announced on this connection (default: the
    /// server's, 1000 like Apple's).
    #[serde(default)]
    pub max_concurrent_streams: Option<u32>,
    /// Sends GOAWAY after accepting this many streams (the streams accepted are answered).
    #[serde(default)]
    pub goaway_after: Option<u64>,
    /// Drops the connection (no GOAWAY, no answer to streams in flight) when this many
    /// streams have been accepted.
    #[serde(default)]
    pub drop_after: Option<u64>,
}

/// The whole behaviour of a mock server. The JSON form is the `--script` file of
/// `mdmkit push mock-server` (see docs/apns.md).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Script {
    /// The answer to a token without scripted answers left (default: 200).
    #[serde(default = "Answer::ok")]
    pub default: Answer,
    /// Answers per device token (lowercase hex), given in order, one per push; when they
    /// run out, `default` applies.
    #[serde(default)]
    pub tokens: HashMap<String, VecDeque<Answer>>,
    /// Plans for the first connections, in the order they are accepted.
    #[serde(default)]
    pub connections: VecDeque<ConnectionPlan>,
    /// The plan of every connection after those.
    #[serde(default)]
    pub default_connection: ConnectionPlan,
}

impl Default for Script {
    fn default() -> Self {
        Self {
            default: Answer::ok(),
            tokens: HashMap::new(),
            connections: VecDeque::new(),
            default_connection: ConnectionPlan::default(),
        }
    }
}

impl Script {
    /// Reads a script from its JSON form.
    pub fn from_json(json: &[u8]) -> Result<Self, Error> {
        let mut script: Script =
            serde_json::from_slice(json).map_err(|e| Error::InvalidScript(e.to_string()))?;
        let tokens = std::mem::take(&mut script.tokens);
        for (token, answers) in tokens {
            script.push_answers(&token, answers)?;
        }
        Ok(script)
    }

    /// Adds answers for a token (hex, any case).
    pub fn push_answers(
        &mut self,
        token_hex: &str,
        answers: impl IntoIterator<Item = Answer>,
    ) -> Result<(), Error> {
        if token_hex.is_empty() || !token_hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(Error::InvalidToken(token_hex.to_owned()));
        }
        self.tokens
            .entry(token_hex.to_ascii_lowercase())
            .or_default()
            .extend(answers);
        Ok(())
    }

    /// Adds the plan of the next connection to be accepted.
    pub fn push_connection(&mut self, plan: ConnectionPlan) {
        self.connections.push_back(plan);
    }

    pub(crate) fn next_answer(&mut self, token_hex: &str) -> Answer {
        self.tokens
            .get_mut(token_hex)
            .and_then(VecDeque::pop_front)
            .unwrap_or_else(|| self.default.clone())
    }

    pub(crate) fn next_connection(&mut self) -> ConnectionPlan {
        self.connections
            .pop_front()
            .unwrap_or_else(|| self.default_connection.clone())
    }
}

impl ConnectionPlan {
    /// A plan that announces this stream limit.
    pub fn max_concurrent_streams(limit: u32) -> Self {
        Self {
            max_concurrent_streams: Some(limit),
            ..Self::default()
        }
    }

    /// A plan that sends GOAWAY after `streams` streams.
    pub fn goaway_after(streams: u64) -> Self {
        Self {
            goaway_after: Some(streams),
            ..Self::default()
        }
    }

    /// The same plan, also sending GOAWAY after `streams` streams.
    pub fn and_goaway_after(mut self, streams: u64) -> Self {
        self.goaway_after = Some(streams);
        self
    }

    /// A plan that drops the connection at the `streams`-th stream.
    pub fn drop_after(streams: u64) -> Self {
        Self {
            drop_after: Some(streams),
            ..Self::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_from_json() {
        let script = Script::from_json(
            br#"{"tokens": {"ABCD": [{"status": 410, "timestamp": 5}, {"status": 200}]},
                 "connections": [{"goaway_after": 3}],
                 "default_connection": {"max_concurrent_streams": 10}}"#,
        )
        .unwrap();
        let mut script = script;
        assert_eq!(script.next_answer("abcd").timestamp, Some(5));
        assert_eq!(script.next_answer("abcd").status, 200);
        assert_eq!(script.next_answer("abcd"), Answer::ok());
        assert_eq!(script.next_connection().goaway_after, Some(3));
        assert_eq!(script.next_connection().max_concurrent_streams, Some(10));
    }

    #[test]
    fn bad_scripts_are_errors() {
        for bad in [
            &b"{"[..],
            br#"{"unknown": 1}"#,
            br#"{"default": {"status": "x"}}"#,
        ] {
            assert_eq!(Script::from_json(bad).unwrap_err().code(), "invalid_script");
        }
        let bad_token = Script::from_json(br#"{"tokens": {"zz": [{"status": 200}]}}"#);
        assert_eq!(bad_token.unwrap_err().code(), "invalid_token");
    }
}
