//! The engine's events for front ends: pulled from a feed (no trait to implement), and a
//! fan-out so the service's own sinks and an application's run side by side.

use std::sync::Arc;

use async_trait::async_trait;
use mdmkit_core::engine::{Event, EventSink};
use serde::Serialize;
use time::OffsetDateTime;
use tokio::sync::broadcast;

/// How many events a feed holds before a slow reader starts missing them.
const FEED_CAPACITY: usize = 1024;

/// An accepted check-in or command result, as a plain record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct MdmEvent {
    /// `checkin` or `command_result`.
    pub kind: String,
    /// The enrollment it came from.
    pub enrollment_id: String,
    /// The check-in's MessageType (`Authenticate`, `TokenUpdate`...); `None` for results.
    pub message_type: Option<String>,
    /// The command the result answers; `None` for Idle and check-ins.
    pub command_uuid: Option<String>,
    /// The answered command's RequestType, when known.
    pub request_type: Option<String>,
    /// The result's status (`Acknowledged`, `Error`, `NotNow`, `Idle`...); `None` for
    /// check-ins.
    pub status: Option<String>,
    /// When it arrived (UTC).
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// The body as the device sent it.
    #[serde(skip)]
    pub body: Vec<u8>,
}

impl From<&Event> for MdmEvent {
    fn from(event: &Event) -> Self {
        match event {
            Event::Checkin {
                enrollment_id,
                message_type,
                body,
                at,
            } => MdmEvent {
                kind: "checkin".into(),
                enrollment_id: enrollment_id.to_string(),
                message_type: Some(message_type.clone()),
                command_uuid: None,
                request_type: None,
                status: None,
                at: *at,
                body: body.clone(),
            },
            Event::CommandResult {
                enrollment_id,
                command_uuid,
                request_type,
                status,
                body,
                at,
            } => MdmEvent {
                kind: "command_result".into(),
                enrollment_id: enrollment_id.to_string(),
                message_type: None,
                command_uuid: command_uuid.clone(),
                request_type: request_type.clone(),
                status: Some(status.to_string()),
                at: *at,
                body: body.clone(),
            },
            other => MdmEvent {
                kind: "other".into(),
                enrollment_id: other.enrollment_id().to_string(),
                message_type: None,
                command_uuid: None,
                request_type: None,
                status: None,
                at: OffsetDateTime::now_utc(),
                body: Vec::new(),
            },
        }
    }
}

/// The sink behind [`Mdm::events`](crate::Mdm::events): a broadcast channel. Publishing
/// never waits: with no reader the event is dropped, a slow reader skips.
#[derive(Clone)]
pub(crate) struct FeedSink {
    sender: broadcast::Sender<MdmEvent>,
}

impl FeedSink {
    pub(crate) fn new() -> Self {
        let (sender, _) = broadcast::channel(FEED_CAPACITY);
        Self { sender }
    }

    pub(crate) fn subscribe(&self) -> EventFeed {
        EventFeed {
            receiver: self.sender.subscribe(),
            missed: 0,
        }
    }
}

#[async_trait]
impl EventSink for FeedSink {
    async fn publish(&self, event: &Event) {
        if self.sender.receiver_count() > 0 {
            let _ = self.sender.send(MdmEvent::from(event));
        }
    }
}

/// The events published after [`Mdm::events`](crate::Mdm::events) was called.
#[derive(Debug)]
pub struct EventFeed {
    receiver: broadcast::Receiver<MdmEvent>,
    missed: u64,
}

impl EventFeed {
    /// The next event; `None` once the deployment is gone. Waits for one.
    pub async fn next(&mut self) -> Option<MdmEvent> {
        loop {
            match self.receiver.recv().await {
                Ok(event) => return Some(event),
                Err(broadcast::error::RecvError::Lagged(count)) => self.missed += count,
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    }

    /// The next event if one is waiting, without waiting.
    pub fn try_next(&mut self) -> Option<MdmEvent> {
        loop {
            match self.receiver.try_recv() {
                Ok(event) => return Some(event),
                Err(broadcast::error::TryRecvError::Lagged(count)) => self.missed += count,
                Err(_) => return None,
            }
        }
    }

    /// How many events this feed skipped because it fell behind.
    pub fn missed(&self) -> u64 {
        self.missed
    }
}

/// Publishes each event to several sinks, in order.
pub(crate) struct FanOut {
    sinks: Vec<Arc<dyn EventSink>>,
}

impl FanOut {
    pub(crate) fn new(sinks: Vec<Arc<dyn EventSink>>) -> Self {
        Self { sinks }
    }
}

#[async_trait]
impl EventSink for FanOut {
    async fn publish(&self, event: &Event) {
        for sink in &self.sinks {
            sink.publish(event).await;
        }
    }
}
