//! A show as a request describes it, checked against every rule before anything is written: the
//! draft becomes a `ShowPlan` (what `ShowsStore::create` writes) or a list of problems, each
//! naming the field it is about (`categories[1].price`), so a client can show them all at once.

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value};

use super::csv_map;
use super::{DEFAULT_MAX_PER_ORDER, MAX_PER_ORDER_LIMIT};
use crate::events::{Area, Category, Generate, Seat, SeatRow, ShowDetails, ShowStatus};
use crate::ids::MAX_SHOW_UNITS;
use crate::time::Millis;

const MAX_TITLE: usize = 200;
const MAX_TEXT: usize = 5_000;
const MAX_NAME: usize = 120;
const MAX_CATEGORIES: usize = 50;
const MAX_PERFORMERS: usize = 50;
const MAX_FLAGS: usize = 8;
/// The longest row, and the most rows a generated block may have.
pub(super) const MAX_ROW: u32 = 1_000;
const MAX_PRICE: f64 = 999_999.99;

/// One thing wrong with a request, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub field: String,
    pub message: String,
}

/// A request to create a show, as JSON.
pub struct ShowDraft<'a>(pub &'a Map<String, Value>);

/// A request to change a show's details, maximum per order or prices, as JSON.
pub struct ShowEdit<'a>(pub &'a Map<String, Value>);

/// A show that passed every check: what the store writes.
#[derive(Debug, Clone, PartialEq)]
pub struct ShowPlan {
    pub details: ShowDetails,
    pub status: ShowStatus,
    pub max_per_order: u32,
    pub categories: Vec<Category>,
    pub areas: Vec<Area>,
    /// The rows the seat map gave, seats left to right.
    pub given: Vec<SeatRow>,
    pub generate: Vec<Generate>,
    pub units: u32,
}

/// Collects problems while reading a request.
#[derive(Default)]
pub(super) struct Check {
    problems: Vec<Problem>,
}

impl Check {
    pub(super) fn fail(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.problems.push(Problem {
            field: field.into(),
            message: message.into(),
        });
    }

    pub(super) fn has_problems(&self) -> bool {
        !self.problems.is_empty()
    }

    fn finish<T>(self, value: T) -> Result<T, Vec<Problem>> {
        if self.problems.is_empty() {
            Ok(value)
        } else {
            Err(self.problems)
        }
    }

    /// An optional string of at most `max` characters.
    fn text(&mut self, body: &Map<String, Value>, field: &str, max: usize) -> Option<String> {
        match body.get(field) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if s.chars().count() > max => {
                self.fail(field, format!("must be at most {max} characters"));
                None
            }
            Some(Value::String(s)) => Some(s.trim().to_owned()),
            Some(_) => {
                self.fail(field, "must be a string");
                None
            }
        }
    }

    /// A required, non-empty name of at most `MAX_NAME` characters.
    pub(super) fn name(&mut self, value: Option<&Value>, field: &str) -> Option<String> {
        match value {
            Some(Value::String(s)) if s.trim().is_empty() => {
                self.fail(field, "must not be empty");
                None
            }
            Some(Value::String(s)) if s.chars().count() > MAX_NAME => {
                self.fail(field, format!("must be at most {MAX_NAME} characters"));
                None
            }
            Some(Value::String(s)) => Some(s.trim().to_owned()),
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => {
                self.fail(field, "is required");
                None
            }
        }
    }

    /// An optional instant in RFC 3339 form.
    fn instant(&mut self, body: &Map<String, Value>, field: &str) -> Option<Millis> {
        let text = self.text(body, field, 64)?;
        let at = Millis::parse_iso(&text);
        if at.is_none() {
            self.fail(
                field,
                "must be a date and time such as 2026-12-04T20:00:00Z",
            );
        }
        at
    }

    /// A whole number in `1..=max`, or `None` when absent.
    pub(super) fn count(&mut self, value: Option<&Value>, field: &str, max: u32) -> Option<u32> {
        match value {
            None | Some(Value::Null) => None,
            Some(v) => match v.as_u64() {
                Some(n) if (1..=u64::from(max)).contains(&n) => Some(n as u32),
                _ => {
                    self.fail(field, format!("must be a whole number from 1 to {max}"));
                    None
                }
            },
        }
    }

    pub(super) fn number(&mut self, value: Option<&Value>, field: &str) -> Option<f64> {
        match value.and_then(Value::as_f64) {
            Some(n) if n.is_finite() && n.abs() <= 1e9 => Some(n),
            _ => {
                self.fail(field, "must be a number");
                None
            }
        }
    }

    /// A price: a number or a decimal string, above 0, in whole cents.
    fn price(&mut self, value: Option<&Value>, field: &str) -> Option<f64> {
        let parsed = match value {
            Some(Value::String(s)) => s.trim().parse::<f64>().ok(),
            Some(Value::Number(n)) => n.as_f64(),
            _ => None,
        };
        match parsed {
            Some(p) if p.is_finite() && p > 0.0 && p <= MAX_PRICE => {
                let cents = (p * 100.0).round();
                if (p * 100.0 - cents).abs() > 1e-6 {
                    self.fail(field, "must be in whole cents");
                    None
                } else {
                    Some(cents / 100.0)
                }
            }
            _ => {
                self.fail(
                    field,
                    format!("must be a price above 0 and at most {MAX_PRICE}"),
                );
                None
            }
        }
    }

    fn array<'v>(&mut self, value: Option<&'v Value>, field: &str) -> &'v [Value] {
        match value {
            None | Some(Value::Null) => &[],
            Some(Value::Array(items)) => items,
            Some(_) => {
                self.fail(field, "must be a list");
                &[]
            }
        }
    }

    fn object<'v>(&mut self, value: &'v Value, field: &str) -> Option<&'v Map<String, Value>> {
        let object = value.as_object();
        if object.is_none() {
            self.fail(field, "must be an object");
        }
        object
    }
}

