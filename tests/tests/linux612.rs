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
//! - `vdso-dropin --onto-own` (`tests/programs/dropin/src/onto.rs`), run in the VM without
//!   our harness: it checks Linux's own vDSO against the syscalls, then maps our image over
//!   it (same address, so ours reads the data page Linux 6.12 itself writes) and runs the same
//!   checks: every served clock between two syscalls, `clock_getres` and the unserved ids
//!   equal to the syscall, `gettimeofday` with the kernel's timezone, getrandom's params,
//!   reads and errors. In a window of 100 rounds of every function neither image makes a
//!   clock or getrandom syscall, except ours for the coarse clocks' resolution (see
//!   [`is_coarse_getres`]).
//! - our image is smaller than Linux 6.12's own, carved out of that kernel.
//!
//! The VM's console and the run's output stay in the tests' failure messages.

use std::path::Path;
use std::sync::LazyLock;

use vdso_linux_sys::aarch64::{
    NR_CLOCK_GETRES, NR_CLOCK_GETTIME, NR_FACCESSAT, NR_GETRANDOM, NR_GETTIMEOFDAY,
};
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

/// One boot of `vdso-dropin --onto-own` on Linux 6.12: Linux's own vDSO, then ours over it,
/// each checked against the syscalls (`tests/programs/dropin/src/onto.rs`).
static ONTO_OWN: LazyLock<Result<linux_vm::VmRun, String>> = LazyLock::new(|| {
    let sh = xshell::Shell::new().map_err(|e| e.to_string())?;
    let kernel = linux_vdso::vmlinuz_6_12(&sh).map_err(|e| format!("{e:#}"))?;
    let program = xtask::build_aarch64_bin(&sh, "vdso-dropin")
        .map_err(|e| format!("building vdso-dropin: {e:#}"))?;
    let files: [(&str, &Path); 1] = [("dropin", &program)];
    linux_vm::boot_on(
        &sh,
        &kernel,
        xtask::abi::Abi::Aarch64,
        &files,
        &["/dropin", "--onto-own"],
    )
    .map_err(|e| format!("booting {}: {e:#}", kernel.package))
});

fn onto_own() -> &'static linux_vm::VmRun {
    ONTO_OWN.as_ref().unwrap_or_else(|e| panic!("{e}"))
}

/// The `faccessat` markers' modes of `onto.rs`'s windows: Linux's image, then ours.
const WINDOW_MODES: [[u64; 2]; 2] = [[0x7670, 0x7671], [0x7672, 0x7673]];

/// The syscalls between the markers of `window`.
fn window_syscalls(run: &linux_vm::VmRun, window: [u64; 2]) -> &[linux_vm::Syscall] {
    let at = |mode| {
        run.syscalls
            .iter()
            .position(|c| c.nr == NR_FACCESSAT && c.args[2] == mode)
            .unwrap_or_else(|| panic!("no marker {mode:#x}\n{}", run.console))
    };
    &run.syscalls[at(window[0]) + 1..at(window[1])]
}

#[test]
fn on_linux_6_12_our_image_in_place_of_its_own_answers_as_the_syscalls_and_as_linuxs() {
    let run = onto_own();
    let context = || {
        format!(
            "{}\n--- stderr ---\n{}\n--- console ---\n{}",
            run.stdout, run.stderr, run.console
        )
    };
    assert_eq!(run.code(), 0, "{}", context());
    let last = run.stdout.lines().last().unwrap_or_default();
    assert!(last.ends_with(" passed, 0 failed"), "{}", context());
    // Both images ran every check: the served clocks, getres, getrandom.
    for name in ["Linux's", "ours"] {
        for check in [
            "clock_gettime(0) lies between two syscalls",
            "clock_getres(6) equals the syscall",
            "gettimeofday lies between two syscalls",
            "getrandom reads return their length and never repeat",
        ] {
            let line = format!("ok {name}: {check}");
            assert!(
                run.stdout.contains(&line),
                "missing {line:?}\n{}",
                context()
            );
        }
    }
}

/// The one difference on a page Linux wrote: the coarse clocks' resolution. Linux's image
/// returns a constant of its build (`LOW_RES_NSEC`, its kernel's tick); a Linux page does not
/// hold it, so ours, built for no kernel in particular, asks the syscall (our writer publishes
/// it in the page's extension, `Config::coarse_res`).
fn is_coarse_getres(call: &linux_vm::Syscall) -> bool {
    call.nr == NR_CLOCK_GETRES && [5, 6].contains(&call.args[0])
}

#[test]
fn on_linux_6_12_our_image_makes_no_syscalls_from_its_page_but_the_coarse_resolution() {
    let run = onto_own();
    for (window, name) in WINDOW_MODES.into_iter().zip(["Linux's", "ours"]) {
        let calls = window_syscalls(run, window);
        let coarse_getres = calls.iter().filter(|c| is_coarse_getres(c)).count();
        let clock: Vec<_> = calls
            .iter()
            .filter(|c| c.clock_name(run.abi).is_some() && !is_coarse_getres(c))
            .collect();
        let random = calls.iter().filter(|c| c.nr == NR_GETRANDOM).count();
        // A kernel reseed during the window makes the state reseed once.
        assert!(
            clock.is_empty() && random <= 1,
            "{name}: {} clock and {random} getrandom syscalls in 100 rounds: {calls:x?}",
            clock.len()
        );
        let want = if name == "ours" { 200 } else { 0 };
        assert_eq!(
            coarse_getres, want,
            "{name}: coarse clock_getres syscalls in 100 rounds"
        );
    }
}

#[test]
fn our_image_is_smaller_than_linux_6_12s_own() {
    let sh = xshell::Shell::new().expect("a shell");
    let kernel = linux_vdso::vmlinuz_6_12(&sh).unwrap_or_else(|e| panic!("{e:#}"));
    let linux = linux_vdso::vdso_of(&sh, &kernel).unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(
        linux.len(),
        vdso_tests::image::LINUX_6_12_IMAGE_SIZE,
        "the size image rule 8 bounds ours by"
    );
    let ours = vdso_tests::image::load();
    assert!(
        ours.len() < linux.len(),
        "ours {} bytes, Linux 6.12's {}",
        ours.len(),
        linux.len()
    );
}
