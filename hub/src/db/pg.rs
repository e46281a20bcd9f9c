//! PostgreSQL connections: opened from the `postgres://` URL, each driven by a small runtime of
//! its own on the thread that uses it (the hub's database work runs on owned threads, never on
//! async tasks), with prepared statements cached, transactions begun and ended by hand, and a lost
//! connection opened again.
//!
//! Writes whose answer nobody reads (`Session::write`) are not sent one by one: they wait in a
//! queue and go out together, pipelined, in front of the next statement that must be answered or
//! with the `COMMIT` (one round trip for a batch's worth of inserts instead of one each). The
//! server runs them in order, as if each had been sent alone; an error in one fails the
//! transaction as it would have, only reported a little later, at the flush.
//!
//! The statements are written with `?1`-style placeholders (see `db`); they are given to
//! PostgreSQL as `$1`. None of the hub's statements has a `?` followed by a digit anywhere else.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use futures_util::future::join_all;
use tokio::runtime::Runtime;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, NoTls, Row, Statement};

use super::DbError;
use super::param::{self, Param};

/// How long opening a connection may take before it counts as failed.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Most writes queued before they are sent without waiting for a read or the commit.
const QUEUE_MAX: usize = 1024;

/// A request in the pipeline: a statement without parameters, or a prepared one with its values.
enum Queued {
    Simple(&'static str),
    Prepared(Statement, Vec<Param<'static>>),
}

/// A live connection and what belongs to it.
pub(crate) struct Session {
    runtime: Runtime,
    client: Client,
    /// The prepared statements, by their text as the hub writes it.
    statements: HashMap<String, Statement>,
    queued: Vec<Queued>,
}

type Answer<'a> = Pin<Box<dyn Future<Output = Result<(), tokio_postgres::Error>> + 'a>>;

impl Session {
    fn connect(config: &tokio_postgres::Config) -> Result<Session, DbError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| DbError::Schema(format!("starting the PostgreSQL client: {e}")))?;
        let (client, connection) = runtime.block_on(config.connect(NoTls))?;
        // Driven whenever the session blocks on the runtime; ends when the client is dropped.
        runtime.spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "a PostgreSQL connection ended");
            }
        });
        Ok(Session {
            runtime,
            client,
            statements: HashMap::new(),
            queued: Vec::new(),
        })
    }

    fn is_closed(&self) -> bool {
        self.client.is_closed()
    }

    /// Queues a write: sent with the next flush, in order. Its error, if any, comes from there.
    pub(crate) fn write(&mut self, sql: &str, params: &[Param<'_>]) -> Result<(), DbError> {
        let stmt = self.prepare(sql)?;
        let owned = params.iter().map(Param::to_owned_param).collect();
        self.queued.push(Queued::Prepared(stmt, owned));
        if self.queued.len() >= QUEUE_MAX {
            self.flush()?;
        }
        Ok(())
    }

    /// Runs a statement after the queued ones; answers the rows it changed.
    pub(crate) fn execute(&mut self, sql: &str, params: &[Param<'_>]) -> Result<u64, DbError> {
        let stmt = self.prepare(sql)?;
        let values = param::for_postgres(params);
        let queued = std::mem::take(&mut self.queued);
        let client = &self.client;
        let mut changed = 0;
        let last = async {
            changed = client.execute(&stmt, &values).await?;
            Ok(())
        };
        pipeline(&self.runtime, client, &queued, Box::pin(last))?;
        Ok(changed)
    }

    /// Runs a query after the queued writes; answers its rows.
    pub(crate) fn query(&mut self, sql: &str, params: &[Param<'_>]) -> Result<Vec<Row>, DbError> {
        let stmt = self.prepare(sql)?;
        let values = param::for_postgres(params);
        let queued = std::mem::take(&mut self.queued);
        let client = &self.client;
        let mut rows = Vec::new();
        let last = async {
            rows = client.query(&stmt, &values).await?;
            Ok(())
        };
        pipeline(&self.runtime, client, &queued, Box::pin(last))?;
        Ok(rows)
    }

    /// Runs statements without parameters after the queued writes.
    pub(crate) fn batch(&mut self, sql: &str) -> Result<(), DbError> {
        let queued = std::mem::take(&mut self.queued);
        let client = &self.client;
        pipeline(
            &self.runtime,
            client,
            &queued,
            Box::pin(client.batch_execute(sql)),
        )
    }

    /// Sends the queued writes and waits for their answers.
    pub(crate) fn flush(&mut self) -> Result<(), DbError> {
        if self.queued.is_empty() {
            return Ok(());
        }
        let queued = std::mem::take(&mut self.queued);
        pipeline(
            &self.runtime,
            &self.client,
            &queued,
            Box::pin(async { Ok(()) }),
        )
    }

    /// Queues a statement without parameters (`BEGIN`, `COMMIT`).
    fn queue_simple(&mut self, sql: &'static str) {
        self.queued.push(Queued::Simple(sql));
    }

    fn prepare(&mut self, sql: &str) -> Result<Statement, DbError> {
        if let Some(stmt) = self.statements.get(sql) {
            return Ok(stmt.clone());
        }
        let stmt = self
            .runtime
            .block_on(self.client.prepare(&placeholders(sql)))?;
        self.statements.insert(sql.to_owned(), stmt.clone());
        Ok(stmt)
    }
}

/// Sends the `queued` requests and then `last`, all at once, and waits for every answer; the
/// first error in the order sent is the result.
fn pipeline<'c>(
    runtime: &Runtime,
    client: &'c Client,
    queued: &'c [Queued],
    last: Answer<'c>,
) -> Result<(), DbError> {
    let values: Vec<Vec<&(dyn ToSql + Sync)>> = queued
        .iter()
        .map(|q| match q {
            Queued::Simple(_) => Vec::new(),
            Queued::Prepared(_, params) => param::for_postgres(params),
        })
        .collect();
    let mut answers: Vec<Answer<'_>> = queued
        .iter()
        .zip(&values)
        .map(|(q, values)| -> Answer<'_> {
            match q {
                Queued::Simple(sql) => Box::pin(client.batch_execute(sql)),
                Queued::Prepared(stmt, _) => {
                    Box::pin(async move { client.execute(stmt, values).await.map(drop) })
                }
            }
        })
        .collect();
    answers.push(last);
    // Polled together, so every request is sent before the first answer is awaited.
    let results = runtime.block_on(join_all(answers));
    results
        .into_iter()
        .collect::<Result<Vec<()>, _>>()
        .map(drop)
        .map_err(DbError::from)
}

