//! The hub's HTTP API: operators only, clear errors for bad parameters.

use std::time::Duration;

use serde_json::Value;
use tix_tests::served::serve;
use tix_tests::{Served, workspace_binary};

use crate::SERIAL;
use crate::checker::wait_for_sync;
use crate::harness::{HUB_TOKEN, hub_get, start_hub, start_node, venue_broker, venue_url};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_request_needs_the_token_and_bad_parameters_get_400() {
    let _serial = SERIAL.lock().await;
    let broker = venue_broker(&["venue-a"]);
    let dir = tempfile::tempdir().unwrap();
    let hub = start_hub(dir.path().join("hub.sqlite3"), &broker);
    let node = start_node(
        &dir.path().join("node"),
        "venue-a",
        &venue_url(&broker, "venue-a"),
        true,
    );
    assert_eq!(crate::load::list_tickets(&node.url(""), 20, 2).await, 20);
    wait_for_sync(&hub, &node, "venue-a", Duration::from_secs(30)).await;

    let http = reqwest::Client::new();
    for path in ["/api/hub/venues", "/api/hub/sales", "/api/hub/nothing-here"] {
        for auth in [None, Some("Bearer wrong-token"), Some(HUB_TOKEN)] {
            let mut request = http.get(hub.url(path));
            if let Some(auth) = auth {
                let value = if auth == HUB_TOKEN {
                    format!("Bearer {auth}")
                } else {
                    auth.to_owned()
                };
                request = request.header("authorization", value);
            }
            let reply = request.send().await.unwrap();
            let status = reply.status().as_u16();
            let body: Value = reply.json().await.unwrap();
            match auth {
                Some(HUB_TOKEN) if path == "/api/hub/nothing-here" => assert_eq!(status, 404),
                Some(HUB_TOKEN) => assert_eq!(status, 200, "{path}: {body}"),
                _ => {
                    assert_eq!(status, 401, "{path} with {auth:?}");
                    assert_eq!(body["errors"][0]["message"], "Not authorized");
                }
            }
        }
    }

    let venues = hub_get(&hub, "/api/hub/venues").await;
    let venue = &venues[0];
    for field in ["venue", "epoch", "lastSeq", "events", "lastSeenAt"] {
        assert!(!venue[field].is_null(), "{field} in {venue}");
    }
    assert_eq!(venue["events"], venue["lastSeq"]);
    hub_metrics_match(&hub, venue).await;
    let events = hub_get(&hub, "/api/hub/venues/venue-a/events?after=5&limit=3").await;
    let seqs: Vec<&str> = events
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["sequence"].as_str().unwrap())
        .collect();
    assert_eq!(seqs, ["6", "7", "8"]);
    let tickets = hub_get(&hub, "/api/hub/venues/venue-a/tickets?limit=1000").await;
    assert_eq!(tickets.as_array().unwrap().len(), 20);
    let chain = hub_get(&hub, "/api/hub/tickets?limit=5&offset=15").await;
    assert_eq!(chain.as_array().unwrap().len(), 5);
    assert_eq!(chain[0]["venue"], "venue-a");
    assert_eq!(
        chain[0], tickets[15],
        "the chain-wide list pages like the venue's"
    );
    let none = hub_get(&hub, "/api/hub/orders?status=complete&venue=venue-a").await;
    assert_eq!(none, serde_json::json!([]), "no orders were placed");

    for (path, status) in [
        ("/api/hub/venues/venue-a/events?limit=0", 400),
        ("/api/hub/venues/venue-a/events?limit=5000", 400),
        ("/api/hub/venues/venue-a/events?after=-1", 400),
        ("/api/hub/venues/venue-a/events?after=abc", 400),
        ("/api/hub/venues/Not%20A%20Venue/events", 400),
        ("/api/hub/venues/unknown/events", 404),
        ("/api/hub/venues/venue-a/orders?status=lost", 400),
        ("/api/hub/orders?venue=Bad!", 400),
        ("/api/hub/tickets?offset=x", 400),
    ] {
        let reply = http
            .get(hub.url(path))
            .bearer_auth(HUB_TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(reply.status().as_u16(), status, "{path}");
        let body: Value = reply.json().await.unwrap();
        assert!(body["errors"][0]["message"].is_string(), "{path}: {body}");
    }
}

