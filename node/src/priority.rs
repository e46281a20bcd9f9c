//! Background work that must yield the CPU to sales (the writer, the HTTP workers) lowers the
//! priority of its own thread.

use tracing::warn;

/// Sets the calling thread's niceness (0 normal, 19 the lowest); the work goes on at normal
/// priority if the system refuses. `what` names the thread in the warning.
pub(crate) fn lower_this_thread(niceness: i32, what: &str) {
    let thread = rustix::thread::gettid();
    if let Err(e) = rustix::process::setpriority_process(Some(thread), niceness) {
        warn!(error = %e, thread = what, "could not lower a thread's priority");
    }
}
