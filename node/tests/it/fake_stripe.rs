//! A fake Stripe API for tests: the PaymentIntent and Refund endpoints the Stripe gateway calls,
//! with state, idempotency keys, and switches to make it decline, stall or fail.
//!
//! Bodies are form-encoded as Stripe's; answers are JSON carrying every field async-stripe requires
//! of a `PaymentIntent` or `Refund`. Ids are deterministic: `pi_1`, `pi_2`, ..., `re_1`, ...

mod endpoints;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use endpoints::{cancel, capture, create_intent, parse_form, refund};

/// The token that Stripe always declines.
const DECLINED_TOKEN: &str = "tok_chargeDeclined";
/// Timestamps start here and grow by one per object, so answers are reproducible.
const EPOCH: i64 = 1_700_000_000;

/// A running fake Stripe server; it stops when dropped.
pub(crate) struct FakeStripe {
    addr: SocketAddr,
    state: Arc<Mutex<Fake>>,
    held: Held,
    server: JoinHandle<()>,
}

/// A call the fake can hold until the test lets it go on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Call {
    /// Create-and-confirm: held after the intent is authorized (the answer is lost if the caller
    /// dies meanwhile, as when a node crashes while Stripe answers).
    Authorize,
    /// Held before anything happens (a caller that dies meanwhile changed nothing).
    Capture,
    Cancel,
    Refund,
}

impl Call {
    fn of(method: &Method, path: &str) -> Option<Call> {
        let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
        match (method, segments.as_slice()) {
            (&Method::POST, ["v1", "payment_intents"]) => Some(Call::Authorize),
            (&Method::POST, ["v1", "payment_intents", _, "capture"]) => Some(Call::Capture),
            (&Method::POST, ["v1", "payment_intents", _, "cancel"]) => Some(Call::Cancel),
            (&Method::POST, ["v1", "refunds"]) => Some(Call::Refund),
            _ => None,
        }
    }
}

/// The calls held now, watched by the requests waiting on them.
type Held = Arc<watch::Sender<BTreeSet<Call>>>;

impl FakeStripe {
    /// Starts a fake on a free port of 127.0.0.1.
    pub(crate) async fn start() -> FakeStripe {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the fake Stripe server");
        let addr = listener
            .local_addr()
            .expect("local address of the fake Stripe server");
        let state = Arc::new(Mutex::new(Fake::default()));
        let held: Held = Arc::new(watch::Sender::new(BTreeSet::new()));
        let app = Router::new()
            .fallback(handle)
            .with_state((Arc::clone(&state), Arc::clone(&held)));
        let server = tokio::spawn(async move {
            // The server runs until the test drops the fake, which aborts this task.
            let _ = axum::serve(listener, app).await;
        });
        FakeStripe {
            addr,
            state,
            held,
            server,
        }
    }

    /// The base URL to give the gateway, with a trailing slash.
    pub(crate) fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// How many PaymentIntents were created (idempotent replays create none).
    pub(crate) fn intents_created(&self) -> usize {
        self.lock().intents.len()
    }

    /// The status of a PaymentIntent, e.g. `requires_capture`, or `None` if there is no such intent.
    pub(crate) fn intent_status(&self, id: &str) -> Option<String> {
        self.lock()
            .intents
            .get(id)
            .map(|intent| intent.status.to_owned())
    }

    /// The metadata of a PaymentIntent.
    pub(crate) fn intent_metadata(&self, id: &str) -> Option<BTreeMap<String, String>> {
        self.lock()
            .intents
            .get(id)
            .map(|intent| intent.metadata.clone())
    }

    /// The amount and currency of a PaymentIntent.
    pub(crate) fn intent_amount(&self, id: &str) -> Option<(i64, String)> {
        self.lock()
            .intents
            .get(id)
            .map(|intent| (intent.amount, intent.currency.clone()))
    }

    /// How many captures succeeded (replays not counted).
    pub(crate) fn captures(&self) -> usize {
        self.lock().captures
    }

    /// How many cancellations succeeded (replays not counted).
    pub(crate) fn cancels(&self) -> usize {
        self.lock().cancels
    }

    /// How many refunds were created (replays not counted).
    pub(crate) fn refunds(&self) -> usize {
        self.lock().refunds.len()
    }

    /// Declines the next `count` authorizations, whatever their token.
    pub(crate) fn decline_next(&self, count: usize) {
        self.lock().decline_next = count;
    }

    /// Waits `delay` before answering each create-and-confirm call. The intent is created (and its
    /// answer stored under the idempotency key) before the wait, as a slow Stripe would have done.
    pub(crate) fn set_authorize_delay(&self, delay: Duration) {
        self.lock().authorize_delay = delay;
    }

    /// Holds every `call` until `release`.
    pub(crate) fn hold(&self, call: Call) {
        self.held.send_modify(|held| {
            held.insert(call);
        });
    }

    /// Lets held `call`s go on.
    pub(crate) fn release(&self, call: Call) {
        self.held.send_modify(|held| {
            held.remove(&call);
        });
    }

