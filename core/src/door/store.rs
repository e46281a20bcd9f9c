//! The door service's redb store: sold tickets and their admissions, shows' times, counts per
//! show, and the conflicts offline scanners reported.

mod restore;

use redb::{Database, ReadableDatabase, ReadableTable, Table, TableDefinition};

use super::{Admission, Conflict, ConflictReason, Counts, DoorShow, Entry, NotNow, Scan, Verdict};
use crate::events::{
    DomainEvent, PassKeyChanged, ShowDetails, ShowStatus, StoredEvent, TicketAdmitted,
};
use crate::ids::{OrderId, ShowId, TicketId};
use crate::outbox::{self, Unit};
use crate::record::{decode, encode};
use crate::time::Millis;

/// Ticket id → `Entry`.
const ENTRIES: TableDefinition<'_, &[u8], &[u8]> = TableDefinition::new("entries");
/// Order id → its tickets' ids, 12 bytes each.
const ORDERS: TableDefinition<'_, &[u8], &[u8]> = TableDefinition::new("orders");
/// Show id ++ ticket id → nothing: a show's tickets.
const BY_SHOW: TableDefinition<'_, &[u8], ()> = TableDefinition::new("tickets_by_show");
/// Show id → `DoorShow`.
const SHOWS: TableDefinition<'_, &[u8], &[u8]> = TableDefinition::new("shows");
/// Show id (zeros for the marketplace) → `Counts`.
const COUNTS: TableDefinition<'_, &[u8], &[u8]> = TableDefinition::new("counts");
/// Key id → public key (hex): the keys this node announced.
const KEYS: TableDefinition<'_, &str, &str> = TableDefinition::new("pass_keys");
/// The offline scan's id → `Conflict`.
const CONFLICTS: TableDefinition<'_, &str, &[u8]> = TableDefinition::new("conflicts");

const MARKETPLACE: [u8; 12] = [0; 12];

pub struct DoorStore {
    db: Database,
}

impl DoorStore {
    pub fn from_database(db: Database) -> Result<DoorStore, redb::Error> {
        outbox::init(&db)?;
        let txn = outbox::write_txn(&db)?;
        txn.open_table(ENTRIES)?;
        txn.open_table(ORDERS)?;
        txn.open_table(BY_SHOW)?;
        txn.open_table(SHOWS)?;
        txn.open_table(COUNTS)?;
        txn.open_table(CONFLICTS)?;
        txn.open_table(KEYS)?;
        txn.open_table(super::deliveries::DELIVERIES)?;
        txn.open_table(super::deliveries::DUE)?;
        txn.commit()?;
        Ok(DoorStore { db })
    }

    pub fn db(&self) -> &Database {
        &self.db
    }

    pub fn entry(&self, ticket: TicketId) -> Result<Option<Entry>, redb::Error> {
        let txn = self.db.begin_read()?;
        let entries = txn.open_table(ENTRIES)?;
        entries
            .get(ticket.as_bytes().as_slice())?
            .map(|e| decode(e.value()))
            .transpose()
    }

    pub fn show(&self, show: ShowId) -> Result<Option<DoorShow>, redb::Error> {
        let txn = self.db.begin_read()?;
        let shows = txn.open_table(SHOWS)?;
        shows
            .get(show.as_bytes().as_slice())?
            .map(|s| decode(s.value()))
            .transpose()
    }

    /// Sold and admitted tickets of `show`, or of the marketplace's listings for `None`.
    pub fn counts(&self, show: Option<ShowId>) -> Result<Counts, redb::Error> {
        let txn = self.db.begin_read()?;
        let counts = txn.open_table(COUNTS)?;
        let key = show.map_or(MARKETPLACE, |s| *s.as_bytes());
        Ok(match counts.get(key.as_slice())? {
            Some(c) => decode(c.value())?,
            None => Counts::default(),
        })
    }

    /// The tickets of `order` the door knows (those of a paid order), in the order's order.
    pub fn order_entries(&self, order: OrderId) -> Result<Vec<(TicketId, Entry)>, redb::Error> {
        let txn = self.db.begin_read()?;
        let orders = txn.open_table(ORDERS)?;
        let entries = txn.open_table(ENTRIES)?;
        let Some(tickets) = orders.get(order.as_bytes().as_slice())? else {
            return Ok(Vec::new());
        };
        read_entries(&entries, ticket_ids(tickets.value()))
    }

