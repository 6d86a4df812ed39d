//! Kernel objects of the Win32 personality: events, mutexes, semaphores, file mappings and
//! threads, with names shared by all processes of a world, and the wait logic
//! (`WaitForSingleObject`/`WaitForMultipleObjects`, any or all).

use ipcemu_kernel::{Blocker, ThreadId, Wake};
use rustc_hash::FxHashMap;
use std::any::Any;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;

/// `WAIT_OBJECT_0`.
pub const WAIT_OBJECT_0: u32 = 0;
/// `WAIT_ABANDONED_0`.
pub const WAIT_ABANDONED_0: u32 = 0x80;
/// `WAIT_TIMEOUT`.
pub const WAIT_TIMEOUT: u32 = 258;
/// `WAIT_FAILED`.
pub const WAIT_FAILED: u32 = 0xFFFF_FFFF;

/// Index of an object in the world's object table.
pub type ObjId = u32;

/// What an object is.
pub enum Kind {
    /// An event.
    Event {
        /// Manual reset.
        manual: bool,
        /// Signalled.
        set: bool,
    },
    /// A mutex (also behind critical sections).
    Mutex {
        /// Owning thread.
        owner: Option<ThreadId>,
        /// Recursion count.
        count: u32,
        /// The owner ended without releasing it; the next wait gets `WAIT_ABANDONED`.
        abandoned: bool,
    },
    /// A semaphore.
    Semaphore {
        /// Current count.
        count: i32,
        /// Maximum count.
        max: i32,
    },
    /// A paging-file backed file mapping.
    Mapping {
        /// Size in bytes.
        size: u32,
        /// The shared host memory (`GuestMemory::alloc_shared`).
        mem: Rc<dyn Any>,
        /// The process that created it (its owner, for view snapshots in traces).
        owner: ipcemu_kernel::ProcId,
    },
    /// One end of a pipe (anonymous or a named-pipe instance's server or client end).
    PipeEnd {
        /// The pipe (`None` once a named pipe's server disconnected this client end).
        pipe: Option<u32>,
        /// The channel this end reads, if any.
        reads: Option<usize>,
        /// The channel this end writes, if any.
        writes: Option<usize>,
        /// Message read mode (`PIPE_READMODE_MESSAGE`).
        msg_read: bool,
        /// `PIPE_NOWAIT`: reads of an empty pipe fail at once.
        nowait: bool,
        /// The server end of a named pipe instance.
        server: bool,
        /// Opened with `FILE_FLAG_OVERLAPPED`: an `OVERLAPPED` makes its I/O asynchronous.
        overlapped: bool,
        /// Signalled: an overlapped operation without an event finished on it (reset when the
        /// next one starts), so a wait on the handle itself sees it, as on Windows.
        io_done: bool,
    },
    /// An end of a mailslot (`mailslot.rs`): its reader (`server`) or a writer.
    Mailslot {
        /// The mailslot.
        id: u32,
        /// The read handle made by `CreateMailslotA`.
        server: bool,
    },
    /// An I/O completion port: its queue of packets (`iocp.rs`).
    Port {
        /// Packets not taken yet, first in first out.
        queue: std::collections::VecDeque<crate::iocp::Packet>,
    },
    /// A process.
    Process {
        /// The kernel's process.
        proc: ipcemu_kernel::ProcId,
        /// Exit code once it ended.
        exit: Option<u32>,
    },
    /// A thread.
    Thread {
        /// The kernel's thread.
        t: ThreadId,
        /// Exit code once it ended.
        exit: Option<u32>,
        /// Suspend count (`CREATE_SUSPENDED`, `ResumeThread`).
        suspended: u32,
    },
}

impl Kind {
    /// Type word for messages and traces.
    pub fn type_name(&self) -> &'static str {
        match self {
            Kind::Event { .. } => "event",
            Kind::Mutex { .. } => "mutex",
            Kind::Semaphore { .. } => "semaphore",
            Kind::Mapping { .. } => "file mapping",
            Kind::PipeEnd { .. } => "pipe",
            Kind::Process { .. } => "process",
            Kind::Port { .. } => "completion port",
            Kind::Mailslot { .. } => "mailslot",
            Kind::Thread { .. } => "thread",
        }
    }
}

/// A kernel object.
pub struct Object {
    /// Its name, if any (the namespace is the world's).
    pub name: Option<String>,
    /// Its display label (`event "name"`), made once: every wait on it names it.
    pub label: Arc<str>,
    /// References: handles, mapped views, a live thread.
    pub refs: u32,
    /// What it is.
    pub kind: Kind,
}

/// One waiting thread.
#[derive(Debug, Clone)]
pub struct Waiter {
    /// The thread.
    pub t: ThreadId,
    /// The id of its wait (matches its [`WaitBlocker`] while the wait is current).
    pub id: u64,
    /// The objects, in argument order.
    pub objs: Vec<ObjId>,
    /// Wait for all of them.
    pub all: bool,
    /// `MsgWaitForMultipleObjects(Ex)`: the queue input that also ends the wait.
    pub input: Option<InputWait>,
    /// An alertable wait: the stub address its call starts over at when an APC is queued.
    pub alertable: Option<u32>,
}

