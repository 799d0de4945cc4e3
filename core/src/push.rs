//! The trait the engine pushes through, and its owned, binding-friendly types.
//!
//! A push wakes a device up: it tells the device to contact the MDM server. The core knows
//! nothing of how a push travels (the `mdmkit-apns` crate implements [`Pusher`] over
//! Apple's HTTP/2 API); it only names who is pushed ([`PushTarget`]) and how each push
//! ended ([`PushOutcome`]). The target is the store's [`PushTarget`]: an enrollment with
//! the push info of its last `TokenUpdate`. Every target handed to a pusher ends with exactly one outcome:
//! no push is dropped silently.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use time::OffsetDateTime;

use crate::store::EnrollmentStore;
use crate::EnrollmentId;

pub use crate::store::{PushInfo, PushTarget};

impl PushInfo {
    /// The device token in lowercase hexadecimal, as APNs paths spell it.
    pub fn token_hex(&self) -> String {
        hex::encode(&self.token)
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

    /// For an invalid token, when the push service last knew it valid, as a time (APNs
    /// gives milliseconds since the Unix epoch); `None` when it did not say or the value
    /// is beyond the calendar.
    pub fn invalid_since(&self) -> Option<OffsetDateTime> {
        match self {
            PushOutcome::Rejected {
                invalid_since_ms: Some(ms),
                ..
            } => OffsetDateTime::from_unix_timestamp_nanos(i128::from(*ms) * 1_000_000).ok(),
            _ => None,
        }
    }
}

impl std::fmt::Display for PushOutcome {
    /// One line for people: `delivered (apns-id …)`, `rejected: Unregistered (HTTP 410);
    /// the device token is no longer valid since 2023-11-14T22:13:20Z`, `failed after 5
    /// attempts: …`. Times are RFC 3339.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PushOutcome::Delivered { apns_id } => write!(f, "delivered (apns-id {apns_id})"),
            PushOutcome::Rejected {
                status,
                reason,
                token_invalid,
                invalid_since_ms,
            } => {
                write!(f, "rejected: {reason} (HTTP {status})")?;
                if *token_invalid {
                    f.write_str("; the device token is no longer valid")?;
                    match (self.invalid_since(), invalid_since_ms) {
                        (Some(since), _) => {
                            let since = since
                                .format(&time::format_description::well_known::Rfc3339)
                                .unwrap_or_else(|_| since.to_string());
                            write!(f, " since {since}")?;
                        }
                        (None, Some(ms)) => {
                            write!(f, " since {ms} (milliseconds since the Unix epoch)")?
                        }
                        (None, None) => {}
                    }
                }
                Ok(())
            }
            PushOutcome::Failed { attempts, error } => {
                write!(f, "failed after {attempts} attempts: {error}")
            }
        }
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

/// The totals of a bulk push: delivered, rejected by reason, failed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PushSummary {
    /// Targets delivered.
    pub delivered: usize,
    /// Targets rejected, by reason.
    pub rejected: std::collections::BTreeMap<String, usize>,
    /// Targets failed after retries.
    pub failed: usize,
}

impl PushSummary {
    /// Counts the outcomes of a bulk push.
    pub fn from_results(results: &[PushResult]) -> Self {
        let mut summary = Self::default();
        for result in results {
            match &result.outcome {
                PushOutcome::Delivered { .. } => summary.delivered += 1,
                PushOutcome::Rejected { reason, .. } => {
                    *summary.rejected.entry(reason.clone()).or_default() += 1
                }
                PushOutcome::Failed { .. } => summary.failed += 1,
            }
        }
        summary
    }

    /// Targets rejected, all reasons together.
    pub fn rejected_total(&self) -> usize {
        self.rejected.values().sum()
    }

    /// Every target counted.
    pub fn total(&self) -> usize {
        self.delivered + self.rejected_total() + self.failed
    }
}

impl std::fmt::Display for PushSummary {
    /// `delivered 5, rejected 2 (BadDeviceToken 1, Unregistered 1), failed 0`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "delivered {}, rejected {}",
            self.delivered,
            self.rejected_total()
        )?;
        if !self.rejected.is_empty() {
            let reasons: Vec<String> = self
                .rejected
                .iter()
                .map(|(reason, count)| format!("{reason} {count}"))
                .collect();
            write!(f, " ({})", reasons.join(", "))?;
        }
        write!(f, ", failed {}", self.failed)
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

