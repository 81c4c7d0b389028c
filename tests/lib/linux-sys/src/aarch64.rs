//! aarch64 Linux: the system call numbers the test programs, the example
//! kernel and xtask use (Linux `include/uapi/asm-generic/unistd.h`, which
//! arm64 uses as it is), and on aarch64 the raw `svc #0`, cache maintenance
//! and strace marker.
//!
//! The numbers are constants on every target: xtask and the host tests read
//! them in traces of aarch64 programs.

mod names;
#[cfg(target_arch = "aarch64")]
mod raw;
pub use names::{name, NAMES};
#[cfg(target_arch = "aarch64")]
pub use raw::{strace_marker, sync_icache, syscall};

/// `__NR_ioctl`.
pub const NR_IOCTL: u32 = 29;
/// `__NR_mount`.
pub const NR_MOUNT: u32 = 40;
/// `__NR_ftruncate`.
pub const NR_FTRUNCATE: u32 = 46;
/// `__NR_faccessat`: the strace marker.
pub const NR_FACCESSAT: u32 = 48;
/// `__NR_close`.
pub const NR_CLOSE: u32 = 57;
/// `__NR_read`.
pub const NR_READ: u32 = 63;
/// `__NR_write`.
pub const NR_WRITE: u32 = 64;
/// `__NR_writev`.
pub const NR_WRITEV: u32 = 66;
/// `__NR_exit`.
pub const NR_EXIT: u32 = 93;
/// `__NR_exit_group`.
pub const NR_EXIT_GROUP: u32 = 94;
/// `__NR_set_tid_address`.
pub const NR_SET_TID_ADDRESS: u32 = 96;
/// `__NR_nanosleep`.
pub const NR_NANOSLEEP: u32 = 101;
/// `__NR_clock_gettime`.
pub const NR_CLOCK_GETTIME: u32 = 113;
/// `__NR_clock_getres`.
pub const NR_CLOCK_GETRES: u32 = 114;
/// `__NR_sched_yield`.
pub const NR_SCHED_YIELD: u32 = 124;
/// `__NR_kill`.
pub const NR_KILL: u32 = 129;
/// `__NR_tkill`.
pub const NR_TKILL: u32 = 130;
/// `__NR_tgkill`.
pub const NR_TGKILL: u32 = 131;
/// `__NR_rt_sigaction`.
pub const NR_RT_SIGACTION: u32 = 134;
/// `__NR_rt_sigprocmask`.
pub const NR_RT_SIGPROCMASK: u32 = 135;
/// `__NR_rt_sigreturn`.
pub const NR_RT_SIGRETURN: u32 = 139;
/// `__NR_reboot`.
pub const NR_REBOOT: u32 = 142;
/// `__NR_gettimeofday`.
pub const NR_GETTIMEOFDAY: u32 = 169;
/// `__NR_getpid`.
pub const NR_GETPID: u32 = 172;
/// `__NR_getppid`.
pub const NR_GETPPID: u32 = 173;
/// `__NR_getuid`.
pub const NR_GETUID: u32 = 174;
/// `__NR_geteuid`.
pub const NR_GETEUID: u32 = 175;
/// `__NR_getgid`.
pub const NR_GETGID: u32 = 176;
/// `__NR_getegid`.
pub const NR_GETEGID: u32 = 177;
/// `__NR_gettid`.
pub const NR_GETTID: u32 = 178;
/// `__NR_brk`.
pub const NR_BRK: u32 = 214;
/// `__NR_munmap`.
pub const NR_MUNMAP: u32 = 215;
/// `__NR_clone`.
pub const NR_CLONE: u32 = 220;
/// `__NR_execve`.
pub const NR_EXECVE: u32 = 221;
/// `__NR_mmap`.
pub const NR_MMAP: u32 = 222;
/// `__NR_mprotect`.
pub const NR_MPROTECT: u32 = 226;
/// `__NR_madvise`.
pub const NR_MADVISE: u32 = 233;
/// `__NR_getrandom`.
pub const NR_GETRANDOM: u32 = 278;
/// `__NR_memfd_create`.
pub const NR_MEMFD_CREATE: u32 = 279;
