//! A bounded pool for CPU-heavy work (password hashing, later Merkle trees, draws and search),
//! so that it never runs on the async runtime's worker threads.

use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::OnceLock;

static POOL: OnceLock<rayon::ThreadPool> = OnceLock::new();

fn pool() -> &'static rayon::ThreadPool {
    POOL.get_or_init(|| {
        let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("truffle-cpu-{i}"))
            .build()
            .expect("the CPU pool starts")
    })
}

/// Runs `work` on the CPU pool and waits for it without blocking the runtime. Work queues when
/// every pool thread is busy, which bounds the CPU the service spends at once.
pub async fn run<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = tokio::sync::oneshot::channel();
    pool().spawn(move || {
        let _ = tx.send(catch_unwind(AssertUnwindSafe(work)));
    });
    // A panic in `work` resumes in the calling task (a request's panic becomes its 500), never
    // in the pool, where rayon would abort the process.
    rx.await
        .expect("the CPU pool answers every task")
        .unwrap_or_else(|panic| resume_unwind(panic))
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
/// own with half the cores, so that password hashing, searches and other requests on [`run`]'s
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
    #[tokio::test]
    async fn a_panic_reaches_the_caller_and_the_pools_keep_working() {
        for background in [false, true] {
            let failed = tokio::spawn(async move {
                let work = || -> u32 { panic!("boom") };
                if background {
                    super::run_background(work).await
                } else {
                    super::run(work).await
                }
            })
            .await;
            assert!(failed.unwrap_err().is_panic());
            assert_eq!(super::run(|| 2 + 2).await, 4);
            assert_eq!(super::run_background(|| 3 + 3).await, 6);
        }
    }
}
