//! A paid order's passes as a PDF: one A4 page per ticket with the show, its time and hall, the
//! seat, the order and ticket numbers and the pass's QR code, ready to print or to show on a
//! phone. Text uses the standard Helvetica fonts (no font is embedded); characters they cannot
//! show become `?`.

use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, Str};
use qrcode::{Color, EcLevel, QrCode};

/// One ticket's page.
#[derive(Debug, Clone, PartialEq)]
pub struct PassPage {
    pub title: String,
    /// When, as people read it ("Fri 4 Dec 2026, 20:00"); empty if unknown.
    pub when: String,
    pub hall: String,
    /// Seat or area ("Stalls row B seat 3", "Floor"); empty for a marketplace ticket.
    pub seat: String,
    pub category: String,
    pub order_id: String,
    pub ticket_id: String,
    /// The signed pass code the QR code carries.
    pub code: String,
}

const A4: (f32, f32) = (595.0, 842.0);
const MARGIN: f32 = 56.0;
const QR_SIZE: f32 = 300.0;
const REGULAR: Name<'static> = Name(b"F1");
const BOLD: Name<'static> = Name(b"F2");

/// The PDF of `pages`, in order.
pub fn render(pages: &[PassPage]) -> Vec<u8> {
    let mut pdf = Pdf::new();
    let catalog = Ref::new(1);
    let tree = Ref::new(2);
    let regular = Ref::new(3);
    let bold = Ref::new(4);
    let page_ids: Vec<Ref> = (0..pages.len() as i32)
        .map(|i| Ref::new(5 + 2 * i))
        .collect();
    pdf.catalog(catalog).pages(tree);
    pdf.pages(tree)
        .kids(page_ids.iter().copied())
        .count(pages.len() as i32);
    for (font, name) in [(regular, "Helvetica"), (bold, "Helvetica-Bold")] {
        pdf.type1_font(font)
            .base_font(Name(name.as_bytes()))
            .encoding_predefined(Name(b"WinAnsiEncoding"));
    }
    for (page, id) in pages.iter().zip(&page_ids) {
        let content_id = Ref::new(id.get() + 1);
        let mut writer = pdf.page(*id);
        writer
            .media_box(Rect::new(0.0, 0.0, A4.0, A4.1))
            .parent(tree)
            .contents(content_id);
        let mut resources = writer.resources();
        let mut fonts = resources.fonts();
        fonts.pair(REGULAR, regular).pair(BOLD, bold);
        fonts.finish();
        resources.finish();
        writer.finish();
        pdf.stream(content_id, &draw(page));
    }
    pdf.finish()
}

fn draw(page: &PassPage) -> Vec<u8> {
    let mut content = Content::new();
    let mut y = A4.1 - MARGIN - 24.0;
    line(&mut content, BOLD, 24.0, y, &page.title);
    for (text, size) in [(&page.when, 14.0), (&page.hall, 14.0)] {
        if !text.is_empty() {
            y -= 22.0;
            line(&mut content, REGULAR, size, y, text);
        }
    }
    if !page.seat.is_empty() {
        y -= 34.0;
        let seat = if page.category.is_empty() {
            page.seat.clone()
        } else {
            format!("{} ({})", page.seat, page.category)
        };
        line(&mut content, BOLD, 18.0, y, &seat);
    }
    y -= 24.0 + QR_SIZE;
    qr(&mut content, &page.code, (A4.0 - QR_SIZE) / 2.0, y);
    y -= 32.0;
    line(
        &mut content,
        REGULAR,
        11.0,
        y,
        &format!("Order {}", page.order_id),
    );
    y -= 16.0;
    line(
        &mut content,
        REGULAR,
        11.0,
        y,
        &format!("Ticket {}", page.ticket_id),
    );
    y -= 28.0;
    line(
        &mut content,
        REGULAR,
        11.0,
        y,
        "Show this code at the door. It lets one person in, once.",
    );
    content.finish().into_vec()
}

fn line(content: &mut Content, font: Name<'_>, size: f32, y: f32, text: &str) {
    let bytes = win_ansi(text);
    content
        .begin_text()
        .set_font(font, size)
        .next_line(MARGIN, y)
        .show(Str(&bytes))
        .end_text();
}

/// The pass's QR code (medium error correction, four modules of quiet zone) as black squares,
/// `QR_SIZE` wide with its lower left corner at (`x`, `y`).
fn qr(content: &mut Content, code: &str, x: f32, y: f32) {
    let Ok(qr) = QrCode::with_error_correction_level(code, EcLevel::M) else {
        return;
    };
    let width = qr.width();
    let module = QR_SIZE / (width + 8) as f32;
    content.set_fill_gray(0.0);
    for (i, color) in qr.to_colors().iter().enumerate() {
        if *color == Color::Dark {
            let (column, row) = ((i % width) as f32, (i / width) as f32);
            let left = x + (column + 4.0) * module;
            let top = y + QR_SIZE - (row + 4.0) * module;
            content.rect(left, top - module, module, module);
        }
    }
    content.fill_nonzero();
}

/// Text in the standard fonts' WinAnsi encoding: Latin-1 as is, the rest as `?`.
fn win_ansi(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| match u32::from(c) {
            0x20..=0x7e | 0xa0..=0xff => c as u8,
            _ => b'?',
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(n: u32) -> PassPage {
        PassPage {
            title: "Friday Jazz".into(),
            when: "Fri 4 Dec 2026, 20:00".into(),
            hall: "Main hall".into(),
            seat: format!("Stalls row B seat {n}"),
            category: "Stalls".into(),
            order_id: "5f8d0d55b54764421b7156c9".into(),
            ticket_id: format!("5f8d0d55b54764421b7156{n:02}"),
            code: format!("TIX2:{}", "A".repeat(189)),
        }
    }

    #[test]
    fn one_page_per_ticket_with_its_text() {
        let pdf = render(&[page(1), page(2), page(3)]);
        let text = String::from_utf8_lossy(&pdf);
        assert!(text.starts_with("%PDF-"));
        assert!(text.contains("/Count 3"), "three pages");
        let pages = text.matches("/Type /Page").count() - text.matches("/Type /Pages").count();
        assert_eq!(pages, 3);
        for n in 1..=3 {
            assert!(
                text.contains(&format!("(Stalls row B seat {n} (Stalls)) Tj")),
                "{n}"
            );
        }
        assert!(text.contains("(Friday Jazz) Tj"));
        assert!(text.trim_end().ends_with("%%EOF"));
    }

    #[test]
    fn text_outside_latin_1_becomes_a_question_mark() {
        assert_eq!(win_ansi("Café – Δ"), b"Caf\xe9 ? ?");
    }
}
