//! MQTT topics, venue ids and store epochs.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The hub subscribes to every venue's events with this filter.
pub const EVENTS_FILTER: &str = "v1/venues/+/events";

/// The hub's broker account, and so (the broker binding client ids to usernames) its client id.
/// No venue may have this id: its account would be the hub's.
pub const HUB_ACCOUNT: &str = "tix-hub";

/// A venue's id: 1 to 64 characters of lowercase letters, digits, `-` and `_`, so that it is safe
/// inside an MQTT topic (no `/`, `+`, `#`) and in a broker ACL; never `HUB_ACCOUNT`, since a
/// venue's id is also its broker username and client id.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct VenueId(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TopicError {
    #[error("venue id must be 1 to 64 characters of a-z, 0-9, '-' and '_'")]
    BadVenueId,
    #[error("venue id {HUB_ACCOUNT:?} is the hub's broker account")]
    HubsVenueId,
    #[error("not a venue events topic (expected v1/venues/<venue>/events)")]
    NotAnEventsTopic,
    #[error("not a venue replay topic (expected v1/venues/<venue>/replay)")]
    NotAReplayTopic,
    #[error("epoch must be 16 lowercase hexadecimal characters")]
    BadEpoch,
}

impl VenueId {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for VenueId {
    type Err = TopicError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let valid = (1..=64).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
        if !valid {
            Err(TopicError::BadVenueId)
        } else if s == HUB_ACCOUNT {
            Err(TopicError::HubsVenueId)
        } else {
            Ok(VenueId(s.to_owned()))
        }
    }
}

impl fmt::Display for VenueId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for VenueId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for VenueId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A store's epoch: random, fixed for the lifetime of a venue's stores. A venue whose stores were
/// recreated starts a new epoch, so its sequence numbers can start again at 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Epoch(pub u64);

impl FromStr for Epoch {
    type Err = TopicError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let valid = s.len() == 16
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if !valid {
            return Err(TopicError::BadEpoch);
        }
        u64::from_str_radix(s, 16)
            .map(Epoch)
            .map_err(|_| TopicError::BadEpoch)
    }
}

impl fmt::Display for Epoch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

impl Serialize for Epoch {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Epoch {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Where a venue publishes its events.
pub fn events_topic(venue: &VenueId) -> String {
    format!("v1/venues/{venue}/events")
}

/// Where the hub publishes (retained now and then) how far it has stored a venue's events.
pub fn ack_topic(venue: &VenueId) -> String {
    format!("v1/hub/venues/{venue}/ack")
}

/// The venue an events topic belongs to.
pub fn parse_events_topic(topic: &str) -> Result<VenueId, TopicError> {
    let venue = topic
        .strip_prefix("v1/venues/")
        .and_then(|rest| rest.strip_suffix("/events"))
        .ok_or(TopicError::NotAnEventsTopic)?;
    venue.parse()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_have_the_documented_shape() {
        let venue: VenueId = "main-hall_2".parse().unwrap();
        assert_eq!(events_topic(&venue), "v1/venues/main-hall_2/events");
        assert_eq!(ack_topic(&venue), "v1/hub/venues/main-hall_2/ack");
        assert_eq!(
            parse_events_topic("v1/venues/main-hall_2/events"),
            Ok(venue)
        );
    }

    #[test]
    fn unsafe_venue_ids_and_foreign_topics_are_refused() {
        for bad in ["", "Main", "a/b", "a+b", "a#", "a b", "ä", &"x".repeat(65)] {
            assert_eq!(
                bad.parse::<VenueId>(),
                Err(TopicError::BadVenueId),
                "{bad:?}"
            );
        }
        assert_eq!(HUB_ACCOUNT.parse::<VenueId>(), Err(TopicError::HubsVenueId));
        assert_eq!(
            parse_events_topic("v1/venues/tix-hub/events"),
            Err(TopicError::HubsVenueId)
        );
        for bad in [
            "v1/venues/a/acks",
            "v2/venues/a/events",
            "v1/venues//events",
            "v1/venues/a/b/events",
        ] {
            assert!(parse_events_topic(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn epochs_are_sixteen_hex_digits() {
        assert_eq!(Epoch(0xdead_beef).to_string(), "00000000deadbeef");
        assert_eq!("00000000deadbeef".parse(), Ok(Epoch(0xdead_beef)));
        for bad in [
            "",
            "deadbeef",
            "00000000DEADBEEF",
            "00000000deadbeeg",
            "+0000000deadbeef",
        ] {
            assert_eq!(bad.parse::<Epoch>(), Err(TopicError::BadEpoch), "{bad:?}");
        }
    }
}
