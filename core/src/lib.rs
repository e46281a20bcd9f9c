//! Tix domain: ids, domain events, signed passes, and the seven services (auth, tickets, orders,
//! payments, expiration, shows, door), each with its own redb store and transactional outbox.
//!
//! Nothing here reads the clock, makes randomness, or does network I/O: the node passes `now` and
//! fresh ids in, which keeps every rule testable with fixed values.

pub mod auth;
pub mod door;
pub mod events;
pub mod expiration;
pub mod ids;
pub mod orders;
pub mod outbox;
pub mod passes;
pub mod payments;
pub mod reactions;
mod record;
pub mod recovery;
pub mod secret_file;
pub mod shows;
pub mod store_copy;
pub mod store_version;
pub mod tickets;
pub mod time;
