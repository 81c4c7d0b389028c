//! The architecture hooks the image needs (Linux's
//! `asm/vdso/gettimeofday.h`): where the data page is, how to read the
//! counter, and the syscall fallbacks: aarch64 for the 64-bit image, 32-bit
//! Arm for the compat image.

#[cfg(target_arch = "aarch64")]
mod aarch64;
#[cfg(target_arch = "aarch64")]
pub use aarch64::*;

#[cfg(target_arch = "arm")]
mod arm;
#[cfg(target_arch = "arm")]
pub use arm::*;
