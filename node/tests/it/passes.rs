//! A paid order's passes as the buyer takes them home: the PDF (one page per ticket, read back
//! with poppler's pdftotext) and, with an SMTP relay, the email with the PDF attached, sent from
//! a durable queue exactly once across a crash.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use tix_tests::SmtpServer;
use tix_tests::client::{Client, Node, NodeOptions, id};

use crate::shows::create;
use crate::{NODE, standalone};

/// A three-seat order of a show with a hall and a row, paid in cash: the order.
pub(crate) async fn paid_show_order(staff: &Client, buyer: &Client) -> Value {
    let show = create(
        staff,
        json!({
            "title": "Friday Jazz", "startsAt": "2030-12-04T20:00:00Z", "hall": "Main hall",
            "categories": [{"name": "Seated", "price": "30.00"}],
            "generate": [{"section": "Stalls", "category": "Seated", "rows": 1, "seatsPerRow": 5}]
        }),
    )
    .await;
    let order = buyer
        .post(
            &format!("/api/shows/{}/orders", id(&show)),
            json!({"category": "Seated", "quantity": 3}),
        )
        .await;
    assert_eq!(order.status, StatusCode::CREATED, "{}", order.text);
    let cash = staff
        .post(
            "/api/box-office/payments/cash",
            json!({"orderId": id(&order.body)}),
        )
        .await;
    assert_eq!(cash.status, StatusCode::CREATED, "{}", cash.text);
    order.body
}

/// GET `path` with `client`'s session: status, content type and the body's bytes.
async fn download(node: &Node, client: &Client, path: &str) -> (StatusCode, String, Vec<u8>) {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut request = http.get(node.url(path));
    if let Some(cookie) = &client.cookie {
        request = request.header("cookie", cookie);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let kind = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, kind, response.bytes().await.unwrap().to_vec())
}

/// The text of a PDF, pages separated by form feeds, as poppler's pdftotext reads it.
pub(crate) fn pdf_text(pdf: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("passes.pdf");
    std::fs::write(&path, pdf).unwrap();
    let output = std::process::Command::new("pdftotext")
        .arg("-layout")
        .arg(&path)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils) is installed by scripts/test.sh");
    assert!(
        output.status.success(),
        "pdftotext refused the PDF: {output:?}"
    );
    String::from_utf8(output.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_passes_pdf_has_a_page_per_ticket_with_its_seat_and_order() {
    let dir = tempfile::tempdir().unwrap();
    let node = standalone(&dir);
    let staff = node.client().user("staff@test.com").await;
    let buyer = node.client().user("buyer@test.com").await;
    let other = node.client().user("other@test.com").await;
    let order = paid_show_order(&staff, &buyer).await;
    let path = format!("/orders/{}/passes.pdf", id(&order));

    let (status, kind, pdf) = download(&node, &buyer, &path).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(kind, "application/pdf");
    let text = pdf_text(&pdf);
    let pages: Vec<&str> = text
        .split('\u{c}')
        .filter(|p| !p.trim().is_empty())
        .collect();
    assert_eq!(pages.len(), 3, "{text}");
    let seats = [
        "Stalls row 1 seat 2",
        "Stalls row 1 seat 3",
        "Stalls row 1 seat 4",
    ];
    let api = buyer.get(&format!("/api/orders/{}", id(&order))).await;
    for page in &pages {
        assert!(page.contains("Friday Jazz"), "{page}");
        assert!(page.contains("2030-12-04 20:00 UTC"), "{page}");
        assert!(page.contains("Main hall"), "{page}");
        assert!(page.contains(&format!("Order {}", id(&order))), "{page}");
        assert_eq!(
            seats.iter().filter(|s| page.contains(*s)).count(),
            1,
            "{page}"
        );
        let ticket = api.body["passes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| page.contains(p["ticketId"].as_str().unwrap()));
        assert!(
            ticket.is_some(),
            "each page names one of the order's tickets: {page}"
        );
    }
    for seat in seats {
        assert!(text.contains(seat), "{seat} is on a page");
    }

    let (status, _, _) = download(&node, &other, &path).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "another visitor's order");
    let (status, _, _) = download(&node, &node.client(), &path).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "signed out: to sign in");
}

