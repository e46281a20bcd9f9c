//! The storefront over plain HTTP: what a browser cannot easily show a test (headers, cookies,
//! refused forgeries, escaping, what a kiosk leaves out). The journeys themselves run in Chromium
//! (`tests/browser`).

use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, LOCATION, SET_COOKIE};
use serde_json::json;

use tix_tests::client::{Node, NodeOptions, id};

use crate::NODE;
use crate::visitor::Visitor;

#[tokio::test]
async fn forms_without_the_visitors_token_or_from_another_site_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(NODE, &dir, NodeOptions::default());
    let mut visitor = Visitor::arrive(&node.url("")).await;
    visitor.sign_up("seller@example.com").await;
    let fields = [("title", "Forged"), ("price", "5")];

    let missing = visitor.post("/tickets/new", &fields, Some(""), None).await;
    assert_eq!(missing.status, StatusCode::FORBIDDEN);
    assert!(missing.html.contains("This form has expired"));
    let wrong = visitor
        .post("/tickets/new", &fields, Some(&"0".repeat(32)), None)
        .await;
    assert_eq!(wrong.status, StatusCode::FORBIDDEN);
    let foreign = visitor
        .post("/tickets/new", &fields, None, Some("http://evil.example"))
        .await;
    assert_eq!(foreign.status, StatusCode::FORBIDDEN);
    assert_eq!(
        node.client().get("/api/tickets").await.body,
        json!([]),
        "nothing was listed by a refused form"
    );

    let same_site = visitor
        .post("/tickets/new", &fields, None, Some(&node.url("")))
        .await;
    assert_eq!(same_site.status, StatusCode::SEE_OTHER);
    assert!(
        same_site.headers[LOCATION]
            .to_str()
            .unwrap()
            .starts_with("/tickets/")
    );
}

#[tokio::test]
async fn pages_send_a_strict_content_security_policy_and_escape_what_users_typed() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(NODE, &dir, NodeOptions::default());
    let mut visitor = Visitor::arrive(&node.url("")).await;
    visitor.sign_up("seller@example.com").await;
    let nasty = r#"<script>alert("x")</script> & "Quotes""#;
    let listed = visitor
        .post(
            "/tickets/new",
            &[("title", nasty), ("price", "5"), ("seat", "<b>A1</b>")],
            None,
            None,
        )
        .await;
    let path = listed.headers[LOCATION].to_str().unwrap().to_owned();

    for path in ["/tickets", path.as_str(), "/my/tickets"] {
        let page = visitor.get(path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}");
        let policy = page.headers["content-security-policy"].to_str().unwrap();
        assert!(policy.contains("script-src 'self';"), "{policy}");
        assert!(!policy.contains("unsafe-inline"), "{policy}");
        assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
        assert_eq!(page.headers["x-content-type-options"], "nosniff");
        assert!(!page.html.contains("<script>alert"), "{path} echoes markup");
        assert!(page.html.contains("&#60;script&#62;alert("), "{path}");
        assert!(!page.html.contains("<b>A1</b>"), "{path}");
        // Our own script is the only one, and it is external.
        assert_eq!(page.html.matches("<script").count(), 1, "{path}");
    }
}

