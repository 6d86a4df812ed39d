//! Host-owned guest RAM, mapped into Unicorn with `mem_map_ptr`, so the kernel copies
//! messages with plain `memcpy`s and no FFI call per access.

use ipcemu_kernel::mem::range_in;
use ipcemu_kernel::{GuestMemory, MemFault};
use std::ptr::NonNull;
use std::rc::Rc;
use unicorn_engine::unicorn_const::Prot;
use unicorn_engine::{uc_engine, uc_error, uc_mem_map_ptr, uc_mem_protect, uc_mem_unmap};

/// A page-aligned, zero-filled host allocation: anonymous memory reserved, not committed
/// (`MAP_NORESERVE`), so a guest that declares 2 GiB costs only the pages it touches.
/// Shared between processes through `Rc` (a named file mapping is one `HostRam` mapped into
/// several guests).
#[derive(Debug)]
pub struct HostRam {
    ptr: NonNull<u8>,
    len: usize,
}

impl HostRam {
    /// Reserve `len` zero bytes (rounded up to pages). `None` when the host refuses.
    pub fn new(len: usize) -> Option<Self> {
        let len = len.max(4096).checked_add(4095)? & !4095;
        // SAFETY: an anonymous private mapping with no address hint; the result is checked.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return None;
        }
        Some(HostRam {
            ptr: NonNull::new(p.cast())?,
            len,
        })
    }

    /// Size in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether it has no bytes (never: at least one page).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl Drop for HostRam {
    fn drop(&mut self) {
        // SAFETY: mapped in `new` with this length; nothing refers to it any more (every
        // region holding it is gone, and instances mapping it were closed first).
        unsafe {
            libc::munmap(self.ptr.as_ptr().cast(), self.len);
        }
    }
}

/// One mapped region.
#[derive(Debug)]
struct Region {
    base: u32,
    len: usize,
    ram: Rc<HostRam>,
}

/// `5 MiB`, `8 KiB`, `100 bytes` (rounded up to the unit).
fn human(v: u64) -> String {
    if v >= 1 << 20 {
        format!("{} MiB", v.div_ceil(1 << 20))
    } else if v >= 1 << 10 {
        format!("{} KiB", v.div_ceil(1 << 10))
    } else {
        format!("{v} bytes")
    }
}

/// A region that cannot be mapped (the sentence names it and why: alignment, overlap, a
/// memory limit, Unicorn's refusal).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct MemoryError(pub String);

impl From<MemoryError> for String {
    fn from(e: MemoryError) -> String {
        e.0
    }
}

/// Limits on guest memory (`--max-memory`, `--max-world-memory`): bytes mapped into one
/// process, and into all processes of a world together (a region shared by two processes counts
/// in each). Mapping past either is refused with a sentence naming the limit.
#[derive(Debug)]
pub struct MemBudget {
    /// Bytes one process may map.
    pub per_process: u64,
    /// Bytes all processes of the world may map together.
    pub world: u64,
    used: std::cell::Cell<u64>,
}

impl MemBudget {
    /// A budget with these limits.
    pub fn new(per_process: u64, world: u64) -> Rc<Self> {
        Rc::new(MemBudget {
            per_process,
            world,
            used: std::cell::Cell::new(0),
        })
    }
    /// Bytes mapped in the world now.
    pub fn used(&self) -> u64 {
        self.used.get()
    }
}

/// The memory of one guest process: host RAM regions that are also mapped into the process's
/// Unicorn instance.
///
/// It must be dropped after the Unicorn instance that maps it (the world drops machines
/// first), and it may map new regions (heap) into that instance while it is alive.
#[derive(Debug)]
pub struct ProcMemory {
    regions: Vec<Region>,
    uc: *mut uc_engine,
    budget: Option<Rc<MemBudget>>,
    mapped: u64,
}

impl ProcMemory {
    /// Memory that lives only on the host side (the host actor's, tests).
    pub fn host_only() -> Self {
        ProcMemory {
            regions: Vec::new(),
            uc: std::ptr::null_mut(),
            budget: None,
            mapped: 0,
        }
    }

    /// Count this memory's regions against `budget` from now on.
    pub fn set_budget(&mut self, budget: Rc<MemBudget>) {
        budget.used.set(budget.used.get() + self.mapped);
        if let Some(old) = self.budget.replace(budget) {
            old.used.set(old.used.get().saturating_sub(self.mapped));
        }
    }

