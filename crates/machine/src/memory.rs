//! Host-owned guest RAM, mapped into Unicorn with `mem_map_ptr`, so the kernel copies
//! messages with plain `memcpy`s and no FFI call per access.

use ipcemu_kernel::mem::range_in;
use ipcemu_kernel::{GuestMemory, MemFault};
use std::alloc::{alloc_zeroed, dealloc, Layout};
use std::ptr::NonNull;
use unicorn_engine::unicorn_const::Prot;
use unicorn_engine::{uc_engine, uc_error, uc_mem_map_ptr};

/// A page-aligned, zero-filled host allocation.
#[derive(Debug)]
pub struct HostRam {
    ptr: NonNull<u8>,
    len: usize,
}

impl HostRam {
    /// Allocate `len` zero bytes (a multiple of 4096). Large allocations come from the OS
    /// as untouched zero pages, so unused guest memory costs no resident memory.
    pub fn new(len: usize) -> Option<Self> {
        let layout = Layout::from_size_align(len.max(4096), 4096).ok()?;
        // SAFETY: the layout has a non-zero size.
        let ptr = NonNull::new(unsafe { alloc_zeroed(layout) })?;
        Some(HostRam { ptr, len })
    }

    fn layout(&self) -> Layout {
        // Same arguments as in `new`, which succeeded.
        Layout::from_size_align(self.len.max(4096), 4096).unwrap_or(Layout::new::<u8>())
    }
}

impl Drop for HostRam {
    fn drop(&mut self) {
        // SAFETY: allocated in `new` with this layout.
        unsafe { dealloc(self.ptr.as_ptr(), self.layout()) }
    }
}

/// One mapped region.
#[derive(Debug)]
struct Region {
    base: u32,
    ram: HostRam,
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
}

impl ProcMemory {
    /// Memory attached to a Unicorn instance handle (may be null for host-only use).
    pub fn new(uc: *mut uc_engine) -> Self {
        ProcMemory {
            regions: Vec::new(),
            uc,
        }
    }

    /// Map `size` zero bytes at `base` into the guest. Both must be page aligned.
    pub fn map(&mut self, base: u32, size: u32) -> Result<(), String> {
        if !base.is_multiple_of(4096) || !size.is_multiple_of(4096) || size == 0 {
            return Err(format!("region {base:#x}+{size:#x} is not page aligned"));
        }
        if base as u64 + size as u64 > 1 << 32 {
            return Err(format!("region {base:#x}+{size:#x} passes 4 GiB"));
        }
        if self.regions.iter().any(|r| {
            (base as u64) < r.base as u64 + r.ram.len as u64
                && (r.base as u64) < base as u64 + size as u64
        }) {
            return Err(format!(
                "region {base:#x}+{size:#x} overlaps a mapped region"
            ));
        }
        let ram = HostRam::new(size as usize)
            .ok_or_else(|| format!("cannot allocate {size} bytes of guest memory"))?;
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
        let at = self.regions.partition_point(|r| r.base < base);
        self.regions.insert(at, Region { base, ram });
        Ok(())
    }

    /// Detach from the Unicorn instance (called before the instance is closed).
    pub fn detach(&mut self) {
        self.uc = std::ptr::null_mut();
    }

    #[inline]
    fn find(&self, addr: u32, len: usize) -> Option<(*mut u8, usize)> {
        for r in &self.regions {
            if range_in(addr, len, r.base, r.ram.len) {
                return Some((r.ram.ptr.as_ptr(), (addr - r.base) as usize));
            }
        }
        None
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_reject_overlap_and_the_end_of_the_address_space() {
        let mut m = ProcMemory::new(std::ptr::null_mut());
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
