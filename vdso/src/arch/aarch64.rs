//! The aarch64 hooks of the 64-bit image (Linux's
//! `arch/arm64/include/asm/vdso/gettimeofday.h`): the data page's address,
//! the counter reads and the `svc #0` fallbacks. Its exports, the
//! signal-return trampoline and the BTI note are in [`exports`].
//!
//! # Safety
//!
//! This module holds the image's only `asm!`. Each block states what it
//! touches; none writes memory except the fallbacks, which hand the caller's
//! pointers to the kernel exactly as the syscall would receive them.

use core::arch::{asm, global_asm};

use core::mem::offset_of;

use crate::data::{DataPage, VdsoData, VdsoTimestamp};
use crate::random::Random;
use crate::time::{
    Counter, CounterSource, Snapshot, Timespec, Timeval, Timezone, EVEN_ARCHTIMER, ODD_OR_MODE,
};

mod exports;

/// Each export inlines its straight path (one seqlock round) in front of
/// the shared out-of-line full read, for speed: the image has room.
pub const STRAIGHT_PATHS: bool = true;

/// `__NR_clock_gettime` (asm-generic).
const NR_CLOCK_GETTIME: u64 = 113;
/// `__NR_clock_getres` (asm-generic).
const NR_CLOCK_GETRES: u64 = 114;
/// `__NR_gettimeofday` (asm-generic).
const NR_GETTIMEOFDAY: u64 = 169;
/// `__NR_getrandom` (asm-generic).
const NR_GETRANDOM: u64 = 278;

