//! The trait the engine pushes through, and its owned, binding-friendly types.
//!
//! A push wakes a device up: it tells the device to contact the MDM server. The core knows
//! nothing of how a push travels (the `mdmkit-apns` crate implements [`Pusher`] over
//! Apple's HTTP/2 API); it only names who is pushed ([`PushTarget`]) and how each push
//! ended ([`PushOutcome`]). Every target handed to a pusher ends with exactly one outcome:
//! no push is dropped silently.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use crate::EnrollmentId;

/// One enrollment to push to: the push information the device sent in its `TokenUpdate`.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PushTarget {
    /// The enrollment being woken up.
    pub enrollment_id: EnrollmentId,
    /// The APNs device token (raw bytes, `Token` of the `TokenUpdate`).
    pub token: Vec<u8>,
    /// The `PushMagic` string the device expects in the push payload.
    pub push_magic: String,
    /// The push topic the device enrolled with (the push certificate's UID).
    pub topic: String,
}

impl PushTarget {
    /// A target from its enrollment and push information.
    pub fn new(
        enrollment_id: EnrollmentId,
        token: Vec<u8>,
        push_magic: impl Into<String>,
        topic: impl Into<String>,
    ) -> Self {
        Self {
            enrollment_id,
            token,
            push_magic: push_magic.into(),
            topic: topic.into(),
        }
    }

    /// The device token in lowercase hexadecimal, as APNs paths spell it.
    pub fn token_hex(&self) -> String {
        use std::fmt::Write;
        self.token
            .iter()
            .fold(String::with_capacity(self.token.len() * 2), |mut s, b| {
                let _ = write!(s, "{b:02x}");
                s
            })
    }
}

impl std::fmt::Debug for PushTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The PushMagic lets anyone holding the certificate wake the device: keep it out of
        // logs.
        f.debug_struct("PushTarget")
            .field("enrollment_id", &self.enrollment_id)
            .field("token", &self.token_hex())
            .field("push_magic", &"<redacted>")
            .field("topic", &self.topic)
            .finish()
    }
}

/// How one push ended.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PushOutcome {
    /// The push service accepted the push.
    Delivered {
        /// The identifier the push service gave the notification (`apns-id`).
        apns_id: String,
    },
    /// The push service refused the push; retrying the same push will not help.
    Rejected {
        /// The HTTP status of the answer (400, 403, 410, 413...), or 0 when the pusher
        /// refused the push itself before sending it.
        status: u16,
        /// The reason as the push service spelled it (`BadDeviceToken`, `Unregistered`...).
        reason: String,
        /// Whether the device token is no longer valid (APNs 410): the enrollment must not
        /// be pushed again until it sends a new token.
        token_invalid: bool,
        /// For an invalid token, when the push service last knew it valid (milliseconds
        /// since the Unix epoch), if it said.
        invalid_since_ms: Option<i64>,
    },
    /// The push could not be delivered after every retry the pusher allows (connection
    /// failures, timeouts, 429 or 5xx answers).
    Failed {
        /// How many times the push was attempted.
        attempts: u32,
        /// The last error, in words.
        error: String,
    },
}

impl PushOutcome {
    /// Whether the push was delivered.
    pub fn is_delivered(&self) -> bool {
        matches!(self, PushOutcome::Delivered { .. })
    }
}

/// The outcome of one target of a bulk push.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PushResult {
    /// The enrollment that was pushed.
    pub enrollment_id: EnrollmentId,
    /// How its push ended.
    pub outcome: PushOutcome,
}

impl PushResult {
    /// A result from its enrollment and outcome.
    pub fn new(enrollment_id: EnrollmentId, outcome: PushOutcome) -> Self {
        Self {
            enrollment_id,
            outcome,
        }
    }
}

/// Progress of a bulk push, reported after each finished target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct PushProgress {
    /// Targets finished so far (delivered + rejected + failed).
    pub done: usize,
    /// Targets in the bulk push.
    pub total: usize,
    /// Targets delivered so far.
    pub delivered: usize,
    /// Targets rejected so far.
    pub rejected: usize,
    /// Targets failed so far.
    pub failed: usize,
}

impl PushProgress {
    /// No target finished yet, out of `total`.
    pub fn start(total: usize) -> Self {
        Self {
            done: 0,
            total,
            delivered: 0,
            rejected: 0,
            failed: 0,
        }
    }

