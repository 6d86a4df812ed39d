//! The bodies of ipcemu's fuzz targets, shared by the libFuzzer binaries in `fuzz_targets/` and
//! by `tests/corpus.rs`, which replays the committed corpora on stable Rust without libFuzzer.
//!
//! Each function takes arbitrary bytes and must never panic: every panic is a finding. The
//! system-call targets drive a personality against a kernel with `VecMemory` and a register
//! file, with a small run loop that does what `ipcemu-machine` does around a trap (charge the
//! trap, switch on `Block`/`Exit`/`Yield`/quantum, end the process on a fault, apply a woken
//! thread's `Wake`, tell personalities about ended threads) but without Unicorn.

use ipcemu_kernel::{
    Config, Cpu, ExitStatus, GuestMemory, Kernel, Outcome, Pick, Reg, RegFile, ThreadId, VecMemory,
};
use ipcemu_personality::{Personality, Trap};
use std::collections::HashMap;

/// Bytes read from the front of the input; zeros once it runs out.
pub struct Input<'a>(&'a [u8]);

impl<'a> Input<'a> {
    /// Read from `data`.
    pub fn new(data: &'a [u8]) -> Self {
        Input(data)
    }
    /// Whether anything is left.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// The next byte.
    pub fn u8(&mut self) -> u8 {
        match self.0.split_first() {
            Some((&b, rest)) => {
                self.0 = rest;
                b
            }
            None => 0,
        }
    }
    /// The next little-endian word.
    pub fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.u8(), self.u8()])
    }
    /// The next little-endian dword.
    pub fn u32(&mut self) -> u32 {
        u32::from_le_bytes([self.u8(), self.u8(), self.u8(), self.u8()])
    }
    /// The next `n` bytes (fewer at the end).
    pub fn bytes(&mut self, n: usize) -> &'a [u8] {
        let (a, b) = self.0.split_at(n.min(self.0.len()));
        self.0 = b;
        a
    }
}

/// A world without Unicorn: a kernel, personalities on vectors, a register file per thread.
pub struct Sim {
    /// The kernel.
    pub k: Kernel<VecMemory>,
    /// Personalities and the vector each one serves.
    pub pers: Vec<(u8, Box<dyn Personality<VecMemory>>)>,
    /// Registers of every thread that has run.
    pub regs: HashMap<ThreadId, RegFile>,
    /// The thread on the CPU.
    pub cur: Option<ThreadId>,
}

