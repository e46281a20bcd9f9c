//! Tix sync: how a venue's events travel to the chain's hub.
//!
//! `protocol` is the wire format (MQTT topics, the CloudEvents envelope of each event, the hub's
//! acknowledgement); `broker` parses where the broker is; `qos` is the QoS events travel at;
//! `backoff` paces reconnects; `ack_delay` says how long to wait for an acknowledgement. None of
//! it does I/O: the relay in the node and the hub build on it.

pub mod ack_delay;
pub mod backoff;
pub mod broker;
pub mod protocol;
pub mod qos;
