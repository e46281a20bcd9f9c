//! A seat map given in a request, as JSON (`seatMap`) or CSV (`seatMapCsv`): its rows, each sorted
//! left to right, with overlaps (a row or seat named twice, two seats at one spot) refused by name.

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value};

use super::check::{Categories, Check};
use super::csv_map;
use crate::events::{Seat, SeatRow};

/// The most flags a seat may carry.
const MAX_FLAGS: usize = 8;
/// The longest row, and the most rows a generated block may have.
pub(super) const MAX_ROW: u32 = 1_000;

/// The rows of `seatMap` or `seatMapCsv`, seats sorted left to right; overlaps refused.
pub(super) fn given_rows(
    check: &mut Check,
    body: &Map<String, Value>,
    names: &Categories<'_>,
) -> Vec<SeatRow> {
    let rows = match (body.get("seatMap"), body.get("seatMapCsv")) {
        (None | Some(Value::Null), None | Some(Value::Null)) => return Vec::new(),
        (Some(_), Some(_)) => {
            check.fail(
                "seatMapCsv",
                "give the seat map as JSON or as CSV, not both",
            );
            return Vec::new();
        }
        (Some(map), _) => json_rows(check, map, names),
        (_, Some(Value::String(csv))) => csv_map::rows(check, csv, names),
        (_, Some(_)) => {
            check.fail("seatMapCsv", "must be the CSV text as a string");
            return Vec::new();
        }
    };
    check_overlaps(check, rows)
}

fn json_rows(check: &mut Check, map: &Value, names: &Categories<'_>) -> Vec<SeatRow> {
    let mut rows = Vec::new();
    let Some(map) = check.object(map, "seatMap") else {
        return rows;
    };
    let mut rank = 0;
    for (s, section) in check
        .array(map.get("sections"), "seatMap.sections")
        .iter()
        .enumerate()
    {
        let field = format!("seatMap.sections[{s}]");
        let Some(section) = check.object(section, &field) else {
            continue;
        };
        let section_name = check.name(section.get("name"), &format!("{field}.name"));
        for (r, row) in check
            .array(section.get("rows"), &format!("{field}.rows"))
            .iter()
            .enumerate()
        {
            let field = format!("{field}.rows[{r}]");
            let Some(row) = check.object(row, &field) else {
                continue;
            };
            let row_name = check.name(row.get("name"), &format!("{field}.name"));
            let mut seats = Vec::new();
            for (i, seat) in check
                .array(row.get("seats"), &format!("{field}.seats"))
                .iter()
                .enumerate()
            {
                rank += 1;
                let field = format!("{field}.seats[{i}]");
                if let Some(seat) = check.object(seat, &field) {
                    seats.extend(json_seat(check, seat, &field, names, rank));
                }
            }
            if let (Some(section), Some(name)) = (&section_name, row_name) {
                rows.push(SeatRow {
                    section: section.clone(),
                    name,
                    seats,
                });
            }
        }
    }
    rows
}

fn json_seat(
    check: &mut Check,
    seat: &Map<String, Value>,
    field: &str,
    names: &Categories<'_>,
    default_rank: u32,
) -> Option<Seat> {
    let name = check.name(seat.get("name"), &format!("{field}.name"));
    let category = names.resolve(check, seat.get("category"), &format!("{field}.category"));
    let x = check.number(seat.get("x"), &format!("{field}.x"));
    let y = check.number(seat.get("y"), &format!("{field}.y"));
    let rank = check
        .count(seat.get("rank"), &format!("{field}.rank"), u32::MAX / 2)
        .unwrap_or(default_rank);
    let flags: Vec<String> = check
        .array(seat.get("flags"), &format!("{field}.flags"))
        .iter()
        .enumerate()
        .filter_map(|(i, f)| check.name(Some(f), &format!("{field}.flags[{i}]")))
        .collect();
    if flags.len() > MAX_FLAGS {
        check.fail(
            format!("{field}.flags"),
            format!("at most {MAX_FLAGS} flags"),
        );
    }
    Some(Seat {
        name: name?,
        category: category?,
        x: x?,
        y: y?,
        rank,
        flags,
    })
}

/// A row named twice in a section, a seat named twice in a row and two seats drawn at one spot of
/// a section are each an overlap, refused by name; seats are sorted left to right.
fn check_overlaps(check: &mut Check, mut rows: Vec<SeatRow>) -> Vec<SeatRow> {
    let mut row_names = HashSet::new();
    let mut spots: HashMap<(String, u64, u64), String> = HashMap::new();
    for row in &mut rows {
        let label = format!("{} row {}", row.section, row.name);
        if !row_names.insert((row.section.clone(), row.name.clone())) {
            check.fail("seatMap", format!("{label} is given twice"));
        }
        if row.seats.is_empty() {
            check.fail("seatMap", format!("{label} has no seats"));
        }
        if row.seats.len() > MAX_ROW as usize {
            check.fail("seatMap", format!("{label} has more than {MAX_ROW} seats"));
        }
        let mut seat_names = HashSet::new();
        for seat in &row.seats {
            let here = format!("{label} seat {}", seat.name);
            if !seat_names.insert(seat.name.clone()) {
                check.fail("seatMap", format!("{here} is given twice"));
            }
            let spot = (row.section.clone(), seat.x.to_bits(), seat.y.to_bits());
            if let Some(other) = spots.insert(spot, here.clone()) {
                check.fail(
                    "seatMap",
                    format!("{here} overlaps {other} at ({}, {})", seat.x, seat.y),
                );
            }
        }
        row.seats.sort_by(|a, b| a.x.total_cmp(&b.x));
    }
    rows
}
