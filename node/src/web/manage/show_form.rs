//! The staff's show form: its fields named as the JSON API's paths (`categories[0].price`), so a
//! problem the show's rules find is shown beside the field it is about, and turned into the
//! API's request body, so the form and the API obey the same rules.
//!
//! Rows of categories, areas and generated blocks are a fixed number of inputs (the form works
//! without script); blank rows are dropped and the rest moved up, so row `i` of the form is item
//! `i` of the request and its problems land on it.

use serde_json::{Map, Value, json};

use tix_core::shows::Show;

use crate::web::csrf::CheckedForm;

/// Rows offered for categories, standing areas and generated blocks of seats.
const CATEGORY_ROWS: usize = 6;
const AREA_ROWS: usize = 4;
const BLOCK_ROWS: usize = 4;

/// The optional times a show has, as (form field, label).
pub(crate) const TIMES: [(&str, &str); 4] = [
    ("doorsAt", "Doors open"),
    ("endsAt", "Ends"),
    ("onSaleAt", "On sale from"),
    ("offSaleAt", "Off sale from"),
];

/// What the form holds, every value as typed.
pub(crate) struct ShowForm {
    pub(crate) title: String,
    pub(crate) description: String,
    /// Comma-separated.
    pub(crate) performers: String,
    pub(crate) hall: String,
    /// Re-entry at the door: a ticket scanned out may come back in.
    pub(crate) reentry: bool,
    /// `YYYY-MM-DDTHH:MM`, UTC, as a `datetime-local` input holds it.
    pub(crate) starts_at: String,
    /// The optional times, in `TIMES` order.
    pub(crate) times: [String; 4],
    pub(crate) max_per_order: String,
    /// `on-sale` or `draft`.
    pub(crate) status: String,
    /// Name, price.
    pub(crate) categories: Vec<[String; 2]>,
    /// Name, category, capacity.
    pub(crate) areas: Vec<[String; 3]>,
    /// Section, category, rows, seats per row.
    pub(crate) blocks: Vec<[String; 4]>,
    /// A seat map as CSV: pasted, or an uploaded file's text.
    pub(crate) csv: String,
}

impl ShowForm {
    pub(crate) fn blank() -> ShowForm {
        ShowForm {
            title: String::new(),
            description: String::new(),
            performers: String::new(),
            hall: String::new(),
            reentry: false,
            starts_at: String::new(),
            times: Default::default(),
            max_per_order: String::new(),
            status: "on-sale".into(),
            categories: pad(Vec::new(), CATEGORY_ROWS),
            areas: pad(Vec::new(), AREA_ROWS),
            blocks: pad(Vec::new(), BLOCK_ROWS),
            csv: String::new(),
        }
    }

    /// The form as sent; an uploaded file (`seatMapFile`) wins over the pasted CSV.
    pub(crate) fn read(form: &CheckedForm) -> ShowForm {
        let text = |name: &str| form.text(name).unwrap_or_default().trim().to_owned();
        let rows = |prefix: &str, fields: &[&str], count: usize| -> Vec<Vec<String>> {
            (0..count)
                .map(|i| {
                    fields
                        .iter()
                        .map(|f| text(&format!("{prefix}[{i}].{f}")))
                        .collect::<Vec<_>>()
                })
                .filter(|row| row.iter().any(|v| !v.is_empty()))
                .collect()
        };
        let file = form.text("seatMapFile").unwrap_or_default();
        ShowForm {
            title: text("title"),
            description: text("description"),
            performers: text("performers"),
            hall: text("hall"),
            reentry: !text("reentry").is_empty(),
            starts_at: text("startsAt"),
            times: TIMES.map(|(name, _)| text(name)),
            max_per_order: text("maxPerOrder"),
            status: match text("status").as_str() {
                "draft" => "draft".into(),
                _ => "on-sale".into(),
            },
            categories: pad(
                rows("categories", &["name", "price"], CATEGORY_ROWS)
                    .into_iter()
                    .map(|r| [r[0].clone(), r[1].clone()])
                    .collect(),
                CATEGORY_ROWS,
            ),
            areas: pad(
                rows("areas", &["name", "category", "capacity"], AREA_ROWS)
                    .into_iter()
                    .map(|r| [r[0].clone(), r[1].clone(), r[2].clone()])
                    .collect(),
                AREA_ROWS,
            ),
            blocks: pad(
                rows(
                    "generate",
                    &["section", "category", "rows", "seatsPerRow"],
                    BLOCK_ROWS,
                )
                .into_iter()
                .map(|r| [r[0].clone(), r[1].clone(), r[2].clone(), r[3].clone()])
                .collect(),
                BLOCK_ROWS,
            ),
            csv: if file.trim().is_empty() {
                form.text("seatMapCsv")
                    .unwrap_or_default()
                    .trim()
                    .to_owned()
            } else {
                file.trim().to_owned()
            },
        }
    }

