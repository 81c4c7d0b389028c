//! The aarch64 side: `svc #0`, `dc cvau`/`ic ivau`, `faccessat`.

use core::arch::asm;
use core::ffi::CStr;

use super::NR_FACCESSAT;

/// `AT_FDCWD`.
const AT_FDCWD: i64 = -100;

/// A system call with up to six arguments; returns `x0` (a negative errno
/// on failure).
///
/// # Safety
///
/// The syscall `nr` with these arguments must not break this process's
/// memory safety (it may write where the pointers point, map or unmap
/// memory).
pub unsafe fn syscall(nr: u32, args: [u64; 6]) -> i64 {
    let ret: i64;
    // SAFETY: `svc #0` enters the kernel, which reads x8 and x0..x5 and
    // returns in x0, changing no other register; the caller vouches for the
    // syscall's effects.
    unsafe {
        asm!(
            "svc #0",
            in("x8") u64::from(nr),
            inlateout("x0") args[0] => ret,
            in("x1") args[1],
            in("x2") args[2],
            in("x3") args[3],
            in("x4") args[4],
            in("x5") args[5],
            options(nostack),
        );
    }
    ret
}

/// A marker in `qemu-aarch64 -strace` output: `faccessat` of `path`, which
/// strace prints by name. The file does not exist; the result is ignored.
pub fn strace_marker(path: &CStr) {
    // SAFETY: `faccessat` only reads the NUL-terminated `path`.
    unsafe {
        syscall(
            NR_FACCESSAT,
            [
                AT_FDCWD as u64,
                path.as_ptr() as u64,
                crate::MARKER_MODE as u64,
                0,
                0,
                0,
            ],
        )
    };
}

/// Makes `len` bytes of freshly written code at `start` visible to
/// instruction fetch (what `__builtin___clear_cache` does): clean the data
/// cache to the point of unification, invalidate the instruction cache.
/// qemu does not need it; a real CPU does.
pub fn sync_icache(start: usize, len: usize) {
    let ctr: u64;
    // SAFETY: reads CTR_EL0 (EL0-readable on Linux and qemu); no memory.
    unsafe { asm!("mrs {}, ctr_el0", out(reg) ctr, options(nomem, nostack)) };
    let dline = 4usize << ((ctr >> 16) & 0xf);
    let iline = 4usize << (ctr & 0xf);
    let end = start + len;
    let mut line = start & !(dline - 1);
    while line < end {
        // SAFETY: cleans one cache line of memory we own; no architectural
        // change to its contents.
        unsafe { asm!("dc cvau, {}", in(reg) line, options(nostack)) };
        line += dline;
    }
    // SAFETY: a barrier: the cleans complete before the invalidations.
    unsafe { asm!("dsb ish", options(nostack)) };
    let mut line = start & !(iline - 1);
    while line < end {
        // SAFETY: invalidates instruction cache lines; no data changes.
        unsafe { asm!("ic ivau, {}", in(reg) line, options(nostack)) };
        line += iline;
    }
    // SAFETY: barriers: the invalidations complete, then this CPU refetches.
    unsafe { asm!("dsb ish", "isb", options(nostack)) };
}
