//! KolibriOS file functions over the sandboxed file system (`ipcemu-vfs`, `--root`):
//! 70.x and 80.x (the same with an encoding field), 68.27/68.28 (load a whole file into the
//! heap), 68.19 (load a library, `core/dll.inc` `load_library`), and 70.7 (start a program as
//! a new process). Layouts and error codes follow the
//! kernel's `fs/fs_lfn.inc` (`file_system_lfn`, `fileSystemUnicode`,
//! `file_system_is_operation_safe`) and `core/taskman.inc` (`fs_execute`); see
//! `docs/kolibrios.md`.

use crate::{Kolibri, NAME};
use ipcemu_kernel::{
    trace_rec, Blocker, Cpu, GuestFault, GuestMemory, Kernel, MemFault, Outcome, ProcId, Reg,
    ThreadId, Wake,
};
use ipcemu_personality::{SpawnFailure, Spawned};
use ipcemu_vfs::{Meta, Vfs, VfsError};
use std::any::Any;
use std::collections::HashMap;

/// Kernel error codes (`fs/fs_lfn.inc`).
pub mod err {
    /// Success.
    pub const SUCCESS: u32 = 0;
    /// The function is not supported for this file system.
    pub const UNSUPPORTED_FS: u32 = 2;
    /// File or folder not found.
    pub const FILE_NOT_FOUND: u32 = 5;
    /// End of file (fewer bytes or entries than asked).
    pub const END_OF_FILE: u32 = 6;
    /// A buffer of the call is outside the program's memory.
    pub const MEMORY_POINTER: u32 = 7;
    /// Disk full (here: the file-size limit).
    pub const DISK_FULL: u32 = 8;
    /// Other file-system failure.
    pub const FS_FAIL: u32 = 9;
    /// Access denied.
    pub const ACCESS_DENIED: u32 = 10;
    /// 70.7: not an executable (`TASKMAN_ERROR_NOT_A_EXECUTABLE`).
    pub const NOT_EXECUTABLE: u32 = 31;
}

/// Longest path read from guest memory (the kernel's `maxPathLength`).
const MAX_PATH: u32 = 0x1000;
/// Largest single read or write a guest may ask for (bytes).
const MAX_IO: u32 = 64 << 20;
/// Most folder entries returned by one 70.1.
const MAX_ENTRIES: u32 = 4096;

/// Per-world state of the file functions.
#[derive(Debug, Default)]
pub struct Files {
    /// Current folder of each process (KolibriOS path) as it started; default `/sys`.
    cwd: HashMap<ProcId, String>,
    /// A thread's own current folder, once it or the thread that created it set one (30.1,
    /// 30.4): the kernel keeps one per thread (`APPDATA.cur_dir`), copied from the creating
    /// thread (`kernel/trunk/core/taskman.inc`).
    thread_cwd: HashMap<ThreadId, String>,
    /// 70.7 requests waiting for the run loop: request id -> the calling thread and the
    /// program's KolibriOS path.
    execs: HashMap<u64, (ThreadId, String)>,
    /// Libraries loaded by 68.19: (process, normalised path) -> export table address.
    libs: HashMap<(ProcId, String), u32>,
}

/// What a program started by 70.7 gets from its parent (`StartArgs::context`).
#[derive(Debug, Clone)]
pub struct ExecContext {
    /// Its KolibriOS path (written into the MENUET path buffer; its folder is its current
    /// folder).
    pub path: String,
}

/// A thread waiting in 70.7 for its program to start.
#[derive(Debug)]
struct ExecWait(String);

