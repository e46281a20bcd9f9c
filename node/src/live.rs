//! Live updates: the node's committed events, turned into the small notices that open storefront
//! pages follow (a ticket listed, edited, locked, released or sold; an order paid or cancelled; the
//! seats of a show held, released or sold).
//!
//! One task owns the feed: it wakes on every commit, reads the new events from the outboxes in
//! sequence order (as the relay and the search indexer do, each at its own pace) and broadcasts
//! what each read tells (`Told`). Subscribers that fall more than `CAPACITY` reads behind are told
//! to resync rather than slowing the feed down.
//!
//! The feed costs the node CPU beside every sale, and every open page multiplies it, so it reads
//! no more than it tells (nothing while no page is open, and otherwise each record a batch of
//! events names once, from one read of its store) and writes each read's notices once, as the
//! server-sent events every page is sent in one piece.

use std::collections::{HashMap, HashSet};
use std::hash::Hash;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use serde::Serialize;
use tokio::sync::{broadcast, watch};
use tokio::task::JoinHandle;
use tracing::warn;

use tix_core::events::{DomainEvent, OrderStatus, StoredEvent};
use tix_core::ids::{OrderId, ShowId, TicketId, UserId};
use tix_core::orders::Order;
use tix_core::shows::Show;
use tix_core::tickets::Ticket;

use crate::stores::Stores;
use crate::writer::WriterSignals;

#[cfg(test)]
mod tests;

/// Reads of the outboxes (each told as one `Told`, of at most `BATCH` events) a subscriber may
/// fall behind by before it is told to resync. Under a rush a read is about one writer batch, so
/// this is a couple of seconds of sales; it also bounds what a lagging page keeps in memory.
const CAPACITY: usize = 256;
/// Events read from the outboxes at a time.
const BATCH: usize = 1024;
/// Least time between two reads: what a notice may wait so that every open page is woken and
/// written to once for all the changes of that time, not once per writer batch.
const PACE: Duration = Duration::from_millis(50);

/// Where a ticket stands, as a buyer sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TicketState {
    Available,
    Reserved,
    Sold,
}

impl TicketState {
    /// The state of `ticket`, given the status of the order holding it (if any).
    pub fn of(ticket: &Ticket, holder: Option<OrderStatus>) -> TicketState {
        match (ticket.order_id, holder) {
            (None, _) => TicketState::Available,
            (Some(_), Some(OrderStatus::Complete)) => TicketState::Sold,
            (Some(_), _) => TicketState::Reserved,
        }
    }

    /// The state of `ticket` now, looking up the order that holds it.
    pub fn read(stores: &Stores, ticket: &Ticket) -> Result<TicketState, redb::Error> {
        let holder = match ticket.order_id {
            Some(order) => stores.orders.get(order)?.map(|o| o.status),
            None => None,
        };
        Ok(TicketState::of(ticket, holder))
    }

    pub fn label(self) -> &'static str {
        match self {
            TicketState::Available => "Available",
            TicketState::Reserved => "Reserved",
            TicketState::Sold => "Sold",
        }
    }
}

/// One notice. Ticket notices are public; an order notice goes only to the order's buyer.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Notice {
    #[serde(rename_all = "camelCase")]
    Ticket {
        id: TicketId,
        title: String,
        price: f64,
        state: TicketState,
        version: u64,
        /// The ticket was just listed (rather than changed).
        listed: bool,
    },
    Order {
        id: OrderId,
        #[serde(skip)]
        buyer: UserId,
        status: OrderStatus,
        ticket: TicketId,
    },
    /// Units of a show changed state, or the show changed (then `seats` is empty): every change
    /// of the show one read of the feed found, in order. Public: a seat map at version `from` or
    /// later applies `seats` and is at `version`; one at an older version missed changes and
    /// fetches the map again.
    Seats {
        show: ShowId,
        /// The seat map's version this notice follows on from: the `version` of the feed's last
        /// notice of the show (see `one_seat_notice_per_show` for the first one).
        from: u64,
        /// The seat map's version after the changes (what its `ETag` carries).
        version: u64,
        /// The units that changed, each with its state now: `a` available, `h` held, `s` sold.
        seats: Vec<(TicketId, &'static str)>,
        /// Tickets available now, per category, in the show's order.
        available: Vec<u32>,
        /// Tickets held by unpaid orders now, per category.
        held: Vec<u32>,
        /// Tickets sold now, per category.
        sold: Vec<u32>,
    },
}

