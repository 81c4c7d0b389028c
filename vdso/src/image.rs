//! The generic adaptors between the exports and the portable algorithm
//! (Linux's `__cvdso_*` wrappers in `lib/vdso/gettimeofday.c`): each asks
//! [`time`] and calls the arch's fallback, the real syscall, whenever the
//! data page cannot answer, so the result is always the kernel's. Their
//! contract is the syscall's: 0 or a negative errno.
//!
//! Nothing here depends on the arch beyond the hooks every arch module
//! supplies (`crate::arch`): each arch's export list is in its own
//! `exports.rs`, and converts [`Timespec`]/[`Timeval`] into its ABI's types.

use crate::arch::{self, ArchCounter};
use crate::data::{clock, DataPage};
use crate::time::{self, Timespec, Timeval, Timezone};

/// `clock` from the data page, or `None` if the syscall must answer: one
/// inlined copy per export, or the one out-of-line copy that all exports
/// share where the arch asks for it ([`arch::SHARED_CLOCK_READ`]).
#[inline(always)]
fn read_clock(clock: i32) -> Option<Timespec> {
    if arch::SHARED_CLOCK_READ {
        read_clock_shared(clock)
    } else {
        time::clock_gettime(arch::data_page(), clock, &ArchCounter)
    }
}

/// [`read_clock`], out of line.
#[inline(never)]
fn read_clock_shared(clock: i32) -> Option<Timespec> {
    time::clock_gettime(arch::data_page(), clock, &ArchCounter)
}

/// `CLOCK_REALTIME` as a `timeval` from `page`, or `None` if the syscall
/// must answer; through the shared copy of the clock read where the arch
/// has one.
#[inline(always)]
fn read_timeofday(page: &DataPage) -> Option<Timeval> {
    if arch::SHARED_CLOCK_READ {
        read_clock_shared(clock::REALTIME).map(time::timeval)
    } else {
        time::gettimeofday(page, &ArchCounter)
    }
}

/// `clock_gettime` into `out` (converted by `convert`), or `fallback`.
///
/// # Safety
///
/// `out` is null (`fallback` then gets to report `-EFAULT`) or valid for
/// writes.
#[inline(always)]
pub(crate) unsafe fn gettime<T>(
    clock: i32,
    out: *mut T,
    convert: impl FnOnce(Timespec) -> T,
    fallback: impl FnOnce() -> i32,
) -> i32 {
    if !out.is_null() {
        if let Some(now) = read_clock(clock) {
            // SAFETY: `out` is non-null and the caller's to write.
            unsafe { out.write(convert(now)) };
            return 0;
        }
    }
    fallback()
}

/// `gettimeofday` into `tv` and `tz` (each may be null), or `fallback`.
///
/// # Safety
///
/// `tv` and `tz` are each null or valid for writes.
#[inline(always)]
pub(crate) unsafe fn timeofday<T>(
    tv: *mut T,
    tz: *mut Timezone,
    convert: impl FnOnce(Timeval) -> T,
    fallback: impl FnOnce() -> i32,
) -> i32 {
    let page = arch::data_page();
    if !tv.is_null() {
        match read_timeofday(page) {
            // SAFETY: `tv` is non-null and the caller's to write.
            Some(now) => unsafe { tv.write(convert(now)) },
            None => return fallback(),
        }
    }
    if !tz.is_null() {
        match time::timezone(page, &ArchCounter) {
            // SAFETY: `tz` is non-null and the caller's to write.
            Some(zone) => unsafe { tz.write(zone) },
            None => return fallback(),
        }
    }
    0
}

/// `clock_getres` into `res` (which may be null), or `fallback`.
///
/// # Safety
///
/// `res` is null or valid for writes.
#[inline(always)]
pub(crate) unsafe fn getres<T>(
    clock: i32,
    res: *mut T,
    convert: impl FnOnce(Timespec) -> T,
    fallback: impl FnOnce() -> i32,
) -> i32 {
    match time::clock_getres(arch::data_page(), clock, &ArchCounter) {
        Some(resolution) => {
            if !res.is_null() {
                // SAFETY: `res` is non-null and the caller's to write.
                unsafe { res.write(convert(resolution)) };
            }
            0
        }
        None => fallback(),
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
