//! The hub's SQLite schema: the event log, the read models built from it, and the quarantine.
//! Every table is created if missing, so an older hub database gains the newer read models. The
//! shows' tables start empty there, which is right: a hub without them could not read show events.

use rusqlite::Connection;

pub mod postgres;

/// Bumped whenever the schema changes; a hub refuses a database of another version.
pub const VERSION: i64 = 1;

const SCHEMA: &str = r#"
-- Every venue's events, exactly once: the envelope as the venue sent it.
CREATE TABLE IF NOT EXISTS events (
    venue       TEXT    NOT NULL,
    epoch       TEXT    NOT NULL,
    seq         INTEGER NOT NULL,
    type        TEXT    NOT NULL,
    time_ms     INTEGER NOT NULL,  -- commit time at the venue
    received_ms INTEGER NOT NULL,  -- commit time at the hub
    envelope    BLOB    NOT NULL,
    PRIMARY KEY (venue, epoch, seq)
) WITHOUT ROWID;

-- One row per venue: the stream the hub follows and how it stands.
CREATE TABLE IF NOT EXISTS venues (
    venue         TEXT PRIMARY KEY,
    epoch         TEXT    NOT NULL,
    last_seq      INTEGER NOT NULL,
    events        INTEGER NOT NULL,
    first_seen_ms INTEGER NOT NULL,
    last_seen_ms  INTEGER NOT NULL,
    last_event_ms INTEGER NOT NULL,  -- venue commit time of the newest stored event
    lag_ms        INTEGER NOT NULL,  -- venue commit to hub commit, for that event
    duplicates    INTEGER NOT NULL DEFAULT 0,
    gaps          INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS tickets (
    venue    TEXT NOT NULL,
    id       TEXT NOT NULL,
    title    TEXT NOT NULL,
    price    REAL NOT NULL,
    user_id  TEXT NOT NULL,
    order_id TEXT,
    version  INTEGER NOT NULL,
    PRIMARY KEY (venue, id)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS orders (
    venue      TEXT NOT NULL,
    id         TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    ticket_id  TEXT NOT NULL,
    price      REAL NOT NULL,
    status     TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    payment_id TEXT,
    version    INTEGER NOT NULL,
    created_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL,
    PRIMARY KEY (venue, id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS orders_by_status ON orders (venue, status);

CREATE TABLE IF NOT EXISTS payments (
    venue      TEXT NOT NULL,
    id         TEXT NOT NULL,
    order_id   TEXT NOT NULL,
    stripe_id  TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    PRIMARY KEY (venue, id)
) WITHOUT ROWID;

-- How each payment was taken (card or cash); a table of its own so that older databases gain it.
CREATE TABLE IF NOT EXISTS payment_methods (
    venue  TEXT NOT NULL,
    id     TEXT NOT NULL,
    method TEXT NOT NULL,
    PRIMARY KEY (venue, id)
) WITHOUT ROWID;

-- Payments given back at a venue's box office; the ticket stays sold.
CREATE TABLE IF NOT EXISTS refunds (
    venue        TEXT NOT NULL,
    payment_id   TEXT NOT NULL,
    order_id     TEXT NOT NULL,
    method       TEXT NOT NULL,
    amount_cents INTEGER NOT NULL,
    refunded_ms  INTEGER NOT NULL,
    PRIMARY KEY (venue, payment_id)
) WITHOUT ROWID;

-- A venue's shows: the details the hub keeps of each. `seat_rows` counts the rows of `show:seats`
-- events counted so far, so each row adds its seats to the capacities once.
CREATE TABLE IF NOT EXISTS shows (
    venue      TEXT    NOT NULL,
    id         TEXT    NOT NULL,
    title      TEXT    NOT NULL,
    starts_at  TEXT    NOT NULL,
    status     TEXT    NOT NULL,
    version    INTEGER NOT NULL,
    seat_rows  INTEGER NOT NULL,
    created_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL,
    PRIMARY KEY (venue, id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS shows_by_start ON shows (venue, starts_at);

-- A show's price categories, by their index in the show's list, with the units of each held by
-- open orders and sold, and the money paid for them less refunds.
CREATE TABLE IF NOT EXISTS show_categories (
    venue         TEXT    NOT NULL,
    show_id       TEXT    NOT NULL,
    idx           INTEGER NOT NULL,
    name          TEXT    NOT NULL,
    price         REAL    NOT NULL,
    capacity      INTEGER NOT NULL,
    held          INTEGER NOT NULL,
    sold          INTEGER NOT NULL,
    revenue_cents INTEGER NOT NULL,
    PRIMARY KEY (venue, show_id, idx)
) WITHOUT ROWID;

-- The orders of shows and where each stands (created, cancelled, complete, refunded): every rule
-- moves an order only from the state it expects, so the counts move once per order.
CREATE TABLE IF NOT EXISTS show_orders (
    venue      TEXT    NOT NULL,
    id         TEXT    NOT NULL,
    show_id    TEXT    NOT NULL,
    status     TEXT    NOT NULL,
    created_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL,
    PRIMARY KEY (venue, id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS show_orders_by_show ON show_orders (venue, show_id, status);

-- What each show order holds, per category: how many units and their price in cents.
CREATE TABLE IF NOT EXISTS show_order_lines (
    venue        TEXT    NOT NULL,
    order_id     TEXT    NOT NULL,
    idx          INTEGER NOT NULL,
    tickets      INTEGER NOT NULL,
    amount_cents INTEGER NOT NULL,
    PRIMARY KEY (venue, order_id, idx)
) WITHOUT ROWID;

-- The keys each venue signs its passes with (`pass:key`), newest last.
CREATE TABLE IF NOT EXISTS pass_keys (
    venue      TEXT    NOT NULL,
    key_id     TEXT    NOT NULL,
    public_key TEXT    NOT NULL,
    since_ms   INTEGER NOT NULL,
    PRIMARY KEY (venue, key_id)
) WITHOUT ROWID;

-- Tickets let in at a venue's door, one row per ticket (its first admission): a show's attendance.
CREATE TABLE IF NOT EXISTS admissions (
    venue       TEXT    NOT NULL,
    ticket_id   TEXT    NOT NULL,
    order_id    TEXT    NOT NULL,
    show_id     TEXT,
    gate        TEXT    NOT NULL,
    admitted_at TEXT    NOT NULL,
    offline     INTEGER NOT NULL,
    PRIMARY KEY (venue, ticket_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS admissions_by_show ON admissions (venue, show_id);

-- What was refused, kept for an operator to look at rather than dropped.
CREATE TABLE IF NOT EXISTS quarantine (
    id          INTEGER PRIMARY KEY,
    received_ms INTEGER NOT NULL,
    topic       TEXT    NOT NULL,
    reason      TEXT    NOT NULL,
    detail      TEXT    NOT NULL,
    venue       TEXT,
    epoch       TEXT,
    seq         INTEGER,
    size        INTEGER NOT NULL,
    payload     BLOB    NOT NULL   -- at most the first 4096 bytes
);
CREATE UNIQUE INDEX IF NOT EXISTS quarantine_once
    ON quarantine (reason, venue, epoch, seq) WHERE seq IS NOT NULL;
-- The quarantine keeps a bounded number of rows per sending venue (its events topic; refusals on a
-- topic naming no venue share one bucket): these find a bucket's oldest rows.
CREATE INDEX IF NOT EXISTS quarantine_by_topic ON quarantine (topic, id);
CREATE INDEX IF NOT EXISTS quarantine_by_reason ON quarantine (reason, id);

-- Every refused message, counted per sending venue ('' when the topic names none) and reason,
-- including those whose rows the cap has since deleted.
CREATE TABLE IF NOT EXISTS quarantine_counts (
    venue   TEXT    NOT NULL,
    reason  TEXT    NOT NULL,
    count   INTEGER NOT NULL,
    last_ms INTEGER NOT NULL,
    PRIMARY KEY (venue, reason)
) WITHOUT ROWID;

-- Each adoption of a venue's new epoch (its stores were recreated), with where the old stream
-- ended; the old epoch's events stay in `events`.
CREATE TABLE IF NOT EXISTS venue_epochs (
    venue             TEXT    NOT NULL,
    epoch             TEXT    NOT NULL,
    adopted_ms        INTEGER NOT NULL,
    previous_epoch    TEXT    NOT NULL,
    previous_last_seq INTEGER NOT NULL,
    PRIMARY KEY (venue, epoch)
) WITHOUT ROWID;
"#;

/// Opens the hub's database for writing: WAL, `synchronous=FULL` (an acknowledged event survives
/// power loss), the schema in place.
pub fn open_writer(path: &std::path::Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    let version: i64 = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
    if version != 0 && version != VERSION {
        return Err(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_MISMATCH),
            Some(format!(
                "hub database has schema version {version}; this hub knows {VERSION}"
            )),
        ));
    }
    conn.execute_batch(SCHEMA)?;
    conn.pragma_update(None, "user_version", VERSION)?;
    Ok(conn)
}

/// Opens the database for reading (the HTTP API); WAL lets it read while the ledger writes.
pub fn open_reader(path: &std::path::Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    Ok(conn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_database_from_before_the_shows_gains_their_tables_and_keeps_its_rows() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hub.sqlite3");
        let old = open_writer(&path).unwrap();
        old.execute_batch(
            "DROP TABLE shows; DROP TABLE show_categories; DROP TABLE show_orders;
             DROP TABLE show_order_lines;
             INSERT INTO refunds VALUES ('venue-a', 'p', 'o', 'cash', 100, 1);",
        )
        .unwrap();
        drop(old);
        let conn = open_writer(&path).unwrap();
        let tables: i64 = conn
            .query_row(
                "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name IN
                    ('shows', 'show_categories', 'show_orders', 'show_order_lines')",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(tables, 4);
        let refunds: i64 = conn
            .query_row("SELECT COUNT(*) FROM refunds", [], |r| r.get(0))
            .unwrap();
        assert_eq!(refunds, 1);
    }
}
