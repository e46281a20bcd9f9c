//! Door mode without a window: the decision taken from the copy alone (signature, show, window,
//! refund, earlier admission), and the queue of offline admissions against a stand-in node: kept
//! across a restart, sent in order, each entry leaving the file only once the node answered it,
//! a conflict reported back shown with both gates.

mod fake;

use serde_json::{Value, json};
use tix_core::ids::{OrderId, ShowId, TicketId};
use tix_core::passes::{OutsideWindow, Pass, PassError, PassKey, Scope, Window};
use tix_core::time::Millis;

use super::copy::{Decision, ShowCopy};
use super::{Door, Queued};
use crate::node_client::NodeClient;
use fake::FakeNode;

const SHOW: &str = "6b0000000000000000000000";
const OTHER_SHOW: &str = "6c0000000000000000000000";
const ORDER: &str = "6a0000000000000000000001";
const HOUR: u64 = 3_600_000;

/// Ticket `n` of the show.
fn ticket(n: u8) -> String {
    format!("6b00000000000000000000{n:02x}")
}

fn key() -> PassKey {
    PassKey::from_seed([3; 32])
}

fn open_around(now: Millis) -> Window {
    Window {
        from: Millis(now.0 - HOUR),
        until: Some(Millis(now.0 + 5 * HOUR)),
    }
    .rounded()
}

fn code(key: &PassKey, ticket: &str, show: Option<&str>, window: Window) -> String {
    let scope = match show {
        Some(show) => Scope::Show {
            show: show.parse::<ShowId>().unwrap(),
            unit: 1,
        },
        None => Scope::Listing,
    };
    key.sign(&Pass {
        ticket: ticket.parse::<TicketId>().unwrap(),
        order: ORDER.parse::<OrderId>().unwrap(),
        scope,
        window,
    })
}

/// The node's copy of the show: 1 valid, 2 admitted at North, 3 refunded, 5 sold in another
/// order, 7 admitted and out again (re-entry); 4 and 6 are not in it (sold after it was taken).
fn copy_json() -> Value {
    let verifier = key().verifier().clone();
    let entry = |n: u8, status: &str| json!({ "ticketId": ticket(n), "orderId": ORDER, "seat": format!("Floor {n}"), "status": status });
    let mut admitted = entry(2, "admitted");
    admitted["admittedAt"] = json!("2030-01-01T19:03:11.000Z");
    admitted["gate"] = json!("North");
    let mut other_order = entry(5, "valid");
    other_order["orderId"] = json!("6a0000000000000000000009");
    let mut out = entry(7, "admitted");
    out["admittedAt"] = json!("2030-01-01T19:10:00.000Z");
    out["gate"] = json!("North");
    out["out"] = json!(true);
    json!({
        "show": { "id": SHOW, "title": "Door night", "startsAt": "2030-01-01T20:00:00.000Z" },
        "key": {
            "keyId": verifier.id().to_string(), "publicKey": verifier.public_hex(),
            "algorithm": "Ed25519", "format": "TIX2:",
        },
        "sold": 4, "admitted": 2,
        "tickets": [entry(1, "valid"), admitted, entry(3, "refunded"), other_order, out],
    })
}

