//! `/metrics`: every documented name is there in Prometheus' text format (read back with a
//! Prometheus text parser), and the numbers move with what happens: requests by route template,
//! orders placed, paid and expired, writer batches and commits, expiry lateness, locks pending.

use std::time::Duration;

use prometheus_parse::{Sample, Scrape, Value};
use reqwest::StatusCode;
use serde_json::json;

use tix_tests::client::{Client, Node, NodeOptions, eventually, id};

use crate::{NODE, run_task};

/// The names the README documents.
const DOCUMENTED: [&str; 20] = [
    "tix_http_requests_total",
    "tix_http_request_duration_seconds",
    "tix_events_total",
    "tix_orders_total",
    "tix_writer_batch_size",
    "tix_writer_commit_seconds",
    "tix_writer_commits_total",
    "tix_store_syncs_total",
    "tix_expiry_lateness_seconds",
    "tix_events_last_seq",
    "tix_outbox_backlog_events",
    "tix_sync_connected",
    "tix_sync_acked_seq",
    "tix_sync_lag_events",
    "tix_search_lag_events",
    "tix_locks_pending",
    "tix_mail_queued",
    "tix_payments_unsettled",
    // Histograms' series, as Prometheus stores them.
    "tix_writer_batch_size_count",
    "tix_http_request_duration_seconds_sum",
];

async fn scrape(client: &Client) -> Scrape {
    let reply = client.get("/metrics").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    Scrape::parse(reply.text.lines().map(|line| Ok(line.to_owned()))).expect("parses")
}

fn labelled<'a>(scrape: &'a Scrape, name: &str, labels: &[(&str, &str)]) -> Vec<&'a Sample> {
    scrape
        .samples
        .iter()
        .filter(|s| s.metric == name)
        .filter(|s| labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
        .collect()
}

/// The value of the one series of `name` with `labels` (0 when there is none yet).
fn value(scrape: &Scrape, name: &str, labels: &[(&str, &str)]) -> f64 {
    match labelled(scrape, name, labels).as_slice() {
        [] => 0.0,
        [one] => match &one.value {
            Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v) => *v,
            Value::Histogram(buckets) => buckets.iter().map(|b| b.count).fold(0.0, f64::max),
            Value::Summary(_) => panic!("{name} is a summary"),
        },
        many => panic!("{} series of {name} with {labels:?}", many.len()),
    }
}

#[tokio::test]
async fn the_documented_metrics_are_there_and_move_with_sales() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(
        NODE,
        &dir,
        NodeOptions {
            lock_ttl: Some("1s"),
            ..Default::default()
        },
    );
    let seller = node.client().user("seller@test.com").await;
    let buyer = node.client().user("buyer@test.com").await;
    let before = scrape(&node.client()).await;
    assert_eq!(
        value(&before, "tix_orders_total", &[("outcome", "expired")]),
        0.0
    );

    // Three orders: one paid, one left to expire, one cancelled by its buyer.
    let mut orders = Vec::new();
    for n in 0..3 {
        let ticket = seller.sell(&format!("Gig {n}"), json!(10)).await;
        let order = buyer
            .post("/api/orders", json!({ "ticketId": id(&ticket) }))
            .await;
        assert_eq!(order.status, StatusCode::CREATED, "{}", order.text);
        orders.push(id(&order.body));
    }
    let paid = buyer
        .post(
            "/api/payments",
            json!({ "orderId": orders[0], "token": "tok_visa" }),
        )
        .await;
    assert_eq!(paid.status, StatusCode::CREATED, "{}", paid.text);
    let cancelled = buyer.delete(&format!("/api/orders/{}", orders[2])).await;
    assert!(cancelled.status.is_success(), "{}", cancelled.text);
    let shown = buyer.get(&format!("/api/orders/{}", orders[1])).await;
    assert_eq!(shown.status, StatusCode::OK);
    let metrics = node.client();
    // The scheduler records the lateness once the writer has done every reaction to the expiry,
    // a moment after the expiry itself is counted.
    let expired = eventually(Duration::from_secs(10), || async {
        let now = scrape(&metrics).await;
        value(&now, "tix_orders_total", &[("outcome", "expired")]) >= 1.0
            && value(&now, "tix_expiry_lateness_seconds_count", &[]) >= 1.0
    })
    .await;
    assert!(expired, "the unpaid order expired");

    let after = scrape(&node.client()).await;
    let names: Vec<&str> = after.samples.iter().map(|s| s.metric.as_str()).collect();
    for name in DOCUMENTED {
        let base = name.trim_end_matches("_count").trim_end_matches("_sum");
        assert!(
            names.contains(&name) || after.docs.contains_key(base),
            "{name} is not in /metrics"
        );
    }
    let orders_by = |outcome| value(&after, "tix_orders_total", &[("outcome", outcome)]);
    assert_eq!(
        (orders_by("placed"), orders_by("paid"), orders_by("expired")),
        (3.0, 1.0, 1.0)
    );
    // Cancelled by the buyer and by the expiry.
    assert_eq!(orders_by("cancelled"), 2.0);
    let order_route = [
        ("method", "GET"),
        ("route", "/api/orders/:id"),
        ("status", "200"),
    ];
    assert_eq!(value(&after, "tix_http_requests_total", &order_route), 1.0);
    assert!(
        labelled(&after, "tix_http_requests_total", &[])
            .iter()
            .all(|s| !s
                .labels
                .get("route")
                .unwrap_or_default()
                .contains(&orders[1])),
        "no raw id as a route"
    );
    let grew = |name| value(&after, name, &[]) > value(&before, name, &[]);
    assert!(grew("tix_writer_batch_size_count"), "batches counted");
    assert!(grew("tix_writer_commit_seconds_count"), "commits timed");
    let durable = [("durability", "durable")];
    assert!(
        value(&after, "tix_writer_commits_total", &durable)
            > value(&before, "tix_writer_commits_total", &durable),
        "durable commits counted"
    );
    assert!(
        grew("tix_store_syncs_total"),
        "fsyncs of the store files counted"
    );
    assert_eq!(value(&after, "tix_expiry_lateness_seconds_count", &[]), 1.0);
    assert_eq!(
        value(&after, "tix_events_total", &[("type", "payment:created")]),
        1.0
    );
    assert_eq!(value(&after, "tix_locks_pending", &[]), 0.0);
    assert!(value(&after, "tix_events_last_seq", &[]) > value(&before, "tix_events_last_seq", &[]));
    assert_eq!(
        value(&after, "tix_sync_lag_events", &[]),
        0.0,
        "sync is off"
    );
}

/// `tix-node health`, a container's health check: 0 while the node answers, 1 when none does.
#[tokio::test]
async fn the_health_check_passes_on_a_serving_node_and_fails_without_one() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(NODE, &dir, NodeOptions::default());
    let check = |listen: String| async move { run_task(&["health", "--listen", &listen]).await };
    let addr = node.socket_addr();
    let (healthy, said) = check(addr.to_string()).await;
    assert!(healthy, "{said}");
    // The image listens on 0.0.0.0: the check reaches it on loopback.
    let (any, said) = check(format!("0.0.0.0:{}", addr.port())).await;
    assert!(any, "{said}");
    node.stop(Duration::from_secs(30)).unwrap();
    let (gone, said) = check(addr.to_string()).await;
    assert!(!gone);
    assert!(said.contains("unhealthy"), "{said}");
}
