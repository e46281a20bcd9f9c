//! The event envelope: one outbox event as a CloudEvents 1.0 JSON document.
//!
//! ```text
//! {"specversion":"1.0","id":"<venue>:<epoch>:<seq>","source":"<venue>","type":"<subject>",
//!  "time":"<RFC 3339, ms>","datacontenttype":"application/json","epoch":"<epoch>",
//!  "sequence":"<seq>","data":{...the seed payload...}}
//! ```
//!
//! `sequence` follows the CloudEvents sequence extension (a string, since CloudEvents integers are
//! 32-bit and a venue's sequence outgrows that); `epoch` is ours. `id` is derived from the three, so
//! a replayed event has the same id.

use serde::{Deserialize, Serialize};

use tix_core::events::{DomainEvent, StoredEvent};
use tix_core::time::Millis;

use super::topic::{Epoch, VenueId};

/// The largest envelope accepted; the biggest real event is far smaller.
pub const MAX_ENVELOPE_BYTES: usize = 64 * 1024;

/// An outbox event on its way from a venue to the hub.
#[derive(Debug, Clone, PartialEq)]
pub struct Envelope {
    pub venue: VenueId,
    pub epoch: Epoch,
    pub event: StoredEvent,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("envelope of {0} bytes exceeds the {MAX_ENVELOPE_BYTES}-byte limit")]
    TooLarge(usize),
    #[error("envelope is not a JSON object: {0}")]
    NotJson(String),
    #[error("envelope lacks {0}")]
    Missing(&'static str),
    #[error("unsupported specversion {0:?} (expected \"1.0\")")]
    SpecVersion(String),
    #[error("bad {field}: {reason}")]
    BadAttribute { field: &'static str, reason: String },
    #[error("id {found:?} does not match source, epoch and sequence ({expected:?})")]
    InconsistentId { found: String, expected: String },
    #[error("data does not fit type {subject:?}: {reason}")]
    BadData { subject: String, reason: String },
}

#[derive(Serialize)]
struct WireOut<'a> {
    specversion: &'static str,
    id: String,
    source: &'a VenueId,
    #[serde(rename = "type")]
    kind: &'static str,
    time: String,
    datacontenttype: &'static str,
    epoch: Epoch,
    sequence: String,
    data: &'a serde_json::Value,
}

#[derive(Deserialize)]
struct WireIn {
    specversion: Option<String>,
    id: Option<String>,
    source: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    time: Option<String>,
    epoch: Option<String>,
    sequence: Option<String>,
    data: Option<serde_json::Value>,
}

impl Envelope {
    fn id(venue: &VenueId, epoch: Epoch, seq: u64) -> String {
        format!("{venue}:{epoch}:{seq}")
    }

    pub fn encode(&self) -> Vec<u8> {
        // The domain event serializes as {"subject": ..., "data": ...}; the envelope keeps the data.
        let tagged =
            serde_json::to_value(&self.event.event).expect("domain events always serialize");
        let wire = WireOut {
            specversion: "1.0",
            id: Envelope::id(&self.venue, self.epoch, self.event.seq),
            source: &self.venue,
            kind: self.event.event.subject(),
            time: Millis(self.event.at).to_iso(),
            datacontenttype: "application/json",
            epoch: self.epoch,
            sequence: self.event.seq.to_string(),
            data: &tagged["data"],
        };
        serde_json::to_vec(&wire).expect("envelopes always serialize")
    }

    pub fn decode(bytes: &[u8]) -> Result<Envelope, DecodeError> {
        if bytes.len() > MAX_ENVELOPE_BYTES {
            return Err(DecodeError::TooLarge(bytes.len()));
        }
        let wire: WireIn =
            serde_json::from_slice(bytes).map_err(|e| DecodeError::NotJson(e.to_string()))?;
        let specversion = wire
            .specversion
            .ok_or(DecodeError::Missing("specversion"))?;
        if specversion != "1.0" {
            return Err(DecodeError::SpecVersion(specversion));
        }
        let id = wire.id.ok_or(DecodeError::Missing("id"))?;
        let venue: VenueId = wire
            .source
            .ok_or(DecodeError::Missing("source"))?
            .parse()
            .map_err(|e: super::topic::TopicError| bad("source", e))?;
        let subject = wire.kind.ok_or(DecodeError::Missing("type"))?;
        let time = wire.time.ok_or(DecodeError::Missing("time"))?;
        let at = Millis::parse_iso(&time).ok_or_else(|| bad("time", "not an RFC 3339 time"))?;
        let epoch: Epoch = wire
            .epoch
            .ok_or(DecodeError::Missing("epoch"))?
            .parse()
            .map_err(|e: super::topic::TopicError| bad("epoch", e))?;
        let sequence = wire.sequence.ok_or(DecodeError::Missing("sequence"))?;
        let seq = parse_sequence(&sequence)
            .ok_or_else(|| bad("sequence", "not a decimal number from 1"))?;
        let expected = Envelope::id(&venue, epoch, seq);
        if id != expected {
            return Err(DecodeError::InconsistentId {
                found: id,
                expected,
            });
        }
        let data = wire.data.ok_or(DecodeError::Missing("data"))?;
        let tagged = serde_json::json!({ "subject": subject, "data": data });
        let event: DomainEvent =
            serde_json::from_value(tagged).map_err(|e| DecodeError::BadData {
                subject: subject.clone(),
                reason: e.to_string(),
            })?;
        Ok(Envelope {
            venue,
            epoch,
            event: StoredEvent {
                seq,
                at: at.0,
                event,
            },
        })
    }
}

