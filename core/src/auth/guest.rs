//! Guests: walk-in buyers at a venue's kiosk, who buy without signing up.
//!
//! A guest is an account like any other to the orders and payments it makes, so every rule about
//! orders holds for it unchanged. It has no password (nobody can sign in as it) and its address is
//! `guest-<id>@kiosk.invalid`: the `.invalid` top-level domain is reserved, so it is never a real
//! mailbox and no one can sign up with it. Its session is the kiosk screen's until that screen
//! returns to the start; staff find its orders by order number.

use super::User;
use crate::ids::UserId;

/// The domain of every guest's address.
pub const GUEST_DOMAIN: &str = "kiosk.invalid";

impl User {
    /// A new guest, never staff.
    pub fn guest(id: UserId) -> User {
        User {
            id,
            email: format!("guest-{id}@{GUEST_DOMAIN}"),
            password_hash: String::new(),
            staff: false,
            door: false,
        }
    }

    pub fn is_guest(&self) -> bool {
        self.password_hash.is_empty() && is_guest_email(&self.email)
    }

    /// A member whose account came back from the hub after the venue lost it: the hash never
    /// left the venue, so they must choose a new password before they can sign in.
    pub fn needs_new_password(&self) -> bool {
        self.password_hash.is_empty() && !is_guest_email(&self.email)
    }
}

/// Whether `email` is in the guests' domain (a sign-up with it is refused).
pub fn is_guest_email(email: &str) -> bool {
    email
        .rsplit_once('@')
        .is_some_and(|(_, domain)| domain.eq_ignore_ascii_case(GUEST_DOMAIN))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_guest_has_no_password_and_an_address_in_the_reserved_domain() {
        let guest = User::guest(UserId::from_bytes([7; 12]));
        assert!(guest.is_guest());
        assert!(!guest.staff);
        assert!(guest.password_hash.is_empty());
        assert!(guest.email.ends_with("@kiosk.invalid"), "{}", guest.email);
        assert!(is_guest_email("someone@KIOSK.invalid"));
        assert!(!is_guest_email("kiosk.invalid@example.com"));
        let member = User {
            password_hash: "$argon2id$...".into(),
            ..guest
        };
        assert!(!member.is_guest(), "an account with a password is a member");
    }
}
