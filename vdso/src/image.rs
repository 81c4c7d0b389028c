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
use crate::random::{self, Random};
use crate::time::{self, Counted, Once, Timespec, Timeval, Timezone};

// Each time export runs a straight path first: one seqlock round, inlined
// (`time::*_once`). Anything else (a writer at work, another counter mode,
// a rare read, a page that needs the syscall) goes to the export's
// out-of-line, cold `*_contended` function, reached by a tail call, which
// runs the whole read (every round, every check; its first round is the
// straight path's when that one read the counter, `Once::Counted`) and then
// the fallback; a NULL `ts` goes to the fallback at once. So the straight
// path sets up nothing that only the rare cases need: no stack frame, no
// round counter, no constants of the rarer counter modes. The whole read
// exists once, out of line ([`read_clock`]), shared by every export. An arch
// without room for the straight paths (not [`arch::STRAIGHT_PATHS`]: the
// compat image must fit in a page with 32-bit code) runs the whole read on
// every call.

/// `clock` from the data page in all seqlock rounds, the first being
/// `first` if a straight path read the counter in it (not
/// [`Counted::NONE`]), or `None` if the
/// syscall must answer: the image's one out-of-line copy of the whole read,
/// which every export shares.
#[cfg_attr(target_arch = "aarch64", optimize(size))]
#[inline(never)]
fn read_clock(clock: i32, first: Counted) -> Option<Timespec> {
    // Without straight paths no round is ever handed over: say so, and the
    // compiler drops the hand-over from the full read.
    let first = if arch::STRAIGHT_PATHS {
        first
    } else {
        Counted::NONE
    };
    time::clock_gettime_from(arch::data_page(), clock, &ArchCounter, first)
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
    convert: impl FnOnce(Timespec) -> T + Copy,
    fallback: impl FnOnce() -> i32,
) -> i32 {
    if arch::STRAIGHT_PATHS && !out.is_null() {
        let first = match time::clock_gettime_once(arch::data_page(), clock, &ArchCounter) {
            Once::Done(now) => {
                // SAFETY: `out` is non-null and the caller's to write.
                unsafe { out.write(convert(now)) };
                return 0;
            }
            Once::Counted(round) => round,
            Once::Skipped => Counted::NONE,
        };
        // SAFETY: the caller's contract, passed on.
        return unsafe { gettime_contended(clock, out, first, convert, fallback) };
    }
    // SAFETY: the caller's contract, passed on.
    unsafe { gettime_all_rounds(clock, out, Counted::NONE, convert, fallback) }
}

/// [`gettime`] off its straight path, out of line.
///
/// # Safety
///
/// As [`gettime`].
#[cold]
#[cfg_attr(target_arch = "aarch64", optimize(size))]
#[inline(never)]
unsafe fn gettime_contended<T>(
    clock: i32,
    out: *mut T,
    first: Counted,
    convert: impl FnOnce(Timespec) -> T,
    fallback: impl FnOnce() -> i32,
) -> i32 {
    // SAFETY: the caller's contract, passed on.
    unsafe { gettime_all_rounds(clock, out, first, convert, fallback) }
}

/// [`gettime`] in all seqlock rounds (the first being `first`, if given),
/// then the fallback.
///
/// # Safety
///
/// As [`gettime`].
#[inline(always)]
unsafe fn gettime_all_rounds<T>(
    clock: i32,
    out: *mut T,
    first: Counted,
    convert: impl FnOnce(Timespec) -> T,
    fallback: impl FnOnce() -> i32,
) -> i32 {
    if !out.is_null() {
        if let Some(now) = read_clock(clock, first) {
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
    convert: impl FnOnce(Timeval) -> T + Copy,
    fallback: impl FnOnce() -> i32,
) -> i32 {
    if arch::STRAIGHT_PATHS {
        let page = arch::data_page();
        let mut first = Counted::NONE;
        let read = || match time::gettimeofday_once(page, &ArchCounter) {
            Once::Done(now) => Some(now),
            Once::Counted(round) => {
                first = round;
                None
            }
            Once::Skipped => None,
        };
        // SAFETY: the caller's contract, passed on.
        if let Some(done) = unsafe { try_timeofday(page, tv, tz, convert, read) } {
            return done;
        }
        // SAFETY: the caller's contract, passed on.
        return unsafe { timeofday_contended(tv, tz, first, convert, fallback) };
    }
    // SAFETY: the caller's contract, passed on.
    unsafe { timeofday_all_rounds(tv, tz, Counted::NONE, convert, fallback) }
}

/// [`timeofday`] off its straight path, out of line.
///
/// # Safety
///
/// As [`timeofday`].
#[cold]
#[cfg_attr(target_arch = "aarch64", optimize(size))]
#[inline(never)]
unsafe fn timeofday_contended<T>(
    tv: *mut T,
    tz: *mut Timezone,
    first: Counted,
    convert: impl FnOnce(Timeval) -> T,
    fallback: impl FnOnce() -> i32,
) -> i32 {
    // SAFETY: the caller's contract, passed on.
    unsafe { timeofday_all_rounds(tv, tz, first, convert, fallback) }
}

/// [`timeofday`] in all seqlock rounds (`time::gettimeofday` through
/// [`read_clock`], the first round being `first` if given), then the
/// fallback.
///
/// # Safety
///
/// As [`timeofday`].
#[inline(always)]
unsafe fn timeofday_all_rounds<T>(
    tv: *mut T,
    tz: *mut Timezone,
    first: Counted,
    convert: impl FnOnce(Timeval) -> T,
    fallback: impl FnOnce() -> i32,
) -> i32 {
    let page = arch::data_page();
    let read = || read_clock(clock::REALTIME, first).map(time::timeval);
    // SAFETY: the caller's contract, passed on.
    unsafe { try_timeofday(page, tv, tz, convert, read) }.unwrap_or_else(fallback)
}

/// Writes `tv` (from `read`) and `tz` (from `page`) where they are non-null
/// and returns `Some(0)`, or `None` when the page cannot answer one of them.
///
/// # Safety
///
/// `tv` and `tz` are each null or valid for writes.
#[inline(always)]
unsafe fn try_timeofday<T>(
    page: &DataPage,
    tv: *mut T,
    tz: *mut Timezone,
    convert: impl FnOnce(Timeval) -> T,
    read: impl FnOnce() -> Option<Timeval>,
) -> Option<i32> {
    if !tv.is_null() {
        let now = read()?;
        // SAFETY: `tv` is non-null and the caller's to write.
        unsafe { tv.write(convert(now)) };
    }
    if !tz.is_null() {
        let zone = time::timezone(page, &ArchCounter)?;
        // SAFETY: `tz` is non-null and the caller's to write.
        unsafe { tz.write(zone) };
    }
    Some(0)
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

/// `getrandom` from the data page's RNG generation with `arch`'s block
/// function, or its syscall ([`random::getrandom`]).
///
/// # Safety
///
/// As [`random::getrandom`].
#[cfg_attr(not(target_arch = "aarch64"), allow(dead_code))]
#[inline(always)]
pub(crate) unsafe fn getrandom<R: Random>(
    arch: &R,
    buffer: *mut u8,
    len: usize,
    flags: u32,
    opaque_state: *mut u8,
    opaque_len: usize,
) -> isize {
    let page = random::RngPage::of(arch::data_page());
    // SAFETY: the caller's contract, passed on.
    unsafe { random::getrandom(page, arch, buffer, len, flags, opaque_state, opaque_len) }
}
