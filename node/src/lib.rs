//! The Tix venue node.

pub mod gateway;
