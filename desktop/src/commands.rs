//! The commands the window invokes: each one a staff action at the counter, carried out by the
//! node (which enforces the staff role); the window only shows what they return.

use serde::Serialize;
use serde_json::{Value, json};
use tauri::State;

use crate::desk::{ConnectionInfo, Desk};
use crate::error::DeskError;
use crate::node_client::NodeClient;
use crate::pass::{Pass, amount};
use crate::settings::{Connection, normalize_url};

/// Most tickets shown for one search.
const TICKETS_SHOWN: usize = 50;

#[tauri::command]
pub async fn connection(desk: State<'_, Desk>) -> Result<ConnectionInfo, DeskError> {
    desk.info().await
}

/// `address` for a node on the LAN; none (with `standalone`) for a node inside the app.
#[tauri::command]
pub async fn connect(
    desk: State<'_, Desk>,
    address: Option<String>,
    standalone: bool,
) -> Result<ConnectionInfo, DeskError> {
    let connection = if standalone {
        Connection::Standalone
    } else {
        Connection::Remote {
            url: normalize_url(address.as_deref().unwrap_or_default())?,
        }
    };
    desk.connect(connection).await
}

#[tauri::command]
pub async fn forget_node(desk: State<'_, Desk>) -> Result<ConnectionInfo, DeskError> {
    desk.forget().await
}

/// Signs in (or, on a standalone node, creates the first account, which is staff); only staff
/// stay signed in.
#[tauri::command]
pub async fn sign_in(
    desk: State<'_, Desk>,
    email: String,
    password: String,
    create: bool,
) -> Result<ConnectionInfo, DeskError> {
    let client = desk.client().await?;
    client.authenticate(create, email.trim(), &password).await?;
    match client.get("/api/box-office/staff").await {
        Ok(me) => {
            desk.set_staff(me["email"].as_str().map(str::to_owned))
                .await;
            desk.info().await
        }
        Err(DeskError::NotSignedIn) => {
            client.forget_session();
            Err(DeskError::NotStaff)
        }
        Err(e) => {
            client.forget_session();
            Err(e)
        }
    }
}

#[tauri::command]
pub async fn sign_out(desk: State<'_, Desk>) -> Result<ConnectionInfo, DeskError> {
    let client = desk.client().await?;
    // Best effort: the session is forgotten here whatever the node says.
    let _ = client.post("/api/users/signout", json!({})).await;
    client.forget_session();
    desk.set_staff(None).await;
    desk.info().await
}

/// The state of everything the counter depends on, for the status bar.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    pub node_url: String,
    pub node_reachable: bool,
    pub standalone: bool,
    /// "off" (no hub configured), "inSync", "behind" (events not yet at the hub) or "offline"
    /// (no broker connection); "unknown" while the node is unreachable.
    pub sync: String,
    /// Events the hub has not acknowledged yet.
    pub sync_backlog: u64,
    /// Card payments can be taken now (node and gateway reachable).
    pub card_available: bool,
    pub card_note: String,
    pub test_mode: bool,
}

#[tauri::command]
pub async fn status(desk: State<'_, Desk>) -> Result<Status, DeskError> {
    let client = desk.client().await?;
    let health = client.health().await;
    Ok(status_of(
        client.base(),
        desk.is_standalone().await,
        health.as_ref(),
    ))
}

pub fn status_of(url: &str, standalone: bool, health: Option<&Value>) -> Status {
    let Some(health) = health else {
        return Status {
            node_url: url.to_owned(),
            node_reachable: false,
            standalone,
            sync: "unknown".into(),
            sync_backlog: 0,
            card_available: false,
            card_note: "The node cannot be reached".into(),
            test_mode: false,
        };
    };
    let sync = &health["sync"];
    let backlog = sync["backlog"].as_u64().unwrap_or(0);
    let sync_state = if sync["enabled"] != true {
        "off"
    } else if sync["connected"] != true {
        "offline"
    } else if backlog > 0 {
        "behind"
    } else {
        "inSync"
    };
    let payments = &health["payments"];
    let gateway_down = payments["reachable"] == false;
    let test_mode = payments["testMode"] == true;
    Status {
        node_url: url.to_owned(),
        node_reachable: true,
        standalone,
        sync: sync_state.into(),
        sync_backlog: backlog,
        card_available: !gateway_down,
        card_note: if gateway_down {
            "Card payments are unavailable: the payment provider cannot be reached. Cash works."
                .into()
        } else if test_mode {
            "Test mode: cards are simulated, no money moves".into()
        } else {
            "Card payments available".into()
        },
        test_mode,
    }
}

