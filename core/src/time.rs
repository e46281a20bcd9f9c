//! Instants as milliseconds since the Unix epoch, passed into `core` by the node.
//!
//! `core` never reads the clock; every rule that depends on time takes a `Millis` argument.

use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Millis(pub u64);

impl Millis {
    /// The last instant `to_iso` can write (9999-12-31T23:59:59.999Z); RFC 3339 has four-digit
    /// years, and the formatter panics past them. Instants from input are checked against it.
    pub const LAST_ISO: Millis = Millis(253_402_300_799_999);

    pub fn from_system_time(time: SystemTime) -> Millis {
        let since = time
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default();
        Millis(since.as_millis() as u64)
    }

    pub fn to_system_time(self) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_millis(self.0)
    }

    pub fn plus(self, duration: Duration) -> Millis {
        Millis(self.0.saturating_add(duration.as_millis() as u64))
    }

    /// ISO 8601 UTC with milliseconds, as JavaScript's `Date.prototype.toISOString` writes it.
    pub fn to_iso(self) -> String {
        humantime::format_rfc3339_millis(self.to_system_time()).to_string()
    }

    /// The time as pages, letters and printed passes show it: `2026-12-31 20:00 UTC`.
    pub fn readable(self) -> String {
        let text = self.to_iso();
        format!("{} {} UTC", &text[..10], &text[11..16])
    }

    /// Parses what `to_iso` writes (and other RFC 3339 UTC forms), up to `LAST_ISO`, so that
    /// whatever it accepts can be written back.
    pub fn parse_iso(text: &str) -> Option<Millis> {
        humantime::parse_rfc3339_weak(text)
            .ok()
            .map(Millis::from_system_time)
            .filter(|at| *at <= Millis::LAST_ISO)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_form_matches_javascript() {
        assert_eq!(
            Millis(1_700_000_000_123).to_iso(),
            "2023-11-14T22:13:20.123Z"
        );
        assert_eq!(
            Millis::parse_iso("2023-11-14T22:13:20.123Z"),
            Some(Millis(1_700_000_000_123))
        );
        assert_eq!(Millis::LAST_ISO.to_iso(), "9999-12-31T23:59:59.999Z");
        assert_eq!(
            Millis::parse_iso("9999-12-31T23:59:59.999Z"),
            Some(Millis::LAST_ISO)
        );
    }

    proptest::proptest! {
        #[test]
        fn whatever_parses_can_be_written_back(
            text in "[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,9})?Z?"
        ) {
            if let Some(at) = Millis::parse_iso(&text) {
                let _ = at.to_iso();
            }
        }
    }
}
