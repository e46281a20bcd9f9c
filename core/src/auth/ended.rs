//! Sessions ended by signing out, kept until they would have expired anyway.
//!
//! A session is a signed cookie the node cannot take back, so signing out writes the session down
//! as ended: a copy of the cookie made before the sign-out is refused from then on. A session is
//! named by its user and the second it was issued (`iat`); the entry lives until the session's own
//! expiry (`exp`), after which the signature check refuses it anyway and the entry is dropped.

use redb::{ReadableDatabase, TableDefinition};

use super::AuthStore;
use crate::ids::UserId;
use crate::outbox::Unit;

/// Big-endian `exp` ++ user id ++ big-endian `iat` → nothing: ended sessions, soonest expiry first.
pub(super) const ENDED: TableDefinition<'_, &[u8], ()> = TableDefinition::new("ended_sessions");

/// A session ended before its expiry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EndedSession {
    pub user: UserId,
    /// When it was issued, in seconds since the epoch.
    pub iat: u64,
    /// When it would have expired, in seconds since the epoch.
    pub exp: u64,
}

impl EndedSession {
    fn key(&self) -> [u8; 28] {
        let mut key = [0u8; 28];
        key[..8].copy_from_slice(&self.exp.to_be_bytes());
        key[8..20].copy_from_slice(self.user.as_bytes());
        key[20..].copy_from_slice(&self.iat.to_be_bytes());
        key
    }

    fn from_key(key: &[u8]) -> Option<EndedSession> {
        let exp = u64::from_be_bytes(key.get(..8)?.try_into().ok()?);
        let user = UserId::from_bytes(key.get(8..20)?.try_into().ok()?);
        let iat = u64::from_be_bytes(key.get(20..28)?.try_into().ok()?);
        Some(EndedSession { user, iat, exp })
    }
}

impl AuthStore {
    /// Writes `session` down as ended, and drops the entries of sessions expired by `now_secs`.
    pub fn end_session(
        unit: &mut Unit,
        session: EndedSession,
        now_secs: u64,
    ) -> Result<(), redb::Error> {
        let mut ended = unit.txn().open_table(ENDED)?;
        let expired_below = now_secs.to_be_bytes();
        ended.retain_in(..expired_below.as_slice(), |_, _| false)?;
        if session.exp > now_secs {
            ended.insert(session.key().as_slice(), ())?;
        }
        Ok(())
    }

    /// Every ended session that has not expired by `now_secs`.
    pub fn ended_sessions(&self, now_secs: u64) -> Result<Vec<EndedSession>, redb::Error> {
        let txn = self.db().begin_read()?;
        let ended = txn.open_table(ENDED)?;
        let from = now_secs.to_be_bytes();
        let mut sessions = Vec::new();
        for entry in ended.range(from.as_slice()..)? {
            let (key, _) = entry?;
            let session = EndedSession::from_key(key.value())
                .ok_or_else(|| redb::Error::Corrupted("ended session key".into()))?;
            sessions.push(session);
        }
        Ok(sessions)
    }
}