impl Notice {
    /// The name of the server-sent event that carries this notice.
    pub fn event(&self) -> &'static str {
        match self {
            Notice::Ticket { .. } => "ticket",
            Notice::Order { .. } => "order",
            Notice::Seats { .. } => "seats",
        }
    }

    /// Who hears this notice: its buyer alone for an order's, `None` (every page) otherwise.
    fn audience(&self) -> Option<UserId> {
        match self {
            Notice::Order { buyer, .. } => Some(*buyer),
            Notice::Ticket { .. } | Notice::Seats { .. } => None,
        }
    }
}

/// What one read of the outboxes tells the open pages: its notices in order, each written once as
/// a server-sent event for all of them, and sent as one piece of text per page rather than one
/// write per notice and page.
pub struct Told {
    /// Every notice's event, one after the other.
    text: Bytes,
    /// Per notice: who hears it (see `Notice::audience`) and where its event ends in `text`.
    ends: Vec<(Option<UserId>, usize)>,
    /// The events every page hears, in order: what a page is sent when no order notice of the
    /// batch is its own.
    public: Bytes,
}

impl Told {
    /// Writes `notices` as server-sent events (`event:` line, `data:` line with the JSON, blank
    /// line). A notice that cannot be written as JSON is left out, with a warning.
    pub fn new(notices: &[Notice]) -> Told {
        let mut text = Vec::with_capacity(notices.len() * 160);
        let mut ends = Vec::with_capacity(notices.len());
        for notice in notices {
            let start = text.len();
            text.extend_from_slice(b"event: ");
            text.extend_from_slice(notice.event().as_bytes());
            text.extend_from_slice(b"\ndata: ");
            if let Err(e) = serde_json::to_writer(&mut text, &notice) {
                warn!(error = %e, "a live notice could not be written as JSON");
                text.truncate(start);
                continue;
            }
            text.extend_from_slice(b"\n\n");
            ends.push((notice.audience(), text.len()));
        }
        let text = Bytes::from(text);
        let mut told = Told {
            public: text.clone(),
            text,
            ends,
        };
        if told.ends.iter().any(|(audience, _)| audience.is_some()) {
            told.public = told.picked(|audience| audience.is_none());
        }
        told
    }

    /// What the page of `viewer` (signed in or not) hears of this batch; empty when nothing.
    pub fn for_page(&self, viewer: Option<UserId>) -> Bytes {
        let own = |audience: Option<UserId>| audience.is_some() && audience == viewer;
        // A signed-out page has no notices of its own.
        if viewer.is_none() || !self.ends.iter().any(|(audience, _)| own(*audience)) {
            return self.public.clone();
        }
        self.picked(|audience| audience.is_none() || own(audience))
    }

    /// The events of the notices whose audience `hears`, in order.
    fn picked(&self, hears: impl Fn(Option<UserId>) -> bool) -> Bytes {
        let mut out = Vec::with_capacity(self.text.len());
        let mut start = 0;
        for (audience, end) in &self.ends {
            if hears(*audience) {
                out.extend_from_slice(&self.text[start..*end]);
            }
            start = *end;
        }
        Bytes::from(out)
    }
}

/// The feed's subscription point, shared by every live connection.
pub struct Live {
    told: broadcast::Sender<Arc<Told>>,
    /// Turns true when the HTTP server starts its graceful stop, so open streams end.
    closing: watch::Receiver<bool>,
}

impl Live {
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Told>> {
        self.told.subscribe()
    }

    pub fn closing(&self) -> watch::Receiver<bool> {
        self.closing.clone()
    }
}

/// Starts the feed at the node's current last event. The task ends when `shutdown` turns true.
pub fn start(
    stores: Arc<Stores>,
    signals: &WriterSignals,
    closing: watch::Receiver<bool>,
    shutdown: watch::Receiver<bool>,
) -> Result<(Arc<Live>, JoinHandle<()>), redb::Error> {
    let (told, _) = broadcast::channel(CAPACITY);
    let live = Arc::new(Live {
        told: told.clone(),
        closing,
    });
    let cursor = stores.last_seq()?;
    let committed = signals.committed.subscribe();
    let task = tokio::spawn(feed(stores, told, cursor, committed, shutdown));
    Ok((live, task))
}

