//! The tickets service's redb store: tickets by id, the listing of those not reserved, and each
//! seller's tickets.

use redb::{Database, ReadableDatabase, ReadableTable, Table, TableDefinition};

use super::{Error, Ticket, TicketDetails, TicketDraft};
use crate::events::{DomainEvent, StoredEvent, TicketChanged};
use crate::ids::{TicketId, UserId};
use crate::outbox::{self, META, Unit};
use crate::record::{decode, encode, next_counter, user_key};

const TICKETS: TableDefinition<'_, &[u8], &[u8]> = TableDefinition::new("tickets");
/// Listing position → ticket id, for tickets that no order holds.
const AVAILABLE: TableDefinition<'_, u64, &[u8]> = TableDefinition::new("tickets_available");
/// Seller id (12 bytes) then listing position (8 bytes, big-endian) → ticket id.
const BY_SELLER: TableDefinition<'_, &[u8], &[u8]> = TableDefinition::new("tickets_by_seller");

pub struct TicketsStore {
    db: Database,
}

impl TicketsStore {
    pub fn from_database(db: Database) -> Result<TicketsStore, redb::Error> {
        outbox::init(&db)?;
        let txn = outbox::write_txn(&db)?;
        let tickets = txn.open_table(TICKETS)?;
        txn.open_table(AVAILABLE)?;
        let mut by_seller = txn.open_table(BY_SELLER)?;
        // Stores written before the seller index existed get it built once, here.
        if by_seller.first()?.is_none() && tickets.first()?.is_some() {
            for entry in tickets.iter()? {
                let ticket: Ticket = decode(entry?.1.value())?;
                by_seller.insert(
                    user_key(ticket.user_id, ticket.listing).as_slice(),
                    ticket.id.as_bytes().as_slice(),
                )?;
            }
        }
        drop((tickets, by_seller));
        txn.commit()?;
        Ok(TicketsStore { db })
    }

    pub fn db(&self) -> &Database {
        &self.db
    }

    pub fn get(&self, id: TicketId) -> Result<Option<Ticket>, redb::Error> {
        let txn = self.db.begin_read()?;
        let tickets = txn.open_table(TICKETS)?;
        let ticket = tickets.get(id.as_bytes().as_slice())?;
        ticket.map(|t| decode(t.value())).transpose()
    }

    /// The tickets with these ids as one snapshot of the store has them, in the same order.
    pub fn get_many(&self, ids: &[TicketId]) -> Result<Vec<Option<Ticket>>, redb::Error> {
        let txn = self.db.begin_read()?;
        let tickets = txn.open_table(TICKETS)?;
        ids.iter()
            .map(|id| {
                let ticket = tickets.get(id.as_bytes().as_slice())?;
                ticket.map(|t| decode(t.value())).transpose()
            })
            .collect()
    }

    /// Calls `visit` with every ticket, from one consistent snapshot of the store.
    pub fn for_each(&self, mut visit: impl FnMut(Ticket)) -> Result<(), redb::Error> {
        let txn = self.db.begin_read()?;
        let tickets = txn.open_table(TICKETS)?;
        for entry in tickets.iter()? {
            let (_, ticket) = entry?;
            visit(decode(ticket.value())?);
        }
        Ok(())
    }

    /// Calls `visit` with every ticket that no order holds, in the order they were listed, from
    /// one consistent snapshot, one ticket at a time; stops early when `visit` answers `false`.
    /// The snapshot is held until this returns, so callers keep `visit` quick.
    pub fn visit_available(
        &self,
        mut visit: impl FnMut(Ticket) -> bool,
    ) -> Result<(), redb::Error> {
        let txn = self.db.begin_read()?;
        let available = txn.open_table(AVAILABLE)?;
        let tickets = txn.open_table(TICKETS)?;
        for entry in available.iter()? {
            let (_, id) = entry?;
            if let Some(ticket) = tickets.get(id.value())?
                && !visit(decode(ticket.value())?)
            {
                break;
            }
        }
        Ok(())
    }

