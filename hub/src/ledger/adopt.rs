//! Adopting a venue's new epoch: the operator's answer to a venue whose stores were lost with no
//! backup and that started again at sequence 1 under a new epoch (its messages wait in the
//! quarantine as `epoch` refusals until then).
//!
//! Invariants:
//! - Only an epoch the hub has heard from that venue (a quarantined message says so) is adopted:
//!   a mistyped epoch is refused, never followed.
//! - The old epoch's history stays: its events remain in `events` under their epoch, its tickets
//!   and orders in the read models; `venue_epochs` records each adoption with where the old
//!   stream ended.
//! - The switch is one transaction, with the venue's row locked (PostgreSQL) as a batch locks it;
//!   the venue's next resend (from the new acknowledgement, sequence 0) fills the new stream.

use std::collections::BTreeSet;

use tix_core::time::Millis;
use tix_sync::protocol::{Ack, Epoch, VenueId};

use super::{Ledger, lock_cursors};
use crate::db::{DbError, Sql};

/// Why an adoption was refused.
#[derive(Debug, thiserror::Error)]
pub enum AdoptError {
    #[error("the hub knows no venue {0}")]
    UnknownVenue(VenueId),
    #[error("venue {venue} is already followed at epoch {epoch}")]
    AlreadyFollowed { venue: VenueId, epoch: Epoch },
    #[error(
        "the hub has no message of venue {venue} at epoch {epoch} in its quarantine; \
         adopt the epoch the venue's node shows in /healthz (events.epoch)"
    )]
    NeverSeen { venue: VenueId, epoch: Epoch },
    #[error("the hub's database failed: {0}")]
    Database(#[from] DbError),
}

/// What an adoption replaced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Adopted {
    pub ack: Ack,
    pub previous_epoch: Epoch,
    pub previous_last_seq: u64,
}

impl Ledger {
    /// Follows `venue` at `epoch` from sequence 0 on, keeping the old epoch's history.
    pub fn adopt(
        &mut self,
        venue: &VenueId,
        epoch: Epoch,
        now: Millis,
    ) -> Result<Adopted, AdoptError> {
        self.conn
            .transaction(|sql| adopt_in_txn(sql, venue, epoch, now))
    }
}

fn adopt_in_txn(
    sql: &mut Sql<'_>,
    venue: &VenueId,
    epoch: Epoch,
    now: Millis,
) -> Result<Adopted, AdoptError> {
    let old = lock_cursors(sql, &BTreeSet::from([venue.clone()]))?
        .remove(venue)
        .ok_or_else(|| AdoptError::UnknownVenue(venue.clone()))?;
    if old.epoch == epoch {
        return Err(AdoptError::AlreadyFollowed {
            venue: venue.clone(),
            epoch,
        });
    }
    let seen = sql.query_opt(
        "SELECT 1 FROM quarantine WHERE venue = ?1 AND epoch = ?2 AND reason = 'epoch' LIMIT 1",
        &[&venue.as_str(), &epoch.to_string()],
        |_| Ok(()),
    )?;
    if seen.is_none() {
        return Err(AdoptError::NeverSeen {
            venue: venue.clone(),
            epoch,
        });
    }
    sql.execute(
        "INSERT INTO venue_epochs (venue, epoch, adopted_ms, previous_epoch, previous_last_seq)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        &[
            &venue.as_str(),
            &epoch.to_string(),
            &(now.0 as i64),
            &old.epoch.to_string(),
            &(old.last_seq as i64),
        ],
    )?;
    sql.execute(
        "UPDATE venues SET epoch = ?2, last_seq = 0, events = 0, duplicates = 0, gaps = 0,
            last_seen_ms = ?3
         WHERE venue = ?1",
        &[&venue.as_str(), &epoch.to_string(), &(now.0 as i64)],
    )?;
    Ok(Adopted {
        ack: Ack {
            venue: venue.clone(),
            epoch,
            seq: 0,
        },
        previous_epoch: old.epoch,
        previous_last_seq: old.last_seq,
    })
}