async fn feed(
    stores: Arc<Stores>,
    told: broadcast::Sender<Arc<Told>>,
    cursor: u64,
    mut committed: watch::Receiver<u64>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut position = Position::at(cursor);
    loop {
        tokio::select! {
            changed = committed.changed() => if changed.is_err() { return },
            _ = shutdown.changed() => return,
        }
        if told.receiver_count() == 0 {
            // Nobody has a page open: what the notices would say goes to nobody, so nothing is
            // read. A page that subscribes later hears of what commits after that, as before
            // (notices made before it subscribed never reached it).
            position.skip_to(*committed.borrow());
            continue;
        }
        let read = {
            let stores = stores.clone();
            let mut next = position.clone();
            tokio::task::spawn_blocking(move || {
                let reads = catch_up(&stores, &mut next)?;
                let told: Vec<Told> = reads
                    .into_iter()
                    .filter(|notices| !notices.is_empty())
                    .map(|notices| Told::new(&notices))
                    .collect();
                Ok::<_, redb::Error>((next, told))
            })
            .await
        };
        match read {
            Ok(Ok((next, reads))) => {
                position = next;
                for read in reads {
                    // Every page may have closed since: not an error.
                    let _ = told.send(Arc::new(read));
                }
            }
            Ok(Err(e)) => warn!(error = %e, "live updates could not read the outboxes"),
            Err(e) => warn!(error = %e, "live updates reader failed"),
        }
        // Under a rush, pages are sent the sales of a `PACE` in one piece rather than a piece
        // per writer batch; the first change after a quiet spell still goes out at once.
        tokio::select! {
            _ = tokio::time::sleep(PACE) => {}
            _ = shutdown.changed() => return,
        }
    }
}

/// Where the feed stands: the last event it read, and per show the seat map version its last
/// notice of the show told (what the show's next notice follows on from).
#[derive(Debug, Clone)]
struct Position {
    cursor: u64,
    told_versions: HashMap<ShowId, u64>,
}

impl Position {
    fn at(cursor: u64) -> Position {
        Position {
            cursor,
            told_versions: HashMap::new(),
        }
    }

    /// Moves past events nobody was told of: no notice follows on from an earlier one any more.
    fn skip_to(&mut self, seq: u64) {
        if seq > self.cursor {
            self.cursor = seq;
            self.told_versions.clear();
        }
    }
}

/// Reads every event after the position's; returns the notices they make, one list per read of at
/// most `BATCH` events, each show's seat notices of a read made one (see `Notice::Seats`).
fn catch_up(stores: &Stores, position: &mut Position) -> Result<Vec<Vec<Notice>>, redb::Error> {
    // Events the hub has acknowledged may be pruned before this feed saw them (a long stall);
    // they are gone, and pages resync on their own when they reconnect.
    position.skip_to(stores.pruned_through()?);
    let mut reads = Vec::new();
    loop {
        let events = stores.events_after(position.cursor, BATCH)?;
        let Some(last) = events.last() else {
            return Ok(reads);
        };
        position.cursor = last.seq;
        let records = Records::read(stores, &events)?;
        let mut notices = Vec::new();
        for event in &events {
            notices_of(&records, event, &mut notices);
        }
        reads.push(one_seat_notice_per_show(
            notices,
            &mut position.told_versions,
        ));
    }
}

/// Makes the seat notices of each show one, where the first was, with every unit they name in
/// order, and says which version it follows on from: the version last told of the show, or, when
/// none was told since the feed last started following, the version less the changes of units in
/// the read (each one moved the seat map's version on by one); records the version now told.
fn one_seat_notice_per_show(
    notices: Vec<Notice>,
    told_versions: &mut HashMap<ShowId, u64>,
) -> Vec<Notice> {
    let mut out: Vec<Notice> = Vec::with_capacity(notices.len());
    // Per show: where its notice is, and how many changes of units it holds.
    let mut place: HashMap<ShowId, (usize, u64)> = HashMap::new();
    for notice in notices {
        let Notice::Seats { show, seats, .. } = &notice else {
            out.push(notice);
            continue;
        };
        let changes = u64::from(!seats.is_empty());
        match place.get_mut(show) {
            Some((at, count)) => {
                *count += changes;
                // Built from the same record, the notices of a read differ only in their units.
                if let Notice::Seats { seats: all, .. } = &mut out[*at] {
                    all.extend(seats.iter().copied());
                }
            }
            None => {
                place.insert(*show, (out.len(), changes));
                out.push(notice);
            }
        }
    }
    for (show, (at, changes)) in place {
        if let Notice::Seats { from, version, .. } = &mut out[at] {
            *from = match told_versions.get(&show) {
                Some(told) => *told,
                None => version.saturating_sub(changes),
            };
            told_versions.insert(show, *version);
        }
    }
    out
}

/// The records a batch of events tells of, each read once, from one read of its store: a page
/// wants them as they stand now, not as each event left them.
#[derive(Default)]
struct Records {
    tickets: HashMap<TicketId, Ticket>,
    orders: HashMap<OrderId, Order>,
    shows: HashMap<ShowId, Show>,
}

