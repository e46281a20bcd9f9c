//! `tix-node staff ...`: the operator grants, withdraws and lists the box-office staff and door
//! staff roles.
//!
//! It opens only the auth store, and only while the node is stopped: a running node holds its
//! stores, and the error says so.

use std::path::Path;

use anyhow::{Context, bail};
use tix_core::auth::{self, AuthStore, Role};

use crate::config::StaffAction;

/// Runs one staff task on the stores in `data_dir`; returns what to tell the operator.
pub fn run(data_dir: &Path, action: &StaffAction) -> anyhow::Result<String> {
    let path = data_dir.join("auth.redb");
    if !path.exists() {
        bail!(
            "no node data in {} (expected auth.redb); pass the node's --data-dir",
            data_dir.display()
        );
    }
    let db = match redb::Database::open(&path) {
        Ok(db) => db,
        Err(redb::DatabaseError::DatabaseAlreadyOpen) => bail!(
            "the node using {} is running; stop it, run this again, then start it",
            data_dir.display()
        ),
        Err(e) => return Err(e).with_context(|| format!("opening {}", path.display())),
    };
    tix_core::store_version::refuse_newer(&db, "auth")?;
    let store = AuthStore::from_database(db).context("preparing the auth store")?;
    let set = |email: &str, door: bool, granted: bool| {
        let role = if door { Role::Door } else { Role::Staff };
        match store.set_role(email, role, granted) {
            Ok(user) => Ok(user),
            Err(auth::Error::NoSuchUser) => {
                bail!("no user signs in as {email:?}; they must sign up first")
            }
            Err(e) => Err(e).context("updating the user"),
        }
    };
    let role_name = |door: bool| {
        if door {
            "door staff"
        } else {
            "box-office staff"
        }
    };
    Ok(match action {
        StaffAction::Grant { email, door } => {
            let user = set(email, *door, true)?;
            format!("{} ({}) is now {}", user.email, user.id, role_name(*door))
        }
        StaffAction::Revoke { email, door } => {
            let user = set(email, *door, false)?;
            format!(
                "{} ({}) is no longer {}",
                user.email,
                user.id,
                role_name(*door)
            )
        }
        StaffAction::List => {
            let holders = store.with_role(Role::Door).context("reading the users")?;
            if holders.is_empty() {
                "no staff yet; grant with: tix-node staff grant EMAIL (add --door for door staff)"
                    .to_owned()
            } else {
                holders
                    .iter()
                    .map(|u| {
                        let role = if u.staff { "staff" } else { "door" };
                        format!("{}\t{}\t{role}", u.email, u.id)
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            }
        }
    })
}
