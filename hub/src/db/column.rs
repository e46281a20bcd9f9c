//! Reading a column into a Rust value, from either engine.
//!
//! The hub's PostgreSQL schema types every integer `BIGINT` and every real `DOUBLE PRECISION`, but
//! an expression may still answer a narrower type (`COUNT(*)` is `BIGINT`, a literal is
//! `INTEGER`): integers of any width are widened, and an integer is read as a real when one is
//! asked for, as SQLite does.

use tokio_postgres::types::Type;

use super::DbError;

/// A value a column can be read as.
pub trait FromColumn: Sized {
    fn from_sqlite(row: &rusqlite::Row<'_>, index: usize) -> rusqlite::Result<Self>;
    fn from_postgres(row: &tokio_postgres::Row, index: usize) -> Result<Self, DbError>;
}

fn column_type(row: &tokio_postgres::Row, index: usize) -> Result<&Type, DbError> {
    row.columns()
        .get(index)
        .map(|c| c.type_())
        .ok_or_else(|| DbError::Column {
            index,
            detail: format!("the row has {} columns", row.len()),
        })
}

fn unexpected(index: usize, ty: &Type, wanted: &str) -> DbError {
    DbError::Column {
        index,
        detail: format!("a {ty} column read as {wanted}"),
    }
}

/// An integer column, null or not.
fn pg_int(row: &tokio_postgres::Row, index: usize) -> Result<Option<i64>, DbError> {
    let ty = column_type(row, index)?;
    Ok(match *ty {
        Type::INT8 => row.try_get::<_, Option<i64>>(index)?,
        Type::INT4 => row.try_get::<_, Option<i32>>(index)?.map(i64::from),
        Type::INT2 => row.try_get::<_, Option<i16>>(index)?.map(i64::from),
        Type::BOOL => row.try_get::<_, Option<bool>>(index)?.map(i64::from),
        _ => return Err(unexpected(index, ty, "an integer")),
    })
}

fn not_null<T>(value: Option<T>, index: usize) -> Result<T, DbError> {
    value.ok_or_else(|| DbError::Column {
        index,
        detail: "null where a value was expected".into(),
    })
}

impl FromColumn for i64 {
    fn from_sqlite(row: &rusqlite::Row<'_>, index: usize) -> rusqlite::Result<Self> {
        row.get(index)
    }
    fn from_postgres(row: &tokio_postgres::Row, index: usize) -> Result<Self, DbError> {
        not_null(pg_int(row, index)?, index)
    }
}

impl FromColumn for Option<i64> {
    fn from_sqlite(row: &rusqlite::Row<'_>, index: usize) -> rusqlite::Result<Self> {
        row.get(index)
    }
    fn from_postgres(row: &tokio_postgres::Row, index: usize) -> Result<Self, DbError> {
        pg_int(row, index)
    }
}

impl FromColumn for f64 {
    fn from_sqlite(row: &rusqlite::Row<'_>, index: usize) -> rusqlite::Result<Self> {
        row.get(index)
    }
    fn from_postgres(row: &tokio_postgres::Row, index: usize) -> Result<Self, DbError> {
        let ty = column_type(row, index)?;
        match *ty {
            Type::FLOAT8 => not_null(row.try_get::<_, Option<f64>>(index)?, index),
            Type::FLOAT4 => not_null(row.try_get::<_, Option<f32>>(index)?, index).map(f64::from),
            _ => Ok(not_null(pg_int(row, index)?, index)? as f64),
        }
    }
}

impl FromColumn for String {
    fn from_sqlite(row: &rusqlite::Row<'_>, index: usize) -> rusqlite::Result<Self> {
        row.get(index)
    }
    fn from_postgres(row: &tokio_postgres::Row, index: usize) -> Result<Self, DbError> {
        not_null(Option::<String>::from_postgres(row, index)?, index)
    }
}

impl FromColumn for Option<String> {
    fn from_sqlite(row: &rusqlite::Row<'_>, index: usize) -> rusqlite::Result<Self> {
        row.get(index)
    }
    fn from_postgres(row: &tokio_postgres::Row, index: usize) -> Result<Self, DbError> {
        let ty = column_type(row, index)?;
        match *ty {
            Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME => Ok(row.try_get(index)?),
            _ => Err(unexpected(index, ty, "text")),
        }
    }
}

impl FromColumn for Vec<u8> {
    fn from_sqlite(row: &rusqlite::Row<'_>, index: usize) -> rusqlite::Result<Self> {
        row.get(index)
    }
    fn from_postgres(row: &tokio_postgres::Row, index: usize) -> Result<Self, DbError> {
        let ty = column_type(row, index)?;
        match *ty {
            Type::BYTEA => not_null(row.try_get::<_, Option<Vec<u8>>>(index)?, index),
            _ => Err(unexpected(index, ty, "bytes")),
        }
    }
}
