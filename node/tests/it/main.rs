//! Integration tests of the venue node, one binary: real `tix-node` processes on loopback ports,
//! each with its own data dir, driven over HTTP.

mod bad_input;
mod box_office;
mod concurrency;
mod expiry;
mod fake_stripe;
mod helpers;
mod orders;
mod payments;
mod search;
mod storefront;
mod stripe_gateway;
mod stripe_node;
mod tickets;
mod users;
