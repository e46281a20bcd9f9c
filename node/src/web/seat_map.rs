//! A show's seat map as the storefront draws it: an SVG picture of every seat, coloured by
//! category and state, and beside it the same seats as a table of rows of checkboxes, which is
//! what a form without script, a keyboard or a screen reader uses.
//!
//! A seat's classes: `seat`, its category `c0`..`c7` (colours repeat after eight), `t` when held
//! or sold, `k` when ticked, `w` for a wheelchair space.
//!
//! Invariants:
//! - the picture's seats (`rect.seat`) and the table's checkboxes come in the same order, unit by
//!   unit, so the page's script pairs them by position and ships nothing per seat;
//! - a checkbox's value is the seat's unit index in its show; a seat held or sold is disabled;
//! - every text from the map (section, row and seat names) is escaped.
//!
//! Written straight into strings: a 20,000-seat map is a few megabytes of markup, drawn per visit.

use std::collections::{BTreeMap, HashSet};
use std::fmt::Write;

use askama::filters::{Html, escape};

use tix_core::shows::{MapRow, UnitState};

/// Drawing units per seat unit of the map; a seat is drawn `SEAT` wide with the rest as gap.
const SCALE: f64 = 10.0;
/// Screen pixels per drawing unit: a seat is about 18 pixels, a fingertip's target; a map wider
/// than the page scrolls inside its frame.
const PIXELS: f64 = 2.2;
/// Seat units between two sections that would overlap as given, and above each for its name.
const SECTION_GAP: f64 = 3.0;
/// The flag that marks a wheelchair space.
pub(crate) const WHEELCHAIR: &str = "wheelchair";

/// The two halves of a drawn map.
pub(crate) struct Drawn {
    pub(crate) svg: String,
    pub(crate) table: String,
    pub(crate) seats: usize,
    pub(crate) wheelchair: bool,
}

/// Where a section is drawn: its seats' bounding box, and how far it is moved down.
struct Placed {
    min_x: f64,
    min_y: f64,
    max_x: f64,
    max_y: f64,
    shift: f64,
}

