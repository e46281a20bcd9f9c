//! Ordering a ticket (which locks it for the buyer) and cancelling an order before it is paid.

use tix_core::ids::{OrderId, TicketId, UserId};
use tix_core::orders::{Order, OrdersStore, Placing};
use tix_core::reactions::Service;

use super::error::ApiError;
use crate::state::AppState;

/// Locks `ticket` for `buyer` with a new order; one winner per ticket, and at most
/// `--max-open-orders` unpaid orders per account (staff exempt).
pub(crate) async fn place(
    state: &AppState,
    buyer: UserId,
    ticket: TicketId,
) -> Result<Order, ApiError> {
    // Staff at the counter hold orders for many buyers at once: no cap for them.
    let staff = state.stores.auth.get(buyer)?.is_some_and(|user| user.staff);
    let placing = Placing {
        id: OrderId(state.ids.next(state.clock.now())),
        buyer,
        ticket,
        max_open: (state.max_open_orders > 0 && !staff).then_some(state.max_open_orders),
    };
    Ok(state
        .writer
        .run(Service::Orders, move |unit, context| {
            OrdersStore::place(unit, placing, context.now, context.lock_ttl)
        })
        .await??)
}

/// Cancels `order` for `requester` (its buyer), giving its ticket back.
pub(crate) async fn cancel(
    state: &AppState,
    requester: UserId,
    order: OrderId,
) -> Result<Order, ApiError> {
    Ok(state
        .writer
        .run(Service::Orders, move |unit, _| {
            OrdersStore::cancel(unit, order, requester)
        })
        .await??)
}
