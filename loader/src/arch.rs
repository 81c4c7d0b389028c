//! aarch64 conveniences for the writer: the generic timer's frequency and
//! counters, read with the `aarch64-cpu` crate.
//!
//! Only built for aarch64; on other targets a kernel (or a test) passes the
//! counter values itself.

use aarch64_cpu::asm::barrier;
use aarch64_cpu::registers::{Readable, CNTFRQ_EL0, CNTPCT_EL0, CNTVCT_EL0};
use vdso::time::CounterSource;

/// The counter frequency in Hz: `CNTFRQ_EL0.ClockFreq` (bits 31:0; the upper
/// half is RES0), as firmware programmed it. Readable at EL0 and EL1.
pub fn frequency() -> u64 {
    CNTFRQ_EL0.get() & 0xffff_ffff
}

/// Reads a counter now: `CNTVCT_EL0` for [`CounterSource::Virtual`],
/// `CNTPCT_EL0` for [`CounterSource::Physical`] (at EL0 only if
/// `CNTKCTL_EL1.EL0PCTEN` is set; otherwise it traps).
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
