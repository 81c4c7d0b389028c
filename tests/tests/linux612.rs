//! Debian's Linux 6.12 arm64 kernel (`linux-image-6.12-arm64`, the first with a getrandom
//! vDSO; issue 16) in the Linux VM (`xtask::linux_vm`), with 64-bit programs:
//!
//! - the aarch64 ChaCha20 check (`tests/programs/chacha`), the block function the getrandom
//!   export will use, on a real kernel instead of qemu-user;
//! - `clocks.c` static against musl through the aarch64 exec harness
//!   (`linux_vm::run_aarch64`, what `cargo xtask run --linux` runs) with `--fake-epoch`: it
//!   prints the fake epoch, which only our data page could have said, and after the harness's
//!   marker the kernel traced no `clock_gettime` of a served clock and no `gettimeofday`.
//!
//! The VM's console and the run's output stay in the tests' failure messages.

use std::path::Path;

use vdso_linux_sys::aarch64::{NR_CLOCK_GETTIME, NR_GETTIMEOFDAY};
use vdso_tests::e2e::build::{self, Libc};
use vdso_tests::e2e::is_served;
use xtask::linux_vdso;
use xtask::linux_vm;

#[test]
fn linux_6_12_runs_the_aarch64_chacha20_check() {
    let sh = xshell::Shell::new().expect("a shell");
    let kernel = linux_vdso::vmlinuz_6_12(&sh).unwrap_or_else(|e| panic!("{e:#}"));
    assert!(
        kernel.package.starts_with("linux-image-6.12."),
        "{} is not a 6.12 kernel",
        kernel.package
    );
    let program = xtask::build_aarch64_bin(&sh, "vdso-chacha")
        .unwrap_or_else(|e| panic!("building vdso-chacha: {e:#}"));
    let files: [(&str, &Path); 1] = [("chacha", &program)];
    let run = linux_vm::boot_on(&sh, &kernel, xtask::abi::Abi::Aarch64, &files, &["/chacha"])
        .unwrap_or_else(|e| panic!("booting {}: {e:#}", kernel.package));
    let last = run.stdout.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("chacha: ") && last.ends_with(" passed, 0 failed"),
        "{}: {last:?}\n--- stderr ---\n{}\n--- console ---\n{}",
        kernel.package,
        run.stderr,
        run.console
    );
    assert_eq!(run.code(), 0, "{}", run.console);
}

#[test]
fn on_linux_6_12_a_musl_client_reads_the_fake_epoch_with_no_clock_syscall() {
    let sh = xshell::Shell::new().expect("a shell");
    let client = build::c_client("clocks.c", "clocks-musl-6.12", Libc::Musl, false)
        .unwrap_or_else(|e| panic!("{e}"));
    let run = linux_vm::run_aarch64(&sh, &["--fake-epoch", "2000000000"], &client, &["show"])
        .unwrap_or_else(|e| panic!("{e:#}"));
    let context = || format!("{}\n--- console ---\n{}", run.stdout, run.console);
    assert_eq!(run.code(), 0, "{}", context());
    // 2 000 000 000 s is 2033-05-18T03:33:20Z; the run takes seconds.
    assert!(
        run.stdout.contains("wall api=libc iso=2033-05-18T03:3"),
        "no fake-epoch wall time:\n{}",
        context()
    );
    let after = run
        .after_marker()
        .unwrap_or_else(|| panic!("no marker\n{}", context()));
    let served: Vec<_> = after
        .iter()
        .filter(|c| {
            c.nr == NR_GETTIMEOFDAY
                || c.nr == NR_CLOCK_GETTIME && is_served(i64::from(c.args[0] as u32 as i32))
        })
        .collect();
    assert!(
        served.is_empty(),
        "served-clock syscalls: {served:x?}\n{}",
        context()
    );
    // The trace is the client's: its CPU-time clock did reach the kernel.
    assert!(
        after
            .iter()
            .any(|c| c.nr == NR_CLOCK_GETTIME && !is_served(i64::from(c.args[0] as u32 as i32))),
        "no unserved clock_gettime in the trace (is it the client's?): {after:x?}"
    );
}