#[test]
fn the_copy_alone_decides_in_the_nodes_order() {
    let now = Millis(1_900_000_000_000);
    let key = key();
    let mut copy = ShowCopy::from_node(&copy_json()).unwrap();
    let valid = |n: u8| code(&key, &ticket(n), Some(SHOW), open_around(now));
    assert_eq!(copy.counts(), (4, 2));

    // Not this venue's key, or one character changed: forged.
    let elsewhere = PassKey::from_seed([4; 32]);
    let theirs = code(&elsewhere, &ticket(1), Some(SHOW), open_around(now));
    assert!(matches!(
        copy.decide(&theirs, now),
        Decision::Forged(PassError::OtherKey(..))
    ));
    let mut altered = valid(1).into_bytes();
    let at = altered.len() - 10;
    altered[at] = if altered[at] == b'A' { b'B' } else { b'A' };
    let altered = String::from_utf8(altered).unwrap();
    assert!(matches!(copy.decide(&altered, now), Decision::Forged(_)));
    assert!(matches!(
        copy.decide("TIX1:x:y", now),
        Decision::Forged(PassError::Prefix)
    ));
    let forged = copy.verdict_json(&copy.decide(&theirs, now));
    assert_eq!(forged["result"], "forged");
    assert_eq!(forged["local"], true);

    // Another show's pass, or a marketplace listing's: wrong show (before the window is looked at).
    let other = code(&key, &ticket(1), Some(OTHER_SHOW), Window::ALWAYS);
    assert!(matches!(copy.decide(&other, now), Decision::WrongShow(_)));
    let listing = code(&key, &ticket(1), None, Window::ALWAYS);
    let wrong = copy.verdict_json(&copy.decide(&listing, now));
    assert_eq!(
        (wrong["result"].as_str(), wrong["message"].as_str()),
        (Some("wrong-show"), Some("Not for this show"))
    );

    // Outside the pass's window, even for a refunded ticket: not valid now, saying when.
    let later = Window {
        from: Millis(now.0 + 2 * HOUR),
        until: None,
    }
    .rounded();
    let early = code(&key, &ticket(3), Some(SHOW), later);
    assert!(matches!(
        copy.decide(&early, now),
        Decision::NotValidNow(_, OutsideWindow::Early)
    ));
    let verdict = copy.verdict_json(&copy.decide(&early, now));
    assert_eq!(verdict["result"], "not-valid-now");
    assert!(
        verdict["message"]
            .as_str()
            .unwrap()
            .starts_with("Not valid yet: from "),
        "{verdict}"
    );
    assert!(verdict["validFrom"].is_string());
    let past = Window {
        from: Millis(0),
        until: Some(Millis(now.0 - HOUR)),
    };
    let late = code(&key, &ticket(1), Some(SHOW), past);
    assert!(matches!(
        copy.decide(&late, now),
        Decision::NotValidNow(_, OutsideWindow::Late)
    ));

    // Refunded, and admitted earlier (by the node's reckoning), as the copy says.
    let refunded = copy.verdict_json(&copy.decide(&valid(3), now));
    assert_eq!(refunded["result"], "refunded");
    assert_eq!(refunded["seat"], "Floor 3");
    let again = copy.verdict_json(&copy.decide(&valid(2), now));
    assert_eq!(again["result"], "already-admitted");
    assert_eq!(
        again["message"],
        "Already admitted at 19:03:11 UTC at gate North"
    );
    assert_eq!(again["gate"], "North");
    // The copy has ticket 5 sold in another order: no sale of this pass on record.
    let stray = copy.verdict_json(&copy.decide(&valid(5), now));
    assert_eq!(stray["result"], "not-valid-now", "{stray}");

    // A valid ticket is admitted once; the second scan is refused as admitted by this scanner.
    let first = copy.decide(&valid(1), now);
    let Decision::Admit(pass, true) = &first else {
        panic!("{first:?}")
    };
    let admitted = copy.verdict_json(&first);
    assert_eq!(
        (admitted["result"].as_str(), admitted["seat"].as_str()),
        (Some("admitted"), Some("Floor 1"))
    );
    assert_eq!(admitted["title"], "Door night");
    copy.admit_here(pass, now, "West");
    let twice = copy.verdict_json(&copy.decide(&valid(1), now));
    assert_eq!(twice["result"], "already-admitted");
    assert!(
        twice["message"]
            .as_str()
            .unwrap()
            .ends_with("at gate West (by this scanner)"),
        "{twice}"
    );
    assert_eq!(copy.counts(), (4, 3));

    // A ticket sold after the copy was taken carries the venue's signature: admitted, counted.
    let newcomer = copy.decide(&valid(4), now);
    let Decision::Admit(pass, false) = &newcomer else {
        panic!("{newcomer:?}")
    };
    copy.admit_here(pass, now, "West");
    assert_eq!(copy.counts(), (5, 4));

    // A holder scanned out (re-entry) comes back in once, counted once.
    let back = copy.decide(&valid(7), now);
    let Decision::Readmit(pass) = &back else {
        panic!("{back:?}")
    };
    assert_eq!(
        copy.verdict_json(&back)["message"],
        "Admitted again (re-entry)"
    );
    copy.admit_here(pass, now, "West");
    let again = copy.verdict_json(&copy.decide(&valid(7), now));
    assert_eq!(again["result"], "already-admitted", "{again}");
    assert_eq!(copy.counts(), (5, 4));
}

/// A door open for the show at gate West, signed in on `node`.
async fn signed_in(node: &FakeNode) -> NodeClient {
    let client = NodeClient::new(&node.url()).unwrap();
    client
        .authenticate(false, "door@venue.test", "pw")
        .await
        .unwrap();
    client
}