/// Available tickets matching `query` (words of the title, show, venue or seat), best first, or
/// one ticket by its id; the first available tickets for an empty query.
#[tauri::command]
pub async fn find_tickets(desk: State<'_, Desk>, query: String) -> Result<Vec<Value>, DeskError> {
    let client = desk.client().await?;
    let query = query.trim();
    if query.len() == 24 && query.bytes().all(|b| b.is_ascii_hexdigit()) {
        return match client.get(&format!("/api/tickets/{query}")).await {
            Ok(ticket) => Ok(vec![ticket]),
            Err(DeskError::Refused { status: 404, .. }) => Ok(Vec::new()),
            Err(e) => Err(e),
        };
    }
    let path = with_query(
        "/api/search",
        &[
            ("q", query),
            ("available", "true"),
            ("limit", &TICKETS_SHOWN.to_string()),
        ],
    );
    match client.get(&path).await {
        Ok(hits) => Ok(hits.as_array().cloned().unwrap_or_default()),
        // Search warming up or turned off: filter the available list by title instead.
        Err(DeskError::Refused { status: 503, .. }) => {
            let all = client.get("/api/tickets").await?;
            let needle = query.to_lowercase();
            Ok(all
                .as_array()
                .map(|tickets| {
                    tickets
                        .iter()
                        .filter(|t| {
                            t["title"]
                                .as_str()
                                .is_some_and(|title| title.to_lowercase().contains(&needle))
                        })
                        .take(TICKETS_SHOWN)
                        .cloned()
                        .collect()
                })
                .unwrap_or_default())
        }
        Err(e) => Err(e),
    }
}

/// Locks a ticket for the customer at the counter: an order placed by the staff member.
#[tauri::command]
pub async fn lock_ticket(desk: State<'_, Desk>, ticket_id: String) -> Result<Value, DeskError> {
    let client = desk.client().await?;
    client
        .post("/api/orders", json!({ "ticketId": ticket_id }))
        .await
}

/// Releases a lock: the order is cancelled and the ticket is on sale again.
#[tauri::command]
pub async fn release(desk: State<'_, Desk>, order_id: String) -> Result<(), DeskError> {
    let client = desk.client().await?;
    client
        .delete(&format!("/api/orders/{}", path_id(&order_id, "an order")?))
        .await?;
    Ok(())
}

/// A sale as the counter shows it: the payment, the amount taken and the passes to hand over (one
/// per ticket of a party; `pass` is the first, as a single ticket's sale has only that one).
#[derive(Debug, Clone, Serialize)]
pub struct Sale {
    pub payment: Value,
    pub pass: Pass,
    pub passes: Vec<Pass>,
    pub total: f64,
}

#[tauri::command]
pub async fn pay_cash(desk: State<'_, Desk>, order_id: String) -> Result<Sale, DeskError> {
    let client = desk.client().await?;
    let payment = client
        .post(
            "/api/box-office/payments/cash",
            json!({ "orderId": order_id }),
        )
        .await?;
    sale(&client, &order_id, payment).await
}

/// Card through the node's gateway; `token` is the card's token (in test mode, a Stripe test
/// token such as `tok_visa`).
#[tauri::command]
pub async fn pay_card(
    desk: State<'_, Desk>,
    order_id: String,
    token: String,
) -> Result<Sale, DeskError> {
    let client = desk.client().await?;
    let payment = client
        .post(
            "/api/payments",
            json!({ "orderId": order_id, "token": token }),
        )
        .await?;
    sale(&client, &order_id, payment).await
}