    /// Every sold ticket of `show`.
    pub fn show_entries(&self, show: ShowId) -> Result<Vec<(TicketId, Entry)>, redb::Error> {
        let txn = self.db.begin_read()?;
        let by_show = txn.open_table(BY_SHOW)?;
        let entries = txn.open_table(ENTRIES)?;
        let start = [show.as_bytes().as_slice(), &[0; 12]].concat();
        let end = [show.as_bytes().as_slice(), &[0xff; 12]].concat();
        let mut tickets = Vec::new();
        for key in by_show.range(start.as_slice()..=end.as_slice())? {
            let (key, _) = key?;
            tickets.push(ticket_at(&key.value()[12..]));
        }
        read_entries(&entries, tickets)
    }

    /// Every conflict reported, oldest first.
    pub fn conflicts(&self) -> Result<Vec<Conflict>, redb::Error> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(CONFLICTS)?;
        let mut conflicts = Vec::new();
        for row in table.iter()? {
            conflicts.push(decode::<Conflict>(row?.1.value())?);
        }
        conflicts.sort_by_key(|c| (c.reported_at, c.second.at));
        Ok(conflicts)
    }

    /// Decides a scan from a read when the answer cannot change by writing: an online scan of a
    /// ticket already admitted, refunded, of another show, outside its window or unknown. `None`
    /// when only `scan` (the writer) can decide: an admission or an offline report.
    pub fn decide_now(&self, scan: &Scan) -> Result<Option<Verdict>, redb::Error> {
        let txn = self.db.begin_read()?;
        let entries = txn.open_table(ENTRIES)?;
        let Some(entry) = entries
            .get(scan.pass.ticket.as_bytes().as_slice())?
            .map(|e| decode::<Entry>(e.value()))
            .transpose()?
        else {
            return Ok(Some(Verdict::Unknown));
        };
        if entry.order != scan.pass.order {
            return Ok(Some(Verdict::Unknown));
        }
        if scan.offline {
            return Ok(None);
        }
        if let Some(first) = same_scan(&entry, scan) {
            return Ok(Some(Verdict::Admitted(first)));
        }
        let show = match entry.show {
            Some(id) => txn
                .open_table(SHOWS)?
                .get(id.as_bytes().as_slice())?
                .map(|s| decode::<DoorShow>(s.value()))
                .transpose()?,
            None => None,
        };
        Ok(match decide(&entry, show.as_ref(), scan) {
            Decision::Answer(verdict) => Some(verdict),
            Decision::Admit | Decision::Exit | Decision::Readmit | Decision::Conflict(_) => None,
        })
    }

    /// Decides a scan and, when it admits, records the admission and emits `ticket:admitted`.
    /// `now` is when the node decides (the report time of an offline scan).
    pub fn scan(unit: &mut Unit, scan: Scan, now: Millis) -> Result<Verdict, redb::Error> {
        let mut entries = unit.txn().open_table(ENTRIES)?;
        let key = scan.pass.ticket.as_bytes();
        let Some(mut entry) = entries
            .get(key.as_slice())?
            .map(|e| decode::<Entry>(e.value()))
            .transpose()?
        else {
            return Ok(Verdict::Unknown);
        };
        if entry.order != scan.pass.order {
            return Ok(Verdict::Unknown);
        }
        if let Some(verdict) = replayed(unit, &entry, &scan)? {
            return Ok(verdict);
        }
        let show = match entry.show {
            Some(id) => unit
                .txn()
                .open_table(SHOWS)?
                .get(id.as_bytes().as_slice())?
                .map(|s| decode::<DoorShow>(s.value()))
                .transpose()?,
            None => None,
        };
        let decision = decide(&entry, show.as_ref(), &scan);
        match decision {
            Decision::Answer(verdict) => return Ok(verdict),
            Decision::Conflict(reason) => {
                record_conflict(unit, &scan, &entry, reason, now)?;
                return Ok(match reason {
                    ConflictReason::Refunded => Verdict::Refunded { conflict: true },
                    ConflictReason::AlreadyAdmitted => Verdict::AlreadyAdmitted {
                        first: entry.admitted.clone().unwrap_or_else(|| admission(&scan)),
                        conflict: true,
                    },
                });
            }
            Decision::Exit | Decision::Readmit => {
                let out = matches!(decision, Decision::Exit);
                entry.outside = out;
                entries.insert(key.as_slice(), encode(&entry).as_slice())?;
                let first = entry.admitted.clone().unwrap_or_else(|| admission(&scan));
                return Ok(if out {
                    Verdict::Exited {
                        admission: first,
                        already: false,
                    }
                } else {
                    Verdict::Readmitted { first }
                });
            }
            Decision::Admit => {}
        }
        let admission = admission(&scan);
        entry.admitted = Some(admission.clone());
        entries.insert(key.as_slice(), encode(&entry).as_slice())?;
        drop(entries);
        bump(unit, entry.show, |c| c.admitted += 1)?;
        unit.emit(DomainEvent::TicketAdmitted(TicketAdmitted {
            ticket_id: scan.pass.ticket,
            order_id: entry.order,
            show_id: entry.show,
            gate: admission.gate.clone(),
            admitted_at: admission.at.to_iso(),
            offline: admission.offline,
        }));
        Ok(Verdict::Admitted(admission))
    }

    /// Records the key passes are signed with and announces it (`pass:key`) when it is new to
    /// the store: at a node's first start, or after the key was replaced.
    pub fn note_key(unit: &mut Unit, key_id: &str, public_key: &str) -> Result<bool, redb::Error> {
        let mut keys = unit.txn().open_table(KEYS)?;
        if keys.get(key_id)?.is_some() {
            return Ok(false);
        }
        keys.insert(key_id, public_key)?;
        drop(keys);
        unit.emit(DomainEvent::PassKey(PassKeyChanged {
            key_id: key_id.to_owned(),
            public_key: public_key.to_owned(),
        }));
        Ok(true)
    }

    /// Follows shows' times, paid orders and refunds.
    pub fn react(unit: &mut Unit, event: &StoredEvent) -> Result<(), redb::Error> {
        match &event.event {
            DomainEvent::ShowCreated(e) => put_show(unit, e.id, &e.details, e.status),
            DomainEvent::ShowUpdated(e) => put_show(unit, e.id, &e.details, e.status),
            DomainEvent::OrderCompleted(e) => {
                let sold: Vec<(TicketId, Entry)> = match &e.show {
                    Some(part) => part
                        .tickets
                        .iter()
                        .map(|t| {
                            let entry = Entry {
                                order: e.id,
                                show: Some(part.id),
                                unit: t.index,
                                category: Some(t.category),
                                refunded: false,
                                admitted: None,
                                outside: false,
                            };
                            (t.id, entry)
                        })
                        .collect(),
                    None => vec![(
                        e.ticket.id,
                        Entry {
                            order: e.id,
                            show: None,
                            unit: 0,
                            category: None,
                            refunded: false,
                            admitted: None,
                            outside: false,
                        },
                    )],
                };
                record_sale(unit, e.id, sold, Millis(event.at))
            }
            DomainEvent::PaymentRefunded(e) => refund(unit, e.order_id),
            _ => Ok(()),
        }
    }
}

