//! The MQTT quality of service that events travel at from a venue's relay to the hub: a setting
//! of each side, chosen for the broker, never a matter of correctness.
//!
//! At 1 (the default) the broker keeps each event until its receiver has it: cheap on Mosquitto,
//! and a hub that was away finds the events waiting in its session. At 0 the broker only
//! forwards: an event published while no hub listens, or dropped by a broker in trouble, is gone
//! from the broker, and the relay sends it again from the hub's acknowledgement, as it does for
//! the losses QoS 1 does not prevent either (a hub that crashed before its commit). A NATS
//! cluster writes every QoS 1 message to a replicated JetStream stream before it acknowledges it,
//! one message at a time per connection; QoS 0 messages go around JetStream.
//!
//! The two sides may differ (a chain changing over venue by venue): a message travels at the
//! lower of the publisher's and the subscription's QoS.
//!
//! Written `0` or `1` (on the command line and in the environment).

use std::fmt;
use std::str::FromStr;

/// The QoS events are published (relay) or subscribed to (hub) at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EventsQos {
    /// QoS 0: the broker forwards and forgets.
    AtMostOnce,
    /// QoS 1: the broker keeps each event until delivered.
    #[default]
    AtLeastOnce,
}

impl EventsQos {
    /// The QoS as the MQTT client writes it.
    pub fn mqtt(self) -> rumqttc::QoS {
        match self {
            EventsQos::AtMostOnce => rumqttc::QoS::AtMostOnce,
            EventsQos::AtLeastOnce => rumqttc::QoS::AtLeastOnce,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the events' QoS is 0 or 1, not {0:?} (2 is not offered: the hub already stores each event \
     once)"
)]
pub struct EventsQosError(String);

impl FromStr for EventsQos {
    type Err = EventsQosError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "0" => Ok(EventsQos::AtMostOnce),
            "1" => Ok(EventsQos::AtLeastOnce),
            other => Err(EventsQosError(other.to_owned())),
        }
    }
}

impl fmt::Display for EventsQos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            EventsQos::AtMostOnce => "0",
            EventsQos::AtLeastOnce => "1",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_and_one_are_read_and_written_back_and_nothing_else_is_taken() {
        for qos in [EventsQos::AtMostOnce, EventsQos::AtLeastOnce] {
            assert_eq!(qos.to_string().parse::<EventsQos>(), Ok(qos));
        }
        assert_eq!(EventsQos::default(), EventsQos::AtLeastOnce);
        let refused = "2".parse::<EventsQos>().unwrap_err().to_string();
        assert!(refused.contains("0 or 1, not \"2\""), "{refused}");
        assert!("once".parse::<EventsQos>().is_err());
        assert!("".parse::<EventsQos>().is_err());
    }
}
