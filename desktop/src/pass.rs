//! The ticket passes handed to a customer: what each says and its QR code, which a door scanner
//! reads. A marketplace order has one pass; an order of a show has one per ticket of the party.
//!
//! The code on a pass is the node's: a `TIX2:` code it signed for a paid ticket (the order's
//! `passes`). The app never makes one up: a ticket the node gave no code for (not paid yet, or
//! refunded) gets a pass that says why and has nothing to scan.

use std::collections::HashMap;

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
    /// What the QR code encodes: the node's signed code; none when the node gave none.
    pub code: Option<String>,
    /// The QR code as an SVG document, when there is a code.
    pub qr_svg: Option<String>,
    /// Why there is nothing to print, when there is no code ("Not paid yet", "Refunded").
    pub unprintable: Option<String>,
    /// A show's ticket: its seat (section, row and seat) or area; none for a marketplace ticket.
    pub seat: Option<String>,
    /// A show's ticket: its price category.
    pub category: Option<String>,
    /// A show's ticket: when the show starts (ISO), when the show was at hand.
    pub starts_at: Option<String>,
    /// A show's ticket: its hall, when the show was at hand.
    pub hall: Option<String>,
}

/// What an unpaid order's passes say instead of a code.
pub const NOT_PAID: &str = "Not paid yet: no pass to print";
/// What a paid order's ticket without a code says (its money was given back).
pub const NO_VALID_PASS: &str = "Refunded: this ticket has no valid pass";

impl Pass {
    /// The first pass of an order, from the node's order JSON (a marketplace order's only one).
    pub fn of_order(order: &Value) -> Option<Pass> {
        Pass::all_of_order(order, None).into_iter().next()
    }

    /// Every pass of an order: one per ticket of an order of a show (`tickets`), else the one of
    /// its `ticket`, each with its code from the order's `passes`. `show` is the show's JSON, when
    /// known, for its title, start and hall.
    pub fn all_of_order(order: &Value, show: Option<&Value>) -> Vec<Pass> {
        let Some(order_id) = order["id"].as_str() else {
            return Vec::new();
        };
        let codes = Codes::of(order);
        match order["tickets"].as_array() {
            Some(tickets) if order["show"].is_string() => tickets
                .iter()
                .filter_map(|ticket| show_pass(order_id, order, ticket, show, &codes))
                .collect(),
            _ => listing_pass(order_id, &order["ticket"], &codes)
                .into_iter()
                .collect(),
        }
    }

    /// A pass with only its ids and code (or why it has none) filled in.
    fn coded(order_id: &str, ticket_id: &str, codes: &Codes<'_>) -> Pass {
        let (code, unprintable) = match codes.code(ticket_id) {
            Ok(code) => (Some(code.to_owned()), None),
            Err(why) => (None, Some(why.to_owned())),
        };
        Pass {
            order_id: order_id.to_owned(),
            ticket_id: ticket_id.to_owned(),
            title: String::new(),
            price: 0.0,
            qr_svg: code.as_deref().and_then(qr_svg),
            code,
            unprintable,
            seat: None,
            category: None,
            starts_at: None,
            hall: None,
        }
    }
}

/// The codes the node gave an order's tickets: its `passes`, present only once it is paid.
struct Codes<'a> {
    paid: bool,
    by_ticket: HashMap<&'a str, &'a str>,
}

