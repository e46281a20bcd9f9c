//! What every request handler shares: stores for reads, the writer for changes, and the services
//! around them.

use std::sync::Arc;

use crate::clock::Clock;
use crate::gateway::Gateway;
use crate::ids::IdGen;
use crate::password::Passwords;
use crate::relay::SyncStatus;
use crate::scheduler::Lateness;
use crate::search::Search;
use crate::session::Sessions;
use crate::stores::Stores;
use crate::writer::{WriterHandle, WriterSignals};

#[derive(Clone)]
pub struct AppState {
    pub stores: Arc<Stores>,
    pub writer: WriterHandle,
    pub signals: Arc<WriterSignals>,
    pub sessions: Arc<Sessions>,
    pub passwords: Arc<Passwords>,
    pub ids: Arc<IdGen>,
    pub clock: Arc<dyn Clock>,
    pub gateway: Arc<Gateway>,
    pub lateness: Arc<Lateness>,
    pub currency: String,
    /// Ticket search, unless turned off.
    pub search: Option<Arc<Search>>,
    /// The sync relay's state, when sync is on.
    pub sync: Option<Arc<SyncStatus>>,
}
