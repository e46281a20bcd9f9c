//! The sender of passes by email: an owned task that takes paid orders from the door store's
//! durable queue, emails each buyer the passes (a letter with the PDF attached) through the SMTP
//! relay, and only then takes the order off the queue.
//!
//! Invariants:
//! - an order leaves the queue only after the relay took its email, or when it is given up for a
//!   reason logged here (no relay configured, a kiosk guest without an address, refunded before
//!   it went, queued more than a day before a relay was there, or [`MAX_ATTEMPTS`] failures);
//! - so a crash between payment and sending loses nothing: the restarted node sends it; a crash
//!   after the relay took it but before the queue was told sends it again under the same
//!   Message-ID (the relay protocol has no way to ask whether it already has it);
//! - failures back off (a minute, doubling, at most an hour); the task sleeps until the next due
//!   delivery or the next commit, and stops with the node.

use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::{info, warn};

use tix_core::door::{Delivery, DoorStore};
use tix_core::orders::Order;
use tix_core::reactions::Service;
use tix_core::time::Millis;

use crate::actions::{self, ApiError};
use crate::mail::Letter;
use crate::pass_pdf;
use crate::state::AppState;

/// Failed attempts after which an email is given up.
pub const MAX_ATTEMPTS: u32 = 8;
/// A delivery queued longer ago than this when first tried is not sent (a relay configured later
/// does not email every past buyer).
const TOO_OLD_MS: u64 = 24 * 3_600_000;
const FIRST_RETRY: Duration = Duration::from_secs(60);
const LONGEST_RETRY: Duration = Duration::from_secs(3_600);
/// Looks at the queue at least this often, whatever wakes it.
const IDLE: Duration = Duration::from_secs(30);
const BATCH: usize = 16;

/// Starts the sender; it ends when `shutdown` turns true.
pub fn start(state: AppState, mut shutdown: watch::Receiver<bool>) -> JoinHandle<()> {
    let mut committed = state.signals.committed.subscribe();
    tokio::spawn(async move {
        // The first pass after a start tries every queued email, whatever its back-off said: the
        // relay may well have been mended while the node was down.
        let mut at_once = true;
        loop {
            if *shutdown.borrow() {
                return;
            }
            // Stopping may cut a send short: the order stays queued and goes after the restart.
            tokio::select! {
                _ = shutdown.changed() => return,
                sent = send_due(&state, std::mem::take(&mut at_once)) => {
                    if let Err(e) = sent {
                        warn!(error = ?e, "the passes' email queue could not be read or updated");
                    }
                }
            }
            let wait = match state.stores.door.next_delivery() {
                Ok(Some(next)) => {
                    let now = state.clock.now();
                    Duration::from_millis(next.0.saturating_sub(now.0)).min(IDLE)
                }
                _ => IDLE,
            };
            tokio::select! {
                _ = shutdown.changed() => {}
                _ = committed.changed() => {}
                _ = tokio::time::sleep(wait) => {}
            }
        }
    })
}

/// Sends every delivery due now (`all`: first every one queued, once each).
async fn send_due(state: &AppState, all: bool) -> Result<(), ApiError> {
    if all {
        let queued = state
            .stores
            .door
            .deliveries_due(state.clock.now(), usize::MAX, true)?;
        for batch in queued.chunks(BATCH) {
            send(state, batch).await?;
        }
    }
    loop {
        let due = state
            .stores
            .door
            .deliveries_due(state.clock.now(), BATCH, false)?;
        if due.is_empty() {
            return Ok(());
        }
        send(state, &due).await?;
    }
}

/// Sends `batch` and records the outcomes in one command.
async fn send(state: &AppState, batch: &[Delivery]) -> Result<(), ApiError> {
    let now = state.clock.now();
    let mut outcomes = Vec::with_capacity(batch.len());
    for delivery in batch {
        outcomes.push((delivery.order, attempt(state, delivery, now).await?));
    }
    state
        .writer
        .run(Service::Door, move |unit, _| {
            for (order, retry_at) in outcomes {
                match retry_at {
                    Some(next_at) => {
                        DoorStore::delivery_failed(unit, order, next_at)?;
                    }
                    None => DoorStore::delivery_done(unit, order)?,
                }
            }
            Ok::<(), redb::Error>(())
        })
        .await??;
    Ok(())
}

/// Tries one delivery: `None` when it is done (sent or given up), or when to try again.
async fn attempt(
    state: &AppState,
    delivery: &Delivery,
    now: Millis,
) -> Result<Option<Millis>, ApiError> {
    let order_id = delivery.order;
    let Some(mailer) = state.mailer.clone() else {
        return Ok(None);
    };
    if delivery.attempts == 0 && now.0.saturating_sub(delivery.queued_at.0) > TOO_OLD_MS {
        info!(order = %order_id, "not emailing passes of an order paid over a day ago");
        return Ok(None);
    }
    let Some(order) = state.stores.orders.get(order_id)? else {
        return Ok(None);
    };
    let to = match state.stores.auth.get(order.user_id)? {
        Some(buyer) if !tix_core::auth::is_guest_email(&buyer.email) => buyer.email,
        _ => return Ok(None),
    };
    let letter = letter(state, &order)?;
    if letter.pdf.is_none() {
        return Ok(None);
    }
    match mailer.deliver(order_id, &to, letter).await {
        Ok(()) => {
            info!(order = %order_id, "emailed the passes");
            Ok(None)
        }
        Err(e) if delivery.attempts + 1 >= MAX_ATTEMPTS => {
            warn!(order = %order_id, error = %e, attempts = delivery.attempts + 1, "gave up emailing the passes");
            Ok(None)
        }
        Err(e) => {
            let wait = FIRST_RETRY
                .saturating_mul(1 << delivery.attempts.min(6))
                .min(LONGEST_RETRY);
            warn!(order = %order_id, error = %e, retry_in = ?wait, "emailing the passes failed");
            Ok(Some(now.plus(wait)))
        }
    }
}

/// A paid order's passes as an email: what, when, where, each ticket's seat and number, and the
/// PDF (none attached once the order is refunded).
pub(crate) fn letter(state: &AppState, order: &Order) -> Result<Letter, ApiError> {
    let pages = actions::door::pages(state, order)?;
    let mut body = format!("Your tickets for {}\n", order.ticket.title);
    if let Some(first) = pages.first() {
        for line in [&first.when, &first.hall] {
            if !line.is_empty() {
                body.push_str(&format!("{line}\n"));
            }
        }
    }
    body.push_str(&format!("\nOrder number: {}\n\n", order.id));
    for page in &pages {
        if page.seat.is_empty() {
            body.push_str(&format!("Ticket number: {}\n", page.ticket_id));
        } else {
            body.push_str(&format!(
                "{} ({}): ticket number {}\n",
                page.seat, page.category, page.ticket_id
            ));
        }
    }
    body.push_str("\nThe passes are attached: show each one's code at the door.\n");
    let pdf = (!pages.is_empty()).then(|| {
        (
            format!("tickets-{}.pdf", order.id),
            pass_pdf::render(&pages),
        )
    });
    Ok(Letter {
        subject: format!("Your tickets: {}", order.ticket.title),
        body,
        pdf,
    })
}