/// The queue side of a `MsgWaitForMultipleObjects(Ex)` wait.
#[derive(Debug, Clone, Copy)]
pub struct InputWait {
    /// `dwWakeMask` (`QS_*` bits).
    pub mask: u32,
    /// `MWMO_INPUTAVAILABLE`: input already in the queue counts, not only new input.
    pub available: bool,
    /// The result when input ends the wait (`WAIT_OBJECT_0 + nCount`).
    pub result: u32,
}

/// What a thread in `WaitForSingleObject`/`WaitForMultipleObjects` (or a critical section)
/// waits for.
#[derive(Debug)]
pub struct WaitBlocker {
    /// Wait id.
    pub id: u64,
    /// Description of the objects.
    pub text: WaitText,
    /// The result when the deadline comes: `WAIT_TIMEOUT`, or `WAIT_OBJECT_0 + nCount` when
    /// the deadline is a timer's (a `MsgWaitForMultipleObjects` that waits for `QS_TIMER`).
    pub at_deadline: u32,
}

/// What a wait's deadlock line says, kept in parts and put together only when a report asks
/// (a wait is on the hot path of every Win32 ping-pong; a report is rare).
#[derive(Debug)]
pub enum WaitText {
    /// `WaitForSingleObject`/`WaitForMultipleObjects` on these objects.
    Objects {
        /// The objects' labels.
        labels: Vec<Arc<str>>,
        /// Wait for all of them.
        all: bool,
        /// The call.
        op: &'static str,
        /// Its timeout (`INFINITE` = none).
        ms: u32,
        /// `MsgWaitForMultipleObjects(Ex)`: its `dwWakeMask`.
        input: Option<u32>,
    },
    /// Anything else, as a sentence fragment.
    Text(String),
}

impl WaitText {
    fn describe(&self) -> String {
        match self {
            WaitText::Text(t) => t.clone(),
            WaitText::Objects {
                labels,
                all,
                op,
                ms,
                input,
            } => {
                let mut text = if labels.is_empty() {
                    String::from("waits")
                } else if labels.len() == 1 {
                    format!("waits for {}", labels[0])
                } else {
                    let names: Vec<&str> = labels.iter().map(|l| &**l).collect();
                    format!(
                        "waits for {} of: {}",
                        if *all { "all" } else { "one" },
                        names.join(", ")
                    )
                };
                if let Some(mask) = input {
                    text.push_str(&format!(
                        "{} queue input (wake mask {mask:#x})",
                        if labels.is_empty() {
                            " for"
                        } else if *all {
                            " and"
                        } else {
                            " or"
                        }
                    ));
                }
                text.push_str(&format!(" ({op}"));
                if *ms != u32::MAX {
                    text.push_str(&format!(", timeout {ms} ms"));
                }
                text.push(')');
                text
            }
        }
    }
}

