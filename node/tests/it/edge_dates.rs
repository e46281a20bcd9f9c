//! Input at the edges of the calendar: the day's takings for the last day the node can write is a
//! 400 in the contract's error shape, never a reset connection.

use reqwest::StatusCode;
use reqwest::header::COOKIE;
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_summary_for_the_end_of_the_calendar_is_a_clear_400() {
    let dir = tempfile::tempdir().unwrap();
    let node = crate::standalone(&dir);
    let staff = node.client().user("staff@test.com").await;
    let cookie = staff.cookie.clone().unwrap();
    let http = reqwest::Client::new();
    for date in ["9999-12-31", "0000-01-01", "1969-12-31"] {
        let response = http
            .get(node.url(&format!("/api/box-office/summary?date={date}")))
            .header(COOKIE, &cookie)
            .send()
            .await
            .unwrap_or_else(|e| panic!("date={date}: no answer: {e:?}"));
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "date={date}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(
            body["errors"][0]["message"], "Date must be YYYY-MM-DD",
            "date={date}: {body}"
        );
    }
    // The last day whose end can be written is answered; the node is still serving.
    let last = staff.get("/api/box-office/summary?date=9999-12-30").await;
    assert_eq!(last.status, StatusCode::OK, "{}", last.text);
    assert_eq!(last.body["to"], "9999-12-31T00:00:00.000Z");
    assert_eq!(
        staff
            .get("/api/box-office/summary?date=2026-01-01")
            .await
            .status,
        StatusCode::OK
    );
}
