//! The node's pass-signing key: an Ed25519 seed kept in `DATA_DIR/pass-key` (mode 0600), made
//! on first start. Every pass this node ever signed is checked against it, so it is kept with the
//! stores' backups; a node given a new key refuses the passes of the old one.

use std::path::Path;

use anyhow::{Context, bail};
use rand::RngCore;
use tix_core::passes::PassKey;
use tix_core::secret_file;
use tracing::{info, warn};

/// Reads the key at `path`, or makes and keeps a new one.
pub fn load_or_create(path: &Path) -> anyhow::Result<PassKey> {
    let secret = secret_file::load_or_create(path, || {
        let mut seed = [0u8; 32];
        rand::rng().fill_bytes(&mut seed);
        hex::encode(seed)
    })
    .with_context(|| format!("reading or creating {}", path.display()))?;
    if secret.tightened {
        warn!(path = %path.display(), "pass key file was readable by others; tightened to 0600");
    }
    let mut seed = [0u8; 32];
    if hex::decode_to_slice(secret.value.trim(), &mut seed).is_err() {
        bail!(
            "{} does not hold a pass key (64 hexadecimal characters); restore it from a backup, \
             or move it away to make a new key (passes signed with the old one will be refused)",
            path.display()
        );
    }
    let key = PassKey::from_seed(seed);
    if secret.created {
        info!(path = %path.display(), key_id = %key.verifier().id(), "generated a pass-signing key");
    }
    Ok(key)
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn the_key_is_made_once_owner_only_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pass-key");
        let first = load_or_create(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let again = load_or_create(&path).unwrap();
        assert_eq!(again.verifier().public_hex(), first.verifier().public_hex());
    }

    #[test]
    fn a_damaged_key_file_stops_the_node_with_what_to_do() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pass-key");
        std::fs::write(&path, "not a key").unwrap();
        let error = load_or_create(&path).err().unwrap().to_string();
        assert!(error.contains("does not hold a pass key"), "{error}");
    }
}
