//! Seat maps in a real browser: picking seats on the picture, watching them go in another window,
//! losing a race with a clear message, picking with the keyboard only, and buying with script off.

use serde_json::{Value, json};

use tix_tests::client::{Client, Node, NodeOptions, id, users};
use tix_tests::webdriver::Page;
use tix_tests::webdriver::chromium::{Driver, Scripts};

use crate::NODE;
use crate::storefront::Storefront;

/// A node whose first account is staff, and that account.
async fn node_with_staff(dir: &tempfile::TempDir) -> (Node, Client) {
    let node = Node::start(
        NODE,
        dir,
        NodeOptions {
            env: vec![("TIX_FIRST_USER_IS_STAFF".into(), "1".into())],
            ..Default::default()
        },
    );
    let staff = node.client().user("staff@example.com").await;
    (node, staff)
}

/// A show of 3 rows of 8 generated seats; its page's path.
async fn seated_show(staff: &Client, title: &str) -> String {
    let show = staff
        .post(
            "/api/shows",
            json!({"title": title, "startsAt": "2030-12-06T20:00:00Z", "hall": "Main hall",
                   "categories": [{"name": "Stalls", "price": "30.00"}],
                   "generate": [{"section": "Stalls", "category": "Stalls", "rows": 3, "seatsPerRow": 8}]}),
        )
        .await;
    assert_eq!(show.status, 201, "{:?}", show.body);
    format!("/shows/{}", id(&show.body))
}

/// The picture's seat `i` (0-based, in unit order): the stage is the first rect.
fn seat(i: usize) -> String {
    format!("#seat-svg rect.seat:nth-of-type({})", i + 2)
}

