//! One test per image rule (ARCHITECTURE.md), run on both committed images: the aarch64 one
//! (`loader/vdso.so`, ELF64) and the 32-bit compat one (`loader/vdso32.so`, ELF32).
//!
//! The rules both images share are written once, in [`rules`], and instantiated for each
//! image in its module, so a test's path names the image it read (`aarch64::…`, `compat::…`).
//! What only one image has stays with it: the sigreturn trampoline and the x18 scans in
//! [`aarch64`]; the loader's copy, the A32 entries and musl arm's and Go linux/arm's lookups
//! in [`compat`].

mod aarch64;
mod compat;
mod rules;

use vdso_tests::hash::{elf_hash, gnu_hash};

#[test]
fn elf_hash_matches_the_values_clients_hard_code() {
    // The hash function the version tests rely on, checked against the clients' constants.
    assert_eq!(elf_hash(b"LINUX_2.6.39"), 0x75f_cb89, "glibc VDSO_HASH, Go");
    assert_eq!(elf_hash(b"LINUX_2.6"), 0x3ae_75f6, "Go linux/arm, x86");
    assert_eq!(elf_hash(b"__vdso_clock_gettime"), 0xd35_ec75, "Go's key");
    assert_eq!(gnu_hash(b"__vdso_clock_gettime"), 0x6e43_a318, "Go's key");
    assert_eq!(elf_hash(b"__kernel_clock_gettime"), 0xb0c_d725);
    assert_eq!(gnu_hash(b"__kernel_clock_gettime"), 0xdfa9_41fd);
}
