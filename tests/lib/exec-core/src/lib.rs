//! The pure parts of exec shared by the exec harness (user space under
//! qemu-aarch64, and its armv7 build for 32-bit Arm clients) and the
//! example kernel (`tests/templates/kernel`): ELF checks and segment placement
//! ([`elf`], ELF64 aarch64 or ELF32 Arm: [`elf::Arch`]), Linux's initial
//! stack and auxiliary vector ([`stack`], 8- or 4-byte words). `no_std` with `alloc`, so a kernel with a heap can use them;
//! unit-tested on the host.

#![no_std]

extern crate alloc;
#[cfg(test)]
extern crate std;

pub mod elf;
pub mod stack;
