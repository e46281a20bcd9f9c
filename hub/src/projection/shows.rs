//! The read model of each venue's shows: details, and per price category the capacity, the units
//! held by open orders and sold, and the money paid less refunds.
//!
//! Every rule checks the state it moves from, so applying an event again changes nothing: a show
//! is created once, its given rows count once (in order, by row number), versions only move
//! forward, and a show order moves created → cancelled, created → complete → refunded, each step
//! once, by the per-order state in `show_orders`.

use std::collections::BTreeMap;

use crate::db::{DbError, Sql};

use tix_core::events::{ShowCreated, ShowPart, ShowSeats, ShowUpdated};
use tix_core::ids::OrderId;

/// Where a show order stands.
const CREATED: &str = "created";
const CANCELLED: &str = "cancelled";
const COMPLETE: &str = "complete";
const REFUNDED: &str = "refunded";

fn cents(amount: f64) -> i64 {
    (amount * 100.0).round() as i64
}

/// `show:created`: the show and its categories, with the capacity of its areas and generated rows
/// (the given rows follow in `show:seats`).
pub(super) fn created(
    sql: &mut Sql<'_>,
    venue: &str,
    show: &ShowCreated,
    at: i64,
) -> Result<(), DbError> {
    let id = show.id.to_string();
    let inserted = sql.execute(
        "INSERT INTO shows (venue, id, title, starts_at, status, version, seat_rows,
            created_ms, updated_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0, ?7, ?7)
         ON CONFLICT (venue, id) DO NOTHING",
        &[
            &venue,
            &id,
            &show.details.title,
            &show.details.starts_at,
            &show.status.as_str(),
            &(show.version as i64),
            &at,
        ],
    )?;
    if inserted == 0 {
        return Ok(());
    }
    let mut capacity = vec![0i64; show.categories.len()];
    let areas = show
        .areas
        .iter()
        .map(|a| (a.category, i64::from(a.capacity)));
    let generated = show
        .generate
        .iter()
        .map(|g| (g.category, i64::from(g.rows) * i64::from(g.seats_per_row)));
    for (category, units) in areas.chain(generated) {
        if let Some(c) = capacity.get_mut(usize::from(category)) {
            *c += units;
        }
    }
    for (idx, (category, capacity)) in show.categories.iter().zip(capacity).enumerate() {
        sql.write(
            "INSERT INTO show_categories (venue, show_id, idx, name, price, capacity, held, sold,
                revenue_cents)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0, 0, 0)
             ON CONFLICT (venue, show_id, idx) DO NOTHING",
            &[
                &venue,
                &id,
                &(idx as i64),
                &category.name,
                &category.price,
                &capacity,
            ],
        )?;
    }
    Ok(())
}

/// `show:seats`: the seats of the given rows add to their categories' capacities, if these rows
/// are the next ones the show expects.
pub(super) fn seats(
    sql: &mut Sql<'_>,
    venue: &str,
    seats: &ShowSeats,
    at: i64,
) -> Result<(), DbError> {
    let id = seats.show.to_string();
    let moved = sql.execute(
        "UPDATE shows SET seat_rows = seat_rows + ?4, updated_ms = ?5
         WHERE venue = ?1 AND id = ?2 AND seat_rows = ?3",
        &[
            &venue,
            &id,
            &i64::from(seats.first_row),
            &(seats.rows.len() as i64),
            &at,
        ],
    )?;
    if moved == 0 {
        return Ok(());
    }
    let mut per_category: BTreeMap<u16, i64> = BTreeMap::new();
    for seat in seats.rows.iter().flat_map(|r| &r.seats) {
        *per_category.entry(seat.category).or_default() += 1;
    }
    for (idx, count) in per_category {
        sql.write(
            "UPDATE show_categories SET capacity = capacity + ?4
             WHERE venue = ?1 AND show_id = ?2 AND idx = ?3",
            &[&venue, &id, &i64::from(idx), &count],
        )?;
    }
    Ok(())
}

/// `show:updated`: details, status and prices as they now are, if the version is newer.
pub(super) fn updated(
    sql: &mut Sql<'_>,
    venue: &str,
    show: &ShowUpdated,
    at: i64,
) -> Result<(), DbError> {
    let id = show.id.to_string();
    let moved = sql.execute(
        "UPDATE shows SET title = ?3, starts_at = ?4, status = ?5, version = ?6,
            updated_ms = ?7
         WHERE venue = ?1 AND id = ?2 AND version < ?6",
        &[
            &venue,
            &id,
            &show.details.title,
            &show.details.starts_at,
            &show.status.as_str(),
            &(show.version as i64),
            &at,
        ],
    )?;
    if moved == 0 {
        return Ok(());
    }
    for (idx, category) in show.categories.iter().enumerate() {
        sql.write(
            "UPDATE show_categories SET name = ?4, price = ?5
             WHERE venue = ?1 AND show_id = ?2 AND idx = ?3",
            &[&venue, &id, &(idx as i64), &category.name, &category.price],
        )?;
    }
    Ok(())
}

