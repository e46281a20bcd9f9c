//! The hub's PostgreSQL schema: the same tables as SQLite's (see `schema`), typed for PostgreSQL,
//! plus what several hub instances share (their heartbeats, the API token).
//!
//! Invariants: the schema is created and migrated by the hub itself, one step per version, each
//! step and the version that records it in one transaction, under an advisory lock, so that
//! instances starting together migrate once; a hub refuses a database of a newer version than it
//! knows. Integers are `BIGINT` and reals `DOUBLE PRECISION` throughout (what SQLite's `INTEGER`
//! and `REAL` hold), and text compares byte by byte (`COLLATE "C"`, as SQLite's does), so that
//! every list comes in the same order from either engine whatever the database's locale.

use crate::db::{DbError, Sql};

/// An arbitrary key for `pg_advisory_xact_lock`: the hub's migrations, one at a time.
const MIGRATION_LOCK: i64 = 0x0074_6978_5f68_7562; // "tix_hub" in ASCII

/// Step N brings the schema from version N to N + 1.
const STEPS: &[&str] = &[V1];

const V1: &str = r#"
CREATE TABLE events (
    venue       TEXT COLLATE "C"   NOT NULL,
    epoch       TEXT COLLATE "C"   NOT NULL,
    seq         BIGINT NOT NULL,
    type        TEXT COLLATE "C"   NOT NULL,
    time_ms     BIGINT NOT NULL,
    received_ms BIGINT NOT NULL,
    envelope    BYTEA  NOT NULL,
    PRIMARY KEY (venue, epoch, seq)
);

