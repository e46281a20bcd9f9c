//! `tix-hub migrate --from FILE`: a SQLite hub's whole database copied into PostgreSQL, the way
//! from one hub to several.
//!
//! Invariants:
//! - All or nothing: the copy is one PostgreSQL transaction, committed only after every table's
//!   row count matched its source's.
//! - Nothing is overwritten: the target must hold no venue and no event yet.
//! - The source is only read (opened read-only, of this hub's schema version); the hub that uses
//!   it must be stopped, or the copy is of one moment and what it stores later stays behind.
//! - Rows are copied as they are, column by column by name, the quarantine's ids included (its id
//!   sequence then continues after them).

use std::path::Path;

use anyhow::{Context, bail};
use rusqlite::types::Value;

use crate::db::{Db, DbError, Location, Param, Sql, ToParam};
use crate::schema;

/// Every table of the ledger and its read models, in the order they are copied.
const TABLES: &[&str] = &[
    "venues",
    "events",
    "tickets",
    "orders",
    "payments",
    "payment_methods",
    "refunds",
    "shows",
    "show_categories",
    "show_orders",
    "show_order_lines",
    "pass_keys",
    "admissions",
    "quarantine",
    "quarantine_counts",
    "venue_epochs",
];

/// Copies the SQLite database at `from` into the PostgreSQL database at `to`; answers what to
/// tell the operator.
pub fn migrate_command(from: &Path, to: &Location) -> anyhow::Result<String> {
    if !matches!(to, Location::Postgres(_)) {
        bail!("--db must be a postgres:// URL to migrate into (it is {to})");
    }
    if !from.exists() {
        bail!("{} does not exist", from.display());
    }
    let source =
        schema::open_reader(from).with_context(|| format!("opening {}", from.display()))?;
    let version: i64 = source.pragma_query_value(None, "user_version", |row| row.get(0))?;
    if version != schema::VERSION {
        bail!(
            "{} has schema version {version}; this hub copies version {}",
            from.display(),
            schema::VERSION
        );
    }
    let mut target = Db::new(to.clone())
        .open_writer()
        .with_context(|| format!("opening {to}"))?;
    let copied = target
        .transaction(|sql| copy_all(&source, sql))
        .with_context(|| format!("copying {} into {to}", from.display()))?;
    let summary: Vec<String> = copied.iter().map(|(t, n)| format!("{t} {n}")).collect();
    Ok(format!(
        "copied {} into {to}: {}",
        from.display(),
        summary.join(", ")
    ))
}

/// Why a copy stopped.
#[derive(Debug, thiserror::Error)]
enum CopyError {
    #[error("the target already holds {0} venues and {1} events; migrate only into an empty hub")]
    NotEmpty(i64, i64),
    #[error("table {table}: {copied} rows copied, {in_source} in the source")]
    Count {
        table: &'static str,
        copied: i64,
        in_source: i64,
    },
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("reading the source: {0}")]
    Source(#[from] rusqlite::Error),
}

fn copy_all(
    source: &rusqlite::Connection,
    sql: &mut Sql<'_>,
) -> Result<Vec<(&'static str, i64)>, CopyError> {
    let (venues, events) = sql.query_one(
        "SELECT (SELECT COUNT(*) FROM venues), (SELECT COUNT(*) FROM events)",
        &[],
        |row| Ok((row.get::<i64>(0)?, row.get::<i64>(1)?)),
    )?;
    if venues + events > 0 {
        return Err(CopyError::NotEmpty(venues, events));
    }
    let mut copied = Vec::new();
    for &table in TABLES {
        let rows = copy_table(source, sql, table)?;
        let count = |sql: &mut Sql<'_>| {
            sql.query_one(&format!("SELECT COUNT(*) FROM {table}"), &[], |row| {
                row.get::<i64>(0)
            })
        };
        let stored = count(sql)?;
        if stored != rows {
            return Err(CopyError::Count {
                table,
                copied: stored,
                in_source: rows,
            });
        }
        copied.push((table, rows));
    }
    sql.query_one(
        "SELECT setval(pg_get_serial_sequence('quarantine', 'id'),
            GREATEST((SELECT COALESCE(MAX(id), 0) FROM quarantine), 1))",
        &[],
        |_| Ok(()),
    )?;
    Ok(copied)
}

/// Copies one table's rows; answers how many the source has.
fn copy_table(
    source: &rusqlite::Connection,
    sql: &mut Sql<'_>,
    table: &str,
) -> Result<i64, CopyError> {
    let columns: Vec<String> = source
        .prepare(&format!("SELECT name FROM pragma_table_info('{table}')"))?
        .query_map([], |row| row.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let list = columns.join(", ");
    let slots: Vec<String> = (1..=columns.len()).map(|n| format!("?{n}")).collect();
    let insert = format!("INSERT INTO {table} ({list}) VALUES ({})", slots.join(", "));
    let mut select = source.prepare(&format!("SELECT {list} FROM {table}"))?;
    let mut rows = select.query([])?;
    let mut count = 0i64;
    while let Some(row) = rows.next()? {
        let values: Vec<Value> = (0..columns.len())
            .map(|i| row.get::<_, Value>(i))
            .collect::<rusqlite::Result<_>>()?;
        let params: Vec<Param<'_>> = values.iter().map(param).collect();
        let bound: Vec<&dyn ToParam> = params.iter().map(|p| p as &dyn ToParam).collect();
        sql.write(&insert, &bound)?;
        count += 1;
    }
    Ok(count)
}

fn param(value: &Value) -> Param<'_> {
    match value {
        Value::Null => Param::Null,
        Value::Integer(n) => Param::Int(*n),
        Value::Real(r) => Param::Real(*r),
        Value::Text(text) => Param::Text(text.into()),
        Value::Blob(bytes) => Param::Blob(bytes.into()),
    }
}