/// `order:created` with a show part: the order's units are held, per category.
pub(super) fn order_created(
    sql: &mut Sql<'_>,
    venue: &str,
    order: OrderId,
    part: &ShowPart,
    at: i64,
) -> Result<(), DbError> {
    let order = order.to_string();
    let show = part.id.to_string();
    let inserted = sql.execute(
        "INSERT INTO show_orders (venue, id, show_id, status, created_ms, updated_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?5)
         ON CONFLICT (venue, id) DO NOTHING",
        &[&venue, &order, &show, &CREATED, &at],
    )?;
    if inserted == 0 {
        return Ok(());
    }
    let mut lines: BTreeMap<u16, (i64, i64)> = BTreeMap::new();
    for ticket in &part.tickets {
        let line = lines.entry(ticket.category).or_default();
        line.0 += 1;
        line.1 += cents(ticket.price);
    }
    for (idx, (tickets, amount)) in lines {
        sql.write(
            "INSERT INTO show_order_lines (venue, order_id, idx, tickets, amount_cents)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            &[&venue, &order, &i64::from(idx), &tickets, &amount],
        )?;
        sql.write(
            "UPDATE show_categories SET held = held + ?4
             WHERE venue = ?1 AND show_id = ?2 AND idx = ?3",
            &[&venue, &show, &i64::from(idx), &tickets],
        )?;
    }
    Ok(())
}

/// `order:cancelled` of a show order still open: its units are no longer held.
pub(super) fn order_cancelled(
    sql: &mut Sql<'_>,
    venue: &str,
    order: OrderId,
    at: i64,
) -> Result<(), DbError> {
    let order = order.to_string();
    if !move_order(sql, venue, &order, CREATED, CANCELLED, at)? {
        return Ok(());
    }
    sql.write(
        "UPDATE show_categories SET held = held - l.tickets
         FROM show_orders o JOIN show_order_lines l ON l.venue = o.venue AND l.order_id = o.id
         WHERE o.venue = ?1 AND o.id = ?2 AND show_categories.venue = o.venue
            AND show_categories.show_id = o.show_id AND show_categories.idx = l.idx",
        &[&venue, &order],
    )?;
    Ok(())
}

/// `order:completed` of a show order still open: its units are sold and its total paid.
pub(super) fn order_completed(
    sql: &mut Sql<'_>,
    venue: &str,
    order: OrderId,
    at: i64,
) -> Result<(), DbError> {
    let order = order.to_string();
    if !move_order(sql, venue, &order, CREATED, COMPLETE, at)? {
        return Ok(());
    }
    sql.write(
        "UPDATE show_categories SET held = held - l.tickets, sold = sold + l.tickets,
            revenue_cents = revenue_cents + l.amount_cents
         FROM show_orders o JOIN show_order_lines l ON l.venue = o.venue AND l.order_id = o.id
         WHERE o.venue = ?1 AND o.id = ?2 AND show_categories.venue = o.venue
            AND show_categories.show_id = o.show_id AND show_categories.idx = l.idx",
        &[&venue, &order],
    )?;
    Ok(())
}

/// `payment:refunded` of a paid show order: the amount comes off its categories' revenue, shared
/// in proportion to what each was paid (the last takes the rounding); the tickets stay sold.
/// Other orders' refunds are not the shows' business.
pub(super) fn refunded(
    sql: &mut Sql<'_>,
    venue: &str,
    order: OrderId,
    amount_cents: i64,
    at: i64,
) -> Result<(), DbError> {
    let order = order.to_string();
    if !move_order(sql, venue, &order, COMPLETE, REFUNDED, at)? {
        return Ok(());
    }
    let lines: Vec<(String, i64, i64)> = sql.query(
        "SELECT o.show_id, l.idx, l.amount_cents
         FROM show_orders o JOIN show_order_lines l ON l.venue = o.venue AND l.order_id = o.id
         WHERE o.venue = ?1 AND o.id = ?2 ORDER BY l.idx",
        &[&venue, &order],
        |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
    )?;
    let paid: i64 = lines.iter().map(|(_, _, amount)| amount).sum();
    let mut left = amount_cents;
    for (n, (show, idx, amount)) in lines.iter().enumerate() {
        let share = if n + 1 == lines.len() || paid == 0 {
            left
        } else {
            (i128::from(amount_cents) * i128::from(*amount) / i128::from(paid)) as i64
        };
        left -= share;
        sql.write(
            "UPDATE show_categories SET revenue_cents = revenue_cents - ?4
             WHERE venue = ?1 AND show_id = ?2 AND idx = ?3",
            &[&venue, show, idx, &share],
        )?;
    }
    Ok(())
}

/// Moves a show order from `from` to `to`; whether it was in `from` (and so moved).
fn move_order(
    sql: &mut Sql<'_>,
    venue: &str,
    order: &str,
    from: &str,
    to: &str,
    at: i64,
) -> Result<bool, DbError> {
    let moved = sql.execute(
        "UPDATE show_orders SET status = ?4, updated_ms = ?5
         WHERE venue = ?1 AND id = ?2 AND status = ?3",
        &[&venue, &order, &from, &to, &at],
    )?;
    Ok(moved == 1)
}
