//! # ipcemu-pcipc
//!
//! The PC-IPC personality (a DOS TSR's `INT 60h` API, vector configurable). The guest pushes a
//! DWORD pointer to its parameter block and executes `INT vector`; this crate reads that
//! pointer from the top of the stack (a linear address for 32-bit guests, an offset:segment
//! far pointer at `ss:sp` for real-mode guests), runs the command against the world's one
//! message pool and writes status, error, size, IDs and data back. Registers are not touched.
//! Every decision the TSR's table leaves open is in `docs/pc-ipc.md`.

#![warn(missing_docs)]

mod state;

pub use state::{cmd, err, far_to_linear, PcIpcConfig, PcOutcome, PcState, PcWait};
pub use state::{MSG_OVERHEAD, ST_ENABLED, ST_ERROR, ST_INSTALLED, ST_MESSAGES};

use ipcemu_kernel::{Cpu, GuestFault, GuestMemory, Kernel, Outcome, ProcId, Reg, ThreadId};
use ipcemu_personality::{Format, HostMessage, HostPort, HostSendResult, Personality, Trap};
use state::Block;
use std::any::Any;

/// The vector PC-IPC uses unless told otherwise.
pub const DEFAULT_VECTOR: u8 = 0x60;
/// Name of the personality.
pub const NAME: &str = "pcipc";

/// The PC-IPC personality: the TSR's state in one world.
#[derive(Debug)]
pub struct PcIpc {
    pub(crate) st: PcState,
    vector: u8,
    /// Which process requested each ID (index: ID; released when that process ends).
    pub(crate) owners: Owners,
    host_id: Option<u16>,
}

impl PcIpc {
    /// A TSR on `vector`.
    pub fn new(vector: u8, config: PcIpcConfig) -> Self {
        PcIpc {
            st: PcState::new(config),
            vector,
            owners: Owners::default(),
            host_id: None,
        }
    }

    /// The TSR's state (installed, IDs, pool).
    pub fn state(&self) -> &PcState {
        &self.st
    }

    /// Whether install (04h) has been done.
    pub fn installed(&self) -> bool {
        self.st.installed
    }

    /// The vector it listens on.
    pub fn vector(&self) -> u8 {
        self.vector
    }

    /// Handle one PC-IPC interrupt from thread `t`.
    pub fn syscall<M: GuestMemory>(
        &mut self,
        k: &mut Kernel<M>,
        t: ThreadId,
        cpu: &mut dyn Cpu,
        real_mode: bool,
    ) -> Outcome {
        let top = if real_mode {
            (cpu.get(Reg::Ss) & 0xffff) * 16 + (cpu.get(Reg::Esp) & 0xffff)
        } else {
            cpu.get(Reg::Esp)
        };
        let ptr = match k.mem_of(t).read_u32(top) {
            Ok(v) => v,
            Err(fault) => {
                return Outcome::fault(GuestFault::BadPointer {
                    what: "PC-IPC: parameter-block pointer on the stack".into(),
                    fault,
                })
            }
        };
        let block = if real_mode { far_to_linear(ptr) } else { ptr };
        match self.call(k, t, block, real_mode) {
            Ok(PcOutcome::Done) => Outcome::Continue,
            Ok(PcOutcome::Blocked) => Outcome::Block,
            Err(fault) => Outcome::fault(GuestFault::BadPointer {
                what: format!("PC-IPC: parameter block at {block:#x}"),
                fault,
            }),
        }
    }

    /// The parameter block of the current call, as six words (caller, to, command, status,
    /// error, size), for the system-call log.
    fn strace_block<M: GuestMemory>(
        k: &mut Kernel<M>,
        t: ThreadId,
        cpu: &dyn Cpu,
    ) -> Option<(u32, [u32; 6])> {
        let real_mode = k.pers_of(t) == "dos";
        let top = if real_mode {
            (cpu.get(Reg::Ss) & 0xffff) * 16 + (cpu.get(Reg::Esp) & 0xffff)
        } else {
            cpu.get(Reg::Esp)
        };
        let m = k.mem_of(t);
        let ptr = m.read_u32(top).ok()?;
        let block = if real_mode { far_to_linear(ptr) } else { ptr };
        let mut w = [0u32; 6];
        for (i, v) in w.iter_mut().enumerate() {
            *v = m.read_u16(block.wrapping_add(2 * i as u32)).ok()? as u32;
        }
        Some((block, w))
    }

    /// The host's own ID, requested once PC-IPC is installed.
    fn host_id<M: GuestMemory>(&mut self, k: &Kernel<M>, t: ThreadId) -> Option<u16> {
        if self.host_id.is_none() && self.st.installed {
            let id = self.st.ids.first_free(self.st.config.ids)?;
            self.st.ids.insert(id);
            self.owners.set(id, Some(k.threads[t].proc));
            let b = Block {
                caller: id,
                to: 0,
                cmd: cmd::REQ_ID,
                size: 0,
                data: 0,
            };
            self.finish(k, t, &b, err::OK);
            self.host_id = Some(id);
        }
        self.host_id
    }
}

/// Which process requested each ID (index: ID; ID 0 is nobody's).
#[derive(Debug, Default)]
pub(crate) struct Owners(Vec<Option<ProcId>>);

impl Owners {
    /// The process that requested `id`, if it is in use.
    pub(crate) fn get(&self, id: u16) -> Option<ProcId> {
        self.0.get(id as usize).copied().flatten()
    }

