//! The catch-up of the door store: admissions and pass keys a node lost with its disk, put back
//! from the hub's copy of their events.

use redb::ReadableTable;

use super::{DoorStore, ENTRIES, KEYS, bump};
use crate::door::{Admission, Entry};
use crate::events::{DomainEvent, StoredEvent};
use crate::ids::UserId;
use crate::outbox::Unit;
use crate::record::{decode, encode};
use crate::time::Millis;

/// Who let a restored admission in is not in its event; the door's records show nobody.
const UNKNOWN_SCANNER: UserId = UserId::from_bytes([0; 12]);

impl DoorStore {
    /// Puts back `ticket:admitted` (the ticket let in, counted once) or `pass:key`. A ticket
    /// already admitted keeps its first admission.
    pub fn restore(unit: &mut Unit, event: &StoredEvent) -> Result<(), redb::Error> {
        match &event.event {
            DomainEvent::TicketAdmitted(e) => {
                let mut entries = unit.txn().open_table(ENTRIES)?;
                let key = e.ticket_id.as_bytes();
                let entry: Option<Entry> = entries
                    .get(key.as_slice())?
                    .map(|v| decode(v.value()))
                    .transpose()?;
                let Some(mut entry) = entry else {
                    return Err(redb::Error::Corrupted(format!(
                        "ticket:admitted {} names a ticket the door store never sold",
                        e.ticket_id
                    )));
                };
                if entry.admitted.is_some() {
                    return Ok(());
                }
                entry.admitted = Some(Admission {
                    at: Millis::parse_iso(&e.admitted_at).unwrap_or(Millis(event.at)),
                    gate: e.gate.clone(),
                    by: UNKNOWN_SCANNER,
                    offline: e.offline,
                    scan: None,
                });
                entries.insert(key.as_slice(), encode(&entry).as_slice())?;
                drop(entries);
                bump(unit, entry.show, |c| c.admitted += 1)
            }
            DomainEvent::PassKey(e) => {
                let mut keys = unit.txn().open_table(KEYS)?;
                if keys.get(e.key_id.as_str())?.is_none() {
                    keys.insert(e.key_id.as_str(), e.public_key.as_str())?;
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }
}
