//! `/api/users/*` route by route: signup, signin, signout, currentuser, and the session cookie.

use reqwest::StatusCode;
use serde_json::json;

use tix_tests::client::{Node, NodeOptions, only_message};

use crate::NODE;

#[tokio::test]
async fn signup_answers_201_with_the_user_and_sets_the_session_cookie() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(NODE, &dir, NodeOptions::default());
    let client = node.client();
    let reply = client
        .post(
            "/api/users/signup",
            json!({"email": "test@test.com", "password": "password"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED);
    assert_eq!(reply.body["email"], "test@test.com");
    assert_eq!(reply.body["id"].as_str().unwrap().len(), 24);
    assert_eq!(
        reply.body.as_object().unwrap().len(),
        2,
        "only email and id: {}",
        reply.text
    );
    let cookie = reply.set_cookie.unwrap();
    assert!(cookie.starts_with("session="), "{cookie}");
    assert!(
        cookie.ends_with("; path=/; httponly; samesite=lax"),
        "{cookie}"
    );
}

#[tokio::test]
async fn signup_validates_email_and_password_with_the_seed_messages() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(NODE, &dir, NodeOptions::default());
    let client = node.client();
    let reply = client
        .post(
            "/api/users/signup",
            json!({"email": "not-an-email", "password": "pw"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        reply.body,
        json!({"errors": [
            {"message": "Email must be valid", "field": "email"},
            {"message": "Password must be between 4 and 20 characters", "field": "password"},
        ]})
    );
    let long = client
        .post(
            "/api/users/signup",
            json!({"email": "a@b.com", "password": "p".repeat(21)}),
        )
        .await;
    assert_eq!(long.status, StatusCode::BAD_REQUEST);
    assert_eq!(long.body["errors"][0]["field"], "password");
    let missing = client.post("/api/users/signup", json!({})).await;
    assert_eq!(missing.body["errors"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn an_email_can_sign_up_once() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(NODE, &dir, NodeOptions::default());
    let client = node.client();
    client.user("dup@test.com").await;
    let again = client
        .post(
            "/api/users/signup",
            json!({"email": "dup@test.com", "password": "other"}),
        )
        .await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST);
    assert_eq!(only_message(&again), "Email in use");
    assert!(again.body["errors"][0].get("field").is_none());
    // Exact, case-sensitive match, as the seed.
    client.user("Dup@test.com").await;
}

#[tokio::test]
async fn signin_checks_credentials_and_trims_the_password() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(NODE, &dir, NodeOptions::default());
    let client = node.client();
    let signup = client
        .post(
            "/api/users/signup",
            json!({"email": "in@test.com", "password": "  secret  "}),
        )
        .await;
    assert_eq!(signup.status, StatusCode::CREATED);

    let ok = client
        .post(
            "/api/users/signin",
            json!({"email": "in@test.com", "password": "secret"}),
        )
        .await;
    assert_eq!(ok.status, StatusCode::OK);
    assert_eq!(ok.body["email"], "in@test.com");
    assert_eq!(ok.body["id"], signup.body["id"]);
    assert!(ok.set_cookie.unwrap().starts_with("session="));

    let unknown = client
        .post(
            "/api/users/signin",
            json!({"email": "nobody@test.com", "password": "secret"}),
        )
        .await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
    assert_eq!(only_message(&unknown), "Invalid credentials");

    let wrong = client
        .post(
            "/api/users/signin",
            json!({"email": "in@test.com", "password": "wrong"}),
        )
        .await;
    assert_eq!(wrong.status, StatusCode::BAD_REQUEST);
    assert_eq!(only_message(&wrong), "Invalid Credentials");
    assert!(wrong.set_cookie.is_none());

    let empty = client
        .post(
            "/api/users/signin",
            json!({"email": "in@test.com", "password": "   "}),
        )
        .await;
    assert_eq!(empty.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        empty.body,
        json!({"errors": [{"message": "You must supply a password", "field": "password"}]})
    );
}

#[tokio::test]
async fn signout_clears_the_cookie_exactly_as_the_seed_does() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(NODE, &dir, NodeOptions::default());
    let client = node.client().user("out@test.com").await;
    let reply = client.post("/api/users/signout", json!({})).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body, json!({}));
    assert_eq!(
        reply.set_cookie.unwrap(),
        "session=; path=/; expires=Thu, 01 Jan 1970 00:00:00 GMT; httponly; samesite=lax"
    );
}

