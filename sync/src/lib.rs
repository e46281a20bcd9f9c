//! Tix sync: how a venue's events travel to the chain's hub.
//!
//! `protocol` is the wire format (MQTT topics, the CloudEvents envelope of each event, the hub's
//! acknowledgement) and does no I/O. The relay in the node and the hub build on it.

pub mod protocol;
