//! Time hardware: the generic timer's virtual timer, interrupting through
//! the GICv2 of qemu's `virt` machine every tick; EL0's access to the
//! counters; and the PL031 real-time clock, the wall-clock base at boot.

use aarch64_cpu::registers::{
    Readable, Writeable, CNTKCTL_EL1, CNTVCT_EL0, CNTV_CTL_EL0, CNTV_CVAL_EL0,
};
use loader::CounterSource;

/// GIC distributor.
const GICD: usize = 0x0800_0000;
/// GIC CPU interface.
const GICC: usize = 0x0801_0000;
/// The virtual timer's private interrupt (`virt`: PPI 11, INTID 27).
const TIMER_INTID: u32 = 27;
/// The PL031 real-time clock.
const RTC: usize = 0x0901_0000;

fn write32(addr: usize, value: u32) {
    // SAFETY: `addr` is a register of the GIC, mapped as device memory;
    // writing it only configures interrupts.
    unsafe { core::ptr::write_volatile(addr as *mut u32, value) }
}

fn read32(addr: usize) -> u32 {
    // SAFETY: `addr` is a device register whose read has no side effect
    // other than acknowledging an interrupt (`GICC_IAR`), which the caller
    // intends.
    unsafe { core::ptr::read_volatile(addr as *const u32) }
}

/// Lets EL0 read exactly one counter, the one the vDSO is told to read:
/// `CNTKCTL_EL1.EL0VCTEN` for `CNTVCT_EL0`, `EL0PCTEN` for `CNTPCT_EL0`
/// (as the rel4-linux-kit seed does). The other one traps, so a vDSO that
/// read the wrong counter would die of `SIGILL` here.
pub fn allow_el0_counter(source: CounterSource) {
    match source {
        CounterSource::Virtual => CNTKCTL_EL1
            .write(CNTKCTL_EL1::EL0VCTEN::TrappedNone + CNTKCTL_EL1::EL0PCTEN::TrappedFreqPct),
        CounterSource::Physical => CNTKCTL_EL1
            .write(CNTKCTL_EL1::EL0VCTEN::TrappedFreqVct + CNTKCTL_EL1::EL0PCTEN::TrappedNone),
    }
}

/// Starts the tick: the virtual timer fires every `interval` counter
/// cycles, routed through the GIC to this CPU's IRQ line.
pub fn start(interval: u64) {
    write32(GICD, 1); // GICD_CTLR: forward interrupts
    write32(GICD + 0x400 + TIMER_INTID as usize / 4 * 4, 0x8080_8080); // IPRIORITYR
    write32(GICD + 0x100, 1 << TIMER_INTID); // ISENABLER0
    write32(GICC + 0x004, 0xf0); // GICC_PMR: let priority 0x80 through
    write32(GICC, 1); // GICC_CTLR: signal interrupts to the CPU
    CNTV_CVAL_EL0.set(CNTVCT_EL0.get() + interval);
    CNTV_CTL_EL0.write(CNTV_CTL_EL0::ENABLE::SET + CNTV_CTL_EL0::IMASK::CLEAR);
}

/// Handles pending interrupts; returns whether the timer ticked (and sets
/// its next deadline `interval` cycles after the last one).
pub fn handle_irq(interval: u64) -> bool {
    let mut ticked = false;
    loop {
        let iar = read32(GICC + 0x00c); // GICC_IAR
        let id = iar & 0x3ff;
        if id >= 1020 {
            break; // spurious: nothing (more) pending
        }
        if id == TIMER_INTID {
            let mut next = CNTV_CVAL_EL0.get() + interval;
            let now = CNTVCT_EL0.get();
            if next <= now {
                next = now + interval; // missed ticks are not made up
            }
            CNTV_CVAL_EL0.set(next);
            ticked = true;
        }
        write32(GICC + 0x010, iar); // GICC_EOIR
    }
    ticked
}

/// Seconds since the epoch from the PL031 (qemu: the host's clock, or
/// `-rtc base=...`).
pub fn rtc_seconds() -> u64 {
    u64::from(read32(RTC))
}
