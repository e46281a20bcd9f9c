//! Domain events: what every committed change of state says about itself.
//!
//! Each event is written into its service's outbox in the same redb transaction as the change, under
//! a per-node gap-free sequence number. On the wire the subjects and payloads are the seed app's
//! (`ticket:created`, `order:created`, ...); `user:created` and `order:completed` are ours. The JSON
//! form is a contract with the hub: it changes only on purpose.

mod shows;

use serde::{Deserialize, Serialize};

use crate::ids::{OrderId, PaymentId, ShowId, TicketId, UserId};
use crate::tickets::TicketDetails;

pub use self::shows::{
    Area, Category, Generate, Seat, SeatRow, ShowCreated, ShowDetails, ShowPart, ShowSeats,
    ShowStatus, ShowUpdated, UnitRef,
};

/// An order's lifecycle state, with the seed app's string values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum OrderStatus {
    #[serde(rename = "created")]
    Created,
    #[serde(rename = "cancelled")]
    Cancelled,
    #[serde(rename = "awaiting:payment")]
    AwaitingPayment,
    #[serde(rename = "complete")]
    Complete,
}

impl OrderStatus {
    pub const ALL: [OrderStatus; 4] = [
        OrderStatus::Created,
        OrderStatus::AwaitingPayment,
        OrderStatus::Complete,
        OrderStatus::Cancelled,
    ];

    /// The seed's string for this state (the same as its JSON form).
    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Created => "created",
            OrderStatus::Cancelled => "cancelled",
            OrderStatus::AwaitingPayment => "awaiting:payment",
            OrderStatus::Complete => "complete",
        }
    }

    /// Whether an order in this state holds its ticket (the seed's `isReserved`).
    pub fn holds_ticket(self) -> bool {
        !matches!(self, OrderStatus::Cancelled)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "subject", content = "data")]
pub enum DomainEvent {
    #[serde(rename = "user:created")]
    UserCreated(UserCreated),
    #[serde(rename = "ticket:created")]
    TicketCreated(TicketChanged),
    #[serde(rename = "ticket:updated")]
    TicketUpdated(TicketChanged),
    #[serde(rename = "order:created")]
    OrderCreated(OrderCreated),
    #[serde(rename = "order:cancelled")]
    OrderCancelled(OrderCancelled),
    #[serde(rename = "order:completed")]
    OrderCompleted(OrderCompleted),
    #[serde(rename = "expiration:complete")]
    ExpirationComplete(ExpirationComplete),
    #[serde(rename = "payment:created")]
    PaymentCreated(PaymentCreated),
    #[serde(rename = "payment:refunded")]
    PaymentRefunded(PaymentRefunded),
    #[serde(rename = "show:created")]
    ShowCreated(ShowCreated),
    #[serde(rename = "show:seats")]
    ShowSeats(ShowSeats),
    #[serde(rename = "show:updated")]
    ShowUpdated(ShowUpdated),
    #[serde(rename = "ticket:admitted")]
    TicketAdmitted(TicketAdmitted),
    #[serde(rename = "pass:key")]
    PassKey(PassKeyChanged),
}