/// The hub's `/metrics`: behind the token, Prometheus' text format, and the venue's numbers as its
/// API gives them.
async fn hub_metrics_match(hub: &Served, venue: &Value) {
    let http = reqwest::Client::new();
    let refused = http.get(hub.url("/metrics")).send().await.unwrap();
    assert_eq!(refused.status().as_u16(), 401);
    let text = http
        .get(hub.url("/metrics"))
        .bearer_auth(HUB_TOKEN)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let scrape = prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).unwrap();
    let value = |name: &str, venue: Option<&str>| {
        scrape
            .samples
            .iter()
            .find(|s| s.metric == name && venue.is_none_or(|v| s.labels.get("venue") == Some(v)))
            .map(|s| match s.value {
                prometheus_parse::Value::Counter(v)
                | prometheus_parse::Value::Gauge(v)
                | prometheus_parse::Value::Untyped(v) => v,
                _ => panic!("{name} is no counter or gauge"),
            })
            .unwrap_or_else(|| panic!("{name} for {venue:?} in {text}"))
    };
    let events = venue["events"].as_f64().unwrap();
    assert_eq!(value("tix_hub_venue_events", Some("venue-a")), events);
    assert_eq!(
        value("tix_hub_venue_last_seq", Some("venue-a")),
        venue["lastSeq"].as_f64().unwrap()
    );
    assert!(value("tix_hub_events_applied_total", None) >= events);
    assert_eq!(value("tix_hub_mqtt_connected", None), 1.0);
    for name in [
        "tix_hub_events_duplicate_total",
        "tix_hub_events_gap_total",
        "tix_hub_quarantined_total",
        "tix_hub_ingest_batches_total",
        "tix_hub_ingest_failed_batches_total",
        "tix_hub_mqtt_received_total",
        "tix_hub_venue_lag_ms",
        "tix_hub_venue_last_seen_ms",
    ] {
        value(name, None);
    }
}

/// Starts a hub without `--api-token` (and with no broker to reach: it keeps retrying) and returns
/// it, its address and any token it printed.
fn start_hub_without_token(db: &std::path::Path) -> (Served, String, Option<String>) {
    let mut command = std::process::Command::new(workspace_binary("tix-hub"));
    command
        .args([
            "--listen",
            "127.0.0.1:0",
            "--mqtt-url",
            "mqtt://127.0.0.1:9",
        ])
        .arg("--db")
        .arg(db)
        .env("TIX_HUB_LOG_FORMAT", "json")
        .env_remove("TIX_HUB_API_TOKEN");
    let hub =
        serve(command, "tix-hub", Duration::from_secs(30)).unwrap_or_else(|e| panic!("{e:#}"));
    let printed = hub.log().iter().find_map(|line| {
        line.split("): ")
            .nth(1)
            .filter(|_| line.starts_with("tix-hub: generated"))
            .map(str::to_owned)
    });
    let addr = hub.addr.clone();
    (hub, addr, printed)
}

#[tokio::test]
async fn a_generated_token_is_printed_once_kept_private_and_reused() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("hub.sqlite3");
    let (first, addr, printed) = start_hub_without_token(&db);
    let token = printed.expect("the generated token is printed at first start");
    let file = dir.path().join("hub.sqlite3.api-token");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), token);
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let http = reqwest::Client::new();
    let ok = http
        .get(format!("http://{addr}/api/hub/venues"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status().as_u16(), 200);
    first.kill9();

    let (second, addr, printed) = start_hub_without_token(&db);
    assert_eq!(printed, None, "printed once only");
    let ok = http
        .get(format!("http://{addr}/api/hub/health"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status().as_u16(), 200);
    let health: Value = ok.json().await.unwrap();
    assert_eq!(health["mqtt"]["connected"], false, "no broker at port 9");
    // `tix-hub health` (a container's check) finds the token in its file, as the hub does.
    let check = || {
        std::process::Command::new(workspace_binary("tix-hub"))
            .args(["health", "--listen", &addr])
            .arg("--db")
            .arg(&db)
            .env_remove("TIX_HUB_API_TOKEN")
            .output()
            .unwrap()
    };
    let healthy = check();
    assert!(healthy.status.success(), "{healthy:?}");
    second.kill9();
    assert!(!check().status.success(), "no hub, no health");
}
