//! The orders service's replica of every show's inventory, and best available on it.
//!
//! Built from `show:*` events, kept in the orders store so that choosing units, locking them
//! (`holds`) and placing the order are one transaction: one winner per unit, all or nothing.
//!
//! Invariants:
//! - A unit is free in this replica exactly when no order holds it in `holds`.
//! - Standing places are keys of `GA_FREE` (show, category, unit); taking N is reading the first N.
//! - A row of seats is one `ROW_STATES` record (each seat's category, rank, free bit, left to
//!   right). For every (row, category) with a free seat, `RUNS` has one key: the longest run of
//!   adjacent free seats of that category (capped at `RUN_CAP`), then the best free rank, then the
//!   row. Best available for N seats together looks at most `RUN_CAP` keys, never the show.

use redb::{ReadableTable, Table, TableDefinition};
use serde::{Deserialize, Serialize};

use crate::events::{
    Area, Category, SeatRow, ShowCreated, ShowSeats, ShowStatus, ShowUpdated, UnitRef,
};
use crate::ids::ShowId;
use crate::outbox::Unit;
use crate::record::{decode, encode};
use crate::shows::{Layout, MAX_PER_ORDER_LIMIT, generated_rows};
use crate::time::Millis;

/// Show id → `ShowReplica`.
pub(super) const SHOWS: TableDefinition<'_, &[u8], &[u8]> = TableDefinition::new("show_replicas");
/// Show id ++ big-endian row number → the row's seats (`RowState`, binary).
const ROW_STATES: TableDefinition<'_, &[u8], &[u8]> = TableDefinition::new("show_row_states");
/// Show id ++ big-endian first unit of a row → the row number.
const ROW_STARTS: TableDefinition<'_, &[u8], u32> = TableDefinition::new("show_row_starts");
/// Show id ++ category ++ run length ++ best rank ++ row (all big-endian) → nothing.
const RUNS: TableDefinition<'_, &[u8], ()> = TableDefinition::new("show_runs");
/// Show id ++ category ++ unit → nothing: the free places of standing areas.
const GA_FREE: TableDefinition<'_, &[u8], ()> = TableDefinition::new("show_free_places");

/// Makes the inventory's tables, so that reads find them empty before the first show arrives.
pub(super) fn create_tables(txn: &redb::WriteTransaction) -> Result<(), redb::Error> {
    txn.open_table(SHOWS)?;
    txn.open_table(ROW_STATES)?;
    txn.open_table(ROW_STARTS)?;
    txn.open_table(RUNS)?;
    txn.open_table(GA_FREE)?;
    Ok(())
}

/// Runs longer than this are filed under it: no order holds more.
const RUN_CAP: u16 = MAX_PER_ORDER_LIMIT as u16;

/// What the orders service knows of a show: enough to decide whether and what it sells.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShowReplica {
    pub id: ShowId,
    pub title: String,
    pub status: ShowStatus,
    pub on_sale_at: Option<Millis>,
    pub off_sale_at: Option<Millis>,
    pub max_per_order: u32,
    pub categories: Vec<CategoryReplica>,
    pub areas: Vec<Area>,
    pub units: u32,
    pub version: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CategoryReplica {
    pub name: String,
    pub price: f64,
    /// Units of this category no order holds.
    pub free: u32,
    pub seated: bool,
}

impl ShowReplica {
    pub fn layout(&self) -> Layout {
        // Only the areas matter for telling places from seats.
        Layout::new(&self.areas, 0, &[], self.units)
    }

    fn apply_update(&mut self, e: &ShowUpdated) {
        self.title = e.details.title.clone();
        self.status = e.status;
        self.on_sale_at = e.details.on_sale_at.as_deref().and_then(Millis::parse_iso);
        self.off_sale_at = e.details.off_sale_at.as_deref().and_then(Millis::parse_iso);
        self.max_per_order = e.max_per_order;
        for (mine, theirs) in self.categories.iter_mut().zip(&e.categories) {
            mine.price = theirs.price;
        }
        self.version = e.version;
    }
}

/// One seat of a row as the inventory keeps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct RowSeat {
    category: u16,
    rank: u32,
    free: bool,
}

/// A row of seats, left to right; seat `i` is unit `first_unit + i`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct RowState {
    first_unit: u32,
    seats: Vec<RowSeat>,
}