    /// Tickets that no order holds, in the order they were listed.
    pub fn list_available(&self) -> Result<Vec<Ticket>, redb::Error> {
        let txn = self.db.begin_read()?;
        let available = txn.open_table(AVAILABLE)?;
        let tickets = txn.open_table(TICKETS)?;
        let mut list = Vec::new();
        for entry in available.iter()? {
            let (_, id) = entry?;
            if let Some(ticket) = tickets.get(id.value())? {
                list.push(decode(ticket.value())?);
            }
        }
        Ok(list)
    }

    /// Up to `limit` tickets that no order holds, listed after position `after`, in listing order;
    /// a page of the storefront's list (the last one's `listing` is where the next page starts).
    pub fn available_page(&self, after: u64, limit: usize) -> Result<Vec<Ticket>, redb::Error> {
        let txn = self.db.begin_read()?;
        let available = txn.open_table(AVAILABLE)?;
        let tickets = txn.open_table(TICKETS)?;
        let mut page = Vec::with_capacity(limit.min(1024));
        let Some(start) = after.checked_add(1) else {
            return Ok(page);
        };
        for entry in available.range(start..)? {
            if page.len() == limit {
                break;
            }
            let (_, id) = entry?;
            if let Some(ticket) = tickets.get(id.value())? {
                page.push(decode(ticket.value())?);
            }
        }
        Ok(page)
    }

    /// Up to `limit` of the tickets a seller listed after position `after`, whatever their state,
    /// in listing order.
    pub fn list_for_seller(
        &self,
        seller: UserId,
        after: u64,
        limit: usize,
    ) -> Result<Vec<Ticket>, redb::Error> {
        let txn = self.db.begin_read()?;
        let by_seller = txn.open_table(BY_SELLER)?;
        let tickets = txn.open_table(TICKETS)?;
        let mut list = Vec::new();
        let Some(first) = after.checked_add(1) else {
            return Ok(list);
        };
        let (start, end) = (user_key(seller, first), user_key(seller, u64::MAX));
        for entry in by_seller
            .range(start.as_slice()..=end.as_slice())?
            .take(limit)
        {
            let (_, id) = entry?;
            if let Some(ticket) = tickets.get(id.value())? {
                list.push(decode(ticket.value())?);
            }
        }
        Ok(list)
    }

    /// Lists a new ticket for sale.
    pub fn create(
        unit: &mut Unit,
        id: TicketId,
        seller: UserId,
        draft: TicketDraft,
    ) -> Result<Ticket, Error> {
        let listing = next_counter(&mut unit.txn().open_table(META)?, "ticket_listing")?;
        let ticket = Ticket {
            id,
            title: draft.title,
            price: draft.price,
            user_id: seller,
            order_id: None,
            version: 0,
            listing,
            details: TicketDetails::default().patched(&draft.details),
        };
        let mut tickets = unit.txn().open_table(TICKETS)?;
        if tickets.get(id.as_bytes().as_slice())?.is_some() {
            return Err(Error::Store(redb::Error::Corrupted(format!(
                "ticket id {id} minted twice"
            ))));
        }
        save(&mut tickets, &ticket)?;
        unit.txn()
            .open_table(AVAILABLE)?
            .insert(listing, id.as_bytes().as_slice())?;
        unit.txn().open_table(BY_SELLER)?.insert(
            user_key(seller, listing).as_slice(),
            id.as_bytes().as_slice(),
        )?;
        drop(tickets);
        unit.emit(DomainEvent::TicketCreated(changed(&ticket)));
        Ok(ticket)
    }

    /// Edits a ticket: refused while reserved (checked before ownership, as the seed does).
    pub fn update(
        unit: &mut Unit,
        id: TicketId,
        editor: UserId,
        draft: TicketDraft,
    ) -> Result<Ticket, Error> {
        let mut tickets = unit.txn().open_table(TICKETS)?;
        let mut ticket: Ticket = match tickets.get(id.as_bytes().as_slice())? {
            Some(t) => decode(t.value())?,
            None => return Err(Error::NotFound),
        };
        if ticket.order_id.is_some() {
            return Err(Error::Reserved);
        }
        if ticket.user_id != editor {
            return Err(Error::NotOwner);
        }
        ticket.title = draft.title;
        ticket.price = draft.price;
        ticket.details = ticket.details.patched(&draft.details);
        ticket.version += 1;
        save(&mut tickets, &ticket)?;
        drop(tickets);
        unit.emit(DomainEvent::TicketUpdated(changed(&ticket)));
        Ok(ticket)
    }

