//! `tix-node staff ...`: the operator grants, withdraws and lists the box-office staff role.
//!
//! It opens only the auth store, and only while the node is stopped: a running node holds its
//! stores, and the error says so.

use std::path::Path;

use anyhow::{Context, bail};
use tix_core::auth::{self, AuthStore};

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
    let store = AuthStore::from_database(db).context("preparing the auth store")?;
    let set = |email: &str, staff: bool| match store.set_staff(email, staff) {
        Ok(user) => Ok(user),
        Err(auth::Error::NoSuchUser) => {
            bail!("no user signs in as {email:?}; they must sign up first")
        }
        Err(e) => Err(e).context("updating the user"),
    };
    Ok(match action {
        StaffAction::Grant { email } => {
            let user = set(email, true)?;
            format!("{} ({}) is now box-office staff", user.email, user.id)
        }
        StaffAction::Revoke { email } => {
            let user = set(email, false)?;
            format!("{} ({}) is no longer staff", user.email, user.id)
        }
        StaffAction::List => {
            let staff = store.staff().context("reading the users")?;
            if staff.is_empty() {
                "no staff yet; grant with: tix-node staff grant EMAIL".to_owned()
            } else {
                staff
                    .iter()
                    .map(|u| format!("{}\t{}", u.email, u.id))
                    .collect::<Vec<_>>()
                    .join("\n")
            }
        }
    })
}
