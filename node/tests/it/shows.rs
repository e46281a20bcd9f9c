//! `/api/shows*` over HTTP: a show put on sale in one request, best available and named seats,
//! the life of a multi-ticket order (card, cash, refund, cancel), the seat map and its ETag,
//! staff-only operations (races and crashes are in `show_rush`).

use std::collections::HashSet;

use reqwest::StatusCode;
use serde_json::{Value, json};

use tix_tests::client::{Client, id, only_message};

use crate::standalone;

/// The example: 1,800 standing, one seat given by hand, 600 generated.
fn friday_jazz() -> Value {
    json!({
        "title": "Friday Jazz", "startsAt": "2030-12-04T20:00:00Z", "hall": "Main hall",
        "categories": [{"name": "Standing", "price": "20.00"}, {"name": "Stalls", "price": "45.00"}],
        "areas": [{"name": "Floor", "category": "Standing", "capacity": 1800}],
        "seatMap": {"sections": [{"name": "Stalls", "rows": [{"name": "A", "seats": [
            {"name": "1", "category": "Stalls", "x": 0, "y": 0, "rank": 1}]}]}]},
        "generate": [{"section": "Circle", "category": "Stalls", "rows": 20, "seatsPerRow": 30}]
    })
}

/// One row of `seats` seats and nothing else.
pub(crate) fn one_row(seats: u32) -> Value {
    json!({
        "title": "Row show", "startsAt": "2030-12-04T20:00:00Z",
        "categories": [{"name": "Seat", "price": "10.00"}],
        "generate": [{"section": "Stalls", "category": "Seat", "rows": 1, "seatsPerRow": seats}]
    })
}

pub(crate) async fn create(staff: &Client, body: Value) -> Value {
    let reply = staff.post("/api/shows", body).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    reply.body
}

pub(crate) fn category<'a>(show: &'a Value, name: &str) -> &'a Value {
    show["categories"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no category {name} in {show}"))
}