#[tokio::test]
async fn problems_are_shown_beside_their_fields_with_the_apis_messages() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(NODE, &dir, NodeOptions::default());
    let visitor = Visitor::arrive(&node.url("")).await;
    let page = visitor
        .post(
            "/auth/signup",
            &[("email", "not-an-email"), ("password", "ab")],
            None,
            None,
        )
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(
        page.html
            .contains(r#"id="email-error">Email must be valid<"#)
    );
    assert!(
        page.html
            .contains(r#"id="password-error">Password must be between 4 and 20 characters<"#)
    );
    assert!(
        page.html
            .contains(r#"aria-invalid="true" aria-describedby="email-error""#)
    );
    assert!(page.html.contains(r#"value="not-an-email""#), "kept");

    let wrong = visitor
        .post(
            "/auth/signin",
            &[("email", "nobody@example.com"), ("password", "secret1")],
            None,
            None,
        )
        .await;
    assert!(wrong.html.contains("Invalid credentials"));
}

#[tokio::test]
async fn signed_out_visitors_are_sent_to_sign_in_and_back_but_never_to_another_site() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(NODE, &dir, NodeOptions::default());
    let seller = node.client().user("seller@example.com").await;
    let ticket = seller.sell("Door Sale", json!(3)).await;
    let mut visitor = Visitor::arrive(&node.url("")).await;
    for path in ["/orders", "/tickets/new", "/my/tickets"] {
        let page = visitor.get(path).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{path}");
        let to = page.headers[LOCATION].to_str().unwrap();
        assert!(to.starts_with("/auth/signin?next=%2F"), "{to}");
    }
    let buy = visitor
        .post(&format!("/tickets/{}/buy", id(&ticket)), &[], None, None)
        .await;
    assert_eq!(
        buy.headers[LOCATION].to_str().unwrap(),
        format!("/auth/signin?next=/tickets/{}", id(&ticket))
    );
    let page = visitor
        .post(
            "/auth/signup",
            &[
                ("email", "buyer@example.com"),
                ("password", "secret1"),
                ("next", "//evil.example/phish"),
            ],
            None,
            None,
        )
        .await;
    assert_eq!(page.headers[LOCATION], "/");
    visitor.session = Some(
        page.headers[SET_COOKIE]
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_owned(),
    );
    // Someone else's order is not found, not shown.
    let bought = visitor
        .post(&format!("/tickets/{}/buy", id(&ticket)), &[], None, None)
        .await;
    let order_path = bought.headers[LOCATION].to_str().unwrap().to_owned();
    assert_eq!(visitor.get(&order_path).await.status, StatusCode::OK);
    let mut stranger = Visitor::arrive(&node.url("")).await;
    stranger.sign_up("stranger@example.com").await;
    assert_eq!(
        stranger.get(&order_path).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn unknown_paths_are_an_html_page_for_browsers_and_json_for_api_clients() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(NODE, &dir, NodeOptions::default());
    let visitor = Visitor::arrive(&node.url("")).await;
    let page = visitor.get("/no/such/page").await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert!(page.html.contains("<title>Page not found · Tix</title>"));
    for path in ["/api/nothing", "/no/such/page"] {
        let api = node.client().get(path).await;
        assert_eq!(api.status, StatusCode::NOT_FOUND);
        assert_eq!(api.body, json!({"errors": [{"message": "Not Found"}]}));
    }
    let html_under_api = visitor.get("/api/nothing").await;
    assert_eq!(html_under_api.headers[CONTENT_TYPE], "application/json");
}

#[tokio::test]
async fn a_kiosk_serves_only_the_pages_buying_needs() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(
        NODE,
        &dir,
        NodeOptions {
            env: vec![("TIX_KIOSK".into(), "1".into())],
            ..Default::default()
        },
    );
    let mut visitor = Visitor::arrive(&node.url("")).await;
    visitor.sign_up("walk-in@example.com").await;
    for path in ["/tickets/new", "/my/tickets"] {
        assert_eq!(
            visitor.get(path).await.status,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    let home = visitor.get("/").await;
    assert!(
        home.html
            .contains(r#"<body class="kiosk" data-idle-seconds="60">"#)
    );
    assert!(!home.html.contains("Sell tickets"));
    assert!(home.html.contains("My orders"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_visitor_finds_a_show_on_whats_on_and_takes_the_best_seats_with_a_form() {
    let dir = tempfile::tempdir().unwrap();
    let node = crate::standalone(&dir);
    let staff = node.client().user("staff@test.com").await;
    let seats: Vec<_> = (1..=10)
        .map(|n| json!({"name": n.to_string(), "category": "Stalls", "x": n, "y": 0}))
        .collect();
    let show = staff
        .post(
            "/api/shows",
            json!({"title": "Friday <Jazz>", "startsAt": "2030-12-06T20:00:00Z", "hall": "Main hall",
                   "categories": [{"name": "Standing", "price": "20.00"}, {"name": "Stalls", "price": "30.00"}],
                   "areas": [{"name": "Floor", "category": "Standing", "capacity": 50}],
                   "seatMap": {"sections": [{"name": "Stalls", "rows": [{"name": "A", "seats": seats}]}]}}),
        )
        .await;
    assert_eq!(show.status, StatusCode::CREATED, "{}", show.text);
    let show_id = id(&show.body);

    let mut visitor = Visitor::arrive(&node.url("")).await;
    let whats_on = visitor.get("/shows").await;
    assert_eq!(whats_on.status, StatusCode::OK);
    assert!(
        whats_on.html.contains(&format!(
            "href=\"/shows/{show_id}\">Friday &#60;Jazz&#62;</a>"
        )),
        "{}",
        whats_on.html
    );
    assert!(
        whats_on.html.contains("$20.00") && whats_on.html.contains("Available"),
        "{}",
        whats_on.html
    );
    let page = visitor.get(&format!("/shows/{show_id}")).await;
    assert!(
        page.html.contains("Stalls: $30.00") && page.html.contains("Sign in to buy"),
        "{}",
        page.html
    );

    visitor.sign_up("buyer@test.com").await;
    let path = format!("/shows/{show_id}/order");
    let ordered = visitor
        .post(
            &path,
            &[("category", "Stalls"), ("quantity", "3")],
            None,
            None,
        )
        .await;
    assert_eq!(ordered.status, StatusCode::SEE_OTHER, "{}", ordered.html);
    let location = ordered.headers[LOCATION].to_str().unwrap().to_owned();
    let order = visitor.get(&location).await;
    assert!(
        order.html.contains("$90.00 for 3 tickets"),
        "{}",
        order.html
    );
    for seat in [
        "Stalls row A seat 1",
        "Stalls row A seat 2",
        "Stalls row A seat 3",
    ] {
        assert!(order.html.contains(seat), "{seat} is not on {}", order.html);
    }
    // Asking for more than an order may hold is answered on the show's page, beside the form.
    let refused = visitor
        .post(
            &path,
            &[("category", "Standing"), ("quantity", "11")],
            None,
            None,
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(
        refused
            .html
            .contains("An order holds from 1 to 10 tickets of this show"),
        "{}",
        refused.html
    );
    let now = visitor.get(&format!("/shows/{show_id}")).await;
    assert!(
        now.html.contains("Few left") || now.html.contains("Available"),
        "{}",
        now.html
    );
}
