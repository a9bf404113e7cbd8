//! The chunk size in force for this run's uploads: the user's `--chunk-size`, halved after
//! a front end refuses a body as too large (413) down to a floor — the registry's own minimum
//! where it has one (ECR's parts). The registry holds it ([`super::Registry`]); `upload.rs`
//! reads and shrinks it.

use std::sync::atomic::{AtomicU64, Ordering};

/// The smallest chunk a 413 may halve the size to, where the registry sets no minimum of its
/// own (ECR's is [`crate::registry::ecr::MIN_PART`]).
pub(super) const MIN_CHUNK: u64 = 64 << 10;

/// The chunk size in force: the user's, or less after a front end refused it.
pub struct Chunks {
    size: AtomicU64,
    /// The smallest chunk the registry takes (all but the last must be this big).
    pub(super) min: u64,
    /// Set once a 413 forced chunks on every blob of this run.
    pub(super) forced: std::sync::atomic::AtomicBool,
}

impl Chunks {
    pub fn new(size: u64, min: u64) -> Self {
        Self {
            size: AtomicU64::new(size.max(min)),
            min,
            forced: std::sync::atomic::AtomicBool::new(false),
        }
    }

    pub(super) fn size(&self) -> u64 {
        self.size.load(Ordering::Relaxed)
    }

    pub(super) fn whole(&self, blob_size: u64) -> bool {
        blob_size <= self.size() && !self.forced.load(Ordering::Relaxed)
    }

    /// After a 413 for a body of `refused` bytes: the next chunk size, or `None` when it is
    /// already the smallest.
    pub(super) fn shrink(&self, refused: u64) -> Option<u64> {
        self.forced.store(true, Ordering::Relaxed);
        if refused <= self.min {
            return None;
        }
        let next = (refused / 2).min(self.size()).max(self.min);
        self.size.store(next, Ordering::Relaxed);
        Some(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_413_halves_the_chunk_down_to_a_floor() {
        let chunks = Chunks::new(64 << 20, MIN_CHUNK);
        assert!(chunks.whole(64 << 20));
        assert!(!chunks.whole((64 << 20) + 1));
        assert_eq!(chunks.shrink(10 << 20), Some(5 << 20));
        // Every blob goes in chunks once a front end has refused one.
        assert!(!chunks.whole(1));
        assert_eq!(chunks.shrink(5 << 20), Some((5 << 20) / 2));
        assert_eq!(chunks.shrink(MIN_CHUNK), None);
        assert_eq!(Chunks::new(1, MIN_CHUNK).size(), MIN_CHUNK);
    }

    #[test]
    fn a_registry_minimum_stops_the_halving_there() {
        let chunks = Chunks::new(1, 5 << 20);
        assert_eq!(chunks.size(), 5 << 20, "raised to the registry's minimum");
        let chunks = Chunks::new(16 << 20, 5 << 20);
        assert_eq!(chunks.shrink(16 << 20), Some(8 << 20));
        assert_eq!(chunks.shrink(8 << 20), Some(5 << 20));
        assert_eq!(chunks.shrink(5 << 20), None);
    }
}
