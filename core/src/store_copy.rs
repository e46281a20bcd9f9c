//! Copying a store's snapshot, table by table, into a fresh database: what a backup holds.
//!
//! Invariants:
//! - The copy is made from one read transaction, so it is one committed state of the store; the
//!   store goes on taking writes while it runs.
//! - Every table of the snapshot is copied, or the copy fails: a table whose key and value types
//!   are not among `TYPES` is an error naming it, never a table silently left out.
//! - The destination is written in one transaction: it holds the whole copy or nothing.
//!
//! redb gives no typed access to a table whose types the caller does not name, so each table is
//! opened with a probe type; the mismatch error tells its real key and value types, and the copy
//! runs with those.

use redb::{
    Database, Key, MultimapTableHandle, ReadTransaction, ReadableDatabase, ReadableTable,
    ReadableTableMetadata, TableDefinition, TableError, TableHandle, TypeName, Value,
    WriteTransaction,
};

/// One table of a copy and the entries it holds.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TableCount {
    pub table: String,
    pub rows: u64,
}

/// Why a copy failed.
#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    #[error("table {table}: key type {key} and value type {value} are not ones a backup knows")]
    UnknownTypes {
        table: String,
        key: String,
        value: String,
    },
    #[error("table {0}: multimap tables are not copied by backups")]
    Multimap(String),
    #[error(transparent)]
    Storage(#[from] redb::Error),
}

impl From<TableError> for CopyError {
    fn from(e: TableError) -> Self {
        CopyError::Storage(e.into())
    }
}

impl From<redb::StorageError> for CopyError {
    fn from(e: redb::StorageError) -> Self {
        CopyError::Storage(e.into())
    }
}

/// Copies every table of `from` into `to` (which should be empty) in one write transaction,
/// answering each table's row count, sorted by table name.
pub fn copy_snapshot(from: &ReadTransaction, to: &Database) -> Result<Vec<TableCount>, CopyError> {
    if let Some(table) = from.list_multimap_tables()?.next() {
        return Err(CopyError::Multimap(table.name().to_owned()));
    }
    let write = to.begin_write().map_err(redb::Error::from)?;
    let mut counts = Vec::new();
    for handle in from.list_tables()? {
        let rows = copy_table(from, &write, handle.name())?;
        counts.push(TableCount {
            table: handle.name().to_owned(),
            rows,
        });
    }
    write.commit().map_err(redb::Error::from)?;
    counts.sort_by(|a, b| a.table.cmp(&b.table));
    Ok(counts)
}

/// Each table's row count in a database (to check a copy against what its backup says).
pub fn count_rows(db: &Database) -> Result<Vec<TableCount>, CopyError> {
    let read = db.begin_read().map_err(redb::Error::from)?;
    let mut counts = Vec::new();
    for handle in read.list_tables()? {
        let (key, value) = table_types(&read, handle.name())?;
        let rows = dispatch(&key, &value, handle.name(), &mut CountRows { read: &read })?;
        counts.push(TableCount {
            table: handle.name().to_owned(),
            rows,
        });
    }
    counts.sort_by(|a, b| a.table.cmp(&b.table));
    Ok(counts)
}

fn copy_table(from: &ReadTransaction, to: &WriteTransaction, name: &str) -> Result<u64, CopyError> {
    let (key, value) = table_types(from, name)?;
    dispatch(&key, &value, name, &mut CopyRows { from, to })
}

/// The key and value types `name` was made with.
fn table_types(read: &ReadTransaction, name: &str) -> Result<(TypeName, TypeName), CopyError> {
    let probe: TableDefinition<'_, &[u8], &[u8]> = TableDefinition::new(name);
    match read.open_table(probe) {
        Ok(_) => Ok((<&[u8]>::type_name(), <&[u8]>::type_name())),
        Err(TableError::TableTypeMismatch { key, value, .. }) => Ok((key, value)),
        Err(other) => Err(other.into()),
    }
}

/// Something done to one table once its types are known.
trait PerTable {
    fn run<K: Key + 'static, V: Value + 'static>(&mut self, name: &str) -> Result<u64, CopyError>;
}

struct CopyRows<'a> {
    from: &'a ReadTransaction,
    to: &'a WriteTransaction,
}

impl PerTable for CopyRows<'_> {
    fn run<K: Key + 'static, V: Value + 'static>(&mut self, name: &str) -> Result<u64, CopyError> {
        let definition: TableDefinition<'_, K, V> = TableDefinition::new(name);
        let source = self.from.open_table(definition)?;
        let mut target = self.to.open_table(definition)?;
        let mut rows = 0;
        for entry in source.iter()? {
            let (key, value) = entry?;
            target.insert(key.value(), value.value())?;
            rows += 1;
        }
        Ok(rows)
    }
}

struct CountRows<'a> {
    read: &'a ReadTransaction,
}

impl PerTable for CountRows<'_> {
    fn run<K: Key + 'static, V: Value + 'static>(&mut self, name: &str) -> Result<u64, CopyError> {
        let definition: TableDefinition<'_, K, V> = TableDefinition::new(name);
        Ok(self.read.open_table(definition)?.len()?)
    }
}

