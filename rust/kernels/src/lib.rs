//! The numeric and codec kernels behind `gancli._native`.
//!
//! This crate knows nothing of Python: slices and paths in, buffers out, errors as values. The
//! PyO3 bindings in `rust/native` wrap it, releasing the GIL around every call.

pub mod augment;
pub mod checksum;
pub mod decode;
pub mod encode;
pub mod error;
pub mod find;
pub mod sniff;

pub use error::{ErrorKind, ImageError};

/// Run `work` on a rayon pool of `threads` threads, or on the global pool when `threads` is `None`.
///
/// A dedicated pool lets callers (and tests) pin the thread count per call without touching the
/// process-wide pool.
pub fn with_threads<T, F>(threads: Option<usize>, work: F) -> Result<T, String>
where
    T: Send,
    F: FnOnce() -> T + Send,
{
    match threads {
        None => Ok(work()),
        Some(0) => Err("threads must be at least 1".to_string()),
        Some(n) => {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(n)
                .build()
                .map_err(|e| format!("cannot start a pool of {n} threads: {e}"))?;
            Ok(pool.install(work))
        }
    }
}
