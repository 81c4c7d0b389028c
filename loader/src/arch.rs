//! Conveniences for the writer: the generic timer's frequency and counters,
//! read with the `aarch64-cpu` crate on aarch64 and with `mrc`/`mrrc` on
//! 32-bit Arm (a 32-bit kernel, or a 32-bit program that publishes, such as
//! our armv7 exec harness).
//!
//! Only built for those two; on other targets a kernel (or a test) passes
//! the counter values itself.

#[cfg(target_arch = "arm")]
pub use arm::{counter, frequency};

#[cfg(target_arch = "aarch64")]
use aarch64_cpu::asm::barrier;
#[cfg(target_arch = "aarch64")]
use aarch64_cpu::registers::{Readable, CNTFRQ_EL0, CNTPCT_EL0, CNTVCT_EL0, ID_AA64MMFR0_EL1};
#[cfg(target_arch = "aarch64")]
use vdso::time::CounterSource;

/// The counter frequency in Hz: `CNTFRQ_EL0.ClockFreq` (bits 31:0; the upper
/// half is RES0), as firmware programmed it. Readable at EL0 and EL1.
#[cfg(target_arch = "aarch64")]
pub fn frequency() -> u64 {
    CNTFRQ_EL0.get() & 0xffff_ffff
}

/// Whether the core has FEAT_ECV (`ID_AA64MMFR0_EL1.ECV`, bits 63:60, is 1
/// or more), so that `CNTVCTSS_EL0` may be read and [`crate::ecv`]'s image
/// used, as Linux decides `ARM64_HAS_ECV`. Read at EL1, or at EL0 under a
/// kernel that emulates the ID registers there (Linux, qemu-user).
#[cfg(target_arch = "aarch64")]
pub fn has_ecv() -> bool {
    ID_AA64MMFR0_EL1.get() >> 60 >= 1
}

/// Reads a counter now: `CNTVCT_EL0` for [`CounterSource::Virtual`],
/// `CNTPCT_EL0` for [`CounterSource::Physical`] (at EL0 only if
/// `CNTKCTL_EL1.EL0PCTEN` is set; otherwise it traps).
#[cfg(target_arch = "aarch64")]
pub fn counter(source: CounterSource) -> u64 {
    // The counter may be read speculatively, before instructions that precede
    // it in program order (Arm ARM D11.2.2; aarch64-cpu's `generic_timer`
    // notes). This `isb` makes the value at least as late as everything
    // before it, so a value published after it is never older than the
    // caller's preceding work, as Linux's `__arch_counter_get_cntvct` does.
    barrier::isb(barrier::SY);
    match source {
        CounterSource::Virtual => CNTVCT_EL0.get(),
        CounterSource::Physical => CNTPCT_EL0.get(),
    }
}

#[cfg(target_arch = "arm")]
mod arm {
    use core::arch::asm;

    use vdso::time::CounterSource;

    /// The counter frequency in Hz: CNTFRQ (`mrc p15, 0, r, c14, c0, 0`), as
    /// firmware programmed it. Readable at PL0 whenever a counter is.
    pub fn frequency() -> u64 {
        let hz: u32;
        // SAFETY: reads a system register into a general register; touches
        // no memory and no stack.
        unsafe {
            asm!(
                "mrc p15, 0, {hz}, c14, c0, 0",
                hz = out(reg) hz,
                options(nomem, nostack, preserves_flags),
            );
        }
        u64::from(hz)
    }

    /// Reads a counter now: CNTVCT for [`CounterSource::Virtual`], CNTPCT
    /// for [`CounterSource::Physical`] (at PL0 only if the kernel allows
    /// it), after an `isb`, as the aarch64 version does.
    pub fn counter(source: CounterSource) -> u64 {
        let (lo, hi): (u32, u32);
        match source {
            // SAFETY: `isb` and a 64-bit system-register read; no memory or
            // stack is touched.
            CounterSource::Virtual => unsafe {
                asm!(
                    "isb",
                    "mrrc p15, 1, {lo}, {hi}, c14",
                    lo = out(reg) lo,
                    hi = out(reg) hi,
                    options(nostack, preserves_flags),
                );
            },
            // SAFETY: as above, for the physical counter.
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
        u64::from(hi) << 32 | u64::from(lo)
    }
}
