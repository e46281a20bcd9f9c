//! The shows service's redb store: shows, their seat maps as given (row by row), the state of
//! every unit an order holds or bought, and the paid orders of each show.

mod restore;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};

use super::draft::{EditPlan, Problem};
use super::layout::map_rows;
use super::{CategoryCounts, Error, PaidOrder, Show, ShowPlan, ShowStatus};
use crate::events::{
    DomainEvent, SeatRow, ShowCreated, ShowPart, ShowSeats, ShowUpdated, StoredEvent,
};
use crate::ids::{OrderId, ShowId};
use crate::outbox::{self, Unit};
use crate::record::{decode, encode};
use crate::time::Millis;

const SHOWS: TableDefinition<'_, &[u8], &[u8]> = TableDefinition::new("shows");
/// Big-endian start ++ show id → nothing: shows in the order they start.
const BY_START: TableDefinition<'_, &[u8], ()> = TableDefinition::new("shows_by_start");
/// Show id ++ big-endian row number → the row (`MapRow`), given and generated alike.
const ROWS: TableDefinition<'_, &[u8], &[u8]> = TableDefinition::new("show_rows");
/// Show id ++ big-endian index of a row's first unit → the row number.
const ROW_BY_UNIT: TableDefinition<'_, &[u8], u32> = TableDefinition::new("show_row_by_unit");
/// Show id ++ big-endian unit index → state byte ++ the order's id, for units held or sold.
const STATES: TableDefinition<'_, &[u8], &[u8]> = TableDefinition::new("show_unit_states");
/// Show id ++ order id → `PaidOrder`.
const PAID: TableDefinition<'_, &[u8], &[u8]> = TableDefinition::new("show_paid_orders");

/// At most this much seat-map JSON goes into one `show:seats` event, well below the broker's
/// message size limit (256 KiB) once wrapped in its envelope.
const SEATS_EVENT_BYTES: usize = 96 * 1024;

/// What an order did to a unit, as the seat map shows it; a unit with no state is available.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnitState {
    Held,
    Sold,
}

/// A row of the seat map with the index of its first unit.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MapRow {
    pub first_unit: u32,
    pub row: SeatRow,
}

/// A show's seat map with the state of each unit held or sold.
pub struct SeatMap {
    pub show: Show,
    pub rows: Arc<Vec<MapRow>>,
    pub taken: BTreeMap<u32, UnitState>,
}

/// How many shows' rows are kept decoded.
const CACHED_MAPS: usize = 16;

pub struct ShowsStore {
    db: Database,
    /// The decoded rows of the shows whose maps were read last. A show's rows never change once
    /// written (edits change details and prices, never seats), so a copy is never stale; the
    /// cache is emptied when full.
    rows: Mutex<HashMap<ShowId, Arc<Vec<MapRow>>>>,
}

impl ShowsStore {
    pub fn from_database(db: Database) -> Result<ShowsStore, redb::Error> {
        outbox::init(&db)?;
        let txn = outbox::write_txn(&db)?;
        txn.open_table(SHOWS)?;
        txn.open_table(BY_START)?;
        txn.open_table(ROWS)?;
        txn.open_table(ROW_BY_UNIT)?;
        txn.open_table(STATES)?;
        txn.open_table(PAID)?;
        txn.commit()?;
        Ok(ShowsStore {
            db,
            rows: Mutex::new(HashMap::new()),
        })
    }

    pub fn db(&self) -> &Database {
        &self.db
    }

    pub fn get(&self, id: ShowId) -> Result<Option<Show>, redb::Error> {
        let txn = self.db.begin_read()?;
        let shows = txn.open_table(SHOWS)?;
        let show = shows.get(id.as_bytes().as_slice())?;
        show.map(|s| decode(s.value())).transpose()
    }

    /// Up to `limit` shows starting in `from..to`, soonest first.
    pub fn list(&self, from: Millis, to: Millis, limit: usize) -> Result<Vec<Show>, redb::Error> {
        let txn = self.db.begin_read()?;
        let by_start = txn.open_table(BY_START)?;
        let shows = txn.open_table(SHOWS)?;
        let (start, end) = (from.0.to_be_bytes(), to.0.to_be_bytes());
        let mut list = Vec::new();
        for entry in by_start
            .range(start.as_slice()..end.as_slice())?
            .take(limit)
        {
            let (key, _) = entry?;
            if let Some(show) = shows.get(&key.value()[8..])? {
                list.push(decode(show.value())?);
            }
        }
        Ok(list)
    }