impl RowState {
    fn from_row(first_unit: u32, row: &SeatRow) -> RowState {
        RowState {
            first_unit,
            seats: row
                .seats
                .iter()
                .map(|s| RowSeat {
                    category: s.category,
                    rank: s.rank,
                    free: true,
                })
                .collect(),
        }
    }

    fn encode(&self) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(4 + 7 * self.seats.len());
        bytes.extend_from_slice(&self.first_unit.to_be_bytes());
        for seat in &self.seats {
            bytes.extend_from_slice(&seat.category.to_be_bytes());
            bytes.extend_from_slice(&seat.rank.to_be_bytes());
            bytes.push(u8::from(seat.free));
        }
        bytes
    }

    fn decode(bytes: &[u8]) -> Result<RowState, redb::Error> {
        if bytes.len() < 4 || !(bytes.len() - 4).is_multiple_of(7) {
            return Err(redb::Error::Corrupted("show row state".into()));
        }
        let first_unit = u32::from_be_bytes(bytes[..4].try_into().expect("4 bytes"));
        let seats = bytes[4..]
            .chunks_exact(7)
            .map(|c| RowSeat {
                category: u16::from_be_bytes([c[0], c[1]]),
                rank: u32::from_be_bytes([c[2], c[3], c[4], c[5]]),
                free: c[6] == 1,
            })
            .collect();
        Ok(RowState { first_unit, seats })
    }

    /// For each category with a free seat: its longest run of adjacent free seats (capped) and
    /// its best free rank.
    fn runs(&self) -> Vec<(u16, u16, u32)> {
        let mut runs: Vec<(u16, u16, u32)> = Vec::new();
        let mut current: Option<(u16, u16)> = None;
        for seat in &self.seats {
            current = match current {
                Some((category, length)) if seat.free && seat.category == category => {
                    Some((category, length.saturating_add(1)))
                }
                _ if seat.free => Some((seat.category, 1)),
                _ => None,
            };
            if let Some((category, length)) = current {
                match runs.iter_mut().find(|(c, _, _)| *c == category) {
                    Some(entry) => {
                        entry.1 = entry.1.max(length.min(RUN_CAP));
                        entry.2 = entry.2.min(seat.rank);
                    }
                    None => runs.push((category, length.min(RUN_CAP), seat.rank)),
                }
            }
        }
        runs
    }

    /// The `n` adjacent free seats of `category` with the best (lowest) ranks in sum, as
    /// positions in the row.
    fn best_window(&self, category: u16, n: usize) -> Option<std::ops::Range<usize>> {
        let fits = |s: &RowSeat| s.free && s.category == category;
        (0..=self.seats.len().checked_sub(n)?)
            .filter(|&start| self.seats[start..start + n].iter().all(fits))
            .min_by_key(|&start| {
                self.seats[start..start + n]
                    .iter()
                    .map(|s| u64::from(s.rank))
                    .sum::<u64>()
            })
            .map(|start| start..start + n)
    }
}

/// Builds the replica of a new show: its standing places and generated rows.
pub(super) fn show_created(unit: &Unit, e: &ShowCreated) -> Result<(), redb::Error> {
    let mut shows = unit.txn().open_table(SHOWS)?;
    if shows.get(e.id.as_bytes().as_slice())?.is_some() {
        return Ok(());
    }
    let mut replica = ShowReplica {
        id: e.id,
        title: e.details.title.clone(),
        status: e.status,
        on_sale_at: e.details.on_sale_at.as_deref().and_then(Millis::parse_iso),
        off_sale_at: e.details.off_sale_at.as_deref().and_then(Millis::parse_iso),
        max_per_order: e.max_per_order,
        categories: e.categories.iter().map(category_replica).collect(),
        areas: e.areas.clone(),
        units: e.units,
        version: e.version,
    };
    let layout = Layout::new(&e.areas, e.given_rows, &e.generate, e.units);
    let mut free = unit.txn().open_table(GA_FREE)?;
    for (first, area) in layout.areas() {
        for index in first..first + area.capacity {
            free.insert(place_key(e.id, area.category, index).as_slice(), ())?;
        }
        replica.categories[usize::from(area.category)].free += area.capacity;
    }
    drop(free);
    let rows = generated_rows(
        &e.generate,
        layout.first_generated_row(),
        layout.generated_first_unit(),
    );
    for (number, first_unit, row) in rows {
        add_row(unit, &mut replica, number, first_unit, &row)?;
    }
    shows.insert(e.id.as_bytes().as_slice(), encode(&replica).as_slice())?;
    Ok(())
}

