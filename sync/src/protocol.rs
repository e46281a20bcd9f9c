//! The venue ↔ hub wire protocol: topics, the event envelope and the acknowledgement.
//!
//! A venue publishes each outbox event, in sequence order, to `v1/venues/{venue}/events` as a
//! CloudEvents 1.0 JSON envelope carrying the venue's gap-free sequence number and its store's epoch.
//! The hub answers with `v1/hub/venues/{venue}/ack` naming the highest sequence it has stored
//! (the broker retains a venue's latest, refreshed now and then). A venue restored from an older backup asks for the events it lost on
//! `v1/venues/{venue}/replay` and reads them back in pages (`replay`). This format is a contract
//! between separately deployed programs: it changes only on purpose, and its tests pin it byte for
//! byte.

mod ack;
mod envelope;
mod replay;
mod topic;

pub use self::ack::{Ack, AckError};
pub use self::envelope::{DecodeError, Envelope, MAX_ENVELOPE_BYTES};
pub use self::replay::{
    PAGE_BYTES, PageHeader, REPLAY_FILTER, ReplayError, ReplayPage, ReplayRequest,
    parse_replay_topic, replay_page_topic, replay_request_topic,
};
pub use self::topic::{
    EVENTS_FILTER, Epoch, HUB_ACCOUNT, TopicError, VenueId, ack_topic, events_topic,
    parse_events_topic,
};
