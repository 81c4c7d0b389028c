//! An example kernel that gives its processes our vDSO, using only the
//! `loader` crate's public API for it: what a kernel author copies from.
//!
//! It boots on `qemu-system-aarch64 -M virt -cpu cortex-a72`, turns the MMU
//! on, publishes time to the vDSO data page and ticks it from the generic
//! timer's interrupt, loads one static program (embedded at build time)
//! with the vDSO mapped and `AT_SYSINFO_EHDR` in its auxiliary vector,
//! answers its Linux system calls, delivers its signals through the vDSO's
//! `__kernel_rt_sigreturn`, and powers off when it exits, reporting how
//! many clock system calls it made per clock id.
//!
//! ```text
//! cargo xtask run --kernel -- PROGRAM [ARGS...]
//! qemu-system-aarch64 -M virt -cpu cortex-a72 -nographic -kernel vdso-kernel \
//!     -append "[counter=cntvct|cntpct] [hz=N] [epoch=SECS] [stamp] [bti] -- NAME [ARGS...]"
//! ```
//!
//! | file | what |
//! | --- | --- |
//! | `boot.rs` | reset entry, command line, **the vDSO set-up** (`kmain`) |
//! | `process.rs` | **exec with the vDSO mapped** |
//! | `kernel.rs` | state, exceptions from EL0, **the tick** (`user_irq`) |
//! | `syscall.rs` | the system calls, **clock calls counted** |
//! | `signal.rs` | **signal frames returning through the vDSO** |
//! | `mm.rs` | frames, page tables, user-memory access |
//! | `trap.rs` | vectors, saved registers, `eret` |
//! | `timer.rs` | GIC, virtual timer, EL0 counter access, RTC |
//! | `fdt.rs`, `console.rs` | the command line, the PL011 |
//!
//! Console lines from the kernel start with `kernel: `; everything else is
//! the process's stdout and stderr. The last lines are the report:
//! `exit status=N` (or `exit signal=N`), ticks, and the clock system calls
//! per id.

#![cfg_attr(target_arch = "aarch64", no_std, no_main)]
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]

#[cfg(target_arch = "aarch64")]
extern crate alloc;

#[cfg(target_arch = "aarch64")]
mod boot;
#[cfg(target_arch = "aarch64")]
mod console;
#[cfg(target_arch = "aarch64")]
mod fdt;
#[cfg(target_arch = "aarch64")]
mod kernel;
#[cfg(target_arch = "aarch64")]
mod mem;
#[cfg(target_arch = "aarch64")]
mod mm;
#[cfg(target_arch = "aarch64")]
mod process;
#[cfg(target_arch = "aarch64")]
mod signal;
#[cfg(target_arch = "aarch64")]
mod syscall;
#[cfg(target_arch = "aarch64")]
mod timer;
#[cfg(target_arch = "aarch64")]
mod trap;

/// The user programs, embedded by `build.rs` from `VDSO_KERNEL_PROGRAMS`.
#[cfg(target_arch = "aarch64")]
mod programs {
    /// One embedded program.
    pub struct Program {
        /// The name the command line uses.
        pub name: &'static str,
        /// The static ELF file.
        pub bytes: &'static [u8],
    }
    include!(concat!(env!("OUT_DIR"), "/programs.rs"));
}

#[cfg(not(target_arch = "aarch64"))]
fn main() {
    eprintln!(
        "vdso-kernel is an aarch64 kernel: run it with `cargo xtask run --kernel -- PROGRAM`"
    );
    std::process::exit(2);
}