    /// An existing show's details and prices, to edit.
    pub(crate) fn of_show(show: &Show) -> ShowForm {
        let d = &show.details;
        let local = |iso: &Option<String>| iso.as_deref().map(input_time).unwrap_or_default();
        ShowForm {
            title: d.title.clone(),
            description: d.description.clone(),
            performers: d.performers.join(", "),
            hall: d.hall.clone(),
            reentry: d.reentry,
            starts_at: input_time(&d.starts_at),
            times: [
                local(&d.doors_at),
                local(&d.ends_at),
                local(&d.on_sale_at),
                local(&d.off_sale_at),
            ],
            max_per_order: show.max_per_order.to_string(),
            status: show.status.as_str().to_owned(),
            categories: show
                .categories
                .iter()
                .map(|c| [c.name.clone(), format!("{:.2}", c.price)])
                .collect(),
            areas: Vec::new(),
            blocks: Vec::new(),
            csv: String::new(),
        }
    }

    /// The API's body for a new show.
    pub(crate) fn new_show_json(&self) -> Map<String, Value> {
        let mut body = self.details_json(false);
        body.insert("status".into(), json!(self.status));
        body.insert(
            "categories".into(),
            Value::Array(
                filled(&self.categories)
                    .map(|[name, price]| json!({"name": name, "price": price}))
                    .collect(),
            ),
        );
        let areas: Vec<Value> = filled(&self.areas)
            .map(|[name, category, capacity]| {
                json!({"name": name, "category": category, "capacity": count(capacity)})
            })
            .collect();
        if !areas.is_empty() {
            body.insert("areas".into(), Value::Array(areas));
        }
        let blocks: Vec<Value> = filled(&self.blocks)
            .map(|[section, category, rows, seats]| {
                json!({"section": section, "category": category, "rows": count(rows),
                       "seatsPerRow": count(seats)})
            })
            .collect();
        if !blocks.is_empty() {
            body.insert("generate".into(), Value::Array(blocks));
        }
        if !self.csv.is_empty() {
            body.insert("seatMapCsv".into(), json!(self.csv));
        }
        body
    }

    /// The API's body for an edit: every detail (a blank optional one cleared) and the prices.
    pub(crate) fn edit_json(&self) -> Map<String, Value> {
        let mut body = self.details_json(true);
        body.insert(
            "categories".into(),
            Value::Array(
                filled(&self.categories)
                    .map(|[name, price]| json!({"name": name, "price": price}))
                    .collect(),
            ),
        );
        body
    }

    fn details_json(&self, editing: bool) -> Map<String, Value> {
        let mut body = Map::new();
        body.insert("title".into(), json!(self.title));
        body.insert("description".into(), json!(self.description));
        body.insert("hall".into(), json!(self.hall));
        body.insert("reentry".into(), json!(self.reentry));
        let performers: Vec<&str> = self
            .performers
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .collect();
        body.insert("performers".into(), json!(performers));
        if !self.starts_at.is_empty() {
            body.insert("startsAt".into(), json!(iso_time(&self.starts_at)));
        }
        for ((name, _), value) in TIMES.iter().zip(&self.times) {
            if !value.is_empty() {
                body.insert((*name).into(), json!(iso_time(value)));
            } else if editing {
                body.insert((*name).into(), Value::Null);
            }
        }
        if !self.max_per_order.is_empty() {
            body.insert("maxPerOrder".into(), count(&self.max_per_order));
        }
        body
    }
}