impl<'a> Codes<'a> {
    fn of(order: &'a Value) -> Codes<'a> {
        let passes = order["passes"].as_array();
        Codes {
            paid: passes.is_some(),
            by_ticket: passes
                .into_iter()
                .flatten()
                .filter_map(|p| Some((p["ticketId"].as_str()?, p["code"].as_str()?)))
                .filter(|(_, code)| !code.is_empty())
                .collect(),
        }
    }

    /// The ticket's code, or why it has none.
    fn code(&self, ticket_id: &str) -> Result<&'a str, &'static str> {
        match self.by_ticket.get(ticket_id) {
            Some(code) => Ok(code),
            None if self.paid => Err(NO_VALID_PASS),
            None => Err(NOT_PAID),
        }
    }
}

/// The pass of a marketplace ticket (the order's `ticket`).
fn listing_pass(order_id: &str, ticket: &Value, codes: &Codes<'_>) -> Option<Pass> {
    let ticket_id = ticket["id"].as_str()?;
    Some(Pass {
        title: text(&ticket["title"]).unwrap_or_default(),
        price: amount(&ticket["price"]),
        ..Pass::coded(order_id, ticket_id, codes)
    })
}

/// The pass of one ticket of an order of a show (an entry of the order's `tickets`).
fn show_pass(
    order_id: &str,
    order: &Value,
    ticket: &Value,
    show: Option<&Value>,
    codes: &Codes<'_>,
) -> Option<Pass> {
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
        ..Pass::coded(order_id, ticket_id, codes)
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

/// An SVG QR code of `text`, medium error correction, with its quiet zone; none if the text is
/// too long for a QR code (a signed code is under 200 characters, far below the limit).
pub fn qr_svg(text: &str) -> Option<String> {
    let code = QrCode::with_error_correction_level(text, qrcode::EcLevel::M).ok()?;
    Some(
        code.render::<svg::Color<'_>>()
            .min_dimensions(200, 200)
            .quiet_zone(true)
            .build(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use tix_core::ids::{OrderId, ShowId, TicketId};
    use tix_core::passes::{PassKey, Scope, Window};

    /// A code signed as the node signs them, so tests carry real `TIX2:` codes.
    fn signed(order: &str, ticket: &str, show: Option<&str>) -> String {
        let key = PassKey::from_seed([7; 32]);
        let scope = match show {
            Some(show) => Scope::Show {
                show: show.parse::<ShowId>().unwrap(),
                unit: 5,
            },
            None => Scope::Listing,
        };
        key.sign(&tix_core::passes::Pass {
            ticket: ticket.parse::<TicketId>().unwrap(),
            order: order.parse::<OrderId>().unwrap(),
            scope,
            window: Window::ALWAYS,
        })
    }

    #[test]
    fn a_pass_carries_the_nodes_signed_code_and_draws_it() {
        let (order_id, ticket_id) = ("5f8d0d55b54764421b7156c9", "5f8d0d55b54764421b7156cb");
        let code = signed(order_id, ticket_id, None);
        let order = json!({
            "id": order_id,
            "status": "complete",
            "ticket": { "id": ticket_id, "title": "Stalls A1", "price": 42.5 },
            "passes": [{ "ticketId": ticket_id, "code": code }],
        });
        let pass = Pass::of_order(&order).unwrap();
        assert_eq!(pass.code.as_deref(), Some(code.as_str()));
        assert!(pass.code.as_deref().unwrap().starts_with("TIX2:"));
        assert_eq!(pass.unprintable, None);
        // The code the pass prints is one the venue's key accepts, for this very ticket.
        let read = PassKey::from_seed([7; 32])
            .verifier()
            .verify(pass.code.as_deref().unwrap())
            .unwrap();
        assert_eq!(read.ticket.to_string(), ticket_id);
        assert_eq!(pass.price, 42.5);
        assert_eq!(pass.seat, None);
        let svg = pass.qr_svg.as_deref().unwrap();
        assert!(svg.contains("<svg"), "{svg}");
        assert_eq!(Some(svg), qr_svg(&code).as_deref());
        assert!(Pass::of_order(&json!({ "id": "x" })).is_none());
        assert_eq!(Pass::all_of_order(&order, None).len(), 1);
    }

    #[test]
    fn a_ticket_without_a_code_from_the_node_gets_nothing_to_scan_and_says_why() {
        let unpaid = json!({
            "id": "5f8d0d55b54764421b7156c9",
            "status": "created",
            "ticket": { "id": "5f8d0d55b54764421b7156cb", "title": "Stalls A1", "price": 42.5 },
        });
        let pass = Pass::of_order(&unpaid).unwrap();
        assert_eq!((pass.code, pass.qr_svg), (None, None));
        assert_eq!(pass.unprintable.as_deref(), Some(NOT_PAID));
        // Refunded: the node lists no pass any more.
        let refunded = json!({
            "id": "5f8d0d55b54764421b7156c9",
            "status": "complete",
            "ticket": { "id": "5f8d0d55b54764421b7156cb", "title": "Stalls A1", "price": 42.5 },
            "passes": [],
        });
        let pass = Pass::of_order(&refunded).unwrap();
        assert_eq!(pass.code, None);
        assert_eq!(pass.unprintable.as_deref(), Some(NO_VALID_PASS));
    }

    /// An order of a show as the node writes it: the placeholder `ticket` is the first of the
    /// party's, with the show's title; the passes name their tickets (listed here out of order).
    fn party_of_three() -> Value {
        let (order, show) = ("6a0000000000000000000001", "6b0000000000000000000000");
        let tickets = [
            "6b0000000000000000000005",
            "6b0000000000000000000006",
            "6b0000000000000000000020",
        ];
        json!({
            "id": order,
            "status": "complete",
            "show": show,
            "ticket": { "id": tickets[0], "title": "Friday Concert", "price": 30 },
            "tickets": [
                { "id": tickets[0], "price": 30, "category": "Stalls", "seat": "Stalls row 1 seat 5" },
                { "id": tickets[1], "price": 30, "category": "Stalls", "seat": "Stalls row 1 seat 6" },
                { "id": tickets[2], "price": 12.5, "category": "Balcony", "seat": "Standing" },
            ],
            "passes": [
                { "ticketId": tickets[2], "code": signed(order, tickets[2], Some(show)) },
                { "ticketId": tickets[0], "code": signed(order, tickets[0], Some(show)) },
                { "ticketId": tickets[1], "code": signed(order, tickets[1], Some(show)) },
            ],
            "quantity": 3,
            "total": 72.5,
        })
    }

    #[test]
    fn a_show_order_has_one_pass_per_ticket_each_with_its_seat_and_its_own_code() {
        let order = party_of_three();
        let passes = Pass::all_of_order(&order, None);
        assert_eq!(passes.len(), 3);
        let verifier = PassKey::from_seed([7; 32]).verifier().clone();
        for pass in &passes {
            // Matched by ticket id, not by position.
            let read = verifier.verify(pass.code.as_deref().unwrap()).unwrap();
            assert_eq!(read.ticket.to_string(), pass.ticket_id);
            assert_eq!(read.order.to_string(), "6a0000000000000000000001");
        }
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
        // One ticket refunded out of the party: the node no longer lists its code.
        let mut partly = party_of_three();
        partly["passes"].as_array_mut().unwrap().remove(0);
        let passes = Pass::all_of_order(&partly, None);
        assert_eq!(passes[2].code, None);
        assert_eq!(passes[2].unprintable.as_deref(), Some(NO_VALID_PASS));
        assert!(passes[0].code.is_some() && passes[1].code.is_some());
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
