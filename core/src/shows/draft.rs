//! A show as a request describes it, checked against every rule before anything is written: the
//! draft becomes a `ShowPlan` (what `ShowsStore::create` writes) or a list of problems, each
//! naming the field it is about (`categories[1].price`), so a client can show them all at once.

use std::collections::HashSet;

use serde_json::{Map, Value};

pub use super::check::Problem;
use super::check::{Categories, Check, MAX_NAME};
use super::layout::Layout;
use super::seat_map::{MAX_ROW, given_rows};
use super::{DEFAULT_MAX_PER_ORDER, MAX_PER_ORDER_LIMIT};
use crate::events::{Area, Category, Generate, SeatRow, ShowDetails, ShowStatus};
use crate::ids::MAX_SHOW_UNITS;
use crate::time::Millis;

const MAX_TITLE: usize = 200;
const MAX_TEXT: usize = 5_000;
const MAX_CATEGORIES: usize = 50;
const MAX_PERFORMERS: usize = 50;

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

impl ShowPlan {
    /// How many units each category gets, in the plan's order of categories.
    pub fn capacities(&self) -> Vec<u32> {
        let mut capacities = vec![0; self.categories.len()];
        for area in &self.areas {
            capacities[usize::from(area.category)] += area.capacity;
        }
        for seat in self.given.iter().flat_map(|r| &r.seats) {
            capacities[usize::from(seat.category)] += 1;
        }
        for block in &self.generate {
            capacities[usize::from(block.category)] += block.rows * block.seats_per_row;
        }
        capacities
    }

    /// How the plan's units will be numbered.
    pub fn layout(&self) -> Layout {
        Layout::new(
            &self.areas,
            self.given.len() as u32,
            &self.generate,
            self.units,
        )
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
    match body.get("reentry") {
        None => {}
        Some(Value::Bool(reentry)) => details.reentry = *reentry,
        Some(Value::Null) => details.reentry = false,
        Some(_) => check.fail("reentry", "must be true or false"),
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
