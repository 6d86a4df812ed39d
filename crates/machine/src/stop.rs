//! Stopping a run from outside: a signal-handling thread, or a writer whose reader went away,
//! asks the world to stop. The run loop sees the request at its next scheduling point; a guest
//! that is running in Unicorn is stopped with `uc_emu_stop`, the one Unicorn call meant for
//! other threads. Its thread stays runnable, so the report still shows it as running.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use unicorn_engine::{uc_emu_stop, uc_engine};

#[derive(Default)]
struct Inner {
    requested: AtomicBool,
    /// A pause was asked for ([`StopHandle::pause`]) and the run loop has not seen it yet.
    paused: AtomicBool,
    /// The running instance's handle as an address (0 = none): set and cleared around every
    /// run without a lock (this is the run loop's hot path).
    running: AtomicUsize,
    /// Held by `stop` while it calls `uc_emu_stop`, and by the run loop before it closes an
    /// instance, so a stop never reaches a closed instance.
    closing: Mutex<()>,
}

/// A handle that stops a [`World`](crate::World)'s run ([`End::Interrupted`](crate::End)).
/// Cheap to clone, `Send` and `Sync`; get it with [`World::stop_handle`](crate::World::stop_handle).
#[derive(Clone, Default)]
pub struct StopHandle {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for StopHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StopHandle")
            .field("requested", &self.requested())
            .finish()
    }
}

impl StopHandle {
    /// Ask the run to stop. Safe from any thread, and from a writer called inside the run.
    /// Unicorn forgets a stop that arrives in the instant before an instance starts, so a
    /// caller on another thread should repeat it until the run has returned (the CLI repeats
    /// it every 20 ms); repeating is harmless.
    pub fn stop(&self) {
        self.inner.requested.store(true, Ordering::SeqCst);
        self.stop_running();
    }

    /// Stop the instance running now, if any (it returns from `emu_start`).
    fn stop_running(&self) {
        if let Ok(_g) = self.inner.closing.lock() {
            let h = self.inner.running.load(Ordering::SeqCst);
            if h != 0 {
                // SAFETY: an instance is only closed after `closing()` was taken, which waits
                // for this call to end; until then the registered handle is alive.
                unsafe { uc_emu_stop(h as *mut uc_engine) };
            }
        }
    }

    /// Pause the run: the thread running now (or the next one to run) stops with
    /// [`StopReason::Paused`](crate::StopReason::Paused) and stays first in line, and
    /// [`World::step`](crate::World::step) returns; the run is not over. Safe from any thread
    /// (a debugger uses it to look at its connection while a guest spins). Like [`stop`]
    /// (`Self::stop`), repeat it until [`pause_pending`](Self::pause_pending) is false.
    pub fn pause(&self) {
        self.inner.paused.store(true, Ordering::SeqCst);
        self.stop_running();
    }

    /// Whether a pause was asked for that the run loop has not acted on yet.
    pub fn pause_pending(&self) -> bool {
        self.inner.paused.load(Ordering::SeqCst)
    }

    /// The run loop acts on a pause (true if one was pending).
    pub(crate) fn take_pause(&self) -> bool {
        self.inner.paused.swap(false, Ordering::SeqCst)
    }

    /// Taken by the run loop before it closes an instance (see `closing` in `Inner`).
    pub(crate) fn closing(&self) -> Option<MutexGuard<'_, ()>> {
        self.inner.closing.lock().ok()
    }

    /// Whether a stop was asked for.
    pub fn requested(&self) -> bool {
        self.inner.requested.load(Ordering::SeqCst)
    }

    /// An instance is about to run.
    pub(crate) fn enter(&self, uc: *mut uc_engine) {
        self.inner.running.store(uc as usize, Ordering::SeqCst);
    }

    /// The instance stopped; it may be closed (after `closing()`).
    pub(crate) fn leave(&self) {
        // Release is enough: a stop that still sees the old handle reaches an instance that
        // is not running (its `uc_emu_stop` is forgotten, and callers repeat it; see `stop`).
        self.inner.running.store(0, Ordering::Release);
    }
}
