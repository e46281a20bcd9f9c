//! The hub's acknowledgement: how far it has durably stored a venue's events.
//!
//! Published on `v1/hub/venues/{venue}/ack` after each commit (retained now and then), as
//! `{"venue":"<venue>","epoch":"<epoch>","seq":<n>}`: every event of that venue and epoch up to and
//! including `seq` is stored. The venue prunes its outbox below it and resends after it.

use serde::{Deserialize, Serialize};

use super::topic::{Epoch, VenueId};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ack {
    pub venue: VenueId,
    pub epoch: Epoch,
    pub seq: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed ack: {0}")]
pub struct AckError(String);

impl Ack {
    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("acks always serialize")
    }

    pub fn decode(bytes: &[u8]) -> Result<Ack, AckError> {
        serde_json::from_slice(bytes).map_err(|e| AckError(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ack_form_is_pinned() {
        let ack = Ack {
            venue: "main-hall".parse().unwrap(),
            epoch: Epoch(7),
            seq: 1234,
        };
        let pinned = r#"{"venue":"main-hall","epoch":"0000000000000007","seq":1234}"#;
        assert_eq!(String::from_utf8(ack.encode()).unwrap(), pinned);
        assert_eq!(Ack::decode(pinned.as_bytes()).unwrap(), ack);
    }

    #[test]
    fn malformed_acks_are_refused() {
        for bad in [
            "",
            "{}",
            r#"{"venue":"Main","epoch":"0000000000000007","seq":1}"#,
            r#"{"venue":"v","epoch":"7","seq":1}"#,
            r#"{"venue":"v","epoch":"0000000000000007","seq":-1}"#,
            r#"{"venue":"v","epoch":"0000000000000007","seq":1,"extra":true}"#,
        ] {
            assert!(Ack::decode(bad.as_bytes()).is_err(), "{bad}");
        }
    }
}
