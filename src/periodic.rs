//! The loop of a background worker: a pass at once, then one every period, until the service
//! stops. Each worker writes its pass as the body of `while ticks.next().await { … }`.

use std::time::Duration;

use tokio::sync::watch;

/// Paces a worker's passes and ends them when `stop` turns true (or its sender is gone).
pub struct Ticks {
    period: Duration,
    stop: watch::Receiver<bool>,
    started: bool,
}

impl Ticks {
    pub fn new(period: Duration, stop: watch::Receiver<bool>) -> Self {
        Ticks {
            period,
            stop,
            started: false,
        }
    }

    /// True when the next pass is due: at once the first time, then after the period. False
    /// once the service stops, at once rather than at the end of the wait.
    pub async fn next(&mut self) -> bool {
        if std::mem::replace(&mut self.started, true) {
            self.wait(self.period).await
        } else {
            !self.stopped()
        }
    }

    /// Waits `delay` (a worker's own backoff) or until the service stops; true if it goes on.
    pub async fn wait(&mut self, delay: Duration) -> bool {
        if self.stopped() {
            return false;
        }
        tokio::select! {
            _ = tokio::time::sleep(delay) => !self.stopped(),
            // A closed channel (the service dropped its sender) is a stop too.
            changed = self.stop.changed() => changed.is_ok() && !self.stopped(),
        }
    }

    fn stopped(&self) -> bool {
        *self.stop.borrow()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn passes_come_at_once_then_every_period_and_end_on_stop() {
        let (tx, rx) = watch::channel(false);
        let mut ticks = Ticks::new(Duration::from_secs(60), rx);
        let started = tokio::time::Instant::now();
        assert!(ticks.next().await);
        assert_eq!(started.elapsed(), Duration::ZERO);
        assert!(ticks.next().await);
        assert_eq!(started.elapsed(), Duration::from_secs(60));
        let stopper = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(5)).await;
            tx.send(true).unwrap();
        });
        assert!(!ticks.next().await, "a stop ends the wait");
        assert_eq!(started.elapsed(), Duration::from_secs(65));
        stopper.await.unwrap();
        assert!(!ticks.next().await, "and every later one");
    }

    #[tokio::test(start_paused = true)]
    async fn a_dropped_sender_is_a_stop() {
        let (tx, rx) = watch::channel(false);
        let mut ticks = Ticks::new(Duration::from_secs(60), rx);
        assert!(ticks.next().await);
        drop(tx);
        assert!(!ticks.next().await);
    }

    #[tokio::test(start_paused = true)]
    async fn a_service_that_stopped_before_the_first_pass_runs_none() {
        let (tx, rx) = watch::channel(false);
        tx.send(true).unwrap();
        assert!(!Ticks::new(Duration::from_secs(1), rx).next().await);
    }
}
