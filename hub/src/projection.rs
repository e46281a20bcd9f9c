//! The hub's read models (tickets, orders, payments, payment methods, refunds, shows and their
//! attendance per venue),
//! kept by projecting each stored event in the same transaction that stores it, so the models never
//! run ahead of or behind the ledger.

use crate::db::{DbError, Sql};

use tix_core::events::DomainEvent;
use tix_sync::protocol::Envelope;

mod shows;

/// Updates the read models from one stored event.
pub(crate) fn project(sql: &mut Sql<'_>, envelope: &Envelope) -> Result<(), DbError> {
    let venue = envelope.venue.as_str();
    let at = envelope.event.at as i64;
    match &envelope.event.event {
        DomainEvent::TicketCreated(t) | DomainEvent::TicketUpdated(t) => {
            sql.write(
                "INSERT INTO tickets (venue, id, title, price, user_id, order_id, version)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT (venue, id) DO UPDATE SET title = excluded.title,
                    price = excluded.price, user_id = excluded.user_id,
                    order_id = excluded.order_id, version = excluded.version",
                &[
                    &venue,
                    &t.id.to_string(),
                    &t.title,
                    &t.price,
                    &t.user_id.to_string(),
                    &t.order_id.map(|o| o.to_string()),
                    &(t.version as i64),
                ],
            )?;
        }
        DomainEvent::OrderCreated(o) => {
            sql.write(
                "INSERT INTO orders (venue, id, user_id, ticket_id, price, status,
                    expires_at, payment_id, version, created_ms, updated_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, NULL, ?8, ?9, ?9)
                 ON CONFLICT (venue, id) DO UPDATE SET user_id = excluded.user_id,
                    ticket_id = excluded.ticket_id, price = excluded.price,
                    status = excluded.status, expires_at = excluded.expires_at,
                    payment_id = NULL, version = excluded.version,
                    created_ms = excluded.created_ms, updated_ms = excluded.updated_ms",
                &[
                    &venue,
                    &o.id.to_string(),
                    &o.user_id.to_string(),
                    &o.ticket.id.to_string(),
                    // What the order costs: a show order's total, a listing's price.
                    &o.show.as_ref().map_or(o.ticket.price, |part| part.total),
                    &o.status.as_str(),
                    &o.expires_at,
                    &(o.version as i64),
                    &at,
                ],
            )?;
            if let Some(part) = &o.show {
                shows::order_created(sql, venue, o.id, part, at)?;
            }
        }
        DomainEvent::OrderCancelled(o) => {
            sql.write(
                "UPDATE orders SET status = 'cancelled', version = ?3, updated_ms = ?4
                 WHERE venue = ?1 AND id = ?2",
                &[&venue, &o.id.to_string(), &(o.version as i64), &at],
            )?;
            if o.show.is_some() {
                shows::order_cancelled(sql, venue, o.id, at)?;
            }
        }
        DomainEvent::OrderCompleted(o) => {
            sql.write(
                "UPDATE orders SET status = 'complete', version = ?3, updated_ms = ?4,
                    payment_id = ?5
                 WHERE venue = ?1 AND id = ?2",
                &[
                    &venue,
                    &o.id.to_string(),
                    &(o.version as i64),
                    &at,
                    &o.payment_id.to_string(),
                ],
            )?;
            if o.show.is_some() {
                shows::order_completed(sql, venue, o.id, at)?;
            }
        }
        DomainEvent::PaymentCreated(p) => {
            sql.write(
                "INSERT INTO payments (venue, id, order_id, stripe_id, created_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (venue, id) DO UPDATE SET order_id = excluded.order_id,
                    stripe_id = excluded.stripe_id, created_ms = excluded.created_ms",
                &[
                    &venue,
                    &p.id.to_string(),
                    &p.order_id.to_string(),
                    &p.stripe_id,
                    &at,
                ],
            )?;
            sql.write(
                "INSERT INTO payment_methods (venue, id, method) VALUES (?1, ?2, ?3)
                 ON CONFLICT (venue, id) DO UPDATE SET method = excluded.method",
                &[&venue, &p.id.to_string(), &p.method.as_str()],
            )?;
        }
        DomainEvent::PaymentRefunded(r) => {
            sql.write(
                "INSERT INTO refunds (venue, payment_id, order_id, method, amount_cents, refunded_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (venue, payment_id) DO UPDATE SET order_id = excluded.order_id,
                    method = excluded.method, amount_cents = excluded.amount_cents,
                    refunded_ms = excluded.refunded_ms",
                &[
                    &venue,
                    &r.id.to_string(),
                    &r.order_id.to_string(),
                    &r.method.as_str(),
                    &r.amount_cents,
                    &at,
                ],
            )?;
            shows::refunded(sql, venue, r.order_id, r.amount_cents, at)?;
        }
        DomainEvent::ShowCreated(s) => shows::created(sql, venue, s, at)?,
        DomainEvent::ShowSeats(s) => shows::seats(sql, venue, s, at)?,
        DomainEvent::ShowUpdated(s) => shows::updated(sql, venue, s, at)?,
        DomainEvent::PassKey(k) => {
            sql.write(
                "INSERT INTO pass_keys (venue, key_id, public_key, since_ms)
                 VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT DO NOTHING",
                &[&venue, &k.key_id, &k.public_key, &at],
            )?;
        }
        DomainEvent::TicketAdmitted(a) => {
            sql.write(
                "INSERT INTO admissions
                    (venue, ticket_id, order_id, show_id, gate, admitted_at, offline)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT DO NOTHING",
                &[
                    &venue,
                    &a.ticket_id.to_string(),
                    &a.order_id.to_string(),
                    &a.show_id.map(|s| s.to_string()),
                    &a.gate,
                    &a.admitted_at,
                    &a.offline,
                ],
            )?;
        }
        // Users stay at their venue (the hub keeps only the event); expiry shows up as the order's
        // cancellation that follows it.
        DomainEvent::UserCreated(_) | DomainEvent::ExpirationComplete(_) => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests;
