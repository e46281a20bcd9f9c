//! Staff manage shows in a browser: a new show from a CSV seat map, previewed and put on sale,
//! its counts changing live as buyers hold seats; axe on every manage page.

use serde_json::json;

use tix_tests::webdriver::axe::{axe_source, serious_violations as violations};
use tix_tests::webdriver::chromium::{Driver, Scripts};

use crate::storefront::Storefront;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manager_puts_a_show_on_sale_from_a_csv_seat_map_and_watches_it_sell() {
    let axe = axe_source();
    let dir = tempfile::tempdir().unwrap();
    let node = crate::staff_first_node(&dir);
    let base = node.url("");
    let mut csv = String::from("section,row,seat,category,x,y\n");
    for (r, row) in ["A", "B", "C"].iter().enumerate() {
        for seat in 1..=12 {
            csv.push_str(&format!("Stalls,{row},{seat},Stalls,{},{r}\n", seat - 1));
        }
    }
    let file = dir.path().join("hall.csv");
    std::fs::write(&file, &csv).unwrap();

    let driver = Driver::start().await;
    let manager = driver.browser(Scripts::On, 1280, 900).await;
    manager.sign_up(&base, "manager@example.com").await;
    manager.click_text("Manage").await;
    manager.wait_for_text("h1", "Tonight and coming up").await;
    let found = violations(&manager, &axe).await;
    assert!(found.is_empty(), "manage: {found:#?}");
    manager.click_text("Put a new show on sale").await;
    manager.wait_for_text("h1", "Put a new show on sale").await;
    let found = violations(&manager, &axe).await;
    assert!(found.is_empty(), "new show: {found:#?}");

    manager.fill("#title", "Autumn Quartet").await;
    manager
        .script("document.getElementById('startsAt').value = '2030-11-20T19:30'; return true;")
        .await;
    manager.fill("[name='categories[0].name']", "Stalls").await;
    manager.fill("[name='categories[0].price']", "28").await;
    manager
        .fill("[name='categories[1].name']", "Standing")
        .await;
    manager.fill("[name='categories[1].price']", "12").await;
    manager.fill("[name='areas[0].name']", "Floor").await;
    manager.fill("[name='areas[0].category']", "Standing").await;
    manager.fill("[name='areas[0].capacity']", "50").await;
    manager
        .find("#seatMapFile")
        .await
        .send_keys(file.to_str().unwrap())
        .await
        .unwrap();
    manager.click_text("Preview").await;
    manager
        .wait_for_text("#preview", "Preview: nothing is saved yet")
        .await;
    assert!(manager.text("#preview").await.contains("86 tickets in all"));
    let seats = manager
        .script("return document.querySelectorAll('#preview rect.seat').length;")
        .await;
    assert_eq!(seats, json!(36));
    let found = violations(&manager, &axe).await;
    assert!(found.is_empty(), "preview: {found:#?}");
    manager.screenshot("manage-preview").await;

    manager.click_text("Save the show").await;
    manager.wait_for_text("h1", "Autumn Quartet").await;
    assert!(manager.text("#show-status").await.contains("On sale"));
    let found = violations(&manager, &axe).await;
    assert!(found.is_empty(), "a show's page: {found:#?}");
    let path = manager.path().await;
    let show_id = path.trim_start_matches("/manage/shows/").to_owned();

    // On sale: buyers see it on What's on, and the counts follow their orders live.
    let buyer = node.client().user("buyer@example.com").await;
    let whats_on = reqwest::get(format!("{base}/"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(whats_on.contains("Autumn Quartet"), "{whats_on}");
    manager.goto(&format!("{base}/manage")).await;
    manager
        .find(&format!("[data-counts-for='{show_id}']"))
        .await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let held = buyer
        .post(
            &format!("/api/shows/{show_id}/orders"),
            json!({"category": "Stalls", "quantity": 3}),
        )
        .await;
    assert_eq!(held.status, 201, "{:?}", held.body);
    manager
        .wait_for_text(
            &format!("[data-counts-for='{show_id}'] [data-cat='0'][data-count='held']"),
            "3",
        )
        .await;
    assert_eq!(
        manager
            .text(&format!(
                "[data-counts-for='{show_id}'] [data-cat='0'][data-count='available']"
            ))
            .await,
        "33"
    );
    manager.screenshot("manage-live-counts").await;
    manager.close().await;
}
