//! The implemented functions of KERNEL32.dll and msvcrt.dll, and the trap dispatcher.

use crate::apc::{Apc, WAIT_IO_COMPLETION};
use crate::io::ERROR_NOT_ENOUGH_QUOTA;
use crate::objects::{
    InputWait, Kind, ObjId, WaitBlocker, WaitText, Waiter, WAIT_FAILED, WAIT_OBJECT_0, WAIT_TIMEOUT,
};
use crate::printf::{self as pf, ArgList};
use crate::user::QS_TIMER;
use crate::{
    bad_ptr, Chain, PState, TState, Win32, DATA_BASE, D_ACMDLN, D_ARGC, D_ARGV_CELL, D_COMMODE,
    D_ENV, D_ERRNO, D_FMODE, D_INITENV, D_IOB, D_LCONV, D_MB_CUR_MAX, D_STR_C, D_STR_ERROR,
    FILE_SIZE, HEAP_BASE, HEAP_SIZE, STUB_CHAIN_NEXT, STUB_FIRST, STUB_PROCESS_RETURN,
    STUB_THREAD_RETURN, TEB_BASE, TEB_SLOT, THREAD_STACK, THREAD_STACKS, TRAMPOLINE, VIEW_END,
};
use ipcemu_kernel::{
    Cpu, ExitStatus, GuestFault, GuestMemory, Kernel, Outcome, ProcId, Reg, ThreadId, Wake,
};
use std::collections::HashMap;

pub(crate) const INFINITE: u32 = 0xFFFF_FFFF;
/// `fdwReason` of a TLS callback for an ending process and an ending thread.
pub(crate) const DLL_PROCESS_DETACH: u32 = 0;
pub(crate) const DLL_THREAD_DETACH: u32 = 3;
pub(crate) const INVALID_HANDLE_VALUE: u32 = 0xFFFF_FFFF;
pub(crate) const CURRENT_PROCESS: u32 = 0xFFFF_FFFF;
pub(crate) const CURRENT_THREAD: u32 = 0xFFFF_FFFE;
pub(crate) const STD_INPUT: u32 = 0x10;
pub(crate) const STD_OUTPUT: u32 = 0x14;
pub(crate) const STD_ERROR: u32 = 0x18;
pub(crate) const STILL_ACTIVE: u32 = 259;
const MAXIMUM_WAIT_OBJECTS: u32 = 64;
/// Handles one process may hold (a guest cannot grow host memory without bound; Windows'
/// own limit is about 16 million).
pub const MAX_HANDLES: usize = 1 << 16;
const ERROR_NO_SYSTEM_RESOURCES: u32 = 1450;
const CREATE_SUSPENDED: u32 = 4;
const DUPLICATE_CLOSE_SOURCE: u32 = 1;
const MWMO_WAITALL: u32 = 0x0001;
const MWMO_INPUTAVAILABLE: u32 = 0x0004;
const MWMO_ALERTABLE: u32 = 0x0002;

pub(crate) const ERROR_FILE_NOT_FOUND: u32 = 2;
pub(crate) const ERROR_FILENAME_EXCED_RANGE: u32 = 206;
/// Longest object name Windows accepts.
pub(crate) const MAX_PATH: usize = 260;
pub(crate) const ERROR_ACCESS_DENIED: u32 = 5;
pub(crate) const ERROR_INVALID_HANDLE: u32 = 6;
pub(crate) const ERROR_NOT_ENOUGH_MEMORY: u32 = 8;
pub(crate) const ERROR_INVALID_PARAMETER: u32 = 87;
const ERROR_MOD_NOT_FOUND: u32 = 126;
const ERROR_PROC_NOT_FOUND: u32 = 127;
const ERROR_ALREADY_EXISTS: u32 = 183;
const ERROR_NOT_OWNER: u32 = 288;
const ERROR_TOO_MANY_POSTS: u32 = 298;
const ERROR_NO_MORE_ITEMS: u32 = 259;
const ERROR_TOO_MANY_THREADS: u32 = 164;
const ENOMEM: u32 = 12;

macro_rules! api {
    (kernel32: [$($k:ident $n:literal,)*] user32: [$($u:ident $un:literal,)*]
     msvcrt: [$($c:ident,)*]) => {
        /// An implemented function.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        #[allow(non_camel_case_types, missing_docs)]
        pub enum Func { $($k,)* $($u,)* $($c,)* }
        impl Func {
            /// Bytes of arguments a stdcall function pops; `None` for cdecl (msvcrt).
            pub fn arg_bytes(self) -> Option<u16> {
                match self {
                    $(Func::$k => Some($n * 4),)*
                    $(Func::$u => Some($un * 4),)*
                    _ => None,
                }
            }
            /// Its name.
            pub fn name(self) -> &'static str {
                match self {
                    $(Func::$k => stringify!($k),)*
                    $(Func::$u => stringify!($u),)*
                    $(Func::$c => stringify!($c),)*
                }
            }
            /// Whether it is a USER32 function (the calling thread gets a message queue).
            pub fn is_user32(self) -> bool {
                matches!(self, $(Func::$u)|*)
            }
        }
        /// The implementation of `dll!name`, if ipcemu has one.
        pub fn lookup(dll: &str, name: &str) -> Option<Func> {
            if dll.eq_ignore_ascii_case("kernel32.dll") {
                match name { $(stringify!($k) => Some(Func::$k),)* _ => None }
            } else if dll.eq_ignore_ascii_case("user32.dll") {
                match name { $(stringify!($u) => Some(Func::$u),)* _ => None }
            } else if dll.eq_ignore_ascii_case("msvcrt.dll") {
                match name { $(stringify!($c) => Some(Func::$c),)* _ => None }
            } else {
                None
            }
        }
    };
}

api! {
kernel32: [
    ExitProcess 1, GetStdHandle 1, WriteFile 5, WriteConsoleA 5, GetLastError 0, SetLastError 1,
    GetCurrentProcessId 0, GetCurrentThreadId 0, GetCurrentProcess 0, GetCurrentThread 0,
    Sleep 1, GetTickCount 0, QueryPerformanceCounter 1, QueryPerformanceFrequency 1,
    GetSystemTimeAsFileTime 1,
    CreateFileMappingA 6, OpenFileMappingA 3, MapViewOfFile 5, UnmapViewOfFile 1,
    CreateMutexA 3, OpenMutexA 3, ReleaseMutex 1, CreateEventA 4, OpenEventA 3, SetEvent 1,
    ResetEvent 1, PulseEvent 1, CreateSemaphoreA 4, OpenSemaphoreA 3, ReleaseSemaphore 3,
    WaitForSingleObject 2, WaitForMultipleObjects 4, CloseHandle 1, DuplicateHandle 7,
    CreateThread 6, ExitThread 1, GetExitCodeThread 2, ResumeThread 1,
    TlsAlloc 0, TlsGetValue 1, TlsSetValue 2, TlsFree 1, GetCommandLineA 0,
    SetUnhandledExceptionFilter 1, GetModuleHandleA 1, GetModuleHandleW 1, GetProcAddress 2,
    LoadLibraryA 1, FreeLibrary 1, VirtualQuery 3, VirtualProtect 4,
    InitializeCriticalSection 1, EnterCriticalSection 1, LeaveCriticalSection 1,
    DeleteCriticalSection 1, GetStartupInfoA 1, IsDBCSLeadByteEx 2, MultiByteToWideChar 6,
    WideCharToMultiByte 8,
    CreatePipe 4, ReadFile 5, PeekNamedPipe 6, CreateNamedPipeA 8, ConnectNamedPipe 2,
    DisconnectNamedPipe 1, CreateFileA 7, WaitNamedPipeA 2, SetNamedPipeHandleState 4,
    SetHandleInformation 3, GetHandleInformation 2, CreateProcessA 10, GetExitCodeProcess 2,
    TerminateProcess 2, FlushViewOfFile 2, GetOverlappedResult 4, CancelIo 1, CancelIoEx 2,
    ReadFileEx 5, WriteFileEx 5, SleepEx 2, WaitForSingleObjectEx 3, WaitForMultipleObjectsEx 5,
    QueueUserAPC 3, CreateIoCompletionPort 4, GetQueuedCompletionStatus 5,
    PostQueuedCompletionStatus 4, TransactNamedPipe 7, CallNamedPipeA 7, CreateMailslotA 4,
    GetMailslotInfo 5, SetMailslotInfo 2, GetNamedPipeInfo 5, GetNamedPipeHandleStateA 7,
    GetNamedPipeClientProcessId 2, GetNamedPipeServerProcessId 2, GetQueuedCompletionStatusEx 6,
]
user32: [
    GetMessageA 4, PeekMessageA 5, PostThreadMessageA 4, PostMessageA 4, SendMessageA 4,
    RegisterClassA 1, RegisterClassExA 1, CreateWindowExA 12, DefWindowProcA 4,
    DispatchMessageA 1, TranslateMessage 1, PostQuitMessage 1, FindWindowA 2, FindWindowExA 4,
    DestroyWindow 1, RegisterWindowMessageA 1, IsWindow 1, GetWindowThreadProcessId 2,
    SetTimer 4, KillTimer 2, GetQueueStatus 1, SendMessageTimeoutA 7, SendNotifyMessageA 4,
    InSendMessage 0, InSendMessageEx 1, ReplyMessage 1, SendMessageCallbackA 6, WaitMessage 0,
    MsgWaitForMultipleObjects 5, MsgWaitForMultipleObjectsEx 5,
]
msvcrt: [
    __getmainargs, __p__acmdln, __p__commode, __p__fmode, __set_app_type, __setusermatherr,
    _amsg_exit, _cexit, _errno, _initterm, _lock, _unlock, _onexit, atexit, abort, exit, _exit,
    signal, printf, puts, sprintf, vsprintf, fprintf, vfprintf, fputc, putchar, fputs, fwrite,
    fflush, malloc, calloc, realloc, free, memcpy, memmove, memset, memcmp, strlen, strcmp,
    strncmp, strcpy, strchr, atoi, wcslen, strerror, setlocale, localeconv,
]
}