/// The answer a scan already given gets again: the same scanner resending its queue.
fn replayed(unit: &Unit, entry: &Entry, scan: &Scan) -> Result<Option<Verdict>, redb::Error> {
    let Some(id) = scan.scan_id.as_deref() else {
        return Ok(None);
    };
    if let Some(first) = same_scan(entry, scan) {
        return Ok(Some(Verdict::Admitted(first)));
    }
    let conflicts = unit.txn().open_table(CONFLICTS)?;
    let Some(conflict) = conflicts.get(id)? else {
        return Ok(None);
    };
    let conflict: Conflict = decode(conflict.value())?;
    Ok(Some(match (conflict.reason, conflict.first) {
        (ConflictReason::AlreadyAdmitted, Some(first)) => Verdict::AlreadyAdmitted {
            first,
            conflict: true,
        },
        _ => Verdict::Refunded { conflict: true },
    }))
}

/// What a scan of `entry` (whose show is `show`) comes to, replays aside. An offline scanner's
/// admission is not judged by time: it checked the pass's own window when it let the holder in;
/// what the node would have refused of it is a conflict, for the holder is inside.
fn decide(entry: &Entry, show: Option<&DoorShow>, scan: &Scan) -> Decision {
    if scan.for_show.is_some() && scan.for_show != entry.show {
        return Decision::Answer(Verdict::WrongShow { show: entry.show });
    }
    if entry.refunded {
        return if scan.offline {
            Decision::Conflict(ConflictReason::Refunded)
        } else {
            Decision::Answer(Verdict::Refunded { conflict: false })
        };
    }
    if let Some(show) = show {
        let window = show.window();
        if show.cancelled {
            return Decision::Answer(Verdict::NotValidNow {
                window,
                why: NotNow::Cancelled,
            });
        }
        if !scan.offline
            && let Err(outside) = window.check(scan.at)
        {
            return Decision::Answer(Verdict::NotValidNow {
                window,
                why: outside.into(),
            });
        }
    }
    if scan.exit {
        return match &entry.admitted {
            _ if !show.is_some_and(|s| s.reentry) => Decision::Answer(Verdict::NoReentry),
            None => Decision::Answer(Verdict::NotInside),
            Some(admission) if entry.outside => Decision::Answer(Verdict::Exited {
                admission: admission.clone(),
                already: true,
            }),
            Some(_) => Decision::Exit,
        };
    }
    match &entry.admitted {
        Some(_) if entry.outside => Decision::Readmit,
        Some(_) if scan.offline => Decision::Conflict(ConflictReason::AlreadyAdmitted),
        Some(first) => Decision::Answer(Verdict::AlreadyAdmitted {
            first: first.clone(),
            conflict: false,
        }),
        None => Decision::Admit,
    }
}

