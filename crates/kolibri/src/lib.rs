//! # ipcemu-kolibri
//!
//! The KolibriOS personality: the `int 0x40` system-call table and everything of KolibriOS the
//! core does not know — function-60 IPC areas and delivery, event flags and masks, the redraw
//! flag, the debug board, the user heap, function 9, MENUET start-up (parameters and path).
//! Function numbers and register use follow KolibriOS `sysfuncs.txt`; see `docs/kolibrios.md`
//! for every supported function and every decision the documentation leaves open.

#![warn(missing_docs)]

mod clipboard;
mod compat;
mod font;
mod fs;
pub mod gui;
mod heap;
pub mod input;
mod ipc;
mod shmem;
mod system;

pub use fs::{err as fs_err, ExecContext};
pub use heap::{Heap, Resized};
pub use ipc::{SendError, SendResult};
pub use system::{is_system, FIRST_SLOT, IDLE_PID, INFO_SIZE, OS_PID};

use ipcemu_kernel::{
    trace_rec, Blocker, Cpu, GuestFault, GuestMemory, Kernel, Outcome, ProcId, Reg, Sleep,
    ThreadId, Wake,
};
use ipcemu_personality::{
    Entry, Format, HostMessage, HostPort, HostSendResult, Image, Personality, StartArgs, Trap,
};
use std::any::Any;
use std::collections::{HashMap, HashSet, VecDeque};

/// The interrupt vector KolibriOS programs trap through.
pub const VECTOR: u8 = 0x40;
/// Event code of IPC messages.
pub const EVENT_IPC: u32 = 7;
/// Default event mask of a new thread (redraw, key, button).
pub const DEFAULT_EVENT_MASK: u32 = 7;
/// Nanoseconds in one KolibriOS tick (1/100 s).
pub const TICK_NS: u64 = 10_000_000;
/// Name of the personality.
pub const NAME: &str = "kolibri";

/// Options of the personality.
#[derive(Debug, Clone)]
pub struct Options {
    /// An unknown function is a guest fault instead of returning -1.
    pub strict: bool,
    /// Size of the user heap region mapped by function 68.11.
    pub heap_size: u32,
    /// Unread debug-board bytes kept for function 63.2.
    pub board_capacity: usize,
    /// The file system of functions 70, 80, 68.27/28 (`--root`); `None`: every file is
    /// missing (error 5).
    pub vfs: Option<ipcemu_vfs::Vfs>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            strict: false,
            heap_size: 64 << 20,
            board_capacity: 4096,
            vfs: None,
        }
    }
}

const NEG1: u32 = u32::MAX;

/// KolibriOS state of one thread.
#[derive(Debug, Clone)]
pub struct KThread {
    /// IPC area address (0 = none).
    pub ipc_area: u32,
    /// IPC area size.
    pub ipc_size: u32,
    /// Event mask (function 40).
    pub event_mask: u32,
    /// Occurred events not yet read: bit `n-1` is event `n`.
    pub events: u32,
    /// The window redraw flag (event 1), set at start, cleared by function 0.
    pub redraw: bool,
    /// Trace only: messages delivered since the thread last read event 7 (the newest
    /// [`UNREAD_MAX`] at most).
    pub unread: Vec<u64>,
    /// The headless window's box from function 0: left, top, width, height.
    pub window: [u32; 4],
    /// The window's framebuffer and buttons, from the first function 0 (`gui.rs`).
    pub win: Option<Box<gui::Window>>,
    /// Keys for function 2 (`input.rs`).
    pub keys: VecDeque<u32>,
    /// The pending button press for function 17.
    pub button: Option<u32>,
}

impl Default for KThread {
    fn default() -> Self {
        KThread {
            ipc_area: 0,
            ipc_size: 0,
            event_mask: DEFAULT_EVENT_MASK,
            events: 0,
            redraw: true,
            unread: Vec::new(),
            window: [0; 4],
            win: None,
            keys: VecDeque::new(),
            button: None,
        }
    }
}

/// A thread waiting in function 10 or 23.
#[derive(Debug, Clone)]
pub struct EventWait {
    mask: u32,
    area: u32,
    size: u32,
    /// The thread has a window, so keys, buttons or the mouse could wake it.
    window: bool,
}

