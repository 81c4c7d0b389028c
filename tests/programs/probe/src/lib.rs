//! The probe's reusable parts, also used by the drop-in test
//! (`tests/programs/dropin`, `vdso-dropin`): raw system calls and cache maintenance
//! ([`sys`], aarch64 only), the verdict lines ([`report`]), and the C types
//! of the vDSO's functions.

use loader::{Timespec, Timeval, Timezone};

#[cfg(target_arch = "aarch64")]
pub mod host;
pub mod report;
#[cfg(target_arch = "aarch64")]
pub mod sys;

/// `__kernel_clock_gettime`: `int (clockid_t, struct timespec *)`.
pub type ClockGettime = unsafe extern "C" fn(i32, *mut Timespec) -> i32;
/// `__kernel_gettimeofday`: `int (struct timeval *, struct timezone *)`.
pub type Gettimeofday = unsafe extern "C" fn(*mut Timeval, *mut Timezone) -> i32;
/// `__kernel_clock_getres`: `int (clockid_t, struct timespec *)`.
pub type ClockGetres = unsafe extern "C" fn(i32, *mut Timespec) -> i32;