CREATE TABLE venues (
    venue         TEXT COLLATE "C" PRIMARY KEY,
    epoch         TEXT COLLATE "C"   NOT NULL,
    last_seq      BIGINT NOT NULL,
    events        BIGINT NOT NULL,
    first_seen_ms BIGINT NOT NULL,
    last_seen_ms  BIGINT NOT NULL,
    last_event_ms BIGINT NOT NULL,
    lag_ms        BIGINT NOT NULL,
    duplicates    BIGINT NOT NULL DEFAULT 0,
    gaps          BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE tickets (
    venue    TEXT COLLATE "C" NOT NULL,
    id       TEXT COLLATE "C" NOT NULL,
    title    TEXT COLLATE "C" NOT NULL,
    price    DOUBLE PRECISION NOT NULL,
    user_id  TEXT COLLATE "C" NOT NULL,
    order_id TEXT COLLATE "C",
    version  BIGINT NOT NULL,
    PRIMARY KEY (venue, id)
);

CREATE TABLE orders (
    venue      TEXT COLLATE "C" NOT NULL,
    id         TEXT COLLATE "C" NOT NULL,
    user_id    TEXT COLLATE "C" NOT NULL,
    ticket_id  TEXT COLLATE "C" NOT NULL,
    price      DOUBLE PRECISION NOT NULL,
    status     TEXT COLLATE "C" NOT NULL,
    expires_at TEXT COLLATE "C" NOT NULL,
    payment_id TEXT COLLATE "C",
    version    BIGINT NOT NULL,
    created_ms BIGINT NOT NULL,
    updated_ms BIGINT NOT NULL,
    PRIMARY KEY (venue, id)
);
CREATE INDEX orders_by_status ON orders (venue, status);

CREATE TABLE payments (
    venue      TEXT COLLATE "C" NOT NULL,
    id         TEXT COLLATE "C" NOT NULL,
    order_id   TEXT COLLATE "C" NOT NULL,
    stripe_id  TEXT COLLATE "C" NOT NULL,
    created_ms BIGINT NOT NULL,
    PRIMARY KEY (venue, id)
);

CREATE TABLE payment_methods (
    venue  TEXT COLLATE "C" NOT NULL,
    id     TEXT COLLATE "C" NOT NULL,
    method TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (venue, id)
);

CREATE TABLE refunds (
    venue        TEXT COLLATE "C"   NOT NULL,
    payment_id   TEXT COLLATE "C"   NOT NULL,
    order_id     TEXT COLLATE "C"   NOT NULL,
    method       TEXT COLLATE "C"   NOT NULL,
    amount_cents BIGINT NOT NULL,
    refunded_ms  BIGINT NOT NULL,
    PRIMARY KEY (venue, payment_id)
);

CREATE TABLE shows (
    venue      TEXT COLLATE "C"   NOT NULL,
    id         TEXT COLLATE "C"   NOT NULL,
    title      TEXT COLLATE "C"   NOT NULL,
    starts_at  TEXT COLLATE "C"   NOT NULL,
    status     TEXT COLLATE "C"   NOT NULL,
    version    BIGINT NOT NULL,
    seat_rows  BIGINT NOT NULL,
    created_ms BIGINT NOT NULL,
    updated_ms BIGINT NOT NULL,
    PRIMARY KEY (venue, id)
);
CREATE INDEX shows_by_start ON shows (venue, starts_at);

CREATE TABLE show_categories (
    venue         TEXT COLLATE "C"   NOT NULL,
    show_id       TEXT COLLATE "C"   NOT NULL,
    idx           BIGINT NOT NULL,
    name          TEXT COLLATE "C"   NOT NULL,
    price         DOUBLE PRECISION NOT NULL,
    capacity      BIGINT NOT NULL,
    held          BIGINT NOT NULL,
    sold          BIGINT NOT NULL,
    revenue_cents BIGINT NOT NULL,
    PRIMARY KEY (venue, show_id, idx)
);

CREATE TABLE show_orders (
    venue      TEXT COLLATE "C"   NOT NULL,
    id         TEXT COLLATE "C"   NOT NULL,
    show_id    TEXT COLLATE "C"   NOT NULL,
    status     TEXT COLLATE "C"   NOT NULL,
    created_ms BIGINT NOT NULL,
    updated_ms BIGINT NOT NULL,
    PRIMARY KEY (venue, id)
);
CREATE INDEX show_orders_by_show ON show_orders (venue, show_id, status);

CREATE TABLE show_order_lines (
    venue        TEXT COLLATE "C"   NOT NULL,
    order_id     TEXT COLLATE "C"   NOT NULL,
    idx          BIGINT NOT NULL,
    tickets      BIGINT NOT NULL,
    amount_cents BIGINT NOT NULL,
    PRIMARY KEY (venue, order_id, idx)
);

CREATE TABLE pass_keys (
    venue      TEXT COLLATE "C"   NOT NULL,
    key_id     TEXT COLLATE "C"   NOT NULL,
    public_key TEXT COLLATE "C"   NOT NULL,
    since_ms   BIGINT NOT NULL,
    PRIMARY KEY (venue, key_id)
);

CREATE TABLE admissions (
    venue       TEXT COLLATE "C"   NOT NULL,
    ticket_id   TEXT COLLATE "C"   NOT NULL,
    order_id    TEXT COLLATE "C"   NOT NULL,
    show_id     TEXT COLLATE "C",
    gate        TEXT COLLATE "C"   NOT NULL,
    admitted_at TEXT COLLATE "C"   NOT NULL,
    offline     BIGINT NOT NULL,
    PRIMARY KEY (venue, ticket_id)
);
CREATE INDEX admissions_by_show ON admissions (venue, show_id);

CREATE TABLE quarantine (
    id          BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    received_ms BIGINT NOT NULL,
    topic       TEXT COLLATE "C"   NOT NULL,
    reason      TEXT COLLATE "C"   NOT NULL,
    detail      TEXT COLLATE "C"   NOT NULL,
    venue       TEXT COLLATE "C",
    epoch       TEXT COLLATE "C",
    seq         BIGINT,
    size        BIGINT NOT NULL,
    payload     BYTEA  NOT NULL
);
CREATE UNIQUE INDEX quarantine_once
    ON quarantine (reason, venue, epoch, seq) WHERE seq IS NOT NULL;
CREATE INDEX quarantine_by_topic ON quarantine (topic, id);
CREATE INDEX quarantine_by_reason ON quarantine (reason, id);

CREATE TABLE quarantine_counts (
    venue   TEXT COLLATE "C"   NOT NULL,
    reason  TEXT COLLATE "C"   NOT NULL,
    count   BIGINT NOT NULL,
    last_ms BIGINT NOT NULL,
    PRIMARY KEY (venue, reason)
);

CREATE TABLE venue_epochs (
    venue             TEXT COLLATE "C"   NOT NULL,
    epoch             TEXT COLLATE "C"   NOT NULL,
    adopted_ms        BIGINT NOT NULL,
    previous_epoch    TEXT COLLATE "C"   NOT NULL,
    previous_last_seq BIGINT NOT NULL,
    PRIMARY KEY (venue, epoch)
);

-- The hub instances sharing this database: each beats here while it runs; the venues are shared
-- among those that beat recently (see `membership`).
CREATE TABLE hub_instances (
    instance   TEXT COLLATE "C" PRIMARY KEY,
    started_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    beat_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Secrets all instances share: the API token, made by the first instance that needs it.
CREATE TABLE hub_secrets (
    name  TEXT COLLATE "C" PRIMARY KEY,
    value TEXT COLLATE "C" NOT NULL
);
"#;

/// This hub's schema version on PostgreSQL.
pub fn version() -> i64 {
    STEPS.len() as i64
}

/// Creates the schema or brings it to this hub's version; one transaction (the caller's).
pub(crate) fn migrate(sql: &mut Sql<'_>) -> Result<(), DbError> {
    sql.query_one(
        "SELECT pg_advisory_xact_lock(?1)",
        &[&MIGRATION_LOCK],
        |_| Ok(()),
    )?;
    sql.batch("CREATE TABLE IF NOT EXISTS hub_schema (version BIGINT NOT NULL)")?;
    let found: Option<i64> = sql.query_opt("SELECT version FROM hub_schema", &[], |r| r.get(0))?;
    let at = found.unwrap_or(0);
    if at > version() {
        return Err(DbError::Schema(format!(
            "the hub database has schema version {at}; this hub knows {}",
            version()
        )));
    }
    for step in &STEPS[at as usize..] {
        sql.batch(step)?;
    }
    if found.is_none() {
        sql.execute(
            "INSERT INTO hub_schema (version) VALUES (?1)",
            &[&version()],
        )?;
    } else {
        sql.execute("UPDATE hub_schema SET version = ?1", &[&version()])?;
    }
    Ok(())
}
