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

    /// Resize the block at `addr` to `size` bytes (whole pages), as the kernel's
    /// `user_realloc` (`kernel/trunk/core/heap.inc`): size 0 frees it; a smaller size keeps
    /// its address; a larger one keeps it when the space after the block is free, else the
    /// block moves to the first place that fits (first fit over the heap) and the old place is
    /// freed; with no room the block is unchanged. Contents are the caller's to move (see
    /// [`Resized`]).
    pub fn realloc(&mut self, addr: u32, size: u32) -> Resized {
        let Some(&old) = self.blocks.get(&addr) else {
            return Resized::Refused;
        };
        if size == 0 {
            self.blocks.remove(&addr);
            return Resized::Freed(old);
        }
        if size > self.size {
            return Resized::NoRoom;
        }
        let new = (size + (PAGE - 1)) & !(PAGE - 1);
        let limit = self
            .blocks
            .range(addr.saturating_add(1)..)
            .next()
            .map_or(self.base as u64 + self.size as u64, |(&a, _)| a as u64);
        if new <= old || addr as u64 + new as u64 <= limit {
            self.blocks.insert(addr, new);
            return Resized::InPlace { old, new };
        }
        match self.alloc(new) {
            Some(to) => {
                self.blocks.remove(&addr);
                Resized::Moved { to, old, new }
            }
            None => Resized::NoRoom,
        }
    }

    /// Number of live blocks.
    pub fn blocks(&self) -> usize {
        self.blocks.len()
    }
}

/// What [`Heap::realloc`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resized {
    /// No block starts at that address: nothing changed.
    Refused,
    /// Size 0: the block (of this many bytes) was freed.
    Freed(u32),
    /// The block keeps its address; sizes in bytes (whole pages).
    InPlace {
        /// Its size before.
        old: u32,
        /// Its size now.
        new: u32,
    },
    /// The block moved to `to`: its first `old` bytes are to be copied there.
    Moved {
        /// Its new address.
        to: u32,
        /// Its size before.
        old: u32,
        /// Its size now.
        new: u32,
    },
    /// No room for the new size: the block is unchanged.
    NoRoom,
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

    #[test]
    fn realloc_grows_in_place_moves_shrinks_and_frees() {
        let mut h = Heap::new(0x10000, 0x10000);
        h.mapped = true;
        let a = h.alloc(4096).unwrap();
        assert_eq!(
            h.realloc(a, 5000),
            Resized::InPlace {
                old: 4096,
                new: 8192
            },
            "the space after it is free"
        );
        let b = h.alloc(4096).unwrap();
        assert_eq!(b, a + 8192);
        assert_eq!(
            h.realloc(a, 9000),
            Resized::Moved {
                to: b + 4096,
                old: 8192,
                new: 12288
            },
            "b is in the way: first fit after it"
        );
        assert_eq!(h.alloc(8192), Some(a), "the old place is free again");
        assert_eq!(
            h.realloc(b + 4096, 1),
            Resized::InPlace {
                old: 12288,
                new: 4096
            }
        );
        assert_eq!(h.realloc(b, 0), Resized::Freed(4096));
        assert_eq!(h.realloc(b, 10), Resized::Refused, "freed: no block there");
        assert_eq!(h.realloc(a + 4, 10), Resized::Refused, "not a block start");
        assert_eq!(
            h.realloc(a, 0x10001),
            Resized::NoRoom,
            "larger than the heap"
        );
        assert_eq!(h.realloc(a, 0x10000), Resized::NoRoom, "no room left");
        assert_eq!(
            h.realloc(a, 8192),
            Resized::InPlace {
                old: 8192,
                new: 8192
            }
        );
    }
}
