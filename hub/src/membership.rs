//! Which venues this hub instance applies, when several instances share one PostgreSQL database.
//!
//! Each instance beats in `hub_instances` every `BEAT`; the instances that beat within `LEASE`
//! (by the database's clock, so the instances' clocks need not agree) are the live ones, and each
//! venue belongs to one of them by rendezvous hashing: the live instance whose hash with the venue
//! is highest. Every instance computes the same answer from the same list, an instance's venues
//! move only when it joins or leaves, and a dead instance's venues spread over the others once its
//! lease runs out. A leaving instance deletes its row, so its venues move at once.
//!
//! Ownership is about sharing the work, not about correctness: the ledger serialises per venue in
//! the database, so two instances that both think a venue theirs for a moment (one joining, one
//! not yet seeing it) store each event once all the same; one that no instance thinks its own for
//! a moment is resent by the venue, which resends whatever stays unacknowledged. (An instance keeps
//! the others' messages for a while and applies those of a venue that moves to it: `link/standby`.)
//!
//! A SQLite hub is alone: it owns every venue, and no thread runs.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::thread;
use std::time::Duration;

use sha2::{Digest, Sha256};
use tokio::sync::watch;
use tracing::{info, warn};

use crate::db::{Conn, Db, DbError, Location};

/// How often an instance beats.
const BEAT: Duration = Duration::from_secs(1);
/// How long an instance counts as live after its last beat.
const LEASE_SECONDS: i64 = 5;
/// Rows of instances gone this long are deleted.
const FORGET_SECONDS: i64 = 3600;

/// This instance's view of who applies which venue.
#[derive(Debug)]
pub struct Ownership {
    me: String,
    /// The live instances, `me` among them; `None` for a hub alone (SQLite).
    members: Option<RwLock<Vec<String>>>,
    /// How many times the live instances changed.
    changes: AtomicU64,
}

impl Ownership {
    /// The only instance: every venue is its own.
    pub fn alone(me: &str) -> Ownership {
        Ownership {
            me: me.to_owned(),
            members: None,
            changes: AtomicU64::new(0),
        }
    }

    /// One of several instances; `members` must include `me`.
    fn shared(me: &str, members: Vec<String>) -> Ownership {
        Ownership {
            me: me.to_owned(),
            members: Some(RwLock::new(members)),
            changes: AtomicU64::new(0),
        }
    }

    /// Whether this instance applies `venue` ("" for messages naming none).
    pub fn owns(&self, venue: &str) -> bool {
        let Some(members) = &self.members else {
            return true;
        };
        let members = members.read().unwrap_or_else(|e| e.into_inner());
        owner(&members, venue).is_none_or(|owner| owner == self.me)
    }

    /// How many times the live instances changed so far: venues may have moved when it grows.
    pub fn changes(&self) -> u64 {
        self.changes.load(Ordering::Acquire)
    }

    /// The live instances as last read.
    pub fn members(&self) -> Vec<String> {
        match &self.members {
            Some(members) => members.read().unwrap_or_else(|e| e.into_inner()).clone(),
            None => vec![self.me.clone()],
        }
    }

    fn set(&self, live: Vec<String>) -> bool {
        let Some(members) = &self.members else {
            return false;
        };
        let mut members = members.write().unwrap_or_else(|e| e.into_inner());
        let changed = *members != live;
        *members = live;
        if changed {
            self.changes.fetch_add(1, Ordering::AcqRel);
        }
        changed
    }
}

/// The instance among `members` that applies `venue`: the highest hash of (instance, venue).
fn owner<'a>(members: &'a [String], venue: &str) -> Option<&'a str> {
    members
        .iter()
        .max_by_key(|member| score(member, venue))
        .map(String::as_str)
}

fn score(member: &str, venue: &str) -> [u8; 8] {
    let digest = Sha256::new()
        .chain_update(member.as_bytes())
        .chain_update([0])
        .chain_update(venue.as_bytes())
        .finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    first
}

/// The beating thread of an instance sharing a database; it deletes its row when stopped.
pub struct Membership {
    thread: Option<thread::JoinHandle<()>>,
}

