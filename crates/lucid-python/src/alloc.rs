//! The extension's allocator: mimalloc for ordinary blocks, the system allocator for
//! huge ones.
//!
//! Sweeps allocate and free tensors of a few hundred KiB on every op. glibc returns
//! such blocks to the kernel and faults them in again each time (page faults were the
//! largest cost of a broadcast multiply); mimalloc keeps and reuses them. But mimalloc
//! reserves huge requests without committing memory, so an impossible allocation
//! (40 TB) "succeeds" and the process dies on first touch; the system allocator
//! refuses it, which lets constructors report "cannot allocate" instead. This only
//! serves the extension's Rust allocations, never the Python process's.

use std::alloc::{GlobalAlloc, Layout, System};

use mimalloc::MiMalloc;

/// Blocks at least this large go to the system allocator.
const HUGE: usize = 1 << 30;

pub struct LucidAlloc;

unsafe impl GlobalAlloc for LucidAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.size() >= HUGE {
            System.alloc(layout)
        } else {
            MiMalloc.alloc(layout)
        }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if layout.size() >= HUGE {
            System.alloc_zeroed(layout)
        } else {
            MiMalloc.alloc_zeroed(layout)
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if layout.size() >= HUGE {
            System.dealloc(ptr, layout)
        } else {
            MiMalloc.dealloc(ptr, layout)
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        match (layout.size() >= HUGE, new_size >= HUGE) {
            (false, false) => MiMalloc.realloc(ptr, layout, new_size),
            (true, true) => System.realloc(ptr, layout, new_size),
            // Crossing the threshold moves the block between allocators.
            _ => {
                let Ok(new_layout) = Layout::from_size_align(new_size, layout.align()) else {
                    return std::ptr::null_mut();
                };
                let new = self.alloc(new_layout);
                if !new.is_null() {
                    std::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
                    self.dealloc(ptr, layout);
                }
                new
            }
        }
    }
}
