//! How records are kept in redb: JSON bytes for values, and named counters.
//!
//! JSON keeps stored records readable with ordinary tools and lets fields be added without a
//! migration; the hot paths store small records, so its cost is a few microseconds.

use redb::{ReadableTable, Table};
use serde::Serialize;
use serde::de::DeserializeOwned;

pub(crate) fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).expect("records always serialize")
}

pub(crate) fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, redb::Error> {
    serde_json::from_slice(bytes).map_err(|e| redb::Error::Corrupted(format!("stored record: {e}")))
}

/// Takes the next value of a named counter (starting at 1) kept in the store's meta table.
/// A key that sorts one user's entries together, in the order of `position`: the user's 12 id
/// bytes, then `position` big-endian.
pub(crate) fn user_key(user: crate::ids::UserId, position: u64) -> [u8; 20] {
    let mut key = [0u8; 20];
    key[..12].copy_from_slice(user.as_bytes());
    key[12..].copy_from_slice(&position.to_be_bytes());
    key
}

pub(crate) fn next_counter(
    meta: &mut Table<'_, &str, u64>,
    name: &str,
) -> Result<u64, redb::Error> {
    let next = meta.get(name)?.map(|v| v.value()).unwrap_or(0) + 1;
    meta.insert(name, next)?;
    Ok(next)
}

/// Lets `?` turn any redb error into a service error's `Store` variant, as it does for `redb::Error`.
macro_rules! store_errors_convert_into {
    ($error:ty) => {
        impl From<redb::TableError> for $error {
            fn from(e: redb::TableError) -> Self {
                Self::Store(e.into())
            }
        }
        impl From<redb::StorageError> for $error {
            fn from(e: redb::StorageError) -> Self {
                Self::Store(e.into())
            }
        }
    };
}
pub(crate) use store_errors_convert_into;
