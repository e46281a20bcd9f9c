//! Live updates: pages change by themselves when another buyer locks, releases or buys a ticket,
//! and an order page when its order is paid elsewhere; kiosk mode's idle return.

use std::time::Duration;

use serde_json::json;

use tix_tests::client::{Client, Node, NodeOptions, id};
use tix_tests::webdriver::chromium::{Driver, Scripts};

use crate::NODE;
use crate::storefront::Storefront;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn locks_releases_sales_and_new_listings_reach_open_pages() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(NODE, &dir, NodeOptions::default());
    let base = node.url("");
    let seller = node.client().user("seller@example.com").await;
    let buyer = node.client().user("buyer@example.com").await;
    let ticket = seller.sell("Open Air", json!(30)).await;
    let ticket_id = id(&ticket);
    let driver = Driver::start().await;
    let (list, page) = tokio::join!(
        driver.browser(Scripts::On, 1024, 800),
        driver.browser(Scripts::On, 1024, 800)
    );
    page.sign_up(&base, "watcher@example.com").await;
    list.goto(&format!("{base}/tickets")).await;
    page.goto(&format!("{base}/tickets/{ticket_id}")).await;
    page.find("#buy-button").await;
    // Let both pages open their streams before anything changes.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let row = format!("tr[data-ticket-id='{ticket_id}']");

    let order = buyer
        .post("/api/orders", json!({ "ticketId": ticket_id }))
        .await
        .body;
    let on_list = list.wait_for_text(&row, "Reserved").await;
    let on_page = page
        .wait_for_text("#buy", "someone else has just reserved")
        .await;
    assert!(
        !page
            .find("[data-buy-form]")
            .await
            .is_displayed()
            .await
            .unwrap()
    );
    println!("lock shown after {on_list:?} on the list, {on_page:?} on the ticket page");

    buyer.delete(&format!("/api/orders/{}", id(&order))).await;
    list.wait_for_text(&row, "Available").await;
    // The ticket page had hidden its Buy button; back on sale, it shows one again.
    page.find("#buy-button").await;

    let order = buyer
        .post("/api/orders", json!({ "ticketId": ticket_id }))
        .await
        .body;
    list.wait_for_text(&row, "Reserved").await;
    buyer
        .post(
            "/api/payments",
            json!({ "orderId": id(&order), "token": "tok_visa" }),
        )
        .await;
    list.wait_for_text(&row, "Sold").await;
    page.wait_for_text(".details", "Sold").await;
    page.wait_for_text("#buy", "just been sold").await;

    let fresh = seller.sell("Encore", json!(12)).await;
    list.wait_for_text(&format!("tr[data-ticket-id='{}']", id(&fresh)), "Encore")
        .await;
    list.screenshot("tickets-live").await;
    list.close().await;
    page.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_page_turns_to_paid_when_the_order_is_paid_elsewhere() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(NODE, &dir, NodeOptions::default());
    let base = node.url("");
    let seller = node.client().user("seller@example.com").await;
    let ticket = seller.sell("Gallery", json!(8)).await;
    let driver = Driver::start().await;
    let browser = driver.browser(Scripts::On, 1024, 800).await;
    browser.sign_up(&base, "buyer@example.com").await;
    browser
        .goto(&format!("{base}/tickets/{}", id(&ticket)))
        .await;
    browser.click("#buy-button").await;
    browser.wait_for_text("#countdown", "Time left").await;
    let order_id = browser
        .path()
        .await
        .trim_start_matches("/orders/")
        .to_owned();
    tokio::time::sleep(Duration::from_millis(300)).await;

    // The same buyer pays from another device, through the API.
    let mut other_device = Client::new(&base);
    let signed_in = other_device
        .post(
            "/api/users/signin",
            json!({ "email": "buyer@example.com", "password": "secret1" }),
        )
        .await;
    other_device.keep_cookie(&signed_in);
    let paid = other_device
        .post(
            "/api/payments",
            json!({ "orderId": order_id, "token": "tok_visa" }),
        )
        .await;
    assert_eq!(paid.status, 201, "{:?}", paid.body);
    browser.wait_for_text("#order-status", "Complete").await;
    assert!(
        !browser
            .find("#pay-section")
            .await
            .is_displayed()
            .await
            .unwrap()
    );
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kiosk_offers_only_buying_and_returns_to_the_start_when_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(
        NODE,
        &dir,
        NodeOptions {
            env: vec![
                ("TIX_KIOSK".into(), "true".into()),
                ("TIX_KIOSK_IDLE".into(), "3s".into()),
            ],
            ..Default::default()
        },
    );
    let base = node.url("");
    let seller = node.client().user("seller@example.com").await;
    let ticket = seller.sell("Foyer Special", json!(5)).await;
    let driver = Driver::start().await;
    let browser = driver.browser(Scripts::On, 1920, 1080).await;
    browser.sign_up(&base, "walk-in@example.com").await;
    assert!(!browser.body_text().await.contains("Sell tickets"));
    browser.goto(&format!("{base}/tickets/new")).await;
    browser.wait_for_text("h1", "Page not found").await;
    browser
        .goto(&format!("{base}/tickets/{}", id(&ticket)))
        .await;
    browser.find("body.kiosk").await;
    let height = browser
        .script("return document.querySelector('#buy-button').getBoundingClientRect().height;")
        .await;
    assert!(
        height.as_f64().unwrap() >= 60.0,
        "touch targets are large: {height}"
    );
    browser.screenshot("kiosk-ticket").await;

    // Left alone, it signs the visitor out and goes back to the list.
    browser.wait_for_text("header", "Sign in").await;
    assert_eq!(browser.path().await, "/");
}
