//! The show pages over plain HTTP: seats ticked on a map and a seat lost to another buyer named,
//! compression and hashed assets, a kiosk's guests, and the staff's manage forms.

use reqwest::StatusCode;
use reqwest::header::LOCATION;
use serde_json::json;

use tix_tests::client::{Node, NodeOptions, id};

use crate::NODE;
use crate::visitor::Visitor;

/// A show of two rows of five seats, the first seat of row A a wheelchair space; its id.
async fn seated_show(staff: &tix_tests::client::Client) -> String {
    let row = |name: &str, y: u32| {
        let seats: Vec<_> = (1..=5)
            .map(|n| {
                let mut seat = json!({"name": n.to_string(), "category": "Stalls", "x": n, "y": y});
                if name == "A" && n == 1 {
                    seat["flags"] = json!(["wheelchair"]);
                }
                seat
            })
            .collect();
        json!({"name": name, "seats": seats})
    };
    let show = staff
        .post(
            "/api/shows",
            json!({"title": "Chamber Music", "startsAt": "2030-12-06T20:00:00Z",
                   "categories": [{"name": "Stalls", "price": "25.00"}],
                   "seatMap": {"sections": [{"name": "Stalls", "rows": [row("A", 0), row("B", 1)]}]}}),
        )
        .await;
    assert_eq!(show.status, StatusCode::CREATED, "{}", show.text);
    id(&show.body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_buyer_ticks_seats_on_the_map_and_a_seat_someone_took_first_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let node = crate::standalone(&dir);
    let staff = node.client().user("staff@test.com").await;
    let show_id = seated_show(&staff).await;

    let mut visitor = Visitor::arrive(&node.url("")).await;
    visitor.sign_up("buyer@test.com").await;
    let page = visitor.get(&format!("/shows/{show_id}")).await;
    // The picture has a seat per checkbox, the wheelchair space is said in words, nothing is taken.
    assert_eq!(page.html.matches("<rect class=\"seat c0").count(), 10);
    assert_eq!(
        page.html.matches(r#"type="checkbox" name="seat""#).count(),
        10
    );
    assert!(page.html.contains("Row A seat </span>1<span aria-hidden=\"true\"> ♿</span><span class=\"vh\">, wheelchair space</span>"), "{}", page.html);
    assert!(!page.html.contains(" disabled>"), "{}", page.html);

    // Someone else takes B3 through the API while this page is open.
    let other = node.client().user("other@test.com").await;
    let map = other.get(&format!("/api/shows/{show_id}/seats")).await;
    let b3 = map.body["sections"][0]["rows"][1]["seats"][2][0]
        .as_str()
        .unwrap()
        .to_owned();
    let taken = other
        .post(
            &format!("/api/shows/{show_id}/orders"),
            json!({"seats": [b3]}),
        )
        .await;
    assert_eq!(taken.status, StatusCode::CREATED, "{}", taken.text);

    // Ticking B2 and B3 (units 6 and 7) orders nothing, names B3 and keeps B2 ticked.
    let path = format!("/shows/{show_id}/order");
    let refused = visitor
        .post(&path, &[("seat", "6"), ("seat", "7")], None, None)
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.html);
    assert!(
        refused.html.contains(
            "Sorry, Stalls row B seat 3 was taken by someone else a moment ago, so nothing was ordered."
        ),
        "{}",
        refused.html
    );
    assert!(
        refused.html.contains(r#"value="6" checked>"#),
        "{}",
        refused.html
    );
    assert!(
        refused.html.contains(r#"value="7" disabled>"#),
        "{}",
        refused.html
    );

    // Ticking B2 and A1 orders both, in one order, at one price each.
    let ordered = visitor
        .post(&path, &[("seat", "6"), ("seat", "0")], None, None)
        .await;
    assert_eq!(ordered.status, StatusCode::SEE_OTHER, "{}", ordered.html);
    let order = visitor
        .get(ordered.headers[LOCATION].to_str().unwrap())
        .await;
    assert!(
        order.html.contains("$50.00 for 2 tickets"),
        "{}",
        order.html
    );
    let mine = visitor.get("/orders").await;
    for seat in ["Stalls row A seat 1", "Stalls row B seat 2"] {
        assert!(order.html.contains(seat), "{seat} is not on {}", order.html);
        assert!(
            mine.html.contains(seat),
            "{seat} is not on my orders: {}",
            mine.html
        );
    }
    // A seat that is not on the map is refused in words, not ordered.
    let nonsense = visitor.post(&path, &[("seat", "99")], None, None).await;
    assert_eq!(nonsense.status, StatusCode::BAD_REQUEST);
    assert!(nonsense.html.contains("Please choose seats from the map."));
    // Signed out, the map is a picture and a list to read, with nothing to tick.
    let stranger = Visitor::arrive(&node.url("")).await;
    let read_only = stranger.get(&format!("/shows/{show_id}")).await;
    assert_eq!(
        read_only.html.matches(" disabled>").count(),
        10,
        "{}",
        read_only.html
    );
    assert!(read_only.html.contains("Sign in to pick seats"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_streamed_ticket_list_arrives_whole_when_compressed() {
    use std::io::Read;

    let dir = tempfile::tempdir().unwrap();
    let node = crate::standalone(&dir);
    let seller = node.client().user("seller@test.com").await;
    for i in 0..40 {
        seller.sell(&format!("Compressed {i}"), json!(10)).await;
    }
    let http = reqwest::Client::new();
    for encoding in ["gzip", "br"] {
        let reply = http
            .get(node.url("/api/tickets"))
            .header("accept-encoding", encoding)
            .send()
            .await
            .unwrap();
        assert_eq!(reply.status(), StatusCode::OK);
        assert_eq!(reply.headers()["content-encoding"], encoding);
        // The whole body: a stream polled past its end used to cut the answer short.
        let packed = reply.bytes().await.expect("the whole compressed body");
        assert!(!packed.is_empty());
        if encoding == "gzip" {
            let mut unpacked = Vec::new();
            flate2::read::GzDecoder::new(&packed[..])
                .read_to_end(&mut unpacked)
                .unwrap();
            let list: Vec<serde_json::Value> = serde_json::from_slice(&unpacked).unwrap();
            assert_eq!(list.len(), 40);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_and_assets_are_compressed_and_assets_are_cached_under_their_content_hash() {
    use std::io::Read;

    let dir = tempfile::tempdir().unwrap();
    let node = crate::standalone(&dir);
    let http = reqwest::Client::new();
    let home = http
        .get(node.url("/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let script = home
        .split("<script src=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_owned();
    assert!(
        script.starts_with("/static/app.") && script.ends_with(".js") && script.len() > 20,
        "{script}"
    );
    let plain = http.get(node.url(&script)).send().await.unwrap();
    assert_eq!(
        plain.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    let plain = plain.bytes().await.unwrap();
    let gzipped = http
        .get(node.url(&script))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(gzipped.headers()["content-encoding"], "gzip");
    let gzipped = gzipped.bytes().await.unwrap();
    assert!(
        gzipped.len() * 2 < plain.len(),
        "{} of {}",
        gzipped.len(),
        plain.len()
    );
    let mut unpacked = Vec::new();
    flate2::read::GzDecoder::new(&gzipped[..])
        .read_to_end(&mut unpacked)
        .unwrap();
    assert_eq!(unpacked, plain);
    let page = http
        .get(node.url("/tickets"))
        .header("accept-encoding", "br")
        .send()
        .await
        .unwrap();
    assert_eq!(page.headers()["content-encoding"], "br");
    // The plain name still answers, for an hour; a name the node never gave out is not found.
    let old = http.get(node.url("/static/app.js")).send().await.unwrap();
    assert_eq!(old.headers()["cache-control"], "public, max-age=3600");
    assert_eq!(old.bytes().await.unwrap(), plain);
    let wrong = http
        .get(node.url("/static/app.0000.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kiosk_guest_buys_without_an_account_and_nobody_can_sign_in_as_one() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(
        NODE,
        &dir,
        NodeOptions {
            env: vec![
                ("TIX_KIOSK".into(), "1".into()),
                ("TIX_FIRST_USER_IS_STAFF".into(), "1".into()),
            ],
            ..Default::default()
        },
    );
    let staff = node.client().user("staff@test.com").await;
    let show = staff
        .post(
            "/api/shows",
            json!({"title": "Walk-in Waltz", "startsAt": "2030-12-06T20:00:00Z",
                   "categories": [{"name": "Standing", "price": "10.00"}],
                   "areas": [{"name": "Floor", "category": "Standing", "capacity": 20}]}),
        )
        .await;
    let show_id = id(&show.body);
    let mut guest = Visitor::arrive(&node.url("")).await;
    let page = guest.get(&format!("/shows/{show_id}")).await;
    assert!(
        page.html.contains("Get tickets for Standing"),
        "{}",
        page.html
    );
    assert!(!page.html.contains("Sign in to buy"), "{}", page.html);

    let ordered = guest
        .post(
            &format!("/shows/{show_id}/order"),
            &[("category", "Standing"), ("quantity", "2")],
            None,
            None,
        )
        .await;
    assert_eq!(ordered.status, StatusCode::SEE_OTHER, "{}", ordered.html);
    let order_path = ordered.headers[LOCATION].to_str().unwrap().to_owned();
    guest.keep_session(&ordered);
    let order = guest.get(&order_path).await;
    assert_eq!(order.status, StatusCode::OK);
    assert!(
        order.html.contains("$20.00 for 2 tickets"),
        "{}",
        order.html
    );
    assert!(order.html.contains(">Done</button>"), "{}", order.html);

    // Staff find it by its number; the buyer is a guest.
    let order_id = order_path.trim_start_matches("/orders/");
    let found = staff
        .get(&format!("/api/box-office/orders/{order_id}"))
        .await;
    assert_eq!(found.status, StatusCode::OK, "{}", found.text);
    let buyer = found.body["buyer"].as_str().unwrap().to_owned();
    assert!(
        buyer.starts_with("guest-") && buyer.ends_with("@kiosk.invalid"),
        "{buyer}"
    );
    assert_eq!(found.body["payment"], json!(null));
    let stranger = node.client().user("stranger@test.com").await;
    let refused = stranger
        .get(&format!("/api/box-office/orders/{order_id}"))
        .await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    let unknown = staff
        .get("/api/box-office/orders/0123456789abcdef01234567")
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);

    // A guest's address signs nobody in, whatever the password, and cannot be signed up with.
    let anonymous = node.client();
    for password in ["", "secret1"] {
        let signin = anonymous
            .post(
                "/api/users/signin",
                json!({"email": buyer, "password": password}),
            )
            .await;
        assert_eq!(signin.status, StatusCode::BAD_REQUEST, "{}", signin.text);
    }
    let signup = anonymous
        .post(
            "/api/users/signup",
            json!({"email": "guest-1@kiosk.invalid", "password": "secret1"}),
        )
        .await;
    assert_eq!(signup.status, StatusCode::BAD_REQUEST);
    assert!(
        signup.text.contains("Email must be valid"),
        "{}",
        signup.text
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_preview_a_show_from_a_csv_seat_map_save_it_change_it_and_stop_its_sales() {
    let dir = tempfile::tempdir().unwrap();
    let node = crate::standalone(&dir);
    let mut manager = Visitor::arrive(&node.url("")).await;
    manager.sign_up("manager@test.com").await;
    let mut buyer = Visitor::arrive(&node.url("")).await;
    buyer.sign_up("buyer@test.com").await;
    // Only staff get in; the signed out are sent to sign in.
    assert_eq!(buyer.get("/manage").await.status, StatusCode::FORBIDDEN);
    let stranger = Visitor::arrive(&node.url("")).await;
    assert_eq!(stranger.get("/manage").await.status, StatusCode::SEE_OTHER);
    assert!(
        manager
            .get("/")
            .await
            .html
            .contains(r#"href="/manage">Manage</a>"#)
    );
    assert!(!buyer.get("/").await.html.contains(r#"href="/manage""#));

    let csv = "section,row,seat,category,x,y\nStalls,A,1,Stalls,0,0\nStalls,A,2,Stalls,1,0\nStalls,A,3,Stalls,2,0\nStalls,B,1,Stalls,0,1\nStalls,B,2,Stalls,1,1\n";
    let mut fields = vec![
        ("title", "Quartet Evening"),
        ("startsAt", "2030-12-06T19:30"),
        ("hall", "Small hall"),
        ("categories[0].name", "Standing"),
        ("categories[0].price", "15"),
        ("categories[2].name", "Stalls"),
        ("categories[2].price", "nine"),
        ("areas[0].name", "Bar"),
        ("areas[0].category", "Standing"),
        ("areas[0].capacity", "40"),
        ("seatMapFile", csv),
        ("action", "preview"),
    ];
    // A bad price is named beside its field (the blank row between was dropped, so it is row 1).
    let refused = manager.post_multipart("/manage/shows/new", &fields).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.html);
    assert!(
        refused.html.contains(r#"id="categories[1].price-error""#),
        "{}",
        refused.html
    );
    assert!(
        refused.html.contains("Stalls,B,2,Stalls,1,1"),
        "the CSV is kept"
    );
    fields[6].1 = "25.00";
    fields[5].0 = "categories[1].name";
    fields[6].0 = "categories[1].price";
    let preview = manager.post_multipart("/manage/shows/new", &fields).await;
    assert_eq!(preview.status, StatusCode::OK, "{}", preview.html);
    assert!(preview.html.contains("Preview: nothing is saved yet"));
    assert!(
        preview.html.contains("45 tickets in all"),
        "{}",
        preview.html
    );
    assert_eq!(preview.html.matches("<rect class=\"seat c1").count(), 5);
    assert!(
        node.client().get("/api/shows").await.body == serde_json::json!([]),
        "a preview saves nothing"
    );
    // Saving what was previewed: the CSV comes back in the text box, the file field is empty.
    let mut save: Vec<(&str, &str)> = fields
        .iter()
        .filter(|(name, _)| *name != "seatMapFile" && *name != "action")
        .copied()
        .collect();
    save.push(("seatMapCsv", csv));
    save.push(("reentry", "1"));
    save.push(("action", "save"));
    let saved = manager.post_multipart("/manage/shows/new", &save).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.html);
    let path = saved.headers[LOCATION].to_str().unwrap().to_owned();
    let show_id = path.trim_start_matches("/manage/shows/").to_owned();
    let api = node
        .client()
        .get(&format!("/api/shows/{show_id}"))
        .await
        .body;
    assert_eq!(api["status"], "on-sale");
    assert_eq!(api["tickets"], 45);
    assert_eq!(api["startsAt"], "2030-12-06T19:30:00.000Z");
    assert_eq!(api["reentry"], true, "the re-entry box was ticked");

    // A buyer holds two seats; the manager's page counts them.
    let held = buyer
        .post(
            &format!("/shows/{show_id}/order"),
            &[("category", "Stalls"), ("quantity", "2")],
            None,
            None,
        )
        .await;
    assert_eq!(held.status, StatusCode::SEE_OTHER, "{}", held.html);
    let page = manager.get(&path).await;
    assert!(
        page.html
            .contains(r#"data-cat="1" data-count="held">2</td>"#),
        "{}",
        page.html
    );
    let week = manager.get("/manage").await;
    assert!(
        week.html.contains("Quartet Evening")
            && week.html.contains(r#"data-count="available">3</td>"#),
        "{}",
        week.html
    );

    // A change of details, and a price whose category nothing holds.
    let edited = manager
        .post(
            &path,
            &[
                ("title", "Quartet Evening (late)"),
                ("startsAt", "2030-12-06T21:00"),
                ("hall", "Small hall"),
                ("categories[0].name", "Standing"),
                ("categories[0].price", "18.00"),
                ("categories[1].name", "Stalls"),
                ("categories[1].price", "25.00"),
                ("maxPerOrder", "6"),
            ],
            None,
            None,
        )
        .await;
    assert_eq!(edited.status, StatusCode::OK, "{}", edited.html);
    assert!(edited.html.contains("Saved."));
    let api = node
        .client()
        .get(&format!("/api/shows/{show_id}"))
        .await
        .body;
    assert_eq!(api["title"], "Quartet Evening (late)");
    assert_eq!(api["categories"][0]["price"], "18.00");
    assert_eq!(api["maxPerOrder"], 6);

    // Stop, resume, and cancel only when confirmed.
    let status = format!("{path}/status");
    let stopped = manager.post(&status, &[("to", "stop")], None, None).await;
    assert!(stopped.html.contains("Sales stopped."), "{}", stopped.html);
    let api = node
        .client()
        .get(&format!("/api/shows/{show_id}"))
        .await
        .body;
    assert_eq!(api["status"], "sales-stopped");
    manager.post(&status, &[("to", "resume")], None, None).await;
    let unconfirmed = manager.post(&status, &[("to", "cancel")], None, None).await;
    assert_eq!(unconfirmed.status, StatusCode::BAD_REQUEST);
    assert!(unconfirmed.html.contains("Tick the box to confirm"));
    let cancelled = manager
        .post(&status, &[("to", "cancel"), ("confirm", "on")], None, None)
        .await;
    assert!(cancelled.html.contains("Cancelled."), "{}", cancelled.html);
    let api = node
        .client()
        .get(&format!("/api/shows/{show_id}"))
        .await
        .body;
    assert_eq!(api["status"], "cancelled");
    // A staff form without the visitor's token is refused, like every form.
    let forged = manager
        .post(&status, &[("to", "resume")], Some("0000"), None)
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
}
