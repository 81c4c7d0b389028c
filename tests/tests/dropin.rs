//! The drop-in proof: our loader writes a data page that Linux's own arm64 vDSO reads
//! correctly, and our image answers exactly as Linux's does on it.
//!
//! `xtask::linux_vdso::fetch` carves Linux's vDSO out of Debian's `linux-image-*-arm64`
//! (downloaded once, cached under `target/linux-vdso/`). `vdso-dropin` (`tests/programs/dropin`), a
//! static aarch64 program under `qemu-aarch64`, maps our image and Linux's side by side, each
//! with a data page written by its own `loader::Writer`, and compares them call by call: every
//! served clock (interleaved reads must be ordered and lie within the writer's own time at the
//! counter around them; coarse clocks equal), `gettimeofday`, `clock_getres`, the ids neither
//! serves, and a disabled page. Its source documents each check; here the run must pass them
//! all, and the checks that carry the claim must be among them.
//!
//! The run's stdout and stderr stay in `target/e2e/runs/dropin.{stdout,stderr}`.

use std::path::PathBuf;
use std::process::Command;
use std::sync::LazyLock;
use std::time::Duration;

use vdso_tests::e2e::build::{self, Run};

/// A run that takes longer has hung (it takes well under a second).
const RUN_TIMEOUT: Duration = Duration::from_secs(120);

/// `vdso-dropin` makes 42 checks today; fewer means some were skipped.
const MIN_CHECKS: usize = 42;

/// The served clocks, as the program names them.
const SERVED: [&str; 7] = [
    "REALTIME",
    "MONOTONIC",
    "MONOTONIC_RAW",
    "REALTIME_COARSE",
    "MONOTONIC_COARSE",
    "BOOTTIME",
    "TAI",
];

fn shell() -> Result<xshell::Shell, String> {
    xshell::Shell::new().map_err(|e| format!("cannot create a shell: {e}"))
}

/// Builds `vdso-dropin`, fetches Linux's vDSO and runs the one against the other.
fn dropin_run() -> Result<Run, String> {
    let sh = shell()?;
    xtask::prereq::ensure(&sh, xtask::prereq::TEST).map_err(|e| format!("{e:#}"))?;
    let anchor = xtask::linux_vdso::fetch(&sh)
        .map_err(|e| format!("cannot get Linux's arm64 vDSO: {e:#}"))?;
    let program: PathBuf = xtask::build_aarch64_bin(&sh, "vdso-dropin")
        .map_err(|e| format!("building vdso-dropin: {e:#}"))?;
    let mut command = Command::new("qemu-aarch64");
    command.arg(&program).arg(&anchor.path);
    build::run_logged(command, "dropin", RUN_TIMEOUT)
}

static RUN: LazyLock<Result<Run, String>> = LazyLock::new(dropin_run);

fn run() -> &'static Run {
    match &*RUN {
        Ok(run) => run,
        Err(e) => panic!("{e}"),
    }
}

/// The `ok` lines of the run.
fn ok_lines(run: &Run) -> Vec<&str> {
    run.stdout
        .lines()
        .filter_map(|l| l.strip_prefix("ok "))
        .collect()
}

/// Asserts an `ok` line starting with `prefix`.
fn assert_ok(run: &Run, prefix: &str) {
    assert!(
        ok_lines(run).iter().any(|l| l.starts_with(prefix)),
        "no `ok {prefix}...` line\n{}",
        run.context()
    );
}

#[test]
fn every_check_passes() {
    let run = run();
    let failed: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| l.starts_with("FAIL"))
        .collect();
    assert!(
        failed.is_empty(),
        "{} checks failed:\n{}\n{}",
        failed.len(),
        failed.join("\n"),
        run.context()
    );
    assert_eq!(run.status, Some(0), "vdso-dropin failed\n{}", run.context());
    let passed = ok_lines(run).len();
    assert!(
        passed >= MIN_CHECKS,
        "only {passed} checks ran, expected at least {MIN_CHECKS}\n{}",
        run.context()
    );
    let summary = format!("{passed} passed, 0 failed");
    assert_eq!(
        run.stdout.lines().last(),
        Some(summary.as_str()),
        "the run did not end with its summary\n{}",
        run.context()
    );
}

#[test]
fn both_pages_hold_the_same_bytes_and_both_images_are_found() {
    let run = run();
    assert_ok(run, "map both images");
    assert_ok(
        run,
        "parse_vdso finds our three functions at loader::offsets",
    );
    assert_ok(run, "both data pages are byte-identical");
}

#[test]
fn every_served_clock_reads_the_same_time_in_both_images() {
    let run = run();
    for name in SERVED {
        assert_ok(run, &format!("clock_gettime({name}): "));
    }
}

#[test]
fn gettimeofday_reads_the_same_time_and_timezone_in_both_images() {
    let run = run();
    assert_ok(run, "gettimeofday(tv, tz): ");
    assert_ok(run, "gettimeofday(NULL, tz), ");
}

#[test]
fn clock_getres_is_the_same_in_both_images() {
    let run = run();
    for name in SERVED {
        assert_ok(run, &format!("clock_getres({name}): ours = Linux's = "));
        assert_ok(
            run,
            &format!("clock_getres({name}) with other resolutions published: "),
        );
    }
}

#[test]
fn ids_neither_image_serves_get_the_syscalls_answer_in_both() {
    let run = run();
    for name in [
        "clock -1",
        "clock 12345",
        "PROCESS_CPUTIME_ID",
        "THREAD_CPUTIME_ID",
    ] {
        assert_ok(run, &format!("{name} (not served): "));
    }
}

#[test]
fn a_disabled_page_sends_both_to_the_syscall_except_linuxs_coarse_clocks() {
    let run = run();
    for name in SERVED {
        assert_ok(run, &format!("disabled: clock_gettime({name}): "));
    }
}