    /// The seat map of a show and the state of its units, from one snapshot.
    pub fn seat_map(&self, id: ShowId) -> Result<Option<SeatMap>, redb::Error> {
        let txn = self.db.begin_read()?;
        let Some(show) = txn
            .open_table(SHOWS)?
            .get(id.as_bytes().as_slice())?
            .map(|s| decode::<Show>(s.value()))
            .transpose()?
        else {
            return Ok(None);
        };
        let (start, end) = (show_key(id, 0), show_key(id, u32::MAX));
        let cached = self
            .rows
            .lock()
            .ok()
            .and_then(|rows| rows.get(&id).cloned());
        let rows = match cached {
            Some(rows) => rows,
            None => {
                let mut rows = Vec::new();
                for entry in txn
                    .open_table(ROWS)?
                    .range(start.as_slice()..=end.as_slice())?
                {
                    rows.push(decode(entry?.1.value())?);
                }
                let rows = Arc::new(rows);
                if let Ok(mut cache) = self.rows.lock() {
                    if cache.len() >= CACHED_MAPS {
                        cache.clear();
                    }
                    cache.insert(id, Arc::clone(&rows));
                }
                rows
            }
        };
        let mut taken = BTreeMap::new();
        for entry in txn
            .open_table(STATES)?
            .range(start.as_slice()..=end.as_slice())?
        {
            let (key, value) = entry?;
            taken.insert(unit_of(key.value()), state_of(value.value()));
        }
        Ok(Some(SeatMap { show, rows, taken }))
    }

    /// How a unit is shown to a buyer: the area's name, or section, row and seat.
    pub fn unit_label(&self, show: &Show, index: u32) -> Result<String, redb::Error> {
        if let Some(area) = show.layout().area_of(index) {
            return Ok(area.name.clone());
        }
        let txn = self.db.begin_read()?;
        let row_number = txn
            .open_table(ROW_BY_UNIT)?
            .range(show_key(show.id, 0).as_slice()..=show_key(show.id, index).as_slice())?
            .next_back()
            .transpose()?
            .map(|(_, row)| row.value());
        let Some(row_number) = row_number else {
            return Ok(String::new());
        };
        let row: Option<MapRow> = txn
            .open_table(ROWS)?
            .get(show_key(show.id, row_number).as_slice())?
            .map(|r| decode(r.value()))
            .transpose()?;
        Ok(row
            .and_then(|r| {
                let seat = r.row.seats.get((index - r.first_unit) as usize)?;
                Some(format!(
                    "{} row {} seat {}",
                    r.row.section, r.row.name, seat.name
                ))
            })
            .unwrap_or_default())
    }

    /// The paid orders of a show (refunded ones included: a refund leaves the tickets sold).
    pub fn paid_orders(&self, id: ShowId) -> Result<Vec<PaidOrder>, redb::Error> {
        let txn = self.db.begin_read()?;
        let paid = txn.open_table(PAID)?;
        let (start, end) = (order_key(id, &[0; 12]), order_key(id, &[0xff; 12]));
        paid.range(start.as_slice()..=end.as_slice())?
            .map(|entry| decode(entry?.1.value()))
            .collect()
    }

    /// Puts a checked show in the store, emitting `show:created` and the given rows in
    /// `show:seats` events. The id's counter block must be reserved for its units.
    pub fn create(unit: &mut Unit, id: ShowId, plan: ShowPlan, now: Millis) -> Result<Show, Error> {
        let mut shows = unit.txn().open_table(SHOWS)?;
        if shows.get(id.as_bytes().as_slice())?.is_some() {
            return Err(Error::Store(redb::Error::Corrupted(format!(
                "show id {id} minted twice"
            ))));
        }
        let categories: Vec<CategoryCounts> = plan
            .categories
            .iter()
            .zip(plan.capacities())
            .map(|(c, capacity)| CategoryCounts {
                name: c.name.clone(),
                price: c.price,
                capacity,
                held: 0,
                sold: 0,
            })
            .collect();
        let show = Show {
            id,
            version: 0,
            details: plan.details.clone(),
            status: plan.status,
            max_per_order: plan.max_per_order,
            categories,
            areas: plan.areas.clone(),
            generate: plan.generate.clone(),
            given_rows: plan.given.len() as u32,
            units: plan.units,
            seats_version: 0,
            created_at: now,
        };
        shows.insert(id.as_bytes().as_slice(), encode(&show).as_slice())?;
        drop(shows);
        unit.txn()
            .open_table(BY_START)?
            .insert(start_key(show.starts_at(), id).as_slice(), ())?;
        let layout = show.layout();
        let map_rows = map_rows(&layout, &plan.given, &plan.generate);
        {
            let mut rows = unit.txn().open_table(ROWS)?;
            let mut by_unit = unit.txn().open_table(ROW_BY_UNIT)?;
            for (number, first_unit, row) in map_rows {
                let map_row = MapRow { first_unit, row };
                rows.insert(show_key(id, number).as_slice(), encode(&map_row).as_slice())?;
                by_unit.insert(show_key(id, first_unit).as_slice(), number)?;
            }
        }
        unit.emit(DomainEvent::ShowCreated(ShowCreated {
            id,
            version: show.version,
            details: show.details.clone(),
            status: show.status,
            max_per_order: show.max_per_order,
            categories: plan.categories.clone(),
            areas: plan.areas,
            generate: plan.generate,
            given_rows: show.given_rows,
            units: show.units,
        }));
        for event in seats_events(id, layout.area_units(), plan.given) {
            unit.emit(DomainEvent::ShowSeats(event));
        }
        Ok(show)
    }

