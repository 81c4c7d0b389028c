//! Conformance tests for the vDSO image: the clients' own parsers, written again in Rust.
//!
//! The image is only useful if the programs that find it at `AT_SYSINFO_EHDR` can use it, and
//! each of them parses it its own way. [`clients`] holds one hand-written transliteration per
//! client (musl, glibc, Go 1.19, rustix and Linux's `parse_vdso.c`), each with its provenance;
//! they read the image through a [`Mapping`] (the file's bytes at a base address) and never
//! panic, whatever the bytes. [`image`] loads the committed image, reads it with `object` as a
//! reference, and breaks it on purpose ([`image::broken`]) for the negative tests. [`hash`]
//! computes the two ELF symbol hashes from their definitions, and [`a64`] knows which fields
//! of an A64 instruction name general-purpose registers (for the x18 check).
//!
//! The readers in [`elf`] and [`image`] and the musl and Go transliterations take an ELF class
//! ([`elf::Class`]), so the same code reads the 32-bit compat image (`loader/vdso32.so`) as
//! musl arm and Go linux/arm do.
//!
//! The tests themselves are in `tests/`: `image/` (one test per image rule of ARCHITECTURE.md,
//! written once and run on both images; what only the compat image has, including musl arm's
//! and Go linux/arm's lookups, in `image/compat.rs`),
//! `clients.rs` (every client resolves every export; broken and garbage images),
//! `checker.rs` (`xtask::check::check_image` and `check_compat_image` accept their images and
//! reject each broken copy),
//! `e2e.rs` (real musl, glibc, Go and Rust programs under `qemu-aarch64` through the exec
//! harness use the vDSO: [`e2e`] reads their output and qemu's `-strace` traces), and
//! `dropin.rs` (Linux's own arm64 vDSO and ours, side by side on data pages our loader wrote,
//! answer alike; the program, `tests/programs/dropin`, finds both images' functions with
//! [`clients::parse_vdso`]).

pub mod a64;
pub mod clients;
pub mod e2e;
pub mod elf;
pub mod hash;
pub mod image;
pub mod mapping;

pub use mapping::{Error, Mapping};