impl Blocker for EventWait {
    fn personality(&self) -> &'static str {
        NAME
    }
    fn what(&self) -> &'static str {
        "event"
    }
    fn describe(&self) -> String {
        let input = if self.window && self.mask & 0b10_0110 != 0 {
            "; waits for input (keys, buttons or the mouse, as its mask allows)"
        } else {
            ""
        };
        format!(
            "waits for an event (function 10/23) with mask {:#x}, IPC area {}{input}",
            self.mask,
            if self.area == 0 {
                "not set".to_string()
            } else {
                format!("{:#x} size {}", self.area, self.size)
            }
        )
    }
    fn on_timeout(&self) -> Wake {
        Wake::Eax(0)
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// A KolibriOS system call for the system-call log: `function.subfunction name(args)`.
fn strace_call<M: GuestMemory>(mem: &M, cpu: &dyn Cpu) -> String {
    use ipcemu_personality::strace_bytes;
    let r = |x| cpu.get(x);
    let (eax, ebx, ecx, edx, esi) = (
        r(Reg::Eax),
        r(Reg::Ebx),
        r(Reg::Ecx),
        r(Reg::Edx),
        r(Reg::Esi),
    );
    match eax as i32 {
        -1 => "-1 end_thread()".into(),
        0 => "0 define_window()".into(),
        2 => "2 get_key()".into(),
        3 => "3 get_time()".into(),
        5 => format!("5 delay({ebx})"),
        9 => format!("9 thread_info(buf={ebx:#x}, slot={})", ecx as i32),
        10 => "10 wait_event()".into(),
        11 => "11 check_event()".into(),
        14 => "14 screen_size()".into(),
        17 => "17 get_button()".into(),
        18 => match ebx {
            2 => format!("18.2 kill_slot({ecx})"),
            18 => format!("18.18 kill_pid({ecx})"),
            21 => format!("18.21 slot_of_pid({ecx})"),
            s => format!("18.{s}(ecx={ecx:#x})"),
        },
        23 => format!("23 wait_event_timeout({ebx})"),
        26 => match ebx {
            9 => "26.9 tick_count()".into(),
            s => format!("26.{s}()"),
        },
        29 => "29 get_date()".into(),
        40 => format!("40 set_event_mask({ebx:#x})"),
        51 => match ebx {
            1 => format!("51.1 create_thread(entry={ecx:#x}, stack={edx:#x})"),
            s => format!("51.{s}()"),
        },
        60 => match ebx {
            1 => format!("60.1 ipc_set_area(addr={ecx:#x}, size={edx})"),
            2 => format!(
                "60.2 ipc_send(pid={ecx}, msg={edx:#x} {}, len={esi})",
                strace_bytes(mem, edx, esi, 32)
            ),
            s => format!("60.{s}()"),
        },
        63 => match ebx {
            1 => match ecx as u8 {
                c @ 0x20..=0x7e if c != b'\'' && c != b'\\' => {
                    format!("63.1 board_write('{}')", c as char)
                }
                c => format!("63.1 board_write('\\x{c:02x}')"),
            },
            2 => "63.2 board_read()".into(),
            s => format!("63.{s}()"),
        },
        68 => match ebx {
            11 => "68.11 heap_init()".into(),
            12 => format!("68.12 heap_alloc({ecx})"),
            13 => format!("68.13 heap_free({ecx:#x})"),
            20 => format!("68.20 heap_realloc({ecx}, {edx:#x})"),
            22 => format!(
                "68.22 shm_open({:?}, {edx}, {esi:#x})",
                mem.read_cstr(ecx, 32).unwrap_or_default()
            ),
            23 => format!(
                "68.23 shm_close({:?})",
                mem.read_cstr(ecx, 32).unwrap_or_default()
            ),
            19 | 27 | 28 => format!(
                "68.{ebx} {}({:?})",
                if ebx == 19 {
                    "load_library"
                } else {
                    "load_file"
                },
                mem.read_cstr(ecx, 256).unwrap_or_default()
            ),
            s => format!("68.{s}(ecx={ecx:#x})"),
        },
        70 | 80 => fs::strace_call(mem, eax, ebx),
        n => format!("{n}(ebx={ebx:#x}, ecx={ecx:#x})"),
    }
}

/// Most message numbers an `event_read` record lists (a thread's `unread`, trace only): a
/// receiver that never reads event 7 keeps only the newest ones.
pub const UNREAD_MAX: usize = 4096;

/// The KolibriOS personality and its state in one world.
#[derive(Debug)]
pub struct Kolibri {
    /// Options.
    pub opts: Options,
    /// Per thread (by `ThreadId`); an ended thread's record is dropped (8 bytes stay).
    threads: Vec<Option<Box<KThread>>>,
    heaps: HashMap<ProcId, Heap>,
    board: VecDeque<u8>,
    scratch: Vec<u8>,
    /// The `msgs` text of an `event_read` record, reused (no allocation per record).
    msgs_text: String,
    /// Missing functions already named in a warning: (process, function, subfunction).
    missing_seen: HashSet<(ProcId, u32, u32)>,
    files: fs::Files,
    /// The mouse: screen x, y and buttons held (`input.rs`).
    mouse: [u32; 3],
    /// Named shared memory areas and their views (68.22, 68.23; `shmem.rs`).
    shm: shmem::Shmem,
    /// The clipboard's slots (function 54; `clipboard.rs`).
    clipboard: clipboard::Clipboard,
}

impl Kolibri {
    /// A fresh personality.
    pub fn new(opts: Options) -> Self {
        Kolibri {
            opts,
            threads: Vec::new(),
            heaps: HashMap::new(),
            board: VecDeque::new(),
            scratch: Vec::new(),
            msgs_text: String::new(),
            missing_seen: HashSet::new(),
            files: fs::Files::default(),
            mouse: [0; 3],
            shm: shmem::Shmem::default(),
            clipboard: clipboard::Clipboard::default(),
        }
    }

    /// KolibriOS state of thread `t` (created with defaults on first use).
    #[inline]
    pub fn thread(&mut self, t: ThreadId) -> &mut KThread {
        if t.0 >= self.threads.len() {
            self.threads.resize_with(t.0 + 1, || None);
        }
        self.threads[t.0].get_or_insert_with(Box::default)
    }

    /// KolibriOS state of thread `t`, if it has any yet.
    pub fn thread_ref(&self, t: ThreadId) -> Option<&KThread> {
        self.threads.get(t.0)?.as_deref()
    }

    /// The IPC area of thread `t` (0 = none).
    pub fn ipc_area(&self, t: ThreadId) -> u32 {
        self.threads
            .get(t.0)
            .and_then(|th| th.as_ref())
            .map_or(0, |th| th.ipc_area)
    }

    /// Heap of process `p`, if it has one.
    pub fn heap(&self, p: ProcId) -> Option<&Heap> {
        self.heaps.get(&p)
    }

    // ----- events ---------------------------------------------------------------------------

    /// Function 40: set the mask, return the previous one.
    pub fn set_event_mask(&mut self, t: ThreadId, mask: u32) -> u32 {
        std::mem::replace(&mut self.thread(t).event_mask, mask)
    }

    /// The next event the thread's mask allows, consuming it (0 = none).
    ///
    /// Highest code first; event 1 (redraw) is a flag that stays until function 0;
    /// events 5..=10 reset when read; 2 and 3 are pending while a key or a button press is
    /// (`input.rs`); 4 and 11.. are ignored.
    pub fn take_event<M: GuestMemory>(&mut self, k: &Kernel<M>, t: ThreadId) -> u32 {
        let ev = self.take_event_raw(t);
        if k.trace_on && ev != 0 {
            let mut msgs = std::mem::take(&mut self.msgs_text);
            msgs.clear();
            if ev == EVENT_IPC {
                let unread = &mut self.thread(t).unread;
                for (i, m) in unread.iter().enumerate() {
                    if i > 0 {
                        msgs.push(',');
                    }
                    msgs.push_str(itoa::Buffer::new().format(*m));
                }
                unread.clear();
            }
            trace_rec!(
                k,
                t,
                "event_read",
                k.pers_of(t),
                code = ev,
                msgs = msgs.as_str()
            );
            self.msgs_text = msgs;
        }
        ev
    }

    fn take_event_raw(&mut self, t: ThreadId) -> u32 {
        let th = self.thread(t);
        // Pending codes as bits (bit n = event n + 1): redraw, key and button from their
        // state, 5..=10 from the event flags; event 4 and 11.. are ignored. The highest code
        // the mask allows comes first.
        let mut pending = th.events & 0x3f0;
        if th.redraw {
            pending |= 1;
        }
        if !th.keys.is_empty() {
            pending |= 2;
        }
        if th.button.is_some() {
            pending |= 4;
        }
        let m = pending & th.event_mask & 0x3ff & !(1 << 3);
        if m == 0 {
            return 0;
        }
        let bit = 31 - m.leading_zeros();
        if bit >= 3 {
            th.events &= !(1 << bit);
        }
        bit + 1
    }

    /// Raise event `code` (1..=32) for a thread and wake it if it waits for it.
    pub fn raise_event<M: GuestMemory>(&mut self, k: &mut Kernel<M>, t: ThreadId, code: u32) {
        self.thread(t).events |= 1 << (code - 1);
        let waiting = k.blocker_of::<EventWait>(t).is_some();
        if k.trace_on {
            // Recorded when the event stays pending (masked, or the thread is not waiting);
            // an event that wakes a waiting thread shows as its `event_read` right away.
            let masked = self.thread(t).event_mask & (1 << (code - 1)) == 0;
            if masked || !waiting {
                trace_rec!(k, t, "event", k.pers_of(t), code = code, masked = masked);
            }
        }
        if waiting {
            let ev = self.take_event(k, t);
            if ev != 0 {
                // Its `event_read` record (made by take_event) stands for the wake.
                k.wake_recorded(t, Wake::Eax(ev));
            }
        }
    }

    /// Functions 10/11/23. `timeout` in ticks: `None` waits forever, `Some(0)` polls.
    /// Returns `Some(event)` at once or `None` when the thread now waits.
    pub fn wait_event<M: GuestMemory>(
        &mut self,
        k: &mut Kernel<M>,
        t: ThreadId,
        timeout: Option<u32>,
    ) -> Option<u32> {
        let ev = self.take_event(k, t);
        if ev != 0 || timeout == Some(0) {
            return Some(ev);
        }
        let deadline = timeout.map(|ticks| k.now_ns() + ticks as u64 * TICK_NS);
        let th = self.thread(t);
        let w = EventWait {
            mask: th.event_mask,
            area: th.ipc_area,
            size: th.ipc_size,
            window: th.win.is_some(),
        };
        k.block_current_on(w, deadline);
        None
    }

    /// Function 5: sleep `ticks` hundredths of a second (0 returns at once). Returns whether
    /// the thread now waits.
    pub fn sleep<M: GuestMemory>(&mut self, k: &mut Kernel<M>, ticks: u32) -> bool {
        if ticks == 0 {
            return false;
        }
        let d = k.now_ns() + ticks as u64 * TICK_NS;
        k.block_current(
            Box::new(Sleep {
                personality: NAME,
                text: "sleeps (function 5)",
            }),
            Some(d),
        );
        true
    }

    // ----- debug board ----------------------------------------------------------------------

    /// Function 63.1: one byte to the board (and the host's stdout).
    pub fn board_write<M: GuestMemory>(&mut self, k: &mut Kernel<M>, t: ThreadId, b: u8) {
        k.output(t, &[b], false);
        if self.board.len() >= self.opts.board_capacity {
            self.board.pop_front();
        }
        self.board.push_back(b);
    }

    /// Function 63.2: the oldest unread board byte.
    pub fn board_read(&mut self) -> Option<u8> {
        self.board.pop_front()
    }

    // ----- heap -------------------------------------------------------------------------------

    fn heap_of<M: GuestMemory>(&mut self, k: &Kernel<M>, p: ProcId) -> &mut Heap {
        let size = self.opts.heap_size;
        self.heaps.entry(p).or_insert_with(|| {
            let base = ipcemu_kernel::align_up(k.procs[p].mem_size as u64 + 0x1000, 0x10000);
            Heap::new(base as u32, size)
        })
    }

    /// Function 68.11: map the heap region if needed; returns its size (0 if it cannot be
    /// mapped).
    pub fn heap_init<M: GuestMemory>(&mut self, k: &mut Kernel<M>, p: ProcId) -> u32 {
        let h = self.heap_of(k, p);
        if !h.mapped {
            if !k.procs[p].mem.map_zeroed(h.base, h.size) {
                return 0;
            }
            h.mapped = true;
        }
        h.size
    }

    /// Function 68.12: allocate (initialising the heap if needed); 0 on failure.
    pub fn heap_alloc<M: GuestMemory>(&mut self, k: &mut Kernel<M>, p: ProcId, size: u32) -> u32 {
        if self.heap_init(k, p) == 0 {
            return 0;
        }
        self.heap_of(k, p).alloc(size).unwrap_or(0)
    }

    /// Function 68.13: free a block; its pages read as zero when allocated again.
    pub fn heap_free<M: GuestMemory>(&mut self, k: &mut Kernel<M>, p: ProcId, addr: u32) -> bool {
        match self.heap_of(k, p).free(addr) {
            Some(size) => k.procs[p].mem.zero(addr, size).is_ok(),
            None => false,
        }
    }

    /// Function 68.20: resize the block at `addr` to `size` bytes; the new address or 0 (see
    /// [`Heap::realloc`]). `addr` 0 allocates, as 68.12. Freed and dropped pages are zeroed, so
    /// they read as zero when allocated again; a moved block's bytes are copied.
    pub fn heap_realloc<M: GuestMemory>(
        &mut self,
        k: &mut Kernel<M>,
        p: ProcId,
        size: u32,
        addr: u32,
    ) -> u32 {
        if addr == 0 {
            return self.heap_alloc(k, p, size);
        }
        let mem = &mut k.procs[p].mem;
        match self.heap_mut(p).map(|h| h.realloc(addr, size)) {
            None | Some(Resized::Refused | Resized::NoRoom) => 0,
            Some(Resized::Freed(old)) => {
                let _ = mem.zero(addr, old);
                0
            }
            Some(Resized::InPlace { old, new }) => {
                if new < old {
                    let _ = mem.zero(addr + new, old - new);
                }
                addr
            }
            Some(Resized::Moved { to, old, .. }) => {
                let mut buf = vec![0u8; 64 << 10];
                let mut done = 0;
                while done < old {
                    let n = (old - done).min(buf.len() as u32);
                    let chunk = &mut buf[..n as usize];
                    if mem.read(addr + done, chunk).is_err() || mem.write(to + done, chunk).is_err()
                    {
                        break;
                    }
                    done += n;
                }
                let _ = mem.zero(addr, old);
                to
            }
        }
    }

    fn heap_mut(&mut self, p: ProcId) -> Option<&mut Heap> {
        self.heaps.get_mut(&p)
    }

    // ----- thread information -----------------------------------------------------------------

    /// Slot for a PID (function 18.21): 0 when there is none.
    pub fn slot_of_pid<M: GuestMemory>(k: &Kernel<M>, pid: u32) -> u32 {
        if is_system(pid) {
            return pid;
        }
        k.thread_by_pid(pid)
            .map_or(0, |t| k.threads[t].slot.0 as u32)
    }

    // ----- the system-call table ---------------------------------------------------------------

    /// Handle one `int 0x40` from thread `t`.
    pub fn syscall<M: GuestMemory>(
        &mut self,
        k: &mut Kernel<M>,
        t: ThreadId,
        cpu: &mut dyn Cpu,
    ) -> Outcome {
        let eax = cpu.get(Reg::Eax);
        let ebx = cpu.get(Reg::Ebx);
        let set = |cpu: &mut dyn Cpu, v: u32| {
            cpu.set(Reg::Eax, v);
            Outcome::Continue
        };
        match eax {
            // -1: end the calling thread.
            NEG1 => {
                k.exit_thread(t);
                Outcome::Exit
            }
            // Window and drawing functions: the headless framebuffer (gui.rs).
            0 | 1 | 4 | 7 | 8 | 12 | 13 | 38 | 47 => self.draw_call(k, t, cpu, eax),
            // Other drawing and window functions: accepted, nothing visible changes.
            15 | 65 | 67 | 71 | 73 => Outcome::Continue,
            // 2 get key, 17 get pressed button (input.rs).
            2 => set(cpu, self.get_key(t)),
            17 => set(cpu, self.get_button(t)),
            // 3: system time 0x00SSMMHH in BCD, from the world clock (starts at 00:00:00).
            3 => {
                let s = k.now_ns() / 1_000_000_000;
                let bcd = |v: u64| ((v / 10) << 4 | (v % 10)) as u32;
                let v = bcd(s / 3600 % 24) | bcd(s / 60 % 60) << 8 | bcd(s % 60) << 16;
                set(cpu, v)
            }
            // 5: delay ebx hundredths of a second.
            5 => {
                if self.sleep(k, ebx) {
                    Outcome::Block
                } else {
                    Outcome::Continue
                }
            }
            // 9: thread information.
            9 => {
                let ecx = cpu.get(Reg::Ecx);
                match self.thread_info(k, t, ecx, ebx) {
                    Ok(max) => set(cpu, max),
                    Err(fault) => Outcome::fault(GuestFault::BadPointer {
                        what: "function 9: thread-info buffer".into(),
                        fault,
                    }),
                }
            }
            // 10 wait for event, 11 check for event, 23 wait with timeout.
            10 | 11 | 23 => {
                let timeout = match eax {
                    10 => None,
                    11 => Some(0),
                    _ => Some(ebx),
                };
                match self.wait_event(k, t, timeout) {
                    Some(ev) => set(cpu, ev),
                    None => Outcome::Block,
                }
            }
            // 14: screen size (a fixed 1024x768 headless screen).
            14 => set(cpu, (1023 << 16) | 767),
            18 => self.sys_misc(k, t, cpu, ebx),
            26 => match ebx {
                9 => set(cpu, (k.now_ns() / TICK_NS) as u32),
                10 => {
                    let ns = k.now_ns();
                    cpu.set(Reg::Edx, (ns >> 32) as u32);
                    set(cpu, ns as u32)
                }
                _ => self.missing(k, t, cpu, eax, ebx),
            },
            // 29: system date 0x00DDMMYY in BCD: a fixed 01.01.26 (deterministic).
            29 => set(cpu, 0x0001_0126),
            37 => set(cpu, self.mouse_call(t, ebx)),
            // 48 skin/style, 66 keyboard: headless answers are 0.
            48 | 66 => set(cpu, 0),
            40 => {
                let old = self.set_event_mask(t, ebx);
                set(cpu, old)
            }
            51 => match ebx {
                1 => {
                    let p = k.threads[t].proc;
                    let (ecx, edx) = (cpu.get(Reg::Ecx), cpu.get(Reg::Edx));
                    match k.spawn_thread(p, ecx, edx) {
                        Some(nt) => {
                            self.files_thread_created(t, nt);
                            set(cpu, k.threads[nt].pid)
                        }
                        None => set(cpu, NEG1),
                    }
                }
                _ => self.missing(k, t, cpu, eax, ebx),
            },
            // 54: the clipboard (clipboard.rs).
            54 => self.sys_clipboard(k, t, cpu, ebx),
            60 => match ebx {
                1 => {
                    self.ipc_set_area(k, t, cpu.get(Reg::Ecx), cpu.get(Reg::Edx));
                    set(cpu, 0)
                }
                2 => {
                    let (pid, msg, len) = (cpu.get(Reg::Ecx), cpu.get(Reg::Edx), cpu.get(Reg::Esi));
                    match self.ipc_send(k, t, pid, msg, len) {
                        Ok(r) => set(cpu, r as u32),
                        Err(SendError::BadMessage(fault)) => {
                            Outcome::fault(GuestFault::BadPointer {
                                what: format!("function 60.2: message to PID {pid}"),
                                fault,
                            })
                        }
                    }
                }
                _ => set(cpu, NEG1),
            },
            63 => match ebx {
                1 => {
                    self.board_write(k, t, cpu.get(Reg::Ecx) as u8);
                    Outcome::Continue
                }
                2 => {
                    let (v, ok) = self.board_read().map_or((0, 0), |b| (b as u32, 1));
                    cpu.set(Reg::Ebx, ok);
                    set(cpu, v)
                }
                _ => self.missing(k, t, cpu, eax, ebx),
            },
            68 => {
                let p = k.threads[t].proc;
                let ecx = cpu.get(Reg::Ecx);
                match ebx {
                    1 => Outcome::Yield,
                    11 => {
                        let v = self.heap_init(k, p);
                        set(cpu, v)
                    }
                    12 => {
                        let v = self.heap_alloc(k, p, ecx);
                        set(cpu, v)
                    }
                    13 => {
                        let v = self.heap_free(k, p, ecx) as u32;
                        set(cpu, v)
                    }
                    20 => {
                        let edx = cpu.get(Reg::Edx);
                        let v = self.heap_realloc(k, p, ecx, edx);
                        set(cpu, v)
                    }
                    19 => self.load_library(k, t, cpu),
                    22 => self.shm_open(k, t, cpu),
                    23 => self.shm_close(k, t, cpu),
                    27 => self.load_file(k, t, cpu, None),
                    28 => {
                        let enc = cpu.get(Reg::Edx);
                        self.load_file(k, t, cpu, Some(enc))
                    }
                    _ => self.missing(k, t, cpu, eax, ebx),
                }
            }
            // 30: the current folder (fs.rs).
            30 => self.sys_cur_dir(k, t, cpu, ebx),
            70 => self.sys_file(k, t, cpu, false),
            80 => self.sys_file(k, t, cpu, true),
            _ => self.missing(k, t, cpu, eax, ebx),
        }
    }

    /// 18.2/18.18: end a thread; a process whose last thread is ended this way was killed.
    fn terminate<M: GuestMemory>(
        k: &mut Kernel<M>,
        caller: ThreadId,
        target: Option<ThreadId>,
    ) -> Outcome {
        let Some(x) = target else {
            return Outcome::Continue;
        };
        let p = k.threads[x].proc;
        if k.procs[p].live_threads == 1 {
            k.exit_process(p, ipcemu_kernel::ExitStatus::Killed);
        } else {
            k.exit_thread(x);
        }
        if x == caller {
            Outcome::Exit
        } else {
            Outcome::Continue
        }
    }

    fn sys_misc<M: GuestMemory>(
        &mut self,
        k: &mut Kernel<M>,
        t: ThreadId,
        cpu: &mut dyn Cpu,
        sub: u32,
    ) -> Outcome {
        let ecx = cpu.get(Reg::Ecx);
        match sub {
            // 18.2: end the thread in slot ecx. Slots 1 and 2 (the kernel's threads), free
            // slots and slots over the highest are refused silently; eax is not changed
            // (`sysfn_terminate`).
            2 => {
                let target = u16::try_from(ecx)
                    .ok()
                    .filter(|&s| s >= FIRST_SLOT)
                    .and_then(|s| k.thread_in_slot(ipcemu_kernel::Slot(s)));
                Self::terminate(k, t, target)
            }
            // 18.18: end the thread with PID ecx: eax = 0, or -1 when there is no such PID.
            // The kernel's threads are found (eax = 0) but not ended (`sysfn_terminate2`).
            18 => {
                if is_system(ecx) {
                    cpu.set(Reg::Eax, 0);
                    return Outcome::Continue;
                }
                let target = k.thread_by_pid(ecx);
                if target.is_none() {
                    cpu.set(Reg::Eax, NEG1);
                    return Outcome::Continue;
                }
                cpu.set(Reg::Eax, 0);
                Self::terminate(k, t, target)
            }
            // 18.21: slot of a PID, 0 if none.
            21 => {
                cpu.set(Reg::Eax, Self::slot_of_pid(k, ecx));
                Outcome::Continue
            }
            _ => self.missing(k, t, cpu, 18, sub),
        }
    }

    /// Write the MENUET v1 parameters and path into a new process's memory.
    fn write_params<M: GuestMemory>(image: &Image, args: &StartArgs<'_>, mem: &mut M) {
        if image.params_addr != 0 {
            let p = args.params.unwrap_or("").as_bytes();
            let mut v = p[..p.len().min(255)].to_vec();
            v.push(0);
            let _ = mem.write(image.params_addr, &v);
        }
        if image.path_addr != 0 {
            let file = args.path.rsplit(['/', '\\']).next().unwrap_or(args.path);
            let started = args.context.and_then(|c| c.downcast_ref::<ExecContext>());
            let mut v = match started {
                Some(c) => c.path.clone().into_bytes(),
                None => format!("/ipcemu/{file}").into_bytes(),
            };
            v.truncate(1023);
            v.push(0);
            // Write as much as fits in memory (the loader checked the first byte).
            while !v.is_empty() && mem.write(image.path_addr, &v).is_err() {
                v.pop();
                if let Some(l) = v.last_mut() {
                    *l = 0;
                }
            }
        }
    }
}

impl<M: GuestMemory> Personality<M> for Kolibri {
    fn name(&self) -> &'static str {
        NAME
    }
    fn vectors(&self) -> Vec<(u8, String)> {
        vec![(VECTOR, "KolibriOS system calls (int 0x40)".into())]
    }
    fn attaches(&self, format: Format) -> bool {
        // ELF guests may use the KolibriOS functions too.
        matches!(format, Format::Menuet | Format::Elf32)
    }
    fn starts(&self, format: Format) -> bool {
        format == Format::Menuet
    }
    fn start(&mut self, image: &Image, args: &StartArgs<'_>, mem: &mut M) -> Result<Entry, String> {
        Self::write_params(image, args, mem);
        Ok(Entry {
            eip: image.entry,
            esp: image.stack,
            real_mode_segment: None,
            fs_base: None,
        })
    }
    #[inline]
    fn trap(&mut self, k: &mut Kernel<M>, t: ThreadId, cpu: &mut dyn Cpu, _trap: Trap) -> Outcome {
        self.syscall(k, t, cpu)
    }
    fn strace_call(
        &self,
        k: &mut Kernel<M>,
        t: ThreadId,
        cpu: &dyn Cpu,
        _trap: Trap,
    ) -> Option<String> {
        Some(strace_call(k.mem_of(t), cpu))
    }
    fn thread_exited(&mut self, k: &mut Kernel<M>, t: ThreadId) {
        if let Some(th) = self.threads.get_mut(t.0) {
            *th = None;
        }
        self.shm.thread_ended(t);
        self.files_thread_ended(t);
        let p = k.threads[t].proc;
        if k.procs[p].live_threads == 0 {
            self.heaps.remove(&p);
            self.shm.proc_ended(p);
            self.files_proc_ended(p);
        }
    }
    fn host_port(&mut self) -> Option<&mut dyn HostPort<M>> {
        Some(self)
    }
    fn spawned(&mut self, k: &mut Kernel<M>, outcome: ipcemu_personality::Spawned) {
        self.exec_done(k, outcome);
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}

impl<M: GuestMemory> HostPort<M> for Kolibri {
    fn host_attach(&mut self, k: &mut Kernel<M>, t: ThreadId, area: u32, area_size: u32) {
        let _ = k.mem_of(t).write_u32(area.wrapping_add(4), 8);
        self.ipc_set_area(k, t, area, area_size);
    }
    fn host_target_ready(&self, k: &Kernel<M>, to: u32) -> bool {
        k.thread_by_pid(to).is_some_and(|t| self.ipc_area(t) != 0)
    }
    fn host_send(
        &mut self,
        k: &mut Kernel<M>,
        t: ThreadId,
        to: u32,
        data: &[u8],
    ) -> HostSendResult {
        let r = self.deliver(k, t, to, data.to_vec());
        HostSendResult {
            code: r as u32,
            transient: matches!(
                r,
                SendResult::NoArea | SendResult::Locked | SendResult::Overflow
            ),
        }
    }
    fn host_receive(&mut self, k: &mut Kernel<M>, t: ThreadId) -> Vec<HostMessage> {
        let now = k.now_ns();
        let area = self.ipc_area(t);
        let mem = k.mem_of(t);
        let Ok(end) = mem.read_u32(area.wrapping_add(4)) else {
            return Vec::new();
        };
        if end <= 8 {
            return Vec::new();
        }
        let mut off = 8u32;
        let mut got = Vec::new();
        while off.saturating_add(8) <= end {
            let (Ok(pid), Ok(len)) = (
                mem.read_u32(area.wrapping_add(off)),
                mem.read_u32(area.wrapping_add(off + 4)),
            ) else {
                break;
            };
            let mut data = vec![0u8; len.min(end - off - 8) as usize];
            if mem.read(area.wrapping_add(off + 8), &mut data).is_err() {
                break;
            }
            got.push((pid, data));
            off = off.saturating_add(8).saturating_add(len);
        }
        let _ = mem.write_u32(area.wrapping_add(4), 8);
        let _ = mem.write_u32(area, 0);
        let out = got
            .into_iter()
            .map(|(pid, data)| HostMessage {
                t_ns: now,
                from_pid: pid,
                from_name: k.name_of_pid(pid).unwrap_or_default().to_string(),
                from_id: None,
                data,
            })
            .collect();
        // The host reads its event 7 like a guest would (trace flows end here).
        self.take_event(k, t);
        out
    }
}

/// KolibriOS process name for a file name: no directory, no extension, at most 11 bytes.
pub fn kolibri_name(file: &str) -> String {
    let stem = ipcemu_kernel::file_stem(file);
    let mut end = stem.len().min(11);
    while !stem.is_char_boundary(end) {
        end -= 1;
    }
    stem[..end].to_string()
}

#[cfg(test)]
mod tests;
