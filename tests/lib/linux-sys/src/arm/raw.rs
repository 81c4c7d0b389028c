//! The 32-bit Arm (EABI) side: `svc #0` with the number in r7, the
//! `cacheflush` private syscall, `faccessat` with [`crate::MARKER_MODE`].
//!
//! The same signatures as the aarch64 side, so the harness's wrappers are
//! written once: arguments are passed as `u64` and truncated to the 32-bit
//! registers (every value the harness passes fits: addresses, lengths,
//! flags, and -1 as `u64::MAX`), and the result is widened the way the
//! kernel means it: `-4095..=-1` is an error, anything else an unsigned
//! 32-bit value (an `mmap` address above 2 GiB is not negative).

use core::arch::asm;
use core::ffi::CStr;

use super::{ARM_NR_CACHEFLUSH, NR_FACCESSAT};

/// `AT_FDCWD`.
const AT_FDCWD: i64 = -100;

/// A system call with up to six arguments; returns `r0`: a negative errno
/// on failure, else its unsigned 32-bit value.
///
/// # Safety
///
/// The syscall `nr` with these arguments must not break this process's
/// memory safety (it may write where the pointers point, map or unmap
/// memory).
pub unsafe fn syscall(nr: u32, args: [u64; 6]) -> i64 {
    let ret: u32;
    // SAFETY: `svc #0` enters the kernel, which reads r7 and r0..r5 and
    // returns in r0, changing no other register; the caller vouches for the
    // syscall's effects. (r7 is usable as an operand in ARM state, which
    // this target compiles to; r6 is not needed.)
    unsafe {
        asm!(
            "svc #0",
            in("r7") nr,
            inlateout("r0") args[0] as u32 => ret,
            in("r1") args[1] as u32,
            in("r2") args[2] as u32,
            in("r3") args[3] as u32,
            in("r4") args[4] as u32,
            in("r5") args[5] as u32,
            options(nostack),
        );
    }
    if ret >= 4095u32.wrapping_neg() {
        i64::from(ret as i32)
    } else {
        i64::from(ret)
    }
}

/// A marker in a syscall trace: `faccessat(AT_FDCWD, path, MARKER_MODE, 0)`.
/// `qemu-arm -strace` prints `path`; the kernel's `raw_syscalls:sys_enter`
/// tracepoint shows only numbers, `NR 334 (ffffff9c, <ptr>, 7664, 0, ...)`,
/// and the mode [`crate::MARKER_MODE`] (which the kernel refuses with
/// `EINVAL`, before looking at the path) makes it recognisable there. The
/// result is ignored.
pub fn strace_marker(path: &CStr) {
    // SAFETY: `faccessat` at most reads the NUL-terminated `path`.
    unsafe {
        syscall(
            NR_FACCESSAT,
            [
                AT_FDCWD as u64,
                path.as_ptr() as u64,
                crate::MARKER_MODE.into(),
                0,
                0,
                0,
            ],
        )
    };
}

/// Makes `len` bytes of freshly written code at `start` visible to
/// instruction fetch: the kernel's `cacheflush(start, end, 0)` cleans the
/// data cache and invalidates the instruction cache for the range (on
/// arm64, for a compat task, too). qemu does not need it; a real CPU does.
pub fn sync_icache(start: usize, len: usize) {
    let args = [start as u64, (start + len) as u64, 0, 0, 0, 0];
    // SAFETY: cache maintenance of memory we own; no architectural change
    // to its contents.
    unsafe { syscall(ARM_NR_CACHEFLUSH, args) };
}