    /// Puts a ticket back as `ticket:created` or `ticket:updated` described it (the catch-up of a
    /// restored node): a ticket the store lacks is listed anew, an older version is brought up to
    /// the event's; the same version or a newer one is left alone.
    pub fn restore(unit: &mut Unit, t: &TicketChanged) -> Result<(), redb::Error> {
        let mut tickets = unit.txn().open_table(TICKETS)?;
        let current: Option<Ticket> = tickets
            .get(t.id.as_bytes().as_slice())?
            .map(|v| decode(v.value()))
            .transpose()?;
        let listing = match &current {
            Some(ticket) if ticket.version >= t.version => return Ok(()),
            Some(ticket) => ticket.listing,
            None => {
                let listing = next_counter(&mut unit.txn().open_table(META)?, "ticket_listing")?;
                unit.txn().open_table(BY_SELLER)?.insert(
                    user_key(t.user_id, listing).as_slice(),
                    t.id.as_bytes().as_slice(),
                )?;
                listing
            }
        };
        let ticket = Ticket {
            id: t.id,
            title: t.title.clone(),
            price: t.price,
            user_id: t.user_id,
            order_id: t.order_id,
            version: t.version,
            listing,
            details: t.details.clone(),
        };
        save(&mut tickets, &ticket)?;
        let mut available = unit.txn().open_table(AVAILABLE)?;
        match ticket.order_id {
            Some(_) => available.remove(listing).map(drop)?,
            None => available
                .insert(listing, t.id.as_bytes().as_slice())
                .map(drop)?,
        }
        Ok(())
    }

    /// Follows the orders service's locks. Idempotent: a lock already recorded is left alone, and a
    /// release by an order that does not hold the ticket changes nothing.
    pub fn react(unit: &mut Unit, event: &StoredEvent) -> Result<(), redb::Error> {
        let (ticket_id, lock) = match &event.event {
            DomainEvent::OrderCreated(e) => (e.ticket.id, Some(e.id)),
            DomainEvent::OrderCancelled(e) => (e.ticket.id, None),
            _ => return Ok(()),
        };
        let mut tickets = unit.txn().open_table(TICKETS)?;
        let Some(mut ticket) = tickets
            .get(ticket_id.as_bytes().as_slice())?
            .map(|t| decode::<Ticket>(t.value()))
            .transpose()?
        else {
            return Ok(());
        };
        match (lock, &event.event) {
            (Some(order), _) if ticket.order_id.is_none() => {
                ticket.order_id = Some(order);
                unit.txn().open_table(AVAILABLE)?.remove(ticket.listing)?;
            }
            (None, DomainEvent::OrderCancelled(e)) if ticket.order_id == Some(e.id) => {
                ticket.order_id = None;
                unit.txn()
                    .open_table(AVAILABLE)?
                    .insert(ticket.listing, ticket_id.as_bytes().as_slice())?;
            }
            _ => return Ok(()),
        }
        ticket.version += 1;
        save(&mut tickets, &ticket)?;
        drop(tickets);
        unit.emit(DomainEvent::TicketUpdated(changed(&ticket)));
        Ok(())
    }
}

fn save(tickets: &mut Table<'_, &[u8], &[u8]>, ticket: &Ticket) -> Result<(), redb::Error> {
    tickets.insert(ticket.id.as_bytes().as_slice(), encode(ticket).as_slice())?;
    Ok(())
}

fn changed(ticket: &Ticket) -> TicketChanged {
    TicketChanged {
        id: ticket.id,
        version: ticket.version,
        title: ticket.title.clone(),
        price: ticket.price,
        user_id: ticket.user_id,
        order_id: ticket.order_id,
        details: ticket.details.clone(),
    }
}
