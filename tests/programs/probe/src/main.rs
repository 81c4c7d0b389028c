//! `vdso-probe`: the vDSO's first aarch64 run.
//!
//! `qemu-aarch64` (user mode) gives a process no vDSO, so this static program
//! plays the kernel for itself: it maps a data page, a reserved
//! time-namespace page and the image exactly as [`loader::Layout`] lays them
//! out, publishes time with [`loader::Writer`] (counter and frequency read by
//! the loader's aarch64 helpers, base times bracketed by real syscalls), then
//! calls every time export through `image + loader::offsets::*` and compares
//! every answer with the real system call, then `__kernel_getrandom`
//! (`random.rs`): Linux 6.12's ABI, the syscall's answers, and the syscalls
//! it makes.
//!
//! Output: one verdict line per check on stdout (`ok <name>` or
//! `FAIL <name>: <detail>`), measured tolerances as notes on stderr, and last
//! the line `N passed, M failed`. Exit status 0 only if nothing failed; a
//! crash (for instance a broken `__kernel_rt_sigreturn`) loses that line.
//!
//! Build and run from the workspace root:
//!
//! ```text
//! RUSTC=/usr/bin/rustc RUSTFLAGS="-C target-feature=+crt-static" \
//! CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc \
//! cargo build -p vdso-probe --target aarch64-unknown-linux-gnu --target-dir target/aarch64
//! qemu-aarch64 target/aarch64/aarch64-unknown-linux-gnu/debug/vdso-probe
//! ```
//!
//! `vdso-probe ecv` runs the same checks on the FEAT_ECV image
//! (`loader::ecv`), which needs a core with FEAT_ECV: Debian 13's
//! `qemu-aarch64 -cpu max` (`tests/tests/ecv.rs`).
//!
//! To prove the fast path makes no syscalls, run it under `qemu-aarch64
//! -strace` and count time syscalls between the two marker calls
//! (`faccessat` of `/vdso-probe-window-begin` and `/vdso-probe-window-end`);
//! there must be none. Likewise `getrandom` syscalls between
//! `/vdso-probe-rng-unready-begin` and `-end` (one per call, 10) and between
//! `/vdso-probe-rng-begin` and `-end` (exactly 2 for 200 calls).

#[cfg(target_arch = "aarch64")]
mod probe;
#[cfg(target_arch = "aarch64")]
mod random;

fn main() {
    #[cfg(target_arch = "aarch64")]
    {
        // `vdso-probe ecv`: the same checks on the FEAT_ECV image.
        let ecv = std::env::args().nth(1).as_deref() == Some("ecv");
        std::process::exit(probe::run(ecv));
    }

    #[cfg(not(target_arch = "aarch64"))]
    {
        eprintln!("vdso-probe runs only on aarch64 (e.g. under qemu-aarch64); nothing to do here");
        std::process::exit(2);
    }
}