impl Blocker for ExecWait {
    fn personality(&self) -> &'static str {
        NAME
    }
    fn what(&self) -> &'static str {
        "exec"
    }
    fn describe(&self) -> String {
        format!("waits for function 70.7 to start {}", self.0)
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

fn code_of(e: &VfsError) -> u32 {
    match e {
        VfsError::NotFound(_) => err::FILE_NOT_FOUND,
        VfsError::Escape(_) | VfsError::ReadOnly(_) | VfsError::Denied(..) => err::ACCESS_DENIED,
        VfsError::TooLarge(_) => err::DISK_FULL,
        VfsError::Io(..) => err::FS_FAIL,
    }
}

/// CP866 byte to char (ASCII, the Cyrillic letters, Ё/ё; other bytes as U+FFFD).
fn cp866_char(b: u8) -> char {
    let u = match b {
        0..=0x7f => b as u32,
        0x80..=0xaf => 0x410 + (b as u32 - 0x80),
        0xe0..=0xef => 0x440 + (b as u32 - 0xe0),
        0xf0 => 0x401,
        0xf1 => 0x451,
        _ => 0xfffd,
    };
    char::from_u32(u).unwrap_or('\u{fffd}')
}

/// Char to CP866 (`?` when it has no CP866 byte).
fn cp866_byte(c: char) -> u8 {
    let u = c as u32;
    match u {
        0..=0x7f => u as u8,
        0x410..=0x43f => (u - 0x410 + 0x80) as u8,
        0x440..=0x44f => (u - 0x440 + 0xe0) as u8,
        0x401 => 0xf0,
        0x451 => 0xf1,
        _ => b'?',
    }
}

/// Read a zero-terminated name in encoding `enc` (1 CP866, 2 UTF-16LE, 3 UTF-8).
fn read_name<M: GuestMemory>(mem: &M, addr: u32, enc: u32) -> Result<String, MemFault> {
    if enc == 2 {
        let mut units = Vec::new();
        for i in 0..MAX_PATH / 2 {
            let u = mem.read_u16(addr.wrapping_add(2 * i))?;
            if u == 0 {
                break;
            }
            units.push(u);
        }
        return Ok(String::from_utf16_lossy(&units));
    }
    let mut bytes = Vec::new();
    for i in 0..MAX_PATH {
        let mut b = [0u8];
        mem.read(addr.wrapping_add(i), &mut b)?;
        if b[0] == 0 {
            break;
        }
        bytes.push(b[0]);
    }
    Ok(if enc == 3 {
        String::from_utf8_lossy(&bytes).into_owned()
    } else {
        bytes.into_iter().map(cp866_char).collect()
    })
}

/// A name of a 70.x string: a first byte 1, 2 or 3 selects its encoding (`getFullPath`).
fn read_name70<M: GuestMemory>(mem: &M, addr: u32) -> Result<String, MemFault> {
    let mut b = [0u8];
    mem.read(addr, &mut b)?;
    match b[0] {
        e @ 1..=3 => read_name(mem, addr.wrapping_add(1), e as u32),
        _ => read_name(mem, addr, 1),
    }
}

/// Name of a folder entry in encoding `enc`, zero-terminated, in `room` bytes.
fn encode_name(name: &str, enc: u32, room: usize) -> Vec<u8> {
    let mut v: Vec<u8> = match enc {
        2 => name
            .encode_utf16()
            .take(room / 2 - 1)
            .flat_map(u16::to_le_bytes)
            .collect(),
        3 => {
            let mut end = name.len().min(room - 1);
            while !name.is_char_boundary(end) {
                end -= 1;
            }
            name.as_bytes()[..end].to_vec()
        }
        _ => name.chars().take(room - 1).map(cp866_byte).collect(),
    };
    v.resize(room, 0);
    v
}

/// The current folder after 30.1/30.4 with `name` (`getFullPath`): an absolute name replaces
/// it, a relative one is appended after a `/`, an empty one keeps it. Then every `./` is
/// dropped and every `../` takes the segment before it away (a `.` or `..` at the very end,
/// with no `/` after it, stays, as in the kernel). `None` when a `../` would climb above the
/// first segment, or when the result does not fit the kernel's buffer (`maxPathLength`: an
/// encoding byte, at most [`MAX_FOLDER`] bytes and a zero); the kernel fails there, and ipcemu
/// then keeps the folder as it was.
fn set_folder(cur: &str, name: &str) -> Option<String> {
    let full = if name.is_empty() {
        return Some(cur.to_string());
    } else if name.starts_with('/') {
        name.to_string()
    } else {
        format!("{cur}/{name}")
    };
    let parts: Vec<&str> = full.split('/').collect();
    let last = parts.len() - 1;
    let mut out: Vec<&str> = Vec::new();
    for (i, seg) in parts.into_iter().enumerate() {
        match seg {
            "." if i < last => {}
            ".." if i < last => {
                // out[0] is the empty segment before the leading '/'; the first name after it
                // (the partition) cannot be climbed out of.
                if out.len() <= 2 {
                    return None;
                }
                out.pop();
            }
            s => out.push(s),
        }
    }
    let dir = out.join("/");
    (dir.len() <= MAX_FOLDER).then_some(dir)
}

/// The longest current folder, in bytes (UTF-8, as the kernel keeps it).
const MAX_FOLDER: usize = MAX_PATH as usize - 2;

/// The current folder as 30.2/30.5 write it into a buffer of `n` bytes in encoding `enc` (2
/// UTF-16LE, 3 UTF-8, else CP866): (bytes, eax). eax is the bytes written with the terminating
/// zero, or `n` when the folder was cut to fit (its last unit then zero).
fn folder_bytes(cur: &str, enc: u32, n: u32) -> (Vec<u8>, u32) {
    let n = n as usize;
    if enc == 2 {
        let units = n / 2;
        if units == 0 {
            return (Vec::new(), 0);
        }
        let mut v: Vec<u8> = cur
            .encode_utf16()
            .chain([0])
            .take(units)
            .flat_map(u16::to_le_bytes)
            .collect();
        let len = v.len();
        v[len - 2] = 0;
        v[len - 1] = 0;
        return (v, len as u32);
    }
    if n == 0 {
        return (Vec::new(), 0);
    }
    let mut v: Vec<u8> = if enc == 3 {
        cur.bytes().chain([0]).take(n).collect()
    } else {
        cur.chars().map(cp866_byte).chain([0]).take(n).collect()
    };
    let len = v.len();
    v[len - 1] = 0;
    (v, len as u32)
}

/// (year, month, day, hour, minute, second) of a Unix time (UTC).
fn civil(secs: u64) -> (u32, u32, u32, u32, u32, u32) {
    let days = (secs / 86400) as i64;
    let rem = secs % 86400;
    // Howard Hinnant's days_from_civil inverse.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (
        y as u32,
        m as u32,
        d as u32,
        (rem / 3600) as u32,
        (rem / 60 % 60) as u32,
        (rem % 60) as u32,
    )
}

/// Seconds since 1970 of a BDFE time and date (UTC): time bytes second, minute, hour; date
/// bytes day, month, then the year as a word. `None` for a date or time out of range.
fn bdfe_time(time: [u8; 4], date: [u8; 4]) -> Option<u64> {
    let (s, mi, h) = (u64::from(time[0]), u64::from(time[1]), u64::from(time[2]));
    let (d, m, y) = (
        i64::from(date[0]),
        i64::from(date[1]),
        i64::from(u16::from_le_bytes([date[2], date[3]])),
    );
    if s > 59 || mi > 59 || h > 23 || !(1..=12).contains(&m) || !(1..=31).contains(&d) || y < 1970 {
        return None;
    }
    // Howard Hinnant's days_from_civil.
    let yy = if m <= 2 { y - 1 } else { y };
    let era = yy.div_euclid(400);
    let yoe = yy - era * 400;
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    u64::try_from(days)
        .ok()
        .map(|days| days * 86_400 + h * 3600 + mi * 60 + s)
}