async fn sale(client: &NodeClient, order_id: &str, payment: Value) -> Result<Sale, DeskError> {
    // The staff view of the order: whoever placed it (a kiosk guest's order is paid here too).
    let order = client
        .get(&format!(
            "/api/box-office/orders/{}",
            path_id(order_id, "an order")?
        ))
        .await?;
    let passes = passes_of(client, &order).await;
    let pass = passes
        .first()
        .cloned()
        .ok_or_else(|| DeskError::Local("the node's order has no ticket".into()))?;
    Ok(Sale {
        payment,
        pass,
        total: order_total(&order),
        passes,
    })
}

/// What an order costs: the party's total for an order of a show, else its ticket's price.
pub fn order_total(order: &Value) -> f64 {
    if order["show"].is_string() {
        amount(&order["total"])
    } else {
        amount(&order["ticket"]["price"])
    }
}

/// Every pass of an order, with its show's start and hall when the node has the show.
async fn passes_of(client: &NodeClient, order: &Value) -> Vec<Pass> {
    let show = match order["show"].as_str().map(|id| path_id(id, "a show")) {
        // Best effort: a pass without its date still admits.
        Some(Ok(id)) => client.get(&format!("/api/shows/{id}")).await.ok(),
        _ => None,
    };
    Pass::all_of_order(order, show.as_ref())
}

/// The first pass of an order the window already has (e.g. found by email), as the node has it
/// now.
#[tauri::command]
pub async fn ticket_pass(desk: State<'_, Desk>, order: Value) -> Result<Pass, DeskError> {
    order_passes(desk, order)
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| DeskError::Local("that order has no ticket".into()))
}

/// Every pass of an order the window already has (a party's, one per ticket), for showing or
/// printing again. The order is read again from the node: its codes are the node's (an order
/// found by email carries none, and one refunded since has none any more).
#[tauri::command]
pub async fn order_passes(desk: State<'_, Desk>, order: Value) -> Result<Vec<Pass>, DeskError> {
    let client = desk.client().await?;
    let id = order["id"]
        .as_str()
        .ok_or_else(|| DeskError::Local("that order has no number".into()))?;
    let order = client
        .get(&format!(
            "/api/box-office/orders/{}",
            path_id(id, "an order")?
        ))
        .await?;
    let passes = passes_of(&client, &order).await;
    if passes.is_empty() {
        return Err(DeskError::Local("that order has no ticket".into()));
    }
    Ok(passes)
}

#[tauri::command]
pub async fn refund(desk: State<'_, Desk>, order_id: String) -> Result<Value, DeskError> {
    let client = desk.client().await?;
    client
        .post("/api/box-office/refunds", json!({ "orderId": order_id }))
        .await
}

#[tauri::command]
pub async fn orders_by_email(desk: State<'_, Desk>, email: String) -> Result<Value, DeskError> {
    let client = desk.client().await?;
    client
        .get(&with_query(
            "/api/box-office/orders",
            &[("email", email.trim())],
        ))
        .await
}

#[tauri::command]
pub async fn locks(desk: State<'_, Desk>) -> Result<Value, DeskError> {
    desk.client().await?.get("/api/box-office/locks").await
}

/// The day's takings (`date` as YYYY-MM-DD; today when empty).
#[tauri::command]
pub async fn summary(desk: State<'_, Desk>, date: Option<String>) -> Result<Value, DeskError> {
    let client = desk.client().await?;
    match date.as_deref().map(str::trim) {
        None | Some("") => client.get("/api/box-office/summary").await,
        Some(date) => {
            client
                .get(&with_query("/api/box-office/summary", &[("date", date)]))
                .await
        }
    }
}

/// `path?name=value&...`, each value form-encoded.
pub(crate) fn with_query(path: &str, pairs: &[(&str, &str)]) -> String {
    let query: String = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    format!("{path}?{query}")
}

/// An id for a URL path (`what` it is named, e.g. "an order"): ids are hex, so anything else is refused before it reaches a path.
pub(crate) fn path_id<'a>(id: &'a str, what: &str) -> Result<&'a str, DeskError> {
    if !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        Ok(id)
    } else {
        Err(DeskError::Refused {
            status: 400,
            messages: vec![crate::error::FieldMessage {
                message: format!("That is not {what} id"),
                field: None,
            }],
        })
    }
}
