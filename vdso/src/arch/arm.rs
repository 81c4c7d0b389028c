//! The 32-bit Arm hooks of the compat image (Linux's
//! `arch/arm64/include/asm/vdso/compat_gettimeofday.h`): the data page's
//! address, the counter reads and the `svc #0` fallbacks. Its exports are in
//! [`exports`]. The image runs in
//! AArch32 processes on an arm64 kernel (or on a 32-bit Arm kernel with the
//! same data page), built for `armv7-unknown-linux-gnueabihf` in A32 state.
//!
//! # Safety
//!
//! As in the aarch64 module: each `asm!` block states what it touches; none
//! writes memory except the fallbacks, which hand the caller's pointers to
//! the kernel exactly as the syscall would receive them.

use core::arch::asm;

use crate::data::DataPage;
use crate::time::{Counter, CounterSource, Timespec, Timezone};

mod exports;

/// The compat image has three exports that read a clock and must fit in one
/// page with 32-bit code, twice the size of the 64-bit image's: they have
/// no straight paths of their own and always run the shared full read.
pub const STRAIGHT_PATHS: bool = false;

/// `__NR_gettimeofday` (arm EABI).
const NR_GETTIMEOFDAY: u32 = 78;
/// `__NR_clock_gettime` (arm EABI; 32-bit `struct old_timespec32`).
const NR_CLOCK_GETTIME: u32 = 263;
/// `__NR_clock_getres` (arm EABI; 32-bit `struct old_timespec32`).
const NR_CLOCK_GETRES: u32 = 264;
/// `__NR_clock_gettime64` (arm EABI; `struct __kernel_timespec`).
const NR_CLOCK_GETTIME64: u32 = 403;

/// `struct old_timespec32`: what `clock_gettime` and `clock_getres`
/// (time32) fill in.
#[repr(C)]
pub struct OldTimespec32 {
    tv_sec: i32,
    tv_nsec: i32,
}

impl From<Timespec> for OldTimespec32 {
    /// Seconds truncated to 32 bits, as the kernel's own
    /// `put_old_timespec32` does.
    #[inline(always)]
    fn from(t: Timespec) -> Self {
        OldTimespec32 {
            tv_sec: t.tv_sec as i32,
            tv_nsec: t.tv_nsec as i32,
        }
    }
}

/// `struct __kernel_old_timeval` on 32-bit Arm.
#[repr(C)]
pub struct OldTimeval32 {
    tv_sec: i32,
    tv_usec: i32,
}

impl From<crate::time::Timeval> for OldTimeval32 {
    /// Seconds truncated to 32 bits, as the kernel's own
    /// `put_old_timeval32` does.
    #[inline(always)]
    fn from(t: crate::time::Timeval) -> Self {
        OldTimeval32 {
            tv_sec: t.tv_sec as i32,
            tv_usec: t.tv_usec as i32,
        }
    }
}

/// The data page, `DATA_PAGE_OFFSET` bytes below the image.
///
/// `_vdso_data` is defined by the image's linker script; `movw`/`movt` load
/// its distance from the `add`, which adds the PC (A32 reads the PC as the
/// instruction's address + 8). The linker resolves both halves
/// (`R_ARM_MOVW_PREL_NC`/`R_ARM_MOVT_PREL`): no relocation, no GOT.
#[inline(always)]
pub fn data_page() -> &'static DataPage {
    let page: *const DataPage;
    // SAFETY: `movw`/`movt`/`add` only compute an address; they touch no
    // memory and no stack.
    unsafe {
        asm!(
            ".hidden _vdso_data",
            "movw {page}, #:lower16:(_vdso_data - (1f + 8))",
            "movt {page}, #:upper16:(_vdso_data - (1f + 8))",
            "1:",
            "add {page}, pc, {page}",
            page = out(reg) page,
            options(pure, nomem, nostack, preserves_flags),
        );
    }
    // SAFETY: the kernel maps a readable data page at this address in every
    // process that maps the image (the image's contract with the kernel), and
    // every field of `DataPage` is an atomic, so concurrent kernel writes are
    // fine.
    unsafe { &*page }
}

/// The generic timer's counters, through the AArch32 system-register
/// interface (`mrrc p15`).
pub struct ArchCounter;

impl Counter for ArchCounter {
    const COMPAT: bool = true;