enum Decision {
    Answer(Verdict),
    Admit,
    /// Out, at a show with re-entry.
    Exit,
    /// Back in after being out.
    Readmit,
    /// An offline admission the node would have refused, kept as a conflict.
    Conflict(ConflictReason),
}

/// The admission a scan makes.
fn admission(scan: &Scan) -> Admission {
    Admission {
        at: scan.at,
        gate: scan.gate.clone(),
        by: scan.by,
        offline: scan.offline,
        scan: scan.scan_id.clone(),
    }
}

/// The entry's admission, if this very scan (by its scanner's id) made it.
fn same_scan(entry: &Entry, scan: &Scan) -> Option<Admission> {
    let id = scan.scan_id.as_deref()?;
    entry
        .admitted
        .as_ref()
        .filter(|a| a.scan.as_deref() == Some(id))
        .cloned()
}

fn record_conflict(
    unit: &Unit,
    scan: &Scan,
    entry: &Entry,
    reason: ConflictReason,
    now: Millis,
) -> Result<(), redb::Error> {
    let Some(id) = scan.scan_id.as_deref() else {
        return Err(redb::Error::Corrupted(
            "an offline scan reached the door without its scan id".into(),
        ));
    };
    let conflict = Conflict {
        ticket: scan.pass.ticket,
        order: entry.order,
        show: entry.show,
        first: entry.admitted.clone(),
        second: Admission {
            at: scan.at,
            gate: scan.gate.clone(),
            by: scan.by,
            offline: true,
            scan: Some(id.to_owned()),
        },
        reason,
        reported_at: now,
    };
    let mut conflicts = unit.txn().open_table(CONFLICTS)?;
    conflicts.insert(id, encode(&conflict).as_slice())?;
    Ok(())
}

fn put_show(
    unit: &Unit,
    id: ShowId,
    details: &ShowDetails,
    status: ShowStatus,
) -> Result<(), redb::Error> {
    let time = |text: &str| Millis::parse_iso(text);
    let show = DoorShow {
        title: details.title.clone(),
        starts_at: time(&details.starts_at).unwrap_or_default(),
        doors_at: details.doors_at.as_deref().and_then(time),
        ends_at: details.ends_at.as_deref().and_then(time),
        cancelled: status == ShowStatus::Cancelled,
        reentry: details.reentry,
    };
    let mut shows = unit.txn().open_table(SHOWS)?;
    shows.insert(id.as_bytes().as_slice(), encode(&show).as_slice())?;
    Ok(())
}

