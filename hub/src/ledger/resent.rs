//! Resent events (a sequence the venue's cursor has passed): each is compared with the stored
//! event of the same (venue, epoch, sequence), all of a batch's in one query, and one whose
//! payload differs is a conflict for the quarantine. A resend is normal (the relay resends from the
//! acknowledgement); a different event under a stored sequence is not.

use std::collections::HashMap;

use crate::db::{DbError, Dialect, Sql};

use super::{Incoming, Key};

/// A resent message and the event it names.
pub(super) struct Resent<'m> {
    pub(super) key: Key,
    pub(super) message: &'m Incoming,
}

/// Those of `resent` whose payload differs from the stored event's (the others are harmless
/// duplicates), in the order given.
pub(super) fn conflicting<'r, 'm>(
    sql: &mut Sql<'_>,
    resent: &'r [Resent<'m>],
) -> Result<Vec<&'r Resent<'m>>, DbError> {
    if resent.is_empty() {
        return Ok(Vec::new());
    }
    let stored = stored(sql, resent)?;
    Ok(resent
        .iter()
        .filter(|r| {
            let key = (r.key.venue.clone(), r.key.epoch.clone(), r.key.seq as i64);
            stored
                .get(&key)
                .is_some_and(|payload| *payload != r.message.payload)
        })
        .collect())
}

type StoredKey = (String, String, i64);

/// The stored payloads of the events `resent` names.
fn stored(
    sql: &mut Sql<'_>,
    resent: &[Resent<'_>],
) -> Result<HashMap<StoredKey, Vec<u8>>, DbError> {
    let keys: Vec<serde_json::Value> = resent
        .iter()
        .map(
            |r| serde_json::json!({ "venue": r.key.venue, "epoch": r.key.epoch, "seq": r.key.seq }),
        )
        .collect();
    let keys = serde_json::Value::from(keys).to_string();
    let query = match sql.dialect() {
        Dialect::Sqlite => {
            "SELECT e.venue, e.epoch, e.seq, e.envelope FROM json_each(?1) AS k
             JOIN events e ON e.venue = json_extract(k.value, '$.venue')
                AND e.epoch = json_extract(k.value, '$.epoch')
                AND e.seq = json_extract(k.value, '$.seq')"
        }
        Dialect::Postgres => {
            "SELECT e.venue, e.epoch, e.seq, e.envelope
             FROM json_to_recordset(?1::text::json) AS k(venue text, epoch text, seq bigint)
             JOIN events e ON e.venue = k.venue AND e.epoch = k.epoch AND e.seq = k.seq"
        }
    };
    let rows = sql.query(query, &[&keys], |row| {
        Ok(((row.get(0)?, row.get(1)?, row.get(2)?), row.get(3)?))
    })?;
    Ok(rows.into_iter().collect())
}