impl Sim {
    /// `procs` processes of `mem` bytes each, with these ABIs (`kolibri`, `dos`, ...).
    pub fn new(
        config: Config,
        procs: &[&'static str],
        mem: u32,
        pers: Vec<(u8, Box<dyn Personality<VecMemory>>)>,
    ) -> Self {
        let mut k = Kernel::new(config);
        for (i, abi) in procs.iter().enumerate() {
            k.spawn_process(
                &format!("p{i}.kex"),
                VecMemory::new(mem as usize),
                mem,
                abi,
                (0, mem - 16),
            );
        }
        Sim {
            k,
            pers,
            regs: HashMap::new(),
            cur: None,
        }
    }

    /// The thread that runs now, picking the next one when the last one switched away;
    /// `None` when nothing can run any more (all ended, or deadlock).
    pub fn current(&mut self) -> Option<ThreadId> {
        if let Some(t) = self.cur {
            return Some(t);
        }
        match self.k.pick_next() {
            Pick::Run(t) => {
                let th = &mut self.k.threads[t];
                let (start, wake, p) = (th.take_start(), th.take_wake(), th.proc);
                let regs = self.regs.entry(t).or_default();
                if let Some((eip, esp)) = start {
                    regs.set(Reg::Eip, eip);
                    regs.set(Reg::Esp, esp);
                }
                if let Some(w) = wake {
                    w.apply(&mut self.k.procs[p].mem, regs);
                }
                self.cur = Some(t);
                Some(t)
            }
            Pick::Idle(_) | Pick::Deadlock(_) | Pick::Finished => None,
        }
    }

    /// Thread `t` (the current one) executes `int vector` with its registers.
    pub fn trap(&mut self, t: ThreadId, vector: u8) -> Outcome {
        let preempt = self.k.charge_trap();
        let mut regs = self.regs.remove(&t).unwrap_or_default();
        let outcome = match self.pers.iter_mut().find(|(v, _)| *v == vector) {
            Some((_, p)) => p.trap(&mut self.k, t, &mut regs, Trap::Interrupt(vector)),
            None => Outcome::fault(ipcemu_kernel::GuestFault::UnhandledInterrupt(vector)),
        };
        self.regs.insert(t, regs);
        self.notify_exits();
        match &outcome {
            Outcome::Continue if !preempt => {}
            Outcome::Yield if !self.k.others_runnable() => {}
            Outcome::Continue | Outcome::Yield => {
                self.k.yield_current();
                self.cur = None;
            }
            Outcome::Block | Outcome::Exit => self.cur = None,
            Outcome::Fault(_) => {
                let p = self.k.threads[t].proc;
                self.k.exit_process(p, ExitStatus::Killed);
                self.notify_exits();
                self.cur = None;
            }
        }
        outcome
    }

    /// Tell every personality about threads that ended.
    pub fn notify_exits(&mut self) {
        while self.k.has_exited() {
            for t in self.k.take_exited() {
                self.regs.remove(&t);
                for (_, p) in self.pers.iter_mut() {
                    p.thread_exited(&mut self.k, t);
                }
            }
        }
    }

    /// Memory of thread `t`'s process.
    pub fn mem(&mut self, t: ThreadId) -> &mut VecMemory {
        self.k.mem_of(t)
    }

    /// Registers of thread `t`.
    pub fn regs(&mut self, t: ThreadId) -> &mut RegFile {
        self.regs.entry(t).or_default()
    }
}

/// Image loaders: every format, by name and by content, and PE32 at its base and elsewhere.
pub fn loader(data: &[u8]) {
    const NAMES: [&str; 6] = ["a.kex", "a.com", "A.COM", "a.elf", "a.exe", "com"];
    let (sel, bytes) = match data.split_first() {
        Some((&s, rest)) => (s, rest),
        None => (0, data),
    };
    let name = NAMES[sel as usize % NAMES.len()];
    for img in [
        ipcemu_loader::load_named(name, bytes),
        ipcemu_loader::load(bytes),
    ]
    .into_iter()
    .flatten()
    {
        // The documented shape: page-aligned, sorted, non-overlapping segments whose data
        // lies inside them.
        let mut end = 0u64;
        for s in &img.segments {
            assert!(u64::from(s.base) >= end, "segments overlap or are unsorted");
            end = u64::from(s.base) + u64::from(s.size);
            assert!(end <= 1 << 32, "segment beyond 4 GiB");
            for (off, d) in &s.data {
                assert!(
                    u64::from(*off) + d.len() as u64 <= u64::from(s.size),
                    "segment data outside its segment"
                );
            }
        }
    }
    let base = if sel & 0x80 != 0 {
        Some(u32::from(sel) << 20)
    } else {
        None
    };
    let _ = ipcemu_loader::pe::load_pe(bytes, base);
    let _ = ipcemu_loader::pe::load_pe(bytes, None);
    // kpack files (their header is what `load` checks first) and KolibriOS libraries (68.19).
    if let Ok(un) = ipcemu_loader::kpack::unpack(bytes) {
        assert!(un.len() <= ipcemu_loader::kpack::MAX_UNPACKED as usize);
    }
    if let Ok(lib) = ipcemu_loader::coff::Library::parse(bytes) {
        if let Ok((img, _)) = lib.link(base.unwrap_or(0x10000)) {
            assert_eq!(img.len(), lib.size() as usize);
        }
    }
}

/// KolibriOS functions the decoder knows, so most calls reach a handler.
const KOLIBRI_FUNCS: [u32; 22] = [
    u32::MAX,
    0,
    1,
    2,
    3,
    5,
    9,
    10,
    11,
    14,
    18,
    23,
    26,
    29,
    37,
    40,
    51,
    60,
    60,
    63,
    68,
    0x7fff_fffe,
];

/// The KolibriOS system-call decoder (`int 0x40`) with arbitrary registers and memory, in a
/// world of 1-3 processes whose threads make the calls in the order the scheduler picks.
pub fn kolibri_syscall(data: &[u8]) {
    let mut inp = Input::new(data);
    let n = 1 + inp.u8() as usize % 3;
    let cfg = Config {
        quantum_traps: 1 + u32::from(inp.u8() % 8),
        ..Config::default()
    };
    let ko = ipcemu_kolibri::Kolibri::new(ipcemu_kolibri::Options::default());
    let mut sim = Sim::new(
        cfg,
        &["kolibri"; 3][..n],
        0x10000,
        vec![(ipcemu_kolibri::VECTOR, Box::new(ko))],
    );
    for _ in 0..2000 {
        if inp.is_empty() {
            break;
        }
        let Some(t) = sim.current() else { break };
        let op = inp.u8();
        match op % 8 {
            // Write bytes into the calling process's memory (an area, a message, a lock).
            5 => {
                let addr = u32::from(inp.u16());
                let len = inp.u8() as usize % 64;
                let b = inp.bytes(len).to_vec();
                let _ = sim.mem(t).write(addr, &b);
            }
            // Reset an IPC area the way guests do: lock 0, offset 8.
            6 => {
                let addr = u32::from(inp.u16());
                let _ = sim.mem(t).write(addr, &[0, 0, 0, 0, 8, 0, 0, 0]);
            }
            _ => {
                let f = KOLIBRI_FUNCS[inp.u8() as usize % KOLIBRI_FUNCS.len()];
                let sub = inp.u8();
                let ebx = if sub & 0x80 != 0 {
                    inp.u32()
                } else {
                    u32::from(sub)
                };
                let r = sim.regs(t);
                r.set(Reg::Eax, f);
                r.set(Reg::Ebx, ebx);
                for reg in [Reg::Ecx, Reg::Edx, Reg::Esi] {
                    // Small values (PIDs, sizes, addresses in the 64 KiB) most of the time.
                    let b = inp.u8();
                    let v = match b >> 6 {
                        0 => u32::from(b),
                        1 | 2 => u32::from(inp.u16()),
                        _ => inp.u32(),
                    };
                    sim.regs(t).set(reg, v);
                }
                let _ = sim.trap(t, ipcemu_kolibri::VECTOR);
            }
        }
    }
}

/// The PC-IPC parameter-block decoder (`INT 60h`), 32-bit and real-mode callers, any block,
/// any data pointer, any configuration the command line accepts.
pub fn pcipc_block(data: &[u8]) {
    let mut inp = Input::new(data);
    let flags = inp.u8();
    let config = ipcemu_pcipc::PcIpcConfig {
        ids: if flags & 1 != 0 { inp.u16() } else { 4 },
        space: if flags & 2 != 0 { inp.u16() } else { 256 },
        preinstalled: flags & 4 != 0,
        ..Default::default()
    };
    let vector = ipcemu_pcipc::DEFAULT_VECTOR;
    let pc = ipcemu_pcipc::PcIpc::new(vector, config);
    let cfg = Config {
        quantum_traps: 1 + u32::from(flags >> 5),
        ..Config::default()
    };
    // Process 1 is a DOS program (real mode: far pointers, SS:SP).
    let mut sim = Sim::new(
        cfg,
        &["kolibri", "dos", "kolibri"],
        0x20000,
        vec![(vector, Box::new(pc))],
    );
    for _ in 0..2000 {
        if inp.is_empty() {
            break;
        }
        let Some(t) = sim.current() else { break };
        let op = inp.u8();
        let real = sim.k.pers_of(t) == "dos";
        if op & 0xc0 == 0xc0 {
            // Raw bytes somewhere in memory (data buffers, a block over a page end).
            let addr = inp.u32() % 0x20000;
            let len = inp.u8() as usize % 64;
            let b = inp.bytes(len).to_vec();
            let _ = sim.mem(t).write(addr, &b);
            continue;
        }
        // A parameter block: caller ID, to-ID, command, status, error, size, data pointer.
        let blk: u32 = if op & 0x20 != 0 {
            inp.u32()
        } else {
            0x1000 + u32::from(op & 0x1f) * 16
        };
        let caller = u16::from(inp.u8() % 8);
        let to = u16::from(inp.u8() % 8);
        let cmd = u16::from(inp.u8() % 16);
        let size = inp.u16();
        let dptr = if op & 0x10 != 0 {
            inp.u32()
        } else if real {
            0x0800_0000 // 0800h:0000h
        } else {
            0x8000
        };
        let lin = if real {
            ipcemu_pcipc::far_to_linear(blk)
        } else {
            blk
        };
        let mut b = Vec::with_capacity(16);
        for w in [caller, to, cmd, 0xAAAA, 0xAAAA, size] {
            b.extend_from_slice(&w.to_le_bytes());
        }
        b.extend_from_slice(&dptr.to_le_bytes());
        let _ = sim.mem(t).write(lin, &b);
        let (sp, ss) = (0xFFF0u32, 0u32);
        let _ = sim.mem(t).write(sp, &blk.to_le_bytes());
        let r = sim.regs(t);
        r.set(Reg::Esp, sp);
        r.set(Reg::Ss, ss);
        let _ = sim.trap(t, vector);
    }
}

/// The scenario parser and validator (`ipcemu test` before it runs anything).
#[cfg(feature = "scenario")]
pub fn scenario(data: &[u8]) {
    thread_local! {
        static PATH: std::path::PathBuf = std::env::temp_dir().join(format!(
            "ipcemu-fuzz-scenario-{}-{:?}.toml",
            std::process::id(),
            std::thread::current().id()
        ));
    }
    PATH.with(|p| {
        if std::fs::write(p, data).is_ok() {
            let _ = ipcemu_scenario::load(p);
        }
    });
}

/// `ipcemu trace summary` input parsing.
pub fn trace_summary(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let _ = ipcemu_trace::summary(&text);
}

/// A target: its name and its body.
pub type Target = (&'static str, fn(&[u8]));

/// The targets by name, for the corpus replay (`scenario` with the feature of that name).
pub fn targets() -> Vec<Target> {
    #[allow(unused_mut)]
    let mut v: Vec<Target> = vec![
        ("loader", loader),
        ("kolibri_syscall", kolibri_syscall),
        ("pcipc_block", pcipc_block),
        ("trace_summary", trace_summary),
    ];
    #[cfg(feature = "scenario")]
    v.push(("scenario", scenario));
    v
}
