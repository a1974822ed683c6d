//! Bounded pools for CPU-heavy work (password hashing, searches, Merkle trees, draws, ranking),
//! so that it never runs on the async runtime's worker threads, and so that nobody can queue
//! more of it than the pool can work off.
//!
//! Each running app has one [`CpuPool`] (`App::cpu`, sized by `CPU_THREADS` and
//! `CPU_QUEUE_DEPTH`) and hands it to the domains that run such work. Two ways in:
//!
//! - [`CpuPool::run`], for work a request asked for: refused with [`Overloaded`] (which becomes
//!   `503 overloaded` with `Retry-After`) once the threads are busy and `queue_depth` jobs wait.
//! - [`CpuPool::run_worker`], for the background workers (anchoring, draws, search indexing):
//!   never refused, since a full request queue must not stall a draw or the index; their jobs
//!   count towards the queue, so requests see the real backlog.
//!
//! A job whose caller has gone (the request was cancelled or timed out, dropping the future) is
//! skipped when its turn comes, so a burst of abandoned requests costs no CPU.
//!
//! [`run`] and [`run_background`] use process-wide pools, for the CLI commands and the
//! recommendation training.

use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// The pool's queue is full: answer `503 overloaded` and let the client come back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the CPU pool is overloaded; try again shortly")]
pub struct Overloaded;

impl Overloaded {
    /// What `Retry-After` says: a queue of a few jobs of tens of milliseconds drains within it.
    pub const RETRY_AFTER: Duration = Duration::from_secs(1);
}

/// A pool of threads with a bounded queue. Cheap to clone (one pool behind an `Arc`).
#[derive(Clone)]
pub struct CpuPool {
    pool: Arc<rayon::ThreadPool>,
    counters: Arc<Counters>,
    threads: usize,
    queue_depth: usize,
}

#[derive(Default)]
struct Counters {
    /// Jobs admitted and not yet finished or skipped: running plus waiting.
    in_flight: AtomicUsize,
    refused: AtomicU64,
    skipped: AtomicU64,
}

/// What a pool is doing, for metrics and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stats {
    pub threads: usize,
    pub queue_depth: usize,
    /// Jobs running or waiting.
    pub in_flight: usize,
    /// Request jobs refused because the queue was full, since the pool started.
    pub refused: u64,
    /// Jobs skipped because their caller had gone, since the pool started.
    pub skipped: u64,
}

/// The default number of threads: one per core.
pub fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

/// The default queue depth: four jobs waiting per thread.
pub fn default_queue_depth(threads: usize) -> usize {
    4 * threads
}

impl CpuPool {
    /// A pool of `threads` threads (at least one) on which at most `queue_depth` request jobs
    /// wait beyond those running.
    pub fn new(name: &str, threads: usize, queue_depth: usize) -> CpuPool {
        let threads = threads.max(1);
        let prefix = name.to_owned();
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(move |i| format!("{prefix}-{i}"))
            .build()
            .expect("the CPU pool starts");
        CpuPool {
            pool: Arc::new(pool),
            counters: Arc::default(),
            threads,
            queue_depth,
        }
    }

    pub fn stats(&self) -> Stats {
        Stats {
            threads: self.threads,
            queue_depth: self.queue_depth,
            in_flight: self.counters.in_flight.load(Ordering::Acquire),
            refused: self.counters.refused.load(Ordering::Relaxed),
            skipped: self.counters.skipped.load(Ordering::Relaxed),
        }
    }

    /// Runs request work on the pool and waits for it without blocking the runtime; refused
    /// at once with [`Overloaded`] when every thread is busy and `queue_depth` jobs wait.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, Overloaded> {
        let limit = self.threads + self.queue_depth;
        let admitted =
            self.counters
                .in_flight
                .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                    (n < limit).then_some(n + 1)
                });
        if admitted.is_err() {
            self.counters.refused.fetch_add(1, Ordering::Relaxed);
            return Err(Overloaded);
        }
        Ok(self.spawn(work).await)
    }

    /// Runs a background worker's job: never refused, it waits its turn however long the queue.
    pub async fn run_worker<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> T {
        self.counters.in_flight.fetch_add(1, Ordering::AcqRel);
        self.spawn(work).await
    }

    /// Queues an admitted job (already counted in `in_flight`) and waits for its answer.
    async fn spawn<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> T {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let counters = self.counters.clone();
        self.pool.spawn(move || {
            if tx.is_closed() {
                // Nobody waits for the answer any more: do not spend the CPU.
                counters.skipped.fetch_add(1, Ordering::Relaxed);
                counters.in_flight.fetch_sub(1, Ordering::AcqRel);
                return;
            }
            let outcome = catch_unwind(AssertUnwindSafe(work));
            counters.in_flight.fetch_sub(1, Ordering::AcqRel);
            let _ = tx.send(outcome);
        });
        // A job is skipped only when this receiver is gone, so whoever awaits gets an answer.
        // A panic in `work` resumes in the calling task (a request's panic becomes its 500),
        // never in the pool, where rayon would abort the process.
        rx.await
            .expect("the CPU pool answers every job whose caller waits")
            .unwrap_or_else(|panic| resume_unwind(panic))
    }
}