/// Pushes `targets` through `pusher` and marks in `store` every device token the push
/// service declared invalid (APNs 410), so those enrollments are not pushed again until
/// their next `TokenUpdate`. Returns one result per target, in order.
///
/// A store failure while marking is returned as the error; the pushes have been sent by
/// then.
pub async fn push_and_mark_invalid(
    store: &dyn EnrollmentStore,
    pusher: &dyn Pusher,
    targets: Vec<PushTarget>,
    progress: Option<ProgressCallback>,
) -> crate::Result<Vec<PushResult>> {
    let tokens: Vec<Vec<u8>> = targets.iter().map(|t| t.push.token.clone()).collect();
    let results = pusher.push_many(targets, progress).await;
    for (result, token) in results.iter().zip(tokens) {
        if let PushOutcome::Rejected {
            token_invalid: true,
            invalid_since_ms,
            ..
        } = &result.outcome
        {
            let at = invalid_since_ms
                .and_then(|ms| {
                    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok()
                })
                .unwrap_or_else(OffsetDateTime::now_utc);
            store
                .mark_push_token_invalid(&result.enrollment_id, &token, at)
                .await?;
        }
    }
    Ok(results)
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
        PushTarget::new(
            id.into(),
            PushInfo::new(vec![0xab, 0x01], "magic", "com.apple.mgmt.X"),
        )
    }

    #[tokio::test]
    async fn invalid_tokens_are_marked_in_the_store() {
        use crate::store::{EnrollmentRecord, MemoryStore};
        let store = MemoryStore::new();
        for id in ["D1", "D2"] {
            store
                .put_enrollment(&EnrollmentRecord::new(id.into()))
                .await
                .unwrap();
            store
                .set_push_info(&id.into(), &target(id).push)
                .await
                .unwrap();
        }
        let pusher = RecordingPusher::new();
        pusher.set_outcome(
            "D2".into(),
            PushOutcome::Rejected {
                status: 410,
                reason: "Unregistered".into(),
                token_invalid: true,
                invalid_since_ms: Some(1_700_000_000_000),
            },
        );
        let targets = store
            .push_targets_for_topic("com.apple.mgmt.X")
            .await
            .unwrap();
        assert_eq!(targets.len(), 2);
        let results = push_and_mark_invalid(&store, &pusher, targets, None)
            .await
            .unwrap();
        assert_eq!(PushSummary::from_results(&results).delivered, 1);
        let info = store.get_push_info(&"D2".into()).await.unwrap().unwrap();
        assert_eq!(
            info.invalid_since.map(|t| t.unix_timestamp()),
            Some(1_700_000_000)
        );
        assert!(store
            .get_push_info(&"D1".into())
            .await
            .unwrap()
            .unwrap()
            .is_valid());
        // The next bulk push no longer reaches D2.
        let targets = store
            .push_targets_for_topic("com.apple.mgmt.X")
            .await
            .unwrap();
        assert_eq!(targets.len(), 1);
    }

    #[test]
    fn outcomes_read_as_sentences_with_rfc3339_times() {
        let gone = PushOutcome::Rejected {
            status: 410,
            reason: "Unregistered".into(),
            token_invalid: true,
            invalid_since_ms: Some(1_700_000_000_000),
        };
        assert_eq!(
            gone.invalid_since().map(|t| t.unix_timestamp()),
            Some(1_700_000_000)
        );
        assert_eq!(
            gone.to_string(),
            "rejected: Unregistered (HTTP 410); the device token is no longer valid since \
             2023-11-14T22:13:20Z"
        );
        let beyond = PushOutcome::Rejected {
            status: 410,
            reason: "Unregistered".into(),
            token_invalid: true,
            invalid_since_ms: Some(i64::MAX),
        };
        assert_eq!(beyond.invalid_since(), None);
        assert!(beyond.to_string().ends_with(&format!(
            "since {} (milliseconds since the Unix epoch)",
            i64::MAX
        )));
        assert_eq!(
            PushOutcome::Delivered {
                apns_id: "A-1".into()
            }
            .to_string(),
            "delivered (apns-id A-1)"
        );
        assert_eq!(
            PushOutcome::Failed {
                attempts: 5,
                error: "timed out".into()
            }
            .to_string(),
            "failed after 5 attempts: timed out"
        );
    }

    #[test]
    fn token_hex() {
        assert_eq!(target("D1").push.token_hex(), "ab01");
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
        let summary = PushSummary::from_results(&results);
        assert_eq!(summary.total(), 2);
        assert_eq!(
            summary.to_string(),
            "delivered 1, rejected 1 (Unregistered 1), failed 0"
        );
    }
}
