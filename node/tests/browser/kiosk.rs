//! The kiosk in the foyer: a walk-in guest buys tonight's show in three taps without an account,
//! on a portrait screen the page fills, sees the tickets on screen, and staff find the order.

use serde_json::json;

use tix_tests::client::{Node, NodeOptions, id};
use tix_tests::webdriver::chromium::{Driver, Scripts};

use crate::NODE;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guest_buys_at_a_portrait_kiosk_in_three_taps_and_staff_find_the_order() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(
        NODE,
        &dir,
        NodeOptions {
            env: vec![
                ("TIX_KIOSK".into(), "true".into()),
                ("TIX_KIOSK_IDLE".into(), "4s".into()),
                ("TIX_FIRST_USER_IS_STAFF".into(), "1".into()),
            ],
            ..Default::default()
        },
    );
    let base = node.url("");
    let staff = node.client().user("staff@example.com").await;
    let show = staff
        .post(
            "/api/shows",
            json!({"title": "Tonight: Brass Band", "startsAt": "2030-12-06T20:00:00Z", "hall": "Main hall",
                   "categories": [{"name": "Standing", "price": "15.00"}, {"name": "Stalls", "price": "25.00"}],
                   "areas": [{"name": "Floor", "category": "Standing", "capacity": 100}],
                   "generate": [{"section": "Stalls", "category": "Stalls", "rows": 4, "seatsPerRow": 10}]}),
        )
        .await;
    assert_eq!(show.status, 201, "{:?}", show.body);
    let driver = Driver::start().await;
    let kiosk = driver.browser(Scripts::On, 1080, 1920).await;
    kiosk.goto(&base).await;

    // The page fills a portrait screen: full width, large type, tiles a finger can hit.
    let fit = kiosk
        .script(
            "const tile = document.querySelector('.tile').getBoundingClientRect();
             return {main: document.querySelector('main').getBoundingClientRect().width / innerWidth,
                     body: document.body.getBoundingClientRect().height / innerHeight,
                     font: parseFloat(getComputedStyle(document.body).fontSize),
                     tile: [tile.width, tile.height]};",
        )
        .await;
    assert!(fit["main"].as_f64().unwrap() > 0.95, "{fit}");
    assert!(fit["body"].as_f64().unwrap() >= 1.0, "{fit}");
    assert!(fit["font"].as_f64().unwrap() >= 24.0, "{fit}");
    assert!(fit["tile"][0].as_f64().unwrap() > 900.0, "{fit}");
    assert!(fit["tile"][1].as_f64().unwrap() > 150.0, "{fit}");
    kiosk.screenshot("kiosk-portrait-tiles").await;

    // Tap 1: the show. Tap 2: the best seats (here after choosing two instead of one). Tap 3: pay.
    kiosk.click(".tile").await;
    kiosk.find("#quantity-2").await;
    assert!(
        !kiosk.body_text().await.contains("Pick your seats"),
        "a kiosk sells by quantity only"
    );
    kiosk.click("#quantity-2 option[value='2']").await;
    kiosk.click_text("Best seats for Stalls").await;
    kiosk.wait_for_text("#countdown", "Time left to pay").await;
    kiosk.screenshot("kiosk-portrait-order").await;
    kiosk.click("#pay-button").await;
    kiosk.wait_for_text("#order-status", "Complete").await;
    let tickets = kiosk.text("#order-seats").await;
    assert!(
        tickets.contains("Stalls row 1 seat 5") && tickets.contains("Stalls row 1 seat 6"),
        "{tickets}"
    );
    kiosk.screenshot("kiosk-portrait-passes").await;
    let order_id = kiosk
        .script("return document.querySelector('#order-status').dataset.orderId;")
        .await;
    let order_id = order_id.as_str().unwrap().to_owned();
    assert!(
        kiosk.text("header").await.contains("Done"),
        "a guest has no account to sign out of"
    );

    // Staff find the order by its number.
    let found = staff
        .get(&format!("/api/box-office/orders/{order_id}"))
        .await;
    assert_eq!(found.status, 200, "{:?}", found.body);
    assert_eq!(found.body["status"], "complete");
    assert_eq!(found.body["show"], id(&show.body));
    assert_eq!(found.body["payment"]["method"], "card");
    assert!(
        found.body["buyer"]
            .as_str()
            .unwrap()
            .ends_with("@kiosk.invalid"),
        "{}",
        found.body
    );
    assert_eq!(
        found.body["tickets"].as_array().map(Vec::len),
        Some(2),
        "{}",
        found.body
    );

    // Left alone, the screen ends the guest's visit and goes back to the tiles.
    kiosk.wait_for_text("header", "Sign in").await;
    assert_eq!(kiosk.path().await, "/");
    kiosk.find(".tile").await;
    kiosk.goto(&format!("{base}/orders/{order_id}")).await;
    assert!(
        kiosk.body_text().await.contains("Sign in"),
        "the next visitor does not see the guest's order"
    );
    assert!(!kiosk.body_text().await.contains("Stalls row 1 seat 5"));
    kiosk.close().await;
}
