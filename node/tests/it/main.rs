//! Integration tests of the venue node, one binary.

mod fake_stripe;
mod stripe_gateway;