async fn classes(page: &Page, i: usize) -> String {
    page.find(&seat(i))
        .await
        .attr("class")
        .await
        .unwrap()
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seats_picked_on_the_map_grey_out_in_another_window_as_held_then_sold() {
    let dir = tempfile::tempdir().unwrap();
    let (node, staff) = node_with_staff(&dir).await;
    let base = node.url("");
    let show = seated_show(&staff, "Evening Recital").await;
    let driver = Driver::start().await;
    let (buyer, watcher) = tokio::join!(
        driver.browser(Scripts::On, 1280, 900),
        driver.browser(Scripts::On, 1280, 900)
    );
    buyer.sign_up(&base, "buyer@example.com").await;
    buyer.goto(&format!("{base}{show}")).await;
    watcher.goto(&format!("{base}{show}")).await;
    buyer
        .until("document.querySelector('#seat-choice').textContent !== ''")
        .await;
    // Let the watcher's stream open before anything changes.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;

    // Row 1, seats 4 and 5, clicked on the picture.
    buyer.click(&seat(3)).await;
    buyer.click(&seat(4)).await;
    assert!(classes(&buyer, 3).await.contains(" k"));
    buyer
        .wait_for_text("#seat-choice", "Row 1 seat 4; Row 1 seat 5")
        .await;
    buyer.screenshot("seat-map-picked").await;
    buyer.click_text("Buy the seats I ticked").await;
    buyer.wait_for_text("#countdown", "Time left to pay").await;
    for label in ["Stalls row 1 seat 4", "Stalls row 1 seat 5"] {
        assert!(buyer.text("main").await.contains(label));
    }
    watcher
        .until("document.querySelector('#seat-svg rect.seat:nth-of-type(5)').classList.contains('t') && document.querySelector('#seat-svg rect.seat:nth-of-type(6)').classList.contains('t')")
        .await;
    assert!(
        !classes(&watcher, 2).await.contains(" t"),
        "seat 3 is still free"
    );
    watcher.screenshot("seat-map-held-elsewhere").await;
    buyer.click("#pay-button").await;
    buyer.wait_for_text("#order-status", "Complete").await;
    // Sold stays taken: after a reload the server draws them taken too.
    watcher.goto(&format!("{base}{show}")).await;
    assert!(classes(&watcher, 3).await.contains(" t"));
    let disabled = watcher
        .script("return Array.from(document.querySelectorAll('input[name=seat]')).filter(b => b.disabled).length;")
        .await;
    assert_eq!(disabled, json!(24), "signed out, nothing is tickable");
    buyer.close().await;
    watcher.close().await;
}

/// Requests the node has answered for a show's whole seat map (`GET /api/shows/{id}/seats`).
async fn seat_map_requests(node: &Node) -> f64 {
    let metrics = node.client().get("/metrics").await.text;
    metrics
        .lines()
        .filter(|line| line.starts_with("tix_http_requests_total{"))
        .filter(|line| {
            line.contains("method=\"GET\"") && line.contains("route=\"/api/shows/:id/seats\"")
        })
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_map_that_missed_nothing_applies_changes_told_together_without_fetching_itself_again() {
    let dir = tempfile::tempdir().unwrap();
    let (node, staff) = node_with_staff(&dir).await;
    let base = node.url("");
    let show = seated_show(&staff, "Busy Matinee").await;
    let map = staff.get(&format!("/api{show}/seats")).await.body;
    let row: Vec<Value> = map["sections"][0]["rows"][0]["seats"]
        .as_array()
        .unwrap()
        .iter()
        .map(|seat| seat[0].clone())
        .collect();
    let buyers = users(&node, "matinee", 4).await;
    let driver = Driver::start().await;
    let watcher = driver.browser(Scripts::On, 1280, 900).await;
    watcher.goto(&format!("{base}{show}")).await;
    // Let the watcher's stream open before anything changes.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let before = seat_map_requests(&node).await;

    // Four buyers take a seat each at the same moment: the node tells the page of them together.
    let path = format!("/api{show}/orders");
    let orders = futures_util::future::join_all(
        buyers
            .iter()
            .zip(&row)
            .map(|(buyer, seat)| buyer.post(&path, json!({"seats": [seat]}))),
    )
    .await;
    for order in &orders {
        assert_eq!(order.status, 201, "{:?}", order.body);
    }
    watcher
        .until("[0, 1, 2, 3].every((i) => document.querySelector(`#seat-svg rect.seat:nth-of-type(${i + 2})`).classList.contains('t'))")
        .await;
    assert!(!classes(&watcher, 4).await.contains(" t"), "seat 5 is free");
    // A refetch starts with the notice that asks for it; give one time to arrive.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(
        seat_map_requests(&node).await,
        before,
        "the page fetched the whole map again though it had missed nothing"
    );
    watcher.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_buyers_race_for_the_same_seats_and_the_loser_is_told_which_ones() {
    let dir = tempfile::tempdir().unwrap();
    let (node, staff) = node_with_staff(&dir).await;
    let base = node.url("");
    let show = seated_show(&staff, "Sold Out Quartet").await;
    let driver = Driver::start().await;
    let (first, second) = tokio::join!(
        driver.browser(Scripts::On, 1280, 900),
        driver.browser(Scripts::On, 1280, 900)
    );
    first.sign_up(&base, "first@example.com").await;
    second.sign_up(&base, "second@example.com").await;
    for page in [&first, &second] {
        page.goto(&format!("{base}{show}")).await;
        page.click(&seat(9)).await;
        page.click(&seat(10)).await;
    }
    // Both press at once; the node takes one order and refuses the other whole. The loser reads
    // why: from the node when its order came second, or from the page's script when the winner's
    // seats greyed out before the press.
    tokio::join!(
        first.click_text("Buy the seats I ticked"),
        second.click_text("Buy the seats I ticked")
    );
    let outcome = |page: &Page| {
        let page = page.client.clone();
        async move {
            for _ in 0..400 {
                let path = page.current_url().await.unwrap().path().to_owned();
                if path.starts_with("/orders/") {
                    return ("ordered", String::new());
                }
                let text = page
                    .execute("return document.querySelector('main').innerText;", vec![])
                    .await
                    .unwrap();
                let text = text.as_str().unwrap_or_default().to_owned();
                if text.contains("taken by someone else")
                    || text.contains("Someone else has just taken")
                {
                    return ("refused", text);
                }
                tokio::time::sleep(std::time::Duration::from_millis(25)).await;
            }
            ("neither", String::new())
        }
    };
    let (a, b) = tokio::join!(outcome(&first.page), outcome(&second.page));
    let mut outcomes = [a.0, b.0];
    outcomes.sort_unstable();
    assert_eq!(outcomes, ["ordered", "refused"]);
    let (loser, said) = if a.0 == "refused" {
        (&first, a.1)
    } else {
        (&second, b.1)
    };
    let said = said.to_lowercase();
    assert!(
        said.contains("row 2 seat 2") && said.contains("row 2 seat 3"),
        "the message names both seats: {said}"
    );
    loser.screenshot("seat-map-race-lost").await;
    // The node agrees: two seats held, in one order.
    let map = staff.get(&format!("/api{show}/seats")).await.body;
    let held: Vec<&Value> = map["sections"][0]["rows"][1]["seats"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s[5] == "h")
        .collect();
    assert_eq!(held.len(), 2, "{map}");
    first.close().await;
    second.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_seat_ticked_here_and_taken_elsewhere_is_unticked_and_explained() {
    let dir = tempfile::tempdir().unwrap();
    let (node, staff) = node_with_staff(&dir).await;
    let base = node.url("");
    let show = seated_show(&staff, "Late Trio").await;
    let driver = Driver::start().await;
    let buyer = driver.browser(Scripts::On, 1280, 900).await;
    buyer.sign_up(&base, "slow@example.com").await;
    buyer.goto(&format!("{base}{show}")).await;
    buyer.click(&seat(0)).await;
    buyer.click(&seat(1)).await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    // Someone at the box office sells row 1 seat 2 first.
    let map = staff.get(&format!("/api{show}/seats")).await.body;
    let seat_2 = map["sections"][0]["rows"][0]["seats"][1][0].clone();
    let sold = staff
        .post(&format!("/api{show}/orders"), json!({"seats": [seat_2]}))
        .await;
    assert_eq!(sold.status, 201, "{:?}", sold.body);
    buyer
        .wait_for_text("#seat-lost", "Someone else has just taken Row 1 seat 2")
        .await;
    let ticked = buyer
        .script("return Array.from(document.querySelectorAll('input[name=seat]:checked')).map(b => b.value);")
        .await;
    assert_eq!(ticked, json!(["0"]));
    assert!(classes(&buyer, 1).await.contains(" t"));
    buyer.screenshot("seat-map-lost-seat").await;
    buyer.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seats_are_picked_with_the_keyboard_only_and_bought_with_script_off() {
    let dir = tempfile::tempdir().unwrap();
    let (node, staff) = node_with_staff(&dir).await;
    let base = node.url("");
    let show = seated_show(&staff, "Keyboard Sonata").await;
    let driver = Driver::start().await;

    // Keyboard: a seat in the list ticked with the space bar, the form sent with Enter.
    let keys = driver.browser(Scripts::On, 1280, 900).await;
    keys.sign_up(&base, "keys@example.com").await;
    keys.goto(&format!("{base}{show}")).await;
    keys.press("input[name=seat][value='16']", "\u{e00d}").await;
    keys.press("input[name=seat][value='17']", "\u{e00d}").await;
    keys.wait_for_text("#seat-choice", "Row 3 seat 1; Row 3 seat 2")
        .await;
    assert!(
        classes(&keys, 16).await.contains(" k"),
        "the picture follows the list"
    );
    keys.press("#seat-form button[type=submit]", "\u{e007}")
        .await; // Enter
    keys.wait_for_text("#countdown", "Time left to pay").await;
    assert!(keys.text("main").await.contains("Stalls row 3 seat 2"));
    keys.close().await;

    // Script off: the same form, ticked and sent as plain HTML.
    let plain = driver.browser(Scripts::Off, 1024, 800).await;
    plain.sign_up(&base, "plain@example.com").await;
    plain.goto(&format!("{base}{show}")).await;
    plain.click("input[name=seat][value='20']").await;
    plain.click("input[name=seat][value='21']").await;
    plain.screenshot("seat-map-nojs").await;
    plain.click_text("Buy the seats I ticked").await;
    plain.wait_for_text("#countdown", "Pay before").await;
    for label in ["Stalls row 3 seat 5", "Stalls row 3 seat 6"] {
        assert!(plain.text("main").await.contains(label));
    }
    plain.click("#pay-button").await;
    plain.wait_for_text("#order-status", "Complete").await;
    plain.close().await;
}
