//! The box office's benchmark (run on demand, never timed in CI): stripped binary size, launch to
//! interactive against a local node, and "cash" pressed to the sale committed on the node.
//!
//! ```text
//! cargo test --release -p tix-desktop --test window -- --ignored --nocapture
//! ```
//!
//! Every span is measured from outside the app, so each includes a WebDriver round trip (printed
//! alongside, with the node's `/hello` round trip, as the floor of what can be seen from here).

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::harness::{Api, BoxOffice, Display, Driver, F8, Node};

const LAUNCHES: usize = 5;
const SALES: usize = 20;

fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn summary(name: &str, mut samples: Vec<Duration>) -> String {
    samples.sort();
    let p50 = samples[samples.len() / 2];
    let max = *samples.last().unwrap();
    format!(
        "{name}: p50 {:.1} ms, max {:.1} ms (n={})",
        millis(p50),
        millis(max),
        samples.len()
    )
}

fn stripped_size() -> (u64, u64) {
    let binary = env!("CARGO_BIN_EXE_tix-box-office");
    let full = std::fs::metadata(binary).unwrap().len();
    let out = tempfile::NamedTempFile::new().unwrap();
    let status = std::process::Command::new("strip")
        .arg("-o")
        .arg(out.path())
        .arg(binary)
        .status()
        .expect("strip (binutils) runs");
    assert!(status.success());
    (full, std::fs::metadata(out.path()).unwrap().len())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a benchmark: run with --ignored --nocapture, in release"]
async fn box_office_benchmark() {
    crate::harness::within(Duration::from_secs(600), benchmark()).await;
}

async fn benchmark() {
    let (full, stripped) = stripped_size();
    let display = Display::start().await;
    let node = Node::start().await;
    let staff = Api::sign_up(&node.url, "counter@venue.test", "counter-pw").await;
    let seller = Api::sign_up(&node.url, "seller@venue.test", "seller-pw").await;
    let mut direct_tickets = Vec::new();
    for n in 0..SALES {
        seller
            .sell(&format!("Bench seat {n:02}"), 10.0 + n as f64)
            .await;
        direct_tickets.push(seller.sell(&format!("Direct seat {n:02}"), 10.0).await);
    }
    // Remembered node, so a launch goes straight to the sign-in form.
    let settings = tempfile::tempdir().unwrap();
    std::fs::write(
        settings.path().join("box-office.json"),
        json!({ "connection": { "mode": "remote", "url": node.url } }).to_string(),
    )
    .unwrap();
    let driver = Driver::start(&display, settings.path()).await;

    let mut launches = Vec::new();
    for _ in 0..LAUNCHES {
        let started = Instant::now();
        let window = driver.launch().await;
        window
            .until("document.body.dataset.ready === 'true' && !document.getElementById('screen-signin').hidden")
            .await;
        launches.push(started.elapsed());
        window.close().await;
    }

    let window = driver.launch().await;
    window.until("document.body.dataset.ready === 'true'").await;
    window.sign_in("counter@venue.test", "counter-pw").await;

    let mut webdriver = Vec::new();
    for _ in 0..50 {
        let started = Instant::now();
        window.client.execute("return 1;", vec![]).await.unwrap();
        webdriver.push(started.elapsed());
    }
    let http = reqwest::Client::new();
    let mut hello = Vec::new();
    for _ in 0..200 {
        let started = Instant::now();
        http.get(format!("{}/hello", node.url))
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        hello.push(started.elapsed());
    }

    // The node alone: the same cash sale over HTTP, without the app.
    let mut direct = Vec::new();
    for ticket in &direct_tickets {
        let order = staff
            .post("/api/orders", json!({ "ticketId": ticket }))
            .await;
        let started = Instant::now();
        staff
            .post(
                "/api/box-office/payments/cash",
                json!({ "orderId": order["id"] }),
            )
            .await;
        direct.push(started.elapsed());
    }

    let mut committed = Vec::new();
    let mut shown = Vec::new();
    let mut in_app = Vec::new();
    for n in 0..SALES {
        window
            .lock_the_one_match(&format!("Bench seat {n:02}"))
            .await;
        let order_id = window
            .client
            .execute("return state.order.id;", vec![])
            .await
            .unwrap();
        let order_id = order_id.as_str().unwrap().to_owned();
        let started = Instant::now();
        window.press("#pay-cash", F8).await;
        loop {
            let order: Value = staff.get(&format!("/api/orders/{order_id}")).await;
            if order["status"] == "complete" {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "sale {n} never committed"
            );
        }
        committed.push(started.elapsed());
        window.shows("sale-done").await;
        shown.push(started.elapsed());
        let in_window = window
            .client
            .execute("return state.lastSaleMs;", vec![])
            .await
            .unwrap();
        in_app.push(Duration::from_secs_f64(
            in_window.as_f64().expect("the window timed the sale") / 1000.0,
        ));
        window.press("#next-sale", "\u{E032}").await; // F2: next customer
        window.shows("sale-empty").await;
    }
    let day = staff.get("/api/box-office/summary").await;
    assert_eq!(day["cash"]["sales"], 2 * SALES as u64, "{day}");
    window.close().await;
    drop(driver);
    node.stop().await;

    println!("\n== box office benchmark");
    println!(
        "binary: {:.1} MB as built, {:.1} MB stripped (target < 15 MB)",
        full as f64 / 1e6,
        stripped as f64 / 1e6
    );
    println!(
        "{} (target < 1000 ms)",
        summary("launch -> sign-in form interactive", launches)
    );
    println!(
        "{} (target < 100 ms)",
        summary("F8 cash -> sale committed on the node", committed)
    );
    println!("{}", summary("F8 cash -> pass shown in the window", shown));
    println!(
        "{}",
        summary(
            "in the window: keydown -> the node's answer (committed)",
            in_app
        )
    );
    println!(
        "{}",
        summary("floor: the node alone, POST cash over HTTP", direct)
    );
    println!("{}", summary("floor: one WebDriver round trip", webdriver));
    println!("{}", summary("floor: node GET /hello round trip", hello));
}
