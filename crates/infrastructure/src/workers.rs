//! The threads that run database work: one per pooled connection, fed from one queue.
//!
//! Each repository call is a job that blocks on PostgreSQL, so it cannot run on an async worker.
//! Handing each job to tokio's blocking pool costs a thread wake-up per call on top of the database
//! round trip (the async side waits for a permit, then wakes a parked thread), and on a small
//! machine those context switches cost more than the query. Here a thread that finishes a job takes
//! the next one from the queue without sleeping when there is one: under load, a call costs its
//! round trip and the wake-up of the caller, nothing more.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::thread;

use crossbeam_channel::{Receiver, Sender};

/// A unit of work for a database thread.
pub(crate) type Job = Box<dyn FnOnce() + Send>;

/// The queue of the database threads. The threads end when the last clone is dropped.
#[derive(Debug, Clone)]
pub(crate) struct Workers {
    jobs: Sender<Job>,
}

impl Workers {
    /// Starts `count` threads (at least one).
    pub fn spawn(count: usize) -> Self {
        let (jobs, queue) = crossbeam_channel::unbounded::<Job>();
        for _ in 0..count.max(1) {
            let queue = queue.clone();
            // Failing to start a thread leaves the others to do the work; with none, `run`
            // reports every job as lost.
            let started = thread::Builder::new()
                .name("gatehouse-db".into())
                .spawn(move || work(&queue));
            if let Err(error) = started {
                tracing::error!(%error, "could not start a database thread");
            }
        }
        Self { jobs }
    }

    /// Queues `job`; false when no thread is left to run it.
    pub fn run(&self, job: Job) -> bool {
        self.jobs.send(job).is_ok()
    }
}

/// Runs jobs until the queue is closed. A job that panics loses its own answer (its caller sees
/// the dropped reply), not the thread.
fn work(queue: &Receiver<Job>) {
    while let Ok(job) = queue.recv() {
        let _ = catch_unwind(AssertUnwindSafe(job));
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_job_that_panics_leaves_its_thread_to_the_next_job() {
        let workers = Workers::spawn(1);
        let (done, finished) = mpsc::channel();
        assert!(workers.run(Box::new(|| panic!("boom"))));
        assert!(workers.run(Box::new(move || {
            done.send(thread::current().name().map(String::from))
                .unwrap();
        })));
        let ran_on = finished.recv_timeout(Duration::from_secs(5)).unwrap();
        assert_eq!(ran_on.as_deref(), Some("gatehouse-db"));
    }

    #[test]
    fn jobs_queued_beyond_the_threads_all_run() {
        let workers = Workers::spawn(2);
        let (done, finished) = mpsc::channel();
        for job in 0..20 {
            let done = done.clone();
            assert!(workers.run(Box::new(move || done.send(job).unwrap())));
        }
        let mut ran: Vec<i32> = (0..20)
            .map(|_| finished.recv_timeout(Duration::from_secs(5)).unwrap())
            .collect();
        ran.sort_unstable();
        assert_eq!(ran, (0..20).collect::<Vec<_>>());
    }
}
