//! Functions ipcemu does not have: what a program that calls one gets.
//!
//! Without `--strict` the call fails with the value the kernel gives when the function fails
//! (-1 from `undefined_syscall` for most, 0 where the kernel's own failure is 0 and programs
//! test for 0), and the first call of each missing function by each process is named in a
//! warning. With `--strict` the first missing function ends the program with a report naming
//! it. The table of every kernel function and what ipcemu does with it is in
//! `docs/kolibrios.md`.

use crate::{Kolibri, NEG1};
use ipcemu_kernel::{Cpu, GuestFault, GuestMemory, Kernel, Outcome, Reg, ThreadId};

/// Functions whose ebx selects a subfunction (their own dispatch tables in the kernel).
const WITH_SUBFUNCTIONS: &[u32] = &[
    18, 21, 22, 24, 25, 26, 34, 36, 37, 39, 42, 46, 48, 49, 50, 51, 54, 55, 57, 60, 61, 62, 63, 64,
    66, 68, 69, 71, 72, 74, 75, 76, 77,
];

/// How a function is named in warnings and reports: `68.19`, or `6` for one without
/// subfunctions.
pub fn function_name(f: u32, sub: u32) -> String {
    if WITH_SUBFUNCTIONS.contains(&f) {
        format!("{}.{}", f as i32, sub)
    } else {
        format!("{}", f as i32)
    }
}

/// The value the kernel leaves in eax when this function fails or does not exist (what a
/// program tests for); `None`: eax keeps what the program put there.
pub fn failure_value(f: u32, sub: u32) -> Option<u32> {
    match (f, sub) {
        // kernel/trunk/core/memory.inc f68: eax is zeroed before the table jump, so 68.15
        // (`f68.fail`) gives 0; 68.16 `get_service`, 68.18/68.19 `load_library`
        // (core/dll.inc: `xor eax, eax` on every failure), 68.21 `load_pe_driver` and 68.22
        // `shmem_open` (0, error code in edx) give 0 when they fail.
        (68, 15 | 16 | 18 | 19 | 21 | 22) => Some(0),
        // kernel.asm `sys_system`: a subfunction outside its table returns at once.
        (18, s) if s == 0 || s > 25 => None,
        // kernel.asm `sys_msg_board`: neither 1 nor 2 returns at once.
        (63, _) => None,
        // `undefined_syscall`, and the sub-dispatchers' own failure (60, 26, 51, ...).
        _ => Some(NEG1),
    }
}

impl Kolibri {
    /// A function ipcemu does not have. See the module documentation.
    pub(crate) fn missing<M: GuestMemory>(
        &mut self,
        k: &Kernel<M>,
        t: ThreadId,
        cpu: &mut dyn Cpu,
        f: u32,
        sub: u32,
    ) -> Outcome {
        let eip = cpu.get(Reg::Eip);
        let name = function_name(f, sub);
        if self.opts.strict {
            return Outcome::fault(GuestFault::Unsupported {
                abi: "KolibriOS",
                function: name,
                detail: format!("(ebx={sub:#x}) at eip={eip:#010x} (--strict)"),
            });
        }
        let proc = k.threads[t].proc;
        let value = failure_value(f, sub);
        if self.missing_seen.insert((proc, f, sub)) {
            let gets = value.map_or("eax unchanged".to_string(), |v| {
                format!("eax = {}", v as i32)
            });
            tracing::warn!(
                "{} (PID {}) called KolibriOS function {name}, which ipcemu does not have, at \
                 eip {eip:#010x}; it gets {gets}, as from the kernel (further calls are not \
                 reported)",
                k.procs[proc].name,
                k.threads[t].pid,
            );
        }
        if let Some(v) = value {
            cpu.set(Reg::Eax, v);
        }
        Outcome::Continue
    }
}
