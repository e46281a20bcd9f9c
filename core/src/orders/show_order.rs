//! Orders of a show's tickets: several units under one lock, chosen by best available or named
//! one by one, all or nothing.
//!
//! Every check runs before the first write, so a refused order leaves nothing behind in the batch
//! it shares with others; then the units are taken, locked in `holds` like any ticket, and the
//! order is written with its show part (all units and the total), which every later order event
//! carries too.

use std::time::Duration;

use redb::ReadableTable;

use super::inventory::{self, ShowReplica};
use super::store::{HOLDS, record_new};
use super::{Error, Order, TicketReplica};
use crate::events::{OrderStatus, ShowPart, UnitRef};
use crate::ids::{OrderId, ShowId, TicketId, UserId};
use crate::outbox::Unit;
use crate::record::encode;
use crate::shows::selling;
use crate::time::Millis;

/// What a buyer asks of a show.
#[derive(Debug, Clone, PartialEq)]
pub enum Pick {
    /// The best `quantity` units of a category: any places of a standing one, adjacent seats in
    /// one row of a seated one (apart only if `allow_split`).
    Best {
        category: String,
        quantity: u32,
        allow_split: bool,
    },
    /// Exactly these units.
    Seats(Vec<TicketId>),
}

/// A new order of a show's tickets.
#[derive(Debug, Clone)]
pub struct ShowPlacing {
    pub id: OrderId,
    pub buyer: UserId,
    pub show: ShowId,
    pub pick: Pick,
    /// `None` for no cap on the buyer's open orders.
    pub max_open: Option<usize>,
}

impl super::OrdersStore {
    /// The replica of a show as the orders service sees it.
    pub fn show(&self, id: ShowId) -> Result<Option<ShowReplica>, redb::Error> {
        use redb::ReadableDatabase;
        let txn = self.db().begin_read()?;
        let shows = txn.open_table(inventory::SHOWS)?;
        inventory::load_replica(&shows, id)
    }

    /// Places an order of a show's units, locking all of them until `now + lock_ttl`.
    pub fn place_show(
        unit: &mut Unit,
        placing: ShowPlacing,
        now: Millis,
        lock_ttl: Duration,
    ) -> Result<Order, Error> {
        let ShowPlacing {
            id,
            buyer,
            show,
            pick,
            max_open,
        } = placing;
        super::store::check_open_orders(unit, buyer, max_open)?;
        let mut replica = {
            let shows = unit.txn().open_table(inventory::SHOWS)?;
            inventory::load_replica(&shows, show)?.ok_or(Error::ShowNotFound)?
        };
        selling(replica.status, replica.on_sale_at, replica.off_sale_at, now)
            .map_err(Error::NotSelling)?;
        let chosen = match pick {
            Pick::Best {
                category,
                quantity,
                allow_split,
            } => best(unit, &replica, &category, quantity, allow_split)?,
            Pick::Seats(tickets) => named(unit, &replica, &tickets)?,
        };
        let units: Vec<u32> = chosen.iter().map(|(index, _)| *index).collect();
        inventory::take(unit, &replica, &units)?;
        let mut holds = unit.txn().open_table(HOLDS)?;
        let mut tickets = Vec::with_capacity(chosen.len());
        for (index, category) in chosen {
            let ticket = show.unit(index);
            holds.insert(ticket.as_bytes().as_slice(), id.as_bytes().as_slice())?;
            let entry = &mut replica.categories[usize::from(category)];
            entry.free -= 1;
            tickets.push(UnitRef {
                id: ticket,
                index,
                category,
                price: entry.price,
            });
        }
        drop(holds);
        unit.txn()
            .open_table(inventory::SHOWS)?
            .insert(show.as_bytes().as_slice(), encode(&replica).as_slice())?;
        let cents: i64 = tickets
            .iter()
            .map(|t| (t.price * 100.0).round() as i64)
            .sum();
        let first = &tickets[0];
        let order = Order {
            id,
            user_id: buyer,
            status: OrderStatus::Created,
            expires_at: now.plus(lock_ttl),
            ticket: TicketReplica {
                id: first.id,
                title: replica.title.clone(),
                price: first.price,
                version: 0,
            },
            version: 0,
            show: Some(ShowPart {
                id: show,
                total: cents as f64 / 100.0,
                tickets,
            }),
        };
        record_new(unit, &order)?;
        Ok(order)
    }
}

/// Units and their categories, in the order they were chosen.
type Chosen = Vec<(u32, u16)>;

fn best(
    unit: &Unit,
    replica: &ShowReplica,
    category: &str,
    quantity: u32,
    allow_split: bool,
) -> Result<Chosen, Error> {
    if quantity == 0 || quantity > replica.max_per_order {
        return Err(Error::TooManyTickets(replica.max_per_order));
    }
    let (index, entry) = replica
        .categories
        .iter()
        .enumerate()
        .find(|(_, c)| c.name == category)
        .ok_or_else(|| Error::UnknownCategory(category.to_owned()))?;
    let index = index as u16;
    if entry.free < quantity {
        return Err(Error::NotEnough {
            category: category.to_owned(),
            available: entry.free,
        });
    }
    let n = quantity as u16;
    let units = if !entry.seated {
        inventory::any_places(unit, replica.id, index, n)?
    } else {
        match inventory::best_together(unit, replica.id, index, n)? {
            Some(together) => Some(together),
            // A split takes seats as it goes; having checked the free count, it cannot fail
            // unless the store disagrees with itself, which fails the whole batch.
            None if allow_split => Some(
                inventory::best_split(unit, replica, index, n)?.ok_or_else(|| {
                    redb::Error::Corrupted(format!(
                        "show {} counts {} free seats of {category:?} its rows do not have",
                        replica.id, entry.free
                    ))
                })?,
            ),
            None => {
                return Err(Error::NotTogether {
                    category: category.to_owned(),
                    quantity,
                });
            }
        }
    };
    let units = units.ok_or_else(|| Error::NotEnough {
        category: category.to_owned(),
        available: entry.free,
    })?;
    Ok(units.into_iter().map(|u| (u, index)).collect())
}

fn named(unit: &Unit, replica: &ShowReplica, tickets: &[TicketId]) -> Result<Chosen, Error> {
    if tickets.is_empty() || tickets.len() > replica.max_per_order as usize {
        return Err(Error::TooManyTickets(replica.max_per_order));
    }
    let mut foreign = Vec::new();
    let mut chosen = Vec::with_capacity(tickets.len());
    for ticket in tickets {
        let category = match replica.id.unit_index(*ticket, replica.units) {
            Some(index) => inventory::category_of(unit, replica, index)?.map(|c| (index, c)),
            None => None,
        };
        match category {
            Some(found) if !chosen.contains(&found) => chosen.push(found),
            Some(_) => return Err(Error::SeatGivenTwice(*ticket)),
            None => foreign.push(*ticket),
        }
    }
    if !foreign.is_empty() {
        return Err(Error::NotOfShow(foreign));
    }
    let holds = unit.txn().open_table(HOLDS)?;
    let mut taken = Vec::new();
    for ticket in tickets {
        if holds.get(ticket.as_bytes().as_slice())?.is_some() {
            taken.push(*ticket);
        }
    }
    if !taken.is_empty() {
        return Err(Error::SeatsTaken(taken));
    }
    Ok(chosen)
}
