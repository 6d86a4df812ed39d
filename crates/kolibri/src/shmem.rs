//! Named shared memory (functions 68.22 and 68.23), as the kernel's `shmem_open` and
//! `shmem_close` (`kernel/trunk/core/heap.inc`) do it:
//!
//! - An area has a name (the first 31 bytes of the caller's; names are compared as
//!   `strncmp(..., 32)`, so a name of 32 bytes or more never matches one kept), a size in whole
//!   pages, and the access its creator gave (`esi & 3`). New areas go to the front of the list
//!   that opens search.
//! - Each open is a view of its own, mapped into the caller's process (the kernel's `SMAP`
//!   object, which belongs to the calling thread), writable when the opener asked for
//!   `SHM_WRITE` or created the area, read-only otherwise (a guest store there faults).
//! - 68.23 closes the calling thread's newest view of that name: the view is unmapped. When a
//!   thread ends, its opens are dropped but their views stay mapped in the process, as in the
//!   kernel (which frees user memory only with the process).
//! - An area lives while opens of it do; the last close or thread end frees it, and its name can
//!   be created again (zero-filled).
//! - Views take address space above the user heap and need the heap (68.11), as the kernel's
//!   `user_alloc` does: without it an open fails with E_NOMEM.
//!
//! Limits (no guest grows host memory without bound): all areas of a world together hold at
//! most [`MAX_TOTAL`] bytes, and a process's views fit in a region as large as its heap; past
//! either an open fails with E_NOMEM (30).

use crate::heap::{Heap, PAGE};
use crate::{Kolibri, NAME};
use ipcemu_kernel::{
    trace_rec, Cpu, GuestFault, GuestMemory, Kernel, Outcome, ProcId, Reg, ThreadId,
};
use std::any::Any;
use std::collections::HashMap;
use std::rc::Rc;

/// Error codes in edx (`kernel/trunk/core/heap.inc`).
pub const E_NOTFOUND: u32 = 5;
/// The area exists and was to be created, or a view with more access than the area allows.
pub const E_ACCESS: u32 = 10;
/// No memory (or no heap, or a limit of ipcemu's).
pub const E_NOMEM: u32 = 30;
/// A null name, a zero size to create, or an open mode that is none of the three.
pub const E_PARAM: u32 = 33;

const SHM_WRITE: u32 = 1;
const SHM_ACCESS_MASK: u32 = 3;
const SHM_OPEN: u32 = 0;
const SHM_OPEN_ALWAYS: u32 = 1 << 2;
const SHM_CREATE: u32 = 2 << 2;
const SHM_OPEN_MASK: u32 = 3 << 2;

/// Bytes of all named areas of a world together (ipcemu's limit).
pub const MAX_TOTAL: u64 = 256 << 20;
/// The first user address the kernel refuses a name pointer at (`f68`: `cmp ecx, OS_BASE`).
const OS_BASE: u32 = 0x8000_0000;
/// Bytes of a name kept (`SMEM.name` holds 31 and a zero) and compared.
const NAME_KEPT: usize = 31;
const NAME_CMP: u32 = 32;

struct Area {
    name: Vec<u8>,
    size: u32,
    access: u32,
    mem: Rc<dyn Any>,
    /// Opens alive (the kernel's `SMEM.refcount`).
    refs: u32,
}

/// The named areas of a world and the views of them.
#[derive(Default)]
pub(crate) struct Shmem {
    areas: HashMap<u64, Area>,
    /// Area ids, oldest first: opens search from the newest, as the kernel's list from its
    /// front.
    order: Vec<u64>,
    next_id: u64,
    total: u64,
    /// Each thread's opens (area id, view address), oldest first.
    opens: HashMap<ThreadId, Vec<(u64, u32)>>,
    /// Each process's view region (bookkeeping only; views are mapped one by one).
    spaces: HashMap<ProcId, Heap>,
    /// The limit of all areas was reported (once per world).
    warned_limit: bool,
}

impl std::fmt::Debug for Shmem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shmem")
            .field("areas", &self.areas.len())
            .field("total", &self.total)
            .finish()
    }
}

/// `strncmp(kept, given, 32) == 0`, with `given` already cut at its zero or at 32 bytes.
fn same_name(kept: &[u8], given: &[u8]) -> bool {
    kept == given
}

impl Shmem {
    /// The newest area named `name`.
    fn find(&self, name: &[u8]) -> Option<u64> {
        self.order
            .iter()
            .rev()
            .copied()
            .find(|id| self.areas.get(id).is_some_and(|a| same_name(&a.name, name)))
    }

