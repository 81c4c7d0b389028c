//! The architecture hooks the image needs (Linux's
//! `asm/vdso/gettimeofday.h`), one module per arch, each with the same
//! names so that `image.rs` and `time.rs` never ask which arch they are on:
//!
//! - `data_page()`: the data page, at its fixed distance below the image,
//!   reached PC-relatively (no relocation);
//! - `ArchCounter`: the [`Counter`](crate::time::Counter) that reads the
//!   hardware counter a `clock_mode` names, ordered against the data-page
//!   loads, loads the page's multi-word fields and tests clock-id sets;
//! - `clock_gettime_fallback`, `gettimeofday_fallback`,
//!   `clock_getres_fallback`: the real syscalls, with the arch's own types
//!   (a 32-bit arch adds `*32_fallback`s for its time32 exports, as Linux's
//!   compat header does, and may leave out a time64 one it never exports);
//! - `STRAIGHT_PATHS`: whether each export inlines a straight path (one
//!   seqlock round) in front of the shared, out-of-line full read (for
//!   speed), or always runs the full read (to fit in a page);
//! - `exports`: the arch's export list (Linux's `vgettimeofday.c`), one-line
//!   forwards to `image.rs` with the arch's fallbacks, plus anything only
//!   that arch exports (aarch64's `__kernel_rt_sigreturn`).
//!
//! aarch64 for the 64-bit image, 32-bit Arm for the compat image.

#[cfg(target_arch = "aarch64")]
mod aarch64;
#[cfg(target_arch = "aarch64")]
pub use aarch64::*;

#[cfg(target_arch = "arm")]
mod arm;
#[cfg(target_arch = "arm")]
pub use arm::*;
