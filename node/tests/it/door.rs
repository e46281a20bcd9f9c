//! `/api/check-in*` over HTTP: passes of a paid order, one admission per ticket under fifty
//! concurrent scans, every refusal (forged, altered, truncated, another venue's, refunded, the
//! wrong show, outside the window), the door role, and offline scanners' reports with conflicts.

use reqwest::StatusCode;
use serde_json::{Value, json};

use tix_tests::client::{Client, Node, NodeOptions, id, only_message};

use crate::shows::create;
use crate::{NODE, standalone};

/// An ISO time `hours` from now (negative: ago).
fn hours_from_now(hours: i64) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    tix_core::time::Millis((now + hours * 3_600_000) as u64).to_iso()
}

fn standing_show(title: &str, starts_at: &str) -> Value {
    json!({
        "title": title, "startsAt": starts_at,
        "categories": [{"name": "Standing", "price": "20.00"}],
        "areas": [{"name": "Floor", "category": "Standing", "capacity": 100}]
    })
}

/// A show of `quantity` standing places paid in cash by `buyer`: the show and the order's passes.
async fn sold(
    staff: &Client,
    buyer: &Client,
    starts_at: &str,
    quantity: u32,
) -> (Value, Vec<String>) {
    let show = create(staff, standing_show("Door night", starts_at)).await;
    let order = buyer
        .post(
            &format!("/api/shows/{}/orders", id(&show)),
            json!({"category": "Standing", "quantity": quantity}),
        )
        .await;
    assert_eq!(order.status, StatusCode::CREATED, "{}", order.text);
    let unpaid = buyer.get(&format!("/api/orders/{}", id(&order.body))).await;
    assert!(
        unpaid.body.get("passes").is_none(),
        "no passes before payment"
    );
    let cash = staff
        .post(
            "/api/box-office/payments/cash",
            json!({"orderId": id(&order.body)}),
        )
        .await;
    assert_eq!(cash.status, StatusCode::CREATED, "{}", cash.text);
    let paid = buyer.get(&format!("/api/orders/{}", id(&order.body))).await;
    let passes: Vec<String> = paid.body["passes"]
        .as_array()
        .unwrap_or_else(|| panic!("a paid order lists its passes: {}", paid.text))
        .iter()
        .map(|p| p["code"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(passes.len(), quantity as usize);
    let tickets: Vec<&Value> = paid.body["tickets"].as_array().unwrap().iter().collect();
    for (pass, ticket) in paid.body["passes"].as_array().unwrap().iter().zip(tickets) {
        assert_eq!(
            pass["ticketId"], ticket["id"],
            "one pass per ticket, in order"
        );
    }
    (show, passes)
}

async fn scan(door: &Client, code: &str, gate: &str) -> Value {
    let reply = door
        .post("/api/check-in", json!({"code": code, "gate": gate}))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    reply.body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_scans_of_one_pass_admit_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let node = standalone(&dir);
    let staff = node.client().user("staff@test.com").await;
    let buyer = node.client().user("buyer@test.com").await;
    let (show, passes) = sold(&staff, &buyer, &hours_from_now(1), 2).await;

    let scans = (0..50).map(|n| {
        let staff = staff.clone();
        let code = passes[0].clone();
        tokio::spawn(async move { scan(&staff, &code, &format!("Gate {}", n % 4)).await })
    });
    let verdicts: Vec<Value> = futures_util::future::join_all(scans)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let admitted: Vec<&Value> = verdicts
        .iter()
        .filter(|v| v["result"] == "admitted")
        .collect();
    assert_eq!(admitted.len(), 1, "{verdicts:?}");
    let first = admitted[0];
    assert_eq!(first["title"], "Door night");
    assert_eq!(first["showId"], show["id"]);
    assert!(first["seat"].as_str().unwrap().contains("Floor"), "{first}");
    for later in verdicts.iter().filter(|v| v["result"] != "admitted") {
        assert_eq!(later["result"], "already-admitted", "{later}");
        assert_eq!(later["admittedAt"], first["admittedAt"]);
        assert_eq!(later["gate"], first["gate"]);
        let message = later["message"].as_str().unwrap();
        assert!(
            message.starts_with("Already admitted at ")
                && message.ends_with(&format!("at gate {}", first["gate"].as_str().unwrap())),
            "{message}"
        );
    }
    let copy = staff
        .get(&format!("/api/check-in/shows/{}", id(&show)))
        .await;
    assert_eq!(copy.status, StatusCode::OK, "{}", copy.text);
    assert_eq!(
        (copy.body["sold"].as_u64(), copy.body["admitted"].as_u64()),
        (Some(2), Some(1))
    );
    let statuses: Vec<&str> = copy.body["tickets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses.iter().filter(|s| **s == "admitted").count(), 1);
    assert_eq!(statuses.iter().filter(|s| **s == "valid").count(), 1);
    assert_eq!(
        scan(&staff, &passes[1], "North").await["result"],
        "admitted"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_altered_cut_and_foreign_codes_are_refused_as_forged() {
    let dir = tempfile::tempdir().unwrap();
    let node = standalone(&dir);
    let staff = node.client().user("staff@test.com").await;
    let buyer = node.client().user("buyer@test.com").await;
    let (_show, passes) = sold(&staff, &buyer, &hours_from_now(1), 1).await;
    let code = &passes[0];

    // Another venue's node signs with its own key.
    let elsewhere_dir = tempfile::tempdir().unwrap();
    let elsewhere = standalone(&elsewhere_dir);
    let their_staff = elsewhere.client().user("staff@test.com").await;
    let their_buyer = elsewhere.client().user("buyer@test.com").await;
    let (_, theirs) = sold(&their_staff, &their_buyer, &hours_from_now(1), 1).await;

    let mut altered = code.clone().into_bytes();
    let at = altered.len() - 30;
    altered[at] = if altered[at] == b'A' { b'B' } else { b'A' };
    let altered = String::from_utf8(altered).unwrap();
    let old_style = format!(
        "TIX1:{}:{}",
        "5f8d0d55b54764421b7156c9", "5f8d0d55b54764421b7156ca"
    );
    for (what, forged) in [
        ("altered", altered.as_str()),
        ("truncated", &code[..code.len() - 20]),
        ("made up", "TIX2:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
        ("the old unsigned form", old_style.as_str()),
        ("another venue's", theirs[0].as_str()),
        ("not a code at all", "hello"),
    ] {
        let verdict = scan(&staff, forged, "North").await;
        assert_eq!(verdict["result"], "forged", "{what}: {verdict}");
        assert!(verdict.get("ticketId").is_none(), "{what}: {verdict}");
    }
    assert_eq!(scan(&staff, code, "North").await["result"], "admitted");
    // Replaying the genuine code later is the already-admitted verdict, not a second admission.
    assert_eq!(
        scan(&staff, code, "South").await["result"],
        "already-admitted"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refunded_wrong_show_and_out_of_window_passes_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let node = standalone(&dir);
    let staff = node.client().user("staff@test.com").await;
    let buyer = node.client().user("buyer@test.com").await;
    let (tonight, passes) = sold(&staff, &buyer, &hours_from_now(1), 2).await;
    let (_next_year, future) = sold(&staff, &buyer, &hours_from_now(24 * 365), 1).await;
    let (_last_night, past) = sold(&staff, &buyer, &hours_from_now(-20), 1).await;

    let early = scan(&staff, &future[0], "North").await;
    assert_eq!(early["result"], "not-valid-now", "{early}");
    assert!(
        early["message"]
            .as_str()
            .unwrap()
            .starts_with("Not valid yet"),
        "{early}"
    );
    assert!(early["validFrom"].is_string());
    let late = scan(&staff, &past[0], "North").await;
    assert_eq!(late["result"], "not-valid-now", "{late}");
    assert!(
        late["message"]
            .as_str()
            .unwrap()
            .starts_with("No longer valid"),
        "{late}"
    );

    let wrong = staff
        .post(
            "/api/check-in",
            json!({"code": future[0], "gate": "North", "showId": tonight["id"]}),
        )
        .await;
    assert_eq!(wrong.body["result"], "wrong-show", "{}", wrong.text);
    assert_eq!(wrong.body["message"], "Not for this show");

    let order = buyer
        .get("/api/orders")
        .await
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["show"] == tonight["id"])
        .cloned()
        .unwrap();
    let refund = staff
        .post("/api/box-office/refunds", json!({"orderId": id(&order)}))
        .await;
    assert_eq!(refund.status, StatusCode::CREATED, "{}", refund.text);
    for code in &passes {
        let verdict = scan(&staff, code, "North").await;
        assert_eq!(verdict["result"], "refunded", "{verdict}");
    }
    let refunded = buyer.get(&format!("/api/orders/{}", id(&order))).await;
    assert_eq!(
        refunded.body["passes"],
        json!([]),
        "a refunded order shows no passes"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_door_staff_and_staff_check_in_and_bad_requests_say_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let node = standalone(&dir);
    let staff = node.client().user("staff@test.com").await;
    let buyer = node.client().user("buyer@test.com").await;
    let doorman = node.client().user("door@test.com").await;
    let (show, passes) = sold(&staff, &buyer, &hours_from_now(1), 1).await;

    for who in [&buyer, &doorman, &node.client()] {
        let reply = who
            .post("/api/check-in", json!({"code": passes[0], "gate": "North"}))
            .await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
        assert_eq!(only_message(&reply), "Not authorized");
    }
    for (body, field) in [
        (json!({"gate": "North"}), "code"),
        (json!({"code": passes[0]}), "gate"),
        (json!({"code": passes[0], "gate": "x".repeat(41)}), "gate"),
        (
            json!({"code": passes[0], "gate": "N", "showId": "nope"}),
            "showId",
        ),
        (
            json!({"code": passes[0], "gate": "N", "scannedAt": "2026-01-01T00:00:00Z"}),
            "scanId",
        ),
        (
            json!({"code": passes[0], "gate": "N", "scanId": "a b"}),
            "scanId",
        ),
        (
            json!({"code": passes[0], "gate": "N", "scanId": "s1", "scannedAt": "2999-01-01T00:00:00Z"}),
            "scannedAt",
        ),
    ] {
        let reply = staff.post("/api/check-in", body.clone()).await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{body}: {}",
            reply.text
        );
        assert_eq!(
            reply.body["errors"][0]["field"], field,
            "{body}: {}",
            reply.text
        );
    }

    // The operator makes door@test.com door staff on the stopped node.
    let cookie = doorman.cookie.clone();
    assert!(node.terminate().success());
    let granted = std::process::Command::new(NODE)
        .args(["staff", "grant", "--door", "door@test.com", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&granted.stdout);
    assert!(
        granted.status.success() && text.contains("is now door staff"),
        "{text}"
    );
    let listed = std::process::Command::new(NODE)
        .args(["staff", "list", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    let listed = String::from_utf8_lossy(&listed.stdout);
    assert!(
        listed.contains("door@test.com\t") && listed.contains("\tdoor"),
        "{listed}"
    );
    let node = Node::start(NODE, &dir, NodeOptions::default());
    let doorman = node.client().with_cookie(cookie);
    assert_eq!(
        scan(&doorman, &passes[0], "North").await["result"],
        "admitted"
    );
    let copy = doorman
        .get(&format!("/api/check-in/shows/{}", id(&show)))
        .await;
    assert_eq!(copy.status, StatusCode::OK);
    // Door staff are not box-office staff.
    let takings = doorman.get("/api/box-office/summary").await;
    assert_eq!(takings.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_reports_are_kept_conflicts_listed_and_resends_answered_alike() {
    let dir = tempfile::tempdir().unwrap();
    let node = standalone(&dir);
    let staff = node.client().user("staff@test.com").await;
    let buyer = node.client().user("buyer@test.com").await;
    let (show, passes) = sold(&staff, &buyer, &hours_from_now(1), 2).await;
    let key = node.client().get("/.well-known/tix-pass-key").await;
    assert_eq!(key.body["algorithm"], "Ed25519");
    assert_eq!(key.body["publicKey"].as_str().unwrap().len(), 64);
    let health = node.client().get("/healthz").await;
    assert_eq!(health.body["passKey"], key.body);

    // North is online and admits the first ticket; South was offline and let both in earlier.
    assert_eq!(
        scan(&staff, &passes[0], "North").await["result"],
        "admitted"
    );
    let offline = |code: &str, scan_id: &str| json!({"code": code, "gate": "South", "scanId": scan_id, "scannedAt": hours_from_now(0)});
    let kept = staff
        .post("/api/check-in", offline(&passes[1], "south-1"))
        .await;
    assert_eq!(kept.body["result"], "admitted", "{}", kept.text);
    assert_eq!(kept.body["offline"], true);
    let clash = staff
        .post("/api/check-in", offline(&passes[0], "south-2"))
        .await;
    assert_eq!(clash.body["result"], "already-admitted", "{}", clash.text);
    assert_eq!(clash.body["conflict"], true);
    assert_eq!(clash.body["gate"], "North");
    // South resends its whole queue: the same answers, nothing counted twice.
    let again = staff
        .post("/api/check-in", offline(&passes[1], "south-1"))
        .await;
    assert_eq!(again.body["result"], "admitted");
    let again = staff
        .post("/api/check-in", offline(&passes[0], "south-2"))
        .await;
    assert_eq!(again.body["conflict"], true);

    let conflicts = staff.get("/api/check-in/conflicts").await;
    assert_eq!(conflicts.status, StatusCode::OK);
    let list = conflicts.body.as_array().unwrap();
    assert_eq!(list.len(), 1, "{}", conflicts.text);
    assert_eq!(list[0]["reason"], "already-admitted");
    assert_eq!(list[0]["first"]["gate"], "North");
    assert_eq!(list[0]["second"]["gate"], "South");
    assert_eq!(list[0]["second"]["offline"], true);
    assert_eq!(list[0]["title"], "Door night");
    let copy = staff
        .get(&format!("/api/check-in/shows/{}", id(&show)))
        .await;
    assert_eq!(copy.body["admitted"], 2);

    // The key survives a restart: yesterday's passes still read.
    assert!(node.terminate().success());
    let node = standalone(&dir);
    let staff = staff.with_base(&node.url(""));
    assert_eq!(
        node.client().get("/.well-known/tix-pass-key").await.body,
        key.body
    );
    assert_eq!(
        scan(&staff, &passes[1], "North").await["result"],
        "already-admitted"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_a_show_with_reentry_holders_are_scanned_out_and_back_in() {
    let dir = tempfile::tempdir().unwrap();
    let node = standalone(&dir);
    let staff = node.client().user("staff@test.com").await;
    let buyer = node.client().user("buyer@test.com").await;
    let mut body = standing_show("Festival", &hours_from_now(1));
    body["reentry"] = json!(true);
    let show = create(&staff, body).await;
    assert_eq!(show["reentry"], true);
    let order = buyer
        .post(
            &format!("/api/shows/{}/orders", id(&show)),
            json!({"category": "Standing", "quantity": 1}),
        )
        .await;
    staff
        .post(
            "/api/box-office/payments/cash",
            json!({"orderId": id(&order.body)}),
        )
        .await;
    let paid = buyer.get(&format!("/api/orders/{}", id(&order.body))).await;
    let code = paid.body["passes"][0]["code"].as_str().unwrap().to_owned();
    let out = |code: &str| json!({"code": code, "gate": "North", "exit": true});

    let early = staff.post("/api/check-in", out(&code)).await;
    assert_eq!(
        early.body["message"],
        "Not admitted yet: nothing to scan out"
    );
    assert_eq!(scan(&staff, &code, "North").await["result"], "admitted");
    let left = staff.post("/api/check-in", out(&code)).await;
    assert_eq!(left.body["result"], "exited", "{}", left.text);
    assert_eq!(left.body["message"], "Out: may come back in");
    let back = scan(&staff, &code, "South").await;
    assert_eq!(back["result"], "admitted");
    assert_eq!(back["message"], "Admitted again (re-entry)");
    assert_eq!(back["gate"], "North", "the first admission is kept");
    assert_eq!(
        scan(&staff, &code, "South").await["result"],
        "already-admitted"
    );
    let copy = staff
        .get(&format!("/api/check-in/shows/{}", id(&show)))
        .await;
    assert_eq!(
        copy.body["admitted"], 1,
        "attendance counts the ticket once"
    );

    // Without re-entry, nobody goes out; and scans out are online only.
    let (_, passes) = sold(&staff, &buyer, &hours_from_now(1), 1).await;
    assert_eq!(
        scan(&staff, &passes[0], "North").await["result"],
        "admitted"
    );
    let refused = staff.post("/api/check-in", out(&passes[0])).await;
    assert_eq!(refused.body["result"], "not-valid-now");
    assert_eq!(refused.body["message"], "No re-entry at this show");
    let reported = staff
        .post(
            "/api/check-in",
            json!({"code": code, "gate": "N", "exit": true, "scanId": "s1", "scannedAt": hours_from_now(0)}),
        )
        .await;
    assert_eq!(reported.status, StatusCode::BAD_REQUEST);
    assert_eq!(reported.body["errors"][0]["field"], "exit");
}