fn bad(field: &'static str, reason: impl ToString) -> DecodeError {
    DecodeError::BadAttribute {
        field,
        reason: reason.to_string(),
    }
}

/// A sequence number: decimal digits without sign or leading zeros, at least 1.
fn parse_sequence(text: &str) -> Option<u64> {
    let canonical =
        !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) && !text.starts_with('0');
    if canonical { text.parse().ok() } else { None }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use tix_core::events::{OrderCancelled, TicketIdRef};

    use super::*;

    fn sample() -> Envelope {
        Envelope {
            venue: "main-hall".parse().unwrap(),
            epoch: Epoch(0x0123_4567_89ab_cdef),
            event: StoredEvent {
                seq: 42,
                at: 1_700_000_000_123,
                event: DomainEvent::OrderCancelled(OrderCancelled {
                    id: "5f8d0d55b54764421b7156c9".parse().unwrap(),
                    version: 1,
                    ticket: TicketIdRef {
                        id: "5f8d0d55b54764421b7156ca".parse().unwrap(),
                    },
                    show: None,
                }),
            },
        }
    }

    const PINNED: &str = r#"{"specversion":"1.0","id":"main-hall:0123456789abcdef:42","source":"main-hall","type":"order:cancelled","time":"2023-11-14T22:13:20.123Z","datacontenttype":"application/json","epoch":"0123456789abcdef","sequence":"42","data":{"id":"5f8d0d55b54764421b7156c9","version":1,"ticket":{"id":"5f8d0d55b54764421b7156ca"}}}"#;

    #[test]
    fn the_wire_form_is_pinned() {
        assert_eq!(String::from_utf8(sample().encode()).unwrap(), PINNED);
        assert_eq!(Envelope::decode(PINNED.as_bytes()).unwrap(), sample());
    }

    #[test]
    fn malformed_envelopes_say_what_is_wrong() {
        let with = |from: &str, to: &str| PINNED.replace(from, to).into_bytes();
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (b"not json".to_vec(), "not a JSON object"),
            (b"[1,2]".to_vec(), "not a JSON object"),
            (with(r#""specversion":"1.0","#, ""), "lacks specversion"),
            (
                with(r#""specversion":"1.0""#, r#""specversion":"0.3""#),
                "specversion",
            ),
            (
                with(r#""source":"main-hall""#, r#""source":"Main Hall""#),
                "bad source",
            ),
            (
                with(
                    r#""time":"2023-11-14T22:13:20.123Z""#,
                    r#""time":"yesterday""#,
                ),
                "bad time",
            ),
            (
                with(r#""sequence":"42""#, r#""sequence":"042""#),
                "bad sequence",
            ),
            (
                with(r#""sequence":"42""#, r#""sequence":"-1""#),
                "bad sequence",
            ),
            (
                with(r#""sequence":"42""#, r#""sequence":"43""#),
                "does not match",
            ),
            (
                with(r#""epoch":"0123456789abcdef""#, r#""epoch":"xyz""#),
                "bad epoch",
            ),
            (
                with(
                    r#""type":"order:cancelled""#,
                    r#""type":"order:teleported""#,
                ),
                "does not fit type",
            ),
            (
                with(r#""version":1"#, r#""version":"one""#),
                "does not fit type",
            ),
            (
                with(
                    r#","data":{"id":"5f8d0d55b54764421b7156c9","version":1,"ticket":{"id":"5f8d0d55b54764421b7156ca"}}"#,
                    "",
                ),
                "lacks data",
            ),
            (vec![b' '; MAX_ENVELOPE_BYTES + 1], "exceeds"),
        ];
        for (bytes, expected) in cases {
            let error = Envelope::decode(&bytes).expect_err(expected).to_string();
            assert!(
                error.contains(expected),
                "{error:?} should mention {expected:?}"
            );
        }
    }

    proptest! {
        #[test]
        fn envelopes_round_trip(seq in 1u64.., at in 0u64..4_102_444_800_000, epoch in any::<u64>(), version in any::<u64>()) {
            let mut envelope = sample();
            envelope.epoch = Epoch(epoch);
            envelope.event.seq = seq;
            envelope.event.at = at;
            if let DomainEvent::OrderCancelled(e) = &mut envelope.event.event {
                e.version = version;
            }
            prop_assert_eq!(Envelope::decode(&envelope.encode()).unwrap(), envelope);
        }

        #[test]
        fn arbitrary_bytes_never_panic_the_decoder(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = Envelope::decode(&bytes);
        }
    }
}