fn queued(dir: &std::path::Path) -> Vec<Queued> {
    let text = std::fs::read_to_string(dir.join("queue.jsonl")).unwrap_or_default();
    text.lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_admissions_are_queued_durably_survive_a_restart_and_leave_only_once_sent() {
    let dir = tempfile::tempdir().unwrap();
    let files = dir.path().join("door");
    let mut node = FakeNode::start(copy_json()).await;
    let client = signed_in(&node).await;
    let now = Millis::from_system_time(std::time::SystemTime::now());
    let key = key();
    let valid = |n: u8| code(&key, &ticket(n), Some(SHOW), open_around(now));

    // Online: the copy is fetched and kept; a scan is the node's.
    let door = Door::new(files.clone());
    let status = door.open(&client, SHOW, " West ").await.unwrap();
    assert!(status.online);
    assert_eq!((status.sold, status.admitted, status.waiting), (4, 2, 0));
    assert!(files.join(format!("copy-{SHOW}.json")).exists());
    let answer = door.scan(&client, &valid(1)).await.unwrap();
    assert_eq!(answer.verdict["result"], "admitted");
    assert!(answer.verdict.get("local").is_none(), "{}", answer.verdict);
    assert_eq!(answer.status.admitted, 3);
    let sent = node.script.lock().unwrap().check_ins[0].clone();
    assert_eq!(sent["gate"], "West");
    assert_eq!(sent["showId"], SHOW);
    assert!(sent["scanId"].as_str().unwrap().len() <= 64);
    assert!(sent.get("scannedAt").is_none());

    // The node goes away: the scanner decides, and each admission is in the file at once.
    node.stop().await;
    let first = door.scan(&client, &valid(4)).await.unwrap();
    assert_eq!(first.verdict["result"], "admitted");
    assert_eq!(first.verdict["local"], true);
    assert!(!first.status.online);
    assert_eq!(first.status.waiting, 1);
    assert_eq!(queued(&files).len(), 1);
    let repeat = door.scan(&client, &valid(4)).await.unwrap();
    assert_eq!(repeat.verdict["result"], "already-admitted");
    let known = door.scan(&client, &valid(1)).await.unwrap();
    assert_eq!(
        known.verdict["result"], "already-admitted",
        "{}",
        known.verdict
    );
    let forged = door.scan(&client, "TIX2:AAAAAAAA").await.unwrap();
    assert_eq!(forged.verdict["result"], "forged");
    let second = door.scan(&client, &valid(6)).await.unwrap();
    assert_eq!(second.verdict["result"], "admitted");
    let on_file = queued(&files);
    assert_eq!(on_file.len(), 2);
    assert_eq!(on_file[0].code, valid(4));
    assert_eq!(
        (on_file[0].gate.as_str(), on_file[0].show_id.as_str()),
        ("West", SHOW)
    );
    assert!(Millis::parse_iso(&on_file[1].scanned_at).is_some());
    assert_ne!(on_file[0].scan_id, on_file[1].scan_id);
    drop(door);

    // The app starts again while the node is still away: the queue and what it knew are back.
    let door = Door::new(files.clone());
    assert_eq!(door.status().unwrap().waiting, 2);
    let reopened = door.open(&client, SHOW, "West").await.unwrap();
    assert!(!reopened.online);
    assert_eq!((reopened.sold, reopened.admitted), (6, 5));
    for n in [4, 1] {
        let again = door.scan(&client, &valid(n)).await.unwrap();
        assert_eq!(again.verdict["result"], "already-admitted", "ticket {n}");
    }

    // Back, but the node dies while answering the second entry: only the first leaves the file.
    {
        let mut script = node.script.lock().unwrap();
        script.answer = [true, false].into();
        script.check_ins.clear();
    }
    node.resume().await;
    let status = door.tick(&client).await.unwrap();
    assert!(!status.online);
    assert_eq!(status.waiting, 1);
    assert_eq!(queued(&files), on_file[1..]);

    // Meanwhile South had let ticket 6 in: the resent entry comes back as a conflict.
    node.script
        .lock()
        .unwrap()
        .admitted_elsewhere
        .insert(ticket(6));
    let status = door.tick(&client).await.unwrap();
    assert!(status.online, "{status:?}");
    assert_eq!(status.waiting, 0);
    assert!(queued(&files).is_empty());
    let check_ins = node.script.lock().unwrap().check_ins.clone();
    assert_eq!(check_ins.len(), 3, "{check_ins:?}");
    for (sent, entry) in check_ins
        .iter()
        .zip([&on_file[0], &on_file[1], &on_file[1]])
    {
        assert_eq!(sent["scanId"], entry.scan_id.as_str());
        assert_eq!(sent["scannedAt"], entry.scanned_at.as_str());
        assert_eq!(sent["code"], entry.code.as_str());
    }
    assert_eq!(status.conflicts.len(), 1, "{:?}", status.conflicts);
    let conflict = &status.conflicts[0];
    assert_eq!(conflict["ticketId"], ticket(6).as_str());
    assert_eq!(conflict["first"]["gate"], "South");
    assert_eq!(conflict["second"]["gate"], "West");
    assert_eq!(conflict["second"]["at"], on_file[1].scanned_at.as_str());
    // The copy fetched again (the stand-in's still has ticket 1 valid) keeps what was learned.
    assert_eq!((status.sold, status.admitted), (6, 5));
}

#[test]
fn gates_are_named_as_the_node_accepts_them() {
    assert_eq!(super::check_gate("  North ").unwrap(), "North");
    assert!(super::check_gate(" ").is_err());
    assert!(super::check_gate(&"x".repeat(41)).is_err());
    assert_eq!(
        super::check_gate(&"é".repeat(40)).unwrap().chars().count(),
        40
    );
}
