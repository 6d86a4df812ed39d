//! Wall-clock limit: a helper thread that stops whatever instance is running once the
//! deadline passes (`uc_emu_stop` is the one Unicorn call meant for other threads).
//! Armed only when a wall timeout is asked for, so the default run stays deterministic.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use unicorn_engine::{uc_emu_stop, uc_engine};

struct Inner {
    /// The running instance's handle as an address (0 = none). Held locked while stopping,
    /// so an instance cannot be closed under the watchdog's feet.
    running: Mutex<usize>,
    fired: AtomicBool,
    done: AtomicBool,
}

/// The watchdog thread and its shared state.
pub struct Watchdog {
    inner: Arc<Inner>,
    thread: Option<JoinHandle<()>>,
}

impl Watchdog {
    /// Start a watchdog that fires `limit` from now.
    pub fn start(limit: Duration) -> Self {
        let inner = Arc::new(Inner {
            running: Mutex::new(0),
            fired: AtomicBool::new(false),
            done: AtomicBool::new(false),
        });
        let i = Arc::clone(&inner);
        let deadline = Instant::now() + limit;
        let thread = std::thread::spawn(move || {
            while !i.done.load(Ordering::Acquire) {
                let now = Instant::now();
                if now < deadline {
                    std::thread::sleep((deadline - now).min(Duration::from_millis(10)));
                    continue;
                }
                i.fired.store(true, Ordering::Release);
                if let Ok(g) = i.running.lock() {
                    if *g != 0 {
                        // SAFETY: the handle is alive while it is registered (see `leave`).
                        unsafe { uc_emu_stop(*g as *mut uc_engine) };
                    }
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        });
        Watchdog {
            inner,
            thread: Some(thread),
        }
    }

    /// Whether the deadline has passed.
    pub fn fired(&self) -> bool {
        self.inner.fired.load(Ordering::Acquire)
    }

    /// An instance is about to run.
    pub fn enter(&self, uc: *mut uc_engine) {
        if let Ok(mut g) = self.inner.running.lock() {
            *g = uc as usize;
        }
    }

    /// The instance stopped; it may be closed after this returns.
    pub fn leave(&self) {
        if let Ok(mut g) = self.inner.running.lock() {
            *g = 0;
        }
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.inner.done.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
