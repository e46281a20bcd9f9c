//! The ticket passes handed to a customer: what each says and its QR code, which a door scanner
//! reads. A marketplace order has one pass; an order of a show has one per ticket of the party.

use qrcode::QrCode;
use qrcode::render::svg;
use serde::Serialize;
use serde_json::Value;

/// A sold ticket as printed at the counter.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Pass {
    pub order_id: String,
    pub ticket_id: String,
    pub title: String,
    pub price: f64,
    /// What the QR code encodes.
    pub code: String,
    /// The QR code as an SVG document.
    pub qr_svg: String,
    /// A show's ticket: its seat (section, row and seat) or area; none for a marketplace ticket.
    pub seat: Option<String>,
    /// A show's ticket: its price category.
    pub category: Option<String>,
    /// A show's ticket: when the show starts (ISO), when the show was at hand.
    pub starts_at: Option<String>,
    /// A show's ticket: its hall, when the show was at hand.
    pub hall: Option<String>,
}

impl Pass {
    /// The first pass of an order, from the node's order JSON (a marketplace order's only one).
    pub fn of_order(order: &Value) -> Option<Pass> {
        Pass::all_of_order(order, None).into_iter().next()
    }

    /// Every pass of an order: one per ticket of an order of a show (`tickets`), else the one of
    /// its `ticket`. `show` is the show's JSON, when known, for its title, start and hall.
    pub fn all_of_order(order: &Value, show: Option<&Value>) -> Vec<Pass> {
        let Some(order_id) = order["id"].as_str() else {
            return Vec::new();
        };
        match order["tickets"].as_array() {
            Some(tickets) if order["show"].is_string() => tickets
                .iter()
                .filter_map(|ticket| show_pass(order_id, order, ticket, show))
                .collect(),
            _ => listing_pass(order_id, &order["ticket"])
                .into_iter()
                .collect(),
        }
    }

    /// A pass with only its ids and code filled in.
    fn coded(order_id: &str, ticket_id: &str) -> Pass {
        let code = format!("TIX1:{order_id}:{ticket_id}");
        Pass {
            order_id: order_id.to_owned(),
            ticket_id: ticket_id.to_owned(),
            title: String::new(),
            price: 0.0,
            qr_svg: qr_svg(&code),
            code,
            seat: None,
            category: None,
            starts_at: None,
            hall: None,
        }
    }
}

/// The pass of a marketplace ticket (the order's `ticket`).
fn listing_pass(order_id: &str, ticket: &Value) -> Option<Pass> {
    let ticket_id = ticket["id"].as_str()?;
    Some(Pass {
        title: text(&ticket["title"]).unwrap_or_default(),
        price: amount(&ticket["price"]),
        ..Pass::coded(order_id, ticket_id)
    })
}

/// The pass of one ticket of an order of a show (an entry of the order's `tickets`).
fn show_pass(order_id: &str, order: &Value, ticket: &Value, show: Option<&Value>) -> Option<Pass> {
    let ticket_id = ticket["id"].as_str()?;
    let show = show.unwrap_or(&Value::Null);
    Some(Pass {
        // The order's placeholder ticket carries the show's title too.
        title: text(&show["title"])
            .or_else(|| text(&order["ticket"]["title"]))
            .unwrap_or_default(),
        price: amount(&ticket["price"]),
        seat: text(&ticket["seat"]),
        category: text(&ticket["category"]),
        starts_at: text(&show["startsAt"]),
        hall: text(&show["hall"]),
        ..Pass::coded(order_id, ticket_id)
    })
}

/// A non-empty string.
fn text(value: &Value) -> Option<String> {
    value.as_str().filter(|s| !s.is_empty()).map(str::to_owned)
}

/// Money as the node writes it: a number (orders) or a decimal string (shows).
pub fn amount(value: &Value) -> f64 {
    value
        .as_f64()
        .or_else(|| value.as_str().and_then(|s| s.trim().parse().ok()))
        .unwrap_or_default()
}

