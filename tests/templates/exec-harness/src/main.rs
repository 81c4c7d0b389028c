//! `vdso-exec`: the exec harness, our first "kernel" in user space.
//!
//! `qemu-aarch64` (user mode) gives a process no vDSO. This static aarch64
//! program plays the kernel's `execve` for one static client program, with
//! our vDSO mapped in, using only the `loader` crate's public API for the
//! vDSO part, exactly what a kernel would call. It is the template for a
//! kernel's exec path: read it top to bottom in `exec.rs`.
//!
//! ```text
//! vdso-exec [--fake-epoch SECS] [--rng-reseed-ms MS] [--] PROGRAM [ARGS...]
//! ```
//!
//! 1. **Check** PROGRAM ([`vdso_exec_core::elf`]): ELF64, little-endian,
//!    `EM_AARCH64`, `ET_EXEC` or a static-PIE (`ET_DYN` without
//!    `PT_INTERP`): static glibc, musl and Go programs. Anything else gets
//!    one line on stderr,
//!    `vdso-exec: PROGRAM: <what it is>; <what is supported>`, and exit
//!    status 126 (127 if it does not exist), never a crash.
//! 2. **Load** each `PT_LOAD` with `MAP_FIXED_NOREPLACE` at its address (a
//!    static-PIE at base [`exec::CLIENT_PIE_BASE`]), copy its bytes, leave
//!    the bss zero, apply its R/W/X.
//! 3. **Map the vDSO** as [`loader::Layout`] lays it out (data page
//!    read-only, reserved time-namespace page, [`loader::IMAGE_PADDED`]
//!    read + execute; the writer has its own read/write view of the data
//!    page, as a kernel does) and **publish** with [`loader::Writer`]:
//!    REALTIME, MONOTONIC,
//!    MONOTONIC_RAW, BOOTTIME and TAI from the host's syscalls around a
//!    counter read, both resolutions from the host's `clock_getres`, the
//!    timezone from its `gettimeofday`. `--fake-epoch SECS` publishes
//!    REALTIME = SECS instead (TAI keeps the host's offset): only the data
//!    page can then tell the client that time. It also says the RNG is
//!    ready (`Writer::set_rng_ready`: the host kernel has the getrandom
//!    syscall), so `__kernel_getrandom` serves clients whose libc got
//!    `MAP_DROPPABLE` state memory from the host.
//! 4. **Build the stack** Linux's way ([`vdso_exec_core::stack`]): strings
//!    at the top, argc, argv, envp, and the auxiliary vector with
//!    `AT_SYSINFO_EHDR`.
//! 5. **Start the ticker** (`ticker.rs`), the harness's timer interrupt: a
//!    raw thread with every signal blocked that calls `Writer::tick` every
//!    coarse period, so the coarse clocks move as on Linux, and with
//!    `--rng-reseed-ms MS` publishes a new RNG generation every MS ms
//!    (`Writer::rng_reseeded`), as a kernel does when its pool reseeds.
//! 6. **Enter** the program: make qemu's `/proc/self/auxv` show the
//!    client's vector (see `exec::mirror_auxv_for_proc`), one marker
//!    syscall for traces,
//!    `faccessat(AT_FDCWD, "/vdso-exec/client-start", F_OK, 0)`, then
//!    sp = the new stack, registers zeroed, branch to the entry point.
//!
//! After step 3 the harness makes no `clock_gettime`, `gettimeofday` or
//! `clock_getres` syscall: in a `qemu-aarch64 -strace` log every one after
//! the marker is the client's.
//!
//! The harness never writes to stdout; it writes to stderr only on failure
//! or with `VDSO_EXEC_VERBOSE=1`. The client's stdout, stderr and exit
//! status are its own.
//!
//! # Where things are
//!
//! | what | address |
//! | --- | --- |
//! | static clients (`ET_EXEC`) | where linked: glibc/musl 0x400000, Go 0x10000 |
//! | static-PIE clients | [`exec::CLIENT_PIE_BASE`] = 0x10_0000_0000 (64 GiB) |
//! | the harness (text, data, bss; brk after it) | 0x40_0000_0000 (256 GiB), set by `build.rs` |
//! | vDSO, writer's view of the data page, client stack (8 MiB), ticker stack | where the kernel puts mmaps (qemu: from 0x55_0000_0000) |
//!
//! Rust would link a static aarch64 binary at 0x400000, on top of the
//! clients, hence `build.rs`.
//!
//! # What the client sees of qemu-user
//!
//! Under qemu-user some process state comes from qemu, not from us: the
//! break (`brk`) continues after the harness's heap (at 0x40_0011_xxxx),
//! not after the client's bss; `/proc/self/exe` and `/proc/self/cmdline`
//! name the harness; `/proc/self/auxv` is the harness's vector, which the
//! harness overwrites with the client's before the jump. qemu 7.2 treats
//! `MAP_FIXED_NOREPLACE` as a hint (it maps elsewhere instead of failing
//! with `EEXIST`), so every fixed mapping's address is checked.
//!
//! # Why `no_main`
//!
//! Rust's runtime startup ignores SIGPIPE and installs SIGSEGV/SIGBUS
//! handlers and an alternate signal stack for its stack-overflow check.
//! `execve` would reset handlers but keep "ignored", and the client would
//! inherit state it never asked for (a client whose pipe closes must die of
//! SIGPIPE). So the harness is a plain C `main`: std is used
//! (files, formatting) but its runtime setup never runs, and the client
//! starts with the signal dispositions and mask qemu gave the harness.
//!
//! # The armv7 build: 32-bit Arm clients
//!
//! Built for `armv7-unknown-linux-gnueabihf` (static glibc, std built from
//! source: `xtask::build_armv7_bin(sh, "vdso-exec")`), the same code is a
//! 32-bit harness that runs static 32-bit Arm EABI clients (ELF32,
//! `EM_ARM`, `ET_EXEC` or static-PIE, ARM or Thumb entry) with the compat
//! image `loader::compat::IMAGE` mapped in the same [`loader::Layout`]:
//! 4-byte stack words, `AT_PHENT` 32, `AT_PLATFORM` "v7l", the harness's
//! own `AT_HWCAP`/`AT_HWCAP2`, no `AT_MINSIGSTKSZ` (as arm64 Linux gives a
//! compat task). What differs per arch is in `sys.rs` (syscall numbers,
//! `clone` and the jump) and a few constants in `exec.rs`. Its places:
//!
//! | what | address |
//! | --- | --- |
//! | static clients (`ET_EXEC`) | where linked: glibc, musl and Go 0x10000 |
//! | static-PIE clients | [`exec::CLIENT_PIE_BASE`] = 0x1000_0000 (256 MiB) |
//! | the harness (brk after it) | 0x3000_0000 (768 MiB), set by `build.rs` |
//! | vDSO, stacks | where the kernel puts mmaps (Linux: below the stack, near 4 GiB; qemu-arm: from 1 GiB) |
//!
//! It needs a kernel that lets AArch32 EL0 read `CNTVCT` (arm64 Linux
//! does; qemu-arm 7.2 does not: the counter read is `SIGILL` there). Its
//! marker `faccessat` passes mode [`vdso_linux_sys::MARKER_MODE`] (`0x7664`)
//! so that a raw trace (`raw_syscalls:sys_enter`: `NR 334 (ffffff9c, ..,
//! 7664, 0)`) shows it; the aarch64 marker is unchanged (mode 0).
//!
//! Build and run (or just `cargo xtask run -- PROGRAM ARGS...`):
//!
//! ```text
//! RUSTC=/usr/bin/rustc RUSTFLAGS="-C target-feature=+crt-static" \
//! CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc \
//! cargo build --release -p vdso-exec --target aarch64-unknown-linux-gnu --target-dir target/aarch64
//! qemu-aarch64 target/aarch64/aarch64-unknown-linux-gnu/release/vdso-exec ./prog
//! ```