    /// How many `call`s have reached the point where they are held (held or not).
    pub(crate) fn arrived(&self, call: Call) -> usize {
        self.lock().arrived.get(&call).copied().unwrap_or(0)
    }

    /// How many held `call`s were dropped while they waited, because their caller went away.
    pub(crate) fn abandoned(&self, call: Call) -> usize {
        self.lock().abandoned.get(&call).copied().unwrap_or(0)
    }

    /// Forgets every idempotency key, as Stripe does after 24 hours.
    pub(crate) fn forget_keys(&self) {
        self.lock().answers.clear();
    }

    /// Answers 500 to every request while `failing` is set.
    pub(crate) fn set_failing(&self, failing: bool) {
        self.lock().failing = failing;
    }

    /// Answers 500 to the next `count` requests.
    pub(crate) fn fail_next(&self, count: usize) {
        self.lock().fail_next = count;
    }

    fn lock(&self) -> MutexGuard<'_, Fake> {
        lock(&self.state)
    }
}

/// A node paying through this fake (its first account is staff), with orders held for `lock_ttl`.
pub(crate) fn stripe_node(
    dir: &tempfile::TempDir,
    fake: &FakeStripe,
    lock_ttl: &'static str,
) -> tix_tests::client::Node {
    tix_tests::client::Node::start(
        crate::NODE,
        dir,
        tix_tests::client::NodeOptions {
            lock_ttl: Some(lock_ttl),
            env: vec![
                ("STRIPE_SECRET_KEY".into(), "sk_test_fake".into()),
                ("TIX_STRIPE_API_BASE".into(), fake.url()),
                ("TIX_FIRST_USER_IS_STAFF".into(), "1".into()),
            ],
            ..Default::default()
        },
    )
}

impl Drop for FakeStripe {
    fn drop(&mut self) {
        self.server.abort();
    }
}

type Shared = Arc<Mutex<Fake>>;

fn lock(state: &Shared) -> MutexGuard<'_, Fake> {
    // A panicking handler must not hide the state from the test that asserts on it.
    state
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The fake's state.
#[derive(Default)]
struct Fake {
    intents: BTreeMap<String, Intent>,
    refunds: Vec<String>,
    captures: usize,
    cancels: usize,
    /// Answers by idempotency key.
    answers: HashMap<String, Stored>,
    /// Objects created so far, for ids and timestamps.
    objects: i64,
    decline_next: usize,
    authorize_delay: Duration,
    failing: bool,
    fail_next: usize,
    arrived: HashMap<Call, usize>,
    /// Held calls whose caller went away while they waited (the server dropped the request).
    abandoned: HashMap<Call, usize>,
}

struct Intent {
    id: String,
    amount: i64,
    currency: String,
    metadata: BTreeMap<String, String>,
    capture_method: String,
    status: &'static str,
    created: i64,
    canceled_at: Option<i64>,
    refunded: i64,
    last_payment_error: Option<Value>,
}

/// An answer kept for an idempotency key, with what it answered.
struct Stored {
    endpoint: String,
    body: String,
    status: StatusCode,
    answer: Value,
}

impl Fake {
    fn next_created(&mut self) -> i64 {
        self.objects += 1;
        EPOCH + self.objects
    }
}

impl Intent {
    fn to_json(&self) -> Value {
        let captured = self.status == "succeeded";
        json!({
            "id": self.id,
            "object": "payment_intent",
            "amount": self.amount,
            "amount_capturable": if self.status == "requires_capture" { self.amount } else { 0 },
            "amount_received": if captured { self.amount } else { 0 },
            "application": null,
            "application_fee_amount": null,
            "automatic_payment_methods": null,
            "canceled_at": self.canceled_at,
            "cancellation_reason": null,
            "capture_method": self.capture_method,
            "client_secret": format!("{}_secret_fake", self.id),
            "confirmation_method": "automatic",
            "created": self.created,
            "currency": self.currency,
            "customer": null,
            "description": null,
            "last_payment_error": self.last_payment_error,
            "latest_charge": null,
            "livemode": false,
            "metadata": self.metadata,
            "next_action": null,
            "on_behalf_of": null,
            "payment_method": null,
            "payment_method_options": null,
            "payment_method_types": ["card"],
            "processing": null,
            "receipt_email": null,
            "review": null,
            "setup_future_usage": null,
            "shipping": null,
            "source": null,
            "statement_descriptor": null,
            "statement_descriptor_suffix": null,
            "status": self.status,
            "transfer_data": null,
            "transfer_group": null,
        })
    }
}

/// One answer: a status and a JSON body.
type Answer = (StatusCode, Value);

fn error(status: StatusCode, type_: &str, code: Option<&str>, message: &str) -> Answer {
    let mut error = json!({ "type": type_, "message": message });
    if let Some(code) = code {
        error["code"] = json!(code);
    }
    (status, json!({ "error": error }))
}

