//! Bad input gets a 4xx in the contract's error shape, never a 5xx, and writes nothing.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use tix_tests::client::{Client, Node, NodeOptions, id};

use crate::NODE;

async fn last_seq(client: &Client) -> u64 {
    client.get("/healthz").await.body["events"]["lastSeq"]
        .as_u64()
        .unwrap()
}

#[track_caller]
fn assert_error_shape(status: StatusCode, body: &Value, context: &str) {
    assert!(status.is_client_error(), "{context}: {status}");
    let errors = body["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("{context}: no errors array in {body}"));
    assert!(
        !errors.is_empty() && errors.iter().all(|e| e["message"].is_string()),
        "{context}: {body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_requests_are_refused_cleanly_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(NODE, &dir, NodeOptions::default());
    let seller = node.client().user("seller@test.com").await;
    let ticket = seller.sell("Stable", json!(10)).await;
    let order = seller
        .post("/api/orders", json!({"ticketId": id(&ticket)}))
        .await
        .body;
    let before = last_seq(&seller).await;

    let huge = vec![b'x'; 2 * 1024 * 1024];
    let huge_json = format!("{{\"title\":\"{}\",\"price\":1}}", "a".repeat(100_000)).into_bytes();
    let cases: Vec<(Method, String, Option<Vec<u8>>)> = vec![
        (
            Method::POST,
            "/api/tickets".into(),
            Some(b"{not json".to_vec()),
        ),
        (
            Method::POST,
            "/api/tickets".into(),
            Some(vec![0xff, 0xfe, 0x00]),
        ),
        (Method::POST, "/api/tickets".into(), Some(huge.clone())),
        (Method::POST, "/api/tickets".into(), Some(huge_json)),
        (
            Method::POST,
            "/api/tickets".into(),
            Some(b"[1,2,3]".to_vec()),
        ),
        (
            Method::POST,
            "/api/tickets".into(),
            Some(br#"{"title":5,"price":{"a":1}}"#.to_vec()),
        ),
        (
            Method::POST,
            "/api/tickets".into(),
            Some(br#"{"title":"t","price":1e400}"#.to_vec()),
        ),
        (
            Method::POST,
            "/api/tickets".into(),
            Some(br#"{"title":"t","price":"1e999"}"#.to_vec()),
        ),
        (
            Method::POST,
            "/api/tickets".into(),
            Some(format!(r#"{{"title":"{}","price":1}}"#, "x".repeat(201)).into_bytes()),
        ),
        (
            Method::POST,
            "/api/tickets".into(),
            Some(br#"{"title":"t","price":10000000}"#.to_vec()),
        ),
        (
            Method::PUT,
            format!("/api/tickets/{}", id(&ticket)),
            Some(br#"{"title":["x"],"price":"ten"}"#.to_vec()),
        ),
        (
            Method::PUT,
            "/api/tickets/../../etc/passwd".into(),
            Some(br#"{"title":"x","price":1}"#.to_vec()),
        ),
        (
            Method::PUT,
            "/api/tickets/%00%ff".into(),
            Some(br#"{"title":"x","price":1}"#.to_vec()),
        ),
        (
            Method::GET,
            "/api/tickets/5f8d0d55b54764421b7156c9zz".into(),
            None,
        ),
        (Method::GET, "/api/tickets/ＡＢＣ".into(), None),
        (
            Method::POST,
            "/api/orders".into(),
            Some(br#"{"ticketId":{"$gt":""}}"#.to_vec()),
        ),
        (
            Method::POST,
            "/api/orders".into(),
            Some(br#"{"ticketId":["5f8d0d55b54764421b7156c9"]}"#.to_vec()),
        ),
        (Method::POST, "/api/orders".into(), Some(huge)),
        (
            Method::DELETE,
            "/api/orders/'; DROP TABLE orders;--".into(),
            None,
        ),
        (
            Method::POST,
            "/api/payments".into(),
            Some(br#"{"token":123,"orderId":true}"#.to_vec()),
        ),
        (
            Method::POST,
            "/api/payments".into(),
            Some(
                format!(
                    r#"{{"token":"{}","orderId":"{}"}}"#,
                    "t".repeat(300),
                    id(&order)
                )
                .into_bytes(),
            ),
        ),
        (
            Method::POST,
            "/api/users/signup".into(),
            Some(br#"{"email":["a@b.com"],"password":1234}"#.to_vec()),
        ),
        (
            Method::POST,
            "/api/users/signup".into(),
            Some(
                format!(
                    r#"{{"email":"{}@x.com","password":"pass"}}"#,
                    "a".repeat(300)
                )
                .into_bytes(),
            ),
        ),
        (
            Method::POST,
            "/api/users/signin".into(),
            Some(b"\"just a string\"".to_vec()),
        ),
        (Method::GET, "/api/nothing/here".into(), None),
        (Method::POST, "/api/users/currentuser".into(), None),
        (Method::PATCH, "/api/tickets".into(), None),
        (Method::DELETE, "/api/tickets".into(), None),
        (Method::GET, "/no/such/route".into(), None),
    ];
    for (method, path, body) in cases {
        let context = format!("{method} {path}");
        let reply = seller.send(method, &path, body).await;
        assert_error_shape(reply.status, &reply.body, &context);
    }
    let unknown = seller.get("/api/nothing/here").await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(unknown.body, json!({"errors": [{"message": "Not Found"}]}));
    let wrong_method = seller
        .send(Method::POST, "/api/users/currentuser", None)
        .await;
    assert_eq!(wrong_method.status, StatusCode::NOT_FOUND);

    assert_eq!(last_seq(&seller).await, before, "nothing was written");
    let still = node
        .client()
        .get(&format!("/api/tickets/{}", id(&ticket)))
        .await
        .body;
    assert_eq!(still["title"], "Stable");
}

#[tokio::test]
async fn tampered_or_forged_cookies_are_anonymous() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(NODE, &dir, NodeOptions::default());
    let mut user = node.client();
    user.sign_up("real@test.com").await;
    let before = last_seq(&user).await;
    // A forged token signed with another key, a cookie with no JWT, and plain garbage.
    let forged_jwt = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpZCI6IjVmOGQwZDU1YjU0NzY0NDIxYjcxNTZjOSIsImVtYWlsIjoieEB5LmNvbSIsImlhdCI6MSwiZXhwIjo5OTk5OTk5OTk5fQ.c2lnbmF0dXJl";
    let forged = base64_json(&format!(r#"{{"jwt":"{forged_jwt}"}}"#));
    for cookie in [
        format!("session={forged}"),
        "session=e30=".into(),
        "session=!!!".into(),
        "session=".into(),
    ] {
        let client = Client::new(&node.url("")).with_cookie(Some(cookie.clone()));
        assert_eq!(
            client.get("/api/users/currentuser").await.body,
            json!({"currentUser": null}),
            "{cookie}"
        );
        let reply = client
            .post("/api/tickets", json!({"title": "x", "price": 1}))
            .await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{cookie}");
    }
    assert_eq!(last_seq(&user).await, before);
}

fn base64_json(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_is_not_sent_as_json_is_no_body() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(NODE, &dir, NodeOptions::default());
    let http = reqwest::Client::new();
    let body = r#"{"email":"plain@test.com","password":"password"}"#;
    // A form on another site can send this without a preflight; the API must not act on it.
    for content_type in [
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some("multipart/form-data; boundary=x"),
        None,
    ] {
        let mut request = http
            .post(node.url("/api/users/signup"))
            .body(body.to_owned());
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        let reply = request.send().await.unwrap();
        let status = reply.status();
        let answer: Value = reply.json().await.unwrap();
        assert_eq!(
            status,
            StatusCode::BAD_REQUEST,
            "{content_type:?}: {answer}"
        );
        assert_eq!(
            answer,
            json!({"errors": [
                {"message": "Email must be valid", "field": "email"},
                {"message": "Password must be between 4 and 20 characters", "field": "password"},
            ]}),
            "{content_type:?}: validated as an empty body"
        );
    }
    for content_type in [
        "application/json",
        "application/json; charset=utf-8",
        "application/merge-patch+json",
    ] {
        let reply = http
            .post(node.url("/api/users/signup"))
            .header("content-type", content_type)
            .body(body.replace("plain@", &format!("{}@", content_type.len())))
            .send()
            .await
            .unwrap();
        assert_eq!(reply.status(), StatusCode::CREATED, "{content_type}");
    }
}