/// Category names and their indexes, for resolving the names seats and areas use.
pub(super) struct Categories<'a>(HashMap<&'a str, u16>);

impl<'a> Categories<'a> {
    pub(super) fn new(list: &'a [Category]) -> Categories<'a> {
        Categories(
            list.iter()
                .enumerate()
                .map(|(i, c)| (c.name.as_str(), i as u16))
                .collect(),
        )
    }

    pub(super) fn resolve(
        &self,
        check: &mut Check,
        value: Option<&Value>,
        field: &str,
    ) -> Option<u16> {
        let name = check.name(value, field)?;
        let index = self.0.get(name.as_str()).copied();
        if index.is_none() {
            check.fail(field, format!("names no category of the show: {name:?}"));
        }
        index
    }
}

impl ShowDraft<'_> {
    /// Checks the request against every rule; `now` decides nothing but is the floor of no time.
    pub fn plan(&self) -> Result<ShowPlan, Vec<Problem>> {
        let body = self.0;
        let mut check = Check::default();
        let details = details(&mut check, body, None);
        let status = match check.text(body, "status", 32).as_deref() {
            None | Some("on-sale") => ShowStatus::OnSale,
            Some("draft") => ShowStatus::Draft,
            Some(_) => {
                check.fail("status", "must be \"draft\" or \"on-sale\"");
                ShowStatus::Draft
            }
        };
        let max_per_order = check
            .count(body.get("maxPerOrder"), "maxPerOrder", MAX_PER_ORDER_LIMIT)
            .unwrap_or(DEFAULT_MAX_PER_ORDER);
        let categories = categories(&mut check, body);
        let names = Categories::new(&categories);
        let areas = areas(&mut check, body, &names);
        let given = given_rows(&mut check, body, &names);
        let generate = generate(&mut check, body, &names, &given);
        if body.get("areas").is_none()
            && body.get("seatMap").is_none()
            && body.get("seatMapCsv").is_none()
            && body.get("generate").is_none()
        {
            check.fail(
                "areas",
                "give the show something to sell: areas, seatMap (or seatMapCsv) or generate",
            );
        }
        let units = count_units(&mut check, &areas, &given, &generate);
        check_category_use(&mut check, &categories, &areas, &given, &generate);
        let details = details.unwrap_or_default();
        check.finish(ShowPlan {
            details,
            status,
            max_per_order,
            categories,
            areas,
            given,
            generate,
            units,
        })
    }
}

/// What an edit changes: new details (the old ones patched), maximum and prices by category.
#[derive(Debug, Clone, PartialEq)]
pub struct EditPlan {
    pub details: ShowDetails,
    pub max_per_order: Option<u32>,
    pub prices: Vec<(String, f64)>,
}

