//! The probe's system calls and its only `asm!`: raw `svc #0` wrappers over
//! `vdso_linux_sys::syscall` (so the reference values never go through a
//! libc that might itself use a vDSO) and a signal handler that records its
//! return address. The syscall numbers, cache maintenance for copied code
//! and the strace marker come from `vdso-linux-sys`.
//!
//! # Safety
//!
//! Each wrapper is the bare syscall: the kernel validates its arguments and
//! reports bad pointers as `-EFAULT`, so passing null or dangling pointers is
//! memory-safe as far as the kernel's writes go. The `unsafe fn`s say which
//! arguments must be valid for the call to be sound for *this* process.

use core::arch::global_asm;
use core::sync::atomic::AtomicU64;

use loader::{Timespec, Timeval, Timezone};
use vdso_linux_sys::aarch64::{
    NR_CLOCK_GETRES, NR_CLOCK_GETTIME, NR_GETPID, NR_GETTID, NR_GETTIMEOFDAY, NR_MMAP, NR_MPROTECT,
    NR_RT_SIGACTION, NR_TGKILL,
};
use vdso_linux_sys::syscall;
pub use vdso_linux_sys::{strace_marker, sync_icache};

/// `PROT_NONE`.
pub const PROT_NONE: u64 = 0;
/// `PROT_READ`.
pub const PROT_READ: u64 = 1;
/// `PROT_WRITE`.
pub const PROT_WRITE: u64 = 2;
/// `PROT_EXEC`.
pub const PROT_EXEC: u64 = 4;
const MAP_PRIVATE: u64 = 0x02;
const MAP_ANONYMOUS: u64 = 0x20;
/// `SIGUSR1`.
pub const SIGUSR1: i32 = 10;
/// `SA_RESTORER`: the signal frame returns to `sa_restorer`.
pub const SA_RESTORER: u64 = 0x0400_0000;

/// The real `clock_gettime`; `ts` may be null (the kernel says `-EFAULT`).
pub fn clock_gettime(clock: i32, ts: *mut Timespec) -> i32 {
    // SAFETY: the kernel writes one timespec at `ts`, which is null or points
    // to one the caller owns (every caller passes `&mut` or null).
    unsafe { syscall(NR_CLOCK_GETTIME, [clock as u64, ts as u64, 0, 0, 0, 0]) as i32 }
}

/// The real `clock_getres`; `res` may be null.
pub fn clock_getres(clock: i32, res: *mut Timespec) -> i32 {
    // SAFETY: as for `clock_gettime`.
    unsafe { syscall(NR_CLOCK_GETRES, [clock as u64, res as u64, 0, 0, 0, 0]) as i32 }
}

/// The real `gettimeofday`; either pointer may be null.
pub fn gettimeofday(tv: *mut Timeval, tz: *mut Timezone) -> i32 {
    // SAFETY: the kernel writes at most one timeval and one timezone, each at
    // a null pointer (skipped) or one the caller owns.
    unsafe { syscall(NR_GETTIMEOFDAY, [tv as u64, tz as u64, 0, 0, 0, 0]) as i32 }
}

/// Maps `len` bytes of fresh, zeroed, private read/write memory.
pub fn mmap_anonymous(len: usize) -> Result<usize, i64> {
    let prot = PROT_READ | PROT_WRITE;
    let flags = MAP_PRIVATE | MAP_ANONYMOUS;
    // SAFETY: a new anonymous mapping at an address the kernel picks never
    // overlaps memory this process uses.
    let ret = unsafe { syscall(NR_MMAP, [0, len as u64, prot, flags, u64::MAX, 0]) };
    if (-4095..0).contains(&ret) {
        Err(ret)
    } else {
        Ok(ret as usize)
    }
}

/// Changes the protection of pages this program mapped with
/// [`mmap_anonymous`].
///
/// # Safety
///
/// Nothing in the process accesses the range in a way the new protection
/// forbids.
pub unsafe fn mprotect(addr: usize, len: usize, prot: u64) -> i64 {
    // SAFETY: the caller guarantees the range is ours and the new protection
    // matches how it is used.
    unsafe { syscall(NR_MPROTECT, [addr as u64, len as u64, prot, 0, 0, 0]) }
}

/// The kernel's `struct sigaction` on arm64 (asm-generic layout).
#[repr(C)]
pub struct KernelSigaction {
    /// Handler address, `SIG_DFL` (0) or `SIG_IGN` (1).
    pub handler: usize,
    /// `SA_*` flags.
    pub flags: u64,
    /// Where the handler returns to when `SA_RESTORER` is set.
    pub restorer: usize,
    /// Signals blocked during the handler.
    pub mask: u64,
}

/// Installs `action` for `signal`.
///
/// # Safety
///
/// `action.handler` is `SIG_DFL`, `SIG_IGN` or an async-signal-safe handler
/// with the C ABI, and `action.restorer` (with `SA_RESTORER`) is code that
/// performs `rt_sigreturn`.
pub unsafe fn rt_sigaction(signal: i32, action: &KernelSigaction) -> i64 {
    let act = action as *const KernelSigaction as u64;
    // SAFETY: the kernel reads one sigaction from `act`; the caller vouches
    // for the handler and restorer.
    unsafe { syscall(NR_RT_SIGACTION, [signal as u64, act, 0, 8, 0, 0]) }
}

/// Sends `signal` to the calling thread and returns once it was handled.
pub fn raise(signal: i32) -> i64 {
    // SAFETY: `getpid`, `gettid` and `tgkill` to ourselves touch no memory;
    // the signal's disposition is the caller's business (`rt_sigaction`).
    unsafe {
        let pid = syscall(NR_GETPID, [0; 6]) as u64;
        let tid = syscall(NR_GETTID, [0; 6]) as u64;
        syscall(NR_TGKILL, [pid, tid, signal as u64, 0, 0, 0])
    }
}

/// The return address (`x30`) the last [`signal_handler`] call saw: where
/// the kernel's signal frame sends the handler's `ret`.
pub static HANDLER_RETURN: AtomicU64 = AtomicU64::new(0);

extern "C" {
    /// A signal handler that stores its return address in
    /// [`HANDLER_RETURN`] and returns. Written in assembly so nothing runs
    /// before `x30` is read.
    pub fn vdso_probe_signal_handler(signal: i32);
}

global_asm!(
    ".text",
    ".balign 4",
    ".globl vdso_probe_signal_handler",
    ".type vdso_probe_signal_handler, %function",
    "vdso_probe_signal_handler:",
    "adrp x1, {ret}",
    "add x1, x1, :lo12:{ret}",
    "str x30, [x1]",
    "ret",
    ".size vdso_probe_signal_handler, . - vdso_probe_signal_handler",
    ret = sym HANDLER_RETURN,
);