pub(super) struct PgConn {
    config: tokio_postgres::Config,
    session: Option<Session>,
    /// A transaction was begun and not ended (its work panicked): rolled back before the next.
    open: bool,
}

impl PgConn {
    /// Connects now (so that a wrong URL or password is told at once).
    pub(super) fn connect(url: &str) -> Result<PgConn, DbError> {
        let mut config: tokio_postgres::Config = url.parse()?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        let session = Session::connect(&config)?;
        Ok(PgConn {
            config,
            session: Some(session),
            open: false,
        })
    }

    /// The session, connected again if the connection was lost, with no transaction open.
    pub(super) fn ready(&mut self) -> Result<&mut Session, DbError> {
        let PgConn {
            config,
            session,
            open,
        } = self;
        ready(config, session, open)
    }

    /// Runs `work` between `BEGIN` and `COMMIT`, or `ROLLBACK` if it fails. `BEGIN` goes out with
    /// the work's first statement, `COMMIT` with its last queued writes.
    pub(super) fn transaction<T, E: From<DbError>>(
        &mut self,
        work: impl FnOnce(&mut Session) -> Result<T, E>,
    ) -> Result<T, E> {
        let PgConn {
            config,
            session,
            open,
        } = self;
        let session = ready(config, session, open)?;
        session.queue_simple("BEGIN");
        *open = true;
        let result = work(session);
        let ended = match result {
            Ok(_) => {
                session.queue_simple("COMMIT");
                session.flush()
            }
            Err(_) => {
                // What was queued belongs to a transaction that is given up: not sent at all.
                session.queued.clear();
                session.batch("ROLLBACK")
            }
        };
        *open = false;
        let out = result?;
        ended?;
        Ok(out)
    }
}

fn ready<'a>(
    config: &tokio_postgres::Config,
    session: &'a mut Option<Session>,
    open: &mut bool,
) -> Result<&'a mut Session, DbError> {
    if session.as_ref().is_none_or(Session::is_closed) {
        *session = None;
        *open = false;
        *session = Some(Session::connect(config)?);
    }
    let Some(session) = session.as_mut() else {
        unreachable!("connected just above");
    };
    if *open {
        session.queued.clear();
        session.batch("ROLLBACK")?;
        *open = false;
    }
    Ok(session)
}

/// `?1` placeholders as `$1`.
fn placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '?' && chars.peek().is_some_and(char::is_ascii_digit) {
            out.push('$');
        } else {
            out.push(c);
        }
    }
    out
}

/// The URL with its password replaced, to be shown.
pub(super) fn without_password(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) => {
            if parsed.password().is_some() {
                let _ = parsed.set_password(Some("***"));
            }
            parsed.to_string()
        }
        Err(_) => "postgres://(unreadable URL)".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbered_placeholders_become_dollars_and_nothing_else_changes() {
        assert_eq!(
            placeholders("SELECT a FROM t WHERE b = ?1 AND c = ?12 OR d = '?'"),
            "SELECT a FROM t WHERE b = $1 AND c = $12 OR d = '?'"
        );
    }

    #[test]
    fn a_shown_url_hides_its_password() {
        assert_eq!(
            without_password("postgres://hub:secret@127.0.0.1:5432/tix"),
            "postgres://hub:***@127.0.0.1:5432/tix"
        );
        assert_eq!(
            without_password("postgres://127.0.0.1/tix"),
            "postgres://127.0.0.1/tix"
        );
    }
}
