//! The image's exported entry points (Linux's `vgettimeofday.c`): each asks
//! the portable algorithm and falls back to the real syscall whenever the data
//! page cannot answer, so the result is always the kernel's.
//!
//! The 64-bit image exports `__kernel_*` `@LINUX_2.6.39`, and the linker
//! script adds the `__vdso_*` aliases `@LINUX_2.6`. The 32-bit compat image
//! exports Linux's compat set `@LINUX_2.6`: `__vdso_clock_gettime` and
//! `__vdso_clock_getres` with 32-bit `struct old_timespec32`,
//! `__vdso_clock_gettime64` with `struct __kernel_timespec`, and
//! `__vdso_gettimeofday` with 32-bit `struct __kernel_old_timeval`. Their
//! contract is the syscall's: 0 or a negative errno.

use crate::arch::{self, ArchCounter};
use crate::time::{self, Timespec, Timeval, Timezone};

/// `clock` from the data page, or `None` if the syscall must answer.
///
/// The 64-bit image inlines the algorithm into each export, for speed. The
/// compat image has three exports that read a clock and must fit in one
/// page with 32-bit code, twice the size: it keeps one copy here.
#[cfg_attr(target_arch = "aarch64", inline(always))]
#[cfg_attr(not(target_arch = "aarch64"), inline(never))]
fn read_clock(clock: i32) -> Option<Timespec> {
    time::clock_gettime(arch::data_page(), clock, &ArchCounter)
}

/// `clock_gettime` into `out` (converted by `convert`), or `fallback`.
///
/// # Safety
///
/// `out` is null (`fallback` then gets to report `-EFAULT`) or valid for
/// writes.
#[inline(always)]
unsafe fn gettime<T>(
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
unsafe fn timeofday<T>(
    tv: *mut T,
    tz: *mut Timezone,
    convert: impl FnOnce(Timeval) -> T,
    fallback: impl FnOnce() -> i32,
) -> i32 {
    let page = arch::data_page();
    if !tv.is_null() {
        // The same as `time::gettimeofday`; the compat image shares its
        // one copy of the algorithm (`read_clock`).
        let now = if cfg!(target_arch = "aarch64") {
            time::gettimeofday(page, &ArchCounter)
        } else {
            read_clock(crate::data::clock::REALTIME).map(time::timeval)
        };
        match now {
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
unsafe fn getres<T>(
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

#[cfg(target_arch = "aarch64")]
mod aarch64 {
    use super::{getres, gettime, timeofday};
    use crate::arch;
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
        unsafe { gettime(clock, ts, |t| t, || arch::clock_gettime_syscall(clock, ts)) }
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
        unsafe { timeofday(tv, tz, |t| t, || arch::gettimeofday_syscall(tv, tz)) }
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
        unsafe { getres(clock, res, |t| t, || arch::clock_getres_syscall(clock, res)) }
    }
}

#[cfg(target_arch = "arm")]
mod arm {
    use super::{getres, gettime, timeofday};
    use crate::arch::{self, syscall2};
    use crate::time::{Timespec, Timezone};

    /// `struct old_timespec32`: what `clock_gettime` and `clock_getres`
    /// (time32) fill in. Seconds are truncated to 32 bits, as the kernel's
    /// own `put_old_timespec32` does.
    #[repr(C)]
    pub struct OldTimespec32 {
        tv_sec: i32,
        tv_nsec: i32,
    }

    /// `struct __kernel_old_timeval` on 32-bit Arm.
    #[repr(C)]
    pub struct OldTimeval32 {
        tv_sec: i32,
        tv_usec: i32,
    }

    fn old_timespec32(t: Timespec) -> OldTimespec32 {
        OldTimespec32 {
            tv_sec: t.tv_sec as i32,
            tv_nsec: t.tv_nsec as i32,
        }
    }

    /// `clock_gettime64(2)` (time64: `struct __kernel_timespec`), what musl
    /// looks up first.
    ///
    /// # Safety
    ///
    /// `ts` is null (the syscall then reports `-EFAULT`) or valid for writes.
    #[no_mangle]
    pub unsafe extern "C" fn __vdso_clock_gettime64(clock: i32, ts: *mut Timespec) -> i32 {
        let syscall = || {
            // SAFETY: clock_gettime64 validates its clock id and pointer.
            unsafe { syscall2(arch::NR_CLOCK_GETTIME64, clock as u32, ts as u32) }
        };
        // SAFETY: the caller's contract is `gettime`'s.
        unsafe { gettime(clock, ts, |t| t, syscall) }
    }

    /// `clock_gettime(2)` (time32), what Go's linux/arm runtime and older
    /// libcs call.
    ///
    /// # Safety
    ///
    /// `ts` is null (the syscall then reports `-EFAULT`) or valid for writes.
    #[no_mangle]
    pub unsafe extern "C" fn __vdso_clock_gettime(clock: i32, ts: *mut OldTimespec32) -> i32 {
        let syscall = || {
            // SAFETY: clock_gettime validates its clock id and pointer.
            unsafe { syscall2(arch::NR_CLOCK_GETTIME, clock as u32, ts as u32) }
        };
        // SAFETY: the caller's contract is `gettime`'s.
        unsafe { gettime(clock, ts, old_timespec32, syscall) }
    }

    /// `gettimeofday(2)`; either pointer may be null.
    ///
    /// # Safety
    ///
    /// `tv` and `tz` are each null or valid for writes.
    #[no_mangle]
    pub unsafe extern "C" fn __vdso_gettimeofday(tv: *mut OldTimeval32, tz: *mut Timezone) -> i32 {
        let syscall = || {
            // SAFETY: gettimeofday validates both pointers.
            unsafe { syscall2(arch::NR_GETTIMEOFDAY, tv as u32, tz as u32) }
        };
        let convert = |t: crate::time::Timeval| OldTimeval32 {
            tv_sec: t.tv_sec as i32,
            tv_usec: t.tv_usec as i32,
        };
        // SAFETY: the caller's contract is `timeofday`'s.
        unsafe { timeofday(tv, tz, convert, syscall) }
    }

    /// `clock_getres(2)` (time32); `res` may be null.
    ///
    /// # Safety
    ///
    /// `res` is null or valid for writes.
    #[no_mangle]
    pub unsafe extern "C" fn __vdso_clock_getres(clock: i32, res: *mut OldTimespec32) -> i32 {
        let syscall = || {
            // SAFETY: clock_getres validates its clock id and pointer.
            unsafe { syscall2(arch::NR_CLOCK_GETRES, clock as u32, res as u32) }
        };
        // SAFETY: the caller's contract is `getres`'s.
        unsafe { getres(clock, res, old_timespec32, syscall) }
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
