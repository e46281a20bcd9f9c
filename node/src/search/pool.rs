//! The threads queries run on: as many as the machine has cores, below the writer and the HTTP
//! workers in CPU priority (nice 19, the lowest), so that a burst of searches slows searches, not sales.
//!
//! The pool ends when `stop` is called (the node's shutdown): the queue closes, the threads finish
//! the query they run and are joined; a query asked for after that is answered `None`.

use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};

use tokio::sync::oneshot;
use tracing::warn;

use crate::priority::lower_this_thread;

/// How far below normal the query threads run (0 is normal, 19 the lowest).
const NICENESS: i32 = 19;

type Job = Box<dyn FnOnce() + Send>;

pub(super) struct Pool {
    jobs: Mutex<Option<Sender<Job>>>,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

impl Pool {
    pub(super) fn start() -> std::io::Result<Pool> {
        let (jobs, queue) = channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        let count = thread::available_parallelism().map_or(2, |n| n.get());
        let threads = (0..count)
            .map(|n| {
                let queue = queue.clone();
                thread::Builder::new()
                    .name(format!("tix-query-{n}"))
                    .spawn(move || work(&queue))
            })
            .collect::<std::io::Result<Vec<_>>>()?;
        Ok(Pool {
            jobs: Mutex::new(Some(jobs)),
            threads: Mutex::new(threads),
        })
    }

    /// Runs `job` on a query thread; `None` once the pool is stopped.
    pub(super) async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce() -> T + Send + 'static,
    ) -> Option<T> {
        let (answer, answered) = oneshot::channel();
        let queued = self
            .jobs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .map(|jobs| {
                jobs.send(Box::new(move || {
                    let _ = answer.send(job());
                }))
            });
        match queued {
            Some(Ok(())) => answered.await.ok(),
            _ => None,
        }
    }

    /// Closes the queue and waits for the threads.
    pub(super) fn stop(&self) {
        self.jobs.lock().unwrap_or_else(|e| e.into_inner()).take();
        let threads = std::mem::take(&mut *self.threads.lock().unwrap_or_else(|e| e.into_inner()));
        for thread in threads {
            if thread.join().is_err() {
                warn!("a query thread panicked");
            }
        }
    }
}

/// One query thread: lowers its priority, then runs jobs until the queue closes.
fn work(queue: &Mutex<Receiver<Job>>) {
    lower_this_thread(NICENESS, "query");
    loop {
        let job = queue.lock().unwrap_or_else(|e| e.into_inner()).recv();
        match job {
            Ok(job) => job(),
            Err(_) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn jobs_run_until_the_pool_stops() {
        let pool = Pool::start().unwrap();
        assert_eq!(pool.run(|| 6 * 7).await, Some(42));
        pool.stop();
        assert_eq!(pool.run(|| 1).await, None);
    }
}
