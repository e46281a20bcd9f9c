//! A member chooses a new password with a one-time code: emailed through the SMTP relay (a relay
//! in the test that speaks SMTP), or given out by the box office. A code works once, for its
//! account only; the answer to a request does not say whether an address has an account.

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::LOCATION;
use serde_json::json;

use tix_tests::SmtpServer;
use tix_tests::client::{Client, Node, NodeOptions, only_message};

use crate::NODE;
use crate::visitor::Visitor;

const BAD_CODE: &str = "That code is wrong or has expired: ask for a new one";

/// The code in a reset email.
fn code_in(mail: &str) -> String {
    let line = mail
        .lines()
        .find_map(|l| l.trim().strip_prefix("Your code: "))
        .unwrap_or_else(|| panic!("no code in {mail}"));
    line.trim().to_owned()
}

async fn sign_in(client: &Client, email: &str, password: &str) -> StatusCode {
    client
        .post(
            "/api/users/signin",
            json!({ "email": email, "password": password }),
        )
        .await
        .status
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_code_emailed_or_given_by_the_box_office_sets_a_new_password_once() {
    let relay = SmtpServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(
        NODE,
        &dir,
        NodeOptions {
            env: vec![
                ("TIX_FIRST_USER_IS_STAFF".into(), "1".into()),
                ("TIX_SMTP_URL".into(), relay.url.clone()),
                (
                    "TIX_MAIL_FROM".into(),
                    "Tickets <tickets@venue.test>".into(),
                ),
                // Requests, confirmations and sign-ins all count against the account; this test
                // makes more than the default 5 a minute (that limit is `sign_in_abuse`'s test).
                ("TIX_SIGN_IN_ATTEMPTS_PER_ACCOUNT".into(), "100".into()),
            ],
            ..Default::default()
        },
    );
    let anyone = node.client();
    let staff = anyone.user("staff@test.com").await;
    let member = anyone.user("member@test.com").await;

    // Asked for a member and for an address with no account: the same answer, one email.
    for email in ["member@test.com", "nobody@test.com"] {
        let asked = anyone
            .post("/api/users/password-reset", json!({ "email": email }))
            .await;
        assert_eq!(
            (asked.status, asked.body.clone()),
            (StatusCode::ACCEPTED, json!({})),
            "{email}"
        );
    }
    let mails = relay.wait_for(1, Duration::from_secs(10)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(relay.mails().len(), 1, "only the member is emailed");
    assert_eq!(mails[0].to, ["member@test.com"]);
    let code = code_in(&mails[0].data);

    let confirm = |code: String, password: &'static str| {
        let anyone = anyone.clone();
        async move {
            anyone
                .post(
                    "/api/users/password-reset/confirm",
                    json!({ "email": "member@test.com", "code": code, "password": password }),
                )
                .await
        }
    };
    let wrong = confirm("AAAA-AAAA-AAAA-AAAA".into(), "newpass").await;
    assert_eq!(wrong.status, StatusCode::BAD_REQUEST);
    assert_eq!(only_message(&wrong), BAD_CODE);
    let set = confirm(code.clone(), "newpass").await;
    assert_eq!(set.status, StatusCode::OK, "{}", set.text);
    assert_eq!(set.body["email"], "member@test.com");
    assert!(set.set_cookie.is_some(), "signed in");
    assert_eq!(
        sign_in(&member, "member@test.com", "password").await,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        sign_in(&member, "member@test.com", "newpass").await,
        StatusCode::OK
    );
    let again = confirm(code, "other").await;
    assert_eq!(only_message(&again), BAD_CODE, "a code works once");

    // At the counter: staff only, for a member; the code typed in lower case without dashes.
    let refused = member
        .post(
            "/api/box-office/password-reset",
            json!({ "email": "member@test.com" }),
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    let unknown = staff
        .post(
            "/api/box-office/password-reset",
            json!({ "email": "nobody@test.com" }),
        )
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let given = staff
        .post(
            "/api/box-office/password-reset",
            json!({ "email": "member@test.com" }),
        )
        .await;
    assert_eq!(given.status, StatusCode::OK, "{}", given.text);
    assert_eq!(given.body["validMinutes"], 30);
    let typed = given.body["code"]
        .as_str()
        .unwrap()
        .replace('-', "")
        .to_lowercase();
    assert_eq!(confirm(typed, "thirdpass").await.status, StatusCode::OK);
    assert_eq!(
        sign_in(&member, "member@test.com", "thirdpass").await,
        StatusCode::OK
    );

    // The storefront: the sign-in page links to the reset, which emails a code and takes it.
    let mut visitor = Visitor::arrive(&node.url("")).await;
    assert!(
        visitor
            .get("/auth/signin")
            .await
            .html
            .contains("href=\"/auth/reset\"")
    );
    let asked = visitor
        .post("/auth/reset", &[("email", "member@test.com")], None, None)
        .await;
    assert_eq!(asked.status, StatusCode::SEE_OTHER, "{}", asked.html);
    let next = asked.headers[LOCATION].to_str().unwrap().to_owned();
    assert!(
        visitor
            .get(&next)
            .await
            .html
            .contains("a code is on its way")
    );
    let mails = relay.wait_for(2, Duration::from_secs(10)).await;
    let code = code_in(&mails[1].data);
    let wrong = visitor
        .post(
            "/auth/reset/confirm",
            &[
                ("email", "member@test.com"),
                ("code", "nope"),
                ("password", "fourth"),
            ],
            None,
            None,
        )
        .await;
    assert_eq!(wrong.status, StatusCode::BAD_REQUEST);
    assert!(
        wrong.html.contains("wrong or has expired"),
        "{}",
        wrong.html
    );
    let set = visitor
        .post(
            "/auth/reset/confirm",
            &[
                ("email", "member@test.com"),
                ("code", &code),
                ("password", "fourth"),
            ],
            None,
            None,
        )
        .await;
    assert_eq!(set.status, StatusCode::SEE_OTHER, "{}", set.html);
    visitor.keep_session(&set);
    assert!(
        visitor.get("/").await.html.contains("member@test.com"),
        "signed in"
    );
    assert_eq!(
        sign_in(&member, "member@test.com", "fourth").await,
        StatusCode::OK
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_mail_relay_a_request_says_to_ask_the_box_office() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(NODE, &dir, NodeOptions::default());
    let asked = node
        .client()
        .post(
            "/api/users/password-reset",
            json!({ "email": "member@test.com" }),
        )
        .await;
    assert_eq!(asked.status, StatusCode::BAD_REQUEST);
    assert!(
        only_message(&asked).contains("box office"),
        "{}",
        asked.text
    );
}
