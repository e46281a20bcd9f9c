//! Catch-up: a venue restored from an older backup asks the hub for the events it lost.
//!
//! ```text
//! venue → v1/venues/{venue}/replay       {"epoch":"<epoch>","after":<n>}
//! hub   → v1/hub/venues/{venue}/replay   {"epoch":"<epoch>","after":<n>,"through":<m>}\n
//!                                        <envelope of n+1>\n<envelope of n+2>\n...
//! ```
//!
//! The venue asks for the events of its epoch after `after`; the hub answers one page: a header
//! line naming the request it answers and `through`, the highest sequence it stores for that venue
//! and epoch (0 if none), then the envelopes from `after + 1` on, one per line, in order, as many
//! as fit in `PAGE_BYTES` (always at least one when there is one). The venue asks again after the
//! last one it applied until a page is empty, so it paces the hub and a lost page is only asked
//! for again. Neither message is retained. Envelopes are compact JSON, so none holds a newline.

use serde::{Deserialize, Serialize};

use super::envelope::{DecodeError, Envelope};
use super::topic::{Epoch, TopicError, VenueId};

/// The hub subscribes to every venue's catch-up requests with this filter.
pub const REPLAY_FILTER: &str = "v1/venues/+/replay";
/// Most bytes of envelopes one page carries: well under the broker's 256 KiB message limit, with
/// room for the header.
pub const PAGE_BYTES: usize = 192 * 1024;

/// Where a venue asks for the events it lost.
pub fn replay_request_topic(venue: &VenueId) -> String {
    format!("v1/venues/{venue}/replay")
}

/// Where the hub answers a venue's catch-up requests.
pub fn replay_page_topic(venue: &VenueId) -> String {
    format!("v1/hub/venues/{venue}/replay")
}

/// The venue a request topic belongs to.
pub fn parse_replay_topic(topic: &str) -> Result<VenueId, TopicError> {
    topic
        .strip_prefix("v1/venues/")
        .and_then(|rest| rest.strip_suffix("/replay"))
        .ok_or(TopicError::NotAReplayTopic)?
        .parse()
}

/// A venue's question: every event of `epoch` after `after`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplayRequest {
    pub epoch: Epoch,
    pub after: u64,
}

impl ReplayRequest {
    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("requests always serialize")
    }

    pub fn decode(bytes: &[u8]) -> Result<ReplayRequest, ReplayError> {
        serde_json::from_slice(bytes).map_err(|e| ReplayError::Request(e.to_string()))
    }
}

/// The header line of a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PageHeader {
    pub epoch: Epoch,
    pub after: u64,
    pub through: u64,
}

/// A page as the venue reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplayPage {
    pub header: PageHeader,
    pub events: Vec<Envelope>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplayError {
    #[error("malformed replay request: {0}")]
    Request(String),
    #[error("malformed replay page header: {0}")]
    Header(String),
    #[error("replay page line {line}: {error}")]
    Envelope { line: usize, error: DecodeError },
    #[error("replay page line {line}: event of {found}, expected {expected}")]
    Foreign {
        line: usize,
        found: String,
        expected: String,
    },
    #[error("replay page line {line}: sequence {found}, expected {expected}")]
    OutOfOrder {
        line: usize,
        found: u64,
        expected: u64,
    },
    #[error("replay page goes to sequence {last}, beyond its own through {through}")]
    BeyondThrough { last: u64, through: u64 },
}

impl ReplayPage {
    /// Writes a page from envelopes as the hub stored them (each one compact JSON).
    pub fn encode(header: &PageHeader, envelopes: &[Vec<u8>]) -> Vec<u8> {
        let mut out = serde_json::to_vec(header).expect("headers always serialize");
        out.push(b'\n');
        for envelope in envelopes {
            out.extend_from_slice(envelope);
            out.push(b'\n');
        }
        out
    }