/// 70.10's new name as a path, for a file whose path has the components `comps` (at least
/// three: device, partition, name): a name starting with `/` from the partition's root folder,
/// another from the file's folder; `..` may not climb above the partition (the kernel's
/// `getFullPath` fails then), and the result must name something inside it. `None`: error 5.
fn rename_target(comps: &[String], new: &str) -> Option<String> {
    if comps.len() < 3 {
        return None;
    }
    let mut out: Vec<String> = if new.starts_with('/') {
        comps[..2].to_vec()
    } else {
        comps[..comps.len() - 1].to_vec()
    };
    for c in new.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                if out.len() <= 2 {
                    return None;
                }
                out.pop();
            }
            c => out.push(c.to_string()),
        }
    }
    (out.len() > 2).then(|| format!("/{}", out.join("/")))
}

/// The 40-byte BDFE header of a file or folder.
fn bdfe(m: &Meta, enc: u32) -> [u8; 40] {
    let mut r = [0u8; 40];
    let attr = if m.is_dir { 0x10u32 } else { 0 } | u32::from(m.readonly);
    r[0..4].copy_from_slice(&attr.to_le_bytes());
    r[4] = enc.clamp(1, 3) as u8;
    let (y, mo, d, h, mi, s) = civil(m.mtime);
    let time = [s as u8, mi as u8, h as u8, 0];
    let mut date = [d as u8, mo as u8, 0, 0];
    date[2..4].copy_from_slice(&(y as u16).to_le_bytes());
    for off in [8, 16, 24] {
        r[off..off + 4].copy_from_slice(&time);
        r[off + 4..off + 8].copy_from_slice(&date);
    }
    r[32..40].copy_from_slice(&m.size.to_le_bytes());
    r
}

/// The result of one file function: eax, and ebx when the function returns a count.
struct Res {
    eax: u32,
    ebx: Option<u32>,
    bytes: u64,
    /// The path led out of the root (worth a warning).
    escape: bool,
}

impl Res {
    fn code(eax: u32) -> Res {
        Res {
            eax,
            ebx: None,
            bytes: 0,
            escape: false,
        }
    }
    fn count(eax: u32, n: u32) -> Res {
        Res {
            ebx: Some(n),
            bytes: n as u64,
            ..Res::code(eax)
        }
    }
    /// A failed operation; `count`: the function also returns ebx = 0.
    fn fail(e: &VfsError, count: bool) -> Res {
        Res {
            ebx: count.then_some(0),
            escape: matches!(e, VfsError::Escape(_)),
            ..Res::code(code_of(e))
        }
    }
}

fn op_name(f: u32, sub: u32) -> String {
    let what = match sub {
        0 => "read",
        1 => "read_folder",
        2 => "create",
        3 => "write",
        4 => "set_size",
        5 => "info",
        6 => "set_attributes",
        7 => "start",
        8 => "delete",
        9 => "create_folder",
        10 => "rename",
        _ => "unknown",
    };
    format!("{f}.{sub} {what}")
}

/// Function 70/80 for the system-call log: `70.0 read("/sys/x")`.
pub(crate) fn strace_call<M: GuestMemory>(mem: &M, f: u32, blk: u32) -> String {
    let d = |o: u32| mem.read_u32(blk.wrapping_add(o)).ok();
    let Some(sub) = d(0) else {
        return format!("{f}(block={blk:#x})");
    };
    let name = if f == 80 {
        d(20)
            .zip(d(24))
            .and_then(|(e, p)| read_name(mem, p, e).ok())
    } else {
        let mut b = [0u8];
        match mem.read(blk.wrapping_add(20), &mut b) {
            Ok(()) if b[0] != 0 => read_name70(mem, blk.wrapping_add(20)).ok(),
            Ok(()) => d(21).and_then(|p| read_name70(mem, p).ok()),
            Err(_) => None,
        }
    };
    let op = op_name(f, sub);
    let (num, what) = op.split_once(' ').unwrap_or((&op, ""));
    format!("{num} {what}({:?})", name.unwrap_or_default())
}

impl Kolibri {
    /// Forget what the file functions kept for an ended process.
    pub(crate) fn files_proc_ended(&mut self, p: ProcId) {
        self.files.cwd.remove(&p);
        self.files.libs.retain(|(q, _), _| *q != p);
    }

    /// Thread `t`'s current folder (`p` is its process).
    fn cwd(&self, t: ThreadId, p: ProcId) -> &str {
        self.files
            .thread_cwd
            .get(&t)
            .or_else(|| self.files.cwd.get(&p))
            .map_or("/sys", String::as_str)
    }

    /// A thread ended: its own current folder goes.
    pub(crate) fn files_thread_ended(&mut self, t: ThreadId) {
        self.files.thread_cwd.remove(&t);
    }

    /// Thread `new` was created by `by` (51.1): it starts in its creator's current folder.
    pub(crate) fn files_thread_created(&mut self, by: ThreadId, new: ThreadId) {
        if let Some(dir) = self.files.thread_cwd.get(&by).cloned() {
            self.files.thread_cwd.insert(new, dir);
        }
    }

