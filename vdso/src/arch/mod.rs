//! The architecture hooks the image needs (Linux's
//! `asm/vdso/gettimeofday.h`): where the data page is, how to read the
//! counter, and the three syscall fallbacks. Only aarch64 exists today.

#[cfg(target_arch = "aarch64")]
mod aarch64;
#[cfg(target_arch = "aarch64")]
pub use aarch64::*;
