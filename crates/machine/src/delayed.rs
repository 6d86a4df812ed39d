//! Guests that start later (`--start-at N=SECONDS`, a scenario's `start_at`): until their
//! time comes they are in no slot, have no PID and no other guest can see them. The kernel
//! keeps their start times with its deadlines (`Kernel::schedule_start`), so a world whose
//! threads all wait jumps its clock to the next start; the run loop starts them here.

use crate::{GuestId, GuestSpec, StartError, World};
use std::time::Duration;

/// A host-side action run when the world's clock reaches its time ([`World::add_timed`]):
/// timed input for a guest, a screenshot.
pub type TimedAction = Box<dyn FnOnce(&mut World)>;

/// Start tokens with this bit name a timed action, not a guest.
const TIMED: u64 = 1 << 63;

impl World {
    /// Start a guest when the world's clock (virtual, or real with `realtime`) reaches `at`.
    /// The image is checked now, so a bad one is an error here rather than later. Returns the
    /// guest's number (its position among the guests given to this world, 0-based; see
    /// [`World::guest`]).
    pub fn add_guest_at(&mut self, spec: GuestSpec, at: Duration) -> Result<usize, StartError> {
        ipcemu_loader::load_named(&spec.path, &spec.bytes).map_err(|e| StartError {
            path: spec.path.clone(),
            msg: e.to_string(),
        })?;
        let n = self.guests.len();
        self.guests.push(None);
        self.delayed.push(Some(spec));
        let at_ns = crate::limits::nanos(at);
        self.shared
            .borrow_mut()
            .kernel
            .schedule_start(at_ns, n as u64);
        Ok(n)
    }

    /// Run `action` when the world's clock reaches `at` (before any thread runs at that
    /// time). The kernel treats it like a program's start: a deadline the clock jumps to when
    /// every thread waits, so a guest waiting for input that is still to come is not in a
    /// deadlock. Actions due at the same time run in the order they were added.
    pub fn add_timed(&mut self, at: Duration, action: TimedAction) {
        let n = self.timed.len() as u64;
        self.timed.push(Some(action));
        let at_ns = crate::limits::nanos(at);
        self.shared
            .borrow_mut()
            .kernel
            .schedule_start(at_ns, TIMED | n);
    }

    /// Guest number `n` (in the order guests were given), once it has started.
    pub fn guest(&self, n: usize) -> Option<GuestId> {
        self.guests.get(n).copied().flatten()
    }

    /// Guests given to the world, started or not.
    pub fn guest_count(&self) -> usize {
        self.guests.len()
    }

    /// Start the guests whose time has come. A guest that cannot start (no free slot) is
    /// reported and left out; the others go on.
    pub(crate) fn serve_delayed(&mut self) {
        let due = self.shared.borrow_mut().kernel.take_due_starts();
        for token in due {
            if token & TIMED != 0 {
                let action = self
                    .timed
                    .get_mut((token & !TIMED) as usize)
                    .and_then(Option::take);
                if let Some(action) = action {
                    action(self);
                }
                continue;
            }
            let n = token as usize;
            let Some(spec) = self.delayed.get_mut(n).and_then(Option::take) else {
                continue;
            };
            match self.add_guest_with(&spec, None) {
                Ok(id) => {
                    let now = self.shared.borrow().kernel.now_ns();
                    tracing::info!(
                        path = %spec.path,
                        pid = id.pid.0,
                        at_ns = now,
                        "delayed guest started"
                    );
                    self.guests[n] = Some(id);
                }
                Err(e) => tracing::error!("guest {} did not start at its time: {e}", n + 1),
            }
        }
    }
}
