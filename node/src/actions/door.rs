//! Checking tickets in at the door: a code's signature checked here, then one command on the door
//! store decides and records the admission; and the passes of a paid order, signed when shown.

use tix_core::door::{DoorStore, Entry, NotNow, Scan, Verdict};
use tix_core::ids::{OrderId, ShowId, TicketId, UserId};
use tix_core::orders::Order;
use tix_core::passes::{Pass, PassError, Window};
use tix_core::reactions::Service;
use tix_core::time::Millis;

use super::error::ApiError;
use crate::pass_pdf::PassPage;
use crate::state::AppState;
use crate::stores::Stores;

/// A scan as the door's request gives it, checked for form.
#[derive(Debug, Clone)]
pub(crate) struct CheckIn {
    pub(crate) code: String,
    pub(crate) gate: String,
    pub(crate) for_show: Option<ShowId>,
    pub(crate) scan_id: Option<String>,
    /// When an offline scanner let the holder in; `None` for a scan decided now.
    pub(crate) scanned_at: Option<Millis>,
    /// A scan out (at a show with re-entry).
    pub(crate) exit: bool,
}

/// What the door says of a code.
#[derive(Debug, Clone)]
pub(crate) enum Outcome {
    /// Not a pass of this node: made up, altered, cut short or another venue's.
    Forged(PassError),
    Decided {
        pass: Pass,
        verdict: Verdict,
    },
}

/// Checks `request`'s code and lets the door store decide; `by` is the door staff scanning.
pub(crate) async fn check_in(
    state: &AppState,
    by: UserId,
    request: CheckIn,
) -> Result<Outcome, ApiError> {
    let pass = match state.pass_key.verifier().verify(&request.code) {
        Ok(pass) => pass,
        Err(forged) => return Ok(Outcome::Forged(forged)),
    };
    // Most refusals are final (an admitted ticket stays admitted): a read answers them, and only
    // admissions and offline reports queue for the writer.
    let now = state.clock.now();
    let read = Scan {
        pass,
        gate: String::new(),
        by,
        at: request.scanned_at.unwrap_or(now),
        offline: request.scanned_at.is_some(),
        scan_id: request.scan_id.clone(),
        for_show: request.for_show,
        exit: request.exit,
    };
    if let Some(verdict) = state.stores.door.decide_now(&read)? {
        return Ok(Outcome::Decided { pass, verdict });
    }
    let verdict = state
        .writer
        .run(Service::Door, move |unit, context| {
            let scan = Scan {
                pass,
                gate: request.gate,
                by,
                at: request.scanned_at.unwrap_or(context.now),
                offline: request.scanned_at.is_some(),
                scan_id: request.scan_id,
                for_show: request.for_show,
                exit: request.exit,
            };
            DoorStore::scan(unit, scan, context.now)
        })
        .await??;
    Ok(Outcome::Decided { pass, verdict })
}

/// The codes of `order`'s tickets that may be used: none before it is paid, none once refunded.
pub(crate) fn passes(
    state: &AppState,
    order: OrderId,
) -> Result<Vec<(TicketId, String)>, ApiError> {
    Ok(valid_entries(&state.stores, order)?
        .into_iter()
        .map(|(ticket, pass)| (ticket, state.pass_key.sign(&pass)))
        .collect())
}

/// The passes of `order`'s tickets that may be used, unsigned.
pub(crate) fn valid_entries(
    stores: &Stores,
    order: OrderId,
) -> Result<Vec<(TicketId, Pass)>, ApiError> {
    let entries = stores.door.order_entries(order)?;
    let show = match entries.first().and_then(|(_, e)| e.show) {
        Some(show) => stores.door.show(show)?,
        None => None,
    };
    Ok(entries
        .into_iter()
        .filter(|(_, entry): &(TicketId, Entry)| !entry.refunded)
        .map(|(ticket, entry)| (ticket, entry.pass(ticket, show.as_ref())))
        .collect())
}

