//! What the 32-bit Arm end-to-end tests (`tests/e2e_arm.rs`) read from a VM's trace: the
//! AArch32 clock system calls, as `raw_syscalls:sys_enter` shows them (number and registers,
//! no return value).
//!
//! A 32-bit process has two of each clock call: the old ones with a 32-bit `time_t`
//! (`clock_gettime` 263, `clock_getres` 264, `gettimeofday` 78) and the time64 ones
//! (`clock_gettime64` 403, `clock_getres_time64` 406); musl 1.2 uses the latter for
//! `clock_gettime`, Go 1.19 the former. [`time_syscall`] reads both as the call the clients'
//! records name (`clock_gettime`, `clock_getres`, `gettimeofday`).

use super::is_served;

/// The AArch32 clock system call numbers (Linux `arch/arm/tools/syscall.tbl`), from their
/// one home in `vdso_linux_sys`, which `xtask::linux_vm` reads the trace with too.
pub use vdso_linux_sys::arm::{
    NR_CLOCK_GETRES, NR_CLOCK_GETRES_TIME64, NR_CLOCK_GETTIME, NR_CLOCK_GETTIME64, NR_GETTIMEOFDAY,
};

/// One traced AArch32 clock system call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArmTimeSyscall {
    /// Its number.
    pub nr: u32,
    /// The call, as the clients' records name it: `clock_gettime`, `clock_getres` or
    /// `gettimeofday`.
    pub call: &'static str,
    /// The clock id (none for `gettimeofday`), from the low 32 bits of r0, signed.
    pub clock: Option<i64>,
}

impl ArmTimeSyscall {
    /// Whether our vDSO should have answered this call without the kernel: `gettimeofday`,
    /// or a served clock.
    pub fn is_served(&self) -> bool {
        self.clock.is_none_or(is_served)
    }

    /// `name(id)` with the exact system call, e.g. `clock_gettime64(1)`.
    pub fn label(&self) -> String {
        let name = match self.nr {
            NR_GETTIMEOFDAY => "gettimeofday",
            NR_CLOCK_GETTIME => "clock_gettime",
            NR_CLOCK_GETRES => "clock_getres",
            NR_CLOCK_GETTIME64 => "clock_gettime64",
            _ => "clock_getres_time64",
        };
        match self.clock {
            Some(id) => format!("{name}({id})"),
            None => name.to_string(),
        }
    }
}

/// The clock call system call `nr` with first argument `r0` is, if it is one.
pub fn time_syscall(nr: u32, r0: u64) -> Option<ArmTimeSyscall> {
    let call = match nr {
        NR_GETTIMEOFDAY => "gettimeofday",
        NR_CLOCK_GETTIME | NR_CLOCK_GETTIME64 => "clock_gettime",
        NR_CLOCK_GETRES | NR_CLOCK_GETRES_TIME64 => "clock_getres",
        _ => return None,
    };
    let clock = (call != "gettimeofday").then_some(i64::from(r0 as u32 as i32));
    Some(ArmTimeSyscall { nr, call, clock })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_generations_of_clock_calls_are_read_with_a_signed_32_bit_id() {
        let gettime64 = time_syscall(403, 0xffff_ffff).unwrap();
        assert_eq!(gettime64.call, "clock_gettime");
        assert_eq!(gettime64.clock, Some(-1));
        assert!(!gettime64.is_served());
        assert_eq!(gettime64.label(), "clock_gettime64(-1)");
        let gettime32 = time_syscall(263, 1).unwrap();
        assert_eq!(
            (gettime32.call, gettime32.clock),
            ("clock_gettime", Some(1))
        );
        assert!(gettime32.is_served());
        assert_eq!(time_syscall(264, 0x3039).unwrap().clock, Some(12345));
        assert_eq!(
            time_syscall(406, 11).unwrap().label(),
            "clock_getres_time64(11)"
        );
        let tod = time_syscall(78, 0xbeef_0000).unwrap();
        assert_eq!(
            (tod.call, tod.clock, tod.is_served()),
            ("gettimeofday", None, true)
        );
        // Not clock calls: getpid, faccessat, aarch64's clock_gettime number.
        assert_eq!(time_syscall(20, 0), None);
        assert_eq!(time_syscall(334, 0), None);
        assert_eq!(time_syscall(113, 0), None);
    }
}
