//! The real box office under Xvfb: it asks for its node, signs a staff member in, finds a ticket,
//! locks it from the keyboard and sells it for cash; the node records the sale. A second start
//! remembers the node. Shows sold to a party are in `shows.rs`, door mode in `door.rs`.
//! Screenshots go to `artifacts/screenshots/`.

mod bench;
mod door;
mod harness;
mod shows;

use std::time::Duration;

use tix_tests::webdriver::axe::{axe_source, serious_violations as violations};

use harness::{Api, BoxOffice, Display, Driver, ENTER, F8, Node, free_port, within};

/// The most one window test may take.
const LIMIT: Duration = Duration::from_secs(180);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_counter_sells_a_ticket_for_cash_in_the_real_window() {
    within(LIMIT, sells_for_cash()).await;
}

async fn sells_for_cash() {
    let display = Display::start().await;
    let node = Node::start().await;
    let staff = Api::sign_up(&node.url, "counter@venue.test", "counter-pw").await;
    let seller = Api::sign_up(&node.url, "seller@venue.test", "seller-pw").await;
    let gala = seller.sell("Gala Night", 25.0).await;
    seller.sell("Matinee", 12.0).await;

    let settings = tempfile::tempdir().unwrap();
    let driver = Driver::start(&display, settings.path()).await;
    let window = driver.launch().await;
    window.until("document.body.dataset.ready === 'true'").await;
    window.shows("screen-connect").await;

    // First start: the address, typed as staff would (no scheme).
    let address = node.url.trim_start_matches("http://");
    window.fill("#node-address", address).await;
    window.click("#connect-button").await;
    window.shows("screen-signin").await;
    window.sign_in("counter@venue.test", "counter-pw").await;
    window
        .until("document.getElementById('light-node').classList.contains('ok')")
        .await;

    // A ticket listed after the search was typed turns up without typing again.
    window.fill("#search", "Encore").await;
    window
        .until(
            "document.getElementById('results').textContent.includes('No ticket on sale matches')",
        )
        .await;
    seller.sell("Encore Night", 30.0).await;
    window
        .until("document.getElementById('results').textContent.includes('Encore Night')")
        .await;

    // Find by typing, lock with Enter, take cash with F8.
    window.lock_the_one_match("Gala").await;
    assert_eq!(window.text("#sale-title").await, "Gala Night");
    window.screenshot("box-office-locked").await;
    window.press("#pay-cash", F8).await;
    window.shows("sale-done").await;
    window
        .until("document.getElementById('pass-qr').naturalWidth > 0")
        .await;
    let order_id = window.text("#pass-order").await;
    assert_eq!(window.text("#pass-ticket").await, gala);
    assert!(window.text("#pass-paid").await.contains("in cash"));
    window.screenshot("box-office-cash-sale").await;

    // The node agrees: the order is complete, paid in cash, and counted in today's takings.
    let order = staff.get(&format!("/api/orders/{order_id}")).await;
    assert_eq!(order["status"], "complete", "{order}");
    assert_eq!(order["ticket"]["id"], gala.as_str());
    let ticket = staff.get(&format!("/api/tickets/{gala}")).await;
    assert_eq!(ticket["orderId"], order_id.as_str());
    let day = staff.get("/api/box-office/summary").await;
    assert_eq!(day["cash"]["sales"], 1, "{day}");
    assert_eq!(day["cash"]["salesAmount"], 25.0);
    assert_eq!(day["card"]["sales"], 0);

    // The window's own summary shows the same figure.
    window.press("#print", "\u{E037}").await; // F7
    window
        .until("(document.getElementById('net-cash') || {}).textContent?.includes('25')")
        .await;

    // F6: the customer's orders by email; ↓ into the list, R refunds (after a confirmation).
    window.press("#summary-date", "\u{E036}").await; // F6
    window.fill("#lookup-email", "counter@venue.test").await;
    window.press("#lookup-email", ENTER).await;
    window
        .until("document.querySelectorAll('#lookup-body tr').length === 1")
        .await;
    window.press("#lookup-email", "\u{E015}").await; // ArrowDown
    window.press("#lookup-table", "r").await;
    window
        .client
        .accept_alert()
        .await
        .expect("the refund asks for a confirmation");
    window
        .until("document.getElementById('lookup-body').textContent.includes('(refunded)')")
        .await;
    window.screenshot("box-office-refunded").await;
    let day = staff.get("/api/box-office/summary").await;
    assert_eq!(day["cash"]["refunds"], 1, "{day}");
    assert_eq!(day["cash"]["net"], 0.0);
    window.close().await;

    // Started again, it remembers its node and asks only for a sign-in.
    let window = driver.launch().await;
    window.until("document.body.dataset.ready === 'true'").await;
    window.shows("screen-signin").await;
    assert!(window.text("#signin-node").await.contains(address));
    window.close().await;
    drop(driver);
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_window_says_plainly_when_cards_or_the_node_cannot_be_reached() {
    within(LIMIT, says_what_is_unreachable()).await;
}

async fn says_what_is_unreachable() {
    let display = Display::start().await;
    // Stripe is configured but unreachable: nothing listens on this loopback port.
    let stripe = format!("http://127.0.0.1:{}", free_port());
    let node = Node::start_with(&[
        "--stripe-secret-key",
        "sk_test_unreachable",
        "--stripe-api-base",
        &stripe,
    ])
    .await;
    let _staff = Api::sign_up(&node.url, "counter@venue.test", "counter-pw").await;
    let seller = Api::sign_up(&node.url, "seller@venue.test", "seller-pw").await;
    seller.sell("Late Show", 18.0).await;

    let settings = tempfile::tempdir().unwrap();
    std::fs::write(
        settings.path().join("box-office.json"),
        serde_json::json!({ "connection": { "mode": "remote", "url": node.url } }).to_string(),
    )
    .unwrap();
    let driver = Driver::start(&display, settings.path()).await;
    let window = driver.launch().await;
    window.shows("screen-signin").await;
    window.sign_in("counter@venue.test", "counter-pw").await;

    // The node's probe finds Stripe unreachable: the card light and button say so.
    window
        .until("document.getElementById('light-card').textContent === 'Card: unavailable'")
        .await;
    window.lock_the_one_match("Late").await;
    window
        .until("document.getElementById('pay-card').disabled")
        .await;
    assert!(window.text("#card-note").await.contains("Cash works"));
    // Cash still sells.
    window.press("#pay-cash", F8).await;
    window.shows("sale-done").await;
    window.screenshot("box-office-card-unavailable").await;

    // The node goes away: the window says so instead of failing silently.
    node.stop().await;
    window
        .until("!document.getElementById('banner').hidden && document.getElementById('light-node').textContent === 'Node: unreachable'")
        .await;
    window.screenshot("box-office-node-unreachable").await;
    window.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_standalone_counter_runs_its_own_node_and_sells_for_cash() {
    within(LIMIT, standalone_sells()).await;
}

async fn standalone_sells() {
    let display = Display::start().await;
    let settings = tempfile::tempdir().unwrap();
    let driver = Driver::start(&display, settings.path()).await;
    let window = driver.launch().await;
    window.until("document.body.dataset.ready === 'true'").await;
    window.click("#standalone-button").await;
    window
        .until("!document.getElementById('screen-signin').hidden && !document.getElementById('create-label').hidden")
        .await;
    // The node inside the app answers on loopback; a seller lists a ticket there.
    let url = window
        .client
        .execute("return state.info.url;", vec![])
        .await
        .unwrap();
    let url = url
        .as_str()
        .expect("the standalone node's address")
        .to_owned();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");

    // The first account made on it is staff.
    window.click("#create-account").await;
    window.sign_in("owner@kiosk.test", "owner-pw").await;
    window
        .until("document.getElementById('light-node').textContent === 'Node: standalone'")
        .await;
    let seller = Api::sign_up(&url, "seller@kiosk.test", "seller-pw").await;
    let ticket = seller.sell("Kiosk Matinee", 9.5).await;
    window.lock_the_one_match("Kiosk").await;
    window.press("#pay-cash", F8).await;
    window.shows("sale-done").await;
    assert_eq!(window.text("#pass-ticket").await, ticket);
    window.screenshot("box-office-standalone-sale").await;
    let sold = seller.get(&format!("/api/tickets/{ticket}")).await;
    assert!(sold["orderId"].is_string(), "{sold}");
    assert!(settings.path().join("node").join("orders.redb").exists());
    window.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_screen_passes_axe() {
    within(LIMIT, screens_pass_axe()).await;
}

async fn screens_pass_axe() {
    let axe = axe_source();
    let display = Display::start().await;
    let node = Node::start().await;
    let _staff = Api::sign_up(&node.url, "counter@venue.test", "counter-pw").await;
    let seller = Api::sign_up(&node.url, "seller@venue.test", "seller-pw").await;
    seller.sell("Gala Night", 25.0).await;
    let settings = tempfile::tempdir().unwrap();
    let driver = Driver::start(&display, settings.path()).await;
    let window = driver.launch().await;
    window.until("document.body.dataset.ready === 'true'").await;

    let mut found = Vec::new();
    let mut check = async |screen: &str, window: &harness::Window| {
        for violation in violations(window, &axe).await {
            found.push(format!("{screen}: {violation}"));
        }
    };
    check("connect", &window).await;
    window.fill("#node-address", &node.url).await;
    window.click("#connect-button").await;
    window.shows("screen-signin").await;
    check("sign in", &window).await;
    window.sign_in("counter@venue.test", "counter-pw").await;
    window.fill("#search", "Gala").await;
    window
        .until("document.querySelectorAll('#results li.ticket').length === 1")
        .await;
    check("find", &window).await;
    window.press("#search", ENTER).await;
    window.shows("sale-locked").await;
    check("locked", &window).await;
    // The tab buttons are always there to take a key press.
    let tab = "button[data-tab='sell']";
    window.press(tab, "\u{E035}").await; // F5: the open locks
    window
        .until("document.querySelectorAll('#locks-body tr').length === 1")
        .await;
    check("locks", &window).await;
    window.press(tab, "\u{E032}").await; // F2: back to the sale
    window.press(tab, F8).await;
    window.shows("sale-done").await;
    check("sold", &window).await;
    window.press(tab, "\u{E036}").await; // F6
    window.fill("#lookup-email", "counter@venue.test").await;
    window.press("#lookup-email", ENTER).await;
    window
        .until("document.querySelectorAll('#lookup-body tr').length === 1")
        .await;
    check("customer orders", &window).await;
    window.press(tab, "\u{E037}").await; // F7
    window
        .until("document.getElementById('net-total') !== null")
        .await;
    check("today", &window).await;
    window.close().await;
    drop(driver);
    node.stop().await;
    assert!(
        found.is_empty(),
        "accessibility violations:\n{}",
        found.join("\n")
    );
}