impl DomainEvent {
    /// The seed app's subject for this event.
    pub fn subject(&self) -> &'static str {
        match self {
            DomainEvent::UserCreated(_) => "user:created",
            DomainEvent::TicketCreated(_) => "ticket:created",
            DomainEvent::TicketUpdated(_) => "ticket:updated",
            DomainEvent::OrderCreated(_) => "order:created",
            DomainEvent::OrderCancelled(_) => "order:cancelled",
            DomainEvent::OrderCompleted(_) => "order:completed",
            DomainEvent::ExpirationComplete(_) => "expiration:complete",
            DomainEvent::PaymentCreated(_) => "payment:created",
            DomainEvent::PaymentRefunded(_) => "payment:refunded",
            DomainEvent::ShowCreated(_) => "show:created",
            DomainEvent::ShowSeats(_) => "show:seats",
            DomainEvent::ShowUpdated(_) => "show:updated",
            DomainEvent::TicketAdmitted(_) => "ticket:admitted",
            DomainEvent::PassKey(_) => "pass:key",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserCreated {
    pub id: UserId,
    pub email: String,
}

/// `ticket:created` and `ticket:updated` share a payload; `orderId` is present only while reserved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TicketChanged {
    pub id: TicketId,
    pub version: u64,
    pub title: String,
    pub price: f64,
    pub user_id: UserId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_id: Option<OrderId>,
    /// Only the details the seller gave; none at all for a seed-style ticket.
    #[serde(flatten)]
    pub details: TicketDetails,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderCreated {
    pub id: OrderId,
    pub version: u64,
    pub status: OrderStatus,
    pub user_id: UserId,
    /// ISO 8601 UTC with milliseconds, as JavaScript's `toISOString` writes it.
    pub expires_at: String,
    pub ticket: TicketRef,
    /// For an order of a show's tickets: all of them and the total (`ticket` is the first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub show: Option<ShowPart>,
}

/// The ticket as an order event carries it: its id and the price the order locked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TicketRef {
    pub id: TicketId,
    pub price: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TicketIdRef {
    pub id: TicketId,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderCancelled {
    pub id: OrderId,
    pub version: u64,
    pub ticket: TicketIdRef,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub show: Option<ShowPart>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderCompleted {
    pub id: OrderId,
    pub version: u64,
    pub ticket: TicketIdRef,
    pub payment_id: PaymentId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub show: Option<ShowPart>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExpirationComplete {
    pub order_id: OrderId,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentCreated {
    pub id: PaymentId,
    pub order_id: OrderId,
    /// The gateway's charge id; empty for cash.
    pub stripe_id: String,
    /// Present only for cash, so a card payment keeps the seed's payload.
    #[serde(default, skip_serializing_if = "PaymentMethod::is_card")]
    pub method: PaymentMethod,
}

/// How a payment was taken: by card through the gateway, or in cash at the box office.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PaymentMethod {
    #[default]
    Card,
    Cash,
}

impl PaymentMethod {
    pub fn is_card(&self) -> bool {
        matches!(self, PaymentMethod::Card)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            PaymentMethod::Card => "card",
            PaymentMethod::Cash => "cash",
        }
    }
}

/// A completed order's money given back (ours, not the seed's). The ticket stays sold: a ticket is
/// sold at most once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentRefunded {
    /// The payment refunded.
    pub id: PaymentId,
    pub order_id: OrderId,
    pub method: PaymentMethod,
    pub amount_cents: i64,
    /// The staff member who refunded it.
    pub by: UserId,
}

/// A sold ticket let in at the door (ours). `admittedAt` is when it was scanned, which for an
/// offline scanner's admission is before the event's commit time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TicketAdmitted {
    pub ticket_id: TicketId,
    pub order_id: OrderId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub show_id: Option<ShowId>,
    pub gate: String,
    pub admitted_at: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub offline: bool,
}

/// The key the node signs passes with, announced when the node first uses it (ours), so that the
/// chain knows every venue's key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PassKeyChanged {
    pub key_id: String,
    /// The Ed25519 public key, 64 hex digits.
    pub public_key: String,
}

/// An event as it sits in an outbox: numbered and stamped with its commit time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredEvent {
    /// Per-node, gap-free, starting at 1, in commit order across all of the node's stores.
    pub seq: u64,
    /// Milliseconds since the Unix epoch at which the writing transaction began.
    pub at: u64,
    #[serde(flatten)]
    pub event: DomainEvent,
}

