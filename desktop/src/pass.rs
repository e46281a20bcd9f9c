//! The ticket pass handed to a customer: what it says and its QR code, which a door scanner reads.

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
}

impl Pass {
    /// The pass of a completed order, from the node's order JSON.
    pub fn of_order(order: &Value) -> Option<Pass> {
        let order_id = order["id"].as_str()?.to_owned();
        let ticket = &order["ticket"];
        let ticket_id = ticket["id"].as_str()?.to_owned();
        let code = format!("TIX1:{order_id}:{ticket_id}");
        Some(Pass {
            title: ticket["title"].as_str().unwrap_or_default().to_owned(),
            price: ticket["price"].as_f64().unwrap_or_default(),
            qr_svg: qr_svg(&code),
            code,
            order_id,
            ticket_id,
        })
    }
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
        assert!(pass.qr_svg.contains("<svg"), "{}", pass.qr_svg);
        assert!(Pass::of_order(&json!({ "id": "x" })).is_none());
    }
}