    /// Function 30 (`sys_current_directory`, `kernel/trunk/fs/fs_lfn.inc`): 1 and 4 set the
    /// thread's current folder, 2 and 5 copy it out; 3 (an additional system folder) is
    /// accepted and does nothing; others return at once. eax is written only by 2 and 5.
    pub(crate) fn sys_cur_dir<M: GuestMemory>(
        &mut self,
        k: &mut Kernel<M>,
        t: ThreadId,
        cpu: &mut dyn Cpu,
        sub: u32,
    ) -> Outcome {
        let (ecx, edx, esi) = (cpu.get(Reg::Ecx), cpu.get(Reg::Edx), cpu.get(Reg::Esi));
        let p = k.threads[t].proc;
        match sub {
            1 | 4 => {
                let mem = &k.procs[p].mem;
                let name = if sub == 1 || edx == 0 {
                    read_name70(mem, ecx)
                } else {
                    read_name(mem, ecx, if edx == 2 || edx == 3 { edx } else { 1 })
                };
                let name = match name {
                    Ok(n) => n,
                    Err(fault) => {
                        return Outcome::fault(GuestFault::BadPointer {
                            what: format!("function 30.{sub} set current folder: name at {ecx:#x}"),
                            fault,
                        })
                    }
                };
                if let Some(dir) = set_folder(self.cwd(t, p), &name) {
                    self.files.thread_cwd.insert(t, dir);
                }
                Outcome::Continue
            }
            2 | 5 => {
                let enc = if sub == 2 { 1 } else { esi };
                let n = if ecx as u64 + edx as u64 > 0x8000_0000 {
                    0
                } else {
                    edx.min(MAX_PATH)
                };
                let (bytes, eax) = folder_bytes(self.cwd(t, p), enc, n);
                if !bytes.is_empty() {
                    if let Err(fault) = k.procs[p].mem.write(ecx, &bytes) {
                        return Outcome::fault(GuestFault::BadPointer {
                            what: format!(
                                "function 30.{sub} get current folder: buffer at {ecx:#x}"
                            ),
                            fault,
                        });
                    }
                }
                cpu.set(Reg::Eax, eax);
                Outcome::Continue
            }
            _ => Outcome::Continue,
        }
    }

    /// An absolute KolibriOS path for `name` (relative names are in the current folder).
    fn absolute(&self, t: ThreadId, p: ProcId, name: &str) -> String {
        if name.starts_with('/') {
            name.to_string()
        } else {
            format!("{}/{name}", self.cwd(t, p).trim_end_matches('/'))
        }
    }

    fn warn_escape<M: GuestMemory>(k: &Kernel<M>, t: ThreadId, path: &str) {
        let th = &k.threads[t];
        tracing::warn!(
            "guest {} (PID {}) asked for {path}, which leads out of the --root folder through a symbolic link; refused with error 10",
            k.procs[th.proc].name,
            th.pid
        );
    }

    fn trace_file<M: GuestMemory>(
        k: &Kernel<M>,
        t: ThreadId,
        op: &str,
        path: &str,
        result: i64,
        bytes: u64,
    ) {
        if k.trace_on {
            trace_rec!(
                k,
                t,
                "file",
                NAME,
                op = op,
                object = path,
                result = result,
                len = bytes
            );
        }
    }

    /// Functions 70 (`unicode` false) and 80 (true): ebx points at the parameter block.
    pub(crate) fn sys_file<M: GuestMemory>(
        &mut self,
        k: &mut Kernel<M>,
        t: ThreadId,
        cpu: &mut dyn Cpu,
        unicode: bool,
    ) -> Outcome {
        let f = if unicode { 80 } else { 70 };
        let blk = cpu.get(Reg::Ebx);
        let p = k.threads[t].proc;
        let bad = |fault| {
            Outcome::fault(GuestFault::BadPointer {
                what: format!("function {f}: parameter block or file name at {blk:#x}"),
                fault,
            })
        };
        let mut raw = [0u8; 28];
        let len = if unicode { 28 } else { 25 };
        if let Err(fault) = k.procs[p].mem.read(blk, &mut raw[..len]) {
            return bad(fault);
        }
        let d = |o: usize| u32::from_le_bytes([raw[o], raw[o + 1], raw[o + 2], raw[o + 3]]);
        let (sub, a, b, c, buf) = (d(0), d(4), d(8), d(12), d(16));
        let name = {
            let mem = &k.procs[p].mem;
            if unicode {
                read_name(mem, d(24), d(20))
            } else if raw[20] != 0 {
                read_name70(mem, blk.wrapping_add(20))
            } else {
                read_name70(mem, d(21))
            }
        };
        let name = match name {
            Ok(n) => n,
            Err(fault) => return bad(fault),
        };
        let path = self.absolute(t, p, &name);
        let op = op_name(f, sub);
        if sub == 7 {
            return self.exec(k, t, cpu, &op, &path, b);
        }
        let res = if sub == 10 {
            // 70.10: +16 points at the new name (function 80: in the name's encoding).
            let new = {
                let mem = &k.procs[p].mem;
                if unicode {
                    read_name(mem, buf, d(20))
                } else {
                    read_name70(mem, buf)
                }
            };
            let new = match new {
                Ok(n) => n,
                Err(fault) => return bad(fault),
            };
            self.rename(&path, &new)
        } else {
            self.file_op(k, p, sub, a, b, c, buf, &path)
        };
        Self::trace_file(k, t, &op, &path, res.eax as i64, res.bytes);
        if res.escape {
            Self::warn_escape(k, t, &path);
        }
        if res.eax != 0 && res.eax != err::END_OF_FILE {
            tracing::debug!(
                op = op.as_str(),
                path = path.as_str(),
                code = res.eax,
                "file function failed"
            );
        }
        cpu.set(Reg::Eax, res.eax);
        if let Some(n) = res.ebx {
            cpu.set(Reg::Ebx, n);
        }
        Outcome::Continue
    }