impl Records {
    fn read(stores: &Stores, events: &[StoredEvent]) -> Result<Records, redb::Error> {
        let mut records = Records::default();
        let tickets = distinct(events.iter().filter_map(ticket_of));
        for ticket in stores.tickets.get_many(&tickets)?.into_iter().flatten() {
            records.tickets.insert(ticket.id, ticket);
        }
        // The orders the events name, and those holding the tickets (a ticket's state).
        let holders = records.tickets.values().filter_map(|t| t.order_id);
        let orders = distinct(events.iter().filter_map(order_of).chain(holders));
        for order in stores.orders.get_many(&orders)?.into_iter().flatten() {
            records.orders.insert(order.id, order);
        }
        for id in distinct(events.iter().filter_map(show_of)) {
            if let Some(show) = stores.shows.get(id)? {
                records.shows.insert(id, show);
            }
        }
        Ok(records)
    }
}

/// Each id once, in no particular order.
fn distinct<T: Eq + Hash>(ids: impl Iterator<Item = T>) -> Vec<T> {
    ids.collect::<HashSet<T>>().into_iter().collect()
}

/// The ticket whose notice `event` makes.
fn ticket_of(event: &StoredEvent) -> Option<TicketId> {
    match &event.event {
        DomainEvent::TicketCreated(e) | DomainEvent::TicketUpdated(e) => Some(e.id),
        // A sale changes no ticket record (the order goes on holding it), so it is announced here.
        DomainEvent::OrderCompleted(e) => Some(e.ticket.id),
        _ => None,
    }
}

/// The order whose notice `event` makes.
fn order_of(event: &StoredEvent) -> Option<OrderId> {
    match &event.event {
        DomainEvent::OrderCreated(e) => Some(e.id),
        DomainEvent::OrderCancelled(e) => Some(e.id),
        DomainEvent::OrderCompleted(e) => Some(e.id),
        _ => None,
    }
}

/// The show whose seat notice `event` makes.
fn show_of(event: &StoredEvent) -> Option<ShowId> {
    match &event.event {
        DomainEvent::OrderCreated(e) => e.show.as_ref().map(|p| p.id),
        DomainEvent::OrderCancelled(e) => e.show.as_ref().map(|p| p.id),
        DomainEvent::OrderCompleted(e) => e.show.as_ref().map(|p| p.id),
        DomainEvent::ShowUpdated(e) => Some(e.id),
        _ => None,
    }
}

/// The notices `event` makes, from `records`.
fn notices_of(records: &Records, event: &StoredEvent, out: &mut Vec<Notice>) {
    if let Some(ticket) = ticket_of(event).and_then(|id| records.tickets.get(&id)) {
        let holder = ticket
            .order_id
            .and_then(|id| records.orders.get(&id))
            .map(|order| order.status);
        out.push(Notice::Ticket {
            id: ticket.id,
            title: ticket.title.clone(),
            price: ticket.price,
            state: TicketState::of(ticket, holder),
            version: ticket.version,
            listed: matches!(event.event, DomainEvent::TicketCreated(_)),
        });
    }
    if let Some(notice) = seats_notice(records, event) {
        out.push(notice);
    }
    if let Some(order) = order_of(event).and_then(|id| records.orders.get(&id)) {
        out.push(Notice::Order {
            id: order.id,
            buyer: order.user_id,
            status: order.status,
            ticket: order.ticket.id,
        });
    }
}

/// The seat notice of an event of a show's order, or of a change of the show.
fn seats_notice(records: &Records, event: &StoredEvent) -> Option<Notice> {
    let (part, state) = match &event.event {
        DomainEvent::OrderCreated(e) => (e.show.as_ref(), "h"),
        DomainEvent::OrderCancelled(e) => (e.show.as_ref(), "a"),
        DomainEvent::OrderCompleted(e) => (e.show.as_ref(), "s"),
        DomainEvent::ShowUpdated(_) => (None, "a"),
        _ => return None,
    };
    let show = records.shows.get(&show_of(event)?)?;
    let seats = part
        .map(|p| p.tickets.iter().map(|t| (t.id, state)).collect())
        .unwrap_or_default();
    Some(Notice::Seats {
        show: show.id,
        from: show.seats_version,
        version: show.seats_version,
        seats,
        available: show.categories.iter().map(|c| c.available()).collect(),
        held: show.categories.iter().map(|c| c.held).collect(),
        sold: show.categories.iter().map(|c| c.sold).collect(),
    })
}
