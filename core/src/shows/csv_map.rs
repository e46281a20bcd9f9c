//! A seat map imported from CSV: a header `section,row,seat,category,x,y`, then one seat per
//! line. Rows are formed in the order their first seat appears; every problem names its line.

use std::collections::HashMap;

use serde_json::Value;

use super::check::{Categories, Check};
use crate::events::{Seat, SeatRow};

const HEADER: [&str; 6] = ["section", "row", "seat", "category", "x", "y"];
const FIELD: &str = "seatMapCsv";

/// The rows of a CSV seat map; ranks follow the lines (the first line's seat ranks best).
pub(super) fn rows(check: &mut Check, text: &str, names: &Categories<'_>) -> Vec<SeatRow> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .trim(csv::Trim::All)
        .flexible(false)
        .from_reader(text.as_bytes());
    match reader.headers() {
        Ok(header)
            if header.len() == HEADER.len()
                && header
                    .iter()
                    .zip(HEADER)
                    .all(|(got, want)| got.eq_ignore_ascii_case(want)) => {}
        _ => {
            check.fail(
                FIELD,
                format!("line 1: the header must be {}", HEADER.join(",")),
            );
            return Vec::new();
        }
    }
    let mut rows: Vec<SeatRow> = Vec::new();
    let mut row_of: HashMap<(String, String), usize> = HashMap::new();
    for (n, record) in reader.records().enumerate() {
        let line = n + 2;
        let record = match record {
            Ok(record) => record,
            Err(e) => {
                check.fail(FIELD, format!("line {line}: {e}"));
                continue;
            }
        };
        let cell = |i: usize| Value::String(record.get(i).unwrap_or_default().to_owned());
        let at = |name: &str| format!("{FIELD} line {line} {name}");
        let section = check.name(Some(&cell(0)), &at("section"));
        let row = check.name(Some(&cell(1)), &at("row"));
        let name = check.name(Some(&cell(2)), &at("seat"));
        let category = names.resolve(check, Some(&cell(3)), &at("category"));
        let x = coordinate(check, record.get(4), &at("x"));
        let y = coordinate(check, record.get(5), &at("y"));
        let (Some(section), Some(row), Some(name), Some(category), Some(x), Some(y)) =
            (section, row, name, category, x, y)
        else {
            continue;
        };
        let index = *row_of
            .entry((section.clone(), row.clone()))
            .or_insert_with(|| {
                rows.push(SeatRow {
                    section,
                    name: row,
                    seats: Vec::new(),
                });
                rows.len() - 1
            });
        rows[index].seats.push(Seat {
            name,
            category,
            x,
            y,
            rank: line as u32,
            flags: Vec::new(),
        });
    }
    if rows.is_empty() && !check.has_problems() {
        check.fail(FIELD, "the CSV has no seats");
    }
    rows
}

fn coordinate(check: &mut Check, cell: Option<&str>, field: &str) -> Option<f64> {
    let number = cell
        .and_then(|c| c.parse::<f64>().ok())
        .map(|n| serde_json::Number::from_f64(n).map(Value::Number))
        .unwrap_or_default();
    check.number(number.as_ref(), field)
}
