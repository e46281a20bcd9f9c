//! The app's commands through Tauri's mock runtime, against a real node: the standalone one the
//! app starts itself (the same code as `tix-node`, on a temporary data dir).

use serde_json::{Value, json};
use tauri::WebviewWindow;
use tauri::ipc::{CallbackFn, InvokeBody};
use tauri::test::{INVOKE_KEY, MockRuntime, mock_builder};
use tauri::webview::InvokeRequest;

use crate::desk::Desk;

fn app(dir: &std::path::Path) -> (tauri::App<MockRuntime>, WebviewWindow<MockRuntime>) {
    let app = crate::with_commands(mock_builder())
        .manage(Desk::new(dir.to_path_buf(), dir.to_path_buf()))
        .build(tauri::generate_context!())
        .expect("mock app");
    let window = tauri::WebviewWindowBuilder::new(&app, "main", Default::default())
        .build()
        .expect("mock window");
    (app, window)
}

/// Invokes a command as the window would; its JSON answer or its error's JSON.
fn invoke(window: &WebviewWindow<MockRuntime>, cmd: &str, args: Value) -> Result<Value, Value> {
    tauri::test::get_ipc_response(
        window,
        InvokeRequest {
            cmd: cmd.into(),
            callback: CallbackFn(0),
            error: CallbackFn(1),
            // The window's own origin on Linux (custom protocol); remote origins get no commands.
            url: "tauri://localhost".parse().unwrap(),
            body: InvokeBody::Json(args),
            headers: Default::default(),
            invoke_key: INVOKE_KEY.to_string(),
        },
    )
    .map(|body| body.deserialize::<Value>().unwrap())
}

#[track_caller]
fn ok(window: &WebviewWindow<MockRuntime>, cmd: &str, args: Value) -> Value {
    invoke(window, cmd, args).unwrap_or_else(|e| panic!("{cmd}: {e}"))
}