impl ShowEdit<'_> {
    /// Checks an edit of a show whose details are now `current`.
    pub fn plan(&self, current: &ShowDetails) -> Result<EditPlan, Vec<Problem>> {
        let body = self.0;
        let mut check = Check::default();
        let details = details(&mut check, body, Some(current));
        let max_per_order =
            check.count(body.get("maxPerOrder"), "maxPerOrder", MAX_PER_ORDER_LIMIT);
        let mut prices = Vec::new();
        for (i, item) in check
            .array(body.get("categories"), "categories")
            .iter()
            .enumerate()
        {
            let field = format!("categories[{i}]");
            let Some(item) = check.object(item, &field) else {
                continue;
            };
            let name = check.name(item.get("name"), &format!("{field}.name"));
            let price = check.price(item.get("price"), &format!("{field}.price"));
            if let (Some(name), Some(price)) = (name, price) {
                prices.push((name, price));
            }
        }
        check.finish(EditPlan {
            details: details.unwrap_or_else(|| current.clone()),
            max_per_order,
            prices,
        })
    }
}

/// The details of a new show (`current: None`, title and start required) or an edit of one
/// (fields left out stay as they are; `null` clears an optional one).
fn details(
    check: &mut Check,
    body: &Map<String, Value>,
    current: Option<&ShowDetails>,
) -> Option<ShowDetails> {
    let mut details = current.cloned().unwrap_or_default();
    let given = |field: &str| body.contains_key(field);
    if let Some(title) = check
        .text(body, "title", MAX_TITLE)
        .filter(|t| !t.is_empty())
    {
        details.title = title;
    } else if current.is_none() || given("title") {
        check.fail("title", "Title is required");
    }
    if given("description") {
        details.description = check
            .text(body, "description", MAX_TEXT)
            .unwrap_or_default();
    }
    if given("hall") {
        details.hall = check.text(body, "hall", MAX_NAME).unwrap_or_default();
    }
    if given("performers") {
        let list = check.array(body.get("performers"), "performers");
        if list.len() > MAX_PERFORMERS {
            check.fail("performers", format!("at most {MAX_PERFORMERS} performers"));
        }
        details.performers = list
            .iter()
            .enumerate()
            .filter_map(|(i, p)| check.name(Some(p), &format!("performers[{i}]")))
            .collect();
    }
    match check.instant(body, "startsAt") {
        Some(at) => details.starts_at = at.to_iso(),
        None if current.is_none() && !given("startsAt") => check.fail("startsAt", "is required"),
        None => {}
    }
    for (field, slot) in [
        ("endsAt", &mut details.ends_at),
        ("doorsAt", &mut details.doors_at),
        ("onSaleAt", &mut details.on_sale_at),
        ("offSaleAt", &mut details.off_sale_at),
    ] {
        if given(field) {
            *slot = check.instant(body, field).map(Millis::to_iso);
        }
    }
    let at = |text: &Option<String>| text.as_deref().and_then(Millis::parse_iso);
    let starts = Millis::parse_iso(&details.starts_at);
    if let (Some(starts), Some(ends)) = (starts, at(&details.ends_at))
        && ends <= starts
    {
        check.fail("endsAt", "must be after startsAt");
    }
    if let (Some(starts), Some(doors)) = (starts, at(&details.doors_at))
        && doors > starts
    {
        check.fail("doorsAt", "must not be after startsAt");
    }
    if let (Some(on), Some(off)) = (at(&details.on_sale_at), at(&details.off_sale_at))
        && off <= on
    {
        check.fail("offSaleAt", "must be after onSaleAt");
    }
    Some(details)
}

fn categories(check: &mut Check, body: &Map<String, Value>) -> Vec<Category> {
    let list = check.array(body.get("categories"), "categories");
    if list.is_empty() {
        check.fail("categories", "give at least one price category");
    }
    if list.len() > MAX_CATEGORIES {
        check.fail("categories", format!("at most {MAX_CATEGORIES} categories"));
    }
    let mut seen = HashSet::new();
    let mut categories = Vec::new();
    for (i, item) in list.iter().enumerate() {
        let field = format!("categories[{i}]");
        let Some(item) = check.object(item, &field) else {
            continue;
        };
        let name = check.name(item.get("name"), &format!("{field}.name"));
        let price = check.price(item.get("price"), &format!("{field}.price"));
        if let Some(name) = &name
            && !seen.insert(name.clone())
        {
            check.fail(format!("{field}.name"), format!("{name:?} is given twice"));
        }
        if let (Some(name), Some(price)) = (name, price) {
            categories.push(Category { name, price });
        }
    }
    categories
}