#[derive(Debug, thiserror::Error)]
#[error("malformed stored event: {0}")]
pub struct DecodeError(#[from] serde_json::Error);

impl StoredEvent {
    /// The outbox and wire encoding: one JSON object `{"seq","at","subject","data"}`.
    pub fn encode(&self) -> Vec<u8> {
        // Serializing these plain structs cannot fail: no maps with non-string keys, no I/O.
        serde_json::to_vec(self).expect("domain events always serialize")
    }

    pub fn decode(bytes: &[u8]) -> Result<StoredEvent, DecodeError> {
        Ok(serde_json::from_slice(bytes)?)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn order_status_strings_are_its_json_form() {
        for status in OrderStatus::ALL {
            assert_eq!(
                serde_json::to_value(status).unwrap(),
                serde_json::json!(status.as_str())
            );
        }
    }

    fn id_bytes() -> impl Strategy<Value = [u8; 12]> {
        any::<[u8; 12]>()
    }

    fn price() -> impl Strategy<Value = f64> {
        // Prices are finite positive numbers; JSON has no NaN or infinity.
        (1u64..10_000_000u64).prop_map(|cents| cents as f64 / 100.0)
    }

    fn status() -> impl Strategy<Value = OrderStatus> {
        prop_oneof![
            Just(OrderStatus::Created),
            Just(OrderStatus::Cancelled),
            Just(OrderStatus::AwaitingPayment),
            Just(OrderStatus::Complete),
        ]
    }

    fn event() -> impl Strategy<Value = DomainEvent> {
        prop_oneof![
            (id_bytes(), ".*").prop_map(|(id, email)| DomainEvent::UserCreated(UserCreated {
                id: UserId::from_bytes(id),
                email
            })),
            (
                id_bytes(),
                any::<u64>(),
                ".*",
                price(),
                id_bytes(),
                proptest::option::of(id_bytes()),
                any::<bool>()
            )
                .prop_map(|(id, version, title, price, user, order, created)| {
                    let changed = TicketChanged {
                        id: TicketId::from_bytes(id),
                        version,
                        title,
                        price,
                        user_id: UserId::from_bytes(user),
                        order_id: order.map(OrderId::from_bytes),
                        details: TicketDetails {
                            show: created.then(|| "Show".to_owned()),
                            ..TicketDetails::default()
                        },
                    };
                    if created {
                        DomainEvent::TicketCreated(changed)
                    } else {
                        DomainEvent::TicketUpdated(changed)
                    }
                }),
            (
                id_bytes(),
                any::<u64>(),
                status(),
                id_bytes(),
                ".*",
                id_bytes(),
                price()
            )
                .prop_map(|(id, version, status, user, expires_at, ticket, price)| {
                    DomainEvent::OrderCreated(OrderCreated {
                        id: OrderId::from_bytes(id),
                        version,
                        status,
                        user_id: UserId::from_bytes(user),
                        expires_at,
                        ticket: TicketRef {
                            id: TicketId::from_bytes(ticket),
                            price,
                        },
                        show: None,
                    })
                }),
            (id_bytes(), any::<u64>(), id_bytes()).prop_map(|(id, version, ticket)| {
                DomainEvent::OrderCancelled(OrderCancelled {
                    id: OrderId::from_bytes(id),
                    version,
                    ticket: TicketIdRef {
                        id: TicketId::from_bytes(ticket),
                    },
                    show: None,
                })
            }),
            (id_bytes(), any::<u64>(), id_bytes(), id_bytes()).prop_map(
                |(id, version, ticket, payment)| {
                    DomainEvent::OrderCompleted(OrderCompleted {
                        id: OrderId::from_bytes(id),
                        version,
                        ticket: TicketIdRef {
                            id: TicketId::from_bytes(ticket),
                        },
                        payment_id: PaymentId::from_bytes(payment),
                        show: None,
                    })
                }
            ),
            id_bytes().prop_map(|id| DomainEvent::ExpirationComplete(ExpirationComplete {
                order_id: OrderId::from_bytes(id)
            })),
            (id_bytes(), id_bytes(), ".*", any::<bool>()).prop_map(
                |(id, order, stripe_id, cash)| {
                    DomainEvent::PaymentCreated(PaymentCreated {
                        id: PaymentId::from_bytes(id),
                        order_id: OrderId::from_bytes(order),
                        stripe_id,
                        method: if cash {
                            PaymentMethod::Cash
                        } else {
                            PaymentMethod::Card
                        },
                    })
                }
            ),
            (id_bytes(), id_bytes(), any::<i64>(), id_bytes()).prop_map(
                |(id, order, amount_cents, by)| {
                    DomainEvent::PaymentRefunded(PaymentRefunded {
                        id: PaymentId::from_bytes(id),
                        order_id: OrderId::from_bytes(order),
                        method: PaymentMethod::Cash,
                        amount_cents,
                        by: UserId::from_bytes(by),
                    })
                }
            ),
            (
                id_bytes(),
                id_bytes(),
                proptest::option::of(id_bytes()),
                ".*",
                any::<bool>()
            )
                .prop_map(|(ticket, order, show, gate, offline)| {
                    DomainEvent::TicketAdmitted(TicketAdmitted {
                        ticket_id: TicketId::from_bytes(ticket),
                        order_id: OrderId::from_bytes(order),
                        show_id: show.map(ShowId::from_bytes),
                        gate,
                        admitted_at: "2026-12-04T19:03:11.000Z".into(),
                        offline,
                    })
                }),
            ("[0-9a-f]{8}", "[0-9a-f]{64}").prop_map(|(key_id, public_key)| {
                DomainEvent::PassKey(PassKeyChanged { key_id, public_key })
            }),
        ]
    }

    proptest! {
        #[test]
        fn every_event_decodes_to_itself(seq in any::<u64>(), at in any::<u64>(), event in event()) {
            let stored = StoredEvent { seq, at, event };
            let decoded = StoredEvent::decode(&stored.encode()).unwrap();
            prop_assert_eq!(decoded, stored);
        }

        #[test]
        fn arbitrary_bytes_never_panic_the_decoder(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = StoredEvent::decode(&bytes);
        }

        #[test]
        fn mangled_events_are_rejected_or_decode_cleanly(event in event(), cut in 0usize..400, byte in any::<u8>()) {
            let mut bytes = StoredEvent { seq: 1, at: 2, event }.encode();
            let cut = cut.min(bytes.len().saturating_sub(1));
            bytes[cut] = byte;
            if let Ok(decoded) = StoredEvent::decode(&bytes) {
                // Whatever decodes must encode again: the decoder never builds an invalid event.
                let _ = StoredEvent::decode(&decoded.encode()).unwrap();
            }
        }
    }

    #[test]
    fn the_wire_form_uses_the_seed_subjects_and_camel_case_payloads() {
        let event = StoredEvent {
            seq: 7,
            at: 1_700_000_000_000,
            event: DomainEvent::OrderCreated(OrderCreated {
                id: "5f8d0d55b54764421b7156c9".parse().unwrap(),
                version: 0,
                status: OrderStatus::Created,
                user_id: "5f8d0d55b54764421b7156ca".parse().unwrap(),
                expires_at: "2023-11-14T22:28:20.000Z".into(),
                ticket: TicketRef {
                    id: "5f8d0d55b54764421b7156cb".parse().unwrap(),
                    price: 20.5,
                },
                show: None,
            }),
        };
        assert_eq!(
            String::from_utf8(event.encode()).unwrap(),
            r#"{"seq":7,"at":1700000000000,"subject":"order:created","data":{"id":"5f8d0d55b54764421b7156c9","version":0,"status":"created","userId":"5f8d0d55b54764421b7156ca","expiresAt":"2023-11-14T22:28:20.000Z","ticket":{"id":"5f8d0d55b54764421b7156cb","price":20.5}}}"#
        );
    }

    #[test]
    fn show_events_and_show_orders_have_a_pinned_wire_form() {
        let show: crate::ids::ShowId = "5f8d0d55b54764421b000010".parse().unwrap();
        let created = StoredEvent {
            seq: 3,
            at: 4,
            event: DomainEvent::ShowCreated(ShowCreated {
                id: show,
                version: 0,
                details: ShowDetails {
                    title: "Friday Jazz".into(),
                    starts_at: "2026-12-04T20:00:00.000Z".into(),
                    ..ShowDetails::default()
                },
                status: ShowStatus::OnSale,
                max_per_order: 10,
                categories: vec![Category {
                    name: "Stalls".into(),
                    price: 45.0,
                }],
                areas: vec![],
                generate: vec![Generate {
                    section: "Circle".into(),
                    category: 0,
                    rows: 20,
                    seats_per_row: 30,
                }],
                given_rows: 0,
                units: 600,
            }),
        };
        assert_eq!(
            String::from_utf8(created.encode()).unwrap(),
            r#"{"seq":3,"at":4,"subject":"show:created","data":{"id":"5f8d0d55b54764421b000010","version":0,"title":"Friday Jazz","startsAt":"2026-12-04T20:00:00.000Z","status":"on-sale","maxPerOrder":10,"categories":[{"name":"Stalls","price":45.0}],"generate":[{"section":"Circle","category":0,"rows":20,"seatsPerRow":30}],"givenRows":0,"units":600}}"#
        );
        assert_eq!(StoredEvent::decode(&created.encode()).unwrap(), created);
        let part = ShowPart {
            id: show,
            tickets: vec![UnitRef {
                id: show.unit(7),
                index: 7,
                category: 0,
                price: 45.0,
            }],
            total: 45.0,
        };
        let cancelled = StoredEvent {
            seq: 5,
            at: 6,
            event: DomainEvent::OrderCancelled(OrderCancelled {
                id: "5f8d0d55b54764421b7156c9".parse().unwrap(),
                version: 1,
                ticket: TicketIdRef { id: show.unit(7) },
                show: Some(part),
            }),
        };
        assert_eq!(
            String::from_utf8(cancelled.encode()).unwrap(),
            r#"{"seq":5,"at":6,"subject":"order:cancelled","data":{"id":"5f8d0d55b54764421b7156c9","version":1,"ticket":{"id":"5f8d0d55b54764421b000018"},"show":{"id":"5f8d0d55b54764421b000010","tickets":[{"id":"5f8d0d55b54764421b000018","i":7,"c":0,"price":45.0}],"total":45.0}}}"#
        );
        assert_eq!(StoredEvent::decode(&cancelled.encode()).unwrap(), cancelled);
    }

    #[test]
    fn card_payments_keep_the_seed_payload_and_cash_says_so() {
        let payment = |method| {
            String::from_utf8(
                StoredEvent {
                    seq: 1,
                    at: 2,
                    event: DomainEvent::PaymentCreated(PaymentCreated {
                        id: "5f8d0d55b54764421b7156c9".parse().unwrap(),
                        order_id: "5f8d0d55b54764421b7156ca".parse().unwrap(),
                        stripe_id: "pi_1".into(),
                        method,
                    }),
                }
                .encode(),
            )
            .unwrap()
        };
        assert_eq!(
            payment(PaymentMethod::Card),
            r#"{"seq":1,"at":2,"subject":"payment:created","data":{"id":"5f8d0d55b54764421b7156c9","orderId":"5f8d0d55b54764421b7156ca","stripeId":"pi_1"}}"#
        );
        assert!(payment(PaymentMethod::Cash).ends_with(r#""stripeId":"pi_1","method":"cash"}}"#));
    }
}
