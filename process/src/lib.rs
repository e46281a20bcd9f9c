//! What `tix-node` and `tix-hub` do alike in `main`: set up logging (text or JSON lines, filtered
//! by `RUST_LOG`), wait for SIGTERM or Ctrl-C to shut down, and probe their own health for a
//! container's health check.

mod logging;
mod probe;
mod shutdown;

pub use logging::{LogFormat, init_logging};
pub use probe::{call, probe};
pub use shutdown::shutdown_signal;