/// Records a paid order's tickets once (a replayed event finds them there), and queues its
/// passes to be emailed.
fn record_sale(
    unit: &Unit,
    order: OrderId,
    sold: Vec<(TicketId, Entry)>,
    at: Millis,
) -> Result<(), redb::Error> {
    let mut orders = unit.txn().open_table(ORDERS)?;
    if orders.get(order.as_bytes().as_slice())?.is_some() {
        return Ok(());
    }
    super::deliveries::enqueue(unit, order, at)?;
    let ids: Vec<u8> = sold.iter().flat_map(|(t, _)| *t.as_bytes()).collect();
    orders.insert(order.as_bytes().as_slice(), ids.as_slice())?;
    let mut entries = unit.txn().open_table(ENTRIES)?;
    let mut by_show = unit.txn().open_table(BY_SHOW)?;
    let show = sold.first().and_then(|(_, e)| e.show);
    for (ticket, entry) in &sold {
        entries.insert(ticket.as_bytes().as_slice(), encode(entry).as_slice())?;
        if let Some(show) = entry.show {
            let key = [show.as_bytes().as_slice(), ticket.as_bytes()].concat();
            by_show.insert(key.as_slice(), ())?;
        }
    }
    drop((orders, entries, by_show));
    let count = sold.len() as u32;
    bump(unit, show, |c| c.sold += count)
}

/// Marks a refunded order's tickets; they stay on record, refused at the door.
fn refund(unit: &Unit, order: OrderId) -> Result<(), redb::Error> {
    let orders = unit.txn().open_table(ORDERS)?;
    let Some(tickets) = orders
        .get(order.as_bytes().as_slice())?
        .map(|t| ticket_ids(t.value()))
    else {
        return Ok(());
    };
    drop(orders);
    let mut entries = unit.txn().open_table(ENTRIES)?;
    let mut show = None;
    let mut newly = 0;
    for ticket in tickets {
        let Some(mut entry) = entries
            .get(ticket.as_bytes().as_slice())?
            .map(|e| decode::<Entry>(e.value()))
            .transpose()?
        else {
            continue;
        };
        if !entry.refunded {
            entry.refunded = true;
            newly += 1;
            show = entry.show;
            entries.insert(ticket.as_bytes().as_slice(), encode(&entry).as_slice())?;
        }
    }
    drop(entries);
    if newly > 0 {
        bump(unit, show, |c| c.sold = c.sold.saturating_sub(newly))?;
    }
    Ok(())
}

fn bump(
    unit: &Unit,
    show: Option<ShowId>,
    change: impl FnOnce(&mut Counts),
) -> Result<(), redb::Error> {
    let mut counts: Table<'_, &[u8], &[u8]> = unit.txn().open_table(COUNTS)?;
    let key = show.map_or(MARKETPLACE, |s| *s.as_bytes());
    let mut now = match counts.get(key.as_slice())? {
        Some(c) => decode(c.value())?,
        None => Counts::default(),
    };
    change(&mut now);
    counts.insert(key.as_slice(), encode(&now).as_slice())?;
    Ok(())
}

fn read_entries(
    entries: &impl ReadableTable<&'static [u8], &'static [u8]>,
    tickets: Vec<TicketId>,
) -> Result<Vec<(TicketId, Entry)>, redb::Error> {
    let mut found = Vec::with_capacity(tickets.len());
    for ticket in tickets {
        if let Some(entry) = entries.get(ticket.as_bytes().as_slice())? {
            found.push((ticket, decode(entry.value())?));
        }
    }
    Ok(found)
}

fn ticket_ids(bytes: &[u8]) -> Vec<TicketId> {
    bytes.chunks_exact(12).map(ticket_at).collect()
}

fn ticket_at(bytes: &[u8]) -> TicketId {
    TicketId::from_bytes(bytes[..12].try_into().expect("ticket ids are 12 bytes"))
}