    /// One open of area `id` fewer; the last frees it.
    fn unref(&mut self, id: u64) {
        let Some(a) = self.areas.get_mut(&id) else {
            return;
        };
        a.refs = a.refs.saturating_sub(1);
        if a.refs == 0 {
            if let Some(a) = self.areas.remove(&id) {
                self.total = self.total.saturating_sub(a.size as u64);
            }
            self.order.retain(|&x| x != id);
        }
    }

    /// Thread `t` ended: its opens go (their views stay mapped in the process).
    pub(crate) fn thread_ended(&mut self, t: ThreadId) {
        for (id, _) in self.opens.remove(&t).unwrap_or_default() {
            self.unref(id);
        }
    }

    /// Process `p` ended: its view region goes with its memory.
    pub(crate) fn proc_ended(&mut self, p: ProcId) {
        self.spaces.remove(&p);
    }
}

/// Read a name as the kernel compares it: up to its zero, at most 32 bytes.
fn read_name<M: GuestMemory>(mem: &M, at: u32) -> Result<Vec<u8>, ipcemu_kernel::MemFault> {
    let mut out = Vec::new();
    for i in 0..NAME_CMP {
        let mut b = [0u8; 1];
        mem.read(at.wrapping_add(i), &mut b)?;
        if b[0] == 0 {
            break;
        }
        out.push(b[0]);
    }
    Ok(out)
}

impl Kolibri {
    /// Function 68.22: open (or create) the area named at ecx; edx = size to create, esi =
    /// open mode and access. eax = the view's address or 0; edx = 0 (created), the area's size
    /// (opened) or an error code.
    pub(crate) fn shm_open<M: GuestMemory>(
        &mut self,
        k: &mut Kernel<M>,
        t: ThreadId,
        cpu: &mut dyn Cpu,
    ) -> Outcome {
        let (ecx, edx, esi) = (cpu.get(Reg::Ecx), cpu.get(Reg::Edx), cpu.get(Reg::Esi));
        if ecx >= OS_BASE {
            // `f68.fail`: eax = 0, edx as it was.
            cpu.set(Reg::Eax, 0);
            return Outcome::Continue;
        }
        let p = k.threads[t].proc;
        let name = if ecx == 0 {
            Vec::new()
        } else {
            match read_name(&k.procs[p].mem, ecx) {
                Ok(n) => n,
                Err(fault) => {
                    return Outcome::fault(GuestFault::BadPointer {
                        what: format!("function 68.22 shm_open: area name at {ecx:#x}"),
                        fault,
                    })
                }
            }
        };
        let (eax, edx_out, size) = if ecx == 0 {
            (0, E_PARAM, 0)
        } else {
            self.shm_open_named(k, t, &name, edx, esi)
        };
        cpu.set(Reg::Eax, eax);
        cpu.set(Reg::Edx, edx_out);
        if k.trace_on {
            let object = String::from_utf8_lossy(&name);
            trace_rec!(
                k,
                t,
                "shm",
                NAME,
                op = "68.22 open",
                object = object.as_ref(),
                result = edx_out as i64,
                addr = eax,
                size = size
            );
        }
        Outcome::Continue
    }