/// The PDF attached to `mail` (a multipart message with one `application/pdf` part, base64).
fn attached_pdf(mail: &str) -> Vec<u8> {
    use base64::Engine;
    let part = mail
        .split("Content-Type: application/pdf")
        .nth(1)
        .unwrap_or_else(|| panic!("no PDF attached: {mail}"));
    let encoded: String = part
        .lines()
        .map(str::trim_end)
        .skip(1)
        .skip_while(|line| !line.is_empty())
        .skip(1)
        .take_while(|line| !line.starts_with("--") && !line.is_empty())
        .collect();
    base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .unwrap()
}

fn mail_node(dir: &tempfile::TempDir, relay: &SmtpServer) -> Node {
    Node::start(
        NODE,
        dir,
        NodeOptions {
            env: vec![
                ("TIX_FIRST_USER_IS_STAFF".into(), "1".into()),
                ("TIX_SMTP_URL".into(), relay.url.clone()),
                (
                    "TIX_MAIL_FROM".into(),
                    "Tickets <tickets@venue.test>".into(),
                ),
            ],
            ..Default::default()
        },
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paid_passes_are_emailed_exactly_once_across_a_crash_before_sending() {
    let relay = SmtpServer::start().await;
    // The relay turns mail away until the node has crashed: nothing can go before that.
    relay.refuse(true);
    let dir = tempfile::tempdir().unwrap();
    let node = mail_node(&dir, &relay);
    let staff = node.client().user("staff@test.com").await;
    let buyer = node.client().user("buyer@test.com").await;
    let order = paid_show_order(&staff, &buyer).await;
    let queued = node.client().get("/healthz").await.body["mail"].clone();
    assert_eq!(queued, json!({"enabled": true, "queued": 1}));
    assert!(relay.mails().is_empty());
    node.kill9();

    relay.refuse(false);
    let node = mail_node(&dir, &relay);
    let mails = relay.wait_for(1, Duration::from_secs(15)).await;
    assert_eq!(mails.len(), 1, "the queued email went after the restart");
    let mail = &mails[0];
    assert_eq!(mail.to, ["buyer@test.com"]);
    assert!(
        mail.data.contains("Subject: Your tickets: Friday Jazz"),
        "{}",
        mail.data
    );
    assert!(
        mail.data
            .contains(&format!("Message-ID: <passes-{}@venue.test>", id(&order))),
        "{}",
        mail.data
    );
    let text = pdf_text(&attached_pdf(&mail.data));
    assert_eq!(
        text.split('\u{c}').filter(|p| !p.trim().is_empty()).count(),
        3
    );
    assert!(text.contains("Stalls row 1 seat 3"), "{text}");

    // Done is done: nothing more goes, now or after another restart.
    let healthz = |node: &Node| {
        let client = node.client();
        async move { client.get("/healthz").await.body["mail"]["queued"].clone() }
    };
    assert!(
        tix_tests::client::eventually(Duration::from_secs(5), || async {
            healthz(&node).await == 0
        })
        .await
    );
    assert!(node.terminate().success());
    let node = mail_node(&dir, &relay);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(healthz(&node).await, 0);
    assert_eq!(relay.mails().len(), 1, "sent exactly once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_paid_order_is_emailed_once_with_its_passes() {
    let relay = SmtpServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let node = mail_node(&dir, &relay);
    let staff = node.client().user("staff@test.com").await;
    let buyer = node.client().user("fan@test.com").await;
    paid_show_order(&staff, &buyer).await;
    let (_seller, other_buyer, _ticket, listing) =
        tix_tests::client::ordered(&node, "Quiz night", json!(12)).await;
    let paid = other_buyer
        .post(
            "/api/payments",
            json!({"orderId": id(&listing), "token": "tok_visa"}),
        )
        .await;
    assert_eq!(paid.status, StatusCode::CREATED, "{}", paid.text);
    let mails = relay.wait_for(2, Duration::from_secs(10)).await;
    assert_eq!(mails.len(), 2, "one email per paid order");
    let listing_mail = mails
        .iter()
        .find(|m| m.data.contains("Quiz night"))
        .expect("the listing's email");
    let text = pdf_text(&attached_pdf(&listing_mail.data));
    assert!(
        text.contains("Quiz night") && text.contains(&id(&listing)),
        "{text}"
    );
}
