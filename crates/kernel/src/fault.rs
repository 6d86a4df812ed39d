//! Typed guest faults: what ended a guest process, as data (reported through `Display`).

use crate::MemFault;
use std::fmt;

/// Kind of a memory access that faulted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// A data read.
    Read,
    /// A data write.
    Write,
    /// An instruction fetch.
    Fetch,
}

impl fmt::Display for Access {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Access::Read => "read",
            Access::Write => "write",
            Access::Fetch => "instruction fetch",
        })
    }
}

/// Why a guest process was ended by the host. Every variant names what the guest did; the
/// machine adds registers and code bytes around it in the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GuestFault {
    /// The CPU touched memory that is not mapped (or not with that access).
    Memory {
        /// The access.
        access: Access,
        /// First address.
        addr: u64,
        /// Bytes.
        size: usize,
        /// The access went to a protected (mapped, but not for this access) page.
        protected: bool,
    },
    /// A pointer handed to a system call is outside the guest's memory.
    BadPointer {
        /// The call and argument (`function 60.2: message to PID 3`).
        what: String,
        /// The failed access.
        fault: MemFault,
    },
    /// An interrupt no personality of this process handles.
    UnhandledInterrupt(u8),
    /// A CPU exception (invalid instruction, divide error, ...).
    CpuException(String),
    /// A system function the personality does not implement (with `--strict`, or where
    /// returning an error is impossible).
    Unsupported {
        /// Personality.
        abi: &'static str,
        /// Function as the personality names it (`68.19`, `INT 21h AH=3Dh`, `KERNEL32.dll!Beep`).
        function: String,
        /// Extra context (eip, arguments).
        detail: String,
    },
    /// The guest asked for something the host refuses (a broken parameter block, ...).
    Refused(String),
    /// Emulation ended for a reason the CPU reported (hlt, execution at address 0, ...).
    Emulation(String),
}

fn interrupt_name(n: u8) -> &'static str {
    match n {
        0 => "divide error (#DE)",
        1 => "debug trap (#DB)",
        3 => "breakpoint (int3)",
        4 => "overflow (into)",
        5 => "bound range exceeded (#BR)",
        6 => "invalid opcode (#UD)",
        8 => "double fault",
        13 => "general protection fault (#GP)",
        14 => "page fault (#PF)",
        _ => "",
    }
}

impl fmt::Display for GuestFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GuestFault::Memory {
                access,
                addr,
                size,
                protected,
            } => {
                let what = match (access, protected) {
                    (Access::Read, false) => "read from unmapped memory",
                    (Access::Write, false) => "write to unmapped memory",
                    (Access::Fetch, false) => "instruction fetch from unmapped memory",
                    (_, true) => "access to protected memory",
                };
                let p = if *protected { " (protected)" } else { "" };
                write!(
                    f,
                    "{what}: {access}{p} of {size} byte(s) at address {addr:#010x}"
                )
            }
            GuestFault::BadPointer { what, fault } => write!(f, "{what}: {fault}"),
            GuestFault::UnhandledInterrupt(n) => {
                let name = interrupt_name(*n);
                if name.is_empty() {
                    write!(
                        f,
                        "unhandled interrupt {n:#04x} (no personality of this process handles this vector)"
                    )
                } else {
                    write!(f, "unhandled interrupt {n:#04x}: {name}")
                }
            }
            GuestFault::CpuException(s) => write!(f, "{s}"),
            GuestFault::Unsupported {
                abi,
                function,
                detail,
            } => {
                write!(f, "unsupported {abi} function {function}")?;
                if !detail.is_empty() {
                    write!(f, " {detail}")?;
                }
                Ok(())
            }
            GuestFault::Refused(s) => write!(f, "{s}"),
            GuestFault::Emulation(s) => write!(f, "{s}"),
        }
    }
}

impl std::error::Error for GuestFault {}

/// A fault with the machine's context: the report users read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaultReport {
    /// What happened.
    pub fault: GuestFault,
    /// `name[pid]` of the faulting thread.
    pub thread: String,
    /// Registers and code bytes, as lines (empty for host-side faults).
    pub context: String,
}

impl fmt::Display for FaultReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ipcemu: guest fault in {}: {}", self.thread, self.fault)?;
        if !self.context.is_empty() {
            write!(f, "\n{}", self.context)?;
        }
        Ok(())
    }
}
