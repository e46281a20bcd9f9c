//! The catch-up of the shows store: shows a node lost with its disk, put back from the hub's copy
//! of `show:created`, `show:seats` and `show:updated`.

use redb::ReadableTable;

use super::{BY_START, MapRow, ROW_BY_UNIT, ROWS, SHOWS, ShowsStore, show_key, start_key};
use crate::events::{DomainEvent, ShowCreated, ShowSeats, ShowUpdated, StoredEvent};
use crate::outbox::Unit;
use crate::record::{decode, encode};
use crate::shows::layout::map_rows;
use crate::shows::{CategoryCounts, Show};
use crate::time::Millis;

impl ShowsStore {
    /// Puts back what a show's event described. A show the store has is not made again; rows it
    /// has are not written twice; an update applies only if newer than the show.
    pub fn restore(unit: &mut Unit, event: &StoredEvent) -> Result<(), redb::Error> {
        match &event.event {
            DomainEvent::ShowCreated(e) => created(unit, e, Millis(event.at)),
            DomainEvent::ShowSeats(e) => seats(unit, e),
            DomainEvent::ShowUpdated(e) => updated(unit, e),
            _ => Ok(()),
        }
    }
}

fn load(unit: &Unit, id: crate::ids::ShowId) -> Result<Option<Show>, redb::Error> {
    unit.txn()
        .open_table(SHOWS)?
        .get(id.as_bytes().as_slice())?
        .map(|s| decode(s.value()))
        .transpose()
}

fn save(unit: &Unit, show: &Show) -> Result<(), redb::Error> {
    unit.txn()
        .open_table(SHOWS)?
        .insert(show.id.as_bytes().as_slice(), encode(show).as_slice())?;
    Ok(())
}

/// The show and its generated rows; the given rows' seats are counted as their events come.
fn created(unit: &Unit, e: &ShowCreated, at: Millis) -> Result<(), redb::Error> {
    if load(unit, e.id)?.is_some() {
        return Ok(());
    }
    let mut capacities = vec![0u32; e.categories.len()];
    for area in &e.areas {
        add(&mut capacities, area.category, area.capacity);
    }
    for block in &e.generate {
        add(
            &mut capacities,
            block.category,
            block.rows * block.seats_per_row,
        );
    }
    let show = Show {
        id: e.id,
        version: e.version,
        details: e.details.clone(),
        status: e.status,
        max_per_order: e.max_per_order,
        categories: e
            .categories
            .iter()
            .zip(capacities)
            .map(|(c, capacity)| CategoryCounts {
                name: c.name.clone(),
                price: c.price,
                capacity,
                held: 0,
                sold: 0,
            })
            .collect(),
        areas: e.areas.clone(),
        generate: e.generate.clone(),
        given_rows: e.given_rows,
        units: e.units,
        seats_version: 0,
        created_at: at,
    };
    save(unit, &show)?;
    unit.txn()
        .open_table(BY_START)?
        .insert(start_key(show.starts_at(), show.id).as_slice(), ())?;
    let rows = map_rows(&show.layout(), &[], &show.generate);
    write_rows(unit, &show, rows)
}

/// Rows the seat map gave, numbered from the event's first row and unit, their seats counted.
fn seats(unit: &Unit, e: &ShowSeats) -> Result<(), redb::Error> {
    let Some(mut show) = load(unit, e.show)? else {
        return Err(redb::Error::Corrupted(format!(
            "show:seats of show {}, which the store lacks",
            e.show
        )));
    };
    let mut rows = Vec::with_capacity(e.rows.len());
    let mut first_unit = e.first_unit;
    for (number, row) in (e.first_row..).zip(&e.rows) {
        rows.push((number, first_unit, row.clone()));
        first_unit += row.seats.len() as u32;
    }
    if let Some((number, _, _)) = rows.first() {
        let known = unit
            .txn()
            .open_table(ROWS)?
            .get(show_key(show.id, *number).as_slice())?
            .is_some();
        if known {
            return Ok(());
        }
    }
    let mut capacities = vec![0u32; show.categories.len()];
    for seat in e.rows.iter().flat_map(|r| &r.seats) {
        add(&mut capacities, seat.category, 1);
    }
    for (category, more) in show.categories.iter_mut().zip(capacities) {
        category.capacity += more;
    }
    save(unit, &show)?;
    write_rows(unit, &show, rows)
}

/// Details, status, maximum per order and prices as the event says, if it is newer.
fn updated(unit: &Unit, e: &ShowUpdated) -> Result<(), redb::Error> {
    let Some(mut show) = load(unit, e.id)? else {
        return Err(redb::Error::Corrupted(format!(
            "show:updated of show {}, which the store lacks",
            e.id
        )));
    };
    if e.version <= show.version {
        return Ok(());
    }
    if e.details.starts_at != show.details.starts_at {
        let mut by_start = unit.txn().open_table(BY_START)?;
        by_start.remove(start_key(show.starts_at(), show.id).as_slice())?;
        let starts = Millis::parse_iso(&e.details.starts_at).unwrap_or_default();
        by_start.insert(start_key(starts, show.id).as_slice(), ())?;
    }
    show.details = e.details.clone();
    show.status = e.status;
    show.max_per_order = e.max_per_order;
    show.version = e.version;
    for (category, given) in show.categories.iter_mut().zip(&e.categories) {
        category.price = given.price;
    }
    save(unit, &show)
}

fn add(capacities: &mut [u32], category: u16, count: u32) {
    if let Some(slot) = capacities.get_mut(usize::from(category)) {
        *slot += count;
    }
}

fn write_rows(
    unit: &Unit,
    show: &Show,
    rows: Vec<(u32, u32, crate::events::SeatRow)>,
) -> Result<(), redb::Error> {
    let mut table = unit.txn().open_table(ROWS)?;
    let mut by_unit = unit.txn().open_table(ROW_BY_UNIT)?;
    for (number, first_unit, row) in rows {
        let map_row = MapRow { first_unit, row };
        table.insert(
            show_key(show.id, number).as_slice(),
            encode(&map_row).as_slice(),
        )?;
        by_unit.insert(show_key(show.id, first_unit).as_slice(), number)?;
    }
    Ok(())
}
