//! Door mode in the real window, against a `tix-node` process that goes away and comes back: F10,
//! the show and the gate, passes typed in as a USB scanner types them (the code, then Enter).
//! Online the node decides; with the node stopped the app decides from its copy and queues what
//! it admits; the node restarted, the queue is sent and the conflict the node finds (the same
//! ticket let in at another gate meanwhile) is shown. Screenshots go to
//! `artifacts/screenshots/box-office-door-*.png`.

use serde_json::{Value, json};
use tix_tests::webdriver::axe::{axe_source, serious_violations as violations};

use crate::LIMIT;
use crate::harness::keys::{ESCAPE, F10};
use crate::harness::{Api, BoxOffice, Display, Driver, ENTER, OutsideNode, Window, within};

/// A tab button: always there to take a function key.
const TAB: &str = "button[data-tab='sell']";

/// An ISO time `hours` from now.
fn hours_from_now(hours: u64) -> String {
    let now = tix_core::time::Millis::from_system_time(std::time::SystemTime::now());
    tix_core::time::Millis(now.0 + hours * 3_600_000).to_iso()
}

/// A show of standing places starting within the hour (its passes valid now), `count` of them
/// sold in orders of at most 10 paid in cash; the show's id and the pass codes, in ticket order.
pub(crate) async fn sold_tonight(staff: &Api, title: &str, count: u32) -> (String, Vec<String>) {
    let show = staff
        .post(
            "/api/shows",
            json!({
                "title": title,
                "startsAt": hours_from_now(1),
                "categories": [{ "name": "Standing", "price": "20.00" }],
                "areas": [{ "name": "Floor", "category": "Standing", "capacity": count + 10 }],
            }),
        )
        .await;
    let show = show["id"].as_str().expect("a show id").to_owned();
    let mut codes = Vec::new();
    while codes.len() < count as usize {
        let quantity = (count as usize - codes.len()).min(10);
        let order = staff
            .post(
                &format!("/api/shows/{show}/orders"),
                json!({ "category": "Standing", "quantity": quantity }),
            )
            .await;
        let order = order["id"].as_str().expect("an order id").to_owned();
        staff
            .post("/api/box-office/payments/cash", json!({ "orderId": order }))
            .await;
        let paid = staff.get(&format!("/api/box-office/orders/{order}")).await;
        let passes = paid["passes"]
            .as_array()
            .unwrap_or_else(|| panic!("a paid order has passes: {paid}"));
        assert_eq!(passes.len(), quantity);
        codes.extend(
            passes
                .iter()
                .map(|p| p["code"].as_str().expect("a code").to_owned()),
        );
    }
    (show, codes)
}

/// The window's settings, remembering `url`, so it opens on the sign-in form.
pub(crate) fn remembering(url: &str) -> tempfile::TempDir {
    let settings = tempfile::tempdir().unwrap();
    std::fs::write(
        settings.path().join("box-office.json"),
        json!({ "connection": { "mode": "remote", "url": url } }).to_string(),
    )
    .unwrap();
    settings
}

/// F10, the only show chosen, `gate` typed, Enter: the scanning field in focus.
pub(crate) async fn open_the_door(window: &Window, gate: &str) {
    window.press(TAB, F10).await;
    window.shows("door-setup").await;
    window
        .until("document.querySelectorAll('#door-shows li.show').length === 1")
        .await;
    window.fill("#door-gate", gate).await;
    window.press("#door-gate", ENTER).await;
    window.shows("door-scan").await;
    window
        .until("document.activeElement === document.getElementById('door-code')")
        .await;
}

/// Types `code` and Enter into the scanning field, as a USB scanner does; the verdict shown.
async fn scan(window: &Window, code: &str) -> Value {
    let before = window.script("return door.seq;").await;
    let seq = before.as_u64().expect("the scan count") + 1;
    window.press("#door-code", &format!("{code}{ENTER}")).await;
    window.until(&format!("door.shown === {seq}")).await;
    // The field is empty again for the next pass.
    assert_eq!(
        window
            .script("return document.getElementById('door-code').value;")
            .await,
        ""
    );
    window.script("return door.verdict;").await
}