/// The data page, `DATA_PAGE_OFFSET` bytes below the image.
///
/// `_vdso_data` is defined by the image's linker script at
/// `. - DATA_PAGE_OFFSET` from the image start; `adr` reaches it
/// PC-relatively, so the image needs no relocation and no GOT.
#[inline(always)]
pub fn data_page() -> &'static DataPage {
    let page: *const DataPage;
    // SAFETY: `adr` only computes an address; it touches no memory and
    // no stack.
    unsafe {
        asm!(
            ".hidden _vdso_data",
            // One `adr` (±1 MiB, the page is 8 KiB away), as Linux's image
            // has, where `adrp` + `add` would be two instructions.
            "adr {page}, _vdso_data",
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

/// The generic timer's counters.
pub struct ArchCounter;

impl Counter for ArchCounter {
    #[inline(always)]
    fn read(&self, source: CounterSource) -> u64 {
        let cycles = self.read_unordered(source);
        // SAFETY: Linux's `arch_counter_enforce_ordering`: a load that depends
        // on the counter value (`sp + (cycles ^ cycles)`, i.e. `sp`), so the
        // later re-read of `seq` cannot complete before the counter read. It
        // reads one word at `sp`, which is always mapped, and writes nothing.
        unsafe {
            asm!(
                "eor {t}, {c}, {c}",
                "add {t}, sp, {t}",
                "ldr xzr, [{t}]",
                c = in(reg) cycles,
                t = out(reg) _,
                options(nostack, readonly, preserves_flags),
            );
        }
        cycles
    }

    #[inline(always)]
    fn seq_and_mode(&self, vd: &VdsoData) -> u64 {
        let word: u64;
        // SAFETY: one `ldar` of the 8 bytes at `vd`: `seq` and `clock_mode`,
        // adjacent and 8-byte aligned in `VdsoData` (offsets asserted in
        // `data.rs`). A single-copy-atomic load (Arm ARM B2.2.1) with
        // acquire ordering: `seq`'s acquire load and `clock_mode`'s relaxed
        // one, at once. It reads only memory `vd` covers.
        unsafe {
            asm!(
                "ldar {w}, [{vd}]",
                vd = in(reg) vd,
                w = out(reg) word,
                options(nostack, readonly, preserves_flags),
            );
        }
        word
    }

    #[inline(always)]
    fn even_archtimer(&self, word: u64) -> bool {
        let odd_or_other: u64;
        // SAFETY: two register instructions with immediates; no memory, no
        // stack, no flags. Done here so that the compiler tests the result
        // with `cbnz` rather than a flag-setting `tst` or a compare with a
        // constant it must build: the same instruction count as `tst`, and
        // no flags for qemu to compute.
        unsafe {
            asm!(
                "eor {r}, {w}, #{even}",
                "and {r}, {r}, #{mask}",
                r = out(reg) odd_or_other,
                w = in(reg) word,
                even = const EVEN_ARCHTIMER,
                mask = const ODD_OR_MODE,
                options(pure, nomem, nostack, preserves_flags),
            );
        }
        odd_or_other == 0
    }

    #[inline(always)]
    fn read_unordered(&self, source: CounterSource) -> u64 {
        let cycles: u64;
        match source {
            // SAFETY: `isb` stops the counter being read speculatively, before
            // the data-page loads that precede it in program order; `mrs`
            // reads a register EL0 may read whenever the kernel chose this
            // clock mode. No memory or stack is touched.
            CounterSource::Virtual => unsafe {
                asm!("isb", "mrs {c}, cntvct_el0", c = out(reg) cycles, options(nostack));
            },
            // SAFETY: as above, for the physical counter, which the kernel
            // opened to EL0 (CNTKCTL_EL1.EL0PCTEN) when it chose this mode.
            CounterSource::Physical => unsafe {
                asm!("isb", "mrs {c}, cntpct_el0", c = out(reg) cycles, options(nostack));
            },
        }
        cycles
    }

    #[inline(always)]
    fn seq_and_mode_after(&self, vd: &VdsoData, cycles: u64) -> u64 {
        let word: u64;
        // SAFETY: `ldr` of the same 8 bytes as `seq_and_mode`, at `vd +
        // (cycles ^ cycles)`, i.e. at `vd`: the address depends on the
        // counter value, so the load is not performed before the counter
        // read (Linux's `arch_counter_enforce_ordering`, applied to the load
        // that must follow it instead of an extra one). Reads only memory
        // `vd` covers.
        unsafe {
            asm!(
                "eor {t}, {c}, {c}",
                "ldr {w}, [{vd}, {t}]",
                vd = in(reg) vd,
                c = in(reg) cycles,
                t = out(reg) _,
                w = out(reg) word,
                options(nostack, readonly, preserves_flags),
            );
        }
        word
    }

    #[inline(always)]
    fn in_set(&self, mask: u32, id: u32) -> bool {
        let shifted: u32;
        // SAFETY: one register shift (`id` below 32: the callers' range
        // check); no memory, no stack, no flags. Done here so that the
        // compiler tests bit 0 of the result (`tbz`) rather than building
        // `1 << id` and testing it against the mask.
        unsafe {
            asm!(
                "lsr {s:w}, {m:w}, {i:w}",
                s = lateout(reg) shifted,
                m = in(reg) mask,
                i = in(reg) id,
                options(pure, nomem, nostack, preserves_flags),
            );
        }
        shifted & 1 != 0
    }

    #[inline(always)]
    fn snapshot(&self, vd: &VdsoData, base: &VdsoTimestamp) -> Snapshot {
        let (cycle_last, mask, mult, shift);
        // SAFETY: two `ldp`s read `cycle_last`/`mask` and `mult`/`shift`, both
        // pairs adjacent and naturally aligned in `VdsoData` (offsets asserted
        // in `data.rs`): each register is a single-copy-atomic load (Arm ARM
        // B2.2.1), i.e. a relaxed atomic load of its field. They read only
        // memory `vd` covers.
        unsafe {
            asm!(
                "ldp {last}, {mask}, [{vd}, #{o_last}]",
                "ldp {mult:w}, {shift:w}, [{vd}, #{o_mult}]",
                vd = in(reg) vd,
                o_last = const offset_of!(VdsoData, cycle_last),
                o_mult = const offset_of!(VdsoData, mult),
                last = out(reg) cycle_last,
                mask = out(reg) mask,
                mult = out(reg) mult,
                shift = out(reg) shift,
                options(nostack, readonly, preserves_flags),
            );
        }
        let (sec, nsec) = self.basetime(base);
        Snapshot {
            cycle_last,
            mask,
            mult,
            shift,
            sec,
            nsec,
        }
    }

    #[inline(always)]
    fn basetime(&self, base: &VdsoTimestamp) -> (u64, u64) {
        let (sec, nsec);
        // SAFETY: one `ldp` reads `base`'s two naturally aligned words, each a
        // single-copy-atomic load, at `base_less + o_base` = `base`.
        unsafe {
            asm!(
                "ldp {sec}, {nsec}, [{base_less}, #{o_base}]",
                // `base` is `vd` + `o_base` + 16 × id: handing over
                // `base - o_base` lets the compiler fold the two additions
                // into one (`vd + 16 × id`) and the `ldp` add `o_base` back.
                base_less = in(reg) (base as *const VdsoTimestamp)
                    .cast::<u8>()
                    .wrapping_sub(offset_of!(VdsoData, basetime)),
                o_base = const offset_of!(VdsoData, basetime),
                sec = out(reg) sec,
                nsec = out(reg) nsec,
                options(nostack, readonly, preserves_flags),
            );
        }
        (sec, nsec)
    }
}

/// A two-argument syscall; returns `x0` (0 or a negative errno).
///
/// # Safety
///
/// `nr` is a syscall that takes a clock id or pointer in `x0` and a pointer
/// in `x1`, and validates both itself (the kernel returns `-EFAULT` for a bad
/// pointer; it never faults in user space).
#[inline(always)]
unsafe fn syscall2(nr: u64, a0: u64, a1: u64) -> i32 {
    let ret: i64;
    // SAFETY: a plain `svc #0`; per this function's contract the kernel
    // validates both arguments and writes only where they point. It clobbers
    // nothing but `x0`.
    unsafe {
        asm!(
            "svc #0",
            in("x8") nr,
            inlateout("x0") a0 => ret,
            in("x1") a1,
            options(nostack),
        );
    }
    ret as i32
}

/// The real `clock_gettime` syscall.
///
/// # Safety
///
/// None beyond the syscall's own: the kernel checks `ts`.
#[inline(always)]
pub unsafe fn clock_gettime_fallback(clock: i32, ts: *mut Timespec) -> i32 {
    // SAFETY: clock_gettime validates its clock id and pointer.
    unsafe { syscall2(NR_CLOCK_GETTIME, clock as i64 as u64, ts as u64) }
}

/// The real `clock_getres` syscall.
///
/// # Safety
///
/// None beyond the syscall's own: the kernel checks `res`.
#[inline(always)]
pub unsafe fn clock_getres_fallback(clock: i32, res: *mut Timespec) -> i32 {
    // SAFETY: clock_getres validates its clock id and pointer.
    unsafe { syscall2(NR_CLOCK_GETRES, clock as i64 as u64, res as u64) }
}

/// The real `gettimeofday` syscall.
///
/// # Safety
///
/// None beyond the syscall's own: the kernel checks `tv` and `tz`.
#[inline(always)]
pub unsafe fn gettimeofday_fallback(tv: *mut Timeval, tz: *mut Timezone) -> i32 {
    // SAFETY: gettimeofday validates both pointers.
    unsafe { syscall2(NR_GETTIMEOFDAY, tv as u64, tz as u64) }
}

// The ChaCha20 block function, in NEON asm that touches no stack (Linux's
// `__arch_chacha20_blocks_nostack`): compiled code could spill the key.
global_asm!(include_str!("aarch64/chacha20.S"), options(raw));

extern "C" {
    /// `vdso/src/arch/aarch64/chacha20.S`, a hidden symbol of the image:
    /// reached by a direct `bl`, as Linux's image reaches its own.
    fn __vdso_chacha20_blocks(dst: *mut u8, key: *const u32, counter: *mut u32, nblocks: usize);
}

/// The getrandom export's arch part: the NEON block function and `svc #0`.
///
/// It needs FPSIMD at EL0, which Linux arm64 gives every process it runs
/// (Linux's image answers `-ENOSYS` only on a kernel without FPSIMD, which
/// an arm64 Linux userland cannot run on anyway). A kernel that traps
/// FPSIMD at EL0 must handle the trap as Linux does or not map the image.
pub struct ArchRandom;

impl Random for ArchRandom {
    #[inline(always)]
    unsafe fn chacha20_blocks(
        &self,
        dst: *mut u8,
        key: *const u32,
        counter: &mut [u32; 2],
        nblocks: usize,
    ) {
        // SAFETY: the trait's contract is the asm's: `dst` holds `nblocks`
        // blocks, `key` 8 words, `counter` 2 words; the asm reads the key
        // before it writes `dst` and touches nothing else.
        unsafe { __vdso_chacha20_blocks(dst, key, counter.as_mut_ptr(), nblocks) }
    }

    #[inline(always)]
    unsafe fn getrandom_syscall(&self, buffer: *mut u8, len: usize, flags: u32) -> isize {
        let ret: isize;
        // SAFETY: a plain `svc #0`; the kernel validates `buffer` and
        // writes only there. It clobbers nothing but `x0`.
        unsafe {
            asm!(
                "svc #0",
                in("x8") NR_GETRANDOM,
                inlateout("x0") buffer as usize => ret,
                in("x1") len,
                in("x2") flags as usize,
                options(nostack),
            );
        }
        ret
    }
}
