//! Ordering a ticket (which locks it for the buyer) and cancelling an order before it is paid.

use tix_core::ids::{OrderId, TicketId, UserId};
use tix_core::orders::{Order, OrdersStore};
use tix_core::reactions::Service;

use super::error::ApiError;
use crate::state::AppState;

/// Locks `ticket` for `buyer` with a new order; one winner per ticket.
pub(crate) async fn place(
    state: &AppState,
    buyer: UserId,
    ticket: TicketId,
) -> Result<Order, ApiError> {
    let id = OrderId(state.ids.next(state.clock.now()));
    Ok(state
        .writer
        .run(Service::Orders, move |unit, context| {
            OrdersStore::place(unit, id, buyer, ticket, context.now, context.lock_ttl)
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
