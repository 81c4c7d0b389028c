//! The compat image's exports (Linux's `arch/arm64/kernel/vdso32/vgettimeofday.c`):
//! Linux's compat set, all `@LINUX_2.6`, each a one-line forward to the
//! generic adaptors in `image.rs` with this arch's fallback. There is no
//! sigreturn trampoline: as on Linux, compat signal frames return through the
//! kernel's own.

use super::{
    clock_getres32_fallback, clock_gettime32_fallback, clock_gettime_fallback,
    gettimeofday_fallback, OldTimespec32, OldTimeval32,
};
use crate::image::{getres, gettime, timeofday};
use crate::time::{Timespec, Timezone};

/// `clock_gettime64(2)` (time64: `struct __kernel_timespec`), what musl
/// looks up first.
///
/// # Safety
///
/// `ts` is null (the syscall then reports `-EFAULT`) or valid for writes.
#[no_mangle]
pub unsafe extern "C" fn __vdso_clock_gettime64(clock: i32, ts: *mut Timespec) -> i32 {
    // SAFETY: the caller's contract is `gettime`'s; the syscall checks its
    // arguments itself.
    unsafe { gettime(clock, ts, |t| t, || clock_gettime_fallback(clock, ts)) }
}

/// `clock_gettime(2)` (time32), what Go's linux/arm runtime and older libcs
/// call.
///
/// # Safety
///
/// `ts` is null (the syscall then reports `-EFAULT`) or valid for writes.
#[no_mangle]
pub unsafe extern "C" fn __vdso_clock_gettime(clock: i32, ts: *mut OldTimespec32) -> i32 {
    // SAFETY: the caller's contract is `gettime`'s; the syscall checks its
    // arguments itself.
    unsafe {
        gettime(clock, ts, From::from, || {
            clock_gettime32_fallback(clock, ts)
        })
    }
}

/// `gettimeofday(2)`; either pointer may be null.
///
/// # Safety
///
/// `tv` and `tz` are each null or valid for writes.
#[no_mangle]
pub unsafe extern "C" fn __vdso_gettimeofday(tv: *mut OldTimeval32, tz: *mut Timezone) -> i32 {
    // SAFETY: the caller's contract is `timeofday`'s; the syscall checks its
    // arguments itself.
    unsafe { timeofday(tv, tz, From::from, || gettimeofday_fallback(tv, tz)) }
}

/// `clock_getres(2)` (time32); `res` may be null.
///
/// # Safety
///
/// `res` is null or valid for writes.
#[no_mangle]
pub unsafe extern "C" fn __vdso_clock_getres(clock: i32, res: *mut OldTimespec32) -> i32 {
    // SAFETY: the caller's contract is `getres`'s; the syscall checks its
    // arguments itself.
    unsafe {
        getres(clock, res, From::from, || {
            clock_getres32_fallback(clock, res)
        })
    }
}
