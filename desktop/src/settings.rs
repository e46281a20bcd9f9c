//! The box office's remembered settings: which node it talks to, kept as JSON in the app's config
//! directory and replaced atomically (a torn write never loses the address).

use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::DeskError;

/// How this box office reaches its node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "camelCase")]
pub enum Connection {
    /// A venue node on the LAN, e.g. `http://10.0.0.5:8080`.
    Remote { url: String },
    /// A node inside the app, with its data in the app's data directory.
    Standalone,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Settings {
    #[serde(default)]
    pub connection: Option<Connection>,
    /// The gate this computer scans at in door mode, as last typed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub door_gate: Option<String>,
}

/// Where the settings live.
#[derive(Debug, Clone)]
pub struct SettingsFile {
    path: PathBuf,
}

impl SettingsFile {
    pub fn in_dir(dir: &Path) -> SettingsFile {
        SettingsFile {
            path: dir.join("box-office.json"),
        }
    }

    /// The saved settings; defaults when there are none yet. A damaged file is an error, not a
    /// silent reset.
    pub fn load(&self) -> Result<Settings, DeskError> {
        match fs::read(&self.path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                DeskError::Local(format!(
                    "settings file {} is damaged: {e}",
                    self.path.display()
                ))
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Settings::default()),
            Err(e) => Err(DeskError::Local(format!(
                "reading {}: {e}",
                self.path.display()
            ))),
        }
    }

    pub fn save(&self, settings: &Settings) -> Result<(), DeskError> {
        let fail =
            |e: std::io::Error| DeskError::Local(format!("saving {}: {e}", self.path.display()));
        if let Some(dir) = self.path.parent() {
            fs::create_dir_all(dir).map_err(fail)?;
        }
        let temporary = self.path.with_extension("json.tmp");
        let bytes = serde_json::to_vec_pretty(settings)
            .map_err(|e| DeskError::Local(format!("settings: {e}")))?;
        fs::write(&temporary, bytes).map_err(fail)?;
        fs::rename(&temporary, &self.path).map_err(fail)
    }

    /// Loads, changes and saves the settings (one field, leaving the others as they were).
    pub fn update(&self, change: impl FnOnce(&mut Settings)) -> Result<Settings, DeskError> {
        let mut settings = self.load()?;
        change(&mut settings);
        self.save(&settings)?;
        Ok(settings)
    }
}

/// Checks and normalizes a node address typed at first start: `host:port` gains `http://`; only
/// http(s) with a host, no path beyond `/`.
pub fn normalize_url(text: &str) -> Result<String, DeskError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(DeskError::BadAddress(
            "Enter the node's address, e.g. 192.168.1.20:8080".into(),
        ));
    }
    let with_scheme = if text.contains("://") {
        text.to_owned()
    } else {
        format!("http://{text}")
    };
    let url = url::Url::parse(&with_scheme)
        .map_err(|e| DeskError::BadAddress(format!("{text:?} is not an address: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(DeskError::BadAddress(
            "The address must start with http:// or https://".into(),
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(DeskError::BadAddress("The address needs a host".into()));
    }
    if url.path() != "/" || url.query().is_some() {
        return Err(DeskError::BadAddress(
            "Give only the node's address, without a path".into(),
        ));
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_normalized_or_refused_clearly() {
        assert_eq!(
            normalize_url("10.0.0.5:8080").unwrap(),
            "http://10.0.0.5:8080"
        );
        assert_eq!(
            normalize_url(" https://node.venue.lan/ ").unwrap(),
            "https://node.venue.lan"
        );
        for bad in [
            "",
            "ftp://x",
            "http://",
            "http://x/api",
            "http://x/?a=1",
            "http://[::1",
        ] {
            assert!(normalize_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn settings_round_trip_and_a_damaged_file_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let file = SettingsFile::in_dir(dir.path());
        assert_eq!(file.load().unwrap(), Settings::default());
        let settings = Settings {
            connection: Some(Connection::Remote {
                url: "http://10.0.0.5:8080".into(),
            }),
            door_gate: None,
        };
        file.save(&settings).unwrap();
        assert_eq!(file.load().unwrap(), settings);
        // The gate is remembered beside the node, and changing one keeps the other.
        let gated = file.update(|s| s.door_gate = Some("North".into())).unwrap();
        assert_eq!(gated.connection, settings.connection);
        assert_eq!(file.load().unwrap().door_gate.as_deref(), Some("North"));
        // A file from before door mode reads as before.
        std::fs::write(
            dir.path().join("box-office.json"),
            br#"{"connection":{"mode":"standalone"}}"#,
        )
        .unwrap();
        assert_eq!(
            file.load().unwrap().connection,
            Some(Connection::Standalone)
        );
        std::fs::write(dir.path().join("box-office.json"), b"{not json").unwrap();
        assert!(matches!(file.load(), Err(DeskError::Local(m)) if m.contains("damaged")));
    }
}
