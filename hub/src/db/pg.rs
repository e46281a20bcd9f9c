//! PostgreSQL connections: opened from the `postgres://` URL, with their prepared statements
//! cached, transactions begun and ended by hand, and a lost connection opened again.
//!
//! The statements are written with `?1`-style placeholders (see `db`); they are given to
//! PostgreSQL as `$1`. None of the hub's statements has a `?` followed by a digit anywhere else.

use std::collections::HashMap;
use std::time::Duration;

use postgres::{Client, NoTls, Statement};

use super::DbError;

/// How long opening a connection may take before it counts as failed.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The prepared statements of one connection, by their text as the hub writes it.
#[derive(Default)]
pub(crate) struct Statements(HashMap<String, Statement>);

impl Statements {
    pub(crate) fn prepare(&mut self, client: &mut Client, sql: &str) -> Result<Statement, DbError> {
        if let Some(stmt) = self.0.get(sql) {
            return Ok(stmt.clone());
        }
        let stmt = client.prepare(&placeholders(sql))?;
        self.0.insert(sql.to_owned(), stmt.clone());
        Ok(stmt)
    }
}

pub(super) struct PgConn {
    config: postgres::Config,
    client: Option<Client>,
    statements: Statements,
    /// A transaction was begun and not ended (its work panicked): rolled back before the next.
    open: bool,
}

impl PgConn {
    /// Connects now (so that a wrong URL or password is told at once).
    pub(super) fn connect(url: &str) -> Result<PgConn, DbError> {
        let mut config: postgres::Config = url.parse()?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        let client = config.connect(NoTls)?;
        Ok(PgConn {
            config,
            client: Some(client),
            statements: Statements::default(),
            open: false,
        })
    }

    /// The client, connected again if the connection was lost, with no transaction open.
    pub(super) fn ready(&mut self) -> Result<(&mut Client, &mut Statements), DbError> {
        let PgConn {
            config,
            client,
            statements,
            open,
        } = self;
        ready(config, client, statements, open)
    }

    /// Runs `work` between `BEGIN` and `COMMIT`, or `ROLLBACK` if it fails.
    pub(super) fn transaction<T, E: From<DbError>>(
        &mut self,
        work: impl FnOnce(&mut Client, &mut Statements) -> Result<T, E>,
    ) -> Result<T, E> {
        let PgConn {
            config,
            client,
            statements,
            open,
        } = self;
        let (client, statements) = ready(config, client, statements, open)?;
        client.batch_execute("BEGIN").map_err(DbError::from)?;
        *open = true;
        let result = work(client, statements);
        let end = if result.is_ok() { "COMMIT" } else { "ROLLBACK" };
        let ended = client.batch_execute(end);
        *open = false;
        let out = result?;
        ended.map_err(DbError::from)?;
        Ok(out)
    }
}

fn ready<'a>(
    config: &postgres::Config,
    client: &'a mut Option<Client>,
    statements: &'a mut Statements,
    open: &mut bool,
) -> Result<(&'a mut Client, &'a mut Statements), DbError> {
    if client.as_ref().is_none_or(Client::is_closed) {
        *client = None;
        statements.0.clear();
        *open = false;
        *client = Some(config.connect(NoTls)?);
    }
    let Some(client) = client.as_mut() else {
        unreachable!("connected just above");
    };
    if *open {
        client.batch_execute("ROLLBACK")?;
        *open = false;
    }
    Ok((client, statements))
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