/// Adds the rows a seat map gave.
pub(super) fn show_seats(unit: &Unit, e: &ShowSeats) -> Result<(), redb::Error> {
    let mut shows = unit.txn().open_table(SHOWS)?;
    let Some(mut replica) = load_replica(&shows, e.show)? else {
        return Ok(());
    };
    let mut first_unit = e.first_unit;
    for (i, row) in e.rows.iter().enumerate() {
        add_row(unit, &mut replica, e.first_row + i as u32, first_unit, row)?;
        first_unit += row.seats.len() as u32;
    }
    shows.insert(e.show.as_bytes().as_slice(), encode(&replica).as_slice())?;
    Ok(())
}

/// Applies a newer `show:updated`; returns the replica if the show was cancelled by it (its open
/// orders are then released by the caller).
pub(super) fn show_updated(unit: &Unit, e: &ShowUpdated) -> Result<bool, redb::Error> {
    let mut shows = unit.txn().open_table(SHOWS)?;
    let Some(mut replica) = load_replica(&shows, e.id)? else {
        return Ok(false);
    };
    if e.version <= replica.version {
        return Ok(false);
    }
    let cancelled = replica.status != ShowStatus::Cancelled && e.status == ShowStatus::Cancelled;
    replica.apply_update(e);
    shows.insert(e.id.as_bytes().as_slice(), encode(&replica).as_slice())?;
    Ok(cancelled)
}

fn category_replica(category: &Category) -> CategoryReplica {
    CategoryReplica {
        name: category.name.clone(),
        price: category.price,
        free: 0,
        seated: false,
    }
}

fn add_row(
    unit: &Unit,
    replica: &mut ShowReplica,
    number: u32,
    first_unit: u32,
    row: &SeatRow,
) -> Result<(), redb::Error> {
    let key = row_key(replica.id, number);
    let mut states = unit.txn().open_table(ROW_STATES)?;
    if states.get(key.as_slice())?.is_some() {
        return Ok(());
    }
    let state = RowState::from_row(first_unit, row);
    for seat in &state.seats {
        if let Some(category) = replica.categories.get_mut(usize::from(seat.category)) {
            category.free += 1;
            category.seated = true;
        }
    }
    states.insert(key.as_slice(), state.encode().as_slice())?;
    unit.txn()
        .open_table(ROW_STARTS)?
        .insert(row_key(replica.id, first_unit).as_slice(), number)?;
    let mut runs = unit.txn().open_table(RUNS)?;
    file_runs(&mut runs, replica.id, number, &state, true)
}

pub(super) fn load_replica(
    shows: &impl ReadableTable<&'static [u8], &'static [u8]>,
    id: ShowId,
) -> Result<Option<ShowReplica>, redb::Error> {
    shows
        .get(id.as_bytes().as_slice())?
        .map(|s| decode(s.value()))
        .transpose()
}

/// Files (or unfiles) a row's runs in `RUNS`.
fn file_runs(
    runs: &mut Table<'_, &[u8], ()>,
    show: ShowId,
    row: u32,
    state: &RowState,
    insert: bool,
) -> Result<(), redb::Error> {
    for (category, length, rank) in state.runs() {
        let key = run_key(show, category, length, rank, row);
        if insert {
            runs.insert(key.as_slice(), ())?;
        } else {
            runs.remove(key.as_slice())?;
        }
    }
    Ok(())
}

/// Units chosen for an order: their indexes, in the order they were chosen.
pub(super) type Chosen = Vec<u32>;

/// The best `n` seats of `category` together in one row, or `None` if no row has them.
pub(super) fn best_together(
    unit: &Unit,
    show: ShowId,
    category: u16,
    n: u16,
) -> Result<Option<Chosen>, redb::Error> {
    let runs = unit.txn().open_table(RUNS)?;
    let mut best: Option<(u32, u32)> = None;
    for length in n..=RUN_CAP {
        let start = run_key(show, category, length, 0, 0);
        let end = run_key(show, category, length, u32::MAX, u32::MAX);
        if let Some(entry) = runs.range(start.as_slice()..=end.as_slice())?.next() {
            let key = entry?.0.value().to_vec();
            let rank = u32::from_be_bytes(key[16..20].try_into().expect("run keys are 24 bytes"));
            let row = u32::from_be_bytes(key[20..24].try_into().expect("run keys are 24 bytes"));
            if best.is_none_or(|(r, _)| rank < r) {
                best = Some((rank, row));
            }
        }
    }
    drop(runs);
    let Some((_, row)) = best else {
        return Ok(None);
    };
    let state = load_row(unit, show, row)?;
    let chosen = state
        .best_window(category, usize::from(n))
        .map(|window| window.map(|i| state.first_unit + i as u32).collect());
    Ok(chosen)
}