    #[allow(clippy::too_many_arguments)]
    fn file_op<M: GuestMemory>(
        &mut self,
        k: &mut Kernel<M>,
        p: ProcId,
        sub: u32,
        a: u32,
        b: u32,
        c: u32,
        buf: u32,
        path: &str,
    ) -> Res {
        let Some(vfs) = self.opts.vfs.as_ref() else {
            return Res::code(err::FILE_NOT_FOUND);
        };
        let mem = &mut k.procs[p].mem;
        let offset = (a as u64) | (b as u64) << 32;
        match sub {
            0 => {
                if c > MAX_IO || !mem.contains(buf, c) {
                    return Res::code(err::MEMORY_POINTER);
                }
                match vfs.read(path, offset, c as usize) {
                    Ok(data) => {
                        if mem.write(buf, &data).is_err() {
                            return Res::code(err::MEMORY_POINTER);
                        }
                        let n = data.len() as u32;
                        Res::count(if n < c { err::END_OF_FILE } else { 0 }, n)
                    }
                    Err(e) => Res::fail(&e, true),
                }
            }
            1 => {
                let (first, enc, count) = (a, if b == 0 { 1 } else { b }, c.min(MAX_ENTRIES));
                if !(1..=3).contains(&enc) {
                    return Res::count(err::UNSUPPORTED_FS, 0);
                }
                let room = if enc == 2 { 520 } else { 264 };
                if !mem.contains(buf, 32 + count * (40 + room as u32)) {
                    return Res::code(err::MEMORY_POINTER);
                }
                let entries = match vfs.read_dir(path) {
                    Ok(v) => v,
                    Err(e) => return Res::fail(&e, true),
                };
                let total = entries.len() as u32;
                let take: Vec<_> = entries
                    .into_iter()
                    .skip(first as usize)
                    .take(count as usize)
                    .collect();
                let n = take.len() as u32;
                let mut out = vec![0u8; 32];
                out[0] = 1;
                out[4..8].copy_from_slice(&n.to_le_bytes());
                out[8..12].copy_from_slice(&total.to_le_bytes());
                for e in &take {
                    out.extend_from_slice(&bdfe(&e.meta, enc));
                    out.extend_from_slice(&encode_name(&e.name, enc, room));
                }
                if mem.write(buf, &out).is_err() {
                    return Res::code(err::MEMORY_POINTER);
                }
                Res::count(if n < count { err::END_OF_FILE } else { 0 }, n)
            }
            2 | 3 => {
                if c > MAX_IO {
                    return Res::count(err::DISK_FULL, 0);
                }
                let mut data = vec![0u8; c as usize];
                if mem.read(buf, &mut data).is_err() {
                    return Res::code(err::MEMORY_POINTER);
                }
                let r = if sub == 2 {
                    vfs.create(path, &data)
                } else {
                    vfs.write(path, offset, &data)
                };
                match r {
                    Ok(()) => Res::count(0, c),
                    Err(e) => Res::fail(&e, true),
                }
            }
            4 => match vfs.set_size(path, offset) {
                Ok(()) => Res::code(0),
                Err(e) => Res::fail(&e, false),
            },
            5 => {
                if !mem.contains(buf, 40) {
                    return Res::code(err::MEMORY_POINTER);
                }
                match vfs.info(path) {
                    Ok(m) => {
                        if mem.write(buf, &bdfe(&m, 1)).is_err() {
                            return Res::code(err::MEMORY_POINTER);
                        }
                        Res::code(0)
                    }
                    Err(e) => Res::fail(&e, false),
                }
            }
            8 => match vfs.delete(path) {
                Ok(()) => Res::code(0),
                Err(e) => Res::fail(&e, false),
            },
            9 => match vfs.mkdir(path) {
                Ok(()) => Res::code(0),
                Err(e) => Res::fail(&e, false),
            },
            6 => {
                // The first 32 bytes of a BDFE: attributes (only read-only, bit 0, has a host
                // meaning; folder and volume bits are not changed, the others are not kept),
                // creation (not settable on the host), access and modification times.
                let mut h = [0u8; 32];
                if mem.read(buf, &mut h).is_err() {
                    return Res::code(err::MEMORY_POINTER);
                }
                let w = |o: usize| [h[o], h[o + 1], h[o + 2], h[o + 3]];
                let readonly = h[0] & 1 != 0;
                let accessed = bdfe_time(w(16), w(20));
                let modified = bdfe_time(w(24), w(28));
                match vfs.set_info(path, readonly, accessed, modified) {
                    Ok(()) => Res::code(0),
                    Err(e) => Res::fail(&e, false),
                }
            }
            _ => Res::code(err::UNSUPPORTED_FS),
        }
    }

    /// 70.10 / 80.10: rename or move `path` to `new` within its partition.
    fn rename(&self, path: &str, new: &str) -> Res {
        let Some(vfs) = self.opts.vfs.as_ref() else {
            return Res::code(err::FILE_NOT_FOUND);
        };
        let comps = match Vfs::components(path) {
            Ok(c) => c,
            Err(e) => return Res::fail(&e, false),
        };
        // Virtual folders (`/`, `/hd0`, `/hd0/1`) cannot be renamed.
        if comps.len() < 3 {
            return Res::code(err::ACCESS_DENIED);
        }
        let Some(to) = rename_target(&comps, new) else {
            return Res::code(err::FILE_NOT_FOUND);
        };
        match vfs.rename(path, &to) {
            Ok(()) => Res::code(0),
            Err(e) => Res::fail(&e, false),
        }
    }

