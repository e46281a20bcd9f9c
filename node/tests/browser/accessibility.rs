//! WCAG 2.1 AA, checked by axe-core (from the npm registry, fetched by `scripts/fetch-axe.sh`) on
//! every main page, on a phone-sized and a desktop window: no serious or critical violations.

use serde_json::json;

use tix_tests::client::{Node, NodeOptions, id};
use tix_tests::webdriver::axe::{axe_source, serious_violations as violations};
use tix_tests::webdriver::chromium::{Driver, Scripts};

use crate::NODE;
use crate::storefront::Storefront;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_main_page_passes_axe_on_a_phone_and_a_desktop() {
    let axe = axe_source();
    let dir = tempfile::tempdir().unwrap();
    // The first account is staff, so that it can put a show on sale too.
    let node = crate::staff_first_node(&dir);
    let base = node.url("");
    let seller = node.client().user("seller@example.com").await;
    let show = seller
        .post(
            "/api/shows",
            json!({"title": "Friday Jazz", "startsAt": "2030-12-06T20:00:00Z", "hall": "Main hall",
                   "categories": [{"name": "Standing", "price": "20.00"}, {"name": "Stalls", "price": "45.00"}],
                   "areas": [{"name": "Floor", "category": "Standing", "capacity": 100}],
                   "generate": [{"section": "Stalls", "category": "Stalls", "rows": 5, "seatsPerRow": 10}]}),
        )
        .await
        .body;
    let ticket = seller
        .post(
            "/api/tickets",
            json!({"title": "Symphony No. 9", "price": 45, "show": "City Orchestra",
                   "venue": "Main Hall", "startsAt": "2026-12-31T20:00:00Z", "seat": "Stalls B4"}),
        )
        .await
        .body;
    seller.sell("Comedy Cellar", json!(12)).await;
    let driver = Driver::start().await;

    for (label, width, height) in [("phone", 390, 844), ("desktop", 1280, 900)] {
        let browser = driver.browser(Scripts::On, width, height).await;
        let mut pages: Vec<(String, String)> = vec![
            ("tickets".into(), "/tickets".into()),
            ("search".into(), "/tickets?q=symphony".into()),
            ("ticket".into(), format!("/tickets/{}", id(&ticket))),
            ("sign-in".into(), "/auth/signin".into()),
            ("sign-up".into(), "/auth/signup".into()),
            ("not-found".into(), "/no/such/page".into()),
            ("whats-on".into(), "/".into()),
            ("show".into(), format!("/shows/{}", id(&show))),
        ];
        let mut failures = Vec::new();
        for (name, path) in &pages {
            browser.goto(&format!("{base}{path}")).await;
            let found = violations(&browser, &axe).await;
            if !found.is_empty() {
                failures.push(json!({ "page": name, "violations": found }));
            }
        }
        browser
            .sign_up(&base, &format!("{label}@example.com"))
            .await;
        // A form showing its problems beside the fields.
        browser.goto(&format!("{base}/tickets/new")).await;
        browser.fill("#price", "-3").await;
        browser.click("main button[type=submit]").await;
        browser
            .wait_for_text("#title-error", "Title is required")
            .await;
        pages.push(("sell-with-problems".into(), String::new()));
        let found = violations(&browser, &axe).await;
        if !found.is_empty() {
            failures.push(json!({ "page": "sell-with-problems", "violations": found }));
        }
        browser.screenshot(&format!("sell-problems-{label}")).await;
        browser
            .goto(&format!("{base}/tickets/{}", id(&ticket)))
            .await;
        if label == "phone" {
            browser.click("#buy-button").await;
            browser.wait_for_text("#countdown", "Time left").await;
        }
        let show_page = format!("/shows/{}", id(&show));
        for (name, path) in [
            ("order", None),
            ("orders", Some("/orders")),
            ("listings", Some("/my/tickets")),
            ("sell", Some("/tickets/new")),
            ("show-signed-in", Some(show_page.as_str())),
        ] {
            if let Some(path) = path {
                browser.goto(&format!("{base}{path}")).await;
            } else if label != "phone" {
                continue;
            }
            let found = violations(&browser, &axe).await;
            if !found.is_empty() {
                failures.push(json!({ "page": name, "violations": found }));
            }
            browser.screenshot(&format!("{name}-{label}")).await;
        }
        assert!(
            failures.is_empty(),
            "{label}: {}",
            serde_json::to_string_pretty(&failures).unwrap()
        );
        browser.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_kiosk_pages_pass_axe_in_portrait_and_landscape() {
    let axe = axe_source();
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(
        NODE,
        &dir,
        NodeOptions {
            env: vec![
                ("TIX_KIOSK".into(), "true".into()),
                ("TIX_FIRST_USER_IS_STAFF".into(), "1".into()),
            ],
            ..Default::default()
        },
    );
    let base = node.url("");
    let seller = node.client().user("seller@example.com").await;
    let show = seller
        .post(
            "/api/shows",
            json!({"title": "Foyer Brass", "startsAt": "2030-12-06T20:00:00Z", "hall": "Foyer",
                   "categories": [{"name": "Standing", "price": "12.00"}],
                   "areas": [{"name": "Foyer", "category": "Standing", "capacity": 80}]}),
        )
        .await
        .body;
    let ticket = seller.sell("Foyer Show", json!(20)).await;
    let driver = Driver::start().await;
    for (label, width, height) in [("portrait", 1080, 1920), ("landscape", 1920, 1080)] {
        let browser = driver.browser(Scripts::On, width, height).await;
        for path in [
            "/".to_owned(),
            format!("/shows/{}", id(&show)),
            "/tickets".to_owned(),
            format!("/tickets/{}", id(&ticket)),
            "/auth/signin".to_owned(),
        ] {
            browser.goto(&format!("{base}{path}")).await;
            let found = violations(&browser, &axe).await;
            assert!(found.is_empty(), "kiosk {label} {path}: {found:#?}");
        }
        browser.goto(&base).await;
        browser.screenshot(&format!("kiosk-{label}-whats-on")).await;
        browser.close().await;
    }
}
