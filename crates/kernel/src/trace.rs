//! Trace records: every IPC-relevant state change, emitted as a `tracing` event with target
//! [`TARGET`] and structured fields, so any `tracing` subscriber can consume them (crate
//! `ipcemu-trace` turns them into text, JSON Lines and Chrome/Perfetto files).
//!
//! Common fields: `kind`, `t_ns` (guest clock), `step` (system calls so far in the world),
//! `pers` (personality), `pid`, `name`; then kind-specific fields (`peer_pid`, `peer_name`,
//! `len`, `result`, `msg`, `payload`, ...). See `docs/trace-format.md`.
//! Whether anyone listens is decided once when the kernel is created, so a world without a
//! trace subscriber pays one predictable branch per emission point.

use crate::{Flavor, GuestMemory, Kernel, ThreadId};

/// The `tracing` target of trace records.
pub const TARGET: &str = "ipcemu::trace";

/// Personality name of a process flavor.
pub fn flavor_name(f: Flavor) -> &'static str {
    match f {
        Flavor::Kolibri => "kolibri",
        Flavor::Elf => "elf",
        Flavor::Dos => "dos",
        Flavor::Host => "host",
    }
}

/// Is a trace subscriber listening?
pub fn listening() -> bool {
    tracing::enabled!(target: TARGET, tracing::Level::INFO)
}

/// Lower-case hex of at most `max` bytes.
pub fn hex(data: &[u8], max: usize) -> String {
    const D: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(data.len().min(max) * 2);
    for &b in data.iter().take(max) {
        s.push(D[(b >> 4) as usize] as char);
        s.push(D[(b & 15) as usize] as char);
    }
    s
}

/// Payload bytes kept in a record.
pub const PAYLOAD_MAX: usize = 256;

/// Emit one record with the common fields of thread `$t` plus extra fields.
#[macro_export]
#[doc(hidden)]
macro_rules! trace_rec {
    ($k:expr, $t:expr, $kind:expr, $pers:expr $(, $($rest:tt)*)?) => {{
        let th = &$k.threads[$t];
        tracing::event!(
            target: "ipcemu::trace",
            tracing::Level::INFO,
            kind = $kind,
            t_ns = $k.now_ns(),
            step = $k.steps,
            pers = $pers,
            proc = th.proc,
            pid = th.pid,
            name = $k.procs[th.proc].name.as_str(),
            $($($rest)*)?
        );
    }};
}

impl<M: GuestMemory> Kernel<M> {
    /// Personality name of thread `t`'s process.
    pub fn pers_of(&self, t: ThreadId) -> &'static str {
        flavor_name(self.procs[self.threads[t].proc].flavor)
    }

    /// Record a fault or another host-side note about thread `t` (used by the machine).
    pub fn trace_note(&self, t: ThreadId, kind: &str, detail: &str) {
        if self.trace_on {
            trace_rec!(self, t, kind, self.pers_of(t), detail = detail);
        }
    }
}
