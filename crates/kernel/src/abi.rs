//! What a personality sees of the CPU it was trapped from, and what it tells the run loop.
//!
//! The machine implements [`Cpu`] over a Unicorn instance; tests implement it over an array.

/// The i386 general registers a personality may read or write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Reg {
    Eax,
    Ebx,
    Ecx,
    Edx,
    Esi,
    Edi,
    Ebp,
    Esp,
    Eip,
    Eflags,
    Cs,
    Ds,
    Es,
    Ss,
    Fs,
    Gs,
}

/// Register access for the thread that trapped.
pub trait Cpu {
    /// Read a register (segment registers give the selector/segment value).
    fn get(&self, r: Reg) -> u32;
    /// Write a register.
    fn set(&mut self, r: Reg, v: u32);
}

/// What happens to the trapping thread after a system call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Results are in the registers / memory; the thread goes on.
    Continue,
    /// The thread gave up its time slice (still runnable).
    Yield,
    /// The thread now waits in the kernel; the run loop must switch away.
    Block,
    /// The thread (and maybe its process) has ended; the run loop must switch away.
    Exit,
    /// The guest did something that ends its process (boxed: an `Outcome` is returned and
    /// matched on every system call, and the fault is rare; see [`Outcome::fault`]).
    Fault(Box<crate::GuestFault>),
}

impl Outcome {
    /// The outcome of a call that ends the guest's process with `f`.
    pub fn fault(f: crate::GuestFault) -> Self {
        Outcome::Fault(Box::new(f))
    }
}

/// A plain register file for tests and host-side callers.
#[derive(Debug, Default, Clone)]
pub struct RegFile {
    /// eax, ebx, ecx, edx, esi, edi, ebp, esp, eip, eflags, cs, ds, es, ss, fs, gs
    pub r: [u32; 16],
}

impl Cpu for RegFile {
    fn get(&self, r: Reg) -> u32 {
        self.r[r as usize]
    }
    fn set(&mut self, r: Reg, v: u32) {
        self.r[r as usize] = v;
    }
}
