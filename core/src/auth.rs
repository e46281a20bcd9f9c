//! Users: sign-up with a unique email, and lookup for sign-in.
//!
//! Passwords arrive here already hashed (argon2id, by the node): this module never sees one in clear.

mod store;

use serde::{Deserialize, Serialize};

use crate::ids::UserId;

pub use self::store::AuthStore;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: UserId,
    pub email: String,
    /// PHC string of an argon2id hash.
    pub password_hash: String,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("email in use")]
    EmailInUse,
    #[error(transparent)]
    Store(#[from] redb::Error),
}

crate::record::store_errors_convert_into!(Error);
