//! The operators' web view in headless Chromium: signed in with the hub's token (a wrong one is
//! refused with a message), a venue syncing through Mosquitto shows up with its sync state and
//! sales, per venue and per day, refreshed live without a reload; every screen passes axe.

use std::time::Duration;

use serde_json::{Value, json};

use tix_tests::broker::{HUB_USER, SHIPPED_MAX_QUEUED};
use tix_tests::client::{Client, id};
use tix_tests::webdriver::axe::{axe_source, serious_violations as violations};
use tix_tests::webdriver::chromium::{Driver, Scripts};
use tix_tests::{Broker, NodeOptions, start_hub, start_node, within, workspace_binary};

const HUB: &str = env!("CARGO_BIN_EXE_tix-hub");
const TOKEN: &str = "console-token-0123456789";
const VENUE: &str = "north-hall";

/// A ticket sold and paid for at the venue.
async fn sell_one(node: &str, seller: &Client, buyer: &Client, title: &str) {
    let ticket = seller.sell(title, json!(30)).await;
    let order = buyer
        .post("/api/orders", json!({ "ticketId": id(&ticket) }))
        .await;
    assert_eq!(order.status.as_u16(), 201, "{node}: {}", order.text);
    let paid = buyer
        .post(
            "/api/payments",
            json!({ "orderId": id(&order.body), "token": "tok_visa" }),
        )
        .await;
    assert_eq!(paid.status.as_u16(), 201, "{}", paid.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_signs_in_with_the_token_and_watches_a_venue_sell() {
    within(Duration::from_secs(180), async {
        let axe = axe_source();
        let broker = Broker::start(
            &[
                (HUB_USER.to_owned(), "hub-pass".to_owned()),
                (VENUE.to_owned(), "venue-pass".to_owned()),
            ],
            SHIPPED_MAX_QUEUED,
        );
        let dir = tempfile::tempdir().unwrap();
        let hub = start_hub(
            HUB,
            dir.path().join("hub.sqlite3"),
            &broker.url(HUB_USER, "hub-pass"),
            TOKEN,
        );
        let options = NodeOptions {
            args: vec![
                "--venue-id".into(),
                VENUE.into(),
                "--mqtt-url".into(),
                broker.url(VENUE, "venue-pass"),
            ],
            ..NodeOptions::default()
        };
        let node = start_node(
            workspace_binary("tix-node"),
            &dir.path().join("node"),
            &options,
        );
        let shop = Client::new(&node.url(""));
        let seller = shop.user("seller@north.test").await;
        let buyer = shop.user("buyer@north.test").await;
        sell_one(&node.url(""), &seller, &buyer, "Opening night").await;

        let driver = Driver::start().await;
        let browser = driver.browser(Scripts::On, 1280, 900).await;
        let mut found: Vec<Value> = Vec::new();
        browser.goto(&hub.url("/")).await;
        found.extend(violations(&browser, &axe).await);
        browser.fill("#token", "not-the-token").await;
        browser.click("button[type=submit]").await;
        let refused = browser.text("[role=alert]").await;
        assert!(refused.contains("not this hub's API token"), "{refused}");
        found.extend(violations(&browser, &axe).await);

        browser.fill("#token", TOKEN).await;
        browser.click("button[type=submit]").await;
        browser
            .until("document.querySelector('#venues th[scope=row]')?.textContent === 'north-hall'")
            .await;
        // The venue's row: live, its paid order; the day's sales.
        let cells =
            "[...document.querySelectorAll('#venues tr:first-child td')].map(c => c.textContent)";
        browser
            .until(&format!("{cells}[0] === 'Live' && {cells}[4] === '1'"))
            .await;
        browser
            .until("document.querySelector('#daily tr td:nth-child(3)')?.textContent === '1'")
            .await;
        found.extend(violations(&browser, &axe).await);
        browser.screenshot("hub-console").await;

        // Another sale shows up without a reload.
        sell_one(&node.url(""), &seller, &buyer, "Second night").await;
        browser.until(&format!("{cells}[4] === '2'")).await;
        let revenue = browser.script(&format!("return {cells}[5];")).await;
        assert_eq!(revenue, json!("60.00"));

        // Signing out ends it: the page asks for the token again, the API refuses the browser.
        browser.click("header button[type=submit]").await;
        browser
            .until("document.getElementById('token') !== null")
            .await;
        let status = browser
            .script("return fetch('/api/hub/venues').then(r => r.status);")
            .await;
        assert_eq!(status, json!(401));
        browser.close().await;
        assert!(found.is_empty(), "axe: {found:#?}");
    })
    .await;
}