/// Runs `work` with the Rust types behind `key` and `value`: the types the stores use.
fn dispatch(
    key: &TypeName,
    value: &TypeName,
    name: &str,
    work: &mut impl PerTable,
) -> Result<u64, CopyError> {
    macro_rules! with_value {
        ($k:ty) => {{
            if *value == <&[u8]>::type_name() {
                return work.run::<$k, &[u8]>(name);
            }
            if *value == <&str>::type_name() {
                return work.run::<$k, &str>(name);
            }
            if *value == <u64>::type_name() {
                return work.run::<$k, u64>(name);
            }
            if *value == <u32>::type_name() {
                return work.run::<$k, u32>(name);
            }
            if *value == <()>::type_name() {
                return work.run::<$k, ()>(name);
            }
        }};
    }
    if *key == <&[u8]>::type_name() {
        with_value!(&[u8]);
    } else if *key == <&str>::type_name() {
        with_value!(&str);
    } else if *key == <u64>::type_name() {
        with_value!(u64);
    } else if *key == <u32>::type_name() {
        with_value!(u32);
    }
    Err(CopyError::UnknownTypes {
        table: name.to_owned(),
        key: key.name().to_owned(),
        value: value.name().to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const BYTES: TableDefinition<'_, &[u8], &[u8]> = TableDefinition::new("bytes");
    const SEQ: TableDefinition<'_, u64, &[u8]> = TableDefinition::new("seq");
    const META: TableDefinition<'_, &str, u64> = TableDefinition::new("meta");
    const SET: TableDefinition<'_, &[u8], ()> = TableDefinition::new("set");
    const ODD: TableDefinition<'_, u8, u8> = TableDefinition::new("odd");

    fn database() -> (tempfile::TempDir, Database) {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::create(dir.path().join("a.redb")).unwrap();
        (dir, db)
    }

    #[test]
    fn every_table_and_row_is_copied_with_its_types() {
        let (_a, from) = database();
        let write = from.begin_write().unwrap();
        {
            let mut bytes = write.open_table(BYTES).unwrap();
            bytes.insert(b"k1".as_slice(), b"v1".as_slice()).unwrap();
            bytes.insert(b"k2".as_slice(), b"".as_slice()).unwrap();
            write
                .open_table(SEQ)
                .unwrap()
                .insert(7, b"event".as_slice())
                .unwrap();
            write.open_table(META).unwrap().insert("epoch", 42).unwrap();
            write.open_table(SET).unwrap();
        }
        write.commit().unwrap();
        let (_b, to) = database();

        let counts = copy_snapshot(&from.begin_read().unwrap(), &to).unwrap();

        let names: Vec<_> = counts.iter().map(|c| (c.table.as_str(), c.rows)).collect();
        assert_eq!(names, [("bytes", 2), ("meta", 1), ("seq", 1), ("set", 0)]);
        assert_eq!(count_rows(&to).unwrap(), counts);
        let read = to.begin_read().unwrap();
        let bytes = read.open_table(BYTES).unwrap();
        assert_eq!(bytes.get(b"k1".as_slice()).unwrap().unwrap().value(), b"v1");
        let seq = read.open_table(SEQ).unwrap();
        assert_eq!(seq.get(7).unwrap().unwrap().value(), b"event");
        let meta = read.open_table(META).unwrap();
        assert_eq!(meta.get("epoch").unwrap().unwrap().value(), 42);
        assert!(read.open_table(SET).unwrap().is_empty().unwrap());
    }

    #[test]
    fn a_table_of_unknown_types_fails_the_copy_by_name() {
        let (_a, from) = database();
        let write = from.begin_write().unwrap();
        write.open_table(ODD).unwrap().insert(1, 2).unwrap();
        write.commit().unwrap();
        let (_b, to) = database();

        let error = copy_snapshot(&from.begin_read().unwrap(), &to).unwrap_err();

        assert!(
            matches!(&error, CopyError::UnknownTypes { table, key, value } if table == "odd" && key == "u8" && value == "u8"),
            "{error}"
        );
        assert_eq!(to.begin_read().unwrap().list_tables().unwrap().count(), 0);
    }

    #[test]
    fn the_copy_is_the_snapshot_not_later_writes() {
        let (_a, from) = database();
        let write = from.begin_write().unwrap();
        write.open_table(META).unwrap().insert("before", 1).unwrap();
        write.commit().unwrap();
        let snapshot = from.begin_read().unwrap();
        let write = from.begin_write().unwrap();
        write.open_table(META).unwrap().insert("after", 2).unwrap();
        write.commit().unwrap();
        let (_b, to) = database();

        copy_snapshot(&snapshot, &to).unwrap();

        let read = to.begin_read().unwrap();
        let meta = read.open_table(META).unwrap();
        assert!(meta.get("before").unwrap().is_some());
        assert!(meta.get("after").unwrap().is_none());
    }
}
