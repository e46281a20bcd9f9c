//! A secret kept in a file only its owner can read: read it if it is there, create it if not.

use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// A secret and what had to be done to get it.
#[derive(Debug)]
pub struct Secret {
    pub value: String,
    /// The file did not exist (or was empty) and was written with `fresh`.
    pub created: bool,
    /// The file was readable by others and its mode was tightened to 0600.
    pub tightened: bool,
}

/// Reads the secret at `path`, or writes `fresh()` there with mode 0600 (atomically, via a
/// temporary file and a rename, so a crash never leaves half a secret).
pub fn load_or_create(path: &Path, fresh: impl FnOnce() -> String) -> io::Result<Secret> {
    match fs::read_to_string(path) {
        Ok(text) if !text.trim().is_empty() => {
            let mode = fs::metadata(path)?.permissions().mode() & 0o777;
            let tightened = mode & 0o077 != 0;
            if tightened {
                fs::set_permissions(path, fs::Permissions::from_mode(0o600))?;
            }
            return Ok(Secret {
                value: text.trim().to_owned(),
                created: false,
                tightened,
            });
        }
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let value = fresh();
    let tmp = path.with_extension("tmp");
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)?;
    file.write_all(value.as_bytes())?;
    file.sync_all()?;
    fs::rename(&tmp, path)?;
    Ok(Secret {
        value,
        created: true,
        tightened: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_once_private_and_kept() {
        let dir = tempfile_dir();
        let path = dir.join("secret");
        let first = load_or_create(&path, || "abc".into()).unwrap();
        assert!(first.created);
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        let again = load_or_create(&path, || unreachable!()).unwrap();
        assert_eq!(
            (again.value.as_str(), again.created, again.tightened),
            ("abc", false, true)
        );
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        fs::remove_dir_all(dir).unwrap();
    }

    fn tempfile_dir() -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("tix-secret-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        dir
    }
}
