//! One-time codes that let a member choose a new password: emailed to the account's address, or
//! handed over by the box office once staff have seen who asks.
//!
//! A code is an HMAC-SHA256, under a key derived from the node's session secret, of the account's
//! id, a 30-minute window and the account's current password hash, cut to 80 bits and written as
//! 16 base32 letters in groups of four. So nothing is stored: a code is good in its window and the
//! next (30 to 60 minutes), works once (a new password changes the hash it was made from), and is
//! only ever good for the account it was made for. A member whose account came back from the hub
//! after the venue lost its data has no hash at all; their code is made from that.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use tix_core::auth::User;
use tix_core::time::Millis;

/// How long one window of codes lasts; a code is good in its window and the next.
const WINDOW_MS: u64 = 30 * 60 * 1000;
/// Letters in a code (5 bits each).
const LETTERS: usize = 16;
const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// Makes and checks reset codes under the node's key.
pub struct ResetCodes {
    key: [u8; 32],
}

impl ResetCodes {
    /// Codes under a key derived from the node's session secret (so they end with it).
    pub fn new(secret: &[u8]) -> ResetCodes {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
        mac.update(b"tix password reset codes v1");
        ResetCodes {
            key: mac.finalize().into_bytes().into(),
        }
    }

    /// The code for `user` now, as `ABCD-EFGH-IJKL-MNOP`.
    pub fn code(&self, user: &User, now: Millis) -> String {
        let letters = self.letters(user, now.0 / WINDOW_MS);
        letters
            .chunks(4)
            .map(|group| std::str::from_utf8(group).expect("base32 letters are ASCII"))
            .collect::<Vec<_>>()
            .join("-")
    }

    /// Whether `given` (in any case, with or without dashes and spaces) is `user`'s code now.
    pub fn check(&self, user: &User, given: &str, now: Millis) -> bool {
        let given: Vec<u8> = given
            .bytes()
            .filter(|b| !matches!(b, b'-' | b' '))
            .map(|b| b.to_ascii_uppercase())
            .collect();
        let window = now.0 / WINDOW_MS;
        [window, window.saturating_sub(1)]
            .iter()
            .any(|w| bool::from(self.letters(user, *w).as_slice().ct_eq(&given)))
    }

    fn letters(&self, user: &User, window: u64) -> [u8; LETTERS] {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(user.id.as_bytes());
        mac.update(&window.to_be_bytes());
        mac.update(user.password_hash.as_bytes());
        let digest = mac.finalize().into_bytes();
        let bits = u128::from_be_bytes(digest[..16].try_into().expect("a digest of 32 bytes"));
        std::array::from_fn(|i| ALPHABET[((bits >> (123 - 5 * i)) & 31) as usize])
    }
}

#[cfg(test)]
mod tests {
    use tix_core::ids::UserId;

    use super::*;

    fn member(hash: &str) -> User {
        User {
            id: UserId::from_bytes([7; 12]),
            email: "member@venue.test".into(),
            password_hash: hash.into(),
            staff: false,
            door: false,
        }
    }

    const NOW: Millis = Millis(1_796_400_000_000);

    #[test]
    fn a_code_is_good_in_its_window_and_the_next_in_any_case_and_dashes() {
        let codes = ResetCodes::new(b"secret");
        let user = member("");
        let code = codes.code(&user, NOW);
        assert_eq!(code.len(), 19, "{code}");
        assert!(codes.check(&user, &code, NOW));
        assert!(codes.check(&user, &code.to_lowercase().replace('-', " "), NOW));
        assert!(codes.check(&user, &code, Millis(NOW.0 + WINDOW_MS)));
        assert!(!codes.check(&user, &code, Millis(NOW.0 + 2 * WINDOW_MS)));
    }

    #[test]
    fn a_code_works_once_for_one_account_under_one_key() {
        let codes = ResetCodes::new(b"secret");
        let code = codes.code(&member(""), NOW);
        assert!(!codes.check(&member("$argon2id$new"), &code, NOW), "used");
        let mut other = member("");
        other.id = UserId::from_bytes([8; 12]);
        assert!(!codes.check(&other, &code, NOW), "another account");
        assert!(!ResetCodes::new(b"other").check(&member(""), &code, NOW));
        assert!(!codes.check(&member(""), "", NOW));
        assert!(!codes.check(&member(""), &code[..18], NOW));
    }
}
