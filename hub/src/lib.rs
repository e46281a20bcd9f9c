//! The Tix hub.