    /// Changes a show's details, maximum per order or prices (only of categories with nothing
    /// held or sold); refused for a cancelled show.
    pub fn edit(unit: &mut Unit, id: ShowId, edit: EditPlan) -> Result<Show, Error> {
        let mut show = load(unit, id)?;
        if show.status == ShowStatus::Cancelled {
            return Err(Error::Cancelled);
        }
        let mut problems = Vec::new();
        for (name, price) in &edit.prices {
            match show.categories.iter_mut().find(|c| &c.name == name) {
                None => problems.push(Problem {
                    field: "categories".into(),
                    message: format!("names no category of the show: {name:?}"),
                }),
                Some(c) if c.price == *price => {}
                Some(c) if c.held > 0 || c.sold > 0 => {
                    return Err(Error::PriceLocked(name.clone()));
                }
                Some(c) => c.price = *price,
            }
        }
        if !problems.is_empty() {
            return Err(Error::Invalid(problems));
        }
        if edit.details.starts_at != show.details.starts_at {
            let mut by_start = unit.txn().open_table(BY_START)?;
            by_start.remove(start_key(show.starts_at(), id).as_slice())?;
            let starts = Millis::parse_iso(&edit.details.starts_at).unwrap_or_default();
            by_start.insert(start_key(starts, id).as_slice(), ())?;
        }
        show.details = edit.details;
        if let Some(max) = edit.max_per_order {
            show.max_per_order = max;
        }
        Ok(updated(unit, show)?)
    }

    /// Moves a show to `status`: stop and resume sales, publish a draft, or cancel (for good).
    pub fn set_status(unit: &mut Unit, id: ShowId, status: ShowStatus) -> Result<Show, Error> {
        let mut show = load(unit, id)?;
        if show.status == ShowStatus::Cancelled {
            return Err(Error::Cancelled);
        }
        if show.status == status {
            return Ok(show);
        }
        show.status = status;
        Ok(updated(unit, show)?)
    }