    #[inline(always)]
    fn read(&self, source: CounterSource) -> u64 {
        let (lo, hi): (u32, u32);
        match source {
            // SAFETY: `isb` stops the counter being read speculatively, before
            // the data-page loads that precede it in program order; `mrrc p15,
            // 1, ..., c14` reads CNTVCT, which EL0 may read whenever the kernel
            // chose this clock mode. No memory or stack is touched.
            CounterSource::Virtual => unsafe {
                asm!(
                    "isb",
                    "mrrc p15, 1, {lo}, {hi}, c14",
                    lo = out(reg) lo,
                    hi = out(reg) hi,
                    options(nostack, preserves_flags),
                );
            },
            // SAFETY: as above for CNTPCT (`mrrc p15, 0, ..., c14`), which the
            // kernel opened to EL0 (CNTKCTL.PL0PCTEN) when it chose this mode.
            CounterSource::Physical => unsafe {
                asm!(
                    "isb",
                    "mrrc p15, 0, {lo}, {hi}, c14",
                    lo = out(reg) lo,
                    hi = out(reg) hi,
                    options(nostack, preserves_flags),
                );
            },
        }
        // SAFETY: the arm form of Linux's `arch_counter_enforce_ordering`: a
        // load whose address depends on the counter value (`sp + (lo ^ lo)`,
        // i.e. `sp`), so the later re-read of `seq` cannot complete before the
        // counter read. It reads one word at `sp`, which is always mapped,
        // into a scratch register, and writes nothing.
        unsafe {
            asm!(
                "eor {t}, {lo}, {lo}",
                "ldr {t}, [sp, {t}]",
                lo = in(reg) lo,
                t = out(reg) _,
                options(nostack, readonly, preserves_flags),
            );
        }
        u64::from(hi) << 32 | u64::from(lo)
    }
}

/// A two-argument syscall; returns `r0` (0 or a negative errno).
///
/// # Safety
///
/// `nr` is a syscall that takes a clock id or pointer in `r0` and a pointer
/// in `r1`, and validates both itself (the kernel returns `-EFAULT` for a bad
/// pointer; it never faults in user space).
#[inline(always)]
unsafe fn syscall2(nr: u32, a0: u32, a1: u32) -> i32 {
    let ret: i32;
    // SAFETY: a plain `svc #0` with the number in r7 (EABI); per this
    // function's contract the kernel validates both arguments and writes only
    // where they point. It clobbers nothing but `r0`.
    unsafe {
        asm!(
            "svc #0",
            in("r7") nr,
            inlateout("r0") a0 => ret,
            in("r1") a1,
            options(nostack),
        );
    }
    ret
}

/// The real `clock_gettime64` syscall (`struct __kernel_timespec`).
///
/// # Safety
///
/// None beyond the syscall's own: the kernel checks `ts`.
#[inline(always)]
pub unsafe fn clock_gettime_fallback(clock: i32, ts: *mut Timespec) -> i32 {
    // SAFETY: clock_gettime64 validates its clock id and pointer.
    unsafe { syscall2(NR_CLOCK_GETTIME64, clock as u32, ts as u32) }
}

/// The real `gettimeofday` syscall (32-bit `struct __kernel_old_timeval`).
///
/// # Safety
///
/// None beyond the syscall's own: the kernel checks `tv` and `tz`.
#[inline(always)]
pub unsafe fn gettimeofday_fallback(tv: *mut OldTimeval32, tz: *mut Timezone) -> i32 {
    // SAFETY: gettimeofday validates both pointers.
    unsafe { syscall2(NR_GETTIMEOFDAY, tv as u32, tz as u32) }
}

/// The real time32 `clock_gettime` syscall (`struct old_timespec32`).
///
/// # Safety
///
/// None beyond the syscall's own: the kernel checks `ts`.
#[inline(always)]
pub unsafe fn clock_gettime32_fallback(clock: i32, ts: *mut OldTimespec32) -> i32 {
    // SAFETY: clock_gettime validates its clock id and pointer.
    unsafe { syscall2(NR_CLOCK_GETTIME, clock as u32, ts as u32) }
}

/// The real time32 `clock_getres` syscall (`struct old_timespec32`).
///
/// # Safety
///
/// None beyond the syscall's own: the kernel checks `res`.
#[inline(always)]
pub unsafe fn clock_getres32_fallback(clock: i32, res: *mut OldTimespec32) -> i32 {
    // SAFETY: clock_getres validates its clock id and pointer.
    unsafe { syscall2(NR_CLOCK_GETRES, clock as u32, res as u32) }
}