impl Blocker for WaitBlocker {
    fn personality(&self) -> &'static str {
        crate::NAME
    }
    fn what(&self) -> &'static str {
        "w32_wait"
    }
    fn describe(&self) -> String {
        self.text.describe()
    }
    fn on_timeout(&self) -> Wake {
        Wake::Eax(self.at_deadline)
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// A thread created with `CREATE_SUSPENDED` that has not been resumed.
#[derive(Debug)]
pub struct Suspended;

impl Blocker for Suspended {
    fn personality(&self) -> &'static str {
        crate::NAME
    }
    fn what(&self) -> &'static str {
        "suspended"
    }
    fn describe(&self) -> String {
        "is suspended (CREATE_SUSPENDED, waiting for ResumeThread)".into()
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// The object table of a world.
#[derive(Default)]
pub struct Objects {
    objs: FxHashMap<ObjId, Object>,
    names: HashMap<String, ObjId>,
    next: ObjId,
}

impl Objects {
    /// Create an object (its name must be free).
    pub fn create(&mut self, name: Option<String>, kind: Kind) -> ObjId {
        self.next += 1;
        let id = self.next;
        if let Some(n) = &name {
            self.names.insert(n.clone(), id);
        }
        let label: Arc<str> = match &name {
            Some(n) => format!("{} \"{n}\"", kind.type_name()),
            None => format!("{} #{id} (unnamed)", kind.type_name()),
        }
        .into();
        self.objs.insert(
            id,
            Object {
                name,
                label,
                refs: 1,
                kind,
            },
        );
        id
    }
    /// The object with this name.
    pub fn by_name(&self, name: &str) -> Option<ObjId> {
        self.names.get(name).copied()
    }
    /// An object.
    pub fn get(&self, id: ObjId) -> Option<&Object> {
        self.objs.get(&id)
    }
    /// An object, mutable.
    pub fn get_mut(&mut self, id: ObjId) -> Option<&mut Object> {
        self.objs.get_mut(&id)
    }
    /// One more reference.
    pub fn add_ref(&mut self, id: ObjId) {
        if let Some(o) = self.objs.get_mut(&id) {
            o.refs += 1;
        }
    }
    /// One reference less; the object goes (with its name) at zero and is returned then.
    #[must_use = "a pipe end or process that goes needs its owner told"]
    pub fn release(&mut self, id: ObjId) -> Option<Object> {
        let gone = match self.objs.get_mut(&id) {
            Some(o) => {
                o.refs = o.refs.saturating_sub(1);
                o.refs == 0
            }
            None => false,
        };
        if !gone {
            return None;
        }
        let o = self.objs.remove(&id)?;
        if let Some(n) = &o.name {
            if self.names.get(n) == Some(&id) {
                self.names.remove(n);
            }
        }
        Some(o)
    }
    /// Display label: `event "name"` or `event #7 (unnamed)`.
    pub fn label(&self, id: ObjId) -> String {
        self.label_shared(id).to_string()
    }
    /// The same label, shared (no copy).
    pub fn label_shared(&self, id: ObjId) -> Arc<str> {
        match self.objs.get(&id) {
            Some(o) => Arc::clone(&o.label),
            None => format!("object #{id} (closed)").into(),
        }
    }
    /// Whether `t` could take `id` now.
    pub fn signaled(&self, id: ObjId, t: ThreadId) -> bool {
        match self.objs.get(&id).map(|o| &o.kind) {
            Some(Kind::Event { set, .. }) => *set,
            Some(Kind::Mutex { owner, .. }) => owner.is_none() || *owner == Some(t),
            Some(Kind::Semaphore { count, .. }) => *count > 0,
            Some(Kind::Thread { exit, .. }) => exit.is_some(),
            Some(Kind::Process { exit, .. }) => exit.is_some(),
            Some(Kind::PipeEnd { io_done, .. }) => *io_done,
            _ => false,
        }
    }
    /// Take `id` for `t` (it is signalled); returns whether it was an abandoned mutex.
    pub fn acquire(&mut self, id: ObjId, t: ThreadId) -> bool {
        match self.objs.get_mut(&id).map(|o| &mut o.kind) {
            Some(Kind::Event { manual, set }) => {
                if !*manual {
                    *set = false;
                }
                false
            }
            Some(Kind::Mutex {
                owner,
                count,
                abandoned,
            }) => {
                *owner = Some(t);
                *count += 1;
                std::mem::take(abandoned)
            }
            Some(Kind::Semaphore { count, .. }) => {
                *count -= 1;
                false
            }
            _ => false,
        }
    }
    /// Whether the object can be waited for.
    pub fn waitable(&self, id: ObjId) -> bool {
        matches!(
            self.objs.get(&id).map(|o| &o.kind),
            Some(
                Kind::Event { .. }
                    | Kind::Mutex { .. }
                    | Kind::Semaphore { .. }
                    | Kind::Thread { .. }
                    | Kind::Process { .. }
                    | Kind::PipeEnd { .. }
            )
        )
    }
    /// Try to satisfy a wait now: the wait result, or `None` (nothing taken).
    pub fn try_wait(&mut self, t: ThreadId, objs: &[ObjId], all: bool) -> Option<u32> {
        if all {
            if !objs.iter().all(|&o| self.signaled(o, t)) {
                return None;
            }
            let mut first_abandoned = None;
            for (i, &o) in objs.iter().enumerate() {
                if self.acquire(o, t) && first_abandoned.is_none() {
                    first_abandoned = Some(i as u32);
                }
            }
            Some(first_abandoned.map_or(WAIT_OBJECT_0, |i| WAIT_ABANDONED_0 + i))
        } else {
            let i = objs.iter().position(|&o| self.signaled(o, t))?;
            let ab = self.acquire(objs[i], t);
            Some(if ab { WAIT_ABANDONED_0 } else { WAIT_OBJECT_0 } + i as u32)
        }
    }
    /// Mutexes owned by `t` become abandoned and free. Returns them.
    pub fn abandon(&mut self, t: ThreadId) -> Vec<ObjId> {
        let mut v = Vec::new();
        for (&id, o) in self.objs.iter_mut() {
            if let Kind::Mutex {
                owner,
                count,
                abandoned,
            } = &mut o.kind
            {
                if *owner == Some(t) {
                    *owner = None;
                    *count = 0;
                    *abandoned = true;
                    v.push(id);
                }
            }
        }
        v
    }
    /// The thread object of kernel thread `t`.
    pub fn thread_obj(&self, t: ThreadId) -> Option<ObjId> {
        self.objs.iter().find_map(|(&id, o)| match o.kind {
            Kind::Thread { t: x, .. } if x == t => Some(id),
            _ => None,
        })
    }
}
