//! Users: sign-up with a unique email, and lookup for sign-in; guests buying at a kiosk.
//!
//! Users may be box-office staff or door staff; the venue's operator grants that (or, in a standalone box office,
//! the first account gets it).
//!
//! Passwords arrive here already hashed (argon2id, by the node): this module never sees one in clear.

mod ended;
mod guest;
mod store;

use serde::{Deserialize, Serialize};

use crate::ids::UserId;

pub use self::ended::EndedSession;
pub use self::guest::{GUEST_DOMAIN, is_guest_email};
pub use self::store::AuthStore;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: UserId,
    pub email: String,
    /// PHC string of an argon2id hash.
    pub password_hash: String,
    /// Box-office staff: may take cash, refund, look up anyone's orders and see the takings.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub staff: bool,
    /// Door staff: may check tickets in at the door (staff may too).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub door: bool,
}

/// A role the venue's operator grants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The box office: cash, refunds, anyone's orders, the takings, shows; and the door.
    Staff,
    /// The door only: checking tickets in.
    Door,
}

impl User {
    /// Whether the user holds `role` (staff hold the door role too).
    pub fn has(&self, role: Role) -> bool {
        match role {
            Role::Staff => self.staff,
            Role::Door => self.door || self.staff,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("email in use")]
    EmailInUse,
    #[error("no user has that email")]
    NoSuchUser,
    /// A reset's code was made from a password the account no longer has (used already).
    #[error("the password changed since the reset code was made")]
    PasswordChanged,
    #[error(transparent)]
    Store(#[from] redb::Error),
}

crate::record::store_errors_convert_into!(Error);
