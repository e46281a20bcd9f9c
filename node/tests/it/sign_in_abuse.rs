//! Sign-in and sign-up under abuse: guessing one account's password is cut off with a 429 (the
//! contract's error shape, `Retry-After`), on the JSON API and the storefront alike, while other
//! accounts still sign in; a burst bigger than the hashing queue gets 503s with `Retry-After`
//! rather than waiting without bound.

use reqwest::StatusCode;
use reqwest::header::RETRY_AFTER;
use serde_json::{Value, json};

use tix_tests::client::{Node, NodeOptions, only_message};

use crate::NODE;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guessing_one_accounts_password_is_cut_off_with_a_429() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(NODE, &dir, NodeOptions::default());
    node.client().user("victim@test.com").await;
    node.client().user("bystander@test.com").await;
    let guesser = node.client();
    let mut answers = Vec::new();
    for n in 0..20 {
        let reply = guesser
            .post(
                "/api/users/signin",
                json!({ "email": "victim@test.com", "password": format!("guess{n}") }),
            )
            .await;
        answers.push(reply);
    }
    let statuses: Vec<u16> = answers.iter().map(|r| r.status.as_u16()).collect();
    let first_429 = answers
        .iter()
        .position(|r| r.status == StatusCode::TOO_MANY_REQUESTS)
        .unwrap_or_else(|| panic!("20 wrong guesses for one account, no 429: {statuses:?}"));
    assert!(
        first_429 > 0,
        "the first guesses are answered: {statuses:?}"
    );
    for reply in &answers[..first_429] {
        assert_eq!(reply.status, StatusCode::BAD_REQUEST);
        assert_eq!(only_message(reply), "Invalid Credentials");
    }
    for reply in &answers[first_429..] {
        assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS, "{statuses:?}");
        assert_eq!(
            only_message(reply),
            "Too many requests; please try again later"
        );
    }
    // Even the right password waits now; another account does not.
    let right = guesser
        .post(
            "/api/users/signin",
            json!({ "email": "victim@test.com", "password": "password" }),
        )
        .await;
    assert_eq!(right.status, StatusCode::TOO_MANY_REQUESTS);
    let other = guesser
        .post(
            "/api/users/signin",
            json!({ "email": "bystander@test.com", "password": "password" }),
        )
        .await;
    assert_eq!(other.status, StatusCode::OK, "{}", other.text);

    // The storefront's form is limited by the same count, and says so beside the form.
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let first = http.get(node.url("/")).send().await.unwrap();
    let csrf = first.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let token = csrf.trim_start_matches("tix_csrf=").to_owned();
    let mut form = url::form_urlencoded::Serializer::new(String::new());
    form.append_pair("_csrf", &token)
        .append_pair("email", "victim@test.com")
        .append_pair("password", "password");
    let page = http
        .post(node.url("/auth/signin"))
        .header("cookie", &csrf)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form.finish())
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(page.headers().contains_key(RETRY_AFTER));
    let html = page.text().await.unwrap();
    assert!(
        html.contains("Too many requests; please try again later"),
        "{html}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_beyond_the_hashing_queue_is_told_to_retry() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(
        NODE,
        &dir,
        NodeOptions {
            env: vec![("TIX_PASSWORD_QUEUE".into(), "1".into())],
            ..NodeOptions::default()
        },
    );
    let http = reqwest::Client::new();
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..16 {
        let request = http
            .post(node.url("/api/users/signup"))
            .header("content-type", "application/json")
            .body(
                json!({ "email": format!("burst{n}@test.com"), "password": "password" })
                    .to_string(),
            );
        tasks.spawn(async move {
            let response = request.send().await.expect("an answer");
            let retry_after = response.headers().get(RETRY_AFTER).cloned();
            (
                response.status(),
                retry_after,
                response.json::<Value>().await.unwrap(),
            )
        });
    }
    let answers = tasks.join_all().await;
    let statuses: Vec<u16> = answers.iter().map(|(s, _, _)| s.as_u16()).collect();
    assert!(
        answers.iter().any(|(s, _, _)| *s == StatusCode::CREATED),
        "{statuses:?}"
    );
    let busy: Vec<_> = answers
        .iter()
        .filter(|(s, _, _)| *s == StatusCode::SERVICE_UNAVAILABLE)
        .collect();
    assert!(
        !busy.is_empty(),
        "16 sign-ups at once with a queue of one, none refused: {statuses:?}"
    );
    for (_, retry_after, body) in busy {
        assert!(retry_after.is_some(), "a Retry-After header");
        assert_eq!(
            body,
            &json!({ "errors": [{ "message": "The node is busy; please try again shortly" }] })
        );
    }
    assert!(
        answers
            .iter()
            .all(|(s, _, _)| *s == StatusCode::CREATED || *s == StatusCode::SERVICE_UNAVAILABLE),
        "{statuses:?}"
    );
}
