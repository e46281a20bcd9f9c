//! The hub's configuration: command-line flags, each also read from a `TIX_HUB_*` variable.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Parser;
use tix_sync::broker::BrokerUrl;

#[derive(Debug, Clone, Parser)]
#[command(
    name = "tix-hub",
    version,
    about = "Tix hub: every venue's events, applied once, for the chain's operators"
)]
pub struct Config {
    /// Address to serve the operators' HTTP API on.
    #[arg(long, env = "TIX_HUB_LISTEN", default_value = "127.0.0.1:8090")]
    pub listen: SocketAddr,

    /// The SQLite database file (created if missing; WAL files live beside it).
    #[arg(long, env = "TIX_HUB_DB", default_value = "./hub.sqlite3")]
    pub db: PathBuf,

    /// The MQTT broker the venues publish to, as mqtt://USER:PASS@HOST:PORT.
    #[arg(
        long,
        env = "TIX_HUB_MQTT_URL",
        default_value = "mqtt://127.0.0.1:1883",
        hide_env_values = true
    )]
    pub mqtt_url: BrokerUrl,

    /// MQTT client id: fixed, so the broker keeps the hub's session while it is away.
    #[arg(long, env = "TIX_HUB_CLIENT_ID", default_value = "tix-hub")]
    pub client_id: String,

    /// Bearer token for the HTTP API; generated at first start and kept (0600) beside the
    /// database when not given.
    #[arg(long, env = "TIX_HUB_API_TOKEN", hide_env_values = true)]
    pub api_token: Option<String>,

    /// Log format: `text` or `json`.
    #[arg(long, env = "TIX_HUB_LOG_FORMAT", default_value = "text")]
    pub log_format: String,
}
