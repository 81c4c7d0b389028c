//! The 64-bit image's exports (Linux's `arch/arm64/kernel/vdso/vgettimeofday.c`
//! and `sigreturn.S`): the three time functions and `__kernel_getrandom` `@LINUX_2.6.39`, each a
//! one-line forward to the generic adaptors in `image.rs` with this arch's
//! fallback, the signal-return trampoline, and the image's BTI note. The
//! linker script adds the `__vdso_*` aliases `@LINUX_2.6`.

use core::arch::global_asm;

use super::{clock_getres_fallback, clock_gettime_fallback, gettimeofday_fallback, ArchRandom};
use crate::image::{getrandom, getres, gettime, timeofday};
use crate::time::{Timespec, Timeval, Timezone};

/// `clock_gettime(2)`.
///
/// # Safety
///
/// `ts` is null (the syscall then reports `-EFAULT`) or valid for writes.
#[no_mangle]
pub unsafe extern "C" fn __kernel_clock_gettime(clock: i32, ts: *mut Timespec) -> i32 {
    // SAFETY: the caller's contract is `gettime`'s; the syscall checks its
    // arguments itself.
    unsafe { gettime(clock, ts, |t| t, || clock_gettime_fallback(clock, ts)) }
}

/// `gettimeofday(2)`; either pointer may be null.
///
/// # Safety
///
/// `tv` and `tz` are each null or valid for writes.
#[no_mangle]
pub unsafe extern "C" fn __kernel_gettimeofday(tv: *mut Timeval, tz: *mut Timezone) -> i32 {
    // SAFETY: the caller's contract is `timeofday`'s; the syscall checks
    // its arguments itself.
    unsafe { timeofday(tv, tz, |t| t, || gettimeofday_fallback(tv, tz)) }
}

/// `clock_getres(2)`; `res` may be null.
///
/// # Safety
///
/// `res` is null or valid for writes.
#[no_mangle]
pub unsafe extern "C" fn __kernel_clock_getres(clock: i32, res: *mut Timespec) -> i32 {
    // SAFETY: the caller's contract is `getres`'s; the syscall checks its
    // arguments itself.
    unsafe { getres(clock, res, |t| t, || clock_getres_fallback(clock, res)) }
}

/// `getrandom(2)` from a state the libc mapped (Linux 6.12's
/// `__kernel_getrandom`, `arch/arm64/kernel/vdso/vgetrandom.c`), or its
/// params call; see [`crate::random::getrandom`].
///
/// # Safety
///
/// `buffer` is valid for `len` bytes of writes (or the syscall answers for
/// it); `opaque_state` is NULL or `opaque_len` bytes this thread owns.
#[no_mangle]
pub unsafe extern "C" fn __kernel_getrandom(
    buffer: *mut u8,
    len: usize,
    flags: u32,
    opaque_state: *mut u8,
    opaque_len: usize,
) -> isize {
    // SAFETY: the caller's contract is `getrandom`'s.
    unsafe { getrandom(&ArchRandom, buffer, len, flags, opaque_state, opaque_len) }
}

// `__kernel_rt_sigreturn`: exactly `mov x8, #__NR_rt_sigreturn; svc #0`, the
// bytes glibc, musl and libgcc's unwinders match. The `nop` before it lies
// outside the symbol but inside the CFI region: unwinders look up the
// instruction before a return address, which for a signal frame is this `nop`
// (Linux's "mysterious NOP", `arch/arm64/kernel/vdso/sigreturn.S`).
//
// It has no `bti c`, unlike the other exports, on purpose: it is reached by
// the signal handler's `ret` to the address the kernel put in x30, and BTI
// does not check `ret`. A landing pad here would move the two instructions
// the unwinders match away from the symbol, and unwinding through signal
// frames would stop working.
global_asm!(
    ".section .text.__kernel_rt_sigreturn, \"ax\", %progbits",
    ".balign 4",
    "nop",
    ".globl __kernel_rt_sigreturn",
    ".type __kernel_rt_sigreturn, %function",
    "__kernel_rt_sigreturn:",
    "mov x8, #139",
    "svc #0",
    ".size __kernel_rt_sigreturn, . - __kernel_rt_sigreturn",
);

// The image's GNU property note: GNU_PROPERTY_AARCH64_FEATURE_1_AND with
// GNU_PROPERTY_AARCH64_FEATURE_1_BTI, which says "every indirect branch
// target in here is a landing pad". The compiler puts `bti c` at the start of
// every function (`-Zbranch-protection=bti`, set by `cargo xtask build-vdso`),
// but the note LLVM would emit is lost when fat LTO merges in Debian's `core`,
// which was built without branch protection. So it is written here.
// `xtask::check` checks that it is present and true: `bti c` at each time
// function's entry and no `br`/`blr` in the image, so the exports are the only
// indirect branch targets.
global_asm!(
    ".pushsection .note.gnu.property, \"a\", %note",
    ".balign 8",
    ".long 4",  // n_namesz: "GNU\0"
    ".long 16", // n_descsz: one property, padded to 8 bytes
    ".long 5",  // NT_GNU_PROPERTY_TYPE_0
    ".asciz \"GNU\"",
    ".long 0xc0000000", // GNU_PROPERTY_AARCH64_FEATURE_1_AND
    ".long 4",          // pr_datasz
    ".long 1",          // GNU_PROPERTY_AARCH64_FEATURE_1_BTI
    ".long 0",          // padding to 8 bytes
    ".popsection",
);
