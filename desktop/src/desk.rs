//! `Desk`: the app's state: its settings, the node it talks to (a client, and the embedded node
//! when standalone), how to switch between them, and the door scanner's own files.

use std::path::PathBuf;
use std::sync::Arc;

use serde::Serialize;
use tokio::sync::Mutex;

use crate::door::Door;
use crate::error::DeskError;
use crate::node_client::NodeClient;
use crate::settings::{Connection, SettingsFile};
#[cfg(feature = "standalone")]
use crate::standalone::Standalone;

pub struct Desk {
    settings: SettingsFile,
    /// Where a standalone node keeps its stores.
    standalone_dir: PathBuf,
    link: Mutex<Link>,
    door: Door,
}

#[derive(Default)]
struct Link {
    connection: Option<Connection>,
    client: Option<Arc<NodeClient>>,
    #[cfg(feature = "standalone")]
    standalone: Option<Standalone>,
    /// The signed-in staff member's email.
    staff: Option<String>,
}

/// What the window needs to know to choose its screen.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionInfo {
    pub connection: Option<Connection>,
    pub url: Option<String>,
    pub staff: Option<String>,
    /// Whether this build can run a node inside itself.
    pub standalone_available: bool,
}

impl Desk {
    /// The settings in `config_dir`; a standalone node's stores in `data_dir/node`, and the
    /// door scanner's copies and queue in `data_dir/door`.
    pub fn new(config_dir: PathBuf, data_dir: PathBuf) -> Desk {
        Desk {
            settings: SettingsFile::in_dir(&config_dir),
            standalone_dir: data_dir.join("node"),
            link: Mutex::new(Link::default()),
            door: Door::new(data_dir.join("door")),
        }
    }

    pub fn door(&self) -> &Door {
        &self.door
    }

    pub fn settings(&self) -> &SettingsFile {
        &self.settings
    }

    /// The current connection, establishing the remembered one on first use (starting the
    /// embedded node if standalone).
    pub async fn info(&self) -> Result<ConnectionInfo, DeskError> {
        let mut link = self.link.lock().await;
        if link.client.is_none()
            && let Some(connection) = self.settings.load()?.connection
        {
            // A remembered LAN node may be down right now: connect anyway, and let the status
            // bar say so.
            self.establish(&mut link, connection, false).await?;
        }
        Ok(Self::describe(&link))
    }

    /// Connects to a node on the LAN, or to one inside the app, and remembers the choice. A LAN
    /// node must answer as a Tix node before it is remembered.
    pub async fn connect(&self, connection: Connection) -> Result<ConnectionInfo, DeskError> {
        let mut link = self.link.lock().await;
        self.disconnect(&mut link).await;
        self.establish(&mut link, connection.clone(), true).await?;
        self.settings
            .update(|settings| settings.connection = Some(connection))?;
        Ok(Self::describe(&link))
    }

    /// Forgets the node (the window then asks again).
    pub async fn forget(&self) -> Result<ConnectionInfo, DeskError> {
        let mut link = self.link.lock().await;
        self.disconnect(&mut link).await;
        self.settings
            .update(|settings| settings.connection = None)?;
        Ok(Self::describe(&link))
    }

    /// The client of the connected node.
    pub async fn client(&self) -> Result<Arc<NodeClient>, DeskError> {
        if let Some(client) = &self.link.lock().await.client {
            return Ok(client.clone());
        }
        self.info().await?;
        self.link
            .lock()
            .await
            .client
            .clone()
            .ok_or(DeskError::NotConnected)
    }

    pub async fn set_staff(&self, staff: Option<String>) {
        self.link.lock().await.staff = staff;
    }

    pub async fn is_standalone(&self) -> bool {
        matches!(
            self.link.lock().await.connection,
            Some(Connection::Standalone)
        )
    }

    /// Stops the embedded node, if any (at exit).
    pub async fn shut_down(&self) {
        let mut link = self.link.lock().await;
        self.disconnect(&mut link).await;
    }

    async fn establish(
        &self,
        link: &mut Link,
        connection: Connection,
        verify: bool,
    ) -> Result<(), DeskError> {
        let client = match &connection {
            Connection::Remote { url } if !verify => NodeClient::new(url)?,
            Connection::Remote { url } => {
                let client = NodeClient::new(url)?;
                let health = client
                    .health()
                    .await
                    .ok_or_else(|| DeskError::Unreachable(url.clone()))?;
                if health.get("payments").is_none() || health.get("events").is_none() {
                    return Err(DeskError::BadAddress(format!(
                        "{url} answers, but not as a Tix node"
                    )));
                }
                client
            }
            #[cfg(feature = "standalone")]
            Connection::Standalone => {
                let node = Standalone::start(&self.standalone_dir).await?;
                let client = NodeClient::new(node.url())?;
                link.standalone = Some(node);
                client
            }
            #[cfg(not(feature = "standalone"))]
            Connection::Standalone => {
                return Err(DeskError::Local(format!(
                    "this build of the box office has no node inside it (data dir {} unused); \
                     connect to the venue's node",
                    self.standalone_dir.display()
                )));
            }
        };
        link.client = Some(Arc::new(client));
        link.connection = Some(connection);
        Ok(())
    }

    async fn disconnect(&self, link: &mut Link) {
        link.client = None;
        link.connection = None;
        link.staff = None;
        #[cfg(feature = "standalone")]
        if let Some(node) = link.standalone.take()
            && let Err(e) = node.stop().await
        {
            tracing::warn!(error = %e, "stopping the standalone node");
        }
    }

    fn describe(link: &Link) -> ConnectionInfo {
        ConnectionInfo {
            connection: link.connection.clone(),
            url: link.client.as_ref().map(|c| c.base().to_owned()),
            staff: link.staff.clone(),
            standalone_available: cfg!(feature = "standalone"),
        }
    }
}
