//! Waiting in tests: polling until something holds, and bounding a whole test so that a process
//! that stops answering fails it instead of hanging it.

use std::time::{Duration, Instant};

/// Polls `check` until it holds, for at most `limit`; whether it did.
pub async fn eventually<F, Fut>(limit: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if check().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

/// Runs `test` to its end within `limit`, or panics saying it did not finish.
pub async fn within<T>(limit: Duration, test: impl Future<Output = T>) -> T {
    tokio::time::timeout(limit, test)
        .await
        .unwrap_or_else(|_| panic!("the test did not finish within {limit:?}"))
}
