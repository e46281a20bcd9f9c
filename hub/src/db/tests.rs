//! The SQL layer's promises, on both engines: writes that wait to be sent (PostgreSQL) are still
//! run in order, seen by the next read, and fail their transaction as a statement run at once does.

use super::*;
use crate::testing::on_both_engines;

on_both_engines!(
    queued_writes_are_seen_by_the_next_read_in_the_order_written,
    a_failing_queued_write_fails_its_transaction_and_nothing_of_it_is_kept,
    a_transaction_of_more_writes_than_one_flush_keeps_them_all,
    a_write_outside_a_transaction_is_done_when_it_returns,
);

const TABLE: &str = "CREATE TABLE scratch (k INTEGER PRIMARY KEY, v TEXT NOT NULL)";
const INSERT: &str = "INSERT INTO scratch (k, v) VALUES (?1, ?2)";

fn writer_with_scratch(db: &Db) -> Conn {
    let mut conn = db.open_writer().unwrap();
    conn.sql().unwrap().batch(TABLE).unwrap();
    conn
}

fn stored(db: &Db) -> Vec<(i64, String)> {
    db.read(|sql| {
        sql.query("SELECT k, v FROM scratch ORDER BY k", &[], |row| {
            Ok((row.get(0)?, row.get(1)?))
        })
    })
    .unwrap()
}

fn queued_writes_are_seen_by_the_next_read_in_the_order_written(db: &Db) {
    let mut conn = writer_with_scratch(db);
    let seen = conn
        .transaction(|sql| {
            sql.write(INSERT, &[&1i64, &"first"])?;
            sql.write(
                "UPDATE scratch SET v = ?2 WHERE k = ?1",
                &[&1i64, &"second"],
            )?;
            sql.write(INSERT, &[&2i64, &"other"])?;
            sql.query_one("SELECT v FROM scratch WHERE k = ?1", &[&1i64], |row| {
                row.get::<String>(0)
            })
        })
        .unwrap();
    assert_eq!(seen, "second");
    assert_eq!(
        stored(db),
        [(1, "second".to_owned()), (2, "other".to_owned())]
    );
}

fn a_failing_queued_write_fails_its_transaction_and_nothing_of_it_is_kept(db: &Db) {
    let mut conn = writer_with_scratch(db);
    let result = conn.transaction(|sql| {
        sql.write(INSERT, &[&1i64, &"kept?"])?;
        sql.write(INSERT, &[&1i64, &"the same key again"])?;
        sql.write(INSERT, &[&2i64, &"after the failure"])?;
        Ok::<_, DbError>(())
    });
    let error = result.expect_err("a unique key stored twice");
    if matches!(db.location(), Location::Postgres(_)) {
        // Another hub instance storing the same row first looks exactly like this.
        assert!(error.is_contention(), "{error}");
    }
    assert_eq!(stored(db), []);
    // The connection is usable afterwards, with nothing of the failed transaction queued.
    conn.transaction(|sql| sql.write(INSERT, &[&3i64, &"next"]))
        .unwrap();
    assert_eq!(stored(db), [(3, "next".to_owned())]);
}

fn a_transaction_of_more_writes_than_one_flush_keeps_them_all(db: &Db) {
    let mut conn = writer_with_scratch(db);
    let count = 2_500i64;
    conn.transaction(|sql| {
        for k in 0..count {
            sql.write(INSERT, &[&k, &k.to_string()])?;
        }
        Ok::<_, DbError>(())
    })
    .unwrap();
    let rows = stored(db);
    assert_eq!(rows.len() as i64, count);
    assert!(rows.iter().all(|(k, v)| *v == k.to_string()));
}

fn a_write_outside_a_transaction_is_done_when_it_returns(db: &Db) {
    let mut conn = writer_with_scratch(db);
    conn.sql()
        .unwrap()
        .write(INSERT, &[&7i64, &"at once"])
        .unwrap();
    // Another connection sees it while this one is still open and has run nothing since.
    assert_eq!(stored(db), [(7, "at once".to_owned())]);
    drop(conn);
}