    /// Reads a page, checking that every envelope is the asking venue's, of the header's epoch,
    /// and numbered on from `after` without a gap.
    pub fn decode(bytes: &[u8], venue: &VenueId) -> Result<ReplayPage, ReplayError> {
        let mut lines = bytes.split(|b| *b == b'\n');
        let header: PageHeader = serde_json::from_slice(lines.next().unwrap_or_default())
            .map_err(|e| ReplayError::Header(e.to_string()))?;
        let mut events = Vec::new();
        let mut expected = header.after.saturating_add(1);
        for (index, line) in lines.enumerate().filter(|(_, l)| !l.is_empty()) {
            let line_no = index + 2;
            let envelope = Envelope::decode(line).map_err(|error| ReplayError::Envelope {
                line: line_no,
                error,
            })?;
            if &envelope.venue != venue || envelope.epoch != header.epoch {
                return Err(ReplayError::Foreign {
                    line: line_no,
                    found: format!("{} epoch {}", envelope.venue, envelope.epoch),
                    expected: format!("{venue} epoch {}", header.epoch),
                });
            }
            if envelope.event.seq != expected {
                return Err(ReplayError::OutOfOrder {
                    line: line_no,
                    found: envelope.event.seq,
                    expected,
                });
            }
            expected = expected.saturating_add(1);
            events.push(envelope);
        }
        if !events.is_empty() && expected - 1 > header.through.max(header.after) {
            return Err(ReplayError::BeyondThrough {
                last: expected - 1,
                through: header.through,
            });
        }
        Ok(ReplayPage { header, events })
    }
}

#[cfg(test)]
mod tests {
    use tix_core::events::{DomainEvent, StoredEvent, UserCreated};
    use tix_core::ids::UserId;

    use super::*;

    fn venue() -> VenueId {
        "main-hall".parse().unwrap()
    }

    fn envelope(seq: u64) -> Envelope {
        Envelope {
            venue: venue(),
            epoch: Epoch(0xabc),
            event: StoredEvent {
                seq,
                at: 1_700_000_000_000,
                event: DomainEvent::UserCreated(UserCreated {
                    id: UserId::from_bytes([seq as u8; 12]),
                    email: "a@b.c".into(),
                }),
            },
        }
    }

    fn page(after: u64, through: u64, seqs: &[u64]) -> Vec<u8> {
        let header = PageHeader {
            epoch: Epoch(0xabc),
            after,
            through,
        };
        let envelopes: Vec<Vec<u8>> = seqs.iter().map(|s| envelope(*s).encode()).collect();
        ReplayPage::encode(&header, &envelopes)
    }

    #[test]
    fn the_request_and_the_header_forms_are_pinned() {
        let request = ReplayRequest {
            epoch: Epoch(0xabc),
            after: 41,
        };
        assert_eq!(
            String::from_utf8(request.encode()).unwrap(),
            r#"{"epoch":"0000000000000abc","after":41}"#
        );
        let bytes = page(41, 43, &[]);
        assert_eq!(
            String::from_utf8(bytes).unwrap(),
            "{\"epoch\":\"0000000000000abc\",\"after\":41,\"through\":43}\n"
        );
        assert_eq!(replay_request_topic(&venue()), "v1/venues/main-hall/replay");
        assert_eq!(
            replay_page_topic(&venue()),
            "v1/hub/venues/main-hall/replay"
        );
        assert_eq!(
            parse_replay_topic("v1/venues/main-hall/replay"),
            Ok(venue())
        );
        assert!(parse_replay_topic("v1/venues/main-hall/events").is_err());
    }

    #[test]
    fn a_page_round_trips() {
        let decoded = ReplayPage::decode(&page(41, 43, &[42, 43]), &venue()).unwrap();
        assert_eq!(decoded.header.through, 43);
        assert_eq!(decoded.events, vec![envelope(42), envelope(43)]);
    }

    #[test]
    fn a_gap_another_venue_or_a_sequence_beyond_through_is_refused() {
        assert_eq!(
            ReplayPage::decode(&page(41, 44, &[42, 44]), &venue()),
            Err(ReplayError::OutOfOrder {
                line: 3,
                found: 44,
                expected: 43
            })
        );
        let other: VenueId = "side-hall".parse().unwrap();
        assert!(matches!(
            ReplayPage::decode(&page(41, 43, &[42]), &other),
            Err(ReplayError::Foreign { line: 2, .. })
        ));
        assert_eq!(
            ReplayPage::decode(&page(41, 42, &[42, 43]), &venue()),
            Err(ReplayError::BeyondThrough {
                last: 43,
                through: 42
            })
        );
        assert!(matches!(
            ReplayPage::decode(b"not json\n", &venue()),
            Err(ReplayError::Header(_))
        ));
    }
}