fn areas(check: &mut Check, body: &Map<String, Value>, names: &Categories<'_>) -> Vec<Area> {
    let mut seen = HashSet::new();
    let mut areas = Vec::new();
    for (i, item) in check.array(body.get("areas"), "areas").iter().enumerate() {
        let field = format!("areas[{i}]");
        let Some(item) = check.object(item, &field) else {
            continue;
        };
        let name = check.name(item.get("name"), &format!("{field}.name"));
        let category = names.resolve(check, item.get("category"), &format!("{field}.category"));
        let capacity = required_count(check, item, "capacity", &field, MAX_SHOW_UNITS);
        if let Some(name) = &name
            && !seen.insert(name.clone())
        {
            check.fail(
                format!("{field}.name"),
                format!("area {name:?} is given twice"),
            );
        }
        if let (Some(name), Some(category), Some(capacity)) = (name, category, capacity) {
            areas.push(Area {
                name,
                category,
                capacity,
            });
        }
    }
    areas
}

/// The rows of `seatMap` or `seatMapCsv`, seats sorted left to right; overlaps refused.
fn given_rows(
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

fn generate(
    check: &mut Check,
    body: &Map<String, Value>,
    names: &Categories<'_>,
    given: &[SeatRow],
) -> Vec<Generate> {
    let mut sections: HashSet<String> = given.iter().map(|r| r.section.clone()).collect();
    let mut blocks = Vec::new();
    for (i, item) in check
        .array(body.get("generate"), "generate")
        .iter()
        .enumerate()
    {
        let field = format!("generate[{i}]");
        let Some(item) = check.object(item, &field) else {
            continue;
        };
        let section = check.name(item.get("section"), &format!("{field}.section"));
        let category = names.resolve(check, item.get("category"), &format!("{field}.category"));
        let rows = required_count(check, item, "rows", &field, MAX_ROW);
        let seats_per_row = required_count(check, item, "seatsPerRow", &field, MAX_ROW);
        if let Some(section) = &section
            && !sections.insert(section.clone())
        {
            check.fail(
                format!("{field}.section"),
                format!("section {section:?} already has seats"),
            );
        }
        if let (Some(section), Some(category), Some(rows), Some(seats_per_row)) =
            (section, category, rows, seats_per_row)
        {
            blocks.push(Generate {
                section,
                category,
                rows,
                seats_per_row,
            });
        }
    }
    blocks
}

fn required_count(
    check: &mut Check,
    item: &Map<String, Value>,
    key: &str,
    field: &str,
    max: u32,
) -> Option<u32> {
    let field = format!("{field}.{key}");
    if item.get(key).is_none_or(Value::is_null) {
        check.fail(field, "is required");
        return None;
    }
    check.count(item.get(key), &field, max)
}

fn count_units(check: &mut Check, areas: &[Area], given: &[SeatRow], generate: &[Generate]) -> u32 {
    let total: u64 = areas.iter().map(|a| u64::from(a.capacity)).sum::<u64>()
        + given.iter().map(|r| r.seats.len() as u64).sum::<u64>()
        + generate
            .iter()
            .map(|g| u64::from(g.rows) * u64::from(g.seats_per_row))
            .sum::<u64>();
    if total > u64::from(MAX_SHOW_UNITS) {
        check.fail(
            "areas",
            format!("a show has at most {MAX_SHOW_UNITS} tickets; this one would have {total}"),
        );
    }
    total.min(u64::from(MAX_SHOW_UNITS)) as u32
}

/// Every category sells something, and a category is either standing or seated, never both (best
/// available for a category is either any places or seats together).
fn check_category_use(
    check: &mut Check,
    categories: &[Category],
    areas: &[Area],
    given: &[SeatRow],
    generate: &[Generate],
) {
    let standing: HashSet<u16> = areas.iter().map(|a| a.category).collect();
    let seated: HashSet<u16> = given
        .iter()
        .flat_map(|r| r.seats.iter().map(|s| s.category))
        .chain(generate.iter().map(|g| g.category))
        .collect();
    for (i, category) in categories.iter().enumerate() {
        let index = i as u16;
        let field = format!("categories[{i}].name");
        match (standing.contains(&index), seated.contains(&index)) {
            (true, true) => check.fail(
                field,
                format!(
                    "{:?} is used by an area and by seats: a category is standing or seated",
                    category.name
                ),
            ),
            (false, false) => check.fail(
                field,
                format!(
                    "{:?} has no tickets: give it an area or seats",
                    category.name
                ),
            ),
            _ => {}
        }
    }
}
