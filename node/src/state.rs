//! What every request handler shares: stores for reads, the writer for changes, and the services
//! around them.

use std::sync::Arc;

use crate::admission::Admission;
use crate::attempts::Attempts;
use crate::checkout::Checkout;
use crate::clock::Clock;
use crate::gateway::Gateway;
use crate::ids::IdGen;
use crate::live::Live;
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
    /// How often signing in and up may be tried, per client address and per account.
    pub attempts: Arc<Attempts>,
    pub ids: Arc<IdGen>,
    pub clock: Arc<dyn Clock>,
    pub gateway: Arc<Gateway>,
    /// Card payments and refunds (and their reconciler's work).
    pub checkout: Arc<Checkout>,
    pub lateness: Arc<Lateness>,
    pub currency: String,
    /// Ticket search, unless turned off.
    pub search: Option<Arc<Search>>,
    /// The sync relay's state, when sync is on.
    pub sync: Option<Arc<SyncStatus>>,
    /// Live updates for open pages.
    pub live: Arc<Live>,
    /// Open `/live` streams, capped per client address and in total.
    pub live_streams: Admission,
    /// How the storefront presents itself.
    pub storefront: Arc<Storefront>,
    /// Most unpaid orders one (non-staff) account may hold; 0 for no cap.
    pub max_open_orders: usize,
    /// A standalone box office: the first account to sign up is staff.
    pub first_user_is_staff: bool,
    /// Signs the passes of sold tickets and checks them at the door.
    pub pass_key: Arc<tix_core::passes::PassKey>,
    /// Emails a paid order's tickets, when an SMTP relay is configured.
    pub mailer: Option<Arc<crate::mail::Mailer>>,
    /// Password reset codes, under a key derived from the session secret.
    pub reset_codes: Arc<crate::reset_code::ResetCodes>,
    /// What `/metrics` shows.
    pub metrics: Arc<crate::metrics::Metrics>,
}

/// The storefront's settings.
#[derive(Debug, Clone, Default)]
pub struct Storefront {
    /// A foyer kiosk: only the buying pages, large targets, an idle return to the start.
    pub kiosk: bool,
    pub kiosk_idle: std::time::Duration,
    /// How long an order holds its ticket, as the ticket page tells the buyer.
    pub lock_ttl: std::time::Duration,
    /// With a live Stripe gateway, the key its card element needs in the browser.
    pub stripe_publishable_key: Option<String>,
}
