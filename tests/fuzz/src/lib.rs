//! What every target binary shares: a global allocator that counts the bytes in use and aborts
//! the process past [`CEILING`], so an input that claims memory is a crash AFL++ keeps, on top
//! of the address-space limit (`afl-fuzz -m 256`) run.sh sets.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

/// 256 MiB: the most one input may hold at once.
pub const CEILING: usize = 256 << 20;

/// Counts the bytes in use now (not their sum over a run, which in AFL++'s persistent mode
/// spans thousands of inputs).
pub struct Counting;

static IN_USE: AtomicUsize = AtomicUsize::new(0);

impl Counting {
    fn claim(size: usize) {
        let now = IN_USE.fetch_add(size, Ordering::Relaxed) + size;
        if now > CEILING {
            // A fixed message (formatting would allocate), then the abort AFL++ records.
            use std::io::Write;
            let _ = std::io::stderr().write_all(b"packpub-fuzz: over 256 MiB allocated at once\n");
            std::process::abort();
        }
    }
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        Self::claim(layout.size());
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        Self::claim(layout.size());
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        IN_USE.fetch_sub(layout.size(), Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size > layout.size() {
            Self::claim(new_size - layout.size());
        } else {
            IN_USE.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
        }
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// One target binary: the counting allocator and an AFL++ persistent loop around `$target`.
#[macro_export]
macro_rules! target {
    ($target:path) => {
        #[global_allocator]
        static ALLOC: $crate::Counting = $crate::Counting;

        fn main() {
            afl::fuzz!(|data: &[u8]| {
                $target(data);
            });
        }
    };
}
