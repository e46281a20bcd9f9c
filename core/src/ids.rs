//! Identifiers: 12-byte ids shown as 24 lowercase hex characters, like the seed app's ObjectIds.
//!
//! Clients of the seed API send and receive ids in that form, and a malformed id in a path is a
//! 400, not a 404, so parsing lives here, at the type. Ids are minted by the node
//! (`tix_node::ids`), never by `core`, which has no randomness of its own.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The raw 12 bytes behind every id type.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RawId(pub [u8; 12]);

/// A string that is not 24 hexadecimal characters.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed id")]
pub struct MalformedId;

impl FromStr for RawId {
    type Err = MalformedId;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.len() != 24 {
            return Err(MalformedId);
        }
        let mut bytes = [0u8; 12];
        hex::decode_to_slice(s, &mut bytes).map_err(|_| MalformedId)?;
        Ok(RawId(bytes))
    }
}

impl fmt::Display for RawId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for RawId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(pub RawId);

        impl $name {
            pub fn from_bytes(bytes: [u8; 12]) -> Self {
                Self(RawId(bytes))
            }

            pub fn as_bytes(&self) -> &[u8; 12] {
                &self.0 .0
            }
        }

        impl FromStr for $name {
            type Err = MalformedId;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                s.parse().map(Self)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(self)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

id_type!(
    /// A registered user (buyer or seller).
    UserId
);
id_type!(
    /// A ticket on sale: one sellable unit.
    TicketId
);
id_type!(
    /// An order: the lock a buyer holds on one ticket while paying.
    OrderId
);
id_type!(
    /// A payment recorded against an order.
    PaymentId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_through_their_hex_form() {
        let id: OrderId = "5f8d0d55b54764421b7156c9".parse().unwrap();
        assert_eq!(id.to_string(), "5f8d0d55b54764421b7156c9");
        assert_eq!(
            serde_json::to_string(&id).unwrap(),
            "\"5f8d0d55b54764421b7156c9\""
        );
    }

    #[test]
    fn malformed_ids_are_rejected() {
        for bad in [
            "",
            "abc",
            "5f8d0d55b54764421b7156cz",
            "5f8d0d55b54764421b7156c9a",
            "ä5f8d0d55b54764421b7156",
        ] {
            assert_eq!(bad.parse::<TicketId>(), Err(MalformedId), "{bad:?}");
        }
    }
}
