//! A pure-Rust Linux vDSO for aarch64.
//!
//! This crate is the vDSO image's source. `cargo xtask build-vdso` builds it
//! for `aarch64-unknown-linux-gnu` with the `image` feature and links the
//! result into `loader/vdso.so`. As an ordinary library it gives the `loader`
//! crate and the tests two things:
//!
//! - [`data`]: the Linux 6.12 arm64 data-page layout, the one contract between
//!   a kernel (writer) and the image (reader);
//! - [`time`]: the portable time algorithm, unit-tested on the host against a
//!   simulated counter and page;
//! - [`random`]: the portable getrandom algorithm and ChaCha20, unit-tested
//!   the same way (not exported by the image yet).
//!
//! Everything architecture-specific (counter reads, `svc` fallbacks,
//! `__kernel_rt_sigreturn`) lives in one arch module.

#![cfg_attr(not(test), no_std)]
#![deny(missing_docs)]
#![deny(clippy::undocumented_unsafe_blocks)]
#![cfg_attr(feature = "image", feature(optimize_attribute))]

pub mod data;
pub mod random;
pub mod time;

// The arch module defines `__kernel_rt_sigreturn` in `global_asm!`: only the
// image may carry it, never a kernel that depends on this crate as an rlib.
#[cfg(all(
    feature = "image",
    any(target_arch = "aarch64", target_arch = "arm"),
    not(test)
))]
mod arch;

#[cfg(all(
    feature = "image",
    any(target_arch = "aarch64", target_arch = "arm"),
    not(test)
))]
pub(crate) mod image;

#[cfg(test)]
mod tests;
