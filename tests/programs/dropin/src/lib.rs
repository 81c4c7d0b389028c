//! The drop-in test's reusable part, also used by the benchmark
//! (`tests/programs/bench`, `vdso-bench`): [`pair`] maps our image and Linux's own
//! arm64 vDSO side by side in one process, each on a data page written by
//! its own [`loader::Writer`], and finds their functions (aarch64 only).

#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]

#[cfg(target_arch = "aarch64")]
pub mod pair;
