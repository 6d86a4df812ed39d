//! Guest memory as the kernel sees it: a trait, so the kernel never touches Unicorn.
//!
//! The machine implements [`GuestMemory`] over host-owned RAM that is also mapped into the
//! guest's Unicorn instance; unit tests and fuzzers use [`VecMemory`].

use std::fmt;

/// An access outside the guest's mapped memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemFault {
    /// First guest address of the failed access.
    pub addr: u32,
    /// Length of the failed access in bytes.
    pub len: u32,
    /// `true` for a write.
    pub write: bool,
}

impl fmt::Display for MemFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} of {} byte(s) at {:#010x} is outside guest memory",
            if self.write { "write" } else { "read" },
            self.len,
            self.addr
        )
    }
}

impl std::error::Error for MemFault {}

/// Byte-addressed 32-bit guest memory.
///
/// Accesses are all-or-nothing: on `Err` nothing was read or written. An access whose end
/// would pass 4 GiB is a fault (addresses never wrap inside one access). Zero-length
/// accesses always succeed, wherever they point (like `rep movsb` with ecx = 0).
pub trait GuestMemory {
    /// Copy `buf.len()` bytes starting at `addr` into `buf`.
    fn read(&self, addr: u32, buf: &mut [u8]) -> Result<(), MemFault>;
    /// Copy `data` into guest memory starting at `addr`.
    fn write(&mut self, addr: u32, data: &[u8]) -> Result<(), MemFault>;
    /// Whether `[addr, addr + len)` is entirely mapped.
    fn contains(&self, addr: u32, len: u32) -> bool;
    /// Map a new zero-filled region (page-aligned `base` and `size`). Returns `false` when
    /// this memory cannot grow or the range is taken.
    fn map_zeroed(&mut self, _base: u32, _size: u32) -> bool {
        false
    }
    /// Reserve `size` bytes of zeroed host memory that can be mapped into several processes
    /// (a named file mapping). `None` when this memory kind cannot share.
    fn alloc_shared(&self, _size: u32) -> Option<std::rc::Rc<dyn std::any::Any>> {
        None
    }
    /// Map the first `size` bytes of memory from [`GuestMemory::alloc_shared`] (of any
    /// process of the same world) at page-aligned `base`. Returns `false` when the range is
    /// taken or the memory is of another kind.
    fn map_shared(
        &mut self,
        _base: u32,
        _size: u32,
        _mem: &std::rc::Rc<dyn std::any::Any>,
    ) -> bool {
        false
    }
    /// Unmap the region that starts at `base` (mapped by `map_zeroed` or `map_shared`).
    fn unmap(&mut self, _base: u32) -> bool {
        false
    }
    /// Make the guest's own stores to the region that starts at `base` fault (a read-only
    /// view of shared memory); the kernel's writes through this trait still succeed. Returns
    /// `false` when no region starts there or this memory kind cannot protect.
    fn protect_read_only(&mut self, _base: u32) -> bool {
        false
    }
    /// Fill `[addr, addr+len)` with zeros.
    fn zero(&mut self, addr: u32, len: u32) -> Result<(), MemFault> {
        let chunk = [0u8; 4096];
        let mut done = 0u32;
        while done < len {
            let n = (len - done).min(4096);
            self.write(addr.wrapping_add(done), &chunk[..n as usize])?;
            done += n;
        }
        Ok(())
    }

    /// Read a little-endian dword.
    fn read_u32(&self, addr: u32) -> Result<u32, MemFault> {
        let mut b = [0u8; 4];
        self.read(addr, &mut b)?;
        Ok(u32::from_le_bytes(b))
    }
    /// Write a little-endian dword.
    fn write_u32(&mut self, addr: u32, v: u32) -> Result<(), MemFault> {
        self.write(addr, &v.to_le_bytes())
    }
    /// Read a little-endian word.
    fn read_u16(&self, addr: u32) -> Result<u16, MemFault> {
        let mut b = [0u8; 2];
        self.read(addr, &mut b)?;
        Ok(u16::from_le_bytes(b))
    }
    /// Write a little-endian word.
    fn write_u16(&mut self, addr: u32, v: u16) -> Result<(), MemFault> {
        self.write(addr, &v.to_le_bytes())
    }
    /// Read a zero-terminated string of at most `max` bytes (lossy UTF-8).
    fn read_cstr(&self, addr: u32, max: u32) -> Result<String, MemFault> {
        let mut out = Vec::new();
        for i in 0..max {
            let mut b = [0u8; 1];
            self.read(addr.wrapping_add(i), &mut b)?;
            if b[0] == 0 {
                break;
            }
            out.push(b[0]);
        }
        Ok(String::from_utf8_lossy(&out).into_owned())
    }
}

/// Checks that `[addr, addr+len)` lies in `[base, base+size)` without overflow.
#[inline]
pub fn range_in(addr: u32, len: usize, base: u32, size: usize) -> bool {
    let (addr, base) = (addr as u64, base as u64);
    addr >= base && addr + len as u64 <= base + size as u64
}

/// Plain byte-vector memory starting at address `base` (tests, fuzzers, host-side tools).
#[derive(Clone, Debug, Default)]
pub struct VecMemory {
    /// First guest address.
    pub base: u32,
    /// The bytes.
    pub bytes: Vec<u8>,
}

impl VecMemory {
    /// `size` zero bytes at address 0.
    pub fn new(size: usize) -> Self {
        VecMemory {
            base: 0,
            bytes: vec![0; size],
        }
    }
}

impl GuestMemory for VecMemory {
    fn read(&self, addr: u32, buf: &mut [u8]) -> Result<(), MemFault> {
        if buf.is_empty() {
            return Ok(());
        }
        if !range_in(addr, buf.len(), self.base, self.bytes.len()) {
            return Err(MemFault {
                addr,
                len: buf.len() as u32,
                write: false,
            });
        }
        let off = (addr - self.base) as usize;
        buf.copy_from_slice(&self.bytes[off..off + buf.len()]);
        Ok(())
    }
    fn write(&mut self, addr: u32, data: &[u8]) -> Result<(), MemFault> {
        if data.is_empty() {
            return Ok(());
        }
        if !range_in(addr, data.len(), self.base, self.bytes.len()) {
            return Err(MemFault {
                addr,
                len: data.len() as u32,
                write: true,
            });
        }
        let off = (addr - self.base) as usize;
        self.bytes[off..off + data.len()].copy_from_slice(data);
        Ok(())
    }
    fn contains(&self, addr: u32, len: u32) -> bool {
        len == 0 || range_in(addr, len as usize, self.base, self.bytes.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vec_memory_bounds() {
        let mut m = VecMemory::new(16);
        assert!(m.write_u32(12, 7).is_ok());
        assert_eq!(m.read_u32(12), Ok(7));
        assert!(m.write_u32(13, 7).is_err());
        assert!(m.read_u32(u32::MAX - 1).is_err());
        assert!(!m.contains(u32::MAX, 2));
    }
}
