//! The box office's benchmark (run on demand, never timed in CI): stripped binary size, launch to
//! interactive against a local node, and "cash" pressed to the sale committed on the node; and
//! door mode's scan to verdict, online (the node decides) and offline (the node stopped: the app
//! decides and writes the admission to its queue file first).
//!
//! ```text
//! cargo test --release -p tix-desktop --test window -- --ignored --nocapture
//! ```
//!
//! Every span is measured from outside the app, so each includes a WebDriver round trip (printed
//! alongside, with the node's `/hello` round trip, as the floor of what can be seen from here).

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::door::{open_the_door, remembering, sold_tonight};
use crate::harness::{Api, BoxOffice, Display, Driver, ENTER, F8, Node, OutsideNode, Window};

const LAUNCHES: usize = 5;
const SALES: usize = 20;
/// Door scans timed in each mode, each of a pass not seen before (an admission: the slowest path).
const SCANS: usize = 100;

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

/// p50, p99 and max of `samples`.
fn percentiles(name: &str, mut samples: Vec<Duration>) -> String {
    samples.sort();
    let at =
        |q: f64| samples[((samples.len() as f64 * q).ceil() as usize).clamp(1, samples.len()) - 1];
    format!(
        "{name}: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms (n={})",
        millis(at(0.5)),
        millis(at(0.99)),
        millis(*samples.last().unwrap()),
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a benchmark: run with --ignored --nocapture, in release"]
async fn door_scan_benchmark() {
    crate::harness::OutsideNode::build();
    crate::harness::within(Duration::from_secs(600), door_benchmark()).await;
}

/// Each scan: the code put in the field, then Enter pressed over WebDriver; timed in the window
/// (keydown to the verdict drawn) and from here (the press to the verdict seen).
async fn timed_scans(
    window: &Window,
    codes: &[String],
    local: bool,
) -> (Vec<Duration>, Vec<Duration>) {
    let mut in_window = Vec::new();
    let mut outside = Vec::new();
    for code in codes {
        let seq = window.script("return door.seq;").await.as_u64().unwrap() + 1;
        window
            .client
            .execute(
                "document.getElementById('door-code').value = arguments[0]; return null;",
                vec![json!(code)],
            )
            .await
            .unwrap();
        let started = Instant::now();
        window.press("#door-code", ENTER).await;
        window.until(&format!("door.shown === {seq}")).await;
        outside.push(started.elapsed());
        let shown = window
            .script("return [door.verdict.result, !!door.verdict.local, door.lastScanMs];")
            .await;
        assert_eq!(shown[0], "admitted", "{shown}");
        assert_eq!(shown[1], local, "{shown}");
        in_window.push(Duration::from_secs_f64(shown[2].as_f64().unwrap() / 1000.0));
    }
    (in_window, outside)
}

async fn door_benchmark() {
    let display = Display::start().await;
    let mut node = OutsideNode::start();
    let staff = Api::sign_up(&node.url, "door@venue.test", "door-pw").await;
    let (_show, codes) = sold_tonight(&staff, "Bench night", 2 * SCANS as u32).await;
    let settings = remembering(&node.url);
    let driver = Driver::start(&display, settings.path()).await;
    let window = driver.launch().await;
    window.shows("screen-signin").await;
    window.sign_in("door@venue.test", "door-pw").await;
    open_the_door(&window, "Bench").await;

    let mut webdriver = Vec::new();
    for _ in 0..50 {
        let started = Instant::now();
        window.client.execute("return 1;", vec![]).await.unwrap();
        webdriver.push(started.elapsed());
    }
    let (online, online_outside) = timed_scans(&window, &codes[..SCANS], false).await;
    node.stop();
    let (offline, offline_outside) = timed_scans(&window, &codes[SCANS..], true).await;
    let queued = std::fs::read_to_string(settings.path().join("door").join("queue.jsonl")).unwrap();
    assert_eq!(queued.lines().count(), SCANS);
    window.close().await;
    drop(driver);

    println!("\n== box office door benchmark");
    println!(
        "{} (target < 100 ms)",
        percentiles("online: Enter -> verdict drawn, in the window", online)
    );
    println!(
        "{} (target < 100 ms)",
        percentiles(
            "offline: Enter -> verdict drawn (queue file synced), in the window",
            offline
        )
    );
    println!(
        "{}",
        percentiles(
            "online: Enter pressed -> verdict seen over WebDriver",
            online_outside
        )
    );
    println!(
        "{}",
        percentiles(
            "offline: Enter pressed -> verdict seen over WebDriver",
            offline_outside
        )
    );
    println!(
        "{}",
        percentiles("floor: one WebDriver round trip", webdriver)
    );
}
