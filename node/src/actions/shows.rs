//! Shows: putting one on sale, changing it, stopping, resuming and cancelling its sales (staff),
//! and ordering its tickets by best available or by seat (anyone signed in).

use serde_json::{Map, Value};

use tix_core::ids::{OrderId, ShowId, TicketId, UserId};
use tix_core::orders::{self, Order, OrdersStore, Pick, ShowPlacing};
use tix_core::reactions::Service;
use tix_core::shows::{self, Show, ShowDraft, ShowEdit, ShowStatus, ShowsStore};

use super::error::{ApiError, FieldError};
use crate::state::AppState;

/// Creates a show from its request, with every ticket in one transaction.
pub(crate) async fn create(state: &AppState, body: &Map<String, Value>) -> Result<Show, ApiError> {
    let plan = ShowDraft(body).plan().map_err(problems)?;
    let now = state.clock.now();
    let id = ShowId(state.ids.next_block(now, plan.units));
    Ok(state
        .writer
        .run(Service::Shows, move |unit, context| {
            ShowsStore::create(unit, id, plan, context.now)
        })
        .await??)
}

/// Changes a show's details, maximum per order or the prices of categories nothing holds.
pub(crate) async fn edit(
    state: &AppState,
    id: ShowId,
    body: &Map<String, Value>,
) -> Result<Show, ApiError> {
    let show = state.stores.shows.get(id)?.ok_or(ApiError::NotFound)?;
    let edit = ShowEdit(body).plan(&show.details).map_err(problems)?;
    Ok(state
        .writer
        .run(Service::Shows, move |unit, _| {
            ShowsStore::edit(unit, id, edit)
        })
        .await??)
}

/// Moves a show to `status` (cancelling releases its open orders, by reaction).
pub(crate) async fn set_status(
    state: &AppState,
    id: ShowId,
    status: ShowStatus,
) -> Result<Show, ApiError> {
    Ok(state
        .writer
        .run(Service::Shows, move |unit, _| {
            ShowsStore::set_status(unit, id, status)
        })
        .await??)
}

/// What a buyer asks of a show: `{category, quantity, allowSplit?}` or `{seats: [ids]}`.
pub(crate) fn pick(body: &Map<String, Value>) -> Result<Pick, ApiError> {
    let field = |name: &str, message: &str| FieldError {
        message: message.to_owned(),
        field: Some(name.to_owned()),
    };
    if let Some(seats) = body.get("seats").filter(|v| !v.is_null()) {
        let ids: Option<Vec<TicketId>> = seats.as_array().and_then(|list| {
            list.iter()
                .map(|s| s.as_str().and_then(|s| s.parse().ok()))
                .collect()
        });
        return match ids {
            Some(ids) if !ids.is_empty() => Ok(Pick::Seats(ids)),
            _ => Err(ApiError::Validation(vec![field(
                "seats",
                "Seats must be a list of ticket ids",
            )])),
        };
    }
    let category = body.get("category").and_then(Value::as_str).map(str::trim);
    let quantity = body.get("quantity").and_then(Value::as_u64);
    let mut errors = Vec::new();
    if category.is_none_or(str::is_empty) {
        errors.push(field("category", "Category must be given (or seats)"));
    }
    match quantity {
        Some(n) if n >= 1 => {}
        _ => errors.push(field(
            "quantity",
            "Quantity must be a whole number of at least 1",
        )),
    }
    let allow_split = match body.get("allowSplit") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            errors.push(field("allowSplit", "allowSplit must be true or false"));
            false
        }
    };
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    Ok(Pick::Best {
        category: category.unwrap_or_default().to_owned(),
        quantity: quantity.unwrap_or_default().min(u64::from(u32::MAX)) as u32,
        allow_split,
    })
}

/// Orders tickets of a show for `buyer`: one lock over all of them, at most `--max-open-orders`
/// open orders per account (staff exempt).
pub(crate) async fn order(
    state: &AppState,
    buyer: UserId,
    show: ShowId,
    pick: Pick,
) -> Result<Order, ApiError> {
    Ok(place(state, buyer, show, pick).await??)
}

/// As [`order`], with the store's refusal (seats taken, not enough left ...) kept apart from a
/// failure, for a page that words it for the buyer.
pub(crate) async fn place(
    state: &AppState,
    buyer: UserId,
    show: ShowId,
    pick: Pick,
) -> Result<Result<Order, orders::Error>, ApiError> {
    if let Some(refusal) = gone(state, show, &pick)? {
        return Ok(Err(refusal));
    }
    let staff = state.stores.auth.get(buyer)?.is_some_and(|user| user.staff);
    let placing = ShowPlacing {
        id: OrderId(state.ids.next(state.clock.now())),
        buyer,
        show,
        pick,
        max_open: (state.max_open_orders > 0 && !staff).then_some(state.max_open_orders),
    };
    Ok(state
        .writer
        .run(Service::Orders, move |unit, context| {
            OrdersStore::place_show(unit, placing, context.now, context.lock_ttl)
        })
        .await?)
}

/// One ticket of an order of a show, as buyers and staff see it.
pub(crate) struct SeatLine {
    pub(crate) id: tix_core::ids::TicketId,
    /// The area's name, or section, row and seat.
    pub(crate) seat: String,
    pub(crate) category: String,
    pub(crate) price: f64,
}

/// The tickets of an order of a show, with their seats and categories (empty for a listing).
pub(crate) fn seat_lines(stores: &crate::stores::Stores, order: &Order) -> Vec<SeatLine> {
    let Some(part) = &order.show else {
        return Vec::new();
    };
    let show = stores.shows.get(part.id).ok().flatten();
    part.tickets
        .iter()
        .map(|t| {
            let (seat, category) = match &show {
                Some(show) => (
                    stores.shows.unit_label(show, t.index).unwrap_or_default(),
                    show.categories
                        .get(usize::from(t.category))
                        .map(|c| c.name.clone())
                        .unwrap_or_default(),
                ),
                None => (String::new(), String::new()),
            };
            SeatLine {
                id: t.id,
                seat,
                category,
                price: t.price,
            }
        })
        .collect()
}

/// Refuses from a read, without queueing for the writer, a party asking for more than is left of
/// a category of a show that is selling: once a category is gone, most of an on-sale rush asks
/// for what no longer exists. The writer decides everything else, and again what passes here.
fn gone(state: &AppState, id: ShowId, pick: &Pick) -> Result<Option<orders::Error>, ApiError> {
    let Pick::Best {
        category, quantity, ..
    } = pick
    else {
        return Ok(None);
    };
    let Some(show) = state.stores.orders.show(id)? else {
        return Ok(None);
    };
    let selling = shows::selling(
        show.status,
        show.on_sale_at,
        show.off_sale_at,
        state.clock.now(),
    );
    let entry = show.categories.iter().find(|c| &c.name == category);
    Ok(match entry {
        Some(entry)
            if selling.is_ok() && *quantity <= show.max_per_order && entry.free < *quantity =>
        {
            Some(orders::Error::NotEnough {
                category: category.clone(),
                available: entry.free,
            })
        }
        _ => None,
    })
}

/// A plan's problems as the contract's field errors; a message that is not a sentence of its own
/// is prefixed by its field.
pub(crate) fn problems(list: Vec<shows::Problem>) -> ApiError {
    ApiError::Validation(
        list.into_iter()
            .map(|p| {
                let sentence = p.message.starts_with(|c: char| c.is_uppercase());
                FieldError {
                    message: if sentence {
                        p.message
                    } else {
                        format!("{} {}", p.field, p.message)
                    },
                    field: Some(p.field),
                }
            })
            .collect(),
    )
}