/// Draws `map`; `chosen` are unit indices to show ticked (a form sent back with a problem).
pub(crate) fn draw(
    rows: &[MapRow],
    taken: &BTreeMap<u32, UnitState>,
    selectable: bool,
    chosen: &HashSet<u32>,
) -> Drawn {
    let placed = place_sections(rows);
    let units: usize = rows.iter().map(|r| r.row.seats.len()).sum();
    let (width, height) = placed.values().fold((0.0f64, 0.0f64), |(w, h), p| {
        (w.max(p.max_x + 1.0), h.max(p.max_y + p.shift + 1.0))
    });
    let mut svg = String::with_capacity(rows.len() * 64 + units * 48);
    let mut table = String::with_capacity(units * 96);
    let (w, h) = (width * SCALE, (height + 2.0) * SCALE);
    let _ = write!(
        svg,
        r#"<svg id="seat-svg" class="seat-svg" viewBox="-5 -25 {} {}" width="{}" height="{}" role="img" aria-labelledby="seat-svg-title"><title id="seat-svg-title">Seat map, stage at the top. Choose seats in the list of rows below.</title><rect class="stage" x="0" y="-25" width="{w}" height="12"/><text class="stage-label" x="{}" y="-16">Stage</text>"#,
        w + 10.0,
        h + 25.0,
        ((w + 10.0) * PIXELS).round(),
        ((h + 25.0) * PIXELS).round(),
        w / 2.0,
    );
    let mut wheelchair = false;
    let mut seats = 0;
    let mut section: Option<&str> = None;
    for map_row in rows {
        let row = &map_row.row;
        let shift = placed.get(row.section.as_str()).map_or(0.0, |p| p.shift);
        if section != Some(row.section.as_str()) {
            if section.is_some() {
                table.push_str("</tbody></table>");
            }
            section = Some(row.section.as_str());
            if let Some(p) = placed.get(row.section.as_str()) {
                let _ = write!(
                    svg,
                    r#"<text class="section-label" x="{}" y="{}">{}</text>"#,
                    p.min_x * SCALE,
                    (p.min_y + shift) * SCALE - 4.0,
                    esc(&row.section)
                );
            }
            let _ = write!(
                table,
                r#"<table class="seat-rows"><caption>{}</caption><tbody>"#,
                esc(&row.section)
            );
        }
        let row_name = esc(&row.name).to_string();
        let _ = write!(table, r#"<tr><th scope="row">Row {row_name}</th><td>"#);
        let mut numbers = itoa::Buffer::new();
        for (i, seat) in row.seats.iter().enumerate() {
            let unit = map_row.first_unit + i as u32;
            let state = taken.get(&unit).copied();
            let accessible = seat.flags.iter().any(|f| f == WHEELCHAIR);
            let ticked = chosen.contains(&unit) && state.is_none();
            wheelchair |= accessible;
            seats += 1;
            // Tens of thousands of these per page: pushed piece by piece, numbers by itoa.
            svg.push_str(r#"<rect class="seat c"#);
            svg.push_str(numbers.format(seat.category % 8));
            svg.push_str(match (state.is_some(), ticked) {
                (true, _) => " t",
                (false, true) => " k",
                (false, false) => "",
            });
            svg.push_str(if accessible { r#" w" x=""# } else { r#"" x=""# });
            push_number(&mut svg, seat.x * SCALE);
            svg.push_str(r#"" y=""#);
            push_number(&mut svg, (seat.y + shift) * SCALE);
            svg.push_str(r#""/>"#);

            table.push_str(if state.is_some() {
                r#"<label class="t"><input type="checkbox" name="seat" value=""#
            } else {
                r#"<label><input type="checkbox" name="seat" value=""#
            });
            table.push_str(numbers.format(unit));
            table.push('"');
            if ticked {
                table.push_str(" checked");
            }
            if state.is_some() || !selectable {
                table.push_str(" disabled");
            }
            table.push_str(r#"><span class="vh">Row "#);
            table.push_str(&row_name);
            table.push_str(" seat </span>");
            push_escaped(&mut table, &seat.name);
            if accessible {
                table.push_str(
                    r#"<span aria-hidden="true"> ♿</span><span class="vh">, wheelchair space</span>"#,
                );
            }
            table.push_str("</label>");
        }
        table.push_str("</td></tr>");
    }
    if section.is_some() {
        table.push_str("</tbody></table>");
    }
    svg.push_str("</svg>");
    Drawn {
        svg,
        table,
        seats,
        wheelchair,
    }
}

/// `text` escaped for HTML.
pub(super) fn esc(text: &str) -> impl std::fmt::Display + '_ {
    let Ok(safe) = escape(text, Html);
    safe
}

/// `text` escaped onto `out`; most names (seat numbers) need no escaping and are copied as they are.
fn push_escaped(out: &mut String, text: &str) {
    if text
        .bytes()
        .any(|b| matches!(b, b'<' | b'>' | b'&' | b'"' | b'\''))
    {
        let _ = write!(out, "{}", esc(text));
    } else {
        out.push_str(text);
    }
}

/// A coordinate onto `out`: whole numbers (the usual case) as integers, others as Rust writes them.
fn push_number(out: &mut String, value: f64) {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        out.push_str(itoa::Buffer::new().format(value as i64));
    } else {
        let _ = write!(out, "{value}");
    }
}

/// Each section's bounding box and how far down it is moved: as given, unless it would overlap a
/// section placed before it, then below everything placed so far with a gap for its name.
fn place_sections(rows: &[MapRow]) -> BTreeMap<&str, Placed> {
    let mut boxes: Vec<(&str, Placed)> = Vec::new();
    for map_row in rows {
        let name = map_row.row.section.as_str();
        let index = match boxes.iter().position(|(n, _)| *n == name) {
            Some(index) => index,
            None => {
                boxes.push((
                    name,
                    Placed {
                        min_x: f64::MAX,
                        min_y: f64::MAX,
                        max_x: f64::MIN,
                        max_y: f64::MIN,
                        shift: 0.0,
                    },
                ));
                boxes.len() - 1
            }
        };
        let placed = &mut boxes[index].1;
        for seat in &map_row.row.seats {
            placed.min_x = placed.min_x.min(seat.x);
            placed.min_y = placed.min_y.min(seat.y);
            placed.max_x = placed.max_x.max(seat.x);
            placed.max_y = placed.max_y.max(seat.y);
        }
    }
    let mut bottom = f64::MIN;
    for i in 0..boxes.len() {
        let overlaps = boxes[..i].iter().any(|(_, other)| {
            let (a, b) = (&boxes[i].1, other);
            a.min_x <= b.max_x + 1.0
                && b.min_x <= a.max_x + 1.0
                && a.min_y <= b.max_y + b.shift + SECTION_GAP
                && b.min_y + b.shift <= a.max_y + SECTION_GAP
        });
        if overlaps {
            boxes[i].1.shift = bottom + SECTION_GAP - boxes[i].1.min_y;
        } else if i == 0 {
            // The first section starts at the top, however the map numbers its rows.
            boxes[i].1.shift = -boxes[i].1.min_y;
        }
        bottom = bottom.max(boxes[i].1.max_y + boxes[i].1.shift + 1.0);
    }
    boxes.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    use tix_core::shows::{Seat, SeatRow};

    fn row(section: &str, name: &str, y: f64, seats: u32, first_unit: u32) -> MapRow {
        MapRow {
            first_unit,
            row: SeatRow {
                section: section.into(),
                name: name.into(),
                seats: (0..seats)
                    .map(|s| Seat {
                        name: (s + 1).to_string(),
                        category: 0,
                        x: f64::from(s),
                        y,
                        rank: s,
                        flags: if s == 0 {
                            vec![WHEELCHAIR.into()]
                        } else {
                            Vec::new()
                        },
                    })
                    .collect(),
            },
        }
    }

    #[test]
    fn the_picture_and_the_table_carry_every_seat_in_unit_order_with_taken_seats_disabled() {
        let taken = BTreeMap::from([(1, UnitState::Sold), (4, UnitState::Held)]);
        let drawn = draw(
            &[row("Stalls", "A", 0.0, 3, 0), row("Stalls", "B", 1.0, 3, 3)],
            &taken,
            true,
            &HashSet::from([2]),
        );
        assert_eq!(drawn.seats, 6);
        assert!(drawn.wheelchair);
        assert_eq!(drawn.svg.matches("<rect class=\"seat").count(), 6);
        let values: Vec<&str> = drawn
            .table
            .split("value=\"")
            .skip(1)
            .map(|s| &s[..s.find('"').unwrap()])
            .collect();
        assert_eq!(values, ["0", "1", "2", "3", "4", "5"]);
        assert_eq!(drawn.table.matches(" disabled").count(), 2);
        assert!(drawn.table.contains(r#"value="1" disabled"#));
        assert!(drawn.table.contains(r#"value="2" checked>"#));
        assert!(drawn.table.contains("Row B seat </span>1<span"));
        assert_eq!(
            drawn.svg.matches(" t\"").count() + drawn.svg.matches(" t w\"").count(),
            2
        );
    }

    #[test]
    fn names_from_the_map_are_escaped() {
        let drawn = draw(
            &[row("<b>Box</b>", "\"1\"", 0.0, 1, 0)],
            &BTreeMap::new(),
            false,
            &HashSet::new(),
        );
        assert!(!drawn.svg.contains("<b>") && !drawn.table.contains("<b>"));
        assert!(drawn.table.contains("&#60;b&#62;Box&#60;/b&#62;"));
        assert!(drawn.table.contains("Row &#34;1&#34;"));
        assert!(
            drawn.table.contains(" disabled"),
            "not on sale: nothing to tick"
        );
    }

    #[test]
    fn sections_drawn_over_each_other_are_stacked_and_side_by_side_ones_stay() {
        // Two sections that both number their rows from y = 0, and one far to the right.
        let m = [
            row("Stalls", "A", 0.0, 4, 0),
            row("Circle", "A", 0.0, 4, 4),
            MapRow {
                first_unit: 8,
                row: SeatRow {
                    section: "Box".into(),
                    name: "1".into(),
                    seats: vec![Seat {
                        name: "1".into(),
                        category: 0,
                        x: 50.0,
                        y: 0.0,
                        rank: 1,
                        flags: Vec::new(),
                    }],
                },
            },
        ];
        let placed = place_sections(&m);
        assert_eq!(placed["Stalls"].shift, 0.0);
        assert!(
            placed["Circle"].shift >= 1.0 + SECTION_GAP,
            "stacked below the stalls"
        );
        assert_eq!(placed["Box"].shift, 0.0, "beside the stalls, as given");
    }
}
