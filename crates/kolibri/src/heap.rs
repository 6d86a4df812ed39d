//! The KolibriOS user heap (functions 68.11, 68.12, 68.13): a page-granular first-fit
//! allocator over one region above the image. The region is mapped by the machine when the
//! heap is first initialised; this module only does the bookkeeping.

use std::collections::BTreeMap;

/// Page size of heap blocks.
pub const PAGE: u32 = 4096;

/// Heap bookkeeping of one process.
#[derive(Debug, Clone)]
pub struct Heap {
    /// First address of the heap region.
    pub base: u32,
    /// Size of the heap region.
    pub size: u32,
    /// Whether the region is mapped (68.11 was called, or 68.12 initialised it).
    pub mapped: bool,
    blocks: BTreeMap<u32, u32>,
}

impl Heap {
    /// An unmapped heap at `base`.
    pub fn new(base: u32, size: u32) -> Self {
        Heap {
            base,
            size,
            mapped: false,
            blocks: BTreeMap::new(),
        }
    }

    /// Allocate `size` bytes rounded up to pages (first fit). `None` when nothing fits or
    /// `size` is 0.
    pub fn alloc(&mut self, size: u32) -> Option<u32> {
        if size == 0 || !self.mapped {
            return None;
        }
        let size = size.checked_add(PAGE - 1)? & !(PAGE - 1);
        let mut cursor = self.base as u64;
        let end = self.base as u64 + self.size as u64;
        for (&a, &s) in &self.blocks {
            if a as u64 - cursor >= size as u64 {
                break;
            }
            cursor = a as u64 + s as u64;
        }
        if cursor + size as u64 > end {
            return None;
        }
        self.blocks.insert(cursor as u32, size);
        Some(cursor as u32)
    }

    /// Free the block starting at `addr`; returns its size, or `None` if no block starts there.
    pub fn free(&mut self, addr: u32) -> Option<u32> {
        self.blocks.remove(&addr)
    }

    /// Number of live blocks.
    pub fn blocks(&self) -> usize {
        self.blocks.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_fit_reuses_freed_space() {
        let mut h = Heap::new(0x10000, 0x10000);
        assert_eq!(h.alloc(1), None, "unmapped heap refuses");
        h.mapped = true;
        let a = h.alloc(1).unwrap();
        let b = h.alloc(5000).unwrap();
        assert_eq!(a, 0x10000);
        assert_eq!(b, 0x11000);
        assert_eq!(h.free(a), Some(4096));
        assert_eq!(h.free(a), None);
        assert_eq!(h.alloc(4096), Some(0x10000));
        assert_eq!(h.alloc(0x10000), None);
        assert_eq!(h.alloc(0), None);
        assert_eq!(h.alloc(u32::MAX), None);
    }
}
