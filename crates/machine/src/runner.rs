//! Each Unicorn instance runs its `emu_start` on a coroutine stack of its own (crate
//! `corosensei`), so a thread that blocks or yields in a system call can leave its instance
//! *waiting inside the interrupt hook* instead of stopping it. When the run loop schedules
//! that thread again it resumes the coroutine: the hook returns and the guest goes on in the
//! same `emu_start`. A process switch then costs two stack switches instead of Unicorn's
//! `emu_stop` + `emu_start` (bare Unicorn, trap included: 80–94 ns against 145–195 ns here;
//! `docs/performance.md`).
//!
//! A machine waiting in its hook is *parked* (the hook stops the instance and returns, so
//! `emu_start` ends) before anything that needs a stopped instance: loading another thread's
//! registers, single-stepping, debugging, closing the instance.

use std::cell::Cell;
use std::rc::Rc;

use corosensei::stack::DefaultStack;
use corosensei::{Coroutine, CoroutineResult, Yielder};
use unicorn_engine::unicorn_const::uc_error;
use unicorn_engine::Unicorn;

/// Stack of each instance's coroutine: virtual size (pages are used as touched). Unicorn's
/// translator and the personalities' system calls run on it.
const STACK: usize = 2 << 20;

/// What the run loop tells a coroutine.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Resume {
    /// Start `emu_start` at `pc` (`count`: instructions, 0 = no limit).
    Start { pc: u64, count: usize },
    /// The thread waiting in the hook goes on (its wake results are written).
    Go,
    /// Leave the hook and stop the instance (`emu_start` returns).
    Park,
    /// End the coroutine (the instance is closed next).
    Quit,
}

/// What a coroutine gives back: `None` = it waits in its interrupt hook; `Some(r)` =
/// `emu_start` returned `r`.
type Back = Option<Result<(), uc_error>>;

/// The hook's way out: the yielder of the coroutine now running this instance's
/// `emu_start`, or null when none does.
pub(crate) type YielderCell = Rc<Cell<*const Yielder<Resume, Back>>>;

/// The coroutine of one Unicorn instance.
pub(crate) struct Runner {
    co: Option<Coroutine<Resume, Back, (), DefaultStack>>,
    yielder: YielderCell,
    in_hook: bool,
}

impl Runner {
    pub(crate) fn new() -> Self {
        Runner {
            co: None,
            yielder: Rc::new(Cell::new(std::ptr::null())),
            in_hook: false,
        }
    }

    /// For the instance's interrupt hook.
    pub(crate) fn cell(&self) -> YielderCell {
        Rc::clone(&self.yielder)
    }

    /// Whether the instance waits in its interrupt hook (the loaded thread blocked there).
    pub(crate) fn in_hook(&self) -> bool {
        self.in_hook
    }

    /// Run the instance: let the thread waiting in its hook go on, or start `emu_start` at
    /// `pc`. Returns what `emu_start` returned, or `Ok` when the hook suspended again.
    pub(crate) fn run(
        &mut self,
        uc: &Unicorn<'static, ()>,
        pc: u64,
        count: usize,
    ) -> Result<(), uc_error> {
        let input = if self.in_hook {
            Resume::Go
        } else {
            Resume::Start { pc, count }
        };
        let cell = &self.yielder;
        let co = match &mut self.co {
            Some(co) => co,
            none => {
                let stack = DefaultStack::new(STACK).map_err(|_| uc_error::NOMEM)?;
                none.insert(Self::coroutine(stack, uc.clone(), Rc::clone(cell)))
            }
        };
        match co.resume(input) {
            CoroutineResult::Yield(None) => {
                self.in_hook = true;
                Ok(())
            }
            CoroutineResult::Yield(Some(r)) => {
                self.in_hook = false;
                r
            }
            CoroutineResult::Return(()) => {
                self.in_hook = false;
                self.co = None;
                Ok(())
            }
        }
    }

    /// If the instance waits in its hook: the hook stops it and returns (no guest
    /// instruction runs), and `emu_start` ends.
    pub(crate) fn park(&mut self) {
        if !self.in_hook {
            return;
        }
        self.in_hook = false;
        if let Some(co) = &mut self.co {
            if let CoroutineResult::Yield(None) = co.resume(Resume::Park) {
                // Cannot happen: a parked hook returns at once. Keep the state honest.
                self.in_hook = true;
            }
        }
    }

    fn coroutine(
        stack: DefaultStack,
        mut uc: Unicorn<'static, ()>,
        cell: YielderCell,
    ) -> Coroutine<Resume, Back, (), DefaultStack> {
        Coroutine::with_stack(stack, move |y: &Yielder<Resume, Back>, first: Resume| {
            let mut input = first;
            loop {
                input = match input {
                    Resume::Start { pc, count } => {
                        cell.set(y as *const _);
                        let r = uc.emu_start(pc, 0, 0, count);
                        cell.set(std::ptr::null());
                        y.suspend(Some(r))
                    }
                    Resume::Quit => return,
                    // Nothing waits in a hook: nothing to go on with.
                    Resume::Go | Resume::Park => y.suspend(Some(Ok(()))),
                }
            }
        })
    }
}

impl Drop for Runner {
    fn drop(&mut self) {
        // Never unwind a coroutine whose stack holds Unicorn's C frames: park it, then let
        // its body return.
        self.park();
        if let Some(mut co) = self.co.take() {
            if co.started() && !co.done() {
                let _ = co.resume(Resume::Quit);
            }
        }
    }
}

/// Called by the interrupt hook when its thread blocks or yields: wait in the hook until the
/// run loop resumes this instance. `Some(true)`: the thread goes on (the hook just returns);
/// `Some(false)`: parked or closing, the instance must stop (the hook calls `emu_stop`); `None`:
/// no coroutine runs this instance, so it cannot wait (the hook calls `emu_stop`).
pub(crate) fn wait_in_hook(cell: &YielderCell) -> Option<bool> {
    let y = cell.get();
    if y.is_null() {
        return None;
    }
    // SAFETY: the cell holds the yielder of the coroutine whose `emu_start` is running this
    // hook (set before `emu_start`, cleared after it); the coroutine, and so its yielder,
    // lives at least until `emu_start` returns.
    let y = unsafe { &*y };
    Some(matches!(y.suspend(None), Resume::Go))
}
