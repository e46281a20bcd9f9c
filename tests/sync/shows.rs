//! Shows across the sync: a show made and sold at a venue (orders held, paid by cash and card,
//! cancelled, refunded) reaches the hub's read model with the node's own counts and the money
//! actually kept.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Value, json};

use crate::SERIAL;
use crate::checker::wait_for_sync;
use crate::harness::{
    HUB_TOKEN, VENUE, hub_get, start_hub, start_node_with, venue_broker, venue_url,
};

/// One signed-in user of the node.
struct Session {
    http: reqwest::Client,
    base: String,
    cookie: String,
}

impl Session {
    async fn sign_up(base: &str, email: &str) -> Session {
        let http = reqwest::Client::new();
        let reply = http
            .post(format!("{base}/api/users/signup"))
            .json(&json!({ "email": email, "password": "password" }))
            .send()
            .await
            .unwrap();
        assert_eq!(reply.status().as_u16(), 201, "sign-up of {email}");
        let cookie = reply.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_owned();
        Session {
            http,
            base: base.to_owned(),
            cookie,
        }
    }

    /// Sends a request and asserts its status; the reply's JSON (`Null` when empty).
    async fn send(&self, method: reqwest::Method, path: &str, body: Value, status: u16) -> Value {
        let mut request = self
            .http
            .request(method.clone(), format!("{}{path}", self.base))
            .header("cookie", &self.cookie);
        if !body.is_null() {
            request = request.json(&body);
        }
        let reply = request.send().await.unwrap();
        let got = reply.status().as_u16();
        let text = reply.text().await.unwrap();
        assert_eq!(got, status, "{method} {path}: {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        self.send(reqwest::Method::POST, path, body, 201).await
    }
}

fn friday_jazz() -> Value {
    json!({
        "title": "Friday Jazz", "startsAt": "2030-12-04T20:00:00Z",
        "categories": [{"name": "Standing", "price": "20.00"}, {"name": "Stalls", "price": "45.00"}],
        "areas": [{"name": "Floor", "category": "Standing", "capacity": 100}],
        "seatMap": {"sections": [{"name": "Stalls", "rows": [{"name": "A", "seats": [
            {"name": "1", "category": "Stalls", "x": 0, "y": 0}]}]}]},
        "generate": [{"section": "Circle", "category": "Stalls", "rows": 5, "seatsPerRow": 10}]
    })
}

fn money(value: &Value) -> f64 {
    value
        .as_f64()
        .or_else(|| value.as_str().and_then(|s| s.parse().ok()))
        .unwrap_or_else(|| panic!("an amount: {value}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hubs_read_model_of_shows_agrees_with_the_nodes_after_a_sync() {
    let _serial = SERIAL.lock().await;
    let broker = venue_broker(&[VENUE]);
    let dir = tempfile::tempdir().unwrap();
    let hub = start_hub(dir.path().join("hub.sqlite3"), &broker);
    let staff_env = vec![("TIX_FIRST_USER_IS_STAFF".to_owned(), "1".to_owned())];
    let node = start_node_with(
        &dir.path().join("node"),
        VENUE,
        &venue_url(&broker, VENUE),
        true,
        staff_env,
    );
    let base = node.url("");
    let staff = Session::sign_up(&base, "staff@test.com").await;
    let buyer = Session::sign_up(&base, "buyer@test.com").await;

    let show = staff.post("/api/shows", friday_jazz()).await;
    let show_id = show["id"].as_str().unwrap().to_owned();
    let orders = format!("/api/shows/{show_id}/orders");
    let order = |category: &'static str, quantity: u32| {
        let (buyer, orders) = (&buyer, &orders);
        async move {
            let order = buyer
                .post(orders, json!({"category": category, "quantity": quantity}))
                .await;
            (
                order["id"].as_str().unwrap().to_owned(),
                money(&order["total"]),
            )
        }
    };
    // What each category was paid, less refunds, as the node answered.
    let mut kept: BTreeMap<&str, f64> = BTreeMap::new();

    let (cash, _) = order("Stalls", 3).await;
    let paid = staff
        .post("/api/box-office/payments/cash", json!({"orderId": cash}))
        .await;
    *kept.entry("Stalls").or_default() += money(&paid["amount"]);

    let (card, total) = order("Standing", 5).await;
    buyer
        .post(
            "/api/payments",
            json!({"orderId": card, "token": "tok_visa"}),
        )
        .await;
    *kept.entry("Standing").or_default() += total;

    let (refunded, _) = order("Standing", 4).await;
    let paid = staff
        .post(
            "/api/box-office/payments/cash",
            json!({"orderId": refunded}),
        )
        .await;
    *kept.entry("Standing").or_default() += money(&paid["amount"]);
    let refund = staff
        .post("/api/box-office/refunds", json!({"orderId": refunded}))
        .await;
    *kept.entry("Standing").or_default() -= money(&refund["amount"]);

    let (dropped, _) = order("Standing", 2).await;
    buyer
        .send(
            reqwest::Method::DELETE,
            &format!("/api/orders/{dropped}"),
            Value::Null,
            204,
        )
        .await;
    let (_open, _) = order("Stalls", 2).await;

    wait_for_sync(&hub, &node, VENUE, Duration::from_secs(30)).await;
    let at_node = buyer
        .send(
            reqwest::Method::GET,
            &format!("/api/shows/{show_id}"),
            Value::Null,
            200,
        )
        .await;
    let at_hub = hub_get(&hub, &format!("/api/hub/venues/{VENUE}/shows/{show_id}")).await;
    // The venue's pass key reached the hub with its events.
    let key = buyer
        .send(
            reqwest::Method::GET,
            "/.well-known/tix-pass-key",
            Value::Null,
            200,
        )
        .await;
    let venues = hub_get(&hub, "/api/hub/venues").await;
    assert_eq!(
        venues[0]["passKeys"][0]["publicKey"], key["publicKey"],
        "{venues}"
    );
    assert_eq!(
        (&at_hub["title"], &at_hub["status"]),
        (&json!("Friday Jazz"), &json!("on-sale"))
    );
    let listed = hub_get(&hub, &format!("/api/hub/venues/{VENUE}/shows")).await;
    assert_eq!(
        listed,
        json!([at_hub.clone()]),
        "the list holds the one show"
    );

    let node_categories = at_node["categories"].as_array().unwrap();
    let hub_categories = at_hub["categories"].as_array().unwrap();
    assert_eq!(hub_categories.len(), node_categories.len(), "{at_hub}");
    for at_node in node_categories {
        let name = at_node["name"].as_str().unwrap();
        let at_hub = hub_categories
            .iter()
            .find(|c| c["name"] == name)
            .unwrap_or_else(|| panic!("no category {name} at the hub: {hub_categories:?}"));
        for count in ["capacity", "held", "sold", "available"] {
            assert_eq!(at_hub[count], at_node[count], "{name} {count}");
        }
        let expected = kept.get(name).copied().unwrap_or_default();
        assert!(
            (money(&at_hub["revenue"]) - expected).abs() < 0.005,
            "{name} revenue at the hub {} but {expected} was kept",
            at_hub["revenue"]
        );
    }
    // The scenario moved every count, so the comparisons above compared something.
    let stalls = node_categories
        .iter()
        .find(|c| c["name"] == "Stalls")
        .unwrap();
    let standing = node_categories
        .iter()
        .find(|c| c["name"] == "Standing")
        .unwrap();
    assert_eq!(
        (&stalls["capacity"], &stalls["held"], &stalls["sold"]),
        (&json!(51), &json!(2), &json!(3))
    );
    assert_eq!(
        (&standing["capacity"], &standing["held"], &standing["sold"]),
        (&json!(100), &json!(0), &json!(9))
    );
    assert_eq!(
        kept.get("Standing"),
        Some(&100.0),
        "five by card kept, four refunded"
    );

    let http = reqwest::Client::new();
    for (path, status) in [
        (
            format!("/api/hub/venues/{VENUE}/shows/{}", "0".repeat(24)),
            404,
        ),
        (format!("/api/hub/venues/{VENUE}/shows/not-an-id"), 400),
        ("/api/hub/venues/unknown/shows".to_owned(), 404),
        ("/api/hub/venues/Bad!/shows".to_owned(), 400),
        (format!("/api/hub/venues/{VENUE}/shows?limit=0"), 400),
    ] {
        let reply = http
            .get(hub.url(&path))
            .bearer_auth(HUB_TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(reply.status().as_u16(), status, "{path}");
        let body: Value = reply.json().await.unwrap();
        assert!(body["errors"][0]["message"].is_string(), "{path}: {body}");
    }
    let anonymous = http
        .get(hub.url(&format!("/api/hub/venues/{VENUE}/shows")))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status().as_u16(), 401);
}
