//! What the engine tells the application: every check-in and every command result.

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::{CommandStatus, EnrollmentId};

/// One thing a device did, published after it was stored.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// A check-in message was accepted.
    Checkin {
        /// The enrollment it came from.
        enrollment_id: EnrollmentId,
        /// Its `MessageType` ("Authenticate", "TokenUpdate", ...).
        message_type: String,
        /// The body as the device sent it.
        body: Vec<u8>,
        /// When it arrived.
        at: OffsetDateTime,
    },
    /// A command result (or an Idle report) was accepted.
    CommandResult {
        /// The enrollment it came from.
        enrollment_id: EnrollmentId,
        /// The command it answers; `None` for Idle.
        command_uuid: Option<String>,
        /// The command's RequestType, when known.
        request_type: Option<String>,
        /// The reported status.
        status: CommandStatus,
        /// The body as the device sent it.
        body: Vec<u8>,
        /// When it arrived.
        at: OffsetDateTime,
    },
}

impl Event {
    /// The enrollment the event is about.
    pub fn enrollment_id(&self) -> &EnrollmentId {
        match self {
            Event::Checkin { enrollment_id, .. } | Event::CommandResult { enrollment_id, .. } => {
                enrollment_id
            }
        }
    }
}

/// Receives the engine's events. Publishing must not fail the device's request: a sink
/// that can fail (a webhook) handles its own errors.
#[async_trait]
pub trait EventSink: Send + Sync {
    /// Called once per accepted check-in or result, after it was stored.
    async fn publish(&self, event: &Event);
}

/// A sink that drops every event (the default).
#[derive(Debug, Default, Clone, Copy)]
pub struct NoEvents;

#[async_trait]
impl EventSink for NoEvents {
    async fn publish(&self, _event: &Event) {}
}

/// A sink that keeps every event in memory, for tests and demonstrations.
#[derive(Debug, Default)]
pub struct RecordingSink {
    events: std::sync::Mutex<Vec<Event>>,
}

impl RecordingSink {
    /// An empty sink.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every event received so far, oldest first.
    pub fn events(&self) -> Vec<Event> {
        self.events
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

#[async_trait]
impl EventSink for RecordingSink {
    async fn publish(&self, event: &Event) {
        self.events
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(event.clone());
    }
}