    /// Follows the orders of shows: units held, released and sold, counted per category.
    /// Idempotent: a unit's state records the order that set it, and each rule checks it.
    pub fn react(unit: &mut Unit, event: &StoredEvent) -> Result<(), redb::Error> {
        let (part, order, change) = match &event.event {
            DomainEvent::OrderCreated(e) => (&e.show, e.id, Change::Hold),
            DomainEvent::OrderCancelled(e) => (&e.show, e.id, Change::Release),
            DomainEvent::OrderCompleted(e) => (&e.show, e.id, Change::Sell),
            _ => return Ok(()),
        };
        let Some(part) = part else {
            return Ok(());
        };
        let mut shows = unit.txn().open_table(SHOWS)?;
        let Some(mut show) = shows
            .get(part.id.as_bytes().as_slice())?
            .map(|s| decode::<Show>(s.value()))
            .transpose()?
        else {
            return Ok(());
        };
        let changed = apply(unit, &mut show, part, order, change)?;
        if changed {
            show.seats_version += 1;
            shows.insert(show.id.as_bytes().as_slice(), encode(&show).as_slice())?;
        }
        if change == Change::Sell {
            let paid = PaidOrder {
                order_id: order,
                tickets: part.tickets.len() as u32,
                total: part.total,
            };
            unit.txn().open_table(PAID)?.insert(
                order_key(part.id, order.as_bytes()).as_slice(),
                encode(&paid).as_slice(),
            )?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Change {
    Hold,
    Release,
    Sell,
}

/// Moves each unit of `part` as `change` says, if it is in the state the change moves from.
fn apply(
    unit: &Unit,
    show: &mut Show,
    part: &ShowPart,
    order: OrderId,
    change: Change,
) -> Result<bool, redb::Error> {
    let mut states = unit.txn().open_table(STATES)?;
    let mut changed = false;
    for ticket in &part.tickets {
        let key = show_key(part.id, ticket.index);
        let current = states.get(key.as_slice())?.map(|v| v.value().to_vec());
        let holder = current.as_deref().map(|v| (state_of(v), &v[1..]));
        let ours = holder.is_some_and(|(_, o)| o == order.as_bytes().as_slice());
        let Some(category) = show.categories.get_mut(usize::from(ticket.category)) else {
            continue;
        };
        match (change, holder) {
            (Change::Hold, None) => {
                states.insert(
                    key.as_slice(),
                    state_value(UnitState::Held, order).as_slice(),
                )?;
                category.held += 1;
            }
            (Change::Release, Some((UnitState::Held, _))) if ours => {
                states.remove(key.as_slice())?;
                category.held -= 1;
            }
            (Change::Sell, Some((UnitState::Held, _))) if ours => {
                states.insert(
                    key.as_slice(),
                    state_value(UnitState::Sold, order).as_slice(),
                )?;
                category.held -= 1;
                category.sold += 1;
            }
            _ => continue,
        }
        changed = true;
    }
    Ok(changed)
}

fn load(unit: &Unit, id: ShowId) -> Result<Show, Error> {
    unit.txn()
        .open_table(SHOWS)?
        .get(id.as_bytes().as_slice())?
        .map(|s| decode(s.value()))
        .transpose()?
        .ok_or(Error::NotFound)
}

/// Saves a changed show and emits `show:updated`.
fn updated(unit: &mut Unit, mut show: Show) -> Result<Show, redb::Error> {
    show.version += 1;
    unit.txn()
        .open_table(SHOWS)?
        .insert(show.id.as_bytes().as_slice(), encode(&show).as_slice())?;
    unit.emit(DomainEvent::ShowUpdated(ShowUpdated {
        id: show.id,
        version: show.version,
        details: show.details.clone(),
        status: show.status,
        max_per_order: show.max_per_order,
        categories: show.categories(),
    }));
    Ok(show)
}

/// The given rows in events of at most `SEATS_EVENT_BYTES` of rows each (a row never split).
fn seats_events(show: ShowId, first_unit: u32, given: Vec<SeatRow>) -> Vec<ShowSeats> {
    let mut events: Vec<ShowSeats> = Vec::new();
    let (mut row_number, mut unit, mut bytes) = (0u32, first_unit, usize::MAX);
    for row in given {
        let size = encode(&row).len();
        if bytes.saturating_add(size) > SEATS_EVENT_BYTES {
            events.push(ShowSeats {
                show,
                first_row: row_number,
                first_unit: unit,
                rows: Vec::new(),
            });
            bytes = 0;
        }
        bytes += size;
        row_number += 1;
        unit += row.seats.len() as u32;
        events.last_mut().expect("pushed above").rows.push(row);
    }
    events
}

fn show_key(show: ShowId, number: u32) -> [u8; 16] {
    let mut key = [0u8; 16];
    key[..12].copy_from_slice(show.as_bytes());
    key[12..].copy_from_slice(&number.to_be_bytes());
    key
}

fn unit_of(key: &[u8]) -> u32 {
    u32::from_be_bytes(key[12..16].try_into().expect("unit keys are 16 bytes"))
}

fn order_key(show: ShowId, order: &[u8; 12]) -> [u8; 24] {
    let mut key = [0u8; 24];
    key[..12].copy_from_slice(show.as_bytes());
    key[12..].copy_from_slice(order);
    key
}

fn start_key(starts: Millis, show: ShowId) -> [u8; 20] {
    let mut key = [0u8; 20];
    key[..8].copy_from_slice(&starts.0.to_be_bytes());
    key[8..].copy_from_slice(show.as_bytes());
    key
}

fn state_value(state: UnitState, order: OrderId) -> [u8; 13] {
    let mut value = [0u8; 13];
    value[0] = match state {
        UnitState::Held => 1,
        UnitState::Sold => 2,
    };
    value[1..].copy_from_slice(order.as_bytes());
    value
}

fn state_of(value: &[u8]) -> UnitState {
    if value.first() == Some(&2) {
        UnitState::Sold
    } else {
        UnitState::Held
    }
}