    /// Memory attached to a Unicorn instance: every region mapped later is mapped into it.
    ///
    /// # Safety
    /// `uc` must be a live Unicorn handle that stays open until [`ProcMemory::detach`] is
    /// called or this memory is dropped.
    pub(crate) unsafe fn attached(uc: *mut uc_engine) -> Self {
        ProcMemory {
            regions: Vec::new(),
            uc,
            budget: None,
            mapped: 0,
        }
    }

    /// Map `size` zero bytes at `base` into the guest. Both must be page aligned.
    pub fn map(&mut self, base: u32, size: u32) -> Result<(), MemoryError> {
        self.map_inner(base, size).map_err(MemoryError)
    }

    fn map_inner(&mut self, base: u32, size: u32) -> Result<(), String> {
        self.check_budget(size)?;
        let ram = HostRam::new(size as usize)
            .ok_or_else(|| format!("cannot reserve {size} bytes of guest memory"))?;
        self.map_shared_inner(base, size, Rc::new(ram))
    }

    /// Map the first `size` bytes of `ram` at `base` (page aligned). The same `ram` may be
    /// mapped into several processes: a store by one is seen by the others at once.
    pub fn map_shared(
        &mut self,
        base: u32,
        size: u32,
        ram: Rc<HostRam>,
    ) -> Result<(), MemoryError> {
        self.map_shared_inner(base, size, ram).map_err(MemoryError)
    }

    fn map_shared_inner(&mut self, base: u32, size: u32, ram: Rc<HostRam>) -> Result<(), String> {
        if size as usize > ram.len() {
            return Err(format!(
                "region {base:#x}+{size:#x} is larger than its host memory"
            ));
        }
        if !base.is_multiple_of(4096) || !size.is_multiple_of(4096) || size == 0 {
            return Err(format!("region {base:#x}+{size:#x} is not page aligned"));
        }
        if base as u64 + size as u64 > 1 << 32 {
            return Err(format!("region {base:#x}+{size:#x} passes 4 GiB"));
        }
        if self.regions.iter().any(|r| {
            (base as u64) < r.base as u64 + r.len as u64
                && (r.base as u64) < base as u64 + size as u64
        }) {
            return Err(format!(
                "region {base:#x}+{size:#x} overlaps a mapped region"
            ));
        }
        self.check_budget(size)?;
        if !self.uc.is_null() {
            // SAFETY: the handle is alive while this memory is (see type docs), and `ram`
            // stays allocated, unmoved, until this ProcMemory is dropped.
            let err = unsafe {
                uc_mem_map_ptr(
                    self.uc,
                    base as u64,
                    size as u64,
                    Prot::ALL.0 as _,
                    ram.ptr.as_ptr().cast(),
                )
            };
            if err != uc_error::OK {
                return Err(format!(
                    "unicorn refused to map {base:#x}+{size:#x}: {err:?}"
                ));
            }
        }
        self.mapped += size as u64;
        if let Some(b) = &self.budget {
            b.used.set(b.used.get() + size as u64);
        }
        let at = self.regions.partition_point(|r| r.base < base);
        self.regions.insert(
            at,
            Region {
                base,
                len: size as usize,
                ram,
            },
        );
        Ok(())
    }

    /// Unmap the region that starts at `base`; returns its host memory.
    pub fn unmap(&mut self, base: u32) -> Option<Rc<HostRam>> {
        let i = self.regions.iter().position(|r| r.base == base)?;
        let r = self.regions.remove(i);
        self.mapped -= r.len as u64;
        if let Some(b) = &self.budget {
            b.used.set(b.used.get().saturating_sub(r.len as u64));
        }
        if !self.uc.is_null() {
            // SAFETY: the handle is alive (see `attached`); the range was mapped by us.
            unsafe { uc_mem_unmap(self.uc, base as u64, r.len as u64) };
        }
        Some(r.ram)
    }

    /// Let the guest read and execute, but not write, the region that starts at `base`.
    /// Host-only memory (no Unicorn instance) has no protection: `false`.
    pub fn protect_read_only(&mut self, base: u32) -> bool {
        let Some(r) = self.regions.iter().find(|r| r.base == base) else {
            return false;
        };
        if self.uc.is_null() {
            return false;
        }
        // SAFETY: the handle is alive (see `attached`); the range is one of our regions.
        let err = unsafe {
            uc_mem_protect(
                self.uc,
                base as u64,
                r.len as u64,
                (Prot::READ | Prot::EXEC).0 as _,
            )
        };
        err == uc_error::OK
    }