/// An SVG QR code of `text`, medium error correction, with its quiet zone.
pub fn qr_svg(text: &str) -> String {
    let code = QrCode::with_error_correction_level(text, qrcode::EcLevel::M)
        .expect("a pass code always fits a QR code");
    code.render::<svg::Color<'_>>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_pass_names_its_order_and_ticket_and_draws_their_code() {
        let order = json!({
            "id": "5f8d0d55b54764421b7156c9",
            "status": "complete",
            "ticket": { "id": "5f8d0d55b54764421b7156cb", "title": "Stalls A1", "price": 42.5 },
        });
        let pass = Pass::of_order(&order).unwrap();
        assert_eq!(
            pass.code,
            "TIX1:5f8d0d55b54764421b7156c9:5f8d0d55b54764421b7156cb"
        );
        assert_eq!(pass.price, 42.5);
        assert_eq!(pass.seat, None);
        assert!(pass.qr_svg.contains("<svg"), "{}", pass.qr_svg);
        assert!(Pass::of_order(&json!({ "id": "x" })).is_none());
        assert_eq!(Pass::all_of_order(&order, None).len(), 1);
    }

    /// An order of a show as the node writes it: the placeholder `ticket` is the first of the
    /// party's, with the show's title.
    fn party_of_three() -> Value {
        json!({
            "id": "6a0000000000000000000001",
            "status": "complete",
            "show": "6b0000000000000000000000",
            "ticket": { "id": "6b0000000000000000000005", "title": "Friday Concert", "price": 30 },
            "tickets": [
                { "id": "6b0000000000000000000005", "price": 30, "category": "Stalls", "seat": "Stalls row 1 seat 5" },
                { "id": "6b0000000000000000000006", "price": 30, "category": "Stalls", "seat": "Stalls row 1 seat 6" },
                { "id": "6b0000000000000000000020", "price": 12.5, "category": "Balcony", "seat": "Standing" },
            ],
            "quantity": 3,
            "total": 72.5,
        })
    }

    #[test]
    fn a_show_order_has_one_pass_per_ticket_each_with_its_seat_and_code() {
        let order = party_of_three();
        let passes = Pass::all_of_order(&order, None);
        assert_eq!(passes.len(), 3);
        let codes: Vec<&str> = passes.iter().map(|p| p.code.as_str()).collect();
        assert_eq!(
            codes,
            [
                "TIX1:6a0000000000000000000001:6b0000000000000000000005",
                "TIX1:6a0000000000000000000001:6b0000000000000000000006",
                "TIX1:6a0000000000000000000001:6b0000000000000000000020",
            ]
        );
        let seats: Vec<&str> = passes.iter().filter_map(|p| p.seat.as_deref()).collect();
        assert_eq!(
            seats,
            ["Stalls row 1 seat 5", "Stalls row 1 seat 6", "Standing"]
        );
        assert!(passes.iter().all(|p| p.title == "Friday Concert"));
        assert!(
            passes
                .iter()
                .all(|p| p.order_id == "6a0000000000000000000001")
        );
        assert_eq!(passes[2].category.as_deref(), Some("Balcony"));
        assert_eq!(passes.iter().map(|p| p.price).sum::<f64>(), 72.5);
        // Each QR code draws its own ticket's code.
        assert_ne!(passes[0].qr_svg, passes[1].qr_svg);
        // The first pass is the one a single-pass caller gets.
        assert_eq!(Pass::of_order(&order).as_ref(), passes.first());
    }

    #[test]
    fn a_show_at_hand_gives_its_passes_its_title_start_and_hall() {
        let show = json!({
            "id": "6b0000000000000000000000",
            "title": "Friday Concert (late)",
            "startsAt": "2030-12-06T20:00:00Z",
            "hall": "Main hall",
        });
        let passes = Pass::all_of_order(&party_of_three(), Some(&show));
        assert_eq!(passes.len(), 3);
        assert_eq!(passes[0].title, "Friday Concert (late)");
        assert_eq!(passes[1].starts_at.as_deref(), Some("2030-12-06T20:00:00Z"));
        assert_eq!(passes[2].hall.as_deref(), Some("Main hall"));
        // A ticket without an id gets no pass (rather than one no door accepts).
        let mut broken = party_of_three();
        broken["tickets"][1]["id"] = Value::Null;
        assert_eq!(Pass::all_of_order(&broken, None).len(), 2);
    }

    #[test]
    fn money_is_read_as_a_number_or_a_decimal_string() {
        assert_eq!(amount(&json!(30)), 30.0);
        assert_eq!(amount(&json!("30.00")), 30.0);
        assert_eq!(amount(&json!("12.50")), 12.5);
        assert_eq!(amount(&json!("n/a")), 0.0);
        assert_eq!(amount(&Value::Null), 0.0);
    }
}