#[cfg(feature = "standalone")]
/// What `find_tickets` answers once it has `count` hits: the search index follows the tickets a
/// moment after each commit.
#[track_caller]
fn find(window: &WebviewWindow<MockRuntime>, query: &str, count: usize) -> Value {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let hits = ok(window, "find_tickets", json!({ "query": query }));
        if hits.as_array().unwrap().len() == count || std::time::Instant::now() > deadline {
            assert_eq!(hits.as_array().unwrap().len(), count, "{query:?}: {hits}");
            return hits;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

#[cfg(feature = "standalone")]
/// A seller lists a ticket on the node directly (the box office does not list tickets).
fn list_ticket(base: &str, email: &str, title: &str, price: f64) -> String {
    tauri::async_runtime::block_on(async {
        let client = crate::node_client::NodeClient::new(base).unwrap();
        client.authenticate(true, email, "password").await.unwrap();
        let ticket = client
            .post("/api/tickets", json!({ "title": title, "price": price }))
            .await
            .unwrap();
        ticket["id"].as_str().unwrap().to_owned()
    })
}

#[cfg(feature = "standalone")]
#[test]
fn a_standalone_counter_sells_for_cash_refunds_and_adds_up_the_day() {
    let dir = tempfile::tempdir().unwrap();
    let (app, window) = app(dir.path());

    // First start: nothing remembered, so the window must ask.
    let first = ok(&window, "connection", json!({}));
    assert_eq!(first["connection"], Value::Null);
    let locked_out = invoke(&window, "status", json!({})).unwrap_err();
    assert_eq!(locked_out["kind"], "notConnected");

    let connected = ok(&window, "connect", json!({ "standalone": true }));
    assert_eq!(connected["connection"]["mode"], "standalone");
    let base = connected["url"].as_str().unwrap().to_owned();
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");

    // Signed out, the node refuses; the first account of a standalone node is staff.
    assert_eq!(
        invoke(&window, "locks", json!({})).unwrap_err()["kind"],
        "notSignedIn"
    );
    let signed = ok(
        &window,
        "sign_in",
        json!({ "email": "counter@venue.test", "password": "secret1", "create": true }),
    );
    assert_eq!(signed["staff"], "counter@venue.test");

    let status = ok(&window, "status", json!({}));
    assert_eq!(status["nodeReachable"], true);
    assert_eq!(status["standalone"], true);
    assert_eq!(status["sync"], "off");
    assert_eq!(status["cardAvailable"], true);

    let stalls = list_ticket(&base, "seller@venue.test", "Stalls A1", 42.5);
    let circle = list_ticket(&base, "seller2@venue.test", "Circle B2", 30.0);

    find(&window, "", 2);
    let by_id = find(&window, &stalls, 1);
    assert_eq!(by_id[0]["title"], "Stalls A1");
    let by_words = find(&window, "circle", 1);
    assert_eq!(by_words[0]["id"], circle.as_str());

    // Lock, see it among the open locks, take cash, get the pass.
    let order = ok(&window, "lock_ticket", json!({ "ticketId": stalls }));
    let order_id = order["id"].as_str().unwrap().to_owned();
    let locks = ok(&window, "locks", json!({}));
    assert_eq!(locks["locks"][0]["id"], order_id.as_str());
    let taken = invoke(&window, "lock_ticket", json!({ "ticketId": stalls })).unwrap_err();
    assert_eq!(taken["kind"], "refused");
    assert_eq!(taken["message"], "Ticket is already reserved");
    let sale = ok(&window, "pay_cash", json!({ "orderId": order_id }));
    assert_eq!(sale["payment"]["method"], "cash");
    assert_eq!(sale["pass"]["orderId"], order_id.as_str());
    assert_eq!(sale["pass"]["ticketId"], stalls.as_str());
    assert!(sale["pass"]["qrSvg"].as_str().unwrap().contains("<svg"));
    // The pass prints the node's signed code, which the venue's public key reads back.
    let verifier = pass_key(&base);
    let read = verifier
        .verify(sale["pass"]["code"].as_str().unwrap())
        .unwrap();
    assert_eq!(read.ticket.to_string(), stalls);
    assert_eq!(read.order.to_string(), order_id);
    assert_eq!(read.scope, tix_core::passes::Scope::Listing);

    // Lock another and release it: it is on sale again.
    let second = ok(&window, "lock_ticket", json!({ "ticketId": circle }));
    ok(&window, "release", json!({ "orderId": second["id"] }));
    let on_sale = find(&window, "", 1);
    assert_eq!(on_sale[0]["id"], circle.as_str());
    // Card in test mode.
    let again = ok(&window, "lock_ticket", json!({ "ticketId": circle }));
    let card = ok(
        &window,
        "pay_card",
        json!({ "orderId": again["id"], "token": "tok_visa" }),
    );
    assert!(card["payment"]["id"].is_string(), "{card}");

    let day = ok(&window, "summary", json!({}));
    assert_eq!(day["cash"]["salesAmount"], 42.5, "{day}");
    assert_eq!(day["card"]["salesAmount"], 30.0);
    assert_eq!(day["total"]["sales"], 2);

    let mine = ok(
        &window,
        "orders_by_email",
        json!({ "email": "counter@venue.test" }),
    );
    assert_eq!(mine["orders"].as_array().unwrap().len(), 3);
    ok(&window, "refund", json!({ "orderId": order_id }));
    let day = ok(&window, "summary", json!({ "date": null }));
    assert_eq!(day["cash"]["net"], 0.0, "{day}");
    let bad = invoke(&window, "summary", json!({ "date": "yesterday" })).unwrap_err();
    assert_eq!(bad["message"], "Date must be YYYY-MM-DD");
    assert_eq!(bad["fields"][0]["field"], "date");
    // Passes printed again come from the node: the card sale's still scans, the refunded one
    // has nothing to print any more (an order found by email carries no codes of its own).
    let by_id = |id: &str| {
        mine["orders"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["id"] == id)
            .cloned()
            .unwrap()
    };
    let card_id = again["id"].as_str().unwrap();
    assert!(by_id(card_id).get("passes").is_none());
    let pass = ok(&window, "ticket_pass", json!({ "order": by_id(card_id) }));
    let read = verifier.verify(pass["code"].as_str().unwrap()).unwrap();
    assert_eq!(read.ticket.to_string(), circle);
    let refunded = ok(
        &window,
        "order_passes",
        json!({ "order": by_id(&order_id) }),
    );
    assert_eq!(refunded[0]["code"], Value::Null, "{refunded}");
    assert_eq!(refunded[0]["qrSvg"], Value::Null);
    assert_eq!(refunded[0]["unprintable"], crate::pass::NO_VALID_PASS);
    // An order still open (a lock not paid yet) has no code either.
    let stalls_two = list_ticket(&base, "seller3@venue.test", "Stalls A2", 40.0);
    let unpaid = ok(&window, "lock_ticket", json!({ "ticketId": stalls_two }));
    let unpaid = ok(&window, "order_passes", json!({ "order": unpaid }));
    assert_eq!(unpaid[0]["code"], Value::Null);
    assert_eq!(unpaid[0]["unprintable"], crate::pass::NOT_PAID);
    assert!(invoke(&window, "release", json!({ "orderId": "../x" })).is_err());

    // Anyone else is not staff: the node says so, and the app stays signed out.
    let other = invoke(
        &window,
        "sign_in",
        json!({ "email": "seller@venue.test", "password": "password", "create": false }),
    )
    .unwrap_err();
    assert_eq!(other["kind"], "notStaff");
    assert_eq!(
        invoke(&window, "locks", json!({})).unwrap_err()["kind"],
        "notSignedIn"
    );

    // The choice is remembered for the next start.
    let saved = std::fs::read_to_string(dir.path().join("box-office.json")).unwrap();
    assert!(saved.contains("standalone"), "{saved}");
    tauri::async_runtime::block_on(tauri::Manager::state::<Desk>(&app).shut_down());
}

#[cfg(feature = "standalone")]
/// The venue's public pass key, as the node publishes it in `/healthz`.
fn pass_key(base: &str) -> tix_core::passes::PassVerifier {
    tauri::async_runtime::block_on(async {
        let client = crate::node_client::NodeClient::new(base).unwrap();
        let health = client.health().await.unwrap();
        let hex = health["passKey"]["publicKey"].as_str().unwrap();
        tix_core::passes::PassVerifier::from_hex(hex).unwrap()
    })
}

#[cfg(feature = "standalone")]
/// Staff put a show on sale on the node directly (the box office does not make shows): 5 rows of
/// 10 Stalls seats at 30.00.
fn put_on_a_show(base: &str, email: &str, password: &str) -> String {
    tauri::async_runtime::block_on(async {
        let client = crate::node_client::NodeClient::new(base).unwrap();
        client.authenticate(false, email, password).await.unwrap();
        let show = client
            .post(
                "/api/shows",
                json!({
                    "title": "Friday Concert",
                    "startsAt": "2030-12-06T20:00:00Z",
                    "categories": [{ "name": "Stalls", "price": "30.00" }],
                    "generate": [{ "section": "Stalls", "category": "Stalls", "rows": 5, "seatsPerRow": 10 }],
                }),
            )
            .await
            .unwrap();
        show["id"].as_str().unwrap().to_owned()
    })
}

#[cfg(feature = "standalone")]
#[test]
fn a_standalone_counter_sells_a_show_to_a_party_and_finds_the_order_by_number() {
    let dir = tempfile::tempdir().unwrap();
    let (app, window) = app(dir.path());
    let connected = ok(&window, "connect", json!({ "standalone": true }));
    let base = connected["url"].as_str().unwrap().to_owned();
    ok(
        &window,
        "sign_in",
        json!({ "email": "counter@venue.test", "password": "secret1", "create": true }),
    );
    let show = put_on_a_show(&base, "counter@venue.test", "secret1");

    let listed = ok(
        &window,
        "shows",
        json!({ "from": "2030-01-01T00:00:00.000Z" }),
    );
    assert_eq!(listed[0]["id"], show.as_str(), "{listed}");
    assert_eq!(listed[0]["categories"][0]["available"], 50);
    let none = ok(
        &window,
        "shows",
        json!({ "from": "2031-01-01T00:00:00Z", "to": null }),
    );
    assert_eq!(none, json!([]));

    // Best available for five, one cash payment, five passes.
    let party = ok(
        &window,
        "order_best",
        json!({ "showId": show, "category": "Stalls", "quantity": 5 }),
    );
    let party_id = party["id"].as_str().unwrap().to_owned();
    assert_eq!(party["tickets"].as_array().unwrap().len(), 5, "{party}");
    let locks = ok(&window, "locks", json!({}));
    assert_eq!(locks["locks"][0]["show"], show.as_str());
    let sale = ok(&window, "pay_cash", json!({ "orderId": party_id }));
    assert_eq!(sale["total"], 150.0, "{sale}");
    assert_eq!(sale["payment"]["amount"], 150.0);
    let passes = sale["passes"].as_array().unwrap();
    assert_eq!(passes.len(), 5);
    let verifier = pass_key(&base);
    for (pass, ticket) in passes.iter().zip(party["tickets"].as_array().unwrap()) {
        let ticket_id = ticket["id"].as_str().unwrap();
        let read = verifier.verify(pass["code"].as_str().unwrap()).unwrap();
        assert_eq!(read.ticket.to_string(), ticket_id);
        assert_eq!(read.order.to_string(), party_id);
        assert!(
            matches!(read.scope, tix_core::passes::Scope::Show { show: s, .. } if s.to_string() == show)
        );
        assert_eq!(pass["seat"], ticket["seat"]);
        assert_eq!(pass["title"], "Friday Concert");
        assert!(
            pass["startsAt"]
                .as_str()
                .unwrap()
                .starts_with("2030-12-06T20:00:00")
        );
    }
    let found = ok(&window, "order_by_number", json!({ "orderId": party_id }));
    assert_eq!(found["status"], "complete");
    assert_eq!(found["payment"]["method"], "cash");
    assert_eq!(found["buyer"], "counter@venue.test");
    let again = ok(&window, "order_passes", json!({ "order": found }));
    assert_eq!(again.as_array().unwrap().len(), 5);

    // Two seats picked on the map; a seat already sold is refused by the node.
    let map = ok(&window, "show_seats", json!({ "showId": show }));
    let rows = map["sections"][0]["rows"].as_array().unwrap();
    let back = rows.last().unwrap()["seats"].as_array().unwrap();
    let picked = [back[0][0].clone(), back[1][0].clone()];
    let pair = ok(
        &window,
        "order_seats",
        json!({ "showId": show, "seats": picked }),
    );
    assert_eq!(pair["quantity"], 2, "{pair}");
    let sold_seat = party["tickets"][0]["id"].clone();
    let taken = invoke(
        &window,
        "order_seats",
        json!({ "showId": show, "seats": [sold_seat] }),
    )
    .unwrap_err();
    assert_eq!(taken["kind"], "refused", "{taken}");
    let too_many = invoke(
        &window,
        "order_best",
        json!({ "showId": show, "category": "Stalls", "quantity": 44 }),
    )
    .unwrap_err();
    assert_eq!(too_many["kind"], "refused", "{too_many}");

    // A party pays by card just the same (test mode).
    let by_card = ok(
        &window,
        "order_best",
        json!({ "showId": show, "category": "Stalls", "quantity": 3 }),
    );
    let card = ok(
        &window,
        "pay_card",
        json!({ "orderId": by_card["id"], "token": "tok_visa" }),
    );
    assert_eq!(card["total"], 90.0, "{card}");
    assert_eq!(card["passes"].as_array().unwrap().len(), 3);

    let missing = invoke(
        &window,
        "order_by_number",
        json!({ "orderId": "5f8d0d55b54764421b7156c9" }),
    )
    .unwrap_err();
    assert_eq!(missing["kind"], "notFound", "{missing}");
    assert_eq!(missing["message"], "No order has that number");
    let bad = invoke(&window, "order_by_number", json!({ "orderId": "../x" })).unwrap_err();
    assert_eq!(bad["message"], "That is not an order id");
    tauri::async_runtime::block_on(tauri::Manager::state::<Desk>(&app).shut_down());
}

#[cfg(not(feature = "standalone"))]
#[test]
fn a_lan_only_build_says_it_cannot_run_a_node_itself() {
    let dir = tempfile::tempdir().unwrap();
    let (_app, window) = app(dir.path());
    assert_eq!(
        ok(&window, "connection", json!({}))["standaloneAvailable"],
        false
    );
    let refused = invoke(&window, "connect", json!({ "standalone": true })).unwrap_err();
    assert_eq!(refused["kind"], "local");
    assert!(!dir.path().join("box-office.json").exists());
}

#[test]
fn a_lan_node_must_answer_before_it_is_remembered() {
    let dir = tempfile::tempdir().unwrap();
    let (_app, window) = app(dir.path());
    let bad = invoke(
        &window,
        "connect",
        json!({ "address": "not a url", "standalone": false }),
    )
    .unwrap_err();
    assert_eq!(bad["kind"], "badAddress");
    // Nothing listens on port 9 of loopback (discard), so the node is unreachable.
    let down = invoke(
        &window,
        "connect",
        json!({ "address": "127.0.0.1:9", "standalone": false }),
    )
    .unwrap_err();
    assert_eq!(down["kind"], "unreachable", "{down}");
    assert!(!dir.path().join("box-office.json").exists());
    assert_eq!(
        ok(&window, "connection", json!({}))["connection"],
        Value::Null
    );
}

#[test]
fn the_status_bar_reads_the_nodes_health() {
    use crate::commands::status_of;
    let down = status_of("http://n", false, None);
    assert!(!down.node_reachable && !down.card_available);
    let health = json!({
        "payments": { "testMode": false, "reachable": false },
        "sync": { "enabled": true, "connected": true, "backlog": 3 },
    });
    let offline_card = status_of("http://n", false, Some(&health));
    assert!(offline_card.node_reachable);
    assert!(!offline_card.card_available);
    assert!(offline_card.card_note.contains("Cash works"));
    assert_eq!(offline_card.sync, "behind");
    assert_eq!(offline_card.sync_backlog, 3);
    let synced = json!({
        "payments": { "testMode": true, "reachable": true },
        "sync": { "enabled": true, "connected": true, "backlog": 0 },
    });
    assert_eq!(status_of("http://n", false, Some(&synced)).sync, "inSync");
    let no_broker = json!({ "payments": {}, "sync": { "enabled": true, "connected": false } });
    assert_eq!(
        status_of("http://n", false, Some(&no_broker)).sync,
        "offline"
    );
}
