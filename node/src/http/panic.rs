//! A handler that panics is answered with the contract's 500 (`{"errors":[{"message":...}]}`)
//! and logged with its message, instead of the connection being reset under the client.
//!
//! Input should never reach a panic (every parser answers 400); this is the net under the ones
//! nobody found yet. tower-http's `CatchPanicLayer` catches the unwind; the answer is `ApiError`'s.

use std::any::Any;

use axum::response::{IntoResponse, Response};
use tower_http::catch_panic::CatchPanicLayer;

use crate::actions::ApiError;

/// What turns a caught panic into the answer.
pub type PanicAnswer = fn(Box<dyn Any + Send + 'static>) -> Response;

/// The layer the node's router wears outside every route.
pub fn catch_panics() -> CatchPanicLayer<PanicAnswer> {
    CatchPanicLayer::custom(answer as PanicAnswer)
}

fn answer(payload: Box<dyn Any + Send + 'static>) -> Response {
    let detail = if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_owned()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "(no message)".to_owned()
    };
    ApiError::Internal(format!("a request handler panicked: {detail}")).into_response()
}

#[cfg(test)]
mod tests {
    use axum::Router;
    use axum::body::{Body, to_bytes};
    use axum::http::{Request, StatusCode};
    use axum::routing::get;
    use serde_json::{Value, json};
    use tower::ServiceExt;

    use super::catch_panics;

    #[tokio::test]
    async fn a_panicking_route_is_a_500_in_the_error_shape() {
        let router: Router = Router::new()
            .route(
                "/boom",
                get(|| async {
                    if true {
                        panic!("deliberately, for this test");
                    }
                    "unreachable"
                }),
            )
            .route("/fine", get(|| async { "fine" }))
            .layer(catch_panics());
        let response = router
            .clone()
            .oneshot(Request::get("/boom").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(
            response.headers()["content-type"],
            "application/json",
            "the contract's JSON"
        );
        let body: Value =
            serde_json::from_slice(&to_bytes(response.into_body(), 1 << 16).await.unwrap())
                .unwrap();
        assert_eq!(
            body,
            json!({ "errors": [{ "message": "Something went wrong" }] })
        );
        let fine = router
            .oneshot(Request::get("/fine").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(fine.status(), StatusCode::OK);
    }
}