    /// 68.27 (ecx = a 70-style name; `enc` None) and 68.28 (ecx = name, edx = its encoding
    /// `enc`): load a whole file into new heap memory: eax = its address, edx = its size; eax = 0 when it cannot be loaded.
    pub(crate) fn load_file<M: GuestMemory>(
        &mut self,
        k: &mut Kernel<M>,
        t: ThreadId,
        cpu: &mut dyn Cpu,
        enc: Option<u32>,
    ) -> Outcome {
        let p = k.threads[t].proc;
        let ptr = cpu.get(Reg::Ecx);
        let op = match enc {
            None => "68.27 load_file",
            Some(_) => "68.28 load_file",
        };
        let name = {
            let mem = &k.procs[p].mem;
            match enc {
                None => read_name70(mem, ptr),
                Some(e) => read_name(mem, ptr, if e == 0 { 1 } else { e }),
            }
        };
        let name = match name {
            Ok(n) => n,
            Err(fault) => {
                return Outcome::fault(GuestFault::BadPointer {
                    what: format!("function {op}: file name at {ptr:#x}"),
                    fault,
                })
            }
        };
        let path = self.absolute(t, p, &name);
        let data = match self.opts.vfs.as_ref() {
            None => Err(err::FILE_NOT_FOUND),
            Some(v) => v.load(&path, MAX_IO as u64).map_err(|e| {
                if matches!(e, VfsError::Escape(_)) {
                    Self::warn_escape(k, t, &path);
                }
                code_of(&e)
            }),
        };
        // As the kernel's load_file_umode: a kpack file is given unpacked.
        let data = data.and_then(|d| {
            if ipcemu_loader::kpack::is_kpack(&d) {
                ipcemu_loader::kpack::unpack(&d).map_err(|e| {
                    tracing::debug!(path = path.as_str(), error = %e, "68.27: kpack file not unpacked");
                    err::FS_FAIL
                })
            } else {
                Ok(d)
            }
        });
        let (addr, size, code) = match data {
            Ok(d) => {
                let size = d.len() as u32;
                let addr = self.heap_alloc(k, p, size.max(1));
                if addr != 0 && k.procs[p].mem.write(addr, &d).is_ok() {
                    (addr, size, 0)
                } else {
                    (0, 0, err::DISK_FULL)
                }
            }
            Err(c) => (0, 0, c),
        };
        Self::trace_file(k, t, op, &path, code as i64, size as u64);
        cpu.set(Reg::Edx, size);
        cpu.set(Reg::Eax, addr);
        Outcome::Continue
    }

    /// 68.19: load the library named at ecx (an MS COFF object, kpack allowed) into the heap,
    /// relocated; eax = its export table, 0 on any failure. A library is loaded once per
    /// process (the kernel's `dlls_list`): loading it again gives the same table.
    pub(crate) fn load_library<M: GuestMemory>(
        &mut self,
        k: &mut Kernel<M>,
        t: ThreadId,
        cpu: &mut dyn Cpu,
    ) -> Outcome {
        let op = "68.19 load_library";
        let p = k.threads[t].proc;
        let ptr = cpu.get(Reg::Ecx);
        let name = match read_name70(&k.procs[p].mem, ptr) {
            Ok(n) => n,
            Err(fault) => {
                return Outcome::fault(GuestFault::BadPointer {
                    what: format!("function {op}: file name at {ptr:#x}"),
                    fault,
                })
            }
        };
        let path = self.absolute(t, p, &name);
        let key = (
            p,
            ipcemu_vfs::Vfs::components(&path)
                .map(|c| c.join("/"))
                .unwrap_or_default(),
        );
        let result = match self.files.libs.get(&key) {
            Some(&e) => Ok((e, 0)),
            None => self.link_library(k, p, &path),
        };
        let (eax, code, size) = match result {
            Ok((e, size)) => {
                self.files.libs.insert(key, e);
                (e, 0, size)
            }
            Err(c) => (0, c, 0),
        };
        Self::trace_file(k, t, op, &path, code as i64, size as u64);
        cpu.set(Reg::Eax, eax);
        Outcome::Continue
    }

    /// Read, unpack, lay out and relocate a library into new heap memory: (exports, size).
    fn link_library<M: GuestMemory>(
        &mut self,
        k: &mut Kernel<M>,
        p: ProcId,
        path: &str,
    ) -> Result<(u32, u32), u32> {
        use ipcemu_loader::{coff, kpack};
        let vfs = self.opts.vfs.as_ref().ok_or(err::FILE_NOT_FOUND)?;
        let mut data = vfs.load(path, MAX_IO as u64).map_err(|e| code_of(&e))?;
        if kpack::is_kpack(&data) {
            data = kpack::unpack(&data).map_err(|_| err::FS_FAIL)?;
        }
        let lib = coff::Library::parse(&data).map_err(|e| {
            tracing::debug!(path, error = %e, "68.19: not a library");
            err::NOT_EXECUTABLE
        })?;
        let size = lib.size();
        let base = self.heap_alloc(k, p, size);
        if base == 0 {
            return Err(err::DISK_FULL);
        }
        let (img, exports) = lib.link(base).map_err(|e| {
            tracing::debug!(path, error = %e, "68.19: the library cannot be linked");
            err::NOT_EXECUTABLE
        })?;
        k.procs[p]
            .mem
            .write(base, &img)
            .map_err(|_| err::MEMORY_POINTER)?;
        Ok((exports, size))
    }