async fn screen(window: &Window) -> (String, String) {
    let shown = window
        .script(
            "return [document.getElementById('door-verdict').className, \
             document.getElementById('door-result').textContent];",
        )
        .await;
    (
        shown[0].as_str().unwrap_or_default().to_owned(),
        shown[1].as_str().unwrap_or_default().to_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_door_keeps_checking_passes_while_the_node_is_away() {
    OutsideNode::build();
    within(LIMIT, door_through_an_outage()).await;
}

async fn door_through_an_outage() {
    let axe = axe_source();
    let mut found = Vec::new();
    let display = Display::start().await;
    let mut node = OutsideNode::start();
    let staff = Api::sign_up(&node.url, "door@venue.test", "door-pw").await;
    let (show, codes) = sold_tonight(&staff, "Door night", 3).await;
    let (a, b, c) = (&codes[0], &codes[1], &codes[2]);

    let settings = remembering(&node.url);
    let driver = Driver::start(&display, settings.path()).await;
    let window = driver.launch().await;
    window.shows("screen-signin").await;
    window.sign_in("door@venue.test", "door-pw").await;
    window.press(TAB, F10).await;
    window
        .until("document.querySelectorAll('#door-shows li.show').length === 1")
        .await;
    found.extend(
        violations(&window, &axe)
            .await
            .into_iter()
            .map(|v| format!("door setup: {v}")),
    );
    open_the_door(&window, "North").await;
    assert!(window.text("#door-title").await.contains("Door night"));
    window
        .until("document.getElementById('door-counts').textContent === '0 admitted / 3 sold'")
        .await;
    let saved = std::fs::read_to_string(settings.path().join("box-office.json")).unwrap();
    assert!(saved.contains("\"doorGate\": \"North\""), "{saved}");
    assert!(
        settings
            .path()
            .join("door")
            .join(format!("copy-{show}.json"))
            .exists()
    );

    // Online: the node admits A; green, a high beep, the count moves.
    let verdict = scan(&window, a).await;
    assert_eq!(verdict["result"], "admitted", "{verdict}");
    assert!(verdict.get("local").is_none(), "{verdict}");
    assert_eq!(
        screen(&window).await,
        ("verdict ok".into(), "ADMITTED".into())
    );
    assert_eq!(window.script("return door.lastBeep;").await, "high");
    assert!(window.text("#door-seat").await.contains("Floor"));
    assert_eq!(window.text("#door-counts").await, "1 admitted / 3 sold");
    window.screenshot("box-office-door-admitted").await;

    // The node stops. B is admitted here, written down, and the screen says OFFLINE, 1 waiting.
    node.stop();
    let verdict = scan(&window, b).await;
    assert_eq!(verdict["result"], "admitted", "{verdict}");
    assert_eq!(verdict["local"], true);
    let ticket_b = verdict["ticketId"].clone();
    let offline = window.text("#door-offline").await;
    assert!(
        offline.starts_with("OFFLINE") && offline.contains("1 admission waiting to be sent"),
        "{offline}"
    );
    assert_eq!(window.text("#door-counts").await, "2 admitted / 3 sold");
    let queue = std::fs::read_to_string(settings.path().join("door").join("queue.jsonl")).unwrap();
    assert_eq!(queue.lines().count(), 1);
    assert!(
        queue.contains(b.as_str()) && queue.contains("\"gate\":\"North\""),
        "{queue}"
    );
    window.screenshot("box-office-door-offline-admitted").await;
    found.extend(
        violations(&window, &axe)
            .await
            .into_iter()
            .map(|v| format!("door offline: {v}")),
    );

    // B again: refused here (this scanner let it in). A: refused from the copy. A forgery: forged.
    let verdict = scan(&window, b).await;
    assert_eq!(verdict["result"], "already-admitted", "{verdict}");
    assert!(
        verdict["message"]
            .as_str()
            .unwrap()
            .contains("(by this scanner)")
    );
    assert_eq!(screen(&window).await.0, "verdict bad");
    assert_eq!(window.script("return door.lastBeep;").await, "low");
    let verdict = scan(&window, a).await;
    assert_eq!(verdict["result"], "already-admitted", "{verdict}");
    // (The copy learned of it when the node admitted it here, online.)
    assert!(
        verdict["message"]
            .as_str()
            .unwrap()
            .contains("at gate North"),
        "{verdict}"
    );
    let mut forged = c.clone().into_bytes();
    let at = forged.len() - 7;
    forged[at] = if forged[at] == b'A' { b'B' } else { b'A' };
    let verdict = scan(&window, std::str::from_utf8(&forged).unwrap()).await;
    assert_eq!(verdict["result"], "forged", "{verdict}");
    assert_eq!(
        screen(&window).await,
        (
            "verdict bad".into(),
            "NOT A VALID PASS · decided offline".into()
        )
    );
    window.screenshot("box-office-door-offline-forged").await;
    assert!(
        window
            .text("#door-offline")
            .await
            .contains("1 admission waiting")
    );

    // The node is back, first where this scanner cannot see it: B is let in at South there.
    let elsewhere = node.start_elsewhere();
    let south = staff
        .at(&elsewhere)
        .post("/api/check-in", json!({ "code": b, "gate": "South" }))
        .await;
    assert_eq!(south["result"], "admitted", "{south}");
    node.stop();
    node.restart();

    // The scanner finds it, sends its queue, and shows the conflict: B, South first, North second.
    window
        .until("document.getElementById('door-offline').hidden")
        .await;
    window
        .until("document.querySelectorAll('#door-my-conflicts tr').length === 1")
        .await;
    let mine = window.text("#door-my-conflicts").await;
    assert!(
        mine.contains("Floor") && mine.contains("Gate South") && mine.contains("Gate North"),
        "{mine}"
    );
    let row_ticket = window
        .script("return document.querySelector('#door-my-conflicts tr').dataset.ticket;")
        .await;
    assert_eq!(row_ticket, ticket_b);
    window
        .until("document.querySelectorAll('#door-all-conflicts tr').length === 1")
        .await;
    assert!(
        std::fs::read_to_string(settings.path().join("door").join("queue.jsonl"))
            .unwrap()
            .is_empty()
    );
    window
        .until("document.getElementById('door-counts').textContent === '2 admitted / 3 sold'")
        .await;
    window.screenshot("box-office-door-conflict").await;
    found.extend(
        violations(&window, &axe)
            .await
            .into_iter()
            .map(|v| format!("door conflicts: {v}")),
    );

    // The node agrees: one conflict, B let in at South first and offline at North after.
    let conflicts = staff.get("/api/check-in/conflicts").await;
    let list = conflicts.as_array().expect("a list");
    assert_eq!(list.len(), 1, "{conflicts}");
    assert_eq!(list[0]["ticketId"], ticket_b);
    assert_eq!(list[0]["first"]["gate"], "South");
    assert_eq!(list[0]["second"]["gate"], "North");
    assert_eq!(list[0]["second"]["offline"], true);

    // Online again: C is the node's to admit.
    let verdict = scan(&window, c).await;
    assert_eq!(verdict["result"], "admitted", "{verdict}");
    assert!(verdict.get("local").is_none(), "{verdict}");
    assert_eq!(window.text("#door-counts").await, "3 admitted / 3 sold");
    // Esc closes the door, back to choosing a show; the gate is still there.
    window.press("#door-code", ESCAPE).await;
    window.shows("door-setup").await;
    assert_eq!(
        window
            .script("return document.getElementById('door-gate').value;")
            .await,
        "North"
    );
    window.close().await;
    drop(driver);
    node.stop();
    assert!(
        found.is_empty(),
        "accessibility violations:\n{}",
        found.join("\n")
    );
}
