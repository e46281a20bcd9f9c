//! The box office's endpoints: staff only (granted by the operator's subcommand, or the first
//! account of a standalone node), cash sales, refunds, orders by email, open locks and the day's
//! takings matching what was sold.

use std::process::Command;

use reqwest::StatusCode;
use serde_json::{Value, json};

use tix_tests::client::{Client, Node, NodeOptions, eventually, id, only_message};

use crate::fake_stripe::FakeStripe;
use crate::{NODE, standalone};

const STAFF_GETS: [&str; 4] = [
    "/api/box-office/staff",
    "/api/box-office/orders?email=a@b.co",
    "/api/box-office/locks",
    "/api/box-office/summary",
];
const STAFF_POSTS: [&str; 2] = ["/api/box-office/payments/cash", "/api/box-office/refunds"];

/// Runs `tix-node staff ARGS --data-dir DIR`; its exit success and output.
fn staff_task(dir: &tempfile::TempDir, args: &[&str]) -> (bool, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_tix-node"))
        .arg("staff")
        .args(args)
        .arg("--data-dir")
        .arg(dir.path())
        .output()
        .expect("run tix-node staff");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

async fn assert_refused(client: &Client, who: &str) {
    for path in STAFF_GETS {
        let reply = client.get(path).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{who} GET {path}");
        assert_eq!(only_message(&reply), "Not authorized");
    }
    for path in STAFF_POSTS {
        let reply = client
            .post(path, json!({ "orderId": "5f8d0d55b54764421b7156c9" }))
            .await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{who} POST {path}");
        assert_eq!(only_message(&reply), "Not authorized");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_staff_granted_by_the_operator_may_use_the_box_office() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(NODE, &dir, NodeOptions::default());
    let clerk = node.client().user("clerk@test.com").await;
    let _other = node.client().user("other@test.com").await;
    assert_refused(&node.client(), "anonymous").await;
    // An ordinary node never makes its first user staff.
    assert_refused(&clerk, "not yet staff").await;

    let (ok, text) = staff_task(&dir, &["grant", "clerk@test.com"]);
    assert!(!ok, "granting while the node runs must fail: {text}");
    assert!(text.contains("is running; stop it"), "{text}");

    let cookie = clerk.cookie.clone();
    assert!(node.terminate().success());
    let (ok, text) = staff_task(&dir, &["grant", "nobody@test.com"]);
    assert!(!ok && text.contains("must sign up first"), "{text}");
    let (ok, text) = staff_task(&dir, &["grant", "clerk@test.com"]);
    assert!(ok && text.contains("clerk@test.com"), "{text}");
    let (ok, text) = staff_task(&dir, &["list"]);
    assert!(ok, "{text}");
    assert_eq!(text.trim().lines().count(), 1, "{text}");
    assert!(text.starts_with("clerk@test.com\t"), "{text}");

    let node = Node::start(NODE, &dir, NodeOptions::default());
    // The same session: the role is read from the store on every request, not from the token.
    let clerk = node.client().with_cookie(cookie.clone());
    let me = clerk.get("/api/box-office/staff").await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.text);
    assert_eq!(me.body["email"], "clerk@test.com");
    let other = node.client().with_cookie(None);
    assert_refused(&other, "anonymous after grant").await;

    assert!(node.terminate().success());
    let (ok, text) = staff_task(&dir, &["revoke", "clerk@test.com"]);
    assert!(ok, "{text}");
    let node = Node::start(NODE, &dir, NodeOptions::default());
    assert_refused(&node.client().with_cookie(cookie), "revoked").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cash_sale_completes_the_order_and_the_day_adds_up() {
    let dir = tempfile::tempdir().unwrap();
    let node = standalone(&dir);
    let staff = node.client().user("counter@test.com").await;
    let seller = node.client().user("seller@test.com").await;
    let buyer = node.client().user("buyer@test.com").await;
    assert_eq!(
        staff.get("/api/box-office/staff").await.status,
        StatusCode::OK
    );
    assert_refused(&seller, "second user of a standalone node").await;

    let stalls = seller.sell("Stalls A1", json!("42.50")).await;
    let circle = seller.sell("Circle B2", json!(30)).await;
    let gallery = seller.sell("Gallery C3", json!(12)).await;

    // The counter locks a ticket; it shows among the open locks with its buyer.
    let order = staff
        .post("/api/orders", json!({ "ticketId": id(&stalls) }))
        .await;
    assert_eq!(order.status, StatusCode::CREATED, "{}", order.text);
    let order = order.body;
    let locks = staff.get("/api/box-office/locks").await.body;
    let listed = locks["locks"].as_array().unwrap();
    assert_eq!(listed.len(), 1, "{locks}");
    assert_eq!(listed[0]["id"], order["id"]);
    assert_eq!(listed[0]["buyer"], "counter@test.com");
    assert!(listed[0]["expiresAt"].is_string());

    let cash = staff
        .post(
            "/api/box-office/payments/cash",
            json!({ "orderId": id(&order) }),
        )
        .await;
    assert_eq!(cash.status, StatusCode::CREATED, "{}", cash.text);
    assert_eq!(cash.body["method"], "cash");
    assert_eq!(cash.body["amount"], 42.5);
    assert_eq!(cash.body["orderId"], order["id"]);
    let shown = staff.get(&format!("/api/orders/{}", id(&order))).await;
    assert_eq!(shown.body["status"], "complete");
    assert_eq!(
        staff
            .get(&format!("/api/tickets/{}", id(&stalls)))
            .await
            .body["orderId"],
        order["id"]
    );
    assert!(
        eventually(std::time::Duration::from_secs(5), || async {
            staff.get("/api/box-office/locks").await.body["locks"]
                .as_array()
                .is_some_and(Vec::is_empty)
        })
        .await,
        "a paid order is no longer an open lock"
    );
    // Cash twice for the same order is refused; so is cash for a cancelled order.
    let again = staff
        .post(
            "/api/box-office/payments/cash",
            json!({ "orderId": id(&order) }),
        )
        .await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST);
    assert_eq!(only_message(&again), "Order has already been paid");
    let released = staff
        .post("/api/orders", json!({ "ticketId": id(&gallery) }))
        .await
        .body;
    assert_eq!(
        staff
            .delete(&format!("/api/orders/{}", id(&released)))
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    let late = staff
        .post(
            "/api/box-office/payments/cash",
            json!({ "orderId": id(&released) }),
        )
        .await;
    assert_eq!(late.status, StatusCode::BAD_REQUEST);
    assert_eq!(only_message(&late), "Cannot pay for an cancelled order");

    // A customer buys online by card; staff find it by email and refund it.
    let online = buyer
        .post("/api/orders", json!({ "ticketId": id(&circle) }))
        .await
        .body;
    let paid = buyer
        .post(
            "/api/payments",
            json!({ "orderId": id(&online), "token": "tok_visa" }),
        )
        .await;
    assert_eq!(paid.status, StatusCode::CREATED, "{}", paid.text);
    let found = staff
        .get("/api/box-office/orders?email=buyer@test.com")
        .await
        .body;
    assert_eq!(found["user"]["email"], "buyer@test.com");
    let orders = found["orders"].as_array().unwrap();
    assert_eq!(orders.len(), 1);
    assert_eq!(orders[0]["id"], online["id"]);
    assert_eq!(orders[0]["payment"]["method"], "card");
    assert_eq!(orders[0]["payment"]["refundedAt"], Value::Null);
    let nobody = staff
        .get("/api/box-office/orders?email=nobody@test.com")
        .await;
    assert_eq!(nobody.status, StatusCode::OK);
    assert_eq!(nobody.body, json!({ "user": null, "orders": [] }));
    let blank = staff.get("/api/box-office/orders?email=").await;
    assert_eq!(blank.status, StatusCode::BAD_REQUEST);

    let summary = staff.get("/api/box-office/summary").await.body;
    assert_eq!(summary["cash"]["sales"], 1, "{summary}");
    assert_eq!(summary["cash"]["salesAmount"], 42.5);
    assert_eq!(summary["card"]["sales"], 1);
    assert_eq!(summary["card"]["salesAmount"], 30.0);
    assert_eq!(summary["total"]["net"], 72.5);

    let refund = staff
        .post("/api/box-office/refunds", json!({ "orderId": id(&online) }))
        .await;
    assert_eq!(refund.status, StatusCode::CREATED, "{}", refund.text);
    assert_eq!(refund.body["method"], "card");
    assert!(refund.body["refundedAt"].is_string());
    let twice = staff
        .post("/api/box-office/refunds", json!({ "orderId": id(&online) }))
        .await;
    assert_eq!(twice.status, StatusCode::BAD_REQUEST);
    assert_eq!(only_message(&twice), "Order has already been refunded");
    let unpaid = staff
        .post(
            "/api/box-office/refunds",
            json!({ "orderId": id(&released) }),
        )
        .await;
    assert_eq!(unpaid.status, StatusCode::BAD_REQUEST);
    assert_eq!(only_message(&unpaid), "Order has not been paid");
    let unknown = staff
        .post(
            "/api/box-office/refunds",
            json!({ "orderId": "5f8d0d55b54764421b7156c9" }),
        )
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let malformed = staff
        .post("/api/box-office/refunds", json!({ "orderId": 7 }))
        .await;
    assert_eq!(malformed.status, StatusCode::BAD_REQUEST);

    // The refunded ticket stays sold: a ticket is sold at most once.
    let resale = buyer
        .post("/api/orders", json!({ "ticketId": id(&circle) }))
        .await;
    assert_eq!(resale.status, StatusCode::BAD_REQUEST);

    let summary = staff.get("/api/box-office/summary").await.body;
    assert_eq!(summary["card"]["refunds"], 1, "{summary}");
    assert_eq!(summary["card"]["refundsAmount"], 30.0);
    assert_eq!(summary["card"]["net"], 0.0);
    assert_eq!(summary["total"]["sales"], 2);
    assert_eq!(summary["total"]["net"], 42.5);
    // Another day has nothing; a malformed date is a clear 400.
    let other_day = staff
        .get("/api/box-office/summary?date=2001-01-01")
        .await
        .body;
    assert_eq!(other_day["total"]["sales"], 0);
    let bad = staff.get("/api/box-office/summary?date=2026-02-30").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(only_message(&bad), "Date must be YYYY-MM-DD");

    // The summary survives a restart: it is read from the stores.
    let cookie = staff.cookie.clone();
    assert!(node.terminate().success());
    let node = standalone(&dir);
    let staff = node.client().with_cookie(cookie);
    let after = staff.get("/api/box-office/summary").await.body;
    assert_eq!(after["total"], summary["total"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn card_refunds_go_through_the_gateway_and_cash_works_when_it_is_down() {
    let fake = FakeStripe::start().await;
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(
        NODE,
        &dir,
        NodeOptions {
            env: vec![
                ("STRIPE_SECRET_KEY".into(), "sk_test_fake".into()),
                ("TIX_STRIPE_API_BASE".into(), fake.url()),
                ("TIX_FIRST_USER_IS_STAFF".into(), "true".into()),
            ],
            ..NodeOptions::default()
        },
    );
    let staff = node.client().user("counter@test.com").await;
    let seller = node.client().user("seller@test.com").await;
    let first = seller.sell("Box 1", json!(55)).await;
    let second = seller.sell("Box 2", json!(65)).await;

    // The first look at /healthz starts a probe; the fake answers it, so Stripe is reachable.
    let health = node.client();
    assert!(
        eventually(std::time::Duration::from_secs(10), || async {
            health.get("/healthz").await.body["payments"]["reachable"] == true
        })
        .await
    );

    let order = staff
        .post("/api/orders", json!({ "ticketId": id(&first) }))
        .await
        .body;
    let paid = staff
        .post(
            "/api/payments",
            json!({ "orderId": id(&order), "token": "tok_visa" }),
        )
        .await;
    assert_eq!(paid.status, StatusCode::CREATED, "{}", paid.text);
    let refund = staff
        .post("/api/box-office/refunds", json!({ "orderId": id(&order) }))
        .await;
    assert_eq!(refund.status, StatusCode::CREATED, "{}", refund.text);
    assert_eq!(fake.refunds(), 1);

    // Stripe goes down: the card payment fails plainly, /healthz says so, cash still sells.
    fake.set_failing(true);
    let order = staff
        .post("/api/orders", json!({ "ticketId": id(&second) }))
        .await
        .body;
    let card = staff
        .post(
            "/api/payments",
            json!({ "orderId": id(&order), "token": "tok_visa" }),
        )
        .await;
    assert_eq!(card.status, StatusCode::BAD_GATEWAY, "{}", card.text);
    assert_eq!(
        health.get("/healthz").await.body["payments"]["reachable"],
        false
    );
    let cash = staff
        .post(
            "/api/box-office/payments/cash",
            json!({ "orderId": id(&order) }),
        )
        .await;
    assert_eq!(cash.status, StatusCode::CREATED, "{}", cash.text);
    let summary = staff.get("/api/box-office/summary").await.body;
    assert_eq!(summary["card"]["net"], 0.0, "{summary}");
    assert_eq!(summary["cash"]["salesAmount"], 65.0);
}
