//! The image's exported entry points (Linux's `vgettimeofday.c`): each asks
//! the portable algorithm and falls back to the real syscall whenever the data
//! page cannot answer, so the result is always the kernel's.
//!
//! The linker script exports these `@LINUX_2.6.39` and adds the `__vdso_*`
//! aliases `@LINUX_2.6`. Their contract is the syscall's: 0 or a negative
//! errno in `x0`.

use crate::arch::{self, ArchCounter};
use crate::time::{self, Timespec, Timeval, Timezone};

/// `clock_gettime(2)`.
///
/// # Safety
///
/// `ts` is null (the syscall then reports `-EFAULT`) or valid for writes.
#[no_mangle]
pub unsafe extern "C" fn __kernel_clock_gettime(clock: i32, ts: *mut Timespec) -> i32 {
    if !ts.is_null() {
        if let Some(now) = time::clock_gettime(arch::data_page(), clock, &ArchCounter) {
            // SAFETY: `ts` is non-null and the caller's to write.
            unsafe { ts.write(now) };
            return 0;
        }
    }
    // SAFETY: the syscall checks its arguments itself.
    unsafe { arch::clock_gettime_syscall(clock, ts) }
}

/// `gettimeofday(2)`; either pointer may be null.
///
/// # Safety
///
/// `tv` and `tz` are each null or valid for writes.
#[no_mangle]
pub unsafe extern "C" fn __kernel_gettimeofday(tv: *mut Timeval, tz: *mut Timezone) -> i32 {
    let page = arch::data_page();
    if !tv.is_null() {
        match time::gettimeofday(page, &ArchCounter) {
            // SAFETY: `tv` is non-null and the caller's to write.
            Some(now) => unsafe { tv.write(now) },
            // SAFETY: the syscall checks its arguments itself.
            None => return unsafe { arch::gettimeofday_syscall(tv, tz) },
        }
    }
    if !tz.is_null() {
        match time::timezone(page) {
            // SAFETY: `tz` is non-null and the caller's to write.
            Some(zone) => unsafe { tz.write(zone) },
            // SAFETY: the syscall checks its arguments itself.
            None => return unsafe { arch::gettimeofday_syscall(tv, tz) },
        }
    }
    0
}

/// `clock_getres(2)`; `res` may be null.
///
/// # Safety
///
/// `res` is null or valid for writes.
#[no_mangle]
pub unsafe extern "C" fn __kernel_clock_getres(clock: i32, res: *mut Timespec) -> i32 {
    match time::clock_getres(arch::data_page(), clock) {
        Some(resolution) => {
            if !res.is_null() {
                // SAFETY: `res` is non-null and the caller's to write.
                unsafe { res.write(resolution) };
            }
            0
        }
        // SAFETY: the syscall checks its arguments itself.
        None => unsafe { arch::clock_getres_syscall(clock, res) },
    }
}

/// Panics cannot happen in the image. This handler calls a symbol nobody
/// defines, so if a panic path ever survives optimisation the link fails
/// (`--no-undefined`) instead of shipping panic machinery.
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    extern "C" {
        fn __vdso_panic_path_survived_optimisation() -> !;
    }
    // SAFETY: never runs; the symbol does not exist and the link fails if
    // this call is reachable.
    unsafe { __vdso_panic_path_survived_optimisation() }
}
