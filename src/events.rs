//! An in-process bus of domain events (incident changed, …) that GraphQL
//! subscriptions listen to. Publishing never blocks and never fails: with no
//! listener the event is simply dropped.

use tokio::sync::broadcast;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// An incident was created or changed (by sync, webhook or a local edit).
    IncidentChanged {
        id: String,
        service_id: Option<String>,
    },
    /// A job was queued, progressed, or finished.
    JobChanged { id: i32 },
}

#[derive(Clone)]
pub struct EventBus {
    tx: broadcast::Sender<Event>,
}

impl Default for EventBus {
    fn default() -> Self {
        Self::new()
    }
}

impl EventBus {
    pub fn new() -> Self {
        let (tx, _) = broadcast::channel(1024);
        Self { tx }
    }

    pub fn publish(&self, event: Event) {
        let _ = self.tx.send(event);
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.tx.subscribe()
    }
}