    /// 70.7: start the program at `path` with the parameters at `params` (0 = none). The
    /// caller waits until the run loop has started it; eax = PID or the negated error.
    fn exec<M: GuestMemory>(
        &mut self,
        k: &mut Kernel<M>,
        t: ThreadId,
        cpu: &mut dyn Cpu,
        op: &str,
        path: &str,
        params: u32,
    ) -> Outcome {
        let p = k.threads[t].proc;
        let fail = |k: &Kernel<M>, cpu: &mut dyn Cpu, code: u32| {
            Self::trace_file(k, t, op, path, -(code as i64), 0);
            cpu.set(Reg::Eax, code.wrapping_neg());
            Outcome::Continue
        };
        let Some(vfs) = self.opts.vfs.as_ref() else {
            return fail(k, cpu, err::FILE_NOT_FOUND);
        };
        let host = match vfs.host_file(path) {
            Ok(h) => h,
            Err(e) => return fail(k, cpu, code_of(&e)),
        };
        // The kernel's test_app_header: MENUET01 or MENUET02 only (a kpack file is looked at
        // unpacked, as load_file gives it).
        let mut head = vfs.read(path, 0, 8).unwrap_or_default();
        if ipcemu_loader::kpack::is_kpack(&head) {
            head = vfs
                .load(path, ipcemu_loader::kpack::MAX_UNPACKED as u64)
                .ok()
                .and_then(|d| ipcemu_loader::kpack::unpack(&d).ok())
                .map(|mut d| {
                    d.truncate(8);
                    d
                })
                .unwrap_or_default();
        }
        if head != b"MENUET01" && head != b"MENUET02" {
            return fail(k, cpu, err::NOT_EXECUTABLE);
        }
        let args = if params == 0 {
            None
        } else {
            match k.procs[p].mem.read_cstr(params, 256) {
                Ok(s) => Some(s),
                Err(fault) => {
                    return Outcome::fault(GuestFault::BadPointer {
                        what: "function 70.7: parameters".into(),
                        fault,
                    })
                }
            }
        };
        let norm = ipcemu_vfs::Vfs::components(path)
            .map(|c| format!("/{}", c.join("/")))
            .unwrap_or_else(|_| path.to_string());
        let id = k.request_spawn_path(
            t,
            NAME,
            host.to_string_lossy().into_owned(),
            args,
            Box::new(ExecContext { path: norm.clone() }),
        );
        self.files.execs.insert(id, (t, norm));
        k.block_current(Box::new(ExecWait(path.to_string())), None);
        Outcome::Block
    }

    /// The outcome of a 70.7 request. A program started by 70.7 begins in the folder of its
    /// file.
    pub(crate) fn exec_done<M: GuestMemory>(&mut self, k: &mut Kernel<M>, s: Spawned) {
        let Some((t, path)) = self.files.execs.remove(&s.id) else {
            return;
        };
        let eax = match &s.result {
            Ok((cp, ct)) => {
                let dir = path.rsplit_once('/').map_or("", |(d, _)| d);
                let dir = if dir.is_empty() { "/" } else { dir };
                self.files.cwd.insert(*cp, dir.to_string());
                k.threads[*ct].pid
            }
            Err(SpawnFailure::NotFound(_)) => err::FILE_NOT_FOUND.wrapping_neg(),
            Err(SpawnFailure::Invalid(_)) => err::NOT_EXECUTABLE.wrapping_neg(),
        };
        if k.blocker_of::<ExecWait>(t).is_some() {
            Self::trace_file(k, t, "70.7 start", &path, eax as i32 as i64, 0);
            k.wake(t, Wake::Eax(eax));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Options;
    use ipcemu_kernel::{Config, RegFile, VecMemory};

    /// One process with 64 KiB of memory and a KolibriOS personality over a fresh root.
    fn world() -> (tempfile::TempDir, Kernel<VecMemory>, Kolibri, ThreadId) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("rd/1")).unwrap();
        let mut k = Kernel::new(Config::default());
        let t = k
            .spawn_process("p.kex", VecMemory::new(0x10000), 0x10000, NAME, (0, 0))
            .unwrap()
            .1;
        let opts = Options {
            vfs: Some(ipcemu_vfs::Vfs::new(dir.path(), false).unwrap()),
            ..Options::default()
        };
        (dir, k, Kolibri::new(opts), t)
    }

    /// Call function `f` (70 or 80) with the block `blk` written at 0x1000.
    fn call(
        k: &mut Kernel<VecMemory>,
        ko: &mut Kolibri,
        t: ThreadId,
        f: u32,
        blk: &[u8],
    ) -> (Outcome, RegFile) {
        k.procs[k.threads[t].proc].mem.write(0x1000, blk).unwrap();
        let mut cpu = RegFile::default();
        cpu.set(Reg::Eax, f);
        cpu.set(Reg::Ebx, 0x1000);
        let o = ko.syscall(k, t, &mut cpu);
        (o, cpu)
    }

    fn block(sub: u32, a: u32, b: u32, c: u32, buf: u32, name: &str) -> Vec<u8> {
        let mut v: Vec<u8> = [sub, a, b, c, buf]
            .iter()
            .flat_map(|x| x.to_le_bytes())
            .collect();
        v.extend_from_slice(name.as_bytes());
        v.push(0);
        v
    }

    #[test]
    fn bad_pointers_fault_or_return_7() {
        let (_d, mut k, mut ko, t) = world();
        let mut cpu = RegFile::default();
        cpu.set(Reg::Eax, 70);
        cpu.set(Reg::Ebx, 0xfff0);
        assert!(matches!(ko.syscall(&mut k, t, &mut cpu), Outcome::Fault(_)));
        std::fs::write(_d.path().join("rd/1/f"), b"data").unwrap();
        let (o, cpu) = call(
            &mut k,
            &mut ko,
            t,
            70,
            &block(0, 0, 0, 16, 0xfffff0, "/sys/f"),
        );
        assert!(matches!(o, Outcome::Continue));
        assert_eq!(cpu.get(Reg::Eax), err::MEMORY_POINTER);
        let (_, cpu) = call(
            &mut k,
            &mut ko,
            t,
            70,
            &block(0, 0, 0, 16, 0x2000, "/sys/f"),
        );
        assert_eq!(
            (cpu.get(Reg::Eax), cpu.get(Reg::Ebx)),
            (err::END_OF_FILE, 4)
        );
        // 70.6 reads its 32 attribute bytes from the buffer: outside memory, 7.
        let (_, cpu) = call(
            &mut k,
            &mut ko,
            t,
            70,
            &block(6, 0, 0, 0, 0xfffff0, "/sys/f"),
        );
        assert_eq!(cpu.get(Reg::Eax), err::MEMORY_POINTER);
        let (_, cpu) = call(&mut k, &mut ko, t, 70, &block(11, 0, 0, 0, 0, "/sys/f"));
        assert_eq!(cpu.get(Reg::Eax), err::UNSUPPORTED_FS);
    }