/// The rows with anything typed in them.
fn filled<const N: usize>(rows: &[[String; N]]) -> impl Iterator<Item = &[String; N]> {
    rows.iter().filter(|row| row.iter().any(|v| !v.is_empty()))
}

fn pad<const N: usize>(mut rows: Vec<[String; N]>, count: usize) -> Vec<[String; N]> {
    while rows.len() < count {
        rows.push(std::array::from_fn(|_| String::new()));
    }
    rows
}

/// A whole number as a number; anything else as typed, for the rules to refuse by name.
fn count(text: &str) -> Value {
    text.parse::<u64>()
        .map_or_else(|_| json!(text), |n| json!(n))
}

/// A `datetime-local` value (UTC) as ISO 8601; anything else as typed.
fn iso_time(local: &str) -> String {
    if local.len() == 16 && local.as_bytes().get(10) == Some(&b'T') {
        format!("{local}:00Z")
    } else {
        local.to_owned()
    }
}

/// An ISO 8601 time as a `datetime-local` input shows it (UTC, to the minute).
fn input_time(iso: &str) -> String {
    match tix_core::time::Millis::parse_iso(iso) {
        Some(at) => at.to_iso()[..16].to_owned(),
        None => iso.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(pairs: &[(&str, &str)]) -> CheckedForm {
        CheckedForm(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), Value::String((*v).to_owned())))
                .collect(),
        )
    }

    #[test]
    fn blank_rows_are_dropped_and_the_rest_move_up_so_problems_land_on_their_row() {
        let read = ShowForm::read(&form(&[
            ("title", " Gala "),
            ("startsAt", "2030-12-06T20:00"),
            ("categories[1].name", "Stalls"),
            ("categories[1].price", "30"),
            ("areas[2].name", "Floor"),
            ("areas[2].category", "Stalls"),
            ("areas[2].capacity", "lots"),
            ("maxPerOrder", "8"),
        ]));
        assert_eq!(read.categories[0], ["Stalls".to_owned(), "30".to_owned()]);
        assert_eq!(read.categories.len(), CATEGORY_ROWS);
        let body = read.new_show_json();
        assert_eq!(body["title"], "Gala");
        assert_eq!(body["startsAt"], "2030-12-06T20:00:00Z");
        assert_eq!(
            body["categories"],
            json!([{"name": "Stalls", "price": "30"}])
        );
        assert_eq!(
            body["areas"],
            json!([{"name": "Floor", "category": "Stalls", "capacity": "lots"}])
        );
        assert_eq!(body["maxPerOrder"], 8);
        assert!(!body.contains_key("generate") && !body.contains_key("seatMapCsv"));
        assert!(
            !body.contains_key("onSaleAt"),
            "a new show leaves out blank times"
        );
        assert_eq!(body["status"], "on-sale");
    }

    #[test]
    fn an_uploaded_file_wins_over_pasted_csv_and_an_edit_clears_blank_times() {
        let read = ShowForm::read(&form(&[
            ("seatMapCsv", "pasted"),
            ("seatMapFile", "section,row,seat,category,x,y\n"),
            ("generate[0].section", "Stalls"),
            ("generate[0].category", "Stalls"),
            ("generate[0].rows", "10"),
            ("generate[0].seatsPerRow", "20"),
        ]));
        assert_eq!(read.csv, "section,row,seat,category,x,y");
        let body = read.new_show_json();
        assert_eq!(
            body["generate"],
            json!([{"section": "Stalls", "category": "Stalls", "rows": 10, "seatsPerRow": 20}])
        );
        let edit = ShowForm::read(&form(&[("title", "Gala"), ("onSaleAt", "")])).edit_json();
        assert_eq!(edit["onSaleAt"], Value::Null);
        assert!(
            !edit.contains_key("startsAt"),
            "a blank start is left as it is"
        );
    }
}