    fn check_budget(&self, size: u32) -> Result<(), String> {
        let Some(b) = &self.budget else {
            return Ok(());
        };
        let size = size as u64;
        if self.mapped + size > b.per_process {
            return Err(format!(
                "{} more would pass the memory limit of a process ({}, --max-memory; {} mapped)",
                human(size),
                human(b.per_process),
                human(self.mapped)
            ));
        }
        if b.used.get() + size > b.world {
            return Err(format!(
                "{} more would pass the memory limit of the world ({}, --max-world-memory; {} mapped)",
                human(size),
                human(b.world),
                human(b.used.get())
            ));
        }
        Ok(())
    }

    /// Bytes of host memory this process maps.
    pub fn mapped_bytes(&self) -> usize {
        self.regions.iter().map(|r| r.len).sum()
    }

    /// Detach from the Unicorn instance (called before the instance is closed).
    pub fn detach(&mut self) {
        self.uc = std::ptr::null_mut();
    }

    #[inline]
    fn find(&self, addr: u32, len: usize) -> Option<(*mut u8, usize)> {
        for r in &self.regions {
            if range_in(addr, len, r.base, r.len) {
                return Some((r.ram.ptr.as_ptr(), (addr - r.base) as usize));
            }
        }
        None
    }
}

impl Drop for ProcMemory {
    fn drop(&mut self) {
        if let Some(b) = &self.budget {
            b.used.set(b.used.get().saturating_sub(self.mapped));
        }
    }
}

impl GuestMemory for ProcMemory {
    #[inline]
    fn read(&self, addr: u32, buf: &mut [u8]) -> Result<(), MemFault> {
        if buf.is_empty() {
            return Ok(());
        }
        match self.find(addr, buf.len()) {
            Some((p, off)) => {
                // SAFETY: `find` checked the range lies inside this allocation; `buf` is a
                // distinct host buffer.
                unsafe { std::ptr::copy_nonoverlapping(p.add(off), buf.as_mut_ptr(), buf.len()) };
                Ok(())
            }
            None => Err(MemFault {
                addr,
                len: buf.len() as u32,
                write: false,
            }),
        }
    }

    #[inline]
    fn write(&mut self, addr: u32, data: &[u8]) -> Result<(), MemFault> {
        if data.is_empty() {
            return Ok(());
        }
        match self.find(addr, data.len()) {
            Some((p, off)) => {
                // SAFETY: as in `read`; emulation is paused while the kernel runs.
                unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), p.add(off), data.len()) };
                Ok(())
            }
            None => Err(MemFault {
                addr,
                len: data.len() as u32,
                write: true,
            }),
        }
    }

    fn contains(&self, addr: u32, len: u32) -> bool {
        len == 0 || self.find(addr, len as usize).is_some()
    }

    fn map_zeroed(&mut self, base: u32, size: u32) -> bool {
        self.map(base, size).is_ok()
    }

    fn alloc_shared(&self, size: u32) -> Option<Rc<dyn std::any::Any>> {
        Some(Rc::new(HostRam::new(size as usize)?))
    }

    fn map_shared(&mut self, base: u32, size: u32, mem: &Rc<dyn std::any::Any>) -> bool {
        match Rc::clone(mem).downcast::<HostRam>() {
            Ok(ram) => self.map_shared(base, size, ram).is_ok(),
            Err(_) => false,
        }
    }

    fn unmap(&mut self, base: u32) -> bool {
        ProcMemory::unmap(self, base).is_some()
    }

    fn protect_read_only(&mut self, base: u32) -> bool {
        ProcMemory::protect_read_only(self, base)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_reject_overlap_and_the_end_of_the_address_space() {
        let mut m = ProcMemory::host_only();
        assert!(m.map(0x1000, 0x2000).is_ok());
        assert!(m.map(0x2000, 0x1000).is_err(), "overlap");
        assert!(
            m.map(0xFFFF_F000, 0x1000).is_ok(),
            "a region ending exactly at 4 GiB"
        );
        assert!(m.map(0xFFFF_F000, 0x2000).is_err(), "passes 4 GiB");
        assert!(m.map(0x5001, 0x1000).is_err(), "unaligned");
        assert!(m.write_u32(0x2ffc, 7).is_ok());
        assert!(
            m.write_u32(0x2ffe, 7).is_err(),
            "an access may not run off a region"
        );
        assert_eq!(m.read_u32(0xFFFF_FFFC), Ok(0));
        assert!(m.read_u32(0xFFFF_FFFE).is_err());
        assert!(
            m.read(0x9999_0000, &mut []).is_ok(),
            "zero-length accesses always succeed"
        );
    }
}
