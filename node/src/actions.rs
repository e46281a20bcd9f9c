//! The actions layer: every change of state a request can ask for, in one place for the JSON API
//! (`http`) and the storefront (`web`).
//!
//! An action checks its input with the seed's validators and messages, mints the ids it needs,
//! sends the writer its command, and owns any task that must outlive the request (a checkout or a
//! refund runs on its own, so a client that disconnects cannot leave money half moved). Both edges
//! call the same action, so a rule and its message exist once; each edge only shapes the answer
//! (JSON, or a page with the problems beside their fields).
//!
//! Architecture invariant: `http` and `web` import this layer and never each other; this layer
//! imports `checkout`, the writer and the stores, never an edge.

pub(crate) mod door;
mod error;
pub(crate) mod orders;
pub(crate) mod payments;
pub(crate) mod reset;
pub(crate) mod shows;
pub(crate) mod tickets;
pub(crate) mod users;
pub(crate) mod validate;

pub use self::error::{ApiError, FieldError, retry_after_value};