/// Functions whose `W` (UTF-16) variant ipcemu implements by the `A` one, reading string
/// arguments as UTF-16 (names compare the same either way: `CreateEventW(L"x")` and
/// `OpenEventA("x")` meet).
const WIDE: &[&str] = &[
    "CreateEventA",
    "OpenEventA",
    "CreateMutexA",
    "OpenMutexA",
    "CreateSemaphoreA",
    "OpenSemaphoreA",
    "CreateFileMappingA",
    "OpenFileMappingA",
    "CreateNamedPipeA",
    "CreateFileA",
    "WaitNamedPipeA",
    "CallNamedPipeA",
    "CreateMailslotA",
    "CreateProcessA",
    "GetCommandLineA",
    "WriteConsoleA",
    "PostThreadMessageA",
    "PostMessageA",
    "SendMessageA",
    "SendMessageTimeoutA",
    "SendNotifyMessageA",
    "SendMessageCallbackA",
    "GetMessageA",
    "PeekMessageA",
    "DispatchMessageA",
    "RegisterClassA",
    "RegisterClassExA",
    "CreateWindowExA",
    "DefWindowProcA",
    "FindWindowA",
    "FindWindowExA",
    "RegisterWindowMessageA",
];

/// The implementation of `dll!name` and whether it is a `W` variant (strings are UTF-16).
pub fn lookup_wide(dll: &str, name: &str) -> Option<(Func, bool)> {
    if let Some(f) = lookup(dll, name) {
        return Some((f, false));
    }
    let stem = name.strip_suffix('W')?;
    let a = format!("{stem}A");
    WIDE.contains(&a.as_str())
        .then(|| lookup(dll, &a))
        .flatten()
        .map(|f| (f, true))
}

/// The `n` handles of an array at `at` in thread `t`'s memory (`what` names it in a fault).
fn read_handles<M: GuestMemory>(
    k: &mut Kernel<M>,
    t: ThreadId,
    at: u32,
    n: u32,
    what: &str,
) -> Result<Vec<u32>, GuestFault> {
    let m = k.mem_of(t);
    (0..n)
        .map(|i| m.read_u32(at.wrapping_add(4 * i)).map_err(bad_ptr(what)))
        .collect()
}

/// Read a NUL-terminated UTF-16 string (at most 4096 units).
pub(crate) fn wstr<M: GuestMemory>(
    k: &mut Kernel<M>,
    t: ThreadId,
    p: u32,
    what: &str,
) -> Result<String, GuestFault> {
    let m = k.mem_of(t);
    let mut v = Vec::new();
    for i in 0..4096u32 {
        let c = m.read_u16(p.wrapping_add(2 * i)).map_err(bad_ptr(what))?;
        if c == 0 {
            break;
        }
        v.push(c);
    }
    Ok(String::from_utf16_lossy(&v))
}

/// msvcrt variables imported as data: the offset of each in the data region.
pub fn data_import(dll: &str, name: &str) -> Option<u32> {
    if !dll.eq_ignore_ascii_case("msvcrt.dll") {
        return None;
    }
    Some(match name {
        "_iob" => D_IOB,
        "__initenv" => D_INITENV,
        "_environ" => D_INITENV,
        "__mb_cur_max" => D_MB_CUR_MAX,
        "_acmdln" => D_ACMDLN,
        "_fmode" => D_FMODE,
        "_commode" => D_COMMODE,
        "__argc" => D_ARGC,
        "__argv" => D_ARGV_CELL,
        _ => return None,
    })
}

/// The `malloc` heap of a process: a bump allocator with first-fit reuse of freed blocks.
#[derive(Debug, Default)]
pub struct Heap {
    next: u32,
    free: Vec<(u32, u32)>,
    sizes: HashMap<u32, u32>,
}

/// What a function gives back.
pub(crate) enum R {
    /// eax; the stub returns.
    Val(u32),
    /// The run loop decides (blocked, ended, registers already set).
    Out(Outcome),
}

pub(crate) type Ret = Result<R, GuestFault>;

pub(crate) fn arg<M: GuestMemory>(
    k: &mut Kernel<M>,
    t: ThreadId,
    esp: u32,
    i: u32,
) -> Result<u32, GuestFault> {
    k.mem_of(t)
        .read_u32(esp.wrapping_add(4 + 4 * i))
        .map_err(bad_ptr("argument on the stack"))
}

pub(crate) fn cstr<M: GuestMemory>(
    k: &mut Kernel<M>,
    t: ThreadId,
    p: u32,
    what: &str,
) -> Result<String, GuestFault> {
    let b = pf::read_bytes(k.mem_of(t), p, 4096).map_err(bad_ptr(what))?;
    Ok(String::from_utf8_lossy(&b).into_owned())
}

impl Win32 {
    /// A string argument: UTF-16 in a `W` function, else bytes.
    pub(crate) fn sarg<M: GuestMemory>(
        &self,
        k: &mut Kernel<M>,
        t: ThreadId,
        p: u32,
        what: &str,
    ) -> Result<String, GuestFault> {
        if self.wide {
            wstr(k, t, p, what)
        } else {
            cstr(k, t, p, what)
        }
    }

    pub(crate) fn set_err<M: GuestMemory>(&self, k: &mut Kernel<M>, t: ThreadId, code: u32) {
        if let Some(ts) = self.threads.get(&t) {
            let _ = k.mem_of(t).write_u32(ts.teb + 0x34, code);
        }
    }

    pub(crate) fn ps(&mut self, p: ProcId) -> Result<&mut PState, GuestFault> {
        self.procs
            .get_mut(&p)
            .ok_or_else(|| GuestFault::Refused("Win32 call from a process that has ended".into()))
    }

    pub(crate) fn obj_of(&self, p: ProcId, t: ThreadId, h: u32) -> Option<ObjId> {
        if h == CURRENT_THREAD {
            return self.threads.get(&t).map(|x| x.obj);
        }
        if h == CURRENT_PROCESS {
            return self.procs.get(&p).map(|ps| ps.obj);
        }
        self.procs.get(&p)?.handles.get(&h).copied()
    }

    pub(crate) fn new_handle(&mut self, p: ProcId, o: ObjId) -> u32 {
        let Some(ps) = self.procs.get_mut(&p) else {
            return 0;
        };
        let h = ps.next_handle;
        ps.next_handle = ps.next_handle.wrapping_add(4);
        ps.handles.insert(h, o);
        h
    }

    /// The trap of one stub.
    pub(crate) fn dispatch<M: GuestMemory>(
        &mut self,
        k: &mut Kernel<M>,
        t: ThreadId,
        cpu: &mut dyn Cpu,
        at: u32,
    ) -> Result<Outcome, GuestFault> {
        let Some(p) = self.threads.get(&t).map(|x| x.proc) else {
            return Err(GuestFault::Refused(
                "int 0x2E from a thread the Win32 personality did not start".into(),
            ));
        };
        self.at = at;
        match at {
            crate::STUB_CALLBACK => return self.callback_returned(k, t, p, cpu),
            STUB_THREAD_RETURN => {
                let code = cpu.get(Reg::Eax);
                return self.thread_ends(k, t, p, cpu, code).map(|r| match r {
                    R::Out(o) => o,
                    R::Val(_) => Outcome::Continue,
                });
            }
            STUB_PROCESS_RETURN => {
                let code = cpu.get(Reg::Eax);
                return self.exit_process(k, t, cpu, code);
            }
            STUB_CHAIN_NEXT => return self.chain_next(k, t, cpu),
            _ => {}
        }
        let idx = at.wrapping_sub(STUB_FIRST);
        let stub = if (STUB_FIRST..TRAMPOLINE).contains(&at) && idx.is_multiple_of(8) {
            self.procs
                .get(&p)
                .and_then(|ps| ps.stubs.get((idx / 8) as usize))
                .cloned()
        } else {
            None
        };
        let Some(stub) = stub else {
            return Err(GuestFault::Refused(format!(
                "int 0x2E at {at:#010x}, which is not an import stub"
            )));
        };
        let esp = cpu.get(Reg::Esp);
        self.wide = stub.wide;
        let Some(f) = stub.func else {
            let ret = k.mem_of(t).read_u32(esp).unwrap_or(0);
            return Err(GuestFault::Unsupported {
                abi: "Win32",
                function: stub.label,
                detail: format!("(called from {ret:#010x})"),
            });
        };
        if f.is_user32() {
            let now = k.now_ns();
            self.user
                .queues
                .entry(t)
                .or_insert_with(|| crate::user::Queue::made_at(now));
        }
        match self.call(k, t, p, cpu, f, esp)? {
            R::Val(v) => {
                cpu.set(Reg::Eax, v);
                Ok(Outcome::Continue)
            }
            R::Out(o) => Ok(o),
        }
    }

    /// A thread ends (`ExitThread`, or its function returned): first the image's TLS
    /// callbacks with `DLL_THREAD_DETACH`, as guest calls, then the end.
    pub(crate) fn thread_ends<M: GuestMemory>(
        &mut self,
        k: &mut Kernel<M>,
        t: ThreadId,
        p: ProcId,
        cpu: &mut dyn Cpu,
        code: u32,
    ) -> Ret {
        let pending = self.threads.get(&t).is_some_and(|ts| !ts.detached);
        let (cbs, base) = self
            .procs
            .get(&p)
            .map(|ps| (ps.tls_callbacks.clone(), ps.image_base))
            .unwrap_or_default();
        if pending && !cbs.is_empty() {
            if let Some(ts) = self.threads.get_mut(&t) {
                ts.detached = true;
            }
            let mut rest = cbs;
            rest.reverse();
            return self.detach_next(k, t, cpu, rest, base, code, DLL_THREAD_DETACH);
        }
        Ok(R::Out(self.exit_thread(k, t, code)))
    }

