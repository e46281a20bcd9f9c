//! The hub's read side: what the chain's operators see, queried from its database.

use crate::db::{DbError, Sql};
use serde_json::{Value, json};

use tix_core::time::Millis;

fn iso(ms: i64) -> String {
    Millis(ms.max(0) as u64).to_iso()
}

/// Every venue the hub follows, with its stream's state and its sales.
pub fn venues(sql: &mut Sql<'_>) -> Result<Vec<Value>, DbError> {
    let mut venues = sql.query(
        "SELECT v.venue, v.epoch, v.last_seq, v.events, v.first_seen_ms, v.last_seen_ms,
                v.last_event_ms, v.lag_ms, v.duplicates, v.gaps,
                (SELECT COUNT(*) FROM orders o WHERE o.venue = v.venue AND o.status = 'complete'),
                (SELECT COALESCE(SUM(price), 0) FROM orders o
                    WHERE o.venue = v.venue AND o.status = 'complete')
         FROM venues v ORDER BY v.venue",
        &[],
        |row| {
            Ok(json!({
                "venue": row.get::<String>(0)?,
                "epoch": row.get::<String>(1)?,
                "lastSeq": row.get::<i64>(2)?,
                "events": row.get::<i64>(3)?,
                "firstSeenAt": iso(row.get(4)?),
                "lastSeenAt": iso(row.get(5)?),
                "lastEventAt": iso(row.get(6)?),
                "lagMs": row.get::<i64>(7)?,
                "duplicates": row.get::<i64>(8)?,
                "gaps": row.get::<i64>(9)?,
                "sales": { "orders": row.get::<i64>(10)?, "revenue": row.get::<f64>(11)? },
            }))
        },
    )?;
    for venue in &mut venues {
        let name = venue["venue"].as_str().unwrap_or_default().to_owned();
        let found = sql.query(
            "SELECT key_id, public_key FROM pass_keys WHERE venue = ?1
             ORDER BY since_ms DESC, key_id",
            &[&name],
            |row| Ok(json!({"keyId": row.get::<String>(0)?, "publicKey": row.get::<String>(1)?})),
        )?;
        venue["passKeys"] = Value::Array(found);
    }
    // Epochs the venue sent that the hub does not follow: a venue whose stores were recreated,
    // waiting to be adopted.
    for venue in &mut venues {
        let name = venue["venue"].as_str().unwrap_or_default().to_owned();
        let epoch = venue["epoch"].as_str().unwrap_or_default().to_owned();
        let found = sql.query(
            "SELECT epoch, COUNT(*) FROM quarantine
             WHERE venue = ?1 AND reason = 'epoch' AND epoch IS NOT NULL AND epoch != ?2
               AND epoch NOT IN (SELECT previous_epoch FROM venue_epochs WHERE venue = ?1)
             GROUP BY epoch ORDER BY MAX(id) DESC",
            &[&name, &epoch],
            |row| Ok(json!({"epoch": row.get::<String>(0)?, "messages": row.get::<i64>(1)?})),
        )?;
        venue["pendingEpochs"] = Value::Array(found);
    }
    Ok(venues)
}

/// A venue's stored envelopes with `seq > after`, in order (of the epoch the hub follows).
/// `None` if the hub does not know the venue.
pub fn events(
    sql: &mut Sql<'_>,
    venue: &str,
    after: u64,
    limit: u64,
) -> Result<Option<Vec<Value>>, DbError> {
    let epoch: Option<String> = sql.query_opt(
        "SELECT epoch FROM venues WHERE venue = ?1",
        &[&venue],
        |row| row.get(0),
    )?;
    let Some(epoch) = epoch else {
        return Ok(None);
    };
    sql.query(
        "SELECT envelope FROM events WHERE venue = ?1 AND epoch = ?2 AND seq > ?3
         ORDER BY seq LIMIT ?4",
        &[&venue, &epoch, &(after as i64), &(limit as i64)],
        |row| {
            let bytes: Vec<u8> = row.get(0)?;
            // Stored envelopes were validated on the way in; an unreadable one is shown as text.
            Ok(serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned())))
        },
    )
    .map(Some)
}

