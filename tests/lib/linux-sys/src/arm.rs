//! 32-bit Arm (EABI) Linux: the system call numbers the armv7 exec harness
//! and the VM tests use (Linux `arch/arm/tools/syscall.tbl`, as arm64 Linux
//! also serves them to a compat task), and on 32-bit Arm the raw `svc #0`,
//! cache maintenance and strace marker.
//!
//! The numbers are constants on every target: xtask and the host tests read
//! them in the VM's trace of 32-bit programs. Where a call has a 32-bit and
//! a 64-bit (or 16-bit and 32-bit) generation, both are here under Linux's
//! names, and each caller says which it means.

#[cfg(target_arch = "arm")]
mod raw;
#[cfg(target_arch = "arm")]
pub use raw::{strace_marker, sync_icache, syscall};

/// `__NR_write`.
pub const NR_WRITE: u32 = 4;
/// `__NR_close`.
pub const NR_CLOSE: u32 = 6;
/// `__NR_execve`.
pub const NR_EXECVE: u32 = 11;
/// `__NR_getpid`.
pub const NR_GETPID: u32 = 20;
/// `__NR_gettimeofday`.
pub const NR_GETTIMEOFDAY: u32 = 78;
/// `__NR_munmap`.
pub const NR_MUNMAP: u32 = 91;
/// `__NR_ftruncate`: a 32-bit length.
pub const NR_FTRUNCATE: u32 = 93;
/// `__NR_clone`.
pub const NR_CLONE: u32 = 120;
/// `__NR_mprotect`.
pub const NR_MPROTECT: u32 = 125;
/// `__NR_nanosleep`: a 32-bit `struct timespec`.
pub const NR_NANOSLEEP: u32 = 162;
/// `__NR_rt_sigprocmask`.
pub const NR_RT_SIGPROCMASK: u32 = 175;
/// `__NR_mmap2`: the offset in pages.
pub const NR_MMAP2: u32 = 192;
/// `__NR_getuid32`: the 32-bit id (plain `getuid`, 24, is 16-bit).
pub const NR_GETUID32: u32 = 199;
/// `__NR_getgid32`.
pub const NR_GETGID32: u32 = 200;
/// `__NR_geteuid32`.
pub const NR_GETEUID32: u32 = 201;
/// `__NR_getegid32`.
pub const NR_GETEGID32: u32 = 202;
/// `__NR_exit_group`.
pub const NR_EXIT_GROUP: u32 = 248;
/// `__NR_clock_gettime`: a 32-bit `time_t`.
pub const NR_CLOCK_GETTIME: u32 = 263;
/// `__NR_clock_getres`: a 32-bit `time_t`.
pub const NR_CLOCK_GETRES: u32 = 264;
/// `__NR_faccessat`: the strace marker (with [`crate::MARKER_MODE`]).
pub const NR_FACCESSAT: u32 = 334;
/// `__NR_getrandom`.
pub const NR_GETRANDOM: u32 = 384;
/// `__NR_memfd_create`.
pub const NR_MEMFD_CREATE: u32 = 385;
/// `__NR_clock_gettime64`: a 64-bit `struct __kernel_timespec` (musl ≥ 1.2,
/// glibc with `_TIME_BITS=64`).
pub const NR_CLOCK_GETTIME64: u32 = 403;
/// `__NR_clock_getres_time64`.
pub const NR_CLOCK_GETRES_TIME64: u32 = 406;
/// `__ARM_NR_cacheflush` (`__ARM_NR_BASE + 2`): Arm's way to make written
/// code visible to instruction fetch; user mode has no cache instructions.
pub const ARM_NR_CACHEFLUSH: u32 = 0x0f_0002;
