//! Emailing a paid order's tickets: the node's SMTP client (lettre) against a relay in the test
//! that speaks SMTP; a kiosk guest's tickets reach the address given, a relay's refusal is said,
//! and an order's allowance of emails runs out.

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::LOCATION;
use serde_json::json;

use tix_tests::SmtpServer;
use tix_tests::client::{Node, NodeOptions, id};

use crate::NODE;
use crate::visitor::Visitor;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kiosk_guest_has_the_tickets_emailed_and_the_relay_is_spoken_to_as_smtp() {
    let relay = SmtpServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(
        NODE,
        &dir,
        NodeOptions {
            env: vec![
                ("TIX_KIOSK".into(), "1".into()),
                ("TIX_FIRST_USER_IS_STAFF".into(), "1".into()),
                ("TIX_SMTP_URL".into(), relay.url.clone()),
                (
                    "TIX_MAIL_FROM".into(),
                    "Foyer Tickets <tickets@venue.test>".into(),
                ),
            ],
            ..Default::default()
        },
    );
    let staff = node.client().user("staff@test.com").await;
    let show = staff
        .post(
            "/api/shows",
            json!({"title": "Lunchtime Recital", "startsAt": "2030-12-06T12:30:00Z", "hall": "Foyer",
                   "categories": [{"name": "Seated", "price": "8.00"}],
                   "generate": [{"section": "Foyer", "category": "Seated", "rows": 2, "seatsPerRow": 6}]}),
        )
        .await;
    let show_id = id(&show.body);
    let mut guest = Visitor::arrive(&node.url("")).await;
    let ordered = guest
        .post(
            &format!("/shows/{show_id}/order"),
            &[("category", "Seated"), ("quantity", "2")],
            None,
            None,
        )
        .await;
    assert_eq!(ordered.status, StatusCode::SEE_OTHER, "{}", ordered.html);
    let order_path = ordered.headers[LOCATION].to_str().unwrap().to_owned();
    guest.keep_session(&ordered);
    // Nothing to email before it is paid.
    assert!(
        !guest
            .get(&order_path)
            .await
            .html
            .contains("Email me the tickets")
    );
    let paid = guest
        .post(
            &format!("{order_path}/pay"),
            &[("token", "tok_visa")],
            None,
            None,
        )
        .await;
    assert_eq!(paid.status, StatusCode::SEE_OTHER, "{}", paid.html);
    let page = guest.get(&order_path).await;
    assert!(page.html.contains("Email me the tickets"), "{}", page.html);
    assert!(
        page.html.contains(r#"type="email" value="""#),
        "a guest's own address is not offered: {}",
        page.html
    );

    let email = format!("{order_path}/email");
    let sent = guest
        .post(&email, &[("email", "walk-in@example.org")], None, None)
        .await;
    assert_eq!(sent.status, StatusCode::OK, "{}", sent.html);
    assert!(
        sent.html.contains("Sent to walk-in@example.org."),
        "{}",
        sent.html
    );
    let mails = relay.wait_for(1, Duration::from_secs(5)).await;
    assert_eq!(mails.len(), 1);
    let mail = &mails[0];
    assert_eq!(mail.from, "tickets@venue.test");
    assert_eq!(mail.to, ["walk-in@example.org"]);
    let order_id = order_path.trim_start_matches("/orders/");
    for expected in [
        "Subject: Your tickets: Lunchtime Recital",
        "2030-12-06 12:30 UTC",
        "Foyer",
        &format!("Order number: {order_id}"),
        "Foyer row 1 seat 3 (Seated): ticket number ",
        "Foyer row 1 seat 4 (Seated): ticket number ",
    ] {
        assert!(
            mail.data.contains(expected),
            "{expected:?} is not in {}",
            mail.data
        );
    }

    // Not an address: refused in words, nothing sent.
    let bad = guest
        .post(&email, &[("email", "not an address")], None, None)
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(
        bad.html
            .contains("That is not an email address we can send to.")
    );
    // The relay refusing is said, and does not use up the order's allowance.
    relay.refuse(true);
    let refused = guest
        .post(&email, &[("email", "walk-in@example.org")], None, None)
        .await;
    assert_eq!(refused.status, StatusCode::BAD_GATEWAY, "{}", refused.html);
    assert!(
        refused
            .html
            .contains("We could not send the email just now")
    );
    relay.refuse(false);
    for _ in 0..2 {
        let again = guest
            .post(&email, &[("email", "walk-in@example.org")], None, None)
            .await;
        assert_eq!(again.status, StatusCode::OK, "{}", again.html);
    }
    let fourth = guest
        .post(&email, &[("email", "someone-else@example.org")], None, None)
        .await;
    assert_eq!(fourth.status, StatusCode::BAD_REQUEST);
    assert!(
        fourth.html.contains("emailed 3 times already"),
        "{}",
        fourth.html
    );
    assert_eq!(relay.mails().len(), 3);
}