/// Sales per venue and for the whole chain: completed orders and revenue, plus open and
/// cancelled orders.
pub fn sales(sql: &mut Sql<'_>) -> Result<Value, DbError> {
    let mut total = (0i64, 0f64, 0i64, 0i64);
    let rows = sql.query(
        "SELECT venue,
                COUNT(*) FILTER (WHERE status = 'complete'),
                COALESCE(SUM(price) FILTER (WHERE status = 'complete'), 0),
                COUNT(*) FILTER (WHERE status IN ('created', 'awaiting:payment')),
                COUNT(*) FILTER (WHERE status = 'cancelled')
         FROM orders GROUP BY venue ORDER BY venue",
        &[],
        |row| {
            Ok((
                row.get::<String>(0)?,
                row.get::<i64>(1)?,
                row.get::<f64>(2)?,
                row.get::<i64>(3)?,
                row.get::<i64>(4)?,
            ))
        },
    )?;
    let venues: Vec<Value> = rows
        .into_iter()
        .map(|(venue, sold, revenue, open, cancelled)| {
            total = (
                total.0 + sold,
                total.1 + revenue,
                total.2 + open,
                total.3 + cancelled,
            );
            json!({ "venue": venue, "ordersComplete": sold, "revenue": revenue,
                    "ordersOpen": open, "ordersCancelled": cancelled })
        })
        .collect();
    Ok(json!({
        "venues": venues,
        "total": { "ordersComplete": total.0, "revenue": total.1,
                   "ordersOpen": total.2, "ordersCancelled": total.3 },
    }))
}

/// Tickets as the hub knows them, of one venue or of all, in (venue, id) order, `limit` from
/// `offset`.
pub fn tickets(
    sql: &mut Sql<'_>,
    venue: Option<&str>,
    limit: u64,
    offset: u64,
) -> Result<Vec<Value>, DbError> {
    sql.query(
        "SELECT id, title, price, user_id, order_id, version, venue FROM tickets
         WHERE (CAST(?1 AS TEXT) IS NULL OR venue = ?1) ORDER BY venue, id LIMIT ?2 OFFSET ?3",
        &[&venue, &(limit as i64), &(offset as i64)],
        |row| {
            Ok(json!({
                "venue": row.get::<String>(6)?,
                "id": row.get::<String>(0)?,
                "title": row.get::<String>(1)?,
                "price": row.get::<f64>(2)?,
                "userId": row.get::<String>(3)?,
                "orderId": row.get::<Option<String>>(4)?,
                "version": row.get::<i64>(5)?,
            }))
        },
    )
}

/// Orders as the hub knows them, of one venue or of all, optionally of one status, in
/// (venue, id) order.
pub fn orders(
    sql: &mut Sql<'_>,
    venue: Option<&str>,
    status: Option<&str>,
    limit: u64,
    offset: u64,
) -> Result<Vec<Value>, DbError> {
    sql.query(
        "SELECT id, user_id, ticket_id, price, status, expires_at, payment_id, version, venue
         FROM orders
         WHERE (CAST(?1 AS TEXT) IS NULL OR venue = ?1)
           AND (CAST(?2 AS TEXT) IS NULL OR status = ?2)
         ORDER BY venue, id LIMIT ?3 OFFSET ?4",
        &[&venue, &status, &(limit as i64), &(offset as i64)],
        |row| {
            Ok(json!({
                "venue": row.get::<String>(8)?,
                "id": row.get::<String>(0)?,
                "userId": row.get::<String>(1)?,
                "ticket": { "id": row.get::<String>(2)?, "price": row.get::<f64>(3)? },
                "status": row.get::<String>(4)?,
                "expiresAt": row.get::<String>(5)?,
                "paymentId": row.get::<Option<String>>(6)?,
                "version": row.get::<i64>(7)?,
            }))
        },
    )
}

/// A venue's shows, soonest first, each with its categories; `None` if the hub does not know the
/// venue.
pub fn shows(
    sql: &mut Sql<'_>,
    venue: &str,
    limit: u64,
    offset: u64,
) -> Result<Option<Vec<Value>>, DbError> {
    if !known_venue(sql, venue)? {
        return Ok(None);
    }
    let ids: Vec<String> = sql.query(
        "SELECT id FROM shows WHERE venue = ?1 ORDER BY starts_at, id LIMIT ?2 OFFSET ?3",
        &[&venue, &(limit as i64), &(offset as i64)],
        |row| row.get(0),
    )?;
    let mut shows = Vec::with_capacity(ids.len());
    for id in ids {
        shows.extend(show(sql, venue, &id)?);
    }
    Ok(Some(shows))
}