/// The best `n` seats of `category`, as few groups as can be: the longest run that helps, again
/// and again. The caller checked that `n` seats of the category are free, and takes each group
/// before asking for the next (`take`), so this always finds them.
pub(super) fn best_split(
    unit: &Unit,
    replica: &ShowReplica,
    category: u16,
    n: u16,
) -> Result<Option<Chosen>, redb::Error> {
    let show = replica.id;
    let mut chosen = Vec::new();
    let mut left = n;
    while left > 0 {
        let mut group = None;
        for length in (1..=left.min(RUN_CAP)).rev() {
            if let Some(found) = best_together(unit, show, category, length)? {
                group = Some(found);
                break;
            }
        }
        let Some(group) = group else {
            return Ok(None);
        };
        left -= group.len() as u16;
        take(unit, replica, &group)?;
        chosen.extend(group);
    }
    Ok(Some(chosen))
}

/// The first `n` free places of a standing category, or `None` if there are fewer.
pub(super) fn any_places(
    unit: &Unit,
    show: ShowId,
    category: u16,
    n: u16,
) -> Result<Option<Chosen>, redb::Error> {
    let free = unit.txn().open_table(GA_FREE)?;
    let (start, end) = (
        place_key(show, category, 0),
        place_key(show, category, u32::MAX),
    );
    let mut chosen = Vec::with_capacity(usize::from(n));
    for entry in free
        .range(start.as_slice()..=end.as_slice())?
        .take(usize::from(n))
    {
        let key = entry?.0.value().to_vec();
        chosen.push(u32::from_be_bytes(
            key[14..18].try_into().expect("place keys are 18 bytes"),
        ));
    }
    Ok((chosen.len() == usize::from(n)).then_some(chosen))
}

/// Marks units of `replica`'s show as no longer free.
pub(super) fn take(unit: &Unit, replica: &ShowReplica, units: &[u32]) -> Result<(), redb::Error> {
    mark(unit, replica, units, false)
}

/// Gives an ended order's units back: free again, and counted free in their category.
pub(super) fn release(unit: &Unit, show: ShowId, units: &[UnitRef]) -> Result<(), redb::Error> {
    if units.is_empty() {
        return Ok(());
    }
    let mut shows = unit.txn().open_table(SHOWS)?;
    let Some(mut replica) = load_replica(&shows, show)? else {
        return Ok(());
    };
    let indexes: Vec<u32> = units.iter().map(|u| u.index).collect();
    mark(unit, &replica, &indexes, true)?;
    for released in units {
        if let Some(category) = replica.categories.get_mut(usize::from(released.category)) {
            category.free += 1;
        }
    }
    shows.insert(show.as_bytes().as_slice(), encode(&replica).as_slice())?;
    Ok(())
}

/// Sets units' free bits: a standing place in `GA_FREE`, a seat in its row and the row's runs.
fn mark(unit: &Unit, replica: &ShowReplica, units: &[u32], free: bool) -> Result<(), redb::Error> {
    let show = replica.id;
    let layout = replica.layout();
    // Seats are grouped by row, so that a party's row is read, re-indexed and written once.
    let mut rows: std::collections::BTreeMap<u32, Vec<u32>> = std::collections::BTreeMap::new();
    for &index in units {
        if let Some(area) = layout.area_of(index) {
            let key = place_key(show, area.category, index);
            let mut places = unit.txn().open_table(GA_FREE)?;
            if free {
                places.insert(key.as_slice(), ())?;
            } else {
                places.remove(key.as_slice())?;
            }
        } else if let Some(row) = row_of(unit, show, index)? {
            rows.entry(row).or_default().push(index);
        }
    }
    for (row, indexes) in rows {
        let mut state = load_row(unit, show, row)?;
        let positions: Vec<usize> = indexes
            .iter()
            .map(|index| (index - state.first_unit) as usize)
            .filter(|&p| p < state.seats.len() && state.seats[p].free != free)
            .collect();
        if positions.is_empty() {
            continue;
        }
        let mut runs = unit.txn().open_table(RUNS)?;
        file_runs(&mut runs, show, row, &state, false)?;
        for position in positions {
            state.seats[position].free = free;
        }
        file_runs(&mut runs, show, row, &state, true)?;
        unit.txn()
            .open_table(ROW_STATES)?
            .insert(row_key(show, row).as_slice(), state.encode().as_slice())?;
    }
    Ok(())
}

