//! An in-process bus of domain events (incident changed, …) that GraphQL
//! subscriptions listen to, and the hooks that must learn of changed
//! incidents inside the transaction that writes them (the analytics cache
//! drops its answers about them there, so it never outlives the data). The
//! writers — the sync, webhooks, local edits — tell the bus; they never
//! call the modules that listen. Publishing never blocks and never fails:
//! with no listener the event is simply dropped.

use std::sync::Arc;

use sea_orm::{ConnectionTrait, DbBackend, DbErr, Statement};
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

/// Something derived from incidents that must change with them, in the
/// same transaction: it says which statements to run for the incidents
/// `ids` (run by whoever writes them, on its own connection).
pub trait OnIncidentsChanged: Send + Sync {
    fn statements(&self, backend: DbBackend, ids: &[String]) -> Vec<Statement>;
}

#[derive(Clone)]
pub struct EventBus {
    tx: broadcast::Sender<Event>,
    hooks: Arc<Vec<Arc<dyn OnIncidentsChanged>>>,
}

impl Default for EventBus {
    fn default() -> Self {
        Self::new()
    }
}

impl EventBus {
    pub fn new() -> Self {
        let (tx, _) = broadcast::channel(1024);
        Self {
            tx,
            hooks: Arc::new(Vec::new()),
        }
    }

    /// The bus with one more hook on changed incidents.
    pub fn with_hook(mut self, hook: Arc<dyn OnIncidentsChanged>) -> Self {
        let mut hooks = (*self.hooks).clone();
        hooks.push(hook);
        self.hooks = Arc::new(hooks);
        self
    }

    pub fn publish(&self, event: Event) {
        let _ = self.tx.send(event);
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.tx.subscribe()
    }

    /// How many receivers listen now: a subscription has started once this
    /// has grown (what a client waits on before it makes changes).
    pub fn subscribers(&self) -> usize {
        self.tx.receiver_count()
    }

    /// Tells the hooks that these incidents changed, in `db` (the
    /// transaction that changed them).
    ///
    /// # Errors
    /// Database errors; the caller's transaction then rolls back.
    pub async fn incidents_changed<C: ConnectionTrait>(
        &self,
        db: &C,
        ids: &[String],
    ) -> Result<(), DbErr> {
        if ids.is_empty() {
            return Ok(());
        }
        for hook in self.hooks.iter() {
            for statement in hook.statements(db.get_database_backend(), ids) {
                db.execute_raw(statement).await?;
            }
        }
        Ok(())
    }
}