#![cfg_attr(any(target_arch = "aarch64", target_arch = "arm"), no_main)]
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]

// The pure part here (the command line) builds everywhere so the host can
// test it; on other targets only the tests use it. The other pure parts, ELF
// checks and stack layout, are the `vdso-exec-core` crate.
#[cfg_attr(
    not(any(target_arch = "aarch64", target_arch = "arm")),
    allow(dead_code)
)]
mod cli;

#[cfg(any(target_arch = "aarch64", target_arch = "arm"))]
mod exec;
#[cfg(any(target_arch = "aarch64", target_arch = "arm"))]
mod sys;
#[cfg(any(target_arch = "aarch64", target_arch = "arm"))]
mod ticker;

/// The C entry point, called by glibc's `__libc_start_main` with the
/// kernel's `argc` and `argv` (see "Why `no_main`").
#[cfg(any(target_arch = "aarch64", target_arch = "arm"))]
#[no_mangle]
extern "C" fn main(argc: std::ffi::c_int, argv: *const *const std::ffi::c_char) -> std::ffi::c_int {
    // SAFETY: only the C runtime calls `main`, with the kernel's argc and
    // argv, which point into the initial stack; that stays mapped and
    // unchanged for the life of the process.
    let start = unsafe { exec::Start::from_initial_stack(argc.max(0) as usize, argv) };
    exec::main(&start)
}

#[cfg(not(any(target_arch = "aarch64", target_arch = "arm")))]
fn main() {
    eprintln!(
        "vdso-exec runs only on aarch64 or 32-bit Arm (e.g. under qemu-aarch64: `cargo xtask run -- PROGRAM`)"
    );
    std::process::exit(2);
}