    /// Counts one more finished target.
    pub fn record(&mut self, outcome: &PushOutcome) {
        self.done += 1;
        match outcome {
            PushOutcome::Delivered { .. } => self.delivered += 1,
            PushOutcome::Rejected { .. } => self.rejected += 1,
            PushOutcome::Failed { .. } => self.failed += 1,
        }
    }
}

/// Called after each finished target of a bulk push. It may be called from several tasks;
/// keep it quick.
pub type ProgressCallback = Arc<dyn Fn(PushProgress) + Send + Sync>;

/// Something that can wake devices up.
#[async_trait]
pub trait Pusher: Send + Sync {
    /// Pushes one target and says how it ended.
    async fn push(&self, target: &PushTarget) -> PushOutcome;

    /// Pushes many targets and returns one result per target, in the order given, calling
    /// `progress` after each finished target.
    ///
    /// The default pushes one target after the other; implementations override it to push
    /// concurrently.
    async fn push_many(
        &self,
        targets: Vec<PushTarget>,
        progress: Option<ProgressCallback>,
    ) -> Vec<PushResult> {
        let mut counts = PushProgress::start(targets.len());
        let mut results = Vec::with_capacity(targets.len());
        for target in targets {
            let outcome = self.push(&target).await;
            counts.record(&outcome);
            if let Some(progress) = &progress {
                progress(counts);
            }
            results.push(PushResult::new(target.enrollment_id, outcome));
        }
        results
    }
}

/// A pusher that sends nothing: it records every target and answers with outcomes set in
/// advance (delivered by default). For tests of code that pushes.
#[derive(Debug, Default)]
pub struct RecordingPusher {
    state: Mutex<RecordingState>,
}

#[derive(Debug, Default)]
struct RecordingState {
    pushed: Vec<PushTarget>,
    outcomes: std::collections::HashMap<EnrollmentId, PushOutcome>,
}

impl RecordingPusher {
    /// A pusher that delivers every push.
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes every later push to `enrollment_id` end with `outcome`.
    pub fn set_outcome(&self, enrollment_id: EnrollmentId, outcome: PushOutcome) {
        self.lock().outcomes.insert(enrollment_id, outcome);
    }

    /// Every target pushed so far, in order.
    pub fn pushed(&self) -> Vec<PushTarget> {
        self.lock().pushed.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, RecordingState> {
        // A panic elsewhere while holding the lock leaves plain data behind: keep using it.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[async_trait]
impl Pusher for RecordingPusher {
    async fn push(&self, target: &PushTarget) -> PushOutcome {
        let mut state = self.lock();
        state.pushed.push(target.clone());
        let count = state.pushed.len();
        state
            .outcomes
            .get(&target.enrollment_id)
            .cloned()
            .unwrap_or_else(|| PushOutcome::Delivered {
                apns_id: format!("recorded-{count}"),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(id: &str) -> PushTarget {
        PushTarget::new(id.into(), vec![0xab, 0x01], "magic", "com.apple.mgmt.X")
    }

    #[test]
    fn token_hex_and_redacted_debug() {
        let t = target("D1");
        assert_eq!(t.token_hex(), "ab01");
        let debug = format!("{t:?}");
        assert!(!debug.contains("magic\""), "{debug}");
        assert!(debug.contains("<redacted>"));
    }

    #[tokio::test]
    async fn recording_pusher_records_and_answers() {
        let pusher = RecordingPusher::new();
        let rejected = PushOutcome::Rejected {
            status: 410,
            reason: "Unregistered".into(),
            token_invalid: true,
            invalid_since_ms: Some(5),
        };
        pusher.set_outcome("D2".into(), rejected.clone());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = seen.clone();
        let progress: ProgressCallback = Arc::new(move |p| sink.lock().unwrap().push(p));
        let results = pusher
            .push_many(vec![target("D1"), target("D2")], Some(progress))
            .await;
        assert_eq!(results.len(), 2);
        assert!(results[0].outcome.is_delivered());
        assert_eq!(results[1].outcome, rejected);
        assert_eq!(pusher.pushed().len(), 2);
        let last = *seen.lock().unwrap().last().unwrap();
        assert_eq!((last.done, last.delivered, last.rejected), (2, 1, 1));
    }
}
