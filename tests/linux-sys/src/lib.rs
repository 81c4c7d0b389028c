//! What every aarch64 test program that runs under `qemu-aarch64` needs
//! below its own syscall wrappers: the bare `svc #0` ([`syscall`]), the cache
//! maintenance that makes copied code executable ([`sync_icache`]), and the
//! marker that shows up by name in a `qemu-aarch64 -strace` log
//! ([`strace_marker`]). The probe (`tests/qemu-probe`) and the exec harness
//! (`tests/exec-harness`) build their wrappers on these.
//!
//! `no_std`; empty on other targets.

#![no_std]
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]

#[cfg(target_arch = "aarch64")]
mod aarch64;
#[cfg(target_arch = "aarch64")]
pub use aarch64::*;