    #[test]
    fn folder_names_in_each_encoding() {
        let (d, mut k, mut ko, t) = world();
        std::fs::write(d.path().join("rd/1/Привет"), b"").unwrap();
        let p = k.threads[t].proc;
        for (enc, want, room) in [
            (1u32, vec![0x8f, 0xe0, 0xa8, 0xa2, 0xa5, 0xe2], 264usize),
            (3, "Привет".as_bytes().to_vec(), 264),
            (
                2,
                "Привет".encode_utf16().flat_map(u16::to_le_bytes).collect(),
                520,
            ),
        ] {
            let (_, cpu) = call(&mut k, &mut ko, t, 70, &block(1, 0, enc, 1, 0x2000, "/sys"));
            assert_eq!(
                (cpu.get(Reg::Eax), cpu.get(Reg::Ebx)),
                (0, 1),
                "encoding {enc}"
            );
            let mut name = vec![0u8; room];
            k.procs[p].mem.read(0x2000 + 32 + 40, &mut name).unwrap();
            assert_eq!(&name[..want.len()], &want[..], "encoding {enc}");
            assert!(name[want.len()..].iter().all(|&b| b == 0));
            let mut e = [0u8];
            k.procs[p].mem.read(0x2000 + 32 + 4, &mut e).unwrap();
            assert_eq!(e[0] as u32, enc);
        }
        // 80.5 (info) with a UTF-16 name finds the file.
        let name: Vec<u8> = "/sys/Привет\0"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        k.procs[p].mem.write(0x3000, &name).unwrap();
        let mut blk: Vec<u8> = [5u32, 0, 0, 0, 0x2000, 2, 0x3000]
            .iter()
            .flat_map(|x| x.to_le_bytes())
            .collect();
        blk.truncate(28);
        let (_, cpu) = call(&mut k, &mut ko, t, 80, &blk);
        assert_eq!(cpu.get(Reg::Eax), 0);
    }

    #[test]
    fn current_folder_names_fold_as_the_kernel_does() {
        assert_eq!(set_folder("/sys", "/rd/1/a").as_deref(), Some("/rd/1/a"));
        assert_eq!(set_folder("/rd/1", "b/c").as_deref(), Some("/rd/1/b/c"));
        assert_eq!(set_folder("/rd/1", "").as_deref(), Some("/rd/1"));
        assert_eq!(
            set_folder("/rd/1/a", "../b/./c").as_deref(),
            Some("/rd/1/b/c")
        );
        assert_eq!(
            set_folder("/rd/1/a", "b/..").as_deref(),
            Some("/rd/1/a/b/.."),
            "no / after it"
        );
        assert_eq!(set_folder("/rd/1", "../x").as_deref(), Some("/rd/x"));
        assert_eq!(set_folder("/rd/1", "../../x"), None, "above the partition");
        assert_eq!(set_folder("/rd/1", "/../x"), None);
        let long = "a".repeat(MAX_FOLDER - 6);
        let at_most = set_folder("/rd/1", &long).expect("fits: 6 + 4088 bytes");
        assert_eq!(at_most.len(), MAX_FOLDER);
        assert_eq!(
            set_folder(&at_most, "b"),
            None,
            "one segment more does not fit"
        );
    }

    #[test]
    fn current_folder_bytes_in_each_encoding() {
        assert_eq!(folder_bytes("/rd/1", 1, 64), (b"/rd/1\0".to_vec(), 6));
        assert_eq!(folder_bytes("/rd/1", 1, 4), (b"/rd\0".to_vec(), 4), "cut");
        assert_eq!(folder_bytes("/rd/1", 3, 6), (b"/rd/1\0".to_vec(), 6));
        assert_eq!(folder_bytes("/rd/1", 1, 0), (Vec::new(), 0));
        assert_eq!(folder_bytes("/a", 2, 64), (vec![b'/', 0, b'a', 0, 0, 0], 6));
        assert_eq!(folder_bytes("/a", 2, 4), (vec![b'/', 0, 0, 0], 4), "cut");
        assert_eq!(folder_bytes("/a", 2, 1), (Vec::new(), 0), "no whole unit");
        assert_eq!(folder_bytes("/д", 1, 8).0, vec![b'/', 0xa4, 0]);
    }

    #[test]
    fn civil_dates() {
        assert_eq!(civil(0), (1970, 1, 1, 0, 0, 0));
        assert_eq!(civil(951_782_400 + 3661), (2000, 2, 29, 1, 1, 1));
        assert_eq!(civil(1_767_225_600), (2026, 1, 1, 0, 0, 0));
    }

    #[test]
    fn cp866_round_trip() {
        for b in (0u8..0x80).chain(0x80..0xb0).chain(0xe0..0xf2) {
            assert_eq!(cp866_byte(cp866_char(b)), b, "{b:#x}");
        }
        assert_eq!(encode_name("ab", 2, 8), [b'a', 0, b'b', 0, 0, 0, 0, 0]);
        assert_eq!(encode_name("abcdef", 3, 4), *b"abc\0");
    }
}
