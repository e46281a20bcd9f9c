//! A card payment's progress at the gateway, kept durably so that a crash at any step is settled.
//!
//! Money at the gateway and records in the store cannot change in one transaction, so every card
//! payment leaves a trail here, written before each gateway call it depends on:
//!
//! ```text
//! Authorizing ──▶ Recorded ──▶ Captured
//!      │      └─▶ Refused  ──▶ Voided
//!      └─▶ Declined (nothing held)   └─ (and Authorizing ──▶ Voided when never recorded)
//! ```
//!
//! Invariants:
//! - An attempt is written as `Authorizing` before the gateway is asked to authorize, with all it
//!   takes to repeat that request exactly (same idempotency key, same parameters), so an
//!   authorization whose answer was lost can be found again and voided.
//! - `Recorded` and `Refused` are written in the same transaction that records (or refuses) the
//!   payment, so "the order took the money" and "capture is owed" never part.
//! - An attempt is open until it reaches `Captured`, `Voided` or `Declined`; the reconciler finishes
//!   every open attempt no live request is working on.
//! - A card refund is written as pending before the gateway is asked, and recorded (which clears
//!   the pending entry) after; the reconciler retries pending refunds.

use redb::{ReadableDatabase, ReadableTable, TableDefinition};
use serde::{Deserialize, Serialize};

use super::{Error, Payment, PaymentMethod, PaymentsStore};
use crate::ids::{OrderId, PaymentId, UserId};
use crate::outbox::Unit;
use crate::record::{decode, encode};
use crate::time::Millis;

/// Attempt id → the attempt, open or settled (kept as the payment's history).
pub(super) const ATTEMPTS: TableDefinition<'_, &[u8], &[u8]> =
    TableDefinition::new("card_attempts");
/// Attempt id → nothing: the attempts not settled yet.
pub(super) const OPEN_ATTEMPTS: TableDefinition<'_, &[u8], ()> =
    TableDefinition::new("card_attempts_open");
/// Order id → the refund asked for and not yet recorded.
pub(super) const PENDING_REFUNDS: TableDefinition<'_, &[u8], &[u8]> =
    TableDefinition::new("refunds_pending");

/// One card authorization asked of the gateway for an order, and how far it got.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CardAttempt {
    /// Also the id of the payment, if it is recorded.
    pub id: PaymentId,
    pub order_id: OrderId,
    pub payer: UserId,
    pub amount_cents: i64,
    pub currency: String,
    /// The card token, kept to repeat the authorization request exactly.
    pub token: String,
    /// The gateway's id of the authorization (a PaymentIntent id), once known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub charge_id: Option<String>,
    pub step: Step,
    /// When the attempt reached its step.
    pub since: Millis,
}

/// How far a card attempt got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Step {
    /// The gateway was (about to be) asked to authorize; its answer is not known here.
    Authorizing,
    /// The payment is recorded; the authorization must be captured.
    Recorded,
    /// The order could no longer take the payment; the authorization must be voided.
    Refused,
    Captured,
    Voided,
    /// The gateway refused to authorize: nothing is held.
    Declined,
}

impl Step {
    /// Whether nothing is left to do at the gateway.
    pub fn is_settled(self) -> bool {
        matches!(self, Step::Captured | Step::Voided | Step::Declined)
    }
}

/// A card refund asked for and not yet recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PendingRefund {
    pub order_id: OrderId,
    /// The PaymentIntent to refund.
    pub charge_id: String,
    /// The staff member who asked.
    pub by: UserId,
    pub asked_at: Millis,
}

impl PaymentsStore {
    /// Writes a new attempt as `Authorizing`: call before asking the gateway.
    pub fn begin_attempt(unit: &mut Unit, attempt: &CardAttempt) -> Result<(), Error> {
        let key = attempt.id.as_bytes().as_slice();
        let mut attempts = unit.txn().open_table(ATTEMPTS)?;
        if attempts.get(key)?.is_some() {
            return Err(Error::Store(redb::Error::Corrupted(format!(
                "card attempt {} written twice",
                attempt.id
            ))));
        }
        let attempt = CardAttempt {
            step: Step::Authorizing,
            ..attempt.clone()
        };
        attempts.insert(key, encode(&attempt).as_slice())?;
        unit.txn().open_table(OPEN_ATTEMPTS)?.insert(key, ())?;
        Ok(())
    }