/// A paid order's passes as their pages show them: the show (or listing) with its time and
/// hall, each ticket's seat and category, and the signed code.
pub(crate) fn pages(state: &AppState, order: &Order) -> Result<Vec<PassPage>, ApiError> {
    let codes = passes(state, order.id)?;
    let lines = super::shows::seat_lines(&state.stores, order);
    let show = match &order.show {
        Some(part) => state.stores.shows.get(part.id)?,
        None => None,
    };
    let (when, hall) = match &show {
        Some(show) => (show.starts_at().readable(), show.details.hall.clone()),
        None => (String::new(), String::new()),
    };
    Ok(codes
        .into_iter()
        .map(|(ticket, code)| {
            let line = lines.iter().find(|l| l.id == ticket);
            PassPage {
                title: order.ticket.title.clone(),
                when: when.clone(),
                hall: hall.clone(),
                seat: line.map(|l| l.seat.clone()).unwrap_or_default(),
                category: line.map(|l| l.category.clone()).unwrap_or_default(),
                order_id: order.id.to_string(),
                ticket_id: ticket.to_string(),
                code,
            }
        })
        .collect())
}

/// The pinned name of an outcome (`admitted`, `already-admitted`, `refunded`, `wrong-show`,
/// `not-valid-now`, `forged`) and the sentence a door screen shows for it.
pub(crate) fn words(outcome: &Outcome) -> (&'static str, String) {
    match outcome {
        Outcome::Forged(why) => ("forged", format!("Not a valid pass of this venue: {why}")),
        Outcome::Decided { verdict, .. } => verdict_words(verdict),
    }
}

pub(crate) fn verdict_words(verdict: &Verdict) -> (&'static str, String) {
    match verdict {
        Verdict::Admitted(_) => ("admitted", "Admitted".to_owned()),
        Verdict::AlreadyAdmitted { first, .. } => (
            "already-admitted",
            format!(
                "Already admitted at {} at gate {}",
                clock_time(first.at),
                first.gate
            ),
        ),
        Verdict::Refunded { .. } => (
            "refunded",
            "Refunded: this ticket's money was given back".into(),
        ),
        Verdict::WrongShow { .. } => ("wrong-show", "Not for this show".into()),
        Verdict::NotValidNow { why, window } => ("not-valid-now", not_now(*why, window)),
        Verdict::Unknown => (
            "not-valid-now",
            "No sale of this ticket is on record at this venue".into(),
        ),
        Verdict::Exited { already: false, .. } => ("exited", "Out: may come back in".into()),
        Verdict::Exited { already: true, .. } => ("exited", "Already out".into()),
        Verdict::Readmitted { .. } => ("admitted", "Admitted again (re-entry)".into()),
        Verdict::NoReentry => ("not-valid-now", "No re-entry at this show".into()),
        Verdict::NotInside => (
            "not-valid-now",
            "Not admitted yet: nothing to scan out".into(),
        ),
    }
}

fn not_now(why: NotNow, window: &Window) -> String {
    match why {
        NotNow::Early => format!("Not valid yet: from {}", window.from.readable()),
        NotNow::Late => format!(
            "No longer valid: ended {}",
            window.until.map(Millis::readable).unwrap_or_default()
        ),
        NotNow::Cancelled => "The show is cancelled".into(),
    }
}

/// `HH:MM:SS UTC` of a moment.
fn clock_time(at: Millis) -> String {
    let iso = at.to_iso();
    format!("{} UTC", iso.get(11..19).unwrap_or(&iso))
}

/// The ticket a pass is for, as a door screen names it: show and seat, or the listing's title.
pub(crate) fn seat_of(stores: &Stores, pass: &Pass) -> String {
    let tix_core::passes::Scope::Show { show, unit } = pass.scope else {
        return String::new();
    };
    match stores.shows.get(show) {
        Ok(Some(show)) => {
            let seat = stores.shows.unit_label(&show, unit).unwrap_or_default();
            format!("{} · {seat}", show.details.title)
        }
        _ => String::new(),
    }
}
