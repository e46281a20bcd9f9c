//! The house: the one harness every Tix test suite (and the load generator) runs its processes
//! with. Real `tix-node`, `tix-hub`, Mosquitto, NATS, PostgreSQL, Xvfb and WebDriver processes on
//! free loopback ports, each in its own process group and killed with everything it started when
//! dropped, their output kept to explain a failure.
//!
//! Two kinds of calls: `spawn_*` answer a `Result` (for the load generator, which reports and
//! goes on), `start_*` panic with the process's log (for tests). The WebDriver sessions are behind
//! the `webdriver` feature, the node's JSON client behind `client`. A test mail relay (`smtp`)
//! runs inside the test process.

pub mod binaries;
pub mod broker;
#[cfg(feature = "client")]
pub mod client;
pub mod display;
pub mod hub;
pub mod log;
pub mod nats;
pub mod node;
pub mod ports;
pub mod postgres;
pub mod process;
pub mod served;
pub mod smtp;
pub mod wait;
#[cfg(feature = "webdriver")]
pub mod webdriver;

pub use binaries::{system_tool, workspace_binary, workspace_dir};
pub use broker::Broker;
pub use display::Display;
pub use hub::{spawn_hub, start_hub};
pub use nats::NatsCluster;
pub use node::{NodeOptions, spawn_node, start_node};
pub use ports::{free_port, listening, wait_for_port};
pub use postgres::Postgres;
pub use process::{Process, cpu_ticks, cpu_time};
pub use served::Served;
pub use smtp::SmtpServer;
pub use wait::{eventually, within};