impl Membership {
    /// Joins: beats once now (so that `ownership` is right before any message is read), then on
    /// a thread of its own until `shutdown` turns true. For a SQLite hub, an ownership of one.
    /// Blocks: call it off the async threads.
    pub fn join(
        db: &Db,
        me: &str,
        shutdown: watch::Receiver<bool>,
    ) -> Result<(Arc<Ownership>, Membership), DbError> {
        if let Location::Sqlite(_) = db.location() {
            let alone = Membership { thread: None };
            return Ok((Arc::new(Ownership::alone(me)), alone));
        }
        let mut conn = db.open_writer()?;
        let live = beat(&mut conn, me)?;
        info!(instance = me, live = ?live, "joined the hub instances sharing the database");
        let ownership = Arc::new(Ownership::shared(me, live));
        let thread = thread::Builder::new()
            .name("tix-hub-membership".into())
            .spawn({
                let ownership = ownership.clone();
                let me = me.to_owned();
                move || keep_beating(conn, &me, &ownership, shutdown)
            })
            .map_err(|e| DbError::Schema(format!("starting the membership thread: {e}")))?;
        Ok((
            ownership,
            Membership {
                thread: Some(thread),
            },
        ))
    }

    /// Waits for the thread (it ends once shutdown turned true).
    pub fn wait(self) {
        if let Some(thread) = self.thread
            && thread.join().is_err()
        {
            warn!("the membership thread panicked");
        }
    }
}

fn keep_beating(mut conn: Conn, me: &str, ownership: &Ownership, shutdown: watch::Receiver<bool>) {
    while !*shutdown.borrow() {
        thread::sleep(BEAT);
        match beat(&mut conn, me) {
            Ok(live) => {
                if ownership.set(live.clone()) {
                    info!(instance = me, live = ?live, "the hub instances changed; venues move");
                }
            }
            // Others may take this instance's venues meanwhile; the database keeps it correct.
            Err(e) => warn!(error = %e, "could not beat in the database"),
        }
    }
    match leave(&mut conn, me) {
        Ok(()) => info!(instance = me, "left the hub instances"),
        Err(e) => warn!(error = %e, "could not leave the hub instances; the lease runs out"),
    }
}

/// Records this instance's beat; answers the live instances, sorted.
fn beat(conn: &mut Conn, me: &str) -> Result<Vec<String>, DbError> {
    conn.transaction(|sql| {
        sql.execute(
            "INSERT INTO hub_instances (instance) VALUES (?1)
             ON CONFLICT (instance) DO UPDATE SET beat_at = now()",
            &[&me],
        )?;
        sql.execute(
            "DELETE FROM hub_instances WHERE beat_at < now() - make_interval(secs => ?1)",
            &[&(FORGET_SECONDS as f64)],
        )?;
        sql.query(
            "SELECT instance FROM hub_instances
             WHERE beat_at > now() - make_interval(secs => ?1) ORDER BY instance",
            &[&(LEASE_SECONDS as f64)],
            |row| row.get(0),
        )
    })
}

fn leave(conn: &mut Conn, me: &str) -> Result<(), DbError> {
    conn.sql()?
        .execute("DELETE FROM hub_instances WHERE instance = ?1", &[&me])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("hub-{i}")).collect()
    }

    #[test]
    fn every_venue_has_one_owner_and_the_venues_spread_evenly() {
        let members = names(2);
        let venues: Vec<String> = (0..1000).map(|v| format!("venue-{v}")).collect();
        let mine = |me: &str| {
            let view = Ownership::shared(me, members.clone());
            venues.iter().filter(|v| view.owns(v)).count()
        };
        let (a, b) = (mine("hub-0"), mine("hub-1"));
        assert_eq!(a + b, 1000, "each venue owned once");
        assert!((400..=600).contains(&a), "an even share: {a} of 1000");
    }

    #[test]
    fn when_an_instance_leaves_only_its_venues_move() {
        let venues: Vec<String> = (0..1000).map(|v| format!("venue-{v}")).collect();
        let three = names(3);
        let two = vec![three[0].clone(), three[2].clone()];
        for venue in &venues {
            let before = owner(&three, venue).unwrap();
            let after = owner(&two, venue).unwrap();
            if before != "hub-1" {
                assert_eq!(before, after, "{venue} moved though its owner stayed");
            }
        }
    }

    #[test]
    fn an_instance_alone_owns_everything() {
        let alone = Ownership::alone("tix-hub");
        assert!(alone.owns("anything") && alone.owns(""));
        let one = Ownership::shared("a", vec!["a".into()]);
        assert!(one.owns("venue-1"));
    }
}
