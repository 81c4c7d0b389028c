//! What every aarch64 test program that runs under `qemu-aarch64` needs
//! below its own syscall wrappers: the bare `svc #0` (`syscall`), the cache
//! maintenance that makes copied code executable (`sync_icache`), and the
//! marker that shows up by name in a `qemu-aarch64 -strace` log
//! (`strace_marker`). The probe (`tests/qemu-probe`) and the exec harness
//! (`tests/exec-harness`) build their wrappers on these.
//!
//! The same three exist for 32-bit Arm (`armv7-unknown-linux-gnueabihf`,
//! the armv7 exec harness), with the same signatures; there the marker
//! also carries [`MARKER_MODE`], so a trace of raw syscall numbers and
//! arguments shows it too.
//!
//! `no_std`; on other targets only the constants.

#![no_std]
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]

/// The `mode` argument of the 32-bit Arm `strace_marker`'s `faccessat`:
/// `0x7664` ("vd"), not a valid mode (the kernel answers `EINVAL`), so a
/// trace that shows only raw arguments (Linux's `raw_syscalls:sys_enter`)
/// can tell the marker from any real `faccessat`: there it reads
/// `NR 334 (ffffff9c, <path>, 7664, 0, ...)`. The aarch64 marker passes
/// mode 0 (`F_OK`), as it always did.
pub const MARKER_MODE: u32 = 0x7664;
/// `__NR_faccessat` on 32-bit Arm (EABI), the marker's syscall number in a
/// raw trace of an armv7 program.
pub const ARM_NR_FACCESSAT: u32 = 334;

#[cfg(target_arch = "aarch64")]
mod aarch64;
#[cfg(target_arch = "aarch64")]
pub use aarch64::*;

#[cfg(target_arch = "arm")]
mod arm;
#[cfg(target_arch = "arm")]
pub use arm::*;
