//! The one home of Linux system call numbers and the raw system call for
//! the test programs, the example kernel and xtask (the image itself,
//! `vdso/`, keeps its own few numbers: it depends on nothing).
//!
//! - [`aarch64`] and [`arm`] hold the `__NR_*` numbers of each ABI under
//!   Linux's names (`aarch64::NR_CLOCK_GETTIME`, `arm::NR_CLOCK_GETTIME64`),
//!   as constants on every target, since xtask and the host tests read them
//!   in traces.
//! - On aarch64 and 32-bit Arm the running arch's module also has, and the
//!   crate root re-exports, what every test program that runs under qemu or
//!   the Linux VM needs below its own syscall wrappers: the bare `svc #0`
//!   (`syscall`), the cache maintenance that makes copied code executable
//!   (`sync_icache`), and the marker that shows up by name in a
//!   `qemu-aarch64 -strace` log (`strace_marker`). The probe
//!   (`tests/programs/probe`), the exec harness (`tests/templates/exec-harness`) and the
//!   VM's init (`tests/programs/vm-init`) build their wrappers on these. Both arches
//!   have the same signatures, and the marker carries [`MARKER_MODE`], so a
//!   trace of raw syscall numbers and arguments (the Linux VM's) shows it
//!   too.
//!
//! `no_std` and dependency-free.

#![no_std]
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]

pub mod aarch64;
pub mod arm;

/// The `mode` argument of `strace_marker`'s `faccessat` (both arches):
/// `0x7664` ("vd"), not a valid mode (the kernel answers `EINVAL`), so a
/// trace that shows only raw arguments (Linux's `raw_syscalls:sys_enter`)
/// can tell the marker from any real `faccessat`: there it reads
/// `NR 334 (ffffff9c, <path>, 7664, 0, ...)`, and from a 64-bit one
/// `NR 48 (ffffffffffffff9c, <path>, 7664, ...)`. The marker's result is
/// never read.
pub const MARKER_MODE: u32 = 0x7664;

#[cfg(target_arch = "aarch64")]
pub use aarch64::{strace_marker, sync_icache, syscall};

#[cfg(target_arch = "arm")]
pub use arm::{strace_marker, sync_icache, syscall};
