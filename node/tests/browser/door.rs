//! The door screen in a real browser: door staff pick the show and gate, type the codes (as a USB
//! scanner does) and read the verdict; the same works without JavaScript; axe on the page.

use serde_json::{Value, json};

use tix_tests::client::{Client, Node, id};
use tix_tests::webdriver::axe::{axe_source, serious_violations as violations};
use tix_tests::webdriver::chromium::{Driver, Scripts};

use crate::storefront::Storefront;

/// An ISO time an hour from now: the passes of a show then are valid now.
fn in_an_hour() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    tix_core::time::Millis(now + 3_600_000).to_iso()
}

/// Signs the browser's staff account in over the API, for the setup the browser does not do.
async fn staff_api(node: &Node, email: &str) -> Client {
    let mut staff = node.client();
    let reply = staff
        .post(
            "/api/users/signin",
            json!({"email": email, "password": "secret1"}),
        )
        .await;
    assert_eq!(reply.status, reqwest::StatusCode::OK, "{}", reply.text);
    staff.keep_cookie(&reply);
    staff
}

/// Three standing places of a show tonight, paid in cash: the show and the passes.
async fn sold(node: &Node, staff: &Client) -> (Value, Vec<String>) {
    let show = staff
        .post(
            "/api/shows",
            json!({
                "title": "Door Jazz", "startsAt": in_an_hour(),
                "categories": [{"name": "Standing", "price": "15.00"}],
                "areas": [{"name": "Floor", "category": "Standing", "capacity": 50}]
            }),
        )
        .await
        .body;
    let buyer = node.client().user("buyer@example.com").await;
    let order = buyer
        .post(
            &format!("/api/shows/{}/orders", id(&show)),
            json!({"category": "Standing", "quantity": 3}),
        )
        .await
        .body;
    staff
        .post(
            "/api/box-office/payments/cash",
            json!({"orderId": id(&order)}),
        )
        .await;
    let paid = buyer.get(&format!("/api/orders/{}", id(&order))).await;
    let passes = paid.body["passes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["code"].as_str().unwrap().to_owned())
        .collect();
    (show, passes)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn door_staff_scan_passes_by_hand_and_read_the_verdict() {
    let axe = axe_source();
    let dir = tempfile::tempdir().unwrap();
    let node = crate::staff_first_node(&dir);
    let base = node.url("");
    let driver = Driver::start().await;
    let door = driver.browser(Scripts::On, 412, 915).await;
    door.sign_up(&base, "door@example.com").await;
    let staff = staff_api(&node, "door@example.com").await;
    let (show, passes) = sold(&node, &staff).await;

    door.goto(&format!("{base}/door?show={}", id(&show))).await;
    door.wait_for_text("h1", "Door").await;
    let found = violations(&door, &axe).await;
    assert!(found.is_empty(), "door: {found:#?}");
    assert!(
        door.text("#door-counts")
            .await
            .contains("0 admitted of 3 sold")
    );
    door.fill("#door-gate", "North").await;
    door.fill("#door-code", &passes[0]).await;
    door.press("#door-code", "\u{E007}").await;
    door.wait_for_text("#verdict", "Admitted").await;
    assert!(door.text("#verdict").await.contains("Door Jazz · Floor"));
    let colour = door
        .script("return document.getElementById('verdict').className")
        .await;
    assert_eq!(colour, json!("verdict verdict-in"));
    door.wait_for_text("#door-counts", "1 admitted of 3 sold")
        .await;
    door.screenshot("door-admitted").await;

    door.fill("#door-code", &passes[0]).await;
    door.press("#door-code", "\u{E007}").await;
    door.wait_for_text("#verdict", "Already admitted at").await;
    assert!(door.text("#verdict").await.contains("at gate North"));
    let colour = door
        .script("return document.getElementById('verdict').className")
        .await;
    assert_eq!(colour, json!("verdict verdict-out"));
    let focused = door.script("return document.activeElement.id").await;
    assert_eq!(focused, json!("door-code"), "ready for the next scan");
    let found = violations(&door, &axe).await;
    assert!(found.is_empty(), "door with a verdict: {found:#?}");

    door.fill("#door-code", "TIX2:NOTAPASS").await;
    door.click("#door-check").await;
    door.wait_for_text("#verdict", "Not a valid pass of this venue")
        .await;
    door.screenshot("door-refused").await;

    // Without JavaScript the form posts and the page answers with the verdict.
    let plain = driver.browser(Scripts::Off, 412, 915).await;
    plain.goto(&format!("{base}/auth/signin")).await;
    plain.fill("#email", "door@example.com").await;
    plain.fill("#password", "secret1").await;
    plain.click("button[type=submit]").await;
    plain
        .goto(&format!("{base}/door?show={}&gate=South", id(&show)))
        .await;
    plain.fill("#door-code", &passes[1]).await;
    plain.click("#door-check").await;
    plain.wait_for_text("#verdict", "Admitted").await;
    assert!(
        plain
            .text("#door-counts")
            .await
            .contains("2 admitted of 3 sold")
    );

    // A buyer is told the page is for staff.
    let buyer = driver.browser(Scripts::On, 412, 915).await;
    buyer.sign_up(&base, "walkin@example.com").await;
    buyer.goto(&format!("{base}/door")).await;
    assert!(!buyer.body_text().await.contains("Pass code"));
}