    pub(crate) fn set(&mut self, id: u16, p: Option<ProcId>) {
        let i = id as usize;
        if i >= self.0.len() {
            if p.is_none() {
                return;
            }
            self.0.resize(i + 1, None);
        }
        self.0[i] = p;
    }

    /// The IDs `p` requested, in ascending order.
    fn of(&self, p: ProcId) -> impl Iterator<Item = u16> + '_ {
        (0..self.0.len())
            .filter(move |&i| self.0[i] == Some(p))
            .map(|i| i as u16)
    }
}

impl<M: GuestMemory> Personality<M> for PcIpc {
    fn name(&self) -> &'static str {
        NAME
    }
    fn vectors(&self) -> Vec<(u8, String)> {
        vec![(self.vector, format!("PC-IPC (int {:#04x})", self.vector))]
    }
    fn attaches(&self, format: Format) -> bool {
        // Any 16- or 32-bit guest may call the TSR.
        matches!(format, Format::Menuet | Format::Elf32 | Format::Com)
    }
    fn trap(&mut self, k: &mut Kernel<M>, t: ThreadId, cpu: &mut dyn Cpu, _trap: Trap) -> Outcome {
        let real_mode = k.pers_of(t) == "dos";
        self.syscall(k, t, cpu, real_mode)
    }
    fn strace_call(
        &self,
        k: &mut Kernel<M>,
        t: ThreadId,
        cpu: &dyn Cpu,
        _trap: Trap,
    ) -> Option<String> {
        let (_, w) = Self::strace_block(k, t, cpu)?;
        let name = match w[2] {
            0x01 => "INQUIRE",
            0x02 => "ENABLE",
            0x03 => "DISABLE",
            0x04 => "INSTALL",
            0x06 => "READ",
            0x07 => "SDATA",
            0x08 => "REQID",
            0x09 => "DELID",
            0x0A => "READWAIT",
            0x0B => "VERSION",
            _ => "?",
        };
        Some(format!(
            "PC-IPC {name}(cmd={:02x}h, caller={}, to={}, size={})",
            w[2], w[0], w[1], w[5]
        ))
    }
    fn strace_result(&self, k: &mut Kernel<M>, t: ThreadId, cpu: &dyn Cpu, _call: &str) -> String {
        match Self::strace_block(k, t, cpu) {
            Some((_, w)) => format!("{:02x}h (status {:04x}h)", w[4], w[3]),
            None => "?".into(),
        }
    }
    fn thread_exited(&mut self, k: &mut Kernel<M>, t: ThreadId) {
        // IDs a process requested are released when it ends, so its peers get 06h instead of
        // waiting for ever.
        let p = k.threads[t].proc;
        if k.procs[p].live_threads > 0 || k.procs[p].abi == "host" {
            return;
        }
        let ids: Vec<u16> = self.owners.of(p).collect();
        let why = format!("{} ended", k.thread_label(t));
        for id in ids {
            if self.st.ids.contains(id) {
                self.release_id(k, t, id, &why);
            }
        }
    }
    fn host_port(&mut self) -> Option<&mut dyn HostPort<M>> {
        Some(self)
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}

impl<M: GuestMemory> HostPort<M> for PcIpc {
    fn host_attach(&mut self, _k: &mut Kernel<M>, _t: ThreadId, _area: u32, _size: u32) {}
    fn host_target_ready(&self, _k: &Kernel<M>, _to: u32) -> bool {
        self.st.installed
    }
    fn host_send(
        &mut self,
        k: &mut Kernel<M>,
        t: ThreadId,
        to: u32,
        data: &[u8],
    ) -> HostSendResult {
        let Some(me) = self.host_id(k, t) else {
            return HostSendResult {
                code: err::NOT_INSTALLED as u32,
                transient: true,
            };
        };
        let b = Block {
            caller: me,
            to: to as u16,
            cmd: cmd::SEND,
            size: data.len().min(0xffff) as u16,
            data: 0,
        };
        let st = &self.st;
        let mut error = if to > 0xffff || data.len() > 0xffff {
            err::INVALID
        } else if !st.enabled {
            err::NOT_ENABLED
        } else if !st.known(b.to) {
            err::BAD_DEST
        } else if b.size as u32 + MSG_OVERHEAD > st.free() {
            err::SPACE_FULL
        } else {
            err::OK
        };
        if error == err::OK {
            if let Some(e) = self.send(k, t, &b, data.to_vec()) {
                error = e;
            }
        }
        self.finish(k, t, &b, error);
        if error == err::OK {
            self.deliver_to_waiter(k, b.to);
        }
        HostSendResult {
            code: error as u32,
            transient: matches!(
                error,
                err::NOT_ENABLED | err::BAD_DEST | err::SPACE_FULL | err::NOT_INSTALLED
            ),
        }
    }
    fn host_receive(&mut self, k: &mut Kernel<M>, t: ThreadId) -> Vec<HostMessage> {
        let Some(me) = self.host_id(k, t) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        while self.st.waiting_for(me) > 0 {
            let mut b = Block {
                caller: me,
                to: 0,
                cmd: cmd::READ,
                size: 0,
                data: 0,
            };
            let Ok(Some(data)) = self.take_message_host(&mut b) else {
                break;
            };
            self.finish(k, t, &b, err::OK);
            out.push(HostMessage {
                t_ns: k.now_ns(),
                from_pid: 0,
                from_name: format!("PC-IPC id {}", b.to),
                from_id: Some(b.to),
                data,
            });
        }
        out
    }
}

#[cfg(test)]
mod tests;
