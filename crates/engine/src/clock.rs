//! Time, injected.
//!
//! Every timer of an execution goes through a [`Clock`]. [`SystemClock`] is the only code in
//! aslan that reads the wall clock; [`VirtualClock`] jumps straight to the next timer, so a
//! one-hour Wait takes no time while the execution still sees the hour pass.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A source of "now" in epoch milliseconds that can wait until a moment.
pub trait Clock: Send + Sync {
    /// Now, in milliseconds since the Unix epoch.
    fn now(&self) -> i64;
    /// Waits until `at` (returns at once when it is past). A virtual clock jumps there.
    fn sleep_until(&self, at: i64) -> impl std::future::Future<Output = ()> + Send;
    /// True when waiting costs no wall time.
    fn is_virtual(&self) -> bool;
}

/// The wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl SystemClock {
    /// Reads the wall clock.
    pub fn read() -> i64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64)
    }
}

impl Clock for SystemClock {
    fn now(&self) -> i64 {
        SystemClock::read()
    }

    async fn sleep_until(&self, at: i64) {
        let wait = at - SystemClock::read();
        if wait > 0 {
            tokio::time::sleep(Duration::from_millis(wait as u64)).await;
        }
    }

    fn is_virtual(&self) -> bool {
        false
    }
}

/// A clock that only moves when told to, or when something waits on it.
#[derive(Debug, Default)]
pub struct VirtualClock {
    now: AtomicI64,
}

impl VirtualClock {
    /// A virtual clock starting at `start` (epoch milliseconds).
    pub fn new(start: i64) -> Self {
        VirtualClock {
            now: AtomicI64::new(start),
        }
    }

    /// Moves the clock forward to `at` (never backwards).
    pub fn advance_to(&self, at: i64) {
        self.now.fetch_max(at, Ordering::SeqCst);
    }
}

impl Clock for VirtualClock {
    fn now(&self) -> i64 {
        self.now.load(Ordering::SeqCst)
    }

    async fn sleep_until(&self, at: i64) {
        self.advance_to(at);
    }

    fn is_virtual(&self) -> bool {
        true
    }
}
