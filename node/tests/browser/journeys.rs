//! Whole journeys a buyer makes: with and without JavaScript, against the clock, and racing
//! another buyer.

use std::time::Duration;

use serde_json::json;

use tix_tests::client::{Node, NodeOptions, id};
use tix_tests::webdriver::chromium::{Driver, Scripts};
use tix_tests::webdriver::page::page_changed_under;

use crate::NODE;
use crate::storefront::Storefront;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_seller_lists_a_ticket_and_a_buyer_buys_and_pays_for_it() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(NODE, &dir, NodeOptions::default());
    let base = node.url("");
    let driver = Driver::start().await;
    let browser = driver.browser(Scripts::On, 1280, 900).await;

    browser.sign_up(&base, "seller@example.com").await;
    browser.click_text("Sell tickets").await;
    browser.fill("#title", "Jazz Night").await;
    browser.fill("#price", "25").await;
    browser.fill("#show", "The Quartet").await;
    browser.fill("#seat", "Row F, seat 12").await;
    browser.click("main button[type=submit]").await;
    browser.wait_for_text("h1", "Jazz Night").await;
    assert!(browser.body_text().await.contains("$25.00"));
    browser.screenshot("ticket").await;
    let ticket_path = browser.path().await;
    browser.click_text("Sign out").await;
    browser.wait_for_text("header", "Sign in").await;

    browser.sign_up(&base, "buyer@example.com").await;
    browser.goto(&format!("{base}/tickets")).await;
    browser.screenshot("tickets").await;
    browser.click_text("Jazz Night").await;
    assert_eq!(browser.path().await, ticket_path);
    browser.click("#buy-button").await;
    browser
        .wait_for_text("#countdown", "Time left to pay")
        .await;
    assert!(browser.path().await.starts_with("/orders/"));
    browser.screenshot("order").await;
    browser.click("#pay-button").await;
    browser.wait_for_text("#order-status", "Complete").await;
    assert!(
        browser
            .text("#order-outcome")
            .await
            .contains("Paid, thank you")
    );
    // The pass: a QR code named for screen readers, and the PDF to print.
    let label = browser
        .script("return document.querySelector('#passes svg.qr').getAttribute('aria-label')")
        .await;
    assert_eq!(label, "Pass for Jazz Night");
    assert!(browser.text("#passes-pdf").await.contains("PDF"));
    browser.screenshot("order-paid").await;

    browser.click_text("My orders").await;
    browser.wait_for_text("main", "Jazz Night").await;
    assert!(browser.text("main table").await.contains("Complete"));
    browser.screenshot("orders").await;

    // In test mode nothing is fetched from anywhere but the node.
    for path in ["/", "/tickets", &ticket_path, "/orders"] {
        browser.goto(&format!("{base}{path}")).await;
        for resource in browser.resources().await {
            assert!(resource.starts_with(&base), "{path} loaded {resource}");
        }
    }
    browser.close().await;

    // The sale is the node's record, not just the page's.
    let buyer = node.client().user("other@example.com").await;
    let listed = buyer.get("/api/tickets").await.body;
    assert_eq!(listed, json!([]), "the sold ticket is off the list");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unpaid_order_counts_down_expires_and_the_ticket_is_back_on_the_list() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(
        NODE,
        &dir,
        NodeOptions {
            lock_ttl: Some("4s"),
            ..Default::default()
        },
    );
    let base = node.url("");
    let seller = node.client().user("seller@example.com").await;
    let ticket = seller.sell("Late Show", json!(15)).await;
    let driver = Driver::start().await;
    let browser = driver.browser(Scripts::On, 1280, 900).await;
    browser.sign_up(&base, "buyer@example.com").await;
    browser
        .goto(&format!("{base}/tickets/{}", id(&ticket)))
        .await;
    browser.click("#buy-button").await;
    browser
        .wait_for_text("#countdown", "Time left to pay: 0:0")
        .await;

    browser.wait_for_text("#order-status", "Expired").await;
    assert_eq!(browser.text("#countdown").await, "");
    assert!(browser.text("#order-outcome").await.contains("expired"));
    browser.screenshot("order-expired").await;
    // A reload shows the node's own verdict, not the script's.
    let order_page = browser.client.current_url().await.unwrap();
    browser.goto(order_page.as_str()).await;
    browser.wait_for_text("#order-status", "Expired").await;

    browser.goto(&format!("{base}/tickets")).await;
    browser.wait_for_text("#ticket-rows", "Late Show").await;
    assert!(browser.text("#ticket-rows").await.contains("Available"));
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_buyers_race_for_one_ticket_and_exactly_one_gets_it() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(NODE, &dir, NodeOptions::default());
    let base = node.url("");
    let seller = node.client().user("seller@example.com").await;
    let ticket = seller.sell("Last Seat", json!(40)).await;
    let ticket_page = format!("{base}/tickets/{}", id(&ticket));
    let driver = Driver::start().await;
    let (first, second) = tokio::join!(
        driver.browser(Scripts::On, 1024, 800),
        driver.browser(Scripts::On, 1024, 800)
    );
    first.sign_up(&base, "first@example.com").await;
    second.sign_up(&base, "second@example.com").await;
    first.goto(&ticket_page).await;
    second.goto(&ticket_page).await;
    let (a, b) = (
        first.find("#buy-button").await,
        second.find("#buy-button").await,
    );
    let (clicked_a, clicked_b) = tokio::join!(a.click(), b.click());
    for clicked in [clicked_a, clicked_b] {
        // The winner's lock reaches the other page live and hides its button, maybe under the
        // click: that page then says why, which the outcome below reads.
        if let Err(e) = clicked {
            assert!(page_changed_under(&e), "click: {e}");
        }
    }

    let mut winners = 0;
    for browser in [&first, &second] {
        // Either the order page, or the ticket page saying why not (from the node's refusal, or
        // from the live update if that arrived before the click).
        let mut outcome = String::new();
        for _ in 0..200 {
            let path = browser.path().await;
            if path.starts_with("/orders/") {
                outcome = "won".into();
                break;
            }
            let text = browser.body_text().await;
            if text.contains("Ticket is already reserved")
                || text.contains("someone else has just reserved")
            {
                outcome = "lost".into();
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        match outcome.as_str() {
            "won" => winners += 1,
            "lost" => browser.screenshot("race-lost").await,
            _ => panic!(
                "neither an order nor a clear message: {}",
                browser.body_text().await
            ),
        }
    }
    assert_eq!(winners, 1, "exactly one buyer holds the ticket");
    let held = node
        .client()
        .get(&format!("/api/tickets/{}", id(&ticket)))
        .await
        .body;
    assert!(held.get("orderId").is_some());
    first.close().await;
    second.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_buyer_without_javascript_buys_and_pays_with_plain_forms() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(NODE, &dir, NodeOptions::default());
    let base = node.url("");
    let seller = node.client().user("seller@example.com").await;
    seller.sell("Quiet Matinee", json!(9.5)).await;
    let driver = Driver::start().await;
    let browser = driver.browser(Scripts::Off, 1024, 800).await;
    assert_eq!(
        browser.script("return 1 + 1;").await,
        json!(2),
        "WebDriver still runs its own scripts"
    );
    browser.sign_up(&base, "plain@example.com").await;
    browser.goto(&format!("{base}/tickets")).await;
    browser.click_text("Quiet Matinee").await;
    browser.click("#buy-button").await;
    // The server's own wording: the script would have replaced it with a ticking countdown.
    browser.wait_for_text("#countdown", "Pay before").await;
    browser.click("#card-declined").await;
    browser.click("#pay-button").await;
    browser.wait_for_text("#problems", "declined").await;
    browser.screenshot("order-declined-nojs").await;
    browser.click("#card-pays").await;
    browser.click("#pay-button").await;
    browser.wait_for_text("#order-status", "Complete").await;
    browser.goto(&format!("{base}/orders")).await;
    assert!(browser.text("main").await.contains("Complete"));
    browser.close().await;
}
