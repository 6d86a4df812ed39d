//! What a waiting thread waits for, defined by its personality.
//!
//! The core keeps one [`Blocker`] per waiting thread and knows nothing of its contents: it asks
//! it how to describe itself (deadlock reports, traces) and what the thread gets when its
//! deadline passes. Whoever wakes a thread hands it a [`Wake`]: a value for eax, or a
//! [`Completion`] that writes results into the thread's memory and registers *when the thread
//! resumes*, not from inside the waker's call.

use crate::{Cpu, GuestMemory};
use std::any::Any;
use std::fmt::Debug;

/// A personality's description of one wait (`Any`: the kernel puts a thread's next wait in the
/// box of its last one when the types agree, [`crate::Kernel::block_current_on`]).
pub trait Blocker: Debug + Any {
    /// Personality name (for trace records).
    fn personality(&self) -> &'static str;
    /// One word for trace records (`event`, `sleep`, `pcipc_read`, `call`).
    fn what(&self) -> &'static str;
    /// What the thread waits for, as a sentence fragment for deadlock reports
    /// (`waits for an event (function 10/23) with mask 0x7`).
    fn describe(&self) -> String;
    /// What the thread gets when its deadline passes.
    fn on_timeout(&self) -> Wake {
        Wake::Nothing
    }
    /// Whether this wait counts when looking for a deadlock (the host actor's does not).
    fn counts_for_deadlock(&self) -> bool {
        true
    }
    /// Downcast support, so a personality finds its own waiters.
    fn as_any(&self) -> &dyn Any;
}

/// Results written into a resumed thread.
pub trait Completion: Debug {
    /// Write the results (called once, just before the thread runs again).
    fn complete(self: Box<Self>, mem: &mut dyn GuestMemory, cpu: &mut dyn Cpu);
}

/// What a thread gets when it is woken.
#[derive(Debug)]
pub enum Wake {
    /// Registers and memory stay as they are: the thread makes its call again (a restartable
    /// call), or its wait simply ended.
    Nothing,
    /// The call is complete and its results are already in the thread's memory (the
    /// personality wrote them when it woke the thread); nothing is written on resume.
    Done,
    /// eax gets this value.
    Eax(u32),
    /// A personality-defined completion.
    Complete(Box<dyn Completion>),
}

impl Wake {
    /// The eax value, for trace records (-1 when there is none).
    pub fn trace_value(&self) -> i64 {
        match self {
            Wake::Eax(v) => *v as i64,
            _ => -1,
        }
    }

    /// Apply to a resumed thread.
    pub fn apply(self, mem: &mut dyn GuestMemory, cpu: &mut dyn Cpu) {
        match self {
            Wake::Nothing | Wake::Done => {}
            Wake::Eax(v) => cpu.set(crate::Reg::Eax, v),
            Wake::Complete(c) => c.complete(mem, cpu),
        }
    }
}

/// A plain timed sleep (used by several personalities).
#[derive(Debug, Clone)]
pub struct Sleep {
    /// Personality.
    pub personality: &'static str,
    /// Deadlock-report text.
    pub text: &'static str,
}

impl Blocker for Sleep {
    fn personality(&self) -> &'static str {
        self.personality
    }
    fn what(&self) -> &'static str {
        "sleep"
    }
    fn describe(&self) -> String {
        self.text.to_string()
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}