    /// 68.22 for a readable name: (eax, edx, the area's size).
    fn shm_open_named<M: GuestMemory>(
        &mut self,
        k: &mut Kernel<M>,
        t: ThreadId,
        name: &[u8],
        size: u32,
        flags: u32,
    ) -> (u32, u32, u32) {
        let p = k.threads[t].proc;
        let action = flags & SHM_OPEN_MASK;
        let access = flags & SHM_ACCESS_MASK;
        let (id, owner) = match self.shm.find(name) {
            None => match action {
                SHM_OPEN => return (0, E_NOTFOUND, 0),
                SHM_CREATE | SHM_OPEN_ALWAYS => {
                    if size == 0 {
                        return (0, E_PARAM, 0);
                    }
                    let Some(pages) = size.checked_add(PAGE - 1).map(|s| s & !(PAGE - 1)) else {
                        return (0, E_NOMEM, 0);
                    };
                    if self.shm.total + pages as u64 > MAX_TOTAL {
                        if !self.shm.warned_limit {
                            self.shm.warned_limit = true;
                            tracing::warn!(
                                "{} (PID {}) asked 68.22 for a named memory area of {pages} bytes, which would pass the {} MiB all areas may hold together; it gets E_NOMEM (30), and so will later calls past the limit (not reported again)",
                                k.procs[p].name,
                                k.threads[t].pid,
                                MAX_TOTAL >> 20
                            );
                        }
                        return (0, E_NOMEM, 0);
                    }
                    let Some(mem) = k.procs[p].mem.alloc_shared(pages) else {
                        return (0, E_NOMEM, 0);
                    };
                    let id = self.shm.next_id;
                    self.shm.next_id += 1;
                    self.shm.areas.insert(
                        id,
                        Area {
                            name: name[..name.len().min(NAME_KEPT)].to_vec(),
                            size: pages,
                            access,
                            mem,
                            refs: 0,
                        },
                    );
                    self.shm.order.push(id);
                    self.shm.total += pages as u64;
                    (id, true)
                }
                _ => return (0, E_PARAM, 0),
            },
            // The kernel's `.found` with SHM_CREATE sets edx = E_ACCESS, then jumps to `.exit`,
            // which loads edx with the size argument: the caller gets eax = 0 and its own edx.
            Some(_) if action == SHM_CREATE => return (0, size, 0),
            Some(id) if action == SHM_OPEN || action == SHM_OPEN_ALWAYS => (id, false),
            Some(_) => return (0, E_PARAM, 0),
        };
        let Some(area) = self.shm.areas.get_mut(&id) else {
            return (0, E_NOMEM, 0);
        };
        if access > area.access {
            return (0, E_ACCESS, 0);
        }
        area.refs += 1;
        let (area_size, mem) = (area.size, Rc::clone(&area.mem));
        // `user_alloc`: address space in the process, which needs its heap.
        let heap = self.heap(p).filter(|h| h.mapped).map(|h| (h.base, h.size));
        let base = heap.and_then(|(hb, hs)| {
            let space = self.shm.spaces.entry(p).or_insert_with(|| {
                let mut s = Heap::new(hb.saturating_add(hs), hs);
                s.mapped = true;
                s
            });
            let base = space.alloc(area_size)?;
            if k.procs[p].mem.map_shared(base, area_size, &mem) {
                Some(base)
            } else {
                space.free(base);
                None
            }
        });
        let Some(base) = base else {
            self.shm.unref(id);
            return (0, E_NOMEM, 0);
        };
        if !owner && access & SHM_WRITE == 0 && !k.procs[p].mem.protect_read_only(base) {
            tracing::warn!(
                "{} (PID {}): the read-only view at {base:#x} of a named memory area could not be protected; its stores will not fault",
                k.procs[p].name,
                k.threads[t].pid
            );
        }
        self.shm.opens.entry(t).or_default().push((id, base));
        (base, if owner { 0 } else { area_size }, area_size)
    }

    /// Function 68.23: close the calling thread's newest view of the area named at ecx.
    /// eax = 0 (the kernel leaves an internal value there; its documentation says "destroyed").
    pub(crate) fn shm_close<M: GuestMemory>(
        &mut self,
        k: &mut Kernel<M>,
        t: ThreadId,
        cpu: &mut dyn Cpu,
    ) -> Outcome {
        let ecx = cpu.get(Reg::Ecx);
        cpu.set(Reg::Eax, 0);
        if ecx == 0 || ecx >= OS_BASE {
            return Outcome::Continue;
        }
        let p = k.threads[t].proc;
        let name = match read_name(&k.procs[p].mem, ecx) {
            Ok(n) => n,
            Err(fault) => {
                return Outcome::fault(GuestFault::BadPointer {
                    what: format!("function 68.23 shm_close: area name at {ecx:#x}"),
                    fault,
                })
            }
        };
        let sh = &mut self.shm;
        let opens = sh.opens.entry(t).or_default();
        let hit = opens
            .iter()
            .rposition(|(id, _)| sh.areas.get(id).is_some_and(|a| same_name(&a.name, &name)));
        let mut base = 0;
        let mut size = 0;
        if let Some(i) = hit {
            let (id, b) = opens.remove(i);
            base = b;
            size = sh.areas.get(&id).map_or(0, |a| a.size);
            k.procs[p].mem.unmap(b);
            if let Some(s) = sh.spaces.get_mut(&p) {
                s.free(b);
            }
            sh.unref(id);
        }
        if k.trace_on {
            let object = String::from_utf8_lossy(&name);
            trace_rec!(
                k,
                t,
                "shm",
                NAME,
                op = "68.23 close",
                object = object.as_ref(),
                result = i64::from(hit.is_none()),
                addr = base,
                size = size
            );
        }
        Outcome::Continue
    }
}