fn no_such_intent(id: &str) -> Answer {
    let mut answer = error(
        StatusCode::NOT_FOUND,
        "invalid_request_error",
        Some("resource_missing"),
        &format!("No such payment_intent: '{id}'"),
    );
    answer.1["error"]["param"] = json!("intent");
    answer
}

fn unexpected_state(intent: &Intent, message: String) -> Answer {
    let mut answer = error(
        StatusCode::BAD_REQUEST,
        "invalid_request_error",
        Some("payment_intent_unexpected_state"),
        &message,
    );
    answer.1["error"]["payment_intent"] = intent.to_json();
    answer
}

/// Every request: the failure switch, the secret key, the idempotency key, then the endpoint;
/// a held call waits where `Call` says.
async fn handle(
    State((state, held)): State<(Shared, Held)>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: String,
) -> Response {
    let endpoint = format!("{method} {}", uri.path());
    let call = Call::of(&method, uri.path());
    if call.is_some_and(|call| call != Call::Authorize) {
        wait_if_held(&state, &held, call).await;
    }
    let (answer, delay) = {
        let mut fake = lock(&state);
        let delay = if call == Some(Call::Authorize) {
            fake.authorize_delay
        } else {
            Duration::ZERO
        };
        (
            answer(&mut fake, &method, &uri, &headers, &endpoint, &body),
            delay,
        )
    };
    if call == Some(Call::Authorize) {
        wait_if_held(&state, &held, call).await;
    }
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let (status, json, replayed) = answer;
    let mut response = (status, axum::Json(json)).into_response();
    if replayed {
        response.headers_mut().insert(
            "idempotent-replayed",
            axum::http::HeaderValue::from_static("true"),
        );
    }
    response
}

/// Counts the call's arrival, then waits while it is held.
async fn wait_if_held(state: &Shared, held: &Held, call: Option<Call>) {
    let Some(call) = call else { return };
    *lock(state).arrived.entry(call).or_default() += 1;
    let waiting = Waiting {
        state,
        call,
        done: false,
    };
    let mut watching = held.subscribe();
    let _ = watching.wait_for(|held| !held.contains(&call)).await;
    waiting.finish();
}

/// A held call's wait: dropped before it finishes, it counts the call as abandoned.
struct Waiting<'a> {
    state: &'a Shared,
    call: Call,
    done: bool,
}

impl Waiting<'_> {
    fn finish(mut self) {
        self.done = true;
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        if !self.done {
            *lock(self.state).abandoned.entry(self.call).or_default() += 1;
        }
    }
}

fn answer(
    fake: &mut Fake,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    endpoint: &str,
    body: &str,
) -> (StatusCode, Value, bool) {
    // An injected failure is not stored under the idempotency key, so the retry can succeed.
    if fake.failing || fake.fail_next > 0 {
        fake.fail_next = fake.fail_next.saturating_sub(1);
        let (status, json) = error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "api_error",
            None,
            "An unknown error occurred (fake Stripe was told to fail).",
        );
        return (status, json, false);
    }
    let authorized = headers
        .get("authorization")
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("Bearer sk_"));
    if !authorized {
        let (status, json) = error(
            StatusCode::UNAUTHORIZED,
            "invalid_request_error",
            None,
            "Invalid API Key provided.",
        );
        return (status, json, false);
    }
    let key = headers
        .get("idempotency-key")
        .and_then(|value| value.to_str().ok());
    if let Some(stored) = key.and_then(|key| fake.answers.get(key)) {
        if stored.endpoint != endpoint || stored.body != body {
            let (status, json) = error(
                StatusCode::BAD_REQUEST,
                "idempotency_error",
                None,
                "Keys for idempotent requests can only be used with the same parameters they were \
                 first used with.",
            );
            return (status, json, false);
        }
        return (stored.status, stored.answer.clone(), true);
    }

    let form = parse_form(body);
    let segments: Vec<&str> = uri.path().trim_matches('/').split('/').collect();
    let (status, json) = match (method, segments.as_slice()) {
        (&Method::POST, ["v1", "payment_intents"]) => create_intent(fake, &form),
        (&Method::GET, ["v1", "payment_intents", id]) => match fake.intents.get(*id) {
            Some(intent) => (StatusCode::OK, intent.to_json()),
            None => no_such_intent(id),
        },
        (&Method::POST, ["v1", "payment_intents", id, "capture"]) => capture(fake, id),
        (&Method::POST, ["v1", "payment_intents", id, "cancel"]) => cancel(fake, id),
        (&Method::POST, ["v1", "refunds"]) => refund(fake, &form),
        _ => error(
            StatusCode::NOT_FOUND,
            "invalid_request_error",
            None,
            &format!("Unrecognized request URL ({endpoint}) (the fake implements few endpoints)."),
        ),
    };
    if let Some(key) = key {
        let stored = Stored {
            endpoint: endpoint.to_owned(),
            body: body.to_owned(),
            status,
            answer: json.clone(),
        };
        fake.answers.insert(key.to_owned(), stored);
    }
    (status, json, false)
}
