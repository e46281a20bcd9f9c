//! How a show's units are numbered: the places of its standing areas first, then the seats of
//! the rows its seat map gave (in `show:seats` order), then the generated rows. Every consumer of
//! the show's events numbers them the same way, so a unit's ticket id (`ShowId::unit(index)`)
//! means the same seat everywhere.

use crate::events::{Area, Generate, Seat, SeatRow};

/// The numbering of one show's units.
#[derive(Debug, Clone, PartialEq)]
pub struct Layout {
    areas: Vec<(u32, Area)>,
    area_units: u32,
    given_rows: u32,
    generated_first_unit: u32,
    units: u32,
}

impl Layout {
    pub fn new(areas: &[Area], given_rows: u32, generate: &[Generate], units: u32) -> Layout {
        let mut start = 0;
        let areas = areas
            .iter()
            .map(|area| {
                let first = start;
                start += area.capacity;
                (first, area.clone())
            })
            .collect();
        let generated: u32 = generate.iter().map(|g| g.rows * g.seats_per_row).sum();
        Layout {
            areas,
            area_units: start,
            given_rows,
            generated_first_unit: units - generated,
            units,
        }
    }

    /// The areas with the index of their first place.
    pub fn areas(&self) -> impl Iterator<Item = (u32, &Area)> {
        self.areas.iter().map(|(first, area)| (*first, area))
    }

    /// How many units are places in standing areas (they come first).
    pub fn area_units(&self) -> u32 {
        self.area_units
    }

    /// The area a unit is a place of, if it is one.
    pub fn area_of(&self, index: u32) -> Option<&Area> {
        self.areas
            .iter()
            .find(|(first, area)| (*first..*first + area.capacity).contains(&index))
            .map(|(_, area)| area)
    }

    /// The number the first generated row gets: the given rows come before it.
    pub fn first_generated_row(&self) -> u32 {
        self.given_rows
    }

    pub fn generated_first_unit(&self) -> u32 {
        self.generated_first_unit
    }

    pub fn units(&self) -> u32 {
        self.units
    }
}

/// Every row of a show's seat map, numbered, with the index of its first unit: the rows `given`
/// (in order, after the areas' places), then the rows `generate` makes.
pub fn map_rows(
    layout: &Layout,
    given: &[SeatRow],
    generate: &[Generate],
) -> Vec<(u32, u32, SeatRow)> {
    let mut first_unit = layout.area_units();
    let mut rows = Vec::with_capacity(given.len());
    for (number, row) in given.iter().enumerate() {
        rows.push((number as u32, first_unit, row.clone()));
        first_unit += row.seats.len() as u32;
    }
    rows.extend(generated_rows(
        generate,
        layout.first_generated_row(),
        layout.generated_first_unit(),
    ));
    rows
}

/// The rows the generator makes, each with its row number and the index of its first unit, from
/// `first_row` and `first_unit` on. Rows are 1, 2, ... front to back, seats 1, 2, ... left to
/// right, drawn one unit apart with a gap of two rows between blocks; within a block the middle of
/// the front row ranks best, and earlier blocks rank before later ones.
pub fn generated_rows(
    generate: &[Generate],
    first_row: u32,
    first_unit: u32,
) -> impl Iterator<Item = (u32, u32, SeatRow)> + '_ {
    let mut row_number = first_row;
    let mut unit = first_unit;
    let mut y = 0.0;
    let mut rank_base = 1;
    generate.iter().flat_map(move |block| {
        let rows: Vec<(u32, u32, SeatRow)> = (0..block.rows)
            .map(|r| {
                let seats = (0..block.seats_per_row)
                    .map(|s| Seat {
                        name: (s + 1).to_string(),
                        category: block.category,
                        x: f64::from(s),
                        y: y + f64::from(r),
                        rank: rank_base
                            + r * block.seats_per_row
                            + centre_order(s, block.seats_per_row),
                        flags: Vec::new(),
                    })
                    .collect();
                let row = SeatRow {
                    section: block.section.clone(),
                    name: (r + 1).to_string(),
                    seats,
                };
                let numbered = (row_number, unit, row);
                row_number += 1;
                unit += block.seats_per_row;
                numbered
            })
            .collect();
        y += f64::from(block.rows) + 2.0;
        rank_base += block.rows * block.seats_per_row;
        rows
    })
}

/// Where seat `s` of a row of `n` comes when the row is ordered from its middle outwards (left
/// before right at equal distance): 0 for the middle seat.
fn centre_order(s: u32, n: u32) -> u32 {
    // Twice the distance from the middle, to stay in integers; the left seat of a pair comes first.
    let twice = |i: u32| (2 * i + 1).abs_diff(n);
    (0..n)
        .filter(|&other| {
            let (a, b) = (twice(other), twice(s));
            a < b || (a == b && other < s)
        })
        .count() as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_middle_of_a_row_ranks_first_and_every_rank_is_used_once() {
        let order: Vec<u32> = (0..6).map(|s| centre_order(s, 6)).collect();
        assert_eq!(order, vec![4, 2, 0, 1, 3, 5]);
        let order: Vec<u32> = (0..5).map(|s| centre_order(s, 5)).collect();
        assert_eq!(order, vec![3, 1, 0, 2, 4]);
    }

    #[test]
    fn generated_rows_are_numbered_on_from_the_given_ones() {
        let generate = vec![
            Generate {
                section: "Stalls".into(),
                category: 0,
                rows: 2,
                seats_per_row: 3,
            },
            Generate {
                section: "Circle".into(),
                category: 1,
                rows: 1,
                seats_per_row: 4,
            },
        ];
        let rows: Vec<_> = generated_rows(&generate, 5, 100).collect();
        let numbers: Vec<(u32, u32)> = rows.iter().map(|(r, u, _)| (*r, *u)).collect();
        assert_eq!(numbers, vec![(5, 100), (6, 103), (7, 106)]);
        assert_eq!(rows[2].2.section, "Circle");
        assert_eq!(rows[2].2.seats[0].y, 4.0);
        // Front row middle seat is rank 1; the Circle ranks after all of the Stalls.
        assert_eq!(rows[0].2.seats[1].rank, 1);
        assert!(rows[2].2.seats.iter().all(|s| s.rank > 6));
    }

    #[test]
    fn areas_come_first_and_generated_seats_last() {
        let areas = vec![
            Area {
                name: "Floor".into(),
                category: 0,
                capacity: 10,
            },
            Area {
                name: "Bar".into(),
                category: 0,
                capacity: 5,
            },
        ];
        let generate = vec![Generate {
            section: "S".into(),
            category: 1,
            rows: 2,
            seats_per_row: 2,
        }];
        let layout = Layout::new(&areas, 3, &generate, 15 + 6 + 4);
        assert_eq!(layout.area_units(), 15);
        assert_eq!(layout.area_of(12).map(|a| a.name.as_str()), Some("Bar"));
        assert_eq!(layout.area_of(15), None);
        assert_eq!(layout.generated_first_unit(), 21);
        assert_eq!(layout.first_generated_row(), 3);
    }
}
