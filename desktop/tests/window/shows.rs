//! Shows sold to a party at the real counter, from the keyboard: F3 for the shows, Enter to open
//! one, a number typed and Enter for the best seats together (or M for the seat map, arrows and
//! Space to pick), F8 for cash, and every pass of the party shown and printed at once; the node
//! agrees. Screenshots go to `artifacts/screenshots/box-office-show-*.png`.

use serde_json::{Value, json};
use tix_tests::webdriver::axe::{axe_source, serious_violations as violations};

use crate::LIMIT;
use crate::harness::keys::{BACKSPACE, CONTROL, DOWN, F2, F3, F5, F6, LEFT, RELEASE, RIGHT, SPACE};
use crate::harness::{Api, BoxOffice, Display, Driver, ENTER, F8, Node, Window, within};

/// Any tab button: always there to take a function key.
const TAB: &str = "button[data-tab='sell']";
/// The seat the arrows are on (the map's one focusable seat).
const CURSOR: &str = "#seat-map button.seat[tabindex='0']";

/// A staff member's box office on a fresh node whose first account (theirs) is staff, with the
/// node remembered so the window opens on the sign-in form; signed in.
struct Counter {
    window: Window,
    staff: Api,
    node: Node,
    _driver: Driver,
    _settings: tempfile::TempDir,
    _display: Display,
}

impl Counter {
    async fn open() -> Counter {
        let display = Display::start().await;
        let node = Node::start().await;
        let staff = Api::sign_up(&node.url, "counter@venue.test", "counter-pw").await;
        let settings = tempfile::tempdir().unwrap();
        std::fs::write(
            settings.path().join("box-office.json"),
            json!({ "connection": { "mode": "remote", "url": node.url } }).to_string(),
        )
        .unwrap();
        let driver = Driver::start(&display, settings.path()).await;
        let window = driver.launch().await;
        window.shows("screen-signin").await;
        window.sign_in("counter@venue.test", "counter-pw").await;
        Counter {
            window,
            staff,
            node,
            _driver: driver,
            _settings: settings,
            _display: display,
        }
    }

    /// Puts a show on sale (as staff, over the node's API); its id.
    async fn put_on(&self, show: Value) -> String {
        let show = self.staff.post("/api/shows", show).await;
        show["id"].as_str().expect("a show id").to_owned()
    }

    async fn close(self) {
        self.window.close().await;
        drop(self._driver);
        self.node.stop().await;
    }
}

/// F3, then Enter on the only show listed: its categories, the quantity field in focus.
async fn open_the_only_show(window: &Window) {
    window.press(TAB, F3).await;
    window.shows("shows-list-view").await;
    window
        .until("document.querySelectorAll('#shows-list li.show').length === 1")
        .await;
    window.press("#shows-list", ENTER).await;
    window.shows("show-best").await;
    window
        .until("document.activeElement === document.getElementById('show-quantity')")
        .await;
}

/// How many of the passes' QR codes have loaded.
const QR_LOADED: &str = "[...document.querySelectorAll('#passes img.qr')].filter(i => i.complete && i.naturalWidth > 0).length";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_party_of_five_sold_for_cash_by_best_available_from_the_keyboard() {
    within(LIMIT, party_of_five()).await;
}