#[tokio::test]
async fn currentuser_shows_the_session_or_null() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(NODE, &dir, NodeOptions::default());
    let anonymous = node.client();
    let reply = anonymous.get("/api/users/currentuser").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body, json!({"currentUser": null}));

    let mut user = node.client();
    let me = user.sign_up("me@test.com").await;
    let reply = user.get("/api/users/currentuser").await;
    let current = reply.body["currentUser"].as_object().unwrap();
    assert_eq!(current["email"], "me@test.com");
    assert_eq!(current["id"], me["id"]);
    assert!(current["iat"].as_u64().unwrap() > 1_600_000_000);
    assert_eq!(current.len(), 3, "id, email and iat only: {}", reply.text);

    // A tampered cookie is no session at all.
    let mut tampered = user.clone();
    let cookie = tampered.cookie.take().unwrap();
    let flipped = if cookie.ends_with('A') {
        format!("{}B", &cookie[..cookie.len() - 1])
    } else {
        format!("{}A", &cookie[..cookie.len() - 1])
    };
    tampered.cookie = Some(flipped);
    assert_eq!(
        tampered.get("/api/users/currentuser").await.body,
        json!({"currentUser": null})
    );
    tampered.cookie = Some("session=bm90IGpzb24=".into());
    assert_eq!(
        tampered.get("/api/users/currentuser").await.body,
        json!({"currentUser": null})
    );
}

#[tokio::test]
async fn the_cookie_is_secure_behind_a_tls_proxy() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(NODE, &dir, NodeOptions::default());
    let response = reqwest::Client::new()
        .post(node.url("/api/users/signup"))
        .header("x-forwarded-proto", "https")
        .json(&json!({"email": "tls@test.com", "password": "password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let cookie = response.headers()["set-cookie"].to_str().unwrap();
    assert!(
        cookie.ends_with("; path=/; secure; httponly; samesite=lax"),
        "{cookie}"
    );
}

#[tokio::test]
async fn the_session_secret_is_generated_once_with_owner_only_permissions() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(NODE, &dir, NodeOptions::default());
    let mut client = node.client();
    client.sign_up("keep@test.com").await;
    let secret = dir.path().join("jwt-secret");
    assert_eq!(
        std::fs::metadata(&secret).unwrap().permissions().mode() & 0o777,
        0o600
    );
    node.terminate();
    // The same secret after a restart: the session still holds.
    let node = Node::start(NODE, &dir, NodeOptions::default());
    let again = tix_tests::client::Client::new(&node.url("")).with_cookie(client.cookie.clone());
    assert_eq!(
        again.get("/api/users/currentuser").await.body["currentUser"]["email"],
        "keep@test.com"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_out_ends_the_session_for_a_copied_cookie_too() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(NODE, &dir, NodeOptions::default());
    let mut user = node.client();
    user.sign_up("leaver@test.com").await;
    let copied = user.clone();
    let other_device = node.client().user("leaver2@test.com").await;
    assert_eq!(
        copied.get("/api/users/currentuser").await.body["currentUser"]["email"],
        "leaver@test.com"
    );

    let out = user.post("/api/users/signout", json!({})).await;
    assert_eq!(out.status, StatusCode::OK);
    let after = copied.get("/api/users/currentuser").await;
    assert_eq!(
        after.body,
        json!({"currentUser": null}),
        "a cookie copied before the sign-out still works"
    );
    assert_eq!(
        copied
            .post("/api/tickets", json!({"title": "Gig", "price": 5}))
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        other_device.get("/api/users/currentuser").await.body["currentUser"]["email"],
        "leaver2@test.com",
        "another user's session is untouched"
    );
    // The end is written down: it holds across a restart.
    node.terminate();
    let node = Node::start(NODE, &dir, NodeOptions::default());
    let copied = copied.with_base(&node.url(""));
    assert_eq!(
        copied.get("/api/users/currentuser").await.body,
        json!({"currentUser": null})
    );
    // Signing in again starts a new session.
    let again = node
        .client()
        .post(
            "/api/users/signin",
            json!({"email": "leaver@test.com", "password": "password"}),
        )
        .await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.text);
}
