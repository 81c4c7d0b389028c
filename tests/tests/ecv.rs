//! FEAT_ECV proven, not assumed: the image whose counter reads `loader::ecv` patched to
//! `CNTVCTSS_EL0` passes every check of the probe on a core that has FEAT_ECV, and a core
//! without it traps the very instruction, so the reads that served those checks were
//! `CNTVCTSS_EL0` ones. (That no `isb` is left before them is a property of the bytes, tested
//! in `loader/src/tests.rs`.)
//!
//! Debian 12's qemu 7.2 has no FEAT_ECV on any cpu; Debian 13's qemu-user 10.0 has it with
//! `-cpu max` (`ID_AA64MMFR0_EL1.ECV` = 2). `xtask::trixie` fetches that one into
//! `target/trixie/` without installing anything.

use std::path::PathBuf;
use std::process::Command;
use std::sync::LazyLock;
use std::time::Duration;

use vdso_tests::e2e::build::{self, Run};

/// The probe takes well under a second; longer means it hung.
const RUN_TIMEOUT: Duration = Duration::from_secs(120);

/// Debian 13's qemu-aarch64 and the probe, built; once for both tests, which
/// would otherwise fetch into the same directory at the same time.
static TOOLS: LazyLock<(PathBuf, PathBuf)> = LazyLock::new(tools);

fn tools() -> (PathBuf, PathBuf) {
    let sh = xshell::Shell::new().expect("a shell");
    xtask::prereq::ensure(&sh, xtask::prereq::TEST).expect("the test prerequisites");
    let qemu = xtask::trixie::qemu_aarch64(&sh)
        .unwrap_or_else(|e| panic!("cannot fetch Debian 13's qemu-user: {e:#}"));
    let probe = xtask::build_aarch64_bin(&sh, "vdso-probe").expect("building vdso-probe");
    (qemu, probe)
}

/// The probe on `image` (`""` for `loader::IMAGE`, `"ecv"`) under Debian 13's qemu as `cpu`.
fn probe(cpu: &str, image: &str) -> Run {
    let (qemu, probe) = &*TOOLS;
    let mut command = Command::new(qemu);
    command.args(["-cpu", cpu]).arg(probe);
    if !image.is_empty() {
        command.arg(image);
    }
    build::run_logged(command, &format!("ecv-probe-{cpu}-{image}"), RUN_TIMEOUT)
        .unwrap_or_else(|e| panic!("running the probe: {e}"))
}

/// The probe's closing `N passed, M failed` line, as (N, M).
fn tally(run: &Run) -> Option<(u32, u32)> {
    let line = run.stdout.lines().rev().find(|l| l.ends_with(" failed"))?;
    let (passed, failed) = line.split_once(" passed, ")?;
    Some((
        passed.parse().ok()?,
        failed.trim_end_matches(" failed").parse().ok()?,
    ))
}

#[test]
fn the_ecv_image_passes_every_probe_check_on_a_core_with_ecv() {
    let run = probe("max", "ecv");
    let tally = tally(&run);
    assert!(
        run.status == Some(0) && matches!(tally, Some((n, 0)) if n >= 190),
        "{tally:?}\n{}",
        run.context()
    );
    assert!(
        run.stderr.contains("image: loader::ecv::IMAGE"),
        "{}",
        run.context()
    );
}

#[test]
fn a_core_without_ecv_traps_the_ecv_images_counter_read_but_runs_the_plain_image() {
    let plain = probe("cortex-a72", "");
    assert!(
        plain.status == Some(0) && matches!(tally(&plain), Some((_, 0))),
        "the plain image on cortex-a72:\n{}",
        plain.context()
    );
    let ecv = probe("cortex-a72", "ecv");
    // Killed by SIGILL at the first clock read: no exit status, no closing line.
    assert_eq!(ecv.status, None, "{}", ecv.context());
    assert_eq!(tally(&ecv), None, "{}", ecv.context());
}