/// The category of a unit, if it is one of the show's.
pub(super) fn category_of(
    unit: &Unit,
    replica: &ShowReplica,
    index: u32,
) -> Result<Option<u16>, redb::Error> {
    if let Some(area) = replica.layout().area_of(index) {
        return Ok(Some(area.category));
    }
    let Some(row) = row_of(unit, replica.id, index)? else {
        return Ok(None);
    };
    let state = load_row(unit, replica.id, row)?;
    Ok(state
        .seats
        .get((index - state.first_unit) as usize)
        .map(|s| s.category))
}

fn row_of(unit: &Unit, show: ShowId, index: u32) -> Result<Option<u32>, redb::Error> {
    let starts = unit.txn().open_table(ROW_STARTS)?;
    let found = starts
        .range(row_key(show, 0).as_slice()..=row_key(show, index).as_slice())?
        .next_back()
        .transpose()?
        .map(|(_, row)| row.value());
    Ok(found)
}

fn load_row(unit: &Unit, show: ShowId, row: u32) -> Result<RowState, redb::Error> {
    let states = unit.txn().open_table(ROW_STATES)?;
    let state = states
        .get(row_key(show, row).as_slice())?
        .ok_or_else(|| redb::Error::Corrupted(format!("show {show} has no row {row}")))?;
    RowState::decode(state.value())
}

fn row_key(show: ShowId, number: u32) -> [u8; 16] {
    let mut key = [0u8; 16];
    key[..12].copy_from_slice(show.as_bytes());
    key[12..].copy_from_slice(&number.to_be_bytes());
    key
}

fn run_key(show: ShowId, category: u16, length: u16, rank: u32, row: u32) -> [u8; 24] {
    let mut key = [0u8; 24];
    key[..12].copy_from_slice(show.as_bytes());
    key[12..14].copy_from_slice(&category.to_be_bytes());
    key[14..16].copy_from_slice(&length.to_be_bytes());
    key[16..20].copy_from_slice(&rank.to_be_bytes());
    key[20..].copy_from_slice(&row.to_be_bytes());
    key
}

fn place_key(show: ShowId, category: u16, index: u32) -> [u8; 18] {
    let mut key = [0u8; 18];
    key[..12].copy_from_slice(show.as_bytes());
    key[12..14].copy_from_slice(&category.to_be_bytes());
    key[14..].copy_from_slice(&index.to_be_bytes());
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(seats: &[(u16, u32, bool)]) -> RowState {
        RowState {
            first_unit: 100,
            seats: seats
                .iter()
                .map(|&(category, rank, free)| RowSeat {
                    category,
                    rank,
                    free,
                })
                .collect(),
        }
    }

    #[test]
    fn a_rows_runs_are_its_longest_free_stretch_per_category_and_best_free_rank() {
        let state = row(&[
            (0, 5, true),
            (0, 3, true),
            (0, 1, false),
            (0, 2, true),
            (1, 9, true),
            (1, 8, true),
            (1, 7, true),
        ]);
        assert_eq!(state.runs(), vec![(0, 2, 2), (1, 3, 7)]);
        assert_eq!(RowState::decode(&state.encode()).unwrap(), state);
    }

    #[test]
    fn the_best_window_is_the_lowest_rank_sum_of_adjacent_free_seats() {
        let state = row(&[
            (0, 9, true),
            (0, 2, true),
            (0, 1, true),
            (0, 3, false),
            (0, 4, true),
            (0, 5, true),
        ]);
        assert_eq!(state.best_window(0, 2), Some(1..3));
        assert_eq!(state.best_window(0, 3), Some(0..3));
        assert_eq!(state.best_window(0, 4), None);
        assert_eq!(state.best_window(1, 1), None);
    }
}