async fn party_of_five() {
    let counter = Counter::open().await;
    let window = &counter.window;
    let show = counter
        .put_on(json!({
            "title": "Friday Concert",
            "startsAt": "2030-12-06T20:00:00Z",
            "hall": "Main hall",
            "categories": [{ "name": "Stalls", "price": "30.00" }],
            "generate": [{ "section": "Stalls", "category": "Stalls", "rows": 5, "seatsPerRow": 10 }],
        }))
        .await;

    // F3, Enter, five typed over the default, Enter: the best five seats held together.
    open_the_only_show(window).await;
    assert!(window.text("#show-categories").await.contains("50 left"));
    window.screenshot("box-office-show-categories").await;
    window
        .press("#show-quantity", &format!("{BACKSPACE}{BACKSPACE}5"))
        .await;
    window.press("#show-quantity", ENTER).await;
    window.shows("sale-locked").await;
    window.shows("sale-party").await;
    assert_eq!(window.text("#sale-title").await, "Friday Concert");
    assert!(window.text("#sale-price").await.contains("150"));
    window
        .until("document.querySelectorAll('#sale-seats li').length === 5")
        .await;
    window.screenshot("box-office-show-party-held").await;

    // F5: the open lock is the party's, five seats named.
    window.press(TAB, F5).await;
    window
        .until("document.getElementById('locks-body').textContent.includes('5 tickets')")
        .await;
    assert!(
        window
            .text("#locks-body")
            .await
            .contains("Stalls row 1 seat")
    );
    window.screenshot("box-office-show-party-lock").await;

    // F2 back to the sale, F8: one cash payment for the party, five passes.
    window.press(TAB, F2).await;
    window.shows("sale-locked").await;
    window.press("#pay-cash", F8).await;
    window.shows("sale-done").await;
    window.until(&format!("{QR_LOADED} === 5")).await;
    let order_id = window.text("#pass-order").await;
    window.screenshot("box-office-show-five-passes").await;

    // Ctrl+P prints them all at once, one pass per page.
    window
        .script("window.printed = 0; window.print = () => { window.printed += 1; }; return null;")
        .await;
    window
        .press("#print", &format!("{CONTROL}p{RELEASE}"))
        .await;
    window.until("window.printed === 1").await;
    let one_per_page = window
        .script(
            "return [...document.styleSheets].flatMap(s => [...s.cssRules])
               .filter(r => r.media && r.media.mediaText === 'print')
               .flatMap(r => [...r.cssRules])
               .some(r => r.selectorText === '.pass' && (r.style.breakAfter === 'page' || r.style.pageBreakAfter === 'always'));",
        )
        .await;
    assert_eq!(one_per_page, Value::Bool(true), "the print style sheet");

    // The node agrees: complete, paid in cash, five tickets, each with its pass.
    let order = counter
        .staff
        .get(&format!("/api/box-office/orders/{order_id}"))
        .await;
    assert_eq!(order["status"], "complete", "{order}");
    assert_eq!(order["show"], show.as_str());
    assert_eq!(order["payment"]["method"], "cash");
    assert_eq!(order["payment"]["amount"], 150.0);
    let tickets = order["tickets"].as_array().unwrap();
    assert_eq!(tickets.len(), 5);
    let shown = window
        .script(
            "return [...document.querySelectorAll('#passes .pass')].map(p => p.dataset.ticket);",
        )
        .await;
    let ids: Vec<&Value> = tickets.iter().map(|t| &t["id"]).collect();
    assert_eq!(shown.as_array().unwrap().iter().collect::<Vec<_>>(), ids);
    let listed = counter.staff.get(&format!("/api/shows/{show}")).await;
    assert_eq!(listed["categories"][0]["sold"], 5, "{listed}");

    // F6: the order found by its number, and its five passes shown again with Enter.
    window.press(TAB, F6).await;
    window.press("#lookup-number", &order_id).await;
    window.press("#lookup-number", ENTER).await;
    window
        .until("document.getElementById('lookup-body').textContent.includes('5 tickets')")
        .await;
    let row = window.text("#lookup-body").await;
    assert!(
        row.contains("counter@venue.test") && row.contains("complete"),
        "{row}"
    );
    window.screenshot("box-office-show-order-by-number").await;
    window.press("#lookup-number", DOWN).await;
    window.press("#lookup-table", ENTER).await;
    window.shows("sale-done").await;
    window.until(&format!("{QR_LOADED} === 5")).await;
    counter.close().await;
}

