//! A bounded pool for CPU-heavy work (password hashing, later Merkle trees, draws and search),
//! so that it never runs on the async runtime's worker threads.

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
        let _ = tx.send(work());
    });
    rx.await.expect("CPU pool task panicked")
}
