//! The pure parts of exec shared by the exec harness (user space under
//! qemu-aarch64) and the example kernel (`tests/kernel`): ELF checks and
//! segment placement ([`elf`]), Linux's initial stack and auxiliary vector
//! ([`stack`]). `no_std` with `alloc`, so a kernel with a heap can use them;
//! unit-tested on the host.

#![no_std]

extern crate alloc;
#[cfg(test)]
extern crate std;

pub mod elf;
pub mod stack;