/// A small hall drawn as given: rows A and B of six, A1 a wheelchair space.
fn small_hall() -> Value {
    let row = |name: &str, y: u32| {
        let seats: Vec<Value> = (1..=6)
            .map(|n| {
                let mut seat =
                    json!({ "name": n.to_string(), "category": "Stalls", "x": n - 1, "y": y });
                if name == "A" && n == 1 {
                    seat["flags"] = json!(["wheelchair"]);
                }
                seat
            })
            .collect();
        json!({ "name": name, "seats": seats })
    };
    json!({
        "title": "Chamber Recital",
        "startsAt": "2030-12-07T19:30:00Z",
        "categories": [{ "name": "Stalls", "price": "25.00" }],
        "seatMap": { "sections": [{ "name": "Stalls", "rows": [row("A", 0), row("B", 1)] }] },
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_seats_picked_on_the_map_with_the_arrows_and_space() {
    within(LIMIT, two_seats_on_the_map()).await;
}

async fn two_seats_on_the_map() {
    let axe = axe_source();
    let counter = Counter::open().await;
    let window = &counter.window;
    let show = counter.put_on(small_hall()).await;
    // Someone else holds B3 already.
    let map = counter.staff.get(&format!("/api/shows/{show}/seats")).await;
    let b3 = map["sections"][0]["rows"][1]["seats"][2][0].clone();
    let other = Api::sign_up(&counter.node.url, "guest@venue.test", "guest-pw").await;
    let held = other
        .post(
            &format!("/api/shows/{show}/orders"),
            json!({ "seats": [b3] }),
        )
        .await;
    let held = held["id"].as_str().expect("an order id").to_owned();

    let mut found = Vec::new();
    window.press(TAB, F3).await;
    window
        .until("document.querySelectorAll('#shows-list li.show').length === 1")
        .await;
    found.extend(
        violations(window, &axe)
            .await
            .into_iter()
            .map(|v| format!("shows: {v}")),
    );
    open_the_only_show(window).await;
    found.extend(
        violations(window, &axe)
            .await
            .into_iter()
            .map(|v| format!("show: {v}")),
    );

    // M: the map, the arrows on the first free seat (A1, the wheelchair space).
    window.press("#show-quantity", "m").await;
    window.shows("show-map").await;
    window
        .until("document.activeElement && document.activeElement.dataset.id !== undefined")
        .await;
    let wheelchair = window
        .script("return document.activeElement.getAttribute('aria-label');")
        .await;
    assert!(
        wheelchair
            .as_str()
            .unwrap()
            .contains("row A seat 1, wheelchair space"),
        "{wheelchair}"
    );
    assert!(
        window
            .script("return document.activeElement.classList.contains('wheelchair');")
            .await
            == Value::Bool(true)
    );
    let taken = window
        .script("return document.querySelectorAll('#seat-map .seat.taken').length;")
        .await;
    assert_eq!(taken, json!(1));

    // → Space: A2. ↓ → Space: B3 is held, refused. ← Space: B2.
    window.press(CURSOR, RIGHT).await;
    window.press(CURSOR, SPACE).await;
    window.press(CURSOR, DOWN).await;
    window.press(CURSOR, RIGHT).await;
    window.press(CURSOR, SPACE).await;
    window
        .until("document.getElementById('show-error').textContent.includes('row B seat 3 is held')")
        .await;
    window.press(CURSOR, LEFT).await;
    window.press(CURSOR, SPACE).await;
    window
        .until("document.getElementById('seat-picked').textContent.startsWith('2 seats picked')")
        .await;
    let picked = window.text("#seat-picked").await;
    assert!(
        picked.contains("Stalls row A seat 2, Stalls row B seat 2") && picked.contains("50"),
        "{picked}"
    );
    window.screenshot("box-office-show-seat-map").await;
    found.extend(
        violations(window, &axe)
            .await
            .into_iter()
            .map(|v| format!("seat map: {v}")),
    );

    // Enter holds them; F8 sells them; two passes with their seats.
    window.press(CURSOR, ENTER).await;
    window.shows("sale-locked").await;
    window
        .until("document.querySelectorAll('#sale-seats li').length === 2")
        .await;
    window.press("#pay-cash", F8).await;
    window.shows("sale-done").await;
    window.until(&format!("{QR_LOADED} === 2")).await;
    let seats = window
        .script(
            "return [...document.querySelectorAll('#passes .pass-seat')].map(p => p.textContent);",
        )
        .await;
    assert_eq!(seats, json!(["Stalls row A seat 2", "Stalls row B seat 2"]));
    window.screenshot("box-office-show-seat-map-passes").await;
    found.extend(
        violations(window, &axe)
            .await
            .into_iter()
            .map(|v| format!("passes: {v}")),
    );

    let order_id = window.text("#pass-order").await;
    let order = counter
        .staff
        .get(&format!("/api/box-office/orders/{order_id}"))
        .await;
    assert_eq!(order["status"], "complete", "{order}");
    assert_eq!(order["payment"]["amount"], 50.0);

    // The guest comes to the counter with their order's number: F6, typed, Enter, ↓ Enter makes
    // it the sale; a card is not the staff's to take for it (the node's rule), cash is.
    window.press(TAB, F6).await;
    window.press("#lookup-number", &held).await;
    window.press("#lookup-number", ENTER).await;
    window
        .until("document.getElementById('lookup-body').textContent.includes('guest@venue.test')")
        .await;
    window.press("#lookup-number", DOWN).await;
    // Enter and F9 in one go, as a quick hand does: the counter's ticket search (started by
    // opening the sale) answers after the refusal is shown, and must not wipe it.
    let searching = window
        .script(
            "const key = (k) => document.activeElement.dispatchEvent(\
               new KeyboardEvent('keydown', { key: k, bubbles: true, cancelable: true }));\
             document.getElementById('lookup-table').focus(); key('Enter');\
             const busy = document.getElementById('results').getAttribute('aria-busy');\
             key('F9'); return busy;",
        )
        .await;
    assert_eq!(searching, json!("true"), "opening the sale searches");
    window.shows("sale-locked").await;
    assert!(
        window
            .text("#sale-seats")
            .await
            .contains("Stalls row B seat 3")
    );
    window
        .until("document.getElementById('results').getAttribute('aria-busy') === 'false'")
        .await;
    let refusal = window.text("#sale-error").await;
    assert!(refusal.contains("placed by someone else"), "{refusal:?}");
    window.press("#pay-cash", F8).await;
    window.shows("sale-done").await;
    window.until(&format!("{QR_LOADED} === 1")).await;
    let paid = counter
        .staff
        .get(&format!("/api/box-office/orders/{held}"))
        .await;
    assert_eq!(paid["status"], "complete", "{paid}");
    assert_eq!(paid["payment"]["method"], "cash");
    counter.close().await;
    assert!(
        found.is_empty(),
        "accessibility violations:\n{}",
        found.join("\n")
    );
}