    /// Records the payment of an authorized attempt if its order may still be paid, and moves the
    /// attempt to `Recorded`, or to `Refused` (returning why) in the same transaction.
    pub fn record_attempt(
        unit: &mut Unit,
        id: PaymentId,
        charge_id: &str,
        now: Millis,
    ) -> Result<Payment, Error> {
        let attempt = Self::attempt_in(unit, id)?;
        let recorded = Self::record(unit, id, attempt.order_id, attempt.payer, charge_id, now);
        let step = match &recorded {
            Ok(_) => Step::Recorded,
            Err(Error::Store(_)) => return recorded,
            Err(_) => Step::Refused,
        };
        Self::advance_attempt(unit, id, step, Some(charge_id), now)?;
        recorded
    }

    /// Moves an attempt to `step`, noting the charge id when it becomes known; a settled attempt
    /// leaves the open set. Moving a settled attempt is refused as corrupt bookkeeping.
    pub fn advance_attempt(
        unit: &mut Unit,
        id: PaymentId,
        step: Step,
        charge_id: Option<&str>,
        now: Millis,
    ) -> Result<CardAttempt, Error> {
        let mut attempt = Self::attempt_in(unit, id)?;
        if attempt.step.is_settled() {
            return if attempt.step == step {
                Ok(attempt)
            } else {
                Err(Error::Store(redb::Error::Corrupted(format!(
                    "card attempt {id} is {:?} and cannot become {step:?}",
                    attempt.step
                ))))
            };
        }
        attempt.step = step;
        attempt.since = now;
        if let Some(charge_id) = charge_id {
            attempt.charge_id = Some(charge_id.to_owned());
        }
        let key = id.as_bytes().as_slice();
        unit.txn()
            .open_table(ATTEMPTS)?
            .insert(key, encode(&attempt).as_slice())?;
        if step.is_settled() {
            unit.txn().open_table(OPEN_ATTEMPTS)?.remove(key)?;
        }
        Ok(attempt)
    }

    fn attempt_in(unit: &Unit, id: PaymentId) -> Result<CardAttempt, Error> {
        let attempts = unit.txn().open_table(ATTEMPTS)?;
        let stored = attempts.get(id.as_bytes().as_slice())?;
        match stored {
            Some(bytes) => Ok(decode(bytes.value())?),
            None => Err(Error::Store(redb::Error::Corrupted(format!(
                "no card attempt {id}"
            )))),
        }
    }

    /// An attempt, settled or not.
    pub fn attempt(&self, id: PaymentId) -> Result<Option<CardAttempt>, redb::Error> {
        let txn = self.db().begin_read()?;
        let attempts = txn.open_table(ATTEMPTS)?;
        let stored = attempts.get(id.as_bytes().as_slice())?;
        stored.map(|bytes| decode(bytes.value())).transpose()
    }

    /// Every attempt not settled yet, oldest id first.
    pub fn open_attempts(&self) -> Result<Vec<CardAttempt>, redb::Error> {
        let txn = self.db().begin_read()?;
        let open = txn.open_table(OPEN_ATTEMPTS)?;
        let attempts = txn.open_table(ATTEMPTS)?;
        let mut found = Vec::new();
        for entry in open.iter()? {
            let (key, _) = entry?;
            let key = key.value();
            let bytes = attempts.get(key)?.ok_or_else(|| {
                redb::Error::Corrupted("open card attempt without its record".into())
            })?;
            found.push(decode(bytes.value())?);
        }
        Ok(found)
    }

    /// Notes that a paid order's money is being given back, before the gateway is asked: checks
    /// that it may be refunded now, and for a card keeps the refund pending until `refund`
    /// records it. Asking again while pending is the same request.
    pub fn ask_refund(
        unit: &mut Unit,
        order_id: OrderId,
        by: UserId,
        now: Millis,
    ) -> Result<Payment, Error> {
        let payment = Self::refundable_in(unit, order_id)?;
        if payment.method == PaymentMethod::Card {
            let pending = PendingRefund {
                order_id,
                charge_id: payment.stripe_id.clone(),
                by,
                asked_at: now,
            };
            let mut table = unit.txn().open_table(PENDING_REFUNDS)?;
            let key = order_id.as_bytes().as_slice();
            if table.get(key)?.is_none() {
                table.insert(key, encode(&pending).as_slice())?;
            }
        }
        Ok(payment)
    }

    /// Every card refund asked for and not recorded yet.
    pub fn pending_refunds(&self) -> Result<Vec<PendingRefund>, redb::Error> {
        let txn = self.db().begin_read()?;
        let table = txn.open_table(PENDING_REFUNDS)?;
        table
            .iter()?
            .map(|entry| decode(entry?.1.value()))
            .collect()
    }

    /// Clears a pending refund once it is recorded.
    pub(super) fn clear_pending_refund(unit: &Unit, order_id: OrderId) -> Result<(), Error> {
        unit.txn()
            .open_table(PENDING_REFUNDS)?
            .remove(order_id.as_bytes().as_slice())?;
        Ok(())
    }
}
