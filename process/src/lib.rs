//! What `tix-node` and `tix-hub` do alike in `main`: set up logging (text or JSON lines, filtered
//! by `RUST_LOG`) and wait for SIGTERM or Ctrl-C to shut down.

mod logging;
mod shutdown;

pub use logging::init_logging;
pub use shutdown::shutdown_signal;
