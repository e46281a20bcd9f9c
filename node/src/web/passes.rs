//! A paid order's passes on the storefront: each ticket's QR code on the order page, and all of
//! them as a PDF to print or keep on a phone (`/orders/{id}/passes.pdf`).

use axum::extract::{Path, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use qrcode::{Color, EcLevel, QrCode};

use tix_core::events::OrderStatus;
use tix_core::orders::Order;

use crate::actions;
use crate::pass_pdf::{self, PassPage};
use crate::state::AppState;

use super::frame::SignedIn;
use super::orders::own_order;
use super::problem::PageError;

/// A pass as the order page shows it.
pub(crate) struct PassCard {
    pub(crate) seat: String,
    pub(crate) ticket_id: String,
    /// The QR code as an inline SVG element.
    pub(crate) qr_svg: String,
}

/// The cards of a paid order's passes; none for an order not (or no longer) valid.
pub(crate) fn cards(state: &AppState, order: &Order) -> Vec<PassCard> {
    if order.status != OrderStatus::Complete {
        return Vec::new();
    }
    let Ok(pages) = actions::door::pages(state, order) else {
        return Vec::new();
    };
    pages
        .into_iter()
        .map(|page| {
            let label = if page.seat.is_empty() {
                format!("Pass for {}", page.title)
            } else {
                format!("Pass for {}", page.seat)
            };
            PassCard {
                qr_svg: qr_svg(&page.code, &label),
                seat: page.seat,
                ticket_id: page.ticket_id,
            }
        })
        .collect()
}

/// `GET /orders/{id}/passes.pdf`: the visitor's own paid order's passes, a page per ticket.
pub(crate) async fn pdf(
    State(state): State<AppState>,
    SignedIn { user: buyer, .. }: SignedIn,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let order = own_order(&state, &buyer, &id)?;
    if order.status != OrderStatus::Complete {
        return Err(PageError::NotFound);
    }
    let pages: Vec<PassPage> = actions::door::pages(&state, &order)?;
    if pages.is_empty() {
        return Err(PageError::NotFound);
    }
    let disposition = format!("attachment; filename=\"tickets-{}.pdf\"", order.id);
    Ok((
        [
            (CONTENT_TYPE, "application/pdf".to_owned()),
            (CONTENT_DISPOSITION, disposition),
            (CACHE_CONTROL, "private, no-store".to_owned()),
        ],
        pass_pdf::render(&pages),
    )
        .into_response())
}

/// An SVG QR code of `code` (medium error correction, four modules of quiet zone), one path of
/// unit squares scaled by the page, named by `label` for screen readers.
pub(crate) fn qr_svg(code: &str, label: &str) -> String {
    let Ok(qr) = QrCode::with_error_correction_level(code, EcLevel::M) else {
        return String::new();
    };
    let width = qr.width();
    let side = width + 8;
    let mut path = String::with_capacity(width * width * 6);
    for (i, color) in qr.to_colors().iter().enumerate() {
        if *color == Color::Dark {
            let (x, y) = (i % width + 4, i / width + 4);
            path.push_str(&format!("M{x} {y}h1v1h-1z"));
        }
    }
    let label = super::seat_map::esc(label);
    format!(
        "<svg class=\"qr\" role=\"img\" aria-label=\"{label}\" viewBox=\"0 0 {side} {side}\" \
         shape-rendering=\"crispEdges\"><rect width=\"{side}\" height=\"{side}\" fill=\"#fff\"/>\
         <path d=\"{path}\" fill=\"#000\"/></svg>"
    )
}