/// One show of a venue with its categories: capacity, held, sold, available and revenue (paid
/// less refunded) of each, the show's revenue, and how many tickets were let in at the door.
pub fn show(sql: &mut Sql<'_>, venue: &str, id: &str) -> Result<Option<Value>, DbError> {
    let show = sql.query_opt(
        "SELECT title, starts_at, status, version FROM shows WHERE venue = ?1 AND id = ?2",
        &[&venue, &id],
        |row| {
            Ok((
                row.get::<String>(0)?,
                row.get::<String>(1)?,
                row.get::<String>(2)?,
                row.get::<i64>(3)?,
            ))
        },
    )?;
    let Some((title, starts_at, status, version)) = show else {
        return Ok(None);
    };
    let mut revenue_cents = 0;
    let categories = sql
        .query(
            "SELECT name, price, capacity, held, sold, revenue_cents FROM show_categories
             WHERE venue = ?1 AND show_id = ?2 ORDER BY idx",
            &[&venue, &id],
            |row| {
                let (capacity, held, sold): (i64, i64, i64) =
                    (row.get(2)?, row.get(3)?, row.get(4)?);
                let revenue: i64 = row.get(5)?;
                Ok((
                    revenue,
                    json!({
                        "name": row.get::<String>(0)?,
                        "price": row.get::<f64>(1)?,
                    "capacity": capacity,
                    "held": held,
                    "sold": sold,
                    "available": capacity - held - sold,
                        "revenue": money(revenue),
                    }),
                ))
            },
        )?
        .into_iter()
        .map(|(revenue, json)| {
            revenue_cents += revenue;
            json
        })
        .collect::<Vec<Value>>();
    let admitted: i64 = sql.query_one(
        "SELECT COUNT(*) FROM admissions WHERE venue = ?1 AND show_id = ?2",
        &[&venue, &id],
        |row| row.get(0),
    )?;
    Ok(Some(json!({
        "venue": venue,
        "id": id,
        "title": title,
        "startsAt": starts_at,
        "status": status,
        "version": version,
        "categories": categories,
        "revenue": money(revenue_cents),
        "admitted": admitted,
    })))
}

fn known_venue(sql: &mut Sql<'_>, venue: &str) -> Result<bool, DbError> {
    let found = sql.query_opt("SELECT 1 FROM venues WHERE venue = ?1", &[&venue], |_| {
        Ok(())
    })?;
    Ok(found.is_some())
}

/// Cents as the hub's other amounts are shown: a number of the currency's units.
fn money(cents: i64) -> f64 {
    cents as f64 / 100.0
}

/// Refused messages, newest first, with what of their payload was kept.
pub fn quarantine(sql: &mut Sql<'_>, limit: u64) -> Result<Vec<Value>, DbError> {
    sql.query(
        "SELECT id, received_ms, topic, reason, detail, venue, epoch, seq, size, payload
         FROM quarantine ORDER BY id DESC LIMIT ?1",
        &[&(limit as i64)],
        |row| {
            let payload: Vec<u8> = row.get(9)?;
            Ok(json!({
                "id": row.get::<i64>(0)?,
                "receivedAt": iso(row.get(1)?),
                "topic": row.get::<String>(2)?,
                "reason": row.get::<String>(3)?,
                "detail": row.get::<String>(4)?,
                "venue": row.get::<Option<String>>(5)?,
                "epoch": row.get::<Option<String>>(6)?,
                "seq": row.get::<Option<i64>>(7)?,
                "size": row.get::<i64>(8)?,
                "payload": String::from_utf8_lossy(&payload),
            }))
        },
    )
}

/// Paid orders and their revenue per UTC day (of the payment) and venue, since `since_ms`, newest
/// day first.
pub fn sales_daily(sql: &mut Sql<'_>, since_ms: u64) -> Result<Vec<Value>, DbError> {
    sql.query(
        "SELECT updated_ms / ?2 AS day, venue, COUNT(*), COALESCE(SUM(price), 0)
         FROM orders WHERE status = 'complete' AND updated_ms >= ?1
         GROUP BY day, venue ORDER BY day DESC, venue",
        &[&(since_ms as i64), &DAY_MS],
        |row| {
            Ok(json!({
                "day": day(row.get(0)?),
                "venue": row.get::<String>(1)?,
                "orders": row.get::<i64>(2)?,
                "revenue": row.get::<f64>(3)?,
            }))
        },
    )
}

const DAY_MS: i64 = 86_400_000;

/// A UTC day, counted from 1970-01-01, as `YYYY-MM-DD`.
fn day(days: i64) -> String {
    let mut iso = iso(days * DAY_MS);
    iso.truncate(10);
    iso
}

/// How many messages each venue had refused, per reason (rows past the quarantine's cap included);
/// `venue` is null for topics that name no venue.
pub fn quarantine_counts(sql: &mut Sql<'_>) -> Result<Vec<Value>, DbError> {
    sql.query(
        "SELECT venue, reason, count, last_ms FROM quarantine_counts ORDER BY venue, reason",
        &[],
        |row| {
            let venue: String = row.get(0)?;
            Ok(json!({
                "venue": if venue.is_empty() { None } else { Some(venue) },
                "reason": row.get::<String>(1)?,
                "count": row.get::<i64>(2)?,
                "lastAt": iso(row.get(3)?),
            }))
        },
    )
}