    /// The next `DLL_THREAD_DETACH` (`reason` 3) callback of an ending thread, or
    /// `DLL_PROCESS_DETACH` (0) callback of an ending process (`rest`, from the end), or the
    /// end. A process detach passes a non-NULL `lpReserved`, as for process termination.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn detach_next<M: GuestMemory>(
        &mut self,
        k: &mut Kernel<M>,
        t: ThreadId,
        cpu: &mut dyn Cpu,
        mut rest: Vec<u32>,
        base: u32,
        code: u32,
        reason: u32,
    ) -> Ret {
        match rest.pop() {
            Some(cb) => {
                let frame = (cpu.get(Reg::Esp), STUB_THREAD_RETURN);
                let reserved = u32::from(reason == DLL_PROCESS_DETACH);
                let cont = crate::user::Cont::Detach {
                    rest,
                    base,
                    code,
                    reason,
                };
                self.call_guest(k, t, cpu, cb, [base, reason, reserved, 0], frame, cont)
            }
            None if reason == DLL_PROCESS_DETACH => Ok(R::Out(self.exit_process(k, t, cpu, code)?)),
            None => Ok(R::Out(self.exit_thread(k, t, code))),
        }
    }

    fn exit_thread<M: GuestMemory>(
        &mut self,
        k: &mut Kernel<M>,
        t: ThreadId,
        code: u32,
    ) -> Outcome {
        if let Some(ts) = self.threads.get_mut(&t) {
            ts.exit_code = Some(code);
        }
        let p = k.threads[t].proc;
        if k.procs[p].live_threads <= 1 {
            if let Some(ps) = self.procs.get_mut(&p) {
                ps.exit_code = Some(code);
            }
            if k.procs[p].exit.is_none() {
                k.procs[p].exit = Some(ExitStatus::Normal(code as i32));
            }
        }
        k.exit_thread(t);
        Outcome::Exit
    }

    /// The process ends (`ExitProcess`, or its entry point returned). As Windows does: the
    /// other threads end first (with the process's exit code, and no `DLL_THREAD_DETACH`),
    /// then the image's TLS callbacks are called with `DLL_PROCESS_DETACH` in this thread, as
    /// guest calls; then the end.
    fn exit_process<M: GuestMemory>(
        &mut self,
        k: &mut Kernel<M>,
        t: ThreadId,
        cpu: &mut dyn Cpu,
        code: u32,
    ) -> Result<Outcome, GuestFault> {
        let p = k.threads[t].proc;
        let Some(ps) = self.procs.get_mut(&p) else {
            k.exit_process(p, ExitStatus::Normal(code as i32));
            return Ok(Outcome::Exit);
        };
        ps.exit_code = Some(code);
        if !ps.detaching && !ps.tls_callbacks.is_empty() {
            ps.detaching = true;
            let (mut rest, base) = (ps.tls_callbacks.clone(), ps.image_base);
            rest.reverse();
            let others: Vec<ThreadId> = k.threads_alive_in(p).filter(|&x| x != t).collect();
            for x in others {
                if let Some(ts) = self.threads.get_mut(&x) {
                    ts.exit_code = Some(code);
                    ts.detached = true;
                }
                k.exit_thread(x);
            }
            if let Some(ts) = self.threads.get_mut(&t) {
                ts.detached = true;
            }
            return match self.detach_next(k, t, cpu, rest, base, code, DLL_PROCESS_DETACH)? {
                R::Out(o) => Ok(o),
                R::Val(_) => Ok(Outcome::Continue),
            };
        }
        k.exit_process(p, ExitStatus::Normal(code as i32));
        Ok(Outcome::Exit)
    }

    fn start_chain<M: GuestMemory>(
        &mut self,
        k: &mut Kernel<M>,
        t: ThreadId,
        cpu: &mut dyn Cpu,
        mut fns: Vec<u32>,
        exit: Option<u32>,
    ) -> Ret {
        fns.reverse();
        if let Some(ts) = self.threads.get_mut(&t) {
            ts.chain = Some(Chain { fns, exit, ret: 0 });
        }
        self.chain_next(k, t, cpu).map(R::Out)
    }

    fn chain_next<M: GuestMemory>(
        &mut self,
        k: &mut Kernel<M>,
        t: ThreadId,
        cpu: &mut dyn Cpu,
    ) -> Result<Outcome, GuestFault> {
        let Some(ts) = self.threads.get_mut(&t) else {
            return Err(GuestFault::Refused("chain stub without a thread".into()));
        };
        let Some(ch) = ts.chain.as_mut() else {
            return Err(GuestFault::Refused(
                "the C runtime's call-chain stub was reached with nothing to call".into(),
            ));
        };
        if let Some(f) = ch.fns.pop() {
            let esp = cpu.get(Reg::Esp).wrapping_sub(4);
            k.mem_of(t)
                .write_u32(esp, STUB_CHAIN_NEXT)
                .map_err(bad_ptr("stack (call of a C runtime handler)"))?;
            cpu.set(Reg::Esp, esp);
            cpu.set(Reg::Eip, f);
            return Ok(Outcome::Continue);
        }
        let ch = ts.chain.take();
        match ch {
            Some(Chain {
                exit: Some(code), ..
            }) => self.exit_process(k, t, cpu, code),
            Some(c) => {
                cpu.set(Reg::Eax, c.ret);
                Ok(Outcome::Continue)
            }
            None => Ok(Outcome::Continue),
        }
    }

    fn output<M: GuestMemory>(&self, k: &mut Kernel<M>, t: ThreadId, fd: u32, data: &[u8]) -> bool {
        match fd {
            1 | 2 => {
                k.output(t, data, fd == 2);
                true
            }
            _ => false,
        }
    }

    /// With `Options::view_snapshot`, a `w32_view` trace record per view of a mapping this
    /// process created: its first bytes, as they are when it signals (`SetEvent`, `PulseEvent`,
    /// `ReleaseMutex`). Shared memory is not traced byte by byte; this shows what a signal
    /// announces.
    fn snapshot_views<M: GuestMemory>(&self, k: &mut Kernel<M>, t: ThreadId, p: ProcId) {
        let n = self.opts.view_snapshot;
        if n == 0 || !k.trace_on {
            return;
        }
        let Some(ps) = self.procs.get(&p) else {
            return;
        };
        let mut views: Vec<(u32, ObjId)> = ps.views.iter().map(|(&a, &o)| (a, o)).collect();
        views.sort_unstable();
        for (base, o) in views {
            let size = match self.objs.get(o).map(|x| &x.kind) {
                Some(Kind::Mapping { size, owner, .. }) if *owner == p => *size,
                _ => continue,
            };
            let len = (n as u32).min(size);
            let mut buf = vec![0u8; len as usize];
            if k.mem_of(t).read(base, &mut buf).is_err() {
                continue;
            }
            let object = self.objs.label(o);
            let payload = ipcemu_kernel::trace::hex(&buf, buf.len());
            ipcemu_kernel::trace_rec!(
                k,
                t,
                "w32_view",
                crate::NAME,
                object = object.as_str(),
                addr = base,
                len = len,
                payload = payload.as_str()
            );
        }
    }

    /// The fd of a msvcrt `FILE *` (`_iob[0..3]`).
    fn file_fd(f: u32) -> Option<u32> {
        let base = DATA_BASE + D_IOB;
        let off = f.wrapping_sub(base);
        (off < 3 * FILE_SIZE && off.is_multiple_of(FILE_SIZE)).then_some(off / FILE_SIZE)
    }

    pub(crate) fn heap_alloc<M: GuestMemory>(
        &mut self,
        k: &mut Kernel<M>,
        t: ThreadId,
        p: ProcId,
        n: u32,
    ) -> Result<u32, GuestFault> {
        let ps = self.ps(p)?;
        if ps.heap.is_none() {
            if !k.mem_of(t).map_zeroed(HEAP_BASE, HEAP_SIZE) {
                return Ok(0);
            }
            ps.heap = Some(Heap {
                next: HEAP_BASE,
                ..Heap::default()
            });
        }
        let Some(h) = ps.heap.as_mut() else {
            return Ok(0);
        };
        let size = n.max(1).checked_next_multiple_of(16).unwrap_or(u32::MAX);
        if let Some(i) = h.free.iter().position(|&(_, s)| s >= size) {
            let (a, s) = h.free.swap_remove(i);
            h.sizes.insert(a, s);
            let _ = k.mem_of(t).zero(a, s);
            return Ok(a);
        }
        if (h.next as u64) + size as u64 > (HEAP_BASE + HEAP_SIZE) as u64 {
            return Ok(0);
        }
        let a = h.next;
        h.next += size;
        h.sizes.insert(a, size);
        Ok(a)
    }

    pub(crate) fn heap_free(&mut self, p: ProcId, a: u32) {
        if let Some(h) = self.procs.get_mut(&p).and_then(|ps| ps.heap.as_mut()) {
            if let Some(s) = h.sizes.remove(&a) {
                h.free.push((a, s));
            } else if a != 0 {
                tracing::warn!(
                    addr = format_args!("{a:#x}"),
                    "free of a pointer malloc did not return; ignored"
                );
            }
        }
    }

    /// Create or open a named object. Returns the handle (0 on failure, last error set).
    #[allow(clippy::too_many_arguments)]
    fn create_obj<M: GuestMemory>(
        &mut self,
        k: &mut Kernel<M>,
        t: ThreadId,
        p: ProcId,
        op: &str,
        name_ptr: u32,
        kind: Option<Kind>,
        want: &'static str,
    ) -> Ret {
        let name = if name_ptr == 0 {
            None
        } else {
            Some(self.sarg(k, t, name_ptr, "object name")?)
        };
        if name.as_ref().is_some_and(|n| n.chars().count() > MAX_PATH) {
            self.set_err(k, t, ERROR_FILENAME_EXCED_RANGE);
            return Ok(R::Val(0));
        }
        if let Some(n) = &name {
            if let Some(o) = self.objs.by_name(n) {
                let ty = self.objs.get(o).map_or("", |x| x.kind.type_name());
                if ty != want {
                    self.set_err(k, t, ERROR_INVALID_HANDLE);
                    self.rec(k, t, op, Some(o), 0, 0);
                    return Ok(R::Val(0));
                }
                self.objs.add_ref(o);
                let h = self.new_handle(p, o);
                self.set_err(
                    k,
                    t,
                    if kind.is_some() {
                        ERROR_ALREADY_EXISTS
                    } else {
                        0
                    },
                );
                self.rec(k, t, op, Some(o), h, h as i64);
                return Ok(R::Val(h));
            }
        }
        let Some(kind) = kind else {
            self.set_err(k, t, ERROR_FILE_NOT_FOUND);
            if k.trace_on {
                let n = name.unwrap_or_default();
                ipcemu_kernel::trace_rec!(
                    k,
                    t,
                    "w32_obj",
                    crate::NAME,
                    op = op,
                    object = n.as_str(),
                    handle = 0u32,
                    result = 0i64
                );
            }
            return Ok(R::Val(0));
        };
        let o = self.objs.create(name, kind);
        let h = self.new_handle(p, o);
        self.set_err(k, t, 0);
        self.rec(k, t, op, Some(o), h, h as i64);
        Ok(R::Val(h))
    }

    pub(crate) fn typed(&self, p: ProcId, t: ThreadId, h: u32, want: &str) -> Option<ObjId> {
        let o = self.obj_of(p, t, h)?;
        (self.objs.get(o)?.kind.type_name() == want).then_some(o)
    }

    /// `WaitForSingleObject(Ex)`, `WaitForMultipleObjects(Ex)` and, with `iw`,
    /// `MsgWaitForMultipleObjects(Ex)` (objects as `WaitForMultipleObjects` waits for them, or
    /// queue input; with `all`: every object and input). `alertable`: the caller's CPU, to run
    /// queued APCs.
    #[allow(clippy::too_many_arguments)]
    fn wait<M: GuestMemory>(
        &mut self,
        k: &mut Kernel<M>,
        t: ThreadId,
        p: ProcId,
        op: &'static str,
        hs: &[u32],
        all: bool,
        ms: u32,
        iw: Option<InputWait>,
        alertable: Option<&mut dyn Cpu>,
    ) -> Ret {
        let mut objs = Vec::with_capacity(hs.len());
        for &h in hs {
            match self.obj_of(p, t, h).filter(|&o| self.objs.waitable(o)) {
                Some(o) => objs.push(o),
                None => {
                    self.set_err(k, t, ERROR_INVALID_HANDLE);
                    self.rec(k, t, op, None, h, WAIT_FAILED as i64);
                    return Ok(R::Val(WAIT_FAILED));
                }
            }
        }
        if all {
            let mut s = objs.clone();
            s.sort_unstable();
            s.dedup();
            if s.len() != objs.len() {
                self.set_err(k, t, ERROR_INVALID_PARAMETER);
                return Ok(R::Val(WAIT_FAILED));
            }
        }
        let h0 = hs.first().copied().unwrap_or(0);
        if let Some(r) = self.try_wait_input(k, t, &objs, all, iw.as_ref()) {
            self.rec(k, t, op, objs.first().copied(), h0, r as i64);
            return Ok(R::Val(r));
        }
        // An alertable wait runs the queued APCs (objects first, as Windows' kernel does).
        let is_alertable = alertable.is_some();
        if let Some(cpu) = alertable {
            let after_call = (cpu.get(Reg::Esp), self.at.wrapping_add(2));
            if let Some(r) = self.run_apcs(k, t, cpu, after_call, false) {
                self.rec(
                    k,
                    t,
                    op,
                    objs.first().copied(),
                    h0,
                    WAIT_IO_COMPLETION as i64,
                );
                return r;
            }
        }
        if ms == 0 {
            self.rec(k, t, op, objs.first().copied(), h0, WAIT_TIMEOUT as i64);
            return Ok(R::Val(WAIT_TIMEOUT));
        }
        let text = WaitText::Objects {
            labels: objs.iter().map(|&o| self.objs.label_shared(o)).collect(),
            all,
            op,
            ms,
            input: iw.map(|x| x.mask),
        };
        self.rec(k, t, op, objs.first().copied(), h0, -1);
        let restart = is_alertable.then_some(self.at);
        self.block_on(k, t, objs, all, ms, text, restart, iw);
        Ok(R::Out(Outcome::Block))
    }

    /// Block on `objs` (and, with `input`, the queue) for `ms` (`INFINITE`: no time-out).
    #[allow(clippy::too_many_arguments)]
    fn block_on<M: GuestMemory>(
        &mut self,
        k: &mut Kernel<M>,
        t: ThreadId,
        objs: Vec<ObjId>,
        all: bool,
        ms: u32,
        text: WaitText,
        alertable: Option<u32>,
        input: Option<InputWait>,
    ) {
        self.next_wait += 1;
        let id = self.next_wait;
        let user = (ms != INFINITE).then(|| k.now_ns() + u64::from(ms) * 1_000_000);
        // A timer that comes due is input too (QS_TIMER): the wait ends then, unless it also
        // needs every object.
        let timer = match input {
            Some(iw) if iw.mask & QS_TIMER != 0 && !all => {
                self.next_timer_due(t, 0, 0, 0).map(|d| (d, iw.result))
            }
            _ => None,
        };
        let (deadline, at_deadline) = match (user, timer) {
            (Some(u), Some((d, r))) if d < u => (Some(d), r),
            (None, Some((d, r))) => (Some(d), r),
            (u, _) => (u, WAIT_TIMEOUT),
        };
        self.waiters.push(Waiter {
            t,
            id,
            objs,
            all,
            input,
            alertable,
        });
        k.block_current_on(
            WaitBlocker {
                id,
                text,
                at_deadline,
            },
            deadline,
        );
    }

    fn release_mutex<M: GuestMemory>(&mut self, k: &mut Kernel<M>, t: ThreadId, o: ObjId) -> bool {
        let ok = match self.objs.get_mut(o).map(|x| &mut x.kind) {
            Some(Kind::Mutex { owner, count, .. }) if *owner == Some(t) => {
                *count = count.saturating_sub(1);
                if *count == 0 {
                    *owner = None;
                }
                true
            }
            _ => false,
        };
        if ok {
            self.pump(k);
        }
        ok
    }

    #[allow(clippy::too_many_lines)]
    fn call<M: GuestMemory>(
        &mut self,
        k: &mut Kernel<M>,
        t: ThreadId,
        p: ProcId,
        cpu: &mut dyn Cpu,
        f: Func,
        esp: u32,
    ) -> Ret {
        let n = f.arg_bytes().map_or(0, |b| b / 4) as u32;
        let mut a = [0u32; 12];
        for (i, v) in a.iter_mut().enumerate().take(n as usize) {
            *v = arg(k, t, esp, i as u32)?;
        }
        if f.arg_bytes().is_none() {
            // cdecl: read what is there (functions read their own further arguments).
            for (i, v) in a.iter_mut().enumerate().take(4) {
                *v = k
                    .mem_of(t)
                    .read_u32(esp.wrapping_add(4 + 4 * i as u32))
                    .unwrap_or(0);
            }
        }
        let teb = self.threads.get(&t).map_or(0, |x| x.teb);
        use Func::*;
        // A process holds at most MAX_HANDLES handles: calls that would make more fail as
        // Windows' do when its handle table is full.
        let makes_handle = matches!(
            f,
            CreateFileMappingA
                | OpenFileMappingA
                | CreateMutexA
                | OpenMutexA
                | CreateEventA
                | OpenEventA
                | CreateSemaphoreA
                | OpenSemaphoreA
                | DuplicateHandle
                | CreateThread
                | CreatePipe
                | CreateNamedPipeA
                | CreateFileA
                | CreateProcessA
                | CreateIoCompletionPort
                | CreateMailslotA
        );
        if makes_handle
            && self
                .procs
                .get(&p)
                .is_some_and(|ps| ps.handles.len() + 2 > MAX_HANDLES)
        {
            self.set_err(k, t, ERROR_NO_SYSTEM_RESOURCES);
            let fail = match f {
                CreateNamedPipeA | CreateFileA | CreateMailslotA => INVALID_HANDLE_VALUE,
                _ => 0,
            };
            return Ok(R::Val(fail));
        }
        Ok(match f {
            // ----- process, threads ----------------------------------------------------
            ExitProcess => R::Out(self.exit_process(k, t, cpu, a[0])?),
            ExitThread => return self.thread_ends(k, t, p, cpu, a[0]),
            GetCurrentProcessId => R::Val(self.procs.get(&p).map_or(0, |ps| ps.pid)),
            GetCurrentThreadId => R::Val(k.threads[t].pid),
            GetCurrentProcess => R::Val(CURRENT_PROCESS),
            GetCurrentThread => R::Val(CURRENT_THREAD),
            GetCommandLineA if self.wide => R::Val(DATA_BASE + crate::D_CMDLINE_W),
            GetCommandLineA => R::Val(DATA_BASE + crate::D_CMDLINE),
            CreateThread => return self.create_thread(k, t, p, &a),
            GetExitCodeThread => match self.typed(p, t, a[0], "thread") {
                Some(o) => {
                    let code = match self.objs.get(o).map(|x| &x.kind) {
                        Some(Kind::Thread { exit: c, .. }) => c.unwrap_or(STILL_ACTIVE),
                        _ => STILL_ACTIVE,
                    };
                    k.mem_of(t)
                        .write_u32(a[1], code)
                        .map_err(bad_ptr("GetExitCodeThread: lpExitCode"))?;
                    R::Val(1)
                }
                None => {
                    self.set_err(k, t, ERROR_INVALID_HANDLE);
                    R::Val(0)
                }
            },
            ResumeThread => match self.typed(p, t, a[0], "thread") {
                Some(o) => {
                    let (prev, target) = match self.objs.get_mut(o).map(|x| &mut x.kind) {
                        Some(Kind::Thread {
                            t: tt, suspended, ..
                        }) => {
                            let prev = *suspended;
                            *suspended = suspended.saturating_sub(1);
                            (prev, (prev == 1).then_some(*tt))
                        }
                        _ => (0, None),
                    };
                    if let Some(tt) = target {
                        if k.blocker_of::<crate::objects::Suspended>(tt).is_some() {
                            k.wake(tt, Wake::Nothing);
                        }
                    }
                    self.rec(k, t, "ResumeThread", Some(o), a[0], prev as i64);
                    R::Val(prev)
                }
                None => {
                    self.set_err(k, t, ERROR_INVALID_HANDLE);
                    R::Val(u32::MAX)
                }
            },
            Sleep => {
                if a[0] == 0 {
                    return Ok(R::Out(Outcome::Yield));
                }
                let deadline = (a[0] != INFINITE).then(|| k.now_ns() + a[0] as u64 * 1_000_000);
                k.block_current(
                    Box::new(ipcemu_kernel::Sleep {
                        personality: crate::NAME,
                        text: "sleeps (Sleep)",
                    }),
                    deadline,
                );
                R::Out(Outcome::Block)
            }
            GetTickCount => R::Val((k.now_ns() / 1_000_000) as u32),
            QueryPerformanceCounter => {
                let v = k.now_ns() / 100;
                let m = k.mem_of(t);
                m.write_u32(a[0], v as u32)
                    .map_err(bad_ptr("QueryPerformanceCounter"))?;
                m.write_u32(a[0].wrapping_add(4), (v >> 32) as u32)
                    .map_err(bad_ptr("QueryPerformanceCounter"))?;
                R::Val(1)
            }
            QueryPerformanceFrequency => {
                let m = k.mem_of(t);
                m.write_u32(a[0], 10_000_000)
                    .map_err(bad_ptr("QueryPerformanceFrequency"))?;
                m.write_u32(a[0].wrapping_add(4), 0)
                    .map_err(bad_ptr("QueryPerformanceFrequency"))?;
                R::Val(1)
            }
            GetSystemTimeAsFileTime => {
                // 2000-01-01 plus the world's clock: deterministic.
                let v = 125_911_584_000_000_000u64 + k.now_ns() / 100;
                let m = k.mem_of(t);
                m.write_u32(a[0], v as u32)
                    .map_err(bad_ptr("GetSystemTimeAsFileTime"))?;
                m.write_u32(a[0].wrapping_add(4), (v >> 32) as u32)
                    .map_err(bad_ptr("GetSystemTimeAsFileTime"))?;
                R::Val(0)
            }
            // ----- last error, TLS -------------------------------------------------------
            GetLastError => R::Val(k.mem_of(t).read_u32(teb + 0x34).unwrap_or(0)),
            SetLastError => {
                self.set_err(k, t, a[0]);
                R::Val(0)
            }
            TlsAlloc => {
                let ps = self.ps(p)?;
                match ps.tls_used.iter().position(|u| !u) {
                    Some(i) => {
                        ps.tls_used[i] = true;
                        let tebs: Vec<u32> = self
                            .threads
                            .values()
                            .filter(|x| x.proc == p)
                            .map(|x| x.teb)
                            .collect();
                        for tb in tebs {
                            let _ = k.mem_of(t).write_u32(tb + 0xE10 + 4 * i as u32, 0);
                        }
                        R::Val(i as u32)
                    }
                    None => {
                        self.set_err(k, t, ERROR_NO_MORE_ITEMS);
                        R::Val(0xFFFF_FFFF)
                    }
                }
            }
            TlsFree | TlsGetValue | TlsSetValue => {
                let used = self
                    .procs
                    .get(&p)
                    .is_some_and(|ps| ps.tls_used.get(a[0] as usize).copied().unwrap_or(false));
                if !used {
                    self.set_err(k, t, ERROR_INVALID_PARAMETER);
                    return Ok(R::Val(0));
                }
                let slot = teb + 0xE10 + 4 * a[0];
                match f {
                    TlsFree => {
                        self.ps(p)?.tls_used[a[0] as usize] = false;
                        R::Val(1)
                    }
                    TlsGetValue => {
                        let v = k.mem_of(t).read_u32(slot).unwrap_or(0);
                        self.set_err(k, t, 0);
                        R::Val(v)
                    }
                    _ => {
                        let _ = k.mem_of(t).write_u32(slot, a[1]);
                        R::Val(1)
                    }
                }
            }
            // ----- console output --------------------------------------------------------
            GetStdHandle => R::Val(match a[0] as i32 {
                n @ -12..=-10 => self
                    .procs
                    .get(&p)
                    .map_or(STD_INPUT, |ps| ps.std[(-10 - n) as usize]),
                _ => {
                    self.set_err(k, t, ERROR_INVALID_HANDLE);
                    INVALID_HANDLE_VALUE
                }
            }),
            WriteConsoleA if self.wide => {
                // (handle, chars, count, written, reserved): UTF-16 to UTF-8.
                let n = a[2].min(1 << 22);
                let mut v = Vec::with_capacity(n as usize);
                for i in 0..n {
                    v.push(
                        k.mem_of(t)
                            .read_u16(a[1].wrapping_add(2 * i))
                            .map_err(bad_ptr("WriteConsoleW: lpBuffer"))?,
                    );
                }
                let text = String::from_utf16_lossy(&v);
                let h = a[0];
                match self.write_handle(k, t, p, h, text.as_bytes()) {
                    crate::io::WriteRes::Done(_) => {
                        if a[3] != 0 {
                            k.mem_of(t)
                                .write_u32(a[3], n)
                                .map_err(bad_ptr("WriteConsoleW: lpNumberOfCharsWritten"))?;
                        }
                        R::Val(1)
                    }
                    _ => {
                        self.set_err(k, t, ERROR_INVALID_HANDLE);
                        R::Val(0)
                    }
                }
            }
            WriteFile | WriteConsoleA => return self.write_file(k, t, p, cpu, &a),
            ReadFile => return self.read_file(k, t, p, cpu, &a),
            // ----- pipes, handles, processes ---------------------------------------------------
            CreatePipe => return self.create_pipe(k, t, p, &a),
            CreateNamedPipeA => return self.create_named_pipe(k, t, p, &a),
            ConnectNamedPipe => return self.connect_named_pipe(k, t, p, cpu, &a),
            DisconnectNamedPipe => return self.disconnect_named_pipe(k, t, p, &a),
            CreateFileA => return self.create_file(k, t, p, &a),
            WaitNamedPipeA => return self.wait_named_pipe(k, t, cpu, &a),
            SetNamedPipeHandleState => return self.set_pipe_state(k, t, p, &a),
            PeekNamedPipe => return self.peek_named_pipe(k, t, p, &a),
            SetHandleInformation => return self.handle_info(k, t, p, true, &a),
            GetHandleInformation => return self.handle_info(k, t, p, false, &a),
            CreateProcessA => return self.create_process(k, t, p, &a),
            GetExitCodeProcess => return self.exit_code_process(k, t, p, &a),
            TerminateProcess => return self.terminate_process(k, t, p, &a),
            FlushViewOfFile => R::Val(1),
            GetOverlappedResult => return self.get_overlapped_result(k, t, p, cpu, &a),
            CancelIo => return self.cancel_io_call(k, t, p, &a, false),
            CancelIoEx => return self.cancel_io_call(k, t, p, &a, true),
            // ----- USER32 ------------------------------------------------------------------------
            GetMessageA
            | PeekMessageA
            | PostThreadMessageA
            | PostMessageA
            | SendMessageA
            | RegisterClassA
            | RegisterClassExA
            | CreateWindowExA
            | DefWindowProcA
            | DispatchMessageA
            | TranslateMessage
            | PostQuitMessage
            | FindWindowA
            | FindWindowExA
            | DestroyWindow
            | RegisterWindowMessageA
            | IsWindow
            | GetWindowThreadProcessId
            | SetTimer
            | KillTimer
            | GetQueueStatus
            | SendMessageTimeoutA
            | SendNotifyMessageA
            | SendMessageCallbackA
            | WaitMessage
            | InSendMessage
            | InSendMessageEx
            | ReplyMessage => return self.user_call(k, t, p, cpu, f, &a),
            MsgWaitForMultipleObjects | MsgWaitForMultipleObjectsEx => {
                self.looked(k, t);
                // (nCount, pHandles, fWaitAll, dwMilliseconds, dwWakeMask) and
                // (nCount, pHandles, dwMilliseconds, dwWakeMask, dwFlags).
                let (all, ms, mask, available, alert) = if f == MsgWaitForMultipleObjects {
                    (a[2] != 0, a[3], a[4], false, false)
                } else {
                    let fl = a[4];
                    let (all, avail) = (fl & MWMO_WAITALL != 0, fl & MWMO_INPUTAVAILABLE != 0);
                    (all, a[2], a[3], avail, fl & MWMO_ALERTABLE != 0)
                };
                let op = f.name();
                if a[0] > MAXIMUM_WAIT_OBJECTS - 1 {
                    self.set_err(k, t, ERROR_INVALID_PARAMETER);
                    return Ok(R::Val(WAIT_FAILED));
                }
                let hs = read_handles(k, t, a[1], a[0], "MsgWaitForMultipleObjects: pHandles")?;
                let iw = InputWait {
                    mask,
                    available,
                    result: WAIT_OBJECT_0 + a[0],
                };
                let alertable = if alert { Some(cpu) } else { None };
                return self.wait(k, t, p, op, &hs, all, ms, Some(iw), alertable);
            }
            // ----- objects ------------------------------------------------------------------
            CreateEventA => {
                let kind = Kind::Event {
                    manual: a[1] != 0,
                    set: a[2] != 0,
                };
                return self.create_obj(k, t, p, "CreateEvent", a[3], Some(kind), "event");
            }
            OpenEventA => return self.create_obj(k, t, p, "OpenEvent", a[2], None, "event"),
            CreateMutexA => {
                let kind = Kind::Mutex {
                    owner: (a[1] != 0).then_some(t),
                    count: u32::from(a[1] != 0),
                    abandoned: false,
                };
                return self.create_obj(k, t, p, "CreateMutex", a[2], Some(kind), "mutex");
            }
            OpenMutexA => return self.create_obj(k, t, p, "OpenMutex", a[2], None, "mutex"),
            CreateSemaphoreA => {
                let (init, max) = (a[1] as i32, a[2] as i32);
                if max <= 0 || init < 0 || init > max {
                    self.set_err(k, t, ERROR_INVALID_PARAMETER);
                    return Ok(R::Val(0));
                }
                let kind = Kind::Semaphore { count: init, max };
                return self.create_obj(k, t, p, "CreateSemaphore", a[3], Some(kind), "semaphore");
            }
            OpenSemaphoreA => {
                return self.create_obj(k, t, p, "OpenSemaphore", a[2], None, "semaphore")
            }
            SetEvent | ResetEvent | PulseEvent => {
                let Some(o) = self.typed(p, t, a[0], "event") else {
                    self.set_err(k, t, ERROR_INVALID_HANDLE);
                    self.rec(k, t, f.name(), None, a[0], 0);
                    return Ok(R::Val(0));
                };
                let to = f != ResetEvent;
                if let Some(Kind::Event { set, .. }) = self.objs.get_mut(o).map(|x| &mut x.kind) {
                    *set = to;
                }
                if to {
                    self.pump(k);
                }
                if f == PulseEvent {
                    if let Some(Kind::Event { set, .. }) = self.objs.get_mut(o).map(|x| &mut x.kind)
                    {
                        *set = false;
                    }
                }
                self.rec(k, t, f.name(), Some(o), a[0], 1);
                self.snapshot_views(k, t, p);
                R::Val(1)
            }
            ReleaseMutex => {
                let ok = match self.typed(p, t, a[0], "mutex") {
                    Some(o) => {
                        let ok = self.release_mutex(k, t, o);
                        if !ok {
                            self.set_err(k, t, ERROR_NOT_OWNER);
                        }
                        self.rec(k, t, "ReleaseMutex", Some(o), a[0], ok as i64);
                        if ok {
                            self.snapshot_views(k, t, p);
                        }
                        ok
                    }
                    None => {
                        self.set_err(k, t, ERROR_INVALID_HANDLE);
                        false
                    }
                };
                R::Val(ok as u32)
            }
            ReleaseSemaphore => {
                let Some(o) = self.typed(p, t, a[0], "semaphore") else {
                    self.set_err(k, t, ERROR_INVALID_HANDLE);
                    return Ok(R::Val(0));
                };
                let n = a[1] as i32;
                let prev = match self.objs.get_mut(o).map(|x| &mut x.kind) {
                    Some(Kind::Semaphore { count, max })
                        if n > 0 && count.checked_add(n).is_some_and(|c| c <= *max) =>
                    {
                        let prev = *count;
                        *count += n;
                        Some(prev)
                    }
                    _ => None,
                };
                let Some(prev) = prev else {
                    self.set_err(
                        k,
                        t,
                        if n <= 0 {
                            ERROR_INVALID_PARAMETER
                        } else {
                            ERROR_TOO_MANY_POSTS
                        },
                    );
                    self.rec(k, t, "ReleaseSemaphore", Some(o), a[0], 0);
                    return Ok(R::Val(0));
                };
                if a[2] != 0 {
                    k.mem_of(t)
                        .write_u32(a[2], prev as u32)
                        .map_err(bad_ptr("ReleaseSemaphore: lpPreviousCount"))?;
                }
                self.pump(k);
                self.rec(k, t, "ReleaseSemaphore", Some(o), a[0], 1);
                R::Val(1)
            }
            WaitForSingleObject => {
                return self.wait(
                    k,
                    t,
                    p,
                    "WaitForSingleObject",
                    &[a[0]],
                    false,
                    a[1],
                    None,
                    None,
                )
            }
            WaitForMultipleObjects | WaitForMultipleObjectsEx => {
                // (nCount, lpHandles, bWaitAll, dwMilliseconds[, bAlertable])
                let n = a[0];
                if n == 0 || n > MAXIMUM_WAIT_OBJECTS {
                    self.set_err(k, t, ERROR_INVALID_PARAMETER);
                    return Ok(R::Val(WAIT_FAILED));
                }
                let op = f.name();
                let what = if f == WaitForMultipleObjects {
                    "WaitForMultipleObjects: lpHandles"
                } else {
                    "WaitForMultipleObjectsEx: lpHandles"
                };
                let hs = read_handles(k, t, a[1], n, what)?;
                let alertable = if f == WaitForMultipleObjectsEx && a[4] != 0 {
                    Some(cpu)
                } else {
                    None
                };
                return self.wait(k, t, p, op, &hs, a[2] != 0, a[3], None, alertable);
            }
            WaitForSingleObjectEx => {
                let alertable = if a[2] != 0 { Some(cpu) } else { None };
                let op = "WaitForSingleObjectEx";
                return self.wait(k, t, p, op, &[a[0]], false, a[1], None, alertable);
            }
            SleepEx => return self.sleep_ex(k, t, cpu, &a),
            QueueUserAPC => {
                let target = match self.obj_of(p, t, a[1]).and_then(|o| self.objs.get(o)) {
                    Some(o) => match o.kind {
                        Kind::Thread {
                            t: x, exit: None, ..
                        } => Some(x),
                        _ => None,
                    },
                    None => None,
                };
                let Some(x) = target else {
                    self.set_err(k, t, ERROR_INVALID_HANDLE);
                    return Ok(R::Val(0));
                };
                let apc = Apc {
                    f: a[0],
                    args: [a[2], 0, 0],
                };
                if !self.queue_apc(k, x, apc) {
                    self.set_err(k, t, ERROR_NOT_ENOUGH_QUOTA);
                    return Ok(R::Val(0));
                }
                R::Val(1)
            }
            ReadFileEx | WriteFileEx => return self.io_ex(k, t, p, f == ReadFileEx, &a),
            CreateIoCompletionPort => return self.create_iocp(k, t, p, &a),
            TransactNamedPipe => return self.transact_named_pipe(k, t, p, cpu, &a),
            CreateMailslotA => return self.create_mailslot(k, t, p, &a),
            GetNamedPipeInfo
            | GetNamedPipeHandleStateA
            | GetNamedPipeClientProcessId
            | GetNamedPipeServerProcessId => return self.named_pipe_info(k, t, p, f, &a),
            GetQueuedCompletionStatusEx => return self.get_iocp_ex(k, t, p, cpu, &a),
            GetMailslotInfo => return self.mailslot_info(k, t, p, &a, false),
            SetMailslotInfo => return self.mailslot_info(k, t, p, &a, true),
            CallNamedPipeA => return self.call_named_pipe(k, t, p, cpu, &a),
            GetQueuedCompletionStatus => return self.get_iocp(k, t, p, cpu, &a),
            PostQueuedCompletionStatus => return self.post_iocp(k, t, p, &a),
            CloseHandle => {
                if matches!(
                    a[0],
                    STD_INPUT | STD_OUTPUT | STD_ERROR | CURRENT_PROCESS | CURRENT_THREAD
                ) {
                    return Ok(R::Val(1));
                }
                match self.ps(p)?.handles.remove(&a[0]) {
                    Some(o) => {
                        self.rec(k, t, "CloseHandle", Some(o), a[0], 1);
                        self.release_obj(k, o);
                        R::Val(1)
                    }
                    None => {
                        self.set_err(k, t, ERROR_INVALID_HANDLE);
                        self.rec(k, t, "CloseHandle", None, a[0], 0);
                        R::Val(0)
                    }
                }
            }
            DuplicateHandle => {
                if a[0] != CURRENT_PROCESS || a[2] != CURRENT_PROCESS {
                    tracing::warn!("DuplicateHandle between processes is not supported yet");
                    self.set_err(k, t, ERROR_INVALID_HANDLE);
                    return Ok(R::Val(0));
                }
                let Some(o) = self.obj_of(p, t, a[1]) else {
                    self.set_err(k, t, ERROR_INVALID_HANDLE);
                    return Ok(R::Val(0));
                };
                self.objs.add_ref(o);
                let h = self.new_handle(p, o);
                if a[3] != 0 {
                    k.mem_of(t)
                        .write_u32(a[3], h)
                        .map_err(bad_ptr("DuplicateHandle: lpTargetHandle"))?;
                }
                if a[6] & DUPLICATE_CLOSE_SOURCE != 0 {
                    if let Some(o) = self.ps(p)?.handles.remove(&a[1]) {
                        self.release_obj(k, o);
                    }
                }
                self.rec(k, t, "DuplicateHandle", Some(o), h, h as i64);
                R::Val(1)
            }
            // ----- file mappings ---------------------------------------------------------
            CreateFileMappingA => {
                if a[0] != INVALID_HANDLE_VALUE {
                    tracing::warn!(
                        "CreateFileMappingA of a file is not supported (only INVALID_HANDLE_VALUE)"
                    );
                    self.set_err(k, t, ERROR_INVALID_HANDLE);
                    return Ok(R::Val(0));
                }
                let name_taken = a[5] != 0
                    && self
                        .objs
                        .by_name(&self.sarg(k, t, a[5], "mapping name")?)
                        .is_some();
                if name_taken {
                    return self.create_obj(
                        k,
                        t,
                        p,
                        "CreateFileMapping",
                        a[5],
                        Some(Kind::Event {
                            manual: true,
                            set: false,
                        }),
                        "file mapping",
                    );
                }
                if a[3] != 0 || a[4] == 0 || a[4] > 1 << 30 {
                    self.set_err(k, t, ERROR_INVALID_PARAMETER);
                    return Ok(R::Val(0));
                }
                let size = a[4];
                let Some(mem) = k.mem_of(t).alloc_shared(size.next_multiple_of(4096)) else {
                    self.set_err(k, t, ERROR_NOT_ENOUGH_MEMORY);
                    return Ok(R::Val(0));
                };
                return self.create_obj(
                    k,
                    t,
                    p,
                    "CreateFileMapping",
                    a[5],
                    Some(Kind::Mapping {
                        size,
                        mem,
                        owner: p,
                    }),
                    "file mapping",
                );
            }
            OpenFileMappingA => {
                return self.create_obj(k, t, p, "OpenFileMapping", a[2], None, "file mapping")
            }
            MapViewOfFile => {
                let Some(o) = self.typed(p, t, a[0], "file mapping") else {
                    self.set_err(k, t, ERROR_INVALID_HANDLE);
                    return Ok(R::Val(0));
                };
                let (size, mem) = match self.objs.get(o).map(|x| &x.kind) {
                    Some(Kind::Mapping { size, mem, .. }) => (*size, mem.clone()),
                    _ => return Ok(R::Val(0)),
                };
                if a[2] != 0 || a[3] != 0 || a[4] > size {
                    tracing::warn!(
                        "MapViewOfFile with an offset, or larger than the mapping: refused"
                    );
                    self.set_err(k, t, ERROR_INVALID_PARAMETER);
                    return Ok(R::Val(0));
                }
                let len = size.next_multiple_of(4096);
                let base = self.ps(p)?.next_view;
                if base as u64 + len as u64 > VIEW_END as u64
                    || !k.mem_of(t).map_shared(base, len, &mem)
                {
                    self.set_err(k, t, ERROR_NOT_ENOUGH_MEMORY);
                    return Ok(R::Val(0));
                }
                let ps = self.ps(p)?;
                ps.next_view = base + len;
                ps.views.insert(base, o);
                self.objs.add_ref(o);
                self.rec(k, t, "MapViewOfFile", Some(o), a[0], base as i64);
                R::Val(base)
            }
            UnmapViewOfFile => match self.ps(p)?.views.remove(&a[0]) {
                Some(o) => {
                    k.mem_of(t).unmap(a[0]);
                    self.rec(k, t, "UnmapViewOfFile", Some(o), 0, 1);
                    self.release_obj(k, o);
                    R::Val(1)
                }
                None => {
                    self.set_err(k, t, ERROR_INVALID_PARAMETER);
                    R::Val(0)
                }
            },
            // ----- critical sections (mutexes keyed by the structure's address) -------------
            InitializeCriticalSection => {
                k.mem_of(t)
                    .zero(a[0], 24)
                    .map_err(bad_ptr("InitializeCriticalSection"))?;
                R::Val(0)
            }
            EnterCriticalSection => {
                let o = match self.ps(p)?.crit.get(&a[0]) {
                    Some(&o) => o,
                    None => {
                        let o = self.objs.create(
                            None,
                            Kind::Mutex {
                                owner: None,
                                count: 0,
                                abandoned: false,
                            },
                        );
                        self.ps(p)?.crit.insert(a[0], o);
                        o
                    }
                };
                if self.objs.try_wait(t, &[o], false).is_some() {
                    return Ok(R::Val(0));
                }
                self.block_on(
                    k,
                    t,
                    vec![o],
                    false,
                    INFINITE,
                    WaitText::Text(format!("waits for the critical section at {:#x}", a[0])),
                    None,
                    None,
                );
                R::Out(Outcome::Block)
            }
            LeaveCriticalSection => {
                if let Some(&o) = self.ps(p)?.crit.get(&a[0]) {
                    self.release_mutex(k, t, o);
                }
                R::Val(0)
            }
            DeleteCriticalSection => {
                if let Some(o) = self.ps(p)?.crit.remove(&a[0]) {
                    self.release_obj(k, o);
                }
                R::Val(0)
            }
            // ----- modules, memory, start-up ----------------------------------------------
            SetUnhandledExceptionFilter => R::Val(0),
            GetModuleHandleA | GetModuleHandleW => {
                if a[0] == 0 {
                    R::Val(self.procs.get(&p).map_or(0, |ps| ps.image_base))
                } else {
                    self.set_err(k, t, ERROR_MOD_NOT_FOUND);
                    R::Val(0)
                }
            }
            LoadLibraryA => {
                self.set_err(k, t, ERROR_MOD_NOT_FOUND);
                R::Val(0)
            }
            FreeLibrary => R::Val(1),
            GetProcAddress => {
                self.set_err(k, t, ERROR_PROC_NOT_FOUND);
                R::Val(0)
            }
            VirtualQuery => {
                if a[2] < 28 {
                    return Ok(R::Val(0));
                }
                let base = a[0] & !0xFFF;
                let alloc = self.procs.get(&p).map_or(0, |ps| ps.image_base);
                let info = [base, alloc, 0x40, 0x1000, 0x1000, 0x40, 0x0100_0000];
                let m = k.mem_of(t);
                for (i, v) in info.iter().enumerate() {
                    m.write_u32(a[1].wrapping_add(4 * i as u32), *v)
                        .map_err(bad_ptr("VirtualQuery: lpBuffer"))?;
                }
                R::Val(28)
            }
            VirtualProtect => {
                if a[3] != 0 {
                    k.mem_of(t)
                        .write_u32(a[3], 0x40)
                        .map_err(bad_ptr("VirtualProtect: lpflOldProtect"))?;
                }
                R::Val(1)
            }
            GetStartupInfoA => {
                let m = k.mem_of(t);
                m.zero(a[0], 68).map_err(bad_ptr("GetStartupInfoA"))?;
                m.write_u32(a[0], 68).map_err(bad_ptr("GetStartupInfoA"))?;
                R::Val(0)
            }
            IsDBCSLeadByteEx => R::Val(0),
            MultiByteToWideChar => {
                let src = self.counted(k, t, a[2], a[3] as i32, 1)?;
                if a[5] == 0 {
                    return Ok(R::Val(src.len() as u32));
                }
                if (a[5] as usize) < src.len() {
                    self.set_err(k, t, 122);
                    return Ok(R::Val(0));
                }
                let w: Vec<u8> = src
                    .iter()
                    .flat_map(|&c| [c as u8, (c >> 8) as u8])
                    .collect();
                k.mem_of(t)
                    .write(a[4], &w)
                    .map_err(bad_ptr("MultiByteToWideChar"))?;
                R::Val(src.len() as u32)
            }
            WideCharToMultiByte => {
                let src = self.counted(k, t, a[2], a[3] as i32, 2)?;
                if a[5] == 0 {
                    return Ok(R::Val(src.len() as u32));
                }
                if (a[5] as usize) < src.len() {
                    self.set_err(k, t, 122);
                    return Ok(R::Val(0));
                }
                let b: Vec<u8> = src
                    .iter()
                    .map(|&c| if c < 256 { c as u8 } else { b'?' })
                    .collect();
                k.mem_of(t)
                    .write(a[4], &b)
                    .map_err(bad_ptr("WideCharToMultiByte"))?;
                R::Val(src.len() as u32)
            }
            // ----- msvcrt -----------------------------------------------------------------------
            __getmainargs => {
                let m = k.mem_of(t);
                let argc = m.read_u32(DATA_BASE + D_ARGC).unwrap_or(0);
                let e = bad_ptr("__getmainargs");
                m.write_u32(a[0], argc).map_err(&e)?;
                m.write_u32(a[1], DATA_BASE + crate::D_ARGV).map_err(&e)?;
                m.write_u32(a[2], DATA_BASE + D_ENV).map_err(&e)?;
                R::Val(0)
            }
            __p__acmdln => R::Val(DATA_BASE + D_ACMDLN),
            __p__commode => R::Val(DATA_BASE + D_COMMODE),
            __p__fmode => R::Val(DATA_BASE + D_FMODE),
            __set_app_type | __setusermatherr | _lock | _unlock => R::Val(0),
            _errno => R::Val(DATA_BASE + D_ERRNO),
            _amsg_exit => {
                let msg = format!("\nruntime error R60{:02}\n", a[0]);
                self.output(k, t, 2, msg.as_bytes());
                R::Out(self.exit_process(k, t, cpu, 255)?)
            }
            abort => {
                self.output(k, t, 2, b"\nabnormal program termination\n");
                R::Out(self.exit_process(k, t, cpu, 3)?)
            }
            _exit => R::Out(self.exit_process(k, t, cpu, a[0])?),
            exit | _cexit => {
                let fns = std::mem::take(&mut self.ps(p)?.onexit);
                let fns: Vec<u32> = fns.into_iter().rev().collect();
                let code = (f == exit).then_some(a[0]);
                return self.start_chain(k, t, cpu, fns, code);
            }
            _initterm => {
                let mut fns = Vec::new();
                let mut at = a[0];
                while at < a[1] && fns.len() < 65536 {
                    let fp = k
                        .mem_of(t)
                        .read_u32(at)
                        .map_err(bad_ptr("_initterm: table"))?;
                    if fp != 0 && fp != u32::MAX {
                        fns.push(fp);
                    }
                    at = at.wrapping_add(4);
                }
                return self.start_chain(k, t, cpu, fns, None);
            }
            _onexit | atexit => {
                self.ps(p)?.onexit.push(a[0]);
                R::Val(if f == atexit { 0 } else { a[0] })
            }
            signal => R::Val(0),
            printf | fprintf | vfprintf | sprintf | vsprintf => {
                let (fmt, mut list, dest) = match f {
                    printf => (a[0], ArgList { at: esp + 8 }, Dest::Fd(1)),
                    fprintf => (a[1], ArgList { at: esp + 12 }, Dest::File(a[0])),
                    vfprintf => (a[1], ArgList { at: a[2] }, Dest::File(a[0])),
                    sprintf => (a[1], ArgList { at: esp + 12 }, Dest::Mem(a[0])),
                    _ => (a[1], ArgList { at: a[2] }, Dest::Mem(a[0])),
                };
                let out = pf::format(k.mem_of(t), fmt, &mut list).map_err(bad_ptr(f.name()))?;
                self.put(k, t, p, cpu, dest, &out, f.name())?
            }
            puts => {
                let mut s = pf::read_bytes(k.mem_of(t), a[0], 1 << 20).map_err(bad_ptr("puts"))?;
                s.push(b'\n');
                match self.put(k, t, p, cpu, Dest::Fd(1), &s, "puts")? {
                    R::Val(u32::MAX) => R::Val(u32::MAX),
                    R::Val(_) => R::Val(0),
                    o => o,
                }
            }
            fputs => {
                let s = pf::read_bytes(k.mem_of(t), a[0], 1 << 20).map_err(bad_ptr("fputs"))?;
                match self.put(k, t, p, cpu, Dest::File(a[1]), &s, "fputs")? {
                    R::Val(u32::MAX) => R::Val(u32::MAX),
                    R::Val(_) => R::Val(0),
                    o => o,
                }
            }
            fputc | putchar => {
                let (c, dest) = if f == putchar {
                    (a[0], Dest::Fd(1))
                } else {
                    (a[0], Dest::File(a[1]))
                };
                match self.put(k, t, p, cpu, dest, &[c as u8], f.name())? {
                    R::Val(u32::MAX) => R::Val(u32::MAX),
                    R::Val(_) => R::Val(c & 0xFF),
                    o => o,
                }
            }
            fwrite => {
                let total = a[1].checked_mul(a[2]).unwrap_or(0).min(1 << 24);
                let mut buf = vec![0u8; total as usize];
                k.mem_of(t)
                    .read(a[0], &mut buf)
                    .map_err(bad_ptr("fwrite"))?;
                match self.put(k, t, p, cpu, Dest::File(a[3]), &buf, "fwrite")? {
                    R::Val(u32::MAX) => R::Val(0),
                    R::Val(_) => R::Val(total.checked_div(a[1]).unwrap_or(0)),
                    o => o,
                }
            }
            fflush => R::Val(0),
            malloc => {
                let r = self.heap_alloc(k, t, p, a[0])?;
                if r == 0 {
                    let _ = k.mem_of(t).write_u32(DATA_BASE + D_ERRNO, ENOMEM);
                }
                R::Val(r)
            }
            calloc => match a[0].checked_mul(a[1]) {
                Some(n) => {
                    let r = self.heap_alloc(k, t, p, n)?;
                    if r != 0 {
                        let _ = k.mem_of(t).zero(r, n);
                    }
                    R::Val(r)
                }
                None => R::Val(0),
            },
            realloc => {
                if a[0] == 0 {
                    return Ok(R::Val(self.heap_alloc(k, t, p, a[1])?));
                }
                let old = self
                    .procs
                    .get(&p)
                    .and_then(|ps| ps.heap.as_ref())
                    .and_then(|h| h.sizes.get(&a[0]).copied())
                    .unwrap_or(0);
                let r = self.heap_alloc(k, t, p, a[1])?;
                if r != 0 {
                    let mut buf = vec![0u8; old.min(a[1]) as usize];
                    k.mem_of(t)
                        .read(a[0], &mut buf)
                        .map_err(bad_ptr("realloc"))?;
                    k.mem_of(t).write(r, &buf).map_err(bad_ptr("realloc"))?;
                    self.heap_free(p, a[0]);
                }
                R::Val(r)
            }
            free => {
                self.heap_free(p, a[0]);
                R::Val(0)
            }
            memcpy | memmove => {
                let mut buf = vec![0u8; a[2].min(1 << 28) as usize];
                k.mem_of(t)
                    .read(a[1], &mut buf)
                    .map_err(bad_ptr("memcpy: source"))?;
                k.mem_of(t)
                    .write(a[0], &buf)
                    .map_err(bad_ptr("memcpy: destination"))?;
                R::Val(a[0])
            }
            memset => {
                let buf = vec![a[1] as u8; a[2].min(1 << 28) as usize];
                k.mem_of(t).write(a[0], &buf).map_err(bad_ptr("memset"))?;
                R::Val(a[0])
            }
            memcmp => {
                let mut x = vec![0u8; a[2].min(1 << 28) as usize];
                let mut y = x.clone();
                k.mem_of(t).read(a[0], &mut x).map_err(bad_ptr("memcmp"))?;
                k.mem_of(t).read(a[1], &mut y).map_err(bad_ptr("memcmp"))?;
                R::Val(ord(x.cmp(&y)))
            }
            strlen => R::Val(
                pf::read_bytes(k.mem_of(t), a[0], u32::MAX)
                    .map_err(bad_ptr("strlen"))?
                    .len() as u32,
            ),
            strcmp | strncmp => {
                let max = if f == strncmp { a[2] } else { u32::MAX };
                let x = pf::read_bytes(k.mem_of(t), a[0], max).map_err(bad_ptr("strcmp"))?;
                let y = pf::read_bytes(k.mem_of(t), a[1], max).map_err(bad_ptr("strcmp"))?;
                R::Val(ord(x.cmp(&y)))
            }
            strcpy => {
                let mut s = pf::read_bytes(k.mem_of(t), a[1], u32::MAX)
                    .map_err(bad_ptr("strcpy: source"))?;
                s.push(0);
                k.mem_of(t)
                    .write(a[0], &s)
                    .map_err(bad_ptr("strcpy: destination"))?;
                R::Val(a[0])
            }
            strchr => {
                let s = pf::read_bytes(k.mem_of(t), a[0], u32::MAX).map_err(bad_ptr("strchr"))?;
                let c = a[1] as u8;
                R::Val(if c == 0 {
                    a[0] + s.len() as u32
                } else {
                    s.iter()
                        .position(|&b| b == c)
                        .map_or(0, |i| a[0] + i as u32)
                })
            }
            atoi => {
                let s = cstr(k, t, a[0], "atoi")?;
                let s = s.trim_start();
                let (neg, digits) = match s.as_bytes().first() {
                    Some(b'-') => (true, &s[1..]),
                    Some(b'+') => (false, &s[1..]),
                    _ => (false, s),
                };
                let mut v: i32 = 0;
                for c in digits.bytes().take_while(u8::is_ascii_digit) {
                    v = v.wrapping_mul(10).wrapping_add((c - b'0') as i32);
                }
                R::Val(if neg { v.wrapping_neg() } else { v } as u32)
            }
            wcslen => {
                let mut n = 0u32;
                while k
                    .mem_of(t)
                    .read_u16(a[0].wrapping_add(2 * n))
                    .map_err(bad_ptr("wcslen"))?
                    != 0
                {
                    n += 1;
                }
                R::Val(n)
            }
            strerror => R::Val(DATA_BASE + D_STR_ERROR),
            setlocale => R::Val(DATA_BASE + D_STR_C),
            localeconv => R::Val(DATA_BASE + D_LCONV),
        })
    }

    /// A string argument with a count (-1: zero-terminated, terminator included) of
    /// `unit`-byte characters.
    fn counted<M: GuestMemory>(
        &self,
        k: &mut Kernel<M>,
        t: ThreadId,
        at: u32,
        n: i32,
        unit: u32,
    ) -> Result<Vec<u16>, GuestFault> {
        let m = k.mem_of(t);
        let mut v = Vec::new();
        let mut i = 0u32;
        loop {
            if n >= 0 && i >= n as u32 || i >= 1 << 20 {
                break;
            }
            let addr = at.wrapping_add(i * unit);
            let c = if unit == 2 {
                m.read_u16(addr).map_err(bad_ptr("string conversion"))?
            } else {
                let mut b = [0u8];
                m.read(addr, &mut b).map_err(bad_ptr("string conversion"))?;
                b[0] as u16
            };
            v.push(c);
            i += 1;
            if n < 0 && c == 0 {
                break;
            }
        }
        Ok(v)
    }

    #[allow(clippy::too_many_arguments)]
    fn put<M: GuestMemory>(
        &mut self,
        k: &mut Kernel<M>,
        t: ThreadId,
        p: ProcId,
        cpu: &mut dyn Cpu,
        dest: Dest,
        data: &[u8],
        what: &str,
    ) -> Ret {
        let fd = match dest {
            Dest::Fd(fd) => fd,
            Dest::File(fp) => match Self::file_fd(fp) {
                Some(fd @ (1 | 2)) => fd,
                _ => {
                    let _ = k.mem_of(t).write_u32(DATA_BASE + D_ERRNO, 9);
                    return Ok(R::Val(u32::MAX));
                }
            },
            Dest::Mem(at) => {
                let mut v = data.to_vec();
                v.push(0);
                k.mem_of(t).write(at, &v).map_err(bad_ptr(what))?;
                return Ok(R::Val(data.len() as u32));
            }
        };
        // stdout/stderr are the process's standard handles: the console, or a pipe.
        let h = self
            .procs
            .get(&p)
            .map_or(STD_OUTPUT, |ps| ps.std[fd as usize]);
        match self.write_handle(k, t, p, h, data) {
            crate::io::WriteRes::Done(_) => Ok(R::Val(data.len() as u32)),
            crate::io::WriteRes::Fail(_) => {
                let _ = k.mem_of(t).write_u32(DATA_BASE + D_ERRNO, 32); // EPIPE
                Ok(R::Val(u32::MAX))
            }
            crate::io::WriteRes::Wait(id) => {
                let text = format!("waits for room in pipe #{id} ({what})");
                Ok(self.block_retry(k, t, cpu, crate::Res::Pipe(id), "w32_pipe", text, None))
            }
        }
    }

    fn create_thread<M: GuestMemory>(
        &mut self,
        k: &mut Kernel<M>,
        t: ThreadId,
        p: ProcId,
        a: &[u32; 12],
    ) -> Ret {
        // (lpThreadAttributes, dwStackSize, lpStartAddress, lpParameter, dwCreationFlags, lpThreadId)
        let ps = self.ps(p)?;
        let Some(slot) = Win32::teb_slot_pub(ps) else {
            self.set_err(k, t, ERROR_TOO_MANY_THREADS);
            return Ok(R::Val(0));
        };
        let slot = if slot == 0 {
            // slot 0 belongs to the main thread's TEB (taken at start); never reused by others
            match Win32::teb_slot_pub(ps) {
                Some(s) => s,
                None => {
                    self.set_err(k, t, ERROR_TOO_MANY_THREADS);
                    return Ok(R::Val(0));
                }
            }
        } else {
            slot
        };
        let teb = TEB_BASE + slot * TEB_SLOT;
        let stack_lo = THREAD_STACKS + (slot - 1) * THREAD_STACK;
        let stack_hi = stack_lo + THREAD_STACK;
        if !ps.stacks_mapped.contains(&slot) {
            if !k.mem_of(t).map_zeroed(stack_lo, THREAD_STACK) {
                ps.teb_free.push(slot);
                self.set_err(k, t, ERROR_NOT_ENOUGH_MEMORY);
                return Ok(R::Val(0));
            }
            ps.stacks_mapped.insert(slot);
        }
        if a[1] > THREAD_STACK {
            tracing::warn!(requested = a[1], "CreateThread: stacks are 1 MiB in ipcemu");
        }
        let mut esp = stack_hi - 16;
        let m = k.mem_of(t);
        m.write_u32(esp, STUB_THREAD_RETURN)
            .map_err(bad_ptr("new thread stack"))?;
        m.write_u32(esp + 4, a[3])
            .map_err(bad_ptr("new thread stack"))?;
        // With TLS callbacks the thread starts in the start code, which calls them and then
        // returns to the function (on the stack above the return stub).
        let mut start = a[2];
        if let Some(ts) = self.procs.get(&p).and_then(|ps| ps.thread_start) {
            esp -= 4;
            k.mem_of(t)
                .write_u32(esp, a[2])
                .map_err(bad_ptr("new thread stack"))?;
            start = ts;
        }
        let Some(nt) = k.spawn_thread(p, start, esp) else {
            if let Some(ps) = self.procs.get_mut(&p) {
                ps.teb_free.push(slot);
            }
            self.set_err(k, t, ERROR_TOO_MANY_THREADS);
            return Ok(R::Val(0));
        };
        k.threads[nt].set_start_fs(teb);
        let tid = k.threads[nt].pid;
        let pid = self.procs.get(&p).map_or(0, |ps| ps.pid);
        if let Some(ps) = self.procs.get(&p) {
            let mem = &mut k.procs[p].mem;
            Win32::setup_teb_pub(mem, ps, teb, (stack_lo, stack_hi), (pid, tid))
                .map_err(GuestFault::Refused)?;
        }
        let suspended = u32::from(a[4] & CREATE_SUSPENDED != 0);
        let obj = self.objs.create(
            None,
            Kind::Thread {
                t: nt,
                exit: None,
                suspended,
            },
        );
        self.objs.add_ref(obj);
        let h = self.new_handle(p, obj);
        self.threads.insert(
            nt,
            TState {
                proc: p,
                teb,
                slot,
                obj,
                exit_code: None,
                chain: None,
                frames: Vec::new(),
                retry_deadline: None,
                detached: false,
                apcs: std::collections::VecDeque::new(),
                transact: None,
            },
        );
        if suspended != 0 {
            k.park(nt, Box::new(crate::objects::Suspended), None);
        }
        if a[5] != 0 {
            k.mem_of(t)
                .write_u32(a[5], tid)
                .map_err(bad_ptr("CreateThread: lpThreadId"))?;
        }
        self.rec(k, t, "CreateThread", Some(obj), h, tid as i64);
        Ok(R::Val(h))
    }
}

enum Dest {
    Fd(u32),
    File(u32),
    Mem(u32),
}

fn ord(o: std::cmp::Ordering) -> u32 {
    match o {
        std::cmp::Ordering::Less => u32::MAX,
        std::cmp::Ordering::Equal => 0,
        std::cmp::Ordering::Greater => 1,
    }
}