/// Every seat of a seat map: (ticket id, section, row, position in row, state).
pub(crate) fn seats_of(map: &Value) -> Vec<(String, String, String, usize, String)> {
    let mut seats = Vec::new();
    for section in map["sections"].as_array().unwrap() {
        for row in section["rows"].as_array().unwrap() {
            for (i, seat) in row["seats"].as_array().unwrap().iter().enumerate() {
                seats.push((
                    seat[0].as_str().unwrap().to_owned(),
                    section["name"].as_str().unwrap().to_owned(),
                    row["name"].as_str().unwrap().to_owned(),
                    i,
                    seat[5].as_str().unwrap().to_owned(),
                ));
            }
        }
    }
    seats
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_show_is_put_on_sale_and_its_tickets_ordered_paid_refunded_and_released() {
    let dir = tempfile::tempdir().unwrap();
    let node = standalone(&dir);
    let staff = node.client().user("staff@test.com").await;
    let buyer = node.client().user("buyer@test.com").await;

    let refused = buyer.post("/api/shows", friday_jazz()).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    let show = create(&staff, friday_jazz()).await;
    assert_eq!(show["status"], "on-sale");
    assert_eq!(show["selling"], true);
    assert_eq!(show["tickets"], 2401);
    assert_eq!(
        category(&show, "Standing"),
        &json!({"name": "Standing", "price": "20.00", "capacity": 1800, "available": 1800, "held": 0, "sold": 0})
    );
    assert_eq!(category(&show, "Stalls")["available"], 601);
    let show_id = id(&show);
    let listed = node.client().get("/api/shows").await;
    assert_eq!(listed.body.as_array().unwrap().len(), 1);
    assert_eq!(listed.body[0]["id"], show_id.as_str());
    // Found by its words and its date's (2030-12-04 is a Wednesday), not by others.
    for (q, found) in [
        ("jazz wed", 1),
        ("FRIDAY main", 1),
        ("2030-12-04", 1),
        ("dec 4", 1),
        ("rock", 0),
        ("jazz thursday", 0),
    ] {
        let hits = node
            .client()
            .get(&format!("/api/shows?q={}", q.replace(' ', "+")))
            .await;
        assert_eq!(
            hits.body.as_array().map(Vec::len),
            Some(found),
            "q={q}: {}",
            hits.text
        );
    }

    // Four together: the hand-placed seat ranks 1 but stands alone, so a Circle row it is.
    let order = buyer
        .post(
            &format!("/api/shows/{show_id}/orders"),
            json!({"category": "Stalls", "quantity": 4}),
        )
        .await;
    assert_eq!(order.status, StatusCode::CREATED, "{}", order.text);
    assert_eq!(order.body["quantity"], 4);
    assert_eq!(order.body["total"], 180);
    assert_eq!(order.body["status"], "created");
    let tickets = order.body["tickets"].as_array().unwrap();
    assert_eq!(order.body["ticket"]["id"], tickets[0]["id"]);
    let rows: HashSet<String> = tickets
        .iter()
        .map(|t| {
            t["seat"]
                .as_str()
                .unwrap()
                .rsplit_once(" seat ")
                .unwrap()
                .0
                .to_owned()
        })
        .collect();
    assert_eq!(
        rows,
        HashSet::from(["Circle row 1".to_owned()]),
        "{tickets:?}"
    );

    // The seat map shows them held, and an unchanged map costs a 304.
    let map_path = format!("/api/shows/{show_id}/seats");
    let map = node.client().get(&map_path).await;
    let held: Vec<_> = seats_of(&map.body)
        .into_iter()
        .filter(|s| s.4 == "h")
        .collect();
    assert_eq!(held.len(), 4);
    let (status, etag) = node.client().conditional_get(&map_path, None).await;
    assert_eq!(status, StatusCode::OK);
    let etag = etag.expect("an ETag");
    let (status, _) = node.client().conditional_get(&map_path, Some(&etag)).await;
    assert_eq!(status, StatusCode::NOT_MODIFIED, "an unchanged map");

    // The storefront's order page lists every seat and asks for the total.
    let page = buyer.get(&format!("/orders/{}", id(&order.body))).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text.contains("180.00 for 4 tickets"), "{}", page.text);
    for ticket in tickets {
        let seat = ticket["seat"].as_str().unwrap();
        assert!(page.text.contains(seat), "{seat} is not on the order page");
    }
    assert!(page.text.contains("Pay $180.00"), "{}", page.text);

    // Paid by card for the total, once: the four are sold.
    let paid = buyer
        .post(
            "/api/payments",
            json!({"orderId": id(&order.body), "token": "tok_visa"}),
        )
        .await;
    assert_eq!(paid.status, StatusCode::CREATED, "{}", paid.text);
    let now = node
        .client()
        .get(&format!("/api/shows/{show_id}"))
        .await
        .body;
    assert_eq!(category(&now, "Stalls")["sold"], 4);
    assert_eq!(category(&now, "Stalls")["held"], 0);
    let mine = staff
        .get("/api/box-office/orders?email=buyer@test.com")
        .await;
    assert_eq!(
        mine.body["orders"][0]["payment"]["amount"].as_f64(),
        Some(180.0)
    );
    let (status, _) = node.client().conditional_get(&map_path, Some(&etag)).await;
    assert_eq!(status, StatusCode::OK, "a sale changes the ETag");

    // Refunded as one: the tickets stay sold.
    let refund = staff
        .post(
            "/api/box-office/refunds",
            json!({"orderId": id(&order.body)}),
        )
        .await;
    assert_eq!(refund.status, StatusCode::CREATED, "{}", refund.text);
    assert_eq!(refund.body["amount"].as_f64(), Some(180.0));

    // Standing by cash at the counter, and a cancelled order gives its places back.
    let counter = staff
        .post(
            &format!("/api/shows/{show_id}/orders"),
            json!({"category": "Standing", "quantity": 3}),
        )
        .await;
    assert_eq!(counter.status, StatusCode::CREATED, "{}", counter.text);
    let cash = staff
        .post(
            "/api/box-office/payments/cash",
            json!({"orderId": id(&counter.body)}),
        )
        .await;
    assert_eq!(cash.body["amount"].as_f64(), Some(60.0));
    let dropped = buyer
        .post(
            &format!("/api/shows/{show_id}/orders"),
            json!({"category": "Standing", "quantity": 2}),
        )
        .await;
    assert_eq!(
        buyer
            .delete(&format!("/api/orders/{}", id(&dropped.body)))
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    let now = node
        .client()
        .get(&format!("/api/shows/{show_id}"))
        .await
        .body;
    assert_eq!(
        category(&now, "Standing"),
        &json!({"name": "Standing", "price": "20.00", "capacity": 1800, "available": 1797, "held": 0, "sold": 3})
    );
    // The seed's marketplace list never shows a show's tickets.
    let list = node.client().get("/api/tickets").await;
    assert_eq!(list.body, json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_live_feed_carries_each_shows_seat_changes() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let dir = tempfile::tempdir().unwrap();
    let node = standalone(&dir);
    let staff = node.client().user("staff@test.com").await;
    let show = create(&staff, one_row(10)).await;
    let show_id = id(&show);
    let mut live = tokio::net::TcpStream::connect(node.socket_addr())
        .await
        .unwrap();
    live.write_all(b"GET /live HTTP/1.1\r\nHost: node\r\n\r\n")
        .await
        .unwrap();
    let mut seen = String::new();
    let mut buffer = [0u8; 4096];
    // The stream's head first, so the order below happens while it is open.
    while !seen.contains("\r\n\r\n") {
        let n = live.read(&mut buffer).await.unwrap();
        assert!(n > 0, "the stream closed: {seen}");
        seen.push_str(&String::from_utf8_lossy(&buffer[..n]));
    }
    let order = staff
        .post(
            &format!("/api/shows/{show_id}/orders"),
            json!({"category": "Seat", "quantity": 2}),
        )
        .await;
    assert_eq!(order.status, StatusCode::CREATED, "{}", order.text);
    let first = order.body["tickets"][0]["id"].as_str().unwrap().to_owned();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while !(seen.contains("event: seats") && seen.contains(&first)) {
        let read = tokio::time::timeout_at(deadline, live.read(&mut buffer)).await;
        let n = read.expect("a seats event within 10 s").unwrap();
        assert!(n > 0, "the stream closed: {seen}");
        seen.push_str(&String::from_utf8_lossy(&buffer[..n]));
    }
    let data = seen
        .split("event: seats")
        .nth(1)
        .and_then(|rest| rest.lines().find_map(|l| l.strip_prefix("data: ")))
        .expect("a data line after the event");
    let notice: Value = serde_json::from_str(data).unwrap();
    assert_eq!(notice["show"], show_id.as_str());
    assert_eq!(notice["available"], json!([8]));
    assert_eq!(notice["seats"][0], json!([first, "h"]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn named_seats_and_every_refusal_have_clear_answers() {
    let dir = tempfile::tempdir().unwrap();
    let node = standalone(&dir);
    let staff = node.client().user("staff@test.com").await;
    let buyer = node.client().user("buyer@test.com").await;

    let bad = staff
        .post(
            "/api/shows",
            json!({"title": "X", "startsAt": "soon", "categories": [{"name": "A", "price": "1"}],
                                    "areas": [{"name": "Floor", "category": "B", "capacity": 0}]}),
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let fields: HashSet<&str> = bad.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    for field in [
        "startsAt",
        "areas[0].category",
        "areas[0].capacity",
        "categories[0].name",
    ] {
        assert!(fields.contains(field), "{field} not in {}", bad.text);
    }

    let show = create(&staff, one_row(6)).await;
    let show_id = id(&show);
    let orders = format!("/api/shows/{show_id}/orders");
    let map = node
        .client()
        .get(&format!("/api/shows/{show_id}/seats"))
        .await
        .body;
    let seat_ids: Vec<String> = seats_of(&map).into_iter().map(|s| s.0).collect();

    let first = buyer
        .post(&orders, json!({"seats": [seat_ids[0], seat_ids[1]]}))
        .await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.text);
    assert_eq!(first.body["total"], 20);
    let taken = buyer
        .post(&orders, json!({"seats": [seat_ids[2], seat_ids[1]]}))
        .await;
    assert_eq!(taken.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        only_message(&taken),
        format!("Already taken: {}", seat_ids[1])
    );

    for (body, expected) in [
        (
            json!({"category": "Seat", "quantity": 11}),
            "An order holds from 1 to 10 tickets of this show",
        ),
        (
            json!({"category": "Balcony", "quantity": 1}),
            "The show has no category \"Balcony\"",
        ),
        (
            json!({"category": "Seat", "quantity": 5}),
            "Only 4 tickets of \"Seat\" are left",
        ),
        (
            json!({"seats": ["5f8d0d55b54764421b7156c9"]}),
            "Not tickets of this show: 5f8d0d55b54764421b7156c9",
        ),
        (json!({"quantity": 1}), "Category must be given (or seats)"),
    ] {
        let reply = buyer.post(&orders, body.clone()).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(only_message(&reply), expected, "{body}");
    }
    assert_eq!(
        buyer
            .post(
                "/api/shows/5f8d0d55b54764421b7156c9/orders",
                json!({"category": "Seat", "quantity": 1})
            )
            .await
            .status,
        StatusCode::NOT_FOUND
    );

    // Stopped, nothing sells; resumed, it does; a price with tickets held cannot change.
    for (path, who, status) in [
        ("stop", &buyer, StatusCode::UNAUTHORIZED),
        ("stop", &staff, StatusCode::OK),
    ] {
        assert_eq!(
            who.post(&format!("/api/shows/{show_id}/{path}"), json!({}))
                .await
                .status,
            status
        );
    }
    let stopped = buyer
        .post(&orders, json!({"category": "Seat", "quantity": 1}))
        .await;
    assert_eq!(only_message(&stopped), "Sales for the show are stopped");
    staff
        .post(&format!("/api/shows/{show_id}/resume"), json!({}))
        .await;
    let price = staff
        .send(
            reqwest::Method::PATCH,
            &format!("/api/shows/{show_id}"),
            Some(
                json!({"categories": [{"name": "Seat", "price": "12.00"}], "title": "Renamed"})
                    .to_string()
                    .into_bytes(),
            ),
        )
        .await;
    assert_eq!(price.status, StatusCode::BAD_REQUEST, "{}", price.text);
    assert!(only_message(&price).starts_with("The price of \"Seat\" cannot change"));
    let renamed = staff
        .send(
            reqwest::Method::PATCH,
            &format!("/api/shows/{show_id}"),
            Some(
                json!({"title": "Renamed", "maxPerOrder": 2})
                    .to_string()
                    .into_bytes(),
            ),
        )
        .await;
    assert_eq!(renamed.body["title"], "Renamed");
    let three = buyer
        .post(&orders, json!({"category": "Seat", "quantity": 3}))
        .await;
    assert_eq!(
        only_message(&three),
        "An order holds from 1 to 2 tickets of this show"
    );

    // Cancelled: open orders are released, paid ones listed for refund.
    let paid = buyer
        .post(&orders, json!({"category": "Seat", "quantity": 2}))
        .await;
    staff
        .post(
            "/api/box-office/payments/cash",
            json!({"orderId": id(&paid.body)}),
        )
        .await;
    let cancelled = staff
        .post(&format!("/api/shows/{show_id}/cancel"), json!({}))
        .await;
    assert_eq!(cancelled.status, StatusCode::OK, "{}", cancelled.text);
    assert_eq!(cancelled.body["status"], "cancelled");
    assert_eq!(
        cancelled.body["paidOrders"],
        json!([{"orderId": id(&paid.body), "tickets": 2, "total": "20.00"}])
    );
    let first_now = buyer.get(&format!("/api/orders/{}", id(&first.body))).await;
    assert_eq!(first_now.body["status"], "cancelled");
    let again = staff
        .post(&format!("/api/shows/{show_id}/cancel"), json!({}))
        .await;
    assert_eq!(only_message(&again), "The show is cancelled");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_shows_are_created_in_one_request() {
    let dir = tempfile::tempdir().unwrap();
    let node = standalone(&dir);
    let staff = node.client().user("staff@test.com").await;
    let stadium = create(
        &staff,
        json!({"title": "Stadium", "startsAt": "2030-12-04T20:00:00Z",
               "categories": [{"name": "Seat", "price": "10.00"}],
               "generate": [{"section": "Bowl", "category": "Seat", "rows": 100, "seatsPerRow": 1000}]}),
    )
    .await;
    assert_eq!(stadium["tickets"], 100_000);
    // A hand-made map of 20,000 seats (a 1.3 MB request) arrives whole.
    let rows: Vec<Value> = (0..100)
        .map(|r| {
            let seats: Vec<Value> = (0..200)
                .map(|s| json!({"name": (s + 1).to_string(), "category": "Seat", "x": s, "y": r}))
                .collect();
            json!({"name": format!("R{r}"), "seats": seats})
        })
        .collect();
    let hall = create(
        &staff,
        json!({"title": "Hall", "startsAt": "2030-12-05T20:00:00Z",
               "categories": [{"name": "Seat", "price": "10.00"}],
               "seatMap": {"sections": [{"name": "Hall", "rows": rows}]}}),
    )
    .await;
    assert_eq!(hall["tickets"], 20_000);
    let map = node
        .client()
        .get(&format!("/api/shows/{}/seats", id(&hall)))
        .await;
    assert_eq!(seats_of(&map.body).len(), 20_000);
    let unsigned = node
        .client()
        .post(
            "/api/shows",
            json!({"seatMap": {"sections": [{"name": "x".repeat(20_000)}]}}),
        )
        .await;
    assert_eq!(unsigned.status, StatusCode::UNAUTHORIZED);
}
