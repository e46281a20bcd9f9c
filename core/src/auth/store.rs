//! The auth service's redb store: users by id and by email.

use redb::{Database, ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition};

use super::{Error, Role, User};
use crate::events::{DomainEvent, UserCreated};
use crate::ids::UserId;
use crate::outbox::{self, Unit};
use crate::record::{decode, encode};

const USERS: TableDefinition<'_, &[u8], &[u8]> = TableDefinition::new("users");
const BY_EMAIL: TableDefinition<'_, &str, &[u8]> = TableDefinition::new("users_by_email");

pub struct AuthStore {
    db: Database,
}

impl AuthStore {
    pub fn from_database(db: Database) -> Result<AuthStore, redb::Error> {
        outbox::init(&db)?;
        let txn = outbox::write_txn(&db)?;
        txn.open_table(USERS)?;
        txn.open_table(BY_EMAIL)?;
        txn.open_table(super::ended::ENDED)?;
        txn.commit()?;
        Ok(AuthStore { db })
    }

    pub fn db(&self) -> &Database {
        &self.db
    }

    pub fn find_by_email(&self, email: &str) -> Result<Option<User>, redb::Error> {
        let txn = self.db.begin_read()?;
        let by_email = txn.open_table(BY_EMAIL)?;
        let Some(id) = by_email.get(email)? else {
            return Ok(None);
        };
        let users = txn.open_table(USERS)?;
        let user = users.get(id.value())?;
        user.map(|u| decode(u.value())).transpose()
    }

    pub fn get(&self, id: UserId) -> Result<Option<User>, redb::Error> {
        let txn = self.db.begin_read()?;
        let users = txn.open_table(USERS)?;
        let user = users.get(id.as_bytes().as_slice())?;
        user.map(|u| decode(u.value())).transpose()
    }

    /// Every user holding `role`, in email order.
    pub fn with_role(&self, role: Role) -> Result<Vec<User>, redb::Error> {
        let txn = self.db.begin_read()?;
        let users = txn.open_table(USERS)?;
        let mut holders = Vec::new();
        for entry in users.iter()? {
            let user: User = decode(entry?.1.value())?;
            if user.has(role) {
                holders.push(user);
            }
        }
        holders.sort_by(|a, b| a.email.cmp(&b.email));
        Ok(holders)
    }

    /// Every staff member, in email order.
    pub fn staff(&self) -> Result<Vec<User>, redb::Error> {
        self.with_role(Role::Staff)
    }

    /// Grants or withdraws a role. It is the operator's action on a stopped node (the running
    /// node holds the store's lock), so it commits on its own and emits no event.
    pub fn set_role(&self, email: &str, role: Role, granted: bool) -> Result<User, Error> {
        let txn = outbox::write_txn(&self.db)?;
        let user = {
            let by_email = txn.open_table(BY_EMAIL)?;
            let Some(id) = by_email.get(email)? else {
                return Err(Error::NoSuchUser);
            };
            let id = id.value().to_vec();
            let mut users = txn.open_table(USERS)?;
            let mut user: User = match users.get(id.as_slice())? {
                Some(u) => decode(u.value())?,
                None => return Err(Error::NoSuchUser),
            };
            match role {
                Role::Staff => user.staff = granted,
                Role::Door => user.door = granted,
            }
            users.insert(id.as_slice(), encode(&user).as_slice())?;
            user
        };
        txn.commit().map_err(redb::Error::from)?;
        Ok(user)
    }

    /// Grants or withdraws the staff role (see `set_role`).
    pub fn set_staff(&self, email: &str, staff: bool) -> Result<User, Error> {
        self.set_role(email, Role::Staff, staff)
    }

    /// Gives a member a new password hash (a reset) if the account still has the hash `was` (the
    /// one its reset code was made from), so a code sets a password once. Emits nothing: hashes
    /// never leave the venue. A guest has no password to reset.
    pub fn set_password(
        unit: &mut Unit,
        id: UserId,
        was: &str,
        hash: String,
    ) -> Result<User, Error> {
        let mut users = unit.txn().open_table(USERS)?;
        let mut user: User = match users.get(id.as_bytes().as_slice())? {
            Some(u) => decode(u.value())?,
            None => return Err(Error::NoSuchUser),
        };
        if user.is_guest() {
            return Err(Error::NoSuchUser);
        }
        if user.password_hash != was {
            return Err(Error::PasswordChanged);
        }
        user.password_hash = hash;
        users.insert(id.as_bytes().as_slice(), encode(&user).as_slice())?;
        Ok(user)
    }

    /// Puts back an account `user:created` described (the catch-up of a restored node). Its
    /// password hash never left the venue, so the account comes back without one: a member must
    /// choose a new password (`User::needs_new_password`), a kiosk guest is a guest again.
    pub fn restore(unit: &mut Unit, created: &UserCreated) -> Result<(), redb::Error> {
        let mut users = unit.txn().open_table(USERS)?;
        if users.get(created.id.as_bytes().as_slice())?.is_some() {
            return Ok(());
        }
        let mut by_email = unit.txn().open_table(BY_EMAIL)?;
        if by_email.get(created.email.as_str())?.is_some() {
            return Err(redb::Error::Corrupted(format!(
                "user:created {} names an email another account has",
                created.id
            )));
        }
        let user = User {
            id: created.id,
            email: created.email.clone(),
            password_hash: String::new(),
            staff: false,
            door: false,
        };
        by_email.insert(user.email.as_str(), user.id.as_bytes().as_slice())?;
        users.insert(user.id.as_bytes().as_slice(), encode(&user).as_slice())?;
        Ok(())
    }

    /// Registers a user; the email must not be taken (exact, case-sensitive match, as the seed).
    /// With `first_is_staff` (a standalone box office), the very first user becomes staff.
    pub fn sign_up(unit: &mut Unit, mut user: User, first_is_staff: bool) -> Result<User, Error> {
        {
            if first_is_staff && unit.txn().open_table(USERS)?.is_empty()? {
                user.staff = true;
            }
            let mut by_email = unit.txn().open_table(BY_EMAIL)?;
            if by_email.get(user.email.as_str())?.is_some() {
                return Err(Error::EmailInUse);
            }
            by_email.insert(user.email.as_str(), user.id.as_bytes().as_slice())?;
            let mut users = unit.txn().open_table(USERS)?;
            users.insert(user.id.as_bytes().as_slice(), encode(&user).as_slice())?;
        }
        unit.emit(DomainEvent::UserCreated(UserCreated {
            id: user.id,
            email: user.email.clone(),
        }));
        Ok(user)
    }
}