static GLOBAL: OnceLock<CpuPool> = OnceLock::new();

/// The process-wide pool of the CLI commands (seeding, evaluation), one thread per core.
pub fn global() -> &'static CpuPool {
    GLOBAL.get_or_init(|| {
        let threads = default_threads();
        CpuPool::new("truffle-cpu", threads, default_queue_depth(threads))
    })
}

/// Runs `work` on the process-wide pool, waiting its turn (CLI commands, demo seeding).
pub async fn run<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
    global().run_worker(work).await
}

static BACKGROUND: OnceLock<rayon::ThreadPool> = OnceLock::new();

/// Half the cores (at least one), for long work that must not starve requests.
fn background_pool() -> &'static rayon::ThreadPool {
    BACKGROUND.get_or_init(|| {
        let threads = std::thread::available_parallelism().map_or(1, |n| (n.get() / 2).max(1));
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("truffle-background-{i}"))
            .build()
            .expect("the background pool starts")
    })
}

/// Runs long CPU work (training the recommendation model: seconds to minutes) on a pool of its
/// own with half the cores, so that password hashing, searches and other requests on the app's
/// pool never queue behind it. Rayon parallelism inside `work` stays on this pool.
pub async fn run_background<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = tokio::sync::oneshot::channel();
    background_pool().spawn(move || {
        let _ = tx.send(catch_unwind(AssertUnwindSafe(work)));
    });
    rx.await
        .expect("the background pool answers every task")
        .unwrap_or_else(|panic| resume_unwind(panic))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Occupies `n` places of the pool with worker jobs that wait for the returned sender.
    fn block(pool: &CpuPool, n: usize) -> std::sync::mpsc::Sender<()> {
        let (release, wait) = std::sync::mpsc::channel::<()>();
        let wait = Arc::new(std::sync::Mutex::new(wait));
        for _ in 0..n {
            let pool = pool.clone();
            let wait = wait.clone();
            tokio::spawn(async move {
                pool.run_worker(move || {
                    let _ = wait.lock().unwrap().recv();
                })
                .await
            });
        }
        release
    }

    async fn until(pool: &CpuPool, what: impl Fn(Stats) -> bool) {
        for _ in 0..500 {
            if what(pool.stats()) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("the pool never got there: {:?}", pool.stats());
    }

    #[tokio::test]
    async fn a_panic_reaches_the_caller_and_the_pools_keep_working() {
        let pool = CpuPool::new("test-cpu", 1, 1);
        for background in [false, true] {
            let p = pool.clone();
            let failed = tokio::spawn(async move {
                let work = || -> u32 { panic!("boom") };
                if background {
                    run_background(work).await
                } else {
                    p.run(work).await.unwrap()
                }
            })
            .await;
            assert!(failed.unwrap_err().is_panic());
            assert_eq!(pool.run(|| 2 + 2).await, Ok(4));
            assert_eq!(run_background(|| 3 + 3).await, 6);
            assert_eq!(pool.stats().in_flight, 0, "a panicked job leaves its place");
        }
    }

    #[tokio::test]
    async fn a_full_queue_refuses_request_work_but_not_worker_jobs() {
        let pool = CpuPool::new("test-cpu", 1, 2);
        // One running, two waiting: the queue is full.
        let release = block(&pool, 3);
        until(&pool, |s| s.in_flight == 3).await;
        assert_eq!(pool.run(|| 1).await, Err(Overloaded));
        assert_eq!(pool.stats().refused, 1);
        // A worker job still gets in line, and runs once the queue moves.
        let worker = tokio::spawn({
            let pool = pool.clone();
            async move { pool.run_worker(|| 7).await }
        });
        until(&pool, |s| s.in_flight == 4).await;
        for _ in 0..3 {
            release.send(()).unwrap();
        }
        assert_eq!(worker.await.unwrap(), 7);
        until(&pool, |s| s.in_flight == 0).await;
        assert_eq!(pool.run(|| 1).await, Ok(1), "admitted again once drained");
    }

    #[tokio::test]
    async fn work_whose_caller_has_gone_is_skipped() {
        let pool = CpuPool::new("test-cpu", 1, 4);
        let release = block(&pool, 1);
        until(&pool, |s| s.in_flight == 1).await;
        let ran = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = ran.clone();
        // The caller gives up (a request timing out drops its future the same way).
        let gave_up = tokio::time::timeout(
            Duration::from_millis(50),
            pool.run(move || flag.store(true, Ordering::SeqCst)),
        )
        .await;
        assert!(gave_up.is_err(), "the job waited behind the blocker");
        assert_eq!(pool.stats().in_flight, 2, "still queued");
        release.send(()).unwrap();
        until(&pool, |s| s.in_flight == 0).await;
        assert!(!ran.load(Ordering::SeqCst), "the abandoned job never ran");
        assert_eq!(pool.stats().skipped, 1);
    }
}
