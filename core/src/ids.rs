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
            pub const fn from_bytes(bytes: [u8; 12]) -> Self {
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
id_type!(
    /// A show: a venue's event with its inventory of standing areas and seats.
    ShowId
);

/// How many units (tickets) one show may have: the ids of its units are the show's id with its
/// 3-byte counter advanced, so a show reserves a block of counter values when it is minted.
pub const MAX_SHOW_UNITS: u32 = 100_000;

impl ShowId {
    /// The ticket id of the show's `index`th unit: the show's id with its last three bytes (the
    /// minting counter) advanced by `index + 1`, wrapping as the counter does. The node reserves
    /// that block of the counter when it mints the show's id (`IdGen::next_block`), so no other id
    /// of the node can be one of them; every consumer derives the same ids from the show's events.
    pub fn unit(&self, index: u32) -> TicketId {
        let bytes = self.as_bytes();
        let counter = u32::from_be_bytes([0, bytes[9], bytes[10], bytes[11]]);
        let advanced = counter.wrapping_add(index).wrapping_add(1) & 0x00ff_ffff;
        let mut id = *bytes;
        id[9..].copy_from_slice(&advanced.to_be_bytes()[1..]);
        TicketId::from_bytes(id)
    }

    /// The index of `ticket` among this show's `units`, if it is one of them.
    pub fn unit_index(&self, ticket: TicketId, units: u32) -> Option<u32> {
        let (show, seat) = (self.as_bytes(), ticket.as_bytes());
        if show[..9] != seat[..9] {
            return None;
        }
        let counter = |b: &[u8; 12]| u32::from_be_bytes([0, b[9], b[10], b[11]]);
        let index = counter(seat).wrapping_sub(counter(show)).wrapping_sub(1) & 0x00ff_ffff;
        (index < units).then_some(index)
    }
}

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
    fn a_shows_units_are_its_counter_block_and_map_back_to_their_index() {
        let show: ShowId = "5f8d0d55b54764421bfffffe".parse().unwrap();
        assert_eq!(show.unit(0).to_string(), "5f8d0d55b54764421bffffff");
        // The counter wraps within its three bytes, as the minter's does.
        assert_eq!(show.unit(1).to_string(), "5f8d0d55b54764421b000000");
        assert_eq!(show.unit_index(show.unit(1), 2), Some(1));
        assert_eq!(show.unit_index(show.unit(2), 2), None);
        let other: TicketId = "5f8d0d55b54764421c000000".parse().unwrap();
        assert_eq!(show.unit_index(other, 10), None);
        for index in [0, 7, MAX_SHOW_UNITS - 1] {
            assert_eq!(
                show.unit_index(show.unit(index), MAX_SHOW_UNITS),
                Some(index)
            );
        }
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
