//! Password hashing with argon2id (the `argon2` crate's defaults), run off the async threads.

use argon2::{Argon2, PasswordHash, PasswordHasher, PasswordVerifier};

/// Hashes a password into a PHC string with a fresh random salt.
pub fn hash(password: &str) -> anyhow::Result<String> {
    let hash: PasswordHash = Argon2::default()
        .hash_password(password.as_bytes())
        .map_err(|e| anyhow::anyhow!("hashing password: {e}"))?;
    Ok(hash.to_string())
}

/// Whether `password` matches a stored PHC hash. A malformed stored hash never matches.
pub fn verify(password: &str, stored: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(stored) else {
        return false;
    };
    Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok()
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_hash_verifies_its_password_only() {
        let stored = super::hash("s3cret").unwrap();
        assert!(stored.starts_with("$argon2id$"));
        assert!(super::verify("s3cret", &stored));
        assert!(!super::verify("s3cret ", &stored));
        assert!(!super::verify("s3cret", "not a hash"));
    }
}
